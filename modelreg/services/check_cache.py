"""Service helper for `check`: what each file says about itself, kept by git blob id between runs.

A file's own findings (strict YAML, schema, its tools' input schemas) and the
facts the cross-file rules need (a version's name, version, parent, model id
and digest; an eval's model, version, suite and config digest; a stage file's
data), each with its line, depend on its bytes alone. `file_facts` works them
out; `check --all` keeps them in the git dir, by path, beside the git blob id
of the bytes they came from. The rules between files run in services/check.py,
from the facts; it keeps its last findings here too (`memo`), for a run in
which nothing they depend on has changed.

Which bytes a path holds is known without reading it when its lstat (size,
mtime, ctime, inode) is the one recorded with them, as git's own index knows;
a stat less than RACY_NS older than the run that read the file is not
recorded, since the file could change again within the clock's tick without
its stat showing it. git's index is not asked instead: skip-worktree, assume-unchanged and clean
filters (`ident`, eol conversion) make it disagree with the bytes in the work
tree, which are what check judges. A folder is listed again only when its own
stat changed (adding, removing or renaming an entry changes it).

Files whose facts are not known are read and parsed on a process pool when
there are many of them (they are independent; see POOL_MIN); those no cached
row speaks for are handed to the workers while the folders are still being
listed (see _Reader).

The cache is keyed by its format, modelreg's code and schemas and the
installed PyYAML and jsonschema, so another modelreg never trusts it; a cache
that cannot be read, fails its CRC or is for another key is ignored. It is
stored as a few long columns (paths, stats, blob ids, kinds, facts, each
joined by NUL) behind a one-line header: splitting them takes ~30 ms for
30,000 files where JSON with an object per file took ~0.5 s, and the
unchanged run's budget is 0.5 s.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from modelreg.core.digest import CanonicalizationError, digest_loaded
from modelreg.registry import EVALS, MODELS, STAGES, schema_findings
from modelreg.schemas import dotted, json_schema_problems, schema_dir
from modelreg.vcs import git_blob_id
from modelreg.yamlio import (
    Document,
    StrictYamlError,
    loads,
    nearest_line,
    read_limited,
    read_regular,
)

# the registry files check reads, by path
VERSION_FILE = re.compile(r"models/([^/]+)/([^/]+)\.yaml\Z")
EVAL_FILE = re.compile(r"evals/([^/]+)/([^/]+)/([^/]+)\.yaml\Z")
STAGE_FILE = re.compile(r"stages/([^/]+)\.yaml\Z")

FORMAT = 1  # bump when the shape of the cache or of the facts changes
CACHE_FILE = "modelreg-check.cache"
RACY_NS = 2_000_000_000  # a stat this close to the run's start is not recorded (racy)
# Below this many files to read, one process does it: starting workers costs
# ~30 ms (fork) to ~0.3 s (spawn), a file ~0.3 ms.
POOL_MIN = 1000
CHUNK = 250  # files per task: small, so that the workers finish together

# What a file is read as; the first four are also schema names.
VERSION, EVAL, STAGE, POLICY, SIGNERS = "model-version", "eval", "stages", "registry", "signers"
_CODE = {VERSION: "v", EVAL: "e", STAGE: "s", POLICY: "p", SIGNERS: "a"}
# the lines kept for a version or an eval (the only paths the rules ask about)
_LINE_PATHS: dict[str, list[tuple[str, ...]]] = {
    VERSION: [(), ("name",), ("version",), ("parent",), ("model", "id")],
    EVAL: [(), ("model",), ("version",), ("suite",), ("config_digest",)],
}
_SEP = "\x1f"  # between the fields of a compact fact string
_EVAL_KEYS = ("model", "version", "suite", "config_digest")

Path_ = tuple[str | int, ...]
# examine()'s answer: (blob id of the bytes read or None, facts encoded (None: those of
# the known blob id, or unreadable), `cannot read: ...` or None)
_Raw = tuple[str | None, str | None, str | None]


class Facts:
    """What one file says about itself.

    `yaml` holds (line, column, message) when the file is not strict YAML, and
    then nothing else is known; otherwise `schema` holds (line, message) per
    schema finding and `data` the parts of the document the rules read: all
    of a policy or stage file; a version's name, version, parent and model id
    (only its parent, when that is a string, if it fails its schema); an
    eval's model, version, suite and config_digest. `signers` holds an
    allowed-signers file's (line, message) findings.
    """

    __slots__ = (
        "_lines",
        "_raw_lines",
        "data",
        "digest",
        "digest_error",
        "schema",
        "signers",
        "tools",
        "yaml",
    )

    def __init__(self, js: dict[str, Any]) -> None:
        self.yaml: Sequence[list[Any]] = js.get("y") or ()
        self.schema: Sequence[list[Any]] = js.get("s") or ()
        self.data: Any = js.get("d")
        self.digest: str | None = js.get("g")  # a version's (None: see digest_error)
        self.digest_error: str | None = js.get("x")
        self.tools: Sequence[list[Any]] = js.get("t") or ()  # a valid version's (line, message)
        self.signers: Sequence[list[Any]] = js.get("f") or ()
        self._raw_lines: Any = js.get("l") or ()  # [[path, line]...], or (kind, "l1 l2 ...")
        self._lines: dict[Path_, int] | None = None

    @classmethod
    def decode(cls, kind: str, text: str) -> Facts:
        """Facts from their cached form (see encode); lines are read when first asked for."""
        if text[0] == "j":
            return cls(json.loads(text[1:]))
        facts = cls.__new__(cls)
        facts.yaml = facts.schema = facts.tools = facts.signers = ()
        facts.digest_error = facts._lines = None
        fields = text[1:].split(_SEP)
        if kind == EVAL:
            facts.digest = None
            facts.data = dict(zip(_EVAL_KEYS, fields[:4], strict=True))
        else:
            facts.digest, name, version, parent, model_id, _ = fields
            facts.data = {"name": name, "version": version, "model": {"id": model_id}}
            if parent:
                facts.data["parent"] = parent
        facts._raw_lines = (kind, fields[-1])
        return facts

    def line_of(self, path: Path_) -> int:
        """As Document.line_of: the line of PATH, or of its nearest ancestor known."""
        if self._lines is None:
            raw = self._raw_lines
            if isinstance(raw, tuple):
                kind, text = raw
                raw = zip(_LINE_PATHS[kind], map(int, text.split()), strict=True)
            self._lines = {tuple(p): line for p, line in raw}
        return nearest_line(self._lines, path)


# an Outcome: (blob id of the bytes read or None, facts or None, `cannot read: ...` or None)
Outcome = tuple[str | None, Facts | None, str | None]


def encode(kind: str, js: dict[str, Any]) -> str:
    """JS (file_facts' output) as one string without NUL, as cached: `c` and its
    fields for a schema-valid version or eval with no finding (nearly every
    file), else `j` and JSON."""
    fields: list[Any] | None = None
    data: Any = js.get("d")
    if kind == EVAL and len(js) == 2 and "d" in js and "l" in js:
        fields = [data["model"], data["version"], data["suite"], data["config_digest"]]
    elif (
        kind == VERSION
        and len(js) == 3
        and "g" in js
        and "d" in js
        and "l" in js
        and data.get("parent") != ""
    ):
        fields = [
            js["g"],
            data["name"],
            data["version"],
            data.get("parent", ""),
            data["model"]["id"],
        ]
    if fields is not None and all(f.__class__ is str for f in fields):
        joined = "".join(fields)
        if "\0" not in joined and _SEP not in joined:
            return "c" + _SEP.join([*fields, " ".join([str(line) for _, line in js["l"]])])
    return "j" + json.dumps(js, separators=(",", ":"))


def _problems(e: StrictYamlError) -> list[list[Any]]:
    return [[p.line, p.column, p.message] for p in e.problems]


def _tool_findings(doc: Document) -> list[list[Any]]:
    out: list[list[Any]] = []
    seen: dict[str, int] = {}
    for i, tool in enumerate(doc.data.get("tools") or ()):
        name = tool["name"]
        if name in seen:
            out.append(
                [
                    doc.line_of(("tools", i, "name")),
                    f"tools[{i}]: duplicate tool name {name!r} (also tools[{seen[name]}])",
                ]
            )
        seen.setdefault(name, i)
        for p in json_schema_problems(tool["input_schema"]):
            path = ("tools", i, "input_schema", *p.path)
            out.append([doc.line_of(path), f"{dotted(path)}: not a valid JSON Schema: {p.message}"])
    return out


def file_facts(kind: str, raw: bytes) -> dict[str, Any]:
    """The facts of RAW read as KIND (VERSION, EVAL, STAGE or POLICY), JSON-shaped."""
    try:
        doc = loads(raw)
    except StrictYamlError as e:
        return {"y": _problems(e)}
    out: dict[str, Any] = {}
    schema = schema_findings(doc, kind)
    if schema:
        out["s"] = [[f.line, f.message] for f in schema]
    data = doc.data
    if kind in _LINE_PATHS:
        if kind == VERSION and isinstance(data, dict):
            try:
                out["g"] = digest_loaded(data)  # data as yamlio builds it
            except CanonicalizationError as e:
                out["x"] = str(e)
            out["d"] = {"parent": data["parent"]} if isinstance(data.get("parent"), str) else {}
            if not schema:
                out["d"].update(
                    name=data["name"], version=data["version"], model={"id": data["model"]["id"]}
                )
                tools = _tool_findings(doc)
                if tools:
                    out["t"] = tools
        elif kind == EVAL and not schema:
            out["d"] = {k: data[k] for k in _EVAL_KEYS}
        if not schema:
            lines = doc.lines
            out["l"] = [[list(p), nearest_line(lines, p)] for p in _LINE_PATHS[kind]]
    else:  # a policy or stage file: few and small, kept whole
        out["d"] = data
        out["l"] = [[list(p), line] for p, line in doc.lines.items()]
    return out


def signer_findings(raw: bytes) -> list[list[Any]]:
    """(line, message) for each problem of an allowed-signers file."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return [[1, "allowed-signers file is not UTF-8"]]
    from modelreg.signing import entry_problem, parse_allowed_signers

    entries, problems = parse_allowed_signers(text)
    problems += [(e.line, p) for e in entries if (p := entry_problem(e))]
    return [[line, message] for line, message in sorted(problems)]


def examine(root: str, items: Sequence[tuple[str, str, str | None]]) -> list[_Raw]:
    """Read each (path, kind, blob id whose facts are known) and work out its facts.

    A module-level function, so that the process pool can run it.
    """
    out: list[_Raw] = []
    # paths from the open root folder: the kernel walks fewer components
    try:
        at = os.open(root, os.O_RDONLY) if os.open in os.supports_dir_fd else None
    except OSError:
        at = None  # each file's read says what is wrong
    try:
        for rel, kind, known in items:
            out.append(_examine_one(root, at, rel, kind, known))
    finally:
        if at is not None:
            os.close(at)
    return out


def _examine_one(root: str, at: int | None, rel: str, kind: str, known: str | None) -> _Raw:
    """examine() of one file (AT: ROOT, open)."""
    try:
        raw = read_limited(rel, at) if at is not None else read_limited(os.path.join(root, rel))
    except StrictYamlError as e:  # not a regular file, or over the size cap
        return (None, encode(kind, {"y": _problems(e)}), None)
    except OSError as e:
        if kind == SIGNERS:
            raise  # as check has always done: the policy check found it to be a file
        return (None, None, f"cannot read: {e.strerror}")
    blob = git_blob_id(raw)
    if blob == known:
        return (blob, None, None)
    if kind == SIGNERS:
        return (blob, encode(kind, {"f": signer_findings(raw)}), None)
    return (blob, encode(kind, file_facts(kind, raw)), None)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _examine_all(root: str, todo: list[tuple[str, str, str | None]]) -> list[_Raw]:
    """examine() over TODO, on a process pool when there are enough files to pay for it."""
    workers = min(_cpus(), -(-len(todo) // CHUNK))
    if len(todo) < POOL_MIN or workers < 2:
        return examine(root, todo)
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool
    from itertools import repeat

    chunks = [todo[i : i + CHUNK] for i in range(0, len(todo), CHUNK)]
    try:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            return [o for chunk in pool.map(examine, repeat(root), chunks) for o in chunk]
    except (OSError, BrokenProcessPool):  # no processes here (a sandbox): one is enough
        return examine(root, todo)


def read_listed(
    root: str, items: Sequence[tuple[str, str]]
) -> list[tuple[tuple[int, int, int, int, int] | None, _Raw]]:
    """Each (path, kind)'s lstat (the _Stat fields), taken before its read as
    Files._lstat_all takes it, and examine()'s answer for it (no cached facts). A
    module-level function, for the pool."""
    out: list[tuple[tuple[int, int, int, int, int] | None, _Raw]] = []
    try:
        at = os.open(root, os.O_RDONLY) if os.open in os.supports_dir_fd else None
    except OSError:
        at = None
    try:
        for rel, kind in items:
            try:
                st = os.lstat(rel, dir_fd=at) if at is not None else os.lstat(f"{root}/{rel}")
                fields = (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
            except OSError:
                fields = None
            out.append((fields, _examine_one(root, at, rel, kind, None)))
    finally:
        if at is not None:
            os.close(at)
    return out


class _Reader:
    """Reads listed files on a process pool while the listing goes on.

    A cold run lists ~10,000 folders (0.6 s) before it reads a file; the files
    no cached row speaks for are known as they are listed, so they are handed to
    the workers in chunks as soon as there are enough of them to pay for a pool
    (POOL_MIN), while the listing goes on.
    """

    def __init__(self, root: str, before_fork: Callable[[], object] | None) -> None:
        self.root = root
        self.before_fork = before_fork
        self.items: list[tuple[str, str]] = []  # handed over, or to hand over
        self.sent = 0  # how many of them the workers have
        self.futures: list[Any] = []
        self.pool: Any = None
        self.no_pool = False

    @property
    def started(self) -> bool:
        return self.pool is not None or (self.no_pool and len(self.items) >= POOL_MIN)

    def add(self, rel: str, kind: str) -> None:
        self.items.append((rel, kind))
        if self.pool is None:
            if len(self.items) >= POOL_MIN and not self.no_pool:
                self._start()
        elif len(self.items) - self.sent >= CHUNK:
            self._send(CHUNK)

    def _start(self) -> None:
        workers = _cpus()
        if workers < 2:
            self.no_pool = True  # read in this process, after the listing
            return
        if self.before_fork is not None:
            self.before_fork()  # no other thread may run when the workers fork
        from concurrent.futures import ProcessPoolExecutor

        self.pool = ProcessPoolExecutor(max_workers=workers)
        while len(self.items) - self.sent >= CHUNK:
            self._send(CHUNK)

    def _send(self, count: int) -> None:
        chunk = self.items[self.sent : self.sent + count]
        self.sent += len(chunk)
        if self.no_pool:
            return
        try:
            self.futures.append(self.pool.submit(read_listed, self.root, chunk))
        except (OSError, RuntimeError):  # no processes here (a sandbox): read them here
            self.no_pool = True

    def results(self) -> Iterator[tuple[tuple[int, int, int, int, int] | None, _Raw]]:
        """What read_listed() says of every item, in order, each chunk as soon as it is
        read (the caller records it while the workers read on); read here if the pool
        failed."""
        from concurrent.futures.process import BrokenProcessPool

        if self.sent < len(self.items):
            self._send(len(self.items) - self.sent)
        done = 0
        if not self.no_pool:
            try:
                for future in self.futures:
                    chunk = future.result()
                    done += len(chunk)
                    yield from chunk
            except (OSError, BrokenProcessPool):
                pass
        if done < len(self.items):
            yield from read_listed(self.root, self.items[done:])

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None


@cache
def cache_key() -> str:
    """What cached answers depend on besides the registry: format, modelreg, libraries.

    modelreg's code and schemas count by (path, size, mtime), as Python's own
    bytecode cache trusts a source file; PyYAML's libyaml and jsonschema word
    findings, so their installed versions (dist-info folder names) count too,
    found without importing them.
    """
    from importlib.util import find_spec

    h = hashlib.sha256(f"modelreg check cache {FORMAT}\n".encode())
    package = Path(__file__).resolve().parents[1]
    for path in sorted([*package.rglob("*.py"), *schema_dir().rglob("*.json")]):
        try:
            st = path.stat()
            h.update(f"{path} {st.st_size} {st.st_mtime_ns}\n".encode())
        except OSError:  # pragma: no cover - removed while listed
            h.update(f"{path} missing\n".encode())
    for name, dist in (("yaml", "pyyaml-"), ("jsonschema", "jsonschema-")):
        spec = find_spec(name)
        where = Path(spec.origin).parent.parent if spec and spec.origin else None
        try:
            names = sorted(os.listdir(where)) if where else []
        except OSError:
            names = []
        found = [n for n in names if n.lower().startswith(dist) and n.endswith(".dist-info")]
        h.update(("\0".join(found) + "\n").encode())
    return h.hexdigest()


# The cache file: a header line `modelreg-check <key> <crc32 of the rest> <length of
# each column>`, then the columns: lists of strings joined by NUL (none holds one),
# or one string (kinds: a character per row; the memo: JSON).
_MAGIC = b"modelreg-check"
_COLUMNS = (
    "listing",  # listed files, sorted
    "listing kinds",  # the kind (v, e, s, or -) of each
    "folders",  # listed folders
    "folder sigs",
    "folder files",  # each folder's files (and links to folders), joined by /
    "folder folders",  # each folder's folders to enter, joined by /
    "paths",  # files read (rows)
    "sigs",  # each row's stat when read, or "" (racy: read again)
    "kinds",  # each row's kind (v, e, s, p, a)
    "blobs",  # each row's git blob id
    "facts",  # each row's facts (see encode)
    "memo",  # what the checker keeps across runs (JSON)
)
_BLOBS, _FACTS = 9, 10


def _write_columns(columns: Sequence[Sequence[str] | str]) -> bytes:
    parts = [
        (c if isinstance(c, str) else "\0".join(c)).encode("utf-8", "surrogateescape")
        for c in columns
    ]
    body = b"".join(parts)
    lengths = " ".join(str(len(p)) for p in parts).encode()
    return b"%s %s %d %s\n%s" % (_MAGIC, cache_key().encode(), zlib.crc32(body), lengths, body)


def _read_columns(raw: bytes) -> list[str] | None:
    """The columns of a cache file, still joined, or None when it is not one for this key."""
    end = raw.find(b"\n", 0, 1000)
    fields = raw[:end].split(b" ")
    body = memoryview(raw)[end + 1 :]  # not copied: the columns are decoded from it
    if (
        end < 0
        or len(fields) != 3 + len(_COLUMNS)
        or fields[0] != _MAGIC
        or fields[1] != cache_key().encode()
        or not all(f.isdigit() for f in fields[2:])
        or sum(map(int, fields[3:])) != len(body)
        or int(fields[2]) != zlib.crc32(body)
    ):
        return None
    columns: list[str] = []
    at = 0
    for length in map(int, fields[3:]):
        columns.append(str(body[at : at + length], "utf-8", "surrogateescape"))
        at += length
    return columns


def _split(column: str) -> list[str]:
    return column.split("\0") if column else []


class _Stat(NamedTuple):
    """The fields of a file's lstat that check uses, as a worker sends them back (an
    os.stat_result pickles at ten times the cost: ~0.3 s for 30,000 files)."""

    st_mode: int
    st_size: int
    st_mtime_ns: int
    st_ctime_ns: int
    st_ino: int


_StatLike = os.stat_result | _Stat


def _stat_sig(st: _StatLike) -> str:
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


def _dir_sig(st: os.stat_result) -> str:
    return f"{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}:{st.st_dev}"


_TOPS = (MODELS, EVALS, STAGES)
_KIND_OF = {"v": VERSION, "e": EVAL, "s": STAGE}


def kind_of(rel: str) -> str | None:
    """What check reads the listed file REL as, by its path (None: it is not read)."""
    if VERSION_FILE.match(rel):
        return VERSION
    if EVAL_FILE.match(rel):
        return EVAL
    if STAGE_FILE.match(rel):
        return STAGE
    return None


class Files:
    """The registry files of one run of check: their listing, blob ids and facts.

    With CACHE_FILE (in the git dir) what an earlier run learnt is reused, and
    save() writes back what this run learnt. `unchanged` tells whether every
    folder and every file read so far is as the cache recorded them, and
    `outside` counts the questions about files outside the listing (their
    answers are not in the cache).
    """

    def __init__(self, root: Path, cache_file: Path | None = None) -> None:
        self.root = root
        self._root = str(root)
        self._started = time.time_ns()  # stats from RACY_NS before this are recorded
        self.cache_file = cache_file
        self.stats: dict[str, _StatLike | None] = {}  # listed file -> its lstat
        self.listed: list[str] | None = None
        self._codes = ""  # the kind of each listed file: v, e, s, or - (not read)
        self._todo: list[tuple[str, str, str | None]] = []  # listed files to read, see prefetch
        self._todo_rows: list[int | None] = []  # the cached row of each, if any
        self.outside = 0
        self.memo: Any = None  # what the checker keeps across runs (JSON), see save()
        self._loaded_memo: Any = None
        self._versions: dict[str, list[str]] | None = None
        self._kinds_by_path: dict[str, str | None] | None = None
        self._watched: list[os.stat_result] = []  # stats the memo depends on (see sig_of)
        self._folders: set[str] | None = None  # the listed folders, when first needed
        self._all_recorded = False  # every folder is as recorded (see _as_recorded)
        self._prefetched: dict[tuple[str, str], Outcome] = {}  # files read by prefetch()
        self._read = 0  # files read in this run
        self._old: list[str] = [""] * len(_COLUMNS)  # the cache as read, columns joined
        self._old_split: dict[int, list[str]] = {}
        self._old_rows: dict[str, int] = {}  # path -> row
        # what save() writes: cached rows kept, new rows (their sig decided then)
        self._kept: list[int] = []
        self._added: list[tuple[str, str, str, str, _StatLike]] = []
        self._dirs_kept: list[int] = []  # cached folder rows
        self._dirs_added: list[tuple[str, str, str, os.stat_result]] = []
        self._old_dirs: dict[str, int] | None = None  # folder path -> row, when first needed
        if cache_file is not None:
            self._load(cache_file)

    # --- the cache file ----------------------------------------------------------

    def _load(self, path: Path) -> None:
        try:
            raw = read_regular(path, MAX_CACHE_BYTES)
            columns = _read_columns(raw) if len(raw) <= MAX_CACHE_BYTES else None
        except OSError:  # none yet, unreadable, or not a regular file
            return
        if columns is None:  # another key, or not one of ours (a corrupted file)
            return
        try:
            memo = json.loads(columns[11]) if columns[11] else None
        except ValueError:  # pragma: no cover - the CRC held
            return
        self._old = columns
        lengths = [
            {len(self._column(6)), len(self._column(7)), len(columns[8])},
            {len(self._column(0)), len(columns[1])},
            {len(self._column(i)) for i in range(2, 6)},
        ]
        if any(len(same) != 1 for same in lengths):  # not a cache this code wrote
            self._old, self._old_split = [""] * len(_COLUMNS), {}
            return
        rows = self._column(6)
        if len(set(rows)) != len(rows):  # one row a path: not a cache this code wrote
            self._old, self._old_split = [""] * len(_COLUMNS), {}
            return
        self._old_rows = dict(zip(rows, range(len(rows)), strict=True))
        self.memo = self._loaded_memo = memo

    def _column(self, index: int) -> list[str]:
        """Cached column INDEX, split on first use."""
        column = self._old_split.get(index)
        if column is None:
            column = self._old_split[index] = _split(self._old[index])
        return column

    def _cell(self, index: int, row: int) -> str:
        """Row ROW of cached column INDEX; an early row without splitting the column."""
        if index not in self._old_split and row < 8:
            return self._old[index].split("\0", row + 1)[row]
        column = self._column(index)
        if len(column) != len(self._old_rows):
            raise ValueError("check cache: its columns differ in length")  # pragma: no cover
        return column[row]

    @property
    def unchanged(self) -> bool:
        """Every folder listed and every file read so far is as the cache has them."""
        return (
            self._read == 0
            and (
                self._all_recorded
                or (not self._dirs_added and len(self._dirs_kept) == len(self._column(2)))
            )
            and len(self._kept) == len(self._old_rows)
        )

    def save(self) -> None:
        """Write what this run learnt, if anything changed (a read-only git dir is fine)."""
        if self.cache_file is None or self.listed is None:
            return
        if self.unchanged and self.memo == self._loaded_memo:
            return
        tmp = self.cache_file.with_name(f"{self.cache_file.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
                # A stat that recent could hide a change made right after the read,
                # in the same clock tick (racy git). The file system's clock counts
                # too (this file's mtime), in case it lags the system's.
                written = os.fstat(f.fileno()).st_mtime_ns
                trust_before = min(self._started, written) - RACY_NS

                def sig(st: Any, make: Any) -> str:
                    fresh = max(st.st_mtime_ns, st.st_ctime_ns) >= trust_before
                    return "" if fresh else str(make(st))

                old = [self._column(6), self._column(7), self._old[8], *map(self._column, (9, 10))]
                rows = [[c[i] for i in self._kept] for c in old]
                seen = set(rows[0])
                added = []
                for item in self._added:
                    if item[0] in seen:
                        # one file read as two kinds (a signer file under stages/): one
                        # row a path; the other kind is read again each run
                        continue
                    seen.add(item[0])
                    added.append(item)
                if added:  # column by column: a cold run adds 30,000 rows
                    rels, blobs, codes, texts, stats = zip(*added, strict=True)
                    rows[0] += rels
                    rows[1] += [
                        "" if max(st.st_mtime_ns, st.st_ctime_ns) >= trust_before else _stat_sig(st)
                        for st in stats
                    ]
                    rows[2] += codes
                    rows[3] += blobs
                    rows[4] += texts
                dirs = [
                    list(c) if self._all_recorded else [c[i] for i in self._dirs_kept]
                    for c in map(self._column, range(2, 6))
                ]
                if self._dirs_added:
                    rels, listed, entered, stats = zip(*self._dirs_added, strict=True)
                    dirs[0] += rels
                    dirs[1] += [sig(st, _dir_sig) for st in stats]
                    dirs[2] += listed
                    dirs[3] += entered
                racy = any(sig(st, _stat_sig) == "" for st in self._watched)
                memo = (
                    ""
                    if self.memo is None or racy
                    else json.dumps(self.memo, separators=(",", ":"))
                )
                f.write(
                    _write_columns(
                        [
                            self.listed,
                            self._codes,
                            *dirs,
                            rows[0],
                            rows[1],
                            "".join(rows[2]),
                            rows[3],
                            rows[4],
                            memo,
                        ]
                    )
                )
            os.replace(tmp, self.cache_file)
        except OSError:
            tmp.unlink(missing_ok=True)

    def sig_of(self, path: Path) -> str:
        """The stat of PATH (git's index) for the memo; save() keeps no memo if it is racy."""
        try:
            st = os.stat(path)
        except OSError:
            return "-"
        self._watched.append(st)
        return _stat_sig(st)

    def _record(
        self, rel: str, kind: str, st: _StatLike | None, raw: _Raw, known: int | None
    ) -> Outcome:
        """The Outcome of a read (KNOWN: the cached row of its blob id, if any), kept."""
        blob, text, unreadable = raw
        self._read += 1
        if text is None and blob is not None:  # the bytes of the cached row KNOWN
            assert known is not None
            text = self._cell(_FACTS, known)
        facts = None if text is None else Facts.decode(kind, text)
        if blob is None:
            return (None, facts, unreadable)
        assert text is not None
        if self.cache_file is not None and st is not None and stat.S_ISREG(st.st_mode):
            # the stat was taken before the read: if the file changed in between, the
            # next run sees another stat and reads it again
            self._added.append((rel, blob, _CODE[kind], text, st))
        return (blob, facts, None)

    def _row(self, rel: str, kind: str) -> int | None:
        row = self._old_rows.get(rel)
        return row if row is not None and self._old[8][row] == _CODE[kind] else None

    # --- listing -----------------------------------------------------------------

    def listing(self, before_fork: Callable[[], object] | None = None) -> list[str]:
        """Every file under models/, evals/ and stages/, as Registry.files() lists them.

        Dotfiles and dot-folders are left out; a symbolic link to a folder is
        listed (so check refuses it), not followed. Each file's lstat and kind
        are kept. Many files without cached facts are read (on a pool, forked
        after BEFORE_FORK) while the folders are listed.
        """
        # paths relative to an open root folder: the kernel walks fewer components
        at = os.open(self._root, os.O_RDONLY) if os.stat in os.supports_dir_fd else None
        reader = _Reader(self._root, before_fork)
        try:
            out = self._as_recorded(at)
            if out is None:
                out = []
                codes: dict[str, str] = {}
                for top in _TOPS:
                    self._visit(top, out, at, codes, reader)
                out.sort()
                self._codes = "".join([codes[rel] for rel in out])
            else:
                self._codes = self._old[1]
            read = reader.items if reader.started else []
            self._lstat_all(out, at, {rel for rel, _ in read})
            if read:
                stats, prefetched, record = self.stats, self._prefetched, self._record
                for (rel, kind), (fields, raw) in zip(read, reader.results(), strict=True):
                    st = stats[rel] = None if fields is None else _Stat(*fields)
                    prefetched[(rel, kind)] = record(rel, kind, st, raw, None)
        finally:
            reader.close()
            if at is not None:
                os.close(at)
        self.listed = out
        return out

    def _lstat_all(self, listed: list[str], at: int | None, read: set[str]) -> None:
        """Each listed file's lstat; those check reads are matched with their cached rows
        (kept when the stat is the recorded one, else left for prefetch to read). Those in
        READ, the workers take and read: their place is kept."""
        lstat, stats, full = os.lstat, self.stats, self._full
        old_rows, sigs, codes = self._old_rows, self._column(7), self._old[8]
        kept, todo, todo_rows = self._kept, self._todo, self._todo_rows
        st: os.stat_result | None
        for rel, code in zip(listed, self._codes, strict=True):
            if rel in read:
                stats[rel] = None  # filled in from the worker's answer
                continue
            try:
                st = stats[rel] = lstat(rel, dir_fd=at) if at is not None else lstat(full(rel))
            except OSError:
                st = stats[rel] = None
            if code == "-":
                continue
            row = old_rows.get(rel)
            if row is not None and codes[row] == code:
                if (
                    st is not None
                    and sigs[row] == f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"
                ):
                    kept.append(row)  # outcome() finds it there
                    continue
            else:
                row = None
            todo.append((rel, _KIND_OF[code], None if row is None else self._cell(_BLOBS, row)))
            todo_rows.append(row)

    def _as_recorded(self, at: int | None) -> list[str] | None:
        """The recorded listing, if every folder is as recorded (else None).

        A folder's stat changes whenever an entry is added to it, removed or
        renamed, so equal stats mean equal folders all the way down.
        """
        paths, sigs = self._column(2), self._column(3)
        if not paths:
            return None
        full = self._full
        for top in _TOPS:
            if top not in self._folder_rows():
                try:  # a top folder that was not there must still not be one
                    if stat.S_ISDIR(
                        (os.stat(top, dir_fd=at) if at is not None else os.stat(full(top))).st_mode
                    ):
                        return None
                except OSError:
                    pass
        for rel, recorded in zip(paths, sigs, strict=True):
            try:
                st = os.stat(rel, dir_fd=at) if at is not None else os.stat(full(rel))
            except OSError:
                return None
            if f"{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}:{st.st_dev}" != recorded:
                return None
        self._all_recorded = True
        return self._column(0)

    def kinds_by_path(self) -> dict[str, str | None]:
        if self._kinds_by_path is None:
            kinds = [_KIND_OF.get(code) for code in self._codes]
            self._kinds_by_path = dict(zip(self.listed or (), kinds, strict=True))
        return self._kinds_by_path

    def _folder_rows(self) -> dict[str, int]:
        if self._old_dirs is None:
            paths = self._column(2)
            self._old_dirs = dict(zip(paths, range(len(paths)), strict=True))
        return self._old_dirs

    def _full(self, rel: str) -> str:
        return f"{self._root}/{rel}"

    def _visit(
        self, rel: str, out: list[str], at: int | None, codes: dict[str, str], reader: _Reader
    ) -> None:
        """List folder REL (as os.walk does: an error skips it) and the folders below it,
        each file's kind code into CODES; READER gets those no cached row is for."""
        try:
            # a top folder may be a symbolic link: os.walk follows it
            st = os.stat(rel, dir_fd=at) if at is not None else os.stat(self._full(rel))
        except OSError:
            return
        if not stat.S_ISDIR(st.st_mode):
            return
        row = self._folder_rows().get(rel)
        if row is not None and self._column(3)[row] == _dir_sig(st):
            files, dirs = self._column(4)[row], self._column(5)[row]
            self._dirs_kept.append(row)
        else:
            found = self._scan(self._full(rel))
            if found is None:
                return
            files, dirs = found
            self._dirs_added.append((rel, files, dirs, st))
        if files:
            old_rows, old_codes = self._old_rows, self._old[8]
            for name in files.split("/"):
                path = f"{rel}/{name}"
                out.append(path)
                code = codes[path] = _CODE.get(kind_of(path) or "", "-")
                if code != "-":
                    row = old_rows.get(path)
                    if row is None or old_codes[row] != code:
                        reader.add(path, _KIND_OF[code])
        if dirs:
            for name in dirs.split("/"):
                self._visit(f"{rel}/{name}", out, at, codes, reader)

    @staticmethod
    def _scan(full: str) -> tuple[str, str] | None:
        """('/'-joined files, '/'-joined folders to enter) of folder FULL; None if unreadable."""
        files: list[str] = []
        dirs: list[str] = []
        try:
            with os.scandir(full) as entries:
                for entry in entries:
                    name = entry.name
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    if not is_dir:
                        if not name.startswith("."):
                            files.append(name)
                        continue
                    if name.startswith("."):
                        continue
                    try:
                        link = entry.is_symlink()
                    except OSError:
                        link = False
                    (files if link else dirs).append(name)
        except OSError:
            return None
        return "/".join(files), "/".join(dirs)

    def _absent(self, rel: str) -> bool:
        """REL is not listed but would be if it were there: no dot name, in a listed folder."""
        if self.listed is None or rel in self.stats:
            return False
        if self._folders is None:
            self._folders = set(self._column(2)) if self._all_recorded else set()
            self._folders.update(self._column(2)[row] for row in self._dirs_kept)
            self._folders.update(rel for rel, *_ in self._dirs_added)
        folder, _, name = rel.rpartition("/")
        return folder in self._folders and not name.startswith(".") and bool(name)

    def is_symlink(self, rel: str) -> bool:
        st = self.stats.get(rel)
        if st is None:
            if self._absent(rel):
                return False
            self.outside += 1
            return (self.root / rel).is_symlink()
        return stat.S_ISLNK(st.st_mode)

    def is_file(self, rel: str) -> bool:
        """As Path.is_file (symbolic links followed)."""
        st = self.stats.get(rel)
        if st is None or stat.S_ISLNK(st.st_mode):
            if st is None and self._absent(rel):
                return False
            self.outside += 1
            return (self.root / rel).is_file()
        return stat.S_ISREG(st.st_mode)

    def version_stems(self, model: str) -> list[str] | None:
        """Stems of the regular `*.yaml` files in models/MODEL/, or None when not listed."""
        if self.listed is None:
            return None
        if self._versions is None:
            self._versions = {}
            for rel, st in self.stats.items():
                parts = rel.split("/")
                if (
                    len(parts) == 3
                    and parts[0] == MODELS
                    and parts[2].endswith(".yaml")
                    and st is not None
                    and stat.S_ISREG(st.st_mode)
                ):
                    self._versions.setdefault(parts[1], []).append(parts[2][:-5])
        return self._versions.get(model, [])

    # --- reading -----------------------------------------------------------------

    def prefetch(self) -> None:
        """Read every listed file check reads whose stat is not the cached one (on a pool)."""
        todo, rows = self._todo, self._todo_rows
        if todo:
            results = _examine_all(self._root, todo)
            for (rel, kind, _), row, raw in zip(todo, rows, results, strict=True):
                self._prefetched[(rel, kind)] = self._record(rel, kind, self.stats[rel], raw, row)
            self._todo, self._todo_rows = [], []

    def outcome(self, rel: str, kind: str) -> Outcome:
        """(blob id, facts, `cannot read: ...`) of REL read as KIND."""
        found = self._prefetched.pop((rel, kind), None)
        if found is not None:
            return found
        listed = rel in self.stats
        if self.listed is not None and not (listed and kind == self.kinds_by_path().get(rel)):
            self.outside += 1
        st: _StatLike | None = None
        row = None
        if self.cache_file is not None:
            if listed:
                st = self.stats[rel]  # taken before any read of this run
            else:
                try:
                    st = os.lstat(self._full(rel))
                except OSError:
                    st = None
            row = self._row(rel, kind)
            if row is not None and st is not None and self._column(7)[row] == _stat_sig(st):
                if not (listed and kind == self.kinds_by_path().get(rel)):
                    self._kept.append(row)  # prefetch() kept the listed ones
                facts = Facts.decode(kind, self._cell(_FACTS, row))
                return (self._cell(_BLOBS, row), facts, None)
        known = None if row is None else self._cell(_BLOBS, row)
        raw = examine(self._root, [(rel, kind, known)])[0]
        return self._record(rel, kind, st, raw, row)


MAX_CACHE_BYTES = 256 << 20  # far above any registry's cache; a bigger file is not ours
