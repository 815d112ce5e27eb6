"""init, new, list, show, status: what a user sees and the files they leave behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import git, write

STATE = """\
schema: modelreg/stages/v1
model: summarizer
stages:
  production:
    version: 1.0.0
    digest: {d10}
    previous: null
    since: 2026-11-21T10:05:00Z
    canary: {{version: 1.1.0, digest: {d11}, weight: 5, since: 2026-11-22T08:00:00Z}}
  staging: {{version: 1.1.0, digest: {d11}, previous: 1.0.0, since: 2026-11-21T09:00:00Z}}
archived: []
"""


def _digest(cli, root: Path, ref: str) -> str:  # type: ignore[no-untyped-def]
    return cli("--repo", str(root), "--json", "show", ref).json()["digest"]  # type: ignore[no-any-return]


def _with_state(cli, root: Path) -> None:  # type: ignore[no-untyped-def]
    d10, d11 = _digest(cli, root, "summarizer@1.0.0"), _digest(cli, root, "summarizer@1.1.0")
    write(root / "stages/summarizer.yaml", STATE.format(d10=d10, d11=d11))


def test_init_creates_a_registry_that_checks_clean(cli, tmp_path: Path) -> None:
    target = tmp_path / "reg"
    result = cli("init", str(target))
    assert result.code == 0, result.err
    assert "initialized a git repository" in result.out
    for name in (
        "modelreg.yaml",
        ".modelreg/allowed_signers",
        ".modelreg/revoked_keys",
        ".pre-commit-config.yaml",
        ".github/workflows/modelreg.yml",
        ".github/workflows/modelreg-verify.yml",
    ):
        assert (target / name).is_file(), name
    shipped = (Path(__file__).parents[1] / "ci" / "github-verify.yml").read_text()
    assert (target / ".github/workflows/modelreg-verify.yml").read_text() == shipped
    assert (target / ".git").is_dir()
    hooks = yaml.safe_load((target / ".pre-commit-config.yaml").read_text())
    assert hooks["repos"][0]["hooks"][0]["id"] == "modelreg-check"
    assert cli("--repo", str(target), "check").code == 0
    status = cli("--repo", str(target), "--json", "status")
    assert status.json() == {"models": {}}


def test_init_refuses_an_existing_registry(cli, example: Path) -> None:
    before = (example / "modelreg.yaml").read_text()
    result = cli("init", str(example))
    assert result.code == 2
    assert "already a registry" in result.err
    assert (example / "modelreg.yaml").read_text() == before


def test_init_in_a_monorepo_keeps_existing_hooks(cli, tmp_path: Path) -> None:
    repo = tmp_path / "mono"
    write(repo / ".pre-commit-config.yaml", "repos: []\n")
    git(repo, "init", "-q")
    result = cli("init", str(repo / "ml" / "registry"))
    assert result.code == 0
    assert "initialized a git repository" not in result.out
    assert (repo / ".pre-commit-config.yaml").read_text() == "repos: []\n"
    assert "kept your .pre-commit-config.yaml" in result.out
    assert "entry: 'modelreg --repo ml/registry check --paths-only'" in result.out
    workflow = yaml.safe_load((repo / ".github/workflows/modelreg.yml").read_text())
    assert (
        workflow["jobs"]["check"]["steps"][-1]["run"] == "modelreg --repo ml/registry check --all"
    )


def test_init_snippets_survive_odd_folder_names(cli, tmp_path: Path) -> None:
    import re
    import shlex

    repo = tmp_path / "mono"
    repo.mkdir()
    git(repo, "init", "-q")
    name = "ml reg+(v2) #1"
    assert cli("init", str(repo / name)).code == 0
    hook = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"][0]
    assert shlex.split(hook["entry"]) == ["modelreg", "--repo", name, "check", "--paths-only"]
    assert re.search(hook["files"], f"{name}/models/a/1.0.0.yaml")
    assert not re.search(hook["files"], "ml regg(v2) #1/models/a/1.0.0.yaml")
    assert not (repo / name / ".git").exists()  # the monorepo's git, not a nested one
    verify = yaml.safe_load((repo / ".github/workflows/modelreg-verify.yml").read_text())
    steps = verify["jobs"]["verify"]["steps"]
    assert shlex.split(steps[-1]["run"]) == [
        "modelreg", "--repo", name, "check", "--all", "--format", "github"
    ]  # fmt: skip
    verify_line = steps[-2]["run"].splitlines()[-1]
    assert shlex.split(verify_line)[:4] == ["modelreg", "--repo", name, "verify"]


def test_init_leaves_nothing_behind_when_it_cannot_finish(cli, tmp_path: Path) -> None:
    target = tmp_path / "reg"
    target.mkdir()
    (target / ".modelreg").write_text("a file where the signer folder must go\n")
    result = cli("init", str(target))
    assert result.code == 2
    assert (
        result.err.strip()
        == f"error: {target / '.modelreg'} is in the way: a file where a folder must be"
    )
    assert sorted(p.name for p in target.iterdir()) == [".modelreg"]  # no .git, no modelreg.yaml


def test_new_scaffolds_from_the_latest_version(cli, example: Path) -> None:
    result = cli("--repo", str(example), "new", "summarizer")
    assert result.code == 0, result.err
    path = example / "models/summarizer/1.2.0.yaml"
    data = yaml.safe_load(path.read_text())
    assert data["version"] == "1.2.0" and data["parent"] == "1.1.0"
    assert data["system_prompt"].startswith(
        "Summarize in 2-3 sentences. Focus on actionable insights."
    )
    assert data["author"] == "test@example.com"
    # the changes block is left for a person, and check refuses it until filled in
    check = cli("--repo", str(example), "check")
    assert check.code == 1
    assert "1.2.0.yaml:16: changes.summary: must not be empty" in check.out
    assert "1.2.0.yaml:17: changes.reason: must not be empty" in check.out
    path.write_text(
        path.read_text()
        .replace("summary: ''", "summary: Terser.")
        .replace("reason: ''", "reason: Feedback.")
    )
    assert cli("--repo", str(example), "check").code == 0


def test_new_keeps_the_parents_comments_and_layout(cli, example: Path) -> None:
    text = (
        (example / "models/summarizer/1.0.0.yaml")
        .read_text()
        .replace("name: summarizer", "name: notes")
    )
    text = "# owned by the support team\n" + text.replace(
        "temperature: 0.3", "temperature: 0.3   # lower is steadier"
    )
    write(example / "models/notes/1.0.0.yaml", text)
    result = cli("--repo", str(example), "new", "notes", "--bump", "patch")
    assert result.code == 0, result.err
    out = (example / "models/notes/1.0.1.yaml").read_text()
    assert out.startswith("# owned by the support team\n")
    assert "temperature: 0.3   # lower is steadier" in out
    assert yaml.safe_load(out)["parent"] == "1.0.0"


def test_new_options(cli, example: Path) -> None:
    assert (
        cli("--repo", str(example), "new", "summarizer", "--from", "1.0.0", "--bump", "major").code
        == 0
    )
    assert (example / "models/summarizer/2.0.0.yaml").is_file()
    again = cli("--repo", str(example), "new", "summarizer", "--from", "1.0.0", "--bump", "major")
    assert again.code == 1 and "already exists" in again.err
    assert cli("--repo", str(example), "new", "summarizer", "--from", "7.0.0").code == 2
    assert cli("--repo", str(example), "new", "summarizer", "--bump", "huge").code == 2
    assert cli("--repo", str(example), "new", "Bad_Name").code == 2
    # an unfinished parent is refused as bad input, naming its empty field
    refused = cli("--repo", str(example), "new", "summarizer", "--kind", "fine-tuned")
    assert refused.code == 2 and "2.0.0.yaml:16: changes.summary: must not be empty" in refused.err
    parent = example / "models/summarizer/2.0.0.yaml"
    parent.write_text(
        parent.read_text().replace("summary: ''", "summary: a").replace("reason: ''", "reason: b")
    )
    assert cli("--repo", str(example), "new", "summarizer", "--kind", "fine-tuned").code == 0
    data = yaml.safe_load((example / "models/summarizer/2.1.0.yaml").read_text())
    assert data["kind"] == "fine-tuned" and data["parent"] == "2.0.0"


def test_new_first_version_of_a_new_model(cli, example: Path) -> None:
    result = cli("--repo", str(example), "new", "router", "--kind", "fine-tuned")
    assert result.code == 0
    data = yaml.safe_load((example / "models/router/1.0.0.yaml").read_text())
    assert "parent" not in data and data["training"]["data_version"] == ""
    check = cli("--repo", str(example), "--json", "check", "models/router/1.0.0.yaml", cwd=example)
    messages = {p["message"] for p in check.json()["problems"]}
    assert "model.id: must not be empty" in messages
    assert "training.data_version: must not be empty" in messages


def test_list_shows_lifecycle(cli, example: Path) -> None:
    _with_state(cli, example)
    state = example / "stages/summarizer.yaml"
    state.write_text(state.read_text().replace("archived: []", "archived: [0.9.0]"))
    write(
        example / "models/summarizer/0.9.0.yaml",
        (example / "models/summarizer/1.0.0.yaml")
        .read_text()
        .replace("version: 1.0.0", "version: 0.9.0"),
    )
    data = cli("--repo", str(example), "--json", "list", "summarizer").json()
    by_version = {v["version"]: v for v in data["versions"]}
    # JSON holds stage names a script can test; the canary and its weight apart
    assert by_version["1.0.0"]["stages"] == ["production"] and by_version["1.0.0"]["canary"] == {}
    assert by_version["1.1.0"]["stages"] == ["staging"]
    assert by_version["1.1.0"]["canary"] == {"production": 5}
    assert by_version["0.9.0"]["archived"] is True and by_version["0.9.0"]["stages"] == []
    rows = {
        line.split()[1]: line for line in cli("--repo", str(example), "list").out.splitlines()[1:]
    }
    assert "production (canary 5%), staging" in rows["1.1.0"]
    assert (
        " archived " in rows["0.9.0"]
        and " - " in cli("--repo", str(example), "list", "assistant").out
    )


def test_show_json_shape_and_stage_refs(cli, example: Path) -> None:
    _with_state(cli, example)
    shown = cli("--repo", str(example), "--json", "show", "summarizer@production").json()
    assert set(shown) == {
        "canary",
        "model",
        "version",
        "kind",
        "digest",
        "config",
        "stages",
        "archived",
        "evals",
    }
    assert shown["version"] == "1.0.0" and shown["stages"] == ["production"]
    assert shown["archived"] is False
    assert set(shown["evals"]) == {"smoke", "regression"}
    assert shown["config"]["params"] == {"temperature": 0.3, "max_tokens": 256}
    assert shown["digest"].startswith("sha256:") and len(shown["digest"]) == 71
    # the digest is the one every eval of that version carries
    assert all(e["config_digest"] == shown["digest"] for e in shown["evals"].values())
    text = cli("--repo", str(example), "show", "summarizer@1.1.0").out
    assert "summarizer@1.1.0  prompt-config  sha256:" in text
    assert "lifecycle: production (canary 5%), staging" in text


def test_status_json_shape(cli, example: Path) -> None:
    data = cli("--repo", str(example), "--json", "status").json()
    assert data == {
        "models": {
            m: {"development": None, "staging": None, "production": None}
            for m in ("assistant", "summarizer", "ticket-classifier")
        }
    }
    _with_state(cli, example)
    prod = cli("--repo", str(example), "--json", "status").json()["models"]["summarizer"][
        "production"
    ]
    assert (
        prod["version"] == "1.0.0"
        and prod["previous"] is None
        and prod["since"] == "2026-11-21T10:05:00Z"
    )
    assert prod["canary"] == {
        "version": "1.1.0",
        "digest": _digest(cli, example, "summarizer@1.1.0"),
        "weight": 5,
    }
    text = cli("--repo", str(example), "status").out
    assert "1.0.0 (canary 1.1.0 5%)" in text


def test_status_warns_loudly_when_signing_is_off(cli, example: Path) -> None:
    policy = example / "modelreg.yaml"
    policy.write_text(policy.read_text().replace("required: true", "required: false"))
    result = cli("--repo", str(example), "status")
    assert result.code == 0
    assert "UNSIGNED" in result.err


def test_read_commands_work_outside_git(cli, loose_example: Path) -> None:
    listed = cli("--repo", str(loose_example), "--json", "list").json()
    assert [v["model"] + "@" + v["version"] for v in listed["versions"]] == [
        "assistant@1.0.0",
        "summarizer@1.0.0",
        "summarizer@1.1.0",
        "ticket-classifier@1.0.0",
        "ticket-classifier@2.0.0",
    ]
    status = cli("--repo", str(loose_example), "--json", "status").json()
    assert set(status["models"]) == {"assistant", "summarizer", "ticket-classifier"}
    shown = cli("--repo", str(loose_example), "--json", "show", "assistant@1.0.0").json()
    assert [t["name"] for t in shown["config"]["tools"]] == ["lookup_ticket", "search_docs"]


BAD_STATE = [
    ("production: {digest: x}", "stages.production"),
    (
        "production: {version: 1.0.0, digest: 'sha256:"
        + "0" * 64
        + "', since: '2026-11-21T10:05:00Z', canary: {version: 1.1.0, digest: 'sha256:"
        + "0" * 64
        + "', weight: fifty, since: x}}",
        "weight",
    ),
]


@pytest.mark.parametrize(("stages", "fragment"), BAD_STATE)
def test_read_commands_refuse_an_invalid_state_file_with_file_and_line(
    cli, example: Path, stages: str, fragment: str
) -> None:
    write(
        example / "stages/summarizer.yaml",
        f"schema: modelreg/stages/v1\nmodel: summarizer\nstages:\n  {stages}\n",
    )
    for args in (["status"], ["list"], ["show", "summarizer@1.0.0"]):
        result = cli("--repo", str(example), *args)
        assert result.code == 2, (args, result.err)
        assert (
            result.err.count("\n") == 1
            and "stages/summarizer.yaml:4: " in result.err
            and fragment in result.err
        )


def test_show_refuses_an_invalid_eval_file(cli, example: Path) -> None:
    path = example / "evals/summarizer/1.1.0/smoke.yaml"
    path.write_text(path.read_text().replace("metrics: {", "metrics: [1, 2]\nx-old: {"))
    result = cli("--repo", str(example), "show", "summarizer@1.1.0")
    assert result.code == 2 and "smoke.yaml:8: metrics: [1, 2] is not of type object" in result.err


@pytest.mark.parametrize("model", ["../..", "../models", "Summarizer"])
def test_model_arguments_are_names_not_paths(cli, example: Path, model: str) -> None:
    for args in (["list", model], ["status", model], ["new", model]):
        result = cli("--repo", str(example), *args)
        assert result.code == 2 and "invalid model name" in result.err, (args, result.err)


def test_registry_found_by_walking_up(cli, example: Path) -> None:
    result = cli("--json", "show", "summarizer@1.0.0", cwd=example / "models" / "summarizer")
    assert result.code == 0 and result.json()["version"] == "1.0.0"


def test_new_writes_strings_every_yaml_parser_reads_back_as_strings(cli, example: Path) -> None:
    # THREATS 47: the parent's unquoted `2026-10-01` is a string to modelreg (DESIGN 2.1);
    # the copy must not become a date for PyYAML (YAML 1.1) either. (`1_000` or `on`
    # unquoted are refused when read, so no parent can hold them.)
    parent = example / "models/ticket-classifier/2.0.0.yaml"
    text = parent.read_text().replace("data_version: tickets-2026-10", "data_version: 2026-10-01")
    text = text.replace("batch_size: 16", "batch_size: 16, note: '1_000', flag: 'on'")
    write(example / "models/ticket-classifier/2.0.0.yaml", text)
    assert cli("--repo", str(example), "new", "ticket-classifier").code == 0
    child = yaml.safe_load((example / "models/ticket-classifier/2.1.0.yaml").read_text())
    assert child["training"]["data_version"] == "2026-10-01"
    assert child["training"]["hyperparameters"]["note"] == "1_000"
    assert child["training"]["hyperparameters"]["flag"] == "on"
    assert child["created"].endswith("Z") and isinstance(child["created"], str)


def test_files_written_get_the_usual_mode(cli, tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o027)
    try:
        assert cli("init", str(tmp_path / "reg")).code == 0
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "reg/modelreg.yaml").stat().st_mode)
    assert mode == 0o640  # 0666 less the umask, not mkstemp's 0600


def test_init_never_overwrites_signers(cli, example: Path) -> None:
    signers = (example / ".modelreg/allowed_signers").read_text()
    (example / "modelreg.yaml").unlink()
    result = cli("init", str(example))
    assert result.code == 0
    assert "kept your .modelreg/allowed_signers" in result.out
    assert (example / ".modelreg/allowed_signers").read_text() == signers


def test_tables_on_a_terminal_use_rich_and_respect_no_color(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelreg.cli.output import Output

    monkeypatch.delenv("NO_COLOR", raising=False)
    out = Output()
    out.tty = True
    out.table(["A", "B"], [["x", "y\x1b[31m"]])
    colored = capsys.readouterr().out
    assert "┃" in colored or "│" in colored  # a rich table
    assert "\x1b[" in colored  # bold header
    assert "\\x1b[31m" in colored  # a control character in data is shown escaped, never sent
    out = Output(no_color=True)
    out.tty = True
    out.table(["A", "B"], [["x", "y"]])
    assert "\x1b[" not in capsys.readouterr().out
    monkeypatch.setenv("NO_COLOR", "")  # empty: no effect (no-color.org)
    assert Output().color is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert Output().color is False


def test_show_json_gives_the_config_as_its_digest_describes_it(cli, example: Path) -> None:
    text = (example / "models/summarizer/1.1.0.yaml").read_text()
    text = text.replace("version: 1.1.0", "version: 1.2.0").replace(
        "parent: 1.0.0", "parent: 1.1.0"
    )
    write(
        example / "models/summarizer/1.2.0.yaml",
        text.replace("max_tokens: 256", "max_tokens: 256.0"),
    )
    shown = cli("--repo", str(example), "--json", "show", "summarizer@1.2.0").json()
    assert shown["config"]["params"]["max_tokens"] == 256 and isinstance(
        shown["config"]["params"]["max_tokens"], int
    )
    assert (
        "max_tokens: 256.0" in cli("--repo", str(example), "show", "summarizer@1.2.0").out
    )  # the file as written


def test_read_commands_do_not_follow_symlinked_models(cli, example: Path) -> None:
    (example / "models/prod-alias").symlink_to(example / "models/summarizer")
    listed = cli("--repo", str(example), "--json", "list").json()
    assert "prod-alias" not in {v["model"] for v in listed["versions"]}
    result = cli("--repo", str(example), "show", "prod-alias@1.0.0")
    assert result.code == 2 and "models/prod-alias is a symbolic link" in result.err


def test_status_names_each_models_last_action(cli, signed: Path) -> None:
    for stage in ("development", "staging"):
        assert (
            cli("promote", "summarizer", "1.1.0", "--to", stage, "--reason", "r", cwd=signed).code
            == 0
        )
    out = cli("status", cwd=signed).out
    header, *rows = out.splitlines()
    assert header.split()[-2:] == ["LAST", "ACTION"]
    summarizer = next(r for r in rows if r.startswith("summarizer"))
    assert summarizer.endswith("2026-11-20T10:00:00Z promote summarizer@1.1.0 to staging")
    assert next(r for r in rows if r.startswith("assistant")).endswith(" -")
    assert "LAST" not in json.dumps(cli("--json", "status", cwd=signed).json())
    # in the same second, the later action is the one on the later commit, whatever its stage
    assert cli(*promote_args("1.0.0", "development"), cwd=signed).code == 0
    rows = cli("status", cwd=signed).out.splitlines()
    summarizer = next(r for r in rows if r.startswith("summarizer"))
    assert summarizer.endswith("2026-11-20T10:00:00Z promote summarizer@1.0.0 to development")


def promote_args(version: str, stage: str) -> list[str]:
    return ["promote", "summarizer", version, "--to", stage, "--reason", "r"]


def _heads(root: Path) -> dict[str, str]:
    """The chain heads the state files name, as the strict reading finds them."""
    from modelreg.registry import Registry

    reg = Registry(root)
    return {
        f"refs/tags/{tag}": name
        for name in reg.model_names()
        for tag in (reg.stage_state(name).get("tags") or {}).values()
    }


def _last_action_of(cli, root: Path, model: str) -> str:  # type: ignore[no-untyped-def]
    rows = cli("status", cwd=root).out.splitlines()
    one = cli("status", model, cwd=root).out.splitlines()
    row = next(r for r in rows if r.startswith(f"{model} "))
    assert one[1].split() == row.split()  # one model's status says what every model's says
    return row


def test_status_asks_git_for_the_last_action_before_parsing_and_agrees(cli, signed: Path) -> None:
    from modelreg.registry import Registry
    from modelreg.services.query import _last_actions, _start_last_actions, status

    for stage in ("development", "staging"):
        assert cli(*promote_args("1.1.0", stage), cwd=signed).code == 0
    heads = _heads(signed)
    assert len(heads) == 2
    # the guess from the raw state files names exactly the heads: the early query is used
    early = _start_last_actions(Registry(signed))
    assert early is not None and early.patterns == sorted(heads)
    early.query.close()
    for model in (None, "summarizer"):
        assert status(Registry(signed), model).last_action == _last_actions(Registry(signed), heads)
    assert _last_action_of(cli, signed, "summarizer").endswith(
        "2026-11-20T10:00:00Z promote summarizer@1.1.0 to staging"
    )


def test_status_last_action_on_odd_state_files_is_the_plain_querys(cli, signed: Path) -> None:
    from modelreg.registry import Registry
    from modelreg.services.query import _start_last_actions

    for stage in ("development", "staging"):
        assert cli(*promote_args("1.1.0", stage), cwd=signed).code == 0
    promote = ["promote", "assistant", "1.0.0", "--to", "development", "--reason", "r"]
    assert cli(*promote, cwd=signed).code == 0
    state = signed / "stages/summarizer.yaml"
    text = state.read_text()
    block = text[text.index("\ntags:\n") + 1 :]
    # written another way (flow style, quoted): the guess misses summarizer's heads (it has
    # only assistant's), and the strict reading decides
    state.write_text(
        text.replace(
            block,
            'tags: {development: "modelreg/summarizer/development/1",'
            ' staging: "modelreg/summarizer/staging/1"}\n',
        )
    )
    early = _start_last_actions(Registry(signed))
    assert early is not None and early.patterns == ["refs/tags/modelreg/assistant/development/1"]
    early.query.close()
    assert _last_action_of(cli, signed, "summarizer").endswith(
        "2026-11-20T10:00:00Z promote summarizer@1.1.0 to staging"
    )
    # a head naming no tag (a deleted one: a broken chain) gives nothing; the other decides
    state.write_text(text.replace("modelreg/summarizer/staging/1", "modelreg/summarizer/staging/9"))
    assert _last_action_of(cli, signed, "summarizer").endswith(
        "2026-11-20T10:00:00Z promote summarizer@1.1.0 to development"
    )
    # a head that is no annotated tag has no tagger date: no last action at all
    git(signed, "tag", "lightweight", "HEAD")
    state.write_text(
        text.replace("modelreg/summarizer/staging/1", "lightweight").replace(
            "modelreg/summarizer/development/1", "lightweight"
        )
    )
    assert _last_action_of(cli, signed, "summarizer").endswith(" -")


def test_status_fails_as_git_does_on_a_head_tag_of_a_missing_commit(cli, signed: Path) -> None:
    assert cli(*promote_args("1.1.0", "development"), cwd=signed).code == 0
    tree = git(signed, "rev-parse", "HEAD^{tree}").strip()
    gone = git(signed, "commit-tree", "-m", "dangling", tree).strip()
    git(signed, "tag", "-a", "--no-sign", "-m", "modelreg: orphan", "orphan", gone)
    (signed / ".git/objects" / gone[:2] / gone[2:]).unlink()
    state = signed / "stages/summarizer.yaml"
    state.write_text(state.read_text().replace("modelreg/summarizer/development/1", "orphan"))
    for args in (["status"], ["status", "summarizer"]):
        result = cli(*args, cwd=signed)
        assert result.code == 3 and f"missing object {gone}" in result.err


def test_list_names_stages_in_policy_order(cli, example: Path) -> None:
    dg = cli("--repo", str(example), "--json", "show", "summarizer@1.1.0").json()["digest"]
    entry = f"{{version: 1.1.0, digest: '{dg}', since: '2026-11-21T10:05:00Z'}}"
    (example / "stages").mkdir()
    (example / "stages/summarizer.yaml").write_text(
        f"schema: modelreg/stages/v1\nmodel: summarizer\nstages:\n"
        f"  production: {entry}\n  development: {entry}\n"
    )
    row = next(
        r
        for r in cli("--repo", str(example), "list", "summarizer").out.splitlines()
        if "1.1.0" in r
    )
    assert "development, production" in row
    data = cli("--repo", str(example), "--json", "list", "summarizer").json()
    assert data["versions"][1]["stages"] == ["development", "production"]
