"""CLI: `canary analyze`, the running canary judged by policy's guards on exported metrics."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modelreg.cli import completion as complete
from modelreg.cli.actions import Model, canary_app
from modelreg.cli.app import _globals
from modelreg.cli.output import Output
from modelreg.errors import EXIT_NO, EXIT_OK

if TYPE_CHECKING:
    from modelreg.core.canary import GuardResult
    from modelreg.services.canary_analysis import CanaryReport


@canary_app.command("analyze")
def canary_analyze(
    ctx: typer.Context,
    model: Model,
    stage: Annotated[
        str,
        typer.Option(
            "--stage", help="The stage whose canary to judge.", autocompletion=complete.stages
        ),
    ],
    metrics: Annotated[
        Path,
        typer.Option(
            "--metrics",
            help="Per-variant aggregates (JSON or YAML): stable/canary requests, errors, "
            "scores {n, mean, std}.",
        ),
    ],
) -> int:
    """Judge the running canary against stable: pass, fail or insufficient (exit 0, 1, 1).

    Each guard of the stage's `canary.guards` policy gets an interval at the
    policy's `alpha` (one-sided, default 0.05): it fails when the canary is worse
    than the margin with confidence, passes when it is shown no worse than the
    margin, and is insufficient otherwise. Pass needs every guard and `min_requests`.
    """
    from modelreg.services.canary_analysis import analyze_canary

    g = _globals(ctx)
    report = analyze_canary(g.registry(), model, stage, metrics)
    if g.out.as_json:
        g.out.json(report.as_json())
    else:
        _render(g.out, report)
    return EXIT_OK if report.ok else EXIT_NO


def _render(out: Output, report: CanaryReport) -> None:
    from modelreg.core.canary import num

    a, m = report.analysis, report.metrics
    weight = "" if report.canary.weight is None else f" at {report.canary.weight:g}%"
    out.line(
        f"{report.model} on {report.stage}: canary {report.canary.version}{weight} "
        f"({m.canary.requests} requests) vs stable {report.stable.version} "
        f"({m.stable.requests} requests); alpha {num(a.alpha)}"
    )
    level = f"{(1 - 2 * a.alpha) * 100:.4g}%"
    out.table(
        ["GUARD", "STABLE", "CANARY", "DIFFERENCE", f"INTERVAL ({level})", "MARGIN", "VERDICT"],
        [_row(r, report) for r in a.guards],
    )
    for r in a.guards:
        if r.verdict != "pass":
            out.line(f"  {r.guard.name}: {r.reason}")
    out.line(f"verdict: {a.verdict} ({a.reason})")


def _row(r: GuardResult, report: CanaryReport) -> list[str]:
    from modelreg.core.canary import num, signed

    m = report.metrics

    def side(value: float | None, name: str) -> str:
        if value is None:
            return "-"
        variant = getattr(m, name)
        if r.guard.kind == "error_rate":
            return f"{num(value)} ({variant.errors}/{variant.requests})"
        return f"{num(value)} (n={variant.scores[r.guard.name].n})"

    margin = (
        f"<= {signed(r.guard.margin)}" if r.guard.worse == "up" else f">= {signed(-r.guard.margin)}"
    )
    interval = "-" if r.interval is None else f"[{signed(r.interval[0])}, {signed(r.interval[1])}]"
    return [
        r.guard.name,
        side(r.stable, "stable"),
        side(r.canary, "canary"),
        "-" if r.estimate is None else signed(r.estimate),
        interval,
        margin,
        r.verdict,
    ]
