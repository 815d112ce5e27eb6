"""Service: `canary analyze`, a stage's running canary judged against policy's guards on a metrics file.

The metrics file is the user's input, not a registry file: any readable file
(a symlink, `<(curl ...)`) up to the registry size cap, JSON (`.json`, or text
that starts with `{`) or strict YAML otherwise. A file that cannot be read or
is malformed is bad input (exit 2) with its line where the parser knows it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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
        raise BadInput(str(e), file=shown, line=_line_of(text, e.path)) from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


class _Duplicate(ValueError):
    pass


def _json(text: str, shown: str) -> object:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as e:
        raise BadInput(f"not valid JSON: {e.msg}", file=shown, line=e.lineno) from None
    except _Duplicate as e:
        raise BadInput(
            f"duplicate key {e.args[0]!r}", file=shown, line=_first_yaml_problem(text)
        ) from None
    except RecursionError:
        raise BadInput("not valid JSON: nested too deeply", file=shown) from None


def _yaml(text: str, shown: str) -> object:
    try:
        return loads(text).data
    except StrictYamlError as e:
        first = e.problems[0]
        raise BadInput(first.message, file=shown, line=first.line) from None


def _line_of(text: str, path: tuple[str | int, ...]) -> int | None:
    """The line of PATH in TEXT, read as YAML (JSON files too: a JSON document is YAML)."""
    try:
        return loads(text).line_of(path)
    except (StrictYamlError, ValueError, RecursionError):
        return None


def _first_yaml_problem(text: str) -> int | None:
    try:
        loads(text)
    except StrictYamlError as e:
        return e.problems[0].line
    except (ValueError, RecursionError):
        return None
    return None
