"""CLI: forensics: `at` (what served a stage at a moment) and `which` (the version behind a digest)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelreg.cli import completion as complete
from modelreg.cli.actions import Model
from modelreg.cli.app import _globals, app, warn_if_unsigned
from modelreg.errors import EXIT_NO, EXIT_OK

if TYPE_CHECKING:
    from modelreg.services.history import Event


def _by(e: Event) -> str:
    """`promote modelreg/m/production/3, signed by alice@example.com: "reason"`."""
    if not e.tag:  # a change no action tag seals
        return f"{e.action} in commit {e.commit[:12]}, UNVERIFIED: {e.note}"
    who = f"signed by {e.signer}" if e.verified else f"UNVERIFIED ({e.note})"
    return f'{e.action} {e.tag}, {who}: "{e.reason}"'


@app.command("at")
def at_(
    ctx: typer.Context,
    model: Model,
    stage: Annotated[
        str,
        typer.Option("--stage", help="The stage to ask about.", autocompletion=complete.stages),
    ],
    time: Annotated[
        str,
        typer.Option(
            "--time",
            help="The moment, ISO 8601 (2026-11-21T14:05:00Z; without an offset it is UTC).",
        ),
    ],
) -> int:
    """What served a stage at a moment (and its canary), since when, and which signed action shipped it."""
    from modelreg.services.forensics import at

    g = _globals(ctx)
    result = at(g.registry(), model, stage, time)
    warn_if_unsigned(g, result.signing_required)
    for warning in result.warnings:
        g.out.line(f"warning: {warning}", err=True)
    if g.out.as_json:
        g.out.json(result.as_json())
        return EXIT_OK if result.version else EXIT_NO
    if result.version is None:
        g.out.line(f"nothing served {model} {stage} at {result.time}")
        return EXIT_NO
    g.out.line(f"{model} {stage} at {result.time}: {result.version} ({result.digest})")
    g.out.line(f"  serving since {result.since}")
    if result.shipped_by:
        g.out.line(f"  shipped by    {_by(result.shipped_by)}")
    if result.canary:
        c = result.canary
        g.out.line(
            f"  canary        {c['version']} at {c['weight']:g}% since {c['since']} ({c['digest']})"
        )
        started: dict[str, Any] = c["started_by"]
        who = f"signed by {started['signer']}" if started["verified"] else "UNVERIFIED signature"
        g.out.line(
            f'  canary by     {started["action"]} {started["tag"]}, {who}: "{started["reason"]}"'
        )
    else:
        g.out.line("  canary        none")
    if result.last_action and result.shipped_by and result.last_action.tag != result.shipped_by.tag:
        g.out.line(f"  last action   {result.last_action.at} {_by(result.last_action)}")
    return EXIT_OK


@app.command()
def which(
    ctx: typer.Context,
    digest: Annotated[
        str,
        typer.Argument(
            help="A config digest (sha256:... as traces carry it in modelreg.digest), or a prefix "
            "of at least 8 hex digits."
        ),
    ],
) -> int:
    """Which version has a digest, and every period it served each stage (who shipped it, and why)."""
    from modelreg.services.forensics import which as find

    g = _globals(ctx)
    result = find(g.registry(), digest)
    for problem in [*result.skipped, *result.warnings]:
        g.out.line(f"warning: {problem}", err=True)
    if g.out.as_json:
        g.out.json(result.as_json())
        return EXIT_OK if result.matches else EXIT_NO
    if not result.matches:
        g.out.line(f"no version has a digest starting with {digest}")
        return EXIT_NO
    for i, m in enumerate(result.matches):
        if i:
            g.out.line()
        note = ", archived" if m.archived else ""
        g.out.line(f"{m.model}@{m.version}  {m.digest}{note}")
        if not m.periods:
            g.out.line("  never served a stage")
            continue
        rows = []
        for p in m.periods:
            e = p.start.event
            variant = p.variant
            if p.weights:
                variant += " " + "->".join(f"{w:g}%" for w in p.weights)
            who = e.signer if e.verified else "UNVERIFIED"
            span = p.as_json()  # effective times: never before the verified change before
            rows.append(
                [
                    p.stage,
                    variant,
                    span["from"],
                    span["to"] or "now",
                    e.action,
                    who,
                    e.reason,
                ]
            )
        g.out.table(["STAGE", "AS", "FROM", "TO", "SHIPPED BY", "SIGNER", "REASON"], rows)
    return EXIT_OK
