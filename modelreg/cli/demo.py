"""CLI: `demo`, a real example registry with signed history, to try every command on."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from modelreg.cli.app import _globals, app, render_status
from modelreg.errors import EXIT_OK


@app.command()
def demo(
    ctx: typer.Context,
    directory: Annotated[
        Path,
        typer.Argument(help="A new (or empty) folder for the demo registry; never overwritten."),
    ] = Path("modelreg-demo"),
) -> int:
    """Build a demo registry with real history: signed promotions, a canary, a rollback.

    Copies registry-example/ into a new git repository, signs with a throwaway
    key kept in the git dir, and shows status and the production log.
    """
    from modelreg.cli.actions import render_log
    from modelreg.core.digest import short
    from modelreg.services.demo import build_demo

    g = _globals(ctx)
    result = build_demo(directory)
    for warning in result.warnings:
        g.out.line(f"warning: {warning}", err=True)
    if g.out.as_json:
        g.out.json(
            {
                "root": str(result.root),
                "commits": result.commits,
                "actions": result.actions,
                "status": result.status.as_json(),
                "log": result.log.as_json(),
            }
        )
        return EXIT_OK
    out = g.out
    out.line(
        f"built a demo registry in {result.root}: {result.commits} commits, "
        f"{result.actions} signed actions, {result.start[:10]} to {result.end[:10]}"
    )
    for line in result.story:
        out.line(f"  {line}")
    out.line(
        f"  signed by demo@example.com, a throwaway key in {_shown(result.key, result.root)} "
        "(trusted in .modelreg/allowed_signers, a release manager in modelreg.yaml)"
    )
    out.line()
    render_status(out, result.status)
    out.line()
    out.line("summarizer on production:")
    render_log(out, result.log)
    out.line()
    out.line("try next:")
    for command in (
        f"cd {shlex.quote(str(directory))}",
        "modelreg verify --all",
        "modelreg log summarizer",
        "modelreg diff summarizer@1.0.0 summarizer@1.1.0",
        f"modelreg at summarizer --stage production --time {result.serving_new}",
        f"modelreg which sha256:{short(result.new_digest)}",
    ):
        out.line(f"  {command}")
    return EXIT_OK


def _shown(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
