"""Service: `gate`, every gate rule of a stage checked against one version's evals in the work tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelreg.core.gates import GateResult, evaluate_gates
from modelreg.core.names import parse_version
from modelreg.errors import NotFound, UsageError
from modelreg.registry import Registry


@dataclass
class GateReport:
    model: str
    version: str
    stage: str
    ok: bool
    results: list[GateResult] = field(default_factory=list)
    baseline: str | None = None  # the version serving the stage now, if any

    def as_json(self) -> dict[str, Any]:
        """DESIGN section 5: `{"ok", "results": [{"suite", "metric", ...}]}`."""
        return {"ok": self.ok, "results": [r.as_json() for r in self.results]}


def gated_evals(
    reg: Registry, model: str, version: str, suites: list[str]
) -> dict[str, dict[str, Any]]:
    """{suite: eval data} of MODEL@VERSION for those SUITES that have an eval file.

    Only the gated suites are read, so an unrelated broken eval file does not
    stop a gate from answering (`check` reports it).
    """
    folder = reg.eval_dir(model, version)
    out: dict[str, dict[str, Any]] = {}
    for suite in suites:
        path = folder / f"{suite}.yaml"
        if path.is_file() or path.is_symlink():  # a symlink is refused by load, with its name
            out[suite] = reg.load(path, "eval").data
    return out


def run_gate(reg: Registry, model: str, version: str, stage: str) -> GateReport:
    """Check MODEL@VERSION against every gate of STAGE; failures are data (report.ok False)."""
    if parse_version(version) is None:
        reg.require_model(model)
        raise UsageError(f"{version!r} is not a version (MAJOR.MINOR.PATCH)")
    record = reg.version(model, version)
    policy = reg.policy
    if stage not in policy.stages:
        raise NotFound(f"unknown stage {stage!r} (stages: {', '.join(policy.stages)})")
    rule = policy.stage_rules.get(stage)
    if rule is None or not rule.gates:
        return GateReport(model, version, stage, ok=True)
    suites = list(dict.fromkeys(g.suite for g in rule.gates))
    evals = gated_evals(reg, model, version, suites)
    serving = reg.serving(model).get(stage)
    baseline_evals = baseline_digest = baseline_version = None
    if serving is not None:
        baseline_version, baseline_digest = serving["version"], serving["digest"]
        baseline_evals = gated_evals(reg, model, baseline_version, suites)
    results = evaluate_gates(
        rule, record.digest, evals, baseline_evals, baseline_digest, baseline_version
    )
    return GateReport(
        model,
        version,
        stage,
        ok=all(r.ok for r in results),
        results=results,
        baseline=baseline_version,
    )
