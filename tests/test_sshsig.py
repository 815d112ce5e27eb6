"""modelreg.sshsig against ssh-keygen: the in-process check may only ever agree.

Every tag here is made by real git and ssh-keygen; every verdict is compared
with the one `git verify-tag` (ssh-keygen) reaches for the same trust root.
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from conftest import Key, git, make_key
from modelreg.signing import Signature, TrustRoot, Verifier
from modelreg.sshsig import FastTrust, split_signed


def _mktag(repo: Path, payload: bytes, signature: bytes = b"") -> str:
    proc = subprocess.run(
        ["git", "mktag"], cwd=repo, input=payload + signature, capture_output=True
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode().strip()


def _payload(repo: Path, name: str, message: str = "promote m@1.0.0 to staging") -> bytes:
    head = git(repo, "rev-parse", "HEAD").strip()
    return (
        f"object {head}\ntype commit\ntag {name}\n"
        f"tagger A <a@example.com> 1763632800 +0000\n\n{message}\n"
    ).encode()


def _sshsig(key: Key, payload: bytes, tmp: Path, *options: str, namespace: str = "git") -> bytes:
    data = tmp / "payload"
    data.write_bytes(payload)
    sig = tmp / "payload.sig"
    sig.unlink(missing_ok=True)
    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-Y",
            "sign",
            "-f",
            str(key.private),
            "-n",
            namespace,
            *options,
            str(data),
        ],
        check=True,
        capture_output=True,
    )
    return sig.read_bytes()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Key], dict[str, str]]:
    """A repo with a zoo of signed tags, and the keys that made them."""
    tmp = tmp_path_factory.mktemp("sshsig")
    repo = tmp / "repo"
    repo.mkdir()
    env_git = ["-c", "user.name=A", "-c", "user.email=a@example.com"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(
        ["git", *env_git, "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "c"], check=True
    )
    keys = {
        name: make_key(tmp / "keys", f"{name}@example.com") for name in ("alice", "bob", "carol")
    }
    rsa = tmp / "keys" / "rsa"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "r", "-f", str(rsa)],
        check=True,
    )
    keys["rsa"] = Key("rsa@example.com", rsa, " ".join(Path(f"{rsa}.pub").read_text().split()[:2]))
    work = tmp / "work"
    work.mkdir()

    tags: dict[str, str] = {}
    for name in ("alice", "carol", "rsa"):
        payload = _payload(repo, f"t-{name}")
        tags[f"signed by {name}"] = _mktag(repo, payload, _sshsig(keys[name], payload, work))
    payload = _payload(repo, "t-sha256")
    tags["sha256"] = _mktag(
        repo, payload, _sshsig(keys["alice"], payload, work, "-O", "hashalg=sha256")
    )
    payload = _payload(repo, "t-file")
    tags["namespace file"] = _mktag(
        repo, payload, _sshsig(keys["alice"], payload, work, namespace="file")
    )
    good = _sshsig(keys["alice"], _payload(repo, "t-a"), work)
    tags["tampered message"] = _mktag(
        repo, _payload(repo, "t-a", "promote m@6.6.6 to production"), good
    )
    tags["transplanted"] = _mktag(repo, _payload(repo, "t-b"), good)
    tags["unsigned"] = _mktag(repo, _payload(repo, "t-unsigned"))
    tags["CRLF armor"] = _mktag(repo, _payload(repo, "t-a"), good.replace(b"\n", b"\r\n"))
    lines = good.split(b"\n")
    tags["rewrapped armor"] = _mktag(
        repo,
        _payload(repo, "t-a"),
        lines[0] + b"\n" + b"".join(lines[1:-2]) + b"\n" + lines[-2] + b"\n",
    )
    # the same signature with the unused low bits of its last base64 digit set:
    # Python's decoder ignores them, ssh-keygen's refuses them
    body = b"".join(lines[1:-2])
    bare = body.rstrip(b"=")
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    odd = alphabet[alphabet.index(bare[-1:]) | 1 : (alphabet.index(bare[-1:]) | 1) + 1]
    body = bare[:-1] + odd + body[len(bare) :]
    wrapped = b"\n".join(body[i : i + 70] for i in range(0, len(body), 70))
    tags["stray base64 bits"] = _mktag(
        repo, _payload(repo, "t-a"), lines[0] + b"\n" + wrapped + b"\n" + lines[-2] + b"\n"
    )
    far = _payload(repo, "t-far").replace(b" 1763632800 ", b" 253402300800 ")
    tags["tagger in year 10000"] = _mktag(repo, far, _sshsig(keys["alice"], far, work))
    # a certificate of alice's key, signed by a throwaway CA: revoking it revokes her key
    ca = tmp / "keys" / "ca"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ca)], check=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-s", str(ca), "-I", "alice", "-n", "alice@example.com",
         f"{keys['alice'].private}.pub"],
        check=True,
    )  # fmt: skip
    cert = Path(f"{keys['alice'].private}-cert.pub").read_text().split()
    tags["_alice cert"] = " ".join(cert[:2])
    # a real `git tag -s`, as modelreg itself signs
    subprocess.run(
        [
            "git", *env_git, "-c", "gpg.format=ssh", "-c", f"user.signingkey={keys['alice'].private}",
            "-C", str(repo), "tag", "-s", "-m", "promote m@1.0.0 to production", "real",
        ],
        check=True,
    )  # fmt: skip
    tags["git tag -s"] = git(repo, "rev-parse", "real").strip()
    return repo, keys, tags


def _trust_roots(keys: dict[str, Key], alice_cert: str) -> dict[str, tuple[str, bytes]]:
    alice, bob, rsa = keys["alice"], keys["bob"], keys["rsa"]
    quoted = f'alice@example.com namespaces="git,x\\" {alice.public_line} c" {bob.public_line}\n'
    return {
        # lines Python and ssh-keygen split or unquote differently (review round 1)
        "comment ending in \\x1c": ("# removed alice\x1c" + alice.allowed(), b""),
        "comment ending in \\r": ("# removed alice\r" + alice.allowed(), b""),
        "principal after \\x1f": ("\x1f" + alice.allowed(), b""),
        "escaped quote in an option": (quoted, b""),
        "revoked by certificate": (alice.allowed(), f"{alice_cert}\n".encode()),
        "alice and bob": (alice.allowed() + bob.allowed(), b""),
        "no namespaces option": (alice.allowed(""), b""),
        "namespaces file": (alice.allowed('namespaces="file"'), b""),
        "namespaces git and file": (alice.allowed('namespaces="file,git"'), b""),
        "namespaces twice": (alice.allowed('namespaces="git",namespaces="file"'), b""),
        "revoked": (alice.allowed(), f"{alice.public_line} alice\n".encode()),
        "someone else revoked": (alice.allowed(), f"# old\n{bob.public_line}\n".encode()),
        "pattern principal": (alice.allowed().replace("alice@", "*@", 1), b""),
        "two principals": (
            alice.allowed().replace("alice@example.com", "alice@example.com,al@x", 1),
            b"",
        ),
        "key on two lines": (alice.allowed() + alice.allowed().replace("alice", "al", 1), b""),
        "expired": (alice.allowed('namespaces="git",valid-before="20200101"'), b""),
        "cert authority": (alice.allowed('cert-authority,namespaces="git"'), b""),
        "rsa": (rsa.allowed() + alice.allowed(), b""),
        "nobody": ("", b""),
    }


def _fast(signers: str, revoked: bytes) -> FastTrust | None:
    return FastTrust.build(signers, revoked)


def _verdicts(repo: Path, trust: TrustRoot, oid: str, content: str) -> tuple[Signature, Signature]:
    """(ssh-keygen's verdict, modelreg's), each verifier's private folder named alike."""
    verdicts = []
    for in_process in (False, True):
        with Verifier(repo, trust, in_process=in_process) as verifier:
            sig = verifier.verify("tag", oid, content)
            home = verifier.env["HOME"]
        verdicts.append(dataclasses.replace(sig, message=sig.message.replace(home, "HOME")))
    return verdicts[0], verdicts[1]


def test_in_process_verdicts_are_ssh_keygens(lab) -> None:  # type: ignore[no-untyped-def]
    repo, keys, tags = lab
    tags = dict(tags)
    alice_cert = tags.pop("_alice cert")
    decided = set()
    for root_name, (signers, revoked) in _trust_roots(keys, alice_cert).items():
        trust = TrustRoot(signers, revoked)
        fast_trust = _fast(signers, revoked)
        for tag_name, oid in tags.items():
            content = git(repo, "cat-file", "tag", oid)
            by_ssh_keygen, by_modelreg = _verdicts(repo, trust, oid, content)
            where = f"{tag_name} / {root_name}"
            assert by_modelreg == by_ssh_keygen, where
            raw = subprocess.run(
                ["git", "cat-file", "tag", oid], cwd=repo, capture_output=True
            ).stdout
            principal = fast_trust.good_principal(raw) if fast_trust else None
            if principal is not None:
                # soundness: the module vouches only where ssh-keygen says Good for that principal
                assert by_ssh_keygen.ok and by_ssh_keygen.principal == principal, where
                decided.add(where)
    assert decided == {
        f"{tag} / {root}"
        for tag in ("signed by alice", "sha256", "git tag -s")
        for root in (
            "alice and bob",
            "no namespaces option",
            "namespaces git and file",
            "someone else revoked",
            "rsa",
        )
    }


def test_refusals_keep_ssh_keygens_reasons(lab) -> None:  # type: ignore[no-untyped-def]
    repo, keys, tags = lab
    tags = {name: oid for name, oid in tags.items() if not name.startswith("_")}
    trust = TrustRoot(keys["alice"].allowed(), b"")
    with Verifier(repo, trust) as verifier:
        verdict = {
            name: verifier.verify("tag", oid, git(repo, "cat-file", "tag", oid))
            for name, oid in tags.items()
        }
    assert verdict["signed by alice"] == Signature(
        True, "alice@example.com", "ssh", "signed by alice@example.com"
    )
    assert (
        verdict["signed by carol"].message
        == "signed by a key that is not in the trusted allowed-signers file"
    )
    assert "incorrect signature" in verdict["tampered message"].message
    assert "incorrect signature" in verdict["transplanted"].message
    assert verdict["unsigned"] == Signature(False, None, None, "not signed")
    assert not verdict["namespace file"].ok
    revoked = TrustRoot(keys["alice"].allowed(), f"{keys['alice'].public_line}\n".encode())
    with Verifier(repo, revoked) as verifier:
        oid = tags["signed by alice"]
        sig = verifier.verify("tag", oid, git(repo, "cat-file", "tag", oid))
    # all ssh-keygen says of a revoked key, with what it means
    assert sig == Signature(
        False, None, "ssh", "Could not verify signature: is its key in the revocation file?"
    )


def test_split_signed_takes_the_last_signature_line_as_git_does() -> None:
    body = b"object x\n\nmsg\n-----BEGIN PGP SIGNATURE-----\nA\n-----BEGIN SSH SIGNATURE-----\nB\n"
    split = split_signed(body)
    assert split == (body[: body.index(b"-----BEGIN SSH")], b"-----BEGIN SSH SIGNATURE-----\nB\n")
    assert split_signed(b"object x\n\n  -----BEGIN SSH SIGNATURE-----\n") is None


@pytest.mark.parametrize(
    "revoked",
    [b"SSHKRL\n\x00rest", b"not a key line\n", b"ssh-ed25519 !!!notbase64\n", b"\xff\xfe\n"],
)
def test_revocation_files_it_cannot_read_leave_every_verdict_to_ssh_keygen(
    revoked: bytes, tmp_path: Path
) -> None:
    alice = make_key(tmp_path, "alice@example.com")
    assert _fast(alice.allowed(), revoked) is None


def test_a_malformed_allowed_signers_file_leaves_every_verdict_to_ssh_keygen(
    tmp_path: Path,
) -> None:
    alice = make_key(tmp_path, "alice@example.com")
    assert _fast(alice.allowed() + "bob@example.com ssh-ed25519\n", b"") is None
    fast = _fast(alice.allowed(), b"")
    assert fast is not None and list(fast.principals.values()) == ["alice@example.com"]
