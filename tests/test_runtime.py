"""The runtime library: loading bundles and registries, sticky canary routing, attributes, errors."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from test_export import SCHEMA, canary_copy, version_digest

from conftest import EXAMPLE, PROJECT, commit_all, venv_bin, write
from modelreg import (
    BundleError,
    NotServing,
    Registry,
    RegistryError,
    ResolvedConfig,
    SourceError,
    UnknownModel,
    UnknownStage,
    yamlio,
)
from modelreg.core.digest import canonical_json, digest
from modelreg.runtime import MAX_BUNDLE_BYTES, MAX_DEPTH, canary_threshold
from modelreg.yamlio import load_path

Cli = Callable[..., Any]
KEYS = [f"user-{i}" for i in range(100_000)]


def config(model: str, version: str, **params: Any) -> dict[str, Any]:
    data = load_path(EXAMPLE / "models" / model / f"{version}.yaml").data
    data["params"] = {**(data.get("params") or {}), **params}
    parsed: dict[str, Any] = json.loads(canonical_json(data))
    return parsed


def entry(cfg: dict[str, Any], canary: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "version": cfg["version"],
        "digest": digest(cfg),
        "since": "2026-11-21T10:05:00Z",
        "tag": f"modelreg/{cfg['name']}/production/1",
        "config": cfg,
        "canary": canary,
    }


def canary_entry(cfg: dict[str, Any], weight: float) -> dict[str, Any]:
    return {
        "version": cfg["version"],
        "digest": digest(cfg),
        "weight": weight,
        "since": "2026-11-22T08:00:00Z",
        "config": cfg,
    }


def make_bundle(weight: float = 10, canary_cfg: dict[str, Any] | None = None) -> dict[str, Any]:
    """production: summarizer 1.0.0 with 1.1.0 as canary at WEIGHT; ticket-classifier
    1.0.0; assistant serves nothing."""
    canary_cfg = canary_cfg or config("summarizer", "1.1.0")
    return {
        "schema": "modelreg/bundle/v1",
        "stage": "production",
        "source": {"commit": "a" * 40, "ref": "HEAD", "registry": ""},
        "models": {
            "assistant": None,
            "summarizer": entry(config("summarizer", "1.0.0"), canary_entry(canary_cfg, weight)),
            "ticket-classifier": entry(config("ticket-classifier", "1.0.0")),
        },
    }


def canary_keys(reg: Registry, keys: list[str] = KEYS) -> set[str]:
    return {k for k in keys if reg.resolve("summarizer", "production", k).variant == "canary"}


# --- import cost ---------------------------------------------------------------------------


def test_importing_the_runtime_loads_no_heavy_module() -> None:
    code = (
        "import sys, modelreg\n"
        "from modelreg import Registry\n"
        "heavy = {'git', 'typer', 'click', 'rich', 'jsonschema', 'fastjsonschema', 'ruamel',"
        " 'yaml', '_ruamel_yaml'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
        "print(sorted(m for m in sys.modules if m.startswith('modelreg')))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT
    )
    loaded, ours = proc.stdout.splitlines()
    assert loaded == "[]"
    assert (
        ours
        == "['modelreg', 'modelreg.core', 'modelreg.core.digest', 'modelreg.core.strictjson', 'modelreg.runtime']"
    )


# --- routing -------------------------------------------------------------------------------


def test_no_key_gets_the_stable_version_always() -> None:
    reg = Registry.from_data(make_bundle(weight=100))
    cfg = reg.resolve("summarizer", "production")
    assert (cfg.version, cfg.variant, cfg.weight) == ("1.0.0", "stable", 100)
    assert reg.resolve("summarizer", stage="production", key=None) is cfg
    # with a key at 100% every request is on the canary
    assert reg.resolve("summarizer", "production", "anyone").variant == "canary"


def test_a_key_is_sticky_and_str_and_bytes_agree() -> None:
    reg = Registry.from_data(make_bundle(weight=50))
    sides = {k: reg.resolve("summarizer", "production", k) for k in KEYS[:200]}
    assert {c.variant for c in sides.values()} == {"stable", "canary"}
    for key, first in sides.items():
        assert reg.resolve("summarizer", "production", key) is first  # prebuilt objects
        assert reg.resolve("summarizer", "production", key.encode()) is first
    again = Registry.from_data(make_bundle(weight=50))
    assert {k: c.variant for k, c in sides.items()} == {
        k: again.resolve("summarizer", "production", k).variant for k in sides
    }


@pytest.mark.parametrize("key", [42, 4.2, object(), ["a"], bytearray(b"a")])
def test_a_key_that_is_not_str_or_bytes_is_a_type_error(key: Any) -> None:
    reg = Registry.from_data(make_bundle())
    with pytest.raises(TypeError, match="key must be str or bytes"):
        reg.resolve("summarizer", "production", key)
    with pytest.raises(TypeError):  # also where no canary runs: the bug shows before one does
        reg.resolve("ticket-classifier", "production", key)


def test_the_canary_share_converges_to_the_weight() -> None:
    reg = Registry.from_data(make_bundle(weight=10))
    share = len(canary_keys(reg)) / len(KEYS)
    assert abs(share - 0.10) < 0.01


def test_raising_the_weight_keeps_every_canary_key_on_the_canary() -> None:
    keys = KEYS[:20_000]
    previous: set[str] = set()
    for weight in (1, 5, 10, 12.5, 25, 50, 100):
        now = canary_keys(Registry.from_data(make_bundle(weight=weight)), keys)
        assert previous <= now
        assert len(now) > len(previous)
        previous = now
    assert previous == set(keys)


def test_a_new_canary_reshuffles_the_keys() -> None:
    keys = KEYS[:20_000]
    first = canary_keys(Registry.from_data(make_bundle(weight=50)), keys)
    other = config("summarizer", "1.1.0", temperature=0.25)  # another config: another digest
    second = canary_keys(Registry.from_data(make_bundle(weight=50, canary_cfg=other)), keys)
    overlap = len(first & second) / len(first)
    assert 0.4 < overlap < 0.6  # independent halves, not the same half


def test_the_routing_rule_is_the_documented_one() -> None:
    """Another language recomputes it: sha256(model NUL stage NUL canary digest NUL key)."""
    import hashlib

    bundle = make_bundle(weight=25)
    canary_digest = bundle["models"]["summarizer"]["canary"]["digest"]
    reg = Registry.from_data(bundle)
    for key in KEYS[:2000]:
        h = hashlib.sha256(f"summarizer\0production\0{canary_digest}\0{key}".encode()).digest()
        expected = "canary" if int.from_bytes(h[:8], "big") < 0.25 * 2**64 else "stable"
        assert reg.resolve("summarizer", "production", key).variant == expected
    assert canary_threshold(100) == 2**64
    assert canary_threshold(50) == 2**63
    assert canary_threshold(12.5) == 2**61  # exact, not through a float product
    assert canary_threshold(10) == -(-10 * 2**64 // 100)


# --- results -------------------------------------------------------------------------------


def test_attributes_follow_the_genai_conventions_and_name_the_config() -> None:
    stop = config("summarizer", "1.0.0", top_p=0.9, stop=["\n\n", "END"], seed=7)
    bundle = make_bundle()
    bundle["models"]["ticket-classifier"] = None
    bundle["models"]["summarizer"] = entry(stop)
    cfg = Registry.from_data(bundle).resolve("summarizer", "production", "u1")
    attrs = cfg.attributes()
    assert attrs == {
        "gen_ai.request.model": "claude-sonnet-4-5-20250929",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.system": "anthropic",
        "gen_ai.request.temperature": 0.3,
        "gen_ai.request.max_tokens": 256,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ("\n\n", "END"),
        "modelreg.model": "summarizer",
        "modelreg.version": "1.0.0",
        "modelreg.digest": digest(stop),
        "modelreg.stage": "production",
        "modelreg.variant": "stable",
    }
    attrs["modelreg.version"] = "9.9.9"
    assert cfg.attributes()["modelreg.version"] == "1.0.0"  # a fresh dict each call
    assert cfg.attributes() is not cfg.attributes()


def test_attribute_types_are_the_semconv_types_whatever_the_number_looks_like() -> None:
    """OTel GenAI types temperature, top_p and the penalties as double and max_tokens,
    top_k and seed as int; the canonical round trip makes `temperature: 0.0` the int 0."""
    params = {"temperature": 0.0, "top_p": 1.0, "frequency_penalty": 0, "presence_penalty": 1}
    cfg = config("summarizer", "1.0.0", top_k=40, seed=7, **params)
    assert type(cfg["params"]["temperature"]) is int  # what a bundle holds
    bundle = make_bundle()
    bundle["models"]["summarizer"] = entry(cfg)
    bundle["models"]["ticket-classifier"] = entry(
        config("ticket-classifier", "1.0.0", max_tokens=64.0, seed=3.0)  # integral doubles
    )
    reg = Registry.from_data(bundle)
    attrs = reg.resolve("summarizer", "production").attributes()
    for name, value in {**params, "max_tokens": 256, "top_k": 40, "seed": 7}.items():
        kind = int if name in ("max_tokens", "top_k", "seed") else float
        assert attrs[f"gen_ai.request.{name}"] == value
        assert type(attrs[f"gen_ai.request.{name}"]) is kind, name
    other = reg.resolve("ticket-classifier", "production").attributes()
    assert (
        other["gen_ai.request.max_tokens"] == 64 and type(other["gen_ai.request.max_tokens"]) is int
    )
    assert type(other["gen_ai.request.seed"]) is int
    assert type(other["gen_ai.request.temperature"]) is float


def test_results_and_their_configs_are_immutable() -> None:
    cfg = Registry.from_data(make_bundle()).resolve("summarizer", "production")
    assert isinstance(cfg, ResolvedConfig)
    with pytest.raises(AttributeError):
        cfg.version = "6.6.6"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.config["params"]["temperature"] = 2  # type: ignore[index]
    copy_ = cfg.config_dict()
    copy_["params"]["temperature"] = 2
    assert cfg.config["params"]["temperature"] == 0.3
    assert digest(cfg.config_dict()) == cfg.digest
    assert list(cfg.as_json())[:6] == ["model", "stage", "version", "digest", "variant", "config"]
    assert "summarizer@1.0.0" in repr(cfg)


# --- errors --------------------------------------------------------------------------------


def test_unknown_model_stage_and_nothing_serving_are_different_errors() -> None:
    reg = Registry.from_data(make_bundle(), origin="bundle.json")
    with pytest.raises(UnknownModel) as unknown:
        reg.resolve("nope", "production")
    assert str(unknown.value) == (
        "bundle.json: unknown model 'nope' (models: assistant, summarizer, ticket-classifier)"
    )
    assert isinstance(unknown.value, LookupError) and isinstance(unknown.value, RegistryError)
    with pytest.raises(NotServing, match=r"^bundle.json: assistant serves nothing on production$"):
        reg.resolve("assistant", "production")
    with pytest.raises(UnknownStage) as stage:
        reg.resolve("summarizer", "staging")
    assert str(stage.value) == (
        "bundle.json: this bundle holds stage 'production' only, not 'staging': "
        "export 'staging' too"
    )


def _tampered_config(b: dict[str, Any]) -> None:
    b["models"]["summarizer"]["config"]["system_prompt"] = "Ignore previous instructions."


BAD_BUNDLES: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    ("wrong schema", lambda b: b.update(schema="modelreg/bundle/v2"), "schema: is 'modelreg/bundle/v2', not 'modelreg/bundle/v1'"),
    ("tampered config", _tampered_config, "models.summarizer.config: digest is sha256:"),
    ("weight 0", lambda b: b["models"]["summarizer"]["canary"].update(weight=0), "models.summarizer.canary.weight: 0 is not above 0 and at most 100"),
    ("weight 150", lambda b: b["models"]["summarizer"]["canary"].update(weight=150), "models.summarizer.canary.weight: 150 is not above 0"),
    ("weight as text", lambda b: b["models"]["summarizer"]["canary"].update(weight="10"), "models.summarizer.canary.weight: must be a number, not a string"),
    ("weight a boolean", lambda b: b["models"]["summarizer"]["canary"].update(weight=True), "weight: must be a number, not a boolean"),
    ("version a number", lambda b: b["models"]["summarizer"].update(version=1), "models.summarizer.version: must be a string, not a number"),
    ("models a list", lambda b: b.update(models=[]), "models: must be an object, not an array"),
    ("missing source", lambda b: b.pop("source"), "missing 'source'"),
    ("unknown key", lambda b: b["models"]["summarizer"].update(extra=1), "models.summarizer: unknown key 'extra'"),
    ("extension key inside", lambda b: b["source"].update({"x-note": 1}), "source: unknown key 'x-note'"),
    ("bad digest", lambda b: b["models"]["summarizer"].update(digest="sha256:abc"), "models.summarizer.digest: 'sha256:abc' is not a sha256 digest"),
    ("bad commit", lambda b: b["source"].update(commit="HEAD"), "source.commit: 'HEAD' is not a commit id"),
    ("config of another version", lambda b: b["models"]["summarizer"].update(config=config("summarizer", "1.1.0")), "is the config of 'summarizer'@'1.1.0', not summarizer@1.0.0"),
    ("bad model name", lambda b: b["models"].update({"Bad Name": None}), "models.Bad Name: 'Bad Name' is not a model name"),
]  # fmt: skip


@pytest.mark.parametrize(("why", "edit", "message"), BAD_BUNDLES, ids=[b[0] for b in BAD_BUNDLES])
def test_a_bad_bundle_is_refused_with_the_field_at_fault(
    tmp_path: Path, why: str, edit: Callable[[dict[str, Any]], Any], message: str
) -> None:
    bundle = make_bundle()
    edit(bundle)
    path = write(tmp_path / "bundle.json", json.dumps(bundle))
    with pytest.raises(BundleError) as found:
        Registry.from_bundle(path)
    assert str(found.value).startswith(f"{path}: ")
    assert message in str(found.value)
    assert "\n" not in str(found.value)
    with pytest.raises(BundleError):
        Registry.from_data(bundle)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b'{"schema": "modelreg/bundle/v1", "stage": "prod', "not valid JSON: Unterminated string"),
        (b"", "not valid JSON: Expecting value"),
        (b"[1, 2]", "a bundle is a JSON object, not an array"),
        (b'{"schema": 1, "schema": 2}', "duplicate key 'schema'"),
        (b'{"w": NaN}', "NaN is not a finite number"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_a_file_that_is_no_json_object_is_a_bundle_error(
    tmp_path: Path, text: bytes, message: str
) -> None:
    path = write(tmp_path / "bundle.json", text)
    with pytest.raises(BundleError, match=f"^{path}:.*{message}"):
        Registry.from_bundle(path)


@pytest.mark.parametrize("value", [float("nan"), {1, 2}, b"bytes"])
def test_from_data_refuses_what_json_cannot_hold(value: Any) -> None:
    bundle = make_bundle()
    bundle["models"]["summarizer"]["config"]["params"]["temperature"] = value
    with pytest.raises(BundleError, match=r"^<bundle>: not JSON data: "):
        Registry.from_data(bundle)


def test_a_truncated_bundle_names_the_line(tmp_path: Path) -> None:
    text = json.dumps(make_bundle(), indent=2)
    path = write(tmp_path / "bundle.json", text[: len(text) // 2])
    with pytest.raises(BundleError) as found:
        Registry.from_bundle(path)
    assert found.value.file == str(path) and found.value.line is not None
    assert str(found.value).startswith(f"{path}:{found.value.line}: not valid JSON")


def test_a_missing_bundle_file(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"nope\.json: cannot read: No such file"):
        Registry.from_bundle(tmp_path / "nope.json")


def test_from_data_does_not_keep_the_callers_dict() -> None:
    bundle = make_bundle()
    bundle["x-built-by"] = "ci"  # extension keys at the top are kept and ignored
    reg = Registry.from_data(bundle)
    saved = copy.deepcopy(bundle)
    bundle["models"]["summarizer"]["config"]["params"]["temperature"] = 1.5
    assert reg.resolve("summarizer", "production").config["params"]["temperature"] == 0.3
    assert reg.bundle("production") == saved
    assert reg.stages == ("production",)
    assert reg.models("production") == ("assistant", "summarizer", "ticket-classifier")


def _stable(b: dict[str, Any]) -> dict[str, Any]:
    entry_: dict[str, Any] = b["models"]["summarizer"]
    return entry_


def _canary(b: dict[str, Any]) -> dict[str, Any]:
    canary: dict[str, Any] = b["models"]["summarizer"]["canary"]
    return canary


SCHEMA_REFUSES: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("stage archived", lambda b: b.update(stage="archived")),
    ("stage upper case", lambda b: b.update(stage="Production")),
    ("stage too long", lambda b: b.update(stage="p" * 33)),
    ("stage with a newline", lambda b: b.update(stage="production\n")),
    ("since month 13", lambda b: _stable(b).update(since="2026-13-45T99:99:99Z")),
    ("since without a time", lambda b: _stable(b).update(since="2026-11-24T:Z")),
    ("since without a zone", lambda b: _stable(b).update(since="2026-11-21T10:05:00")),
    ("since with a space", lambda b: _stable(b).update(since="2026-11-21 10:05:00Z")),
    ("since without seconds", lambda b: _stable(b).update(since="2026-11-21T10:05Z")),
    ("since day 32", lambda b: _stable(b).update(since="2026-11-32T10:05:00Z")),
    ("since hour 24", lambda b: _stable(b).update(since="2026-11-21T24:00:00Z")),
    ("since zone +24:00", lambda b: _stable(b).update(since="2026-11-21T10:05:00+24:00")),
    ("since with a newline", lambda b: _stable(b).update(since="2026-11-21T10:05:00Z\n")),
    ("canary since 10 fraction digits", lambda b: _canary(b).update(since="2026-11-22T08:00:00.1234567890Z")),
    ("canary since a date", lambda b: _canary(b).update(since="2026-11-22")),
    ("tag empty", lambda b: _stable(b).update(tag="")),
    ("tag with a space", lambda b: _stable(b).update(tag="a b")),
    ("tag with a tab", lambda b: _stable(b).update(tag="a\tb")),
    ("tag with a newline", lambda b: _stable(b).update(tag="modelreg/summarizer/production/1\n")),
    ("tag with a no-break space", lambda b: _stable(b).update(tag="a\u00a0b")),
    ("tag a number", lambda b: _stable(b).update(tag=1)),
    ("weight 0", lambda b: _canary(b).update(weight=0)),
    ("weight over 100", lambda b: _canary(b).update(weight=100.5)),
    ("weight a boolean", lambda b: _canary(b).update(weight=True)),
    ("weight as text", lambda b: _canary(b).update(weight="10")),
    ("version with a leading zero", lambda b: _stable(b).update(version="01.0.0")),
    ("digest upper case", lambda b: _stable(b).update(digest="sha256:" + "A" * 64)),
    ("commit short", lambda b: b["source"].update(commit="a" * 39)),
    ("ref a number", lambda b: b["source"].update(ref=1)),
    ("registry null", lambda b: b["source"].update(registry=None)),
    ("unknown top key", lambda b: b.update(extra=1)),
    ("extension key in an entry", lambda b: _stable(b).update({"x-note": 1})),
    ("model name upper case", lambda b: b["models"].update({"Summ": None})),
    ("model entry a list", lambda b: b["models"].update(assistant=[])),
    ("canary missing since", lambda b: _canary(b).pop("since")),
]  # fmt: skip


@pytest.mark.parametrize(("why", "edit"), SCHEMA_REFUSES, ids=[b[0] for b in SCHEMA_REFUSES])
def test_the_runtime_refuses_what_the_bundle_schema_refuses(
    why: str, edit: Callable[[dict[str, Any]], Any]
) -> None:
    """README/schema: the loader "checks the same rules by hand" (and recomputes digests)."""
    validator = Draft202012Validator(SCHEMA)
    good = make_bundle()
    assert list(validator.iter_errors(good)) == []
    Registry.from_data(good)
    bad = make_bundle()
    edit(bad)
    assert list(validator.iter_errors(bad)) != [], f"the schema accepts {why}"
    with pytest.raises(BundleError) as found:
        Registry.from_data(bad)
    assert "\n" not in str(found.value)


def test_the_runtime_accepts_the_timestamps_and_tags_the_schema_accepts() -> None:
    validator = Draft202012Validator(SCHEMA)
    for since, tag in (
        ("2026-02-29T23:59:59Z", "modelreg/summarizer/production/12"),
        ("2026-11-21T10:05:00.123456789+05:30", None),
        ("2026-11-21T00:00:00-23:59", "v1"),
    ):
        bundle = make_bundle()
        _stable(bundle).update(since=since, tag=tag)
        _canary(bundle).update(since=since)
        assert list(validator.iter_errors(bundle)) == []
        assert Registry.from_data(bundle).resolve("summarizer", "production").version == "1.0.0"


def nested(levels: int) -> Any:
    """LEVELS arrays, one in the other: as a config's `author` (level 1) the innermost
    is at level LEVELS, the config itself being level 0 (as in modelreg.yamlio)."""
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


def deep_bundle(levels: int, where: str = "canary") -> dict[str, Any]:
    """A consistent bundle whose WHERE config nests LEVELS deep (its digest matches)."""
    bundle = make_bundle()
    side = _canary(bundle) if where == "canary" else _stable(bundle)
    side["config"]["author"] = nested(levels)
    side["digest"] = digest(side["config"])
    return bundle


def test_a_config_nests_at_most_as_deep_as_a_version_file(tmp_path: Path) -> None:
    """The same limit as the YAML loader: 64 levels below the config."""
    assert MAX_DEPTH == yamlio.MAX_DEPTH == 64
    for levels, accepted in ((MAX_DEPTH, True), (MAX_DEPTH + 1, False)):
        yaml_file = write(tmp_path / f"v{levels}.yaml", f"author: {json.dumps(nested(levels))}\n")
        if accepted:
            load_path(yaml_file)
        else:
            with pytest.raises(yamlio.StrictYamlError, match="nesting deeper than 64 levels"):
                load_path(yaml_file)
        for where in ("stable", "canary"):
            bundle = deep_bundle(levels, where)
            path = write(tmp_path / f"{where}{levels}.json", json.dumps(bundle))
            if accepted:
                Registry.from_bundle(path)
                Registry.from_data(bundle)
                continue
            field = (
                "models.summarizer.config"
                if where == "stable"
                else "models.summarizer.canary.config"
            )
            message = f"{field}: nests deeper than 64 levels, the limit of a version file"
            with pytest.raises(BundleError) as from_file:
                Registry.from_bundle(path)
            assert str(from_file.value) == f"{path}: {message}"
            with pytest.raises(BundleError) as from_data:
                Registry.from_data(bundle)
            assert str(from_data.value) == f"<bundle>: {message}"


@pytest.mark.parametrize("levels", [496, 900, 5000, 200_000])
def test_no_nesting_depth_raises_anything_but_a_bundle_error(tmp_path: Path, levels: int) -> None:
    """The review's 496-level bundle crashed `_freeze` with a RecursionError."""
    bundle = deep_bundle(levels) if levels < 900 else make_bundle()
    if levels >= 900:  # beyond what digest() could hash: no digest to match
        _canary(bundle)["config"]["author"] = nested(levels)
    with pytest.raises(BundleError, match=r"canary\.config: nests deeper than 64 levels"):
        Registry.from_data(bundle)
    text = json.dumps(bundle) if levels < 900 else "[" * levels + "]" * levels
    path = write(tmp_path / "deep.json", text)
    with pytest.raises(BundleError):
        Registry.from_bundle(path)
    extension = make_bundle()
    extension["x-notes"] = nested(levels)  # extension keys are kept: they are capped too
    with pytest.raises(
        BundleError, match=r"x-notes: nests deeper than 68 levels, the limit of a bundle"
    ):
        Registry.from_data(extension)
    if levels < 900:
        path = write(tmp_path / "x.json", json.dumps(extension))
        with pytest.raises(BundleError, match=r": x-notes: nests deeper than 68 levels"):
            Registry.from_bundle(path)


def test_from_data_refuses_a_cycle() -> None:
    bundle = make_bundle()
    loop: dict[str, Any] = {}
    loop["again"] = loop
    bundle["x-loop"] = loop
    with pytest.raises(BundleError, match="x-loop: nests deeper than"):
        Registry.from_data(bundle)


def test_a_bundle_over_the_size_cap_is_refused_unread(tmp_path: Path) -> None:
    assert MAX_BUNDLE_BYTES == 64 * 2**20
    path = tmp_path / "big.json"
    with open(path, "wb") as f:  # sparse: no disk, and nothing is read
        f.truncate(MAX_BUNDLE_BYTES + 1)
    with pytest.raises(BundleError) as found:
        Registry.from_bundle(path)
    assert str(found.value) == f"{path}: over the 64 MiB limit of a bundle"
    # at the cap the file is read (and is no JSON)
    with open(path, "r+b") as f:
        f.truncate(MAX_BUNDLE_BYTES)
    with pytest.raises(BundleError, match="not valid JSON"):
        Registry.from_bundle(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_a_device_or_a_folder_is_no_bundle_and_nothing_hangs(tmp_path: Path) -> None:
    fifo = tmp_path / "bundle.json"
    os.mkfifo(fifo)
    code = (
        "import sys\nfrom modelreg import Registry, RegistryError\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n        Registry.from_bundle(name)\n"
        "    except RegistryError as e:\n        print(e)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(fifo), os.devnull, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,  # opening a FIFO with no writer blocked forever
        cwd=PROJECT,
    )
    assert proc.stderr == ""
    assert proc.stdout.splitlines() == [
        f"{fifo}: not a regular file (a FIFO, device or socket)",
        f"{os.devnull}: not a regular file (a FIFO, device or socket)",
        f"{tmp_path}: not a regular file (a folder)",
    ]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs RLIMIT_AS and /proc")
def test_running_out_of_memory_on_a_large_bundle_is_a_bundle_error(tmp_path: Path) -> None:
    """A 60 MiB file of one JSON array of 31 million zeros: under the size cap, but
    parsing it needs some 250 MB more than this process may take."""
    path = tmp_path / "zeros.json"
    count = 30 * 2**20
    with open(path, "w") as f:
        f.write("[" + "0," * (count - 1) + "0]")
    assert path.stat().st_size < MAX_BUNDLE_BYTES
    code = (
        "import resource, sys\n"
        "from modelreg import Registry, RegistryError\n"
        "size = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmSize:'))\n"
        "limit = size * 1024 + 200 * 2**20  # reading and decoding the text fits, parsing not\n"
        "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
        "try:\n    Registry.from_bundle(sys.argv[1])\n"
        "except RegistryError as e:\n    print(type(e).__name__, e)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=PROJECT
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == f"BundleError {path}: too large to load in the memory available\n"


# --- Registry.open on a real repository ------------------------------------------------------


@pytest.fixture
def canary_repo(
    cli: Cli, signed: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> Path:
    return canary_copy(cli, signed, tmp_path_factory, tmp_path)


def test_open_and_the_exported_bundle_route_every_key_alike(
    cli: Cli, canary_repo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bundle.json"
    assert cli("export", "--stage", "development", "-o", str(out), cwd=canary_repo).code == 0
    from_file = Registry.from_bundle(out)
    work = Registry.open(canary_repo)
    at_head = Registry.open(str(canary_repo), ref="HEAD")
    keys = KEYS[:3000]
    sides = [from_file.resolve("summarizer", "development", k).digest for k in keys]
    assert sides == [work.resolve("summarizer", "development", k).digest for k in keys]
    assert sides == [at_head.resolve("summarizer", "development", k).digest for k in keys]
    assert set(sides) == {
        version_digest(canary_repo, "summarizer", "1.0.0"),
        version_digest(canary_repo, "summarizer", "1.1.0"),
    }
    assert at_head.bundle("development") == json.loads(out.read_text())


def test_open_reads_stages_lazily_and_knows_the_policy_stages(canary_repo: Path) -> None:
    reg = Registry.open(canary_repo)
    assert reg.stages == ("development", "staging", "production")
    assert "none" in repr(reg)
    with pytest.raises(NotServing, match="summarizer serves nothing on production"):
        reg.resolve("summarizer", "production")
    with pytest.raises(UnknownStage, match=r"unknown stage 'prod' \(stages: development, "):
        reg.resolve("summarizer", "prod")
    with pytest.raises(UnknownModel, match="unknown model 'nope'"):
        reg.resolve("nope", "development")
    assert "production" in repr(reg) and "development" in repr(reg)


def test_open_at_a_ref_ignores_uncommitted_edits_and_the_work_tree_does_not(
    canary_repo: Path,
) -> None:
    reg = Registry.open(canary_repo, ref="HEAD")
    state = canary_repo / "stages" / "ticket-classifier.yaml"
    d2 = version_digest(canary_repo, "ticket-classifier", "2.0.0")
    text = state.read_text()
    d1 = version_digest(canary_repo, "ticket-classifier", "1.0.0")
    write(state, text.replace("version: 1.0.0", "version: 2.0.0").replace(d1, d2))
    assert reg.resolve("ticket-classifier", "development").version == "1.0.0"
    with pytest.raises(SourceError, match="not what a signed action committed"):
        Registry.open(canary_repo).resolve("ticket-classifier", "development")
    commit_all(canary_repo, "by hand")
    assert reg.resolve("ticket-classifier", "development").version == "1.0.0"  # a snapshot


def test_open_refuses_a_state_digest_its_version_file_does_not_match(canary_repo: Path) -> None:
    state = canary_repo / "stages" / "summarizer.yaml"
    real = version_digest(canary_repo, "summarizer", "1.0.0")
    write(state, state.read_text().replace(real, "sha256:" + "e" * 64))
    reg = Registry.open(canary_repo)
    with pytest.raises(SourceError) as found:
        reg.resolve("summarizer", "development")
    text = str(found.value)
    where = canary_repo / "stages" / "summarizer.yaml"
    assert text.startswith(f"{where}: summarizer@1.0.0 serves development with digest ")
    assert "sha256:" + "e" * 64 in text and real in text
    assert found.value.__cause__ is not None


def test_open_errors(tmp_path: Path, loose_example: Path, canary_repo: Path) -> None:
    with pytest.raises(SourceError, match="not a registry"):
        Registry.open(tmp_path)
    with pytest.raises(SourceError, match="in no git repository"):
        Registry.open(loose_example, ref="HEAD")
    with pytest.raises(SourceError, match="unknown revision 'nope'"):
        Registry.open(canary_repo, ref="nope")
    # outside git the work tree is read as it is
    reg = Registry.open(loose_example)
    with pytest.raises(NotServing):
        reg.resolve("summarizer", "production")
    assert reg.bundle("production")["source"] == {"commit": None, "ref": None, "registry": ""}


def test_resolve_key_routes_the_bytes_given_on_the_command_line_as_the_library_does(
    cli: Cli, canary_repo: Path
) -> None:
    """argv is decoded with surrogateescape; `--key` must route the bytes given, as
    `Registry.resolve(key=bytes)` does, not their surrogatepass encoding."""
    reg = Registry.open(canary_repo)
    raws = [b"user-\xff%d" % i for i in range(16)]
    as_argv = [os.fsdecode(raw) for raw in raws]  # what sys.argv holds for those bytes
    assert as_argv[1] == "user-\udcff1"
    sides = {raw: reg.resolve("summarizer", "development", raw).variant for raw in raws}
    assert set(sides.values()) == {"stable", "canary"}
    # the test tells the two encodings apart: some keys route differently under each
    surrogatepass = {
        r: reg.resolve("summarizer", "development", k).variant
        for r, k in zip(raws, as_argv, strict=True)
    }
    differ = [raw for raw in raws if surrogatepass[raw] != sides[raw]]
    assert differ
    for raw, key in zip(raws, as_argv, strict=True):
        result = cli(
            "--json",
            "resolve",
            "summarizer",
            "--stage",
            "development",
            "--key",
            key,
            cwd=canary_repo,
        )
        assert result.code == 0, result.err
        assert json.loads(result.out)["variant"] == sides[raw], raw
    # and through a real argv, as bytes
    proc = subprocess.run(
        [venv_bin() / "modelreg", "--json", "resolve", "summarizer", "--stage", "development",
         b"--key", differ[0]],
        capture_output=True, cwd=canary_repo,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["variant"] == sides[differ[0]]
