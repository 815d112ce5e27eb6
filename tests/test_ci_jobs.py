"""The CI jobs in `ci/` run for real: their shell steps, as written, against pull requests.

Each CI file is parsed with PyYAML (as the CI systems do), the steps that run
modelreg are taken out as shell, and run with `bash -e -c` in a checkout of a
real pull request, with the CI system's variables set: a bare "origin" whose
main holds the registry and a signed promotion, and a feature branch on top.
Only the steps CI provides itself (`uses:` actions) and the pip install are
left out: the test venv's console script stands in for the installed modelreg.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml

from conftest import PROJECT, Key, commit_all, git, use_key, venv_bin

Cli = Callable[..., Any]
CI = PROJECT / "ci"


@dataclass(frozen=True)
class Job:
    file: str
    base_var: str  # the variable that names the target branch
    checkout: str  # what CI checks out: "merge" (a test merge into main) or "head"


GITHUB = Job("github-verify.yml", "GITHUB_BASE_REF", "merge")
GITLAB = Job("gitlab-verify.yml", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "head")


def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((CI / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _is_install(line: str) -> bool:
    return line.strip().startswith("pip install")


def github_steps(workflow: dict[str, Any]) -> list[str]:
    """The `run:` scripts of every job, in order: one shell each, as on GitHub."""
    return [
        step["run"]
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if "run" in step and not _is_install(step["run"])
    ]


def gitlab_steps(config: dict[str, Any]) -> list[str]:
    """The `script:` of every job, as one shell each (GitLab stops at the first failing line)."""
    jobs = [job for key, job in config.items() if isinstance(job, dict) and "script" in job]
    return ["\n".join(line for line in job["script"] if not _is_install(line)) for job in jobs]


def steps_of(job: Job) -> list[str]:
    data = _load(job.file)
    steps = github_steps(data) if job is GITHUB else gitlab_steps(data)
    assert steps and all("modelreg" in step for step in steps)
    return steps


def run_steps(job: Job, checkout: Path) -> tuple[int, str]:
    """Run the job's steps in CHECKOUT like CI does: stop at the first one that fails."""
    env = {
        **os.environ,
        "PATH": f"{venv_bin()}{os.pathsep}{os.environ['PATH']}",
        job.base_var: "main",
    }
    output = ""
    for script in steps_of(job):
        proc = subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        output += proc.stdout + proc.stderr
        if proc.returncode != 0:
            return proc.returncode, output
    return 0, output


# --- the pull requests -----------------------------------------------------------------


def _ok(result: Any) -> None:
    assert result.code == 0, result.err


def origin_with_promotion(cli: Cli, signed: Path, tmp_path: Path) -> Path:
    """A bare origin whose main holds the registry and alice's signed promotion."""
    _ok(
        cli(
            "--repo", str(signed), "promote", "summarizer", "1.0.0",
            "--to", "development", "--reason", "first summarizer",
        )
    )  # fmt: skip
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(signed), str(origin))
    return origin


def feature_branch(origin: Path, tmp_path: Path, key: Key) -> Path:
    """A developer's clone of origin, on a new branch `feature`, signing with KEY."""
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(origin), str(work))
    git(work, "checkout", "-q", "-b", "feature")
    use_key(key, work)
    return work


def ci_checkout(origin: Path, tmp_path: Path, job: Job) -> Path:
    """What the CI system checks out for the pull request of `feature` into main.

    GitHub checks out a test merge of the head into the target branch
    (refs/pull/N/merge), GitLab the head commit; both detached, full history.
    """
    checkout = tmp_path / f"ci-{job.file.split('-')[0]}"
    git(tmp_path, "clone", "-q", str(origin), str(checkout))
    if job.checkout == "merge":
        git(checkout, "checkout", "-q", "--detach", "origin/main")
        git(checkout, "merge", "-q", "--no-ff", "-m", "Merge feature into main", "origin/feature")
    else:
        git(checkout, "checkout", "-q", "--detach", "origin/feature")
    return checkout


def test_good_pull_request_passes(
    cli: Cli, signed: Path, keys: dict[str, Key], tmp_path: Path
) -> None:
    origin = origin_with_promotion(cli, signed, tmp_path)
    work = feature_branch(origin, tmp_path, keys["bob"])
    _ok(
        cli(
            "--repo", str(work), "promote", "summarizer", "1.0.0",
            "--to", "staging", "--reason", "smoke passed", "--push",
        )
    )  # fmt: skip

    for job in (GITHUB, GITLAB):
        code, output = run_steps(job, ci_checkout(origin, tmp_path, job))

        assert code == 0, (job.file, output)
        assert "verified modelreg/summarizer/staging/1: signed by bob@example.com" in output
        assert "summarizer/development/1" not in output  # main's action is the trusted base
        assert "files checked: ok" in output


def test_hand_edited_state_fails(
    cli: Cli, signed: Path, keys: dict[str, Key], tmp_path: Path
) -> None:
    origin = origin_with_promotion(cli, signed, tmp_path)
    work = feature_branch(origin, tmp_path, keys["alice"])
    state = work / "stages" / "summarizer.yaml"
    text = state.read_text()
    assert "version: 1.0.0" in text
    state.write_text(text.replace("version: 1.0.0", "version: 1.1.0"))
    commit_all(work, "summarizer 1.1.0 in development")
    git(work, "push", "-q", "origin", "feature")

    for job in (GITHUB, GITLAB):
        code, output = run_steps(job, ci_checkout(origin, tmp_path, job))

        assert code == 1, (job.file, output)
        # GitHub's job annotates the line (--format github); GitLab's prints text
        flag = (
            "title=modelreg unsigned-state-change::" if job is GITHUB else "[unsigned-state-change]"
        )
        assert flag in output
        assert "stages/summarizer.yaml" in output


def test_shallow_checkout_is_an_environment_failure(signed: Path, tmp_path: Path) -> None:
    """Without the full history (fetch-depth: 0 / GIT_DEPTH: 0 left out), verify stops: exit 3."""
    checkout = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", signed.as_uri(), str(checkout))

    code, output = run_steps(GITLAB, checkout)

    assert code == 3, output
    assert "shallow clone" in output


# --- the files themselves ----------------------------------------------------------------


def test_github_workflow_runs_on_pull_requests_with_full_history() -> None:
    workflow = _load(GITHUB.file)
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 (PyYAML) reads the key `on` as true
    assert on == "pull_request" or "pull_request" in on
    (job,) = workflow["jobs"].values()
    checkout = next(
        s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout")
    )
    assert checkout["with"]["fetch-depth"] == 0
    assert any(str(s.get("uses", "")).startswith("actions/setup-python") for s in job["steps"])
    runs = "\n".join(s["run"] for s in job["steps"] if "run" in s)
    assert f'pip install "modelreg=={version("modelreg")}"' in runs  # pinned like init's workflow
    assert 'git fetch origin "$GITHUB_BASE_REF"' in runs
    assert 'modelreg verify --base "origin/$GITHUB_BASE_REF"' in runs
    assert "modelreg check --all" in runs


def test_gitlab_job_runs_on_merge_requests_with_full_history() -> None:
    ((name, job),) = _load(GITLAB.file).items()
    assert name == "modelreg-verify"
    assert str(job["variables"]["GIT_DEPTH"]) == "0"
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    script = job["script"]
    assert script[0] == f'pip install "modelreg=={version("modelreg")}"'
    assert 'git fetch origin "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"' in script
    assert 'modelreg verify --base "origin/$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"' in script
    assert "modelreg check --all" in script


def test_readme_shows_the_ci_files_as_they_are() -> None:
    """The README's copies of the CI files are the files (the README is what users copy)."""
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    for job in (GITHUB, GITLAB):
        assert (CI / job.file).read_text(encoding="utf-8") in readme, job.file


def test_the_diff_workflow_writes_each_new_versions_diff_as_markdown(
    cli: Cli, signed: Path, keys: dict[str, Key], tmp_path: Path
) -> None:
    """ci/github-diff.yml's diff step, as written, on a pull request that adds a version;
    only the `gh pr comment` step (GitHub's own tool and token) is left out."""
    workflow = _load("github-diff.yml")
    (diff_step,) = [
        step["run"]
        for step in workflow["jobs"]["diff"]["steps"]
        if "modelreg diff" in step.get("run", "")
    ]
    posting = [
        step["run"] for step in workflow["jobs"]["diff"]["steps"] if "gh pr" in step.get("run", "")
    ]
    assert posting and "--body-file diff.md" in posting[0]
    assert (CI / "github-diff.yml").read_text(encoding="utf-8") in (
        PROJECT / "README.md"
    ).read_text(encoding="utf-8")

    origin = origin_with_promotion(cli, signed, tmp_path)
    work = feature_branch(origin, tmp_path, keys["alice"])
    parent = (work / "models" / "summarizer" / "1.1.0.yaml").read_text()
    new = parent.replace("parent: 1.0.0", "parent: 1.1.0")
    new = new.replace("version: 1.1.0", "version: 1.2.0", 1)
    assert new != parent and "parent: 1.1.0" in new
    (work / "models" / "summarizer" / "1.2.0.yaml").write_text(
        new.replace("temperature: 0.2", "temperature: 0.3")
    )
    commit_all(work, "summarizer 1.2.0")
    git(work, "push", "-q", "origin", "feature")

    checkout = ci_checkout(origin, tmp_path, GITHUB)
    env = {
        **os.environ,
        "PATH": f"{venv_bin()}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_BASE_REF": "main",
    }
    proc = subprocess.run(
        ["bash", "-e", "-c", diff_step],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    markdown = (checkout / "diff.md").read_text()
    expected = subprocess.run(
        [str(venv_bin() / "modelreg"), "diff", "summarizer@1.1.0", "summarizer@1.2.0", "--format", "markdown"],
        cwd=checkout, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert markdown == expected + "\n"
    assert "summarizer@1.1.0" in markdown and "temperature" in markdown
