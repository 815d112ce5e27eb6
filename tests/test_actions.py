"""Signed actions in one clone: promote, rollback, canary, archive; refusals, signing, reliability.

Real git, real ssh keys (conftest), the CLI in process; a few tests run the
installed console script in parallel. Scenario numbers are THREATS.md's.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from actions_helpers import (
    PREFIX,
    RepoState,
    changed_files,
    commit_message,
    commits_since,
    copy_model,
    edit,
    edit_policy,
    fsck,
    promote,
    repo_state,
    tag_body,
    tag_names,
    trailer_map,
    trailers,
    trust,
    verify_tag,
)

from conftest import Key, commit_all, git, use_key, venv_bin
from modelreg.core.lifecycle import render_state
from modelreg.yamlio import loads

Cli = Callable[..., Any]

D_SUM_100 = "sha256:7ccbf7ef27d1b97514eacc5bbec54ab1682c83e3320ae4b6bc02e660c8cc8a1c"
D_SUM_110 = "sha256:f9b10327afcb261a28ed3926ae6560b94bb7053342e208272ac2cc835c4572d0"
NOW = "2026-11-20T10:00:00Z"
JSON_KEYS = {
    "action",
    "model",
    "stage",
    "version",
    "previous",
    "weight",
    "noop",
    "message",
    "commit",
    "tag",
    "signer",
    "pushed",
    "warnings",
}


@pytest.fixture
def run(cli: Cli, signed: Path) -> Callable[..., Any]:
    """The CLI run in the signed example registry."""

    def go(*args: str) -> Any:
        return cli(*args, cwd=signed)

    return go


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return result


def land(run: Callable[..., Any], *args: str) -> Any:
    return ok(run(*args))


def to_production(run: Callable[..., Any], model: str, version: str) -> None:
    for stage in ("development", "staging", "production"):
        land(run, *promote(model, version, stage))


def state(repo: Path, model: str = "summarizer") -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((repo / "stages" / f"{model}.yaml").read_text())
    return data


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def tags_at(repo: Path, rev: str) -> list[str]:
    return git(repo, "tag", "--points-at", rev, "--list", f"{PREFIX}/*").split()


def signers_file(tmp_path: Path, *keys: Key) -> Path:
    path = tmp_path / "ci_allowed_signers"
    path.write_text("".join(k.allowed() for k in keys))
    return path


def assert_nothing_changed(repo: Path, before: RepoState) -> None:
    after = repo_state(repo)
    assert after == before
    git_dir = repo / ".git"
    assert transaction_leftovers(git_dir) == []


def transaction_leftovers(git_dir: Path) -> list[str]:
    """modelreg's files in the git dir, less the signature cache `log` keeps there."""
    return [
        p.name
        for p in git_dir.iterdir()
        if p.name.startswith("modelreg-") and p.name != "modelreg-verified.json"
    ]


def refused(
    run: Callable[..., Any], repo: Path, args: list[str], needle: str, code: int = 1
) -> Any:
    """Run ARGS, expect exit CODE with one `error:` line holding NEEDLE, and no change at all."""
    before = repo_state(repo)
    result = run(*args)
    assert result.code == code, (result.out, result.err)
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    if "--json" in args:
        error = json.loads(lines[0])["error"]
        assert needle in (error["rule"], error["message"]) or needle in error["message"]
    else:
        assert lines[0].startswith("error: ") and needle in lines[0], result.err
    assert "Traceback" not in result.err
    assert_nothing_changed(repo, before)
    fsck(repo)
    return result


def add_version(
    cli: Cli, repo: Path, version: str, *, model_id: str | None = None, **suites: float
) -> None:
    """summarizer@VERSION (a child of 1.1.0), with an eval per SUITES=accuracy, committed."""
    src = (repo / "models/summarizer/1.1.0.yaml").read_text()
    text = src.replace("version: 1.1.0\n", f"version: {version}\n").replace(
        "parent: 1.0.0\n", "parent: 1.1.0\n"
    )
    text = text.replace("Focus on actionable insights.", f"Version {version}.")
    if model_id:
        text = text.replace("id: claude-sonnet-4-5-20250929", f"id: {model_id}")
    (repo / f"models/summarizer/{version}.yaml").write_text(text)
    for suite, accuracy in suites.items():
        result = cli(
            "eval",
            "add",
            "summarizer",
            version,
            "--suite",
            suite,
            "--metric",
            f"accuracy={accuracy}",
            "--metric",
            "latency_p95_ms=800",
            cwd=repo,
        )
        assert result.code == 0, result.err
    commit_all(repo, f"register summarizer {version}")


# --- 1. happy paths ---------------------------------------------------------------------


def test_promotions_are_one_commit_and_one_signed_tag_each(
    run: Callable[..., Any], signed: Path, keys: dict[str, Key], tmp_path: Path
) -> None:
    ci_signers = signers_file(tmp_path, keys["alice"], keys["bob"])
    for stage in ("development", "staging", "production"):
        parent = head(signed)
        result = land(run, *promote("summarizer", "1.0.0", stage))
        commit = head(signed)
        assert commits_since(signed, parent) == [commit]
        assert changed_files(signed, commit) == ["stages/summarizer.yaml"]
        tag = f"{PREFIX}/summarizer/{stage}/1"
        assert tags_at(signed, commit) == [tag]
        assert git(signed, "cat-file", "-t", tag).strip() == "tag"  # annotated
        assert f"tag {tag} on commit {commit[:12]}, signed by alice@example.com" in result.out

        body, message = tag_body(signed, tag), commit_message(signed, commit)
        assert body.splitlines()[0] == message.splitlines()[0]
        assert body.splitlines()[0] == f"modelreg: promote summarizer@1.0.0 to {stage}"
        assert trailers(body) == trailers(message)
        facts = trailer_map(body)
        assert facts["Action"] == "promote"
        assert (facts["Model"], facts["Stage"], facts["Seq"]) == ("summarizer", stage, "1")
        assert (facts["Version"], facts["Digest"]) == ("1.0.0", D_SUM_100)
        assert (facts["Reason"], facts["Actor"]) == ("ship 1.0.0", "alice@example.com")
        assert "Previous-Tag" not in facts and "Previous-Version" not in facts
        # git itself, as CI runs it, accepts the signature
        proc = verify_tag(signed, tag, ci_signers)
        assert proc.returncode == 0, proc.stderr
        assert 'Good "git" signature for alice@example.com' in proc.stderr

    evals = [
        t for t in trailers(tag_body(signed, f"{PREFIX}/summarizer/production/1")) if "Eval" in t
    ]
    assert len(evals) == 1 and evals[0].startswith("Modelreg-Eval: regression sha256:")
    staging_evals = trailer_map(tag_body(signed, f"{PREFIX}/summarizer/staging/1"))
    assert staging_evals["Eval"].startswith("smoke sha256:")
    assert git(signed, "status", "--porcelain") == ""
    assert state(signed)["stages"]["production"] == {
        "version": "1.0.0",
        "digest": D_SUM_100,
        "previous": None,
        "since": NOW,
    }
    # a key CI does not trust: the same tags fail there
    stranger = signers_file(tmp_path, keys["carol"])
    assert verify_tag(signed, f"{PREFIX}/summarizer/production/1", stranger).returncode != 0


def test_seq_counts_per_model_and_stage_with_a_previous_tag_chain(
    run: Callable[..., Any], signed: Path
) -> None:
    land(run, *promote("summarizer", "1.0.0", "development"))
    land(run, *promote("summarizer", "1.0.0", "staging"))
    land(run, *promote("summarizer", "1.1.0", "development"))
    land(run, *promote("ticket-classifier", "1.0.0", "development"))
    land(run, *promote("summarizer", "1.0.0", "development"))

    assert sorted(tag_names(signed)) == [
        f"{PREFIX}/summarizer/development/1",
        f"{PREFIX}/summarizer/development/2",
        f"{PREFIX}/summarizer/development/3",
        f"{PREFIX}/summarizer/staging/1",
        f"{PREFIX}/ticket-classifier/development/1",
    ]
    chain = {
        n: trailer_map(tag_body(signed, f"{PREFIX}/summarizer/development/{n}")) for n in (1, 2, 3)
    }
    assert "Previous-Tag" not in chain[1]
    assert chain[2]["Previous-Tag"] == f"{PREFIX}/summarizer/development/1"
    assert chain[3]["Previous-Tag"] == f"{PREFIX}/summarizer/development/2"
    assert [chain[n].get("Previous-Version") for n in (1, 2, 3)] == [None, "1.0.0", "1.1.0"]
    assert [chain[n]["Seq"] for n in (1, 2, 3)] == ["1", "2", "3"]
    ticket = trailer_map(tag_body(signed, f"{PREFIX}/ticket-classifier/development/1"))
    assert ticket["Seq"] == "1" and "Previous-Tag" not in ticket

    data = state(signed)
    assert data["stages"]["development"] == {
        "version": "1.0.0",
        "digest": D_SUM_100,
        "previous": "1.1.0",
        "since": NOW,
    }
    assert data["tags"] == {
        "development": f"{PREFIX}/summarizer/development/3",
        "staging": f"{PREFIX}/summarizer/staging/1",
    }
    # each tag sits on its own commit, in order, on the branch
    log = git(signed, "log", "--format=%s", "-5").splitlines()
    assert log == [
        "modelreg: promote summarizer@1.0.0 to development",
        "modelreg: promote ticket-classifier@1.0.0 to development",
        "modelreg: promote summarizer@1.1.0 to development",
        "modelreg: promote summarizer@1.0.0 to staging",
        "modelreg: promote summarizer@1.0.0 to development",
    ]


def test_json_shape(run: Callable[..., Any], signed: Path) -> None:
    first = land(run, "--json", *promote("summarizer", "1.0.0", "development"))
    doc = first.json()
    assert set(doc) == JSON_KEYS
    assert doc == {
        "action": "promote",
        "model": "summarizer",
        "stage": "development",
        "version": "1.0.0",
        "previous": None,
        "weight": None,
        "noop": False,
        "message": None,
        "commit": head(signed),
        "tag": f"{PREFIX}/summarizer/development/1",
        "signer": "alice@example.com",
        "pushed": None,
        "warnings": [],
    }
    second = land(run, "--json", *promote("summarizer", "1.1.0", "development")).json()
    assert (second["previous"], second["tag"]) == ("1.0.0", f"{PREFIX}/summarizer/development/2")
    noop = land(run, "--json", *promote("summarizer", "1.1.0", "development")).json()
    assert set(noop) == JSON_KEYS
    assert noop["noop"] is True and "already serves development" in noop["message"]
    assert (noop["commit"], noop["tag"], noop["signer"]) == (None, None, None)


def test_state_file_reads_the_same_with_pyyaml_and_modelreg(
    run: Callable[..., Any], signed: Path
) -> None:
    to_production(run, "summarizer", "1.0.0")
    land(run, *promote("summarizer", "1.1.0", "development"))
    land(run, *promote("summarizer", "1.1.0", "staging"))
    land(
        run,
        "canary",
        "start",
        "summarizer",
        "1.1.0",
        "--stage",
        "production",
        "--weight",
        "12.5",
        "--reason",
        "try",
    )
    land(run, *promote("ticket-classifier", "1.0.0", "development"))
    land(run, *promote("ticket-classifier", "2.0.0", "development"))
    land(run, "rollback", "ticket-classifier", "--stage", "development", "--reason", "bad")
    land(run, "archive", "assistant", "1.0.0", "--reason", "retired")
    for model in ("summarizer", "ticket-classifier", "assistant"):
        raw = (signed / "stages" / f"{model}.yaml").read_bytes()
        assert loads(raw).data == yaml.safe_load(raw)
        assert raw.endswith(b"\n") and b"\r" not in raw
    assert yaml.safe_load((signed / "stages/summarizer.yaml").read_text())["stages"]["production"][
        "canary"
    ] == {"version": "1.1.0", "digest": D_SUM_110, "weight": 12.5, "since": NOW}
    assert state(signed, "ticket-classifier")["stages"]["development"]["previous"] == "2.0.0"
    assert state(signed, "assistant") == {
        "schema": "modelreg/stages/v1",
        "model": "assistant",
        "stages": {},
        "archived": ["1.0.0"],
        "tags": {"archived": f"{PREFIX}/assistant/archived/1"},
    }
    assert ok(run("check", "--all")).code == 0


@pytest.mark.parametrize("word", ["on", "yes", "no", "off", "null", "true", "n", "y"])
def test_render_state_quotes_words_yaml_1_1_reads_as_something_else(word: str) -> None:
    """Scenario 47 for the state file: a stage, model or tag named like a YAML 1.1 constant."""
    data = {
        "schema": "modelreg/stages/v1",
        "model": word,
        "stages": {word: {"version": "1.0.0", "digest": D_SUM_100, "previous": None, "since": NOW}},
        "archived": ["0.9.0"],
        "tags": {word: f"{PREFIX}/{word}/{word}/1"},
    }
    text = render_state(data, (word,))
    assert yaml.safe_load(text) == data
    assert loads(text).data == data


# --- 2. rollback --------------------------------------------------------------------------


def test_rollback_defaults_to_previous_and_is_a_signed_forward_commit(
    run: Callable[..., Any], signed: Path, keys: dict[str, Key], tmp_path: Path
) -> None:
    land(run, *promote("summarizer", "1.0.0", "development"))
    land(run, *promote("summarizer", "1.1.0", "development"))
    before = head(signed)
    result = land(run, "rollback", "summarizer", "--stage", "development", "--reason", "broken")
    assert "roll back summarizer development to 1.0.0" in result.out
    commit = head(signed)
    assert commits_since(signed, before) == [commit]  # forward: history is kept
    tag = f"{PREFIX}/summarizer/development/3"
    assert tags_at(signed, commit) == [tag]
    facts = trailer_map(tag_body(signed, tag))
    assert facts["Action"] == "rollback"
    assert (facts["Seq"], facts["Previous-Tag"]) == ("3", f"{PREFIX}/summarizer/development/2")
    assert (facts["Version"], facts["Previous-Version"]) == ("1.0.0", "1.1.0")
    assert "Eval" not in facts
    assert verify_tag(signed, tag, signers_file(tmp_path, keys["alice"])).returncode == 0
    assert state(signed)["stages"]["development"]["previous"] == "1.1.0"
    # rolling back again returns to 1.1.0 (previous swaps)
    land(run, "rollback", "summarizer", "--stage", "development", "--reason", "fixed after all")
    assert state(signed)["stages"]["development"]["version"] == "1.1.0"


def test_rollback_to_an_older_version_that_served(
    cli: Cli, run: Callable[..., Any], signed: Path
) -> None:
    add_version(cli, signed, "1.2.0")
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        land(run, *promote("summarizer", version, "development"))
    land(run, "rollback", "summarizer", "--stage", "development", "--to", "1.0.0", "--reason", "r")
    dev = state(signed)["stages"]["development"]
    assert (dev["version"], dev["previous"]) == ("1.0.0", "1.2.0")
    facts = trailer_map(tag_body(signed, f"{PREFIX}/summarizer/development/4"))
    assert (facts["Action"], facts["Version"]) == ("rollback", "1.0.0")


def test_rollback_refuses_a_version_that_never_served_the_stage(
    run: Callable[..., Any], signed: Path
) -> None:
    """Scenario 26: 1.1.0 served development, never staging."""
    land(run, *promote("summarizer", "1.0.0", "development"))
    land(run, *promote("summarizer", "1.0.0", "staging"))
    land(run, *promote("summarizer", "1.1.0", "development"))
    refused(
        run,
        signed,
        ["rollback", "summarizer", "--stage", "staging", "--to", "1.1.0", "--reason", "r"],
        "summarizer@1.1.0 never served staging",
    )
    refused(
        run,
        signed,
        ["rollback", "summarizer", "--stage", "staging", "--reason", "r"],
        "staging has no previous version",
    )
    refused(
        run,
        signed,
        ["rollback", "summarizer", "--stage", "production", "--reason", "r"],
        "nothing serves summarizer in production",
    )


def test_rollback_reads_where_a_version_served_from_history_not_tags(
    cli: Cli, run: Callable[..., Any], signed: Path, tmp_path: Path
) -> None:
    """The evidence is the state file's committed history: a clone without tags can roll back,
    and a shallow one (history cut off, scenario 60) stops with exit 3 rather than guess."""
    add_version(cli, signed, "1.2.0")
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        land(run, *promote("summarizer", version, "development"))
    bare = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(signed), str(bare))
    args = ["rollback", "summarizer", "--stage", "development", "--to", "1.0.0", "--reason", "r"]

    no_tags = tmp_path / "no-tags"
    git(tmp_path, "clone", "-q", "--no-tags", f"file://{bare}", str(no_tags))
    assert tag_names(no_tags) == []
    ok(cli(*args, cwd=no_tags))
    assert state(no_tags)["stages"]["development"]["version"] == "1.0.0"

    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{bare}", str(shallow))
    result = refused(lambda *a: cli(*a, cwd=shallow), shallow, args, "shallow clone", code=3)
    assert "git fetch --unshallow" in result.err
    git(shallow, "fetch", "-q", "--unshallow", "--tags")
    ok(cli(*args, cwd=shallow))
    assert state(shallow)["stages"]["development"]["version"] == "1.0.0"


def test_rollback_runs_no_gates(run: Callable[..., Any], signed: Path) -> None:
    """Scenario 27: the target passed the gates when it served; a stricter policy does not block."""
    to_production(run, "summarizer", "1.0.0")
    to_production(run, "summarizer", "1.1.0")
    edit_policy(signed, "accuracy: {min: 0.85}", "accuracy: {min: 0.99}")
    assert run("gate", "summarizer", "1.0.0", "--stage", "production").code == 1
    before = head(signed)
    land(run, "rollback", "summarizer", "--stage", "production", "--reason", "incident 7")
    assert commits_since(signed, before) == [head(signed)]
    assert tags_at(signed, "HEAD") == [f"{PREFIX}/summarizer/production/3"]
    prod = state(signed)["stages"]["production"]
    assert (prod["version"], prod["previous"]) == ("1.0.0", "1.1.0")


# --- 3. canary ---------------------------------------------------------------------------


def canary(run: Callable[..., Any], sub: str, *args: str) -> Any:
    return run("canary", sub, "summarizer", *args, "--reason", f"canary {sub}")


@pytest.fixture
def serving(run: Callable[..., Any]) -> Callable[..., Any]:
    """summarizer: 1.0.0 serves production, 1.1.0 serves staging."""
    to_production(run, "summarizer", "1.0.0")
    land(run, *promote("summarizer", "1.1.0", "development"))
    land(run, *promote("summarizer", "1.1.0", "staging"))
    return run


def test_canary_start_weight_promote(serving: Callable[..., Any], signed: Path) -> None:
    run = serving
    ok(canary(run, "start", "1.1.0", "--stage", "production", "--weight", "10"))
    prod = state(signed)["stages"]["production"]
    assert prod["version"] == "1.0.0"
    assert prod["canary"] == {"version": "1.1.0", "digest": D_SUM_110, "weight": 10, "since": NOW}
    facts = trailer_map(tag_body(signed, f"{PREFIX}/summarizer/production/2"))
    assert (facts["Action"], facts["Weight"], facts["Version"]) == ("canary-start", "10", "1.1.0")
    assert facts["Eval"].startswith("regression sha256:")

    ok(canary(run, "weight", "--stage", "production", "--weight", "25"))
    assert state(signed)["stages"]["production"]["canary"]["weight"] == 25
    assert trailer_map(tag_body(signed, f"{PREFIX}/summarizer/production/3"))["Weight"] == "25"
    refused(
        run,
        signed,
        [
            "canary",
            "weight",
            "summarizer",
            "--stage",
            "production",
            "--weight",
            "60",
            "--reason",
            "r",
        ],
        "above production's canary.max_weight 50%",
    )

    ok(canary(run, "promote", "--stage", "production"))
    prod = state(signed)["stages"]["production"]
    assert prod == {"version": "1.1.0", "digest": D_SUM_110, "previous": "1.0.0", "since": NOW}
    facts = trailer_map(tag_body(signed, f"{PREFIX}/summarizer/production/4"))
    assert (facts["Action"], facts["Previous-Version"]) == ("canary-promote", "1.0.0")
    assert facts["Previous-Tag"] == f"{PREFIX}/summarizer/production/3"


def test_canary_abort(serving: Callable[..., Any], signed: Path) -> None:
    run = serving
    ok(canary(run, "start", "1.1.0", "--stage", "production", "--weight", "5"))
    result = ok(canary(run, "abort", "--stage", "production"))
    assert "abort canary summarizer@1.1.0 on production" in result.out
    prod = state(signed)["stages"]["production"]
    assert "canary" not in prod and prod["version"] == "1.0.0"
    assert trailer_map(tag_body(signed, f"{PREFIX}/summarizer/production/3"))["Action"] == (
        "canary-abort"
    )
    refused(
        run,
        signed,
        [
            "canary",
            "weight",
            "summarizer",
            "--stage",
            "production",
            "--weight",
            "5",
            "--reason",
            "r",
        ],
        "no canary runs on summarizer production",
    )


def test_canary_above_max_weight_is_refused(serving: Callable[..., Any], signed: Path) -> None:
    """Scenario 31."""
    refused(
        serving,
        signed,
        [
            "canary",
            "start",
            "summarizer",
            "1.1.0",
            "--stage",
            "production",
            "--weight",
            "50.5",
            "--reason",
            "r",
        ],
        "weight 50.5% is above production's canary.max_weight 50%",
    )


def test_canary_of_a_version_failing_the_gates_is_refused(
    run: Callable[..., Any], signed: Path
) -> None:
    """Scenario 31: ticket-classifier 2.0.0 has no regression eval, which production requires."""
    to_production(run, "ticket-classifier", "1.0.0")
    land(run, *promote("ticket-classifier", "2.0.0", "development"))
    land(run, *promote("ticket-classifier", "2.0.0", "staging"))
    refused(
        run,
        signed,
        [
            "canary", "start", "ticket-classifier", "2.0.0",
            "--stage", "production", "--weight", "5", "--reason", "r",
        ],
        "ticket-classifier@2.0.0 fails production's gates",
    )  # fmt: skip


def test_canary_needs_a_serving_version(run: Callable[..., Any], signed: Path) -> None:
    refused(
        run,
        signed,
        [
            "canary",
            "start",
            "summarizer",
            "1.0.0",
            "--stage",
            "development",
            "--weight",
            "5",
            "--reason",
            "r",
        ],
        "nothing serves summarizer in development",
    )


# --- 4. archive ---------------------------------------------------------------------------


def test_archive_and_unarchive(run: Callable[..., Any], signed: Path) -> None:
    land(run, *promote("summarizer", "1.0.0", "development"))
    land(run, *promote("summarizer", "1.1.0", "development"))
    refused(run, signed, ["archive", "summarizer", "1.1.0", "--reason", "r"], "cannot be archived")
    refused(run, signed, ["archive", "summarizer", "1.0.0", "--reason", "r"], "cannot be archived")

    result = land(run, "archive", "ticket-classifier", "2.0.0", "--reason", "superseded")
    tag = f"{PREFIX}/ticket-classifier/archived/1"
    assert tags_at(signed, "HEAD") == [tag]
    assert trailer_map(tag_body(signed, tag))["Action"] == "archive"
    assert "archive ticket-classifier@2.0.0" in result.out
    assert state(signed, "ticket-classifier")["archived"] == ["2.0.0"]
    # scenario 30
    refused(
        run,
        signed,
        promote("ticket-classifier", "2.0.0", "development"),
        "ticket-classifier@2.0.0 is archived",
    )
    noop = land(run, "archive", "ticket-classifier", "2.0.0", "--reason", "again")
    assert "already archived" in noop.out

    land(run, "unarchive", "ticket-classifier", "2.0.0", "--reason", "needed after all")
    facts = trailer_map(tag_body(signed, f"{PREFIX}/ticket-classifier/archived/2"))
    assert (facts["Action"], facts["Seq"]) == ("unarchive", "2")
    assert facts["Previous-Tag"] == tag
    assert "archived" not in state(signed, "ticket-classifier")
    land(run, *promote("ticket-classifier", "2.0.0", "development"))
    assert state(signed, "ticket-classifier")["stages"]["development"]["version"] == "2.0.0"


# --- 5. refusals change nothing -------------------------------------------------------------


def test_skipping_a_stage_is_refused(run: Callable[..., Any], signed: Path) -> None:
    """Scenario 25."""
    refused(
        run,
        signed,
        promote("summarizer", "1.0.0", "production"),
        "summarizer@1.0.0 must serve one of staging before it enters production",
    )
    land(run, *promote("summarizer", "1.0.0", "development"))
    refused(run, signed, promote("summarizer", "1.0.0", "production"), "must serve one of staging")
    refused(run, signed, promote("summarizer", "1.1.0", "staging"), "must serve one of development")


def test_failing_gate_is_refused(cli: Cli, run: Callable[..., Any], signed: Path) -> None:
    add_version(cli, signed, "1.2.0", smoke=0.5)
    land(run, *promote("summarizer", "1.2.0", "development"))
    result = refused(
        run, signed, promote("summarizer", "1.2.0", "staging"), "fails staging's gates"
    )
    assert "accuracy 0.5 < min 0.8" in result.err


def test_missing_eval_for_a_required_suite_is_refused(
    run: Callable[..., Any], signed: Path
) -> None:
    """Scenario 24."""
    land(run, *promote("ticket-classifier", "2.0.0", "development"))
    land(run, *promote("ticket-classifier", "2.0.0", "staging"))
    result = refused(
        run, signed, promote("ticket-classifier", "2.0.0", "production"), "fails production's gates"
    )
    assert "regression" in result.err


def test_floating_model_id_is_refused_for_production(
    cli: Cli, run: Callable[..., Any], signed: Path
) -> None:
    add_version(cli, signed, "1.2.0", model_id="claude-sonnet-4-5", smoke=0.9, regression=0.95)
    land(run, *promote("summarizer", "1.2.0", "development"))
    land(run, *promote("summarizer", "1.2.0", "staging"))
    refused(
        run,
        signed,
        promote("summarizer", "1.2.0", "production"),
        "production requires a pinned model id; 'claude-sonnet-4-5' is a floating alias",
    )


def test_unregistered_version_file_is_refused(
    cli: Cli, run: Callable[..., Any], signed: Path
) -> None:
    copy_model(signed, "summarizer@1.1.0", "summarizer", "1.2.0")
    edit(signed / "models/summarizer/1.2.0.yaml", "parent: 1.0.0", "parent: 1.1.0")
    refused(
        run, signed, promote("summarizer", "1.2.0", "development"), "1.2.0.yaml is not committed"
    )
    git(signed, "add", "models")  # staged is not committed either
    refused(
        run, signed, promote("summarizer", "1.2.0", "development"), "1.2.0.yaml is not committed"
    )


@pytest.mark.parametrize("hide", ["", "--skip-worktree", "--assume-unchanged"])
def test_modified_version_file_is_refused(run: Callable[..., Any], signed: Path, hide: str) -> None:
    path = signed / "models/summarizer/1.0.0.yaml"
    if hide:
        git(signed, "update-index", hide, "models/summarizer/1.0.0.yaml")
    edit(path, "temperature: 0.3", "temperature: 0.9")
    if hide:  # git status does not see the change; modelreg compares the bytes
        assert git(signed, "status", "--porcelain") == ""
    refused(
        run,
        signed,
        promote("summarizer", "1.0.0", "development"),
        "has changes that are not committed",
    )


def test_hand_edited_state_file_is_refused(run: Callable[..., Any], signed: Path) -> None:
    land(run, *promote("summarizer", "1.0.0", "development"))
    edit(signed / "stages/summarizer.yaml", "version: 1.0.0", "version: 1.1.0")
    result = refused(
        run,
        signed,
        promote("summarizer", "1.1.0", "development"),
        "stages/summarizer.yaml has changes",
    )
    assert "`git checkout HEAD -- stages/summarizer.yaml`" in result.err
    git(signed, "add", "stages")  # staged is no better
    refused(run, signed, promote("summarizer", "1.1.0", "development"), "has changes")
    git(signed, "checkout", "HEAD", "--", "stages")  # the advice
    land(run, *promote("summarizer", "1.1.0", "development"))
    # a state file written by hand for a model with no actions yet
    (signed / "stages/ticket-classifier.yaml").write_text(
        (signed / "stages/summarizer.yaml").read_text()
    )
    result = refused(
        run,
        signed,
        promote("ticket-classifier", "1.0.0", "development"),
        "stages/ticket-classifier.yaml",
    )
    assert "delete the file" in result.err


def test_rerun_after_a_kill_between_branch_and_work_tree(
    run: Callable[..., Any], signed: Path
) -> None:
    """The branch moved, the state file in index and work tree did not: the advice restores it."""
    land(run, *promote("summarizer", "1.0.0", "development"))
    land(run, *promote("summarizer", "1.1.0", "development"))
    made = head(signed)
    git(signed, "checkout", "HEAD~1", "--", "stages/summarizer.yaml")
    result = refused(run, signed, promote("summarizer", "1.1.0", "development"), "has changes")
    advice = result.err.split("`")[1]
    git(signed, *advice.split()[1:])
    assert git(signed, "status", "--porcelain") == ""
    assert "nothing to do" in land(run, *promote("summarizer", "1.1.0", "development")).out
    assert head(signed) == made


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            promote("summarizer", "1.0.0", "prod"),
            "unknown stage 'prod' (stages: development, staging, production)",
        ),
        (promote("summarizer", "9.9.9", "development"), "unknown version summarizer@9.9.9"),
        (promote("nosuch", "1.0.0", "development"), "unknown model 'nosuch'"),
        (promote("../summarizer", "1.0.0", "development"), "model name"),
        (promote("summarizer", "latest", "development"), "'latest' is not a version"),
        (
            ["rollback", "summarizer", "--stage", "development", "--to", "9.9.9", "--reason", "r"],
            "unknown version",
        ),
        (
            ["promote", "summarizer", "1.0.0", "--to", "development", "--reason", " "],
            "--reason must say why",
        ),
        (
            ["promote", "summarizer", "1.0.0", "--to", "development", "--reason", "a\tb"],
            "--reason must be one line",
        ),
    ],
)
def test_bad_input_is_exit_2(
    run: Callable[..., Any], signed: Path, args: list[str], message: str
) -> None:
    land(run, *promote("summarizer", "1.1.0", "development"))
    refused(run, signed, args, message, code=2)


def test_refusal_with_json_is_one_json_error(run: Callable[..., Any], signed: Path) -> None:
    result = refused(
        run, signed, ["--json", *promote("summarizer", "1.0.0", "production")], "from-stage"
    )
    assert result.out == ""
    assert json.loads(result.err) == {
        "error": {
            "rule": "from-stage",
            "message": "summarizer@1.0.0 must serve one of staging before it enters production",
            "file": None,
            "line": None,
        }
    }


# --- 6. no-op ------------------------------------------------------------------------------


def test_promoting_what_is_there_is_a_noop(run: Callable[..., Any], signed: Path) -> None:
    """Scenario 29."""
    land(run, *promote("summarizer", "1.0.0", "development"))
    before = repo_state(signed)
    result = land(run, *promote("summarizer", "1.0.0", "development"))
    assert result.out.strip() == "nothing to do: summarizer@1.0.0 already serves development"
    assert repo_state(signed) == before


# --- 7. signing: all or nothing -------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        (["--unset", "user.signingkey"], "cannot sign the action tag"),
        (["user.signingkey", "/nonexistent/key"], "cannot sign the action tag"),
    ],
)
def test_signing_not_set_up_changes_nothing(
    run: Callable[..., Any], signed: Path, setup: list[str], needle: str
) -> None:
    land(run, *promote("summarizer", "1.0.0", "development"))
    git(signed, "config", "--global", *setup)
    refused(run, signed, promote("summarizer", "1.0.0", "staging"), needle, code=3)
    refused(run, signed, promote("assistant", "1.0.0", "development"), needle, code=3)


def test_untrusted_key_changes_nothing(
    run: Callable[..., Any], signed: Path, keys: dict[str, Key]
) -> None:
    land(run, *promote("summarizer", "1.0.0", "development"))
    use_key(keys["carol"])
    result = refused(
        run, signed, promote("summarizer", "1.0.0", "staging"), "signature does not verify", code=3
    )
    assert "allowed-signers" in result.err and "Good" not in result.err


def test_principal_not_allowed_for_the_stage_is_refused_before_anything_lands(
    run: Callable[..., Any], signed: Path, keys: dict[str, Key]
) -> None:
    """Scenario 8 at the source: carol is trusted, but production needs a release manager."""
    trust(signed, keys["alice"], keys["bob"], keys["carol"])
    use_key(keys["carol"])
    land(run, *promote("summarizer", "1.0.0", "development"))
    result = land(run, "--json", *promote("summarizer", "1.0.0", "staging"))
    assert result.json()["signer"] == "carol@example.com"
    refused(
        run,
        signed,
        promote("summarizer", "1.0.0", "production"),
        "carol@example.com may not sign actions on production",
    )
    # archive decides what may reach production: it needs a production signer too
    refused(run, signed, ["archive", "ticket-classifier", "2.0.0", "--reason", "r"], "may not sign")
    use_key(keys["bob"])
    assert land(run, "--json", *promote("summarizer", "1.0.0", "production")).json()["signer"] == (
        "bob@example.com"
    )


def test_unsigned_actions_when_policy_allows_them_warn(
    run: Callable[..., Any], signed: Path
) -> None:
    edit_policy(signed, "required: true", "required: false")
    git(signed, "config", "--global", "--unset", "user.signingkey")
    result = land(run, "--json", *promote("summarizer", "1.0.0", "development"))
    assert result.json()["signer"] is None
    assert "NOT signed" in result.err and result.err.startswith("warning: ")
    tag = f"{PREFIX}/summarizer/development/1"
    assert git(signed, "cat-file", "-t", tag).strip() == "tag"
    assert "SIGNATURE" not in git(signed, "cat-file", "-p", tag)


# --- 8. reliability ---------------------------------------------------------------------------


@pytest.mark.parametrize("first", [True, False])
def test_rerun_after_a_kill_between_tag_and_branch_finishes(
    run: Callable[..., Any], signed: Path, first: bool
) -> None:
    """Scenario 48: the tag exists, the branch was never moved; the rerun moves it."""
    if not first:
        land(run, *promote("summarizer", "1.1.0", "development"))
    base = head(signed)
    land(run, *promote("summarizer", "1.0.0", "development"))
    made = head(signed)
    tag = tags_at(signed, made)[0]
    # as if killed before the branch moved: index and work tree as at BASE, the tag left
    git(signed, "update-ref", "refs/heads/main", base)
    git(signed, "reset", "-q", "--hard")
    assert git(signed, "status", "--porcelain") == ""
    before_tags = tag_names(signed)

    result = land(run, "--json", *promote("summarizer", "1.0.0", "development"))
    assert "finished the interrupted action" in result.err
    doc = result.json()
    assert (doc["commit"], doc["tag"], doc["signer"]) == (made, tag, "alice@example.com")
    assert head(signed) == made
    assert commits_since(signed, base) == [made]
    assert tag_names(signed) == before_tags and tags_at(signed, made) == [tag]
    assert git(signed, "status", "--porcelain") == ""
    assert state(signed)["stages"]["development"]["version"] == "1.0.0"
    # and once more: a plain no-op
    again = land(run, *promote("summarizer", "1.0.0", "development"))
    assert "nothing to do" in again.out


def test_leftover_tag_of_another_action_is_not_adopted(
    run: Callable[..., Any], signed: Path
) -> None:
    """A tag with the next sequence number for other facts: stop, never overwrite or adopt it."""
    base = head(signed)
    land(run, *promote("summarizer", "1.0.0", "development"))
    git(signed, "update-ref", "refs/heads/main", base)
    git(signed, "reset", "-q", "--hard")
    refused(run, signed, promote("summarizer", "1.1.0", "development"), "already exists", code=3)


def _interrupted(run: Callable[..., Any], signed: Path) -> tuple[str, str, str, str]:
    """An action made, then rewound with its tag deleted: (base, commit, tag name, message)."""
    base = head(signed)
    land(run, *promote("summarizer", "1.0.0", "development"))
    made = head(signed)
    tag = tags_at(signed, made)[0]
    message = tag_body(signed, tag)
    git(signed, "update-ref", "refs/heads/main", base)
    git(signed, "tag", "-d", tag)
    git(signed, "reset", "-q", "--hard")
    return base, made, tag, message


def _sign_tag(repo: Path, name: str, commit: str, message: str, key: Key) -> None:
    subprocess.run(
        ["git", "-c", f"user.signingkey={key.private}", "tag", "-s", "-F", "-", name, commit],
        cwd=repo,
        input=message,
        text=True,
        check=True,
    )


def test_leftover_tag_that_does_not_verify_is_not_adopted(
    run: Callable[..., Any], signed: Path, keys: dict[str, Key]
) -> None:
    """A run killed after `git tag` but before its signature check left a tag CI would refuse
    (here signed by carol, whom the registry does not trust)."""
    base, made, tag, message = _interrupted(run, signed)
    _sign_tag(signed, tag, made, message, keys["carol"])
    result = refused(
        run, signed, promote("summarizer", "1.0.0", "development"), "does not verify", code=3
    )
    assert head(signed) == base
    assert f"`git tag -d {tag}`" in result.err


def test_leftover_tag_on_a_commit_that_changes_more_is_not_adopted(
    run: Callable[..., Any], signed: Path, keys: dict[str, Key]
) -> None:
    """Same facts, trusted signature, but its commit also loosens a gate: never finished."""
    base, made, tag, message = _interrupted(run, signed)
    git(signed, "checkout", "-q", "--detach", made)
    edit(signed / "modelreg.yaml", "accuracy: {min: 0.80}", "accuracy: {min: 0.10}")
    git(signed, "add", "modelreg.yaml")
    tree = git(signed, "write-tree").strip()
    commit = subprocess.run(
        ["git", "commit-tree", tree, "-p", base, "-F", "-"],
        cwd=signed,
        input=message,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    git(signed, "checkout", "-q", "-f", "main")
    _sign_tag(signed, tag, commit, message, keys["alice"])
    refused(run, signed, promote("summarizer", "1.0.0", "development"), "already exists", code=3)
    assert head(signed) == base


def test_stale_index_lock_is_left_alone_and_the_action_lands(
    run: Callable[..., Any], signed: Path
) -> None:
    """Scenario 50."""
    lock = signed / ".git" / "index.lock"
    lock.write_bytes(b"")
    before = head(signed)
    result = land(run, *promote("summarizer", "1.0.0", "development"))
    assert lock.exists()  # never deleted: it is git's
    assert commits_since(signed, before) == [head(signed)]
    assert tags_at(signed, "HEAD") == [f"{PREFIX}/summarizer/development/1"]
    assert "index is locked" in result.err and "not staged" in result.err
    assert (signed / "stages/summarizer.yaml").read_bytes() == git(
        signed, "show", "HEAD:stages/summarizer.yaml"
    ).encode()
    lock.unlink()  # as the user would, once git is done; then the advice works
    git(signed, "reset", "-q", "--", "stages/summarizer.yaml")
    assert git(signed, "status", "--porcelain") == ""


def test_ten_parallel_actions_in_one_clone_all_land_or_exit_3(signed: Path) -> None:
    """Scenario 51: the console script, ten processes at once, different models."""
    names = [f"m{i}" for i in range(10)]
    for name in names:
        copy_model(signed, "summarizer@1.0.0", name)
    base = commit_all(signed, "ten models")
    script = str(venv_bin() / "modelreg")
    procs = [
        subprocess.Popen(
            [script, "--json", *promote(name, "1.0.0", "development")],
            cwd=signed,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    outcomes = {}
    for name, proc in zip(names, procs, strict=True):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode in (0, 3), err
        if proc.returncode == 3:  # only ever for a lock held too long, said in one line
            assert err.startswith("error: another modelreg action holds"), err
        outcomes[name] = (proc.returncode, out, err)
    landed = {n: json.loads(o[1]) for n, o in outcomes.items() if o[0] == 0}
    assert landed, outcomes  # the lock serialises; most, normally all, land
    on_branch = commits_since(signed, base)
    assert len(on_branch) == len(landed)
    for name, doc in landed.items():
        assert doc["tag"] == f"{PREFIX}/{name}/development/1"
        assert doc["commit"] in on_branch
        assert git(signed, "rev-parse", f"{doc['tag']}^{{commit}}").strip() == doc["commit"]
        assert changed_files(signed, doc["commit"]) == [f"stages/{name}.yaml"]
    assert sorted(tag_names(signed)) == sorted(d["tag"] for d in landed.values())
    assert git(signed, "status", "--porcelain") == ""
    fsck(signed)


def test_state_file_is_replaced_never_rewritten_in_place(
    run: Callable[..., Any], signed: Path
) -> None:
    """Scenario 57: a reader never sees a half-written state file."""
    land(run, *promote("summarizer", "1.0.0", "development"))
    path = signed / "stages/summarizer.yaml"
    inode = path.stat().st_ino
    land(run, *promote("summarizer", "1.1.0", "development"))
    assert path.stat().st_ino != inode  # a new file renamed over the old one
    assert sorted(p.name for p in (signed / "stages").iterdir()) == ["summarizer.yaml"]
    assert transaction_leftovers(signed / ".git") == []


def test_state_file_that_cannot_be_written_stops_the_action_before_it_lands(
    run: Callable[..., Any], signed: Path
) -> None:
    """Scenario 57 with a real write error: the state folder is immutable (chattr +i)."""
    land(run, *promote("summarizer", "1.0.0", "development"))
    stages = signed / "stages"
    if subprocess.run(["chattr", "+i", str(stages)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        result = refused(
            run,
            signed,
            promote("summarizer", "1.1.0", "development"),
            "nothing was changed",
            code=3,
        )
        assert "cannot write" in result.err
    finally:
        subprocess.run(["chattr", "-i", str(stages)], check=True)
    assert sorted(p.name for p in stages.iterdir()) == ["summarizer.yaml"]
    land(run, *promote("summarizer", "1.1.0", "development"))
    assert git(signed, "status", "--porcelain") == ""


def test_detached_head_is_refused(run: Callable[..., Any], signed: Path) -> None:
    """Scenario 58."""
    git(signed, "checkout", "-q", "--detach")
    refused(run, signed, promote("summarizer", "1.0.0", "development"), "HEAD is detached", code=3)


def test_another_branch_than_policys_is_refused(run: Callable[..., Any], signed: Path) -> None:
    """Scenario 58: policy says actions run on `release`."""
    edit_policy(signed, "tag_prefix: modelreg", "branch: release\ntag_prefix: modelreg")
    refused(
        run,
        signed,
        promote("summarizer", "1.0.0", "development"),
        "actions run on branch 'release'",
        code=3,
    )
    git(signed, "switch", "-q", "-c", "release")
    land(run, *promote("summarizer", "1.0.0", "development"))
    assert git(signed, "branch", "--contains", f"{PREFIX}/summarizer/development/1").split() == [
        "*",
        "release",
    ]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the repository to another user")
def test_repository_owned_by_another_user_gives_safe_directory_advice(
    run: Callable[..., Any], signed: Path
) -> None:
    """Scenario 59 (the advice): git refuses a repository another user owns."""
    os.chown(signed, 65534, 65534)
    os.chown(signed / ".git", 65534, 65534)
    try:
        result = run(*promote("summarizer", "1.0.0", "development"))
    finally:
        os.chown(signed, 0, 0)
        os.chown(signed / ".git", 0, 0)
    assert result.code == 3, result.err
    assert "safe.directory" in result.err and "Traceback" not in result.err
    assert tag_names(signed) == []


def test_clock_skew_is_reported_and_seq_orders(
    run: Callable[..., Any], signed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scenario 61: the previous action was made by a clock two hours ahead."""
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-11-20T12:00:00Z")
    land(run, *promote("summarizer", "1.0.0", "development"))
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-11-20T10:00:00Z")
    result = land(run, *promote("summarizer", "1.1.0", "development"))
    assert "warning: the previous action modelreg/summarizer/development/1 is dated 120 min" in (
        result.err
    )
    facts = trailer_map(tag_body(signed, f"{PREFIX}/summarizer/development/2"))
    assert (facts["Seq"], facts["Previous-Tag"]) == ("2", f"{PREFIX}/summarizer/development/1")
    assert state(signed)["stages"]["development"]["since"] == NOW
    # no warning without skew
    quiet = land(run, *promote("summarizer", "1.0.0", "development"))
    assert quiet.err == ""


def test_action_lock_waits_then_reports_and_takes_over_a_dead_holder(tmp_path: Path) -> None:
    """The lock in the git dir: a live holder is waited for, then exit 3; a dead one is replaced."""
    from modelreg.errors import EnvironmentFailure
    from modelreg.services.transaction import action_lock

    lock = tmp_path / "modelreg-action.lock"
    lock.write_text(f"{os.getpid()}\n")  # a live process holds it
    with pytest.raises(EnvironmentFailure) as info, action_lock(tmp_path, wait=0.2):
        pass
    assert info.value.exit_code == 3 and "another modelreg action holds" in info.value.message
    assert lock.read_text() == f"{os.getpid()}\n"  # still the holder's

    dead = subprocess.Popen(["true"])
    dead.wait()
    lock.write_text(f"{dead.pid}\n")
    with action_lock(tmp_path, wait=0.2):
        assert lock.read_text() == f"{os.getpid()}\n"
    assert not lock.exists()


# --- messages that say what to do ----------------------------------------------------


def test_archive_refusal_names_every_role(run: Callable[..., Any], signed: Path) -> None:
    land(run, *promote("summarizer", "1.0.0", "development"))
    land(run, *promote("summarizer", "1.0.0", "staging"))
    land(run, *promote("summarizer", "1.1.0", "development"))
    result = refused(run, signed, ["archive", "summarizer", "1.0.0", "--reason", "r"], "archived")
    assert (
        "summarizer@1.0.0 is development's rollback target (previous) and serves staging"
        in result.err
    )


@pytest.mark.parametrize("weight", ["0", "-5", "100.5", "nan", "inf"])
def test_canary_weight_out_of_range_is_bad_input(
    run: Callable[..., Any], signed: Path, weight: str
) -> None:
    to_production(run, "summarizer", "1.0.0")
    land(run, *promote("summarizer", "1.1.0", "development"))
    land(run, *promote("summarizer", "1.1.0", "staging"))
    args = ["canary", "start", "summarizer", "1.1.0", "--stage", "production", "--weight", weight]
    refused(run, signed, [*args, "--reason", "r"], "--weight", code=2)


def test_future_dated_action_is_refused_before_anything_lands(
    run: Callable[..., Any], signed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2099-01-01T00:00:00Z")
    refused(run, signed, promote("summarizer", "1.1.0", "development"), "in the future", code=3)


def test_gate_refusal_points_at_uncommitted_evals(run: Callable[..., Any], signed: Path) -> None:
    land(run, *promote("assistant", "1.0.0", "development"))
    land(run, *promote("assistant", "1.0.0", "staging"))
    args = ["eval", "add", "assistant", "1.0.0", "--suite", "regression"]
    assert run(*args, "--metric", "accuracy=0.95", "--metric", "latency_p95_ms=700").code == 0
    eval_file = signed / "evals/assistant/1.0.0/regression.yaml"
    assert eval_file.is_file()
    result = run(*promote("assistant", "1.0.0", "production"))
    assert result.code == 1
    assert "evals/assistant/1.0.0/ has eval files that are not committed" in result.err
    commit_all(signed, "the regression eval")
    land(run, *promote("assistant", "1.0.0", "production"))


def test_a_stage_whose_signers_are_an_empty_group(run: Callable[..., Any], signed: Path) -> None:
    edit_policy(
        signed, "release-managers: [alice@example.com, bob@example.com]", "release-managers: []"
    )
    land(run, *promote("summarizer", "1.1.0", "development"))
    land(run, *promote("summarizer", "1.1.0", "staging"))
    refused(
        run,
        signed,
        promote("summarizer", "1.1.0", "production"),
        "policy allows nobody: its signers name only empty groups",
    )


def test_an_action_on_another_branch_is_not_taken_for_an_interrupted_one(
    run: Callable[..., Any], signed: Path
) -> None:
    git(signed, "switch", "-q", "-c", "act")
    land(run, *promote("assistant", "1.0.0", "development"))
    git(signed, "switch", "-q", "main")
    for reason in ("r", "another reason"):
        refused(
            run,
            signed,
            ["promote", "assistant", "1.0.0", "--to", "development", "--reason", reason],
            "already exists but is not on this branch",
            code=3,
        )


@pytest.mark.parametrize(
    "args",
    [
        ["promote", "summarizer", "1.1.0", "--to", "archived", "--reason", "r"],
        ["rollback", "summarizer", "--stage", "archived", "--reason", "r"],
        ["canary", "abort", "summarizer", "--stage", "archived", "--reason", "r"],
    ],
)
def test_archived_is_not_a_stage_to_act_on(run: Callable[..., Any], signed: Path, args) -> None:
    refused(run, signed, args, "unknown stage 'archived'", code=2)


def test_log_after_an_action_needs_no_new_verification(
    run: Callable[..., Any], signed: Path
) -> None:
    """The action's preflight verified its tag; `log` reads that from the cache."""
    land(run, *promote("summarizer", "1.1.0", "development"))
    cache = json.loads((signed / ".git" / "modelreg-verified.json").read_text())
    (entries,) = cache.values()
    tag_oid = git(signed, "rev-parse", f"{PREFIX}/summarizer/development/1").strip()
    assert entries[tag_oid][0] == "alice@example.com"
    events = json.loads(run("--json", "log", "summarizer").out)["events"]
    assert [(e["signer"], e["verified"]) for e in events] == [("alice@example.com", True)]
