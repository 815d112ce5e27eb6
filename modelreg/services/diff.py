"""Service: `diff REF_A REF_B`: two versions' configs, tools, eval metrics and the newer's `changes`.

Both refs are read from the work-tree registry exactly as `show` reads them;
MODEL@STAGE is the version serving that stage now (not its canary).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelreg.core.diffing import (
    ConfigDiff,
    MetricDelta,
    diff_configs,
    diff_metrics,
    newer_of,
)
from modelreg.core.names import parse_ref
from modelreg.registry import Registry
from modelreg.services.query import show


@dataclass
class DiffSide:
    ref: str  # as given, e.g. summarizer@production
    model: str
    version: str
    digest: str
    stage: str | None  # the stage the ref named, when it named one

    @property
    def label(self) -> str:
        return f"{self.model}@{self.version}"


@dataclass
class DiffResult:
    old: DiffSide
    new: DiffSide
    config: ConfigDiff
    metrics: list[MetricDelta]
    reason: dict[str, Any] | None  # the newer version's `changes`: {"summary", "reason"}
    reason_of: str  # MODEL@VERSION whose `changes` `reason` is
    notes: list[str] = field(default_factory=list)

    @property
    def same_model(self) -> bool:
        return self.old.model == self.new.model

    @property
    def same_version(self) -> bool:
        return self.same_model and self.old.version == self.new.version

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.old.label,
            "to": self.new.label,
            "from_ref": self.old.ref,
            "to_ref": self.new.ref,
            "from_digest": self.old.digest,
            "to_digest": self.new.digest,
            "same_model": self.same_model,
            "changes": [c.as_json() for c in self.config.changes],
            "tools": self.config.tools.as_json(),
            "metrics": [m.as_json() for m in self.metrics],
            "reason": self.reason,
            "reason_of": self.reason_of,
            "notes": self.notes,
        }


def diff(reg: Registry, ref_a: str, ref_b: str) -> DiffResult:
    """Compare REF_A (from) with REF_B (to); different models are allowed."""
    stages = reg.policy.stages
    parsed = parse_ref(ref_a, stages), parse_ref(ref_b, stages)  # both refs well-formed first
    a, b = show(reg, ref_a), show(reg, ref_b)
    old = DiffSide(ref_a, a.model, a.version, a.digest, parsed[0].stage)
    new = DiffSide(ref_b, b.model, b.version, b.digest, parsed[1].stage)
    if old.model == new.model:
        newer = a if newer_of(a.version, b.version) == a.version else b
    else:
        newer = b  # no order between two models' versions: the ref diffed towards
    changes = newer.config.get("changes")
    reason = (
        {"summary": changes.get("summary"), "reason": changes.get("reason")}
        if isinstance(changes, dict)
        else None
    )
    result = DiffResult(
        old=old,
        new=new,
        config=diff_configs(a.config, b.config),
        metrics=[],
        reason=reason,
        reason_of=f"{newer.model}@{newer.version}",
    )
    if old.model != new.model:
        result.notes.append(f"different models: {old.model} and {new.model}")
    if result.same_version:
        result.notes.append(f"both refs name {old.label}: nothing to compare")
        return result
    result.metrics, notes = diff_metrics(
        a.evals, a.digest, b.evals, b.digest, old_label=old.label, new_label=new.label
    )
    result.notes += notes
    return result
