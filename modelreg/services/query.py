"""Service: read-only questions about the registry: `list`, `show`, `status`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from modelreg.core.actions import iso_utc
from modelreg.core.digest import canonical_json
from modelreg.core.names import parse_ref
from modelreg.core.policy import in_policy_order
from modelreg.errors import BadInput, NotFound
from modelreg.registry import Registry
from modelreg.vcs import Git


@dataclass
class Lifecycle:
    """Where one version stands: the stages it serves, where it is a canary, archived."""

    stages: list[str] = field(default_factory=list)
    canary: dict[str, float] = field(default_factory=dict)  # stage -> weight in percent
    archived: bool = False


@dataclass
class VersionSummary:
    model: str
    version: str
    kind: str
    digest: str | None  # None when the file is invalid
    lifecycle: Lifecycle
    created: str | None
    problem: str | None = None  # `file:line: message` of an invalid file (a draft from `new`)

    def as_json(self) -> dict[str, Any]:
        out = {
            "model": self.model,
            "version": self.version,
            "kind": self.kind,
            "digest": self.digest,
            "stages": self.lifecycle.stages,
            "canary": self.lifecycle.canary,
            "archived": self.lifecycle.archived,
            "created": self.created,
        }
        if self.problem:
            out["problem"] = self.problem
        return out


@dataclass
class ShowResult:
    model: str
    version: str
    kind: str
    digest: str
    config: dict[str, Any]
    lifecycle: Lifecycle
    evals: dict[str, dict[str, Any]]
    stale_evals: list[str]  # suites whose config_digest names another config
    file: str
    text: str  # the file as written, comments included

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "kind": self.kind,
            "digest": self.digest,
            "config": self.config,
            "stages": self.lifecycle.stages,
            "canary": self.lifecycle.canary,
            "archived": self.lifecycle.archived,
            "evals": self.evals,
        }


@dataclass
class StatusResult:
    stages: list[str]
    models: dict[str, dict[str, dict[str, Any] | None]] = field(default_factory=dict)
    signing_required: bool = True
    last_action: dict[str, str] = field(default_factory=dict)  # model -> "<time> <subject>"

    def as_json(self) -> dict[str, Any]:
        return {"models": self.models}


def _lifecycles(reg: Registry, model: str) -> dict[str, Lifecycle]:
    """{version: Lifecycle} of every version of MODEL the state file mentions."""
    state = reg.stage_state(model)
    stages = state.get("stages") or {}
    out: dict[str, Lifecycle] = {}
    for stage in in_policy_order(stages, reg.policy.stages):
        entry = stages[stage]
        if not entry:
            continue
        out.setdefault(entry["version"], Lifecycle()).stages.append(stage)
        canary = entry.get("canary")
        if canary:
            out.setdefault(canary["version"], Lifecycle()).canary[stage] = canary["weight"]
    for version in state.get("archived") or ():
        out.setdefault(version, Lifecycle()).archived = True
    return out


def list_versions(reg: Registry, model: str | None = None) -> list[VersionSummary]:
    if model is not None:
        reg.require_model(model)
    out = []
    for name in [model] if model else reg.model_names():
        lifecycles = _lifecycles(reg, name)
        for version in reg.versions(name):
            try:
                rec = reg.version(name, version)
            except BadInput as e:
                # one unfinished file (say a draft from `new`) does not hide the others
                where = f"{e.file}:{e.line}: " if e.line else f"{e.file}: "
                life = lifecycles.get(version, Lifecycle())
                out.append(VersionSummary(name, version, "?", None, life, None, where + e.message))
                continue
            out.append(
                VersionSummary(
                    model=name,
                    version=version,
                    kind=rec.data["kind"],
                    digest=rec.digest,
                    lifecycle=lifecycles.get(version, Lifecycle()),
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
    evals = reg.evals(ref.model, version)
    return ShowResult(
        model=ref.model,
        version=version,
        kind=rec.data["kind"],
        digest=rec.digest,
        # as the digest describes it: `max_tokens: 256.0` is the number 256
        config=json.loads(canonical_json(rec.data)),
        lifecycle=_lifecycles(reg, ref.model).get(version, Lifecycle()),
        evals=evals,
        stale_evals=[suite for suite, data in evals.items() if data["config_digest"] != rec.digest],
        file=reg.display(rec.path),
        text=rec.text,
    )


def status(reg: Registry, model: str | None = None) -> StatusResult:
    policy = reg.policy
    if model is not None:
        reg.require_model(model)
    result = StatusResult(stages=list(policy.stages), signing_required=policy.signing_required)
    heads: dict[str, str] = {}  # the chain heads' refs -> model, for the last action
    for name in [model] if model else reg.model_names():
        row: dict[str, dict[str, Any] | None] = {}
        state = reg.stage_state(name)  # read once: it gives the entries and the chain heads
        heads.update({f"refs/tags/{tag}": name for tag in (state.get("tags") or {}).values()})
        stages = state.get("stages") or {}
        for stage, entry in ((s, stages.get(s)) for s in policy.stages):
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
    result.last_action = _last_actions(reg, heads)
    return result


def _last_actions(reg: Registry, heads: dict[str, str]) -> dict[str, str]:
    """model -> "<tagger date> <subject>" of its newest action: one for-each-ref over the
    chain heads (HEADS: tag ref -> model)."""
    if reg.git is None or not heads:
        return {}
    git = reg.git
    out: dict[str, tuple[int, str, str]] = {}  # model -> (epoch, subject, commit)
    fields = ("refname", "taggerdate:unix", "contents:subject", "*objectname")
    for ref, epoch, subject, commit in git.for_each_ref(fields, *sorted(heads)):
        model = heads.get(ref)
        if model is None or not epoch.isdigit():
            continue
        best = out.get(model)
        # Tagger dates have one-second resolution: of two actions in the same second,
        # the later is the one whose commit descends from the other's.
        if (
            best is None
            or int(epoch) > best[0]
            or (int(epoch) == best[0] and _after(git, commit, best[2]))
        ):
            out[model] = (int(epoch), subject.removeprefix("modelreg: "), commit)
    return {m: f"{iso_utc(e)} {text}" for m, (e, text, _c) in out.items()}


def _after(git: Git, commit: str, other: str) -> bool:
    """COMMIT came after OTHER on the branch (OTHER is its ancestor)."""
    if commit == other or not commit:
        return False
    return git.run("merge-base", "--is-ancestor", other, commit, check=False).returncode == 0
