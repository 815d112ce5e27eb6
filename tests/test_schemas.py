"""The schemas: valid JSON Schema 2020-12, keywords both validators read alike, the same verdicts."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from conftest import EXAMPLE
from modelreg import schemas
from modelreg.yamlio import loads

# Keywords that mean the same to fastjsonschema (its 2019-09 generator) and to 2020-12.
SHARED_KEYWORDS = {
    "$schema",
    "$id",
    "$ref",
    "$defs",
    "$comment",
    "title",
    "description",
    "examples",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "patternProperties",
    "propertyNames",
    "pattern",
    "enum",
    "const",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "items",
    "minProperties",
    "maxProperties",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
}
# Keywords whose value is a map of names to schemas (their keys are names, not keywords).
NAME_MAPS = {"properties", "patternProperties", "$defs"}


def _keywords(node: object, out: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            out.add(key)
            if key in NAME_MAPS:
                for sub in value.values():
                    _keywords(sub, out)
            elif key in ("enum", "const", "examples", "required"):
                continue
            else:
                _keywords(value, out)
    elif isinstance(node, list):
        for item in node:
            _keywords(item, out)


@pytest.mark.parametrize("kind", schemas.DOCUMENT_KINDS)
def test_schema_is_valid_2020_12_with_a_stable_id(kind: str) -> None:
    schema = schemas.load_schema(kind)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:modelreg:schema:{kind}:v1"


@pytest.mark.parametrize("kind", schemas.DOCUMENT_KINDS)
def test_schema_uses_only_shared_keywords(kind: str) -> None:
    found: set[str] = set()
    _keywords(schemas.load_schema(kind), found)
    assert found - SHARED_KEYWORDS == set()
    assert "default" not in found  # fastjsonschema would write defaults into the document


def _example_files() -> list[tuple[str, Path]]:
    out = [("registry", EXAMPLE / "modelreg.yaml")]
    out += [("model-version", p) for p in sorted(EXAMPLE.glob("models/*/*.yaml"))]
    out += [("eval", p) for p in sorted(EXAMPLE.glob("evals/*/*/*.yaml"))]
    return out


@pytest.mark.parametrize(("kind", "path"), _example_files(), ids=lambda v: getattr(v, "name", v))
def test_examples_are_valid(kind: str, path: Path) -> None:
    assert schemas.validate(kind, loads(path.read_bytes()).data) == []


def _mutations(data: dict) -> list[dict]:  # type: ignore[type-arg]
    """Broken variants of a valid document, one change each."""
    out = []
    for key in list(data):
        broken = dict(data)
        del broken[key]
        out.append(broken)
        for bad in (None, 1.5, "x" * 3, [], {}, True):
            variant = dict(data)
            variant[key] = bad
            out.append(variant)
    out.append({**data, "unexpected": 1})
    return out


@pytest.mark.parametrize(("kind", "path"), _example_files(), ids=lambda v: getattr(v, "name", v))
def test_both_validators_agree(kind: str, path: Path) -> None:
    import fastjsonschema

    data = loads(path.read_bytes()).data
    fast = fastjsonschema.compile(schemas.load_schema(kind), use_default=False)
    full = Draft202012Validator(schemas.load_schema(kind))
    for variant in _mutations(data):
        snapshot = json.dumps(variant, sort_keys=True)
        try:
            fast(variant)
            fast_ok = True
        except fastjsonschema.JsonSchemaException:
            fast_ok = False
        assert fast_ok == full.is_valid(variant), snapshot
        assert json.dumps(variant, sort_keys=True) == snapshot  # validation never changes the data
        assert (schemas.validate(kind, variant) == []) == fast_ok


def test_input_schema_meta_validation() -> None:
    assert (
        schemas.json_schema_problems({"type": "object", "properties": {"id": {"type": "string"}}})
        == []
    )
    problems = schemas.json_schema_problems({"type": "objekt"})
    assert problems and problems[0].path == ("type",)


def test_schema_problem_paths_are_dotted() -> None:
    assert schemas.dotted(("tools", 1, "input_schema", "type")) == "tools[1].input_schema.type"


def test_generated_validators_are_up_to_date() -> None:
    """modelreg/_validators/ must be regenerated (`python schemas/regenerate.py`) after a schema edit."""
    import hashlib

    for kind, file in schemas.SOURCES.items():
        generated = (schemas.GENERATED / f"{kind.replace('-', '_')}.py").read_text()
        digest = hashlib.sha256((schemas.schema_dir() / file).read_bytes()).hexdigest()
        assert f"# source sha256:{digest}\n" in generated, (
            f"{file} changed: run `python schemas/regenerate.py`"
        )


# A corpus of tool input schemas: the flattened meta-schema must judge them as
# jsonschema's Draft202012Validator.check_schema does.
SCHEMA_CORPUS = [
    True,
    False,
    {},
    {"type": "object"},
    {"type": "objekt"},
    {"type": ["string", "null"]},
    {"type": ["string", "string"]},
    {"type": []},
    {"properties": {"a": {"type": "string"}}},
    {"properties": {"a": {"type": 1}}},
    {"properties": []},
    {"items": {"type": "integer"}},
    {"items": [{"type": "integer"}]},
    {"prefixItems": []},
    {"prefixItems": [{}]},
    {"required": ["a", "a"]},
    {"required": "a"},
    {"minLength": -1},
    {"minLength": 1.0},
    {"minLength": 1.5},
    {"enum": "x"},
    {"enum": []},
    {"const": None},
    {"$id": "a#b"},
    {"$id": "a#"},
    {"$anchor": "1x"},
    {"allOf": []},
    {"anyOf": [{"type": "x"}]},
    {"not": {"type": "null"}},
    {"additionalProperties": False},
    {"additionalProperties": "no"},
    {"dependentRequired": {"a": ["b"]}},
    {"dependentRequired": {"a": "b"}},
    {"multipleOf": 0},
    {"multipleOf": -1},
    {"multipleOf": 0.5},
    {"uniqueItems": "yes"},
    {"x-custom": 1},
    {"$defs": {"a": {"type": "bad"}}},
    {"dependencies": {"a": ["b"], "c": {"type": "x"}}},
    {"format": 1},
    {"format": "email"},
    {"minimum": "1"},
    {"examples": {}},
    [],
    "object",
    3,
    None,
    {"contentSchema": {"type": "nope"}},
    {"type": "integer", "minimum": True},
    {
        "type": "object",
        "properties": {"q": {"type": "string"}, "n": {"type": "integer", "minimum": 1}},
        "required": ["q"],
    },
    {"$ref": "#/$defs/x", "$defs": {"x": {"type": "string"}}},
    {"$ref": 5},
    {"if": {"type": "string"}, "then": {"minLength": 1}, "else": {"type": "null"}},
    {"then": 3},
    {"unevaluatedProperties": False},
    {"unevaluatedItems": {"type": 2}},
    {"propertyNames": {"pattern": "^a"}},
    {"patternProperties": {"^x-": {}}},
    {"patternProperties": {"^x-": 1}},
    {"contains": {}, "minContains": -2},
]


@pytest.mark.parametrize("schema", SCHEMA_CORPUS, ids=lambda s: json.dumps(s)[:40])
def test_flat_meta_schema_agrees_with_jsonschema(schema: object) -> None:
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
        valid = True
    except SchemaError:
        valid = False
    assert (schemas.json_schema_problems(schema) == []) == valid


# --- the verdict (schemas._Verdict): valid or not, as fastjsonschema decides it -----------------

VERDICT_KINDS = ("model-version", "eval")
ODD_VALUES = [
    "", " ", "abc", "1.0.0", "01.0.0", "1.0", "sha256:" + "a" * 64, "sha256:" + "A" * 64,
    "2026-11-20T09:30:00Z", "2026-13-20T09:30:00Z", "x\n", "a" * 300, "fine-tuned",
    "prompt-config", "api-snapshot", "modelreg/v1", "modelreg/eval/v1", "Bad Name", "x-y", "-x",
    "a" * 65, "tool_1", "f" * 64, -1, 0, 0.5, 1, 2, 2.5, 3, 1.0, 1.5, 300, True, False, None, [],
    ["a"], [1], {}, {"a": 1}, {"type": "object"},
]  # fmt: skip
ODD_KEYS = [
    "x-ext", "description", "extra", "notes", "metadata", "parent", "changes", "training", "tools",
    "params", "kind", "name", "version", "model", "schema", "created", "author", "system_prompt",
    "temperature", "top_p", "max_tokens", "top_k", "stop", "seed", "response_format", "provider",
    "id", "uri", "sha256", "base_model", "data_version", "artifact", "hyperparameters", "summary",
    "reason", "input_schema", "accuracy", "bad key", "", "1", ".x", "suite", "config_digest",
    "dataset", "samples", "metrics", "run", "at", "tool",
]  # fmt: skip


def _broken(rng: random.Random, value: object) -> object:
    """VALUE with one random change somewhere inside (a new object; VALUE is kept)."""
    if isinstance(value, dict):
        out = dict(value)
        pick = rng.random()
        if out and pick < 0.3:
            del out[rng.choice(list(out))]
        elif pick < 0.5 or not out:
            out[rng.choice(ODD_KEYS)] = rng.choice(ODD_VALUES)
        else:
            key = rng.choice(list(out))
            out[key] = _broken(rng, out[key]) if rng.random() < 0.6 else rng.choice(ODD_VALUES)
        return out
    if isinstance(value, list) and value and rng.random() < 0.7:
        items = list(value)
        at = rng.randrange(len(items))
        items[at] = _broken(rng, items[at])
        return items
    return rng.choice(ODD_VALUES)


@pytest.mark.parametrize("kind", VERDICT_KINDS)
def test_the_verdict_is_written_for_the_many_kinds(kind: str) -> None:
    assert schemas._valid(kind) is not None  # else every document pays fastjsonschema's cost


@pytest.mark.parametrize("kind", VERDICT_KINDS)
def test_the_verdict_agrees_with_fastjsonschema_on_broken_documents(kind: str) -> None:
    import fastjsonschema

    valid = schemas._valid(kind)
    assert valid is not None
    fast = schemas._fast(kind)
    seeds = [loads(p.read_bytes()).data for k, p in _example_files() if k == kind]
    rng = random.Random(2020_12)
    verdicts = {True: 0, False: 0}
    for _ in range(4000):
        data = rng.choice(seeds)
        for _ in range(rng.randint(0, 4)):
            data = _broken(rng, data)
        try:
            fast(data)
            expected = True
        except fastjsonschema.JsonSchemaException:
            expected = False
        assert valid(data) is expected, json.dumps(data, default=str)[:2000]
        verdicts[expected] += 1
    assert min(verdicts.values()) > 500  # both answers were tried often


def test_a_schema_beyond_the_verdict_gets_none() -> None:
    for kind in ("registry", "stages"):  # `not`, `anyOf`, ...: fastjsonschema decides alone
        assert schemas._valid(kind) is None
    assert schemas.validate("stages", {}) != []
