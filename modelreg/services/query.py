"""Service: read-only questions about the registry: `list`, `show`, `status`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from modelreg.core.digest import canonical_json
from modelreg.core.names import parse_ref
from modelreg.core.policy import in_policy_order
from modelreg.errors import BadInput, GitError, NotFound
from modelreg.registry import Registry
from modelreg.vcs import Git, Started
from modelreg.yamlio import MAX_BYTES, read_regular


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
    # One model's query is too quick (5 ms) to gain from being asked early
    early = _start_last_actions(reg) if model is None else None
    try:
        return _status(reg, model, early)
    finally:
        if early is not None:
            early.query.close()


def _status(reg: Registry, model: str | None, early: _EarlyQuery | None) -> StatusResult:
    policy = reg.policy
    if model is not None:
        reg.require_model(model)
    result = StatusResult(stages=list(policy.stages), signing_required=policy.signing_required)
    heads: dict[str, str] = {}  # the chain heads' refs -> model, for the last action
    # every model: as listed for the early query, when there is one
    names = [model] if model else (early.names if early else reg.model_names())
    for name in names:
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
    result.last_action = _last_actions(reg, heads, early)
    return result


# The tag of each action: tagger date, subject and the commit, per chain head.
_LAST_ACTION_FIELDS = ("refname", "taggerdate:unix", "contents:subject", "*objectname")


class _EarlyQuery(NamedTuple):
    names: list[str]  # the models, listed before the policy was read
    patterns: list[str]  # the guessed heads, sorted: the query's patterns
    query: Started[list[list[str]]]


def _start_last_actions(reg: Registry) -> _EarlyQuery | None:
    """The last-action query for the heads the state files seem to name, started before
    the policy and the state files are parsed (0.1 s for 200 models), so that git answers
    meanwhile; None where there is nothing to guess, or reading went wrong (the strict
    reading that follows meets the same trouble, and reports it in its own order)."""
    try:
        names = reg.model_names()
        guess: set[str] = set()
        for name in names:
            try:
                guess.update(_guess_heads(read_regular(reg.stage_path(name), MAX_BYTES)))
            except FileNotFoundError:
                continue  # no action yet
        git = reg.git
        if git is None or not guess:
            return None
        patterns = sorted(guess)
        return _EarlyQuery(
            names, patterns, git.for_each_ref_started(_LAST_ACTION_FIELDS, *patterns)
        )
    except (OSError, UnicodeDecodeError, GitError):
        return None


def _guess_heads(raw: bytes) -> list[str]:
    """The chain heads' refs in a state file's text as modelreg writes it: `tags:` last,
    then one `  stage: name` a line. Only a guess: the early query is used only when it
    names exactly the heads the strict parse finds."""
    at = raw.rfind(b"\ntags:")
    lines = raw[at + 1 :].split(b"\n") if at >= 0 else [b""]
    if lines[0].rstrip() != b"tags:":
        return []
    out = []
    for line in lines[1:]:
        if not line[:1].isspace():
            break
        out.append(f"refs/tags/{line.partition(b':')[2].strip().decode()}")
    return out


def _last_actions(
    reg: Registry, heads: dict[str, str], early: _EarlyQuery | None = None
) -> dict[str, str]:
    """model -> "<tagger date> <subject>" of its newest action: one for-each-ref over the
    chain heads (HEADS: tag ref -> model), EARLY's when it asked for exactly those."""
    if reg.git is None or not heads:
        return {}
    git = reg.git
    patterns = sorted(heads)
    rows = None
    if early is not None and early.patterns == patterns:
        try:
            rows = early.query.result()  # the very query below, asked earlier
        except GitError:
            pass  # asked again below, so that it fails (or not) there as it always did
    if rows is None:
        rows = git.for_each_ref(_LAST_ACTION_FIELDS, *patterns)
    from modelreg.core.actions import iso_utc  # here: `show` and `list` need none of it

    out: dict[str, tuple[int, str, str]] = {}  # model -> (epoch, subject, commit)
    for ref, epoch, subject, commit in rows:
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
