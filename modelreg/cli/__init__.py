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

from modelreg.errors import EXIT_ENV, EXIT_USAGE, ModelregError

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
    args = hoist_global_options(sys.argv[1:] if argv is None else argv)
    wants_json = "--json" in args[: args.index("--")] if "--" in args else "--json" in args

    from modelreg.cli.output import Output

    out = Output(as_json=wants_json)
    try:
        from modelreg.cli.app import app

        result = app(args=args, prog_name="modelreg", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except ModelregError as e:
        out.error(e.as_json(), e.one_line())
        return e.exit_code
    except KeyboardInterrupt:
        out.error({"rule": "interrupted", "message": "interrupted"}, "error: interrupted")
        return 130
    except BrokenPipeError:
        # `modelreg list | head`: the reader went away; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as e:
        # typer's usage errors (unknown option, missing argument, bad value) carry
        # an exit code and a formatted message; duck-typed so we never import click.
        if hasattr(e, "format_message") and hasattr(e, "exit_code"):
            message = e.format_message()
            out.error({"rule": "usage", "message": message}, f"error: {message}")
            code = int(e.exit_code)
            return code if code else EXIT_USAGE
        if type(e).__name__ == "Abort":
            out.error({"rule": "interrupted", "message": "aborted"}, "error: aborted")
            return 130
        if os.environ.get("MODELREG_TRACEBACK") == "1":
            import traceback

            traceback.print_exc()
        message = f"internal error: {type(e).__name__}: {e}"
        out.error(
            {"rule": "internal", "message": message},
            f"error: {message} (set MODELREG_TRACEBACK=1 for the traceback)",
        )
        return EXIT_ENV


def console_main() -> None:
    """The `modelreg` console script."""
    sys.exit(main())
