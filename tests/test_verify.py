"""`modelreg verify`: every scenario of THREATS.md 1-24 and 28, with real keys and real signatures.

Each test builds a good history with real signed actions, marks the trusted
base (`git branch base`), then adds what an attacker would push: a commit and
tag forged with git plumbing (verify_helpers.Lab.forge), a tag rebuilt with
`git mktag`, a signer list edited in the pull request. It asserts the exit code
and the stable rule names of `verify --json`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from verify_helpers import MODEL, PREFIX, STATE, Forged, Lab, run_git

from conftest import Key, commit_all, git
from modelreg.core.actions import iso_utc
from modelreg.core.digest import digest
from modelreg.core.lifecycle import render_state
from modelreg.signing import interpret
from modelreg.yamlio import loads

DEV = f"{PREFIX}/{MODEL}/development"
STAGING = f"{PREFIX}/{MODEL}/staging"
PROD = f"{PREFIX}/{MODEL}/production"
ALICE, BOB = "alice@example.com", "bob@example.com"


@pytest.fixture
def lab(signed: Path, keys: dict[str, Key], cli: Any, tmp_path: Path) -> Lab:
    """The example registry (alice and bob trusted, alice signing) as a Lab."""
    return Lab(signed, cli, keys, tmp_path)


@pytest.fixture
def dave(lab: Lab) -> Key:
    """A key for dave@example.com, trusted by no file yet."""
    return lab.key("dave@example.com")


def trusted(lab: Lab, *extra: str) -> str:
    """Alice's and Bob's allowed-signers lines, then EXTRA lines."""
    return "".join([lab.keys["alice"].allowed(), lab.keys["bob"].allowed(), *extra])


def git_verify_tag(
    repo: Path, tag: str, signers: str, tmp: Path
) -> subprocess.CompletedProcess[str]:
    """Plain `git verify-tag` against SIGNERS (what a naive CI script would run)."""
    allowed = tmp / "ci-allowed-signers"
    allowed.write_text(signers)
    revoked = tmp / "ci-revoked"
    revoked.write_text("")
    return subprocess.run(
        [
            "git",
            "-c",
            f"gpg.ssh.allowedSignersFile={allowed}",
            "-c",
            f"gpg.ssh.revocationFile={revoked}",
            "verify-tag",
            "--raw",
            tag,
        ],
        cwd=repo,
        capture_output=True,
        text=True,
    )


# --- 1-17: signatures -----------------------------------------------------------------


def test_1_good_ssh_signatures_pass_and_name_the_principals(lab: Lab) -> None:
    lab.base()
    lab.promote("1.1.0", "development", "staging")
    lab.promote("1.1.0", "production", key=lab.keys["bob"])
    v = lab.verify("--base", "base")
    assert v.code == 0, v
    assert v.data["ok"] is True and v.data["problems"] == [] and v.data["warnings"] == []
    assert v.data["signers"] == {f"{DEV}/1": ALICE, f"{STAGING}/1": ALICE, f"{PROD}/1": BOB}
    assert (v.data["range"], v.data["commits"], v.data["actions"]) == ("base..HEAD", 3, 3)
    text = lab.run("verify", "--base", "base")
    assert text.code == 0
    assert f"verified {PROD}/1: signed by {BOB}" in text.out


def test_2_signer_not_in_allowed_signers_fails_without_saying_good(
    lab: Lab, tmp_path: Path
) -> None:
    lab.base()
    forged = lab.forge("promote", "development", "1.1.0", key=lab.keys["carol"])
    # the trap: git itself prints "Good ..." for a key no principal matches
    naive = git_verify_tag(lab.repo, forged.tag, trusted(lab), tmp_path)
    assert naive.returncode == 1 and "Good" in naive.stderr
    assert "No principal matched" in naive.stderr
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"signature"}
    assert "Good" not in v.message("signature")
    assert "not in the trusted allowed-signers file" in v.message("signature")
    assert v.problems("signature")[0]["tag"] == forged.tag
    assert forged.tag not in v.data["signers"]
    text = lab.run("verify", "--base", "base")
    assert text.code == 1 and "Good" not in text.out + text.err


@pytest.mark.parametrize(
    ("kind", "rule", "says"),
    [
        ("annotated", "signature", "not signed"),  # 3
        ("lightweight", "lightweight-tag", "lightweight"),  # 4
    ],
)
def test_3_4_unsigned_and_lightweight_tags_fail(lab: Lab, kind: str, rule: str, says: str) -> None:
    lab.base()
    forged = lab.forge("promote", "development", "1.1.0", key=None, kind=kind)
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {rule}
    assert says in v.message(rule)
    assert forged.tag not in v.data["signers"]


def test_5_tag_message_tampered_and_rebuilt_with_mktag(lab: Lab) -> None:
    lab.base()
    tag = lab.act("promote", MODEL, "1.1.0", "--to", "development")["tag"]
    raw = lab.raw_tag(tag)
    subject = f"modelreg: promote {MODEL}@1.1.0 to development"
    assert subject in raw
    lab.mktag(tag, raw.replace(subject, subject + " (approved by the CAB)"))
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"signature"}
    assert "Good" not in v.message("signature")
    assert v.data["signers"] == {}


def test_6_tag_target_changed_and_rebuilt_with_mktag(lab: Lab) -> None:
    lab.base()
    done = lab.act("promote", MODEL, "1.1.0", "--to", "development")
    commit, tag = done["commit"], done["tag"]
    # the same tree and message under another commit id: the signed tag now seals it
    message = run_git(lab.repo, "log", "-1", "--format=%B", commit) + "\n"
    other = lab.commit_tree(
        f"{commit}^", {STATE: (lab.repo / STATE).read_text()}, message, date="2026-11-20T10:00:01Z"
    )
    assert other != commit
    run_git(lab.repo, "update-ref", "HEAD", other, commit)
    raw = lab.raw_tag(tag)
    lab.mktag(tag, raw.replace(f"object {commit}", f"object {other}"))
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"signature"}
    assert "Good" not in v.message("signature")


@pytest.mark.parametrize("signer", ["alice", "dave"])
def test_7_tagger_says_bob_authorisation_uses_the_key(lab: Lab, dave: Key, signer: str) -> None:
    key = dave if signer == "dave" else lab.keys["alice"]
    lab.signers(trusted(lab, dave.allowed()), signed_by=lab.keys["alice"])
    lab.promote("1.1.0", "development", "staging")
    lab.base()
    forged = lab.forge("promote", "production", "1.1.0", key=key, tagger="Bob <bob@example.com>")
    assert "tagger Bob <bob@example.com>" in lab.raw_tag(forged.tag)
    v = lab.verify("--base", "base")
    if signer == "alice":
        assert v.code == 0, v
        assert v.data["signers"] == {forged.tag: ALICE}
    else:
        assert v.code == 1, v
        assert v.rules == {"signer-not-allowed"}
        message = v.message("signer-not-allowed")
        assert message.startswith("dave@example.com may not sign actions on production")
        assert forged.tag not in v.data["signers"]


def test_8_staging_signer_cannot_sign_production(lab: Lab, dave: Key) -> None:
    lab.signers(trusted(lab, dave.allowed()), signed_by=lab.keys["alice"])
    lab.promote("1.1.0", "development")
    lab.base()
    lab.promote("1.1.0", "staging", key=dave)  # staging takes any trusted signer
    refused = lab.run("--json", "promote", MODEL, "1.1.0", "--to", "production", "--reason", "r")
    assert refused.code == 1 and '"signer-not-allowed"' in refused.err
    forged = lab.forge("promote", "production", "1.1.0", key=dave)
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"signer-not-allowed"}
    assert v.problems("signer-not-allowed")[0]["tag"] == forged.tag
    assert v.data["signers"] == {f"{STAGING}/1": "dave@example.com"}


def test_9_allowed_signers_entry_for_the_file_namespace_fails(lab: Lab, dave: Key) -> None:
    lab.signers(trusted(lab, dave.allowed('namespaces="file"')), signed_by=lab.keys["alice"])
    lab.base()
    forged = lab.forge("promote", "development", "1.1.0", key=dave)
    lab.promote("1.1.0", "staging", key=lab.keys["bob"])  # the other lines stay trusted
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"signature"}
    assert [p["tag"] for p in v.problems("signature")] == [forged.tag]
    assert "Good" not in v.message("signature")
    assert v.data["signers"] == {f"{STAGING}/1": BOB}
    check = lab.run("check")
    assert 'namespaces must include "git"' in check.out


def test_10_key_expired_by_valid_before_fails(lab: Lab, dave: Key) -> None:
    lab.signers(
        trusted(lab, dave.allowed('namespaces="git",valid-before="20200101"')),
        signed_by=lab.keys["alice"],
    )
    lab.base()
    forged = lab.forge("promote", "development", "1.1.0", key=dave)
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"signature"}
    assert "Good" not in v.message("signature")
    assert "not valid at the tag's date (valid-before/valid-after)" in v.message("signature")
    assert forged.tag not in v.data["signers"]


@pytest.mark.parametrize("first", [False, True], ids=["after-an-action", "first-on-the-stage"])
def test_10_expired_key_with_a_back_dated_tag_fails(lab: Lab, dave: Key, first: bool) -> None:
    """valid-before is judged against the tagger date, which the signer chooses."""
    lab.signers(
        trusted(lab, dave.allowed('namespaces="git",valid-before="20200101"')),
        signed_by=lab.keys["alice"],
    )
    if not first:
        lab.promote("1.1.0", "development")
    lab.base()
    version = "1.1.0" if first else "1.0.0"
    forged = lab.forge("promote", "development", version, key=dave, date="2019-12-01T00:00:00Z")
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"tag-backdated"}, v
    assert v.problems("tag-backdated")[0]["tag"] == forged.tag
    # ssh-keygen accepted the signature: it judged valid-before at the chosen date
    assert v.data["signers"] == {forged.tag: "dave@example.com"}
    audit = lab.verify("--all")  # each action against the commit it was made on
    assert audit.code == 1 and audit.rules == {"tag-backdated"}, audit


def test_11_revoked_key_fails(lab: Lab) -> None:
    lab.revoke(lab.keys["alice"], signed_by=lab.keys["bob"])
    lab.base()
    forged = lab.forge("promote", "development", "1.1.0", key=lab.keys["alice"])
    lab.promote("1.1.0", "staging", key=lab.keys["bob"])  # bob is not revoked
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"signature"}
    assert [p["tag"] for p in v.problems("signature")] == [forged.tag]
    assert "Good" not in v.message("signature")
    assert v.data["signers"] == {f"{STAGING}/1": BOB}


def test_12_revocation_file_named_by_policy_but_missing_fails_closed(lab: Lab) -> None:
    assert "revocation_file: .modelreg/revoked_keys" in (lab.repo / "modelreg.yaml").read_text()
    (lab.repo / ".modelreg" / "revoked_keys").unlink()
    lab.commit("no revocations", signed_by=lab.keys["alice"])
    lab.base()
    lab.forge("promote", "development", "1.1.0", key=lab.keys["alice"])
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"signature"}
    assert "revocation file .modelreg/revoked_keys named by policy is missing" in v.message(
        "signature"
    )
    assert v.data["signers"] == {}


def test_13_malformed_allowed_signers_line_is_named_by_check_and_verify_fails_closed(
    lab: Lab,
) -> None:
    lab.signers(
        lab.keys["alice"].allowed(),
        "bob@example.com ssh-ed25519 this-is-not-base64!\n",
        signed_by=lab.keys["alice"],
    )
    check = lab.run("--json", "check", "--all")
    assert check.code == 1
    found = [p for p in check.json()["problems"] if p.get("file") == ".modelreg/allowed_signers"]
    assert [(p["rule"], p["line"]) for p in found] == [("signers", 2)], check.out
    lab.base()
    lab.forge("promote", "development", "1.1.0", key=lab.keys["alice"])  # alice's line is fine
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"signature"}
    assert ".modelreg/allowed_signers:2:" in v.message("signature")
    assert v.data["signers"] == {}


NEW_KEY = ("A <a@x>", "ed25519", "sign", "1y")  # user id, algorithm, usage, expiry


@pytest.fixture
def gnupg() -> Iterator[tuple[dict[str, str], str]]:
    """A throwaway GNUPGHOME with one ed25519 signing key: ({"GNUPGHOME": ...}, fingerprint)."""
    gpg = shutil.which("gpg")
    if gpg is None:
        pytest.skip("gpg is not installed: the OpenPGP cases need it to sign a tag")
    home = tempfile.mkdtemp(prefix="gpg-")  # short: gpg-agent's socket path has a length limit
    env = {"GNUPGHOME": home}
    full = {**os.environ, **env}
    try:
        subprocess.run(
            [gpg, "--batch", "--passphrase", "", "--quick-gen-key", *NEW_KEY],
            env=full,
            check=True,
            capture_output=True,
        )
        listing = subprocess.run(
            [gpg, "--batch", "--with-colons", "--list-keys"],
            env=full,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        fpr = next(row.split(":")[9] for row in listing.splitlines() if row.startswith("fpr:"))
        yield env, fpr
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=full, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def openpgp_tag(lab: Lab, forged: Forged, env: dict[str, str], fpr: str) -> None:
    """Seal FORGED's commit with an OpenPGP-signed tag (key FPR in the GNUPGHOME of ENV)."""
    sign = ["-c", "gpg.format=openpgp", "-c", f"user.signingkey={fpr}", "tag", "-s", "-F", "-"]
    run_git(lab.repo, *sign, forged.tag, forged.commit, input=forged.record.message(), env=env)


def test_14_openpgp_signature_where_policy_allows_only_ssh_fails(
    lab: Lab, gnupg: tuple[dict[str, str], str]
) -> None:
    env, fpr = gnupg
    lab.base()
    forged = lab.forge("promote", "development", "1.1.0", key=None, kind="none")
    openpgp_tag(lab, forged, env, fpr)
    assert "-----BEGIN PGP SIGNATURE-----" in lab.raw_tag(forged.tag)
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"signature"}
    assert "signed with openpgp; policy accepts ssh only" in v.message("signature")
    assert v.data["signers"] == {}


@pytest.mark.parametrize(
    "listed", [True, False], ids=["key-in-policy-file", "ambient-keyring-only"]
)
def test_14_openpgp_is_authorised_on_the_trusted_key_file_never_the_ambient_keyring(
    lab: Lab, gnupg: tuple[dict[str, str], str], monkeypatch: pytest.MonkeyPatch, listed: bool
) -> None:
    env, fpr = gnupg
    exported = subprocess.run(
        ["gpg", "--batch", "--armor", "--export", fpr],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    revocation = "  revocation_file: .modelreg/revoked_keys\n"
    openpgp = "  format: any\n  openpgp_keys: .modelreg/openpgp_keys\n"
    lab.edit("modelreg.yaml", revocation, revocation + openpgp)
    lab.write(".modelreg/openpgp_keys", exported if listed else "")
    lab.commit("accept OpenPGP signatures", signed_by=lab.keys["alice"])
    lab.base()
    forged = lab.forge("promote", "development", "1.1.0", key=None, kind="none")
    openpgp_tag(lab, forged, env, fpr)
    # the signer's own keyring (which trusts the key ultimately) is the ambient one
    monkeypatch.setenv("GNUPGHOME", env["GNUPGHOME"])
    v = lab.verify("--base", "base")
    if listed:
        assert v.code == 0, v
        assert v.data["signers"] == {forged.tag: "a@x"}
    else:
        assert v.code == 1, v
        assert v.rules == {"signature"}
        assert "not trusted" in v.message("signature")


@pytest.mark.parametrize("target", ["tree", "tag"])
def test_15_tag_signed_over_a_tree_or_a_tag_fails(lab: Lab, target: str) -> None:
    lab.base()
    forged = lab.forge("promote", "development", "1.1.0", key=None, kind="none")
    alice = lab.keys["alice"]
    if target == "tree":
        obj = run_git(lab.repo, "rev-parse", f"{forged.commit}^{{tree}}")
    else:  # a signed tag on the commit, under another name, then the action tag on that tag
        obj = lab.tag("inner", forged.commit, forged.record.message(), key=alice)
    lab.tag(forged.tag, obj, forged.record.message(), key=alice)
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"tag-target", "unsigned-state-change"}, v
    assert v.problems("tag-target")[0]["tag"] == forged.tag
    assert f"a tag on a {target}, not on a commit" in v.message("tag-target")


@pytest.mark.parametrize(("ahead", "ok"), [(5 * 60, True), (24 * 3600, False), (None, False)])
def test_16_tag_dated_in_the_future_beyond_a_small_skew_fails(
    lab: Lab, ahead: int | None, ok: bool
) -> None:
    when = "2099-01-01T00:00:00Z" if ahead is None else iso_utc(int(time.time()) + ahead)
    lab.base()
    forged = lab.forge("promote", "development", "1.1.0", key=lab.keys["alice"], date=when)
    v = lab.verify("--base", "base")
    if ok:
        assert v.code == 0, v
        assert v.data["signers"] == {forged.tag: ALICE}
    else:
        assert v.code == 1, v
        assert v.rules == {"tag-future"}
        assert f"dated {when}" in v.message("tag-future")


_NO_PRINCIPAL = (
    'Good "git" signature with ED25519 key SHA256:q5nVh2yC0w0H8xYbJvXo0K3kTQ1nB6mZ2v8dVZpJ4hE\n'
    "No principal matched.\n"
)
_GOOD_ALICE = (
    'Good "git" signature for alice@example.com with ED25519 key '
    "SHA256:q5nVh2yC0w0H8xYbJvXo0K3kTQ1nB6mZ2v8dVZpJ4hE\n"
)

_GOODSIG = "[GNUPG:] GOODSIG 0123456789ABCDEF A <a@x>\n"


@pytest.mark.parametrize(
    ("fmt", "status", "stderr"),
    [
        ("ssh", 1, _NO_PRINCIPAL),  # git's own words when the key is not allowed
        ("ssh", 1, _GOOD_ALICE),  # "Good ... for alice" text, but git said no
        ("ssh", 0, _NO_PRINCIPAL),  # status 0 without a principal git vouched for
        ("ssh", 0, ""),
        ("ssh", 255, "fatal: unable to run ssh-keygen\n"),
        ("openpgp", 1, _GOODSIG + 'gpg: Good signature from "A <a@x>"\n'),
        ("openpgp", 0, _GOODSIG),  # no VALIDSIG of a trusted key
        (None, 0, _GOOD_ALICE),  # no signature block at all
    ],
    ids=[
        "ssh-no-principal",
        "ssh-good-text-status-1",
        "ssh-status-0-no-principal",
        "ssh-status-0-silent",
        "ssh-keygen-missing",
        "openpgp-good-text-status-1",
        "openpgp-no-validsig",
        "unsigned",
    ],
)
def test_17_only_exit_status_zero_with_a_vouched_principal_counts(
    fmt: str | None, status: int, stderr: str
) -> None:
    sig = interpret(fmt, status, stderr, {})
    assert sig.ok is False
    assert sig.principal is None
    assert "Good" not in sig.message


def test_17_good_signature_with_status_zero_names_the_principal() -> None:
    sig = interpret("ssh", 0, _GOOD_ALICE, {})
    assert (sig.ok, sig.principal) == (True, ALICE)
    assert "Good" not in sig.message
    fpr = "0123456789ABCDEF0123456789ABCDEF01234567"
    validsig = f"[GNUPG:] VALIDSIG {fpr} 2026-11-20 1795168800 0 4 0 22 10 00 {fpr}\n"
    assert interpret("openpgp", 0, validsig, {fpr: "a@x"}).principal == "a@x"
    assert interpret("openpgp", 0, validsig, {}).ok is False


# --- 18-24, 28: trust root and action semantics ---------------------------------------


@pytest.mark.parametrize("how", ["commit", "signed-action"])
def test_18_hand_edited_state_file_fails(lab: Lab, how: str) -> None:
    lab.promote("1.1.0", "development")
    lab.base()
    if how == "commit":  # edited and committed as any file
        lab.edit(STATE, "  development:\n    version: 1.1.0", "  development:\n    version: 1.0.0")
        lab.commit("fix the state")
        rules = {"unsigned-state-change"}
    else:  # a signed staging action whose state also puts 1.1.0 in production

        def serve_production(state: dict[str, Any]) -> None:
            state["stages"]["production"] = dict(state["stages"]["staging"])

        lab.forge("promote", "staging", "1.1.0", key=lab.keys["alice"], edit_state=serve_production)
        rules = {"state-mismatch"}
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == rules


@pytest.mark.parametrize("change_signed_by", [None, "carol", "alice"])
def test_19_pull_request_adds_its_own_key_and_uses_it(
    lab: Lab, change_signed_by: str | None
) -> None:
    carol = lab.keys["carol"]
    lab.base()
    signer = lab.keys[change_signed_by] if change_signed_by else None
    lab.signers(trusted(lab, carol.allowed()), signed_by=signer)
    tag = lab.act("promote", MODEL, "1.1.0", "--to", "development", key=carol)["tag"]
    v = lab.verify("--base", "base")  # judged by the signer list of the base
    assert v.code == 1, v
    expected = (
        {"signature"} if change_signed_by == "alice" else {"signature", "trust-change-unsigned"}
    )
    assert v.rules == expected
    assert v.problems("signature")[0]["tag"] == tag
    assert "not in the trusted allowed-signers file" in v.message("signature")
    if change_signed_by != "alice":
        assert v.problems("trust-change-unsigned")[0]["file"] == ".modelreg/allowed_signers"


def test_19_signer_change_signed_by_a_staging_only_signer_fails(lab: Lab, dave: Key) -> None:
    lab.signers(trusted(lab, dave.allowed()), signed_by=lab.keys["alice"])
    lab.base()
    lab.signers(trusted(lab, dave.allowed(), lab.keys["carol"].allowed()), signed_by=dave)
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"trust-change-signer"}
    assert "dave@example.com" in v.message("trust-change-signer")


def test_20_pull_request_removes_a_revocation_and_uses_the_key(lab: Lab) -> None:
    bob = lab.keys["bob"]
    lab.revoke(bob, signed_by=lab.keys["alice"])
    lab.base()
    lab.revoke()  # an empty revocation file
    tag = lab.act("promote", MODEL, "1.1.0", "--to", "development", key=bob)["tag"]
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"signature", "trust-change-unsigned"}
    assert v.problems("signature")[0]["tag"] == tag
    assert v.problems("trust-change-unsigned")[0]["file"] == ".modelreg/revoked_keys"
    assert v.data["signers"] == {}


def test_21_policy_restored_to_an_older_policy_version_fails(lab: Lab) -> None:
    alice = lab.keys["alice"]
    lab.edit("modelreg.yaml", "policy_version: 1\n", "policy_version: 2\n")
    lab.edit("modelreg.yaml", "max_weight: 50", "max_weight: 20")
    lab.commit("policy 2: canaries at most 20%", signed_by=alice)
    lab.base()
    run_git(lab.repo, "checkout", "-q", "HEAD~1", "--", "modelreg.yaml")
    lab.commit("restore the old policy", signed_by=alice)  # a release manager, yet
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"policy-version"}
    assert "from 2 to 1" in v.message("policy-version")


def register_1_2_0(lab: Lab) -> None:
    """Commit summarizer 1.2.0, a child of 1.1.0 with no eval files."""
    text = (lab.repo / "models" / MODEL / "1.1.0.yaml").read_text()
    text = text.replace("version: 1.1.0", "version: 1.2.0").replace(
        "parent: 1.0.0", "parent: 1.1.0"
    )
    lab.write(f"models/{MODEL}/1.2.0.yaml", text.replace("temperature: 0.2", "temperature: 0.1"))
    lab.commit("register summarizer 1.2.0")


def new_version_in_development(lab: Lab) -> str:
    """summarizer 1.2.0 registered and serving development, on the base; its digest."""
    register_1_2_0(lab)
    lab.promote("1.2.0", "development")
    lab.base()
    return str(lab.run("--json", "show", f"{MODEL}@1.2.0").json()["digest"])


def eval_text(config_digest: str, metrics: str) -> str:
    return (
        f"schema: modelreg/eval/v1\nmodel: {MODEL}\nversion: 1.2.0\n"
        f"config_digest: {config_digest}\nsuite: smoke\nsamples: 50\nmetrics: {metrics}\n"
    )


SMOKE_12 = f"evals/{MODEL}/1.2.0/smoke.yaml"


def test_22_eval_of_another_config_never_satisfies_a_gate(lab: Lab) -> None:
    new_version_in_development(lab)
    copied = (lab.repo / "evals" / MODEL / "1.1.0" / "smoke.yaml").read_text()
    lab.write(SMOKE_12, copied.replace("version: 1.1.0", "version: 1.2.0"))
    lab.commit("smoke eval for 1.2.0 (copied from 1.1.0)")
    refused = lab.run("--json", "promote", MODEL, "1.2.0", "--to", "staging", "--reason", "r")
    assert refused.code == 1 and '"gate"' in refused.err
    evals = {"smoke": digest(loads((lab.repo / SMOKE_12).read_bytes()).data)}
    forged = lab.forge(
        "promote", "staging", "1.2.0", key=lab.keys["alice"], lenient=True, evals=evals
    )
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"gate"}
    assert v.problems("gate")[0]["tag"] == forged.tag
    assert "another config" in v.message("gate")


@pytest.mark.parametrize("metric", [".nan", ".inf", "-.inf", '"0.95"', "high"])
def test_23_nan_infinity_or_a_string_metric_never_passes(lab: Lab, metric: str) -> None:
    config = new_version_in_development(lab)
    lab.write(SMOKE_12, eval_text(config, f"{{accuracy: {metric}}}"))
    lab.commit("a smoke eval")
    claimed = {"smoke": "sha256:" + "ab" * 32}  # what the forger claims the eval was
    forged = lab.forge(
        "promote", "staging", "1.2.0", key=lab.keys["alice"], lenient=True, evals=claimed
    )
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"schema"}
    # the eval file where it was committed, and the action that relied on it
    committed, relied_on = v.problems("schema")
    assert committed["file"] == SMOKE_12 and committed["line"] == 7
    assert relied_on["tag"] == forged.tag and relied_on["file"] == STATE
    assert f"the action's rules cannot be checked: {SMOKE_12} at " in relied_on["message"]


def test_23_a_finite_metric_under_the_same_forgery_is_judged_by_the_gate(lab: Lab) -> None:
    """The control for the cases above: the same forged action with an honest eval file."""
    config = new_version_in_development(lab)
    lab.write(SMOKE_12, eval_text(config, "{accuracy: 0.95}"))
    lab.commit("a smoke eval")
    evals = {"smoke": digest(loads((lab.repo / SMOKE_12).read_bytes()).data)}
    forged = lab.forge(
        "promote", "staging", "1.2.0", key=lab.keys["alice"], lenient=True, evals=evals
    )
    v = lab.verify("--base", "base")
    assert v.code == 0, v
    assert v.data["signers"] == {forged.tag: ALICE}


@pytest.mark.parametrize("claimed", [{}, {"smoke": "sha256:" + "cd" * 32}])
def test_24_missing_eval_for_a_required_suite_fails(lab: Lab, claimed: dict[str, str]) -> None:
    new_version_in_development(lab)
    refused = lab.run("--json", "promote", MODEL, "1.2.0", "--to", "staging", "--reason", "r")
    assert refused.code == 1 and '"gate"' in refused.err
    lab.forge("promote", "staging", "1.2.0", key=lab.keys["alice"], lenient=True, evals=claimed)
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"gate"}
    assert "smoke" in v.message("gate")


def test_28_squash_merged_promotion_fails_with_advice(lab: Lab) -> None:
    lab.base()
    git(lab.repo, "switch", "-q", "-c", "feature")
    lab.promote("1.1.0", "development", "staging")
    git(lab.repo, "switch", "-q", "main")
    git(lab.repo, "merge", "-q", "--squash", "feature")
    lab.commit("promote summarizer 1.1.0 (#12)")
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"squash-merge", "tag-unreachable"}, v
    (squashed,) = v.problems("squash-merge")
    assert squashed["file"] == STATE and squashed["tag"] in (f"{DEV}/1", f"{STAGING}/1")
    for rule in v.rules:
        assert "a squash or rebase merge" in v.message(rule)
        assert "merge commit or fast-forward" in v.message(rule)
    assert v.data["signers"] == {}


@pytest.mark.parametrize("how", ["--ff-only", "--no-ff"])
def test_fast_forward_and_merge_commits_keep_promotions_intact(lab: Lab, how: str) -> None:
    lab.base()
    git(lab.repo, "switch", "-q", "-c", "feature")
    lab.promote("1.1.0", "development", "staging")
    git(lab.repo, "switch", "-q", "main")
    if how == "--no-ff":  # main moved meanwhile: a real merge commit
        register_1_2_0(lab)
    git(lab.repo, "merge", "-q", how, "-m", "merge feature", "feature")
    merges = git(lab.repo, "rev-list", "--merges", "base..HEAD").split()
    assert len(merges) == (1 if how == "--no-ff" else 0)
    v = lab.verify("--base", "base")
    assert v.code == 0, v
    assert v.data["signers"] == {f"{DEV}/1": ALICE, f"{STAGING}/1": ALICE}
    assert v.data["actions"] == 2


def test_merge_commit_that_resolves_a_state_conflict_by_hand_fails(lab: Lab) -> None:
    lab.promote("1.1.0", "development")
    lab.base()
    git(lab.repo, "switch", "-q", "-c", "feature")
    lab.promote("1.1.0", "staging")
    theirs = loads((lab.repo / STATE).read_bytes()).data
    git(lab.repo, "switch", "-q", "main")
    lab.promote("1.0.0", "development")
    ours = loads((lab.repo / STATE).read_bytes()).data
    # both sides, combined by hand: each stage and tag as its own side left it
    ours["stages"]["staging"] = theirs["stages"]["staging"]
    ours["tags"]["staging"] = theirs["tags"]["staging"]
    git(lab.repo, "merge", "-q", "--no-ff", "--no-commit", "-s", "ours", "feature")
    lab.write(STATE, render_state(ours, ("development", "staging", "production")))
    lab.commit("merge feature")
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"merge-state"}
    assert v.problems("merge-state")[0]["file"] == STATE


# --- chain, freeze, names ------------------------------------------------------------


@pytest.mark.parametrize(
    ("seq", "previous", "rules"),
    [
        (1, None, {"tag-chain", "tag-seq"}),  # an old sequence number replayed (rollback)
        (3, f"{DEV}/1", {"tag-seq"}),  # a sequence number skipped (fast-forward)
        (2, None, {"tag-chain"}),  # the right number, the chain cut
    ],
)
def test_replayed_or_skipped_sequence_numbers_fail(
    lab: Lab, seq: int, previous: str | None, rules: set[str]
) -> None:
    lab.promote("1.1.0", "development")
    lab.base()
    forged = lab.forge(
        "promote",
        "development",
        "1.0.0",
        key=lab.keys["alice"],
        edit_record=lambda r: replace(r, seq=seq, previous_tag=previous),
    )
    assert forged.tag == f"{DEV}/{seq}"
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    # the rules' own record and state (seq + 1 after the state's tag) differ as well
    assert rules <= v.rules <= rules | {"tag-body", "state-mismatch"}
    assert all(p["tag"] == forged.tag for p in v.data["problems"])


def test_old_state_restored_without_an_action_fails(lab: Lab) -> None:
    first = lab.act("promote", MODEL, "1.1.0", "--to", "development")["commit"]
    lab.promote("1.0.0", "development")
    lab.base()
    git(lab.repo, "checkout", first, "--", STATE)  # back to what dev/1 sealed, no new tag
    lab.commit("roll back development")
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"unsigned-state-change"}


@pytest.mark.parametrize("deleted", ["newest", "older-in-base"])
def test_deleted_action_tags_fail(lab: Lab, deleted: str) -> None:
    """Freeze: tags deleted on the remote are missing from the chain."""
    if deleted == "newest":
        lab.base()
    lab.promote("1.1.0", "development")
    if deleted != "newest":
        lab.base()
    lab.promote("1.0.0", "development")
    git(lab.repo, "tag", "-d", f"{DEV}/2" if deleted == "newest" else f"{DEV}/1")
    for args in (("--base", "base"), ("--all",)):
        v = lab.verify(*args)
        assert v.code == 1, v
        assert "tag-missing" in v.rules, v


@pytest.mark.parametrize("how", ["renamed", "other-model", "second-tag"])
def test_tag_names_must_match_their_object_and_body(lab: Lab, how: str) -> None:
    lab.base()
    done = lab.act("promote", MODEL, "1.1.0", "--to", "development")
    tag, commit = done["tag"], done["commit"]
    oid = run_git(lab.repo, "rev-parse", f"refs/tags/{tag}")
    message = lab.raw_tag(tag).split("\n\n", 1)[1].split("-----BEGIN")[0]
    if how == "renamed":  # a valid signed tag object under another ref name
        run_git(lab.repo, "update-ref", f"refs/tags/{STAGING}/1", oid)
        run_git(lab.repo, "update-ref", "-d", f"refs/tags/{tag}")
        rules = {"tag-name", "tag-missing"}  # and the state names a tag that is gone
    elif how == "other-model":  # signed by a trusted key, named for another model
        run_git(lab.repo, "update-ref", "-d", f"refs/tags/{tag}")
        lab.tag(f"{PREFIX}/assistant/development/1", commit, message, key=lab.keys["alice"])
        rules = {"tag-name", "tag-missing"}
    else:  # one action commit, two action tags
        lab.tag(f"{STAGING}/1", commit, message, key=lab.keys["alice"])
        rules = {"tag-count"}
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == rules


def test_verify_all_on_a_good_history_reports_every_principal(lab: Lab) -> None:
    alice, bob = lab.keys["alice"], lab.keys["bob"]
    lab.promote("1.0.0", "development", "staging", key=alice)
    lab.promote("1.0.0", "production", key=bob)
    lab.promote("1.1.0", "development", "staging", key=alice)
    lab.act("canary", "start", MODEL, "1.1.0", "--stage", "production", "--weight", "10", key=bob)
    lab.act("canary", "weight", MODEL, "--stage", "production", "--weight", "25", key=alice)
    lab.act("canary", "promote", MODEL, "--stage", "production", key=bob)
    lab.act("rollback", MODEL, "--stage", "production", key=alice)
    lab.act("archive", "ticket-classifier", "2.0.0", key=bob)
    v = lab.verify("--all")
    assert v.code == 0, v
    assert v.data["warnings"] == []
    assert (v.data["range"], v.data["actions"]) == ("all history", 10)
    assert v.data["signers"] == {
        f"{DEV}/1": ALICE,
        f"{STAGING}/1": ALICE,
        f"{PROD}/1": BOB,
        f"{DEV}/2": ALICE,
        f"{STAGING}/2": ALICE,
        f"{PROD}/2": BOB,
        f"{PROD}/3": ALICE,
        f"{PROD}/4": BOB,
        f"{PROD}/5": ALICE,
        f"{PREFIX}/ticket-classifier/archived/1": BOB,
    }


# --- the verifier's own environment ----------------------------------------------------


def fake_ssh_keygen(folder: Path) -> Path:
    """A program that claims every signature is alice's."""
    fake = folder / "fake-ssh-keygen"
    fake.write_text(
        "#!/bin/sh\n"
        "cat >/dev/null\n"  # take the payload git writes, or git may fail on a closed pipe
        'case "$*" in\n'
        "  *find-principals*) echo 'alice@example.com' ;;\n"
        "  *) echo 'Good \"git\" signature for alice@example.com with ED25519 key SHA256:x' ;;\n"
        "esac\n"
        "exit 0\n"
    )
    fake.chmod(0o755)
    return fake


@pytest.mark.parametrize("where", ["repo-config", "environment"])
def test_ambient_git_settings_cannot_point_verification_elsewhere(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    lab.base()
    forged = lab.forge("promote", "development", "1.1.0", key=lab.keys["carol"])
    fake = fake_ssh_keygen(tmp_path)
    strangers = tmp_path / "strangers"
    strangers.write_text(lab.keys["carol"].allowed())
    settings = {"gpg.ssh.program": str(fake), "gpg.ssh.allowedSignersFile": str(strangers)}
    if where == "repo-config":
        for name, value in settings.items():
            git(lab.repo, "config", name, value)
    else:
        monkeypatch.setenv("GIT_CONFIG_COUNT", str(len(settings)))
        for i, (name, value) in enumerate(settings.items()):
            monkeypatch.setenv(f"GIT_CONFIG_KEY_{i}", name)
            monkeypatch.setenv(f"GIT_CONFIG_VALUE_{i}", value)
    # the trap is armed: git as the user runs it takes the tag
    assert subprocess.run(["git", "verify-tag", forged.tag], cwd=lab.repo).returncode == 0
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"signature"}
    assert v.data["signers"] == {}


def test_replace_refs_cannot_swap_the_trusted_signer_list(lab: Lab) -> None:
    carol = lab.keys["carol"]
    lab.promote("1.1.0", "development")
    base = lab.base()
    lab.forge("promote", "staging", "1.1.0", key=carol)
    # a stand-in for the base commit whose signer list trusts carol
    message = run_git(lab.repo, "log", "-1", "--format=%B", base) + "\n"
    files = {".modelreg/allowed_signers": trusted(lab, carol.allowed())}
    stand_in = lab.commit_tree(f"{base}^", files, message, tree_of=base)
    git(lab.repo, "replace", base, stand_in)
    shown = run_git(lab.repo, "show", "base:.modelreg/allowed_signers")
    assert carol.public_line in shown  # the trap is armed for git as the user runs it
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"signature"}


@pytest.mark.parametrize("how", ["replace-graft", "grafts-file"])
def test_rewritten_ancestry_cannot_hide_a_commit_from_the_range(lab: Lab, how: str) -> None:
    lab.promote("1.1.0", "development")
    base = lab.base()
    lab.edit(STATE, "  development:\n    version: 1.1.0", "  development:\n    version: 1.0.0")
    edited = lab.commit("fix the state")
    # make the pull request's commit look like an ancestor of the base
    if how == "replace-graft":
        git(lab.repo, "replace", "--graft", base, edited)
    else:
        git_dir = Path(run_git(lab.repo, "rev-parse", "--absolute-git-dir"))
        (git_dir / "info").mkdir(exist_ok=True)
        (git_dir / "info" / "grafts").write_text(f"{base} {edited}\n")
    assert run_git(lab.repo, "rev-list", "base..HEAD") == ""  # the trap is armed
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"unsigned-state-change"}
    assert v.data["commits"] == 1


def test_shallow_clone_exits_3_with_advice(lab: Lab, tmp_path: Path) -> None:
    lab.promote("1.1.0", "development")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{lab.repo}", str(shallow))
    as_json = lab.cli("--json", "verify", "--all", cwd=shallow)
    assert as_json.code == 3 and as_json.out == ""
    error = json.loads(as_json.err)["error"]
    assert error["rule"] == "shallow"
    assert "fetch-depth: 0" in error["message"] and "--unshallow" in error["message"]
    text = lab.cli("verify", "--base", "HEAD", cwd=shallow)
    assert text.code == 3
    assert text.err.startswith("error: ") and text.err.count("\n") == 1
    assert "shallow clone" in text.err


# --- what an action commit may change --------------------------------------------------


def test_archive_needs_a_signer_of_the_last_stage(lab: Lab, dave: Key) -> None:
    lab.signers(trusted(lab, dave.allowed()), signed_by=lab.keys["alice"])
    lab.base()
    forged = lab.forge("archive", "archived", "2.0.0", model="ticket-classifier", key=dave)
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"signer-not-allowed"}
    assert "may not sign actions on production" in v.message("signer-not-allowed")
    assert v.problems("signer-not-allowed")[0]["tag"] == forged.tag


@pytest.mark.parametrize("change", ["extra-file", "tag-reason", "version-file", "relied-on-eval"])
def test_action_commits_change_only_their_state_file_and_nothing_relied_on(
    lab: Lab, change: str
) -> None:
    alice = lab.keys["alice"]
    lab.promote("1.1.0", "development")
    lab.base()
    if change == "extra-file":
        lab.forge("promote", "staging", "1.1.0", key=alice, extra={"notes.txt": "hi\n"})
        rule = "action-commit"
    elif change == "tag-reason":  # the signed tag says one thing, the commit another
        forged = lab.forge("promote", "staging", "1.1.0", key=alice, kind="none")
        told = forged.record.message().replace("Modelreg-Reason: forged", "Modelreg-Reason: CAB-7")
        lab.tag(forged.tag, forged.commit, told, key=alice)
        rule = "trailers"
    elif change == "version-file":
        lab.edit(f"models/{MODEL}/1.0.0.yaml", "temperature: 0.3", "temperature: 0.9")
        lab.commit("tweak a registered version")
        rule = "immutable-version"
    else:
        lab.promote("1.1.0", "staging")  # relies on the smoke eval of 1.1.0
        lab.edit(f"evals/{MODEL}/1.1.0/smoke.yaml", "samples: 50", "samples: 5000")
        lab.commit("more samples")
        rule = "eval-changed"
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {rule}


@pytest.mark.parametrize("sneaked", ["allowed-signers", "revoked-keys", "relied-on-eval"])
def test_a_merge_commit_cannot_sneak_in_trust_or_evidence_changes(lab: Lab, sneaked: str) -> None:
    """An "evil merge": the change is made in the merge commit itself, on neither side."""
    lab.revoke(lab.keys["carol"], signed_by=lab.keys["alice"])
    lab.promote("1.1.0", "development", "staging")  # relies on 1.1.0's smoke eval
    lab.base()
    git(lab.repo, "switch", "-q", "-c", "feature")
    register_1_2_0(lab)
    git(lab.repo, "switch", "-q", "main")
    lab.write("notes.md", "unrelated\n")
    lab.commit("notes")
    git(lab.repo, "merge", "-q", "--no-ff", "--no-commit", "feature")
    path = {
        "allowed-signers": ".modelreg/allowed_signers",
        "revoked-keys": ".modelreg/revoked_keys",
        "relied-on-eval": f"evals/{MODEL}/1.1.0/smoke.yaml",
    }[sneaked]
    if sneaked == "allowed-signers":
        lab.write(path, trusted(lab, lab.keys["carol"].allowed()))
    elif sneaked == "revoked-keys":
        lab.write(path, "")
    else:
        lab.edit(path, "accuracy: 0.90", "accuracy: 0.99")
    lab.commit("merge feature")
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert v.rules == {"merge-change"}
    assert v.problems("merge-change")[0]["file"] == path


def test_a_fresh_registry_verifies(cli, tmp_path: Path) -> None:
    """`init` writes .gitkeep files under models/ and evals/: not registry files."""
    root = tmp_path / "fresh"
    assert cli("init", str(root)).code == 0
    commit_all(root, "a new registry")
    (root / "models" / "m").mkdir()
    (root / "models" / "m" / ".gitkeep").write_text("")
    commit_all(root, "a placeholder")
    v = cli("--repo", str(root), "--json", "verify", "--all")
    assert v.code == 0, v.out
    assert (v.json()["commits"], v.json()["checked"], v.json()["actions"]) == (2, 2, 0)


# --- merges that bring back or bring in what was never verified (review findings) ------


def _merge(lab: Lab, parents: list[str], files_from: dict[str, str]) -> str:
    """A merge commit of PARENTS: parents[0]'s tree with each path taken from a given rev."""
    env = {"GIT_INDEX_FILE": str(lab.tmp / "merge-index")}
    run_git(lab.repo, "read-tree", parents[0], env=env)
    for path, rev in files_from.items():
        blob = run_git(lab.repo, "rev-parse", f"{rev}:{path}")
        run_git(lab.repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
    tree = run_git(lab.repo, "write-tree", env=env)
    (lab.tmp / "merge-index").unlink()
    commit = run_git(
        lab.repo, "commit-tree", tree, *[a for p in parents for a in ("-p", p)], "-m", "Merge"
    )
    run_git(lab.repo, "update-ref", "HEAD", commit)
    run_git(lab.repo, "reset", "-q", "--hard")
    return commit


def _orphan(lab: Lab, drop: tuple[str, ...] = ()) -> str:
    """A root commit of the work tree as it is now (less DROP), then the work tree reset."""
    run_git(lab.repo, "add", "-A")
    for path in drop:
        run_git(lab.repo, "rm", "-q", "--cached", path)
    orphan = run_git(lab.repo, "commit-tree", run_git(lab.repo, "write-tree"), "-m", "import")
    run_git(lab.repo, "reset", "-q", "--hard")
    return orphan


def test_merging_an_old_commit_cannot_roll_production_back(lab: Lab) -> None:
    lab.promote("1.0.0", "development", "staging")
    lab.promote("1.0.0", "production", key=lab.keys["bob"])
    old = lab.head()
    lab.promote("1.1.0", "development", "staging")
    lab.promote("1.1.0", "production", key=lab.keys["bob"])
    lab.base()
    _merge(lab, [lab.head(), old], {STATE: old})
    for args in (("--base", "base"), ("--all",)):
        v = lab.verify(*args)
        assert v.code == 1, v
        assert "merge-state" in v.rules


def test_merging_an_old_commit_cannot_undo_a_revocation(lab: Lab) -> None:
    carol = lab.keys["carol"]
    signers = lab.keys["alice"].allowed() + lab.keys["bob"].allowed() + carol.allowed()
    lab.signers(signers, signed_by=lab.keys["alice"])
    before = lab.head()
    lab.revoke(carol, signed_by=lab.keys["alice"])
    lab.base()
    _merge(lab, [lab.head(), before], {".modelreg/revoked_keys": before})
    v = lab.verify("--base", "base")
    assert v.code == 1 and v.rules == {"merge-change"}, v


def test_an_unrelated_history_merged_in_is_not_trusted(lab: Lab) -> None:
    """An orphan root is not "the first commit": its signer list is not taken as given."""
    carol = lab.keys["carol"]
    lab.base()
    lab.write(".modelreg/allowed_signers", lab.keys["alice"].allowed() + carol.allowed())
    orphan = _orphan(lab)
    _merge(lab, [lab.head(), orphan], {".modelreg/allowed_signers": orphan})
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert "unrelated-history" in v.rules
    v = lab.verify("--all")
    assert v.code == 1 and "unrelated-history" in v.rules, v


def test_an_orphan_cannot_rewrite_a_registered_version(lab: Lab) -> None:
    lab.promote("1.0.0", "development", "staging")
    lab.base()
    version = f"models/{MODEL}/1.0.0.yaml"
    lab.edit(version, "temperature: 0.3", "temperature: 1.9")
    orphan = _orphan(lab, drop=(STATE,))
    _merge(lab, [lab.head(), orphan], {version: orphan})
    v = lab.verify("--base", "base")
    assert v.code == 1, v
    assert {"unrelated-history", "merge-change"} <= v.rules


def test_a_rewritten_old_tag_does_not_make_a_version_served(lab: Lab) -> None:
    """Where a version served comes from the state file's history, not from tag messages."""
    lab.promote("1.0.0", "development", "staging")
    lab.promote("1.1.0", "development", "staging")
    text = (lab.repo / "models" / MODEL / "1.1.0.yaml").read_text()
    text = text.replace("version: 1.1.0", "version: 1.2.0").replace(
        "parent: 1.0.0", "parent: 1.1.0"
    )
    lab.write(f"models/{MODEL}/1.2.0.yaml", text.replace("temperature: 0.2", "temperature: 0.1"))
    lab.commit("register 1.2.0 (no evals: fails every gate)")
    name = f"{PREFIX}/{MODEL}/staging/1"
    target = run_git(lab.repo, "rev-parse", f"{name}^{{commit}}")
    body = lab.raw_tag(name).split("\n\n", 1)[1].split("-----BEGIN")[0]
    lab.tag(
        name, target, body.replace("Version: 1.0.0", "Version: 1.2.0"), key=None, kind="annotated"
    )
    args = ("rollback", MODEL, "--stage", "staging", "--to", "1.2.0", "--reason", "x")
    result = lab.run(*args)
    assert result.code == 1 and "never served staging" in result.err, result.err
    assert (
        lab.run("rollback", MODEL, "--stage", "staging", "--to", "1.0.0", "--reason", "x").code == 0
    )


def test_log_does_not_vouch_for_a_tag_copied_under_a_chain_name(lab: Lab) -> None:
    lab.promote("1.1.0", "development", "staging")
    copied = run_git(lab.repo, "rev-parse", f"{DEV}/1")  # the development tag object
    run_git(lab.repo, "update-ref", f"refs/tags/{STAGING}/1", copied)
    events = json.loads(lab.run("--json", "log", MODEL).out)["events"]
    # the staging change has lost its tag: an unsigned change; the copy vouches for nothing
    assert [(e["action"], e["stage"], e["verified"]) for e in events] == [
        ("promote", "development", True),
        ("unsigned-change", "staging", False),
    ]
    assert "UNVERIFIED" in lab.run("log", MODEL).out


def test_the_first_signers_of_a_new_registry_are_taken_on_first_use(
    cli, tmp_path: Path, keys
) -> None:
    """`init`, commit, then add the first key: nobody could have signed that change."""
    root = tmp_path / "fresh"
    assert cli("init", str(root)).code == 0
    commit_all(root, "a new registry")
    (root / ".modelreg" / "allowed_signers").write_text(keys["alice"].allowed())
    commit_all(root, "trust alice")
    data = cli("--repo", str(root), "--json", "verify", "--all").json()
    assert data["ok"], data
    assert [w["rule"] for w in data["warnings"]] == ["trust-bootstrap"]
    (root / ".modelreg" / "allowed_signers").write_text(
        keys["alice"].allowed() + keys["carol"].allowed()
    )
    commit_all(root, "carol adds herself, unsigned")
    data = cli("--repo", str(root), "--json", "verify", "--all").json()
    assert [p["rule"] for p in data["problems"]] == ["trust-change-unsigned"]


def test_a_merge_that_drops_the_other_sides_action_says_so(lab: Lab) -> None:
    lab.base()
    run_git(lab.repo, "switch", "-q", "-c", "act")
    lab.promote("1.1.0", "development")
    run_git(lab.repo, "switch", "-q", "main")
    run_git(lab.repo, "merge", "-q", "-s", "ours", "-m", "merge act, keep ours", "act")
    v = lab.verify("--base", "base")
    assert v.rules == {"merge-state"}, v
    assert "the merge drops the other side's change" in v.message("merge-state")


# --- trust changes the base policy does not name (second review) ----------------------


def _move_signer_list_in_the_first_commit(lab: Lab, new_path: str) -> None:
    text = (lab.repo / ".modelreg/allowed_signers").read_text()
    (lab.repo / ".modelreg/allowed_signers").unlink()
    target = lab.repo / new_path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    lab.edit(
        "modelreg.yaml",
        "allowed_signers: .modelreg/allowed_signers",
        f"allowed_signers: {new_path}",
    )
    git(lab.repo, "add", "-A")
    git(lab.repo, "commit", "-q", "--amend", "--no-edit")  # still the root commit


@pytest.mark.parametrize("path", [".allowed_signers", "./.modelreg/allowed_signers"])
def test_a_signer_file_with_a_dot_name_or_a_dot_slash_is_watched(lab: Lab, path: str) -> None:
    _move_signer_list_in_the_first_commit(lab, path)
    assert lab.verify("--all").code == 0
    lab.base()
    mallory = lab.key("mallory@example.com")
    with open(lab.repo / path.removeprefix("./"), "a") as f:
        f.write(f'{ALICE} namespaces="git" {mallory.public_line}\n')
    lab.commit("tidy signers")  # unsigned
    v = lab.verify("--base", "base")
    assert v.code == 1 and v.rules == {"trust-change-unsigned"}, v


def test_a_signer_file_named_by_the_new_policy_is_watched(lab: Lab) -> None:
    """A signed commit moves the signer list; an unsigned one then edits the new file."""
    lab.base()
    (lab.repo / ".modelreg/signers2").write_text(
        (lab.repo / ".modelreg/allowed_signers").read_text()
    )
    lab.edit(
        "modelreg.yaml",
        "allowed_signers: .modelreg/allowed_signers",
        "allowed_signers: .modelreg/signers2",
    )
    lab.edit("modelreg.yaml", "policy_version: 1", "policy_version: 2")
    lab.commit("move the signer list", signed_by=lab.keys["alice"])
    mallory = lab.key("mallory@example.com")
    with open(lab.repo / ".modelreg/signers2", "a") as f:
        f.write(f'{ALICE} namespaces="git" {mallory.public_line}\n')
    lab.commit("fix whitespace")  # unsigned
    for args in (("--base", "base"), ("--all",)):
        v = lab.verify(*args)
        assert v.code == 1 and v.rules == {"trust-change-unsigned"}, v
        assert ".modelreg/signers2" in v.message("trust-change-unsigned")


def test_a_key_revoked_on_the_branch_cannot_act_through_an_old_side_branch(lab: Lab) -> None:
    fork = lab.head()
    lab.revoke(lab.keys["bob"], signed_by=lab.keys["alice"])
    lab.base("before-merge")
    run_git(lab.repo, "checkout", "-q", "-b", "side", fork)
    lab.act("promote", "ticket-classifier", "1.0.0", "--to", "development", key=lab.keys["bob"])
    run_git(lab.repo, "checkout", "-q", "main")
    run_git(lab.repo, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    v = lab.verify("--all")
    assert v.code == 1 and v.rules == {"merged-untrusted"}, v
    v = lab.verify("--base", "before-merge")
    assert v.code == 1 and "signature" in v.rules, v


def test_the_baseline_eval_no_regression_used_cannot_change_afterwards(
    cli, signed: Path, keys
) -> None:
    """1.0.0 reached production before the regression gate existed; 1.1.0's promotion then
    compared against 1.0.0's regression eval, so that eval is evidence from then on."""
    policy = signed / "modelreg.yaml"
    strict = policy.read_text()
    lenient = strict.replace("      - suite: regression\n", "      - suite: smoke\n").replace(
        "        no_regression: {accuracy: 0.02}  # at most 0.02 below the version now serving\n",
        "",
    )
    policy.write_text(lenient)
    git(signed, "commit", "-q", "-S", "-am", "a lenient production gate")
    for stage in ("development", "staging", "production"):
        assert (
            cli("promote", "summarizer", "1.0.0", "--to", stage, "--reason", "r", cwd=signed).code
            == 0
        )
    policy.write_text(strict.replace("policy_version: 1", "policy_version: 2"))
    git(signed, "commit", "-q", "-S", "-am", "the regression gate")
    for stage in ("development", "staging", "production"):
        assert (
            cli("promote", "summarizer", "1.1.0", "--to", stage, "--reason", "r", cwd=signed).code
            == 0
        )
    body = git(signed, "cat-file", "-p", f"{PROD}/2")
    assert "Modelreg-Baseline: 1.0.0\nModelreg-Baseline-Eval: regression sha256:" in body
    git(signed, "branch", "base")
    baseline = signed / "evals/summarizer/1.0.0/regression.yaml"
    baseline.write_text(baseline.read_text().replace("samples: 500", "samples: 501"))
    git(signed, "commit", "-q", "-am", "touch up the old eval")
    data = cli("--json", "verify", "--base", "base", cwd=signed).json()
    assert [p["rule"] for p in data["problems"]] == ["eval-changed"], data
    assert cli("--json", "verify", "--all", cwd=signed).json()["ok"] is False


def test_verify_all_in_a_repository_older_than_its_registry(
    keys: dict[str, Key], cli: Any, tmp_path: Path
) -> None:
    """The commit that added the policy file is the registry's first; the app's history
    before it is not registry history (docs review: every earlier commit was a finding)."""
    from conftest import EXAMPLE, use_key

    repo = tmp_path / "app"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "app.py").write_text("print('hello')\n")
    commit_all(repo, "the app, long before any registry")
    (repo / "app.py").write_text("print('hello, world')\n")
    commit_all(repo, "more app")
    shutil.copytree(EXAMPLE, repo / "ml")
    (repo / "ml" / ".modelreg" / "allowed_signers").write_text(
        keys["alice"].allowed() + keys["bob"].allowed()
    )
    use_key(keys["alice"])
    adopted = commit_all(repo, "adopt modelreg")
    lab = Lab(repo / "ml", cli, keys, tmp_path)
    lab.promote("1.0.0", "development", "staging", key=keys["alice"])
    v = lab.verify("--all")
    assert v.code == 0, v
    assert (v.data["range"], v.data["commits"], v.data["actions"]) == ("all history", 3, 2)

    # only the oldest adding counts: a policy deleted and added again is still judged
    git(repo, "rm", "-q", "ml/modelreg.yaml")
    commit_all(repo, "drop the policy")
    git(repo, "checkout", adopted, "--", "ml/modelreg.yaml")
    commit_all(repo, "a policy of my own")
    v = lab.verify("--all")
    assert v.code == 1
    assert any(
        f["rule"] == "schema" and f["message"].startswith("no usable policy")
        for f in v.data["problems"]
    ), v
