"""Adapter: OpenSSH signatures on tags, checked in process for the one common shape.

`git verify-tag` on an SSH-signed tag starts git and then ssh-keygen twice
(`-Y find-principals`, then `-Y verify`): ~40-50 ms a tag on a 2-core machine,
which made `verify --all` and a cold `log` grow at that rate per action. For
the shape every modelreg tag has, this module reaches the verdict ssh-keygen
would, in ~0.1 ms:

- the signature is the tag's last block, armored exactly as ssh-keygen writes it;
- an SSHSIG v1 blob over namespace "git", no reserved data, sha256 or sha512;
- an ssh-ed25519 key that exactly one allowed-signers line holds, a line with
  one literal principal and no option but a literal `namespaces` list naming
  "git" (no cert-authority, no valid-after/valid-before, no patterns);
- a revocation file that is empty or a plain list of public keys without it.

It only ever says "good, signed by P". Anything else (another key type, a
certificate, a KRL, a pattern, a bad signature) is None, and the caller asks
ssh-keygen through git, so every refusal and its message stay ssh-keygen's.
tests/test_sshsig.py checks the two agree on good, forged, foreign and odd
signatures made by real ssh-keygen keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass, field

from modelreg.core.actions import SIGNATURE_MARKERS

# the public key types an allowed-signers or revocation line may name
KEY_TYPES = {
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-rsa-cert-v01@openssh.com",
}


@dataclass(frozen=True)
class SignerEntry:
    """One allowed-signers line, as modelreg.signing.parse_allowed_signers reads it."""

    line: int
    principals: tuple[str, ...]
    options: dict[str, str] = field(default_factory=dict)
    key_type: str = ""
    key: str = ""


_MARKERS = (
    *(marker.encode() for marker in SIGNATURE_MARKERS.values()),
    b"-----BEGIN PGP MESSAGE-----",  # git's other OpenPGP marker
)
_ARMOR_BEGIN = b"-----BEGIN SSH SIGNATURE-----\n"
_ARMOR_END = b"-----END SSH SIGNATURE-----\n"
_PATTERN_CHARS = set("*?!,")
# the plainest allowed-signers line: principals, options without escapes, key, comment
_OPTION = (
    r'(?:cert-authority|namespaces="[a-zA-Z0-9._,*?!-]*"|valid-(?:after|before)="?[0-9]{8,14}Z?"?)'
)
_SIGNER_LINE = re.compile(
    rf"(?P<principals>[A-Za-z0-9@._+*?!,-]+)(?: (?P<options>{_OPTION}(?:,{_OPTION})*))?"
    r" (?P<type>[a-z0-9@.-]+) (?P<key>[A-Za-z0-9+/]+=*)(?: [ !#-\[\]-~]*)?"
)
_REVOKED_LINE = re.compile(r"ssh-ed25519 (?P<key>[A-Za-z0-9+/]+=*)(?: [ !#-\[\]-~]*)?")
_COMMENT = re.compile(r"#[ -~]*")
_TAGGER = re.compile(rb"tagger [^<>\n]*<[^<>\n]*> ([0-9]{1,12}) [+-][0-9]{4}")
_YEAR_9999 = 253402214400  # 9999-12-31T00:00:00Z


class _Malformed(ValueError):
    pass


class _Wire:
    """A reader of SSH wire strings (RFC 4251 section 5) that refuses to run short."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise _Malformed("short")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def uint32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def string(self) -> bytes:
        return self.take(self.uint32())

    def end(self) -> None:
        if self.pos != len(self.data):
            raise _Malformed("trailing data")


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _ed25519_key(blob: bytes) -> bytes:
    """The 32 raw bytes of an ssh-ed25519 public key blob."""
    wire = _Wire(blob)
    if wire.string() != b"ssh-ed25519":
        raise _Malformed("not ed25519")
    key = wire.string()
    wire.end()
    if len(key) != 32:
        raise _Malformed("bad key length")
    return key


def split_signed(raw: bytes) -> tuple[bytes, bytes] | None:
    """(payload, signature) as git splits a signed tag: at the last line that opens a
    signature block of any format; None when no line does."""
    start, match = 0, -1
    while start < len(raw):
        if raw.startswith(_MARKERS, start):
            match = start
        end = raw.find(b"\n", start)
        start = len(raw) if end < 0 else end + 1
    return None if match < 0 else (raw[:match], raw[match:])


def _dearmor(armored: bytes) -> bytes:
    """The SSHSIG blob of a signature armored exactly as ssh-keygen writes it."""
    if not (armored.startswith(_ARMOR_BEGIN) and armored.endswith(_ARMOR_END)):
        raise _Malformed("armor")
    body = armored[len(_ARMOR_BEGIN) : -len(_ARMOR_END)]
    if not body.endswith(b"\n") or any(len(line) > 76 for line in body.split(b"\n")):
        raise _Malformed("armor lines")
    text = body.replace(b"\n", b"")
    try:
        blob = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise _Malformed("base64") from None
    if base64.b64encode(blob) != text:  # stray padding bits: ssh-keygen refuses those
        raise _Malformed("non-canonical base64")
    return blob


@dataclass(frozen=True)
class FastTrust:
    """What of a trust root this module can decide alone, built once per trust root."""

    principals: dict[bytes, str]  # key blob -> the one principal ssh-keygen names for it
    revoked: frozenset[bytes]  # the raw 32 bytes of each revoked ed25519 key

    @classmethod
    def build(cls, allowed_signers: str, revoked_keys: bytes) -> FastTrust | None:
        """From the allowed-signers file and the revocation file; None when either holds
        anything but the plainest lines, whose meaning is then left to ssh-keygen alone.

        The grammar here is stricter than ssh-keygen's and than
        signing.parse_allowed_signers: lines end at "\n" only; printable ASCII only, no
        backslash, no quote inside an option value, single spaces; canonical base64.
        Python's idea of a line break or an escape must never decide who signed.
        """
        revoked = _revoked_keys(revoked_keys)
        if revoked is None:
            return None
        uses: dict[bytes, int] = {}
        simple: dict[bytes, str] = {}
        for line in allowed_signers.split("\n"):
            if not line or _COMMENT.fullmatch(line):
                continue
            m = _SIGNER_LINE.fullmatch(line)
            blob = _canonical_key(m["type"], m["key"]) if m else None
            if m is None or blob is None:
                return None
            uses[blob] = uses.get(blob, 0) + 1
            if _simple(m["principals"], m["options"] or "", m["type"]):
                simple[blob] = m["principals"]
        # a key on two lines: ssh-keygen names every principal; leave that to it
        return cls({b: p for b, p in simple.items() if uses[b] == 1}, revoked)

    def good_principal(self, raw_tag: bytes) -> str | None:
        """The principal ssh-keygen would report a Good "git" signature for, or None
        when this module cannot be sure (then ask ssh-keygen)."""
        try:
            return self._check(raw_tag)
        except _Malformed:
            return None

    def _check(self, raw_tag: bytes) -> str | None:
        split = split_signed(raw_tag)
        if split is None:
            return None
        payload, armored = split
        if not _plain_tagger_date(payload):
            return None
        wire = _Wire(_dearmor(armored))
        if wire.take(6) != b"SSHSIG" or wire.uint32() != 1:
            return None
        public, namespace, reserved, hash_name, signature = (wire.string() for _ in range(5))
        wire.end()
        if namespace != b"git" or reserved or hash_name not in (b"sha256", b"sha512"):
            return None
        principal = self.principals.get(public)
        if principal is None:
            return None
        key = _ed25519_key(public)
        if key in self.revoked:
            return None
        sig = _Wire(signature)
        if sig.string() != b"ssh-ed25519":
            return None
        raw_signature = sig.string()
        sig.end()
        if len(raw_signature) != 64:
            return None
        digest = hashlib.new(hash_name.decode(), payload).digest()
        signed = b"SSHSIG" + b"".join(map(_string, (namespace, reserved, hash_name, digest)))
        return principal if _ed25519_valid(key, raw_signature, signed) else None


def _simple(principals: str, options: str, key_type: str) -> bool:
    """A line this module may answer for: an ed25519 key, one literal principal, and no
    option but a literal namespaces list that names "git"."""
    if key_type != "ssh-ed25519" or _PATTERN_CHARS & set(principals):
        return False
    if not options:
        return True
    m = re.fullmatch(r'namespaces="([a-z0-9._,-]*)"', options)
    return m is not None and "git" in m[1].split(",")


def _canonical_key(key_type: str, text: str) -> bytes | None:
    """The key blob TEXT encodes, if it is canonical base64 of a KEY_TYPE key."""
    if key_type not in KEY_TYPES:
        return None
    try:
        blob = base64.b64decode(text, validate=True)
    except binascii.Error:
        return None
    if base64.b64encode(blob).decode() != text:
        return None
    try:
        if _Wire(blob).string() != key_type.encode():
            return None
    except _Malformed:
        return None
    return blob


def _revoked_keys(revoked_keys: bytes) -> frozenset[bytes] | None:
    """The raw ed25519 keys of a revocation file that lists nothing but plain ed25519
    keys; None for a KRL, a certificate or anything else (ssh-keygen matches those in
    ways of its own: a certificate revokes the key inside it)."""
    try:
        text = revoked_keys.decode("ascii")
    except UnicodeDecodeError:
        return None
    keys = set()
    for line in text.split("\n"):
        if not line or _COMMENT.fullmatch(line):
            continue
        m = _REVOKED_LINE.fullmatch(line)
        blob = _canonical_key("ssh-ed25519", m["key"]) if m else None
        if blob is None:
            return None
        try:
            keys.add(_ed25519_key(blob))
        except _Malformed:
            return None
    return frozenset(keys)


def _plain_tagger_date(payload: bytes) -> bool:
    """The tag has one plain tagger line with a date git can hand ssh-keygen
    (`-Overify-time`): a year past 9999 makes ssh-keygen refuse the signature."""
    headers = payload.split(b"\n\n", 1)[0].split(b"\n")
    taggers = [line for line in headers if line.startswith(b"tagger ")]
    if len(taggers) != 1:
        return False
    m = _TAGGER.fullmatch(taggers[0])
    return m is not None and 0 < int(m[1]) < _YEAR_9999


def _ed25519_valid(key: bytes, signature: bytes, message: bytes) -> bool:
    # cryptography is imported here only: `--help` and most commands never need it.
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
