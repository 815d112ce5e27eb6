"""Helpers for the action and push tests: repository snapshots, trailers, policy edits, remotes."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from conftest import Key, commit_all, git, use_key

PREFIX = "modelreg"


@dataclass(frozen=True)
class RepoState:
    """Everything an action may touch in a clone, to compare before and after."""

    head: str
    refs: str  # every ref with its object (branches, tags, remotes)
    index: str  # the user's index: mode, blob and stage of every path
    status: str
    files: dict[str, bytes]  # the bytes of every file in the work tree but .git

    def tags(self) -> list[str]:
        return [
            line.split()[-1].removeprefix("refs/tags/")
            for line in self.refs.splitlines()
            if " refs/tags/" in line
        ]


def repo_state(repo: Path) -> RepoState:
    top = Path(git(repo, "rev-parse", "--show-toplevel").strip())
    files = {
        p.relative_to(top).as_posix(): p.read_bytes()
        for p in sorted(top.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(top).parts
    }
    return RepoState(
        head=git(repo, "rev-parse", "HEAD").strip(),
        refs=git(repo, "for-each-ref", "--format=%(objectname) %(refname)"),
        index=git(repo, "ls-files", "-s"),
        status=git(repo, "status", "--porcelain", "--untracked-files=all"),
        files=files,
    )


def promote(model: str, version: str, stage: str, *extra: str) -> list[str]:
    return ["promote", model, version, "--to", stage, "--reason", f"ship {version}", *extra]


def tag_names(repo: Path, model: str | None = None) -> list[str]:
    pattern = f"refs/tags/{PREFIX}/{model}/" if model else f"refs/tags/{PREFIX}/"
    return git(repo, "for-each-ref", "--format=%(refname:strip=2)", pattern).split()


def commits_since(repo: Path, base: str, rev: str = "HEAD") -> list[str]:
    return git(repo, "rev-list", "--reverse", f"{base}..{rev}").split()


def changed_files(repo: Path, commit: str) -> list[str]:
    return git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", commit).split()


_SIG = re.compile(r"-----BEGIN (SSH|PGP) SIGNATURE-----.*", re.S)


def tag_body(repo: Path, tag: str) -> str:
    """The message of the annotated tag TAG without its signature block."""
    raw = git(repo, "cat-file", "-p", tag)
    _header, _, message = raw.partition("\n\n")
    return _SIG.sub("", message)


def trailers(message: str) -> list[str]:
    return [line for line in message.splitlines() if line.startswith("Modelreg-")]


def trailer_map(message: str) -> dict[str, str]:
    out = {}
    for line in trailers(message):
        key, _, value = line.partition(": ")
        out[key.removeprefix("Modelreg-")] = value
    return out


def commit_message(repo: Path, rev: str) -> str:
    return git(repo, "log", "-1", "--format=%B", rev)


def verify_tag(repo: Path, tag: str, signers: Path) -> subprocess.CompletedProcess[str]:
    """`git verify-tag` against SIGNERS, as a CI job would run it (not through modelreg)."""
    revoked = signers.with_name("revoked-empty")
    revoked.write_text("")
    return subprocess.run(
        [
            "git",
            "-c",
            f"gpg.ssh.allowedSignersFile={signers}",
            "-c",
            f"gpg.ssh.revocationFile={revoked}",
            "verify-tag",
            "--raw",
            tag,
        ],
        cwd=repo,
        capture_output=True,
        text=True,
    )


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def edit_policy(repo: Path, old: str, new: str) -> str:
    """Replace OLD by NEW in modelreg.yaml and commit; the new HEAD."""
    edit(repo / "modelreg.yaml", old, new)
    return commit_all(repo, "policy change")


def trust(repo: Path, *keys: Key) -> str:
    """Make KEYS the trusted signers (allowed_signers), committed."""
    (repo / ".modelreg" / "allowed_signers").write_text("".join(k.allowed() for k in keys))
    return commit_all(repo, "trust signers")


def copy_model(repo: Path, source: str, name: str, version: str = "1.0.0") -> Path:
    """A new model NAME whose first version is SOURCE's file (renamed), not committed."""
    model, src_version = source.split("@")
    text = (repo / "models" / model / f"{src_version}.yaml").read_text()
    text = text.replace(f"name: {model}\n", f"name: {name}\n", 1)
    text = text.replace(f"version: {src_version}\n", f"version: {version}\n", 1)
    target = repo / "models" / name / f"{version}.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


# --- remotes -------------------------------------------------------------------------


def make_remote(seed: Path, tmp_path: Path) -> Path:
    """A bare repository holding SEED's main branch."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(seed, "push", "-q", str(bare), "main")
    return bare


def clone(bare: Path, dest: Path, key: Key | None = None) -> Path:
    git(bare.parent, "clone", "-q", str(bare), str(dest))
    if key is not None:
        use_key(key, dest)
    return dest


def remote_refs(bare: Path) -> dict[str, str]:
    out = git(bare, "for-each-ref", "--format=%(objectname) %(refname)")
    return {ref: oid for oid, ref in (line.split() for line in out.splitlines())}


def reject_pushes(bare: Path) -> None:
    """A pre-receive hook on BARE that refuses every push."""
    hooks = bare / "hooks"
    hooks.mkdir(exist_ok=True)
    hook = hooks / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'pushes are frozen' >&2\nexit 1\n")
    hook.chmod(0o755)


def fsck(repo: Path) -> str:
    proc = subprocess.run(
        ["git", "fsck", "--strict", "--no-progress", "--no-dangling"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr
