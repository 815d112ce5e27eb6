"""Service: `canary analyze`, a stage's running canary judged against policy's guards on a metrics file.

The metrics file is the user's input, not a registry file: any readable file
(a symlink, `<(curl ...)`) up to the registry size cap, JSON (`.json`, or text
that starts with `{`) or strict YAML otherwise. A file that cannot be read or
is malformed is bad input (exit 2) with its line where the parser knows it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelreg.core.canary import (
    DEFAULT_ALPHA,
    PASS,
    Analysis,
    Metrics,
    MetricsProblem,
    analyze,
    guards_from_policy,
    parse_metrics,
)
from modelreg.core.digest import MAX_SAFE_INTEGER
from modelreg.core.strictjson import DuplicateKey, no_duplicates
from modelreg.errors import BadInput, NotFound, UsageError
from modelreg.registry import Registry
from modelreg.yamlio import MAX_BYTES, StrictYamlError, loads


@dataclass(frozen=True)
class Side:
    version: str
    digest: str
    weight: float | None = None  # the canary's share of traffic, percent


@dataclass
class CanaryReport:
    model: str
    stage: str
    stable: Side
    canary: Side
    metrics: Metrics
    analysis: Analysis

    @property
    def ok(self) -> bool:
        return self.analysis.verdict == PASS

    def as_json(self) -> dict[str, Any]:
        a, m = self.analysis, self.metrics
        return {
            "model": self.model,
            "stage": self.stage,
            "verdict": a.verdict,
            "alpha": a.alpha,
            "min_requests": a.min_requests,
            "stable": {
                "version": self.stable.version,
                "digest": self.stable.digest,
                "requests": m.stable.requests,
                "errors": m.stable.errors,
            },
            "canary": {
                "version": self.canary.version,
                "digest": self.canary.digest,
                "weight": self.canary.weight,
                "requests": m.canary.requests,
                "errors": m.canary.errors,
            },
            "guards": [r.as_json() for r in a.guards],
        }


def analyze_canary(reg: Registry, model: str, stage: str, metrics_file: Path) -> CanaryReport:
    """Judge the canary running on MODEL's STAGE with the metrics in METRICS_FILE."""
    reg.require_model(model)
    policy = reg.policy
    if stage not in policy.stages:
        raise NotFound(f"unknown stage {stage!r} (stages: {', '.join(policy.stages)})")
    entry = reg.serving(model).get(stage)
    canary = (entry or {}).get("canary")
    if entry is None or not canary:
        raise UsageError(
            f"nothing is canarying on {stage} for {model}: start one with `modelreg canary start`",
            rule="no-canary",
        )
    rule = policy.stage_rules.get(stage)
    canary_policy = rule.canary if rule is not None else {}
    guards = guards_from_policy(canary_policy)
    if not guards:
        raise UsageError(
            f"policy sets no canary guards for {stage} (stage_rules.{stage}.canary.guards "
            "in modelreg.yaml): a canary with no guards cannot be judged",
            file=reg.display(reg.root / "modelreg.yaml"),
            rule="no-guards",
        )
    metrics = read_metrics(metrics_file)
    analysis = analyze(
        guards,
        metrics,
        alpha=float(canary_policy.get("alpha", DEFAULT_ALPHA)),
        min_requests=int(canary_policy.get("min_requests", 0)),
    )
    return CanaryReport(
        model,
        stage,
        Side(entry["version"], entry["digest"]),
        Side(canary["version"], canary["digest"], canary.get("weight")),
        metrics,
        analysis,
    )


def read_metrics(path: Path) -> Metrics:
    """Read, parse and check a metrics file; BadInput/NotFound (exit 2) with file and line."""
    shown = str(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise NotFound("no such file", file=shown) from None
    except IsADirectoryError:
        raise BadInput("is a folder, not a metrics file", file=shown) from None
    except OSError as e:
        raise BadInput(f"cannot read: {e.strerror}", file=shown) from None
    if len(raw) > MAX_BYTES:
        raise BadInput(f"over the {MAX_BYTES}-byte limit for a metrics file", file=shown)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise BadInput(f"invalid UTF-8 byte 0x{raw[e.start]:02x}", file=shown, line=line) from None
    is_json = path.suffix.lower() == ".json" or (
        path.suffix.lower() not in (".yaml", ".yml") and text.lstrip().startswith("{")
    )
    data = _json(text, shown) if is_json else _yaml(text, shown)
    try:
        return parse_metrics(data)
    except MetricsProblem as e:
        raise BadInput(str(e), file=shown, line=_line_of(text, e.path, is_json)) from None


class _OutOfRange(ValueError):
    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index  # the how-many-th number of the text (from 0)
        self.message = message


class _Numbers:
    """json.loads hooks that refuse the numbers the YAML reader refuses, counting them.

    Python's json reads `1` followed by 5000 zeros as an int (str() of it then
    fails past 4300 digits) and `1e999` as inf; like YAML metrics files, a JSON one
    may hold whole numbers up to 2^53-1 and finite numbers only. The count finds
    the number's line: json reads numbers in the order they are written.
    """

    def __init__(self) -> None:
        self.count = 0

    def integer(self, literal: str) -> int:
        index, self.count = self.count, self.count + 1
        digits = literal.lstrip("-")
        if len(digits) > len(str(MAX_SAFE_INTEGER)) or int(literal) > MAX_SAFE_INTEGER:
            raise _OutOfRange(
                index,
                f"integer {_clip(literal)} is out of range: whole numbers must be at most "
                f"2^53-1 ({MAX_SAFE_INTEGER})",
            )
        return int(literal)

    def real(self, literal: str) -> float:
        index, self.count = self.count, self.count + 1
        value = float(literal)
        if not math.isfinite(value):
            raise _OutOfRange(
                index, f"number {_clip(literal)} is out of range (overflows to infinity)"
            )
        return value


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')


@dataclass
class _Frame:
    """An open JSON object or array while a text is walked."""

    is_object: bool
    key: str | int  # the current key, or index (-1 before the first element)
    expect_key: bool = True
    seen: set[str] = field(default_factory=set)
    duplicate_line: int | None = None


@dataclass
class _JsonMap:
    lines: dict[tuple[str | int, ...], int]  # the line each value starts on, by path
    numbers: list[int]  # the line of each number, in the order json reads them
    duplicate: int | None  # the line of the duplicate key json.loads stops at

    def line_of(self, path: tuple[str | int, ...]) -> int | None:
        """The line of PATH, or of its nearest ancestor."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


def _json_map(text: str) -> _JsonMap:
    """Where things are in a JSON TEXT (the YAML reader cannot tell: it refuses `1e5`).

    A walk over the tokens, tolerant of whatever follows a point json.loads
    stopped at; only read when a file has a problem to point at.
    """
    lines: dict[tuple[str | int, ...], int] = {}
    numbers: list[int] = []
    duplicate: int | None = None
    stack: list[_Frame] = []
    line, last = 1, 0
    for match in _JSON_TOKEN.finditer(text):
        token, at = match.group(), match.start()
        line += text.count("\n", last, at)
        last = at
        top = stack[-1] if stack else None
        if token in (",", ":"):
            if token == "," and top is not None and top.is_object:
                top.expect_key = True
            continue
        if token in ("}", "]"):
            if stack:
                done = stack.pop()
                # json.loads checks an object for duplicates as it closes
                if duplicate is None and done.duplicate_line is not None:
                    duplicate = done.duplicate_line
            continue
        if top is not None and top.is_object and top.expect_key:
            try:
                key = json.loads(token)
            except ValueError:
                key = token
            key = key if isinstance(key, str) else token
            if key in top.seen and top.duplicate_line is None:
                top.duplicate_line = line
            top.seen.add(key)
            top.key, top.expect_key = key, False
            continue
        if top is not None and not top.is_object:
            assert isinstance(top.key, int)
            top.key += 1
        lines.setdefault(tuple(frame.key for frame in stack), line)
        if token[0].isdigit() or (token[0] == "-" and token[1:2].isdigit()):
            numbers.append(line)
        elif token == "{":
            stack.append(_Frame(True, ""))
        elif token == "[":
            stack.append(_Frame(False, -1, expect_key=False))
    return _JsonMap(lines, numbers, duplicate)


def _clip(literal: str, limit: int = 24) -> str:
    return literal if len(literal) <= limit else f"{literal[:limit]}... ({len(literal)} characters)"


def _json(text: str, shown: str) -> object:
    numbers = _Numbers()
    try:
        return json.loads(
            text,
            object_pairs_hook=no_duplicates,
            parse_int=numbers.integer,
            parse_float=numbers.real,
        )
    except json.JSONDecodeError as e:
        raise BadInput(f"not valid JSON: {e.msg}", file=shown, line=e.lineno) from None
    except DuplicateKey as e:
        raise BadInput(
            f"duplicate key {e.key!r}", file=shown, line=_json_map(text).duplicate
        ) from None
    except _OutOfRange as e:
        lines = _json_map(text).numbers
        line = lines[e.index] if e.index < len(lines) else None
        raise BadInput(e.message, file=shown, line=line) from None
    except RecursionError:
        raise BadInput("not valid JSON: nested too deeply", file=shown) from None


def _yaml(text: str, shown: str) -> object:
    try:
        return loads(text).data
    except StrictYamlError as e:
        first = e.problems[0]
        raise BadInput(first.message, file=shown, line=first.line) from None


def _line_of(text: str, path: tuple[str | int, ...], is_json: bool) -> int | None:
    """The line of PATH in TEXT (or of its nearest ancestor), when it can be told."""
    if is_json:
        return _json_map(text).line_of(path)
    try:
        return loads(text).line_of(path)
    except (StrictYamlError, ValueError, RecursionError):
        return None
