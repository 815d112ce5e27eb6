"""Gates: every rule kind passing and failing, evidence bound to the digest, `gate` exit codes and JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import write
from modelreg.core.digest import digest
from modelreg.core.gates import GateResult, evaluate_gates, gate_eval_digests
from modelreg.core.policy import Gate, StageRule

D1 = "sha256:" + "1" * 64  # the candidate's digest
D0 = "sha256:" + "0" * 64  # the serving version's digest
ROW_KEYS = ["suite", "metric", "rule", "threshold", "actual", "ok"]


def _eval(metrics: dict[str, Any], config_digest: str = D1, suite: str = "regression") -> dict:  # type: ignore[type-arg]
    return {"config_digest": config_digest, "suite": suite, "metrics": metrics}


def _rule(**gate: Any) -> StageRule:
    return StageRule(gates=(Gate(suite="regression", **gate),))


def _rows(results: list[GateResult]) -> list[tuple[str | None, str, bool]]:
    return [(r.metric, r.rule, r.ok) for r in results]


# --- core: evaluate_gates ---------------------------------------------------------------


def test_no_rule_means_no_results() -> None:
    assert evaluate_gates(None, D1, {}, None, None) == []
    assert evaluate_gates(StageRule(), D1, {}, None, None) == []


@pytest.mark.parametrize(
    ("kind", "threshold", "actual", "ok", "message"),
    [
        ("min", 0.85, 0.91, True, "accuracy 0.91 >= min 0.85"),
        ("min", 0.85, 0.85, True, "accuracy 0.85 >= min 0.85"),
        ("min", 0.85, 0.79, False, "accuracy 0.79 < min 0.85"),
        ("max", 1500, 840, True, "accuracy 840 <= max 1500"),
        ("max", 1500, 1500, True, "accuracy 1500 <= max 1500"),
        ("max", 1500, 1500.5, False, "accuracy 1500.5 > max 1500"),
    ],
)
def test_min_and_max(kind: str, threshold: float, actual: float, ok: bool, message: str) -> None:
    rule = _rule(metrics={"accuracy": {kind: threshold}})
    results = evaluate_gates(rule, D1, {"regression": _eval({"accuracy": actual})}, None, None)
    assert _rows(results) == [(None, "eval", True), ("accuracy", kind, ok)]
    row = results[1]
    assert (row.threshold, row.actual, row.message) == (threshold, actual, message)


def test_min_and_max_on_one_metric_give_two_rows_in_policy_order() -> None:
    rule = StageRule(
        gates=(
            Gate("smoke", metrics={"accuracy": {"min": 0.8}}),
            Gate(
                "regression",
                metrics={"accuracy": {"min": 0.5, "max": 0.95}, "latency": {"max": 100}},
                no_regression={"accuracy": 0.02},
            ),
        )
    )
    evals = {
        "smoke": _eval({"accuracy": 0.9}, suite="smoke"),
        "regression": _eval({"accuracy": 0.97, "latency": 50}),
    }
    results = evaluate_gates(rule, D1, evals, None, None)
    assert [(r.suite, r.metric, r.rule, r.ok) for r in results] == [
        ("smoke", None, "eval", True),
        ("smoke", "accuracy", "min", True),
        ("regression", None, "eval", True),
        ("regression", "accuracy", "min", True),
        ("regression", "accuracy", "max", False),
        ("regression", "latency", "max", True),
        ("regression", "accuracy", "no_regression", True),
    ]


def test_missing_eval_fails_every_rule_of_its_gate() -> None:
    rule = _rule(metrics={"accuracy": {"min": 0.8}}, no_regression={"accuracy": 0.02})
    results = evaluate_gates(rule, D1, {}, None, None)
    assert _rows(results) == [
        (None, "eval", False),
        ("accuracy", "min", False),
        ("accuracy", "no_regression", False),
    ]
    assert all(r.actual is None for r in results)
    assert results[0].message == (
        "no regression eval for this version; add one with `modelreg eval add`"
    )


def test_eval_of_another_config_never_satisfies_a_gate() -> None:
    rule = _rule(metrics={"accuracy": {"min": 0.8}})
    results = evaluate_gates(rule, D1, {"regression": _eval({"accuracy": 0.99}, D0)}, None, None)
    assert _rows(results) == [(None, "eval", False), ("accuracy", "min", False)]
    assert results[0].threshold == D1 and results[0].actual == D0
    assert "about another config" in results[0].message
    assert results[1].actual is None  # numbers about another config are not shown as evidence


def test_eval_of_another_suite_never_satisfies_a_gate() -> None:
    rule = _rule(metrics={"accuracy": {"min": 0.8}})
    copied = _eval({"accuracy": 0.99}, suite="smoke")
    results = evaluate_gates(rule, D1, {"regression": copied}, None, None)
    assert _rows(results) == [(None, "eval", False), ("accuracy", "min", False)]
    assert "says suite 'smoke'" in results[0].message


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        ("0.9", "0.9"),
        (True, "true"),
        (None, None),  # null: shown as null in JSON, said in the message
        ([0.9], "a list"),
        (10**400, "1" + "0" * 36 + "..."),  # an int no float can hold
    ],
)
def test_only_real_finite_numbers_pass(value: object, shown: str | None) -> None:
    rule = _rule(
        metrics={"accuracy": {"min": -1e308}, "cost": {"max": 1e308}},
        no_regression={"accuracy": 1},
    )
    evals = {"regression": _eval({"accuracy": value, "cost": value})}
    results = evaluate_gates(rule, D1, evals, None, None)  # nothing serves: no baseline needed
    assert _rows(results) == [
        (None, "eval", False),
        ("accuracy", "min", False),
        ("cost", "max", False),
        ("accuracy", "no_regression", False),
    ]
    assert "not finite numbers: accuracy, cost" in results[0].message
    assert "not a finite number" in results[1].message
    assert results[1].actual == shown
    assert len(results[1].message) < 80
    # the JSON rows stay strict JSON: NaN and infinity are shown as strings
    json.dumps([r.as_json() for r in results], allow_nan=False)


def test_a_missing_metric_fails() -> None:
    rule = _rule(metrics={"accuracy": {"min": 0.8}})
    results = evaluate_gates(rule, D1, {"regression": _eval({"latency": 3})}, None, None)
    assert _rows(results) == [(None, "eval", True), ("accuracy", "min", False)]
    assert results[1].message == "accuracy is missing from the eval"


def test_a_bad_metric_outside_the_gate_still_fails_the_eval_row() -> None:
    rule = _rule(metrics={"accuracy": {"min": 0.8}})
    evals = {"regression": _eval({"accuracy": 0.9, "cost": float("nan")})}
    results = evaluate_gates(rule, D1, evals, None, None)
    assert _rows(results) == [(None, "eval", False), ("accuracy", "min", True)]


def test_no_regression_with_nothing_serving_passes_without_a_baseline() -> None:
    rule = _rule(no_regression={"accuracy": 0.02})
    results = evaluate_gates(rule, D1, {"regression": _eval({"accuracy": 0.5})}, None, None)
    row = results[1]
    assert (row.rule, row.ok, row.threshold, row.actual) == ("no_regression", True, None, 0.5)
    assert row.message.startswith("nothing serves this stage now")


@pytest.mark.parametrize(
    ("candidate", "baseline", "ok", "threshold"),
    [
        (0.91, 0.89, True, 0.87),
        (0.89, 0.91, True, 0.89),  # exactly the allowed drop
        (0.8899, 0.91, False, 0.89),
        (0.5, 0.91, False, 0.89),
        (0.7, 0.8, True, 0.7),  # in floats 0.8 - 0.1 is 0.7000000000000001: no float noise
        (0.83, 0.93, True, 0.83),
    ],
)
def test_no_regression_against_the_serving_version(
    candidate: float, baseline: float, ok: bool, threshold: float
) -> None:
    drop = round(baseline - threshold, 6)
    rule = _rule(no_regression={"accuracy": drop})
    results = evaluate_gates(
        rule,
        D1,
        {"regression": _eval({"accuracy": candidate})},
        {"regression": _eval({"accuracy": baseline}, D0)},
        D0,
        "1.0.0",
    )
    row = results[1]
    assert (row.ok, row.threshold, row.actual) == (ok, threshold, candidate)
    assert f"the serving version 1.0.0 has {baseline}, allowed drop {drop}" in row.message


@pytest.mark.parametrize(
    ("baseline_evals", "expected"),
    [
        ({}, "has no regression eval to compare with"),
        ({"regression": _eval({"accuracy": 0.5}, D1)}, "about another config"),
        ({"regression": _eval({"latency": 3}, D0)}, "accuracy is missing"),
        ({"regression": _eval({"accuracy": float("nan")}, D0)}, "not a finite number"),
        ({"regression": _eval({"accuracy": True}, D0)}, "not a finite number"),
        ({"regression": _eval({"accuracy": 0.5}, D0, suite="smoke")}, "says suite 'smoke'"),
    ],
)
def test_no_regression_fails_closed_without_usable_baseline_evidence(
    baseline_evals: dict,
    expected: str,  # type: ignore[type-arg]
) -> None:
    rule = _rule(no_regression={"accuracy": 0.02})
    results = evaluate_gates(
        rule, D1, {"regression": _eval({"accuracy": 0.99})}, baseline_evals, D0, "1.0.0"
    )
    row = results[1]
    assert (row.rule, row.ok, row.threshold) == ("no_regression", False, None)
    assert expected in row.message
    assert "modelreg eval add" in row.message and "1.0.0" in row.message


def test_as_json_has_exactly_the_design_keys() -> None:
    rule = _rule(metrics={"accuracy": {"min": 0.8}})
    results = evaluate_gates(rule, D1, {"regression": _eval({"accuracy": 0.9})}, None, None)
    assert [list(r.as_json()) for r in results] == [ROW_KEYS, ROW_KEYS]
    assert results[1].as_json() == {
        "suite": "regression",
        "metric": "accuracy",
        "rule": "min",
        "threshold": 0.8,
        "actual": 0.9,
        "ok": True,
    }


def test_gate_eval_digests_binds_each_gated_suite_that_has_an_eval() -> None:
    rule = StageRule(gates=(Gate("smoke"), Gate("regression"), Gate("smoke")))
    smoke = _eval({"accuracy": 0.9}, suite="smoke")
    evals = {"smoke": smoke, "other": _eval({"a": 1})}
    assert gate_eval_digests(rule, evals) == {"smoke": digest(smoke)}
    assert gate_eval_digests(None, evals) == {}
    changed = {"smoke": {**smoke, "metrics": {"accuracy": 0.91}}}
    assert gate_eval_digests(rule, changed)["smoke"] != digest(smoke)


def test_evaluation_is_deterministic_and_leaves_its_inputs_alone() -> None:
    rule = _rule(metrics={"accuracy": {"min": 0.8}}, no_regression={"accuracy": 0.02})
    evals = {"regression": _eval({"accuracy": 0.9})}
    baseline = {"regression": _eval({"accuracy": 0.9}, D0)}
    before = json.dumps([evals, baseline])
    first = evaluate_gates(rule, D1, evals, baseline, D0)
    assert evaluate_gates(rule, D1, evals, baseline, D0) == first
    assert json.dumps([evals, baseline]) == before


# --- the `gate` command on a real registry -------------------------------------------------


STATE = """\
schema: modelreg/stages/v1
model: summarizer
stages:
  production: {{version: {version}, digest: '{digest}', previous: null, since: 2026-11-21T10:05:00Z}}
"""


def _digest(cli, root: Path, ref: str) -> str:  # type: ignore[no-untyped-def]
    return cli("--repo", str(root), "--json", "show", ref).json()["digest"]  # type: ignore[no-any-return]


def _serve(cli, root: Path, version: str) -> None:  # type: ignore[no-untyped-def]
    """Hand-write the state file: VERSION serves summarizer's production."""
    dg = _digest(cli, root, f"summarizer@{version}")
    write(root / "stages/summarizer.yaml", STATE.format(version=version, digest=dg))


def _set_metric(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_gate_passes_with_exit_0_and_prints_a_row_per_rule(cli, example: Path) -> None:
    result = cli("--repo", str(example), "gate", "summarizer", "1.1.0", "--stage", "production")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["SUITE", "METRIC", "RULE", "THRESHOLD", "ACTUAL", "VERDICT"]
    assert lines[2].split() == ["regression", "accuracy", "min", "0.85", "0.91", "PASS"]
    assert lines[3].split() == ["regression", "latency_p95_ms", "max", "1500", "840", "PASS"]
    assert lines[4].split() == ["regression", "accuracy", "no_regression", "-", "0.91", "PASS"]
    assert lines[-1] == "summarizer@1.1.0 passes the gates of production: 4 rules passed"
    assert result.err == ""


def test_gate_json_shape(cli, example: Path) -> None:
    result = cli(
        "--repo", str(example), "--json", "gate", "summarizer", "1.1.0", "--stage", "staging"
    )
    assert result.code == 0
    data = result.json()
    assert list(data) == ["ok", "results"]
    assert data["ok"] is True
    assert [list(row) for row in data["results"]] == [ROW_KEYS, ROW_KEYS]
    assert data["results"][1] == {
        "suite": "smoke",
        "metric": "accuracy",
        "rule": "min",
        "threshold": 0.8,
        "actual": 0.9,
        "ok": True,
    }


def test_missing_eval_fails_with_exit_1_and_advice(cli, example: Path) -> None:
    args = ("--repo", str(example), "gate", "ticket-classifier", "2.0.0", "--stage", "production")
    result = cli(*args)
    assert result.code == 1
    assert (
        "FAIL regression: no regression eval for this version; add one with `modelreg eval add`"
        in result.out
    )
    assert result.out.splitlines()[-1].endswith("4 of 4 rules failed")
    as_json = cli(*args, "--json")
    assert as_json.code == 1
    assert as_json.json()["ok"] is False
    assert {r["ok"] for r in as_json.json()["results"]} == {False}


def test_eval_copied_from_another_version_fails(cli, example: Path) -> None:
    """Scenario: someone copies 1.0.0's eval into 1.1.0's folder to get past the gate."""
    source = example / "evals/summarizer/1.0.0/regression.yaml"
    target = example / "evals/summarizer/1.1.0/regression.yaml"
    target.write_text(source.read_text().replace("version: 1.0.0", "version: 1.1.0"))
    result = cli(
        "--repo", str(example), "--json", "gate", "summarizer", "1.1.0", "--stage", "production"
    )
    assert result.code == 1
    rows = result.json()["results"]
    assert rows[0]["rule"] == "eval" and rows[0]["ok"] is False
    assert rows[0]["actual"] == _digest(cli, example, "summarizer@1.0.0")
    assert rows[0]["threshold"] == _digest(cli, example, "summarizer@1.1.0")
    assert [r["actual"] for r in rows[1:]] == [None, None, None]


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "'0.95'", "true", "null", "[0.95]"])
def test_a_metric_that_is_no_finite_number_never_passes(cli, example: Path, value: str) -> None:
    """The strict loader and the schema refuse these in a file: the gate cannot answer (exit 2)."""
    path = example / "evals/summarizer/1.1.0/regression.yaml"
    _set_metric(path, "accuracy: 0.91", f"accuracy: {value}")
    result = cli("--repo", str(example), "gate", "summarizer", "1.1.0", "--stage", "production")
    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith("error: ") and result.err.count("\n") == 1
    assert "evals/summarizer/1.1.0/regression.yaml:8: " in result.err


def test_min_and_max_failing_on_real_files(cli, example: Path) -> None:
    path = example / "evals/summarizer/1.1.0/regression.yaml"
    _set_metric(path, "accuracy: 0.91", "accuracy: 0.79")
    _set_metric(path, "latency_p95_ms: 840", "latency_p95_ms: 1600")
    result = cli("--repo", str(example), "gate", "summarizer", "1.1.0", "--stage", "production")
    assert result.code == 1
    assert "FAIL regression: accuracy 0.79 < min 0.85" in result.out
    assert "FAIL regression: latency_p95_ms 1600 > max 1500" in result.out
    assert result.out.splitlines()[-1].endswith("2 of 4 rules failed")


def test_no_regression_against_the_version_serving_now(cli, example: Path) -> None:
    args = ("--repo", str(example), "--json", "gate", "summarizer")
    _serve(cli, example, "1.1.0")  # 1.1.0 has accuracy 0.91; 1.0.0 has 0.89
    exactly = cli(*args, "1.0.0", "--stage", "production").json()["results"][-1]
    assert exactly == {
        "suite": "regression",
        "metric": "accuracy",
        "rule": "no_regression",
        "threshold": 0.89,
        "actual": 0.89,
        "ok": True,
    }
    _set_metric(
        example / "evals/summarizer/1.1.0/regression.yaml", "accuracy: 0.91", "accuracy: 0.92"
    )
    result = cli(*args, "1.0.0", "--stage", "production")
    assert result.code == 1
    row = result.json()["results"][-1]
    assert (row["rule"], row["threshold"], row["ok"]) == ("no_regression", 0.9, False)
    people = cli("--repo", str(example), "gate", "summarizer", "1.0.0", "--stage", "production")
    assert (
        "FAIL regression: accuracy 0.89 < 0.9 (the serving version 1.1.0 has 0.92, allowed drop 0.02)"
        in people.out
    )


def test_no_regression_fails_closed_when_the_serving_version_has_no_eval(
    cli, example: Path
) -> None:
    _serve(cli, example, "1.0.0")
    assert (
        cli("--repo", str(example), "gate", "summarizer", "1.1.0", "--stage", "production").code
        == 0
    )
    (example / "evals/summarizer/1.0.0/regression.yaml").unlink()
    result = cli("--repo", str(example), "gate", "summarizer", "1.1.0", "--stage", "production")
    assert result.code == 1
    assert (
        "FAIL regression: accuracy: the serving version 1.0.0 has no regression eval to compare "
        "with (fails closed); add a regression eval for the serving version 1.0.0 with "
        "`modelreg eval add`"
    ) in result.out


def test_no_regression_fails_closed_when_the_serving_eval_is_about_another_config(
    cli, example: Path
) -> None:
    _serve(cli, example, "1.0.0")
    shutil.copy(
        example / "evals/summarizer/1.1.0/regression.yaml",
        example / "evals/summarizer/1.0.0/regression.yaml",
    )
    result = cli(
        "--repo", str(example), "--json", "gate", "summarizer", "1.1.0", "--stage", "production"
    )
    assert result.code == 1
    assert [r["ok"] for r in result.json()["results"]] == [True, True, True, False]


def test_a_stage_without_gates(cli, example: Path) -> None:
    args = ("--repo", str(example), "gate", "summarizer", "1.0.0", "--stage", "development")
    result = cli(*args)
    assert (result.code, result.out) == (0, "stage development has no gates\n")
    assert cli(*args, "--json").json() == {"ok": True, "results": []}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("summarizer", "1.1.0", "--stage", "prod"),
            "error: unknown stage 'prod' (stages: development, staging, production)",
        ),
        (
            ("nosuch", "1.0.0", "--stage", "production"),
            "error: unknown model 'nosuch' (models: assistant, summarizer, ticket-classifier)",
        ),
        (
            ("summarizer", "9.9.9", "--stage", "production"),
            "error: unknown version summarizer@9.9.9 (versions: 1.0.0, 1.1.0)",
        ),
        (
            ("summarizer", "1.1", "--stage", "production"),
            "error: '1.1' is not a version (MAJOR.MINOR.PATCH)",
        ),
        (("summarizer", "1.1.0"), None),  # --stage is required
    ],
)
def test_gate_usage_errors_are_one_line_exit_2(
    cli, example: Path, args: tuple[str, ...], message: str | None
) -> None:
    result = cli("--repo", str(example), "gate", *args)
    assert result.code == 2
    assert result.out == ""
    assert result.err.count("\n") == 1 and result.err.startswith("error: ")
    if message is not None:
        assert result.err.strip() == message


def test_an_unrelated_broken_eval_does_not_stop_the_gate(cli, example: Path) -> None:
    write(example / "evals/summarizer/1.1.0/extra.yaml", "schema: [unclosed\n")
    result = cli("--repo", str(example), "gate", "summarizer", "1.1.0", "--stage", "production")
    assert result.code == 0, result.err
