"""Core: `canary analyze` as pure data: the metrics file checked by hand, guards from policy, verdicts.

Each guard compares the canary with stable on one quantity, with a margin m >= 0
in the direction that is worse: the error rate (d = canary - stable, worse is
up, margin `max_increase`) or the mean of a score (worse is down with
`max_decrease`, up with `max_increase`). With [lo, hi] the interval whose ends
are one-sided (1 - alpha) bounds (modelreg.core.stats), a guard

- fails when the bound on the better side is already past the margin
  (worse up: lo > m; worse down: hi < -m): breached with confidence;
- passes when the bound on the worse side is within the margin
  (worse up: hi < m; worse down: lo > -m): non-inferior with confidence;
- is insufficient otherwise, or when the data cannot give an interval.

A score guard needs n >= 2 on each side for an interval, and for a `pass` also
n >= MIN_SCORED_FOR_PASS on each side and an interval of nonzero width: with
both stds 0 Welch's interval has zero width (df infinite), and a handful of
identical scores must not "show" non-inferiority. Such a guard is insufficient
(a `fail` still stands: the data shows a breach however few the scores).

The verdict is `fail` when any guard fails (even below `min_requests`: a breach
shown with confidence needs no more traffic), `pass` when every guard passes and
the canary has at least `min_requests` requests, and `insufficient` otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelreg.core import stats

DEFAULT_ALPHA = 0.05
VARIANTS = ("stable", "canary")
ERROR_RATE = "error_rate"

PASS, FAIL, INSUFFICIENT = "pass", "fail", "insufficient"

_VARIANT_KEYS = ("requests", "errors", "scores")
_SCORE_KEYS = ("n", "mean", "std")

# Input bounds: counts are exact in a JSON number (and a float); means and stds
# are far beyond any real score, and small enough that no statistic overflows.
MAX_COUNT = 2**53 - 1
MAX_SCORE = 1e100  # the messages say "1e100"
MIN_SCORED_FOR_PASS = 30  # scored requests on each side before a score guard can pass


# --- the metrics file -------------------------------------------------------------


class MetricsProblem(ValueError):
    """The metrics data is malformed at PATH (keys and indexes from the top)."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        self.path = path
        self.message = message
        where = ".".join(str(p) for p in path)
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True)
class Score:
    n: int
    mean: float
    std: float  # the sample standard deviation


@dataclass(frozen=True)
class Variant:
    requests: int
    errors: int
    scores: dict[str, Score] = field(default_factory=dict)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None


@dataclass(frozen=True)
class Metrics:
    stable: Variant
    canary: Variant


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int) and value.bit_length() > 200:  # repr stops at 4300 digits
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    return repr(value)


def _mapping(value: object, path: tuple[str | int, ...], what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise MetricsProblem(path, f"{what} must be a mapping, not {_kind(value)}")
    return value


def _only(data: Mapping[str, Any], allowed: tuple[str, ...], path: tuple[str | int, ...]) -> None:
    for key in data:
        if key not in allowed:
            raise MetricsProblem(
                (*path, key), f"unknown key {key!r} (expected {', '.join(allowed)})"
            )


def _count(data: Mapping[str, Any], key: str, path: tuple[str | int, ...]) -> int:
    if key not in data:
        raise MetricsProblem(path, f"{key!r} is missing")
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise MetricsProblem((*path, key), f"must be a whole number, not {_kind(value)}")
    if value < 0:
        raise MetricsProblem((*path, key), f"must be 0 or more, not {_kind(value)}")
    if value > MAX_COUNT:
        raise MetricsProblem(
            (*path, key), f"out of range: must be at most 2^53-1 ({MAX_COUNT}), not {_kind(value)}"
        )
    return value


def _finite(data: Mapping[str, Any], key: str, path: tuple[str | int, ...]) -> float:
    if key not in data:
        raise MetricsProblem(path, f"{key!r} is missing")
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MetricsProblem((*path, key), f"must be a number, not {_kind(value)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise MetricsProblem((*path, key), f"must be a finite number, not {_kind(value)}")
    if abs(number) > MAX_SCORE:
        raise MetricsProblem(
            (*path, key),
            f"out of range: must be between -1e100 and 1e100, not {number:g}",
        )
    return number


def parse_metrics(data: object) -> Metrics:
    """The metrics file's data as Metrics; MetricsProblem names the first thing wrong."""
    top = _mapping(data, (), "the metrics file")
    _only(top, VARIANTS, ())
    variants: dict[str, Variant] = {}
    for name in VARIANTS:
        if name not in top:
            raise MetricsProblem((), f"{name!r} is missing (expected stable and canary)")
        path: tuple[str | int, ...] = (name,)
        raw = _mapping(top[name], path, name)
        _only(raw, _VARIANT_KEYS, path)
        requests = _count(raw, "requests", path)
        errors = _count(raw, "errors", path)
        if errors > requests:
            raise MetricsProblem(
                (*path, "errors"), f"{errors} errors is more than the {requests} requests"
            )
        scores: dict[str, Score] = {}
        raw_scores = _mapping(raw.get("scores", {}), (*path, "scores"), "scores")
        for score_name, value in raw_scores.items():
            spath = (*path, "scores", score_name)
            entry = _mapping(value, spath, f"score {score_name!r}")
            _only(entry, _SCORE_KEYS, spath)
            n = _count(entry, "n", spath)
            mean = _finite(entry, "mean", spath)
            std = _finite(entry, "std", spath)
            if std < 0:
                raise MetricsProblem((*spath, "std"), f"must be 0 or more, not {std:g}")
            scores[score_name] = Score(n, mean, std)
        variants[name] = Variant(requests, errors, scores)
    return Metrics(variants["stable"], variants["canary"])


# --- guards -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Guard:
    name: str
    kind: str  # "error_rate" | "score"
    worse: str  # "up" | "down"
    margin: float


def guards_from_policy(canary_policy: Mapping[str, Any]) -> list[Guard]:
    """The guards of a stage's (schema-valid) `canary` block: error_rate first, then scores."""
    raw = canary_policy.get("guards") or {}
    out: list[Guard] = []
    if ERROR_RATE in raw:
        out.append(Guard(ERROR_RATE, "error_rate", "up", float(raw[ERROR_RATE]["max_increase"])))
    for name, rule in raw.items():
        if name == ERROR_RATE:
            continue
        if "max_decrease" in rule:
            out.append(Guard(name, "score", "down", float(rule["max_decrease"])))
        else:
            out.append(Guard(name, "score", "up", float(rule["max_increase"])))
    return out


@dataclass(frozen=True)
class GuardResult:
    guard: Guard
    stable: float | None  # the error rate or mean on each side
    canary: float | None
    estimate: float | None  # canary - stable
    interval: tuple[float, float] | None  # ends are one-sided (1 - alpha) bounds
    confidence: float  # two-sided level of the interval: 1 - 2 alpha
    verdict: str
    reason: str
    df: float | None = None  # Welch's degrees of freedom for a score

    def as_json(self) -> dict[str, Any]:
        return {
            "guard": self.guard.name,
            "kind": self.guard.kind,
            "worse": self.guard.worse,
            "margin": self.guard.margin,
            "stable": self.stable,
            "canary": self.canary,
            "estimate": self.estimate,
            "interval": list(self.interval) if self.interval is not None else None,
            "confidence": self.confidence,
            "verdict": self.verdict,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Analysis:
    verdict: str
    reason: str
    alpha: float
    min_requests: int
    guards: list[GuardResult]


def num(x: float) -> str:
    """A number for people: 4 significant digits, no exponent for everyday sizes."""
    text = f"{x:.4g}"
    return "0" if text in ("0", "-0") else text


def signed(x: float) -> str:
    text = num(x)
    return text if text.startswith("-") or text == "0" else "+" + text


def _pct(x: float) -> str:
    return f"{x * 100:.4g}%"


def _judge(guard: Guard, lo: float, hi: float, one_sided: str) -> tuple[str, str]:
    m = guard.margin
    if guard.worse == "up":
        if lo > m:
            return (
                FAIL,
                f"worse than the margin: lower bound {signed(lo)} > {signed(m)} ({one_sided})",
            )
        if hi < m:
            return PASS, f"within the margin: upper bound {signed(hi)} < {signed(m)} ({one_sided})"
    else:
        if hi < -m:
            return (
                FAIL,
                f"worse than the margin: upper bound {signed(hi)} < {signed(-m)} ({one_sided})",
            )
        if lo > -m:
            return PASS, f"within the margin: lower bound {signed(lo)} > {signed(-m)} ({one_sided})"
    return (
        INSUFFICIENT,
        f"inconclusive: [{signed(lo)}, {signed(hi)}] straddles the margin "
        f"{signed(m if guard.worse == 'up' else -m)} ({one_sided}); more data will decide",
    )


def _error_rate(guard: Guard, metrics: Metrics, alpha: float) -> GuardResult:
    s, c = metrics.stable, metrics.canary
    confidence = 1.0 - 2.0 * alpha
    empty = [name for name, v in (("canary", c), ("stable", s)) if v.requests == 0]
    if empty:
        return GuardResult(
            guard,
            s.error_rate,
            c.error_rate,
            None,
            None,
            confidence,
            INSUFFICIENT,
            f"no {' or '.join(empty)} requests",
        )
    iv = stats.newcombe_interval(c.errors, c.requests, s.errors, s.requests, alpha)
    verdict, reason = _judge(guard, iv.lo, iv.hi, f"one-sided {_pct(1 - alpha)}")
    return GuardResult(
        guard, s.error_rate, c.error_rate, iv.estimate, (iv.lo, iv.hi), confidence, verdict, reason
    )


def _score(guard: Guard, metrics: Metrics, alpha: float) -> GuardResult:
    confidence = 1.0 - 2.0 * alpha
    sides = {name: getattr(metrics, name).scores.get(guard.name) for name in VARIANTS}
    missing = [name for name, score in sides.items() if score is None]
    s, c = sides["stable"], sides["canary"]
    stable_mean = s.mean if s is not None and s.n > 0 else None
    canary_mean = c.mean if c is not None and c.n > 0 else None
    estimate = (
        canary_mean - stable_mean if canary_mean is not None and stable_mean is not None else None
    )
    if missing:
        reason = f"the metrics file has no {guard.name!r} score for {' or '.join(missing)}"
        return GuardResult(
            guard, stable_mean, canary_mean, None, None, confidence, INSUFFICIENT, reason
        )
    assert s is not None and c is not None
    few = [f"{name} has n={score.n}" for name, score in sides.items() if score and score.n < 2]
    if few:
        reason = f"needs at least 2 scored requests on each side ({', '.join(few)})"
        return GuardResult(
            guard, stable_mean, canary_mean, estimate, None, confidence, INSUFFICIENT, reason
        )
    iv = stats.welch_interval(c.mean, c.std, c.n, s.mean, s.std, s.n, alpha)
    if not all(math.isfinite(x) for x in (iv.estimate, iv.lo, iv.hi)):  # pragma: no cover
        reason = "the interval is beyond the range of a float (scores out of range?)"
        return GuardResult(
            guard, s.mean, c.mean, None, None, confidence, INSUFFICIENT, reason, iv.df
        )
    one_sided = f"one-sided {_pct(1 - alpha)}, Welch df {iv.df:.1f}"
    verdict, reason = _judge(guard, iv.lo, iv.hi, one_sided)
    thin = [
        f"{name} has n={sc.n}"
        for name, sc in (("stable", s), ("canary", c))
        if sc.n < MIN_SCORED_FOR_PASS
    ]
    if verdict == PASS and iv.lo == iv.hi:
        verdict = INSUFFICIENT
        reason = (
            f"zero-width interval [{signed(iv.lo)}, {signed(iv.hi)}]: both sides report std 0, "
            f"which shows nothing about the spread ({one_sided}); more data will decide"
        )
    elif verdict == PASS and thin:
        verdict = INSUFFICIENT
        reason = (
            f"within the margin, but a pass needs at least {MIN_SCORED_FOR_PASS} scored requests "
            f"on each side ({', '.join(thin)}); more data will decide"
        )
    return GuardResult(
        guard, s.mean, c.mean, iv.estimate, (iv.lo, iv.hi), confidence, verdict, reason, iv.df
    )


def analyze(
    guards: list[Guard], metrics: Metrics, alpha: float = DEFAULT_ALPHA, min_requests: int = 0
) -> Analysis:
    """Every guard's result and the overall verdict (module docstring)."""
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha {alpha} is not between 0 and 0.5")
    results = [
        _error_rate(g, metrics, alpha) if g.kind == "error_rate" else _score(g, metrics, alpha)
        for g in guards
    ]
    failed = [r.guard.name for r in results if r.verdict == FAIL]
    unsure = [r.guard.name for r in results if r.verdict == INSUFFICIENT]
    requests = metrics.canary.requests
    confident = f"one-sided {_pct(1 - alpha)}"
    if failed:
        return Analysis(
            FAIL,
            f"{', '.join(failed)} worse than the margin with {confident} confidence",
            alpha,
            min_requests,
            results,
        )
    why = []
    if unsure:
        why.append(f"not enough data for {', '.join(unsure)}")
    if requests < min_requests:
        why.append(f"{requests} canary requests of the {min_requests} min_requests")
    if why or not results:
        return Analysis(INSUFFICIENT, "; ".join(why) or "no guards", alpha, min_requests, results)
    return Analysis(
        PASS,
        f"every guard within its margin with {confident} confidence; {requests} canary requests "
        f">= min_requests {min_requests}",
        alpha,
        min_requests,
        results,
    )
