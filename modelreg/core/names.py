"""Core: model names, semantic versions, stage names and `MODEL@VERSION|STAGE` refs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from modelreg.errors import UsageError

_MODEL_RE = re.compile(r"(?:[a-z0-9]|[a-z0-9][a-z0-9._-]{0,62}[a-z0-9])\Z")
_VERSION_RE = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\Z")

BUMPS = ("major", "minor", "patch")


def model_name_problem(name: object) -> str | None:
    """Why NAME is not a valid model name, or None when it is."""
    if not isinstance(name, str):
        return "model name must be a string"
    if not _MODEL_RE.match(name):
        return (
            f"invalid model name {name!r}: lower-case letters, digits, '.', '_' and '-', "
            "1 to 64 characters, starting and ending with a letter or digit"
        )
    if ".." in name:
        return f"invalid model name {name!r}: '..' is not allowed"
    return None


def is_model_name(name: object) -> bool:
    return model_name_problem(name) is None


class Version(NamedTuple):
    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    def bump(self, part: str) -> Version:
        if part == "major":
            return Version(self.major + 1, 0, 0)
        if part == "minor":
            return Version(self.major, self.minor + 1, 0)
        if part == "patch":
            return Version(self.major, self.minor, self.patch + 1)
        raise UsageError(f"unknown bump {part!r}: use one of {', '.join(BUMPS)}")


def parse_version(text: object) -> Version | None:
    """The version TEXT names, or None if it is not MAJOR.MINOR.PATCH."""
    if not isinstance(text, str):
        return None
    if text in _PARSED:
        return _PARSED[text]
    m = _VERSION_RE.match(text)
    version = Version(int(m[1]), int(m[2]), int(m[3])) if m else None
    if len(text) <= 64 and len(_PARSED) < 100_000:
        _PARSED[text] = version  # `check --all` asks ~60,000 times about ~10,000 versions
    return version


_PARSED: dict[str, Version | None] = {}


def quote_advice(written: str) -> str:
    """What to say when a version was written as a bare number, e.g. `version: 1.10`."""
    return f"must be a string; quote it: '{written}' (a bare {written} is a number)"


def version_sort_key(text: str) -> Version:
    return parse_version(text) or Version(-1, -1, -1)


@dataclass(frozen=True)
class Ref:
    """`MODEL@VERSION` or `MODEL@STAGE`: exactly one of version and stage is set."""

    model: str
    version: str | None = None
    stage: str | None = None

    def __str__(self) -> str:
        return f"{self.model}@{self.version or self.stage}"


def parse_ref(text: str, stages: list[str] | tuple[str, ...]) -> Ref:
    """Parse a ref; a word after @ is a stage only if policy names that stage."""
    model, sep, rest = text.partition("@")
    problem = model_name_problem(model)
    if problem:
        raise UsageError(f"bad ref {text!r}: {problem}")
    if not sep or not rest:
        raise UsageError(f"bad ref {text!r}: use MODEL@VERSION or MODEL@STAGE")
    if parse_version(rest) is not None:
        return Ref(model, version=rest)
    if rest in stages:
        return Ref(model, stage=rest)
    raise UsageError(
        f"bad ref {text!r}: {rest!r} is neither a version (MAJOR.MINOR.PATCH) "
        f"nor a stage ({', '.join(stages)})"
    )
