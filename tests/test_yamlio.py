"""Unit tests of the strict YAML loader and writer (THREATS scenarios 32-45, 47)."""

from __future__ import annotations

import itertools
import math
import re
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml  # PyYAML: an independent YAML 1.1 parser (scenario 47)

import modelreg
from modelreg.core.digest import MAX_SAFE_INTEGER
from modelreg.yamlio import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_PROBLEMS,
    Document,
    StrictYamlError,
    dumps,
    loads,
)

# A generous bound: "under a second" on a slow, shared machine.
FAST = 1.0


def problems_of(source: str | bytes) -> list[tuple[int, int, str]]:
    with pytest.raises(StrictYamlError) as info:
        loads(source)
    return [(p.line, p.column, p.message) for p in info.value.problems]


def only_problem(source: str | bytes) -> tuple[int, int, str]:
    found = problems_of(source)
    assert len(found) == 1, found
    return found[0]


def billion_laughs(levels: int = 9, prefix: str = "") -> str:
    """The classic alias bomb: 9 levels of 9 aliases expand to 9**9 strings."""
    lines = [prefix + 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in itertools.pairwise("abcdefghijklmnopqrstuvwxyz"[:levels]):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


# --- refused inputs: (id, source, line, column, message fragment) ----------------------------

REFUSED = [
    # 32 duplicate keys: the second key's line
    ("dup-top", "a: 1\nb: 2\na: 3\n", 3, 1, "duplicate key 'a' (first on line 1)"),
    ("dup-nested", "top:\n  x: 1\n  y: 2\n  x: 3\n", 4, 3, "duplicate key 'x' (first on line 2)"),
    ("dup-flow", "run: {at: x, at: y}\n", 1, 14, "duplicate key 'at'"),
    # 33 anchors and aliases, even harmless ones
    ("anchor", "a: &x 1\n", 1, 4, "anchor &x is not allowed"),
    # 34 merge keys
    (
        "merge-map",
        "base: {a: 1}\nother:\n  <<: {a: 2}\n  b: 3\n",
        3,
        3,
        "merge key << is not allowed",
    ),
    ("merge-seq", "other:\n  <<: [{a: 2}]\n", 2, 3, "merge key << is not allowed"),
    # 37 custom tags
    ("tag-foo", "a: !Foo bar\n", 1, 4, "explicit tag !Foo is not allowed"),
    ("tag-foo-map", "a: !Foo {x: 1}\n", 1, 4, "explicit tag !Foo is not allowed"),
    ("tag-str", "a: !!str 1\n", 1, 4, "explicit tag !!str is not allowed"),
    # 38 directives
    ("yaml-1.1", "%YAML 1.1\n---\na: 1\n", 1, 1, "%YAML directive is not allowed"),
    ("yaml-1.2", "%YAML 1.2\n---\na: 1\n", 1, 1, "%YAML directive is not allowed"),
    (
        "tag-directive",
        "%TAG !e! tag:example.com,2000:\n---\na: 1\n",
        1,
        1,
        "%TAG directive is not allowed",
    ),
    # 40 tab indentation, with line and column
    ("tab-col1", "a:\n\tb: 1\n", 2, 1, "found character '\\t' that cannot start any token"),
    ("tab-nested", "a: 1\nb:\n  c: 1\n\td: 2\n", 4, 1, "found character '\\t'"),
    ("tab-after-spaces", "a:\n  b: 1\n  \tc: 1\n", 3, 3, "found character '\\t'"),
    # 41 NaN and infinity
    ("nan", "a: .nan\n", 1, 4, "non-finite number .nan is not allowed"),
    ("NaN", "a: .NaN\n", 1, 4, "non-finite number .NaN is not allowed"),
    ("inf", "a: .inf\n", 1, 4, "non-finite number .inf is not allowed"),
    ("+inf", "a: +.inf\n", 1, 4, "non-finite number +.inf is not allowed"),
    ("-inf", "a: -.Inf\n", 1, 4, "non-finite number -.Inf is not allowed"),
    ("overflow", "x: 1\na: 1e999\n", 2, 4, "number 1e999 overflows to infinity"),
    ("overflow-neg", "a: [-1e999]\n", 1, 5, "number -1e999 overflows to infinity"),
    # 42 tags for types JSON does not have
    ("binary", "a: !!binary aGVsbG8=\n", 1, 4, "explicit tag !!binary is not allowed"),
    ("set", "a: !!set {x, y}\n", 1, 4, "explicit tag !!set is not allowed"),
    ("timestamp", "a: !!timestamp 2026-11-20\n", 1, 4, "explicit tag !!timestamp is not allowed"),
    ("omap", "a: !!omap [{x: 1}]\n", 1, 4, "explicit tag !!omap is not allowed"),
    # 42 non-string keys
    ("key-int", "1: a\n", 1, 1, "mapping key '1' is not a string; quote it"),
    ("key-bool", "x: 0\ntrue: b\n", 2, 1, "mapping key 'true' is not a string; quote it"),
    ("key-null", "null: c\n", 1, 1, "mapping key 'null' is not a string; quote it"),
    ("key-tilde", "~: c\n", 1, 1, "mapping key '~' is not a string"),
    ("key-float", "1.5: x\n", 1, 1, "mapping key '1.5' is not a string"),
    ("key-seq", "? [x]\n: d\n", 1, 3, "complex keys are not allowed"),
    ("key-map", "? {x: 1}\n: d\n", 1, 3, "complex keys are not allowed"),
    # 43 several documents, empty files
    ("two-docs", "a: 1\n---\nb: 2\n", 2, 1, "several YAML documents in one file"),
    (
        "two-docs-explicit",
        "---\na: 1\n...\n---\nb: 2\n",
        4,
        1,
        "several YAML documents in one file",
    ),
    ("empty", "", 1, 1, "empty file: expected one YAML document"),
    ("comment-only", "# just a comment\n# and another\n", 1, 1, "empty file"),
    ("blank-lines", "\n\n   \n", 1, 1, "empty file"),
    # 44 control characters and bidirectional overrides
    ("raw-ctrl-01", "a: 1\nb: x\x01y\n", 2, 5, "not allowed"),
    ("raw-nul", "a: x\x00y\n", 1, 5, "not allowed"),
    ("raw-esc", "a: x\x1b[31my\n", 1, 5, "not allowed"),
    ("raw-ctrl-after-multibyte", "x: 1\na: é€😀\x01z\n", 2, 7, "not allowed"),
    # a raw control is named at its own column; an escaped one at its scalar
    ("bidi-value", "name: abc\u202edef\n", 1, 10, "bidirectional control character"),
    ("bidi-escaped", 'name: "abc\\u202edef"\n', 1, 7, "bidirectional control character"),
    ("bidi-key", "ab\u202ec: 1\n", 1, 3, "bidirectional control character"),
    ("bidi-quoted-key", '"ab\u202ec": 1\n', 1, 4, "bidirectional control character"),
    ("bidi-escaped-key", 'a:\n  "ab\\u2066c": 1\n', 2, 3, "bidirectional control character"),
    ("bidi-isolate", "a: x\u2066y\u2069\n", 1, 5, "bidirectional control character"),
    ("bidi-nested", "a:\n  - ok\n  - x\u202ay\n", 3, 6, "bidirectional control character"),
    # ambiguous numbers
    ("leading-zero", "a: 007\n", 1, 4, "ambiguous number 007"),
    ("leading-zero-neg", "a: -0123\n", 1, 4, "ambiguous number -0123"),
    # integers without an exact JSON form
    ("int-2^53", f"a: {MAX_SAFE_INTEGER + 1}\n", 1, 4, "beyond 2^53-1"),
    ("int--2^53", f"a: {-(MAX_SAFE_INTEGER + 1)}\n", 1, 4, "beyond 2^53-1"),
    ("int-20-digits", "a: 99999999999999999999\n", 1, 4, "beyond 2^53-1"),
    ("int-5000-digits", "a: " + "9" * 5000 + "\n", 1, 4, "is too large"),
    ("hex-huge", "a: 0x" + "f" * 5000 + "\n", 1, 4, "is too large"),
    ("oct-huge", "a: 0o" + "7" * 5000 + "\n", 1, 4, "is too large"),
    # syntax errors are problems with a place, too
    ("unclosed-flow", "a: [1, 2\nb: 3\n", 2, 2, "invalid YAML"),
    ("bad-indent", "a:\n  b: 1\n c: 2\n", 3, 2, "invalid YAML"),
    # strictness rules, lines and columns still hold in files libyaml (YAML 1.1) cannot read
    # alone: a colon inside a flow scalar, valid YAML 1.2
    ("flow-colon-tag", "run: {at: 2026-11-21T10:00:00Z}\nx: !Foo y\n", 2, 4, "explicit tag !Foo"),
    ("flow-colon-dup", "run: {at: 2026-11-21T10:00:00Z, at: x}\n", 1, 33, "duplicate key 'at'"),
    (
        "flow-colon-nan",
        "run: {at: 2026-11-21T10:00:00Z, n: .nan}\n",
        1,
        36,
        "non-finite number .nan",
    ),
    ("flow-colon-bidi", 'u: [s3://b/k, "x\u202ey"]\n', 1, 17, "bidirectional control character"),
]


@pytest.mark.parametrize(
    ("source", "line", "column", "fragment"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_refused_with_line_column_and_message(
    source: str, line: int, column: int, fragment: str
) -> None:
    found = problems_of(source)
    assert found, source
    first_line, first_column, message = found[0]
    assert (first_line, first_column) == (line, column), found
    assert fragment in message, found


def test_every_problem_is_listed_in_one_pass() -> None:
    source = "a: 1\na: 2\nb: .nan\nc: !Foo x\n1: y\n"
    assert [(line, msg.split()[0]) for line, _col, msg in problems_of(source)] == [
        (2, "duplicate"),
        (3, "non-finite"),
        (4, "explicit"),
        (5, "mapping"),
    ]


def test_problems_are_sorted_and_the_error_names_the_first() -> None:
    with pytest.raises(StrictYamlError) as info:
        loads("a: 1\nb: .inf\na: 2\n")
    lines = [p.line for p in info.value.problems]
    assert lines == sorted(lines) == [2, 3]
    assert str(info.value).startswith("2: non-finite number .inf")


def test_problems_are_capped_per_file() -> None:
    source = "".join(f"k: {i}\n" for i in range(100))
    found = problems_of(source)
    assert MAX_PROBLEMS == 20
    assert len(found) == MAX_PROBLEMS
    assert found[0][:2] == (2, 1)
    assert all("duplicate key 'k'" in m for _l, _c, m in found)


# --- 33 alias bomb -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prefix", ["", "x: {at: 2026-11-21T10:00:00Z}\n"], ids=["plain", "after-flow-colon"]
)
def test_alias_bomb_refused_fast_without_expansion(prefix: str) -> None:
    source = billion_laughs(9, prefix)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(StrictYamlError) as info:
            loads(source)
        elapsed = time.perf_counter() - start
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < FAST
    # 9**9 = 387 million strings would need gigabytes; nothing was expanded
    assert peak < 20 * 1024 * 1024
    problems = info.value.problems
    assert len(problems) == MAX_PROBLEMS
    assert all("anchor" in p.message or "alias" in p.message for p in problems)
    first_line = 2 if prefix else 1
    assert (problems[0].line, problems[0].column, problems[0].message) == (
        first_line,
        4,
        "anchor &a is not allowed (no anchors or aliases)",
    )
    assert any(p.message.startswith("alias *a is not allowed") for p in problems)


def test_alias_is_refused_where_it_is_used() -> None:
    assert problems_of("a: &x 1\nb: *x\n") == [
        (1, 4, "anchor &x is not allowed (no anchors or aliases)"),
        (2, 4, "alias *x is not allowed (no anchors or aliases)"),
    ]


# --- 35 size cap -------------------------------------------------------------------------------


def test_file_over_the_cap_is_refused_before_parsing() -> None:
    # Unparsable beyond the cap: only the size is reported, so nothing was parsed.
    raw = b"[" * (MAX_BYTES + 1)
    start = time.perf_counter()
    found = only_problem(raw)
    assert time.perf_counter() - start < FAST
    assert found[:2] == (1, 1)
    assert f"over the {MAX_BYTES}-byte limit" in found[2]


def test_file_over_the_cap_as_str_counts_utf8_bytes() -> None:
    text = "a: '" + "é" * (MAX_BYTES // 2) + "'\n"  # fewer characters than the cap, more bytes
    assert len(text) < MAX_BYTES
    line, column, message = only_problem(text)
    assert (line, column) == (1, 1)
    assert "over the 1048576-byte limit" in message


def test_file_at_the_cap_is_accepted() -> None:
    raw = b"a: '" + b"x" * (MAX_BYTES - 6) + b"'\n"
    assert len(raw) == MAX_BYTES
    assert loads(raw).data == {"a": "x" * (MAX_BYTES - 6)}


# --- 36 nothing is executed ---------------------------------------------------------------------

PYTHON_TAGS = [
    '!!python/object/apply:os.system ["touch MARKER"]\n',
    'a: !!python/object/apply:os.system ["touch MARKER"]\n',
    "a: !!python/object/apply:os.system\n  args: [touch MARKER]\n",
    'a: !!python/object/new:subprocess.check_output [["touch", "MARKER"]]\n',
    "a: !!python/name:os.system\n",
    'a: !<tag:yaml.org,2002:python/object/apply:os.system> ["touch MARKER"]\n',
]


@pytest.mark.parametrize("source", PYTHON_TAGS)
def test_python_tags_never_run(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    found = problems_of(source)
    assert any("explicit tag !!python/" in m for _l, _c, m in found), found
    assert not (tmp_path / "MARKER").exists()


def test_roundtrip_loader_does_not_run_python_tags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelreg.yamlio import roundtrip_load

    monkeypatch.chdir(tmp_path)
    roundtrip_load('a: !!python/object/apply:os.system ["touch MARKER"]\n')
    assert not (tmp_path / "MARKER").exists()


UNSAFE = [
    re.compile(r"\byaml\.load\("),
    re.compile(r"""typ\s*=\s*["']unsafe["']"""),
    re.compile(r"Loader\s*=\s*yaml\.(?:Unsafe|Full)?Loader\b"),
    re.compile(r"\b(?:unsafe_load|full_load|UnsafeLoader|FullLoader)\b"),
    re.compile(r"\bUnsafe(?:Constructor|Loader)\b"),
]


def test_no_code_path_uses_an_unsafe_loader() -> None:
    package = Path(next(iter(modelreg.__path__)))  # a namespace package: no __init__.py
    sources = sorted(package.rglob("*.py"))
    assert len(sources) > 5
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for pattern in UNSAFE:
            assert not pattern.search(text), f"{path}: {pattern.pattern}"
        # PyYAML and ruamel.yaml live behind yamlio alone
        if path.name != "yamlio.py":
            assert not re.search(r"^\s*(?:import yaml|from yaml\b)", text, re.MULTILINE), path
            assert not re.search(r"\b(?:import|from) ruamel\b", text), path


# --- 39 invalid UTF-8 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "line", "column", "byte"),
    [
        (b"a: 1\nb: x\xffy\n", 2, 5, "0xff"),
        (b"\xfe: 1\n", 1, 1, "0xfe"),
        (b"a: 1\nbb: \xc3\x28\n", 2, 5, "0xc3"),  # a lead byte without its continuation
        (b"a: 1\n\nc: \xed\xa0\x80\n", 3, 4, "0xed"),  # an encoded surrogate
        (b"a: \xc0\xaf\n", 1, 4, "0xc0"),  # overlong encoding of '/'
    ],
)
def test_invalid_utf8_names_the_byte(raw: bytes, line: int, column: int, byte: str) -> None:
    assert only_problem(raw) == (line, column, f"invalid UTF-8 byte {byte}")


def test_utf16_is_not_utf8() -> None:
    line, column, message = only_problem("a: 1\n".encode("utf-16"))
    assert (line, column) == (1, 1)
    assert "invalid UTF-8" in message


def test_bom_is_accepted() -> None:
    doc = loads(b"\xef\xbb\xbfa: 1\nb: x\n")
    assert doc.data == {"a": 1, "b": "x"}
    assert doc.line_of(("b",)) == 2
    assert loads("\ufeffa: 1\n").data == {"a": 1}


# --- 42 values stay what they are written as ---------------------------------------------------


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("a: 22:22\n", "read it as a number"),
        ("a: yes\n", "read it as a boolean"),
        ("a: off\n", "read it as a boolean"),
        ("on: 1\n", "read it as a boolean"),
        ("a: 1_000\n", "read it as a number"),
        ("a: 0o17\n", "read it as a string"),
        ("a: 1e3\n", "read it as a string"),
        ("a: 1.5e3\n", "read it as a string"),
        ("a: 1 # \u202e in a comment\n", "bidirectional control character"),
        ('a: "x\u2028y"\n', "LINE SEPARATOR"),
        ("\ufeff\ufeffa: 1\n", "byte order mark"),
    ],
)
def test_what_yaml_1_1_reads_otherwise_is_refused(source: str, fragment: str) -> None:
    # another service loading the file with a YAML 1.1 parser (PyYAML) would get
    # another value under the same digest: refused, with advice
    with pytest.raises(StrictYamlError) as caught:
        loads(source)
    assert fragment in caught.value.problems[0].message


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("created: 2026-11-20T09:30:00Z\n", {"created": "2026-11-20T09:30:00Z"}),
        ("created: 2026-11-20\n", {"created": "2026-11-20"}),
        ("created: 2026-11-20 09:30:00.5 +01:00\n", {"created": "2026-11-20 09:30:00.5 +01:00"}),
        ("created: '2026-11-20'\n", {"created": "2026-11-20"}),
        ("at: [2026-11-20t09:30:00z]\n", {"at": ["2026-11-20t09:30:00z"]}),
        # YAML 1.2 core schema; what YAML 1.1 reads otherwise is refused (below)
        (
            "a: '22:22'\nb: 'yes'\nc: y\nd: n\ne: '1_000'\n",
            {"a": "22:22", "b": "yes", "c": "y", "d": "n", "e": "1_000"},
        ),
        ("a: =\n", {"a": "="}),
        (
            "a: true\nb: False\nc: NULL\nd: ~\ne:\n",
            {"a": True, "b": False, "c": None, "d": None, "e": None},
        ),
        ("a: 0x1F\nc: -0\nd: +5\n", {"a": 31, "c": 0, "d": 5}),
        (
            "a: 2.0e-5\nb: 0.00002\nc: 1.0e+3\nd: .5\n",
            {"a": 2e-05, "b": 2e-05, "c": 1000.0, "d": 0.5},
        ),
        (
            f"a: {MAX_SAFE_INTEGER}\nb: {-MAX_SAFE_INTEGER}\n",
            {"a": MAX_SAFE_INTEGER, "b": -MAX_SAFE_INTEGER},
        ),
        (
            "'1': a\n'true': b\n'null': c\n'<<': d\n",
            {"1": "a", "true": "b", "null": "c", "<<": "d"},
        ),
        ("a: x\ty\n", {"a": "x\ty"}),  # a tab inside a value is fine
        ("just a string\n", "just a string"),
    ],
)
def test_values_are_plain_json_data(source: str, expected: object) -> None:
    assert loads(source).data == expected


def test_types_are_json_types_and_timestamps_stay_strings() -> None:
    data = loads("created: 2026-11-20T09:30:00Z\nday: 2026-11-20\nn: 3\nf: 0.5\n").data
    assert [type(v) for v in data.values()] == [str, str, int, float]


def test_version_1_10_loads_as_a_float() -> None:
    # The loader stays faithful to YAML; the schema/check layer gives the quote advice.
    value = loads("version: 1.10\n").data["version"]
    assert isinstance(value, float)
    assert value == 1.1


def test_flow_mapping_with_a_timestamp_is_valid_yaml_1_2() -> None:
    # libyaml before 0.2.5 (as bundled by ruamel.yaml.clib) refused
    # `{at: 2026-...T10:00:00Z}`, the eval format DESIGN shows; the loader must accept it.
    source = "run: {id: run-8812, at: 2026-11-21T10:00:00Z, tool: promptfoo}\nn: 1\n"
    doc = loads(source)
    assert doc.data == {
        "run": {"id": "run-8812", "at": "2026-11-21T10:00:00Z", "tool": "promptfoo"},
        "n": 1,
    }
    assert doc.line_of(("n",)) == 2
    assert loads("{at: 2026-11-21T10:00:00Z}").data == {"at": "2026-11-21T10:00:00Z"}


# --- 44 escapes that decode to something bad ---------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('a: "\\u00e9\\U0001F600"\n', {"a": "é😀"}),
        ("a: 'it''s'\n", {"a": "it's"}),
    ],
)
def test_escapes_decode(source: str, expected: object) -> None:
    assert loads(source).data == expected


def test_lone_surrogate_escapes_are_refused() -> None:
    # "\ud800" decodes to a lone surrogate: no UTF-8 form, so no digest; a finding, not a crash later.
    line, column, message = only_problem('a: 1\nb: "x\\ud800y"\n')
    assert line == 2 and column in (4, 8)  # the scalar, or the escape itself
    assert message


def test_surrogate_pair_escapes_are_refused_or_joined() -> None:
    try:
        data = loads('a: "\\ud83d\\ude00"\n').data
    except StrictYamlError:
        return
    assert data == {"a": "\U0001f600"}
    data["a"].encode("utf-8")


# --- huge numbers and deep nesting --------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "a: " + "9" * 5000 + "\n",
        "a: -" + "9" * 5000 + "\n",
        "a: 0x" + "f" * 5000 + "\n",
        "a: 0o" + "7" * 5000 + "\n",
        "a: " + "9" * 5000 + ".5\n",
        "a: 1e" + "9" * 5000 + "\n",
    ],
    ids=["int", "negative", "hex", "octal", "float", "exponent"],
)
def test_huge_numbers_refused_fast(source: str) -> None:
    start = time.perf_counter()
    line, column, message = only_problem(source)
    assert time.perf_counter() - start < FAST
    assert (line, column) == (1, 4)
    assert "too large" in message or "overflows to infinity" in message


@pytest.mark.parametrize(
    "source",
    [
        f"a: {MAX_SAFE_INTEGER + 1}\n",
        f"a: {2**64}\n",
        f"a: {hex(MAX_SAFE_INTEGER + 1)}\n",  # 0x20000000000000
        f"a: 0o{MAX_SAFE_INTEGER + 1:o}\n",
        f"a: {hex(2**60)}\n",
    ],
    ids=["decimal", "2^64", "hex", "octal", "hex-2^60"],
)
def test_integers_beyond_2_53_are_refused(source: str) -> None:
    line, column, message = only_problem(source)
    assert (line, column) == (1, 4)
    assert "beyond 2^53-1" in message or "too large" in message


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("a: " + "[" * 1000 + "]" * 1000 + "\n", 1),
        ("a: " + "[" * 100_000, 1),
        ("{a: " * 1000 + "1" + "}" * 1000 + "\n", 1),
        ("".join("  " * i + f"k{i}:\n" for i in range(1000)) + "  " * 1000 + "v\n", MAX_DEPTH + 2),
        ("x: {at: 2026-11-21T10:00:00Z}\na: " + "[" * 1000 + "]" * 1000 + "\n", 2),
    ],
    ids=["flow-seq", "flow-seq-unclosed", "flow-map", "block-map", "after-flow-colon"],
)
def test_deep_nesting_refused_without_recursion_error(source: str, line: int) -> None:
    found = only_problem(source)  # a RecursionError would escape and fail the test
    assert found[0] == line
    assert f"nesting deeper than {MAX_DEPTH} levels" in found[2]


def test_nesting_up_to_the_cap_is_accepted() -> None:
    depth = MAX_DEPTH  # the root is level 0
    data = loads("[" * depth + "1" + "]" * depth).data
    for _ in range(depth):
        assert isinstance(data, list) and len(data) == 1
        data = data[0]
    assert data == 1


# --- Document.line_of ---------------------------------------------------------------------------

NESTED = """\
# a comment
a:
  b:
    - x
    - y: 1
      z: [1, {w: 2}]
c: |
  text
d: last
"""


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ((), 2),
        (("a",), 2),
        (("a", "b"), 3),
        (("a", "b", 0), 4),
        (("a", "b", 1), 5),
        (("a", "b", 1, "y"), 5),
        (("a", "b", 1, "z"), 6),
        (("a", "b", 1, "z", 1, "w"), 6),
        (("c",), 7),
        (("d",), 9),
        # missing paths: the nearest ancestor the document has
        (("a", "b", 1, "missing"), 5),
        (("a", "b", 7), 3),
        (("a", "nope", "deeper"), 2),
        (("d", "x"), 9),
        (("zzz",), 2),
    ],
)
def test_line_of(path: tuple[str | int, ...], line: int) -> None:
    assert loads(NESTED).line_of(path) == line


def test_line_of_accepts_a_list_and_defaults_to_line_1() -> None:
    assert loads(NESTED).line_of(["a", "b"]) == 3  # type: ignore[arg-type]
    assert Document({"a": 1}).line_of(("a",)) == 1


# --- 47 what modelreg writes reads back the same everywhere ---------------------------------------

AMBIGUOUS_STRINGS = [
    "NO",
    "yes",
    "on",
    "off",
    "y",
    "22:22",
    "0777",
    "1e3",
    "1.10",
    "2026-11-20",
    "null",
    "~",
    "",
    "=",
    "<<",
    "1_000",
    "Yes",
    "N",
    "Off",
    "TRUE",
    "false",
    "Null",
    "0x1F",
    "0o17",
    "0b101",
    "+1",
    "-1",
    ".5",
    "1:20:30",
    "190:20:30.15",
    "2026-11-20T09:30:00Z",
    "2026-11-20 09:30:00",
    ".inf",
    "-.Inf",
    ".NaN",
    "1.0e+3",
    "685_230.15",
    "0",
    "00",
    "-0",
    "# not a comment",
    "x #y",
    "- x",
    "a: b",
    "!x",
    "&x",
    "*x",
    "@x",
    "%x",
    "|",
    ">",
    "?",
    ":",
    "'",
    '"',
    " lead",
    "trail ",
    "multi\nline\n",
    "tab\there",
    "é€😀",
]


@pytest.mark.parametrize("value", AMBIGUOUS_STRINGS)
def test_written_strings_read_back_as_the_same_strings(value: str) -> None:
    text = dumps({"value": value, value: "as a key", "list": [value]})
    expected = {"value": value, value: "as a key", "list": [value]}
    assert yaml.safe_load(text) == expected, text
    assert loads(text).data == expected, text


@pytest.mark.parametrize(
    "value",
    [
        2e-05,
        1e16,
        1e-07,
        1e22,
        5e-324,
        1.7976931348623157e308,
        -2e-05,
        0.1,
        1.5,
        3.0,
        0.0,
        123456789.0,
    ],
)
def test_written_floats_read_back_as_floats(value: float) -> None:
    text = dumps({"x": value})
    other = yaml.safe_load(text)["x"]
    own = loads(text).data["x"]
    assert type(other) is float and other == value, text
    assert type(own) is float and own == value, text


def test_written_ints_bools_and_null_read_back() -> None:
    data = {"i": 7, "n": -3, "big": MAX_SAFE_INTEGER, "t": True, "f": False, "z": None}
    text = dumps(data)
    assert yaml.safe_load(text) == data
    assert loads(text).data == data


def test_writing_a_non_finite_float_is_refused() -> None:
    for value in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError):
            dumps({"x": value})


def test_a_real_config_round_trips(loose_example: Path) -> None:
    for path in sorted((loose_example / "models").rglob("*.yaml")):
        data = loads(path.read_bytes()).data
        text = dumps(data)
        assert loads(text).data == data, path
        assert yaml.safe_load(text) == data, path
