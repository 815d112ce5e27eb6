"""Adapter: the only jsonschema/fastjsonschema importer. Compiled validators; errors -> paths.

Two validators, one verdict. fastjsonschema is the fast path (0.05 ms a
document, 10 ms to import); when it rejects a document, jsonschema's
Draft202012Validator (170 ms to import) lists every error with its path. The
schemas use only keywords that mean the same in both (tests/test_schemas.py
enforces it and checks the verdicts agree).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

KINDS = ("model-version", "eval", "registry", "stages")

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class SchemaProblem:
    path: Path_
    message: str

    @property
    def dotted(self) -> str:
        return dotted(self.path)


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def schema_dir() -> Path:
    """The schemas: inside the installed wheel, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data" / "schemas", here.parent / "schemas"):
        if (candidate / "model-version.schema.json").is_file():
            return candidate
    raise FileNotFoundError(
        "modelreg's schemas are missing: reinstall modelreg"
    )  # pragma: no cover


@cache
def load_schema(kind: str) -> dict[str, Any]:
    with open(schema_dir() / f"{kind}.schema.json", encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


@cache
def _fast(kind: str) -> Callable[[Any], Any]:
    import fastjsonschema

    return fastjsonschema.compile(load_schema(kind), use_default=False)


@cache
def _full(kind: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(kind))


def _message(error: Any) -> str:
    """jsonschema's message, shortened where it would print a whole document."""
    validator = error.validator
    if validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"unknown key{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}"
    if validator == "required":
        return str(error.message)
    if (
        validator in ("minLength", "pattern")
        and isinstance(error.instance, str)
        and not error.instance.strip()
    ):
        return "must not be empty"
    if validator == "pattern":
        return f"{error.instance!r} does not match {error.validator_value!r}"
    if validator in ("oneOf", "anyOf", "if", "then"):
        return (
            error.message
            if len(error.message) < 160
            else f"does not match the schema ({validator})"
        )
    message = str(error.message)
    return message if len(message) < 200 else message[:197] + "..."


def validate(kind: str, data: Any) -> list[SchemaProblem]:
    """Every schema problem of DATA as a KIND document; [] when valid."""
    import fastjsonschema

    try:
        _fast(kind)(data)
        return []
    except fastjsonschema.JsonSchemaException as fast_error:
        errors = sorted(
            _full(kind).iter_errors(data), key=lambda e: list(map(str, e.absolute_path))
        )
        # dict.fromkeys: one finding per (path, message), e.g. minLength and pattern on ''
        problems = list(
            dict.fromkeys(SchemaProblem(tuple(e.absolute_path), _message(e)) for e in errors)
        )
        # Both validators must agree; if jsonschema finds nothing, keep the fast verdict.
        return problems or [SchemaProblem((), str(fast_error))]


@cache
def _meta() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(Draft202012Validator.META_SCHEMA)


_meta_results: dict[str, list[SchemaProblem]] = {}


def json_schema_problems(schema: Any) -> list[SchemaProblem]:
    """Problems of SCHEMA as a JSON Schema 2020-12 document (for tools[].input_schema).

    Versions of a model usually repeat the same tool schemas, so results are
    kept per canonical text for the life of the process.
    """
    key = json.dumps(schema, sort_keys=True)
    if key not in _meta_results:
        _meta_results[key] = [
            SchemaProblem(tuple(e.absolute_path), _message(e)) for e in _meta().iter_errors(schema)
        ]
    return _meta_results[key]
