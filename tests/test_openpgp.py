"""OpenPGP signing: actions signed with gpg, verified against the registry's trusted OpenPGP keys.

Each test has a throwaway GNUPGHOME; authorisation is on the VALIDSIG
fingerprint of a key in the trusted keys file, never the ambient keyring.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, commit_all, git

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")


def _gen_key(home: Path, uid: str) -> str:
    """A new ed25519 signing key in HOME; its fingerprint."""
    subprocess.run(
        ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "1y"],
        env={"GNUPGHOME": str(home), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
    )
    listing = subprocess.run(
        ["gpg", "--with-colons", "--list-keys", uid],
        env={"GNUPGHOME": str(home), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))


def _export(home: Path, fpr: str) -> str:
    return subprocess.run(
        ["gpg", "--armor", "--export", fpr],
        env={"GNUPGHOME": str(home), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture
def gnupg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    yield home
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True)


def _registry(tmp_path: Path, keys_text: str, fmt: str, ssh_signers: str = "") -> Path:
    """The example registry trusting KEYS_TEXT (armored) and SSH_SIGNERS, in its first commit."""
    root = tmp_path / "registry"
    shutil.copytree(EXAMPLE, root)
    (root / ".modelreg" / "allowed_signers").write_text(ssh_signers)
    (root / ".modelreg" / "openpgp_keys.asc").write_text(keys_text)
    policy = root / "modelreg.yaml"
    policy.write_text(
        policy.read_text().replace(
            "  revocation_file: .modelreg/revoked_keys\n",
            f"  revocation_file: .modelreg/revoked_keys\n  format: {fmt}\n"
            "  openpgp_keys: .modelreg/openpgp_keys.asc\n",
        )
    )
    git(root, "init", "-q")
    commit_all(root, "register the example")
    return root


def _sign_with(fpr: str, email: str) -> None:
    for name, value in (
        ("gpg.format", "openpgp"),
        ("user.signingkey", fpr),
        ("user.email", email),
    ):
        git(Path.cwd(), "config", "--global", name, value)


def _promote(cli, root: Path, stage: str):
    return cli(
        "--repo", str(root), "promote", "summarizer", "1.1.0", "--to", stage, "--reason", "r"
    )


def _promote_to_production(cli, root: Path) -> list[int]:
    return [_promote(cli, root, stage).code for stage in ("development", "staging", "production")]


def test_openpgp_signed_actions_verify(cli, tmp_path: Path, gnupg: Path) -> None:
    fpr = _gen_key(gnupg, "Alice <alice@example.com>")
    root = _registry(tmp_path, _export(gnupg, fpr), "openpgp")
    _sign_with(fpr, "alice@example.com")
    assert _promote_to_production(cli, root) == [0, 0, 0]
    raw = git(root, "cat-file", "-p", "modelreg/summarizer/production/1")
    assert "-----BEGIN PGP SIGNATURE-----" in raw
    result = cli("--repo", str(root), "--json", "verify", "--all")
    assert result.code == 0, result.out
    data = result.json()
    assert data["signers"]["modelreg/summarizer/production/1"] == "alice@example.com"
    log = cli("--repo", str(root), "--json", "log", "summarizer").json()
    assert [e["signer"] for e in log["events"]] == ["alice@example.com"] * 3
    assert all(e["verified"] for e in log["events"])


def test_openpgp_key_outside_the_trusted_keys_is_refused(cli, tmp_path: Path, gnupg: Path) -> None:
    trusted = _gen_key(gnupg, "Alice <alice@example.com>")
    stranger = _gen_key(gnupg, "Mallory <alice@example.com>")  # same email, other key
    root = _registry(tmp_path, _export(gnupg, trusted), "openpgp")
    _sign_with(stranger, "alice@example.com")
    head = git(root, "rev-parse", "HEAD")
    result = _promote(cli, root, "development")
    assert result.code == 3
    assert "does not verify" in result.err and "Good" not in result.err
    assert git(root, "rev-parse", "HEAD") == head
    assert git(root, "tag", "--list") == ""


def test_ssh_signature_refused_when_policy_accepts_openpgp_only(
    cli, tmp_path: Path, gnupg: Path, keys
) -> None:
    fpr = _gen_key(gnupg, "Alice <alice@example.com>")
    root = _registry(tmp_path, _export(gnupg, fpr), "openpgp", keys["alice"].allowed())
    from tests.conftest import use_key

    use_key(keys["alice"])
    result = _promote(cli, root, "development")
    assert result.code == 3
    assert "signed with ssh; policy accepts openpgp only" in result.err


def test_format_any_accepts_both(cli, tmp_path: Path, gnupg: Path, keys) -> None:
    fpr = _gen_key(gnupg, "Bob <bob@example.com>")
    root = _registry(tmp_path, _export(gnupg, fpr), "any", keys["alice"].allowed())
    from tests.conftest import use_key

    use_key(keys["alice"])
    assert _promote(cli, root, "development").code == 0
    _sign_with(fpr, "bob@example.com")
    assert _promote(cli, root, "staging").code == 0
    data = cli("--repo", str(root), "--json", "verify", "--all").json()
    assert data["ok"], data
    assert data["signers"] == {
        "modelreg/summarizer/development/1": "alice@example.com",
        "modelreg/summarizer/staging/1": "bob@example.com",
    }
