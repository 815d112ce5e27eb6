"""CLI: the one error funnel, `main(argv) -> int`.

Every failure ends here: a ModelregError becomes `error: file:line: message`
(or a JSON error object with --json) and its exit code; a usage error one line
and exit 2; Ctrl-C 130; anything else one line and exit 3, with the traceback
only when MODELREG_TRACEBACK=1.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from modelreg.errors import EXIT_ENV, EXIT_USAGE, ModelregError, printable

GLOBAL_FLAGS = ("--json", "--no-color")
GLOBAL_VALUE_OPTIONS = ("--repo",)


def hoist_global_options(argv: Sequence[str]) -> list[str]:
    """Let global options stand after the command too (`modelreg status --json`).

    They are moved in front of the command, as typer expects; nothing after
    `--` is touched.
    """
    front: list[str] = []
    rest: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        if arg in GLOBAL_FLAGS:
            front.append(arg)
        elif arg in GLOBAL_VALUE_OPTIONS and i + 1 < len(args):
            front += [arg, args[i + 1]]
            i += 1
        elif arg.split("=", 1)[0] in GLOBAL_VALUE_OPTIONS and "=" in arg:
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


def main(argv: Sequence[str] | None = None) -> int:
    """Run modelreg with ARGV; return the exit code (never raises, never exits)."""
    if os.environ.get("_MODELREG_COMPLETE"):  # the shell asks for completions
        from modelreg.cli.completion import answer

        return answer()
    args = hoist_global_options(sys.argv[1:] if argv is None else argv)
    wants_json = "--json" in args[: args.index("--")] if "--" in args else "--json" in args

    from modelreg.cli.output import Output, PipeClosed

    out = Output(as_json=wants_json)

    def fail(rule: str, message: str, code: int, hint: str = "") -> int:
        out.error(
            {"rule": rule, "message": message, "file": None, "line": None},
            f"error: {message}{hint}",
        )
        return code

    if not [a for a in args if a not in GLOBAL_FLAGS]:
        # `modelreg` alone: the help on stdout, and a usage error
        from modelreg.cli.app import app_for

        if not wants_json:
            app_for([])(args=["--help"], prog_name="modelreg", standalone_mode=False)
        return fail("usage", "missing command", EXIT_USAGE)
    try:
        from modelreg.cli.app import app_for

        result = app_for(args)(args=args, prog_name="modelreg", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except ModelregError as e:
        out.error(e.as_json(), e.one_line())
        return e.exit_code
    except KeyboardInterrupt:
        return fail("interrupted", "interrupted", 130)
    except (BrokenPipeError, PipeClosed):
        # `modelreg list | head`: the reader went away; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as e:
        # the file system said no (permissions, a file where a folder must be, ...)
        where = f"{e.filename}: " if e.filename else ""
        return fail("environment", printable(f"{where}{e.strerror or e}"), EXIT_ENV)
    except Exception as e:
        # typer's usage errors (unknown option, missing argument, bad value) carry
        # an exit code and a formatted message; duck-typed so we never import click.
        if hasattr(e, "format_message") and hasattr(e, "exit_code"):
            code = int(e.exit_code)
            return fail("usage", printable(e.format_message()), code if code else EXIT_USAGE)
        if type(e).__name__ == "Abort":
            return fail("interrupted", "aborted", 130)
        if os.environ.get("MODELREG_TRACEBACK") == "1":
            import traceback

            traceback.print_exc()
        message = printable(f"internal error: {type(e).__name__}: {e}")
        return fail("internal", message, EXIT_ENV, " (set MODELREG_TRACEBACK=1 for the traceback)")


def console_main() -> None:
    """The `modelreg` console script."""
    sys.exit(main())
