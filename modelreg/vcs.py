"""Adapter: the only module that runs git. One process per question, parsed on NUL.

Git failures become one sentence of advice (GitError, exit 3). Every call gets
its own environment (`env=`); os.environ is never changed, and the variables
that would point git at another repository are dropped, as pre-commit's
`no_git_env()` does.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Generic, TypeVar

from modelreg.errors import GitError

# Variables that make git act on another repository than the one we name.
REPO_ENV_VARS = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_NAMESPACE",
        "GIT_COMMON_DIR",
        "GIT_PREFIX",
    }
)


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a git call: the user's, less repo-pointing variables, plus EXTRA."""
    env = {k: v for k, v in os.environ.items() if k not in REPO_ENV_VARS}
    env.setdefault("LC_ALL", "C")  # messages we parse are in English
    # History as committed: `refs/replace/` and `info/grafts` would let anyone with write
    # access to the repository show modelreg another commit under a signed one's name.
    env["GIT_NO_REPLACE_OBJECTS"] = "1"
    env["GIT_GRAFT_FILE"] = os.devnull
    # ... whose mere presence makes git print a deprecation hint before any real error
    count = int(env.get("GIT_CONFIG_COUNT", "0") or "0")
    env[f"GIT_CONFIG_KEY_{count}"] = "advice.graftFileDeprecated"
    env[f"GIT_CONFIG_VALUE_{count}"] = "false"
    env["GIT_CONFIG_COUNT"] = str(count + 1)
    if extra:
        env.update(extra)
    return env


def git_blob_id(raw: bytes) -> str:
    """The id git gives these bytes as a blob (SHA-1 object format), without filters."""
    return hashlib.sha1(b"blob %d\0" % len(raw) + raw, usedforsecurity=False).hexdigest()


def _command(args: Sequence[str]) -> str:
    """The git command ARGS run, past global options such as `-C DIR` and `-c K=V`."""
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in ("-C", "-c") else 1
    return args[i] if i < len(args) else "git"


def _failed(args: Sequence[str], stderr: bytes) -> GitError:
    """The error of the git command ARGS that failed saying STDERR."""
    return GitError(f"git {_command(args)}: {_advice(stderr.decode('utf-8', 'replace'))}")


def _advice(stderr: str) -> str:
    text = stderr.strip()
    if "detected dubious ownership" in text:
        return (
            "git refuses this repository because another user owns it; if you trust it, run "
            "`git config --global --add safe.directory <path>`"
        )
    if "not a git repository" in text:
        return "not inside a git repository (run `git init`, or `modelreg init`)"
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("hint:")]
    first = lines[0] if lines else "git failed"
    return first.removeprefix("fatal: ").removeprefix("error: ")


class Git:
    """Runs git in one directory.

    With BASE_ENV, that environment is used as it is instead of the user's
    (verification runs git in an isolated environment, see signing.py).
    """

    def __init__(self, cwd: Path, base_env: dict[str, str] | None = None) -> None:
        self.cwd = Path(cwd)
        self.base_env = base_env

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        if self.base_env is None:
            return git_env(extra)
        return {**self.base_env, **(extra or {})}

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        try:
            proc = subprocess.run(
                ["git", *args],
                cwd=self.cwd,
                input=input,
                capture_output=True,
                env=self.env(env),
            )
        except FileNotFoundError as e:
            raise GitError("git is not installed or not on PATH") from e
        if check and proc.returncode != 0:
            raise _failed(args, proc.stderr)
        return proc

    def out(self, *args: str, env: dict[str, str] | None = None, input: bytes | None = None) -> str:
        """Stdout of a git command that must succeed, stripped."""
        proc = self.run(*args, env=env, input=input)
        return proc.stdout.decode("utf-8", "surrogateescape").strip()

    def path_log(self, rev: str, paths: str | Sequence[str], fmt: str, *options: str) -> list[str]:
        """One FMT line per commit of REV's history that changed PATHS (relative to the
        top of the work tree), newest first unless OPTIONS say otherwise.

        git runs from the top folder with the path taken literally: the `:(top)` magic
        would turn off the changed-path Bloom filters of the commit-graph (0.49 s
        instead of 0.07 s on a 31,600-commit history).
        """
        top = self.toplevel or self.cwd
        literal = [f":(literal){p}" for p in ([paths] if isinstance(paths, str) else paths)]
        args = ["-C", str(top), "log", *options, f"--format={fmt}", rev, "--", *literal]
        out = self.run(*args).stdout.decode("utf-8", "surrogateescape")
        return [line for line in out.split("\n") if line]

    def rev(self, rev: str) -> str | None:
        """The object id REV names (a tag's own id for a tag: not peeled), or None."""
        proc = self.run("rev-parse", "--verify", "-q", "--end-of-options", rev, check=False)
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    def for_each_ref(
        self, fields: Sequence[str], *patterns: str, merged: str | None = None
    ) -> list[list[str]]:
        """One row of FIELDS (for-each-ref atoms, without %(...)) per ref under PATTERNS;
        with MERGED, only refs whose commit is reachable from that revision."""
        args = _for_each_ref_args(fields, patterns, merged)
        return _ref_rows(self.run(*args).stdout, len(fields))

    def for_each_ref_started(
        self, fields: Sequence[str], *patterns: str
    ) -> Started[list[list[str]]]:
        """for_each_ref, started now and answered by `result()`."""
        n = len(fields)
        return Started(self, _for_each_ref_args(fields, patterns), lambda out: _ref_rows(out, n))

    def git_dir(self) -> Path:
        return Path(self.out("rev-parse", "--absolute-git-dir"))

    def is_shallow(self) -> bool:
        return self.out("rev-parse", "--is-shallow-repository") == "true"

    def objects(self) -> ObjectReader:
        return ObjectReader(self)

    @cached_property
    def toplevel(self) -> Path | None:
        """The work tree's top, or None when CWD is not in a git work tree.

        With no `.git` in CWD or above it, git is not asked (nor needed: a
        registry in no repository is read without it).
        """
        here = self.cwd.resolve()
        if not any((folder / ".git").exists() for folder in (here, *here.parents)):
            return None
        proc = self.run("rev-parse", "--show-toplevel", check=False)
        if proc.returncode != 0:
            if b"dubious ownership" in proc.stderr:
                raise GitError(_advice(proc.stderr.decode("utf-8", "replace")))
            return None
        return Path(proc.stdout.decode().strip())

    def has_head(self) -> bool:
        return self.run("rev-parse", "--verify", "-q", "HEAD^{commit}", check=False).returncode == 0

    def tree_blobs(self, rev: str, paths: Sequence[str]) -> dict[str, str]:
        """{path: blob id} of every file under PATHS at REV (paths relative to the top)."""
        out = self.run("ls-tree", "-r", "-z", "--full-tree", rev, "--", *paths).stdout
        blobs: dict[str, str] = {}
        for entry in out.split(b"\0"):
            if not entry:
                continue
            meta, _, path = entry.partition(b"\t")
            _mode, kind, oid = meta.split(b" ")
            if kind == b"blob":
                blobs[path.decode("utf-8", "surrogateescape")] = oid.decode()
        return blobs

    def staged_changes(self, rev: str, paths: Sequence[str]) -> Iterator[tuple[str, str]]:
        """(status letter, path) for each path under PATHS where the index differs from REV."""
        args = ["diff", "--cached", "--no-ext-diff", "--no-renames", "--name-status", "-z"]
        top = [f":(top,literal){p}" for p in paths]  # PATHS are relative to the top, not to cwd
        out = self.run(*args, rev, "--", *top).stdout.split(b"\0")
        for status, path in zip(
            out[0::2], out[1::2], strict=False
        ):  # a trailing NUL leaves one extra
            if status:
                yield status.decode(), path.decode("utf-8", "surrogateescape")


def _for_each_ref_args(
    fields: Sequence[str], patterns: Sequence[str], merged: str | None = None
) -> list[str]:
    fmt = "".join(f"%({f})%00" for f in fields)
    reach = [f"--merged={merged}"] if merged else []
    return ["for-each-ref", f"--format={fmt}", *reach, "--end-of-options", *patterns]


def _ref_rows(out: bytes, n: int) -> list[list[str]]:
    tokens = out.decode("utf-8", "surrogateescape").split("\0")
    rows = []
    for i in range(0, len(tokens) - 1, n):  # each row ends with "\0\n": one spare token
        row = tokens[i : i + n]
        row[0] = row[0].removeprefix("\n")
        rows.append(row)
    return rows


T = TypeVar("T")


class Started(Generic[T]):
    """A git command started now, so that it runs while Python works; `result()` waits
    for it and parses its output, failing as Git.run does.

    Its output goes to unnamed temporary files, not pipes: git never stalls on a full
    pipe, and no thread has to drain one (a thread would fight the busy main thread
    for the GIL at every chunk read).
    """

    def __init__(self, git: Git, args: list[str], parse: Callable[[bytes], T]) -> None:
        self._args = args
        self._parse = parse
        # closed by result() or close(): they outlive this call
        self._out = tempfile.TemporaryFile()  # noqa: SIM115
        self._err = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self._proc = subprocess.Popen(
                ["git", *args],
                cwd=git.cwd,
                stdin=subprocess.DEVNULL,
                stdout=self._out,
                stderr=self._err,
                env=git.env(),
            )
        except OSError as e:
            self._out.close()
            self._err.close()
            if isinstance(e, FileNotFoundError):
                raise GitError("git is not installed or not on PATH") from e
            raise

    def result(self) -> T:
        """The parsed output (once): GitError with advice when git failed."""
        code = self._proc.wait()
        self._out.seek(0)
        self._err.seek(0)
        out, err = self._out.read(), self._err.read()
        self.close()
        if code != 0:
            raise _failed(self._args, err)
        return self._parse(out)

    def close(self) -> None:
        """Wait for git and drop its output (for an answer no longer wanted)."""
        self._proc.wait()
        self._out.close()
        self._err.close()


class Memo(dict[tuple[str, str], object]):
    """What callers derived from objects, by (object id, kind): objects never change, so
    an entry is never stale. Bounded: past MAX entries the oldest go first, so that a
    walk of a long history (`verify --all`) keeps a steady footprint."""

    MAX = 4096

    def __setitem__(self, key: tuple[str, str], value: object) -> None:
        if len(self) >= self.MAX:
            del self[next(iter(self))]
        super().__setitem__(key, value)


class ObjectReader:
    """One `git cat-file --batch` process answering many `rev:path` questions."""

    def __init__(self, git: Git) -> None:
        self.memo = Memo()
        self._proc = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=git.cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=git.env(),
        )

    def read(self, name: str) -> tuple[str, str, bytes] | None:
        """(object id, type, content) of NAME (`<rev>:<path>` or an id), or None if missing."""
        if "\n" in name:
            return None
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
        self._proc.stdin.flush()
        header = self._proc.stdout.readline()
        if not header:
            raise GitError("git cat-file stopped answering")
        header = header.rstrip(b"\n")
        if header.endswith((b" missing", b" ambiguous")):  # the name may hold spaces
            return None
        parts = header.rsplit(b" ", 2)  # `<oid> <type> <size>`
        if len(parts) != 3 or not parts[2].isdigit():
            raise GitError(f"git cat-file: unexpected answer {header[:80]!r}")
        size = int(parts[2])
        data = self._proc.stdout.read(size)
        self._proc.stdout.read(1)  # the newline after the content
        return parts[0].decode(), parts[1].decode(), data

    def blob(self, name: str) -> bytes | None:
        found = self.read(name)
        return found[2] if found and found[1] == "blob" else None

    def files(self, name: str) -> dict[str, str]:
        """{name: blob id} of the files directly in the tree NAME (`<rev>:<folder>`), as
        `ls-tree` calls blobs (symlinks too; not folders, not submodules): one read
        through this process instead of one `git ls-tree` process."""
        found = self.read(name)
        if found is None or found[1] != "tree":
            return {}
        data, width = found[2], len(found[0]) // 2
        out: dict[str, str] = {}
        i = 0
        while i < len(data):
            space = data.index(b" ", i)
            nul = data.index(b"\0", space)
            mode = data[i:space]
            if mode.startswith(b"10") or mode == b"120000":
                out[data[space + 1 : nul].decode("utf-8", "surrogateescape")] = data[
                    nul + 1 : nul + 1 + width
                ].hex()
            i = nul + 1 + width
        return out

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait()

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
