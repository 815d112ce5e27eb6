"""Service: read-only questions about the registry: `list`, `show`, `status`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelreg.core.names import parse_ref
from modelreg.errors import NotFound
from modelreg.registry import Registry


@dataclass
class VersionSummary:
    model: str
    version: str
    kind: str
    digest: str
    stages: list[str]  # stages serving it (a canary is shown as "production (canary 5%)")
    archived: bool
    created: str | None


@dataclass
class ShowResult:
    model: str
    version: str
    kind: str
    digest: str
    config: dict[str, Any]
    stages: list[str]
    archived: bool
    evals: dict[str, dict[str, Any]]
    file: str
    text: str  # the file as written, comments included

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "kind": self.kind,
            "digest": self.digest,
            "config": self.config,
            "stages": self.stages,
            "archived": self.archived,
            "evals": self.evals,
        }


@dataclass
class StatusResult:
    stages: list[str]
    models: dict[str, dict[str, dict[str, Any] | None]] = field(default_factory=dict)
    signing_required: bool = True

    def as_json(self) -> dict[str, Any]:
        return {"models": self.models}


def _lifecycle(reg: Registry, model: str) -> tuple[dict[str, list[str]], set[str]]:
    """{version: [stage labels]} and the archived versions of MODEL, from its state file."""
    state = reg.stage_state(model)
    serving: dict[str, list[str]] = {}
    for stage, entry in (state.get("stages") or {}).items():
        if not entry:
            continue
        serving.setdefault(entry["version"], []).append(stage)
        canary = entry.get("canary")
        if canary:
            serving.setdefault(canary["version"], []).append(
                f"{stage} (canary {canary['weight']:g}%)"
            )
    return serving, set(state.get("archived") or ())


def list_versions(reg: Registry, model: str | None = None) -> list[VersionSummary]:
    if model is not None:
        reg.require_model(model)
    out = []
    for name in [model] if model else reg.model_names():
        serving, archived = _lifecycle(reg, name)
        for version in reg.versions(name):
            rec = reg.version(name, version)
            out.append(
                VersionSummary(
                    model=name,
                    version=version,
                    kind=str(rec.data.get("kind", "")),
                    digest=rec.digest,
                    stages=serving.get(version, []),
                    archived=version in archived,
                    created=rec.data.get("created"),
                )
            )
    return out


def show(reg: Registry, ref_text: str) -> ShowResult:
    ref = parse_ref(ref_text, reg.policy.stages)
    reg.require_model(ref.model)
    version = ref.version
    if version is None:
        entry = reg.serving(ref.model).get(ref.stage or "")
        if not entry:
            raise NotFound(f"{ref}: nothing serves {ref.stage} yet")
        version = entry["version"]
    rec = reg.version(ref.model, version)
    serving, archived = _lifecycle(reg, ref.model)
    return ShowResult(
        model=ref.model,
        version=version,
        kind=str(rec.data.get("kind", "")),
        digest=rec.digest,
        config=rec.data,
        stages=serving.get(version, []),
        archived=version in archived,
        evals=reg.evals(ref.model, version),
        file=reg.display(rec.path),
        text=rec.path.read_text(encoding="utf-8"),
    )


def status(reg: Registry, model: str | None = None) -> StatusResult:
    policy = reg.policy
    if model is not None:
        reg.require_model(model)
    result = StatusResult(stages=list(policy.stages), signing_required=policy.signing_required)
    for name in [model] if model else reg.model_names():
        row: dict[str, dict[str, Any] | None] = {}
        for stage, entry in reg.serving(name).items():
            if not entry:
                row[stage] = None
                continue
            canary = entry.get("canary")
            row[stage] = {
                "version": entry["version"],
                "digest": entry["digest"],
                "previous": entry.get("previous"),
                "since": entry.get("since"),
                "canary": (
                    {
                        "version": canary["version"],
                        "digest": canary["digest"],
                        "weight": canary["weight"],
                    }
                    if canary
                    else None
                ),
            }
        result.models[name] = row
    return result
