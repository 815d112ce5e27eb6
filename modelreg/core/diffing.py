"""Core: the comparison behind `diff`: two parsed configs and two eval sets; pure, no I/O.

Configs are compared as the digest sees them (the caller passes them through
canonical JSON), so a comment or `2.0e-5` vs `0.00002` never shows as a change.
"""

from __future__ import annotations

import math
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
# Bounds on a diff's work, so a 1 MiB prompt diffs in a moment (difflib is quadratic):
# lines are matched first (after the common start and end are set aside) when neither
# side's middle has more than MAX_MATCHED_LINES lines, else the middle is one block; a
# changed block gets a word diff when its tokens (words and runs of whitespace) on the
# two sides multiply to at most MAX_WORD_PAIRS, and while the blocks word-diffed so far
# stay within MAX_TOTAL_WORD_PAIRS; any other changed block shows as deleted and inserted
# text. Either way the old text is the equal and delete runs, the new the equal and insert.
MAX_MATCHED_LINES = 2_000
MAX_WORD_PAIRS = 200_000
MAX_TOTAL_WORD_PAIRS = 2_000_000

_ABSENT: Any = object()  # a field one side does not have (unlike a YAML null)
_TOKEN = re.compile(r"\s+|\S+")
_LINE = re.compile(r"[^\n]*\n|[^\n]+")
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
    """Tools added, removed, or changed in any field.

    Tools are matched by name; when a name repeats on either side (which `check`
    reports), they are matched by position instead, and `duplicates` names them.
    """

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    matched_by: str = "name"  # name | position
    duplicates: list[str] = field(default_factory=list)
    reordered: bool = False  # the same tools by name, in another order

    def as_json(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "matched_by": self.matched_by,
            "duplicates": self.duplicates,
        }

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
        if key == "tools" and _tool_list(a) is not None and _tool_list(b) is not None:
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


def _tool_list(value: Any) -> list[dict[str, Any]] | None:
    """VALUE as a list of named tools ([] when absent), or None when it is something else."""
    if value is _ABSENT:
        return []
    if not isinstance(value, list):
        return None
    if not all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in value):
        return None
    return value


def _duplicate_names(*tool_lists: list[dict[str, Any]]) -> list[str]:
    """Names that repeat within any one of TOOL_LISTS, in first-seen order."""
    out: list[str] = []
    for tools in tool_lists:
        seen: set[str] = set()
        for tool in tools:
            name = tool["name"]
            if name in seen and name not in out:
                out.append(name)
            seen.add(name)
    return out


def _diff_tools(a: Any, b: Any, result: ConfigDiff) -> None:
    old_list, new_list = _tool_list(a), _tool_list(b)
    assert old_list is not None and new_list is not None
    if (a is _ABSENT) != (b is _ABSENT) and not (old_list or new_list):
        # `tools: []` against no tools at all: a real (digest) difference with no tool in it
        result.changes.append(_change("tools", "added" if a is _ABSENT else "removed", a, b))
        return
    duplicates = _duplicate_names(old_list, new_list)
    if duplicates:
        result.tools.matched_by = "position"
        result.tools.duplicates = duplicates
        _diff_tool_pairs(
            [
                (f"tools[{i}]", _at(old_list, i), _at(new_list, i))
                for i in range(max(len(old_list), len(new_list)))
            ],
            result,
            keep_name=True,
        )
        return
    old = {t["name"]: t for t in old_list}
    new = {t["name"]: t for t in new_list}
    _diff_tool_pairs(
        [(f"tools[{n}]", old.get(n, _ABSENT), new.get(n, _ABSENT)) for n in _keys(old, new)],
        result,
        keep_name=False,
    )
    if not result.tools and list(old) != list(new):
        result.tools.reordered = True
        result.changes.append(_change("tools", "changed", a, b))  # the same tools, reordered


def _at(tools: list[dict[str, Any]], i: int) -> Any:
    return tools[i] if i < len(tools) else _ABSENT


def _diff_tool_pairs(
    pairs: list[tuple[str, Any, Any]], result: ConfigDiff, keep_name: bool
) -> None:
    """(path, old tool, new tool) pairs; matched by name, a tool's name is in its path."""
    for path, old_tool, new_tool in pairs:
        if new_tool is _ABSENT:
            result.tools.removed.append(old_tool["name"])
            result.changes.append(_change(path, "removed", old_tool, _ABSENT))
        elif old_tool is _ABSENT:
            result.tools.added.append(new_tool["name"])
            result.changes.append(_change(path, "added", _ABSENT, new_tool))
        else:
            before = len(result.changes)
            tool_a = {k: v for k, v in old_tool.items() if keep_name or k != "name"}
            tool_b = {k: v for k, v in new_tool.items() if keep_name or k != "name"}
            for key in _keys(tool_a, tool_b):
                _diff_value(
                    key_path(path, key),
                    tool_a.get(key, _ABSENT),
                    tool_b.get(key, _ABSENT),
                    result.changes,
                )
            if len(result.changes) > before:
                result.tools.changed.append(new_tool["name"])


# --- words -----------------------------------------------------------------------------


def split_lines(text: str) -> list[str]:
    """TEXT's lines, each with its newline (only `\\n` ends a line)."""
    return _LINE.findall(text)


def line_opcodes(a: list[str], b: list[str]) -> list[tuple[str, int, int, int, int]]:
    """difflib opcodes over two lists of lines, with the work bounded.

    The common first and last lines are set aside in one pass; the middle is
    matched by difflib only when neither side of it has more than
    MAX_MATCHED_LINES lines, and is otherwise one replaced block. difflib's
    autojunk (lines that make up over 1% of 200 or more) keeps repeated lines
    from making the matching quadratic; below 200 lines it changes nothing.
    """
    n, m = len(a), len(b)
    head = 0
    while head < min(n, m) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(n, m) - head and a[n - 1 - tail] == b[m - 1 - tail]:
        tail += 1
    a1, a2, b1, b2 = head, n - tail, head, m - tail
    ops: list[tuple[str, int, int, int, int]] = []
    if head:
        ops.append(("equal", 0, head, 0, head))
    if a1 < a2 and b1 < b2 and max(a2 - a1, b2 - b1) <= MAX_MATCHED_LINES:
        matcher = SequenceMatcher(None, a[a1:a2], b[b1:b2])
        ops += [
            (t, i1 + a1, i2 + a1, j1 + b1, j2 + b1) for t, i1, i2, j1, j2 in matcher.get_opcodes()
        ]
    elif a1 < a2 or b1 < b2:
        tag = "replace" if a1 < a2 and b1 < b2 else "delete" if a1 < a2 else "insert"
        ops.append((tag, a1, a2, b1, b2))
    if tail:
        ops.append(("equal", n - tail, n, m - tail, m))
    return ops


def diff_blocks(old: str, new: str) -> list[tuple[str, str, str]]:
    """(how, old text, new text) blocks in order, how in equal|words|text.

    `words`: a changed line block small enough for a word diff (MAX_WORD_PAIRS,
    MAX_TOTAL_WORD_PAIRS); `text`: a changed block shown whole, as deleted and
    inserted text.
    """
    la, lb = split_lines(old), split_lines(new)
    blocks: list[tuple[str, str, str]] = []
    budget = MAX_TOTAL_WORD_PAIRS
    for tag, i1, i2, j1, j2 in line_opcodes(la, lb):
        a_text, b_text = "".join(la[i1:i2]), "".join(lb[j1:j2])
        if tag == "equal":
            blocks.append(("equal", a_text, b_text))
            continue
        pairs = len(_TOKEN.findall(a_text)) * len(_TOKEN.findall(b_text))
        if tag == "replace" and pairs <= min(MAX_WORD_PAIRS, budget):
            budget -= pairs
            blocks.append(("words", a_text, b_text))
        else:
            blocks.append(("text", a_text, b_text))
    return blocks


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """(op, text) runs, op in equal|insert|delete, over whitespace-separated words.

    Lines are matched first, and words only inside the changed line blocks
    (diff_blocks, whose bounds keep a big prompt fast). Whitespace is kept, so
    joining the equal and delete runs gives OLD back and the equal and insert
    runs give NEW. A lone space between two edits joins them, so a rewritten
    sentence reads as one edit, not a word-by-word zipper.
    """
    segments: list[list[str]] = []  # ["equal", text] or ["edit", deleted, inserted]
    for how, a_text, b_text in diff_blocks(old, new):
        if how == "equal":
            segments.append(["equal", a_text])
        elif how == "text":
            segments.append(["edit", a_text, b_text])
        else:
            ta, tb = _TOKEN.findall(a_text), _TOKEN.findall(b_text)
            matcher = SequenceMatcher(None, ta, tb, autojunk=False)
            for tag, i1, i2, j1, j2 in matcher.get_opcodes():
                if tag == "equal":
                    segments.append(["equal", "".join(ta[i1:i2])])
                else:
                    segments.append(["edit", "".join(ta[i1:i2]), "".join(tb[j1:j2])])
    merged: list[list[str]] = []
    for seg in segments:
        if seg[0] == "equal" and merged and merged[-1][0] == "equal":
            merged[-1] = ["equal", merged[-1][1] + seg[1]]  # two line blocks' equal runs meet
            continue
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
            if seg[1]:
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
            delta = metric_delta(a, b)
            if delta is None and _is_number(a) and _is_number(b):
                notes.append(
                    f"eval suite {suite!r}: no delta for {metric!r}: {b!r} - {a!r} is "
                    "beyond the range of a float"
                )
            deltas.append(MetricDelta(suite, metric, a, b, delta))
    return deltas, notes


def metric_delta(old: Any, new: Any) -> float | None:
    """NEW - OLD as written in decimal (0.91 - 0.89 is 0.02, not 0.020000000000000018).

    None when a side is not a number, or when the difference is not a finite
    float (1e308 - -1e308): JSON has no Infinity or NaN.
    """
    if not _is_number(old) or not _is_number(new):
        return None
    if isinstance(old, float) and not math.isfinite(old):
        return None
    if isinstance(new, float) and not math.isfinite(new):
        return None
    if isinstance(old, int) and isinstance(new, int):
        return new - old
    try:
        exact = _decimal(new) - _decimal(old)
    except InvalidOperation:  # pragma: no cover - a finite float or an int is always decimal
        return None
    result = float(exact)
    return result if math.isfinite(result) else None


def _decimal(value: int | float) -> Decimal:
    # an int directly (its repr is limited to 4300 digits), a float as written
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def newer_of(old_version: str, new_version: str) -> str:
    """The higher SemVer of the two (the second on a tie)."""
    return (
        old_version
        if version_sort_key(old_version) > version_sort_key(new_version)
        else new_version
    )
