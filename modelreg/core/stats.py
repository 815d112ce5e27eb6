"""Core: the statistics of `canary analyze`, pure stdlib math.

- Normal quantiles come from `statistics.NormalDist`.
- Student's t CDF is the regularized incomplete beta function, evaluated by its
  continued fraction (modified Lentz); the quantile is a Newton iteration on the
  log of the tail probability, kept inside a bracket and falling back to
  bisection, so it converges for any df > 0 (fractional too) and far tails.
- Scores: Welch's interval for a difference of means with the
  Welch-Satterthwaite degrees of freedom (no equal-variance assumption: a canary
  sees far fewer requests than stable, and its spread may differ).
- Error rates: Newcombe's hybrid score interval (Newcombe 1998, method 10) for
  a difference of proportions, built from each side's Wilson score interval.
  It was chosen over the plain Wald interval, which collapses to zero width at
  zero errors and under-covers at rates of 0.1-1% (a canary with 0 errors in 50
  requests would look safe on a zero-width interval), and over Agresti-Caffo,
  whose pseudo counts shift a rare-event estimate by about 1/n on each side:
  Wilson bounds stay inside [0, 1], are never degenerate at 0 or n errors, and
  keep close to their nominal coverage for rare events at the sample sizes
  canaries see (Newcombe 1998; Fagerland, Lydersen and Laake 2011).

Every interval here takes ALPHA as a one-sided level: each end is a one-sided
(1 - alpha) confidence bound, so together they form a two-sided (1 - 2 alpha)
interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

_EPS = 1e-15
_TINY = 1e-300
_MAX_TERMS = 10_000


@dataclass(frozen=True)
class Interval:
    estimate: float
    lo: float
    hi: float
    df: float | None = None  # Welch's degrees of freedom; None for the proportion interval


def normal_quantile(p: float) -> float:
    """The standard normal quantile of P (0 < P < 1)."""
    _check_probability(p)
    return NormalDist().inv_cdf(p)


# --- Student's t --------------------------------------------------------------------


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b) (modified Lentz); converges fast for x < (a+1)/(a+b+2)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_TERMS + 1):
        m2 = 2 * m
        for aa in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + aa / c
            c = c if abs(c) > _TINY else _TINY
            step = d * c
            h *= step
        if abs(step - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"incomplete beta did not converge (a={a}, b={b}, x={x})")


def _log_gamma_ratio(a: float, b: float) -> float:
    """lgamma(a + b) - lgamma(a) without the cancellation of two huge lgammas when a is large.

    Stirling's series: (a+b-1/2) ln(a+b) - (a-1/2) ln a - b, regrouped as
    (a-1/2) log1p(b/a) + b ln(a+b) - b, plus the difference of the 1/(12x) ... terms
    (the first omitted term is below 1e-18 for a >= 50).
    """
    if a < 50.0:
        return math.lgamma(a + b) - math.lgamma(a)

    def correction(x: float) -> float:
        x2 = x * x
        return (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - 1.0 / (1680.0 * x2)) / x2) / x2) / x

    return (
        (a - 0.5) * math.log1p(b / a) + b * math.log(a + b) - b + correction(a + b) - correction(a)
    )


def _incomplete_beta(a: float, b: float, x: float, y: float, log_x: float, log_y: float) -> float:
    """I_x(a, b), regularized, with Y = 1 - x and both logarithms given by the caller.

    The caller computes each of x, y, ln x and ln y directly from its own inputs,
    so none of them loses digits to a subtraction from 1 (for t with a huge df, x
    is within 1e-15 of 1 and only ln x = -log1p(t^2/df) still has its digits).
    """
    big, small = max(a, b), min(a, b)
    log_front = _log_gamma_ratio(big, small) - math.lgamma(small) + a * log_x + b * log_y
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, y) / b


def _t_tail(t: float, df: float) -> float:
    """P(T > t) for t >= 0, accurate in the far tail (no 1 - cdf cancellation)."""
    if math.isinf(df):
        return NormalDist().cdf(-t)
    if t == 0.0:
        return 0.5
    # I_x(df/2, 1/2) with x = df / (df + t^2), y = 1 - x = t^2 / (df + t^2)
    if t > 1e150:  # t^2 would overflow
        r = (df / t) / t  # df / t^2
        x, y = r, 1.0
        log_x, log_y = math.log(df) - 2.0 * math.log(t), -math.log1p(r)
    else:
        t2 = t * t
        x, y = df / (df + t2), t2 / (df + t2)
        log_x = -math.log1p(t2 / df)
        log_y = -math.log1p(df / t2) if t2 > 0 else -math.inf
    if log_y == -math.inf:
        return 0.5
    return 0.5 * _incomplete_beta(df / 2.0, 0.5, x, y, log_x, log_y)


def _t_log_pdf(t: float, df: float) -> float:
    return (
        math.lgamma((df + 1.0) / 2.0)
        - math.lgamma(df / 2.0)
        - 0.5 * math.log(df * math.pi)
        - (df + 1.0) / 2.0 * math.log1p(t * t / df)
    )


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with DF > 0 degrees of freedom (math.inf: the normal)."""
    _check_df(df)
    if math.isnan(t):
        raise ValueError("t must be a number")
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    return 1.0 - _t_tail(t, df) if t > 0 else _t_tail(-t, df)


def t_quantile(p: float, df: float) -> float:
    """The t with P(T <= t) = P, for DF > 0 (fractional allowed; math.inf: the normal)."""
    _check_probability(p)
    _check_df(df)
    if math.isinf(df):
        return normal_quantile(p)
    if p == 0.5:
        return 0.0
    q = min(p, 1.0 - p)  # solve P(T > t) = q for t > 0, then mirror
    t = _upper_quantile(q, df)
    return t if p > 0.5 else -t


def _upper_quantile(q: float, df: float) -> float:
    """The t > 0 with P(T > t) = q < 0.5: safeguarded Newton on log tail(t) - log q."""
    log_q = math.log(q)
    lo, hi = 0.0, max(1.0, -normal_quantile(q))
    while _t_tail(hi, df) > q:  # tail falls as t grows: widen until it brackets
        lo, hi = hi, hi * 2.0
    t = 0.5 * (lo + hi)
    for _ in range(400):
        tail = _t_tail(t, df)
        if tail <= 0.0:  # underflow far past the answer
            hi, t = t, 0.5 * (lo + t)
            continue
        g = math.log(tail) - log_q  # > 0: t too small
        if g > 0:
            lo = t
        else:
            hi = t
        # d/dt log tail(t) = -pdf(t) / tail(t)
        slope = -math.exp(_t_log_pdf(t, df) - math.log(tail))
        step = g / slope if slope != 0.0 else math.inf
        candidate = t - step
        if not lo < candidate < hi:
            candidate = 0.5 * (lo + hi)
        if abs(candidate - t) <= 4 * _EPS * max(1.0, abs(t)) or hi - lo <= _EPS * hi:
            return candidate
        t = candidate
    return t  # pragma: no cover - the bracket halves at worst; 400 steps is far beyond need


def _check_probability(p: float) -> None:
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability {p} is not strictly between 0 and 1")


def _check_df(df: float) -> None:
    if not df > 0:
        raise ValueError(f"degrees of freedom {df} must be positive")


# --- two samples ------------------------------------------------------------------------


def welch_df(var1: float, n1: int, var2: float, n2: int) -> float:
    """Welch-Satterthwaite degrees of freedom of two samples (variances, sizes >= 2).

    math.inf when both variances are zero (the difference is then known exactly).
    """
    a, b = var1 / n1, var2 / n2
    if a + b == 0.0:
        return math.inf
    # scaled by the larger term, so huge variances do not overflow (nor tiny ones underflow)
    top = max(a, b)
    a, b = a / top, b / top
    return (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1))


def welch_interval(
    mean1: float, std1: float, n1: int, mean2: float, std2: float, n2: int, alpha: float
) -> Interval:
    """Interval of mean1 - mean2 (sample standard deviations, n >= 2 each), Welch's t.

    Each end is a one-sided (1 - ALPHA) bound.
    """
    if n1 < 2 or n2 < 2:
        raise ValueError("Welch's interval needs at least 2 observations per sample")
    var1, var2 = std1 * std1, std2 * std2
    se = math.hypot(std1 / math.sqrt(n1), std2 / math.sqrt(n2))  # sqrt(var1/n1 + var2/n2)
    df = welch_df(var1, n1, var2, n2)
    if not (math.isfinite(se) and df > 0):
        raise OverflowError(f"Welch's interval is out of range (std {std1:g} and {std2:g})")
    d = mean1 - mean2
    half = t_quantile(1.0 - alpha, df) * se if se > 0 else 0.0
    return Interval(d, d - half, d + half, df)


def wilson_interval(successes: int, n: int, z: float) -> tuple[float, float]:
    """Wilson's score interval of a proportion at normal quantile Z; (0, 1) when n is 0."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2n = z * z / n
    center = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
    # exact at the edges: 0 successes has lower bound 0, n successes upper bound 1
    lo = 0.0 if successes == 0 else max(0.0, center - half)
    hi = 1.0 if successes == n else min(1.0, center + half)
    return lo, hi


def newcombe_interval(x1: int, n1: int, x2: int, n2: int, alpha: float) -> Interval:
    """Newcombe's hybrid score interval of x1/n1 - x2/n2 (n >= 1 each).

    Each end is a one-sided (1 - ALPHA) bound.
    """
    if n1 < 1 or n2 < 1:
        raise ValueError("a proportion needs at least one trial per sample")
    z = normal_quantile(1.0 - alpha)
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, z)
    l2, u2 = wilson_interval(x2, n2, z)
    d = p1 - p2
    lo = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Interval(d, lo, hi)
