"""Adapter: the only YAML importer. Strict fast loads, line lookup, safe round-trip writes.

Loading never constructs Python objects from tags. libyaml (the C parser that
PyYAML bundles, 0.2.5 or newer) turns the text into events, and this module
builds plain JSON data from them itself (text in the plain subset that nearly
every registry file is written in is read faster without libyaml, to the same
result: see "the fast path" below), refusing everything DESIGN 2.1
forbids: several documents, directives, explicit tags, anchors and aliases,
merge keys, duplicate or non-string keys, non-finite numbers, integers without
an exact JSON form, nesting deeper than MAX_DEPTH, bidi controls and lone
surrogates. Plain scalars are resolved with the YAML 1.2 core schema except
that timestamps stay strings, so a date never becomes a datetime and digests
stay stable. Aliases are refused as events, so an alias bomb is rejected
before anything could be expanded.

Writing uses ruamel.yaml's round-trip mode (comments and layout of a parent
survive `new`), with every string that another parser could read as something
else quoted.

Every violation is a (line, column, message) with 1-based lines; the builder
keeps going after a violation that does not stop parsing, so one pass reports
them all.
"""

from __future__ import annotations

import math
import os
import re
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from modelreg.core.digest import MAX_SAFE_INTEGER

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_PROBLEMS = 20  # per file: an alias bomb should not print a screenful per alias
# Bidirectional overrides and isolates can make text read differently from
# what it is (Trojan Source); a registry file has no use for them.
_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
# ... and a "\ud800" escape is no character at all: it cannot be written as UTF-8.
_ODD_CHARACTERS = re.compile(f"[{_BIDI_CONTROLS}\ud800-\udfff]")

_NULL = re.compile(r"(?:~|null|Null|NULL|)\Z")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
# the only plain scalars starting with a letter that are not simply strings: the
# nulls, booleans, and what YAML 1.1 reads as booleans (every other rule below needs
# a digit, sign, dot or tilde first)
_WORDS = frozenset(
    {"null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE"}
    | {"yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"}
)
_INT = re.compile(r"[-+]?[0-9]+\Z")
_INT_OCT = re.compile(r"0o[0-7]+\Z")
_INT_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_NONFINITE = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z")

# How YAML 1.1 parsers (PyYAML's resolver, the YAML 1.1 spec's booleans) read a
# plain scalar. Where that differs from the 1.2 reading modelreg uses, another
# service loading the same file would get another value under the same digest,
# so such a scalar is refused with advice to quote it or spell it portably.
_BOOL_11 = re.compile(
    r"(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)\Z"
)  # as PyYAML: y/n stay strings
_NUMBER_11 = re.compile(
    r"""(?x)
    [-+]?0b[0-1_]+ | [-+]?0[0-7_]+ | [-+]?(?:0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+
    | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
    | [-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)? | \.[0-9_]+(?:[eE][-+][0-9]+)?
    | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    """
)
# Characters refused anywhere in a file, comments included: bidirectional
# controls (Trojan Source), and the line breaks of YAML 1.1 that YAML 1.2 reads
# as text (NEL, LS, PS), plus a BOM past the first character.
_FORBIDDEN_RAW = re.compile("[\u202a-\u202e\u2066-\u2069\u0085\u2028\u2029\ufeff]")


Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class YamlProblem:
    line: int
    column: int
    message: str


class StrictYamlError(ValueError):
    """The text is not strict registry YAML; `problems` lists every violation found."""

    def __init__(self, problems: list[YamlProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line, p.column))
        first = self.problems[0]
        super().__init__(f"{first.line}: {first.message}")


@dataclass
class Document:
    """Parsed data plus the line each node starts on, keyed by its path."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    # how each float was written (`1.10`), for advice such as "quote it: '1.10'"
    float_texts: dict[Path_, str] = field(default_factory=dict)
    text: str = ""  # the text as parsed (a leading BOM dropped)

    def line_of(self, path: Path_) -> int:
        """The line of PATH, or of its nearest ancestor the document has."""
        return nearest_line(self.lines, path)


def nearest_line(lines: dict[Path_, int], path: Path_) -> int:
    """The line of PATH in LINES, or of its nearest ancestor there (1 when none is)."""
    path = tuple(path)
    while path:
        line = lines.get(path)
        if line is not None:
            return line
        path = path[:-1]
    return lines.get((), 1)


def _clip(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _line_at(text: str, byte_offset: int) -> tuple[int, int]:
    """1-based line and character column of a byte offset into TEXT's UTF-8 form."""
    raw = text.encode("utf-8", "surrogatepass")[:byte_offset]
    start = raw.rfind(b"\n") + 1
    return raw.count(b"\n") + 1, len(raw[start:].decode("utf-8", "replace")) + 1


def decode(raw: bytes) -> str:
    """Strict UTF-8 (an optional BOM is dropped), within the size cap."""
    if len(raw) > MAX_BYTES:
        raise StrictYamlError(
            [YamlProblem(1, 1, f"file is {len(raw)} bytes, over the {MAX_BYTES}-byte limit")]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise StrictYamlError(
            [YamlProblem(line, column, f"invalid UTF-8 byte 0x{raw[e.start]:02x}")]
        ) from None
    text = text.removeprefix("\ufeff")
    if not text.isascii():
        problems = []
        for m in _FORBIDDEN_RAW.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            column = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
            what = _FORBIDDEN_NAMES.get(m.group(), "a bidirectional control character")
            problems.append(
                YamlProblem(line, column, f"{what} (U+{ord(m.group()):04X}) is not allowed")
            )
            if len(problems) == MAX_PROBLEMS:
                break
        if problems:
            raise StrictYamlError(problems)
    return text


_FORBIDDEN_NAMES = {
    "\u0085": "a NEL line break (YAML 1.1 and 1.2 read it differently)",
    "\u2028": "a LINE SEPARATOR (YAML 1.1 and 1.2 read it differently)",
    "\u2029": "a PARAGRAPH SEPARATOR (YAML 1.1 and 1.2 read it differently)",
    "\ufeff": "a byte order mark past the start of the file",
}


class NotRegularFile(OSError):
    """A path that is a FIFO, device, socket or folder where a file's bytes were wanted."""


def read_regular(path: Path | str, cap: int, dir_fd: int | None = None) -> bytes:
    """The bytes of the regular file PATH, at most CAP + 1 of them (so a caller sees that
    it is over CAP without reading the rest); NotRegularFile for anything else.

    Opened non-blocking and without following a symbolic link, so that a FIFO cannot
    hang us; a huge (or sparse) file costs nothing past the cap. A relative PATH is
    taken from the open folder DIR_FD, if given.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(f"{path}: not a regular file")
        # Ask for the file's size plus one byte (not a 1 MiB buffer per file: half the
        # cost of reading on 30,000 files), then read on until EOF or past the cap, in
        # case the file grew since the fstat. A regular file reads short only at its
        # end, so a short read needs no second read to see EOF.
        limit, chunks, total = cap + 1, [], 0
        ask = min(st.st_size, cap) + 1
        while total < limit:
            want = min(ask, limit - total)
            chunk = os.read(fd, want)
            chunks.append(chunk)
            total += len(chunk)
            if len(chunk) < want:
                break
            ask = 1 << 16
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_limited(path: Path | str, dir_fd: int | None = None) -> bytes:
    """The bytes of a registry file: a regular file of at most MAX_BYTES."""
    try:
        raw = read_regular(path, MAX_BYTES, dir_fd)
    except NotRegularFile:
        raise StrictYamlError([YamlProblem(1, 1, "not a regular file")]) from None
    if len(raw) > MAX_BYTES:
        raise StrictYamlError([YamlProblem(1, 1, f"file is over the {MAX_BYTES}-byte limit")])
    return raw


def loads(raw: bytes | str) -> Document:
    """Parse one strict registry YAML document; raise StrictYamlError listing every violation."""
    text = decode(raw.encode("utf-8") if isinstance(raw, str) else raw)
    return _fast_load(text) or _Builder(text).build()


def load_path(path: Path) -> Document:
    """read_limited + loads."""
    return loads(read_limited(path))


@cache
def _yaml() -> Any:
    """PyYAML, imported on first use (its C parser is what we need)."""
    import yaml

    return yaml


def _parser(text: str) -> tuple[Callable[[], Any], Callable[[], None]]:
    yaml = _yaml()
    c_parser = getattr(getattr(yaml, "_yaml", None), "CParser", None)
    if c_parser is not None:
        parser = c_parser(text)
        return parser.get_event, parser.dispose
    # PyYAML without libyaml: its pure-Python parser, same events (slower).
    return iter(yaml.parse(text, Loader=yaml.SafeLoader)).__next__, lambda: None  # pragma: no cover


class _Fatal(Exception):
    """Stop building: the rest of the event stream cannot be trusted."""


class _Builder:
    def __init__(self, text: str) -> None:
        self.text = text
        self.get_event, self.dispose = _parser(text)
        self.problems: list[YamlProblem] = []
        self.lines: dict[Path_, int] = {}
        self.float_texts: dict[Path_, str] = {}
        self.yaml = yaml = _yaml()  # its event and error classes
        self.Scalar = yaml.ScalarEvent
        self.MappingStart = yaml.MappingStartEvent
        self.MappingEnd = yaml.MappingEndEvent
        self.SequenceStart = yaml.SequenceStartEvent
        self.SequenceEnd = yaml.SequenceEndEvent
        self.Alias = yaml.AliasEvent
        self.DocumentStart = yaml.DocumentStartEvent
        self.StreamEnd = yaml.StreamEndEvent

    def problem(self, event: Any, message: str) -> None:
        mark = event.start_mark
        self.problems.append(YamlProblem(mark.line + 1, mark.column + 1, message))

    def next_event(self) -> Any:
        try:
            return self.get_event()
        except self.yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            self.problems.append(YamlProblem(line, column, self.explain(e, mark)))
        except self.yaml.YAMLError as e:  # ReaderError: a character YAML does not allow
            position = getattr(e, "position", None)
            line, column = _line_at(self.text, position) if isinstance(position, int) else (1, 1)
            reason = getattr(e, "reason", None) or str(e).splitlines()[0]
            self.problems.append(YamlProblem(line, column, f"invalid YAML: {reason}"))
        raise _Fatal

    def explain(self, error: Any, mark: Any) -> str:
        """libyaml's message, made specific where it is vague."""
        message = error.problem or error.context or "invalid YAML"
        if message == "exceeded maximum nesting depth":
            return f"nesting deeper than {MAX_DEPTH} levels"
        if ("tab character" in message or "cannot start any token" in message) and mark is not None:
            lines = self.text.split("\n")
            if mark.line < len(lines) and lines[mark.line][mark.column : mark.column + 1] == "\t":
                return "invalid YAML: found character '\\t' that cannot start any token; indent with spaces"
        return f"invalid YAML: {message}"

    def build(self) -> Document:
        data: Any = None
        try:
            self.next_event()  # StreamStart
            event = self.next_event()
            if event.__class__ is self.StreamEnd:
                self.problems.append(YamlProblem(1, 1, "empty file: expected one YAML document"))
                raise _Fatal
            if event.version:
                self.problem(event, "%YAML directive is not allowed")
            if event.tags:
                self.problem(event, "%TAG directive is not allowed")
            data = self.node(self.next_event(), (), 0)
            self.next_event()  # DocumentEnd
            event = self.next_event()
            if event.__class__ is self.DocumentStart:
                self.problem(event, "several YAML documents in one file: expected exactly one")
        except _Fatal:
            pass
        finally:
            self.dispose()
        if self.problems:
            raise StrictYamlError(self.problems[:MAX_PROBLEMS])
        return Document(data, self.lines, self.float_texts, self.text)

    def check_node(self, event: Any) -> None:
        if event.anchor:
            self.problem(event, f"anchor &{event.anchor} is not allowed (no anchors or aliases)")
        if event.tag:
            tag = event.tag.replace("tag:yaml.org,2002:", "!!")
            self.problem(event, f"explicit tag {tag} is not allowed")

    def node(self, event: Any, path: Path_, depth: int) -> Any:
        cls = event.__class__
        self.lines[path] = event.start_mark.line + 1
        if depth > MAX_DEPTH:
            self.problem(event, f"nesting deeper than {MAX_DEPTH} levels")
            raise _Fatal
        if cls is self.Alias:
            self.problem(event, f"alias *{event.anchor} is not allowed (no anchors or aliases)")
            return None
        if event.anchor or event.tag:
            self.check_node(event)
        if cls is self.Scalar:
            value = self.scalar(event)
            if value.__class__ is float:
                self.float_texts[path] = event.value
            return value
        if cls is self.MappingStart:
            return self.mapping(path, depth)
        if cls is self.SequenceStart:
            items: list[Any] = []
            while True:
                child = self.next_event()
                if child.__class__ is self.SequenceEnd:
                    return items
                items.append(self.node(child, (*path, len(items)), depth + 1))
        self.problem(event, f"unexpected YAML event {cls.__name__}")  # pragma: no cover
        raise _Fatal  # pragma: no cover

    def mapping(self, path: Path_, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        while True:
            key_event = self.next_event()
            cls = key_event.__class__
            if cls is self.MappingEnd:
                return out
            key: Any = None
            if cls is self.Scalar:
                if key_event.anchor or key_event.tag:
                    self.check_node(key_event)
                key = self.scalar(key_event)
                if key == "<<" and not key_event.style:
                    self.problem(key_event, "merge key << is not allowed")
                    key = None
                elif not isinstance(key, str):
                    self.problem(
                        key_event, f"mapping key {key_event.value!r} is not a string; quote it"
                    )
                    key = None
                elif key in out:
                    first = self.lines.get((*path, key))
                    self.problem(key_event, f"duplicate key {key!r} (first on line {first})")
                    key = None
            elif cls is self.Alias:
                self.problem(
                    key_event, f"alias *{key_event.anchor} is not allowed (no anchors or aliases)"
                )
            else:
                self.problem(
                    key_event, "mapping key is not a string (complex keys are not allowed)"
                )
                self.node(key_event, (*path, "?"), depth + 1)
            child_path = (*path, key) if key is not None else (*path, "?")
            value = self.node(self.next_event(), child_path, depth + 1)
            if key is not None:
                # the key's line is the useful one for messages about this entry
                self.lines[child_path] = key_event.start_mark.line + 1
                out[key] = value

    def scalar(self, event: Any) -> Any:
        value: str = event.value
        odd = None if value.isascii() else _ODD_CHARACTERS.search(value)
        if odd:
            if "\ud800" <= odd.group() <= "\udfff":
                self.problem(event, "text holds a lone UTF-16 surrogate escape (not a character)")
            else:
                self.problem(
                    event, "text holds a bidirectional control character (U+202A-202E, U+2066-2069)"
                )
        if event.style:  # quoted or block scalar: always a string
            return value
        resolved, problem = _plain(value)
        if problem is not None:
            self.problem(event, problem)
        return resolved


def _plain(value: str) -> tuple[Any, str | None]:
    """A plain scalar's value (YAML 1.2 core schema, timestamps kept as strings) and what
    is wrong with it, if anything. Both loaders resolve through here, so they agree."""
    if value[:1].isalpha() and value not in _WORDS:
        return value, None  # fast path: a word is null, bool or a number only if in _WORDS
    found = _PLAIN_SEEN.get(value)
    if found is None:
        found = _plain_resolved(value)
        if len(value) <= 40:  # numbers and dates recur from file to file; prose does not
            if len(_PLAIN_SEEN) >= 4096:
                _PLAIN_SEEN.clear()
            _PLAIN_SEEN[value] = found
    return found


# _plain's answers for short scalars (immutable values only), bounded
_PLAIN_SEEN: dict[str, tuple[Any, str | None]] = {}


def _plain_resolved(value: str) -> tuple[Any, str | None]:
    resolved, problem = _resolve(value)
    if problem is not None:
        return resolved, problem
    if resolved.__class__ is str:
        if _BOOL_11.match(value):
            return resolved, (
                f"ambiguous value {value}: YAML 1.1 parsers read it as a boolean; "
                "quote it or write true/false"
            )
        if _NUMBER_11.fullmatch(value):
            return resolved, (
                f"ambiguous value {value}: YAML 1.1 parsers read it as a number; "
                "quote it or write it without _ or :"
            )
    elif (
        resolved.__class__ in (int, float)
        and not _NUMBER_11.fullmatch(value)
        and not _NONFINITE.match(value)
    ):
        return resolved, (
            f"ambiguous number {value}: YAML 1.1 parsers read it as a string; "
            "write it with a dot and a signed exponent (1.0e+3), or quote it"
        )
    return resolved, None


def _resolve(value: str) -> tuple[Any, str | None]:
    """A plain scalar by the YAML 1.2 core schema, timestamps kept as strings (and a problem)."""
    if _NULL.match(value):
        return None, None
    if value in _BOOL:
        return _BOOL[value], None
    if _INT.match(value):
        digits = value.lstrip("+-")
        if len(digits) > 1 and digits.startswith("0"):
            return value, (
                f"ambiguous number {value}: YAML 1.1 reads it as octal; "
                "write it without leading zeros or quote it"
            )
        if len(digits) > 20:
            return None, f"integer {_clip(value)} is too large"
        number = int(value)
        if abs(number) > MAX_SAFE_INTEGER:
            return number, (
                f"integer {value} is beyond 2^53-1 and has no exact JSON form; quote it"
            )
        return number, None
    if _INT_OCT.match(value) or _INT_HEX.match(value):
        number = (
            int(value[2:], 8 if value[1] == "o" else 16)
            if len(value) < 24
            else MAX_SAFE_INTEGER + 1
        )
        if number > MAX_SAFE_INTEGER:
            return None, f"integer {value[:24]} is too large"
        return number, None
    if _NONFINITE.match(value):
        return None, f"non-finite number {value} is not allowed"
    if _FLOAT.match(value):
        real = float(value)
        if not math.isfinite(real):
            return None, f"number {_clip(value)} overflows to infinity"
        return real, None
    return value, None


# --- the fast path -------------------------------------------------------------

# libyaml hands over each event as a Python object with two marks, and building the
# data from them costs as much again: ~0.1-0.2 ms for a version file, most of a
# cold `check --all`. Nearly every registry file is written in a small plain subset
# of YAML (block mappings and sequences, one-line scalars and flow collections,
# literal block text), which _FastLoader reads row by row in a fraction of the
# time. It only ever answers for text it fully understands and in which nothing is
# wrong; anything else (a tab, an anchor, a tag, a quoted key, an escape, a
# multi-line scalar or flow, folded text, a problem of any kind) raises _Unsure and
# the text goes through _Builder, which finds and words every problem. Plain
# scalars resolve through the same _plain(). tests/test_yamlio_fast.py feeds both
# the same inputs and compares data, lines and float spellings.

# The fast path's patterns: compiled on its first use, as ~2 ms that a run reading no
# YAML (an unchanged `check --all`) would pay for nothing.
_FAST_UNSAFE: re.Pattern[str]
_FAST_ROW: re.Pattern[str]
_FAST_FLOW_PLAIN: re.Pattern[str]
_FAST_FLOW_KEY: re.Pattern[str]
_FAST_FLAT_ENTRY: re.Pattern[str]
_FAST_NOT_FLAT: re.Pattern[str]
_FAST_SINGLE: re.Pattern[str]
_FAST_DOUBLE: re.Pattern[str]
_FAST_TAIL: re.Pattern[str]
_FAST_LITERAL: re.Pattern[str]
_fast_compiled = False


def _compile_fast() -> None:
    global _FAST_UNSAFE, _FAST_ROW, _FAST_FLOW_PLAIN, _FAST_FLOW_KEY, _FAST_FLAT_ENTRY
    global _FAST_NOT_FLAT, _FAST_SINGLE, _FAST_DOUBLE, _FAST_TAIL, _FAST_LITERAL
    global _fast_compiled
    # Line feeds and printable characters only: no tab, CR or control character, none
    # of those decode() refuses (bidi controls, NEL, LS, PS, BOM), no surrogate or
    # U+FFFE/F. Written as what is refused: a class of the wide ranges allowed costs
    # ~10 ms to compile.
    _FAST_UNSAFE = re.compile(
        "[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069\ud800-\udfff\ufeff\ufffe\uffff]"
    )
    # One row: its indent, a `- ` entry, a plain key (then `: ` or the row's end) and
    # the rest. A key has at most 128 characters: libyaml refuses an implicit key over
    # 1024.
    _FAST_ROW = re.compile(r"( *)(- )?(?:([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}):(?: +|(?=\n)))?(.*)\n")
    # a plain scalar inside a flow collection: no flow indicator, `?`, or `:` but
    # before a letter or digit (2026-11-21T10:00:00Z); spaces only between words;
    # ` #` ends it
    _FAST_FLOW_PLAIN = re.compile(
        r"(?:[A-Za-z0-9_./~+(]|[^\x00-\x7f]|-(?=[0-9.]))"
        r"(?:[^ ,\[\]{}:?]|:(?=[A-Za-z0-9])| +(?=[^ ,\[\]{}:?#]))*"
    )
    _FAST_FLOW_KEY = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}): +")
    # an entry of a flow mapping without collections or quotes, between `{` or `,`
    # and `,` or `}`
    _FAST_FLAT_ENTRY = re.compile(
        rf" *([A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}): +({_FAST_FLOW_PLAIN.pattern}) *"
    )
    _FAST_NOT_FLAT = re.compile(r"[\[\]{}'\"]")
    _FAST_SINGLE = re.compile(r"'((?:[^']|'')*)'")
    _FAST_DOUBLE = re.compile(r'"([^"\\]*)"')
    # what may follow a scalar or flow collection on its row: spaces, then a comment
    _FAST_TAIL = re.compile(r"(?: *| +#.*)\Z")
    _FAST_LITERAL = re.compile(r"\|(-?)(?: *| +#.*)\Z")
    _fast_compiled = True


# what may start a plain scalar the fast path reads (no indicator -?:,[]{}#&*!|>'"%@`),
# besides any character past ASCII
_FAST_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./~+(")
_FAST_MAX_DEPTH = 32  # well inside MAX_DEPTH: deeper text goes through _Builder

_Row = tuple[str, str, str, str]  # indent, "- " or "", key or "", rest


class _Unsure(Exception):
    """The fast path does not read this text; _Builder does."""


class _FastLoader:
    """Reads the plain subset of registry YAML into what _Builder builds from it: the
    same data (types and key order), lines (in the same order) and float spellings.

    Each method takes the index of its first row and returns the index after its
    last; blank and comment rows between entries are skipped where they are met.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.rows: list[_Row] = _FAST_ROW.findall(text)
        self.lines: dict[Path_, int] = {}
        self.float_texts: dict[Path_, str] = {}

    @cached_property
    def raw_rows(self) -> list[str]:
        """The text's rows as written (literal blocks keep them), split once per file."""
        return self.text.split("\n")

    def skip(self, i: int) -> int:
        """The index of the first row from I that is neither blank nor a comment."""
        rows = self.rows
        while i < len(rows):
            _, dash, key, rest = rows[i]
            if dash or key or (rest and rest[0] != "#"):
                return i
            i += 1
        return i

    def document(self) -> Any:
        rows = self.rows
        i = self.skip(0)
        if i == len(rows) or rows[i][0] or rows[i][1]:
            raise _Unsure  # empty, a root not at column 0, or a sequence
        data, i = self.mapping(i, 0, (), 0)
        if self.skip(i) != len(rows):
            raise _Unsure  # a second root node, `---`, `...`, or a syntax error
        return data

    def mapping(self, i: int, indent: int, path: Path_, depth: int) -> tuple[Any, int]:
        """The block mapping whose first key is on row I (after `- ` in a sequence)."""
        if depth > _FAST_MAX_DEPTH:
            raise _Unsure
        rows, lines, end = self.rows, self.lines, len(self.rows)
        lines[path] = i + 1
        out: dict[str, Any] = {}
        _, dash, key, rest = rows[i]
        # the hot loop of the fast path: a plain `key: value` row is read here, inline
        while True:
            if not key:
                raise _Unsure
            if not (key[0].isalpha() and key not in _WORDS):
                key = _fast_key(key)
            if key in out:
                raise _Unsure
            child = path + (key,)  # noqa: RUF005 - 2.5x faster than (*path, key)
            line = i + 1
            lines[child] = line
            i += 1
            first = rest[:1]
            if not first or first == "#":
                out[key], i = self.block(i, indent, child, depth + 1)
            elif first == "|":
                out[key], i = self.literal(i, rest, indent)
            elif first == "{":
                out[key] = self.flow_row(rest, child, line, depth + 1)
            elif (first in _FAST_FIRST or first > "\x7f") and " #" not in rest and ": " not in rest:
                text = rest.rstrip(" ")
                if text[-1] == ":":
                    raise _Unsure
                if first.isalpha() and text not in _WORDS:
                    out[key] = text  # as _plain() reads a word
                else:
                    value, problem = _plain(text)
                    if problem is not None:
                        raise _Unsure
                    if value.__class__ is float:
                        self.float_texts[child] = text
                    out[key] = value
            else:
                out[key] = self.inline(rest, child, line, depth + 1)
            lines[child] = line  # the key's line, as _Builder keeps it
            while i < end:  # blank and comment rows
                spaces, dash, key, rest = rows[i]
                if dash or key or (rest and rest[0] != "#"):
                    break
                i += 1
            else:
                return out, i
            if len(spaces) < indent:
                return out, i
            if len(spaces) > indent or dash:
                raise _Unsure  # a continuation row, or an indentation error

    def block(self, i: int, indent: int, path: Path_, depth: int) -> tuple[Any, int]:
        """What follows `key:` (at INDENT) on the rows from I: a collection, or null."""
        i = self.skip(i)
        if i < len(self.rows):
            spaces, dash, _, _ = self.rows[i]
            if dash and len(spaces) >= indent:  # `- ` at the key's indent is its value, too
                return self.sequence(i, len(spaces), path, depth)
            if len(spaces) > indent:
                return self.mapping(i, len(spaces), path, depth)
        return None, i  # an empty plain scalar: null

    def sequence(self, i: int, indent: int, path: Path_, depth: int) -> tuple[Any, int]:
        """The block sequence whose `- ` entries are at INDENT, from row I."""
        if depth > _FAST_MAX_DEPTH:
            raise _Unsure
        rows, lines = self.rows, self.lines
        lines[path] = i + 1
        items: list[Any] = []
        while True:
            _, _, key, rest = rows[i]
            child = path + (len(items),)  # noqa: RUF005 - faster, as above
            if key:  # `- key: ...`: a mapping whose keys are 2 further in
                value, i = self.mapping(i, indent + 2, child, depth + 1)
            elif not rest or rest[0] in " #|>":
                raise _Unsure
            else:
                value = self.inline(rest, child, i + 1, depth + 1)
                i += 1
            items.append(value)
            i = self.skip(i)
            if i == len(rows):
                return items, i
            spaces, dash, _, _ = rows[i]
            if len(spaces) > indent:
                raise _Unsure
            if len(spaces) < indent or not dash:
                return items, i

    def literal(self, i: int, header: str, indent: int) -> tuple[str, int]:
        """The literal block scalar (`|` or `|-`) of a key at INDENT, from row I."""
        m = _FAST_LITERAL.match(header)
        if m is None:
            raise _Unsure  # `|+`, an indentation indicator, or `>` folding
        rows = self.raw_rows  # as written: the rows are parsed as YAML
        first = rows[i]
        body = first.lstrip(" ")
        width = len(first) - len(body)  # the block's indentation, from its first row
        if not body or width <= indent:
            raise _Unsure  # leading blank rows, or an empty scalar
        parts: list[str] = []
        last = 0  # how many parts up to the last row with text
        end = len(rows) - 1  # the text ends with a line break: nothing after it
        while i < end:
            row = rows[i]
            if row[:width].strip(" "):
                break  # less indented: the block ends
            if len(row) > width:
                parts.append(row[width:])
                last = len(parts)
            else:
                parts.append("")  # an empty row (blank up to the indentation)
            i += 1
        text = "\n".join(parts[:last])
        return (text if m[1] else text + "\n"), i  # `|-` strips the final line break

    def inline(self, text: str, path: Path_, line: int, depth: int) -> Any:
        """The scalar or flow collection TEXT that ends a row (after `key: ` or `- `)."""
        first = text[0]
        if first == "{" or first == "[":
            return self.flow_row(text, path, line, depth)
        self.lines[path] = line
        if first == "'" or first == '"':
            m = (_FAST_SINGLE if first == "'" else _FAST_DOUBLE).match(text)
            if m is None or not _FAST_TAIL.match(text, m.end()):
                raise _Unsure
            return m[1].replace("''", "'") if first == "'" else m[1]
        cut = text.find(" #")
        if cut >= 0:
            text = text[:cut]
        text = text.rstrip(" ")
        if (
            (
                first not in _FAST_FIRST
                and first <= "\x7f"
                and not (first == "-" and text[1:2] in _DIGIT_OR_DOT)
            )
            or ": " in text
            or text[-1] == ":"
        ):
            raise _Unsure
        value, problem = _plain(text)
        if problem is not None:
            raise _Unsure
        if value.__class__ is float:
            self.float_texts[path] = text
        return value

    def flow_row(self, text: str, path: Path_, line: int, depth: int) -> Any:
        """The flow collection that TEXT (the rest of a row) is, read once per process:
        an eval's dataset and metrics, a tool's input schema recur from file to file."""
        seen = _FLOW_SEEN.get(text)
        if seen is None:
            alone = _FastLoader("")  # paths from the row's own root; flow() needs no rows
            value, end = alone.flow(text, 0, (), line, 0)
            if not _FAST_TAIL.match(text, end):
                raise _Unsure
            nested = any(isinstance(v, (dict, list)) for v in _values(value))
            seen = (value, nested, tuple(alone.lines), tuple(alone.float_texts.items()))
            if len(text) <= 512 and len(_FLOW_SEEN) < 4096:
                _FLOW_SEEN[text] = seen
        value, nested, inner, floats = seen
        if depth + max(map(len, inner)) > _FAST_MAX_DEPTH:
            raise _Unsure
        lines = self.lines
        for rel in inner:  # in the order flow() meets them, as _Builder keeps them
            lines[path + rel] = line
        for rel, written in floats:
            self.float_texts[path + rel] = written
        if not nested:  # a copy: the caller owns (and may change) what it gets
            return dict(value) if value.__class__ is dict else list(value)
        return _copy(value)

    def flat(self, inner: str, path: Path_, line: int) -> dict[str, Any] | None:
        """The flow mapping `{INNER}` of plain keys and scalars (no collection, no quote),
        read entry by entry as flow() reads it; None for flow() to read it."""
        out: dict[str, Any] = {}
        lines, match = self.lines, _FAST_FLAT_ENTRY.fullmatch
        for entry in inner.split(","):
            m = match(entry)
            if m is None:
                return None
            key, text = m.groups()
            if not (key[0].isalpha() and key not in _WORDS):
                key = _fast_key(key)
            if key in out:
                raise _Unsure
            child = path + (key,)  # noqa: RUF005 - faster, as above
            lines[child] = line
            if text[0].isalpha() and text not in _WORDS:
                out[key] = text
                continue
            value, problem = _plain(text)
            if problem is not None:
                raise _Unsure
            if value.__class__ is float:
                self.float_texts[child] = text
            out[key] = value
        return out

    def flow(self, text: str, at: int, path: Path_, line: int, depth: int) -> tuple[Any, int]:
        """The flow collection or scalar at TEXT[AT:], all on one row; (value, its end)."""
        if depth > _FAST_MAX_DEPTH:
            raise _Unsure
        self.lines[path] = line
        first = text[at : at + 1]
        if first == "{":
            close = text.find("}", at)
            if close > 0 and not _FAST_NOT_FLAT.search(text, at + 1, close):
                flat = self.flat(text[at + 1 : close], path, line)
                if flat is not None:
                    return flat, close + 1
            out: dict[str, Any] = {}
            at = _skip_spaces(text, at + 1)
            if text.startswith("}", at):
                return out, at + 1
            while True:
                m = _FAST_FLOW_KEY.match(text, at)
                if m is None:
                    raise _Unsure
                key = _fast_key(m[1])
                if key in out:
                    raise _Unsure
                child = path + (key,)  # noqa: RUF005 - faster, as above
                out[key], at = self.flow(text, m.end(), child, line, depth + 1)
                at = _skip_spaces(text, at)
                if text.startswith(",", at):
                    at = _skip_spaces(text, at + 1)
                elif text.startswith("}", at):
                    return out, at + 1
                else:
                    raise _Unsure
        if first == "[":
            items: list[Any] = []
            at = _skip_spaces(text, at + 1)
            if text.startswith("]", at):
                return items, at + 1
            while True:
                child = path + (len(items),)  # noqa: RUF005 - faster, as above
                value, at = self.flow(text, at, child, line, depth + 1)
                items.append(value)
                at = _skip_spaces(text, at)
                if text.startswith(",", at):
                    at = _skip_spaces(text, at + 1)
                elif text.startswith("]", at):
                    return items, at + 1
                else:
                    raise _Unsure
        if first == "'" or first == '"':
            m = (_FAST_SINGLE if first == "'" else _FAST_DOUBLE).match(text, at)
            if m is None:
                raise _Unsure
            return (m[1].replace("''", "'") if first == "'" else m[1]), m.end()
        m = _FAST_FLOW_PLAIN.match(text, at)
        if m is None:
            raise _Unsure
        value, problem = _plain(m[0])
        if problem is not None:
            raise _Unsure
        if value.__class__ is float:
            self.float_texts[path] = m[0]
        return value, m.end()


_DIGIT_OR_DOT = frozenset("0123456789.")
# _FastLoader.flow_row's answers: (value, holds a collection, its paths, its floats)
_FLOW_SEEN: dict[str, tuple[Any, bool, tuple[Path_, ...], tuple[tuple[Path_, str], ...]]] = {}


def _values(collection: Any) -> Any:
    return collection.values() if collection.__class__ is dict else collection


def _copy(data: Any) -> Any:
    """A deep copy of loaded data (dicts, lists and immutable scalars)."""
    if data.__class__ is dict:
        return {key: _copy(value) for key, value in data.items()}
    if data.__class__ is list:
        return [_copy(value) for value in data]
    return data


def _skip_spaces(text: str, at: int) -> int:
    while text.startswith(" ", at):
        at += 1
    return at


def _fast_key(text: str) -> str:
    """A plain key as _Builder reads it, if it is a string without a problem."""
    key, problem = _plain(text)
    if problem is not None or key.__class__ is not str:
        raise _Unsure
    return text


def _fast_load(text: str) -> Document | None:
    """TEXT read by the fast path, or None when _Builder must read it."""
    if not _fast_compiled:
        _compile_fast()
    if not text.endswith("\n") or _FAST_UNSAFE.search(text):
        return None
    loader = _FastLoader(text)
    try:
        data = loader.document()
    except _Unsure:
        return None
    return Document(data, loader.lines, loader.float_texts, text)


# --- writing ------------------------------------------------------------------

# Strings another YAML parser (YAML 1.1, e.g. PyYAML) would read as something
# else: booleans, nulls, numbers (sexagesimal 22:22 included), timestamps,
# merge and value keys. modelreg quotes them, so what it writes reads back as
# the same string everywhere.
_AMBIGUOUS = re.compile(
    r"""(?x)
    (?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE
      |on|On|ON|off|Off|OFF|null|Null|NULL|~|<<|=)\Z
    | [-+]?(?:0b[0-1_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(?::[0-5]?[0-9])*)\Z
    | [-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?\Z
    | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*\Z
    | [-+]?[0-9]+[eE][-+]?[0-9]+\Z
    | [-+]?\.(?:inf|Inf|INF)\Z | \.(?:nan|NaN|NAN)\Z
    | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}
    """
)


def _yaml_rt() -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.representer import RoundTripRepresenter

    class _Representer(RoundTripRepresenter):
        pass

    def represent_str(rep: Any, data: str) -> Any:
        if _AMBIGUOUS.match(data) or data == "":
            return rep.represent_scalar("tag:yaml.org,2002:str", data, style="'")
        if "\n" in data:
            return rep.represent_scalar("tag:yaml.org,2002:str", data, style="|")
        return rep.represent_str(data)

    def represent_float(rep: Any, data: float) -> Any:
        if not math.isfinite(data):
            raise ValueError(f"non-finite number {data!r} cannot be written")
        text = repr(data)
        mantissa, e, exponent = text.partition("e")
        if e and "." not in mantissa:  # YAML 1.1 needs a dot: 2e-05 would read as a string
            text = f"{mantissa}.0e{exponent}"
        return rep.represent_scalar("tag:yaml.org,2002:float", text)

    _Representer.add_representer(str, represent_str)
    _Representer.add_representer(float, represent_float)
    yaml = YAML(typ="rt")
    yaml.Representer = _Representer
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = True
    return yaml


def roundtrip_load(text: str) -> Any:
    """Load with comments and layout kept, for edits a person will review (`new`)."""
    return _yaml_rt().load(text)


def dumps(data: Any) -> str:
    """Serialize DATA (plain or round-trip loaded) as block YAML, ambiguous strings quoted."""
    import io

    buf = io.StringIO()
    _yaml_rt().dump(data, buf)
    return buf.getvalue()


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it; set back at once
    os.umask(mask)
    return mask


def new_file_mode(path: Path) -> int:
    """The mode a plain open() would give PATH: the existing file's, or 0666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def write_atomic(path: Path, text: str) -> None:
    """Write TEXT to PATH through a temp file and os.replace: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, new_file_mode(path))  # mkstemp makes the file 0600
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
