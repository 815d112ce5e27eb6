"""`check`: every rule, every finding reported, exit codes, paths mode, immutability against HEAD."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import commit_all, git, write

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


def problems(result) -> list[tuple[str, int, str]]:  # type: ignore[no-untyped-def]
    data = result.json()
    return [(p.get("file", ""), p.get("line", 0), p["rule"]) for p in data["problems"]]


def test_example_registry_passes(cli, example: Path) -> None:
    result = cli("--repo", str(example), "check", "--all")
    assert result.code == 0, result.out
    assert result.out.strip().endswith(": ok")
    assert result.err == ""


def test_example_registry_passes_outside_git(cli, loose_example: Path) -> None:
    result = cli("--repo", str(loose_example), "--json", "check")
    assert result.code == 0
    data = result.json()
    assert data["ok"] is True and data["problems"] == []
    assert data["checked"] >= 14


def test_good_new_version_passes(cli, example: Path) -> None:
    write(example / "models/summarizer/1.2.0.yaml", SUMMARIZER_12)
    assert cli("--repo", str(example), "check").code == 0


@pytest.mark.parametrize(
    ("edit", "rule", "line"),
    [
        (("version: 1.2.0", "version: 1.3.0"), "path-mismatch", 3),
        (("name: summarizer", "name: summariser"), "path-mismatch", 2),
        (("parent: 1.1.0", "parent: 1.9.0"), "parent", 5),
        (("parent: 1.1.0", "parent: 1.2.0"), "parent", 5),
        (
            ("changes: {summary: Shorter summaries., reason: Users skim (TICKET-500).}\n", ""),
            "schema",
            5,
        ),
        (("summary: Shorter summaries.", "summary: ''"), "schema", 9),
        (("kind: prompt-config", "kind: fine-tuned"), "schema", 1),
        (("kind: prompt-config", "kind: prompt"), "schema", 4),
        (("temperature: 0.1", "temperature: hot"), "schema", 7),
        (("author: alice@example.com\n", "author: alice@example.com\nowner: bob\n"), "schema", 12),
        (("version: 1.2.0", "version: 1.10"), "schema", 3),
    ],
)
def test_version_rules(cli, example: Path, edit: tuple[str, str], rule: str, line: int) -> None:
    text = SUMMARIZER_12.replace(*edit)
    assert text != SUMMARIZER_12
    write(example / "models/summarizer/1.2.0.yaml", text)
    result = cli("--repo", str(example), "--json", "check")
    assert result.code == 1
    found = problems(result)
    assert ("models/summarizer/1.2.0.yaml", line, rule) in [
        (Path(f).as_posix().split("registry/")[-1], ln, r) for f, ln, r in found
    ]


def test_quote_advice_for_float_version(cli, example: Path) -> None:
    write(
        example / "models/summarizer/1.2.0.yaml",
        SUMMARIZER_12.replace("version: 1.2.0", "version: 1.10"),
    )
    result = cli("--repo", str(example), "check")
    assert result.code == 1
    assert "version: must be a string; quote it: '1.10' (a bare 1.10 is a number)" in result.out


def test_first_version_needs_no_parent_but_later_ones_do(cli, example: Path) -> None:
    write(
        example / "models/summarizer/1.2.0.yaml",
        SUMMARIZER_12.replace("parent: 1.1.0\n", "").replace(
            "changes: {summary: Shorter summaries., reason: Users skim (TICKET-500).}\n", ""
        ),
    )
    result = cli("--repo", str(example), "check")
    assert result.code == 1
    assert re.search(
        r"1\.2\.0\.yaml:1: parent is required: summarizer already has 1\.1\.0 .*\[parent\]",
        result.out,
    )


def test_every_finding_is_reported_not_just_the_first(cli, example: Path) -> None:
    write(
        example / "models/summarizer/1.2.0.yaml",
        SUMMARIZER_12.replace("parent: 1.1.0", "parent: 1.9.0"),
    )
    write(example / "models/assistant/1.1.0.yaml", "a: 1\na: 2\n")
    write(example / "evals/summarizer/1.1.0/extra.yaml", "schema: modelreg/eval/v1\n")
    result = cli("--repo", str(example), "--json", "check")
    files = {Path(p["file"]).name for p in result.json()["problems"]}
    assert {"1.2.0.yaml", "1.1.0.yaml", "extra.yaml"} <= files


def test_eval_of_another_config_is_refused(cli, example: Path) -> None:
    # The eval of 1.0.0 copied beside 1.1.0: its digest names the other config.
    src = (
        (example / "evals/summarizer/1.0.0/smoke.yaml")
        .read_text()
        .replace("version: 1.0.0", "version: 1.1.0")
    )
    write(example / "evals/summarizer/1.1.0/smoke.yaml", src)
    result = cli("--repo", str(example), "check")
    assert result.code == 1
    line = next(ln for ln in result.out.splitlines() if "[eval-digest]" in ln)
    assert "evals/summarizer/1.1.0/smoke.yaml:4:" in line
    assert "this eval is about another config" in line


def test_eval_path_mismatch_and_orphan(cli, example: Path) -> None:
    src = (example / "evals/summarizer/1.0.0/smoke.yaml").read_text()
    write(example / "evals/summarizer/1.0.0/latency.yaml", src)  # suite says smoke
    write(
        example / "evals/summarizer/9.0.0/smoke.yaml",
        src.replace("version: 1.0.0", "version: 9.0.0"),
    )
    result = cli("--repo", str(example), "check")
    assert "latency.yaml:5: suite 'smoke' does not match its path" in result.out
    assert "no version file models/summarizer/9.0.0.yaml for this eval [eval-orphan]" in result.out


def test_floating_model_is_a_warning_unless_policy_says_error(cli, example: Path) -> None:
    write(
        example / "models/summarizer/1.2.0.yaml",
        SUMMARIZER_12.replace("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
    )
    result = cli("--repo", str(example), "check")
    assert result.code == 0
    assert re.search(
        r"warning: .*1\.2\.0\.yaml:6: model.id 'claude-sonnet-4-5' is a floating alias.*production",
        result.out,
    )
    policy = example / "modelreg.yaml"
    policy.write_text(policy.read_text() + "lint: {floating_model: error}\n")
    result = cli("--repo", str(example), "check")
    assert result.code == 1
    assert "error: " in result.out and "[floating-model]" in result.out


def test_tools_are_meta_validated_and_unique(cli, example: Path) -> None:
    text = (example / "models/assistant/1.0.0.yaml").read_text()
    text = text.replace(
        "version: 1.0.0", "version: 1.1.0\nparent: 1.0.0\nchanges: {summary: a, reason: b}"
    )
    text = text.replace("limit: {type: integer, minimum: 1, maximum: 20}", "limit: {type: integr}")
    text = text.replace("- name: search_docs", "- name: lookup_ticket")
    write(example / "models/assistant/1.1.0.yaml", text)
    result = cli("--repo", str(example), "check")
    assert result.code == 1
    assert "duplicate tool name 'lookup_ticket'" in result.out
    assert "tools[1].input_schema.properties.limit.type: not a valid JSON Schema" in result.out


def test_policy_problems(cli, example: Path) -> None:
    policy = example / "modelreg.yaml"
    text = (
        policy.read_text()
        .replace("from: [staging]", "from: [qa]")
        .replace("signers: [release-managers]", "signers: [release-managerz]")
    )
    policy.write_text(text)
    result = cli("--repo", str(example), "check")
    assert result.code == 1
    assert "stage_rules.production.from: no such stage 'qa' [policy]" in result.out
    assert "'release-managerz' is neither a group nor a principal [policy]" in result.out


def test_allowed_signers_lines_are_checked(cli, example: Path) -> None:
    signers = example / ".modelreg/allowed_signers"
    signers.write_text(
        signers.read_text()
        + 'bob@example.com namespaces="git" ssh-ed25519 not-base64!!\n'
        + 'carol@example.com namespaces="file" '
        + signers.read_text().splitlines()[-1].split(" ", 2)[2]
        + "\n"
    )
    result = cli("--repo", str(example), "--json", "check")
    assert result.code == 1
    by_line = {p["line"]: p["message"] for p in result.json()["problems"] if p["rule"] == "signers"}
    lines = signers.read_text().splitlines()
    assert "not valid base64" in by_line[len(lines) - 1]
    assert 'namespaces must include "git"' in by_line[len(lines)]


def test_missing_revocation_file_fails_closed(cli, example: Path) -> None:
    (example / ".modelreg/revoked_keys").unlink()
    result = cli("--repo", str(example), "check")
    assert result.code == 1
    assert "signing.revocation_file: .modelreg/revoked_keys does not exist [signers]" in result.out


def test_stage_file_must_match_versions(cli, example: Path) -> None:
    write(
        example / "stages/summarizer.yaml",
        "schema: modelreg/stages/v1\nmodel: summarizer\nstages:\n"
        "  production: {version: 1.1.0, digest: 'sha256:"
        + "0"
        * 64
        + "', since: '2026-11-21T10:05:00Z'}\n"
        "  qa: null\narchived: [0.9.0]\n",
    )
    result = cli("--repo", str(example), "check")
    assert result.code == 1
    assert "production version digest does not match summarizer@1.1.0 [stage-state]" in result.out
    assert "stage 'qa' is not in policy's stages [stage-state]" in result.out
    assert "archived version summarizer@0.9.0 does not exist [stage-state]" in result.out


def test_unexpected_files_and_symlinks(cli, example: Path, tmp_path: Path) -> None:
    write(example / "models/summarizer/notes.txt", "hi")
    outside = write(tmp_path / "outside.yaml", SUMMARIZER_12)
    (example / "models/summarizer/1.2.0.yaml").symlink_to(outside)
    result = cli("--repo", str(example), "check")
    assert result.code == 1
    assert "notes.txt: unexpected file" in result.out
    assert "1.2.0.yaml: symbolic links are not allowed in a registry [symlink]" in result.out


@pytest.mark.parametrize("where", ["index", "work tree"])
def test_registered_version_is_immutable(cli, example: Path, where: str) -> None:
    path = example / "models/summarizer/1.0.0.yaml"
    path.write_text(path.read_text().replace("temperature: 0.3", "temperature: 0.4"))
    if where == "index":
        git(example, "add", "models/summarizer/1.0.0.yaml")
    result = cli("--repo", str(example), "check")
    assert result.code == 1
    assert (
        f"models/summarizer/1.0.0.yaml: registered version file changed in the {where}"
        in result.out
    )
    assert "[immutable]" in result.out


def test_deleted_registered_version_is_reported_even_in_paths_mode(cli, example: Path) -> None:
    git(example, "rm", "-q", "models/ticket-classifier/1.0.0.yaml")
    result = cli("check", "models/summarizer/1.1.0.yaml", cwd=example)
    assert result.code == 1
    assert (
        "models/ticket-classifier/1.0.0.yaml: registered version file deleted in the index"
        in result.out
    )


def test_paths_mode_checks_only_those_files_and_their_evals(cli, example: Path) -> None:
    write(example / "models/assistant/1.1.0.yaml", "a: 1\na: 2\n")
    bad = SUMMARIZER_12.replace(
        "changes: {summary: Shorter summaries., reason: Users skim (TICKET-500).}\n", ""
    )
    write(example / "models/summarizer/1.2.0.yaml", bad)
    src = (
        (example / "evals/summarizer/1.1.0/smoke.yaml")
        .read_text()
        .replace("version: 1.1.0", "version: 1.2.0")
    )
    write(example / "evals/summarizer/1.2.0/smoke.yaml", src)
    result = cli("--json", "check", "models/summarizer/1.2.0.yaml", cwd=example)
    assert result.code == 1
    files = {p["file"] for p in result.json()["problems"]}
    # the eval of 1.2.0 is checked with it (its digest names 1.1.0); assistant is not
    assert files == {"models/summarizer/1.2.0.yaml", "evals/summarizer/1.2.0/smoke.yaml"}


def test_paths_outside_the_registry_are_ignored(cli, example: Path, tmp_path: Path) -> None:
    other = write(tmp_path / "elsewhere.yaml", "a: 1\na: 1\n")
    result = cli("--repo", str(example), "check", str(other))
    assert result.code == 0


def test_monorepo_registry_in_a_subfolder(cli, tmp_path: Path) -> None:
    import shutil

    from conftest import EXAMPLE

    repo = tmp_path / "mono"
    shutil.copytree(EXAMPLE, repo / "ml" / "registry")
    write(repo / "app/main.py", "print('hi')\n")
    git(repo, "init", "-q")
    commit_all(repo)
    path = repo / "ml/registry/models/summarizer/1.0.0.yaml"
    path.write_text(path.read_text() + "# edited\n")
    result = cli("check", cwd=repo / "ml" / "registry" / "models")
    assert result.code == 1
    assert "registered version file changed in the work tree" in result.out
    # pre-commit style: run from the top with paths relative to it
    result = cli(
        "--repo", "ml/registry", "check", "ml/registry/models/summarizer/1.1.0.yaml", cwd=repo
    )
    assert result.code == 1 and "[immutable]" in result.out


def test_check_all_and_paths_together_is_a_usage_error(cli, example: Path) -> None:
    result = cli("--repo", str(example), "check", "--all", "modelreg.yaml")
    assert result.code == 2
    assert result.err.startswith("error: ")


def test_not_a_registry_is_exit_2(cli, tmp_path: Path) -> None:
    result = cli("check", cwd=tmp_path)
    assert result.code == 2
    assert result.err.strip().startswith("error: no modelreg.yaml in")
    assert "Traceback" not in result.err


def test_broken_policy_is_a_finding_for_check_but_bad_input_for_status(cli, example: Path) -> None:
    (example / "modelreg.yaml").write_text("schema: modelreg/registry/v1\nstages: [a, a]\n")
    result = cli("--repo", str(example), "check")
    assert result.code == 1 and "modelreg.yaml:2: stages: " in result.out
    result = cli("--repo", str(example), "status")
    assert result.code == 2
    assert result.err.startswith("error: ") and "modelreg.yaml:2: stages: " in result.err
    assert result.err.count("\n") == 1


def test_a_fifo_named_like_a_version_is_refused_not_waited_on(example: Path) -> None:
    import os
    import subprocess

    from conftest import venv_bin

    os.mkfifo(example / "models/summarizer/3.0.0.yaml")
    proc = subprocess.run(
        [str(venv_bin() / "modelreg"), "--repo", str(example), "check"],
        capture_output=True,
        text=True,
        timeout=120,  # a hang fails the test instead of the run
    )
    assert proc.returncode == 1
    assert "models/summarizer/3.0.0.yaml:1: not a regular file [yaml]" in proc.stdout


def test_a_huge_sparse_file_is_refused_without_reading_it(cli, example: Path) -> None:
    import resource

    path = example / "evals/summarizer/1.1.0/huge.yaml"
    with open(path, "wb") as f:
        f.truncate(2 * 1024**3)  # 2 GiB of holes: reading it would take seconds and gigabytes
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = cli("--repo", str(example), "check")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert result.code == 1
    assert "huge.yaml:1: file is over the 1048576-byte limit [yaml]" in result.out
    assert after - before < 200 * 1024  # KiB: far below the file's size


def test_missing_paths_are_usage_errors_and_folders_expand(cli, example: Path) -> None:
    result = cli("check", "models/summarizer/9.9.9.yaml", cwd=example)
    assert (
        result.code == 2
        and result.err.strip() == "error: models/summarizer/9.9.9.yaml: no such file or folder"
    )
    write(example / "models/assistant/1.1.0.yaml", "a: 1\na: 2\n")
    result = cli("--json", "check", "models/assistant", cwd=example)
    assert result.code == 1
    assert {p["file"] for p in result.json()["problems"]} == {"models/assistant/1.1.0.yaml"}
    whole = cli("--json", "check", ".", cwd=example).json()
    assert whole["checked"] == cli("--json", "check", cwd=example).json()["checked"]


def test_paths_mode_checks_the_parent_and_the_version_of_an_eval(cli, example: Path) -> None:
    # a broken parent is reported when its child is checked
    git(example, "rm", "-q", "--cached", "models/summarizer/1.1.0.yaml")
    parent = example / "models/summarizer/1.1.0.yaml"
    parent.write_text(parent.read_text().replace("kind: prompt-config", "kind: prompt"))
    write(example / "models/summarizer/1.2.0.yaml", SUMMARIZER_12)
    files = {
        p["file"]
        for p in cli("--json", "check", "models/summarizer/1.2.0.yaml", cwd=example).json()[
            "problems"
        ]
    }
    assert "models/summarizer/1.1.0.yaml" in files
    # an eval's version file is checked with the eval
    files = {
        p["file"]
        for p in cli("--json", "check", "evals/summarizer/1.1.0/smoke.yaml", cwd=example).json()[
            "problems"
        ]
    }
    assert "models/summarizer/1.1.0.yaml" in files


def test_bad_pinned_pattern_is_a_finding_not_a_crash(cli, example: Path) -> None:
    policy = example / "modelreg.yaml"
    policy.write_text(policy.read_text() + "pinned_patterns: ['(']\n")
    write(
        example / "models/summarizer/1.2.0.yaml",
        SUMMARIZER_12.replace("claude-sonnet-4-5-20250929", "claude-x"),
    )
    result = cli("--repo", str(example), "check")
    assert result.code == 1
    assert "pinned_patterns[0]: bad regex" in result.out and "[floating-model]" in result.out


def test_stage_file_must_be_consistent(cli, example: Path) -> None:
    digest = {
        v: cli("--repo", str(example), "--json", "show", f"summarizer@{v}").json()["digest"]
        for v in ("1.0.0", "1.1.0")
    }
    write(
        example / "stages/summarizer.yaml",
        "schema: modelreg/stages/v1\nmodel: summarizer\nstages:\n"
        f"  production: {{version: 1.1.0, digest: '{digest['1.1.0']}', previous: 0.5.0, since: '2026-11-21T10:05:00Z',"
        f" canary: {{version: 1.1.0, digest: '{digest['1.1.0']}', weight: 5, since: '2026-11-22T10:05:00Z'}}}}\n"
        f"  staging: {{version: 1.0.0, digest: '{digest['1.0.0']}', since: '2026-11-21T09:00:00Z'}}\n"
        "archived: [1.0.0]\n",
    )
    result = cli("--repo", str(example), "check")
    assert result.code == 1
    assert "production canary 1.1.0 is the version it serves [stage-state]" in result.out
    assert "production previous summarizer@0.5.0 is not registered [stage-state]" in result.out
    assert "archived summarizer@1.0.0 still serves staging" in result.out


def test_stage_file_tag_chain_names_must_be_action_tags(cli, example: Path) -> None:
    dg = cli("--repo", str(example), "--json", "show", "summarizer@1.1.0").json()["digest"]
    write(
        example / "stages/summarizer.yaml",
        "schema: modelreg/stages/v1\nmodel: summarizer\nstages:\n"
        f"  production: {{version: 1.1.0, digest: '{dg}', since: '2026-11-21T10:05:00Z'}}\n"
        "tags:\n  production: modelreg/assistant/production/1\n"
        "  staging: modelreg/summarizer/staging/x\n  archived: modelreg/summarizer/archived/2\n",
    )
    result = cli("--repo", str(example), "check")
    assert result.code == 1
    lines = [ln for ln in result.out.splitlines() if "[stage-state]" in ln]
    assert len(lines) == 2, result.out  # archived/2 is a valid chain name
    assert "tags.production: 'modelreg/assistant/production/1' is not an action tag" in lines[0]
    assert "tags.staging:" in lines[1]


def test_paths_only_checks_nothing_but_what_is_given(cli, example: Path) -> None:
    write(example / "models/assistant/1.1.0.yaml", "a: 1\na: 2\n")
    assert cli("check", "--paths-only", cwd=example).code == 0  # nothing given: nothing but HEAD
    assert cli("check", "--paths-only", "models/assistant/1.1.0.yaml", cwd=example).code == 1
    git(example, "rm", "-q", "models/summarizer/1.0.0.yaml")
    result = cli("check", "--paths-only", cwd=example)
    assert result.code == 1 and "registered version file deleted in the index" in result.out
    assert cli("check", "--all", "--paths-only", cwd=example).code == 2


@pytest.mark.parametrize(
    ("pattern", "refused"),
    [
        ("^(a|aa)*$", "exponential"),
        ("(a+)+b", "exponential"),
        ("(?:x*)*", "exponential"),
        ("a{99999999999}", "bad regex"),
        ("(" * 300 + ")" * 300, "longer than"),
        ("^my-model-v\\d+$", None),
        ("([a-z]+-)?v\\d+", None),
        ("(ab)+", None),
        ("[(+*)]+", None),
    ],
)
def test_pinned_patterns_that_could_hang_or_crash_are_refused(
    pattern: str, refused: str | None
) -> None:
    from modelreg.core.pinning import pattern_problem

    problem = pattern_problem(pattern)
    assert (problem is None) == (refused is None)
    if refused:
        assert refused in problem  # type: ignore[operator]


def test_a_catastrophic_pinned_pattern_does_not_hang_check(cli, example: Path) -> None:
    policy = example / "modelreg.yaml"
    policy.write_text(policy.read_text() + "pinned_patterns: ['^(a|aa)*$']\n")
    write(
        example / "models/summarizer/1.2.0.yaml",
        SUMMARIZER_12.replace("claude-sonnet-4-5-20250929", "a" * 60 + "!"),
    )
    result = cli("--repo", str(example), "check")  # would run for hours if the pattern were used
    assert result.code == 1
    assert "pinned_patterns[0]: a repeated group repeats or alternates inside" in result.out


def test_list_shows_an_unfinished_draft_without_hiding_the_rest(cli, example: Path) -> None:
    assert cli("--repo", str(example), "new", "summarizer").code == 0
    result = cli("--repo", str(example), "--json", "list", "summarizer")
    assert result.code == 0
    rows = {v["version"]: v for v in result.json()["versions"]}
    assert rows["1.1.0"]["digest"].startswith("sha256:")
    assert rows["1.2.0"]["digest"] is None
    assert rows["1.2.0"]["problem"].endswith(
        "models/summarizer/1.2.0.yaml:16: changes.summary: must not be empty (run `modelreg check` for every problem)"
    )
    assert "warning: " in result.err and "1.2.0.yaml:16" in result.err


@pytest.mark.parametrize("hide", ["--skip-worktree", "--assume-unchanged"])
def test_an_edit_hidden_from_git_diff_is_still_caught(cli, example: Path, hide: str) -> None:
    path = example / "models/summarizer/1.0.0.yaml"
    git(example, "update-index", hide, "models/summarizer/1.0.0.yaml")
    path.write_text(path.read_text().replace("temperature: 0.3", "temperature: 1.9"))
    assert git(example, "diff", "--name-only", "HEAD") == ""  # git itself sees nothing
    result = cli("--repo", str(example), "check")
    assert result.code == 1
    assert (
        "models/summarizer/1.0.0.yaml: registered version file changed in the work tree"
        in result.out
    )


def test_a_git_filter_that_rewrites_a_version_is_caught(cli, example: Path) -> None:
    # `ident` expands $Id$ on checkout: the work tree's bytes (and digest) differ from the blob's
    path = example / "models/summarizer/1.1.0.yaml"
    git(example, "rm", "-q", "--cached", "models/summarizer/1.1.0.yaml")
    path.write_text(path.read_text() + "# $Id$\n")
    write(example / ".gitattributes", "models/** ident\n")
    commit_all(example, "ident on models")
    path.unlink()
    git(example, "checkout", "--", "models/summarizer/1.1.0.yaml")
    assert "$Id: " in path.read_text()
    assert git(example, "status", "--porcelain") == ""
    result = cli("--repo", str(example), "check")
    assert result.code == 1
    assert (
        "models/summarizer/1.1.0.yaml: registered version file changed in the work tree"
        in result.out
    )
    assert "`ident` attribute" in result.out


@pytest.mark.parametrize(
    "model_id",
    ["claude-sonnet-4-5-２０２５０９２９", "gpt-4o-٢٠٢٤-٠٨-٠٦", "claude-sonnet-4-5\\n-20250929"],
)
def test_look_alike_snapshot_dates_are_floating(cli, example: Path, model_id: str) -> None:
    write(
        example / "models/summarizer/1.2.0.yaml",
        SUMMARIZER_12.replace("id: claude-sonnet-4-5-20250929", f'id: "{model_id}"'),
    )
    result = cli("--repo", str(example), "check")
    assert "[floating-model]" in result.out


def test_the_summary_counts_what_is_printed(cli, example: Path) -> None:
    assert cli("--repo", str(example), "new", "summarizer").code == 0
    result = cli("--repo", str(example), "check")
    printed = [line for line in result.out.splitlines() if line.startswith("error: ")]
    assert len(printed) == 2  # changes.summary and changes.reason, once each
    assert result.out.splitlines()[-1].endswith(": 2 problems, 0 warnings")
