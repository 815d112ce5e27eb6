"""`diff REF_A REF_B`: the pure comparison (core.diffing) and the command on real registries."""

from __future__ import annotations

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
    }
    assert _paths(result.changes) == [
        ("tools[lookup].input_schema.properties.id.type", "changed", "string", "integer"),
        ("tools[gone]", "removed", _tool("gone"), None),
        ("tools[new_one]", "added", None, _tool("new_one")),
    ]


def test_tools_reordered_only_and_empty_against_absent() -> None:
    a, b = _tool("a"), _tool("b")
    result = diff_configs({"tools": [a, b]}, {"tools": [b, a]})
    assert not result.tools
    assert _paths(result.changes) == [("tools", "changed", [a, b], [b, a])]
    assert _paths(diff_configs({}, {"tools": []}).changes) == [("tools", "added", None, [])]
    result = diff_configs({}, {"tools": [a]})
    assert result.tools.added == ["a"]
    assert _paths(result.changes) == [("tools[a]", "added", None, a)]


def test_duplicate_tool_names_fall_back_to_positions() -> None:
    old = {"tools": [_tool("x"), _tool("x")]}
    new = {"tools": [_tool("x"), _tool("x", q={"type": "string"})]}
    result = diff_configs(old, new)
    assert not result.tools
    assert [c.path for c in result.changes] == ["tools[1].input_schema.properties.q"]


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
    assert "**Reason:** Support leads asked for next steps first (TICKET-412)." in out
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
