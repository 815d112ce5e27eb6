"""Adapter: the only YAML importer. Strict fast loads, line lookup, safe round-trip writes.

Loading never constructs Python objects from tags. libyaml (the C parser that
PyYAML bundles, 0.2.5 or newer) turns the text into events, and this module
builds plain JSON data from them itself, refusing everything DESIGN 2.1
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
from functools import cache
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


def read_regular(path: Path, cap: int) -> bytes:
    """The bytes of the regular file PATH, at most CAP + 1 of them (so a caller sees that
    it is over CAP without reading the rest); NotRegularFile for anything else.

    Opened non-blocking and without following a symbolic link, so that a FIFO cannot
    hang us; a huge (or sparse) file costs nothing past the cap.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(f"{path}: not a regular file")
        # Ask for the file's size plus one byte (not a 1 MiB buffer per file: half the
        # cost of reading on 30,000 files), then read on until EOF or past the cap, in
        # case the file grew since the fstat.
        limit, chunks, total = cap + 1, [], 0
        ask = min(st.st_size, cap) + 1
        while total < limit:
            chunk = os.read(fd, min(ask, limit - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            ask = 1 << 16
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_limited(path: Path) -> bytes:
    """The bytes of a registry file: a regular file of at most MAX_BYTES."""
    try:
        raw = read_regular(path, MAX_BYTES)
    except NotRegularFile:
        raise StrictYamlError([YamlProblem(1, 1, "not a regular file")]) from None
    if len(raw) > MAX_BYTES:
        raise StrictYamlError([YamlProblem(1, 1, f"file is over the {MAX_BYTES}-byte limit")])
    return raw


def loads(raw: bytes | str) -> Document:
    """Parse one strict registry YAML document; raise StrictYamlError listing every violation."""
    text = decode(raw.encode("utf-8") if isinstance(raw, str) else raw)
    return _Builder(text).build()


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
        first = value[:1]
        if first.isalpha() and first not in "tTfFnNyYoO":
            return value  # fast path: an ordinary word cannot be null, bool or a number
        reported = len(self.problems)
        resolved = self.resolve(event, value)
        if len(self.problems) > reported:
            pass  # resolve() said what is wrong with it already
        elif resolved.__class__ is str:
            if _BOOL_11.match(value):
                self.problem(
                    event,
                    f"ambiguous value {value}: YAML 1.1 parsers read it as a boolean; quote it or write true/false",
                )
            elif _NUMBER_11.fullmatch(value):
                self.problem(
                    event,
                    f"ambiguous value {value}: YAML 1.1 parsers read it as a number; quote it or write it without _ or :",
                )
        elif (
            resolved.__class__ in (int, float)
            and not _NUMBER_11.fullmatch(value)
            and not _NONFINITE.match(value)
        ):
            self.problem(
                event,
                f"ambiguous number {value}: YAML 1.1 parsers read it as a string; "
                "write it with a dot and a signed exponent (1.0e+3), or quote it",
            )
        return resolved

    def resolve(self, event: Any, value: str) -> Any:
        """A plain scalar by the YAML 1.2 core schema, timestamps kept as strings."""
        if _NULL.match(value):
            return None
        if value in _BOOL:
            return _BOOL[value]
        if _INT.match(value):
            digits = value.lstrip("+-")
            if len(digits) > 1 and digits.startswith("0"):
                self.problem(
                    event,
                    f"ambiguous number {value}: YAML 1.1 reads it as octal; "
                    "write it without leading zeros or quote it",
                )
                return value
            if len(digits) > 20:
                self.problem(event, f"integer {_clip(value)} is too large")
                return None
            number = int(value)
            if abs(number) > MAX_SAFE_INTEGER:
                self.problem(
                    event, f"integer {value} is beyond 2^53-1 and has no exact JSON form; quote it"
                )
            return number
        if _INT_OCT.match(value) or _INT_HEX.match(value):
            number = (
                int(value[2:], 8 if value[1] == "o" else 16)
                if len(value) < 24
                else MAX_SAFE_INTEGER + 1
            )
            if number > MAX_SAFE_INTEGER:
                self.problem(event, f"integer {value[:24]} is too large")
                return None
            return number
        if _NONFINITE.match(value):
            self.problem(event, f"non-finite number {value} is not allowed")
            return None
        if _FLOAT.match(value):
            real = float(value)
            if not math.isfinite(real):
                self.problem(event, f"number {_clip(value)} overflows to infinity")
                return None
            return real
        return value


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
