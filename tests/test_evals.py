"""`eval add`: the file it writes, what it refuses, and append-only eval files."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml

from conftest import commit_all, write
from modelreg.services.evals import parse_number

EVAL_DIR = "evals/ticket-classifier/2.0.0"
TARGET = f"{EVAL_DIR}/regression.yaml"
ADD = ("eval", "add", "ticket-classifier", "2.0.0", "--suite", "regression")


def _digest(cli, root: Path, ref: str) -> str:  # type: ignore[no-untyped-def]
    return cli("--repo", str(root), "--json", "show", ref).json()["digest"]  # type: ignore[no-any-return]


def _listing(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in (root / "evals").rglob("*"))


def test_add_writes_an_eval_that_check_accepts_and_gate_uses(cli, example: Path) -> None:
    gate = ("gate", "ticket-classifier", "2.0.0", "--stage", "production")
    assert cli(*gate, cwd=example).code == 1  # no regression eval yet
    result = cli(
        *ADD,
        "--metric",
        "accuracy=0.9",
        "--metric",
        "latency_p95_ms=300",
        "--dataset",
        "tickets@holdout@2026-10",
        "--samples",
        "2000",
        "--run-id",
        "run-1",
        "--tool",
        "promptfoo",
        cwd=example,
    )
    dg = _digest(cli, example, "ticket-classifier@2.0.0")
    assert result.code == 0, result.err
    assert result.out == f"wrote {TARGET} (digest sha256:{dg[7:19]})\n"
    assert result.err == ""
    text = (example / TARGET).read_text()
    data = yaml.safe_load(text)  # a YAML 1.1 reader gets the same values
    at = data["run"].pop("at")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", at)
    assert data == {
        "schema": "modelreg/eval/v1",
        "model": "ticket-classifier",
        "version": "2.0.0",
        "config_digest": dg,
        "suite": "regression",
        "dataset": {"name": "tickets@holdout", "version": "2026-10"},
        "samples": 2000,
        "metrics": {"accuracy": 0.9, "latency_p95_ms": 300},
        "run": {"id": "run-1", "tool": "promptfoo"},
    }
    order = ["schema", "model", "version", "config_digest", "suite", "dataset", "samples"]
    assert list(data) == [*order, "metrics", "run"]
    check = cli("check", "--all", cwd=example)
    assert check.code == 0, check.out
    passed = cli(*gate, "--json", cwd=example)
    assert passed.code == 0
    assert passed.json()["results"][1]["actual"] == 0.9


def test_add_json_output_and_defaults(cli, example: Path) -> None:
    result = cli(*ADD, "--metric", "accuracy=1", "--json", cwd=example)
    assert result.code == 0, result.err
    assert result.json() == {
        "file": TARGET,
        "model": "ticket-classifier",
        "version": "2.0.0",
        "suite": "regression",
        "config_digest": _digest(cli, example, "ticket-classifier@2.0.0"),
        "metrics": {"accuracy": 1},
    }
    data = yaml.safe_load((example / TARGET).read_text())
    assert "dataset" not in data and "samples" not in data
    assert set(data["run"]) == {"at", "tool"} and data["run"]["tool"] == "modelreg"
    assert isinstance(data["metrics"]["accuracy"], int)


def test_add_from_a_json_metrics_file(cli, example: Path, tmp_path: Path) -> None:
    metrics = write(
        tmp_path / "m.json", json.dumps({"accuracy": 0.875, "latency_p95_ms": 412, "tiny": 2e-05})
    )
    result = cli("--repo", str(example), *ADD, "--metrics", str(metrics))
    assert result.code == 0, result.err
    data = yaml.safe_load((example / TARGET).read_text())
    assert data["metrics"] == {"accuracy": 0.875, "latency_p95_ms": 412, "tiny": 2e-05}
    assert cli("--repo", str(example), "check").code == 0


def test_add_from_a_yaml_metrics_file(cli, example: Path, tmp_path: Path) -> None:
    metrics = write(tmp_path / "m.yaml", "# from the nightly run\naccuracy: 0.875\nf1: 1.0e-3\n")
    result = cli("--repo", str(example), "--json", *ADD, "--metrics", str(metrics))
    assert result.code == 0, result.err
    assert result.json()["metrics"] == {"accuracy": 0.875, "f1": 0.001}
    assert cli("--repo", str(example), "check").code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--metric", "accuracy=nan"), "error: --metric accuracy=nan: nan is not a finite number"),
        (
            ("--metric", "accuracy=.inf"),
            "error: --metric accuracy=.inf: .inf is not a finite number",
        ),
        (
            ("--metric", "accuracy=-Infinity"),
            "error: --metric accuracy=-Infinity: -Infinity is not a finite number",
        ),
        (
            ("--metric", "accuracy=1e400"),
            "error: --metric accuracy=1e400: 1e400 is not a finite number",
        ),
        (("--metric", "accuracy=true"), "error: --metric accuracy=true: 'true' is not a number"),
        (("--metric", "accuracy=1_000"), "error: --metric accuracy=1_000: '1_000' is not a number"),
        (("--metric", "accuracy=0x10"), "error: --metric accuracy=0x10: '0x10' is not a number"),
        (
            ("--metric", "accuracy="),
            "error: --metric accuracy=: the value is empty: give a number, e.g. accuracy=0.91",
        ),
        (("--metric", "accuracy"), "error: --metric accuracy: use NAME=NUMBER, e.g. accuracy=0.91"),
        (("--metric", "=0.9"), "error: --metric =0.9: use NAME=NUMBER, e.g. accuracy=0.91"),
        (
            ("--metric", "a=1", "--metric", "a=2"),
            "error: --metric a=2: a is given twice",
        ),
        (
            ("--metric", "bad name=1"),
            "error: --metric bad name=1: invalid metric name 'bad name': letters, digits, '_', "
            "'.' and '-', at most 64 characters, not starting with '.' or '-'",
        ),
        (
            ("--metric", "n=9007199254740993"),
            "error: --metric n=9007199254740993: 9007199254740993 is beyond 2^53-1 and has no exact JSON form",
        ),
        (
            (),
            "error: give the metrics with --metric NAME=NUMBER (repeatable) or --metrics FILE",
        ),
        (
            ("--metric", "a=1", "--metrics", "m.json"),
            "error: give the metrics with --metric NAME=NUMBER (repeatable) or --metrics FILE",
        ),
        (
            ("--metric", "a=1", "--dataset", "tickets"),
            "error: --dataset tickets: use NAME@VERSION, e.g. support-tickets@2026-11-01",
        ),
        (
            ("--metric", "a=1", "--dataset", "tickets@"),
            "error: --dataset tickets@: use NAME@VERSION, e.g. support-tickets@2026-11-01",
        ),
        (("--metric", "a=1", "--samples", "0"), "error: --samples 0: must be at least 1"),
        (("--metric", "a=1", "--run-id", " "), "error: --run-id: must not be empty"),
        (("--metric", "a=1", "--tool", ""), "error: --tool: must not be empty"),
        (("--metric", "a=1", "--suite", "../up"), None),
        (("--metric", "a=1", "--suite", "Regression"), None),
        (("--metric", "a=1", "--samples", "many"), None),  # typer's own usage error
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    cli, example: Path, args: tuple[str, ...], message: str | None
) -> None:
    before = _listing(example)
    result = cli(*ADD, *args, cwd=example)
    assert result.code == 2
    assert result.out == ""
    assert result.err.count("\n") == 1 and result.err.startswith("error: ")
    if message is not None:
        assert result.err.strip() == message
    assert _listing(example) == before


@pytest.mark.parametrize(
    ("model", "version", "message"),
    [
        (
            "nosuch",
            "1.0.0",
            "error: unknown model 'nosuch' (models: assistant, summarizer, ticket-classifier)",
        ),
        ("summarizer", "9.9.9", "error: unknown version summarizer@9.9.9 (versions: 1.0.0, 1.1.0)"),
        ("summarizer", "../1.0.0", "error: '../1.0.0' is not a version (MAJOR.MINOR.PATCH)"),
        ("Bad_Name", "1.0.0", None),
    ],
)
def test_unknown_model_or_version_is_exit_2(
    cli, example: Path, model: str, version: str, message: str | None
) -> None:
    before = _listing(example)
    result = cli("eval", "add", model, version, "--suite", "s", "--metric", "a=1", cwd=example)
    assert result.code == 2
    assert result.err.count("\n") == 1
    if message is not None:
        assert result.err.strip() == message
    assert _listing(example) == before


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("m.json", '{"accuracy": NaN}', "m.json:1: NaN is not a finite number"),
        (
            "m.json",
            '{\n  "a": 1,\n  "b": -Infinity\n}',
            "m.json:3: -Infinity is not a finite number",
        ),
        ("m.json", '{\n  "accuracy": 1e400\n}', "m.json:2: accuracy: inf is not a finite number"),
        ("m.json", '{"accuracy": 0.9,\n', "m.json:2: not valid JSON: Expecting property name"),
        ("m.json", '{"a": 1, "a": 2}', "m.json: duplicate key 'a'"),
        ("m.json", '{\n"accuracy": "0.9"}', 'm.json:2: accuracy: must be a number, not "0.9"'),
        ("m.json", '{\n"accuracy": true}', "m.json:2: accuracy: must be a number, not true"),
        ("m.json", "[0.9]", "m.json:1: must be a mapping of metric name to number"),
        ("m.json", "{}", "m.json:1: holds no metrics"),
        ("m.yaml", "a: 1\naccuracy: .nan\n", "m.yaml:2: "),
        ("m.yaml", "a: 1\naccuracy: yes\n", "m.yaml:2: "),
        ("m.yaml", "a: 1\na: 2\n", "m.yaml:2: duplicate key 'a'"),
        ("m.yaml", "a: 1\nbad name: 2\n", "m.yaml:2: invalid metric name 'bad name'"),
        ("m.yaml", "metrics:\n  a: 1\n", "m.yaml:1: metrics: must be a number, not {"),
        ("m.yaml", b"a: \xff\n", "m.yaml:1: invalid UTF-8 byte 0xff"),
    ],
)
def test_a_bad_metrics_file_is_exit_2_with_file_and_line(
    cli, example: Path, name: str, text: str | bytes, message: str
) -> None:
    write(example / name, text)
    before = _listing(example)
    result = cli(*ADD, "--metrics", name, cwd=example)
    assert result.code == 2
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert result.err.startswith(f"error: {message}"), result.err
    assert _listing(example) == before


def test_a_metrics_file_that_cannot_be_read_is_exit_2(cli, example: Path, tmp_path: Path) -> None:
    missing = cli(*ADD, "--metrics", str(tmp_path / "nope.json"), cwd=example)
    assert (missing.code, missing.err) == (2, f"error: {tmp_path / 'nope.json'}: no such file\n")
    folder = cli(*ADD, "--metrics", str(tmp_path), cwd=example)
    assert folder.code == 2 and folder.err.strip().endswith("not a regular file")
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    piped = cli(*ADD, "--metrics", str(fifo), cwd=example)  # must not hang
    assert (piped.code, piped.err) == (2, f"error: {fifo}: not a regular file\n")
    assert not (example / TARGET).exists()


def test_an_existing_eval_is_never_overwritten_without_force(cli, example: Path) -> None:
    assert cli(*ADD, "--metric", "accuracy=0.9", cwd=example).code == 0
    first = (example / TARGET).read_text()
    again = cli(*ADD, "--metric", "accuracy=0.99", cwd=example)
    assert again.code == 1
    assert again.err == (
        f"error: {TARGET} exists; eval files are append-only: use another --suite name "
        "or --force for a file no promotion used yet\n"
    )
    assert (example / TARGET).read_text() == first


def test_force_overwrites_an_uncommitted_eval(cli, example: Path) -> None:
    assert cli(*ADD, "--metric", "accuracy=0.9", cwd=example).code == 0
    forced = cli(*ADD, "--metric", "accuracy=0.99", "--force", cwd=example)
    assert forced.code == 0, forced.err
    assert forced.out.startswith(f"replaced {TARGET} (digest sha256:")  # it says so
    assert yaml.safe_load((example / TARGET).read_text())["metrics"] == {"accuracy": 0.99}
    # replaced in place: no temp file left behind
    assert sorted(p.name for p in (example / EVAL_DIR).iterdir()) == [
        "regression.yaml",
        "smoke.yaml",
    ]


def test_force_never_overwrites_a_committed_eval(cli, example: Path) -> None:
    assert cli(*ADD, "--metric", "accuracy=0.9", cwd=example).code == 0
    commit_all(example, "add the regression eval")
    committed = (example / TARGET).read_text()
    refused = cli(*ADD, "--metric", "accuracy=0.99", "--force", cwd=example)
    assert refused.code == 1
    assert refused.err == (
        f"error: {TARGET} is committed; eval files are append-only and a promotion may rely "
        "on it: use another --suite name, or a new version\n"
    )
    assert (example / TARGET).read_text() == committed
    # deleting it first does not help: HEAD still holds it
    (example / TARGET).unlink()
    again = cli(*ADD, "--metric", "accuracy=0.99", cwd=example)
    assert again.code == 1 and "is committed in HEAD" in again.err
    assert not (example / TARGET).exists()


def test_committed_check_works_in_a_registry_below_the_top_of_the_repo(
    cli, example: Path, tmp_path: Path
) -> None:
    import shutil

    from conftest import git

    mono = tmp_path / "mono"
    shutil.copytree(example, mono / "ml" / "registry", ignore=shutil.ignore_patterns(".git"))
    git(mono, "init", "-q")
    commit_all(mono)
    root = mono / "ml" / "registry"
    smoke = ("eval", "add", "summarizer", "1.1.0", "--suite", "smoke", "--metric", "a=1")
    refused = cli("--repo", str(root), *smoke, "--force")
    assert refused.code == 1 and "is committed" in refused.err


def test_add_outside_git(cli, loose_example: Path) -> None:
    args = ("--repo", str(loose_example), *ADD)
    assert cli(*args, "--metric", "accuracy=0.9").code == 0
    assert cli(*args, "--metric", "accuracy=0.8").code == 1
    assert cli(*args, "--metric", "accuracy=0.8", "--force").code == 0
    assert cli("--repo", str(loose_example), "check").code == 0


def test_a_file_in_the_way_of_the_eval_folder_is_exit_2(cli, example: Path) -> None:
    blocker = example / "evals/summarizer/1.1.0"
    for p in blocker.iterdir():
        p.unlink()
    blocker.rmdir()
    write(blocker, "in the way\n")
    result = cli(
        "eval", "add", "summarizer", "1.1.0", "--suite", "s", "--metric", "a=1", cwd=example
    )
    assert result.code == 2
    assert result.err == (
        "error: evals/summarizer/1.1.0 is a file, not a folder: cannot create "
        "evals/summarizer/1.1.0/s.yaml\n"
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.9", 0.9),
        ("1", 1),
        ("-3", -3),
        ("+2.5", 2.5),
        (".5", 0.5),
        ("1.0e-3", 0.001),
        ("1E3", 1000.0),
        (" 7 ", 7),
    ],
)
def test_parse_number(text: str, value: float) -> None:
    parsed = parse_number(text)
    assert parsed == value and type(parsed) is type(value)


def test_eval_help(cli) -> None:
    result = cli("eval", "--help")
    assert result.code == 0 and "add" in result.out
    add = cli("eval", "add", "--help")
    assert add.code == 0 and "--metrics" in add.out and "--force" in add.out


def test_odd_inputs_are_bad_input_not_internal_errors(cli, example: Path, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100000 + "]" * 100000)
    for args in (
        ["--metric", "a=1", "--samples", "99999999999999999999999"],
        ["--metrics", str(deep)],
    ):
        result = cli(
            "--repo", str(example), "eval", "add", "summarizer", "1.0.0", "--suite", "z", *args
        )
        assert result.code == 2, result.err
        assert result.err.startswith("error: ") and "internal" not in result.err
    assert not (example / "evals/summarizer/1.0.0/z.yaml").exists()
