"""CLI: the typer app. Each command parses, calls one service, renders, and returns its exit code.

Services are imported inside the commands, so `--help` loads only typer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from modelreg.cli import completion as complete
from modelreg.cli.output import Output
from modelreg.errors import EXIT_NO, EXIT_OK

if TYPE_CHECKING:
    from modelreg.registry import Registry
    from modelreg.services.query import Lifecycle, StatusResult

app = typer.Typer(
    name="modelreg",
    help="A Git-native registry for model configurations: immutable versions, gated and signed promotions.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain help: rich is never imported for --help
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


# --format of `check` and `verify` (the formatting itself is loaded by them, not by --help)
FORMAT_HELP = (
    "text (one line per problem) or github (GitHub Actions annotations on the pull "
    "request's lines, then the summary line). --json wins over text; with github it is a "
    "usage error."
)


@dataclass
class Globals:
    repo: Path | None
    out: Output

    def registry(self) -> Registry:
        from modelreg.services import open_registry

        return open_registry(self.repo)


def warn_if_unsigned(g: Globals, signing_required: bool) -> None:
    if not signing_required:
        g.out.line(
            "warning: policy has signing.required: false; this history is UNSIGNED and unverifiable",
            err=True,
        )


def _globals(ctx: typer.Context) -> Globals:
    g = ctx.find_root().obj
    assert isinstance(g, Globals)
    return g


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"modelreg {version('modelreg')}")
        raise typer.Exit(0)


@app.callback()
def _root(
    ctx: typer.Context,
    repo: Annotated[
        Optional[Path],
        typer.Option(
            "--repo",
            help="The registry folder (holds modelreg.yaml). Default: walk up from the current folder.",
            file_okay=False,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")
    ] = False,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="No color, even on a terminal (NO_COLOR works too).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print modelreg's version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    """A Git-native registry for model configurations."""
    ctx.obj = Globals(repo=repo, out=Output(as_json=as_json, no_color=no_color))


# --- init / new ----------------------------------------------------------------------


@app.command()
def init(
    ctx: typer.Context,
    directory: Annotated[
        Path,
        typer.Argument(
            help="Where to create the registry (git init runs there if it is in no repo)."
        ),
    ] = Path("."),
) -> int:
    """Create a new registry: policy, folders, allowed signers, and pre-commit and CI snippets."""
    from modelreg.services.init import init_registry

    g = _globals(ctx)
    result = init_registry(directory)
    if g.out.as_json:
        g.out.json(
            {
                "root": str(result.root),
                "created": result.created,
                "notes": result.notes,
                "git_init": result.git_init,
            }
        )
        return EXIT_OK
    if result.git_init:
        g.out.line(f"initialized a git repository in {result.root}")
    for path in result.created:
        g.out.line(f"created {path}")
    for note in result.notes:
        g.out.line(note)
    g.out.line("next: `modelreg new MODEL` to scaffold a first version")
    return EXIT_OK


@app.command()
def new(
    ctx: typer.Context,
    model: Annotated[
        str,
        typer.Argument(
            help="The model to add a version to (created if new).", autocompletion=complete.models
        ),
    ],
    from_version: Annotated[
        Optional[str],
        typer.Option(
            "--from",
            help="Parent version to copy. Default: the latest version.",
            autocompletion=complete.versions,
        ),
    ] = None,
    bump: Annotated[
        str,
        typer.Option(
            "--bump", help="Which part of the parent's version to raise: major, minor or patch."
        ),
    ] = "minor",
    kind: Annotated[
        Optional[str],
        typer.Option(
            "--kind",
            help="prompt-config, fine-tuned or api-snapshot. Default: the parent's, or prompt-config.",
        ),
    ] = None,
    config: Annotated[
        Optional[Path],
        typer.Option(
            "--config",
            help="A new model's first version from a YAML or JSON file of version fields "
            "(model, params, system_prompt, tools, ...), e.g. a config a service hard-coded.",
            dir_okay=False,
        ),
    ] = None,
) -> int:
    """Scaffold the next version file of MODEL from its parent; fill in `changes` before committing."""
    from modelreg.services.scaffold import new_version

    g = _globals(ctx)
    reg = g.registry()
    result = new_version(reg, model, from_version=from_version, bump=bump, kind=kind, config=config)
    shown = reg.display(result.path)
    if g.out.as_json:
        g.out.json(
            {
                "model": result.model,
                "version": result.version,
                "parent": result.parent,
                "file": shown,
            }
        )
    elif result.parent:
        g.out.line(f"created {shown} ({result.model}@{result.version} from {result.parent})")
        g.out.line(
            "edit it, fill in changes.summary and changes.reason, then `modelreg check` and commit"
        )
    elif config is not None:
        g.out.line(f"created {shown} ({result.model}@{result.version} from {config})")
        g.out.line("review it, then `modelreg check` and commit")
    else:
        g.out.line(f"created {shown} ({result.model}@{result.version}, the first version)")
        g.out.line(
            "fill in model.provider, model.id and system_prompt, then `modelreg check` and commit"
        )
    return EXIT_OK


# --- read commands ---------------------------------------------------------------------


@app.command("list")
def list_(
    ctx: typer.Context,
    model: Annotated[
        Optional[str],
        typer.Argument(help="Only this model's versions.", autocompletion=complete.models),
    ] = None,
) -> int:
    """List versions with kind, digest and lifecycle (serving stages, archived)."""
    from modelreg.core.digest import short
    from modelreg.services.query import list_versions

    g = _globals(ctx)
    rows = list_versions(g.registry(), model)
    for r in rows:
        if r.problem:
            g.out.line(f"warning: {r.problem}", err=True)
    if g.out.as_json:
        g.out.json({"versions": [r.as_json() for r in rows]})
        return EXIT_OK
    g.out.table(
        ["MODEL", "VERSION", "KIND", "DIGEST", "LIFECYCLE", "CREATED"],
        [
            [
                r.model,
                r.version,
                r.kind,
                short(r.digest) if r.digest else "-",
                _lifecycle_label(r.lifecycle) if r.digest else "INVALID (run modelreg check)",
                r.created,
            ]
            for r in rows
        ],
    )
    return EXIT_OK


def _lifecycle_label(life: Lifecycle) -> str:
    """`production (canary 5%), staging, archived` for people; '-' when nowhere."""
    labels = [*life.stages, *(f"{s} (canary {w:g}%)" for s, w in life.canary.items())]
    if life.archived:
        labels.append("archived")
    return ", ".join(sorted(labels)) or "-"


@app.command()
def show(
    ctx: typer.Context,
    ref: Annotated[
        str,
        typer.Argument(
            help="MODEL@VERSION, or MODEL@STAGE for what serves that stage.",
            autocompletion=complete.refs,
        ),
    ],
) -> int:
    """Show one version in full: config, digest, evals and where it serves."""
    from modelreg.services.query import show as show_version

    g = _globals(ctx)
    result = show_version(g.registry(), ref)
    if g.out.as_json:
        g.out.json(result.as_json())
        return EXIT_OK
    label = _lifecycle_label(result.lifecycle)
    lifecycle = "not serving" if label == "-" else label
    g.out.line(f"{result.model}@{result.version}  {result.kind}  {result.digest}")
    g.out.line(f"file:      {result.file}")
    g.out.line(f"lifecycle: {lifecycle}")
    g.out.line()
    g.out.line(result.text.rstrip())
    if result.evals:
        g.out.line()
        rows = []
        for suite, data in result.evals.items():
            matches = "DIGEST MISMATCH" if suite in result.stale_evals else "ok"
            metrics = ", ".join(f"{k}={v}" for k, v in data["metrics"].items())
            rows.append([suite, metrics, data.get("samples", ""), matches])
        g.out.table(["SUITE", "METRICS", "SAMPLES", "DIGEST"], rows, title="evals")
    return EXIT_OK


@app.command()
def status(
    ctx: typer.Context,
    model: Annotated[
        Optional[str], typer.Argument(help="Only this model.", autocompletion=complete.models)
    ] = None,
) -> int:
    """What serves each stage of every model now, with canaries."""
    from modelreg.services.query import status as get_status

    g = _globals(ctx)
    result = get_status(g.registry(), model)
    warn_if_unsigned(g, result.signing_required)
    if g.out.as_json:
        g.out.json(result.as_json())
        return EXIT_OK
    render_status(g.out, result)
    return EXIT_OK


def render_status(out: Output, result: StatusResult) -> None:
    """The `status` table (also shown by `demo`)."""

    def cell(entry: dict | None) -> str:  # type: ignore[type-arg]
        if entry is None:
            return "-"
        text = str(entry["version"])
        if entry.get("canary"):
            c = entry["canary"]
            text += f" (canary {c['version']} {c['weight']:g}%)"
        return text

    out.table(
        ["MODEL", *(s.upper() for s in result.stages), "LAST ACTION"],
        [
            [name, *(cell(row[s]) for s in result.stages), result.last_action.get(name, "-")]
            for name, row in result.models.items()
        ],
    )


# --- check -------------------------------------------------------------------------------


@app.command()
def check(
    ctx: typer.Context,
    paths: Annotated[
        Optional[list[Path]],
        typer.Argument(
            help="Files to check (pre-commit passes the staged ones). Default: every registry file."
        ),
    ] = None,
    all_files: Annotated[
        bool, typer.Option("--all", help="Check every registry file (the default with no PATHS).")
    ] = False,
    paths_only: Annotated[
        bool,
        typer.Option(
            "--paths-only",
            help="Check only PATHS (none is fine) and the registered versions against HEAD: "
            "for pre-commit hooks that run on every commit, deletions included.",
        ),
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "text",
) -> int:
    """Check registry files: schema, naming, paths, parents, immutability, eval digests, pinning."""
    from modelreg.errors import UsageError
    from modelreg.services.check import run_check

    g = _globals(ctx)
    if all_files and (paths or paths_only):
        raise UsageError("--all checks every file: give it no PATHS and no --paths-only")
    from modelreg.cli.annotations import check_place, finding_lines, wants_annotations

    github = wants_annotations(fmt, g.out.as_json)
    reg = g.registry()
    if paths_only:
        selection: list[Path] | None = paths or []  # none given: nothing but the HEAD check
    elif all_files or not paths:
        selection = None  # every registry file
    else:
        selection = paths
    report = run_check(reg, selection)
    if g.out.as_json:
        g.out.json(report.as_json())
    else:
        place = check_place(reg.root, reg.git_prefix) if github else None
        for line in finding_lines(report.findings, place):
            g.out.line(line)
        errors, warnings = len(report.errors), len(report.warnings)
        summary = f"{report.checked} file{'s' if report.checked != 1 else ''} checked"
        if errors or warnings:
            summary += f": {errors} problem{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"
        else:
            summary += ": ok"
        g.out.line(summary)
    return EXIT_OK if report.ok else EXIT_NO


# --- building only the command that runs ---------------------------------------------


def _stand_in() -> None:
    """Never run: the parameterless body of a command that is only listed."""


def _narrowed(group: typer.Typer, words: list[str]) -> typer.Typer:
    """GROUP with only the command WORDS name built in full; the others as stand-ins."""
    import copy
    import inspect

    from typer.main import get_command_name

    name = words[0] if words else None
    commands = {
        info.name or get_command_name(info.callback.__name__): info
        for info in group.registered_commands
        if info.callback is not None
    }
    groups = {str(info.name): info for info in group.registered_groups}
    narrowed = copy.copy(group)
    if name in commands:
        narrowed.registered_commands, narrowed.registered_groups = [commands[name]], []
        return narrowed
    if name in groups:
        sub = copy.copy(groups[name])
        assert isinstance(sub.typer_instance, typer.Typer)
        sub.typer_instance = _narrowed(sub.typer_instance, words[1:])
        narrowed.registered_commands, narrowed.registered_groups = [], [sub]
        return narrowed
    # a listing (`--help`, no command, an unknown one): every name with its help
    stand_ins = []
    for command_name, info in commands.items():
        stand_in = copy.copy(info)
        stand_in.name, stand_in.callback = command_name, _stand_in
        stand_in.help = info.help if info.help is not None else inspect.getdoc(info.callback)
        stand_ins.append(stand_in)
    narrowed.registered_commands = stand_ins
    narrowed.registered_groups = []
    for group_info in groups.values():
        sub = copy.copy(group_info)
        assert isinstance(sub.typer_instance, typer.Typer)
        sub.typer_instance = _narrowed(sub.typer_instance, [])
        narrowed.registered_groups.append(sub)
    return narrowed


def app_for(args: list[str]) -> typer.Typer:
    """The app as ARGS need it: only the command they run is built in full.

    typer turns every command's signature into click parameters before it
    parses a word: ~45 ms for 30 commands, a third of `modelreg status --help`.
    git builds only the builtin it runs; so does this. Other commands stay as
    parameterless stand-ins with their help, so a listing, a "no such command"
    and its suggestion read exactly as with the whole app (a test compares).
    """
    from modelreg.cli import GLOBAL_FLAGS, GLOBAL_VALUE_OPTIONS

    words: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in GLOBAL_FLAGS or (arg.split("=", 1)[0] in GLOBAL_VALUE_OPTIONS and "=" in arg):
            i += 1
        elif arg in GLOBAL_VALUE_OPTIONS:
            i += 2
        elif arg.startswith("-"):
            break  # --help, --version, an unknown option: before any command
        else:
            words.append(arg)
            i += 1
            if len(words) == 2:
                break  # the deepest command is a group's command
    return _narrowed(app, words)


from modelreg.cli import actions as _actions  # noqa: E402,F401  (registers the actions)
from modelreg.cli import canary_analysis as _canary_analysis  # noqa: E402,F401  (canary analyze)
from modelreg.cli import demo as _demo  # noqa: E402,F401  (demo)
from modelreg.cli import diffing as _diffing  # noqa: E402,F401  (diff)
from modelreg.cli import forensics as _forensics  # noqa: E402,F401  (at, which)
from modelreg.cli import gating as _gating  # noqa: E402,F401  (registers gate and eval)
from modelreg.cli import serving as _serving  # noqa: E402,F401  (resolve, export)

app.command("completion")(complete.completion)  # after the others in the listing
