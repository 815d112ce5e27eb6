"""modelreg.core.stats against known answers computed independently of modelreg.

Every reference value below was computed with scipy 1.17.1 and statsmodels 0.15.0
in a throwaway venv outside the project (`python -m venv /tmp/statsref &&
/tmp/statsref/bin/pip install scipy statsmodels`), printed with repr() and pasted
here; neither library is a dependency of modelreg. The exact calls are named
next to each table.
"""

from __future__ import annotations

import math

import pytest

from modelreg.core import stats

# scipy.stats.t.ppf(p, df) for p in (0.95, 0.975, 0.999, 0.6, 0.01)
T_PPF = {
    1: (6.313751514675037, 12.706204736174694, 318.30883898555015, 0.32491969623290634, -31.82051595377396),
    2: (2.9199855803537242, 4.302652729749462, 22.327124770119866, 0.2886751345948128, -6.964556734283274),
    5: (2.0150483733330233, 2.5705818356363146, 5.893429531356009, 0.2671808657041451, -3.364929998907218),
    7.3: (1.8829300179564308, 2.345066736547703, 4.688865993538372, 0.2627568052507191, -2.9639404475838975),
    30: (1.697260886593957, 2.0422724563012378, 3.3851848668293045, 0.2556053649519128, -2.4572615424005915),
    1000: (1.6463788172854643, 1.9623390808264083, 3.0984021639129233, 0.25341451583949876, -2.330082674755513),
}  # fmt: skip
PROBABILITIES = (0.95, 0.975, 0.999, 0.6, 0.01)

# scipy.stats.t.cdf(t, df)
T_CDF = [
    (1, 1.0, 0.75),
    (1, -3.0, 0.10241638234956672),
    (2, 0.5, 0.6666666666666666),
    (5, 2.015, 0.9499969138365968),
    (7.3, -1.2, 0.13381533327582806),
    (30, 2.75, 0.9950000527365344),
    (1000, 0.3, 0.617880247916378),
    (3, 40.0, 0.9999828096596054),
]


@pytest.mark.parametrize("df", sorted(T_PPF))
def test_t_quantile_matches_scipy(df: float) -> None:
    for p, expected in zip(PROBABILITIES, T_PPF[df], strict=True):
        assert stats.t_quantile(p, df) == pytest.approx(expected, rel=1e-10, abs=1e-12), (p, df)


def test_t_quantile_is_symmetric_and_inverts_the_cdf() -> None:
    assert stats.t_quantile(0.5, 3) == 0.0
    for df in (0.7, 1, 4.5, 60, 1e6):
        for p in (2.0**-30, 2.0**-10, 0.125, 0.375):  # 1 - p is exact for these
            t = stats.t_quantile(p, df)
            assert t < 0
            assert stats.t_quantile(1 - p, df) == pytest.approx(-t, rel=1e-12)
            assert stats.t_cdf(t, df) == pytest.approx(p, rel=1e-10)
            assert stats.t_cdf(-t, df) == pytest.approx(1 - p, rel=1e-12)


@pytest.mark.parametrize(("df", "t", "expected"), T_CDF)
def test_t_cdf_matches_scipy(df: float, t: float, expected: float) -> None:
    assert stats.t_cdf(t, df) == pytest.approx(expected, rel=1e-12)


def test_normal_limits() -> None:
    # scipy.stats.norm.ppf(0.95), scipy.stats.norm.ppf(0.975)
    assert stats.normal_quantile(0.95) == pytest.approx(1.6448536269514722, rel=1e-14)
    assert stats.t_quantile(0.975, math.inf) == pytest.approx(1.959963984540054, rel=1e-14)
    assert stats.t_cdf(math.inf, 4) == 1.0 and stats.t_cdf(-math.inf, 4) == 0.0


@pytest.mark.parametrize(("p", "df"), [(0.0, 3), (1.0, 3), (0.5, 0), (0.5, -1)])
def test_t_quantile_rejects_bad_arguments(p: float, df: float) -> None:
    with pytest.raises(ValueError):
        stats.t_quantile(p, df)


# Welch by formula in the reference venv:
#   v1, v2 = s1**2/n1, s2**2/n2; df = (v1+v2)**2 / (v1**2/(n1-1) + v2**2/(n2-1))
#   d -/+ scipy.stats.t.ppf(1 - alpha, df) * sqrt(v1 + v2), with d = m1 - m2


def test_welch_on_the_design_example() -> None:
    # DESIGN section 5: canary n=110 mean 0.79 std 0.13; stable n=2000 mean 0.81 std 0.12
    iv = stats.welch_interval(0.79, 0.13, 110, 0.81, 0.12, 2000, alpha=0.05)
    assert iv.df == pytest.approx(119.4414163456864, rel=1e-12)
    assert iv.estimate == pytest.approx(-0.02)
    assert iv.lo == pytest.approx(-0.041023305376219996, rel=1e-10)
    assert iv.hi == pytest.approx(0.0010233053762199636, rel=1e-9)
    assert stats.welch_df(0.13**2, 110, 0.12**2, 2000) == pytest.approx(119.4414163456864)


def test_welch_small_samples_and_zero_spread() -> None:
    # canary n=2 mean 0.5 std 0.1; stable n=3 mean 0.6 std 0.3
    iv = stats.welch_interval(0.5, 0.1, 2, 0.6, 0.3, 3, alpha=0.05)
    assert iv.df == pytest.approx(2.578947368421053, rel=1e-12)
    assert (iv.lo, iv.hi) == pytest.approx((-0.5711822723194131, 0.3711822723194132), rel=1e-10)
    exact = stats.welch_interval(0.7, 0.0, 5, 0.6, 0.0, 5, alpha=0.05)
    assert (exact.lo, exact.hi, exact.df) == (pytest.approx(0.1), pytest.approx(0.1), math.inf)
    with pytest.raises(ValueError):
        stats.welch_interval(0.5, 0.1, 1, 0.6, 0.3, 3, alpha=0.05)


def test_welch_with_huge_spreads_does_not_overflow() -> None:
    """std up to 1e100 (the metrics file's bound): var/n squared would be 1e400."""
    iv = stats.welch_interval(1e100, 1e100, 50, -1e100, 1e100, 50, alpha=0.05)
    assert iv.df == pytest.approx(98.0, rel=1e-12)  # equal spreads and sizes: n1 + n2 - 2
    half = stats.t_quantile(0.95, 98.0) * 1e100 * math.sqrt(2 / 50)
    assert (iv.lo, iv.hi) == pytest.approx((2e100 - half, 2e100 + half), rel=1e-12)
    assert stats.welch_df(1e200, 2, 1e200, 3) == pytest.approx(
        stats.welch_df(1.0, 2, 1.0, 3), rel=1e-12
    )
    # tiny variances scale the same way
    assert stats.welch_df(1e-300, 7, 2e-300, 9) == pytest.approx(
        stats.welch_df(1.0, 7, 2.0, 9), rel=1e-12
    )
    # beyond the float range: an error that says so, never a NaN df
    with pytest.raises(OverflowError, match="out of range"):
        stats.welch_interval(0.0, 1e200, 5, 0.0, 1e200, 5, alpha=0.05)


# statsmodels.stats.proportion.confint_proportions_2indep(x1, n1, x2, n2,
#     method="newcomb", compare="diff", alpha=2 * 0.05)   (one-sided 0.05 on each end)
NEWCOMBE = [
    ((19, 6100, 240, 120000), (0.0001159006972267999, 0.002543061027503765)),  # DESIGN example
    ((0, 20, 0, 20), (-0.11915783736096455, 0.11915783736096455)),
    ((0, 100000, 0, 100000), (-2.70547025642199e-05, 2.70547025642199e-05)),
    ((300, 6000, 240, 120000), (0.04356572579392109, 0.05283846392705918)),
    ((10, 10000, 200, 100000), (-0.001471496071499525, -0.0002930990010767805)),
    ((5, 400, 0, 1000), (0.005552197405439267, 0.02545291192783839)),
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE)
def test_newcombe_matches_statsmodels(
    counts: tuple[int, int, int, int], expected: tuple[float, float]
) -> None:
    iv = stats.newcombe_interval(*counts, alpha=0.05)
    assert iv.estimate == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])
    assert iv.lo == pytest.approx(expected[0], rel=1e-9, abs=1e-15)
    assert iv.hi == pytest.approx(expected[1], rel=1e-9, abs=1e-15)


def test_zero_errors_never_give_a_zero_width_interval() -> None:
    for n in (1, 5, 50, 10**6):
        iv = stats.newcombe_interval(0, n, 0, n, alpha=0.05)
        assert iv.estimate == 0 and iv.lo < 0 < iv.hi


# statsmodels.stats.proportion.proportion_confint(x, n, alpha=0.10, method="wilson")
@pytest.mark.parametrize(
    ("x", "n", "lo", "hi"),
    [
        (0, 20, 0.0, 0.11915783736096455),
        (19, 6100, 0.0021412631953632026, 0.004528818322457551),
        (20, 20, 0.8808421626390355, 1.0),
        (3, 7, 0.186443190363956, 0.7105229089864071),
    ],
)
def test_wilson_matches_statsmodels(x: int, n: int, lo: float, hi: float) -> None:
    got = stats.wilson_interval(x, n, stats.normal_quantile(0.95))
    assert got == pytest.approx((lo, hi), rel=1e-10, abs=1e-15)
    assert stats.wilson_interval(0, 0, 1.64) == (0.0, 1.0)
