"""Core: the rules of each action (DESIGN section 3) and the stage state it produces.

`decide` is pure: it reads the registry through a `View` (HEAD's tree when an
action runs, the parent commit's tree when `verify` re-checks one) and answers
with the new state and the record to seal, a no-op, or a refusal. Both the
action and the verifier call it, so what `promote` allows is exactly what
`verify` accepts.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from modelreg.core.actions import ARCHIVED, ActionRecord, TagName, format_weight
from modelreg.core.gates import evaluate_gates, gate_eval_digests
from modelreg.core.names import version_sort_key
from modelreg.core.pinning import is_pinned
from modelreg.core.policy import Policy, in_policy_order

STATE_SCHEMA = "modelreg/stages/v1"


class View(Protocol):
    """What the rules need to know about the registry at one point in history."""

    @property
    def policy(self) -> Policy: ...

    def version(self, model: str, version: str) -> tuple[dict[str, Any], str] | None:
        """(data, digest) of a registered version, or None."""

    def evals(self, model: str, version: str) -> Mapping[str, Mapping[str, Any]]:
        """suite -> eval data of a registered version."""

    def state(self, model: str) -> dict[str, Any]:
        """The stage state file's data (an empty state before the first action)."""

    def served(self, model: str, stage: str) -> set[str]:
        """Versions that served STAGE at some commit of this history (from the state file's
        past contents: committed history, not tag messages anyone can write)."""


@dataclass(frozen=True)
class Request:
    action: str
    model: str
    stage: str  # "archived" for archive/unarchive
    reason: str
    actor: str
    version: str | None = None
    weight: float | None = None


class Refusal(Exception):
    """The action's rules say no (exit 1); RULE names which."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


@dataclass(frozen=True)
class Decision:
    """What an action does: the record to seal and the new state; `noop` when it already holds."""

    record: ActionRecord | None
    state: dict[str, Any]
    noop: str | None = None  # why nothing is to be done


def empty_state(model: str) -> dict[str, Any]:
    return {"schema": STATE_SCHEMA, "model": model, "stages": {}}


def last_tag(state: dict[str, Any], stage: str) -> str | None:
    """The name of STAGE's newest action tag, as the state file records it."""
    tag = (state.get("tags") or {}).get(stage)
    return tag if isinstance(tag, str) else None


def next_seq(state: dict[str, Any], stage: str, prefix: str) -> tuple[int, str | None]:
    """(seq of the next action on STAGE, name of the last tag) from the state's tag chain."""
    last = last_tag(state, stage)
    if last is None:
        return 1, None
    parsed = TagName.parse(last, prefix)
    if parsed is None:
        raise Refusal("tag-chain", f"the state file names {last!r}, which is not an action tag")
    return parsed.seq + 1, last


class _Decider:
    def __init__(self, view: View, req: Request, at: str) -> None:
        self.view, self.req, self.at = view, req, at
        self.policy = view.policy
        current = copy.deepcopy(view.state(req.model))
        # Only the keys modelreg writes: the new state is compared key for key by `verify`.
        self.state = empty_state(req.model)
        self.state["stages"] = current.get("stages") or {}
        if current.get("tags"):
            self.state["tags"] = current["tags"]
        self.stages: dict[str, Any] = self.state["stages"]
        self.archived: list[str] = list(current.get("archived") or [])

    # --- facts -------------------------------------------------------------------

    def registered(self, version: str) -> tuple[dict[str, Any], str]:
        found = self.view.version(self.req.model, version)
        if found is None:
            raise Refusal(
                "unregistered",
                f"{self.req.model}@{version} is not registered: commit its file first",
            )
        return found

    def serving(self, stage: str) -> dict[str, Any] | None:
        entry = self.stages.get(stage)
        return entry if isinstance(entry, dict) else None

    def serve(self, stage: str, version: str, dg: str, previous: str | None) -> None:
        """STAGE serves VERSION from now on (any canary ends); PREVIOUS is its rollback target."""
        self.stages[stage] = {
            "version": version,
            "digest": dg,
            "previous": previous,
            "since": self.at,
        }

    def not_archived(self, version: str) -> None:
        if version in self.archived:
            raise Refusal(
                "archived",
                f"{self.req.model}@{version} is archived; `modelreg unarchive` it first",
            )

    def max_weight(self, stage: str) -> float:
        rule = self.policy.stage_rules.get(stage)
        return float((rule.canary if rule else {}).get("max_weight", 100))

    def check_weight(self, stage: str) -> float:
        weight = self.req.weight
        if weight is None or not 0 < weight <= 100:
            raise Refusal(
                "canary-weight", "--weight must be above 0 and at most 100 (percent of the traffic)"
            )
        top = self.max_weight(stage)
        if weight > top:
            raise Refusal(
                "canary-weight",
                f"weight {format_weight(weight)}% is above {stage}'s canary.max_weight "
                f"{format_weight(top)}%",
            )
        return weight

    def entry_rules(
        self, stage: str, version: str, data: dict[str, Any], dg: str, *, check_from: bool = True
    ) -> dict[str, Any]:
        """Gates, from-stage and pinning of STAGE for VERSION; the record's facts about the
        evidence: the digests of the evals the gates used, and of the baseline's evals."""
        rule = self.policy.stage_rules.get(stage)
        if rule is None:
            return {}  # no rules: no evidence
        if check_from and rule.from_stages is not None:
            holds = [
                s for s in rule.from_stages if (self.serving(s) or {}).get("version") == version
            ]
            if not holds:
                raise Refusal(
                    "from-stage",
                    f"{self.req.model}@{version} must serve one of {', '.join(rule.from_stages)} "
                    f"before it enters {stage}",
                )
        model_id = str((data.get("model") or {}).get("id", ""))
        if rule.require_pinned_model and not is_pinned(model_id, self.policy.pinned_patterns):
            raise Refusal(
                "pinned-model",
                f"{stage} requires a pinned model id; {model_id!r} is a floating alias",
            )
        evals = self.view.evals(self.req.model, version)
        current = self.serving(stage)
        base_evals = base_digest = base_version = None
        if current is not None and current.get("version") != version:
            base_version = current["version"]
            base_digest = current.get("digest")
            base_evals = self.view.evals(self.req.model, base_version)
        results = evaluate_gates(rule, dg, evals, base_evals, base_digest, base_version)
        failed = [r for r in results if not r.ok]
        if failed:
            more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
            raise Refusal(
                "gate",
                f"{self.req.model}@{version} fails {stage}'s gates: {failed[0].message}{more}; "
                f"see `modelreg gate {self.req.model} {version} --stage {stage}`",
            )
        facts: dict[str, Any] = {"evals": gate_eval_digests(rule, evals)}
        compared = {g.suite for g in rule.gates if g.no_regression}
        if base_evals is not None and compared:
            used = {s: d for s, d in gate_eval_digests(rule, base_evals).items() if s in compared}
            if used:  # the baseline's evidence is bound too: it cannot change afterwards
                facts.update(baseline=base_version, baseline_evals=used)
        return facts

    # --- actions -----------------------------------------------------------------

    def promote(self) -> tuple[ActionRecord | None, str | None]:
        stage, version = self.req.stage, self._version()
        self.not_archived(version)
        data, dg = self.registered(version)
        current = self.serving(stage)
        if current is not None and current.get("version") == version:
            return None, f"{self.req.model}@{version} already serves {stage}"
        facts = self.entry_rules(stage, version, data, dg)
        previous = current["version"] if current else None
        self.serve(stage, version, dg, previous)
        return self.record(version=version, digest=dg, previous=previous, **facts), None

    def rollback(self) -> tuple[ActionRecord | None, str | None]:
        stage = self.req.stage
        current = self.serving(stage)
        if current is None:
            raise Refusal("rollback", f"nothing serves {self.req.model} in {stage}")
        target = self.req.version or current.get("previous")
        if not target:
            raise Refusal("rollback", f"{stage} has no previous version to roll back to")
        if target == current["version"]:
            return None, f"{self.req.model}@{target} already serves {stage}"
        if target not in self.view.served(self.req.model, stage):
            raise Refusal(
                "rollback-target",
                f"{self.req.model}@{target} never served {stage}; a rollback goes back to a "
                "version that did (promote it instead, through the gates)",
            )
        self.not_archived(target)
        _data, dg = self.registered(target)
        self.serve(stage, target, dg, current["version"])
        return self.record(version=target, digest=dg, previous=current["version"]), None

    def canary_start(self) -> tuple[ActionRecord | None, str | None]:
        stage, version = self.req.stage, self._version()
        current = self.serving(stage)
        if current is None:
            raise Refusal("canary", f"nothing serves {self.req.model} in {stage}: promote first")
        if current["version"] == version:
            raise Refusal("canary", f"{self.req.model}@{version} already serves {stage}")
        weight = self.check_weight(stage)
        running = current.get("canary")
        if running:
            if running["version"] == version and float(running["weight"]) == weight:
                return None, f"canary {self.req.model}@{version} already runs on {stage}"
            raise Refusal(
                "canary",
                f"canary {self.req.model}@{running['version']} already runs on {stage}: "
                "`modelreg canary weight`, `promote` or `abort` it first",
            )
        self.not_archived(version)
        data, dg = self.registered(version)
        facts = self.entry_rules(stage, version, data, dg)
        current["canary"] = {
            "version": version,
            "digest": dg,
            "weight": _num(weight),
            "since": self.at,
        }
        return self.record(version=version, digest=dg, weight=weight, **facts), None

    def _running_canary(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        current = self.serving(self.req.stage)
        running = (current or {}).get("canary")
        return current or {}, running if isinstance(running, dict) else None

    def canary_weight(self) -> tuple[ActionRecord | None, str | None]:
        _current, running = self._running_canary()
        if running is None:
            raise Refusal("canary", f"no canary runs on {self.req.model} {self.req.stage}")
        weight = self.check_weight(self.req.stage)
        if float(running["weight"]) == weight:
            return None, f"the canary already takes {format_weight(weight)}%"
        running["weight"] = _num(weight)
        return self.record(
            version=running["version"], digest=running["digest"], weight=weight
        ), None

    def canary_promote(self) -> tuple[ActionRecord | None, str | None]:
        stage = self.req.stage
        current, running = self._running_canary()
        if running is None:
            raise Refusal("canary", f"no canary runs on {self.req.model} {stage}")
        version = running["version"]
        self.not_archived(version)
        data, dg = self.registered(version)
        del current["canary"]  # the gates judge it against the stable version, as at start
        # It entered through `from` when the canary started; gates and pinning hold again now.
        facts = self.entry_rules(stage, version, data, dg, check_from=False)
        previous = current["version"]
        self.serve(stage, version, dg, previous)
        return self.record(version=version, digest=dg, previous=previous, **facts), None

    def canary_abort(self) -> tuple[ActionRecord | None, str | None]:
        current, running = self._running_canary()
        if running is None:
            return None, f"no canary runs on {self.req.model} {self.req.stage}"
        del current["canary"]
        return self.record(version=running["version"], digest=running["digest"]), None

    def archive(self) -> tuple[ActionRecord | None, str | None]:
        version = self._version()
        _data, dg = self.registered(version)
        if version in self.archived:
            return None, f"{self.req.model}@{version} is already archived"
        roles = []
        for stage in in_policy_order(self.stages, self.policy.stages):
            entry = self.stages[stage]
            if not isinstance(entry, dict):
                continue
            canary = entry.get("canary") or {}
            for role, held in (
                (f"serves {stage}", entry.get("version")),
                (f"is {stage}'s rollback target (previous)", entry.get("previous")),
                (f"is {stage}'s canary", canary.get("version")),
            ):
                if held == version:
                    roles.append(role)
        if roles:
            raise Refusal(
                "archive",
                f"{self.req.model}@{version} {' and '.join(roles)}: it cannot be archived while "
                "in use",
            )
        self.archived = sorted({*self.archived, version}, key=version_sort_key)
        return self.record(version=version, digest=dg), None

    def unarchive(self) -> tuple[ActionRecord | None, str | None]:
        version = self._version()
        _data, dg = self.registered(version)
        if version not in self.archived:
            return None, f"{self.req.model}@{version} is not archived"
        self.archived = [v for v in self.archived if v != version]
        return self.record(version=version, digest=dg), None

    # --- helpers -----------------------------------------------------------------

    def _version(self) -> str:
        if not self.req.version:
            raise Refusal("usage", f"{self.req.action} needs a version")
        return self.req.version

    def record(self, **facts: Any) -> ActionRecord:
        seq, previous_tag = next_seq(self.state, self.req.stage, self.policy.tag_prefix)
        return ActionRecord(
            action=self.req.action,
            model=self.req.model,
            stage=self.req.stage,
            seq=seq,
            previous_tag=previous_tag,
            reason=self.req.reason.strip(),
            actor=self.req.actor,
            **facts,
        )

    def new_state(self, record: ActionRecord) -> dict[str, Any]:
        state = self.state
        if self.archived:
            state["archived"] = self.archived
        else:
            state.pop("archived", None)
        tags = dict(state.get("tags") or {})
        tags[self.req.stage] = record.tag_name(self.policy.tag_prefix)
        state["tags"] = dict(sorted(tags.items()))
        return state


def _num(weight: float) -> int | float:
    """A weight as written in the state file: 5, not 5.0."""
    return int(weight) if float(weight).is_integer() else weight


_HANDLERS = {
    "promote": _Decider.promote,
    "rollback": _Decider.rollback,
    "canary-start": _Decider.canary_start,
    "canary-weight": _Decider.canary_weight,
    "canary-promote": _Decider.canary_promote,
    "canary-abort": _Decider.canary_abort,
    "archive": _Decider.archive,
    "unarchive": _Decider.unarchive,
}


def decide(view: View, req: Request, at: str) -> Decision:
    """Apply REQ's rules to the registry as VIEW sees it; AT is the action's time (ISO, UTC).

    Raises Refusal when the rules say no.
    """
    stages = view.policy.stages
    if req.action in ("archive", "unarchive"):
        if req.stage != ARCHIVED:
            raise Refusal("usage", f"{req.action} acts on the {ARCHIVED!r} lifecycle, not a stage")
    elif req.stage not in stages:
        raise Refusal("unknown-stage", f"unknown stage {req.stage!r} (stages: {', '.join(stages)})")
    decider = _Decider(view, req, at)
    record, noop = _HANDLERS[req.action](decider)
    if record is None:
        return Decision(None, view.state(req.model) or empty_state(req.model), noop=noop)
    return Decision(record, decider.new_state(record))


_PLAIN = re.compile(r"[a-z][a-z0-9._/:-]*\Z|(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\Z")


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format_weight(value)
    text = str(value)
    # Versions, digests, names and tag names are plain; anything else (timestamps) is quoted
    # as JSON, which every YAML parser reads as the same string.
    return text if _PLAIN.match(text) and text not in _YAML11_WORDS else json.dumps(text)


_YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "none"}


def render_state(state: dict[str, Any], stage_order: tuple[str, ...]) -> str:
    """The stage state file as modelreg writes it: fixed key order, one obvious spelling."""
    lines = [
        "# Written by modelreg: every change is a signed action (`modelreg log "
        f"{state['model']}`). Do not edit.",
        f"schema: {STATE_SCHEMA}",
        f"model: {_scalar(state['model'])}",
        "stages:" if state.get("stages") else "stages: {}",
    ]
    stages = state.get("stages") or {}
    for stage in in_policy_order(stages, stage_order):
        entry = stages[stage]
        # Keys are quoted like values: a stage named `on` or `no` is a boolean key in YAML 1.1.
        if entry is None:
            lines.append(f"  {_scalar(stage)}: null")
            continue
        lines.append(f"  {_scalar(stage)}:")
        for key in ("version", "digest", "previous", "since"):
            if key in entry:
                lines.append(f"    {key}: {_scalar(entry[key])}")
        canary = entry.get("canary")
        if canary is not None:
            inner = ", ".join(
                f"{k}: {_scalar(canary[k])}" for k in ("version", "digest", "weight", "since")
            )
            lines.append(f"    canary: {{{inner}}}")
    if state.get("archived"):
        lines.append(f"archived: [{', '.join(_scalar(v) for v in state['archived'])}]")
    tags = state.get("tags") or {}
    if tags:
        lines.append("tags:")
        lines += [f"  {_scalar(k)}: {_scalar(v)}" for k, v in sorted(tags.items())]
    return "\n".join(lines) + "\n"
