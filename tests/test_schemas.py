"""The schemas: valid JSON Schema 2020-12, keywords both validators read alike, the same verdicts."""

from __future__ import annotations

import json
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
