"""Service: `eval import`, turning another tool's result file into eval metrics.

The parsers are pure (bytes in, `Imported` out); `eval import` hands their metrics
to `add_eval`, so the eval file, its digest and its refusals are `eval add`'s.
Anything malformed or unknown is BadInput (exit 2) naming the file, the line and
the JSON path. Reading is strict where it matters: duplicate keys anywhere are
refused; NaN, Infinity and out-of-range numbers are refused where they would
become a metric or a count (elsewhere they are the tool's business).

- promptfoo (`promptfoo eval -o results.json`, results format version 3): over
  the results of one provider and prompt, `pass_rate`, `score_mean`, `errors`
  (results that failed with an error rather than an assertion), per assertion
  type `assert.<type>.pass_rate` and `assert.<type>.score_mean`,
  `latency_mean_ms` and `latency_p95_ms` (nearest rank) and `cost_total` where
  the results carry them. Several providers or prompts in one file are refused
  unless `provider` / `prompt` pick one.
- Inspect AI (`inspect eval ... --log-format json`, log version 2): every
  scorer's metrics as `<score name>.<metric>` (prefixed even when there is one
  scorer, so adding a scorer never renames a gated metric); only a run whose
  status is `success` is evidence.
- json: a plain `{metric: number}` object, read by `load_metrics_file`.

Names from the tool are kept, with each character a metric name cannot hold
(`:`, `/`, a space, ...) written as `_`; a scorer reduced across epochs in
several ways is `<score name>.<reducer>.<metric>`. Rates, means and sums keep
12 significant digits (0.00178, not the 0.0017800000000000001 a sum leaves).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelreg.core.digest import MAX_SAFE_INTEGER
from modelreg.core.strictjson import DuplicateKey, no_duplicates
from modelreg.errors import BadInput, UsageError, unreadable
from modelreg.registry import Registry
from modelreg.schemas import dotted
from modelreg.services.evals import (
    DEFAULT_TOOL,
    METRIC_NAME,
    EvalAddResult,
    add_eval,
    load_metrics_file,
)

FORMATS = ("promptfoo", "inspect", "json")
# a tool's result file holds every output; far larger than a registry file may be
MAX_IMPORT_BYTES = 256 * 1024 * 1024
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_.-]")
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class ImportResult:
    written: EvalAddResult
    source: str
    samples: int | None
    run_id: str | None
    tool: str


@dataclass(frozen=True)
class Imported:
    """What a result file says: metrics, how many samples, the tool's run id and name."""

    metrics: dict[str, int | float]
    samples: int | None
    run_id: str | None
    tool: str | None


class _Odd:
    """A number JSON holds but a metric cannot: NaN, Infinity, or an integer too long."""

    def __init__(self, literal: str, message: str) -> None:
        self.literal = literal
        self.message = message


def _constant(literal: str) -> _Odd:
    return _Odd(literal, f"{literal} is not a finite number")


def _integer(literal: str) -> int | _Odd:
    if len(literal.lstrip("-")) > 16:  # past 2^53 anyway; int() of 5000 digits is refused
        return _Odd(literal, f"{literal[:24]} is beyond 2^53-1 and has no exact JSON form")
    return int(literal)


# --- where things are in the text (only looked up on the way to an error) ----------------


def _members(text: str, pos: int) -> Iterator[tuple[str, int]]:
    """(key, offset of its value) of the object starting at POS, in order."""
    pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    if text.startswith("}", pos):
        return
    while True:
        key, pos = _DECODER.raw_decode(text, pos)
        pos = _WS.match(text, pos).end() + 1  # type: ignore[union-attr]  # past ':'
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        yield key, pos
        _, pos = _DECODER.raw_decode(text, pos)
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if not text.startswith(",", pos):
            return
        pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]


def _elements(text: str, pos: int) -> Iterator[int]:
    """The offset of each element of the array starting at POS."""
    pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    if text.startswith("]", pos):
        return
    while True:
        yield pos
        _, pos = _DECODER.raw_decode(text, pos)
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if not text.startswith(",", pos):
            return
        pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]


def _offset(text: str, path: JsonPath) -> int:
    """Where the value at PATH starts (or its nearest ancestor) in a well-formed TEXT."""
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
    for step in path:
        found: int | None = None
        try:
            if isinstance(step, str) and text.startswith("{", pos):
                found = next((at for key, at in _members(text, pos) if key == step), None)
            elif isinstance(step, int) and text.startswith("[", pos):
                found = next((at for i, at in enumerate(_elements(text, pos)) if i == step), None)
        except (ValueError, RecursionError):  # a sibling json reads only with our hooks
            found = None
        if found is None:
            break
        pos = found
    return pos


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _duplicate_line(text: str) -> int | None:
    """The line of the duplicate key json.loads stopped at (the first object to close with one)."""

    class Marked(dict[str, Any]):
        duplicate: str | None = None

    def hook(pairs: list[tuple[str, Any]]) -> Marked:
        out = Marked()
        for key, value in pairs:
            if key in out and out.duplicate is None:
                out.duplicate = key
            out[key] = value
        return out

    def first(value: Any, path: JsonPath) -> tuple[JsonPath, str] | None:
        children: list[tuple[str | int, Any]] = []
        if isinstance(value, dict):
            children = list(value.items())
        elif isinstance(value, list):
            children = list(enumerate(value))
        for step, child in children:
            found = first(child, (*path, step))
            if found:
                return found
        if isinstance(value, Marked) and value.duplicate is not None:
            return path, value.duplicate
        return None

    try:
        found = first(json.loads(text, object_pairs_hook=hook), ())
    except (ValueError, RecursionError):  # pragma: no cover - refused before the duplicate
        return None
    if found is None:  # pragma: no cover - json.loads refused the same text
        return None
    path, key = found
    seen = [at for k, at in _members(text, _offset(text, path)) if k == key]
    return _line(text, seen[1]) if len(seen) > 1 else None


# --- reading ------------------------------------------------------------------------------


class _Doc:
    """A parsed JSON result file and how to point at a place in it."""

    def __init__(self, raw: bytes, shown: str) -> None:
        self.shown = shown
        try:
            self.text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            line = raw.count(b"\n", 0, e.start) + 1
            raise BadInput(
                f"invalid UTF-8 byte 0x{raw[e.start]:02x}", file=shown, line=line
            ) from None
        if not self.text.strip():
            raise BadInput("is empty: expected a JSON document", file=shown, line=1)
        try:
            self.data: Any = json.loads(
                self.text,
                object_pairs_hook=no_duplicates,
                parse_constant=_constant,
                parse_int=_integer,
            )
        except json.JSONDecodeError as e:
            raise BadInput(f"not valid JSON: {e.msg}", file=shown, line=e.lineno) from None
        except DuplicateKey as e:
            raise BadInput(str(e), file=shown, line=_duplicate_line(self.text)) from None
        except RecursionError:
            raise BadInput("not valid JSON: nested too deeply", file=shown) from None

    def fail(self, path: JsonPath, message: str) -> BadInput:
        where = dotted(path)
        return BadInput(
            f"{where}: {message}" if where else message,
            file=self.shown,
            line=_line(self.text, _offset(self.text, path)),
        )

    def get(self, path: JsonPath) -> Any:
        value = self.data
        for step in path:
            value = value[step]
        return value

    def present(self, path: JsonPath) -> Any:
        """The value at PATH; BadInput when it is missing or null."""
        if path and not self.has(path):
            raise self.fail(path[:-1], f"{path[-1]!r} is missing")
        return self.get(path)

    def obj(self, path: JsonPath, what: str = "an object") -> dict[str, Any]:
        value = self.present(path)
        if not isinstance(value, dict):
            raise self.fail(path, f"must be {what}, not {_kind(value)}")
        return value

    def array(self, path: JsonPath) -> list[Any]:
        value = self.present(path)
        if not isinstance(value, list):
            raise self.fail(path, f"must be an array, not {_kind(value)}")
        return value

    def has(self, path: JsonPath) -> bool:
        """Whether the container at PATH[:-1] holds PATH[-1] with a value other than null."""
        if len(path) > 1 and not self.has(path[:-1]):
            return False
        parent, step = self.get(path[:-1]), path[-1]
        if isinstance(parent, list) and isinstance(step, int):
            return 0 <= step < len(parent) and parent[step] is not None
        return isinstance(parent, dict) and parent.get(step) is not None

    def number(self, path: JsonPath) -> int | float:
        value = self.present(path)
        if isinstance(value, _Odd):
            raise self.fail(path, value.message)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(path, f"must be a number, not {_kind(value)}")
        if not math.isfinite(value):
            raise self.fail(path, f"{value!r} is not a finite number")
        if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
            raise self.fail(path, f"{value} is beyond 2^53-1 and has no exact JSON form")
        return value

    def boolean(self, path: JsonPath) -> bool:
        value = self.present(path)
        if not isinstance(value, bool):
            raise self.fail(path, f"must be true or false, not {_kind(value)}")
        return value

    def string(self, path: JsonPath) -> str:
        value = self.present(path)
        if not isinstance(value, str):
            raise self.fail(path, f"must be a string, not {_kind(value)}")
        return value

    def run_id(self, path: JsonPath) -> str | None:
        """The tool's run id, or None when the file has none."""
        if not self.has(path):
            return None
        value = self.string(path)
        return value if value.strip() else None


def _kind(value: object) -> str:
    if isinstance(value, _Odd):
        return value.literal
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else f"{text[:37]}..."


class _Metrics:
    """Metric names from a tool, made valid and kept distinct."""

    def __init__(self, doc: _Doc) -> None:
        self.doc = doc
        self.values: dict[str, int | float] = {}
        self.origin: dict[str, str] = {}

    def add(self, name: str, value: int | float, path: JsonPath) -> None:
        clean = _NOT_IN_NAME.sub("_", name)
        if not METRIC_NAME.match(clean):
            raise self.doc.fail(
                path,
                f"{name!r} cannot be a metric name: letters, digits, '_', '.' and '-', "
                "at most 64 characters, not starting with '.' or '-'",
            )
        if clean in self.values:
            earlier = self.origin[clean]
            raise self.doc.fail(
                path,
                f"the metric {clean!r} is given twice"
                if earlier == name
                else f"{name!r} and {earlier!r} would both be the metric {clean!r}",
            )
        self.values[clean] = value
        self.origin[clean] = name


# --- promptfoo ----------------------------------------------------------------------------


def _p95(values: list[int | float]) -> int | float:
    """The nearest-rank 95th percentile: the smallest value at or above 95% of them."""
    ordered = sorted(values)
    return ordered[max(math.ceil(0.95 * len(ordered)), 1) - 1]


def _tidy(value: float) -> float:
    """VALUE to 12 significant digits: 0.00178, not the 0.0017800000000000001 a sum leaves."""
    return float(f"{value:.12g}")


def _sum(values: list[int | float]) -> float:
    """The exact sum of VALUES; ValueError when it is beyond a double (1e308 + 1e308)."""
    try:
        total = math.fsum(values)
    except OverflowError:
        total = math.inf
    if not math.isfinite(total):
        raise ValueError("their sum is beyond the largest finite number")
    return total


def _mean(values: list[int | float]) -> float:
    return _tidy(_sum(values) / len(values))


def _select(
    doc: _Doc,
    rows: list[tuple[JsonPath, dict[str, Any]]],
    field: str,
    option: str,
    chosen: str | None,
) -> list[tuple[JsonPath, dict[str, Any]]]:
    """The rows whose provider (or prompt) is CHOSEN; refuse a mix when none is chosen."""

    def name(path: JsonPath, row: dict[str, Any]) -> str:
        key = "id" if field == "provider" else "label"
        value = row.get(field)
        if isinstance(value, str) and field == "provider":
            return value  # older files write the provider as its id
        if not isinstance(value, dict) or not isinstance(value.get(key), str):
            raise doc.fail((*path, field), f"has no {key}")
        label = value.get("label")
        if field == "provider" and isinstance(label, str) and label:
            # one id run with two settings (labels `hot` and `cold`) is two configs
            return label
        return str(value[key])

    def ids(row: dict[str, Any]) -> set[str]:
        value = row.get(field)
        if isinstance(value, dict):
            return {v for v in (value.get("id"), value.get("label")) if isinstance(v, str)}
        return {value} if isinstance(value, str) else set()

    names = [name(path, row) for path, row in rows]
    distinct = list(dict.fromkeys(names))
    if chosen is not None:
        picked = [r for r, n in zip(rows, names, strict=True) if n == chosen]
        if not picked and field == "provider":
            picked = [r for r in rows if chosen in ids(r[1])]
            if len({n for r, n in zip(rows, names, strict=True) if r in picked}) > 1:
                raise doc.fail(
                    ("results", "results"),
                    f"the provider id {chosen!r} runs with several labels "
                    f"({_listing(distinct)}): choose one label with {option}",
                )
        if not picked:
            raise doc.fail(
                ("results", "results"),
                f"no result has the {field} {chosen!r}; the file has {_listing(distinct)}",
            )
        return picked
    if len(distinct) > 1:
        raise doc.fail(
            ("results", "results"),
            f"results from {len(distinct)} {field}s ({_listing(distinct)}); an eval file is "
            f"about one config: choose one with {option}",
        )
    return rows


def _listing(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:5])
    return shown if len(names) <= 5 else f"{shown} and {len(names) - 5} more"


def parse_promptfoo(
    raw: bytes, shown: str, *, provider: str | None = None, prompt: str | None = None
) -> Imported:
    """A promptfoo results file (`promptfoo eval -o results.json`) as eval metrics."""
    doc = _Doc(raw, shown)
    top = doc.obj((), "a promptfoo results object")
    _refuse_other(doc, top, "promptfoo", "not a promptfoo results file")
    if "results" not in top:
        raise doc.fail((), "not a promptfoo results file: 'results' is missing")
    doc.obj(("results",))
    version = doc.present(("results", "version"))
    if version != 3:
        raise doc.fail(
            ("results", "version"),
            f"promptfoo results format {_kind(version)} is not supported (modelreg reads 3): "
            "export it again with a current promptfoo (`promptfoo export EVAL_ID -o FILE`)",
        )
    results = doc.array(("results", "results"))
    if not results:
        raise doc.fail(("results", "results"), "holds no test results")
    rows: list[tuple[JsonPath, dict[str, Any]]] = [
        (("results", "results", i), doc.obj(("results", "results", i))) for i in range(len(results))
    ]
    rows = _select(doc, rows, "provider", "--provider ID", provider)
    rows = _select(doc, rows, "prompt", "--prompt LABEL", prompt)

    metrics = _Metrics(doc)
    passed = 0
    errors = 0
    scores: list[int | float] = []
    latencies: list[int | float] = []
    costs: list[int | float] = []
    by_type: dict[str, tuple[JsonPath, list[bool], list[int | float]]] = {}
    for path, _ in rows:
        passed += doc.boolean((*path, "success"))
        if doc.has((*path, "failureReason")):
            errors += doc.number((*path, "failureReason")) == 2
        if doc.has((*path, "score")):
            scores.append(doc.number((*path, "score")))
        if doc.has((*path, "latencyMs")):
            latencies.append(doc.number((*path, "latencyMs")))
        if doc.has((*path, "cost")):
            costs.append(doc.number((*path, "cost")))
        if not doc.has((*path, "gradingResult")):
            continue
        grading = (*path, "gradingResult")
        doc.obj(grading)
        if not doc.has((*grading, "componentResults")):
            continue
        for i, _ in enumerate(doc.array((*grading, "componentResults"))):
            part = (*grading, "componentResults", i)
            doc.obj(part)
            if not doc.has((*part, "assertion")):
                continue  # not one assertion's verdict (an error, or a whole-test hook)
            doc.obj((*part, "assertion"))
            kind = doc.string((*part, "assertion", "type"))
            _, passes, part_scores = by_type.setdefault(
                kind, ((*part, "assertion", "type"), [], [])
            )
            passes.append(doc.boolean((*part, "pass")))
            if doc.has((*part, "score")):
                part_scores.append(doc.number((*part, "score")))

    first = rows[0][0]
    try:
        metrics.add("pass_rate", _tidy(passed / len(rows)), first)
        if scores:
            metrics.add("score_mean", _mean(scores), first)
        metrics.add("errors", errors, first)
        for kind, (where, passes, part_scores) in by_type.items():
            metrics.add(f"assert.{kind}.pass_rate", _tidy(sum(passes) / len(passes)), where)
            if part_scores:
                metrics.add(f"assert.{kind}.score_mean", _mean(part_scores), where)
        if latencies:
            metrics.add("latency_mean_ms", _mean(latencies), first)
            metrics.add("latency_p95_ms", _p95(latencies), first)
        if costs:
            metrics.add("cost_total", _tidy(_sum(costs)), first)
    except ValueError as e:  # a sum of finite numbers beyond a double
        raise doc.fail(("results", "results"), f"the results' numbers: {e}") from None
    return Imported(metrics.values, len(rows), doc.run_id(("evalId",)), "promptfoo")


# --- Inspect AI ---------------------------------------------------------------------------


def parse_inspect(raw: bytes, shown: str) -> Imported:
    """An Inspect AI eval log in JSON (`inspect eval ... --log-format json`) as eval metrics."""
    if raw.startswith(b"PK\x03\x04"):
        raise BadInput(
            "an Inspect .eval archive, not a JSON log: run with --log-format json, or convert "
            "it with `inspect log convert --to json`",
            file=shown,
            line=1,
        )
    doc = _Doc(raw, shown)
    top = doc.obj((), "an Inspect eval log object")
    _refuse_other(doc, top, "inspect", "not an Inspect eval log")
    if "eval" not in top or "status" not in top:
        raise doc.fail((), "not an Inspect eval log: 'eval' or 'status' is missing")
    version = doc.present(("version",))
    if version != 2:
        raise doc.fail(
            ("version",),
            f"Inspect log version {_kind(version)} is not supported (modelreg reads 2)",
        )
    status = doc.string(("status",))
    if status != "success":
        why = ""
        message = doc.get(("error", "message")) if doc.has(("error", "message")) else None
        lines = message.strip().splitlines() if isinstance(message, str) else []
        if lines:
            why = f" ({lines[0][:80]})"
        raise doc.fail(
            ("status",),
            f"the run's status is {status!r}{why}: only a successful run is evidence",
        )
    doc.obj(("eval",))
    doc.obj(("results",))
    completed = doc.number(("results", "completed_samples"))
    if not isinstance(completed, int) or completed < 1:
        raise doc.fail(
            ("results", "completed_samples"), f"is {completed}: the run completed no sample"
        )
    scores = doc.array(("results", "scores"))
    if not scores:
        raise doc.fail(("results", "scores"), "holds no scores")
    names: list[str] = []
    for i in range(len(scores)):
        doc.obj(("results", "scores", i))
        names.append(doc.string(("results", "scores", i, "name")))
    metrics = _Metrics(doc)
    for i, score_name in enumerate(names):
        path: JsonPath = ("results", "scores", i)
        if names.count(score_name) > 1 and doc.has((*path, "reducer")):
            # one scorer reduced across epochs several ways: match.mean.accuracy, match.max...
            score_name = f"{score_name}.{doc.string((*path, 'reducer'))}"
        table = doc.obj((*path, "metrics"))
        if not table:
            raise doc.fail((*path, "metrics"), "holds no metrics")
        for key in table:
            entry = doc.obj((*path, "metrics", key))
            where = (*path, "metrics", key, "value")
            if "value" not in entry:
                raise doc.fail((*path, "metrics", key), "'value' is missing")
            if entry["value"] is None:
                raise doc.fail(where, "is null: the metric has no finite value")
            metrics.add(f"{score_name}.{key}", doc.number(where), where)
    return Imported(metrics.values, completed, doc.run_id(("eval", "run_id")), "inspect")


_LOOKS = {
    "promptfoo": "a promptfoo results file",
    "inspect": "an Inspect eval log",
    "json": "a plain metrics file",
}


def _refuse_other(doc: _Doc, top: dict[str, Any], wanted: str, what: str) -> None:
    """BadInput saying which --from TOP wants, when it plainly is another tool's file."""
    looks: str | None = None
    if "eval" in top and "status" in top:
        looks = "inspect"
    elif "evalId" in top or (
        isinstance(top.get("results"), dict) and {"version", "stats"} <= top["results"].keys()
    ):
        looks = "promptfoo"
    elif top and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in top.values()):
        looks = "json"
    if looks is not None and looks != wanted:
        raise doc.fail((), f"{what}: it looks like {_LOOKS[looks]} (use --from {looks})")


# --- the file -----------------------------------------------------------------------------


def read_import(
    path: Path, source: str, *, provider: str | None = None, prompt: str | None = None
) -> Imported:
    """Read PATH as SOURCE (one of FORMATS) says; BadInput with file and line."""
    if source not in FORMATS:
        raise UsageError(f"--from {source}: unknown format; use one of {', '.join(FORMATS)}")
    if source != "promptfoo" and (provider is not None or prompt is not None):
        raise UsageError(
            "--provider and --prompt choose among promptfoo results: use --from promptfoo"
        )
    shown = str(path)
    if source == "json":
        if path.suffix.lower() != ".json":
            raise BadInput(
                "--from json reads a *.json file; for a YAML metrics file use "
                "`modelreg eval add --metrics FILE`",
                file=shown,
            )
        return Imported(load_metrics_file(path, shown), None, None, None)
    try:
        with path.open("rb") as f:  # a pipe (`<(...)`) is fine: read to its end
            raw = f.read(MAX_IMPORT_BYTES + 1)
    except OSError as e:
        raise unreadable(e, shown) from None
    if len(raw) > MAX_IMPORT_BYTES:
        raise BadInput(f"over the {MAX_IMPORT_BYTES}-byte limit for a result file", file=shown)
    if source == "promptfoo":
        return parse_promptfoo(raw, shown, provider=provider, prompt=prompt)
    return parse_inspect(raw, shown)


def import_eval(
    reg: Registry,
    source: str,
    path: Path,
    model: str,
    version: str,
    suite: str,
    *,
    dataset: str | None = None,
    samples: int | None = None,
    run_id: str | None = None,
    tool: str | None = None,
    provider: str | None = None,
    prompt: str | None = None,
    force: bool = False,
) -> ImportResult:
    """Write evals/MODEL/VERSION/SUITE.yaml from a result file, exactly as `eval add` writes it.

    SAMPLES, RUN_ID and TOOL given here win over what the file says.
    """
    imported = read_import(path, source, provider=provider, prompt=prompt)
    samples = samples if samples is not None else imported.samples
    run_id = run_id if run_id is not None else imported.run_id
    tool = tool if tool is not None else imported.tool
    written = add_eval(
        reg,
        model,
        version,
        suite,
        metrics=imported.metrics,
        dataset=dataset,
        samples=samples,
        run_id=run_id,
        tool=tool,
        force=force,
    )
    return ImportResult(written, source, samples, run_id, DEFAULT_TOOL if tool is None else tool)
