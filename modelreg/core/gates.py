"""Core: eval gates. Which rules of a stage a version's evals pass, as data; pure and deterministic.

Evidence counts only when it is about this exact config: an eval whose
`config_digest` is not the version's digest never satisfies a gate, and a
metric passes only as a real finite number (a bool, NaN, infinity, a string or
a missing metric never does). `no_regression` compares with the eval of the
version serving the stage now, bound to that version's digest the same way;
when that evidence is missing the rule fails closed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from modelreg.core.digest import digest as digest_of
from modelreg.core.digest import short
from modelreg.core.policy import Gate, StageRule

EVAL_ADVICE = "add one with `modelreg eval add`"


@dataclass(frozen=True)
class GateResult:
    suite: str
    metric: str | None  # None for suite-level rules
    rule: str  # "min" | "max" | "no_regression" | "eval"
    threshold: float | str | None
    actual: float | str | None
    ok: bool
    message: str  # one line for people, e.g. "accuracy 0.79 < min 0.85"

    def as_json(self) -> dict[str, Any]:
        """The row of `gate --json` (DESIGN section 5)."""
        return {
            "suite": self.suite,
            "metric": self.metric,
            "rule": self.rule,
            "threshold": self.threshold,
            "actual": self.actual,
            "ok": self.ok,
        }


def finite_number(value: object) -> float | None:
    """VALUE when it is a real finite number (int or float, not bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return value if math.isfinite(value) else None
    except OverflowError:  # an int too large for a float
        return None


def shown(value: object) -> str:
    """A value as people read it in a message: numbers as written, strings quoted, clipped."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        text = repr(value)  # nan and inf read 'nan' and 'inf'
        return text if len(text) <= 40 else text[:37] + "..."
    return f"a {type(value).__name__}"


def _actual(value: object) -> float | str | None:
    """What a result shows as `actual`: the number, the string, or how anything else reads.

    NaN and infinity become strings ('nan', 'inf'), so `--json` stays valid JSON.
    """
    number = finite_number(value)
    if number is not None or value is None:
        return number
    if isinstance(value, str):
        return value
    return shown(value)


def _evidence_problem(suite: str, data: Mapping[str, Any] | None, digest: str) -> str | None:
    """Why DATA is not evidence about the config DIGEST for SUITE, or None when it is."""
    if data is None:
        return f"no {suite} eval for this version; {EVAL_ADVICE}"
    found = data.get("config_digest")
    if found != digest:
        what = short(found) if isinstance(found, str) else "no config_digest"
        return (
            f"the {suite} eval is about another config ({what}, this version is "
            f"{short(digest)}): evidence about another config never satisfies a gate; "
            f"{EVAL_ADVICE} for this version"
        )
    if "suite" in data and data["suite"] != suite:
        return (
            f"the {suite} eval file says suite {shown(data['suite'])}: "
            f"an eval of another suite never satisfies this gate"
        )
    if not isinstance(data.get("metrics"), Mapping):
        return f"the {suite} eval has no metrics"
    return None


def _eval_row(
    suite: str, data: Mapping[str, Any] | None, digest: str, problem: str | None
) -> GateResult:
    found = data.get("config_digest") if data is not None else None
    actual = found if isinstance(found, str) else None
    if problem is not None:
        return GateResult(suite, None, "eval", digest, actual, False, problem)
    assert data is not None
    bad = sorted(k for k, v in data["metrics"].items() if finite_number(v) is None)
    if bad:
        return GateResult(
            suite,
            None,
            "eval",
            digest,
            actual,
            False,
            f"the {suite} eval has metrics that are not finite numbers: {', '.join(bad)}",
        )
    return GateResult(suite, None, "eval", digest, actual, True, f"{suite} eval is for this config")


def _metric(data: Mapping[str, Any], metric: str) -> tuple[object, float | None, str]:
    """(raw value, the finite number or None, why it is not usable or '')."""
    metrics = data["metrics"]
    if metric not in metrics:
        return None, None, f"{metric} is missing from the eval"
    raw = metrics[metric]
    number = finite_number(raw)
    if number is None:
        return raw, None, f"{metric} is {shown(raw)}, not a finite number"
    return raw, number, ""


def _bound_row(
    gate: Gate, metric: str, kind: str, threshold: float, data: Mapping[str, Any] | None
) -> GateResult:
    """One min or max rule. DATA is None when this config has no usable eval of the suite."""
    if data is None:
        message = f"{metric}: no usable {gate.suite} eval for this config"
        return GateResult(gate.suite, metric, kind, threshold, None, False, message)
    raw, number, problem = _metric(data, metric)
    if number is None:
        return GateResult(gate.suite, metric, kind, threshold, _actual(raw), False, problem)
    ok = number >= threshold if kind == "min" else number <= threshold
    sign = (">=" if ok else "<") if kind == "min" else ("<=" if ok else ">")
    message = f"{metric} {shown(number)} {sign} {kind} {shown(threshold)}"
    return GateResult(gate.suite, metric, kind, threshold, number, ok, message)


def _exact(number: float) -> Decimal:
    """The decimal a number was written as (its shortest repr), for a comparison without float noise.

    0.91 - 0.02 is 0.8900000000000001 in floats, which would fail an
    actual of 0.89 that the policy's author meant to pass.
    """
    return Decimal(repr(number))


def _baseline_problem(
    suite: str, baseline: Mapping[str, Any] | None, baseline_digest: str | None, serving: str
) -> str | None:
    """Why BASELINE cannot be compared with (no_regression then fails closed), or None."""
    fix = f"add a {suite} eval for {serving} with `modelreg eval add`"
    if baseline is None:
        return f"{serving} has no {suite} eval to compare with (fails closed); {fix}"
    if baseline_digest is None or baseline.get("config_digest") != baseline_digest:
        return f"the {suite} eval of {serving} is about another config (fails closed); {fix}"
    if "suite" in baseline and baseline["suite"] != suite:
        return (
            f"the {suite} eval file of {serving} says suite {shown(baseline['suite'])} "
            f"(fails closed); {fix}"
        )
    if not isinstance(baseline.get("metrics"), Mapping):
        return f"the {suite} eval of {serving} has no metrics (fails closed); {fix}"
    return None


def _regression_row(
    gate: Gate,
    metric: str,
    allowed_drop: float,
    data: Mapping[str, Any] | None,
    baseline: Mapping[str, Any] | None,
    baseline_problem: str | None,
    serving: str,
) -> GateResult:
    """One no_regression rule. DATA is None when this config has no usable eval;
    BASELINE is None when nothing serves the stage (then BASELINE_PROBLEM is None too)."""

    def result(
        threshold: float | None, actual: float | str | None, ok: bool, message: str
    ) -> GateResult:
        return GateResult(gate.suite, metric, "no_regression", threshold, actual, ok, message)

    if data is None:
        return result(None, None, False, f"{metric}: no usable {gate.suite} eval for this config")
    raw, number, problem = _metric(data, metric)
    if number is None:
        return result(None, _actual(raw), False, problem)
    if baseline_problem is not None:
        return result(None, number, False, f"{metric}: {baseline_problem}")
    if baseline is None:
        return result(
            None,
            number,
            True,
            f"nothing serves this stage now: no baseline for {metric} ({shown(number)})",
        )
    _, base, base_problem = _metric(baseline, metric)
    if base is None:
        return result(
            None,
            number,
            False,
            f"{metric}: in the {gate.suite} eval of {serving}, {base_problem} (fails closed); "
            f"add a {gate.suite} eval for {serving} with `modelreg eval add`",
        )
    limit = _exact(base) - _exact(allowed_drop)
    ok = _exact(number) >= limit
    threshold = float(limit)
    return result(
        threshold,
        number,
        ok,
        f"{metric} {shown(number)} {'>=' if ok else '<'} {shown(threshold)} "
        f"({serving} has {shown(base)}, allowed drop {shown(allowed_drop)})",
    )


def evaluate_gates(
    rule: StageRule | None,
    digest: str,
    evals: Mapping[str, Mapping[str, Any]],
    baseline_evals: Mapping[str, Mapping[str, Any]] | None,
    baseline_digest: str | None,
    baseline_version: str | None = None,
) -> list[GateResult]:
    """One result per gate rule of RULE, in policy order, for the version whose digest is DIGEST.

    EVALS are that version's evals by suite; BASELINE_EVALS those of the version
    serving the stage now (None when nothing serves), whose digest is
    BASELINE_DIGEST. Each gate gives an `eval` row (the suite's eval exists, is
    for DIGEST, and its metrics are finite numbers), then its `min`/`max` rows,
    then its `no_regression` rows.
    """
    if rule is None:
        return []
    serving = (
        f"the serving version {baseline_version}" if baseline_version else "the serving version"
    )
    results: list[GateResult] = []
    for gate in rule.gates:
        data = evals.get(gate.suite)
        problem = _evidence_problem(gate.suite, data, digest)
        results.append(_eval_row(gate.suite, data, digest, problem))
        evidence = data if problem is None else None
        for metric, bounds in gate.metrics.items():
            for kind in ("min", "max"):
                if kind in bounds:
                    results.append(_bound_row(gate, metric, kind, bounds[kind], evidence))
        if baseline_evals is None:
            baseline, baseline_problem = None, None
        else:
            baseline = baseline_evals.get(gate.suite)
            baseline_problem = _baseline_problem(gate.suite, baseline, baseline_digest, serving)
        for metric, allowed_drop in gate.no_regression.items():
            results.append(
                _regression_row(
                    gate,
                    metric,
                    allowed_drop,
                    evidence,
                    baseline,
                    baseline_problem,
                    serving,
                )
            )
    return results


def gate_eval_digests(
    rule: StageRule | None, evals: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    """{suite: digest of its eval data} for each suite RULE gates on that has an eval.

    Bound into an action's signed tag, so the evidence a promotion relied on
    cannot change afterwards without verification noticing.
    """
    if rule is None:
        return {}
    out: dict[str, str] = {}
    for gate in rule.gates:
        if gate.suite in evals and gate.suite not in out:
            out[gate.suite] = digest_of(evals[gate.suite])
    return out
