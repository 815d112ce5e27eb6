"""CLI: the only rich importer. Tables for people on a terminal, plain text when piped, JSON on request.

rich is imported only when a table is drawn on a terminal, so piped output,
JSON and `--help` never pay for it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from modelreg.errors import printable


class PipeClosed(Exception):
    """The reader of our output went away (`modelreg list | head`): not an error."""


def _write(stream: TextIO, text: str) -> None:
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        raise PipeClosed from None  # not an OSError, so typer leaves it to our funnel


class NotJSON(RuntimeError):
    """Data for --json holds a value JSON cannot hold (NaN, Infinity): a modelreg bug."""


def _dumps(data: Any, *, ascii_only: bool) -> str:
    try:
        return json.dumps(data, indent=2, ensure_ascii=ascii_only, allow_nan=False)
    except ValueError as e:  # "Out of range float values are not JSON compliant", ...
        raise NotJSON(f"the --json output is not valid JSON: {e}") from None


class Output:
    def __init__(self, *, as_json: bool = False, no_color: bool = False) -> None:
        self.as_json = as_json
        # https://no-color.org: any non-empty NO_COLOR turns color off
        self.color = not no_color and not os.environ.get("NO_COLOR")
        self.tty = sys.stdout.isatty()

    # --- machine output ---------------------------------------------------------

    def json(self, data: Any) -> None:
        """Exactly one JSON document on stdout.

        JSON has no NaN or Infinity: a float that is not finite is a modelreg bug
        (callers turn such values into null first), reported as an internal error
        with nothing on stdout, never printed as `Infinity` (which is not JSON).
        """
        text = _dumps(data, ascii_only=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a file name that is not UTF-8: escape it, stay valid JSON
            text = _dumps(data, ascii_only=True)
        _write(sys.stdout, text + "\n")

    # --- people output -------------------------------------------------------------

    def line(self, text: str = "", *, err: bool = False) -> None:
        stream: TextIO = sys.stderr if err else sys.stdout
        _write(stream, text + "\n")

    def table(
        self, columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None
    ) -> None:
        cells = [[("" if c is None else printable(str(c))) for c in row] for row in rows]
        if self.tty:
            from rich.console import Console
            from rich.table import Table
            from rich.text import Text

            # Every string goes in as Text, never as markup: cells hold file contents and
            # signed reasons, where `[link=...]` or `[/b]` must print as written.
            table = Table(
                title=Text(printable(title)) if title else None,
                title_justify="left",
                header_style="bold" if self.color else None,
            )
            for name in columns:
                table.add_column(Text(printable(name)), overflow="fold")
            for row in cells:
                table.add_row(*(Text(c) for c in row))
            console = Console(
                force_terminal=True, no_color=not self.color, highlight=False, soft_wrap=False
            )
            try:
                console.print(table)
            except BrokenPipeError:
                raise PipeClosed from None
            return
        widths = [
            max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
            for i, h in enumerate(columns)
        ]
        lines = [printable(title)] if title else []
        lines += [
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in [list(columns), *cells]
        ]
        # one write, not a write and a flush per row (`status` of 200 models: 201)
        _write(sys.stdout, "".join(f"{line}\n" for line in lines))

    def error(self, payload: dict[str, Any], text: str) -> None:
        """One line on stderr, or the JSON error object with --json."""
        if self.as_json:
            sys.stderr.write(json.dumps({"error": payload}, ensure_ascii=False) + "\n")
        else:
            sys.stderr.write(text + "\n")
