"""Shell completion as the shells run it: the console script with `_MODELREG_COMPLETE`
set, models, versions, refs and stages from the registry; the scripts for bash,
zsh and fish; `--version`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import venv_bin, write

MODELS = ["assistant", "summarizer", "ticket-classifier"]
STAGES = ["development", "staging", "production"]


def _run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv_bin() / "modelreg"), *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )


def bash(cwd: Path, line: str) -> list[str]:
    """What bash's completion function gets for LINE (the cursor at its end)."""
    words = line.split()
    cword = len(words) if line.endswith(" ") else len(words) - 1
    proc = _run(
        cwd,
        {"_MODELREG_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(cword)},
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return [word for word in proc.stdout.splitlines() if word]  # nothing is one empty line


def test_models_versions_and_stages_complete_in_bash(example: Path) -> None:
    assert bash(example, "modelreg promote ") == MODELS
    assert bash(example, "modelreg promote t") == ["ticket-classifier"]
    assert sorted(bash(example, "modelreg promote summarizer ")) == ["1.0.0", "1.1.0"]
    assert bash(example, "modelreg promote summarizer 1.1.0 --to ") == STAGES
    assert bash(example, "modelreg promote summarizer 1.1.0 --to p") == ["production"]
    assert bash(example, "modelreg canary start summarizer --stage ") == STAGES
    assert sorted(bash(example, "modelreg canary start ticket-classifier ")) == ["1.0.0", "2.0.0"]
    assert bash(example, "modelreg log summarizer --stage ") == [*STAGES, "archived"]
    assert bash(example, "modelreg gate assistant 1.0.0 --stage s") == ["staging"]
    assert bash(example, "modelreg export --stage ") == STAGES
    assert bash(example, "modelreg at summarizer --stage ") == STAGES
    assert bash(example, "modelreg resolve ") == MODELS
    assert bash(example, "modelreg canary analyze summarizer --stage d") == ["development"]
    assert bash(example, "modelreg status ") == MODELS


def test_an_option_waiting_for_a_version_sees_the_model(example: Path) -> None:
    assert sorted(bash(example, "modelreg rollback summarizer --stage production --to ")) == [
        "1.0.0",
        "1.1.0",
    ]
    assert sorted(bash(example, "modelreg new ticket-classifier --from ")) == ["1.0.0", "2.0.0"]


def test_refs_complete_model_then_versions_and_stages(example: Path) -> None:
    assert bash(example, "modelreg diff ") == [f"{m}@" for m in MODELS]
    refs = bash(example, "modelreg show summ")
    assert sorted(refs) == sorted(
        ["summarizer@1.0.0", "summarizer@1.1.0", *(f"summarizer@{s}" for s in STAGES)]
    )
    assert bash(example, "modelreg diff summarizer@1.0.0 summarizer@p") == ["summarizer@production"]
    assert bash(example, "modelreg show nosuch@") == []


def test_commands_complete_from_the_whole_app(example: Path) -> None:
    assert bash(example, "modelreg sta") == ["status"]
    assert bash(example, "modelreg canary ") == ["start", "weight", "promote", "abort", "analyze"]
    assert bash(example, "modelreg completion ") == ["bash", "zsh", "fish"]


def test_repo_before_the_command_and_nothing_outside_a_registry(
    example: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert bash(elsewhere, f"modelreg --repo {example} list ") == MODELS
    assert bash(elsewhere, "modelreg promote ") == []  # not a registry: nothing, no error
    assert bash(elsewhere, "modelreg promote summarizer 1.0.0 --to ") == []


def test_a_broken_policy_completes_no_stages_and_says_nothing(example: Path) -> None:
    write(example / "modelreg.yaml", "stages: [a, a\n")
    assert bash(example, "modelreg promote summarizer 1.0.0 --to ") == []
    assert bash(example, "modelreg promote ") == MODELS  # folders still answer


def test_zsh_and_fish_get_the_same_answers(example: Path) -> None:
    zsh = _run(
        example,
        {"_MODELREG_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "modelreg promote summ"},
    )
    assert zsh.returncode == 0 and zsh.stderr == ""
    assert zsh.stdout.startswith("_arguments '*: :((") and '"summarizer"' in zsh.stdout
    fish_env = {"_MODELREG_COMPLETE": "complete_fish", "_TYPER_COMPLETE_FISH_ACTION": "get-args"}
    fish = _run(
        example, {**fish_env, "_TYPER_COMPLETE_ARGS": "modelreg promote summarizer 1.0.0 --to "}
    )
    assert fish.returncode == 0 and fish.stdout.splitlines() == STAGES
    is_args = {**fish_env, "_TYPER_COMPLETE_FISH_ACTION": "is-args"}
    assert _run(example, {**is_args, "_TYPER_COMPLETE_ARGS": "modelreg show "}).returncode == 0


@pytest.mark.parametrize(
    ("shell", "marks"),
    [
        ("bash", ["complete -o default -F _modelreg_completion modelreg", "=complete_bash"]),
        ("zsh", ["#compdef modelreg", "compdef _modelreg_completion modelreg", "=complete_zsh"]),
        ("fish", ["complete --command modelreg", "=complete_fish"]),
    ],
)
def test_completion_prints_the_script(tmp_path: Path, shell: str, marks: list[str]) -> None:
    proc = _run(tmp_path, {}, "completion", shell)  # needs no registry
    assert proc.returncode == 0 and proc.stderr == ""
    for mark in marks:
        assert mark in proc.stdout
    assert "_MODELREG_COMPLETE" in proc.stdout
    # typer's own instruction prints the same script
    same = _run(tmp_path, {"_MODELREG_COMPLETE": f"source_{shell}"})
    assert same.stdout.strip() == proc.stdout.strip()


def test_completion_refuses_another_shell(cli) -> None:
    result = cli("completion", "tcsh")
    assert result.code == 2
    assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in result.err


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_bash_script_completes_in_a_real_bash(example: Path) -> None:
    script = (
        'eval "$(modelreg completion bash)"\n'
        'COMP_WORDS=(modelreg promote summarizer 1.1.0 --to ""); COMP_CWORD=5\n'
        "_modelreg_completion modelreg\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{venv_bin()}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        cwd=example,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == STAGES


def test_version_from_the_console_script(tmp_path: Path) -> None:
    from importlib.metadata import version

    proc = _run(tmp_path, {}, "--version")
    assert proc.returncode == 0 and proc.stdout == f"modelreg {version('modelreg')}\n"
