"""Service: forensics over the action history: `at` (what served at a moment) and `which`
(the version behind a digest seen in a trace, and every period it served).

Both replay the branch's actions as `log` lists them (the tag chains the state
file at HEAD names, each signature verified), and read the model's state file
at each action's commit: the state file is what deploy tooling served from,
so it is the answer, and the signed tag on its commit says who and why.
Times are tagger dates, to the second; an action takes effect at its own
second, so asking for that second already sees it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from modelreg.core.policy import in_policy_order
from modelreg.errors import BadInput, EnvironmentFailure, NotFound, UsageError
from modelreg.registry import Registry
from modelreg.revision import Snapshot
from modelreg.services.digests import registered_digests
from modelreg.services.history import Event, history
from modelreg.services.query import show
from modelreg.vcs import Git

STABLE, CANARY = "stable", "canary"
MIN_DIGEST_PREFIX = 8
_EPOCH0 = datetime(1970, 1, 1, tzinfo=timezone.utc)
_HEX = re.compile(r"[0-9a-f]+\Z")


# --- time ---------------------------------------------------------------------------------


def parse_time(text: str) -> int:
    """ISO 8601 TEXT as epoch seconds (fractions dropped). Without an offset it is UTC:
    traces and tagger dates are compared in UTC, never in the machine's zone."""
    return int(_parse(text).timestamp() // 1)


def _parse(text: str) -> datetime:
    raw = text.strip()
    value = raw[:-1] + "+00:00" if raw[-1:] in ("Z", "z") else raw
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--time {text!r} is not an ISO 8601 time (e.g. 2026-11-21T14:05:00Z)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    try:
        when.astimezone(timezone.utc)
    except OverflowError:
        raise UsageError(f"--time {text!r} is outside the years 1 to 9999 in UTC") from None
    return when


def _iso(epoch: int) -> str:
    """EPOCH as `2026-11-21T14:05:00Z`, before 1970 too (the moment asked about, unclamped)."""
    t = _EPOCH0 + timedelta(seconds=epoch)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"


def _epoch(at: str) -> int:
    """An event's `at` (iso_utc form) as epoch seconds."""
    return int(datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())


# --- the replay ---------------------------------------------------------------------------


@dataclass
class Step:
    """One action and the model's state file at its commit."""

    event: Event
    epoch: int
    state: dict[str, Any]

    def entry(self, stage: str) -> dict[str, Any] | None:
        found = (self.state.get("stages") or {}).get(stage)
        return found if isinstance(found, dict) else None


@dataclass
class Period:
    """A span of time in which STAGE served VERSION, as its stable version or its canary."""

    stage: str
    variant: str
    version: str
    digest: str
    start: Step
    end: Step | None = None  # None: still serving
    weights: list[float] = field(default_factory=list)  # a canary's weights, in order

    def holds(self, epoch: int) -> bool:
        return self.start.epoch <= epoch and (self.end is None or epoch < self.end.epoch)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "stage": self.stage,
            "variant": self.variant,
            "from": _iso(self.start.epoch),
            "to": _iso(self.end.epoch) if self.end else None,
            "from_tag": self.start.event.tag,
            "to_tag": self.end.event.tag if self.end else None,
            "started_by": action_json(self.start.event),
        }
        if self.variant == CANARY:
            out["weights"] = self.weights
        return out


def action_json(e: Event) -> dict[str, Any]:
    """The facts of one action that forensics answers with: what, when, who, why."""
    return {
        "action": e.action,
        "at": e.at,
        "tag": e.tag,
        "commit": e.commit,
        "signer": e.signer,
        "verified": e.verified,
        "reason": e.reason,
    }


@dataclass
class Replay:
    model: str
    stages: list[str]
    steps: list[Step]
    signing_required: bool
    warnings: list[str] = field(default_factory=list)

    def periods(self, stage: str) -> list[Period]:
        """Every stable and canary period of STAGE, in the order they began."""
        out: list[Period] = []
        open_: dict[str, Period] = {}
        for step in self.steps:
            entry = step.entry(stage)
            canary = entry.get("canary") if entry else None
            now = {
                STABLE: (entry["version"], entry["digest"]) if entry else None,
                CANARY: (canary["version"], canary["digest"]) if isinstance(canary, dict) else None,
            }
            for variant, served in now.items():
                current = open_.get(variant)
                if current is not None and (current.version, current.digest) != served:
                    current.end = step
                    del open_[variant]
                    current = None
                if served is not None and current is None:
                    current = Period(stage, variant, served[0], served[1], step)
                    open_[variant] = current
                    out.append(current)
                if variant == CANARY and current is not None and isinstance(canary, dict):
                    weight = canary.get("weight")
                    if isinstance(weight, (int, float)) and (
                        not current.weights or current.weights[-1] != weight
                    ):
                        current.weights.append(weight)
        # a state that held for no time (changes merged in together) never served
        return [p for p in out if p.end is None or p.end.epoch > p.start.epoch]

    def at(self, stage: str, when: int) -> AtResult:
        """The answer of `at` for STAGE at epoch WHEN (without the config, which `at` adds)."""
        result = AtResult(self.model, stage, _iso(when), None, None, None, None, None, None, None)
        result.signing_required, result.warnings = self.signing_required, self.warnings
        before = [s for s in self.steps if s.epoch <= when]
        on_stage = [s for s in before if s.event.stage == stage]
        result.last_action = on_stage[-1].event if on_stage else None
        entry = before[-1].entry(stage) if before else None
        for period in self.periods(stage):
            if not period.holds(when):
                continue
            if period.variant == STABLE:
                result.version, result.digest = period.version, period.digest
                result.since = (entry or {}).get("since") or period.start.event.at
                result.shipped_by = period.start.event
            else:
                canary = (entry or {}).get("canary") or {}
                result.canary = {
                    "version": period.version,
                    "digest": period.digest,
                    "weight": canary.get("weight"),
                    "since": canary.get("since") or period.start.event.at,
                    "started_by": action_json(period.start.event),
                }
        return result


def replay(reg: Registry, model: str) -> Replay:
    """MODEL's state changes on the branch (as `log` lists them: commit order, each with its
    action tag or as an unsigned change), oldest first, each with the state file it committed.

    An action takes effect at its tagger date, but never before the change before it on
    the branch: order comes from the commits, not from the signers' clocks.
    """
    log = history(reg, model)
    assert reg.git is not None and reg.git.toplevel is not None  # history() requires git
    git = Git(reg.git.toplevel)
    steps: list[Step] = []
    unreadable = 0
    floor = 0
    with git.objects() as reader:
        for event in log.events:
            snap = Snapshot(git, event.state_commit or event.commit, reg.git_prefix, reader)
            try:
                state = snap.state(model)
            except BadInput:  # a hand edit no one could serve from: the state stays as it was
                state, unreadable = (steps[-1].state if steps else {}), unreadable + 1
            # never before a verified change before it; an unverified date (anyone can
            # write one) moves nothing else
            effective = max(_epoch(event.at), event.effective or 0, floor)
            if event.verified:
                floor = effective
            steps.append(Step(event, effective, state))
    warnings = []
    unverified = [s for s in steps if not s.event.verified]
    if unverified:
        path = f"{reg.git_prefix}stages/{model}.yaml"
        warnings.append(
            f"{len(unverified)} of {len(steps)} changes of {path} on this branch are not "
            "verified signed actions (shown UNVERIFIED); run `modelreg verify`"
        )
    if unreadable:
        warnings.append(f"{unreadable} of them left a state file that is not valid; skipped")
    stages = in_policy_order(
        {s for step in steps for s in step.state.get("stages") or {}} | set(reg.policy.stages),
        reg.policy.stages,
    )
    return Replay(model, stages, steps, log.signing_required, warnings)


# --- at -----------------------------------------------------------------------------------


@dataclass
class AtResult:
    model: str
    stage: str
    time: str  # the moment asked about, in UTC
    version: str | None
    digest: str | None
    config: dict[str, Any] | None
    since: str | None
    shipped_by: Event | None  # the action that made VERSION the stage's version
    last_action: Event | None  # the stage's latest action at that moment
    canary: dict[str, Any] | None  # {"version", "digest", "weight", "since", "started_by"}
    signing_required: bool = True
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "stage": self.stage,
            "version": self.version,
            "digest": self.digest,
            "variant": STABLE if self.version else None,
            "config": self.config,
            "time": self.time,
            "since": self.since,
            "shipped_by": action_json(self.shipped_by) if self.shipped_by else None,
            "last_action": action_json(self.last_action) if self.last_action else None,
            "canary": self.canary,
        }


def at(reg: Registry, model: str, stage: str, time: str) -> AtResult:
    """What served MODEL's STAGE at TIME (and its canary), since when, by which action."""
    when = parse_time(time)
    reg.require_model(model)
    if stage not in reg.policy.stages:
        raise NotFound(f"unknown stage {stage!r} (stages: {', '.join(reg.policy.stages)})")
    result = replay(reg, model).at(stage, when)
    if result.version is not None:
        result.config = show(reg, f"{model}@{result.version}").config
    return result


# --- which --------------------------------------------------------------------------------


@dataclass
class Match:
    model: str
    version: str
    digest: str
    archived: bool
    periods: list[Period]

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "digest": self.digest,
            "archived": self.archived,
            "served": [p.as_json() for p in self.periods],
        }


@dataclass
class WhichResult:
    query: str
    matches: list[Match]
    skipped: list[str]  # `file:line: message` of version files that could not be read
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"matches": [m.as_json() for m in self.matches]}


def digest_prefix(text: str) -> str:
    """The hex of a digest or digest prefix (`sha256:` optional, any case)."""
    hexpart = text.strip().lower().removeprefix("sha256:")
    if not _HEX.match(hexpart) or len(hexpart) > 64:
        raise UsageError(f"{text!r} is not a sha256 digest or a prefix of one (hex digits)")
    if len(hexpart) < MIN_DIGEST_PREFIX:
        raise UsageError(
            f"digest prefix {text!r} is too short: give at least {MIN_DIGEST_PREFIX} hex digits"
        )
    return hexpart


def which(reg: Registry, text: str) -> WhichResult:
    """Every registered version whose digest starts with TEXT, and each period it served."""
    wanted = "sha256:" + digest_prefix(text)
    if reg.git is None:
        raise EnvironmentFailure("which needs the registry in a git repository", rule="no-git")
    registered = registered_digests(reg)
    found = sorted(
        (model, version, dg)
        for (model, version), dg in registered.digests.items()
        if dg.startswith(wanted)
    )
    skipped = registered.skipped
    matches = []
    warnings: list[str] = []
    replays: dict[str, Replay] = {}
    for model, version, dg in found:
        rp = replays.get(model)
        if rp is None:
            rp = replays[model] = replay(reg, model)
            warnings += rp.warnings
        periods = [
            p
            for stage in rp.stages
            for p in rp.periods(stage)
            if p.version == version and p.digest == dg
        ]
        periods.sort(key=lambda p: (p.start.epoch, rp.stages.index(p.stage)))
        archived = version in (reg.stage_state(model).get("archived") or [])
        matches.append(Match(model, version, dg, archived, periods))
    return WhichResult(text, matches, skipped, warnings)
