"""`at` and `which`: answers checked against an independent replay of a long, real history.

The history is built by the benchmark generator (benchmarks/generate_history.py): every
action made by the same rules as `modelreg promote`, each a commit sealed by an SSH-signed
annotated tag, each in its own second. The oracle below reads it with plain git and PyYAML,
ordering the tags by tagger date: it shares no code with modelreg's replay, which walks the
tag chains from HEAD's state file and verifies each signature.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import PROJECT, Key, commit_all, git, use_key, write

sys.path.insert(0, str(PROJECT / "benchmarks"))
from generate_history import build, ensure_keys

from modelreg.registry import Registry
from modelreg.services.forensics import Replay, at, parse_time, replay, which

MODELS, VERSIONS = 3, 12
STAGES = ("development", "staging", "production")


def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """3 models x 12 versions with ~60 signed actions, built once for this module."""
    base = tmp_path_factory.mktemp("history")
    home = base / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = T\n\temail = t@example.com\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "SSH_AUTH_SOCK"):
            mp.delenv(name, raising=False)
        build(base / "registry", MODELS, VERSIONS, ensure_keys(base / "keys"))
    yield base / "registry"


# --- the independent oracle ----------------------------------------------------------------


@dataclass
class Action:
    tag: str
    stage: str
    epoch: int
    state: dict[str, Any]  # the state file at the tag's commit, read by PyYAML


def actions_of(repo: Path, model: str) -> list[Action]:
    rows = git(
        repo,
        "for-each-ref",
        "--format=%(refname:strip=2) %(taggerdate:unix) %(*objectname)",
        f"refs/tags/modelreg/{model}/",
    ).splitlines()
    out = []
    for row in rows:
        tag, epoch, commit = row.split()
        state = yaml.safe_load(git(repo, "show", f"{commit}:stages/{model}.yaml"))
        out.append(Action(tag, tag.split("/")[2], int(epoch), state))
    out.sort(key=lambda a: a.epoch)
    assert len({a.epoch for a in out}) == len(out), "the generator gives each action its own second"
    return out


def served(state: dict[str, Any] | None, stage: str) -> tuple[Any, Any, Any]:
    """(stable version, canary version, canary weight) of STAGE in STATE."""
    entry = ((state or {}).get("stages") or {}).get(stage)
    if not entry:
        return None, None, None
    canary = entry.get("canary") or {}
    return entry["version"], canary.get("version"), canary.get("weight")


def oracle_at(actions: list[Action], stage: str, epoch: int) -> tuple[Any, Any, Any, str | None]:
    """What served STAGE at EPOCH, and the tag that made the stable version serve."""
    shipped, stable = None, None
    state = None
    for a in actions:
        if a.epoch > epoch:
            break
        state = a.state
        now = served(a.state, stage)[0]
        if now != stable:
            stable, shipped = now, a.tag
    return (*served(state, stage), shipped)


def oracle_periods(actions: list[Action], version: str) -> set[tuple[str, str, str, str | None]]:
    """{(stage, variant, from, to)} of every period VERSION served."""
    out = set()
    for stage in STAGES:
        current: dict[str, tuple[str, int] | None] = {"stable": None, "canary": None}
        for a in actions:
            stable, canary, _weight = served(a.state, stage)
            for variant, now in (("stable", stable), ("canary", canary)):
                was = current[variant]
                if was is not None and was[0] != now:
                    if was[0] == version:
                        out.add((stage, variant, iso(was[1]), iso(a.epoch)))
                    current[variant] = None
                if now is not None and current[variant] is None:
                    current[variant] = (now, a.epoch)
        for variant, was in current.items():
            if was is not None and was[0] == version:
                out.add((stage, variant, iso(was[1]), None))
    return out


# --- at -------------------------------------------------------------------------------------


def probe_times(actions: list[Action]) -> list[int]:
    """Before everything, each action's second, the second before it, and halfway to the next."""
    times = [actions[0].epoch - 3600]
    for a, b in zip(actions, [*actions[1:], None], strict=True):
        times += [a.epoch - 1, a.epoch]
        if b is not None:
            times.append((a.epoch + b.epoch) // 2)
    return times


@pytest.mark.parametrize("model", [f"model-{m:03d}" for m in range(MODELS)])
def test_at_agrees_with_an_independent_replay_at_every_moment(history: Path, model: str) -> None:
    actions = actions_of(history, model)
    assert len(actions) >= 15  # a real history: promotions, a rollback, a canary, an archive
    rp: Replay = replay(Registry(history), model)
    assert len(rp.steps) == len(actions)
    assert all(step.event.verified for step in rp.steps)
    checked = 0
    for stage in STAGES:
        for epoch in probe_times(actions):
            want_stable, want_canary, want_weight, want_tag = oracle_at(actions, stage, epoch)
            got = rp.at(stage, epoch)
            assert (got.version, got.shipped_by.tag if got.shipped_by else None) == (
                want_stable,
                want_tag,
            ), (stage, iso(epoch))
            canary = got.canary or {}
            assert (canary.get("version"), canary.get("weight")) == (want_canary, want_weight)
            checked += 1
    assert checked > 100


def test_at_reports_the_digest_config_and_since_of_the_version(history: Path) -> None:
    reg = Registry(history)
    actions = actions_of(history, "model-000")
    last_production = [a for a in actions if a.stage == "production"][-1]
    result = at(reg, "model-000", "production", iso(last_production.epoch))
    entry = last_production.state["stages"]["production"]
    assert result.version == entry["version"]
    assert result.digest == entry["digest"]
    assert result.since == entry["since"]
    assert result.config is not None and result.config["version"] == entry["version"]
    assert result.as_json()["variant"] == "stable"


# --- which ----------------------------------------------------------------------------------


def test_which_lists_every_period_a_version_served(history: Path) -> None:
    reg = Registry(history)
    actions = actions_of(history, "model-001")
    versions = {
        v for a in actions for stage in STAGES for v in served(a.state, stage)[:2] if v is not None
    }
    assert len(versions) >= 4
    for version in sorted(versions):
        dg = reg.version("model-001", version).digest
        result = which(reg, dg[7:19])
        [match] = [m for m in result.matches if m.model == "model-001"]
        assert (match.version, match.digest) == (version, dg)
        got = {(p["stage"], p["variant"], p["from"], p["to"]) for p in match.as_json()["served"]}
        assert got == oracle_periods(actions, version), version


def test_which_finds_a_version_that_never_served(history: Path) -> None:
    reg = Registry(history)
    newest = reg.versions("model-002")[-1]
    dg = reg.version("model-002", newest).digest
    [match] = which(reg, dg).matches
    assert (match.model, match.version, match.periods) == ("model-002", newest, [])


# --- the commands on a registry made by the CLI ---------------------------------------------


def act(cli: Any, repo: Path, monkeypatch: pytest.MonkeyPatch, when: str, *args: str) -> None:
    monkeypatch.setenv("GIT_COMMITTER_DATE", when)
    monkeypatch.setenv("GIT_AUTHOR_DATE", when)
    r = cli(*args, cwd=repo)
    assert r.code == 0, r.err


@pytest.fixture
def shipped(signed: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """summarizer 1.0.0 to production on the 21st, a canary of 1.1.0 on the 22nd, promoted on
    the 23rd, rolled back on the 24th (each action at 10:00 UTC)."""
    steps = [
        ("2026-11-21T09:00:00Z", "promote", "summarizer", "1.0.0", "--to", "development"),
        ("2026-11-21T09:30:00Z", "promote", "summarizer", "1.0.0", "--to", "staging"),
        ("2026-11-21T10:00:00Z", "promote", "summarizer", "1.0.0", "--to", "production"),
        ("2026-11-22T09:00:00Z", "promote", "summarizer", "1.1.0", "--to", "development"),
        ("2026-11-22T09:30:00Z", "promote", "summarizer", "1.1.0", "--to", "staging"),
        ("2026-11-22T10:00:00Z", "canary", "start", "summarizer", "1.1.0", "--stage", "production", "--weight", "10"),
        ("2026-11-22T16:00:00Z", "canary", "weight", "summarizer", "--stage", "production", "--weight", "25"),
        ("2026-11-23T10:00:00Z", "canary", "promote", "summarizer", "--stage", "production"),
        ("2026-11-24T10:00:00Z", "rollback", "summarizer", "--stage", "production"),
    ]  # fmt: skip
    for when, *args in steps:
        act(cli, signed, monkeypatch, when, *args, "--reason", f"step at {when}")
    return signed


def test_at_on_the_command_line(shipped: Path, cli: Any) -> None:
    r = cli(
        "at", "summarizer", "--stage", "production", "--time", "2026-11-22T12:00:00Z", cwd=shipped
    )
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].startswith("summarizer production at 2026-11-22T12:00:00Z: 1.0.0 (sha256:")
    assert "serving since 2026-11-21T10:00:00Z" in lines[1]
    assert (
        'promote modelreg/summarizer/production/1, signed by alice@example.com: "step at 2026-11-21T10:00:00Z"'
        in lines[2]
    )
    assert "canary        1.1.0 at 10% since 2026-11-22T10:00:00Z" in lines[3]

    # JSON: the DESIGN keys first, then who shipped it and why
    r = cli(
        "--json",
        "at",
        "summarizer",
        "--stage",
        "production",
        "--time",
        "2026-11-23T11:00+01:00",
        cwd=shipped,
    )
    data = r.json()
    assert isinstance(data, dict)
    assert list(data)[:6] == ["model", "stage", "version", "digest", "variant", "config"]
    assert (data["version"], data["variant"], data["time"]) == (
        "1.1.0",
        "stable",
        "2026-11-23T10:00:00Z",
    )
    assert data["shipped_by"]["action"] == "canary-promote"
    assert data["shipped_by"]["verified"] is True
    assert data["canary"] is None
    assert data["config"]["version"] == "1.1.0"

    # after the rollback; and a time with no offset is UTC
    r = cli(
        "--json",
        "at",
        "summarizer",
        "--stage",
        "production",
        "--time",
        "2026-11-24T10:00:00",
        cwd=shipped,
    )
    data = r.json()
    assert isinstance(data, dict)
    assert (data["version"], data["shipped_by"]["action"]) == ("1.0.0", "rollback")
    assert data["since"] == "2026-11-24T10:00:00Z"


def test_at_before_anything_served_is_no(shipped: Path, cli: Any) -> None:
    r = cli(
        "at", "summarizer", "--stage", "production", "--time", "2026-11-21T09:59:59Z", cwd=shipped
    )
    assert (r.code, r.out.strip()) == (
        1,
        "nothing served summarizer production at 2026-11-21T09:59:59Z",
    )
    r = cli(
        "--json", "at", "summarizer", "--stage", "production", "--time", "2026-11-01", cwd=shipped
    )
    data = r.json()
    assert r.code == 1 and isinstance(data, dict)
    assert (data["version"], data["variant"], data["config"]) == (None, None, None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--time", "yesterday"], "is not an ISO 8601 time"),
        (["--time", "2026-13-01T00:00:00Z"], "is not an ISO 8601 time"),
        (["--stage", "prod"], "unknown stage 'prod'"),
    ],
)
def test_at_bad_input_is_exit_2(example: Path, cli: Any, args: list[str], message: str) -> None:
    base = {"--stage": "production", "--time": "2026-11-22T12:00:00Z"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    argv = [x for kv in base.items() for x in kv]
    r = cli("at", "summarizer", *argv, cwd=example)
    assert r.code == 2
    assert r.err.startswith("error: ") and message in r.err and len(r.err.splitlines()) == 1


def test_at_in_the_same_second_sees_the_last_action(signed: Path, cli: Any) -> None:
    """The test env dates every action 2026-11-20T10:00:00Z: the last one of that second wins."""
    for stage in ("development", "staging", "production"):
        assert (
            cli("promote", "summarizer", "1.0.0", "--to", stage, "--reason", "go", cwd=signed).code
            == 0
        )
    for stage in ("development", "staging"):
        assert (
            cli("promote", "summarizer", "1.1.0", "--to", stage, "--reason", "go", cwd=signed).code
            == 0
        )
    r = cli(
        "--json",
        "at",
        "summarizer",
        "--stage",
        "staging",
        "--time",
        "2026-11-20T10:00:00Z",
        cwd=signed,
    )
    data = r.json()
    assert isinstance(data, dict)
    assert data["version"] == "1.1.0"
    assert data["shipped_by"]["tag"] == "modelreg/summarizer/staging/2"


def test_which_on_the_command_line(shipped: Path, cli: Any) -> None:
    dg = Registry(shipped).version("summarizer", "1.1.0").digest
    r = cli("--json", "which", dg[:19].upper().replace("SHA256", "sha256"), cwd=shipped)
    data = r.json()
    assert r.code == 0 and isinstance(data, dict)
    [match] = data["matches"]
    assert (match["model"], match["version"], match["digest"]) == ("summarizer", "1.1.0", dg)
    periods = [(p["stage"], p["variant"], p["from"], p["to"]) for p in match["served"]]
    assert periods == [
        ("development", "stable", "2026-11-22T09:00:00Z", None),
        ("staging", "stable", "2026-11-22T09:30:00Z", None),
        ("production", "canary", "2026-11-22T10:00:00Z", "2026-11-23T10:00:00Z"),
        ("production", "stable", "2026-11-23T10:00:00Z", "2026-11-24T10:00:00Z"),
    ]
    canary = match["served"][2]
    assert canary["weights"] == [10, 25]
    assert canary["started_by"]["reason"] == "step at 2026-11-22T10:00:00Z"
    assert match["served"][3]["to_tag"] == "modelreg/summarizer/production/5"  # the rollback

    r = cli("which", dg[7:15], cwd=shipped)
    assert r.code == 0, r.err
    assert r.out.splitlines()[0] == f"summarizer@1.1.0  {dg}"
    assert "canary 10%->25%" in r.out


@pytest.mark.parametrize(
    ("digest", "code", "message"),
    [
        ("abc123", 2, "too short: give at least 8 hex digits"),
        ("sha256:xyz12345", 2, "is not a sha256 digest"),
        ("a" * 65, 2, "is not a sha256 digest"),
        ("00000000", 1, "no version has a digest starting with 00000000"),
    ],
)
def test_which_bad_or_unknown_digest(
    example: Path, cli: Any, digest: str, code: int, message: str
) -> None:
    r = cli("which", digest, cwd=example)
    assert r.code == code
    assert message in (r.err if code == 2 else r.out)


def test_which_no_match_json_is_an_empty_list(example: Path, cli: Any) -> None:
    r = cli("--json", "which", "00000000", cwd=example)
    assert (r.code, r.json()) == (1, {"matches": []})


def test_a_hand_edited_state_file_is_what_served_but_never_vouched_for(
    shipped: Path, cli: Any
) -> None:
    """Deploy tooling reads the branch: a committed hand edit did serve. `at` says so, as an
    unsigned change, and warns; it never borrows the last action's signer."""
    path = shipped / "stages" / "summarizer.yaml"
    path.write_text(path.read_text().replace("version: 1.0.0", "version: 1.1.0", 1))
    monkeypatch_date = "2026-11-24T12:00:00Z"
    git(shipped, "add", "-A")
    subprocess.run(
        ["git", "commit", "-q", "--no-verify", "-m", "hand edit"],
        cwd=shipped,
        check=True,
        env={**os.environ, "GIT_COMMITTER_DATE": monkeypatch_date},
    )
    r = cli(
        "--json",
        "at",
        "summarizer",
        "--stage",
        "production",
        "--time",
        "2026-11-25T00:00:00Z",
        cwd=shipped,
    )
    data = r.json()
    assert isinstance(data, dict)
    assert data["version"] == "1.1.0"
    assert data["shipped_by"]["action"] == "unsigned-change"
    assert data["shipped_by"]["verified"] is False and data["shipped_by"]["signer"] is None
    assert data["shipped_by"]["at"] == monkeypatch_date
    r = cli(
        "at", "summarizer", "--stage", "production", "--time", "2026-11-25T00:00:00Z", cwd=shipped
    )
    assert "unsigned-change in commit" in r.out and "UNVERIFIED" in r.out
    assert "1 of 10 changes of stages/summarizer.yaml on this branch are not verified" in r.err
    # before the edit, the signed answer
    r = cli(
        "--json",
        "at",
        "summarizer",
        "--stage",
        "production",
        "--time",
        "2026-11-24T11:00:00Z",
        cwd=shipped,
    )
    data = r.json()
    assert isinstance(data, dict)
    assert (data["version"], data["shipped_by"]["action"]) == ("1.0.0", "rollback")


def test_a_broken_tag_chain_loses_no_history(shipped: Path, cli: Any) -> None:
    """The last action's tag replaced by a lightweight tag: that step is unverified, and every
    earlier signed action still answers (they are found from the commits, not the chain)."""
    tag = "modelreg/summarizer/production/5"
    commit = git(shipped, "rev-parse", f"{tag}^{{commit}}").strip()
    git(shipped, "tag", "-f", tag, commit)  # lightweight now
    r = cli(
        "--json",
        "at",
        "summarizer",
        "--stage",
        "production",
        "--time",
        "2026-11-23T12:00:00Z",
        cwd=shipped,
    )
    data = r.json()
    assert isinstance(data, dict)
    assert (data["version"], data["shipped_by"]["action"], data["shipped_by"]["verified"]) == (
        "1.1.0",
        "canary-promote",
        True,
    )
    r = cli(
        "--json",
        "at",
        "summarizer",
        "--stage",
        "production",
        "--time",
        "2026-11-24T12:00:00Z",
        cwd=shipped,
    )
    data = r.json()
    assert isinstance(data, dict)
    assert data["version"] == "1.0.0" and data["shipped_by"]["verified"] is False
    events = cli("--json", "log", "summarizer", "--stage", "production", cwd=shipped).json()
    assert isinstance(events, dict)
    assert [e["verified"] for e in events["events"]] == [True, True, True, True, False]


def test_order_comes_from_the_commits_not_the_clocks(
    signed: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A promoter whose clock is an hour behind acts after one whose clock is right: the
    second action follows the first, whatever its tagger date says (THREATS 61)."""
    steps = [
        ("2026-11-21T09:00:00Z", "promote", "summarizer", "1.0.0", "--to", "development"),
        ("2026-11-21T09:10:00Z", "promote", "summarizer", "1.0.0", "--to", "staging"),
        ("2026-11-21T09:20:00Z", "promote", "summarizer", "1.0.0", "--to", "production"),
        ("2026-11-21T09:30:00Z", "promote", "summarizer", "1.1.0", "--to", "development"),
        ("2026-11-21T09:40:00Z", "promote", "summarizer", "1.1.0", "--to", "staging"),
        ("2026-11-25T12:00:00Z", "rollback", "summarizer", "--stage", "development"),
        ("2026-11-25T11:00:00Z", "canary", "start", "summarizer", "1.1.0", "--stage", "production", "--weight", "10"),
    ]  # fmt: skip
    for when, *args in steps:
        act(cli, signed, monkeypatch, when, *args, "--reason", when)
    r = cli(
        "--json",
        "at",
        "summarizer",
        "--stage",
        "production",
        "--time",
        "2026-11-25T13:00:00Z",
        cwd=signed,
    )
    data = r.json()
    assert isinstance(data, dict)
    assert data["canary"]["version"] == "1.1.0" and data["canary"]["weight"] == 10
    assert r.err == ""
    dg = Registry(signed).version("summarizer", "1.1.0").digest
    [match] = cli("--json", "which", dg, cwd=signed).json()["matches"]  # type: ignore[index]
    canary = [p for p in match["served"] if p["variant"] == "canary"]
    assert [(p["stage"], p["to"]) for p in canary] == [("production", None)]


def test_an_untrusted_signer_is_shown_unverified(
    shipped: Path, cli: Any, keys: dict[str, Key], monkeypatch: pytest.MonkeyPatch
) -> None:
    # bob is removed from the trusted signers after the fact; alice signed everything but
    # the last action, which carol (never trusted) signs by hand-configured git
    use_key(keys["carol"])
    write(
        shipped / ".modelreg" / "allowed_signers", keys["alice"].allowed() + keys["carol"].allowed()
    )
    commit_all(shipped, "trust carol")  # (verify would refuse this unsigned change; at only reads)
    act(
        cli,
        shipped,
        monkeypatch,
        "2026-11-25T10:00:00Z",
        "rollback",
        "summarizer",
        "--stage",
        "staging",
        "--reason",
        "carol",
    )
    write(shipped / ".modelreg" / "allowed_signers", keys["alice"].allowed())
    commit_all(shipped, "distrust carol")
    r = cli(
        "--json",
        "at",
        "summarizer",
        "--stage",
        "staging",
        "--time",
        "2026-11-26T00:00:00Z",
        cwd=shipped,
    )
    data = r.json()
    assert isinstance(data, dict)
    assert data["shipped_by"]["signer"] is None and data["shipped_by"]["verified"] is False
    r = cli("at", "summarizer", "--stage", "staging", "--time", "2026-11-26T00:00:00Z", cwd=shipped)
    assert "UNVERIFIED (signed by a key that is not in the trusted allowed-signers file)" in r.out
    assert "are not verified signed actions" in r.err


def test_parse_time_forms() -> None:
    assert parse_time("2026-11-21T14:05:00Z") == parse_time("2026-11-21T15:05:00+01:00")
    assert parse_time("2026-11-21T14:05") == parse_time("2026-11-21T14:05:00Z")
    assert parse_time("2026-11-21") == parse_time("2026-11-21T00:00:00Z")
    assert parse_time("2026-11-21T14:05:00.999Z") == parse_time("2026-11-21T14:05:00Z")


def test_history_builder_made_signed_tags(history: Path) -> None:
    """The fixture is what it claims: annotated tags carrying SSH signatures."""
    tag = git(
        history, "for-each-ref", "--count=1", "--format=%(refname)", "refs/tags/modelreg/"
    ).strip()
    body = subprocess.run(
        ["git", "cat-file", "tag", tag], cwd=history, capture_output=True, text=True
    ).stdout
    assert "-----BEGIN SSH SIGNATURE-----" in body


def test_which_reads_registered_versions_through_a_blob_id_cache(example: Path, cli: Any) -> None:
    dg = Registry(example).version("summarizer", "1.0.0").digest
    cache = example / ".git" / "modelreg-digests.json"
    first = cli("--json", "which", dg, cwd=example)
    assert first.code == 0 and cache.is_file()
    blob = git(example, "rev-parse", "HEAD:models/summarizer/1.0.0.yaml").strip()
    assert json.loads(cache.read_text())["digests"][blob] == dg
    assert cli("--json", "which", dg, cwd=example).out == first.out  # answered from the cache
    for junk in ("not json", '{"key": "other", "digests": {}}', "[]"):
        cache.write_text(junk)
        assert cli("--json", "which", dg, cwd=example).out == first.out
    # a draft in the work tree is not registered; a broken committed file is a warning
    write(example / "models" / "summarizer" / "9.0.0.yaml", "name: [unclosed\n")
    assert cli("which", dg, cwd=example).err == ""
    commit_all(example, "a broken file")
    r = cli("which", dg, cwd=example)
    assert r.code == 0
    assert r.err.startswith("warning: models/summarizer/9.0.0.yaml:2: invalid YAML")


# --- serving and diff on the same long history ------------------------------------------


def test_export_resolve_and_diff_answer_from_the_long_history(history: Path, cli: Any) -> None:
    from modelreg import Registry as Runtime

    r = cli("--repo", str(history), "export", "--stage", "production")
    assert r.code == 0, r.err
    bundle = json.loads(r.out)
    assert bundle["source"]["commit"] == git(history, "rev-parse", "HEAD").strip()
    runtime = Runtime.from_data(bundle)
    for m in range(MODELS):
        model = f"model-{m:03d}"
        state = yaml.safe_load((history / "stages" / f"{model}.yaml").read_text())
        entry = state["stages"]["production"]
        assert bundle["models"][model]["version"] == entry["version"]
        assert bundle["models"][model]["digest"] == entry["digest"]
        assert bundle["models"][model]["tag"] == state["tags"]["production"]
        assert runtime.resolve(model, "production").version == entry["version"]
        # diff between what serves staging and production names both, with the digests
        r = cli("--repo", str(history), "--json", "diff", f"{model}@production", f"{model}@staging")
        assert r.code == 0, r.err
        data = r.json()
        assert isinstance(data, dict)
        staging = state["stages"]["staging"]["version"]
        assert (data["from"], data["to"]) == (f"{model}@{entry['version']}", f"{model}@{staging}")


def test_broken_caches_in_the_git_dir_are_ignored_not_fatal(shipped: Path, cli: Any) -> None:
    dg = Registry(shipped).version("summarizer", "1.1.0").digest
    first_which = cli("--json", "which", dg, cwd=shipped).out
    first_log = cli("--json", "log", "summarizer", cwd=shipped).out
    digests = shipped / ".git" / "modelreg-digests.json"
    verified = shipped / ".git" / "modelreg-verified.json"
    key = json.loads(digests.read_text())["key"]
    [trust] = json.loads(verified.read_text())
    oid = git(shipped, "rev-parse", "modelreg/summarizer/production/1").strip()
    for junk in ([], None, {"x": 1}, {"x": "sha256:short"}):
        digests.write_text(json.dumps({"key": key, "digests": junk}))
        assert cli("--json", "which", dg, cwd=shipped).out == first_which
    for junk in ([], None, "x", {oid: [123, "ssh", 5]}, {oid: "no"}):
        verified.write_text(json.dumps({trust: junk}))
        r = cli("--json", "log", "summarizer", cwd=shipped)
        assert (r.code, r.out) == (0, first_log)


def test_an_unverified_future_date_moves_no_other_change(
    shipped: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hand edit dated 2099 must not push a later, signed canary into 2099."""
    path = shipped / "stages" / "summarizer.yaml"
    path.write_text(path.read_text() + "# touched\n")
    git(shipped, "add", "-A")
    subprocess.run(
        ["git", "commit", "-q", "--no-verify", "-m", "touch"],
        cwd=shipped,
        check=True,
        env={**os.environ, "GIT_COMMITTER_DATE": "2099-01-01T00:00:00Z"},
    )
    act(
        cli,
        shipped,
        monkeypatch,
        "2026-11-25T10:00:00Z",
        "canary",
        "start",
        "summarizer",
        "1.1.0",
        "--stage",
        "production",
        "--weight",
        "10",
        "--reason",
        "x",
    )
    r = cli(
        "--json",
        "at",
        "summarizer",
        "--stage",
        "production",
        "--time",
        "2026-11-25T11:00:00Z",
        cwd=shipped,
    )
    data = r.json()
    assert isinstance(data, dict)
    assert data["canary"]["version"] == "1.1.0"
    dg = Registry(shipped).version("summarizer", "1.1.0").digest
    [match] = cli("--json", "which", dg, cwd=shipped).json()["matches"]  # type: ignore[index]
    assert ("production", "canary", "2026-11-25T10:00:00Z", None) in [
        (p["stage"], p["variant"], p["from"], p["to"]) for p in match["served"]
    ]


@pytest.mark.parametrize(
    ("time", "shown"),
    [("0001-01-01", "0001-01-01T00:00:00Z"), ("1960-05-01T12:00:00Z", "1960-05-01T12:00:00Z")],
)
def test_at_shows_the_moment_asked_about(example: Path, cli: Any, time: str, shown: str) -> None:
    r = cli("at", "summarizer", "--stage", "production", "--time", time, cwd=example)
    assert (r.code, r.out.strip()) == (1, f"nothing served summarizer production at {shown}")


@pytest.mark.parametrize("time", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"])
def test_at_a_time_outside_the_calendar_is_exit_2(example: Path, cli: Any, time: str) -> None:
    r = cli("at", "summarizer", "--stage", "production", "--time", time, cwd=example)
    assert r.code == 2 and "outside the years 1 to 9999" in r.err


def test_forensics_refuse_a_shallow_clone(shipped: Path, cli: Any, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "2", f"file://{shipped}", str(clone))
    for args in (
        ("log", "summarizer"),
        ("at", "summarizer", "--stage", "production", "--time", "2026-11-20"),
    ):
        r = cli(*args, cwd=clone)
        assert r.code == 3 and "shallow clone" in r.err, args


def test_an_action_merged_from_a_pull_request_serves_from_the_merge(
    signed: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Promotions reviewed as pull requests: made on a branch at 10:00 and 10:30, merged
    with a merge commit at 14:00. The branch (what deploy tooling reads) served them from
    14:00, and only the last state of the pull request."""
    act(
        cli,
        signed,
        monkeypatch,
        "2026-11-21T09:00:00Z",
        "promote",
        "summarizer",
        "1.0.0",
        "--to",
        "development",
        "--reason",
        "main",
    )
    git(signed, "checkout", "-q", "-b", "pr")
    act(
        cli,
        signed,
        monkeypatch,
        "2026-11-21T10:00:00Z",
        "promote",
        "summarizer",
        "1.0.0",
        "--to",
        "staging",
        "--reason",
        "pr 1",
    )
    act(
        cli,
        signed,
        monkeypatch,
        "2026-11-21T10:30:00Z",
        "promote",
        "summarizer",
        "1.1.0",
        "--to",
        "development",
        "--reason",
        "pr 2",
    )
    git(signed, "checkout", "-q", "main")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-11-21T14:00:00Z")
    git(signed, "merge", "-q", "--no-ff", "-m", "merge pr", "pr")
    assert cli("verify", "--all", cwd=signed).code == 0

    def at(stage: str, time: str) -> dict[str, Any]:
        r = cli("--json", "at", "summarizer", "--stage", stage, "--time", time, cwd=signed)
        data = r.json()
        assert isinstance(data, dict)
        return data

    assert at("staging", "2026-11-21T12:00:00Z")["version"] is None  # not on the branch yet
    assert at("development", "2026-11-21T12:00:00Z")["version"] == "1.0.0"
    after = at("staging", "2026-11-21T14:00:00Z")
    assert (after["version"], after["shipped_by"]["reason"], after["shipped_by"]["verified"]) == (
        "1.0.0",
        "pr 1",
        True,
    )
    assert at("development", "2026-11-21T14:00:00Z")["version"] == "1.1.0"
    events = cli("--json", "log", "summarizer", cwd=signed).json()
    assert isinstance(events, dict)
    assert [e["reason"] for e in events["events"]] == ["main", "pr 1", "pr 2"]
    assert all(e["verified"] for e in events["events"])
    dg = Registry(signed).version("summarizer", "1.1.0").digest
    [match] = cli("--json", "which", dg, cwd=signed).json()["matches"]  # type: ignore[index]
    assert [(p["stage"], p["from"]) for p in match["served"]] == [
        ("development", "2026-11-21T14:00:00Z")
    ]
