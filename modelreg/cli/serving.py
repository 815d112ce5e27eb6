"""CLI: `resolve` (the config a request gets, through the runtime library) and `export`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from modelreg.cli import completion as complete
from modelreg.cli.app import _globals, app
from modelreg.errors import EXIT_OK


@app.command()
def resolve(
    ctx: typer.Context,
    model: Annotated[
        str, typer.Argument(help="The model to resolve.", autocompletion=complete.models)
    ],
    stage: Annotated[
        str,
        typer.Option(
            "--stage", help="The stage serving the request.", autocompletion=complete.stages
        ),
    ],
    key: Annotated[
        Optional[str],
        typer.Option(
            "--key",
            help="The request's routing key (user or session id). Without it: the stable version.",
        ),
    ] = None,
) -> int:
    """The config a request with key K gets on a stage (sticky canary routing), as a service sees it."""
    from modelreg.core.actions import format_weight
    from modelreg.errors import BadInput, ModelregError, NotFound
    from modelreg.runtime import BundleError, Registry, RegistryError, SourceError

    g = _globals(ctx)
    reg = g.registry()
    try:
        # the work tree, read by the same code a service runs (modelreg.Registry.open);
        # the key as the bytes given on the command line, which argv decoded with the
        # file system encoding (surrogateescape): any bytes route as in the library
        raw_key = None if key is None else os.fsencode(key)
        cfg = Registry.open(reg.root).resolve(model, stage, raw_key)
    except SourceError as e:
        if isinstance(e.__cause__, ModelregError):
            raise e.__cause__ from None
        raise BadInput(e.message, file=e.file, line=e.line) from None
    except BundleError as e:
        raise BadInput(e.message, file=e.file, line=e.line) from None
    except RegistryError as e:  # unknown model or stage, nothing serving
        raise NotFound(e.message) from None
    if g.out.as_json:
        g.out.json(cfg.as_json())
        return EXIT_OK
    if cfg.weight is None:
        label = cfg.variant
    elif cfg.variant == "canary":
        label = f"canary, {format_weight(cfg.weight)}%"
    elif key is not None:
        label = f"stable, canary at {format_weight(cfg.weight)}%"
    else:
        label = f"stable, no --key: the canary at {format_weight(cfg.weight)}% takes keyed requests only"
    g.out.line(f"{cfg.model}@{cfg.version} on {cfg.stage} ({label}) {cfg.digest}")
    g.out.line(json.dumps(cfg.config_dict(), indent=2, ensure_ascii=False))
    return EXIT_OK


@app.command()
def export(
    ctx: typer.Context,
    stage: Annotated[
        str, typer.Option("--stage", help="The stage to export.", autocompletion=complete.stages)
    ],
    output: Annotated[
        Optional[Path],
        typer.Option(
            "-o",
            "--output",
            help="Write the bundle to this file (atomically). Default: stdout.",
            dir_okay=False,
        ),
    ] = None,
    ref: Annotated[
        str,
        typer.Option("--ref", help="The commit (branch, tag, id) to read the registry at."),
    ] = "HEAD",
) -> int:
    """A JSON bundle of every model's serving config and canary on a stage, from a commit."""
    from modelreg.services.export import export as export_bundle

    g = _globals(ctx)
    if output is not None:
        _check_output_folder(output)
    result = export_bundle(g.registry(), stage, ref, output)
    if output is None:
        g.out.line(result.text.rstrip("\n"))  # the bundle is the one JSON document
        return EXIT_OK
    if g.out.as_json:
        g.out.json(result.as_json())
        return EXIT_OK
    serving = sum(1 for v in result.versions().values() if v is not None)
    total = len(result.bundle["models"])
    g.out.line(
        f"wrote {output}: {result.stage}, {serving} of {total} model{'s' if total != 1 else ''} "
        f"serving, commit {result.commit[:12]}"
    )
    return EXIT_OK


def _check_output_folder(output: Path) -> None:
    """BadInput (exit 2) when `-o OUTPUT` cannot be written because its folder is a
    file, or a missing folder cannot be made because a folder above it is a file or a
    broken symlink: a bad argument, not a failure of the environment."""
    from modelreg.errors import BadInput

    for folder in (output.parent, *output.parent.parents):
        try:
            if folder.is_dir():
                return
            if folder.exists():
                raise BadInput(f"-o {output}: {folder} is a file, not a folder")
            if folder.is_symlink():
                raise BadInput(f"-o {output}: {folder} is a broken symlink, not a folder")
        except OSError:  # cannot look (permissions): writing will say why
            return
