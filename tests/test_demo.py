"""`modelreg demo`: a real registry with signed history that `verify --all` accepts.

The demo is built once for the module (in an environment isolated by hand: the
autouse fixture is function-scoped), with no signing set up anywhere but what
the demo sets in its own repository.
"""

from __future__ import annotations

import calendar
import contextlib
import io
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import git

DAY = 86400
PRODUCTION_STORY = [
    ("promote", "1.0.0", None, None),
    ("canary-start", "1.1.0", None, 10),
    ("canary-weight", "1.1.0", None, 25),
    ("canary-promote", "1.1.0", "1.0.0", None),
    ("rollback", "1.0.0", "1.1.0", None),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], Path]:
    """`modelreg --json demo DIR` once: (exit code, its JSON, DIR)."""
    from modelreg.cli import main

    base = tmp_path_factory.mktemp("demo")
    home = base / "home"
    home.mkdir()
    empty = home / "gitconfig"  # no user, no signing: the demo must set what it needs
    empty.write_text("")
    with pytest.MonkeyPatch.context() as mp:
        for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "SSH_AUTH_SOCK", "GNUPGHOME"):
            mp.delenv(name, raising=False)
        mp.setenv("HOME", str(home))
        mp.setenv("GIT_CONFIG_GLOBAL", str(empty))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        mp.setenv("NO_COLOR", "1")
        # A fixed clock like the other tests': the demo dates each step itself.
        mp.setenv("GIT_AUTHOR_DATE", "2026-11-20T10:00:00Z")
        mp.setenv("GIT_COMMITTER_DATE", "2026-11-20T10:00:00Z")
        mp.chdir(base)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["--json", "demo", "registry"])
        # the dates it set for the actions are put back
        assert os.environ["GIT_COMMITTER_DATE"] == "2026-11-20T10:00:00Z"
    return code, json.loads(out.getvalue()), base / "registry"


def test_demo_json_shape_and_the_rollback(built: tuple[int, dict[str, Any], Path]) -> None:
    code, data, root = built
    assert code == 0
    assert set(data) == {"root", "commits", "actions", "status", "log"}
    assert data["root"] == str(root)
    assert (data["commits"], data["actions"]) == (27, 16)
    production = data["status"]["models"]["summarizer"]["production"]
    assert (production["version"], production["previous"], production["canary"]) == (
        "1.0.0",
        "1.1.0",
        None,
    )
    assert data["status"]["models"]["ticket-classifier"]["production"]["version"] == "1.0.0"
    assert data["status"]["models"]["assistant"]["staging"]["version"] == "1.0.0"
    assert data["status"]["models"]["assistant"]["production"] is None

    events = data["log"]["events"]
    story = [(e["action"], e["version"], e["previous"], e["weight"]) for e in events]
    assert story == PRODUCTION_STORY
    assert all(e["reason"] for e in events)
    assert events[-1]["reason"].startswith("INC-2041: summaries dropped next steps")
    assert {(e["signer"], e["verified"]) for e in events} == {("demo@example.com", True)}
    # a timeline in the past, on whole minutes, in order, ending over an hour ago
    stamps = [calendar.timegm(time.strptime(e["at"], "%Y-%m-%dT%H:%M:%SZ")) for e in events]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert all(e["at"].endswith(":00Z") for e in events)
    now = time.time()
    assert now - 10 * DAY < stamps[0] and stamps[-1] < now - 3600


def test_demo_history_verifies_and_leaves_a_clean_tree(
    cli, built: tuple[int, dict[str, Any], Path]
) -> None:
    _code, _data, root = built
    result = cli("--repo", str(root), "--json", "verify", "--all")
    report = result.json()
    assert result.code == 0, result.out
    assert (report["ok"], report["problems"]) == (True, [])
    assert (report["commits"], report["actions"]) == (27, 16)
    assert set(report["signers"].values()) == {"demo@example.com"}

    every = cli("--repo", str(root), "--json", "log", "summarizer").json()["events"]
    assert len(every) == 9 and all(e["verified"] for e in every)
    assert cli("--repo", str(root), "check", "--all").code == 0

    assert git(root, "status", "--porcelain", "--ignored") == ""
    key = Path(git(root, "config", "--local", "user.signingkey").strip())
    assert key.is_file() and key.is_relative_to(root / ".git")
    private = [
        p
        for p in root.rglob("*")
        if ".git" not in p.relative_to(root).parts
        and p.is_file()
        and "PRIVATE KEY" in p.read_text(errors="replace")
    ]
    assert private == []
    assert "demo@example.com" in (root / ".modelreg" / "allowed_signers").read_text()
    assert "alice@example.com" in (root / ".modelreg" / "allowed_signers").read_text()
    # the policy and signers commit, and the files' commits, are signed by the demo key
    first = git(root, "rev-list", "--max-parents=0", "HEAD").strip()
    assert "-----BEGIN SSH SIGNATURE-----" in git(root, "cat-file", "commit", first)


def test_demo_text_output_in_an_empty_folder(cli, tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    result = cli("demo", str(root), cwd=tmp_path)
    assert result.code == 0, result.err
    assert result.err == ""
    lines = result.out.splitlines()
    assert lines[0].startswith(f"built a demo registry in {root}: 27 commits, 16 signed actions")
    status_at = lines.index(next(ln for ln in lines if ln.startswith("MODEL ")))
    assert lines[status_at].split() == [
        "MODEL",
        "DEVELOPMENT",
        "STAGING",
        "PRODUCTION",
        "LAST",
        "ACTION",
    ]
    assert lines[status_at + 2].split()[:4] == ["summarizer", "1.1.0", "1.1.0", "1.0.0"]
    log_at = lines.index("summarizer on production:")
    assert [ln.split()[1] for ln in lines[log_at + 2 : log_at + 7]] == [
        a for a, *_ in PRODUCTION_STORY
    ]
    hints = lines[lines.index("try next:") + 1 :]
    assert hints[0].strip() == f"cd {root}"
    at = next(h for h in hints if "modelreg at summarizer" in h).split("--time ")[1]
    # the hinted time is one when 1.1.0 served production: between its promotion and rollback
    promoted = next(ln for ln in lines[log_at:] if " canary-promote " in ln).split()[0]
    rolled_back = next(ln for ln in lines[log_at:] if " rollback " in ln).split()[0]
    assert promoted < at < rolled_back
    digest = cli("--repo", str(root), "--json", "show", "summarizer@1.1.0").json()["digest"]
    assert f"modelreg which {digest[:19]}" in result.out


def test_demo_refuses_a_folder_that_is_not_empty(cli, tmp_path: Path) -> None:
    root = tmp_path / "taken"
    root.mkdir()
    (root / "notes.txt").write_text("mine\n")
    result = cli("demo", str(root))
    assert result.code == 2
    assert result.err.startswith("error: ") and "not empty" in result.err
    assert len(result.err.splitlines()) == 1
    assert sorted(p.name for p in root.iterdir()) == ["notes.txt"]
    assert (root / "notes.txt").read_text() == "mine\n"
    file = tmp_path / "a-file"
    file.write_text("x")
    assert cli("demo", str(file)).code == 2 and file.read_text() == "x"


def test_a_demo_that_fails_midway_leaves_nothing(tmp_path: Path) -> None:
    """A clock a month ahead: the commits are made, then the first action refuses its date."""
    from modelreg.errors import EnvironmentFailure
    from modelreg.services.demo import build_demo

    fresh = tmp_path / "new" / "demo"
    with pytest.raises(EnvironmentFailure) as failed:
        build_demo(fresh, now=time.time() + 40 * DAY)
    assert "in the future" in failed.value.message
    assert failed.value.message.startswith("demo: ")
    assert "\n" not in failed.value.message
    assert not (tmp_path / "new").exists()  # it made both folders: both are gone

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EnvironmentFailure):
        build_demo(empty, now=time.time() + 40 * DAY)
    assert empty.is_dir() and list(empty.iterdir()) == []  # not its folder: emptied, kept


def test_the_demo_runs_none_of_the_users_global_hooks(cli, tmp_path: Path) -> None:
    """A global core.hooksPath whose hooks all fail (and say so): the demo runs none of them."""
    hooks = tmp_path / "global-hooks"
    hooks.mkdir()
    fired = tmp_path / "fired"
    for name in (
        "pre-commit",
        "prepare-commit-msg",
        "commit-msg",
        "post-commit",
        "reference-transaction",
        "post-checkout",
    ):
        hook = hooks / name
        hook.write_text(f"#!/bin/sh\necho {name} >> '{fired}'\nexit 1\n")
        hook.chmod(0o755)
    with open(os.environ["GIT_CONFIG_GLOBAL"], "a") as config:  # the test's own global config
        config.write(f"[core]\n\thooksPath = {hooks}\n")
    assert git(tmp_path, "config", "--global", "core.hooksPath").strip() == str(hooks)

    root = tmp_path / "sp ace" / "demo"
    result = cli("demo", str(root), cwd=tmp_path)
    assert result.code == 0, result.err  # before: prepare-commit-msg refuses, exit 3
    assert not fired.exists(), fired.read_text()
    local = Path(git(root, "config", "--local", "core.hooksPath").strip())
    assert local.is_relative_to(root / ".git") and local.is_dir() and list(local.iterdir()) == []
    assert cli("--repo", str(root), "verify", "--all").code == 0
    assert git(root, "status", "--porcelain", "--ignored") == ""
