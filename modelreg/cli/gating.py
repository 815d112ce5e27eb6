"""CLI: `gate` (a version against a stage's eval gates), `eval add` and `eval import` (an eval file).

Registered on the app by the import at the end of `cli/app.py`; services are
imported inside the commands so `--help` loads only typer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from modelreg.cli import completion as complete
from modelreg.cli.actions import Model
from modelreg.cli.app import _globals, app
from modelreg.errors import EXIT_NO, EXIT_OK

eval_app = typer.Typer(
    help="Eval results of a version: metrics bound to its config digest, which gates check.",
    no_args_is_help=True,
    rich_markup_mode=None,
    add_completion=False,
)
app.add_typer(eval_app, name="eval")


def _cell(value: object) -> str:
    """A threshold or actual as people read it: '-' for none, digests in short form."""
    from modelreg.core.digest import short

    if value is None:
        return "-"
    if isinstance(value, str) and value.startswith("sha256:"):
        return "sha256:" + short(value)
    return repr(value) if isinstance(value, float) else str(value)


@app.command()
def gate(
    ctx: typer.Context,
    model: Model,
    version: Annotated[
        str,
        typer.Argument(
            help="The version to check (MAJOR.MINOR.PATCH).", autocompletion=complete.versions
        ),
    ],
    stage: Annotated[
        str,
        typer.Option(
            "--stage",
            help="The stage whose gates to check the version against.",
            autocompletion=complete.stages,
        ),
    ],
) -> int:
    """Check a version against every gate of a stage: metric, threshold, actual, pass or fail."""
    from modelreg.services.gate import run_gate

    g = _globals(ctx)
    report = run_gate(g.registry(), model, version, stage)
    if g.out.as_json:
        g.out.json(report.as_json())
        return EXIT_OK if report.ok else EXIT_NO
    if not report.results:
        g.out.line(f"stage {stage} has no gates")
        return EXIT_OK
    g.out.table(
        ["SUITE", "METRIC", "RULE", "THRESHOLD", "ACTUAL", "VERDICT"],
        [
            [
                r.suite,
                r.metric or "-",
                r.rule,
                _cell(r.threshold),
                _cell(r.actual),
                "PASS" if r.ok else "FAIL",
            ]
            for r in report.results
        ],
    )
    failed = [r for r in report.results if not r.ok]
    no_evidence = {r.suite for r in failed if r.rule == "eval"}
    for r in failed:
        # a suite without usable evidence is said once, on its eval row
        if r.rule == "eval" or r.suite not in no_evidence or r.actual is not None:
            g.out.line(f"FAIL {r.suite}: {r.message}")
    total = len(report.results)
    if failed:
        g.out.line(
            f"{model}@{version} fails the gates of {stage}: "
            f"{len(failed)} of {total} rule{'s' if total != 1 else ''} failed"
        )
        return EXIT_NO
    g.out.line(
        f"{model}@{version} passes the gates of {stage}: "
        f"{total} rule{'s' if total != 1 else ''} passed"
    )
    return EXIT_OK


# the arguments and options `eval add` and `eval import` share
EvaluatedVersion = Annotated[
    str,
    typer.Argument(
        help="The version evaluated (MAJOR.MINOR.PATCH).", autocompletion=complete.versions
    ),
]
Suite = Annotated[
    str,
    typer.Option("--suite", help="The eval suite; the file is evals/MODEL/VERSION/SUITE.yaml."),
]
Dataset = Annotated[
    Optional[str],
    typer.Option(
        "--dataset", help="The data set as NAME@VERSION, e.g. support-tickets@2026-11-01."
    ),
]
Force = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Overwrite an eval file that git's HEAD does not hold yet (a committed one never).",
    ),
]


@eval_app.command("add")
def eval_add(
    ctx: typer.Context,
    model: Model,
    version: EvaluatedVersion,
    suite: Suite,
    metric: Annotated[
        Optional[list[str]],
        typer.Option(
            "--metric",
            help="A metric as NAME=NUMBER, e.g. accuracy=0.91 (repeatable).",
        ),
    ] = None,
    metrics_file: Annotated[
        Optional[Path],
        typer.Option(
            "--metrics",
            help="A JSON (*.json) or YAML file mapping metric names to numbers.",
        ),
    ] = None,
    dataset: Dataset = None,
    samples: Annotated[
        Optional[int], typer.Option("--samples", help="How many samples the suite ran on.")
    ] = None,
    run_id: Annotated[
        Optional[str], typer.Option("--run-id", help="The run's id in the eval tool.")
    ] = None,
    tool: Annotated[
        Optional[str],
        typer.Option("--tool", help="The eval tool that produced the numbers. Default: modelreg."),
    ] = None,
    force: Force = False,
) -> int:
    """Write an eval file for a version, with its config digest filled in."""
    from modelreg.core.digest import short
    from modelreg.services.evals import add_eval

    g = _globals(ctx)
    reg = g.registry()
    result = add_eval(
        reg,
        model,
        version,
        suite,
        metric_args=metric or (),
        metrics_file=metrics_file,
        dataset=dataset,
        samples=samples,
        run_id=run_id,
        tool=tool,
        force=force,
    )
    shown = reg.display(result.path)
    if g.out.as_json:
        g.out.json(
            {
                "file": shown,
                "model": result.model,
                "version": result.version,
                "suite": result.suite,
                "config_digest": result.config_digest,
                "metrics": result.metrics,
            }
        )
        return EXIT_OK
    verb = "replaced" if result.replaced else "wrote"  # --force over an uncommitted file
    g.out.line(f"{verb} {shown} (digest sha256:{short(result.config_digest)})")
    return EXIT_OK


@eval_app.command("import")
def eval_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The result file, e.g. promptfoo's results.json.")],
    model: Model,
    version: EvaluatedVersion,
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="The file's format: promptfoo (`promptfoo eval -o results.json`), inspect "
            "(an Inspect AI log written with --log-format json) or json ({metric: number}).",
        ),
    ],
    suite: Suite,
    provider: Annotated[
        Optional[str],
        typer.Option(
            "--provider",
            help="promptfoo: use only this provider's results (needed when the file has several).",
        ),
    ] = None,
    prompt: Annotated[
        Optional[str],
        typer.Option(
            "--prompt",
            help="promptfoo: use only the results of the prompt with this label "
            "(needed when the file has several).",
        ),
    ] = None,
    dataset: Dataset = None,
    samples: Annotated[
        Optional[int],
        typer.Option(
            "--samples", help="How many samples the suite ran on. Default: from the file."
        ),
    ] = None,
    run_id: Annotated[
        Optional[str],
        typer.Option("--run-id", help="The run's id in the eval tool. Default: from the file."),
    ] = None,
    tool: Annotated[
        Optional[str],
        typer.Option(
            "--tool",
            help="The eval tool that produced the numbers. Default: promptfoo or inspect "
            "(modelreg for --from json).",
        ),
    ] = None,
    force: Force = False,
) -> int:
    """Write an eval file for a version from another tool's results, digest filled in."""
    from modelreg.core.digest import short
    from modelreg.services.eval_import import import_eval

    g = _globals(ctx)
    reg = g.registry()
    result = import_eval(
        reg,
        source,
        file,
        model,
        version,
        suite,
        dataset=dataset,
        samples=samples,
        run_id=run_id,
        tool=tool,
        provider=provider,
        prompt=prompt,
        force=force,
    )
    written = result.written
    shown = reg.display(written.path)
    if g.out.as_json:
        g.out.json(
            {
                "file": shown,
                "model": written.model,
                "version": written.version,
                "suite": written.suite,
                "config_digest": written.config_digest,
                "metrics": written.metrics,
                "from": result.source,
                "samples": result.samples,
                "run_id": result.run_id,
                "tool": result.tool,
            }
        )
        return EXIT_OK
    count = len(written.metrics)
    run = f" run {result.run_id}" if result.run_id else ""
    plural = "s" if result.samples != 1 else ""
    on = f" on {result.samples} sample{plural}" if result.samples else ""
    verb = "replaced" if written.replaced else "wrote"
    g.out.line(
        f"{verb} {shown} (digest sha256:{short(written.config_digest)}): "
        f"{count} metric{'s' if count != 1 else ''} from {result.source}{run}{on}"
    )
    return EXIT_OK
