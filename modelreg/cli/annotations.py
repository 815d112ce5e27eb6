"""CLI: `--format github` for `check` and `verify`: findings as GitHub Actions workflow commands.

`::error file=PATH,line=N,title=modelreg RULE::MESSAGE` (`::warning` for a warning)
shows the finding on the pull request's line when PATH is relative to the
repository's root, which is where GitHub's checkout puts the workspace. Escaping
is the runner's (actions/toolkit `command.ts`): `%`, CR and LF in the message;
those and `:` and `,` in a property. A finding without a file gets no file or
line property.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from modelreg.errors import UsageError, printable

if TYPE_CHECKING:
    from modelreg.core.findings import Finding

FORMATS = ("text", "github")

# `verify` names a file read from a past commit `PATH at COMMIT` (revision.Snapshot.load)
_AT_REVISION = re.compile(r"(?P<path>.+) at (?P<rev>[0-9a-f]{7,40})")


def wants_annotations(fmt: str, as_json: bool) -> bool:
    """Whether to print annotations; a usage error for an unknown format or github with --json."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "github" and as_json:
        raise UsageError("--json and --format github exclude each other: choose one")
    return fmt == "github"


def escape_data(text: str) -> str:
    """TEXT as a workflow command's message: one line whatever it holds."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    # other control and bidi characters are shown escaped, as in the text format: they come
    # from files under review and must not color or reorder the log (escapes add no `%`)
    return printable(text)


def escape_property(text: str) -> str:
    """TEXT as a workflow command's property value (file, title)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding, path: str, revision: str = "") -> str:
    """FINDING as one workflow command on PATH (repository-relative, '' for none).

    REVISION: the commit whose copy of PATH the finding is about, when not the
    finding's own commit; it is named in the message.
    """
    command = "error" if finding.severity == "error" else "warning"
    message = finding.message
    where = [f"at {revision}"] if revision and not _same(revision, finding.commit) else []
    where += [f"commit {finding.commit}"] if finding.commit else []
    where += [f"tag {finding.tag}"] if finding.tag else []
    if where:
        message += f" ({', '.join(where)})"
    props = []
    if path:
        props.append(f"file={escape_property(path)}")
        if finding.line:
            props.append(f"line={finding.line}")
    elif finding.line:
        message += f" (line {finding.line})"
    props.append(f"title={escape_property('modelreg ' + finding.rule)}")
    return f"::{command} {','.join(props)}::{escape_data(message)}"


def _same(revision: str, commit: str | None) -> bool:
    if not commit:
        return False
    return revision.startswith(commit) or commit.startswith(revision)


Place = Callable[[str], tuple[str, str]]  # a finding's file -> (repository path, revision)


def render_annotations(findings: Iterable[Finding], place: Place) -> list[str]:
    """One workflow command per finding, sorted as the text format sorts them."""
    return [annotation(f, *(place(f.file) if f.file else ("", ""))) for f in sorted(findings)]


def finding_lines(findings: Iterable[Finding], place: Place | None) -> list[str]:
    """The findings as `check` and `verify` print them: one line each, or with PLACE (the
    github format) one workflow command each."""
    if place is None:
        return [finding.one_line() for finding in sorted(findings)]
    return render_annotations(findings, place)


def check_place(root: Path, git_prefix: str) -> Place:
    """Where `check`'s findings are, in the repository.

    `check` names a file relative to the current folder when it is below it
    (absolute otherwise); the registry ROOT sits at GIT_PREFIX in the repository
    ('' outside git: then paths are relative to the registry root).
    """

    def place(shown: str) -> tuple[str, str]:
        full = Path(os.path.abspath(shown))
        try:
            rel = full.relative_to(root)
        except ValueError:  # not under the registry: name it as check did
            return shown, ""
        return git_prefix + rel.as_posix(), ""

    return place


def verify_place(shown: str) -> tuple[str, str]:
    """Where `verify`'s findings are: their git path (repository-relative), or
    `PATH at COMMIT` for the copy in a past commit."""
    found = _AT_REVISION.fullmatch(shown)
    return (found["path"], found["rev"]) if found else (shown, "")
