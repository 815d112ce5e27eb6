"""Service: make one action all or nothing, locally and on the remote.

The order is chosen so that every interruption leaves a state a rerun can
finish or that is as before:

1. build the commit from trees written directly, never through the user's index (a dirty
   or locked index cannot leak in), and
   write the new state file in full to a temp file beside it (a write error stops here);
2. create the signed tag on that commit (a failure leaves only an unreachable object);
3. move the branch with compare-and-swap (`update-ref NEW OLD`);
4. rename the temp file over the state file and stage it in the user's index.

A tag left by an interrupted step 3 is found by the rerun and finished. A
modelreg lock file in the git dir serialises actions in one clone; git's own
lock files are never touched.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from modelreg.core.actions import SIGNATURE_MARKERS
from modelreg.errors import EnvironmentFailure, GitError
from modelreg.vcs import Git
from modelreg.yamlio import new_file_mode

LOCK_WAIT_SECONDS = 30.0


@contextmanager
def action_lock(git_dir: Path, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold `<git dir>/modelreg-action.lock` (holder's pid inside) for one action.

    A lock whose process is gone is taken over; a live one is waited for, then
    reported (exit 3).
    """
    path = git_dir / "modelreg-action.lock"
    deadline = time.monotonic() + wait
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            if _stale(path):
                path.unlink(missing_ok=True)
                continue
            if time.monotonic() > deadline:
                raise EnvironmentFailure(
                    f"another modelreg action holds {path}; wait for it, or remove the file if "
                    "no modelreg process is running",
                    rule="lock",
                ) from None
            time.sleep(0.05)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()}\n")
        break
    try:
        yield
    finally:
        try:
            os.unlink(path)
        except FileNotFoundError:  # pragma: no cover - removed by hand
            pass


def _stale(path: Path) -> bool:
    try:
        pid = int(path.read_text().strip() or "0")
    except (OSError, ValueError):
        return False  # being written right now
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


class Transaction:
    """The git writes of one action in one clone."""

    def __init__(self, git: Git, branch: str, epoch: int) -> None:
        self.git = git
        self.branch = branch  # refs/heads/<name>
        # The commit and the tag carry the same instant: the action's time.
        stamp = f"@{epoch} +0000"
        self.env = {"GIT_COMMITTER_DATE": stamp, "GIT_AUTHOR_DATE": stamp}

    def build_commit(self, parent: str, path: str, content: bytes, message: str) -> str:
        """A commit on PARENT whose tree differs only in PATH.

        The trees are written directly (`git mktree` along PATH), so the user's
        index is neither read nor written (a dirty or locked index cannot leak in),
        and the cost follows PATH's depth, not the size of the repository.
        """
        blob = self.git.out("hash-object", "-w", "--stdin", input=content)
        tree = self._tree_with(f"{parent}^{{tree}}", path.split("/"), blob)
        return self.git.out(
            "commit-tree", tree, "-p", parent, "-F", "-", env=self.env, input=message.encode()
        )

    def _tree_with(self, tree: str | None, parts: list[str], blob: str) -> str:
        """TREE (None: an empty one) with PARTS (a path) set to the file BLOB; the new tree."""
        entries: dict[str, bytes] = {}
        if tree is not None:
            for entry in self.git.run("ls-tree", "-z", tree).stdout.split(b"\0"):
                if entry:
                    entries[entry.split(b"\t", 1)[1].decode("utf-8", "surrogateescape")] = entry
        name, rest = parts[0], parts[1:]
        if rest:
            old = entries.get(name)
            meta = old.split(b"\t", 1)[0].split() if old else []
            sub = meta[2].decode() if len(meta) == 3 and meta[1] == b"tree" else None
            entries[name] = b"040000 tree %s\t%s" % (
                self._tree_with(sub, rest, blob).encode(),
                name.encode("utf-8", "surrogateescape"),
            )
        else:
            entries[name] = b"100644 blob %s\t%s" % (
                blob.encode(),
                name.encode("utf-8", "surrogateescape"),
            )
        return self.git.out("mktree", "-z", input=b"".join(e + b"\0" for e in entries.values()))

    def create_tag(self, name: str, commit: str, message: str, sign: bool) -> str:
        """Create the annotated (signed when SIGN) tag NAME on COMMIT; its object id."""
        proc = self.git.run(
            "tag",
            "-s" if sign else "-a",
            "--cleanup=verbatim",  # the message is data: no comment stripping
            "-F",
            "-",
            name,
            commit,
            input=message.encode(),
            env=self.env,
            check=False,
        )
        stderr = proc.stderr.decode("utf-8", "replace")
        first = next((ln for ln in stderr.splitlines() if ln.strip()), "git tag failed")
        first = first.removeprefix("error: ").removeprefix("fatal: ")
        if proc.returncode != 0:
            if "already exists" in stderr:
                raise EnvironmentFailure(
                    f"tag {name} already exists: another action took this sequence number; "
                    "run the action again",
                    rule="tag-exists",
                )
            if sign:
                raise _cannot_sign(first)
            raise GitError(f"git tag: {first}")
        oid = self.git.out("rev-parse", "--verify", f"refs/tags/{name}")
        if sign and not _has_signature(self.git.run("cat-file", "tag", oid).stdout):
            # git 2.39 `tag -s` with an ssh key it cannot load prints an error, makes an
            # UNSIGNED tag and exits 0: take it back and say why.
            self.delete_tag(name, oid)
            raise _cannot_sign(first if stderr.strip() else "git made no signature")
        return oid

    def delete_tag(self, name: str, oid: str) -> None:
        self.git.run("update-ref", "-d", f"refs/tags/{name}", oid, check=False)

    def move_branch(self, new: str, old: str, reason: str) -> bool:
        """Compare-and-swap the branch from OLD to NEW; False when it had moved."""
        proc = self.git.run("update-ref", "-m", reason, self.branch, new, old, check=False)
        return proc.returncode == 0

    def sync_worktree(
        self, root: Path, rel_to_root: str, path_in_repo: str, content: bytes | None
    ) -> str | None:
        """Write the state file and stage it; a warning when the user's index is locked."""
        return self.install(PreparedFile(root / rel_to_root, content), path_in_repo)

    def install(self, prepared: PreparedFile, path_in_repo: str) -> str | None:
        """Put PREPARED in place (one rename) and stage it; a warning when the index is locked."""
        prepared.place()
        args = ["update-index", "--add", "--remove", "--", path_in_repo]
        proc = self.git.run(*args, check=False)
        if proc.returncode != 0:
            return (
                f"the git index is locked by another git process, so {path_in_repo} is not staged; "
                f"once it is free run `git reset -q -- {path_in_repo}`"
            )
        return None


class PreparedFile:
    """CONTENT written in full beside TARGET (fsynced), put in place later by one rename.

    Written before the branch moves, so that a file that cannot be written (full disk,
    read-only folder) stops the action while nothing has changed; after the move only the
    rename is left. CONTENT None removes TARGET instead.
    """

    def __init__(self, target: Path, content: bytes | None) -> None:
        self.target = target
        self.temp: Path | None = None
        self.made_folder = False
        if content is None:
            return
        try:
            self.made_folder = not target.parent.exists()
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        except OSError as e:
            raise _cannot_write(target, e) from None
        self.temp = Path(name)
        try:
            with os.fdopen(fd, "wb") as f:
                # mkstemp makes the file 0600; give it the mode a plain open() would.
                os.fchmod(f.fileno(), new_file_mode(target))
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            self.discard()
            raise _cannot_write(target, e) from None

    def place(self) -> None:
        if self.temp is None:
            self.target.unlink(missing_ok=True)
        else:
            os.replace(self.temp, self.target)
            self.temp = None

    def discard(self) -> None:
        if self.temp is not None:
            self.temp.unlink(missing_ok=True)
            self.temp = None
            if self.made_folder:
                try:
                    self.target.parent.rmdir()  # only when still empty
                except OSError:
                    pass


def _cannot_write(target: Path, e: OSError) -> EnvironmentFailure:
    return EnvironmentFailure(
        f"cannot write {target} ({e.strerror or e}); nothing was changed", rule="write"
    )


def _cannot_sign(why: str) -> EnvironmentFailure:
    return EnvironmentFailure(
        f"cannot sign the action tag ({why}); policy requires signed actions: "
        "set up git signing, e.g. `git config --global gpg.format ssh && "
        "git config --global user.signingKey ~/.ssh/id_ed25519.pub`, and add your "
        "public key to the registry's allowed-signers file",
        rule="signing",
    )


def _has_signature(tag_object: bytes) -> bool:
    return any(marker.encode() in tag_object for marker in SIGNATURE_MARKERS.values())
