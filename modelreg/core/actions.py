"""Core: actions as data: the facts a signed tag seals, their text form, and tag names.

One action is one commit that changes `stages/<model>.yaml`, sealed by one
annotated tag `<prefix>/<model>/<stage>/<seq>`. The tag message and the commit
message carry the same facts as `Modelreg-*: value` trailer lines, so `git
interpret-trailers`, `git log --format=%(trailers)` and modelreg all read them.
Parsing is strict: an unknown, missing or repeated key makes the record invalid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from modelreg.core.names import is_model_name, parse_version

ACTIONS = (
    "promote",
    "rollback",
    "canary-start",
    "canary-weight",
    "canary-promote",
    "canary-abort",
    "archive",
    "unarchive",
)
ARCHIVED = "archived"  # the stage word of archive and unarchive tags
MAX_REASON = 1000
# An action dated later than this after the verifier's clock is refused (a clock or a
# GIT_COMMITTER_DATE in the future would let a tag outlive its key's valid-before).
MAX_FUTURE_SECONDS = 600

_STAGE_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}\Z")
_SEQ_RE = re.compile(r"[1-9][0-9]{0,17}\Z")
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}\Z")
_WEIGHT_RE = re.compile(r"(?:100|[1-9]?[0-9])(?:\.[0-9]{1,6})?\Z")

# Trailer keys in the order they are written; Eval may repeat.
_KEYS = {
    "Modelreg-Action": "action",
    "Modelreg-Model": "model",
    "Modelreg-Stage": "stage",
    "Modelreg-Seq": "seq",
    "Modelreg-Previous-Tag": "previous_tag",
    "Modelreg-Version": "version",
    "Modelreg-Digest": "digest",
    "Modelreg-Previous-Version": "previous",
    "Modelreg-Weight": "weight",
    "Modelreg-Eval": "evals",
    "Modelreg-Baseline": "baseline",
    "Modelreg-Baseline-Eval": "baseline_evals",
    "Modelreg-Reason": "reason",
    "Modelreg-Actor": "actor",
}
_REQUIRED = ("action", "model", "stage", "seq", "reason", "actor")


# The first line of a signature block git appends to a tag message, by format.
SIGNATURE_MARKERS = {
    "ssh": "-----BEGIN SSH SIGNATURE-----",
    "openpgp": "-----BEGIN PGP SIGNATURE-----",
    "x509": "-----BEGIN SIGNED MESSAGE-----",
}
_SIGNATURE_MARKERS = tuple(SIGNATURE_MARKERS.values())


class ActionFormatError(ValueError):
    """A tag or commit message that is not a well-formed action record."""


def reason_problem(reason: str) -> str | None:
    """Why REASON cannot be recorded, or None. It is one printable line."""
    text = reason.strip()
    if not text:
        return "--reason must say why (it is recorded in the signed tag)"
    if len(text) > MAX_REASON:
        return f"--reason is longer than {MAX_REASON} characters"
    if not text.isprintable():
        return "--reason must be one line of printable text"
    if "-----BEGIN" in text:
        return "--reason must not hold a signature marker (-----BEGIN)"
    return None


def format_weight(weight: float) -> str:
    """A canary weight as written in trailers: `5`, `12.5` (no exponent, no trailing zeros)."""
    text = f"{weight:.6f}".rstrip("0").rstrip(".")
    return text


_LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z


def iso_utc(epoch: int) -> str:
    """EPOCH seconds as `2026-11-20T10:00:00Z`, the form of `since` in stage files.

    A tagger date is whatever the tagger wrote: out of range it is clamped (and
    `verify` reports it as future-dated), never a crash.
    """
    epoch = min(max(epoch, 0), _LAST_SECOND)
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class TagName:
    prefix: str
    model: str
    stage: str
    seq: int

    def __str__(self) -> str:
        return f"{self.prefix}/{self.model}/{self.stage}/{self.seq}"

    @classmethod
    def parse(cls, name: str, prefix: str) -> TagName | None:
        """The parts of an action tag name under PREFIX, or None if NAME is not one."""
        head, sep, rest = name.partition("/")
        if head != prefix or not sep:
            return None
        parts = rest.split("/")
        if len(parts) != 3:
            return None
        model, stage, seq = parts
        if not is_model_name(model) or ".." in model:
            return None
        if not _STAGE_RE.match(stage) or not _SEQ_RE.match(seq):
            return None
        return cls(prefix, model, stage, int(seq))


@dataclass(frozen=True)
class ActionRecord:
    """The facts of one action, as sealed in its tag and repeated in its commit."""

    action: str
    model: str
    stage: str  # a stage name, or "archived" for archive/unarchive
    seq: int
    reason: str
    actor: str
    previous_tag: str | None = None
    version: str | None = None
    digest: str | None = None
    previous: str | None = None  # the version the stage served before (promote, rollback)
    weight: float | None = None
    evals: dict[str, str] = field(default_factory=dict)  # suite -> digest of the eval file
    # The version no_regression compared against, and the digests of its evals it used.
    baseline: str | None = None
    baseline_evals: dict[str, str] = field(default_factory=dict)

    def tag_name(self, prefix: str) -> str:
        return str(TagName(prefix, self.model, self.stage, self.seq))

    def subject(self) -> str:
        ref = f"{self.model}@{self.version}" if self.version else self.model
        where = {
            "promote": f"promote {ref} to {self.stage}",
            "rollback": f"roll back {self.model} {self.stage} to {self.version}",
            "canary-start": f"start canary {ref} on {self.stage} at {self.weight_text}%",
            "canary-weight": f"set canary {ref} on {self.stage} to {self.weight_text}%",
            "canary-promote": f"promote canary {ref} on {self.stage}",
            "canary-abort": f"abort canary {ref} on {self.stage}",
            "archive": f"archive {ref}",
            "unarchive": f"unarchive {ref}",
        }[self.action]
        return f"modelreg: {where}"

    @property
    def weight_text(self) -> str:
        return "" if self.weight is None else format_weight(self.weight)

    def trailers(self) -> list[tuple[str, str]]:
        values: dict[str, str | None] = {
            "action": self.action,
            "model": self.model,
            "stage": self.stage,
            "seq": str(self.seq),
            "previous_tag": self.previous_tag,
            "version": self.version,
            "digest": self.digest,
            "previous": self.previous,
            "weight": None if self.weight is None else self.weight_text,
            "baseline": self.baseline,
            "reason": self.reason,
            "actor": self.actor,
        }
        out: list[tuple[str, str]] = []
        for key, attr in _KEYS.items():
            if attr in ("evals", "baseline_evals"):
                digests: dict[str, str] = getattr(self, attr)
                out += [(key, f"{suite} {dg}") for suite, dg in sorted(digests.items())]
            elif values[attr] is not None:
                out.append((key, str(values[attr])))
        return out

    def message(self) -> str:
        """Subject, blank line, trailers: the text of both the tag and the commit."""
        lines = "".join(f"{k}: {v}\n" for k, v in self.trailers())
        return f"{self.subject()}\n\n{lines}"

    @classmethod
    def parse(cls, message: str) -> ActionRecord:
        """The record in a tag or commit MESSAGE (its trailer block); strict."""
        block = _trailer_block(message)
        found: dict[str, str] = {}
        lists: dict[str, dict[str, str]] = {"evals": {}, "baseline_evals": {}}
        for line in block:
            key, sep, value = line.partition(": ")
            if not sep or key not in _KEYS:
                raise ActionFormatError(f"unexpected line {line[:60]!r}")
            attr = _KEYS[key]
            if value != value.strip() or not value or not value.isprintable():
                raise ActionFormatError(f"{key}: malformed value")
            if attr in lists:
                suite, _, dg = value.partition(" ")
                if not suite or suite in lists[attr] or not _DIGEST_RE.match(dg):
                    raise ActionFormatError(
                        f"{key}: expected `<suite> sha256:<hex>` once per suite"
                    )
                lists[attr][suite] = dg
                continue
            if attr in found:
                raise ActionFormatError(f"{key} appears twice")
            found[attr] = value
        if lists["baseline_evals"] and "baseline" not in found:
            raise ActionFormatError("Modelreg-Baseline-Eval without Modelreg-Baseline")
        missing = [a for a in _REQUIRED if a not in found]
        if missing:
            raise ActionFormatError(f"missing Modelreg-{missing[0].replace('_', '-').title()}")
        return cls(
            action=_check(found["action"], found["action"] in ACTIONS, "action"),
            model=_check(found["model"], is_model_name(found["model"]), "model"),
            stage=_check(found["stage"], bool(_STAGE_RE.match(found["stage"])), "stage"),
            seq=int(_check(found["seq"], bool(_SEQ_RE.match(found["seq"])), "seq")),
            reason=found["reason"],
            actor=found["actor"],
            previous_tag=found.get("previous_tag"),
            version=_opt_version(found.get("version"), "version"),
            digest=_opt(found.get("digest"), _DIGEST_RE, "digest"),
            previous=_opt_version(found.get("previous"), "previous version"),
            weight=_opt_weight(found.get("weight")),
            evals=lists["evals"],
            baseline=_opt_version(found.get("baseline"), "baseline version"),
            baseline_evals=lists["baseline_evals"],
        )


def _trailer_block(message: str) -> list[str]:
    """The lines of the last paragraph of MESSAGE, before its signature block.

    As git does, the signature is the part from the last line that starts a
    signature block; a marker inside the text is text.
    """
    text = message.replace("\r\n", "\n")
    starts = [text.rfind(f"\n{m}") for m in _SIGNATURE_MARKERS]
    starts += [0] if text.startswith(_SIGNATURE_MARKERS) else []
    cut = max(starts)
    if cut >= 0:
        text = text[:cut]
    paragraphs = [p for p in text.strip("\n").split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        raise ActionFormatError("no Modelreg-* trailer block after the subject")
    return paragraphs[-1].split("\n")


def _check(value: str, ok: bool, what: str) -> str:
    if not ok:
        raise ActionFormatError(f"malformed {what} {value[:60]!r}")
    return value


def _opt(value: str | None, pattern: re.Pattern[str], what: str) -> str | None:
    return None if value is None else _check(value, bool(pattern.match(value)), what)


def _opt_version(value: str | None, what: str) -> str | None:
    return None if value is None else _check(value, parse_version(value) is not None, what)


def _opt_weight(value: str | None) -> float | None:
    if value is None:
        return None
    _check(value, bool(_WEIGHT_RE.match(value)), "weight")
    weight = float(value)
    _check(value, 0 < weight <= 100, "weight")
    return weight
