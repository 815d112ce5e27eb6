"""Shared fixtures: an isolated git environment, real registries in temp repos, a CLI runner."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from modelreg.vcs import REPO_ENV_VARS

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLE = PROJECT / "registry-example"

# Variables that would make git or ssh reach outside the test's sandbox.
_UNSET = (
    *sorted(REPO_ENV_VARS),
    "SSH_AUTH_SOCK",
    "GNUPGHOME",
    "MODELREG_TRACEBACK",
    "PRE_COMMIT_HOME",
)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME, git config and templates private to each test; NO_COLOR set."""
    home = tmp_path_factory.mktemp("home")
    for name in _UNSET:
        monkeypatch.delenv(name, raising=False)
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n"
        "[init]\n\tdefaultBranch = main\n"
        "[advice]\n\tdetachedHead = false\n"
    )
    templates = home / "git-templates"
    templates.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_TEMPLATE_DIR", str(templates))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("GIT_AUTHOR_DATE", "2026-11-20T10:00:00Z")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-11-20T10:00:00Z")
    return home


def git(cwd: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def commit_all(repo: Path, message: str = "update") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of registry-example/ committed in a new git repo."""
    root = tmp_path / "registry"
    shutil.copytree(EXAMPLE, root)
    git(root, "init", "-q")
    commit_all(root, "register the example")
    return root


@pytest.fixture
def loose_example(tmp_path: Path) -> Path:
    """A copy of registry-example/ in no git repo (read-only use)."""
    root = tmp_path / "plain"
    shutil.copytree(EXAMPLE, root)
    return root


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Call modelreg's main() in process, from a given folder, and capture its output."""
    from modelreg.cli import main

    def run(*args: str, cwd: Path | None = None) -> Result:
        capsys.readouterr()
        if cwd is not None:
            monkeypatch.chdir(cwd)
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    yield run


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def venv_bin() -> Path:
    """The bin folder of the Python running the tests (where the console script is)."""
    import sys

    return Path(sys.executable).parent


def env_without(*names: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in names}


# --- signing ---------------------------------------------------------------------------


@dataclass
class Key:
    """An ssh signing key made by ssh-keygen for one principal."""

    principal: str
    private: Path
    public_line: str  # "ssh-ed25519 AAAA..."

    def allowed(self, options: str = 'namespaces="git"') -> str:
        """This key's allowed-signers line."""
        return f"{self.principal} {options} {self.public_line}\n".replace("  ", " ")


def make_key(folder: Path, principal: str) -> Key:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / principal.replace("@", "_at_")
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", principal, "-f", str(path)],
        check=True,
    )
    public = " ".join(Path(f"{path}.pub").read_text().split()[:2])
    return Key(principal, path, public)


def use_key(key: Key, repo: Path | None = None) -> None:
    """Sign with KEY from now on (in REPO's config, or the isolated global config)."""
    scope = ["-C", str(repo), "config"] if repo else ["config", "--global"]
    for name, value in (
        ("gpg.format", "ssh"),
        ("user.signingkey", str(key.private)),
        ("user.email", key.principal),
    ):
        subprocess.run(["git", *scope, name, value], check=True)


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Key]:
    """alice and bob (release managers in the example policy) and carol (a stranger)."""
    folder = tmp_path / "keys"
    return {name: make_key(folder, f"{name}@example.com") for name in ("alice", "bob", "carol")}


@pytest.fixture
def signed(tmp_path: Path, keys: dict[str, Key]) -> Path:
    """The example registry in a git repo where alice signs, and alice and bob are trusted."""
    root = tmp_path / "registry"
    shutil.copytree(EXAMPLE, root)
    (root / ".modelreg" / "allowed_signers").write_text(
        keys["alice"].allowed() + keys["bob"].allowed()
    )
    git(root, "init", "-q")
    use_key(keys["alice"])
    commit_all(root, "register the example")
    return root
