"""CLI: shell completion for bash, zsh and fish, with typer's own mechanism.

The shell runs `modelreg` with `_MODELREG_COMPLETE` set (`complete_bash`,
`complete_zsh`, `complete_fish`; `source_<shell>` prints the script);
`modelreg.cli.main` sees it before anything else and calls `answer()`,
which builds the whole app (a normal run builds only its own command) and
lets typer answer. The callbacks below complete models, versions, refs and
stages from the registry's work tree: a folder listing, plus modelreg.yaml
for stages. They never fail: any error completes nothing.

Every CLI module imports this one for its callbacks, so at import it loads
only typer and the standard library; the registry is read inside the
callbacks, which run only while the shell asks.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from modelreg.registry import Registry

COMPLETE_VAR = "_MODELREG_COMPLETE"
PROG = "modelreg"

Completer = Callable[[typer.Context, str], list[str]]


def _quiet(complete: Completer) -> Completer:
    """COMPLETE, answering nothing instead of raising: a shell prints no tracebacks."""

    @wraps(complete)
    def quiet(ctx: typer.Context, incomplete: str) -> list[str]:
        try:
            return [c for c in complete(ctx, incomplete or "") if c.startswith(incomplete or "")]
        except Exception:
            return []

    return quiet


def _registry(ctx: typer.Context) -> Registry:
    """The registry of `--repo` (given before the command), or found from the current folder."""
    from modelreg.services import open_registry

    repo = ctx.find_root().params.get("repo")
    return open_registry(Path(repo) if repo else None)


def _model(ctx: typer.Context) -> str:
    """The MODEL argument already typed. While an option waits for its value, the parser
    stops at that option and leaves the arguments before it unparsed in `ctx.args`, where
    MODEL comes first in every command that completes versions."""
    model = ctx.params.get("model") or (ctx.args[0] if ctx.args else "")
    return model if isinstance(model, str) else ""


@_quiet
def models(ctx: typer.Context, incomplete: str) -> list[str]:
    """The registry's model names."""
    return _registry(ctx).model_names()


@_quiet
def versions(ctx: typer.Context, incomplete: str) -> list[str]:
    """The versions of the MODEL argument given before, newest first."""
    return _registry(ctx).versions(_model(ctx))[::-1]


@_quiet
def stages(ctx: typer.Context, incomplete: str) -> list[str]:
    """The policy's stages."""
    return list(_registry(ctx).policy.stages)


@_quiet
def log_stages(ctx: typer.Context, incomplete: str) -> list[str]:
    """The policy's stages and `archived`."""
    return [*_registry(ctx).policy.stages, "archived"]


@_quiet
def refs(ctx: typer.Context, incomplete: str) -> list[str]:
    """MODEL@VERSION and MODEL@STAGE: `model@` while several models match, then its refs."""
    reg = _registry(ctx)
    model, at, _ = incomplete.partition("@")
    known = reg.model_names()
    names = [model] if at else [m for m in known if m.startswith(model)]
    if len(names) != 1:
        return [f"{name}@" for name in names]
    name = names[0]
    if name not in known:
        return []
    return [f"{name}@{v}" for v in [*reg.versions(name)[::-1], *reg.policy.stages]]


def answer() -> int:
    """Answer the shell's request named by `_MODELREG_COMPLETE`, with the whole app built."""
    try:
        from typer._completion_classes import completion_init

        from modelreg.cli.app import app

        # typer's bash/zsh/fish classes: what its scripts speak (typer registers them only
        # when an app adds --install-completion, which modelreg does not)
        completion_init()
        command = typer.main.get_command(app)
        command.main(args=[], prog_name=PROG, complete_var=COMPLETE_VAR, standalone_mode=False)
    except SystemExit as e:  # typer ends every answer with sys.exit; fish reads its status
        return e.code if isinstance(e.code, int) else 0
    except Exception:
        return 1
    return 0  # pragma: no cover - typer always exits when the variable is set


class Shell(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion(
    ctx: typer.Context,
    shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.", metavar="SHELL")],
) -> int:
    """Print the shell completion script: commands, options, models, versions and stages.

    \b
    bash: eval "$(modelreg completion bash)"             in ~/.bashrc
    zsh:  source <(modelreg completion zsh)              in ~/.zshrc, after compinit
    fish: modelreg completion fish > ~/.config/fish/completions/modelreg.fish
    """
    from typer._completion_shared import get_completion_script

    from modelreg.cli.app import _globals

    out = _globals(ctx).out
    script = get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=shell.value)
    if out.as_json:
        out.json({"shell": shell.value, "script": script})
    else:
        out.line(script)
    return 0
