"""CLI: `diff REF_A REF_B`: field, prompt-word, tool and eval-metric differences between two versions.

Registered on the app by the import at the end of `cli/app.py`; the service and
core are imported inside the command so `--help` loads only typer. Word diffs
are colored with plain SGR codes (only `cli/output.py` may import rich).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelreg.cli import completion as complete
from modelreg.cli.app import _globals, app
from modelreg.errors import EXIT_OK, printable

if TYPE_CHECKING:
    from modelreg.core.diffing import Change
    from modelreg.services.diff import DiffResult, DiffSide

FORMATS = ("text", "markdown")

_RED_STRUCK, _GREEN, _RESET = "\x1b[31;9m", "\x1b[32m", "\x1b[0m"


@app.command("diff")
def diff_(
    ctx: typer.Context,
    ref_a: Annotated[
        str,
        typer.Argument(
            help="From: MODEL@VERSION, or MODEL@STAGE for what serves it now.",
            autocompletion=complete.refs,
        ),
    ],
    ref_b: Annotated[
        str,
        typer.Argument(
            help="To: MODEL@VERSION, or MODEL@STAGE for what serves it now.",
            autocompletion=complete.refs,
        ),
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="text (colored on a terminal, plain when piped) or markdown (for pull-request "
            "comments). --json wins over both.",
        ),
    ] = "text",
) -> int:
    """Compare two versions: fields, prompt words, tools, eval metrics, and the newer's changes."""
    from modelreg.errors import UsageError
    from modelreg.services.diff import diff

    g = _globals(ctx)
    if fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}: use one of {', '.join(FORMATS)}")
    result = diff(g.registry(), ref_a, ref_b)
    if g.out.as_json:
        g.out.json(result.as_json())
    elif fmt == "markdown":
        g.out.line("\n".join(render_markdown(result)))
    else:
        _render_text(g.out, result, color=g.out.tty and g.out.color)
    return EXIT_OK  # a diff is information, not a verdict


# --- values ----------------------------------------------------------------------------


def _safe(text: str) -> str:
    """TEXT with newlines and tabs kept and every other unprintable character escaped."""
    return "\n".join("\t".join(printable(p) for p in ln.split("\t")) for ln in text.split("\n"))


def _one_line(text: str | None) -> str:
    return _safe(" ".join((text or "").split()))


def value_text(value: Any, present: bool = True) -> str:
    """A field value as JSON (so the string "null" and a null differ); `(absent)` for none."""
    if not present:
        return "(absent)"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _number(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    text = repr(value) if isinstance(value, float) else str(value)
    return "+" + text if signed and value > 0 else text


def change_rows(
    c: Change, *, tool_names_in_paths: bool = True
) -> list[tuple[str, Any, bool, Any, bool]]:
    """(path, old, old present, new, new present) rows for people.

    An added or removed object is shown leaf by leaf (a new tool's input schema
    property by property), not as one line of JSON; `--json` keeps it whole.
    TOOL_NAMES_IN_PATHS: tools were matched by name (`tools[NAME]`), so a tool's
    own `name` row is left out; matched by position (`tools[1]`), it is shown.
    """
    from modelreg.core.diffing import key_path

    if c.kind == "changed":
        return [(c.path, c.old, True, c.new, True)]
    added = c.kind == "added"

    def leaves(path: str, value: Any) -> list[tuple[str, Any, bool, Any, bool]]:
        if isinstance(value, dict) and value:
            if (
                tool_names_in_paths
                and path.startswith("tools[")
                and path.endswith("]")
                and "." not in path
            ):
                value = {k: v for k, v in value.items() if k != "name"}  # the name is in the path
            return [row for k, v in value.items() for row in leaves(key_path(path, k), v)]
        return [(path, None, False, value, True) if added else (path, value, True, None, False)]

    return leaves(c.path, c.new if added else c.old)


def _text_rows(changes: list[Change], by_name: bool = True) -> list[list[str]]:
    return [
        [path, value_text(a, a_in), value_text(b, b_in)]
        for c in changes
        for path, a, a_in, b, b_in in change_rows(c, tool_names_in_paths=by_name)
    ]


def _side_label(side: DiffSide) -> str:
    from modelreg.core.digest import short

    where = f"serving {side.stage}, " if side.stage else ""
    return f"{side.label} ({where}sha256:{short(side.digest)})"


def _groups(result: DiffResult) -> tuple[list[Change], list[Change], list[Change]]:
    """(field changes, long-text changes, tool changes) in diff order."""
    fields, texts, tools = [], [], []
    for c in result.config.changes:
        if c.words is not None:
            texts.append(c)
        elif c.path == "tools" or c.path.startswith("tools["):
            tools.append(c)
        else:
            fields.append(c)
    return fields, texts, tools


def _tool_summary(result: DiffResult) -> str:
    """What happened to the tools, e.g. `added escalate; changed lookup_ticket`.

    Tools with a repeated name are compared by position, and the summary says so
    (never "reordered", which is only the same tools by name in another order).
    """
    t = result.config.tools
    parts = [
        f"{what} {', '.join(names)}"
        for what, names in (("added", t.added), ("removed", t.removed), ("changed", t.changed))
        if names
    ]
    if t.reordered:
        parts.append("reordered")
    if t.matched_by == "position":
        parts.append(f"compared by position (duplicate names: {', '.join(t.duplicates)})")
    return "; ".join(parts) or "changed"


def _by_name(result: DiffResult) -> bool:
    return result.config.tools.matched_by == "name"


# --- text ------------------------------------------------------------------------------


def render_words(words: list[tuple[str, str]], *, color: bool) -> str:
    """A word diff as `[-old-]{+new+}` (git diff --word-diff=plain), or red/green on a terminal."""
    out: list[str] = []
    for op, raw in words:
        text = _safe(raw)
        if op == "equal":
            out.append(text)
        elif color:
            style = _RED_STRUCK if op == "delete" else _GREEN
            # styled line by line, so a color never runs on past a line break
            out.append("\n".join(f"{style}{p}{_RESET}" if p else p for p in text.split("\n")))
        else:
            out.append(f"[-{text}-]" if op == "delete" else f"{{+{text}+}}")
    rendered = "".join(out)
    if words and words[-1][0] == "equal" and rendered.endswith("\n"):
        rendered = rendered[:-1]  # the text's own final newline; the line itself ends it
    return rendered


def _render_text(out: Any, result: DiffResult, *, color: bool) -> None:
    header = f"{_side_label(result.old)} -> {_side_label(result.new)}"
    if not result.same_model:
        header += "  (different models)"
    out.line(header)
    if result.reason:
        out.line(f"changes ({result.reason_of}): {_one_line(result.reason['summary'])}")
        out.line(f"reason: {_one_line(result.reason['reason'])}")
    else:
        out.line(f"changes: {result.reason_of} records none")
    fields, texts, tools = _groups(result)
    if not result.config.changes:
        out.line()
        out.line("no field changes")
    if fields:
        out.line()
        out.table(["PATH", "FROM", "TO"], _text_rows(fields), title="fields")
    for c in texts:
        out.line()
        out.line(f"{c.path} ({c.kind}):")
        out.line(render_words(c.words or [], color=color))
    if tools:
        out.line()
        out.line(f"tools: {_safe(_tool_summary(result))}")
        out.table(["PATH", "FROM", "TO"], _text_rows(tools, _by_name(result)))
    if result.metrics:
        out.line()
        out.table(
            ["SUITE", "METRIC", "FROM", "TO", "DELTA"],
            [
                [m.suite, m.metric, _number(m.old), _number(m.new), _number(m.delta, signed=True)]
                for m in result.metrics
            ],
            title="metrics",
        )
    if result.notes:
        out.line()
    for note in result.notes:
        out.line(f"note: {_safe(note)}")


# --- markdown --------------------------------------------------------------------------


def _code(text: str) -> str:
    """TEXT as an inline code span that survives backticks and table pipes."""
    text = printable(text).replace("|", "\\|")
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_value(value: Any, present: bool) -> str:
    return _code(value_text(value)) if present else "*(absent)*"


def _md_table(columns: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _md_change_rows(changes: list[Change], by_name: bool = True) -> list[list[str]]:
    return [
        [_code(path), _md_value(a, a_in), _md_value(b, b_in)]
        for c in changes
        for path, a, a_in, b, b_in in change_rows(c, tool_names_in_paths=by_name)
    ]


def _line_diff(old: str, new: str) -> list[str]:
    """`-`, `+` and ` ` lines, for a ```diff block (line matching bounded as in word diffs)."""
    from modelreg.core.diffing import line_opcodes

    a, b = old.splitlines(), new.splitlines()
    lines: list[str] = []
    for tag, i1, i2, j1, j2 in line_opcodes(a, b):
        if tag == "equal":
            lines += [" " + ln for ln in a[i1:i2]]
            continue
        lines += ["-" + ln for ln in a[i1:i2]]
        lines += ["+" + ln for ln in b[j1:j2]]
    return [_safe(ln) for ln in lines]


def render_markdown(result: DiffResult) -> list[str]:
    """The diff as GitHub-flavored markdown: tables for fields and metrics, ```diff for text."""
    from modelreg.core.digest import short

    old, new = result.old, result.new
    out = [f"### modelreg diff: {_code(old.label)} → {_code(new.label)}", ""]
    digests = f"{_code('sha256:' + short(old.digest))} → {_code('sha256:' + short(new.digest))}"
    stages = [f"{s.label} serves {s.stage}" for s in (old, new) if s.stage]
    if stages:
        digests += " (" + "; ".join(stages) + ")"
    if not result.same_model:
        digests += " · **different models**"
    out += [digests, ""]
    if result.reason:
        # as code spans: written by whoever made the version, they must not @mention,
        # link or render HTML in a pull-request comment
        out.append(
            f"**Changes in {_code(result.reason_of)}:** {_code(_one_line(result.reason['summary']))}"
        )
        out += ["", f"**Reason:** {_code(_one_line(result.reason['reason']))}", ""]
    else:
        out += [f"{_code(result.reason_of)} records no changes.", ""]
    fields, texts, tools = _groups(result)
    if not result.config.changes:
        out += ["No field changes.", ""]
    if fields:
        out += ["#### Fields", "", *_md_table(["Field", "From", "To"], _md_change_rows(fields)), ""]
    for c in texts:
        body = _line_diff(
            c.old if isinstance(c.old, str) else "", c.new if isinstance(c.new, str) else ""
        )
        fence = "```"
        while any(ln.lstrip("-+ ").startswith(fence) for ln in body):
            fence += "`"
        out += [f"#### {_code(c.path)} ({c.kind})", "", fence + "diff", *body, fence, ""]
    if tools:
        out += ["#### Tools", ""]
        t = result.config.tools
        for what, names in (("Added", t.added), ("Removed", t.removed), ("Changed", t.changed)):
            if names:
                out.append(f"- {what}: " + ", ".join(_code(n) for n in names))
        if t.reordered:
            out.append("- Reordered")
        if t.matched_by == "position":
            repeated = ", ".join(_code(n) for n in t.duplicates)
            out.append(f"- Compared by position (duplicate names: {repeated})")
        if not (t or t.reordered or t.matched_by == "position"):
            out.append("- Changed")
        rows = _md_change_rows(tools, _by_name(result))
        out += ["", *_md_table(["Field", "From", "To"], rows), ""]
    if result.metrics:
        out += [
            "#### Eval metrics",
            "",
            *_md_table(
                ["Suite", "Metric", "From", "To", "Δ"],
                [
                    [
                        _code(m.suite),
                        _code(m.metric),
                        _number(m.old),
                        _number(m.new),
                        _number(m.delta, signed=True),
                    ]
                    for m in result.metrics
                ],
            ),
            "",
        ]
    for note in result.notes:
        out += [f"> **Note:** {_one_line(note)}", ""]
    while out and out[-1] == "":
        out.pop()
    return out
