"""The fast YAML path reads what the strict builder reads, or leaves the text to it.

yamlio.loads() tries _fast_load() first and falls back to _Builder (libyaml events,
every strictness rule). These tests feed both the same inputs: wherever the fast
path answers, its data (types and key order), lines (and their order) and float
spellings must be the builder's; where the builder finds a problem, the fast path
must not answer at all.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from conftest import EXAMPLE
from modelreg import yamlio
from modelreg.yamlio import StrictYamlError, _Builder, _fast_load, decode, loads


@pytest.fixture(autouse=True)
def fresh_memos(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with nothing remembered from another."""
    monkeypatch.setattr(yamlio, "_FLOW_SEEN", {})
    monkeypatch.setattr(yamlio, "_PLAIN_SEEN", {})


def typed(data: Any) -> Any:
    """DATA with every type spelled out (True is not 1, 1 is not 1.0) and key order kept."""
    if isinstance(data, dict):
        return ("dict", [(key, typed(value)) for key, value in data.items()])
    if isinstance(data, list):
        return ("list", [typed(value) for value in data])
    return (type(data).__name__, repr(data))


def by_builder(text: str) -> Any:
    try:
        doc = _Builder(text).build()
    except StrictYamlError as e:
        return ("problems", [(p.line, p.column, p.message) for p in e.problems])
    return ("doc", typed(doc.data), list(doc.lines.items()), list(doc.float_texts.items()))


def by_fast_path(text: str) -> Any:
    doc = _fast_load(text)
    if doc is None:
        return None
    assert doc.text == text
    return ("doc", typed(doc.data), list(doc.lines.items()), list(doc.float_texts.items()))


def same(text: str) -> bool:
    """Whether the fast path answered (it then said what the builder says)."""
    fast = by_fast_path(text)
    if fast is not None:
        assert fast == by_builder(text), text
    return fast is not None


# --- what the fast path reads ---------------------------------------------------------------

VERSION = """\
# yaml-language-server: $schema=../../schemas/model-version.schema.json
schema: modelreg/v1
name: summarizer
version: 1.2.0
kind: prompt-config
parent: 1.1.0

model:
  provider: anthropic
  id: claude-sonnet-4-5-20250929   # pinned
params:
  temperature: 0.2
  max_tokens: 256
  top_p: 1.0
  stop: ['##', "END"]
  seed: -7
system_prompt: |
  Summarize in 2-3 sentences.

    Indented: kept, and a # is text here.
  Trailing spaces stay:   \n\
     \n\
  last line
notes: |-
  no final line break
tools:
  - name: lookup_ticket
    description: Fetch a support ticket by id.
    input_schema: {type: object, properties: {id: {type: string}}, required: [id]}
  - name: search
    input_schema:
      type: object
      properties:
        q: {type: string, minLength: 1}
training:
changes:
  summary: 'It''s better: #1'
  reason: "Support leads asked (TICKET-412)."
created: 2026-11-20T09:30:00Z
author: alice@example.com
"""

EVAL = """\
schema: modelreg/eval/v1
model: summarizer
version: 1.1.0
config_digest: sha256:27e17ade3e425ba2d650517644d4ae11a48a93862d1927eb6d001a8311c68175
suite: regression
dataset: {name: support-tickets, version: 2026-11-01}
samples: 500
metrics: {accuracy: 0.91, faithfulness: 0.88, latency_p95_ms: 840}
run: {id: run-8812, at: 2026-11-21T10:00:00Z, tool: promptfoo}
"""

STAGES = """\
# Written by modelreg. Do not edit.
schema: modelreg/stages/v1
model: summarizer
stages:
  production:
    version: 1.1.0
    digest: sha256:82230e6d2908f2af54bf8097d6943b23cab1205539818126470737ac0977ef3e
    previous: 1.0.0
    since: "2026-11-25T00:15:37Z"
    canary: {version: 1.2.0, digest: 'sha256:00', weight: 5, since: '2026-11-25T01:00:00Z'}
  staging: {version: 1.2.0, previous: 1.1.0}
  development:
archived: [0.9.0]
tags:
  production: modelreg/summarizer/production/8
"""

ACCEPTED = {
    "version": VERSION,
    "eval": EVAL,
    "stages": STAGES,
    "scalars": (
        "a: word\nb: two words\nc: a#b\nd: a:b\ne: s3://b/k?x=1\nf: -1\ng: +2\nh: .5\n"
        "i: 1.0e+3\nj: ~\nk: null\nl: true\nm: False\nn: 0x1F\np: -0\nq: 0.1\n"
        "r: 2026-11-20\ns: 2026-11-20 09:30:00.5 +01:00\nt: y\nu: n\nv: (x)\nw: a b  c   \n"
        "x: 'it''s'\ny: ''\nz: \"\"\n_: /path/to\n"
    ),
    "empty values": "a:\nb:   \nc: # a comment\nd: 1\n",
    "indentless sequence": "a:\n- 1\n- x\nb:\n  - [1, 2]\n  - {k: v}\n",
    "sequence of mappings": "a:\n  - k: 1\n    l:\n      m: 2\n  - k: 3\n    l:\n    - 4\n  - x\n",
    "nested flows": "a: {b: [1, {c: d, e: [f, 'g h']}], i: {}, j: []}\nk: [ ]\nl: { }\n",
    "flow spacing": "a: { b: c ,d: e  ,  f: g }\nb: [ 1 , 2 ]   # comment\n",
    "comments and blanks": "\n# top\n\na: 1 # one\n  # indented comment\n\n# between\nb:\n  # first\n  c: 2\n",
    "literal with blank rows": "a: |\n  x\n\n  y\n\n\nb: |-\n    deep\n      deeper\n",
    "literal with spaces-only rows": "a: |\n  x\n      \n  y\n \nb: 1\n",
    "literal ends the file": "a: 1\nb: |\n  last\n\n",
    "non-ASCII text": "name: café\nprompt: |\n  Naïve — “quoted” 日本語 😀\nflow: [ü, é]\nx: ü\n",
    "floats": "a: 1.10\nb: [0.5, 2.0]\nc: {d: -3.25}\ne:\n  - 1.5e-3\n",
    "key shapes": "a.b: 1\nx-y: 2\n_z: 3\nk1: 4\nA_B-c.d: 5\n",
}


@pytest.mark.parametrize("text", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_the_fast_path_reads_these_as_the_builder_does(text: str) -> None:
    assert same(text), "the fast path left this to the builder"


def test_every_example_and_benchmark_file_is_read_by_the_fast_path() -> None:
    paths = sorted(EXAMPLE.rglob("*.yaml"))
    assert len(paths) > 10
    for path in paths:
        assert same(decode(path.read_bytes())), path


def test_loads_answers_what_the_builder_answers() -> None:
    doc = loads(VERSION)
    assert by_builder(VERSION) == (
        "doc",
        typed(doc.data),
        list(doc.lines.items()),
        list(doc.float_texts.items()),
    )
    assert doc.line_of(("tools", 0, "input_schema", "properties", "id")) == 29
    assert doc.float_texts[("params", "top_p")] == "1.0"


# --- what the fast path leaves to the builder -------------------------------------------------

LEFT = {
    # every strictness rule: the builder words the finding
    "duplicate key": "a: 1\nb: 2\na: 3\n",
    "duplicate nested key": "a:\n  x: 1\n  x: 2\n",
    "duplicate flow key": "run: {at: x, at: y}\n",
    "anchor": "a: &x 1\n",
    "alias": "a: 1\nb: *x\n",
    "anchor on a mapping": "a: &x\n  b: 1\n",
    "tag": "a: !Foo bar\n",
    "core tag": "a: !!str 1\n",
    "merge key": "base: {a: 1}\nother:\n  <<: {a: 2}\n",
    "YAML directive": "%YAML 1.2\n---\na: 1\n",
    "document start": "---\na: 1\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "document end": "a: 1\n...\n",
    "tab indent": "a:\n\tb: 1\n",
    "tab in a value": "a: x\ty\n",
    "carriage return": "a: 1\r\nb: 2\r\n",
    "int key": "1: a\n",
    "bool key": "true: b\n",
    "null key": "null: c\n",
    "YAML 1.1 bool key": "on: 1\n",
    "YAML 1.1 bool": "a: yes\n",
    "YAML 1.1 bool in flow": "a: [no]\n",
    "leading zero": "a: 007\n",
    "underscore number": "a: 1_000\n",
    "sexagesimal": "a: 22:22\n",
    "exponent without dot": "a: 1e3\n",
    "nan": "a: .nan\n",
    "inf in flow": "a: {b: -.inf}\n",
    "overflow": "a: 1e999\n",
    "int beyond 2^53": "a: 9007199254740993\n",
    "huge int": "a: " + "9" * 30 + "\n",
    "bidi control": "a: x\u202ey\n",
    "line separator": "a: x\u2028y\n",
    "NEL": "a: x\x85y\n",
    "C1 control": "a: x\x9fy\n",
    "BOM inside": "a: \ufeffx\n",
    "escape": 'a: "\\u00e9"\n',
    "surrogate escape": 'a: "\\ud800"\n',
    "long key": "k" * 1100 + ": 1\n",
    "deep nesting": "a: " + "[" * 40 + "]" * 40 + "\n",
    "deep block nesting": "".join("  " * i + f"k{i}:\n" for i in range(40)) + "  " * 40 + "v\n",
    "empty file": "",
    "comment only": "# just a comment\n",
    # syntax errors
    "unclosed flow": "a: [1, 2\nb: 3\n",
    "bad indent": "a:\n  b: 1\n c: 2\n",
    "value after a quote": "a: 'x' y\n",
    "mapping in a value": "a: b: c\n",
    "trailing colon": "a: b:\n",
    "flow trailing comma": "a: {b: 1,}\n",
    "flow junk after": "a: [1]x\n",
    "unclosed quote": "a: 'x\n  y'\n",
    # valid YAML the fast path does not read
    "no final line break": "a: 1",
    "multi-line plain": "a: one\n  two\n",
    "multi-line flow": "a: [1,\n  2]\n",
    "folded block": "a: >\n  x\n  y\n",
    "keep chomping": "a: |+\n  x\n\n",
    "indentation indicator": "a: |2\n   x\n",
    "leading blank row in a block": "a: |\n\n  x\n",
    "quoted key": "'1': a\n",
    "key with a space": "a b: 1\n",
    "root sequence": "- 1\n- 2\n",
    "root scalar": "just a string\n",
    "indented root": "  a: 1\n",
    "explicit key": "? a\n: 1\n",
    "sequence entry alone": "a:\n-\n- 1\n",
    "nested sequence": "a:\n- - 1\n",
    "block in a sequence": "a:\n  - |\n    x\n",
    "two spaces after dash": "a:\n  -  x\n",
    "flow pair in a sequence": "a: [b: c]\n",
    "colon without space in flow": "a: {b:c}\n",
    "question mark in flow": "a: [b?]\n",
    "empty flow value": "a: {b: , c: 1}\n",
    "hash after a flow": "a: [1]#x\n",
}


def loaded(text: str) -> Any:
    try:
        doc = loads(text)
    except StrictYamlError as e:
        return ("problems", [(p.line, p.column, p.message) for p in e.problems])
    return ("doc", typed(doc.data), list(doc.lines.items()), list(doc.float_texts.items()))


@pytest.mark.parametrize("text", LEFT.values(), ids=LEFT.keys())
def test_the_fast_path_leaves_these_to_the_builder(text: str) -> None:
    assert by_fast_path(text) is None
    try:
        decoded = decode(text.encode("utf-8", "surrogatepass"))
    except StrictYamlError:
        return  # refused before either path reads it (loads says so: test_yamlio.py)
    assert loaded(text) == by_builder(decoded)


# --- generated inputs ---------------------------------------------------------------------------

KEYS = ["a", "b", "key", "x-y", "a.b", "_k", "1", "1a", "yes", "true", "null", "<<", "a b", "'q'",
        "k" * 130, "-k", "a:", "Off", "é", "a\tb", "? a"]  # fmt: skip
VALUES = [
    "a", "a b", "a  b ", "a#b", "a #b", "a:b", "a: b", "a:", ":a", "-1", "-a", "- a", ".5", "...",
    "---", "~", "yes", "1.10", "1e3", "1.0e+3", "0o17", "0x1F", "007", "2026-11-21T10:00:00Z",
    "{a: b}", "{a: b, c: [d, e]}", "[a, b]", "[]", "{}", "{a: 1,}", "[a: b]", "'x'", "'it''s'",
    "'x' y", '"x"', '"a\\nb"', '"x', "|", "|-", "|+", "|2", ">", "&a x", "*a", "!t x", "?x", "a?b",
    "[a?b]", "{a: b?c}", "`x", "@x", "%x", "a]b", "a}b", "a,b", "(x)", "x)", "a\\b", "{ a : b }",
    "{a:b}", "{a: {b: {c: d}}}", "[a, [b, [c]]]", "{a: b #c}", "[a #b]", "[a, b] #c", "{a: b}x",
    "'a' #c", "a # c", "#c", "1_000", "22:22", "+5", "-0", ".inf", "1e999", "9" * 30, "0.1",
    "100.0", "3", "true", "False", "NULL", "", " ", "x\ty", "é", "naïve café", "😀 x", "\u202ex",
    "\u2028", "{a: é}", "[ü, 😀]", "{a: 'b', c: \"d\"}", "{a: , b: 1}", "[a,, b]", "{a: b, a: c}",
    "{1: a}", "{yes: a}", "{a: 2026-11-21T10:00:00Z, b: x}", "s3://b/k", "a -b", "{ }", "[ ]",
]  # fmt: skip
GOOD = ["word", "two words", "1", "0.5", "-2", "1.10", "2026-11-20", "~", "", "", "",
        "{a: b, c: 1}", "[x, 2, y z]", "{a: {b: [1]}}", "'it''s'", '"q #"', "|", "|-", "é ü", "a:b"]  # fmt: skip
BLOCK_ROWS = ["text", "more text  ", "a: b", "- x", "#x", "{a", "'q", "...", "naïve “x”", "\u2028"]


def generated(rng: random.Random) -> str:
    """A document of random rows, mostly well formed: keys and entries at the indents
    an outline would have, values good and odd, blocks, comments, stray indents."""
    rows: list[str] = []
    indents = [0]
    for _ in range(rng.randint(1, 12)):
        indent = indents[-1]
        pick = rng.random()
        if pick < 0.1:
            indent = rng.choice([indent + 1, indent + 2, max(0, indent - 1)])  # odd
        elif pick < 0.3 and len(indents) > 1:
            indents.pop()
            indent = indents[-1]
        pick = rng.random()
        if pick < 0.06:
            rows.append(rng.choice(["", "  ", "# c", "   # c", "---", "...", "%YAML 1.2", "-"]))
            continue
        good = rng.random() < 0.85
        value = rng.choice(GOOD if good else VALUES)
        if pick < 0.7 or not rows:
            key = rng.choice(KEYS[:6]) if good else rng.choice(KEYS)
            separator = ": " if good or rng.random() < 0.5 else rng.choice([":  ", ":"])
            tail = rng.choice(["", "", "  ", " # c"])
            rows.append(" " * indent + key + separator + value + (tail if value else ""))
        else:
            rows.append(" " * indent + ("- " if good else rng.choice(["- ", "-  "])) + value)
        if value == "":
            indents.append(indent + rng.choice([2, 2, 4, 0]))
        if value.startswith(("|", ">")):
            width = indent + rng.choice([2, 2, 3, 4, 0, 1])
            for _ in range(rng.randint(0, 5)):
                rows.append(
                    rng.choice(["", " " * rng.randint(0, 6), " " * width + rng.choice(BLOCK_ROWS)])
                )
        indents = indents[:4]
    return "\n".join(rows) + rng.choice(["\n", "\n", "\n", "", "\n\n"])


def mutated(rng: random.Random, text: str) -> str:
    """TEXT with a few characters inserted or removed, or a row indented differently."""
    pieces = [*" \n:#-'\"{}[],|>&*!?%@`~\\\t.0aZ", "é", "\x7f", ": ", " #", "\n  ", "- "]
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(text) + 1)
        pick = rng.random()
        if pick < 0.4:
            text = text[:at] + rng.choice(pieces) + text[at:]
        elif pick < 0.7:
            text = text[:at] + text[at + 1 :]
        else:
            rows = text.split("\n")
            row = rng.randrange(len(rows))
            rows[row] = " " + rows[row] if pick < 0.85 else rows[row].removeprefix(" ")
            text = "\n".join(rows)
    return text


def test_generated_documents_read_the_same_both_ways() -> None:
    rng = random.Random(20261126)
    read = 0
    for _ in range(3000):
        read += same(generated(rng))
    assert read > 150  # the fast path did answer for many of them (most are broken)


def test_mutated_registry_files_read_the_same_both_ways() -> None:
    rng = random.Random(47)
    seeds = [VERSION, EVAL, STAGES, *(p.read_text() for p in sorted(EXAMPLE.rglob("*.yaml")))]
    read = 0
    for _ in range(3000):
        read += same(mutated(rng, rng.choice(seeds)))
    assert read > 500


# --- what the fast path keeps between files -------------------------------------------------------


def test_a_recurring_flow_gives_each_document_its_own_data_and_lines() -> None:
    first = loads("a: {x: [1, {y: 2.50}]}\n")
    first.data["a"]["x"][1]["y"] = "changed"
    first.data["a"]["x"].append("more")
    second = loads("# moved down\nb:\n  c: {x: [1, {y: 2.50}]}\n")
    assert typed(second.data) == typed({"b": {"c": {"x": [1, {"y": 2.5}]}}})
    assert second.lines[("b", "c", "x", 1, "y")] == 3
    assert second.float_texts == {("b", "c", "x", 1, "y"): "2.50"}
    assert same("- a: {x: [1, {y: 2.50}]}\n") is False  # a root sequence: the builder's


def test_a_recurring_flow_still_counts_towards_the_nesting_limit() -> None:
    flow = "[" * 20 + "]" * 20
    assert same(f"a: {flow}\n")
    deep = "".join("  " * i + f"k{i}:\n" for i in range(15)) + "  " * 15 + f"v: {flow}\n"
    assert by_fast_path(deep) is None  # 16 levels of keys, then 20 of flow: past the fast limit
    assert by_builder(deep)[0] == "doc"


def test_plain_scalars_resolve_through_one_function() -> None:
    # both loaders call _plain(); its memo answers as the first call did
    for text in ["0.5", "007", "yes", "2026-11-20", "x" * 41, "1e3", "~", "-0"]:
        assert yamlio._plain(text) == yamlio._plain(text) == yamlio._plain_resolved(text)
