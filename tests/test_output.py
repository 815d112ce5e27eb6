"""cli/output.py: tables never read data as rich markup; --json is always valid JSON."""

from __future__ import annotations

import json
import re

import pytest

from modelreg.cli.output import NotJSON, Output

# SGR (colours, bold) and OSC (OSC 8 is a hyperlink) escape sequences
_SGR = re.compile(r"\x1b\[[0-9;]*m")
MARKUP = ["[/b]", "[red]x[/red]", "[link=https://evil.example]docs[/link]"]


def _tty_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *, color: bool
) -> str:
    monkeypatch.setenv("COLUMNS", "200")  # no cell folds over two lines
    if color:
        monkeypatch.delenv("NO_COLOR", raising=False)
    out = Output(no_color=not color)
    out.tty = True  # drawn as on a terminal, by rich
    capsys.readouterr()
    out.table(
        ["PATH", "[b]VALUE[/b]"],
        [["description", cell] for cell in MARKUP] + [["[/b] alone", None]],
        title="fields [/i] [link=https://evil.example]t[/link]",
    )
    return capsys.readouterr().out


@pytest.mark.parametrize("color", [False, True])
def test_a_tty_table_prints_markup_in_cells_and_titles_as_written(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, color: bool
) -> None:
    raw = _tty_table(capsys, monkeypatch, color=color)  # before the fix: MarkupError on [/b]
    assert "\x1b]" not in raw  # no OSC at all: no OSC 8 hyperlink
    # rich's own styling only: bold headers when colour is on, nothing else (no [red])
    assert set(_SGR.findall(raw)) == ({"\x1b[1m", "\x1b[0m"} if color else set())
    text = _SGR.sub("", raw)
    for cell in MARKUP:
        assert f"│ {cell} " in text
    assert "│ [/b] alone " in text
    assert "[b]VALUE[/b]" in text
    assert text.startswith("fields [/i] [link=https://evil.example]t[/link]")


def test_a_tty_table_escapes_control_characters(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    out = Output()
    out.tty = True
    capsys.readouterr()
    out.table(["A"], [["x\x1b]8;;https://evil.example\x1b\\y\x1b[2J"]])
    raw = capsys.readouterr().out
    assert "\x1b]" not in raw and "\x1b[2J" not in raw
    assert "x\\x1b]8;;https://evil.example\\x1b\\y\\x1b[2J" in raw


def test_a_piped_table_is_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    out = Output()
    out.tty = False
    capsys.readouterr()
    out.table(["A", "B"], [["[/b]", "[red]x[/red]"]], title="t [/i]")
    assert capsys.readouterr().out == "t [/i]\nA     B\n[/b]  [red]x[/red]\n"


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan")])
def test_json_refuses_numbers_json_cannot_hold(
    capsys: pytest.CaptureFixture[str], bad: float
) -> None:
    out = Output(as_json=True)
    capsys.readouterr()
    with pytest.raises(NotJSON, match="not valid JSON"):
        out.json({"metrics": [{"delta": bad}]})
    assert capsys.readouterr().out == ""  # nothing half-written


def test_json_is_one_strict_document(capsys: pytest.CaptureFixture[str]) -> None:
    out = Output(as_json=True)
    capsys.readouterr()
    out.json({"delta": 0.02, "name": "caf\u00e9", "none": None})

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in JSON output")

    text = capsys.readouterr().out
    assert json.loads(text, parse_constant=refuse) == {"delta": 0.02, "name": "café", "none": None}
