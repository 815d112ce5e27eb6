"""Core: the config digest, sha256 over RFC 8785 (JSON Canonicalization Scheme).

Any language can recompute it: parse the YAML file to JSON data, serialize it
with JCS, hash the UTF-8 bytes. Comments, key order and number spelling
(`2.0e-5` vs `0.00002`) do not change it; content does.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from functools import cache
from json.encoder import encode_basestring
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1  # beyond this a JSON number is not exact in every language


class CanonicalizationError(ValueError):
    """The data has no canonical JSON form (non-finite float, huge int, odd type)."""


# json's C string encoder (ensure_ascii=False) escapes exactly what RFC 8785
# requires: '"', '\\', \b \f \n \r \t, and other controls as lowercase \u00xx.
_string: Callable[[str], str] = encode_basestring


def _number(value: float) -> str:
    """ECMAScript Number.prototype.toString, as RFC 8785 section 3.2.2.3 requires."""
    if not math.isfinite(value):
        raise CanonicalizationError(f"{value!r} has no JSON form")
    if value == 0:
        return "0"
    # repr gives the shortest round-tripping digits, as ECMAScript does.
    text = repr(abs(value))
    mantissa, _, exp_text = text.partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    frac_part = frac_part.rstrip("0")
    digits = (int_part + frac_part).lstrip("0")
    # n: position of the decimal point relative to the first significant digit
    exponent = int(exp_text) if exp_text else 0
    lead_zeros = len(int_part + frac_part) - len((int_part + frac_part).lstrip("0"))
    n = len(int_part) + exponent - lead_zeros
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    sign = "-" if value < 0 else ""
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    exp = f"e{'+' if e >= 0 else '-'}{abs(e)}"
    if k == 1:
        return sign + digits + exp
    return sign + digits[0] + "." + digits[1:] + exp


def _exact_double(value: int) -> bool:
    """VALUE is written exactly as canonical JSON writes its double (1e17, not 2**64)."""
    try:
        return _number(float(value)) == str(value)
    except OverflowError:
        return False


def canonical_json(data: Any) -> str:
    """RFC 8785 serialization of JSON-like DATA."""
    parts: list[str] = []
    _emit(data, parts)
    return "".join(parts)


def _emit(data: Any, out: list[str]) -> None:
    if data is None:
        out.append("null")
    elif data is True:
        out.append("true")
    elif data is False:
        out.append("false")
    elif isinstance(data, str):
        out.append(_string(data))
    elif isinstance(data, int):
        if abs(data) <= MAX_SAFE_INTEGER:
            out.append(str(data))
        elif _exact_double(data):
            # A JSON number is a double (RFC 8785): 1.0e+17 read back from canonical
            # JSON is the int 10**17, and must keep the float's digest.
            out.append(_number(float(data)))
        else:
            raise CanonicalizationError(
                f"integer {data} is beyond 2^53-1 and has no exact JSON form"
            )
    elif isinstance(data, float):
        out.append(_number(data))
    elif isinstance(data, dict):
        for key in data:
            if not isinstance(key, str):
                raise CanonicalizationError(f"object key {key!r} is not a string")
        out.append("{")
        # JCS orders keys by their UTF-16 code units.
        items = sorted(data.items(), key=lambda kv: kv[0].encode("utf-16-be", "surrogatepass"))
        for i, (key, value) in enumerate(items):
            if i:
                out.append(",")
            out.append(_string(key))
            out.append(":")
            _emit(value, out)
        out.append("}")
    elif isinstance(data, (list, tuple)):
        out.append("[")
        for i, value in enumerate(data):
            if i:
                out.append(",")
            _emit(value, out)
        out.append("]")
    else:
        raise CanonicalizationError(f"{type(data).__name__} value {data!r} has no JSON form")


def digest(data: Any) -> str:
    """`sha256:<hex>` of the canonical JSON of DATA."""
    try:
        raw = canonical_json(data).encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate is no character: no UTF-8 form
        raise CanonicalizationError(f"text holds a lone surrogate {e.object[e.start]!r}") from None
    return "sha256:" + hashlib.sha256(raw).hexdigest()


# json's C encoder writes what canonical_json writes, for data as a JSON or strict YAML
# loader builds it, but for: key order when the text has a character beyond U+FFFF
# (RFC 8785 orders keys by UTF-16 code units, sorted() by code points); a float that
# Python writes with an exponent or as integral (1e-07, 100.0, where ECMAScript writes
# 1e-7, 100); and numbers of 16 digits or more (past 2^53 an integer is written as its
# double). digest_loaded leaves those to canonical_json. With separators (",", ":") a
# number follows `:`, `,` or `[`; a string may hold such text too, which costs only
# the slower way.
_ENCODER = json.JSONEncoder(
    ensure_ascii=False,
    sort_keys=True,
    separators=(",", ":"),
    allow_nan=False,
    check_circular=False,  # loaded data has no cycles; one would raise RecursionError
)


@cache
def _json_differs() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(numbers json writes unlike RFC 8785, astral characters): compiled on first use, as
    `import modelreg` (every service's start-up) needs neither."""
    return (
        re.compile(r"[:,\[]-?[0-9](?:[0-9]*(?:\.[0-9]+)?e|[0-9]*\.0[,\]}]|[0-9]{15})"),
        re.compile("[\U00010000-\U0010ffff]"),
    )


def digest_loaded(data: Any) -> str:
    """digest(DATA), several times faster, for DATA made only of dicts with str keys,
    lists, str, int, float, bool and None, as yamlio and json loaders build it (a dict
    with other keys would be written with them as strings, where digest() refuses it)."""
    if data.__class__ is not dict and data.__class__ is not list:
        return digest(data)
    try:
        text = _ENCODER.encode(data)
    except (TypeError, ValueError, RecursionError):
        return digest(data)  # no JSON form: digest() says why
    json_otherwise, astral = _json_differs()
    if (not text.isascii() and astral.search(text)) or json_otherwise.search(text):
        return digest(data)
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return digest(data)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def short(digest_text: str) -> str:
    """The short form: the first 12 hex characters."""
    return digest_text.removeprefix("sha256:")[:12]
