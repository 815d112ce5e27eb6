"""`check` and `verify --format github`: GitHub Actions annotations on real registries.

Each problem is made for real (a file written, a commit or a tag made with git)
and the output is compared line for line: the file relative to the repository's
root, the line, the title, the escaping, error or warning, and the exit code and
summary line of the text format for the same registry.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLE, commit_all, git, venv_bin, write
from modelreg.cli.annotations import annotation, escape_data, escape_property
from modelreg.core.findings import Finding

SUMMARIZER_12 = """\
schema: modelreg/v1
name: summarizer
version: 1.2.0
kind: prompt-config
parent: 1.1.0
model: {provider: anthropic, id: claude-sonnet-4-5-20250929}
params: {temperature: 0.1, max_tokens: 256}
system_prompt: Summarize in 2 sentences.
changes: {summary: Shorter summaries., reason: Users skim (TICKET-500).}
created: 2026-11-24T09:30:00Z
author: alice@example.com
"""

# a folder name with every character a property must escape but the line breaks
ODD_FOLDER = "ml: team,a 100%"
ODD_FOLDER_PROP = "ml%3A team%2Ca 100%25"


def formats(cli: Any, *args: str, cwd: Path | None = None) -> tuple[Any, Any]:
    """The text and the github output of the same command: same exit code, same summary."""
    text = cli(*args, cwd=cwd)
    github = cli(*args, "--format", "github", cwd=cwd)
    assert github.code == text.code, (text.out, github.out)
    assert github.err == text.err
    assert github.out.splitlines()[-1] == text.out.splitlines()[-1]  # the summary line
    assert "::" not in github.out.splitlines()[-1]
    return text, github


def annotations(result: Any) -> list[str]:
    return [line for line in result.out.splitlines() if line.startswith("::")]


# --- the escaping, as the runner reads it ----------------------------------------------


def test_escaping_follows_the_runner() -> None:
    assert escape_data("50% a:b, c\r\nd") == "50%25 a:b, c%0D%0Ad"
    assert escape_property("50% a:b, c\r\nd") == "50%25 a%3Ab%2C c%0D%0Ad"
    assert escape_data("%0A") == "%250A"  # already-escaped text is not taken as an escape
    # other control characters are escaped as the text format escapes them: no raw ESC in a log
    assert escape_data("a\x1b[31mb\tc") == "a\\x1b[31mb\\tc"


def test_a_finding_without_a_file_has_no_file_or_line() -> None:
    bare = Finding(rule="r", message="m: 1, 2")
    assert annotation(bare, "") == "::error title=modelreg r::m: 1, 2"
    placed_nowhere = Finding(rule="r", message="m", line=4, severity="warning")
    assert annotation(placed_nowhere, "") == "::warning title=modelreg r::m (line 4)"
    in_commit = Finding(file="a.yaml", line=3, rule="r", message="m", commit="0123456789ab")
    assert (
        annotation(in_commit, "a.yaml", "fedcba987654")
        == "::error file=a.yaml,line=3,title=modelreg r::m (at fedcba987654, commit 0123456789ab)"
    )
    assert annotation(in_commit, "a.yaml", "0123456789ab") == (
        "::error file=a.yaml,line=3,title=modelreg r::m (commit 0123456789ab)"
    )


# --- check ---------------------------------------------------------------------------------


def test_check_success_prints_no_annotation(cli: Any, example: Path) -> None:
    text, github = formats(cli, "--repo", str(example), "check", "--all")
    assert github.code == 0
    assert github.out == text.out
    assert annotations(github) == []


def test_check_errors_are_on_their_lines_relative_to_the_repo(cli: Any, example: Path) -> None:
    write(
        example / "models/summarizer/1.2.0.yaml",
        SUMMARIZER_12.replace("temperature: 0.1", "temperature: hot"),
    )
    smoke = (example / "evals/summarizer/1.1.0/smoke.yaml").read_text()
    write(example / "evals/summarizer/1.1.0/extra.yaml", smoke)
    # --repo absolute and the current folder elsewhere: check shows absolute paths
    text, github = formats(cli, "--repo", str(example), "check")
    assert github.code == 1
    assert str(example) in text.out
    assert annotations(github) == [
        "::error file=evals/summarizer/1.1.0/extra.yaml,line=5,title=modelreg path-mismatch::"
        "suite 'smoke' does not match its path (evals/summarizer/1.1.0/extra.yaml)",
        "::error file=models/summarizer/1.2.0.yaml,line=7,title=modelreg schema::"
        'params.temperature: "hot" is not of type number',
    ]
    # the same from inside the registry, where check shows paths relative to the current folder
    _, inside = formats(cli, "check", cwd=example / "models" / "summarizer")
    assert annotations(inside) == annotations(github)


def test_check_warning_passes_as_text_does(cli: Any, example: Path) -> None:
    write(
        example / "models/summarizer/1.2.0.yaml",
        SUMMARIZER_12.replace("claude-sonnet-4-5-20250929", "'claude-sonnet-4-5%:a,b'"),
    )
    text, github = formats(cli, "--repo", str(example), "check")
    assert github.code == 0
    assert text.out.splitlines()[-1].endswith(": 0 problems, 1 warning")
    (line,) = annotations(github)
    # in the message only % is escaped: `:` and `,` are data after the `::`
    assert line.startswith(
        "::warning file=models/summarizer/1.2.0.yaml,line=6,title=modelreg floating-model::"
        "model.id 'claude-sonnet-4-5%25:a,b' is a floating alias"
    )
    policy = example / "modelreg.yaml"
    policy.write_text(policy.read_text() + "lint: {floating_model: error}\n")
    _, github = formats(cli, "--repo", str(example), "check")
    assert github.code == 1
    (line,) = annotations(github)
    assert line.startswith("::error file=models/summarizer/1.2.0.yaml,line=6,")


def test_check_escapes_file_names_and_messages(cli: Any, example: Path) -> None:
    odd = "smo%ke:a,b\nc\rd"
    smoke = (example / "evals/summarizer/1.1.0/smoke.yaml").read_text()
    write(example / f"evals/summarizer/1.1.0/{odd}.yaml", smoke)
    _, github = formats(cli, "--repo", str(example), "check")
    assert github.code == 1
    assert annotations(github) == [
        "::error file=evals/summarizer/1.1.0/smo%25ke%3Aa%2Cb%0Ac%0Dd.yaml,line=5,"
        "title=modelreg path-mismatch::suite 'smoke' does not match its path "
        "(evals/summarizer/1.1.0/smo%25ke:a,b%0Ac%0Dd.yaml)",
    ]
    assert len(github.out.splitlines()) == 2  # one annotation, one summary: nothing split


def test_check_in_a_registry_in_a_subfolder_of_the_repo(cli: Any, tmp_path: Path) -> None:
    repo = tmp_path / "mono"
    root = repo / ODD_FOLDER / "registry"
    shutil.copytree(EXAMPLE, root)
    write(repo / "app/main.py", "print('hi')\n")
    git(repo, "init", "-q")
    commit_all(repo)
    path = root / "models/summarizer/1.0.0.yaml"
    path.write_text(path.read_text() + "# edited\n")
    write(root / "models/summarizer/notes.txt", "hi\n")
    where = f"{ODD_FOLDER_PROP}/registry/models/summarizer"
    expected = [
        f"::error file={where}/1.0.0.yaml,title=modelreg immutable::",
        f"::error file={where}/notes.txt,title=modelreg layout::unexpected file: registry files "
        "are models/<model>/<version>.yaml, evals/<model>/<version>/<suite>.yaml and "
        "stages/<model>.yaml",
    ]
    # from the top of the repository (as CI runs it), from inside the registry, from outside
    for args, cwd in (
        (("--repo", f"{ODD_FOLDER}/registry"), repo),
        ((), root / "models"),
        (("--repo", str(root)), tmp_path),
    ):
        _, github = formats(cli, *args, "check", cwd=cwd)
        assert github.code == 1
        found = annotations(github)
        assert len(found) == 2, found
        assert found[0].startswith(expected[0])
        assert "registered version file changed in the work tree" in found[0]
        assert found[1] == expected[1]


def test_check_paths_mode_annotates_like_the_hook_runs_it(cli: Any, tmp_path: Path) -> None:
    repo = tmp_path / "mono"
    root = repo / "ml" / "registry"
    shutil.copytree(EXAMPLE, root)
    git(repo, "init", "-q")
    commit_all(repo)
    bad = SUMMARIZER_12.replace("temperature: 0.1", "temperature: hot")
    write(root / "models/summarizer/1.2.0.yaml", bad)
    _, github = formats(
        cli, "--repo", "ml/registry", "check", "ml/registry/models/summarizer/1.2.0.yaml", cwd=repo
    )
    assert github.code == 1
    assert annotations(github) == [
        "::error file=ml/registry/models/summarizer/1.2.0.yaml,line=7,title=modelreg schema::"
        'params.temperature: "hot" is not of type number',
    ]


# --- verify --------------------------------------------------------------------------------


def test_verify_success_prints_no_annotation(cli: Any, signed: Path) -> None:
    promoted = cli(
        "--repo", str(signed), "promote", "summarizer", "1.0.0",
        "--to", "development", "--reason", "first",
    )  # fmt: skip
    assert promoted.code == 0, promoted.err
    text, github = formats(cli, "--repo", str(signed), "verify", "--all")
    assert github.code == 0
    assert github.out == text.out
    assert annotations(github) == []
    assert "verified modelreg/summarizer/development/1: signed by alice@example.com" in github.out


def test_verify_problems_are_on_their_files(cli: Any, signed: Path) -> None:
    git(signed, "branch", "base")
    path = signed / "models/summarizer/1.0.0.yaml"
    path.write_text(path.read_text().replace("temperature: 0.3", "temperature: 0.9"))
    edited = commit_all(signed, "tweak a registered version")[:12]
    bad = SUMMARIZER_12.replace("temperature: 0.1", "temperature: hot")
    write(signed / "models/summarizer/1.2.0.yaml", bad)
    added = commit_all(signed, "a new version")[:12]
    _, github = formats(cli, "--repo", str(signed), "verify", "--base", "base")
    assert github.code == 1
    assert annotations(github) == [
        "::error file=models/summarizer/1.0.0.yaml,title=modelreg immutable-version::"
        "registered version file changed: a registered version never changes; make a new "
        f"version (commit {edited})",
        "::error file=models/summarizer/1.2.0.yaml,line=7,title=modelreg schema::"
        f'params.temperature: "hot" is not of type number (commit {added})',
    ]


def test_verify_finding_without_a_file(cli: Any, signed: Path) -> None:
    git(signed, "branch", "base")
    write(signed / "README.md", "notes\n")
    commit = commit_all(signed, "notes")[:12]
    git(signed, "tag", "-a", "-m", "not an action", "modelreg/summarizer/development/1")
    _, github = formats(cli, "--repo", str(signed), "verify", "--base", "base")
    assert github.code == 1
    assert (
        "::error title=modelreg tag-without-action::an action tag on a commit that changes no "
        f"state file (commit {commit}, tag modelreg/summarizer/development/1)"
    ) in annotations(github)
    assert all(" file=" not in line for line in annotations(github))


def test_verify_in_a_registry_in_a_subfolder(cli: Any, tmp_path: Path) -> None:
    repo = tmp_path / "mono"
    root = repo / ODD_FOLDER / "registry"
    shutil.copytree(EXAMPLE, root)
    git(repo, "init", "-q")
    commit_all(repo, "monorepo")
    git(repo, "branch", "base")
    state = root / "stages" / "summarizer.yaml"
    write(
        state,
        "schema: modelreg/stages/v1\nmodel: summarizer\nstages:\n"
        "  development: {version: 1.0.0, digest: 'sha256:"
        + "0" * 64
        + "', since: '2026-11-21T10:05:00Z'}\n",
    )
    commit = commit_all(repo, "hand edit")[:12]
    for args, cwd in (
        (("--repo", f"{ODD_FOLDER}/registry"), repo),
        ((), root / "models"),
        (("--repo", str(root)), tmp_path),
    ):
        _, github = formats(cli, *args, "verify", "--base", "base", cwd=cwd)
        assert github.code == 1
        assert annotations(github) == [
            f"::error file={ODD_FOLDER_PROP}/registry/stages/summarizer.yaml,"
            "title=modelreg unsigned-state-change::state file changed without a signed action "
            "tag (edited by hand?): state changes only through modelreg actions "
            f"(commit {commit})"
        ]


def test_verify_names_the_commit_whose_copy_of_a_file_is_meant(cli: Any, example: Path) -> None:
    policy = example / "modelreg.yaml"
    policy.write_text(policy.read_text().replace("stages: [", "stages: [1, "))
    broken = commit_all(example, "break the policy")[:12]
    write(example / "README.md", "notes\n")
    after = commit_all(example, "notes")[:12]
    text, github = formats(cli, "--repo", str(example), "verify", "--all")
    assert github.code == 1
    assert f"error: modelreg.yaml at {broken}: no usable policy" in text.out
    assert (
        "::error file=modelreg.yaml,title=modelreg schema::no usable policy: "
        f"stages[0]: 1 is not of type string (at {broken}, commit {after})"
    ) in annotations(github)
    # the broken commit's own copy is annotated without naming it twice
    assert (
        "::error file=modelreg.yaml,line=3,title=modelreg schema::"
        f"stages[0]: 1 is not of type string (commit {broken})"
    ) in annotations(github)


def test_the_console_script_annotates(example: Path) -> None:
    """The installed `modelreg`, in a fresh process (in process, an earlier import can hide
    an import-order bug: `modelreg.cli` binds `annotations` to the __future__ feature)."""
    write(example / "models/summarizer/notes.txt", "hi\n")
    proc = subprocess.run(
        [str(venv_bin() / "modelreg"), "check", "--format", "github"],
        cwd=example,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines()[0].startswith(
        "::error file=models/summarizer/notes.txt,title=modelreg layout::unexpected file"
    )
    assert proc.stdout.splitlines()[1] == "17 files checked: 1 problem, 0 warnings"


# --- the format option -------------------------------------------------------------------


@pytest.mark.parametrize("command", [["check"], ["verify", "--all"]])
def test_json_with_github_is_a_usage_error(cli: Any, example: Path, command: list[str]) -> None:
    result = cli("--repo", str(example), *command, "--format", "github", "--json")
    assert result.code == 2
    assert result.out == ""
    assert "--json and --format github exclude each other" in result.err
    # --json wins over the default text format, as before
    result = cli("--repo", str(example), "--json", *command, "--format", "text")
    assert result.code == 0
    assert result.json()["ok"] is True  # type: ignore[index]


@pytest.mark.parametrize("command", [["check"], ["verify", "--all"]])
def test_unknown_format_is_a_usage_error(cli: Any, example: Path, command: list[str]) -> None:
    result = cli("--repo", str(example), *command, "--format", "sarif")
    assert result.code == 2
    assert result.err == "error: unknown --format 'sarif': use one of text, github\n"
