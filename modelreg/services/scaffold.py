"""Service: `new`, scaffolding the next version file of a model from its parent."""

from __future__ import annotations

import getpass
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelreg.core.names import Version, model_name_problem, parse_version
from modelreg.errors import BadInput, ModelregError, NotFound, Refused, UsageError, unreadable
from modelreg.registry import Registry, obstacle
from modelreg.services.init import modeline, schema_copy, with_modeline
from modelreg.yamlio import (
    StrictYamlError,
    dumps,
    load_path,
    loads,
    roundtrip_load,
    write_atomic,
)

MODEL_KINDS = ("prompt-config", "fine-tuned", "api-snapshot")
FIRST_VERSION = "1.0.0"


@dataclass
class NewResult:
    model: str
    version: str
    parent: str | None
    path: Path


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _author(reg: Registry) -> str:
    if reg.git is not None:
        email = reg.git.run("config", "user.email", check=False).stdout.decode().strip()
        if email:
            return email
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment
        return "unknown"


def _first_version(model: str, kind: str) -> dict[str, Any]:
    """A first version with the fields a person must fill left empty (check refuses them)."""
    data: dict[str, Any] = {
        "schema": "modelreg/v1",
        "name": model,
        "version": FIRST_VERSION,
        "kind": kind,
        "model": {"provider": "", "id": ""},
        "params": {"temperature": 0.2, "max_tokens": 512},
        "system_prompt": "",
    }
    if kind == "fine-tuned":
        data["training"] = {
            "base_model": "",
            "data_version": "",
            "hyperparameters": {},
            "artifact": {"uri": "", "sha256": ""},
        }
    return data


def _align(rt: Any, strict: Any) -> None:
    """Give round-trip data RT the values STRICT (the strict loader's reading) has, in place."""
    keys = range(len(rt)) if isinstance(rt, list) else list(rt)
    for key in keys:
        mine, truth = rt[key], strict[key]
        if isinstance(truth, (dict, list)):
            _align(mine, truth)
        elif type(mine) is not type(truth) and not (
            isinstance(mine, type(truth)) and mine == truth
        ):
            rt[key] = truth  # e.g. a ruamel timestamp where the registry means the string


def _put(
    doc: Any, key: str, value: Any, *, after: str | None = None, before: str | None = None
) -> None:
    """Set KEY, inserting it after/before another key when it is new."""
    if key in doc:
        doc[key] = value
        return
    keys = list(doc)
    if after in keys:
        at = keys.index(after) + 1
    elif before in keys:
        at = keys.index(before)
    else:
        at = len(keys)
    doc.insert(at, key, value)


def _associated(reg: Registry, text: str) -> str:
    """TEXT with the editor association line (`# yaml-language-server: $schema=...`) when the
    registry holds the schema copies `init` writes; otherwise as it is (a line copied from
    the parent stays: the new file sits as deep as the parent)."""
    if not (reg.root / schema_copy("model-version")).is_file():
        return text
    return with_modeline(text, modeline("model-version", 2))


def _writable(reg: Registry, path: Path) -> Path:
    blocker = obstacle(path, reg.root)
    if blocker is not None:
        raise UsageError(
            f"{reg.display(blocker)} is a file, not a folder: cannot create {reg.display(path)}"
        )
    return path


# fields modelreg writes itself; a config brought in with --config may not set them
MANAGED = ("schema", "name", "version", "parent", "created", "author")


def _from_config(reg: Registry, model: str, config: Path, kind: str | None) -> dict[str, Any]:
    """A first version of MODEL holding the fields of CONFIG (a YAML or JSON file, e.g. the
    settings a service hard-coded), checked against the schema; BadInput with CONFIG's line."""
    from modelreg.schemas import validate

    shown = str(config)
    try:
        doc = load_path(config)
    except OSError as e:
        raise unreadable(e, shown) from None
    except StrictYamlError as e:
        raise BadInput(e.problems[0].message, file=shown, line=e.problems[0].line) from None
    if not isinstance(doc.data, dict):
        raise BadInput(
            "a config is a mapping of version fields (model, params, ...)", file=shown, line=1
        )
    for key in MANAGED:
        if key in doc.data:
            raise BadInput(
                f"{key!r} is written by modelreg, not taken from a config: remove it",
                file=shown,
                line=doc.line_of((key,)),
            )
    given_kind = doc.data.get("kind")
    data: dict[str, Any] = {
        "schema": "modelreg/v1",
        "name": model,
        "version": FIRST_VERSION,
        "kind": kind or given_kind or "prompt-config",
        **{k: v for k, v in doc.data.items() if k != "kind"},
        "created": _now(),
        "author": _author(reg),
    }
    problems = validate("model-version", data)
    if problems:
        where = problems[0].path
        line = doc.line_of(where) if where and where[0] in doc.data else 1
        dotted = ".".join(str(p) for p in where)
        raise BadInput(
            f"{dotted + ': ' if dotted else ''}{problems[0].message}", file=shown, line=line
        )
    return data


def new_version(
    reg: Registry,
    model: str,
    *,
    from_version: str | None = None,
    bump: str = "minor",
    kind: str | None = None,
    config: Path | None = None,
) -> NewResult:
    """The next version file of MODEL from its parent, or its first one (from CONFIG when
    given: migrating a config a service hard-coded)."""
    problem = model_name_problem(model)
    if problem:
        raise UsageError(problem)
    if kind is not None and kind not in MODEL_KINDS:
        raise UsageError(f"unknown kind {kind!r}: use one of {', '.join(MODEL_KINDS)}")
    existing = reg.versions(model)
    if config is not None:
        if existing or from_version is not None:
            raise UsageError(
                f"--config starts a new model, and {model} has versions: run `modelreg new "
                f"{model}` and edit the file it writes"
            )
        path = _writable(reg, reg.version_path(model, FIRST_VERSION))
        data = _from_config(reg, model, config, kind)
        write_atomic(path, _associated(reg, dumps(data)))
        return NewResult(model, FIRST_VERSION, None, path)
    if from_version is None and not existing:
        path = _writable(reg, reg.version_path(model, FIRST_VERSION))
        if path.exists():  # pragma: no cover - versions() would have listed it
            raise Refused(f"{reg.display(path)} already exists")
        data = _first_version(model, kind or "prompt-config")
        data["created"], data["author"] = _now(), _author(reg)
        write_atomic(path, _associated(reg, dumps(data)))
        return NewResult(model, FIRST_VERSION, None, path)

    parent = from_version or existing[-1]
    if parse_version(parent) is None:
        raise UsageError(f"--from {parent!r} is not a version (MAJOR.MINOR.PATCH)")
    parent_path = reg.version_path(model, parent)
    if not parent_path.is_file():
        reg.require_model(model)
        raise NotFound(
            f"unknown version {model}@{parent} (versions: {', '.join(existing) or 'none'})"
        )
    parent_data = reg.load(parent_path, "model-version").data
    version = str(Version(*parse_version(parent)).bump(bump))  # type: ignore[misc]
    path = reg.version_path(model, version)
    if path.exists():
        raise Refused(
            f"{reg.display(path)} already exists: pick another --bump or --from "
            f"(latest is {existing[-1]})"
        )
    new_kind = kind or parent_data["kind"]
    updates: dict[str, Any] = {
        "version": version,
        "kind": new_kind,
        "parent": parent,
        "changes": {"summary": "", "reason": ""},
        "created": _now(),
        "author": _author(reg),
    }
    if new_kind == "fine-tuned" and "training" not in parent_data:
        updates["training"] = _first_version(model, "fine-tuned")["training"]
    expected = {**parent_data, **updates}

    # Edit the parent's text in round-trip mode so its comments and layout survive,
    # but with the strict loader's values: ruamel would read `2026-10-01` as a date
    # and `1_000` as a number, where registry files mean the strings.
    doc = roundtrip_load(parent_path.read_text(encoding="utf-8"))
    _align(doc, parent_data)
    for key in ("version", "kind"):
        doc[key] = updates[key]
    _put(doc, "parent", parent, after="kind")
    _put(doc, "changes", updates["changes"], before="created")
    doc.yaml_set_comment_before_after_key(
        "changes", before="fill in what changed and why; `modelreg check` refuses empty ones"
    )
    if "training" in updates:
        _put(doc, "training", updates["training"], before="changes")
    doc["created"] = updates["created"]
    doc["author"] = updates["author"]
    text = dumps(doc)
    if loads(text).data != expected:  # pragma: no cover - a bug here must not write a wrong file
        raise ModelregError(
            f"internal error: the scaffold of {model}@{version} does not read back as written"
        )
    write_atomic(path, _associated(reg, text))
    return NewResult(model, version, parent, path)
