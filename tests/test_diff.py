"""`diff REF_A REF_B`: the pure comparison (core.diffing) and the command on real registries."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from conftest import commit_all, write
from modelreg.cli.diffing import render_words
from modelreg.core.diffing import (
    Change,
    diff_configs,
    diff_metrics,
    key_path,
    metric_delta,
    newer_of,
    word_diff,
)

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


# --- core: configs -----------------------------------------------------------------------


def _paths(changes: list[Change]) -> list[tuple[str, str, Any, Any]]:
    return [(c.path, c.kind, c.old, c.new) for c in changes]


def test_nested_fields_added_removed_changed_by_dotted_path() -> None:
    old = {"params": {"temperature": 0.3, "max_tokens": 256}, "model": {"id": "a"}}
    new = {"params": {"temperature": 0.2, "top_p": 0.9}, "model": {"id": "a"}, "metadata": {"x": 1}}
    assert _paths(diff_configs(old, new).changes) == [
        ("params.temperature", "changed", 0.3, 0.2),
        ("params.max_tokens", "removed", 256, None),
        ("params.top_p", "added", None, 0.9),
        ("metadata", "added", None, {"x": 1}),
    ]


def test_a_yaml_null_is_not_an_absent_field() -> None:
    changes = diff_configs({"params": {"seed": None}}, {"params": {}}).changes
    assert _paths(changes) == [("params.seed", "removed", None, None)]
    changes = diff_configs({"params": {}}, {"params": {"seed": None}}).changes
    assert _paths(changes) == [("params.seed", "added", None, None)]
    assert [c.as_json() for c in changes] == [
        {"path": "params.seed", "kind": "added", "from": None, "to": None}
    ]


def test_bookkeeping_fields_are_left_out() -> None:
    old = {"version": "1.0.0", "created": "2026-01-01T00:00:00Z", "name": "m"}
    new = {
        "version": "1.1.0",
        "parent": "1.0.0",
        "created": "2026-02-01T00:00:00Z",
        "changes": {"summary": "s", "reason": "r"},
        "name": "m",
    }
    assert diff_configs(old, new).changes == []


def test_a_bool_that_became_a_number_is_a_change() -> None:
    changes = diff_configs({"metadata": {"flag": True}}, {"metadata": {"flag": 1}}).changes
    assert _paths(changes) == [("metadata.flag", "changed", True, 1)]


def test_lists_of_scalars_compare_as_one_value_lists_of_objects_by_index() -> None:
    old = {"params": {"stop": ["a", "b"]}, "metadata": {"l": [{"k": 1}, {"k": 2}]}}
    new = {"params": {"stop": ["a", "c"]}, "metadata": {"l": [{"k": 1}, {"k": 3}, {"k": 4}]}}
    assert _paths(diff_configs(old, new).changes) == [
        ("params.stop", "changed", ["a", "b"], ["a", "c"]),
        ("metadata.l[1].k", "changed", 2, 3),
        ("metadata.l[2]", "added", None, {"k": 4}),
    ]


def test_odd_keys_are_quoted_in_paths() -> None:
    assert key_path("metadata", "team.name") == 'metadata["team.name"]'
    assert key_path("metadata", 'a"b') == 'metadata["a\\"b"]'
    assert key_path("", "params") == "params"
    changes = diff_configs({"metadata": {"a b": 1}}, {"metadata": {"a b": 2}}).changes
    assert [c.path for c in changes] == ['metadata["a b"]']


def _tool(name: str, **props: Any) -> dict[str, Any]:
    return {"name": name, "input_schema": {"type": "object", "properties": props}}


def test_tools_are_matched_by_name() -> None:
    old = {"tools": [_tool("lookup", id={"type": "string"}), _tool("gone")]}
    new = {"tools": [_tool("new_one"), _tool("lookup", id={"type": "integer"})]}
    result = diff_configs(old, new)
    assert result.tools.as_json() == {
        "added": ["new_one"],
        "removed": ["gone"],
        "changed": ["lookup"],
        "matched_by": "name",
        "duplicates": [],
    }
    assert _paths(result.changes) == [
        ("tools[lookup].input_schema.properties.id.type", "changed", "string", "integer"),
        ("tools[gone]", "removed", _tool("gone"), None),
        ("tools[new_one]", "added", None, _tool("new_one")),
    ]


def test_tools_reordered_only_and_empty_against_absent() -> None:
    a, b = _tool("a"), _tool("b")
    result = diff_configs({"tools": [a, b]}, {"tools": [b, a]})
    assert not result.tools and result.tools.reordered
    assert _paths(result.changes) == [("tools", "changed", [a, b], [b, a])]
    assert _paths(diff_configs({}, {"tools": []}).changes) == [("tools", "added", None, [])]
    result = diff_configs({}, {"tools": [a]})
    assert result.tools.added == ["a"]
    assert _paths(result.changes) == [("tools[a]", "added", None, a)]


def test_duplicate_tool_names_fall_back_to_positions() -> None:
    old = {"tools": [_tool("x"), _tool("x")]}
    new = {"tools": [_tool("x"), _tool("x", q={"type": "string"})]}
    result = diff_configs(old, new)
    assert result.tools.as_json() == {
        "added": [],
        "removed": [],
        "changed": ["x"],
        "matched_by": "position",
        "duplicates": ["x"],
    }
    assert not result.tools.reordered  # a content change, never "reordered"
    assert [c.path for c in result.changes] == ["tools[1].input_schema.properties.q"]
    # by position, a renamed tool is a change of its name, and an extra one is added
    result = diff_configs(old, {"tools": [_tool("y"), _tool("x"), _tool("x")]})
    assert (result.tools.changed, result.tools.added) == (["y"], ["x"])
    assert _paths(result.changes) == [
        ("tools[0].name", "changed", "x", "y"),
        ("tools[2]", "added", None, _tool("x")),
    ]


def test_long_text_gets_a_word_diff_short_text_does_not() -> None:
    old = {"system_prompt": "Be brief.\nAnswer in English.\n", "description": "short"}
    new = {"system_prompt": "Be very brief.\nAnswer in English.\n", "description": "shorter"}
    by_path = {c.path: c for c in diff_configs(old, new).changes}
    assert by_path["description"].words is None
    assert by_path["system_prompt"].words == [
        ("equal", "Be"),
        ("insert", " very"),
        ("equal", " brief.\nAnswer in English.\n"),
    ]
    added = diff_configs({}, {"description": "x" * 81}).changes[0]
    assert added.words == [("insert", "x" * 81)]


# --- core: words -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("", "a b"),
        ("a b", ""),
        ("the quick brown fox jumps", "the slow red fox leaps"),
        ("  lead and trail  \n\n", "lead\tand  trail\n"),
        ("one two three four five six", "one 2 three 4 five six seven"),
    ],
)
def test_word_diff_keeps_every_character(old: str, new: str) -> None:
    words = word_diff(old, new)
    assert "".join(t for op, t in words if op != "insert") == old
    assert "".join(t for op, t in words if op != "delete") == new
    assert {op for op, _ in words} <= {"equal", "insert", "delete"}


def test_a_rewritten_phrase_is_one_edit() -> None:
    assert word_diff("the quick brown fox", "the slow red fox") == [
        ("equal", "the "),
        ("delete", "quick brown"),
        ("insert", "slow red"),
        ("equal", " fox"),
    ]


def test_render_words_plain_and_colored() -> None:
    words = word_diff("keep old words\n", "keep new words\n")
    assert render_words(words, color=False) == "keep [-old-]{+new+} words"
    colored = render_words(words, color=True)
    assert colored == "keep \x1b[31;9mold\x1b[0m\x1b[32mnew\x1b[0m words"
    # an escape sequence in a prompt never reaches the terminal raw
    assert "\x1b" not in render_words(word_diff("a", "a \x1b[2J"), color=False)


# --- core: metrics ---------------------------------------------------------------------------


def _ev(dg: str, **metrics: float) -> dict[str, Any]:
    return {"config_digest": dg, "metrics": metrics}


def test_metric_deltas_are_exact_and_one_sided_metrics_have_no_delta() -> None:
    deltas, notes = diff_metrics(
        {"reg": _ev(D1, accuracy=0.89, latency=910, old_only=1.0)},
        D1,
        {"reg": _ev(D2, accuracy=0.91, latency=840, new_only=2.5)},
        D2,
        old_label="m@1",
        new_label="m@2",
    )
    assert [m.as_json() for m in deltas] == [
        {"suite": "reg", "metric": "accuracy", "from": 0.89, "to": 0.91, "delta": 0.02},
        {"suite": "reg", "metric": "latency", "from": 910, "to": 840, "delta": -70},
        {"suite": "reg", "metric": "old_only", "from": 1.0, "to": None, "delta": None},
        {"suite": "reg", "metric": "new_only", "from": None, "to": 2.5, "delta": None},
    ]
    assert notes == []
    assert metric_delta(0.1, 0.3) == 0.2  # not 0.19999999999999998
    assert metric_delta(True, 1) is None


def test_stale_evals_and_one_sided_suites_are_left_out_with_notes() -> None:
    deltas, notes = diff_metrics(
        {"reg": _ev(D1, a=1), "smoke": _ev(D1, a=1)},
        D1,
        {"reg": _ev(D1, a=2), "smoke": _ev(D2, a=2), "extra": _ev(D2, a=1)},
        D2,
        old_label="m@1",
        new_label="m@2",
    )
    assert [(m.suite, m.delta) for m in deltas] == [("smoke", 1)]
    assert notes == [
        f"m@2: eval suite 'reg' left out: its config_digest {D1} is not this version's digest {D2}",
        "eval suite 'extra' only on m@2: no deltas",
        "eval suite 'reg' only on m@1: no deltas",
    ]


def test_newer_is_the_higher_semver() -> None:
    assert newer_of("1.10.0", "1.9.0") == "1.10.0"
    assert newer_of("1.9.0", "1.10.0") == "1.10.0"
    assert newer_of("2.0.0", "2.0.0") == "2.0.0"


# --- the command on real registries ------------------------------------------------------


V120 = """\
schema: modelreg/v1
name: summarizer
version: 1.2.0
kind: prompt-config
parent: 1.1.0
model:
  provider: anthropic
  id: claude-sonnet-4-5-20250929
params:
  temperature: 0.2
  top_p: 0.9
system_prompt: |
  Summarize in 2-3 sentences. Focus on actionable insights and owners.
description: Owners named.
changes:
  summary: Name the owner of each next step.
  reason: Leads could not tell who acts (TICKET-500).
created: 2026-11-22T09:30:00Z
author: alice@example.com
"""

ASSISTANT_110 = """\
schema: modelreg/v1
name: assistant
version: 1.1.0
kind: api-snapshot
parent: 1.0.0
model:
  provider: openai
  id: gpt-4o-2024-08-06
params:
  temperature: 0.4
  max_tokens: 1024
system_prompt: |
  Help customers.
tools:
  - name: lookup_ticket
    description: Fetch a support ticket by id, with its status and history.
    input_schema:
      type: object
      properties:
        id: {type: integer}
      required: [id]
  - name: escalate
    description: Hand the conversation to a human agent.
    input_schema: {type: object, properties: {note: {type: string}}}
changes:
  summary: Ticket ids are numbers; escalate instead of searching docs.
  reason: TICKET-600.
created: 2026-11-22T09:30:00Z
author: alice@example.com
"""


def _diff(cli, root: Path, *args: str) -> Any:  # type: ignore[no-untyped-def]
    result = cli("--repo", str(root), *args)
    assert result.code == 0, result.err
    return result


def _by_path(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["path"]: c for c in doc["changes"]}


def test_example_diff_as_json(cli, example: Path) -> None:
    doc = _diff(cli, example, "--json", "diff", "summarizer@1.0.0", "summarizer@1.1.0").json()
    assert {"from", "to", "changes", "metrics", "reason"} <= set(doc)
    assert (doc["from"], doc["to"]) == ("summarizer@1.0.0", "summarizer@1.1.0")
    assert doc["from_digest"].startswith("sha256:") and doc["same_model"] is True
    for change in doc["changes"]:
        assert {"path", "from", "to", "kind"} <= set(change)
    changes = _by_path(doc)
    assert set(changes) == {"params.temperature", "system_prompt"}
    assert changes["params.temperature"] == {
        "path": "params.temperature",
        "kind": "changed",
        "from": 0.3,
        "to": 0.2,
    }
    assert changes["system_prompt"]["words"] == [
        ["equal", "Summarize"],
        ["delete", " concisely"],
        ["equal", " in 2-3 sentences."],
        ["insert", " Focus on actionable insights."],
        ["equal", "\n"],
    ]
    assert doc["reason"] == {
        "summary": "Summaries now lead with actionable insights.",
        "reason": "Support leads asked for next steps first (TICKET-412).",
    }
    metrics = {(m["suite"], m["metric"]): (m["from"], m["to"], m["delta"]) for m in doc["metrics"]}
    assert metrics == {
        ("regression", "accuracy"): (0.89, 0.91, 0.02),
        ("regression", "faithfulness"): (0.86, 0.88, 0.02),
        ("regression", "latency_p95_ms"): (910, 840, -70),
        ("smoke", "accuracy"): (0.86, 0.9, 0.04),
        ("smoke", "faithfulness"): (0.9, 0.92, 0.02),
        ("smoke", "latency_p95_ms"): (930, 860, -70),
    }
    assert doc["notes"] == []


def test_plain_text_when_piped(cli, example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(
        "NO_COLOR"
    )  # no color because stdout is no terminal, not because of NO_COLOR
    out = _diff(cli, example, "diff", "summarizer@1.0.0", "summarizer@1.1.0").out
    assert "\x1b" not in out
    lines = out.splitlines()
    assert (
        lines[0]
        == "summarizer@1.0.0 (sha256:7ccbf7ef27d1) -> summarizer@1.1.0 (sha256:f9b10327afcb)"
    )
    assert lines[1] == "changes (summarizer@1.1.0): Summaries now lead with actionable insights."
    assert lines[2] == "reason: Support leads asked for next steps first (TICKET-412)."
    assert ["params.temperature", "0.3", "0.2"] in [re.split(r"\s{2,}", ln) for ln in lines]
    assert "Summarize[- concisely-] in 2-3 sentences.{+ Focus on actionable insights.+}" in lines
    assert ["regression", "latency_p95_ms", "910", "840", "-70"] in [
        re.split(r"\s{2,}", ln) for ln in lines
    ]
    # the order people read: header, reason, fields, words, metrics
    order = [out.index(s) for s in ("reason:", "params.temperature", "Summarize[-", "metrics")]
    assert order == sorted(order)


def test_newer_changes_whichever_side_it_is_on(cli, example: Path) -> None:
    doc = _diff(cli, example, "--json", "diff", "summarizer@1.1.0", "summarizer@1.0.0").json()
    assert doc["reason_of"] == "summarizer@1.1.0"
    assert doc["reason"]["summary"] == "Summaries now lead with actionable insights."
    assert _by_path(doc)["params.temperature"]["from"] == 0.2  # from is REF_A
    assert {m["metric"]: m["delta"] for m in doc["metrics"] if m["suite"] == "smoke"} == {
        "accuracy": -0.04,
        "faithfulness": -0.02,
        "latency_p95_ms": 70,
    }


def test_added_and_removed_fields_and_a_prompt_word_diff(cli, example: Path) -> None:
    write(example / "models/summarizer/1.2.0.yaml", V120)
    commit_all(example, "summarizer 1.2.0")
    doc = _diff(cli, example, "--json", "diff", "summarizer@1.1.0", "summarizer@1.2.0").json()
    changes = _by_path(doc)
    assert {p: (c["kind"], c["from"], c["to"]) for p, c in changes.items() if "words" not in c} == {
        "params.max_tokens": ("removed", 256, None),
        "params.top_p": ("added", None, 0.9),
        "description": ("added", None, "Owners named."),
    }
    assert doc["reason"]["reason"] == "Leads could not tell who acts (TICKET-500)."
    out = _diff(cli, example, "diff", "summarizer@1.1.0", "summarizer@1.2.0").out
    assert "Focus on actionable [-insights.-]{+insights and owners.+}" in out
    rows = [re.split(r"\s{2,}", line) for line in out.splitlines()]
    assert ["params.max_tokens", "256", "(absent)"] in rows
    assert ["description", "(absent)", '"Owners named."'] in rows


def test_number_spelling_and_comments_are_no_change(cli, example: Path) -> None:
    text = (example / "models/summarizer/1.1.0.yaml").read_text()
    text = text.replace("version: 1.1.0", "version: 1.2.0").replace(
        "parent: 1.0.0", "parent: 1.1.0"
    )
    text = text.replace("max_tokens: 256", "max_tokens: 256.0  # the same number")
    write(example / "models/summarizer/1.2.0.yaml", "# a comment\n" + text)
    commit_all(example, "summarizer 1.2.0")
    doc = _diff(cli, example, "--json", "diff", "summarizer@1.1.0", "summarizer@1.2.0").json()
    assert doc["changes"] == []
    assert doc["reason_of"] == "summarizer@1.2.0"


def test_tools_added_removed_and_changed(cli, example: Path) -> None:
    write(example / "models/assistant/1.1.0.yaml", ASSISTANT_110)
    commit_all(example, "assistant 1.1.0")
    doc = _diff(cli, example, "--json", "diff", "assistant@1.0.0", "assistant@1.1.0").json()
    assert doc["tools"] == {
        "added": ["escalate"],
        "removed": ["search_docs"],
        "changed": ["lookup_ticket"],
        "matched_by": "name",
        "duplicates": [],
    }
    changes = _by_path(doc)
    assert changes["tools[lookup_ticket].input_schema.properties.id.type"] == {
        "path": "tools[lookup_ticket].input_schema.properties.id.type",
        "kind": "changed",
        "from": "string",
        "to": "integer",
    }
    assert changes["tools[search_docs]"]["kind"] == "removed"
    assert (
        changes["tools[escalate]"]["to"]["description"] == "Hand the conversation to a human agent."
    )
    assert "words" in changes["system_prompt"]
    out = _diff(cli, example, "diff", "assistant@1.0.0", "assistant@1.1.0").out
    assert "tools: added escalate; removed search_docs; changed lookup_ticket" in out
    rows = [re.split(r"\s{2,}", line) for line in out.splitlines()]
    assert ["tools[lookup_ticket].input_schema.properties.id.type", '"string"', '"integer"'] in rows
    assert ["tools[escalate].input_schema.properties.note.type", "(absent)", '"string"'] in rows
    assert ["tools[search_docs].input_schema.required", '["query"]', "(absent)"] in rows
    assert not any(r[0].endswith(".name") for r in rows)  # a tool's name is in its path


def test_a_stale_eval_is_left_out_and_said(cli, example: Path) -> None:
    write(example / "models/summarizer/1.2.0.yaml", V120)
    stale = (example / "evals/summarizer/1.1.0/smoke.yaml").read_text()
    write(example / "evals/summarizer/1.2.0/smoke.yaml", stale.replace("1.1.0", "1.2.0"))
    regression = (example / "evals/summarizer/1.1.0/regression.yaml").read_text()
    doc = cli("--repo", str(example), "--json", "show", "summarizer@1.2.0").json()
    fresh = re.sub(r"config_digest: \S+", f"config_digest: {doc['digest']}", regression)
    fresh = fresh.replace("version: 1.1.0", "version: 1.2.0")
    write(
        example / "evals/summarizer/1.2.0/regression.yaml",
        fresh.replace("accuracy: 0.91", "accuracy: 0.93").replace(", latency_p95_ms: 840", ""),
    )
    commit_all(example, "summarizer 1.2.0 with evals")
    doc = _diff(cli, example, "--json", "diff", "summarizer@1.1.0", "summarizer@1.2.0").json()
    assert doc["metrics"] == [
        {"suite": "regression", "metric": "accuracy", "from": 0.91, "to": 0.93, "delta": 0.02},
        {"suite": "regression", "metric": "faithfulness", "from": 0.88, "to": 0.88, "delta": 0},
        {"suite": "regression", "metric": "latency_p95_ms", "from": 840, "to": None, "delta": None},
    ]
    assert len(doc["notes"]) == 2
    assert doc["notes"][0].startswith(
        "summarizer@1.2.0: eval suite 'smoke' left out: its config_digest"
    )
    assert doc["notes"][1] == "eval suite 'smoke' only on summarizer@1.1.0: no deltas"
    out = _diff(cli, example, "diff", "summarizer@1.1.0", "summarizer@1.2.0").out
    assert "note: summarizer@1.2.0: eval suite 'smoke' left out" in out
    rows = [re.split(r"\s{2,}", line) for line in out.splitlines()]
    assert ["regression", "latency_p95_ms", "840", "-", "-"] in rows


def test_model_at_stage_after_a_real_promotion(cli, signed: Path) -> None:
    promoted = cli(
        "promote", "summarizer", "1.0.0", "--to", "development", "--reason", "x", cwd=signed
    )
    assert promoted.code == 0, promoted.err
    doc = _diff(cli, signed, "--json", "diff", "summarizer@development", "summarizer@1.1.0").json()
    assert (doc["from"], doc["from_ref"], doc["to"]) == (
        "summarizer@1.0.0",
        "summarizer@development",
        "summarizer@1.1.0",
    )
    assert _by_path(doc)["params.temperature"]["from"] == 0.3
    out = _diff(cli, signed, "diff", "summarizer@development", "summarizer@1.1.0").out
    assert out.startswith("summarizer@1.0.0 (serving development, sha256:7ccbf7ef27d1) -> ")
    nothing = cli("--repo", str(signed), "diff", "summarizer@production", "summarizer@1.1.0")
    assert nothing.code == 2
    assert nothing.err == "error: summarizer@production: nothing serves production yet\n"


def test_same_version_on_both_sides(cli, signed: Path) -> None:
    assert (
        cli(
            "promote", "summarizer", "1.1.0", "--to", "development", "--reason", "x", cwd=signed
        ).code
        == 0
    )
    doc = _diff(cli, signed, "--json", "diff", "summarizer@1.1.0", "summarizer@development").json()
    assert doc["changes"] == [] and doc["metrics"] == []
    assert doc["notes"] == ["both refs name summarizer@1.1.0: nothing to compare"]
    out = _diff(cli, signed, "diff", "summarizer@1.1.0", "summarizer@1.1.0").out
    assert "no field changes" in out


def test_two_different_models(cli, example: Path) -> None:
    doc = _diff(
        cli, example, "--json", "diff", "ticket-classifier@2.0.0", "summarizer@1.0.0"
    ).json()
    assert doc["same_model"] is False
    assert doc["reason"] is None and doc["reason_of"] == "summarizer@1.0.0"  # REF_B's; it has none
    assert doc["notes"][0] == "different models: ticket-classifier and summarizer"
    assert _by_path(doc)["name"]["to"] == "summarizer"
    assert _by_path(doc)["training"]["kind"] == "removed"
    out = _diff(cli, example, "diff", "ticket-classifier@2.0.0", "summarizer@1.0.0").out
    assert out.splitlines()[0].endswith("(different models)")
    assert out.splitlines()[1] == "changes: summarizer@1.0.0 records none"


def test_markdown_for_pull_requests(cli, example: Path) -> None:
    out = _diff(
        cli, example, "diff", "summarizer@1.0.0", "summarizer@1.1.0", "--format", "markdown"
    ).out
    assert out.startswith("### modelreg diff: `summarizer@1.0.0` → `summarizer@1.1.0`\n")
    assert "**Reason:** `Support leads asked for next steps first (TICKET-412).`" in out
    assert "| `params.temperature` | `0.3` | `0.2` |" in out
    assert (
        "```diff\n-Summarize concisely in 2-3 sentences.\n"
        "+Summarize in 2-3 sentences. Focus on actionable insights.\n```\n"
    ) in out
    assert "| Suite | Metric | From | To | Δ |" in out
    assert "| `regression` | `latency_p95_ms` | 910 | 840 | -70 |" in out
    assert "| `smoke` | `accuracy` | 0.86 | 0.9 | +0.04 |" in out
    # --json wins over --format
    both = _diff(
        cli,
        example,
        "--json",
        "diff",
        "summarizer@1.0.0",
        "summarizer@1.1.0",
        "--format",
        "markdown",
    )
    assert both.json()["to"] == "summarizer@1.1.0"


def test_markdown_escapes_pipes_and_backtick_fences(cli, example: Path) -> None:
    text = V120.replace("description: Owners named.", "description: 'a | b `c`'").replace(
        "  Summarize in 2-3 sentences. Focus on actionable insights and owners.\n",
        "  Summarize.\n  ```\n  code\n",
    )
    write(example / "models/summarizer/1.2.0.yaml", text)
    commit_all(example, "summarizer 1.2.0")
    out = _diff(
        cli, example, "diff", "summarizer@1.1.0", "summarizer@1.2.0", "--format", "markdown"
    ).out
    assert '| `description` | *(absent)* | ``"a \\| b `c`"`` |' in out
    assert "````diff\n" in out and "\n+```\n" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("summarizer", "summarizer@1.1.0"),
            "error: bad ref 'summarizer': use MODEL@VERSION or MODEL@STAGE",
        ),
        (
            ("summarizer@1.1.0", "summarizer@1.1"),
            "error: bad ref 'summarizer@1.1': '1.1' is neither",
        ),
        (("Bad@1.0.0", "summarizer@1.1.0"), "error: bad ref 'Bad@1.0.0': invalid model name"),
        (("nope@1.0.0", "summarizer@1.1.0"), "error: unknown model 'nope'"),
        (("summarizer@9.9.9", "summarizer@1.1.0"), "error: unknown version summarizer@9.9.9"),
        (
            ("summarizer@1.0.0", "summarizer@1.1.0", "--format", "html"),
            "error: unknown --format 'html'",
        ),
    ],
)
def test_bad_refs_exit_2_with_one_line(
    cli, example: Path, args: tuple[str, ...], message: str
) -> None:
    result = cli("--repo", str(example), "diff", *args)
    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith(message)
    assert result.err.count("\n") == 1


def test_bad_ref_with_json_is_a_json_error(cli, example: Path) -> None:
    result = cli("--repo", str(example), "--json", "diff", "summarizer@nope", "summarizer@1.1.0")
    assert result.code == 2 and result.out == ""
    assert result.err.startswith('{"error": {"rule": "usage", "message": "bad ref')


# --- review fixes: big prompts, markup, non-finite deltas, duplicate tool names ------------

VOCABULARY = [
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "is",
    "it",
    "that",
    "for",
    "on",
    "with",
    "as",
    "support",
    "ticket",
    "owner",
    "step",
]


def _prose(lines: int, seed: int = 7) -> str:
    """LINES lines of about 90 characters, deterministic, every line different."""
    import random

    rng = random.Random(seed)
    return "".join(
        f"{i:04d} " + " ".join(rng.choice(VOCABULARY) for _ in range(20)) + "\n"
        for i in range(lines)
    )


def _round_trips(words: list[tuple[str, str]], old: str, new: str) -> None:
    assert "".join(t for op, t in words if op != "insert") == old
    assert "".join(t for op, t in words if op != "delete") == new


def _tokens(text: str) -> int:
    return len(re.findall(r"\s+|\S+", text))


def test_a_big_prompt_is_word_diffed_only_inside_its_changed_lines() -> None:
    from modelreg.core.diffing import MAX_WORD_PAIRS, diff_blocks

    old = _prose(1000)
    assert len(old) > 80_000
    lines = old.splitlines(keepends=True)
    for i in range(0, 1000, 25):  # 40 words changed, spread over the prompt
        lines[i] = lines[i].replace(" the ", " THE ", 1) if " the " in lines[i] else "new\n"
    new = "".join(lines)
    blocks = diff_blocks(old, new)
    assert "".join(a for _, a, _ in blocks) == old and "".join(b for _, _, b in blocks) == new
    changed = [(a, b) for how, a, b in blocks if how != "equal"]
    assert len(changed) == 40  # one block per changed line: the words of the rest are not diffed
    assert all(how == "words" for how, _, _ in blocks if how != "equal")
    assert all(_tokens(a) * _tokens(b) <= MAX_WORD_PAIRS for a, b in changed)
    assert all(a.count("\n") == b.count("\n") == 1 for a, b in changed)  # a line each side
    words = word_diff(old, new)
    _round_trips(words, old, new)
    assert ("delete", "the") in words and ("insert", "THE") in words


def test_a_huge_rewrite_shows_as_deleted_and_inserted_text() -> None:
    """The review's case: 2,000 words drawn from 13, all on one line (9.5 s before)."""
    import random

    from modelreg.core.diffing import MAX_WORD_PAIRS, diff_blocks

    rng = random.Random(3)
    old = " ".join(rng.choice(VOCABULARY[:13]) for _ in range(2000)) + "\n"
    new = " ".join(rng.choice(VOCABULARY[:13]) for _ in range(2000)) + "\n"
    assert _tokens(old) * _tokens(new) > MAX_WORD_PAIRS
    assert diff_blocks(old, new) == [("text", old, new)]
    assert word_diff(old, new) == [("delete", old), ("insert", new)]
    # the common lines around it are still set aside as equal
    words = word_diff("intro\n" + old + "outro\n", "intro\n" + new + "outro\n")
    assert words == [("equal", "intro\n"), ("delete", old), ("insert", new), ("equal", "outro\n")]


def test_word_diffs_share_one_budget() -> None:
    """150 rewritten paragraphs, each just within MAX_WORD_PAIRS: the first few get words."""
    import random

    from modelreg.core.diffing import MAX_TOTAL_WORD_PAIRS, MAX_WORD_PAIRS, diff_blocks

    rng = random.Random(5)

    def paragraphs() -> str:
        return "".join(
            " ".join(rng.choice("abc") for _ in range(220)) + f"\nkept line {i}\n"
            for i in range(150)
        )

    old, new = paragraphs(), paragraphs()
    blocks = diff_blocks(old, new)
    work = [_tokens(a) * _tokens(b) for how, a, b in blocks if how == "words"]
    assert work and all(w <= MAX_WORD_PAIRS for w in work)
    assert sum(work) <= MAX_TOTAL_WORD_PAIRS
    hows = [how for how, _, _ in blocks if how != "equal"]
    assert len(hows) == 150 and hows[: len(work)] == ["words"] * len(work)
    assert set(hows[len(work) :]) == {"text"}
    _round_trips(word_diff(old, new), old, new)


def test_line_matching_is_bounded_too() -> None:
    from modelreg.core.diffing import MAX_MATCHED_LINES, line_opcodes

    n = MAX_MATCHED_LINES + 500
    old = ["same\n", *(f"a {i}\n" for i in range(n)), "end\n"]
    new = ["same\n", *(f"b {i}\n" for i in range(n)), "end\n"]
    # more lines than MAX_MATCHED_LINES between the common ends: one block, never matched
    assert line_opcodes(old, new) == [
        ("equal", 0, 1, 0, 1),
        ("replace", 1, n + 1, 1, n + 1),
        ("equal", n + 1, n + 2, n + 1, n + 2),
    ]
    assert line_opcodes(["x\n"], ["x\n", "y\n"]) == [("equal", 0, 1, 0, 1), ("insert", 1, 1, 1, 2)]
    words = word_diff("".join(old), "".join(new))
    _round_trips(words, "".join(old), "".join(new))
    assert [op for op, _ in words] == ["equal", "delete", "insert", "equal"]


def _with_prompt(version: str, parent: str, prompt: str) -> str:
    body = "".join(f"  {line}\n" for line in prompt.splitlines())
    return (
        V120.replace("version: 1.2.0", f"version: {version}")
        .replace("parent: 1.1.0", f"parent: {parent}")
        .replace(
            "system_prompt: |\n"
            "  Summarize in 2-3 sentences. Focus on actionable insights and owners.\n",
            "system_prompt: |\n" + body,
        )
    )


def test_an_80_kb_prompt_change_diffs_and_round_trips(cli, example: Path) -> None:
    old = _prose(1000)
    new = old.replace("0500 ", "0500 inserted words ").replace("0999 ", "0999 last ")
    write(example / "models/summarizer/1.2.0.yaml", _with_prompt("1.2.0", "1.1.0", old))
    write(example / "models/summarizer/1.3.0.yaml", _with_prompt("1.3.0", "1.2.0", new))
    commit_all(example, "big prompts")
    doc = _diff(cli, example, "--json", "diff", "summarizer@1.2.0", "summarizer@1.3.0").json()
    words = [tuple(w) for w in _by_path(doc)["system_prompt"]["words"]]
    _round_trips(words, old, new)  # type: ignore[arg-type]
    assert [(op, t) for op, t in words if op != "equal"] == [
        ("insert", " inserted words"),
        ("insert", " last"),
    ]


EVIL = "see [link=https://evil.example]docs[/link] [red]x[/red] or [/b]"


def test_markup_in_a_version_file_prints_as_written_on_a_terminal(
    example: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text output through rich (a tty) and the word diff's own colours, colour on."""
    from modelreg.cli.diffing import _render_text
    from modelreg.cli.output import Output
    from modelreg.registry import Registry
    from modelreg.services.diff import diff

    text = V120.replace("description: Owners named.", f'description: "{EVIL}"').replace(
        "actionable insights and owners.", "actionable insights [bold]and[/bold] owners [/b]."
    )
    write(example / "models/summarizer/1.2.0.yaml", text)
    commit_all(example, "summarizer 1.2.0")
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("COLUMNS", "200")
    out = Output()
    out.tty = True
    result = diff(Registry(example), "summarizer@1.1.0", "summarizer@1.2.0")
    capsys.readouterr()
    _render_text(out, result, color=True)  # before the fix: MarkupError on [/b]
    raw = capsys.readouterr().out
    assert "\x1b]" not in raw  # no OSC 8 hyperlink
    assert "\x1b[31m" not in raw  # [red] is not a colour; deletions are \x1b[31;9m
    plain = re.sub(r"\x1b\[[0-9;]*m", "", raw)
    assert f'"{EVIL}"' in plain
    assert "[bold]and[/bold] owners [/b]." in plain


BIG = 1.0e308


def test_a_delta_beyond_the_float_range_is_null_with_a_note() -> None:
    assert metric_delta(-BIG, BIG) is None and metric_delta(BIG, -BIG) is None
    assert metric_delta(-1e307, 1e307) == 2e307
    deltas, notes = diff_metrics(
        {"reg": _ev(D1, big=-BIG, ok=1.5)},
        D1,
        {"reg": _ev(D2, big=BIG, ok=2)},
        D2,
        old_label="m@1",
        new_label="m@2",
    )
    assert [(m.metric, m.delta) for m in deltas] == [("big", None), ("ok", 0.5)]
    assert notes == [
        "eval suite 'reg': no delta for 'big': 1e+308 - -1e+308 is beyond the range of a float"
    ]


def test_diff_json_stays_json_when_a_delta_overflows(cli, example: Path) -> None:
    evals = example / "evals/summarizer"
    old_eval = evals / "1.1.0/regression.yaml"
    old_eval.write_text(
        old_eval.read_text().replace("latency_p95_ms: 840}", "latency_p95_ms: 840, big: -1.0e+308}")
    )
    write(example / "models/summarizer/1.2.0.yaml", V120)
    digest = cli("--repo", str(example), "--json", "show", "summarizer@1.2.0").json()["digest"]
    write(
        evals / "1.2.0/regression.yaml",
        old_eval.read_text()
        .replace("version: 1.1.0", "version: 1.2.0")
        .replace(re.search(r"sha256:\w+", old_eval.read_text())[0], digest)  # type: ignore[index]
        .replace("big: -1.0e+308", "big: 1.0e+308"),
    )
    commit_all(example, "summarizer 1.2.0 with a huge metric")
    out = _diff(cli, example, "--json", "diff", "summarizer@1.1.0", "summarizer@1.2.0").out

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in --json output")

    doc = json.loads(out, parse_constant=refuse)  # before the fix: "delta": Infinity
    big = next(m for m in doc["metrics"] if m["metric"] == "big")
    assert big == {"suite": "regression", "metric": "big", "from": -BIG, "to": BIG, "delta": None}
    assert any("no delta for 'big'" in note for note in doc["notes"])
    text = _diff(cli, example, "diff", "summarizer@1.1.0", "summarizer@1.2.0").out
    assert ["regression", "big", "-1e+308", "1e+308", "-"] in [
        re.split(r"\s{2,}", ln) for ln in text.splitlines()
    ]


def _assistant(version: str, parent: str, second: str) -> str:
    return f"""\
schema: modelreg/v1
name: assistant
version: {version}
kind: api-snapshot
parent: {parent}
model:
  provider: openai
  id: gpt-4o-2024-08-06
system_prompt: Help customers.
tools:
  - name: search
    description: a
    input_schema: {{type: object}}
  - name: search
    description: {second}
    input_schema: {{type: object}}
changes:
  summary: Tools.
  reason: TICKET-700.
created: 2026-11-22T09:30:00Z
author: alice@example.com
"""


def test_duplicate_tool_names_are_compared_by_position_not_reordered(cli, example: Path) -> None:
    write(example / "models/assistant/1.1.0.yaml", _assistant("1.1.0", "1.0.0", "b"))
    write(example / "models/assistant/1.2.0.yaml", _assistant("1.2.0", "1.1.0", "c"))
    commit_all(example, "assistant with a repeated tool name")
    refs = ("assistant@1.1.0", "assistant@1.2.0")
    doc = _diff(cli, example, "--json", "diff", *refs).json()
    assert doc["tools"] == {
        "added": [],
        "removed": [],
        "changed": ["search"],
        "matched_by": "position",
        "duplicates": ["search"],
    }
    assert _by_path(doc)["tools[1].description"] == {
        "path": "tools[1].description",
        "kind": "changed",
        "from": "b",
        "to": "c",
    }
    out = _diff(cli, example, "diff", *refs).out
    assert "reordered" not in out
    assert "tools: changed search; compared by position (duplicate names: search)" in out
    assert ["tools[1].description", '"b"', '"c"'] in [
        re.split(r"\s{2,}", ln) for ln in out.splitlines()
    ]
    markdown = _diff(cli, example, "diff", *refs, "--format", "markdown").out
    assert "Reordered" not in markdown
    assert "- Compared by position (duplicate names: `search`)" in markdown
    # a tool added by position keeps its name in the rows
    write(
        example / "models/assistant/1.2.0.yaml",
        _assistant("1.2.0", "1.1.0", "b").replace(
            "changes:",
            "  - name: search\n    description: d\n    input_schema: {type: object}\nchanges:",
        ),
    )
    commit_all(example, "a third search")
    rows = [re.split(r"\s{2,}", ln) for ln in _diff(cli, example, "diff", *refs).out.splitlines()]
    assert ["tools[2].name", "(absent)", '"search"'] in rows


def test_markdown_shows_a_versions_own_words_as_code(cli, example) -> None:  # type: ignore[no-untyped-def]
    """A reason is posted as a pull-request comment: it must not @mention, link or run HTML."""
    path = example / "models" / "summarizer" / "1.1.0.yaml"
    text = path.read_text()
    marker = "Support leads asked for next steps first (TICKET-412)."
    assert marker in text
    path.write_text(
        text.replace(marker, "ping @octocat <img src=x onerror=alert(1)> [x](http://e)")
    )
    commit_all(example, "a reason with markup")
    result = cli(
        "diff", "summarizer@1.0.0", "summarizer@1.1.0", "--format", "markdown", cwd=example
    )
    assert result.code == 0, result.err
    assert "**Reason:** `ping @octocat <img src=x onerror=alert(1)> [x](http://e)`" in result.out
