"""Errors (shared by every layer): each class carries its exit code and rule name.

Findings about a registry's files are data (see core.findings), not exceptions;
an exception means the command could not answer.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_NO = 1  # the answer is no: findings, failed gates, refused actions
EXIT_USAGE = 2  # bad arguments or bad input to the command itself
EXIT_ENV = 3  # environment or internal failure


def printable(text: str) -> str:
    """TEXT with control, format (bidi) and other unprintable characters escaped.

    Names come from the file system and from files under review; a newline or an
    escape sequence in one must not split a finding or reach a terminal raw.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class ModelregError(Exception):
    """Base of every error modelreg reports as one line."""

    exit_code = EXIT_ENV
    rule = "internal"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        rule: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        if rule is not None:
            self.rule = rule

    def one_line(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        return printable(f"error: {where}{self.message}")

    def as_json(self) -> dict[str, object]:
        return {"rule": self.rule, "message": self.message, "file": self.file, "line": self.line}


class UsageError(ModelregError):
    """Bad arguments or bad input to the command itself."""

    exit_code = EXIT_USAGE
    rule = "usage"


class NotARegistry(UsageError):
    rule = "not-a-registry"


class NotFound(UsageError):
    """An unknown model, version, stage or file named on the command line."""

    rule = "not-found"


class BadInput(UsageError):
    """A file given to the command cannot be read or parsed."""

    rule = "bad-input"


def unreadable(error: OSError, shown: str) -> BadInput:
    """The one-line error for a file the user named (SHOWN) that could not be read."""
    if isinstance(error, FileNotFoundError):
        return BadInput("no such file", file=shown)
    if isinstance(error, IsADirectoryError):
        return BadInput("is a folder, not a file", file=shown)
    return BadInput(f"cannot read: {error.strerror}", file=shown)


class Refused(ModelregError):
    """The command's own rules say no (exit 1), e.g. `new` over an existing file."""

    exit_code = EXIT_NO
    rule = "refused"


class EnvironmentFailure(ModelregError):
    """Git, signing, the file system or a lock is not as the command needs."""

    exit_code = EXIT_ENV
    rule = "environment"


class GitError(EnvironmentFailure):
    rule = "git"
