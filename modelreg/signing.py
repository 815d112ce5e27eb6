"""Adapter: allowed-signers handling and signature verification in an isolated git environment.

The allowed-signers format is OpenSSH's (ssh-keygen(1), ALLOWED SIGNERS):
`principals [options] keytype base64-key [comment]`, one entry per line.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from modelreg.core.actions import SIGNATURE_MARKERS
from modelreg.sshsig import KEY_TYPES, FastTrust, SignerEntry
from modelreg.vcs import Git, ObjectReader

_OPTION = re.compile(
    r'(cert-authority|namespaces="[^"]*"|valid-after="?[0-9TZ]+"?|valid-before="?[0-9TZ]+"?)'
)


def _split_options(text: str) -> tuple[list[str], str]:
    """Split a leading comma-separated option list (quotes respected) from the rest."""
    options, i, start, quoted = [], 0, 0, False
    while i < len(text):
        ch = text[i]
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            options.append(text[start:i])
            start = i + 1
        elif ch in " \t" and not quoted:
            break
        i += 1
    options.append(text[start:i])
    return options, text[i:].strip()


def parse_allowed_signers(text: str) -> tuple[list[SignerEntry], list[tuple[int, str]]]:
    """Entries, and (line, message) for every malformed line."""
    entries: list[SignerEntry] = []
    problems: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        principals_text, _, rest = line.partition(" ")
        principals = tuple(p for p in principals_text.split(","))
        if not all(principals) or any(c in principals_text for c in '"='):
            problems.append((number, f"bad principals {principals_text!r}"))
            continue
        rest = rest.strip()
        options: dict[str, str] = {}
        if rest and rest.split(None, 1)[0] not in KEY_TYPES:
            opts, rest = _split_options(rest)
            bad = [o for o in opts if not _OPTION.fullmatch(o)]
            if bad:
                problems.append((number, f"unknown or malformed option {bad[0]!r}"))
                continue
            for o in opts:
                name, _, value = o.partition("=")
                options[name] = value.strip('"')
        parts = rest.split()
        if len(parts) < 2:
            problems.append((number, "expected a key type and a base64 public key"))
            continue
        key_type, key = parts[0], parts[1]
        if key_type not in KEY_TYPES:
            problems.append((number, f"unknown key type {key_type!r}"))
            continue
        try:
            blob = base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            problems.append((number, "public key is not valid base64"))
            continue
        if blob[4 : 4 + len(key_type)] != key_type.encode():
            problems.append((number, f"public key does not hold a {key_type} key"))
            continue
        entries.append(SignerEntry(number, principals, options, key_type, key))
    return entries, problems


def entry_problem(entry: SignerEntry) -> str | None:
    """Why a well-formed ENTRY can never sign a tag, or None.

    Such a line is not malformed (the file may serve other namespaces too), so it
    does not make the trust root unusable; ssh-keygen simply refuses its signatures.
    """
    namespaces = entry.options.get("namespaces")
    if namespaces is not None and "git" not in namespaces.split(","):
        return 'namespaces must include "git" for this key to sign tags'
    return None


# --- verification ---------------------------------------------------------------------

_GOOD_SSH = re.compile(r'^Good "git" signature for (\S+) with (\S+) key (SHA256:\S+)$', re.M)
_VALIDSIG = re.compile(r"^\[GNUPG:\] VALIDSIG (?:\S+ ){9}([0-9A-F]{40,64})$", re.M)
SYSTEM_PATH = "/usr/bin:/bin:/usr/local/bin"


@dataclass(frozen=True)
class Signature:
    """What verification concluded about one tag or commit."""

    ok: bool
    principal: str | None  # the signer git vouched for (ssh principal, or OpenPGP key email)
    format: str | None  # "ssh" or "openpgp" (from the signature block), None when unsigned
    message: str  # why not, in one line (never git's "Good ..." when it failed)


def signature_format(content: str) -> str | None:
    """ "ssh", "openpgp" or "x509" by the signature block in CONTENT; None when unsigned."""
    return next((fmt for fmt, marker in SIGNATURE_MARKERS.items() if marker in content), None)


def interpret(
    fmt: str | None,
    returncode: int,
    stderr: str,
    keyring: dict[str, str],
    revocations: bool = False,
) -> Signature:
    """Judge git verify-tag/verify-commit output. Only exit status 0 counts. REVOCATIONS:
    the trust root has a revocation file.

    git prints `Good "git" signature` even when no principal matched (and then
    exits 1), so the text alone proves nothing.
    """
    if fmt is None:
        return Signature(False, None, None, "not signed")
    if returncode != 0:
        lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
        # "Good ..." lines are never repeated: git prints them when it then says no.
        useful = [
            ln
            for ln in lines
            if "Good" not in ln and (not ln.startswith(("[GNUPG:]", "gpg: ")) or "BAD" in ln)
        ]
        expired = [ln for ln in lines if "key has expired" in ln or "not yet valid" in ln]
        if fmt == "ssh" and expired:
            # ssh-keygen found the key but its valid-before/valid-after excludes the tag's date
            why = (
                "signed by a key whose allowed-signers entry is not valid at the tag's date "
                "(valid-before/valid-after)"
            )
        elif fmt == "ssh" and any("No principal matched" in ln for ln in lines):
            why = "signed by a key that is not in the trusted allowed-signers file"
        elif any("no signature found" in ln for ln in lines):
            why = "not signed"
        else:
            why = (useful or [f"signature verification failed (git exit status {returncode})"])[-1]
            why = why.removeprefix("error: ").removeprefix("fatal: ")
            if fmt == "ssh" and why == "Could not verify signature." and revocations:
                # all ssh-keygen says of a revoked key: with REVOCATIONS, say what it may mean
                why = "Could not verify signature: is its key in the revocation file?"
        return Signature(False, None, fmt, why)
    if fmt == "ssh":
        m = _GOOD_SSH.search(stderr)
        if not m:
            return Signature(False, None, fmt, "git verified no principal for this ssh signature")
        return Signature(True, m[1], fmt, f"signed by {m[1]}")
    m = _VALIDSIG.search(stderr)
    principal = keyring.get(m[1]) if m else None
    if principal is None:
        return Signature(False, None, fmt, "signed by an OpenPGP key that is not trusted")
    return Signature(True, principal, fmt, f"signed by {principal}")


@dataclass(frozen=True)
class TrustRoot:
    """The signer lists a verification trusts, as read from the trusted base revision."""

    allowed_signers: str
    revoked_keys: bytes  # empty when policy names no revocation file
    formats: tuple[str, ...] = ("ssh",)
    openpgp_keys: bytes = b""
    problem: str | None = None  # set when the trust root itself is unusable: fail closed

    @cached_property
    def empty(self) -> bool:
        """No signer is trusted yet (a registry before its first key was added)."""
        entries, _bad = parse_allowed_signers(self.allowed_signers)
        return not entries and not self.openpgp_keys.strip()


def _program(name: str) -> str | None:
    import shutil

    return shutil.which(name, path=SYSTEM_PATH)


def isolated_env(home: Path) -> dict[str, str]:
    """An environment for git in which no user, system or ambient setting applies.

    HOME and GNUPGHOME are private folders; no global or system config; replace
    refs ignored (`refs/replace/` could swap what a commit or tag holds); the
    grafts file too (`info/grafts` rewrites parents, and GIT_NO_REPLACE_OBJECTS
    does not turn it off): git is pointed at a file that does not exist.
    """
    git_dir = Path(_program("git") or "/usr/bin/git").parent
    return {
        "PATH": f"{git_dir}:{SYSTEM_PATH}",
        "HOME": str(home),
        "GNUPGHOME": str(home / "gnupg"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_NO_REPLACE_OBJECTS": "1",
        "GIT_GRAFT_FILE": str(home / "no-grafts"),
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    }


class Verifier:
    """Runs `git verify-tag`/`verify-commit` in an isolated environment with a trust root.

    No user or system git config, no replace refs, a pinned ssh-keygen from the
    system path, a private GNUPGHOME holding only the trusted OpenPGP keys: a
    repository's own config cannot point verification at another program.
    """

    def __init__(self, repo: Path, trust: TrustRoot, in_process: bool = True) -> None:
        """IN_PROCESS: let modelreg.sshsig vouch for the common SSH tag signature
        itself (~0.1 ms, not ~45 ms); False asks ssh-keygen about every one."""
        import tempfile
        import threading

        self.trust = trust
        self._fast = (
            FastTrust.build(trust.allowed_signers, trust.revoked_keys)
            if in_process and "ssh" in trust.formats and not trust.problem
            else None
        )
        self._objects: ObjectReader | None = None
        self._objects_lock = threading.Lock()  # verified_signatures asks from 4 threads
        self._dir = tempfile.TemporaryDirectory(prefix="modelreg-verify-")
        home = Path(self._dir.name)
        (home / "gnupg").mkdir(mode=0o700)
        signers = home / "allowed_signers"
        signers.write_text(trust.allowed_signers)
        revoked = home / "revoked_keys"
        revoked.write_bytes(trust.revoked_keys)  # must exist: a missing file only warns
        self.env = isolated_env(home)
        never = "/bin/false"
        self.config = {
            "gpg.ssh.program": _program("ssh-keygen") or never,
            "gpg.ssh.allowedSignersFile": str(signers),
            "gpg.ssh.revocationFile": str(revoked),
            "gpg.program": _program("gpg") or never,
            "gpg.openpgp.program": _program("gpg") or never,
            "gpg.x509.program": never,
            "core.hooksPath": os.devnull,
            "core.fsmonitor": "false",
        }
        self.git = Git(repo, base_env=self.env)
        self.keyring = self._import_openpgp(trust.openpgp_keys)

    def _import_openpgp(self, keys: bytes) -> dict[str, str]:
        """Import the trusted OpenPGP keys; {primary fingerprint: email of its first uid}."""
        gpg = _program("gpg")
        if not keys.strip() or gpg is None or "openpgp" not in self.trust.formats:
            return {}
        import subprocess

        subprocess.run(
            [gpg, "--batch", "--quiet", "--import"],
            input=keys,
            env=self.env,
            capture_output=True,
        )
        listing = subprocess.run(
            [gpg, "--batch", "--with-colons", "--list-keys"],
            env=self.env,
            capture_output=True,
        ).stdout.decode("utf-8", "replace")
        out: dict[str, str] = {}
        primary: str | None = None
        for line in listing.splitlines():
            fields = line.split(":")
            if fields[0] == "pub":
                primary = None
            elif fields[0] == "fpr" and primary is None:
                primary = fields[9]
            elif fields[0] == "uid" and primary and primary not in out:
                uid = fields[9]
                email = uid[uid.find("<") + 1 : uid.rfind(">")] if "<" in uid else uid
                out[primary] = email
        return out

    def _args(self) -> list[str]:
        out = []
        for key, value in self.config.items():
            out += ["-c", f"{key}={value}"]
        return out

    def verify(self, kind: str, oid: str, content: str) -> Signature:
        """Verify the signature of the tag or commit OID (KIND "tag" or "commit")."""
        if self.trust.problem:
            return Signature(False, None, None, self.trust.problem)
        fmt = signature_format(content)
        if fmt is not None and fmt not in self.trust.formats:
            allowed = " or ".join(self.trust.formats)
            return Signature(False, None, fmt, f"signed with {fmt}; policy accepts {allowed} only")
        if fmt is None:
            return Signature(False, None, None, "not signed")
        if kind == "tag" and fmt == "ssh" and self._fast is not None:
            principal = self._fast.good_principal(self._tag_object(oid))
            if principal is not None:
                return Signature(True, principal, fmt, f"signed by {principal}")
        proc = self.git.run(*self._args(), f"verify-{kind}", "--raw", oid, check=False)
        stderr = proc.stderr.decode("utf-8", "replace")
        revocations = bool(self.trust.revoked_keys)
        return interpret(fmt, proc.returncode, stderr, self.keyring, revocations)

    def _tag_object(self, oid: str) -> bytes:
        """The raw tag object OID, read as git verify-tag reads it (b"" if not a tag)."""
        with self._objects_lock:
            if self._objects is None:
                self._objects = self.git.objects()
            found = self._objects.read(oid)
        return found[2] if found and found[1] == "tag" else b""

    def close(self) -> None:
        if self._objects is not None:
            self._objects.close()
        self._dir.cleanup()

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_ssh_key(path: Path, comment: str) -> str:
    """A new passphrase-less ed25519 key at PATH (public half at PATH.pub), for throwaway
    use (the demo); its public line `ssh-ed25519 AAAA...`."""
    import subprocess

    from modelreg.errors import EnvironmentFailure

    program = _program("ssh-keygen")
    if program is None:
        raise EnvironmentFailure(
            "ssh-keygen is not installed (OpenSSH signs modelreg's tags): install OpenSSH",
            rule="signing",
        )
    args = [program, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)]
    proc = subprocess.run(args, capture_output=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        text = proc.stderr.decode("utf-8", "replace").strip() or f"exit {proc.returncode}"
        raise EnvironmentFailure(f"ssh-keygen could not make a key: {text}", rule="signing")
    return " ".join(Path(f"{path}.pub").read_text(encoding="utf-8").split()[:2])
