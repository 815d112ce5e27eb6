"""End to end: the `modelreg-check` hook through the real pre-commit framework and real `git commit`.

The project is consumed the way a user consumes it: a `.pre-commit-config.yaml`
names a git repository and a rev, and pre-commit clones it, builds its own
virtualenv and pip-installs modelreg and its dependencies from the index.
Because the project's work tree may hold uncommitted changes, a session
fixture snapshots the CURRENT project files into a throwaway git repository
and uses that as `repo:`. The hook environment is built once per run (in a
shared PRE_COMMIT_HOME, under a lock so pytest-xdist workers share it too);
each test then only runs `pre-commit install`, which writes the git hook.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import EXAMPLE, PROJECT, commit_all, git, venv_bin, write
from modelreg.vcs import REPO_ENV_VARS

# What a user's clone of modelreg holds that `pip install .` and the hook need.
_SNAPSHOT_FILES = ("pyproject.toml", "README.md", "CHANGELOG.md", ".pre-commit-hooks.yaml")
_SNAPSHOT_DIRS = ("modelreg", "schemas", "registry-example", "ci")
_IGNORE = shutil.ignore_patterns(
    "__pycache__", "*.pyc", ".mypy_cache", ".ruff_cache", ".pytest_cache"
)

# Variables that would point git or pre-commit somewhere else than the sandbox.
_SCRUB = (
    *sorted(REPO_ENV_VARS),
    "SSH_AUTH_SOCK",
    "GNUPGHOME",
    "PRE_COMMIT_HOME",
    "PRE_COMMIT_ALLOW_NO_CONFIG",
    "SKIP",
    "PYTHONPATH",
    "PYTHONHOME",
)

HOOK_ID = "modelreg-check"
BUILD_TIMEOUT = 600


@dataclass(frozen=True)
class HookRepo:
    path: Path  # the throwaway git repository holding the current project files
    rev: str
    home: Path  # PRE_COMMIT_HOME, where pre-commit keeps its clone and the hook's virtualenv

    def config(self) -> str:
        return (
            json.dumps(
                {"repos": [{"repo": str(self.path), "rev": self.rev, "hooks": [{"id": HOOK_ID}]}]},
                indent=2,
            )
            + "\n"
        )


def _env(**extra: str) -> dict[str, str]:
    """os.environ minus redirections, plus EXTRA; fails loudly when git is not on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update(extra)
    # pre-commit's subprocesses (git, the hook in its virtualenv, whose bin is only prepended) need git on PATH.
    if shutil.which("git", path=env.get("PATH")) is None:
        pytest.fail(
            f"git is not on PATH ({env.get('PATH')!r}): pre-commit cannot run", pytrace=False
        )
    return env


def _shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the whole run: shared by every pytest-xdist worker, else the session's own."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _must(proc: subprocess.CompletedProcess[str], what: str) -> None:
    if proc.returncode != 0:
        pytest.fail(
            f"{what} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}", pytrace=False
        )


def _snapshot_project(dest: Path, env: dict[str, str]) -> str:
    """Copy the current project files into DEST, commit them, return the commit id."""
    dest.mkdir()
    for name in _SNAPSHOT_FILES:
        if (PROJECT / name).is_file():
            shutil.copy2(PROJECT / name, dest / name)
    for name in _SNAPSHOT_DIRS:
        shutil.copytree(PROJECT / name, dest / name, ignore=_IGNORE)
    assert (dest / ".pre-commit-hooks.yaml").is_file(), "the project has no .pre-commit-hooks.yaml"
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["commit", "-q", "--no-verify", "-m", "snapshot of the work tree"],
    ):
        _must(
            subprocess.run(["git", *args], cwd=dest, env=env, capture_output=True, text=True),
            f"git {args[0]}",
        )
    proc = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=dest, env=env, capture_output=True, text=True
    )
    _must(proc, "git rev-parse")
    return proc.stdout.strip()


def _build(root: Path) -> HookRepo:
    """The hook repository plus a PRE_COMMIT_HOME in which pre-commit has built the hook's environment."""
    home = root / "home"
    home.mkdir()
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Fixture\n\temail = fixture@example.com\n[init]\n\tdefaultBranch = main\n"
    )
    templates = home / "git-templates"
    templates.mkdir()
    env = _env(
        HOME=str(home),
        GIT_CONFIG_GLOBAL=str(gitconfig),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TEMPLATE_DIR=str(templates),
        PRE_COMMIT_HOME=str(root / "pre-commit-home"),
    )
    rev = _snapshot_project(root / "modelreg-hooks", env)
    hooks = HookRepo(root / "modelreg-hooks", rev, root / "pre-commit-home")

    # Build the environment once, in a scratch repository: pre-commit clones the hook
    # repository at REV, makes a virtualenv and runs `pip install .` there.
    scratch = root / "scratch"
    scratch.mkdir()
    (scratch / ".pre-commit-config.yaml").write_text(hooks.config())
    _must(
        subprocess.run(["git", "init", "-q"], cwd=scratch, env=env, capture_output=True, text=True),
        "git init",
    )
    proc = subprocess.run(
        [str(venv_bin() / "pre-commit"), "install-hooks"],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
    )
    if proc.returncode != 0:
        log = hooks.home / "pre-commit.log"
        detail = log.read_text(errors="replace")[-6000:] if log.is_file() else ""
        pytest.fail(
            "pre-commit could not build the modelreg-check environment "
            f"(clone {hooks.path} at {rev}, virtualenv, `pip install .` from the package index):\n"
            f"{proc.stdout}\n{proc.stderr}\n{detail}",
            pytrace=False,
        )
    return hooks


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HookRepo]:
    """Built once per run; xdist workers wait on a lock and reuse the first worker's build."""
    root = _shared_root(tmp_path_factory) / "modelreg-precommit"
    root.mkdir(exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            ready = root / "ready.json"
            if ready.is_file():
                info = json.loads(ready.read_text())
                hooks = HookRepo(Path(info["path"]), info["rev"], Path(info["home"]))
            else:
                for leftover in ("home", "modelreg-hooks", "pre-commit-home", "scratch"):
                    shutil.rmtree(root / leftover, ignore_errors=True)  # a failed earlier attempt
                hooks = _build(root)
                ready.write_text(
                    json.dumps({"path": str(hooks.path), "rev": hooks.rev, "home": str(hooks.home)})
                )
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    yield hooks


@dataclass
class Committer:
    repo: Path
    env: dict[str, str]

    def commit(self, message: str) -> subprocess.CompletedProcess[str]:
        """A real `git commit`: the pre-commit hook runs (no --no-verify)."""
        return subprocess.run(
            ["git", "commit", "-m", message],
            cwd=self.repo,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def head(self) -> str:
        return git(self.repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def registry(example: Path, hook_repo: HookRepo) -> Committer:
    """The example registry with the modelreg-check hook configured, committed and installed."""
    write(example / ".pre-commit-config.yaml", hook_repo.config())
    commit_all(example, "use the modelreg-check hook")
    env = _env(PRE_COMMIT_HOME=str(hook_repo.home))
    proc = subprocess.run(
        [str(venv_bin() / "pre-commit"), "install"],
        cwd=example,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    _must(proc, "pre-commit install")
    assert (example / ".git" / "hooks" / "pre-commit").is_file()
    return Committer(example, env)


def _version_1_2_0(*, changes: bool = True, duplicate_key: bool = False) -> str:
    text = (EXAMPLE / "models" / "summarizer" / "1.1.0.yaml").read_text()
    text = text.replace("version: 1.1.0", "version: 1.2.0").replace(
        "parent: 1.0.0", "parent: 1.1.0"
    )
    text = text.replace("temperature: 0.2", "temperature: 0.1")
    if not changes:
        start = text.index("changes:\n")
        end = text.index("created:")
        text = text[:start] + text[end:]
    else:
        text = text.replace(
            "  summary: Summaries now lead with actionable insights.",
            "  summary: Lower temperature for steadier summaries.",
        )
    if duplicate_key:
        text = text.replace("kind: prompt-config\n", "kind: prompt-config\nkind: prompt-config\n")
    return text


def _output(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


def test_bad_version_is_refused_then_the_fix_is_accepted(registry: Committer) -> None:
    repo = registry.repo
    before = registry.head()
    path = repo / "models" / "summarizer" / "1.2.0.yaml"

    # A duplicate key: the strict loader names the file, the line of the second key, the rule.
    write(path, _version_1_2_0(duplicate_key=True))
    assert "kind: prompt-config\nkind: prompt-config\n" in path.read_text()
    dup_line = path.read_text().splitlines().index("kind: prompt-config", 4) + 1
    git(repo, "add", "models/summarizer/1.2.0.yaml")
    proc = registry.commit("summarizer 1.2.0")
    out = _output(proc)
    assert proc.returncode != 0, out
    assert "modelreg check" in out and "Failed" in out, out
    assert f"models/summarizer/1.2.0.yaml:{dup_line}: duplicate key 'kind'" in out, out
    assert "[yaml]" in out, out
    assert registry.head() == before

    # A parent and no `changes`: the schema requires them together.
    write(path, _version_1_2_0(changes=False))
    git(repo, "add", "models/summarizer/1.2.0.yaml")
    proc = registry.commit("summarizer 1.2.0")
    out = _output(proc)
    assert proc.returncode != 0, out
    assert (
        "models/summarizer/1.2.0.yaml:5: changes (summary and reason) is required with parent"
        in out
    ), out
    assert registry.head() == before

    # Fixed: the same commit goes through.
    write(path, _version_1_2_0())
    git(repo, "add", "models/summarizer/1.2.0.yaml")
    proc = registry.commit("summarizer 1.2.0")
    out = _output(proc)
    assert proc.returncode == 0, out
    assert "modelreg check" in out and "Passed" in out, out
    after = registry.head()
    assert after != before
    assert git(repo, "rev-parse", "HEAD~1").strip() == before
    assert git(repo, "log", "-1", "--format=%s").strip() == "summarizer 1.2.0"
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == [
        "models/summarizer/1.2.0.yaml"
    ]
    assert git(repo, "status", "--porcelain") == ""


def test_editing_a_registered_version_is_refused(registry: Committer) -> None:
    repo = registry.repo
    before = registry.head()
    path = repo / "models" / "summarizer" / "1.0.0.yaml"
    assert git(repo, "ls-tree", "--name-only", "HEAD", "models/summarizer/1.0.0.yaml").strip()

    # Schema-valid, so the only thing wrong is that HEAD already has this version.
    write(path, path.read_text().replace("temperature: 0.3", "temperature: 0.25"))
    git(repo, "add", "models/summarizer/1.0.0.yaml")
    proc = registry.commit("tweak summarizer 1.0.0 in place")
    out = _output(proc)
    assert proc.returncode != 0, out
    assert "models/summarizer/1.0.0.yaml" in out, out
    assert "registered version file changed in the index" in out and "[immutable]" in out, out
    assert registry.head() == before
    # The refused change is still staged for the user to undo.
    assert git(repo, "diff", "--cached", "--name-only").split() == ["models/summarizer/1.0.0.yaml"]


def test_commits_without_registry_files_pass_the_hook(registry: Committer) -> None:
    repo = registry.repo
    before = registry.head()
    write(repo / "NOTES.md", "not a registry file\n")
    git(repo, "add", "NOTES.md")
    proc = registry.commit("notes")
    out = _output(proc)
    assert proc.returncode == 0, out
    assert "modelreg check" in out and "Passed" in out, out
    assert registry.head() != before


def test_a_commit_that_only_deletes_a_version_is_refused(registry: Committer) -> None:
    # pre-commit passes no file names for a deletion: the hook still runs and refuses it
    repo = registry.repo
    before = registry.head()
    git(repo, "rm", "-q", "models/summarizer/1.0.0.yaml")
    proc = registry.commit("drop 1.0.0")
    out = _output(proc)
    assert proc.returncode != 0, out
    assert "models/summarizer/1.0.0.yaml: registered version file deleted in the index" in out, out
    assert "[immutable]" in out
    assert registry.head() == before


def test_the_hook_runs_an_installed_copy_not_the_checkout(hook_repo: HookRepo) -> None:
    """What pre-commit runs is modelreg pip-installed from the snapshot at REV, not this source tree."""
    assert git(hook_repo.path, "rev-parse", "HEAD").strip() == hook_repo.rev
    pythons = list(hook_repo.home.glob("repo*/py_env-*/bin/python"))
    assert len(pythons) == 1, (
        f"expected one hook environment under {hook_repo.home}, found {pythons}"
    )
    assert (pythons[0].parent / "modelreg").is_file()
    proc = subprocess.run(
        [
            str(pythons[0]),
            "-c",
            "import modelreg.schemas as s; print(s.__file__); print(s.schema_dir())",
        ],
        cwd=hook_repo.home,
        env=_env(),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    module, schemas = map(Path, proc.stdout.split())
    for path in (module, schemas):
        assert path.is_relative_to(hook_repo.home), path
        assert not path.is_relative_to(PROJECT), path
    assert schemas.parts[-3:] == ("modelreg", "_data", "schemas")
