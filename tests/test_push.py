"""`--push`: branch and tag in one atomic push to a real bare remote; races, refusals, reruns.

Scenario numbers are THREATS.md's. "Nothing lost": the remote holds its old
refs or the complete new action; the clone holds its old state or the action.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from actions_helpers import (
    PREFIX,
    changed_files,
    clone,
    commit_message,
    fsck,
    make_remote,
    promote,
    reject_pushes,
    remote_refs,
    repo_state,
    tag_body,
    trailer_map,
    trailers,
    verify_tag,
)

from conftest import Key, git

Cli = Callable[..., Any]
MAIN = "refs/heads/main"


@pytest.fixture
def remote(signed: Path, tmp_path: Path) -> Path:
    """A bare repository with the signed example registry on main."""
    return make_remote(signed, tmp_path)


@pytest.fixture
def a(remote: Path, tmp_path: Path) -> Path:
    return clone(remote, tmp_path / "a")


@pytest.fixture
def b(remote: Path, tmp_path: Path, keys: dict[str, Key]) -> Path:
    return clone(remote, tmp_path / "b", keys["bob"])


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return result


def tag(model: str, stage: str, seq: int) -> str:
    return f"{PREFIX}/{model}/{stage}/{seq}"


def local_refs(repo: Path) -> dict[str, str]:
    """Branches and tags of a clone (not its remote-tracking refs)."""
    out = git(repo, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads", "refs/tags")
    return {ref: oid for oid, ref in (line.split() for line in out.splitlines())}


def signers(tmp_path: Path, *keys: Key) -> Path:
    path = tmp_path / "ci_allowed_signers"
    path.write_text("".join(k.allowed() for k in keys))
    return path


def test_push_lands_branch_and_tag_confirmed(cli: Cli, a: Path, remote: Path) -> None:
    """Scenario 55."""
    result = ok(cli("--json", *promote("summarizer", "1.0.0", "development", "--push"), cwd=a))
    doc = result.json()
    assert doc["pushed"] == "origin main"
    name = tag("summarizer", "development", 1)
    refs = remote_refs(remote)
    assert refs[MAIN] == doc["commit"] == git(a, "rev-parse", "HEAD").strip()
    assert refs[f"refs/tags/{name}"] == git(a, "rev-parse", f"refs/tags/{name}").strip()
    listed = git(a, "ls-remote", "origin").splitlines()
    assert f"{doc['commit']}\t{MAIN}" in listed
    assert f"{doc['commit']}\trefs/tags/{name}^{{}}" in listed  # the tag seals that commit
    text = ok(cli(*promote("summarizer", "1.0.0", "staging", "--push"), cwd=a)).out
    assert "pushed to origin main (confirmed with ls-remote)" in text
    assert remote_refs(remote)[MAIN] == git(a, "rev-parse", "HEAD").strip()
    assert git(a, "status", "--porcelain") == ""
    fsck(remote)


def test_two_clones_on_different_models_both_land(
    cli: Cli, a: Path, b: Path, remote: Path, keys: dict[str, Key], tmp_path: Path
) -> None:
    """Scenario 52: b's push is rejected; it fetches, rebuilds on a's tip, re-signs, pushes."""
    base = remote_refs(remote)[MAIN]
    first = ok(
        cli("--json", *promote("summarizer", "1.0.0", "development", "--push"), cwd=a)
    ).json()
    second = ok(
        cli("--json", *promote("ticket-classifier", "1.0.0", "development", "--push"), cwd=b)
    ).json()
    assert second["pushed"] == "origin main" and second["signer"] == "bob@example.com"

    refs = remote_refs(remote)
    assert git(remote, "rev-list", "--reverse", f"{base}..{MAIN}").split() == [
        first["commit"],
        second["commit"],
    ]
    assert refs[MAIN] == second["commit"] == git(b, "rev-parse", "HEAD").strip()
    assert (
        git(remote, "rev-parse", f"{tag('summarizer', 'development', 1)}^{{commit}}").strip()
        == (first["commit"])
    )
    assert (
        git(remote, "rev-parse", f"{tag('ticket-classifier', 'development', 1)}^{{commit}}").strip()
        == second["commit"]
    )
    assert changed_files(remote, second["commit"]) == ["stages/ticket-classifier.yaml"]
    # the rebuilt action is signed anew, and its tag and commit agree
    name = second["tag"]
    assert name == tag("ticket-classifier", "development", 1)
    body = tag_body(b, name)
    assert trailers(body) == trailers(commit_message(b, second["commit"]))
    assert verify_tag(b, name, signers(tmp_path, keys["alice"], keys["bob"])).returncode == 0
    # b holds exactly what the remote holds: no stray tag or commit
    assert local_refs(b) == {
        k: v for k, v in refs.items() if k.startswith(("refs/heads", "refs/tags"))
    }
    assert git(b, "status", "--porcelain") == ""
    assert (b / "stages/summarizer.yaml").is_file()
    fsck(remote)
    fsck(b)


def test_same_model_other_stage_rebuilds_the_state_with_both(
    cli: Cli, a: Path, b: Path, remote: Path
) -> None:
    """The rebuilt state file holds a's change to one stage and b's to another."""
    ok(cli(*promote("summarizer", "1.0.0", "development", "--push"), cwd=a))
    git(b, "pull", "-q", "--ff-only")
    ok(cli(*promote("summarizer", "1.0.0", "staging", "--push"), cwd=a))
    doc = ok(cli("--json", *promote("summarizer", "1.1.0", "development", "--push"), cwd=b)).json()
    assert doc["tag"] == tag("summarizer", "development", 2)
    facts = trailer_map(tag_body(b, doc["tag"]))
    assert facts["Previous-Tag"] == tag("summarizer", "development", 1)
    state = git(remote, "show", f"{MAIN}:stages/summarizer.yaml")
    assert "  staging:\n    version: 1.0.0" in state
    assert "  development:\n    version: 1.1.0" in state
    assert f"staging: {tag('summarizer', 'staging', 1)}" in state


def test_same_model_and_stage_race_the_loser_exits_3_and_leaves_nothing(
    cli: Cli, a: Path, b: Path, remote: Path
) -> None:
    ok(cli(*promote("summarizer", "1.0.0", "development", "--push"), cwd=a))
    after_a = remote_refs(remote)
    result = cli(*promote("summarizer", "1.1.0", "development", "--push"), cwd=b)
    assert result.code == 3, result.err
    assert result.err.count("\n") == 1 and result.err.startswith("error: ")
    assert "someone else acted on summarizer development" in result.err
    assert remote_refs(remote) == after_a
    # b was brought up to the remote: its own action is gone, the winner's is here
    assert local_refs(b) == {
        k: v for k, v in after_a.items() if k.startswith(("refs/heads", "refs/tags"))
    }
    assert git(b, "status", "--porcelain") == ""
    assert "version: 1.0.0" in (b / "stages/summarizer.yaml").read_text()
    fsck(b)
    # run again, it lands on top with the next sequence number
    doc = ok(cli("--json", *promote("summarizer", "1.1.0", "development", "--push"), cwd=b)).json()
    assert doc["tag"] == tag("summarizer", "development", 2)
    assert remote_refs(remote)[MAIN] == doc["commit"]


def test_rejected_push_leaves_remote_and_clone_as_before(cli: Cli, a: Path, remote: Path) -> None:
    """Scenario 53: a pre-receive hook refuses; neither branch nor tag lands; the clone undoes."""
    reject_pushes(remote)
    before_remote, before = remote_refs(remote), repo_state(a)
    result = cli(*promote("summarizer", "1.0.0", "development", "--push"), cwd=a)
    assert result.code == 3, result.err
    assert "refused the push (pre-receive hook declined: pushes are frozen)" in result.err
    assert remote_refs(remote) == before_remote
    assert repo_state(a) == before


def test_remote_without_atomic_push_gets_nothing(cli: Cli, a: Path, remote: Path) -> None:
    """Scenario 54."""
    git(remote, "config", "receive.advertiseAtomic", "false")
    before_remote, before = remote_refs(remote), repo_state(a)
    result = cli(*promote("summarizer", "1.0.0", "development", "--push"), cwd=a)
    assert result.code == 3, result.err
    assert "does not support atomic pushes" in result.err
    assert remote_refs(remote) == before_remote
    assert repo_state(a) == before


def test_unreachable_remote_exits_3_and_keeps_the_branch(cli: Cli, a: Path, tmp_path: Path) -> None:
    """Scenario 56."""
    git(a, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    before = repo_state(a)
    result = cli(*promote("summarizer", "1.0.0", "development", "--push"), cwd=a)
    assert result.code == 3, result.err
    assert "could not push to origin" in result.err
    assert repo_state(a) == before


def test_rerun_with_push_after_an_unpushed_action_pushes_it(
    cli: Cli, a: Path, remote: Path
) -> None:
    """Scenario 49: killed during the push; the rerun is a local no-op and pushes, once."""
    made = ok(cli("--json", *promote("summarizer", "1.0.0", "development"), cwd=a)).json()
    assert made["pushed"] is None and remote_refs(remote)[MAIN] != made["commit"]
    local = local_refs(a)
    rerun = ok(
        cli("--json", *promote("summarizer", "1.0.0", "development", "--push"), cwd=a)
    ).json()
    assert rerun["noop"] is True and rerun["pushed"] == "origin main"
    refs = remote_refs(remote)
    assert refs[MAIN] == made["commit"]
    assert refs[f"refs/tags/{made['tag']}"] == local[f"refs/tags/{made['tag']}"]
    assert local_refs(a) == local  # nothing new locally
    # and once more: the remote already has it
    again = ok(
        cli("--json", *promote("summarizer", "1.0.0", "development", "--push"), cwd=a)
    ).json()
    assert again["noop"] is True and again["pushed"] == "origin main"
    assert remote_refs(remote) == refs


def test_push_without_a_remote_is_exit_3_and_undone(cli: Cli, signed: Path) -> None:
    before = repo_state(signed)
    result = cli(*promote("summarizer", "1.0.0", "development", "--push"), cwd=signed)
    assert result.code == 3, result.err
    assert "no remote 'origin'" in result.err
    assert repo_state(signed) == before


def test_rerun_after_a_push_that_landed_but_was_taken_back_locally(
    cli: Cli, a: Path, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scenario 49, the other way round: the remote has the action, the clone does not (an
    interrupt during `git push` made the clone undo it). The rerun finds it there: no duplicate."""
    base = git(a, "rev-parse", "HEAD").strip()
    made = ok(cli("--json", *promote("summarizer", "1.0.0", "development", "--push"), cwd=a)).json()
    git(a, "update-ref", MAIN, base)
    git(a, "tag", "-d", made["tag"])
    git(a, "reset", "-q", "--hard")
    pushed = remote_refs(remote)
    # a minute later: the rerun's own commit and tag differ from the ones the remote holds
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-11-20T10:01:00Z")

    rerun = ok(cli("--json", *promote("summarizer", "1.0.0", "development", "--push"), cwd=a))
    doc = rerun.json()
    assert doc["noop"] is True and doc["pushed"] == "origin main", (doc, rerun.err)
    assert remote_refs(remote) == pushed
    assert local_refs(a) == {
        k: v for k, v in pushed.items() if k.startswith(("refs/heads", "refs/tags"))
    }
    assert git(a, "status", "--porcelain") == ""


def test_tag_refused_by_an_update_hook_sinks_the_branch_too(
    cli: Cli, a: Path, remote: Path
) -> None:
    """Scenario 53 with a per-ref hook: only the tag is refused, so atomically nothing lands."""
    hooks = remote / "hooks"
    hooks.mkdir(exist_ok=True)
    hook = hooks / "update"
    hook.write_text('#!/bin/sh\ncase "$1" in refs/tags/*) echo "no tags here" >&2; exit 1;; esac\n')
    hook.chmod(0o755)
    before_remote, before = remote_refs(remote), repo_state(a)
    result = cli(*promote("summarizer", "1.0.0", "development", "--push"), cwd=a)
    assert result.code == 3, result.err
    assert "refused the push (hook declined: no tags here)" in result.err
    assert remote_refs(remote) == before_remote
    assert repo_state(a) == before


def test_race_at_the_remote_ref_update_is_rebuilt_and_pushed(
    cli: Cli, a: Path, b: Path, remote: Path
) -> None:
    """Scenario 52 at its tightest: the remote moves after it advertised its refs and before it
    updates them ("cannot lock ref ... but expected ..."): a race like any other, retried."""
    other = ok(cli("--json", *promote("ticket-classifier", "1.0.0", "development"), cwd=b)).json()
    git(b, "push", "-q", "origin", "HEAD:refs/heads/other", f"refs/tags/{other['tag']}")
    hooks = remote / "hooks"
    hooks.mkdir(exist_ok=True)
    hook = hooks / "pre-receive"
    hook.write_text(
        "#!/bin/sh\n"
        '[ -e "$PWD/raced" ] && exit 0\n'
        'touch "$PWD/raced"\n'
        "env -u GIT_QUARANTINE_PATH -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES "
        f"git update-ref {MAIN} {other['commit']}\n"
    )
    hook.chmod(0o755)
    doc = ok(cli("--json", *promote("summarizer", "1.0.0", "development", "--push"), cwd=a)).json()
    assert (remote / "raced").exists()  # the race did happen
    assert doc["pushed"] == "origin main"
    refs = remote_refs(remote)
    assert refs[MAIN] == doc["commit"] == git(a, "rev-parse", "HEAD").strip()
    assert git(remote, "rev-parse", f"{MAIN}^").strip() == other["commit"]
    assert local_refs(a) == {
        k: v for k, v in refs.items() if k.startswith(("refs/heads/main", "refs/tags"))
    }
    fsck(remote)


def test_an_earlier_unpushed_action_goes_up_with_its_tag(
    cli: Cli, a: Path, remote: Path, tmp_path: Path
) -> None:
    """The branch never reaches the remote without the tags of the actions it carries."""
    ok(cli(*promote("summarizer", "1.0.0", "development"), cwd=a))  # not pushed
    ok(cli(*promote("assistant", "1.0.0", "development", "--push"), cwd=a))
    refs = remote_refs(remote)
    for name in (tag("summarizer", "development", 1), tag("assistant", "development", 1)):
        assert refs[f"refs/tags/{name}"] == git(a, "rev-parse", f"refs/tags/{name}").strip()
    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", f"file://{remote}", str(fresh))
    verified = cli("--repo", str(fresh), "--json", "verify", "--all")
    assert verified.code == 0, verified.out


def test_a_fetch_by_another_process_cannot_swap_the_tip(
    cli: Cli, a: Path, b: Path, remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A background fetch of another branch between modelreg's fetch and its next step
    (FETCH_HEAD is shared) must not put that branch on main."""
    git(b, "switch", "-q", "-c", "feature")
    (b / "notes.txt").write_text("unreviewed\n")
    git(b, "add", "notes.txt")
    git(b, "commit", "-q", "-m", "unreviewed work")
    git(b, "push", "-q", "origin", "feature")
    git(b, "switch", "-q", "main")
    ok(cli(*promote("ticket-classifier", "1.0.0", "development", "--push"), cwd=b))
    real = shutil.which("git")
    wrapper = tmp_path / "bin" / "git"
    wrapper.parent.mkdir()
    wrapper.write_text(
        "#!/bin/sh\n"
        f'"{real}" "$@"; rc=$?\n'
        'case "$1 $2" in "fetch -q") '
        f'"{real}" fetch -q origin feature >/dev/null 2>&1;; esac\n'
        "exit $rc\n"
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrapper.parent}:{os.environ['PATH']}")
    ok(cli(*promote("summarizer", "1.0.0", "development", "--push"), cwd=a))
    main_log = git(remote, "log", "--format=%s", MAIN)
    assert "unreviewed work" not in main_log
    assert "promote summarizer@1.0.0 to development" in main_log


def test_a_failed_push_says_the_local_action_was_taken_back(
    cli: Cli, a: Path, tmp_path: Path
) -> None:
    git(a, "remote", "set-url", "origin", str(tmp_path / "no-such-remote.git"))
    head = git(a, "rev-parse", "HEAD")
    result = cli(*promote("summarizer", "1.0.0", "development", "--push"), cwd=a)
    assert result.code == 3
    assert result.err.rstrip().endswith("nothing was pushed; the local action was taken back")
    assert git(a, "rev-parse", "HEAD") == head
