"""`new MODEL --config FILE`: a config a service hard-coded becomes a model's first version."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import write

CONFIG = """\
# what src/summarize.py hard-coded until now
model:
  provider: anthropic
  id: claude-sonnet-4-5-20250929
params:
  temperature: 0.3
  max_tokens: 800
system_prompt: |
  Summarize the support ticket in three bullet points.
"""


def test_a_hard_coded_config_becomes_a_checked_first_version(cli, example: Path) -> None:  # type: ignore[no-untyped-def]
    config = write(example.parent / "summarize.yaml", CONFIG)
    result = cli("new", "ticket-summary", "--config", str(config), cwd=example)
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == (
        f"created models/ticket-summary/1.0.0.yaml (ticket-summary@1.0.0 from {config})"
    )
    written = yaml.safe_load((example / "models/ticket-summary/1.0.0.yaml").read_text())
    source = yaml.safe_load(CONFIG)
    assert {k: written[k] for k in source} == source
    assert (written["schema"], written["name"], written["version"], written["kind"]) == (
        "modelreg/v1",
        "ticket-summary",
        "1.0.0",
        "prompt-config",
    )
    assert written["created"] and written["author"]
    checked = cli("check", "models/ticket-summary/1.0.0.yaml", cwd=example)
    assert checked.code == 0, checked.out + checked.err


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            CONFIG + "version: 2.0.0\n",
            10,
            "'version' is written by modelreg, not taken from a config",
        ),
        (CONFIG.replace("temperature: 0.3", "temperature: hot"), 6, "params.temperature"),
        ("- just\n- a list\n", 1, "a config is a mapping of version fields"),
        ("model: {id: x}\nmodel: {id: y}\n", 2, "duplicate"),
    ],
)
def test_a_config_that_cannot_be_a_version_is_exit_2_with_its_line(
    cli, example: Path, text: str, line: int, message: str
) -> None:  # type: ignore[no-untyped-def]
    config = write(example.parent / "bad.yaml", text)
    result = cli("new", "ticket-summary", "--config", str(config), cwd=example)
    assert result.code == 2
    assert result.err.startswith(f"error: {config}:{line}: "), result.err
    assert message in result.err
    assert not (example / "models" / "ticket-summary").exists()


def test_config_is_for_a_new_model_only(cli, example: Path) -> None:  # type: ignore[no-untyped-def]
    config = write(example.parent / "summarize.yaml", CONFIG)
    result = cli("new", "summarizer", "--config", str(config), cwd=example)
    assert result.code == 2
    assert "--config starts a new model, and summarizer has versions" in result.err
