"""The per-reader memo: one parse per blob, and a bounded footprint on long walks."""

from __future__ import annotations

from pathlib import Path

from conftest import commit_all, git
from modelreg.revision import Snapshot
from modelreg.vcs import Git, Memo


def test_the_memo_keeps_at_most_max_entries_dropping_the_oldest() -> None:
    memo = Memo()
    for i in range(Memo.MAX + 3):
        memo[(f"{i:040x}", "kind")] = i
    assert len(memo) == Memo.MAX
    assert (f"{0:040x}", "kind") not in memo and (f"{2:040x}", "kind") not in memo
    assert (
        memo[(f"{3:040x}", "kind")] == 3 and memo[(f"{Memo.MAX + 2:040x}", "kind")] == Memo.MAX + 2
    )


def test_a_blob_is_parsed_once_for_every_commit_that_holds_it(example: Path) -> None:
    first = git(example, "rev-parse", "HEAD").strip()
    (example / "README.extra").write_text("another commit, same policy blob\n")
    second = commit_all(example, "touch")
    repo = Git(example)
    with repo.objects() as reader:
        a = Snapshot(repo, first, "", reader).load("modelreg.yaml", "registry")
        b = Snapshot(repo, second, "", reader).load("modelreg.yaml", "registry")
        assert a is not None and a is b  # one Document for one blob
        assert a.data["stages"] == b.data["stages"]


def test_a_git_failure_names_the_command_and_its_error_not_a_hint(example: Path) -> None:
    """GIT_GRAFT_FILE makes git print a grafts deprecation hint first (docs review)."""
    import pytest

    from modelreg.errors import GitError

    with pytest.raises(GitError) as failure:
        Git(example).path_log("no-such-revision", "stages/x.yaml", "%H")
    assert str(failure.value) == "git log: bad revision 'no-such-revision'"
