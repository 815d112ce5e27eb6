"""`eval import`: promptfoo, Inspect AI and plain JSON result files written as `eval add` writes.

The sample files in tests/data/eval_import/ follow each tool's documented output:
promptfoo's `OutputFile` with an `EvaluateSummaryV3` (`promptfoo eval -o results.json`)
and Inspect AI's `EvalLog` version 2 (`inspect eval ... --log-format json`). The
expected metrics below are worked out by hand from those files.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import commit_all, write
from modelreg.schemas import validate

DATA = Path(__file__).resolve().parent / "data" / "eval_import"
PROMPTFOO = DATA / "promptfoo-results.json"
INSPECT = DATA / "inspect-log.json"
PLAIN = DATA / "metrics.json"
MODEL, VERSION = "ticket-classifier", "2.0.0"
EVAL_DIR = f"evals/{MODEL}/{VERSION}"

# pass 3 of 5; scores 0.95 0.5 1 0 0.9; latencies 812 1033 640 30012 955 ms; one result
# errored (failureReason 2, no grading); contains passed 2 of 3 (scores 1 0 1), llm-rubric
# 3 of 3 (scores 0.9 1.0 0.8), is-json and javascript 1 of 1; costs sum to 0.00178
PROMPTFOO_METRICS = {
    "pass_rate": 0.6,
    "score_mean": 0.67,
    "errors": 1,
    "assert.contains.pass_rate": 0.666666666667,
    "assert.contains.score_mean": 0.666666666667,
    "assert.llm-rubric.pass_rate": 1.0,
    "assert.llm-rubric.score_mean": 0.9,
    "assert.is-json.pass_rate": 1.0,
    "assert.is-json.score_mean": 1.0,
    "assert.javascript.pass_rate": 1.0,
    "assert.javascript.score_mean": 1.0,
    "latency_mean_ms": 6690.4,
    "latency_p95_ms": 30012,  # nearest rank: the 5th of 5
    "cost_total": 0.00178,
}
INSPECT_METRICS = {
    "match.accuracy": 0.75,
    "match.stderr": 0.25,
    "model_graded_qa.accuracy": 0.5,
    "model_graded_qa.stderr": 0.28867513459481287,
}


def _import(source: str, file: Path | str, suite: str = "regression") -> tuple[str, ...]:
    return ("eval", "import", "--from", source, str(file), MODEL, VERSION, "--suite", suite)


def _digest(cli, root: Path) -> str:  # type: ignore[no-untyped-def]
    return cli("--repo", str(root), "--json", "show", f"{MODEL}@{VERSION}").json()["digest"]  # type: ignore[no-any-return]


def _listing(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in (root / "evals").rglob("*"))


def _read_eval(root: Path, suite: str) -> dict[str, Any]:
    data = yaml.safe_load((root / EVAL_DIR / f"{suite}.yaml").read_text())
    assert isinstance(data, dict)
    assert validate("eval", data) == []  # a file `check` accepts
    at = data["run"].pop("at")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", at)
    return data


def _variant(
    tmp_path: Path,
    base: Path,
    change: Callable[[Any], object] | None = None,
    replace: tuple[str, str] | None = None,
    name: str = "variant.json",
) -> tuple[Path, str]:
    """A copy of BASE changed as parsed data, then as text; and the file's text."""
    data = json.loads(base.read_text())
    if change is not None:
        change(data)
    text = json.dumps(data, indent=2) + "\n"
    if replace is not None:
        assert text.count(replace[0]) == 1, replace
        text = text.replace(*replace)
    return write(tmp_path / name, text), text


def _line_of(text: str, needle: str, nth: int = 1) -> int:
    """The line of the NTH occurrence of NEEDLE in TEXT."""
    at = -1
    for _ in range(nth):
        at = text.index(needle, at + 1)
    return text.count("\n", 0, at) + 1


# --- what is written ----------------------------------------------------------------------


def test_promptfoo_results_become_an_eval_file_bound_to_the_digest(cli, example: Path) -> None:
    result = cli(*_import("promptfoo", PROMPTFOO), cwd=example)
    assert result.code == 0, result.err
    digest = _digest(cli, example)
    assert result.out == (
        f"wrote {EVAL_DIR}/regression.yaml (digest sha256:{digest[7:19]}): 14 metrics from "
        "promptfoo run eval-Xq3-2026-11-25T14:02:11 on 5 samples\n"
    )
    assert result.err == ""
    data = _read_eval(example, "regression")
    assert data == {
        "schema": "modelreg/eval/v1",
        "model": MODEL,
        "version": VERSION,
        "config_digest": digest,
        "suite": "regression",
        "samples": 5,
        "metrics": PROMPTFOO_METRICS,
        "run": {"id": "eval-Xq3-2026-11-25T14:02:11", "tool": "promptfoo"},
    }
    assert isinstance(data["metrics"]["errors"], int)
    assert isinstance(data["metrics"]["latency_p95_ms"], int)
    shown = cli("--repo", str(example), "--json", "show", f"{MODEL}@{VERSION}").json()
    assert shown["evals"]["regression"]["metrics"] == PROMPTFOO_METRICS  # type: ignore[index]


def test_the_file_is_the_one_eval_add_writes(cli, example: Path) -> None:
    imported = cli(*_import("promptfoo", PROMPTFOO, suite="a"), cwd=example)
    assert imported.code == 0, imported.err
    metric_args = [f"--metric={k}={v!r}" for k, v in PROMPTFOO_METRICS.items()]
    added = cli(
        "eval", "add", MODEL, VERSION, "--suite", "b", *metric_args, "--samples", "5",
        "--run-id", "eval-Xq3-2026-11-25T14:02:11", "--tool", "promptfoo", cwd=example,
    )  # fmt: skip
    assert added.code == 0, added.err
    a = (example / EVAL_DIR / "a.yaml").read_text()
    b = (example / EVAL_DIR / "b.yaml").read_text()
    at = re.compile(r"  at: '[^']*'\n")
    assert at.sub("", a).replace("suite: a", "suite: b") == at.sub("", b)


def test_an_inspect_log_becomes_an_eval_file_with_json_output(cli, example: Path) -> None:
    args = (*_import("inspect", INSPECT, suite="triage"), "--dataset", "support-tickets@2026-11")
    result = cli("--json", *args, cwd=example)
    assert result.code == 0, result.err
    digest = _digest(cli, example)
    assert result.json() == {
        "file": f"{EVAL_DIR}/triage.yaml",
        "model": MODEL,
        "version": VERSION,
        "suite": "triage",
        "config_digest": digest,
        "metrics": INSPECT_METRICS,
        "from": "inspect",
        "samples": 4,
        "run_id": "Jp7VbG4sFhTq2uWnK9cMzD",
        "tool": "inspect",
    }
    data = _read_eval(example, "triage")
    assert data["config_digest"] == digest
    assert data["dataset"] == {"name": "support-tickets", "version": "2026-11"}
    assert data["samples"] == 4
    assert data["metrics"] == INSPECT_METRICS  # 0.28867513459481287 survives exactly
    assert data["run"] == {"id": "Jp7VbG4sFhTq2uWnK9cMzD", "tool": "inspect"}


def test_a_plain_json_file(cli, example: Path) -> None:
    result = cli(*_import("json", PLAIN, suite="nightly"), "--samples", "500", cwd=example)
    assert result.code == 0, result.err
    assert result.out.endswith(": 3 metrics from json on 500 samples\n")
    data = _read_eval(example, "nightly")
    assert data["config_digest"] == _digest(cli, example)
    assert data["metrics"] == {"accuracy": 0.91, "faithfulness": 0.88, "latency_p95_ms": 840}
    assert data["samples"] == 500
    assert data["run"] == {"tool": "modelreg"}


def test_options_win_over_the_file(cli, example: Path) -> None:
    result = cli(
        *_import("inspect", INSPECT), "--samples", "3", "--run-id", "ci-77", "--tool", "inspect-ai",
        cwd=example,
    )  # fmt: skip
    assert result.code == 0, result.err
    data = _read_eval(example, "regression")
    assert (data["samples"], data["run"]) == (3, {"id": "ci-77", "tool": "inspect-ai"})


def test_results_without_latency_cost_or_grading_leave_those_metrics_out(
    cli, example: Path, tmp_path: Path
) -> None:
    def strip(data: Any) -> None:
        for row in data["results"]["results"]:
            for key in ("latencyMs", "cost", "gradingResult", "score"):
                row.pop(key, None)
        data["evalId"] = None

    path, _ = _variant(tmp_path, PROMPTFOO, strip)
    result = cli("--json", *_import("promptfoo", path), cwd=example)
    assert result.code == 0, result.err
    assert result.json()["metrics"] == {"pass_rate": 0.6, "errors": 1}  # type: ignore[index]
    assert "id" not in _read_eval(example, "regression")["run"]


def test_assertion_types_become_valid_metric_names(cli, example: Path, tmp_path: Path) -> None:
    def redteam(data: Any) -> None:
        for row in data["results"]["results"]:
            for part in (row["gradingResult"] or {}).get("componentResults", []):
                if part["assertion"]["type"] == "llm-rubric":
                    part["assertion"]["type"] = "promptfoo:redteam:pii"

    path, _ = _variant(tmp_path, PROMPTFOO, redteam)
    result = cli("--json", *_import("promptfoo", path), cwd=example)
    assert result.code == 0, result.err
    metrics = result.json()["metrics"]  # type: ignore[index]
    assert metrics["assert.promptfoo_redteam_pii.pass_rate"] == 1.0
    assert metrics["assert.promptfoo_redteam_pii.score_mean"] == 0.9
    assert not any("llm-rubric" in name for name in metrics)


def test_a_scorer_reduced_several_ways_names_the_reducer(
    cli, example: Path, tmp_path: Path
) -> None:
    def epochs(data: Any) -> None:
        match = data["results"]["scores"][0]
        data["results"]["scores"] = [
            match | {"reducer": "mean"},
            copy.deepcopy(match) | {"reducer": "max"},
        ]
        data["results"]["scores"][1]["metrics"]["accuracy"]["value"] = 1.0

    path, _ = _variant(tmp_path, INSPECT, epochs)
    result = cli("--json", *_import("inspect", path), cwd=example)
    assert result.code == 0, result.err
    assert result.json()["metrics"] == {  # type: ignore[index]
        "match.mean.accuracy": 0.75,
        "match.mean.stderr": 0.25,
        "match.max.accuracy": 1.0,
        "match.max.stderr": 0.25,
    }


def test_names_that_become_the_same_metric_are_refused(cli, example: Path, tmp_path: Path) -> None:
    def clash(data: Any) -> None:
        parts = data["results"]["results"][2]["gradingResult"]["componentResults"]
        parts[0]["assertion"]["type"] = "x:y"
        parts[1]["assertion"]["type"] = "x/y"

    path, text = _variant(tmp_path, PROMPTFOO, clash)
    result = cli(*_import("promptfoo", path), cwd=example)
    assert result.code == 2
    line = _line_of(text, '"type": "x/y"')
    assert result.err == (
        f"error: {path}:{line}: results.results[2].gradingResult."
        "componentResults[1].assertion.type: 'assert.x/y.pass_rate' and 'assert.x:y.pass_rate' "
        "would both be the metric 'assert.x_y.pass_rate'\n"
    )


# --- several providers or prompts ---------------------------------------------------------


def _two_providers(data: Any) -> None:
    rows = data["results"]["results"]
    extra = copy.deepcopy(rows[:2])
    for row in extra:
        row["provider"] = {"id": "openai:gpt-4o-2024-08-06", "label": ""}
        row["success"] = True
        row["latencyMs"] = 400
    rows.extend(extra)


def test_several_providers_are_refused_unless_one_is_chosen(
    cli, example: Path, tmp_path: Path
) -> None:
    path, text = _variant(tmp_path, PROMPTFOO, _two_providers)
    before = _listing(example)
    refused = cli(*_import("promptfoo", path), cwd=example)
    assert refused.code == 2
    line = _line_of(text, '"results": [')
    assert refused.err == (
        f"error: {path}:{line}: results.results: results from 2 "
        "providers ('anthropic:messages:claude-sonnet-4-5-20250929', 'openai:gpt-4o-2024-08-06'); "
        "an eval file is about one config: choose one with --provider ID\n"
    )
    assert _listing(example) == before

    chosen = cli(
        "--json", *_import("promptfoo", path), "--provider", "openai:gpt-4o-2024-08-06", cwd=example
    )
    assert chosen.code == 0, chosen.err
    got = chosen.json()
    assert got["samples"] == 2  # type: ignore[index]
    assert got["metrics"]["pass_rate"] == 1.0  # type: ignore[index]
    assert got["metrics"]["latency_p95_ms"] == 400  # type: ignore[index]

    unknown = cli(*_import("promptfoo", path, suite="x"), "--provider", "nosuch", cwd=example)
    assert unknown.code == 2
    assert unknown.err.endswith(
        "results.results: no result has the provider 'nosuch'; the file has "
        "'anthropic:messages:claude-sonnet-4-5-20250929', 'openai:gpt-4o-2024-08-06'\n"
    )


def test_several_prompts_are_refused_unless_one_is_chosen(
    cli, example: Path, tmp_path: Path
) -> None:
    def two_prompts(data: Any) -> None:
        data["results"]["results"][0]["prompt"]["label"] = "terse"

    path, _ = _variant(tmp_path, PROMPTFOO, two_prompts)
    refused = cli(*_import("promptfoo", path), cwd=example)
    assert refused.code == 2
    assert "results from 2 prompts ('terse', 'summarizer-1.1.0')" in refused.err
    assert refused.err.endswith("choose one with --prompt LABEL\n")
    chosen = cli("--json", *_import("promptfoo", path), "--prompt", "terse", cwd=example)
    assert chosen.code == 0, chosen.err
    assert chosen.json()["samples"] == 1  # type: ignore[index]


# --- eval add's rules ---------------------------------------------------------------------


def test_an_existing_eval_is_never_overwritten_without_force(cli, example: Path) -> None:
    assert cli(*_import("json", PLAIN), cwd=example).code == 0
    first = (example / EVAL_DIR / "regression.yaml").read_text()
    again = cli(*_import("promptfoo", PROMPTFOO), cwd=example)
    assert again.code == 1
    assert again.err == (
        f"error: {EVAL_DIR}/regression.yaml exists; eval files are append-only: use another "
        "--suite name or --force for a file no promotion used yet\n"
    )
    assert (example / EVAL_DIR / "regression.yaml").read_text() == first
    forced = cli(*_import("promptfoo", PROMPTFOO), "--force", cwd=example)
    assert forced.code == 0, forced.err
    assert _read_eval(example, "regression")["metrics"] == PROMPTFOO_METRICS


def test_force_never_overwrites_a_committed_eval(cli, example: Path) -> None:
    assert cli(*_import("json", PLAIN), cwd=example).code == 0
    commit_all(example, "add an eval")
    committed = (example / EVAL_DIR / "regression.yaml").read_text()
    refused = cli(*_import("promptfoo", PROMPTFOO), "--force", cwd=example)
    assert refused.code == 1
    assert refused.err.startswith(f"error: {EVAL_DIR}/regression.yaml is committed;")
    assert (example / EVAL_DIR / "regression.yaml").read_text() == committed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--suite", "Bad Suite"), "error: invalid suite name 'Bad Suite'"),
        (("--dataset", "tickets"), "error: --dataset tickets: use NAME@VERSION"),
        (("--samples", "0"), "error: --samples 0: must be at least 1"),
        (
            ("--from", "csv"),
            "error: --from csv: unknown format; use one of promptfoo, inspect, json",
        ),
        (("--provider", "x", "--from", "inspect"), "error: --provider and --prompt choose among"),
    ],
)
def test_bad_arguments_are_exit_2(cli, example: Path, args: tuple[str, ...], message: str) -> None:
    base = list(_import("promptfoo", PROMPTFOO))
    for option, value in zip(args[::2], args[1::2], strict=True):
        if option in base:
            base[base.index(option) + 1] = value
        else:
            base += [option, value]
    before = _listing(example)
    result = cli(*base, cwd=example)
    assert result.code == 2
    assert result.err.count("\n") == 1 and result.err.startswith(message), result.err
    assert _listing(example) == before


def test_unknown_model_or_version_is_exit_2(cli, example: Path) -> None:
    args = ("eval", "import", "--from", "json", str(PLAIN), MODEL, "9.9.9", "--suite", "s")
    result = cli(*args, cwd=example)
    assert (result.code, result.err) == (
        2,
        "error: unknown version ticket-classifier@9.9.9 (versions: 1.0.0, 2.0.0)\n",
    )


# --- bad input: one line, file and line, exit 2 -------------------------------------------


def _set(path: tuple[str | int, ...], value: object) -> Callable[[Any], None]:
    def change(data: Any) -> None:
        for step in path[:-1]:
            data = data[step]
        data[path[-1]] = value

    return change


_ROW = ("results", "results")


@pytest.mark.parametrize(
    ("source", "base", "change", "replace", "needle", "message"),
    [
        # needle: a text on the line the error must point at (None: line 1)
        (
            "promptfoo",
            PROMPTFOO,
            _set((*_ROW, 2, "success"), "yes"),
            None,
            '"success": "yes"',
            'results.results[2].success: must be true or false, not "yes"',
        ),
        (
            "promptfoo",
            PROMPTFOO,
            _set((*_ROW, 3, "latencyMs"), 987654321),
            ("987654321", "NaN"),
            '"latencyMs": NaN',
            "results.results[3].latencyMs: NaN is not a finite number",
        ),
        (
            "promptfoo",
            PROMPTFOO,
            _set((*_ROW, 0, "score"), 987654321),
            ("987654321", "-Infinity"),
            '"score": -Infinity',
            "results.results[0].score: -Infinity is not a finite number",
        ),
        (
            "promptfoo",
            PROMPTFOO,
            _set((*_ROW, 1, "cost"), 987654321),
            ("987654321", "1e999"),
            '"cost": 1e999',
            "results.results[1].cost: inf is not a finite number",
        ),
        (
            "promptfoo",
            PROMPTFOO,
            _set((*_ROW, 4, "latencyMs"), "955"),
            None,
            '"latencyMs": "955"',
            'results.results[4].latencyMs: must be a number, not "955"',
        ),
        (
            "promptfoo",
            PROMPTFOO,
            _set(_ROW, []),
            None,
            '"results": []',
            "results.results: holds no test results",
        ),
        (
            "promptfoo",
            PROMPTFOO,
            _set(_ROW, {"0": 1}),
            None,
            '"results": {\n      "0"',
            "results.results: must be an array, not {",
        ),
        (
            "promptfoo",
            PROMPTFOO,
            _set(("results", "version"), 2),
            None,
            '"version": 2',
            "results.version: promptfoo results format 2 is not supported (modelreg reads 3)",
        ),
        (
            "promptfoo",
            PROMPTFOO,
            lambda d: d["results"]["results"][1].pop("success"),
            None,
            '{\n        "cost": 0.00051',
            "results.results[1]: 'success' is missing",
        ),
        (
            "promptfoo",
            PROMPTFOO,
            _set((*_ROW, 0, "gradingResult", "componentResults", 1, "assertion"), {"type": 7}),
            None,
            '"type": 7',
            "results.results[0].gradingResult.componentResults[1]"
            ".assertion.type: must be a string, not 7",
        ),
        (
            "promptfoo",
            PROMPTFOO,
            None,
            ('"failureReason": 1', '"failureReason": 1, "success": true'),
            '"failureReason": 1',
            "duplicate key 'success'",
        ),
        (
            "promptfoo",
            INSPECT,
            None,
            None,
            None,
            "not a promptfoo results file: it looks like an Inspect eval log (use --from inspect)",
        ),
        (
            "promptfoo",
            PROMPTFOO,
            _set(
                (
                    "results",
                    "results",
                    0,
                    "gradingResult",
                    "componentResults",
                    0,
                    "assertion",
                    "type",
                ),
                "x" * 60,
            ),
            None,
            '"type": "xxx',
            "results.results[0].gradingResult.componentResults[0].assertion.type: "
            f"'assert.{'x' * 60}.pass_rate' cannot be a metric name",
        ),
        (
            "inspect",
            INSPECT,
            _set(("status",), "error"),
            None,
            '"status": "error"',
            "status: the run's status is 'error': only a successful run is evidence",
        ),
        (
            "inspect",
            INSPECT,
            lambda d: d.update(status="cancelled", error={"message": "KeyboardInterrupt\nmore"}),
            None,
            '"status": "cancelled"',
            "status: the run's status is 'cancelled' (KeyboardInterrupt): only a successful run "
            "is evidence",
        ),
        (
            "inspect",
            INSPECT,
            _set(("results", "scores", 1, "metrics", "stderr", "value"), 987654321),
            ("987654321", "NaN"),
            '"value": NaN',
            "results.scores[1].metrics.stderr.value: NaN is not a finite number",
        ),
        (
            "inspect",
            INSPECT,
            _set(("results", "scores", 0, "metrics", "stderr", "value"), None),
            None,
            '"value": null',
            "results.scores[0].metrics.stderr.value: is null: the metric has no finite value",
        ),
        (
            "inspect",
            INSPECT,
            _set(("results", "completed_samples"), 0),
            None,
            '"completed_samples": 0',
            "results.completed_samples: is 0: the run completed no sample",
        ),
        (
            "inspect",
            INSPECT,
            _set(("results", "scores"), []),
            None,
            '"scores": []',
            "results.scores: holds no scores",
        ),
        (
            "inspect",
            INSPECT,
            _set(("version",), 1),
            None,
            '"version": 1',
            "version: Inspect log version 1 is not supported (modelreg reads 2)",
        ),
        (
            "inspect",
            INSPECT,
            lambda d: d.pop("results"),
            None,
            None,
            "'results' is missing",
        ),
        (
            "inspect",
            PROMPTFOO,
            None,
            None,
            None,
            "not an Inspect eval log: it looks like a promptfoo results file (use --from "
            "promptfoo)",
        ),
        (
            "promptfoo",
            PLAIN,
            None,
            None,
            None,
            "not a promptfoo results file: it looks like a plain metrics file (use --from json)",
        ),
        (
            "json",
            PLAIN,
            _set(("faithfulness",), 987654321),
            ("987654321", "Infinity"),
            '"faithfulness": Infinity',
            "Infinity is not a finite number",
        ),
    ],
)
def test_bad_input_is_one_line_with_file_and_line(
    cli,
    example: Path,
    tmp_path: Path,
    source: str,
    base: Path,
    change: Callable[[Any], object] | None,
    replace: tuple[str, str] | None,
    needle: str | None,
    message: str,
) -> None:
    path, text = _variant(tmp_path, base, change, replace)
    line = 1 if needle is None else _line_of(text, needle)
    if message.startswith("duplicate key"):
        line = _line_of(text, '"success": true', 2)  # the second 'success' of that result
    before = _listing(example)
    result = cli(*_import(source, path), cwd=example)
    assert result.code == 2, result.err
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert result.err.startswith(f"error: {path}:{line}: {message}"), result.err
    assert _listing(example) == before


@pytest.mark.parametrize(
    ("source", "text", "message"),
    [
        ("promptfoo", '{\n  "evalId": "e",\n  "results": {\n', ":4: not valid JSON: Expecting"),
        ("promptfoo", "", ":1: is empty: expected a JSON document"),
        ("promptfoo", "[1, 2]", ":1: must be a promptfoo results object, not [1, 2]"),
        (
            "inspect",
            '{"eval": {}, "status": "success"}\n{"x": 1}\n',
            ":2: not valid JSON: Extra data",
        ),
        ("inspect", b'{"status": "\xff"}', ":1: invalid UTF-8 byte 0xff"),
        ("inspect", b"PK\x03\x04\x14\x00\x00\x00", ":1: an Inspect .eval archive, not a JSON log"),
        ("json", '{"a": 1,\n "b": NaN}', ":2: NaN is not a finite number"),
    ],
)
def test_malformed_files(
    cli, example: Path, tmp_path: Path, source: str, text: str | bytes, message: str
) -> None:
    path = write(tmp_path / "results.json", text)
    result = cli(*_import(source, path), cwd=example)
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert result.err.startswith(f"error: {path}{message}"), result.err


def test_a_file_that_cannot_be_read(cli, example: Path, tmp_path: Path) -> None:
    missing = cli(*_import("promptfoo", tmp_path / "nope.json"), cwd=example)
    assert (missing.code, missing.err) == (2, f"error: {tmp_path / 'nope.json'}: no such file\n")
    folder = cli(*_import("inspect", tmp_path), cwd=example)
    assert (folder.code, folder.err) == (2, f"error: {tmp_path}: is a folder, not a file\n")
    yaml_file = write(tmp_path / "m.yaml", "accuracy: 0.9\n")
    plain = cli(*_import("json", yaml_file), cwd=example)
    assert plain.code == 2
    assert plain.err == (
        f"error: {yaml_file}: --from json reads a *.json file; for a YAML metrics file use "
        "`modelreg eval add --metrics FILE`\n"
    )


def test_help_names_every_option(cli) -> None:
    result = cli("eval", "import", "--help")
    assert result.code == 0
    for option in ("--from", "--suite", "--provider", "--prompt", "--dataset", "--samples",
                   "--run-id", "--tool", "--force"):  # fmt: skip
        assert option in result.out


def test_one_provider_id_run_with_two_labels_is_two_configs(
    cli, example: Path, tmp_path: Path
) -> None:
    """promptfoo compares settings as one id with two labels (review round 1: they merged)."""

    def hot_and_cold(data: Any) -> None:
        for i, row in enumerate(data["results"]["results"]):
            row["provider"] = {
                "id": "openai:gpt-4o-2024-08-06",
                "label": "hot" if i % 2 else "cold",
            }

    path, _text = _variant(tmp_path, PROMPTFOO, hot_and_cold)
    refused = cli(*_import("promptfoo", path), cwd=example)
    assert refused.code == 2
    assert "results from 2 providers ('cold', 'hot')" in refused.err
    by_id = cli(*_import("promptfoo", path), "--provider", "openai:gpt-4o-2024-08-06", cwd=example)
    assert by_id.code == 2 and "runs with several labels" in by_id.err
    chosen = cli("--json", *_import("promptfoo", path), "--provider", "hot", cwd=example)
    assert chosen.code == 0, chosen.err
    assert chosen.json()["samples"] == 2  # type: ignore[index]


def test_sums_beyond_a_double_and_empty_error_messages_are_bad_input(
    cli, example: Path, tmp_path: Path
) -> None:
    """Review round 1: these were internal errors (exit 3)."""

    def huge(data: Any) -> None:
        for row in data["results"]["results"]:
            row["latencyMs"] = 1e308

    path, _text = _variant(tmp_path, PROMPTFOO, huge)
    result = cli(*_import("promptfoo", path), cwd=example)
    assert result.code == 2
    assert "beyond the largest finite number" in result.err

    def failed(data: Any) -> None:
        data["status"] = "error"
        data["error"] = {"message": "  ", "traceback": ""}

    path, _text = _variant(tmp_path, INSPECT, failed, name="failed.json")
    result = cli(*_import("inspect", path), cwd=example)
    assert result.code == 2
    assert "the run's status is 'error': only a successful run is evidence" in result.err
