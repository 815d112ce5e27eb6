"""Service: `eval add`, writing an eval file for one version, bound to its config digest.

Eval files are append-only once a promotion relies on them: an existing file is
never overwritten, except with `force` while git's HEAD does not hold it yet.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelreg.core.actions import iso_utc
from modelreg.core.digest import MAX_SAFE_INTEGER
from modelreg.core.names import parse_version
from modelreg.core.strictjson import NonFinite, no_duplicates, refuse_constant
from modelreg.errors import BadInput, ModelregError, Refused, UsageError, unreadable
from modelreg.registry import Registry, obstacle
from modelreg.schemas import validate
from modelreg.yamlio import StrictYamlError, dumps, loads, read_limited, write_atomic

EVAL_SCHEMA = "modelreg/eval/v1"
DEFAULT_TOOL = "modelreg"
# the schema's patterns (schemas/eval.schema.json $defs), checked first for a clearer message
SUITE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}\Z")
METRIC_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\Z")
# a plain decimal number as JSON writes it (no '1_000', no 'nan', no '0x10')
_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\Z")
_INTEGER = re.compile(r"[-+]?[0-9]+\Z")
# the option that set each field, for messages about a schema problem
_OPTION_OF: dict[tuple[str | int, ...], str] = {
    ("dataset", "name"): "--dataset",
    ("dataset", "version"): "--dataset",
    ("run", "id"): "--run-id",
    ("run", "tool"): "--tool",
}


@dataclass
class EvalAddResult:
    path: Path
    model: str
    version: str
    suite: str
    config_digest: str
    metrics: dict[str, int | float]
    replaced: bool = False  # an uncommitted file was overwritten (force)


def _metric_name_problem(name: str) -> str | None:
    if METRIC_NAME.match(name):
        return None
    return (
        f"invalid metric name {name!r}: letters, digits, '_', '.' and '-', at most 64 characters, "
        "not starting with '.' or '-'"
    )


def parse_number(text: str) -> int | float:
    """TEXT as a finite JSON number; ValueError saying why not."""
    text = text.strip()
    if not text:
        raise ValueError("the value is empty: give a number, e.g. accuracy=0.91")
    if text.lower().lstrip("+-.") in ("nan", "inf", "infinity"):
        raise ValueError(f"{text} is not a finite number")
    if not _NUMBER.match(text):
        raise ValueError(f"{text!r} is not a number")
    if _INTEGER.match(text):
        value = int(text)
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"{text} is beyond 2^53-1 and has no exact JSON form")
        return value
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is not a finite number")
    return number


def parse_metric_args(items: Sequence[str]) -> dict[str, int | float]:
    """`--metric K=V` options as {K: number}; UsageError naming the bad one."""
    out: dict[str, int | float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--metric {item}: use NAME=NUMBER, e.g. accuracy=0.91")
        problem = _metric_name_problem(name)
        if problem:
            raise UsageError(f"--metric {item}: {problem}")
        if name in out:
            raise UsageError(f"--metric {item}: {name} is given twice")
        try:
            out[name] = parse_number(text)
        except ValueError as e:
            raise UsageError(f"--metric {item}: {e}") from None
    return out


def _checked_metrics(metrics: Mapping[str, int | float]) -> dict[str, int | float]:
    """An importer's metrics, held to the rules `--metric` and `--metrics` follow."""
    for name, value in metrics.items():
        problem = _metric_name_problem(name) or _value_problem(name, value)
        if problem:
            raise BadInput(problem)
    return dict(metrics)


def _value_problem(name: str, value: object) -> str | None:
    """Why VALUE cannot be the metric NAME's value, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{name}: must be a number, not {json.dumps(value, default=str)[:40]}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{name}: {value!r} is not a finite number"
    if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
        return f"{name}: {value} is beyond 2^53-1 and has no exact JSON form"
    return None


def _json_line(text: str, needle: str) -> int | None:
    """The line of the first NEEDLE (a key or constant) in TEXT, or None."""
    at = text.find(needle)
    return text.count("\n", 0, at) + 1 if at >= 0 else None


def load_metrics_file(path: Path, shown: str) -> dict[str, int | float]:
    """A JSON (`*.json`) or strict YAML file holding {metric: number}; BadInput with file and line.

    SHOWN is how the file is named in messages.
    """
    try:
        raw = read_limited(path)
    except OSError as e:
        raise unreadable(e, shown) from None
    except StrictYamlError as e:  # not a regular file, or over the size cap
        raise BadInput(e.problems[0].message, file=shown) from None
    lines: dict[str, int] = {}
    if path.suffix.lower() == ".json":
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise BadInput(f"invalid UTF-8 byte 0x{raw[e.start]:02x}", file=shown) from None
        try:
            data = json.loads(text, parse_constant=refuse_constant, object_pairs_hook=no_duplicates)
        except json.JSONDecodeError as e:
            raise BadInput(f"not valid JSON: {e.msg}", file=shown, line=e.lineno) from None
        except NonFinite as e:
            raise BadInput(str(e), file=shown, line=_json_line(text, e.constant)) from None
        except ValueError as e:  # a duplicate key
            raise BadInput(str(e), file=shown) from None
        except RecursionError:
            raise BadInput("nested too deeply", file=shown) from None
        if isinstance(data, dict):
            lines = {k: _json_line(text, json.dumps(k)) or 1 for k in data}
    else:
        try:
            doc = loads(raw)
        except StrictYamlError as e:
            first = e.problems[0]
            raise BadInput(first.message, file=shown, line=first.line) from None
        data = doc.data
        if isinstance(data, dict):
            lines = {k: doc.line_of((k,)) for k in data}
    if not isinstance(data, dict):
        raise BadInput(
            "must be a mapping of metric name to number, e.g. {accuracy: 0.91}", file=shown, line=1
        )
    if not data:
        raise BadInput("holds no metrics", file=shown, line=1)
    out: dict[str, int | float] = {}
    for name, value in data.items():
        problem = _metric_name_problem(name) or _value_problem(name, value)
        if problem:
            raise BadInput(problem, file=shown, line=lines.get(name))
        out[name] = value
    return out


def _dataset(text: str) -> dict[str, str]:
    name, sep, version = text.rpartition("@")
    if not sep or not name.strip() or not version.strip():
        raise UsageError(f"--dataset {text}: use NAME@VERSION, e.g. support-tickets@2026-11-01")
    return {"name": name, "version": version}


def _committed(reg: Registry, path: Path) -> bool:
    """Whether git's HEAD holds PATH (an eval file a promotion may rely on)."""
    git = reg.git
    if git is None or not git.has_head():
        return False
    rel = reg.git_prefix + path.relative_to(reg.root).as_posix()
    return rel in git.tree_blobs("HEAD", [rel])


def add_eval(
    reg: Registry,
    model: str,
    version: str,
    suite: str,
    *,
    metric_args: Sequence[str] = (),
    metrics_file: Path | None = None,
    metrics: Mapping[str, int | float] | None = None,
    dataset: str | None = None,
    samples: int | None = None,
    run_id: str | None = None,
    tool: str | None = None,
    force: bool = False,
) -> EvalAddResult:
    """Write evals/MODEL/VERSION/SUITE.yaml with the version's digest; refuse to overwrite.

    The metrics come from exactly one of METRIC_ARGS (`--metric K=V`), METRICS_FILE, or
    METRICS (an importer's), checked alike.
    """
    if sum((bool(metric_args), metrics_file is not None, metrics is not None)) != 1:
        raise UsageError(
            "give the metrics with --metric NAME=NUMBER (repeatable) or --metrics FILE"
        )
    if not SUITE_NAME.match(suite):
        raise UsageError(
            f"invalid suite name {suite!r}: lower-case letters, digits, '.', '_' and '-', "
            "starting with a letter or digit, at most 63 characters"
        )
    if parse_version(version) is None:
        reg.require_model(model)
        raise UsageError(f"{version!r} is not a version (MAJOR.MINOR.PATCH)")
    if samples is not None and samples < 1:
        raise UsageError(f"--samples {samples}: must be at least 1")
    if samples is not None and samples > MAX_SAFE_INTEGER:
        raise UsageError(f"--samples {samples}: must be at most {MAX_SAFE_INTEGER}")
    data_set = _dataset(dataset) if dataset is not None else None
    record = reg.version(model, version)
    if metrics is not None:
        metrics = _checked_metrics(metrics)
    elif metrics_file is not None:
        metrics = load_metrics_file(metrics_file, str(metrics_file))
    else:
        metrics = parse_metric_args(metric_args)

    path = reg.eval_dir(model, version) / f"{suite}.yaml"
    shown = reg.display(path)
    blocker = obstacle(path, reg.root)
    if blocker is not None:
        raise UsageError(f"{reg.display(blocker)} is a file, not a folder: cannot create {shown}")
    exists = path.exists() or path.is_symlink()
    if exists and not force:
        raise Refused(
            f"{shown} exists; eval files are append-only: use another --suite name "
            "or --force for a file no promotion used yet"
        )
    if _committed(reg, path):
        raise Refused(
            f"{shown} is committed{'' if exists else ' in HEAD'}; eval files are append-only and "
            "a promotion may rely on it: use another --suite name, or a new version"
        )

    data: dict[str, Any] = {
        "schema": EVAL_SCHEMA,
        "model": model,
        "version": version,
        "config_digest": record.digest,
        "suite": suite,
    }
    if data_set is not None:
        data["dataset"] = data_set
    if samples is not None:
        data["samples"] = samples
    data["metrics"] = metrics
    run: dict[str, str] = {}
    if run_id is not None:
        run["id"] = run_id
    run["at"] = iso_utc(int(time.time()))
    run["tool"] = DEFAULT_TOOL if tool is None else tool
    data["run"] = run

    problems = validate("eval", data)
    if problems:  # never write a file `check` would refuse; say which option is at fault
        first = problems[0]
        where = _OPTION_OF.get(first.path[:2], first.dotted)
        raise UsageError(f"{where}: {first.message}" if where else first.message)
    text = dumps(data)
    if loads(text).data != data:  # pragma: no cover - a bug here must not write a wrong file
        raise ModelregError(f"internal error: {shown} would not read back as written")
    write_atomic(path, text)
    return EvalAddResult(path, model, version, suite, record.digest, metrics, replaced=exists)
