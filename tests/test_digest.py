"""The config digest: RFC 8785 (JSON Canonicalization Scheme) known answers and properties."""

from __future__ import annotations

import hashlib
import json
import math
import random
import struct
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from modelreg.core import digest as digest_module
from modelreg.core.digest import (
    MAX_SAFE_INTEGER,
    CanonicalizationError,
    canonical_json,
    digest,
    digest_loaded,
    short,
)
from modelreg.yamlio import loads

# --- numbers: ECMAScript Number.prototype.toString (RFC 8785 section 3.2.2.3) -----------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (1e-6, "0.000001"),
        (0.000001, "0.000001"),
        (1.5e-6, "0.0000015"),
        (5e-324, "5e-324"),
        (-5e-324, "-5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (-1.7976931348623157e308, "-1.7976931348623157e+308"),
        (-0.0, "0"),
        (0.0, "0"),
        (333333333.3333333, "333333333.3333333"),
        (4.5, "4.5"),
        (4.50, "4.5"),
        (2e-3, "0.002"),
        (0.1, "0.1"),
        (100.0, "100"),
        (1.0, "1"),
        (-1.0, "-1"),
        (1e30, "1e+30"),
        (1e-27, "1e-27"),
        (1.23e-18, "1.23e-18"),
        (123456789012345680000.0, "123456789012345680000"),
        (1e16, "10000000000000000"),
        (2e-05, "0.00002"),
        (9007199254740991.0, "9007199254740991"),
        (1.5e300, "1.5e+300"),
        (-1e-7, "-1e-7"),
    ],
)
def test_number_serialization(value: float, expected: str) -> None:
    assert canonical_json(value) == expected
    assert canonical_json([value]) == f"[{expected}]"


# RFC 8785 Appendix B: IEEE 754 bit patterns and their JSON text.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


def from_hex(bits: str) -> float:
    return struct.unpack(">d", bytes.fromhex(bits))[0]


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B)
def test_rfc8785_appendix_b(bits: str, expected: str) -> None:
    assert canonical_json(from_hex(bits)) == expected


@pytest.mark.parametrize(
    "bits", ["7ff0000000000000", "fff0000000000000", "7ff8000000000000", "7ff8000000000001"]
)
def test_rfc8785_appendix_b_non_finite_is_an_error(bits: str) -> None:
    with pytest.raises(CanonicalizationError):
        canonical_json(from_hex(bits))


def es6_number(x: float) -> str:
    """An independent reference: the ES6 algorithm over Python's shortest round-trip digits."""
    if x == 0:
        return "0"
    if x < 0:
        return "-" + es6_number(-x)
    _sign, digit_tuple, exp = Decimal(repr(x)).as_tuple()
    assert isinstance(exp, int)
    digits = "".join(map(str, digit_tuple))
    s = digits.rstrip("0")
    exp += len(digits) - len(s)
    k, n = len(s), exp + len(s)
    if k <= n <= 21:
        return s + "0" * (n - k)
    if 0 < n <= 21:
        return s[:n] + "." + s[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + s
    e = n - 1
    mantissa = s if k == 1 else s[0] + "." + s[1:]
    return f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def random_floats(rng: random.Random, count: int) -> list[float]:
    out: list[float] = []
    while len(out) < count:
        choice = rng.randrange(4)
        if choice == 0:  # any bit pattern
            x = struct.unpack(">d", rng.getrandbits(64).to_bytes(8, "big"))[0]
        elif choice == 1:  # a short decimal, as people write them
            x = round(rng.uniform(-1000, 1000), rng.randrange(0, 8))
        elif choice == 2:  # around the ES6 format boundaries
            x = (
                rng.choice([1, -1])
                * rng.choice([1, 1.5, 9.999, 1.2345678901234567])
                * 10.0 ** rng.randrange(-9, 24)
            )
        else:  # subnormals and the extremes
            x = rng.choice([5e-324, 2.2250738585072014e-308, 1.7976931348623157e308]) * rng.uniform(
                1, 3
            )
        if math.isfinite(x):
            out.append(x)
    return out


def test_numbers_match_the_es6_reference_on_random_floats() -> None:
    rng = random.Random(8785)
    for x in random_floats(rng, 5000):
        text = canonical_json(x)
        assert text == es6_number(x), repr(x)
        assert float(text) == x or (x == 0 and float(text) == 0)


@pytest.mark.parametrize("value", [0, 1, -1, 42, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER])
def test_integers(value: int) -> None:
    assert canonical_json(value) == str(value)


def test_integral_floats_and_ints_are_the_same_json_number() -> None:
    assert (
        canonical_json({"t": 1.0, "n": 256.0})
        == canonical_json({"t": 1, "n": 256})
        == '{"n":256,"t":1}'
    )
    assert digest({"max_tokens": 256.0}) == digest({"max_tokens": 256})


def test_literals() -> None:
    assert canonical_json([None, True, False]) == "[null,true,false]"
    assert canonical_json({"b": True, "i": 1}) == '{"b":true,"i":1}'  # True is not 1
    assert canonical_json([]) == "[]"
    assert canonical_json({}) == "{}"
    assert canonical_json(("a", 1)) == '["a",1]'


# --- object keys ordered by UTF-16 code units (RFC 8785 section 3.2.3) ---------------------------


def test_rfc8785_key_sorting_example() -> None:
    data = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    expected_order = ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    expected = (
        "{"
        + ",".join(
            f"{json.dumps(k, ensure_ascii=False)}:{json.dumps(data[k])}" for k in expected_order
        )
        + "}"
    )
    assert canonical_json(data) == expected
    assert canonical_json(data).startswith('{"\\r":"Carriage Return","1":"One","\u0080":"Control"')
    # UTF-16 order differs from code point order for astral characters
    assert sorted(data) != expected_order


def test_nested_objects_are_sorted_too() -> None:
    assert (
        canonical_json({"b": {"z": 1, "a": [{"y": 2, "x": 1}]}, "a": None})
        == '{"a":null,"b":{"a":[{"x":1,"y":2}],"z":1}}'
    )


def test_rfc8785_section_3_2_2_example() -> None:
    data = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    assert canonical_json(data) == (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )


# --- strings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", '"plain"'),
        ("\x00", '"\\u0000"'),
        ("\x01", '"\\u0001"'),
        ("\x0f", '"\\u000f"'),  # lowercase hex
        ("\x1f", '"\\u001f"'),
        ("\x1b[31m", '"\\u001b[31m"'),
        ("\b\f\n\r\t", '"\\b\\f\\n\\r\\t"'),
        ('"', '"\\""'),
        ("\\", '"\\\\"'),
        ("/", '"/"'),  # solidus is not escaped
        ("a/b", '"a/b"'),
        ("\x7f", '"\x7f"'),  # DEL is not a JSON control character
        ("é€😀", '"é€😀"'),  # non-ASCII stays raw (UTF-8 on the wire)
        ("\u2028\u2029", '"\u2028\u2029"'),
        ("\ufb33\u0080", '"\ufb33\u0080"'),
        ("", '""'),
    ],
)
def test_string_escaping(value: str, expected: str) -> None:
    assert canonical_json(value) == expected
    assert canonical_json({value: value}) == "{" + expected + ":" + expected + "}"


def test_digest_hashes_the_utf8_bytes() -> None:
    data = {"name": "é😀"}
    assert digest(data) == "sha256:" + hashlib.sha256('{"name":"é😀"}'.encode()).hexdigest()
    assert len(digest(data)) == len("sha256:") + 64
    assert short(digest(data)) == digest(data)[7:19]


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        MAX_SAFE_INTEGER + 2,
        -(MAX_SAFE_INTEGER + 2),
        2**64,  # its double is written 18446744073709552000: another number
        10**400,
        {"a": [1, {"b": MAX_SAFE_INTEGER + 2}]},
        math.nan,
        math.inf,
        -math.inf,
        {"metrics": {"accuracy": math.nan}},
        [1.0, math.inf],
        {1: "a"},
        {"a": {None: 1}},
        {"a": {1, 2}},
        b"bytes",
        object(),
        Decimal("1.5"),
    ],
    ids=[
        "2^53+1",
        "-2^53-1",
        "2^64",
        "10^400",
        "nested-int",
        "nan",
        "inf",
        "-inf",
        "nested-nan",
        "list-inf",
        "int-key",
        "null-key",
        "set",
        "bytes",
        "object",
        "decimal",
    ],
)
def test_no_canonical_form_raises(data: Any) -> None:
    with pytest.raises(CanonicalizationError):
        canonical_json(data)
    with pytest.raises(CanonicalizationError):
        digest(data)


@pytest.mark.parametrize("data", [{"a": "x\ud800y"}, {"\udcff": 1}], ids=["value", "key"])
def test_lone_surrogates_have_no_canonical_form(data: Any) -> None:
    # A lone surrogate has no UTF-8 (or UTF-16) form: a CanonicalizationError, like every other odd value.
    with pytest.raises(CanonicalizationError):
        digest(data)


# --- the same config written two ways --------------------------------------------------------------

CONFIG_A = """\
# yaml-language-server: $schema=../../schemas/model-version.schema.json
schema: modelreg/v1
name: summarizer
version: 1.1.0
kind: fine-tuned
parent: 1.0.0
model:
  provider: anthropic
  id: claude-sonnet-4-5-20250929
params:
  temperature: 0.2
  max_tokens: 256
  stop: ["\\n\\n", END]
system_prompt: |
  Summarize in 2-3 sentences.
  Focus on actionable insights.
training:
  base_model: base-1
  hyperparameters: {epochs: 3, learning_rate: 2.0e-5}
created: 2026-11-20T09:30:00Z
author: alice@example.com
"""

CONFIG_B = """\
author: 'alice@example.com'   # who
created: "2026-11-20T09:30:00Z"
training:
  hyperparameters:
    learning_rate: 0.00002
    epochs: 3
  base_model: "base-1"
system_prompt: "Summarize in 2-3 sentences.\\nFocus on actionable insights.\\n"
params:
  stop:
    - "\\n\\n"
    - 'END'
  max_tokens: 256
  temperature: 2.0e-1
model: {id: "claude-sonnet-4-5-20250929", provider: anthropic}
parent: '1.0.0'
kind: "fine-tuned"
version: "1.1.0"
name: summarizer
schema: modelreg/v1
"""


@pytest.mark.parametrize(
    "other",
    [
        CONFIG_B,
        CONFIG_B.replace("\n", "\r\n"),
        "\ufeff" + CONFIG_A,
        CONFIG_A.replace("2.0e-5", "0.2E-4"),
    ],
    ids=["reordered-restyled", "crlf", "bom", "exponent-spelling"],
)
def test_same_config_written_two_ways_has_the_same_digest(other: str) -> None:
    a, b = loads(CONFIG_A).data, loads(other).data
    assert a == b
    assert canonical_json(a) == canonical_json(b)
    assert digest(a) == digest(b)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("temperature: 0.2", "temperature: 0.3"),
        ("Summarize in", "summarize in"),
        ("2-3 sentences.", "2-3 sentences!"),
        ("max_tokens: 256", "max_tokens: 257"),
        ("max_tokens: 256", 'max_tokens: "256"'),  # a string is not a number
        ("epochs: 3", "epochs: 3, x: 1"),
        ("alice@", "alicE@"),
        ("insights.\n", "insights\n"),
        ("END]", "END ]\n  seed: 1"),
    ],
)
def test_a_content_change_changes_the_digest(old: str, new: str) -> None:
    assert old in CONFIG_A
    changed = CONFIG_A.replace(old, new, 1)
    assert digest(loads(changed).data) != digest(loads(CONFIG_A).data)


def test_comments_and_blank_lines_do_not_change_the_digest() -> None:
    commented = "\n".join(
        line + "  # note" if line.startswith("name:") else line for line in CONFIG_A.splitlines()
    )
    assert digest(loads(commented + "\n\n# end\n").data) == digest(loads(CONFIG_A).data)


def test_example_eval_files_carry_their_version_digest(loose_example: Path) -> None:
    """A known answer: the committed eval files name the digest of their version file."""
    evals = sorted((loose_example / "evals").glob("*/*/*.yaml"))
    assert evals
    for path in evals:
        model, version = path.parent.parent.name, path.parent.name
        data = loads((loose_example / "models" / model / f"{version}.yaml").read_bytes()).data
        expected = loads(path.read_bytes()).data["config_digest"]
        assert digest(data) == expected, path
        # and with the reference serializer below, independent of modelreg's
        assert "sha256:" + hashlib.sha256(reference_jcs(data).encode()).hexdigest() == expected, (
            path
        )


def reference_jcs(data: Any) -> str:
    """A small independent RFC 8785 serializer: json for strings, es6_number for floats, UTF-16 key order."""
    if isinstance(data, dict):
        items = sorted(data.items(), key=lambda kv: utf16_units(kv[0]))
        return (
            "{"
            + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{reference_jcs(v)}" for k, v in items)
            + "}"
        )
    if isinstance(data, list):
        return "[" + ",".join(reference_jcs(v) for v in data) + "]"
    if isinstance(data, float):
        return es6_number(data)
    return json.dumps(data, ensure_ascii=False)


# --- cross-check against json on random data ------------------------------------------------------

ASCII_KEY_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-. :/@"
TEXT_CHARS = ASCII_KEY_CHARS + "\"\\'{}[],#&*!|>%é€😀\u0080\u00f6\ufb33\u2028\x7f"


def random_text(rng: random.Random, alphabet: str, longest: int = 12) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(longest + 1)))


def random_json(
    rng: random.Random, depth: int = 0, *, floats: bool = False, key_alphabet: str = ASCII_KEY_CHARS
) -> Any:
    kinds = ["int", "str", "bool", "null"] + (["float"] if floats else [])
    if depth < 4:
        kinds += ["list", "dict", "dict"]
    kind = rng.choice(kinds)
    if kind == "int":
        return rng.choice(
            [rng.randrange(-1000, 1000), rng.randrange(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1)]
        )
    if kind == "float":
        return random_floats(rng, 1)[0]
    if kind == "str":
        return random_text(rng, TEXT_CHARS)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "list":
        return [
            random_json(rng, depth + 1, floats=floats, key_alphabet=key_alphabet)
            for _ in range(rng.randrange(5))
        ]
    return {
        random_text(rng, key_alphabet, 8): random_json(
            rng, depth + 1, floats=floats, key_alphabet=key_alphabet
        )
        for _ in range(rng.randrange(6))
    }


def test_matches_json_dumps_for_ascii_keys_ints_and_plain_strings() -> None:
    rng = random.Random(20261120)
    for _ in range(500):
        data = random_json(rng)
        expected = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert canonical_json(data) == expected
        assert json.loads(canonical_json(data)) == data


def utf16_units(key: str) -> list[int]:
    units: list[int] = []
    for ch in key:
        cp = ord(ch)
        if cp > 0xFFFF:
            cp -= 0x10000
            units += [0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)]
        else:
            units.append(cp)
    return units


def test_random_data_with_floats_and_any_keys_parses_back_equal() -> None:
    rng = random.Random(3)
    for _ in range(500):
        data = {
            "root": random_json(
                rng, floats=True, key_alphabet=TEXT_CHARS + "\ufb33\U0001f600\u20ac"
            )
        }
        text = canonical_json(data)
        assert text == reference_jcs(data)
        # json.loads reads "1e+21" as a float but "100000000000000000000" as an int: read all as floats
        assert json.loads(text, parse_int=float) == data
        assert (
            canonical_json(json.loads(text, parse_int=float)) == text
        )  # canonical form is a fixed point


def test_key_order_is_utf16_on_random_keys() -> None:
    rng = random.Random(16)
    alphabet = "aZ1\u0080\u00f6\u20ac\ufb33\uff61\U0001f600\U00010000\U0010fffd"
    for _ in range(300):
        keys = {random_text(rng, alphabet, 4) for _ in range(rng.randrange(1, 8))}
        data = {k: 0 for k in sorted(keys, key=lambda k: rng.random())}
        ordered = list(json.loads(canonical_json(data)))
        assert ordered == sorted(keys, key=utf16_units)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2**53, "9007199254740992"),
        (-(2**53), "-9007199254740992"),
        (10**17, "100000000000000000"),
        (18446744073709552000, "18446744073709552000"),  # the double 2**64, as JCS writes it
    ],
)
def test_an_int_beyond_2_53_that_is_an_exact_double_is_that_double(value: int, text: str) -> None:
    """JSON numbers are doubles (RFC 8785): canonical JSON read back by Python's json gives
    ints for 1.0e+17; they must keep the digest the float had, so any reader can recompute it."""
    assert canonical_json(value) == text == canonical_json(float(value))
    assert json.loads(text) == value
    assert digest({"seed": value}) == digest({"seed": float(value)})


def test_digest_survives_a_round_trip_through_its_own_canonical_json() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        value = rng.choice(
            [rng.uniform(-1e300, 1e300), float(rng.randrange(-(2**70), 2**70)), rng.random()]
        )
        data = {"params": {"x": value, "list": [value, 1.0e17, 2.0**60]}}
        assert digest(json.loads(canonical_json(data))) == digest(data)


# --- digest_loaded: json's C encoder where it writes what RFC 8785 writes -------------------------


def either(fn: Any, data: Any) -> Any:
    try:
        return fn(data)
    except CanonicalizationError as e:
        return ("refused", str(e))


class CountedFallbacks:
    """digest_loaded's falls back to digest(): counted."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0

        def counted(data: Any) -> str:
            self.count += 1
            return digest(data)

        monkeypatch.setattr(digest_module, "digest", counted)


@pytest.mark.parametrize(
    "data",
    [
        {"x": 1e-7},  # Python writes 1e-07
        {"x": 100.0},  # 100.0, where RFC 8785 writes 100
        {"x": -0.0},
        {"x": [0.5, 2e-05]},
        {"x": 1e16},  # 1e+16
        {"x": 123456789012345.6},
        {"x": 2**53 + 1},  # refused
        {"x": 2**64},  # beyond 2^53: written as its double
        {"x": 10**16},
        {"x": math.inf},  # refused
        {"x": math.nan},  # refused
        {"\U0001f600": 1, "\uff61": 2},  # UTF-16 order differs from code point order
        {"x": "\ud800"},  # a lone surrogate: refused
        {"x": ":1.0,e5", "y": "[1e5"},  # number-like text inside strings
        {"x": Decimal("1.5")},  # no JSON type: refused
        [1.5, {"b": True, "a": None}],
        "plain text",
        7,
        None,
    ],
)
def test_digest_loaded_is_digest_where_json_writes_otherwise(data: Any) -> None:
    assert either(digest_loaded, data) == either(digest, data)


def test_digest_loaded_is_digest_on_random_loaded_data(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(8785)
    fallbacks = CountedFallbacks(monkeypatch)
    for _ in range(3000):
        data = {
            "root": random_json(
                rng, floats=True, key_alphabet=TEXT_CHARS + "\ufb33\U0001f600\uff61"
            )
        }
        assert either(digest_loaded, data) == either(canonical_digest, data)
    assert fallbacks.count < 2500  # json wrote most of them


def canonical_digest(data: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def test_a_version_file_is_digested_by_json_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    fallbacks = CountedFallbacks(monkeypatch)
    data = loads(
        "schema: modelreg/v1\nname: s\nversion: 1.0.0\nparams: {temperature: 0.2, top_p: 0.95}\n"
        "system_prompt: |\n  Reply in 2-3 sentences: be brief.\n"
    ).data
    assert digest_loaded(data) == canonical_digest(data)
    assert fallbacks.count == 0
