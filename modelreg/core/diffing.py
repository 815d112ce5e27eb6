"""Core: the comparison behind `diff`: two parsed configs and two eval sets; pure, no I/O.

Configs are compared as the digest sees them (the caller passes them through
canonical JSON), so a comment or `2.0e-5` vs `0.00002` never shows as a change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from difflib import SequenceMatcher
from typing import Any

from modelreg.core.names import version_sort_key

# Fields every new version changes: the version pair is the diff's from/to, and
# `changes` is reported on its own as the newer version's summary and reason.
BOOKKEEPING = frozenset({"version", "parent", "created", "changes"})

LONG_TEXT = 80  # a string longer than this (or with a newline) gets a word diff

_ABSENT: Any = object()  # a field one side does not have (unlike a YAML null)
_TOKEN = re.compile(r"\s+|\S+")
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")


@dataclass(frozen=True)
class Change:
    """One field that differs; `old`/`new` are None for an absent side (see `kind`)."""

    path: str
    kind: str  # added | removed | changed
    old: Any
    new: Any
    words: list[tuple[str, str]] | None = None  # (equal|insert|delete, text) for long text

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "kind": self.kind,
            "from": self.old,
            "to": self.new,
        }
        if self.words is not None:
            out["words"] = [[op, text] for op, text in self.words]
        return out


@dataclass
class ToolChanges:
    """Tools matched by name: which were added, removed, or changed in any field."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, list[str]]:
        return {"added": self.added, "removed": self.removed, "changed": self.changed}

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@dataclass
class ConfigDiff:
    changes: list[Change] = field(default_factory=list)
    tools: ToolChanges = field(default_factory=ToolChanges)


@dataclass(frozen=True)
class MetricDelta:
    suite: str
    metric: str
    old: float | None  # None: this side has no such metric
    new: float | None
    delta: float | None  # new - old, exact in decimal; None when a side is missing

    def as_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "metric": self.metric,
            "from": self.old,
            "to": self.new,
            "delta": self.delta,
        }


# --- configs ---------------------------------------------------------------------------


def is_long_text(value: object) -> bool:
    return isinstance(value, str) and ("\n" in value or len(value) > LONG_TEXT)


def key_path(parent: str, key: str) -> str:
    """`parent.key`, or `parent["odd key"]` when the key holds dots, spaces or brackets."""
    if _PLAIN_KEY.match(key):
        return f"{parent}.{key}" if parent else key
    quoted = '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{parent}[{quoted}]"


def diff_configs(old: dict[str, Any], new: dict[str, Any]) -> ConfigDiff:
    """Every field-level difference between two version configs, bookkeeping fields left out."""
    result = ConfigDiff()
    old = {k: v for k, v in old.items() if k not in BOOKKEEPING}
    new = {k: v for k, v in new.items() if k not in BOOKKEEPING}
    for key in _keys(old, new):
        a, b = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if key == "tools" and _tools_by_name(a) is not None and _tools_by_name(b) is not None:
            _diff_tools(a, b, result)
        else:
            _diff_value(key_path("", key), a, b, result.changes)
    return result


def _keys(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Keys of A in order, then those only in B."""
    return [*a, *(k for k in b if k not in a)]


def _diff_value(path: str, a: Any, b: Any, out: list[Change]) -> None:
    if a is _ABSENT and b is _ABSENT:
        return
    if a is _ABSENT:
        out.append(_change(path, "added", _ABSENT, b))
    elif b is _ABSENT:
        out.append(_change(path, "removed", a, _ABSENT))
    elif isinstance(a, dict) and isinstance(b, dict):
        for key in _keys(a, b):
            _diff_value(key_path(path, key), a.get(key, _ABSENT), b.get(key, _ABSENT), out)
    elif _is_composite_list(a) and _is_composite_list(b):
        # lists of objects (anyOf, response_format schemas): element by element
        for i in range(max(len(a), len(b))):
            _diff_value(
                f"{path}[{i}]",
                a[i] if i < len(a) else _ABSENT,
                b[i] if i < len(b) else _ABSENT,
                out,
            )
    elif not _same(a, b):
        out.append(_change(path, "changed", a, b))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b  # True == 1 in Python, not in JSON
    return bool(a == b)


def _is_composite_list(value: Any) -> bool:
    """A list holding objects or lists; a list of scalars compares as one value."""
    return isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value)


def _change(path: str, kind: str, a: Any, b: Any) -> Change:
    old = None if a is _ABSENT else a
    new = None if b is _ABSENT else b
    words = None
    old_text = a if isinstance(a, str) else "" if a is _ABSENT else None
    new_text = b if isinstance(b, str) else "" if b is _ABSENT else None
    if (
        old_text is not None
        and new_text is not None
        and (is_long_text(old_text) or is_long_text(new_text))
    ):
        words = word_diff(old_text, new_text)
    return Change(path, kind, old, new, words)


def _tools_by_name(value: Any) -> dict[str, dict[str, Any]] | None:
    """{name: tool} when VALUE is a list of tools with unique names (or absent), else None."""
    if value is _ABSENT:
        return {}
    if not isinstance(value, list):
        return None
    out: dict[str, dict[str, Any]] = {}
    for tool in value:
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            return None
        if tool["name"] in out:
            return None  # duplicate names (check reports them): compare by position instead
        out[tool["name"]] = tool
    return out


def _diff_tools(a: Any, b: Any, result: ConfigDiff) -> None:
    old, new = _tools_by_name(a), _tools_by_name(b)
    assert old is not None and new is not None
    if (a is _ABSENT) != (b is _ABSENT) and not (old or new):
        # `tools: []` against no tools at all: a real (digest) difference with no tool in it
        result.changes.append(_change("tools", "added" if a is _ABSENT else "removed", a, b))
        return
    for name in _keys(old, new):
        path = f"tools[{name}]"
        if name not in new:
            result.tools.removed.append(name)
            result.changes.append(_change(path, "removed", old[name], _ABSENT))
        elif name not in old:
            result.tools.added.append(name)
            result.changes.append(_change(path, "added", _ABSENT, new[name]))
        else:
            before = len(result.changes)
            tool_a = {k: v for k, v in old[name].items() if k != "name"}
            tool_b = {k: v for k, v in new[name].items() if k != "name"}
            for key in _keys(tool_a, tool_b):
                _diff_value(
                    key_path(path, key),
                    tool_a.get(key, _ABSENT),
                    tool_b.get(key, _ABSENT),
                    result.changes,
                )
            if len(result.changes) > before:
                result.tools.changed.append(name)
    if not result.tools and list(old) != list(new):
        result.changes.append(_change("tools", "changed", a, b))  # the same tools, reordered


# --- words -----------------------------------------------------------------------------


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """(op, text) runs, op in equal|insert|delete, over whitespace-separated words.

    Whitespace is kept, so joining the equal and delete runs gives OLD back and
    the equal and insert runs give NEW. A lone space between two edits joins
    them, so a rewritten sentence reads as one edit, not a word-by-word zipper.
    """
    ta, tb = _TOKEN.findall(old), _TOKEN.findall(new)
    segments: list[list[str]] = []  # ["equal", text] or ["edit", deleted, inserted]
    matcher = SequenceMatcher(None, ta, tb, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            segments.append(["equal", "".join(ta[i1:i2])])
        else:
            segments.append(["edit", "".join(ta[i1:i2]), "".join(tb[j1:j2])])
    merged: list[list[str]] = []
    for seg in segments:
        if (
            seg[0] == "edit"
            and len(merged) >= 2
            and merged[-1][0] == "equal"
            and merged[-1][1].isspace()
            and merged[-2][0] == "edit"
        ):
            space, prev = merged[-1][1], merged[-2]
            deleted, inserted = prev[1] + space + seg[1], prev[2] + space + seg[2]
            if deleted.strip() and inserted.strip():
                merged.pop()
                merged[-1] = ["edit", deleted, inserted]
                continue
        if seg[0] == "edit" and merged and merged[-1][0] == "edit":
            merged[-1] = ["edit", merged[-1][1] + seg[1], merged[-1][2] + seg[2]]
            continue
        merged.append(seg)
    out: list[tuple[str, str]] = []
    for seg in merged:
        if seg[0] == "equal":
            out.append(("equal", seg[1]))
            continue
        if seg[1]:
            out.append(("delete", seg[1]))
        if seg[2]:
            out.append(("insert", seg[2]))
    return out


# --- metrics ---------------------------------------------------------------------------


def diff_metrics(
    old_evals: dict[str, dict[str, Any]],
    old_digest: str,
    new_evals: dict[str, dict[str, Any]],
    new_digest: str,
    *,
    old_label: str,
    new_label: str,
) -> tuple[list[MetricDelta], list[str]]:
    """Metric deltas for the suites both sides have, and notes on what was left out.

    An eval whose `config_digest` is not its version's digest is evidence about
    another config: it is left out, and a note says so.
    """
    notes: list[str] = []

    def usable(evals: dict[str, dict[str, Any]], dg: str, label: str) -> dict[str, Any]:
        out = {}
        for suite, data in evals.items():
            if data.get("config_digest") != dg:
                notes.append(
                    f"{label}: eval suite {suite!r} left out: its config_digest "
                    f"{data.get('config_digest')} is not this version's digest {dg}"
                )
                continue
            out[suite] = data.get("metrics") or {}
        return out

    old, new = usable(old_evals, old_digest, old_label), usable(new_evals, new_digest, new_label)
    deltas: list[MetricDelta] = []
    for suite in sorted(set(old) | set(new)):
        if suite not in new:
            notes.append(f"eval suite {suite!r} only on {old_label}: no deltas")
            continue
        if suite not in old:
            notes.append(f"eval suite {suite!r} only on {new_label}: no deltas")
            continue
        for metric in _keys(old[suite], new[suite]):
            a, b = old[suite].get(metric), new[suite].get(metric)
            deltas.append(MetricDelta(suite, metric, a, b, metric_delta(a, b)))
    return deltas, notes


def metric_delta(old: Any, new: Any) -> float | None:
    """NEW - OLD as written in decimal (0.91 - 0.89 is 0.02, not 0.020000000000000018)."""
    if not _is_number(old) or not _is_number(new):
        return None
    if isinstance(old, int) and isinstance(new, int):
        return new - old
    try:
        exact = Decimal(repr(new)) - Decimal(repr(old))
    except InvalidOperation:  # pragma: no cover - repr of a finite float is always decimal
        return None
    return float(exact)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def newer_of(old_version: str, new_version: str) -> str:
    """The higher SemVer of the two (the second on a tie)."""
    return (
        old_version
        if version_sort_key(old_version) > version_sort_key(new_version)
        else new_version
    )
