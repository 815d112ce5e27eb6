"""The CLI contract: help everywhere, the error funnel, exit codes, global options, JSON on stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import venv_bin


def _walk_commands():  # type: ignore[no-untyped-def]
    import typer

    from modelreg.cli.app import app

    root = typer.main.get_command(app)
    yield "modelreg", root
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        yield f"modelreg {name}", command
        for sub_name, sub in getattr(command, "commands", {}).items():
            yield f"modelreg {name} {sub_name}", sub


def test_every_command_and_option_has_help_text() -> None:
    missing = []
    for name, command in _walk_commands():
        if not (command.help or "").strip():
            missing.append(name)
        for param in command.params:
            if param.param_type_name == "option" and not (param.help or "").strip():
                missing.append(f"{name} {param.opts[0]}")
            if (
                param.param_type_name == "argument"
                and not (getattr(param, "help", "") or "").strip()
            ):
                missing.append(f"{name} {param.name}")
    assert missing == []


@pytest.mark.parametrize("command", ["init", "new", "list", "show", "status", "check"])
def test_command_help(cli, command: str) -> None:
    result = cli(command, "--help")
    assert result.code == 0
    assert "Usage: modelreg " + command in result.out
    assert result.err == ""


def test_no_arguments_shows_help_and_is_a_usage_error(cli) -> None:
    result = cli()
    assert result.code == 2
    assert result.out.startswith("Usage: modelreg") and "  check " in result.out
    assert result.err == "error: missing command\n"
    as_json = cli("--json")
    assert as_json.code == 2 and as_json.out == ""
    assert json.loads(as_json.err) == {
        "error": {"rule": "usage", "message": "missing command", "file": None, "line": None}
    }


def test_typer_usage_error_as_json(cli, example: Path) -> None:
    result = cli("--repo", str(example), "--json", "check", "--bogus")
    assert result.code == 2 and result.out == ""
    err = json.loads(result.err)["error"]
    assert err["rule"] == "usage" and "--bogus" in err["message"]
    assert err["file"] is None and err["line"] is None


def test_version(cli) -> None:
    from importlib.metadata import version

    result = cli("--version")
    assert result.code == 0
    assert result.out.strip() == f"modelreg {version('modelreg')}"


def test_unknown_command_is_one_line_exit_2(cli, example: Path) -> None:
    result = cli("--repo", str(example), "frobnicate")
    assert result.code == 2
    assert result.err.count("\n") == 1 and result.err.startswith("error: ")
    assert result.out == ""


def test_missing_argument_is_exit_2(cli, example: Path) -> None:
    result = cli("--repo", str(example), "show")
    assert result.code == 2
    assert result.err.startswith("error: ") and "'ref'" in result.err.lower()


def test_usage_error_as_json(cli, example: Path) -> None:
    result = cli("--repo", str(example), "--json", "show", "nosuchmodel@1.0.0")
    assert result.code == 2
    assert result.out == ""
    err = json.loads(result.err)
    assert err["error"]["rule"] == "not-found"
    assert "unknown model 'nosuchmodel'" in err["error"]["message"]
    assert set(err["error"]) == {"rule", "message", "file", "line"}


def test_bad_ref_is_exit_2(cli, example: Path) -> None:
    for ref in ("summarizer", "summarizer@1.2", "Summarizer@1.0.0", "summarizer@qa"):
        result = cli("--repo", str(example), "show", ref)
        assert result.code == 2, ref
        assert result.err.startswith("error: bad ref"), result.err


def test_global_options_may_follow_the_command(cli, example: Path) -> None:
    before = cli("--repo", str(example), "--json", "status")
    after = cli("status", "--json", "--repo", str(example))
    assert before.code == after.code == 0
    assert before.json() == after.json()


def test_internal_error_is_one_line_exit_3(
    cli, example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import modelreg.services.query as query

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise RuntimeError("something broke")

    monkeypatch.setattr(query, "status", boom)
    result = cli("--repo", str(example), "status")
    assert result.code == 3
    assert result.err.strip() == (
        "error: internal error: RuntimeError: something broke (set MODELREG_TRACEBACK=1 for the traceback)"
    )
    monkeypatch.setenv("MODELREG_TRACEBACK", "1")
    result = cli("--repo", str(example), "status")
    assert result.code == 3
    assert "Traceback (most recent call last)" in result.err


def test_bad_registry_file_in_read_command_is_exit_2_with_file_and_line(cli, example: Path) -> None:
    path = example / "models/summarizer/1.1.0.yaml"
    path.write_text(path.read_text() + "kind: again\n")
    result = cli("--repo", str(example), "show", "summarizer@1.1.0")
    assert result.code == 2
    assert result.err.strip().endswith(
        "models/summarizer/1.1.0.yaml:19: duplicate key 'kind' (first on line 4)"
    )


def test_console_script_runs_and_pipes_plain_text(example: Path) -> None:
    proc = subprocess.run(
        [str(venv_bin() / "modelreg"), "--repo", str(example), "list", "summarizer"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["MODEL", "VERSION", "KIND", "DIGEST", "LIFECYCLE", "CREATED"]
    assert [ln.split()[1] for ln in lines[1:]] == ["1.0.0", "1.1.0"]
    assert "\x1b[" not in proc.stdout  # no color codes when piped


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys; from modelreg.cli import main; rc = main(['--help']);"
        "heavy = [m for m in ('rich', 'jsonschema', 'ruamel.yaml', 'fastjsonschema', 'git') if m in sys.modules];"
        "print(repr(heavy), file=sys.stderr); sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stderr.strip().splitlines()[-1] == "[]"


def test_piped_json_is_one_document(example: Path) -> None:
    proc = subprocess.run(
        [str(venv_bin() / "modelreg"), "--repo", str(example), "--json", "list"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0
    data = json.loads(proc.stdout)  # raises if there were two documents or stray text
    assert len(data["versions"]) == 5


def test_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    import shutil

    from conftest import EXAMPLE

    root = tmp_path / "big"
    shutil.copytree(EXAMPLE, root)
    # enough rows that the reader is gone before modelreg finishes writing
    for i in range(400):
        (root / "models" / f"m{i:03d}").mkdir()
        text = (
            (EXAMPLE / "models/summarizer/1.0.0.yaml")
            .read_text()
            .replace("name: summarizer", f"name: m{i:03d}")
        )
        (root / "models" / f"m{i:03d}" / "1.0.0.yaml").write_text(text)
    proc = subprocess.run(
        f"'{venv_bin() / 'modelreg'}' --repo '{root}' list | head -1; echo \"rc=${{PIPESTATUS[0]}}\"",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
    )
    assert proc.stdout.splitlines()[0].split()[:2] == ["MODEL", "VERSION"]
    assert proc.stdout.splitlines()[-1] == "rc=0"
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_json_stays_valid_for_file_names_that_are_not_utf8(example: Path) -> None:
    import os

    bad = os.fsencode(str(example / "models")) + b"/a\xffb"
    os.mkdir(bad)
    with open(bad + b"/1.0.0.yaml", "wb") as f:
        f.write(b"a: 1\n")
    proc = subprocess.run(
        [str(venv_bin() / "modelreg"), "--repo", str(example), "--json", "check"],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"},
    )
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout.decode("utf-8"))  # strict UTF-8 JSON
    assert any(
        "a\\udcffb" in p.get("file", "") or "a\udcffb" in p.get("file", "")
        for p in data["problems"]
    )


def test_a_registry_in_no_repo_needs_no_git(loose_example: Path, tmp_path: Path) -> None:
    import os

    no_git = tmp_path / "bin"
    no_git.mkdir()  # PATH holds nothing: the console script names its python itself

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv_bin() / "modelreg"), "--repo", str(loose_example), *args],
            capture_output=True,
            text=True,
            env={**os.environ, "PATH": str(no_git)},
        )

    assert run("check").returncode == 0
    assert run("list").returncode == 0
    created = run("new", "summarizer")
    assert created.returncode == 0, created.stderr
    draft = run("check")
    assert draft.returncode == 1 and "changes.summary: must not be empty" in draft.stdout


def _whole_app_output(args: list[str]) -> str:
    """What the whole typer app, every command built, prints for ARGS."""
    import contextlib
    import io

    from modelreg.cli.app import app

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.suppress(Exception, SystemExit):
        app(args=args, prog_name="modelreg", standalone_mode=False)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--json", "--help"],
        ["--repo", ".", "--help"],
        *[[*name.split()[1:], "--help"] for name, _ in _walk_commands()][1:],
    ],
    ids=lambda args: " ".join(args),
)
def test_only_the_command_run_is_built_and_help_is_unchanged(args: list[str]) -> None:
    """app_for builds one command; every help page reads as the whole app's."""
    import contextlib
    import io

    from modelreg.cli.app import app_for

    narrowed = app_for(args)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
        narrowed(args=args, prog_name="modelreg", standalone_mode=False)
    expected = _whole_app_output(args)
    assert expected.startswith("Usage: modelreg")
    assert buffer.getvalue() == expected


@pytest.mark.parametrize(
    ("args", "built"),
    [
        (["status", "m"], ["status"]),
        (["--json", "canary", "start", "m"], ["canary start"]),
        (["--repo", "x", "eval", "add"], ["eval add"]),
    ],
)
def test_app_for_builds_only_the_named_command(args: list[str], built: list[str]) -> None:
    import typer

    from modelreg.cli.app import _stand_in, app_for

    root = typer.main.get_command(app_for(args))
    full = [
        f"{name} {sub}".strip()
        for name, command in root.commands.items()  # type: ignore[attr-defined]
        for sub, leaf in (getattr(command, "commands", None) or {"": command}).items()
        if leaf.callback is not None and "_stand_in" not in repr(leaf.callback)
    ]
    assert full == built
    assert _stand_in() is None


def test_an_unknown_command_is_refused_as_by_the_whole_app(cli) -> None:
    result = cli("stauts")
    assert result.code == 2
    assert result.err == "error: No such command 'stauts'. Did you mean 'status'?\n"
    result = cli("canary", "strt")
    assert result.code == 2
    assert result.err == "error: No such command 'strt'. Did you mean 'start'?\n"
