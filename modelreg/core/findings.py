"""Core: findings, the data that `check` and `verify` report (never exceptions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelreg.errors import printable


@dataclass(frozen=True, order=True)
class Finding:
    """One problem (or warning) with a stable rule name and, where known, a place."""

    file: str = ""
    line: int = 0
    rule: str = ""
    message: str = ""
    severity: str = "error"  # "error" makes a report not ok; "warning" does not
    commit: str | None = None
    tag: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "message": self.message}
        if self.file:
            out["file"] = self.file
        if self.line:
            out["line"] = self.line
        if self.commit:
            out["commit"] = self.commit
        if self.tag:
            out["tag"] = self.tag
        return out

    def one_line(self) -> str:
        """`error: file:line: message [rule]`, with control characters escaped: always one line."""
        where = printable(self.file)
        if where and self.line:
            where += f":{self.line}"
        label = "error" if self.severity == "error" else "warning"
        prefix = f"{label}: {where}: " if where else f"{label}: "
        at = [f"commit {self.commit}"] if self.commit else []
        at += [f"tag {printable(self.tag)}"] if self.tag else []
        suffix = f" ({', '.join(at)})" if at else ""
        return f"{prefix}{printable(self.message)} [{self.rule}]{suffix}"


@dataclass
class Report:
    """What a check found: errors make it not ok; warnings are shown but pass."""

    findings: list[Finding] = field(default_factory=list)  # each once, in the order found
    checked: int = 0
    _seen: set[Finding] = field(default_factory=set, repr=False)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(
        self,
        rule: str,
        message: str,
        file: str = "",
        line: int = 0,
        *,
        warning: bool = False,
        commit: str | None = None,
        tag: str | None = None,
    ) -> None:
        finding = Finding(
            file=file,
            line=line,
            rule=rule,
            message=message,
            severity="warning" if warning else "error",
            commit=commit,
            tag=tag,
        )
        if finding not in self._seen:  # the same problem reached twice is reported once
            self._seen.add(finding)
            self.findings.append(finding)

    def as_json(self) -> dict[str, Any]:
        ordered = sorted(self.findings)
        return {
            "ok": self.ok,
            "problems": [f.as_json() for f in ordered if f.severity == "error"],
            "warnings": [f.as_json() for f in ordered if f.severity != "error"],
            "checked": self.checked,
        }
