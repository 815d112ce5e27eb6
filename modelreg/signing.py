"""Adapter: allowed-signers handling (and, with signed actions, tag verification).

The allowed-signers format is OpenSSH's (ssh-keygen(1), ALLOWED SIGNERS):
`principals [options] keytype base64-key [comment]`, one entry per line.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

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
_OPTION = re.compile(
    r'(cert-authority|namespaces="[^"]*"|valid-after="?[0-9TZ]+"?|valid-before="?[0-9TZ]+"?)'
)


@dataclass(frozen=True)
class SignerEntry:
    line: int
    principals: tuple[str, ...]
    options: dict[str, str] = field(default_factory=dict)
    key_type: str = ""
    key: str = ""


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
        if "namespaces" in options and "git" not in options["namespaces"].split(","):
            problems.append((number, 'namespaces must include "git" for this key to sign tags'))
            continue
        entries.append(SignerEntry(number, principals, options, key_type, key))
    return entries, problems
