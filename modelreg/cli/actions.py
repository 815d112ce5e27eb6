"""CLI: the signed actions: promote, rollback, archive, unarchive, canary start|weight|promote|abort."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from modelreg.cli import completion as complete
from modelreg.cli.app import FORMAT_HELP, _globals, app, warn_if_unsigned
from modelreg.errors import EXIT_NO, EXIT_OK, UsageError, printable

if TYPE_CHECKING:
    from modelreg.cli.output import Output
    from modelreg.services.actions import ActionResult
    from modelreg.services.history import LogResult

Model = Annotated[str, typer.Argument(help="The model.", autocompletion=complete.models)]
Version = Annotated[
    str,
    typer.Argument(help="The version (MAJOR.MINOR.PATCH).", autocompletion=complete.versions),
]
Stage = Annotated[
    str, typer.Option("--stage", help="The stage to act on.", autocompletion=complete.stages)
]
Reason = Annotated[
    str,
    typer.Option("--reason", help="Why (required; one line, recorded in the signed tag)."),
]
Push = Annotated[
    bool,
    typer.Option(
        "--push",
        help="Push branch and tag in one atomic push; retried on a moved remote, "
        "confirmed with ls-remote.",
    ),
]
Weight = Annotated[
    float, typer.Option("--weight", help="Share of the stage's traffic for the canary, percent.")
]

canary_app = typer.Typer(
    help="Run a canary: a weighted, sticky share of a stage's traffic on a new version.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
app.add_typer(canary_app, name="canary")


def _run(
    ctx: typer.Context,
    action: str,
    model: str,
    stage: str,
    reason: str,
    push: bool,
    version: str | None = None,
    weight: float | None = None,
) -> int:
    from modelreg.core.lifecycle import Request
    from modelreg.services.actions import run_action

    g = _globals(ctx)
    request = Request(action, model, stage, reason, "", version, weight)
    result = run_action(g.registry(), request, push=push)
    for warning in result.warnings:
        g.out.line(f"warning: {warning}", err=True)
    if g.out.as_json:
        g.out.json(result.as_json())
    else:
        _describe(g.out.line, result)
    return EXIT_OK


def _describe(line: Callable[[str], None], result: ActionResult) -> None:
    if result.noop is not None:
        line(f"nothing to do: {result.noop}")
    elif result.record is not None:
        line(result.record.subject().removeprefix("modelreg: "))
        signer = f", signed by {result.signer}" if result.signer else ", UNSIGNED"
        line(f"  tag {result.tag} on commit {str(result.commit)[:12]}{signer}")
    if result.pushed:
        line(f"  pushed to {result.pushed} (confirmed with ls-remote)")


@app.command()
def promote(
    ctx: typer.Context,
    model: Model,
    version: Version,
    to: Annotated[
        str,
        typer.Option("--to", help="The stage to promote to.", autocompletion=complete.stages),
    ],
    reason: Reason,
    push: Push = False,
) -> int:
    """Promote a version to a stage, through the stage's gates, as a signed action."""
    return _run(ctx, "promote", model, to, reason, push, version)


@app.command()
def rollback(
    ctx: typer.Context,
    model: Model,
    stage: Stage,
    reason: Reason,
    to: Annotated[
        Optional[str],
        typer.Option(
            "--to",
            help="A version that served the stage before. Default: previous.",
            autocompletion=complete.versions,
        ),
    ] = None,
    push: Push = False,
) -> int:
    """Roll a stage back to the version it served before: instant, no gates, signed."""
    return _run(ctx, "rollback", model, stage, reason, push, to)


@app.command()
def archive(
    ctx: typer.Context, model: Model, version: Version, reason: Reason, push: Push = False
) -> int:
    """Archive a version that serves nowhere: it can never be promoted until unarchived."""
    return _run(ctx, "archive", model, "archived", reason, push, version)


@app.command()
def unarchive(
    ctx: typer.Context, model: Model, version: Version, reason: Reason, push: Push = False
) -> int:
    """Make an archived version promotable again."""
    return _run(ctx, "unarchive", model, "archived", reason, push, version)


@canary_app.command("start")
def canary_start(
    ctx: typer.Context,
    model: Model,
    version: Version,
    stage: Stage,
    weight: Weight,
    reason: Reason,
    push: Push = False,
) -> int:
    """Start a canary of a version on a stage, within the stage's gates and max weight."""
    return _run(ctx, "canary-start", model, stage, reason, push, version, weight)


@canary_app.command("weight")
def canary_weight(
    ctx: typer.Context,
    model: Model,
    stage: Stage,
    weight: Weight,
    reason: Reason,
    push: Push = False,
) -> int:
    """Change the running canary's share of traffic."""
    return _run(ctx, "canary-weight", model, stage, reason, push, weight=weight)


@canary_app.command("promote")
def canary_promote(
    ctx: typer.Context, model: Model, stage: Stage, reason: Reason, push: Push = False
) -> int:
    """Make the running canary the stage's version (the old one becomes previous)."""
    return _run(ctx, "canary-promote", model, stage, reason, push)


@canary_app.command("abort")
def canary_abort(
    ctx: typer.Context, model: Model, stage: Stage, reason: Reason, push: Push = False
) -> int:
    """Stop the running canary: all traffic back on the stage's version."""
    return _run(ctx, "canary-abort", model, stage, reason, push)


@app.command()
def verify(
    ctx: typer.Context,
    base: Annotated[
        Optional[str],
        typer.Option(
            "--base",
            help="Trusted revision (the target branch): verify BASE..HEAD with BASE's policy "
            "and signers.",
        ),
    ] = None,
    all_history: Annotated[
        bool,
        typer.Option("--all", help="Verify all history (each commit under its parent's policy)."),
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "text",
) -> int:
    """The CI gate: every state change is a signed, authorised action whose rules held.

    With neither option: the commits since the branch's upstream, or all history
    when it has none.
    """
    from modelreg.services.verify import run_verify

    g = _globals(ctx)
    if base is not None and all_history:
        raise UsageError("--base and --all exclude each other")
    from modelreg.cli.annotations import finding_lines, verify_place, wants_annotations

    github = wants_annotations(fmt, g.out.as_json)
    result = run_verify(g.registry(), base, all_history)
    report = result.report
    if g.out.as_json:
        g.out.json(result.as_json())
        return EXIT_OK if report.ok else EXIT_NO
    for line in finding_lines(report.findings, verify_place if github else None):
        g.out.line(line)
    for tag, signer in result.signers.items():
        # printable: in a CI log a line break would let a name start a workflow command
        g.out.line(f"verified {printable(tag)}: signed by {printable(signer)}")
    errors = len(report.errors)
    verdict = "ok" if report.ok else f"{errors} problem{'s' if errors != 1 else ''}"
    g.out.line(
        f"{result.range}: {result.commits} commit{'s' if result.commits != 1 else ''}, "
        f"{result.actions} action{'s' if result.actions != 1 else ''}: {verdict}"
    )
    return EXIT_OK if report.ok else EXIT_NO


@app.command()
def log(
    ctx: typer.Context,
    model: Model,
    stage: Annotated[
        Optional[str],
        typer.Option(
            "--stage", help="Only this stage (or `archived`).", autocompletion=complete.log_stages
        ),
    ] = None,
) -> int:
    """Every action on a model, oldest first: when, what, who (verified signer) and why."""
    from modelreg.services.history import history

    g = _globals(ctx)
    result = history(g.registry(), model, stage)
    warn_if_unsigned(g, result.signing_required)
    if g.out.as_json:
        g.out.json(result.as_json())
        return EXIT_OK
    render_log(g.out, result)
    return EXIT_OK


def render_log(out: Output, result: LogResult) -> None:
    """The `log` table, oldest first (also shown by `demo`)."""
    rows = []
    for e in result.events:
        who = e.signer if e.verified else f"UNVERIFIED ({e.note})"
        weight = "" if e.weight is None else f"{e.weight:g}%"
        rows.append(
            [
                e.at,
                e.action,
                e.stage,
                e.version,
                e.previous or "",
                weight,
                who,
                e.reason,
                e.commit[:12],
            ]
        )
    if not rows:
        out.line(f"no actions on {result.model} yet")
        return
    out.table(
        ["TIME", "ACTION", "STAGE", "VERSION", "PREVIOUS", "WEIGHT", "SIGNER", "REASON", "COMMIT"],
        rows,
    )
