"""`canary analyze`: guards from policy, verdicts on known answers, the metrics file, the CLI.

Reference intervals were computed independently of modelreg in a throwaway venv
(scipy 1.17.1, statsmodels 0.15.0; see tests/test_stats.py):
- error rate: statsmodels.stats.proportion.confint_proportions_2indep(
  canary_errors, canary_requests, stable_errors, stable_requests,
  method="newcomb", compare="diff", alpha=2 * alpha);
- scores: Welch by formula, d -/+ scipy.stats.t.ppf(1 - alpha, df) * se with
  se = sqrt(s1**2/n1 + s2**2/n2) and the Welch-Satterthwaite df.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import write
from modelreg.core.canary import (
    Guard,
    MetricsProblem,
    analyze,
    guards_from_policy,
    parse_metrics,
)

Cli = Callable[..., Any]

POLICY = {
    "max_weight": 50,
    "min_requests": 1000,
    "guards": {"error_rate": {"max_increase": 0.005}, "quality": {"max_decrease": 0.02}},
}
GUARDS = guards_from_policy(POLICY)


def variant(requests: int, errors: int, **scores: tuple[int, float, float]) -> dict[str, Any]:
    return {
        "requests": requests,
        "errors": errors,
        "scores": {k: {"n": n, "mean": m, "std": s} for k, (n, m, s) in scores.items()},
    }


# DESIGN section 5's example
DESIGN = {
    "stable": variant(120000, 240, quality=(2000, 0.81, 0.12)),
    "canary": variant(6100, 19, quality=(110, 0.79, 0.13)),
}
# the canary as good as stable, with plenty of data
HEALTHY = {
    "stable": variant(100000, 200, quality=(5000, 0.81, 0.12)),
    "canary": variant(10000, 10, quality=(5000, 0.81, 0.12)),
}
# 5% errors on the canary against 0.2% on stable
BREACH = {
    "stable": variant(120000, 240, quality=(2000, 0.81, 0.12)),
    "canary": variant(6000, 300, quality=(2000, 0.81, 0.12)),
}
# quality 0.01 lower: inconclusive at alpha 0.05, within the margin at alpha 0.2
BORDERLINE = {
    "stable": variant(100000, 200, quality=(2000, 0.81, 0.12)),
    "canary": variant(10000, 10, quality=(300, 0.80, 0.13)),
}


def judge(data: dict[str, Any], alpha: float = 0.05, min_requests: int = 1000) -> Any:
    return analyze(GUARDS, parse_metrics(data), alpha, min_requests)


def verdicts(analysis: Any) -> dict[str, str]:
    return {r.guard.name: r.verdict for r in analysis.guards}


# --- guards and verdicts --------------------------------------------------------------------


def test_guards_from_policy() -> None:
    policy = {"guards": {"latency": {"max_increase": 50}, **POLICY["guards"]}}  # type: ignore[dict-item]
    assert guards_from_policy(policy) == [
        Guard("error_rate", "error_rate", "up", 0.005),  # always first
        Guard("latency", "score", "up", 50.0),
        Guard("quality", "score", "down", 0.02),
    ]
    assert guards_from_policy({"max_weight": 50}) == []


def test_design_example() -> None:
    a = judge(DESIGN)
    err, quality = a.guards
    # newcomb (19, 6100, 240, 120000), alpha 0.05 per side
    assert err.interval == pytest.approx((0.0001159006972267999, 0.002543061027503765), rel=1e-9)
    assert (err.stable, err.estimate) == (0.002, pytest.approx(19 / 6100 - 0.002))
    assert err.verdict == "pass"  # upper bound 0.00254 < 0.005
    # Welch (0.79, 0.13, 110) - (0.81, 0.12, 2000): df 119.4414163456864
    assert quality.interval == pytest.approx((-0.041023305376219996, 0.0010233053762199636))
    assert quality.df == pytest.approx(119.4414163456864)
    assert quality.verdict == "insufficient"  # -0.041 < -0.02 < 0.001: could be either
    assert (a.verdict, a.reason) == ("insufficient", "not enough data for quality")
    assert err.confidence == quality.confidence == pytest.approx(0.9)


def test_clear_non_inferiority_passes() -> None:
    a = judge(HEALTHY)
    # newcomb (10, 10000, 200, 100000): (-0.00147, -0.00029); Welch: -/+ 0.0039480145165353715
    assert a.guards[0].interval == pytest.approx((-0.001471496071499525, -0.0002930990010767805))
    assert a.guards[1].interval == pytest.approx((-0.0039480145165353715, 0.0039480145165353715))
    assert (a.verdict, verdicts(a)) == ("pass", {"error_rate": "pass", "quality": "pass"})
    assert "10000 canary requests >= min_requests 1000" in a.reason


def test_clear_breach_fails_even_before_min_requests() -> None:
    a = judge(BREACH, min_requests=50000)
    # newcomb (300, 6000, 240, 120000): lower bound 0.0436 > 0.005
    assert a.guards[0].interval == pytest.approx((0.04356572579392109, 0.05283846392705918))
    assert a.verdict == "fail"
    assert verdicts(a)["error_rate"] == "fail"
    assert a.reason == "error_rate worse than the margin with one-sided 95% confidence"
    assert "lower bound +0.04357 > +0.005" in a.guards[0].reason


def test_score_guards_in_both_directions() -> None:
    guards = guards_from_policy({"guards": {"latency": {"max_increase": 10}}})
    slow = {
        "stable": variant(5000, 0, latency=(5000, 800.0, 90.0)),
        "canary": variant(5000, 0, latency=(5000, 850.0, 90.0)),
    }
    a = analyze(guards, parse_metrics(slow))
    assert (a.verdict, a.guards[0].guard.worse) == ("fail", "up")
    fast = {**slow, "canary": variant(5000, 0, latency=(5000, 790.0, 90.0))}
    assert analyze(guards, parse_metrics(fast)).verdict == "pass"


@pytest.mark.parametrize("n", [5, 20, 50])
def test_zero_errors_on_tiny_samples_is_never_a_pass(n: int) -> None:
    data = {"stable": variant(n, 0, quality=(n, 0.8, 0.1)), "canary": variant(n, 0)}
    guards = guards_from_policy({"guards": {"error_rate": {"max_increase": 0.005}}})
    a = analyze(guards, parse_metrics(data))
    assert a.guards[0].estimate == 0.0
    lo, hi = a.guards[0].interval
    assert lo < 0 < 0.005 < hi  # newcomb (0, 20, 0, 20) is +/- 0.11915783736096455
    assert a.verdict == "insufficient"


def test_zero_errors_on_large_samples_pass() -> None:
    data = {"stable": variant(100000, 0), "canary": variant(100000, 0)}
    guards = guards_from_policy({"guards": {"error_rate": {"max_increase": 0.005}}})
    a = analyze(guards, parse_metrics(data))
    # newcomb (0, 100000, 0, 100000) is +/- 2.70547025642199e-05
    assert a.guards[0].interval == pytest.approx((-2.70547025642199e-05, 2.70547025642199e-05))
    assert a.verdict == "pass"


def test_min_requests_unmet_is_insufficient_though_guards_pass() -> None:
    a = judge(HEALTHY, min_requests=20000)
    assert verdicts(a) == {"error_rate": "pass", "quality": "pass"}
    assert (a.verdict, a.reason) == (
        "insufficient",
        "10000 canary requests of the 20000 min_requests",
    )


def test_missing_or_thin_scores_are_insufficient_with_the_reason() -> None:
    missing = {"stable": HEALTHY["stable"], "canary": variant(10000, 10)}
    a = judge(missing)
    assert (a.verdict, verdicts(a)) == (
        "insufficient",
        {"error_rate": "pass", "quality": "insufficient"},
    )
    assert a.guards[1].reason == "the metrics file has no 'quality' score for canary"
    assert a.guards[1].interval is None

    thin = {"stable": HEALTHY["stable"], "canary": variant(10000, 10, quality=(1, 0.9, 0.0))}
    a = judge(thin)
    assert a.verdict == "insufficient"
    assert a.guards[1].reason == "needs at least 2 scored requests on each side (canary has n=1)"
    assert a.guards[1].estimate == pytest.approx(0.09)

    empty = {"stable": variant(0, 0), "canary": variant(0, 0)}
    a = judge(empty, min_requests=0)
    assert a.guards[0].reason == "no canary or stable requests"
    assert a.verdict == "insufficient"


def test_alpha_decides_a_borderline_case() -> None:
    # Welch (0.80, 0.13, 300) - (0.81, 0.12, 2000), df 379.3881099490824:
    #   alpha 0.05: (-0.023142858864784795, 0.003142858864784775) -> holds -0.02
    #   alpha 0.2:  (-0.016715937548209613, -0.0032840624517904036) -> within -0.02
    strict, loose = judge(BORDERLINE, alpha=0.05), judge(BORDERLINE, alpha=0.2)
    assert strict.guards[1].interval == pytest.approx((-0.023142858864784795, 0.003142858864784775))
    assert loose.guards[1].interval == pytest.approx(
        (-0.016715937548209613, -0.0032840624517904036)
    )
    assert (strict.verdict, loose.verdict) == ("insufficient", "pass")


def test_the_smallest_alpha_policy_allows_gives_finite_intervals() -> None:
    """The policy schema's floor (alpha >= 1e-6) keeps every quantile in floating point."""
    from modelreg.schemas import validate

    strict = judge(BORDERLINE, alpha=0.000001)
    for guard in strict.guards:
        assert guard.interval is not None and all(math.isfinite(x) for x in guard.interval)
    policy = {
        "schema": "modelreg/registry/v1",
        "stages": ["production"],
        "stage_rules": {"production": {"canary": {"max_weight": 5}}},
    }
    for alpha, ok in ((0.000001, True), (1e-17, False), (0, False), (0.5, False)):
        policy["stage_rules"]["production"]["canary"]["alpha"] = alpha  # type: ignore[index]
        assert (not validate("registry", policy)) is ok, alpha


# --- the metrics data -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ([], (), "the metrics file must be a mapping, not a list"),
        ({"stable": DESIGN["stable"]}, (), "'canary' is missing (expected stable and canary)"),
        ({**DESIGN, "extra": 1}, ("extra",), "unknown key 'extra' (expected stable, canary)"),
        ({**DESIGN, "canary": variant(10, 11)}, ("canary", "errors"), "11 errors is more than the 10 requests"),
        ({**DESIGN, "canary": {"requests": 10}}, ("canary",), "'errors' is missing"),
        ({**DESIGN, "canary": variant(-1, 0)}, ("canary", "requests"), "must be 0 or more, not -1"),
        ({**DESIGN, "canary": variant(True, 0)}, ("canary", "requests"), "must be a whole number, not a boolean"),  # type: ignore[arg-type]
        ({**DESIGN, "canary": variant(10.0, 0)}, ("canary", "requests"), "must be a whole number, not 10.0"),  # type: ignore[arg-type]
        ({**DESIGN, "canary": variant(10, 0, q=(5, float("nan"), 0.1))}, ("canary", "scores", "q", "mean"), "must be a finite number, not nan"),
        ({**DESIGN, "canary": variant(10, 0, q=(5, 0.5, -0.1))}, ("canary", "scores", "q", "std"), "must be 0 or more, not -0.1"),
        ({**DESIGN, "canary": variant(10, 0, q=(5, False, 0.1))}, ("canary", "scores", "q", "mean"), "must be a number, not a boolean"),  # type: ignore[arg-type]
        ({**DESIGN, "canary": {"requests": 1, "errors": 0, "scores": []}}, ("canary", "scores"), "scores must be a mapping, not a list"),
    ],
)  # fmt: skip
def test_malformed_metrics(data: Any, path: tuple[str, ...], message: str) -> None:
    with pytest.raises(MetricsProblem) as e:
        parse_metrics(data)
    assert (e.value.path, e.value.message) == (path, message)


# --- the CLI ------------------------------------------------------------------------------


@pytest.fixture
def canarying(cli: Cli, signed: Path) -> Path:
    """summarizer 1.0.0 serves production with a 10% canary of 1.1.0 (signed actions)."""
    for stage in ("development", "staging", "production"):
        result = cli("promote", "summarizer", "1.0.0", "--to", stage, "--reason", "x", cwd=signed)
        assert result.code == 0, result.err
    for stage in ("development", "staging"):  # production takes versions from staging
        result = cli("promote", "summarizer", "1.1.0", "--to", stage, "--reason", "x", cwd=signed)
        assert result.code == 0, result.err
    result = cli(
        "canary", "start", "summarizer", "1.1.0", "--stage", "production",
        "--weight", "10", "--reason", "x", cwd=signed,
    )  # fmt: skip
    assert result.code == 0, result.err
    return signed


def analyze_cli(cli: Cli, repo: Path, metrics: Path, *flags: str) -> Any:
    return cli(
        *flags, "canary", "analyze", "summarizer", "--stage", "production",
        "--metrics", str(metrics), cwd=repo,
    )  # fmt: skip


def test_cli_json_shape_and_text(cli: Cli, canarying: Path, tmp_path: Path) -> None:
    metrics = write(tmp_path / "m.json", json.dumps(DESIGN))
    result = analyze_cli(cli, canarying, metrics, "--json")
    assert result.code == 1, result.err
    out = result.json()
    assert list(out) == [
        "model", "stage", "verdict", "alpha", "min_requests", "stable", "canary", "guards",
    ]  # fmt: skip
    assert (out["model"], out["stage"], out["verdict"]) == (
        "summarizer",
        "production",
        "insufficient",
    )
    assert (out["alpha"], out["min_requests"]) == (0.05, 1000)
    assert out["stable"]["version"] == "1.0.0" and out["stable"]["digest"].startswith("sha256:")
    assert {k: out["stable"][k] for k in ("requests", "errors")} == {
        "requests": 120000,
        "errors": 240,
    }
    canary = out["canary"]
    assert (canary["version"], canary["weight"], canary["requests"], canary["errors"]) == (
        "1.1.0",
        10,
        6100,
        19,
    )
    assert list(canary) == ["version", "digest", "weight", "requests", "errors"]
    err, quality = out["guards"]
    assert list(err) == [
        "guard", "kind", "worse", "margin", "stable", "canary", "estimate", "interval",
        "confidence", "verdict", "reason",
    ]  # fmt: skip
    assert (err["guard"], err["kind"], err["worse"], err["margin"]) == (
        "error_rate",
        "error_rate",
        "up",
        0.005,
    )
    assert err["interval"] == pytest.approx([0.0001159006972267999, 0.002543061027503765])
    assert (err["verdict"], quality["verdict"]) == ("pass", "insufficient")
    assert (quality["kind"], quality["worse"], quality["margin"]) == ("score", "down", 0.02)
    assert (quality["stable"], quality["canary"]) == (0.81, 0.79)
    assert quality["confidence"] == pytest.approx(0.9)

    text = analyze_cli(cli, canarying, metrics)
    assert text.code == 1
    lines = text.out.splitlines()
    assert lines[0].startswith("summarizer on production: canary 1.1.0 at 10% (6100 requests)")
    assert lines[1].split() == [
        "GUARD", "STABLE", "CANARY", "DIFFERENCE", "INTERVAL", "(90%)", "MARGIN", "VERDICT",
    ]  # fmt: skip
    assert lines[2].split()[0] == "error_rate" and lines[2].split()[-1] == "pass"
    assert "0.002 (240/120000)" in lines[2] and "<= +0.005" in lines[2]
    assert "0.79 (n=110)" in lines[3] and ">= -0.02" in lines[3]
    assert lines[-1] == "verdict: insufficient (not enough data for quality)"


def test_cli_verdicts_and_policy_alpha(cli: Cli, canarying: Path, tmp_path: Path) -> None:
    healthy = write(tmp_path / "healthy.json", json.dumps(HEALTHY))
    result = analyze_cli(cli, canarying, healthy)
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1].startswith(
        "verdict: pass (every guard within its margin with one-sided 95% confidence; 10000"
    )

    breach = write(tmp_path / "breach.json", json.dumps(BREACH))
    result = analyze_cli(cli, canarying, breach, "--json")
    assert (result.code, result.json()["verdict"]) == (1, "fail")

    # the same borderline data, as YAML: inconclusive at the default alpha, a pass at 0.2
    borderline = write(tmp_path / "borderline.yaml", json.dumps(BORDERLINE))
    assert analyze_cli(cli, canarying, borderline, "--json").json()["verdict"] == "insufficient"
    policy = canarying / "modelreg.yaml"
    policy.write_text(
        policy.read_text().replace("min_requests: 1000", "min_requests: 1000\n      alpha: 0.2")
    )
    result = analyze_cli(cli, canarying, borderline, "--json")
    assert (result.code, result.json()["verdict"], result.json()["alpha"]) == (0, "pass", 0.2)
    assert result.json()["guards"][1]["confidence"] == pytest.approx(0.6)


def test_cli_bad_input_is_exit_2(cli: Cli, canarying: Path, tmp_path: Path) -> None:
    good = json.dumps(DESIGN, indent=1)
    over = good.replace('"errors": 19', '"errors": 7000')
    over_line = next(i for i, s in enumerate(over.splitlines(), 1) if "7000" in s)  # JSON too
    cases = {
        "garbage.json": ('{"stable": {"requests": 1,\n', "garbage.json:2: not valid JSON: Expecting property name"),
        "garbage.yaml": ("stable: [1,\n  2\ncanary: {\n", "garbage.yaml:3: invalid YAML"),
        "over.json": (over, f"over.json:{over_line}: canary.errors: 7000 errors is more than the 6100 requests"),
        "std.yaml": ("stable: {requests: 1, errors: 0}\ncanary:\n  requests: 1\n  errors: 0\n  scores:\n    quality: {n: 3, mean: 0.5, std: -0.1}\n", "std.yaml:6: canary.scores.quality.std: must be 0 or more, not -0.1"),
        "bool.json": (good.replace('"requests": 6100', '"requests": true'), "canary.requests: must be a whole number, not a boolean"),
        "nan.json": (good.replace('"mean": 0.79', '"mean": NaN'), "canary.scores.quality.mean: must be a finite number, not nan"),
        "dup.json": ('{"stable": {"requests": 1, "errors": 0},\n"stable": {}}', "dup.json:2: duplicate key 'stable'"),
        "missing.json": (None, "missing.json: no such file"),
    }  # fmt: skip
    for name, (text, message) in cases.items():
        path = tmp_path / name
        if text is not None:
            write(path, text)
        result = analyze_cli(cli, canarying, path)
        assert (result.code, result.out) == (2, ""), name
        assert result.err.startswith(f"error: {path}:"), result.err
        assert message in result.err, result.err
        assert len(result.err.splitlines()) == 1

    healthy = write(tmp_path / "healthy.json", json.dumps(HEALTHY))

    def on(stage: str, *flags: str) -> Any:
        args = ("canary", "analyze", "summarizer", "--stage", stage, "--metrics", str(healthy))
        return cli(*flags, *args, cwd=canarying)

    assert (on("nowhere").code, on("nowhere").err) == (
        2,
        "error: unknown stage 'nowhere' (stages: development, staging, production)\n",
    )
    result = on("staging")
    assert result.code == 2 and "nothing is canarying on staging for summarizer" in result.err
    policy = canarying / "modelreg.yaml"
    guards = "      guards:\n        error_rate: {max_increase: 0.005}\n        quality: {max_decrease: 0.02}\n"
    assert guards in policy.read_text()
    policy.write_text(policy.read_text().replace(guards, ""))
    result = on("production", "--json")
    assert (result.code, result.out) == (2, "")
    error = json.loads(result.err)["error"]
    assert error["rule"] == "no-guards"
    assert "policy sets no canary guards for production" in error["message"]


def test_cli_no_canary_running(cli: Cli, signed: Path, tmp_path: Path) -> None:
    metrics = write(tmp_path / "m.json", json.dumps(HEALTHY))
    result = cli(
        "canary",
        "analyze",
        "summarizer",
        "--stage",
        "production",
        "--metrics",
        str(metrics),
        cwd=signed,
    )
    assert result.code == 2
    assert result.err == (
        "error: nothing is canarying on production for summarizer: "
        "start one with `modelreg canary start`\n"
    )


# --- review fixes: tiny or zero-spread score samples, out-of-range numbers ---------------------


def _quality_only(stable: tuple[int, float, float], canary: tuple[int, float, float]) -> Any:
    guards = guards_from_policy({"guards": {"quality": {"max_decrease": 0.02}}})
    data = {"stable": variant(5000, 0, quality=stable), "canary": variant(5000, 0, quality=canary)}
    return analyze(guards, parse_metrics(data))


def test_two_scores_with_std_0_never_pass() -> None:
    """The review's case: n=2 a side, std 0, passed on a zero-width interval (df inf)."""
    a = _quality_only((2, 0.80, 0.0), (2, 0.79, 0.0))
    quality = a.guards[0]
    assert quality.interval == pytest.approx((-0.01, -0.01))
    assert (quality.verdict, a.verdict) == ("insufficient", "insufficient")
    assert quality.reason.startswith("zero-width interval [-0.01, -0.01]: both sides report std 0")


def test_std_0_on_both_sides_never_passes_however_many_scores() -> None:
    a = _quality_only((5000, 0.80, 0.0), (5000, 0.80, 0.0))
    assert (a.guards[0].verdict, a.verdict) == ("insufficient", "insufficient")
    assert "zero-width interval" in a.guards[0].reason
    # but a breach that shows is a breach: the canary is 0.1 worse, with no spread at all
    a = _quality_only((5000, 0.80, 0.0), (5000, 0.70, 0.0))
    assert (a.guards[0].verdict, a.verdict) == ("fail", "fail")


def test_a_score_guard_passes_only_with_30_scores_a_side() -> None:
    from modelreg.core.canary import MIN_SCORED_FOR_PASS

    assert MIN_SCORED_FOR_PASS == 30
    # within the margin by far (interval about +/- 0.002), but 29 scores on the canary
    a = _quality_only((5000, 0.80, 0.001), (29, 0.80, 0.001))
    assert a.guards[0].interval[0] > -0.02
    assert (a.guards[0].verdict, a.verdict) == ("insufficient", "insufficient")
    assert a.guards[0].reason.startswith(
        "within the margin, but a pass needs at least 30 scored requests on each side "
        "(canary has n=29)"
    )
    assert _quality_only((5000, 0.80, 0.001), (30, 0.80, 0.001)).verdict == "pass"
    # few scores can still fail
    assert _quality_only((5000, 0.80, 0.001), (3, 0.5, 0.001)).verdict == "fail"


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({**DESIGN, "canary": variant(10**400, 0)}, ("canary", "requests"), "out of range: must be at most 2^53-1 (9007199254740991), not an integer of about 401 digits"),
        ({**DESIGN, "canary": variant(2**53, 0)}, ("canary", "requests"), "out of range: must be at most 2^53-1 (9007199254740991), not 9007199254740992"),
        ({**DESIGN, "canary": variant(10, 0, q=(10**400, 0.5, 0.1))}, ("canary", "scores", "q", "n"), "out of range: must be at most 2^53-1 (9007199254740991), not an integer of about 401 digits"),
        ({**DESIGN, "canary": variant(10, 0, q=(5, 0.5, 1e200))}, ("canary", "scores", "q", "std"), "out of range: must be between -1e100 and 1e100, not 1e+200"),
        ({**DESIGN, "canary": variant(10, 0, q=(5, -2e100, 0.1))}, ("canary", "scores", "q", "mean"), "out of range: must be between -1e100 and 1e100, not -2e+100"),
        ({**DESIGN, "canary": variant(10, 0, q=(5, 10**400, 0.1))}, ("canary", "scores", "q", "mean"), "must be a finite number, not an integer of about 401 digits"),
    ],
)  # fmt: skip
def test_out_of_range_numbers(data: Any, path: tuple[str, ...], message: str) -> None:
    with pytest.raises(MetricsProblem) as e:
        parse_metrics(data)
    assert (e.value.path, e.value.message) == (path, message)


def test_the_bounds_are_safe_for_the_statistics() -> None:
    big = {
        "stable": variant(2**53 - 1, 2**52, q=(2**53 - 1, -1e100, 1e100)),
        "canary": variant(2**53 - 1, 0, q=(2, 1e100, 1e100)),
    }
    guards = guards_from_policy(
        {"guards": {"error_rate": {"max_increase": 0.1}, "q": {"max_increase": 1}}}
    )
    a = analyze(guards, parse_metrics(big))
    for r in a.guards:
        assert r.interval is not None and all(math.isfinite(x) for x in r.interval)
    assert json.dumps([r.as_json() for r in a.guards], allow_nan=False)


def test_cli_out_of_range_numbers_are_exit_2_with_their_line(
    cli: Cli, canarying: Path, tmp_path: Path
) -> None:
    good = json.dumps(DESIGN, indent=1)

    def line_of(text: str, needle: str) -> int:
        return next(i for i, s in enumerate(text.splitlines(), 1) if needle in s)

    huge = "1" + "0" * 5000
    cases = {
        "digits.json": (good.replace('"requests": 6100', f'"requests": {huge}'), huge[:10], "integer 100000000000000000000000... (5001 characters) is out of range: whole numbers must be at most 2^53-1 (9007199254740991)"),
        "e400.json": (good.replace('"n": 110', f'"n": {10**400}'), "1" + "0" * 400, "is out of range: whole numbers must be at most 2^53-1"),
        "std.json": (good.replace('"std": 0.13', '"std": 1e200'), "1e200", "canary.scores.quality.std: out of range: must be between -1e100 and 1e100, not 1e+200"),
        "std.yaml": ("stable: {requests: 1, errors: 0}\ncanary:\n  requests: 1\n  errors: 0\n  scores:\n    quality: {n: 3, mean: 0.5, std: 1.0e+200}\n", "1.0e+200", "canary.scores.quality.std: out of range"),
        "mean.json": (good.replace('"mean": 0.79', '"mean": 1e999'), "1e999", "number 1e999 is out of range (overflows to infinity)"),
        "dup.json": (good.replace('"std": 0.13', '"std": 1e-3, "std": 0.1'), '"std": 1e-3', "duplicate key 'std'"),
    }  # fmt: skip
    for name, (text, needle, message) in cases.items():
        path = write(tmp_path / name, text)
        result = analyze_cli(cli, canarying, path)
        assert (result.code, result.out) == (2, ""), (name, result.err)
        assert result.err.startswith(f"error: {path}:{line_of(text, needle)}: "), result.err
        assert message in result.err and result.err.count("\n") == 1, result.err
