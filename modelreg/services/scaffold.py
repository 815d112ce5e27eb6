"""Service: `new`, scaffolding the next version file of a model from its parent."""

from __future__ import annotations

import getpass
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelreg.core.names import Version, model_name_problem, parse_version
from modelreg.errors import NotFound, Refused, UsageError
from modelreg.registry import Registry
from modelreg.yamlio import dumps, roundtrip_load, write_atomic

KINDS = ("prompt-config", "fine-tuned", "api-snapshot")
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
    return getpass.getuser()


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


def new_version(
    reg: Registry,
    model: str,
    *,
    from_version: str | None = None,
    bump: str = "minor",
    kind: str | None = None,
) -> NewResult:
    problem = model_name_problem(model)
    if problem:
        raise UsageError(problem)
    if kind is not None and kind not in KINDS:
        raise UsageError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    existing = reg.versions(model)
    if from_version is None and not existing:
        path = reg.version_path(model, FIRST_VERSION)
        if path.exists():  # pragma: no cover - versions() would have listed it
            raise Refused(f"{reg.display(path)} already exists")
        data = _first_version(model, kind or "prompt-config")
        data["created"], data["author"] = _now(), _author(reg)
        write_atomic(path, dumps(data))
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
    reg.load(parent_path)  # refuse a parent that is not strict registry YAML
    version = str(Version(*parse_version(parent)).bump(bump))  # type: ignore[misc]
    path = reg.version_path(model, version)
    if path.exists():
        raise Refused(
            f"{reg.display(path)} already exists: pick another --bump or --from "
            f"(latest is {existing[-1]})"
        )
    doc = roundtrip_load(parent_path.read_text(encoding="utf-8"))
    doc["version"] = version
    if kind is not None:
        doc["kind"] = kind
    if "parent" in doc:
        doc["parent"] = parent
    else:
        doc.insert(list(doc).index("kind") + 1 if "kind" in doc else len(doc), "parent", parent)
    changes = {"summary": "", "reason": ""}
    if "changes" in doc:
        doc["changes"] = changes
    else:
        at = list(doc).index("created") if "created" in doc else len(doc)
        doc.insert(at, "changes", changes)
    doc.yaml_set_comment_before_after_key(
        "changes", before="fill in what changed and why; `modelreg check` refuses empty ones"
    )
    doc["created"] = _now()
    doc["author"] = _author(reg)
    write_atomic(path, dumps(doc))
    return NewResult(model, version, parent, path)
