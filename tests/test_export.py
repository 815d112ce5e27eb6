"""`export` and `resolve`: the bundle of a stage from a commit, and the config a request gets."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from test_schemas import SHARED_KEYWORDS, _keywords

from conftest import EXAMPLE, PROJECT, Key, commit_all, git, use_key, write
from modelreg import Registry, SourceError
from modelreg.core.digest import digest
from modelreg.runtime import BUNDLE_SCHEMA
from modelreg.services import export as export_service
from modelreg.yamlio import load_path

Cli = Callable[..., Any]
SCHEMA = json.loads((PROJECT / "schemas" / "bundle.schema.json").read_text())


def version_digest(repo: Path, model: str, version: str) -> str:
    return digest(load_path(repo / "models" / model / f"{version}.yaml").data)


def set_up_canary(cli: Cli, repo: Path) -> None:
    """development: summarizer 1.0.0 with 1.1.0 as a 25% canary, ticket-classifier 1.0.0;
    assistant serves nothing. Three signed actions."""
    for args in (
        ("promote", "summarizer", "1.0.0", "--to", "development", "--reason", "first"),
        ("promote", "ticket-classifier", "1.0.0", "--to", "development", "--reason", "first"),
        (
            "canary", "start", "summarizer", "1.1.0",
            "--stage", "development", "--weight", "25", "--reason", "try 1.1",
        ),
    ):  # fmt: skip
        result = cli(*args, cwd=repo)
        assert result.code == 0, result.err


def canary_copy(
    cli: Cli, signed: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> Path:
    """A copy of SIGNED after `set_up_canary`; the actions run once per test process."""
    cache = tmp_path_factory.getbasetemp() / "canary-registry"
    if not cache.exists():
        set_up_canary(cli, signed)
        shutil.copytree(signed, cache, symlinks=True)
    repo = tmp_path / "canary"
    shutil.copytree(cache, repo, symlinks=True)
    return repo


@pytest.fixture
def canary_repo(
    cli: Cli, signed: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> Path:
    return canary_copy(cli, signed, tmp_path_factory, tmp_path)


def export_json_stage(cli: Cli, cwd: Path, stage: str, *args: str) -> dict[str, Any]:
    result = cli("export", "--stage", stage, *args, cwd=cwd)
    assert result.code == 0, result.err
    data: dict[str, Any] = json.loads(result.out)
    return data


def export_json(cli: Cli, repo: Path, *args: str) -> dict[str, Any]:
    return export_json_stage(cli, repo, "development", *args)


# --- the bundle ----------------------------------------------------------------------------


def test_bundle_holds_every_model_with_config_canary_commit_and_tag(
    cli: Cli, canary_repo: Path
) -> None:
    bundle = export_json(cli, canary_repo)
    head = git(canary_repo, "rev-parse", "HEAD").strip()
    assert bundle["schema"] == BUNDLE_SCHEMA == export_service.BUNDLE_SCHEMA
    assert bundle["stage"] == "development"
    assert bundle["source"] == {"commit": head, "ref": "HEAD", "registry": ""}
    assert set(bundle["models"]) == {"assistant", "summarizer", "ticket-classifier"}
    assert bundle["models"]["assistant"] is None  # listed, serving nothing

    summ = bundle["models"]["summarizer"]
    assert summ["version"] == "1.0.0"
    assert summ["digest"] == version_digest(canary_repo, "summarizer", "1.0.0")
    assert summ["since"] == "2026-11-20T10:00:00Z"
    assert summ["tag"] == "modelreg/summarizer/development/2"  # the canary-start tag
    assert summ["config"]["params"] == {"temperature": 0.3, "max_tokens": 256}
    assert digest(summ["config"]) == summ["digest"]
    canary = summ["canary"]
    assert (canary["version"], canary["weight"]) == ("1.1.0", 25)
    assert canary["digest"] == version_digest(canary_repo, "summarizer", "1.1.0")
    assert digest(canary["config"]) == canary["digest"]
    assert canary["config"]["params"]["temperature"] == 0.2

    ticket = bundle["models"]["ticket-classifier"]
    assert (ticket["version"], ticket["canary"], ticket["tag"]) == (
        "1.0.0",
        None,
        "modelreg/ticket-classifier/development/1",
    )


def test_bundle_is_valid_against_its_schema(cli: Cli, canary_repo: Path) -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$id"] == "urn:modelreg:schema:bundle:v1"
    assert SCHEMA["properties"]["schema"]["const"] == BUNDLE_SCHEMA
    found: set[str] = set()
    _keywords(SCHEMA, found)
    assert found - SHARED_KEYWORDS == set()
    validator = Draft202012Validator(SCHEMA)
    for stage in ("development", "production"):
        bundle = json.loads(cli("export", "--stage", stage, cwd=canary_repo).out)
        assert list(validator.iter_errors(bundle)) == []
    bad = export_json(cli, canary_repo)
    bad["models"]["summarizer"]["canary"]["weight"] = 0
    assert [e.validator for e in validator.iter_errors(bad)] == ["anyOf"]


def test_bundle_is_deterministic_with_sorted_keys(cli: Cli, canary_repo: Path) -> None:
    first = cli("export", "--stage", "development", cwd=canary_repo).out
    second = cli("export", "--stage", "development", cwd=canary_repo).out
    assert first == second
    data = json.loads(first)
    assert first == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert list(data) == ["models", "schema", "source", "stage"]  # no generation time


def test_output_file_is_written_with_one_line_or_json(
    cli: Cli, canary_repo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "bundle.json"
    result = cli("export", "--stage", "development", "-o", str(out), cwd=canary_repo)
    assert result.code == 0, result.err
    head = git(canary_repo, "rev-parse", "HEAD").strip()
    assert result.out == f"wrote {out}: development, 2 of 3 models serving, commit {head[:12]}\n"
    assert out.read_text() == cli("export", "--stage", "development", cwd=canary_repo).out
    assert [p.name for p in out.parent.iterdir()] == ["bundle.json"]  # no temp file left

    again = cli("--json", "export", "--stage", "development", "-o", str(out), cwd=canary_repo)
    assert again.code == 0, again.err
    assert json.loads(again.out) == {
        "file": str(out),
        "stage": "development",
        "models": {"assistant": None, "summarizer": "1.0.0", "ticket-classifier": "1.0.0"},
        "commit": head,
    }


def test_output_in_a_folder_that_is_a_file_is_a_bad_argument(
    cli: Cli, canary_repo: Path, tmp_path: Path
) -> None:
    """Exit 2 with one line naming `-o`, before reading the registry; not exit 3."""
    afile = write(tmp_path / "afile", "not a folder\n")
    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")
    for out, folder, what in (
        (afile / "bundle.json", afile, "is a file"),
        (afile / "sub" / "bundle.json", afile, "is a file"),  # a missing folder it cannot make
        (tmp_path / "gone" / "bundle.json", tmp_path / "gone", "is a broken symlink"),
    ):
        result = cli("export", "--stage", "development", "-o", str(out), cwd=canary_repo)
        assert result.code == 2, result.err
        assert result.err == f"error: -o {out}: {folder} {what}, not a folder\n"
        assert result.out == ""
        as_json = cli("--json", "export", "--stage", "development", "-o", str(out), cwd=canary_repo)
        assert (as_json.code, json.loads(as_json.err)["error"]["rule"]) == (2, "bad-input")
    assert afile.read_text() == "not a folder\n"
    assert not (tmp_path / "nowhere").exists()


def test_export_reads_the_commit_not_uncommitted_edits(cli: Cli, canary_repo: Path) -> None:
    before = git(canary_repo, "rev-parse", "HEAD").strip()
    # a valid, uncommitted change: the canary is gone from the work tree
    state = canary_repo / "stages" / "summarizer.yaml"
    text = state.read_text()
    write(state, "\n".join(line for line in text.splitlines() if "canary:" not in line) + "\n")
    bundle = export_json(cli, canary_repo)
    assert bundle["source"]["commit"] == before
    assert bundle["models"]["summarizer"]["canary"]["version"] == "1.1.0"
    # the work tree as it is (what a service's checkout would serve) no signed action made
    with pytest.raises(SourceError, match="not what a signed action committed"):
        Registry.open(canary_repo).bundle("development")
    git(canary_repo, "checkout", "--", "stages")
    work = Registry.open(canary_repo).bundle("development")
    assert work["source"] == {"commit": None, "ref": None, "registry": ""}
    assert work["models"]["summarizer"]["canary"]["version"] == "1.1.0"


def test_export_at_an_older_ref(cli: Cli, canary_repo: Path) -> None:
    bundle = export_json(cli, canary_repo, "--ref", "modelreg/summarizer/development/1")
    tag_commit = git(canary_repo, "rev-parse", "modelreg/summarizer/development/1^{commit}")
    assert bundle["source"]["commit"] == tag_commit.strip()
    assert bundle["source"]["ref"] == "modelreg/summarizer/development/1"
    assert bundle["models"]["summarizer"]["canary"] is None
    assert bundle["models"]["ticket-classifier"] is None  # promoted after that tag


def test_a_state_digest_that_its_version_file_does_not_match_is_refused(
    cli: Cli, canary_repo: Path
) -> None:
    state = canary_repo / "stages" / "summarizer.yaml"
    real = version_digest(canary_repo, "summarizer", "1.1.0")
    forged = "sha256:" + "0" * 64
    write(state, state.read_text().replace(real, forged))
    commit_all(canary_repo, "hand edit")
    result = cli("export", "--stage", "development", cwd=canary_repo)
    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith("error: stages/summarizer.yaml at ")
    assert forged in result.err and real in result.err
    assert "summarizer@1.1.0 is the canary of development" in result.err
    assert len(result.err.splitlines()) == 1
    as_json = cli("--json", "export", "--stage", "development", cwd=canary_repo)
    assert json.loads(as_json.err)["error"]["rule"] == "digest-mismatch"


def test_a_version_file_the_state_names_but_that_is_missing_is_refused(
    cli: Cli, canary_repo: Path
) -> None:
    git(canary_repo, "rm", "-q", "models/summarizer/1.1.0.yaml")
    commit_all(canary_repo, "lose a version")
    result = cli("--json", "export", "--stage", "development", cwd=canary_repo)
    assert result.code == 1
    error = json.loads(result.err)["error"]
    assert error["rule"] == "missing-version"
    assert "models/summarizer/1.1.0.yaml is missing at " in error["message"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stage", "nope"], "unknown stage 'nope' (stages: development, staging, production)"),
        (["--stage", "development", "--ref", "no-such-branch"], "unknown revision"),
    ],
)
def test_bad_arguments_exit_2(cli: Cli, canary_repo: Path, args: list[str], message: str) -> None:
    result = cli("export", *args, cwd=canary_repo)
    assert result.code == 2
    assert message in result.err
    assert result.out == ""


def test_export_outside_git_exits_2_with_advice(cli: Cli, loose_example: Path) -> None:
    result = cli("export", "--stage", "production", cwd=loose_example)
    assert result.code == 2
    assert "in no git repository" in result.err and "git init" in result.err


def test_export_of_a_registry_in_a_monorepo_folder(
    cli: Cli, tmp_path: Path, keys: dict[str, Key]
) -> None:
    top = tmp_path / "mono"
    root = top / "ml" / "registry"
    shutil.copytree(EXAMPLE, root)
    (root / ".modelreg" / "allowed_signers").write_text(keys["alice"].allowed())
    use_key(keys["alice"])
    git(top, "init", "-q")
    commit_all(top, "a registry in a folder")
    for stage in ("development", "staging", "production"):
        r = cli(
            "--repo",
            str(root),
            "promote",
            "summarizer",
            "1.0.0",
            "--to",
            stage,
            "--reason",
            "go",
            cwd=top / "ml",
        )
        assert r.code == 0, r.err
    bundle = export_json_stage(cli, top / "ml", "production", "--repo", str(root))
    assert bundle["source"]["registry"] == "ml/registry"
    assert bundle["models"]["summarizer"]["digest"] == version_digest(root, "summarizer", "1.0.0")
    assert bundle["models"]["summarizer"]["tag"] == "modelreg/summarizer/production/1"
    assert bundle["models"]["assistant"] is None
    # a state file written by hand in the folder is refused, naming its path in the repo
    state = root / "stages" / "summarizer.yaml"
    lines = state.read_text().split("\n")
    prod = lines.index("  production:")
    since = next(i for i in range(prod, len(lines)) if "since:" in lines[i])
    lines[since] = '    since: "2026-11-19T10:00:00Z"'  # an entry no action committed
    state.write_text("\n".join(lines))
    commit_all(top, "by hand")
    r = cli("--repo", str(root), "export", "--stage", "production", cwd=top / "ml")
    assert r.code == 1 and "ml/registry/stages/summarizer.yaml at " in r.err


# --- resolve -------------------------------------------------------------------------------


def test_resolve_json_shape_and_stickiness(cli: Cli, canary_repo: Path) -> None:
    bundle = export_json(cli, canary_repo)
    reg = Registry.from_data(bundle)
    for key in ("user-1", "user-2", "user-3", "user-4", "user-5", "user-6"):
        result = cli(
            "--json", "resolve", "summarizer", "--stage", "development", "--key", key,
            cwd=canary_repo,
        )  # fmt: skip
        assert result.code == 0, result.err
        data = json.loads(result.out)
        assert list(data)[:6] == ["model", "stage", "version", "digest", "variant", "config"]
        expected = reg.resolve("summarizer", "development", key)
        assert (data["version"], data["variant"], data["digest"]) == (
            expected.version,
            expected.variant,
            expected.digest,
        )
        assert data["weight"] == 25
        assert digest(data["config"]) == data["digest"]


def test_resolve_text_names_version_stage_variant_and_digest(cli: Cli, canary_repo: Path) -> None:
    reg = Registry.open(canary_repo)
    canary_key = next(
        k
        for k in (f"u{i}" for i in range(100))
        if reg.resolve("summarizer", "development", k).variant == "canary"
    )
    d11 = version_digest(canary_repo, "summarizer", "1.1.0")
    result = cli(
        "resolve", "summarizer", "--stage", "development", "--key", canary_key, cwd=canary_repo
    )
    assert result.code == 0, result.err
    header, _, body = result.out.partition("\n")
    assert header == f"summarizer@1.1.0 on development (canary, 25%) {d11}"
    assert json.loads(body)["version"] == "1.1.0"

    plain = cli("resolve", "ticket-classifier", "--stage", "development").out.splitlines()[0]
    d_tc = version_digest(canary_repo, "ticket-classifier", "1.0.0")
    assert plain == f"ticket-classifier@1.0.0 on development (stable) {d_tc}"
    no_key = cli("resolve", "summarizer", "--stage", "development").out.splitlines()[0]
    assert no_key.startswith("summarizer@1.0.0 on development (stable, no --key:")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "--stage", "development"], "unknown model 'nope' (models: assistant, "),
        (["summarizer", "--stage", "nope"], "unknown stage 'nope' (stages: development, "),
        (["assistant", "--stage", "development"], "assistant serves nothing on development"),
    ],
)
def test_resolve_unknown_model_stage_or_nothing_serving_exits_2(
    cli: Cli, canary_repo: Path, args: list[str], message: str
) -> None:
    result = cli("resolve", *args, cwd=canary_repo)
    assert result.code == 2
    assert result.err.startswith(f"error: {message}")
    assert len(result.err.splitlines()) == 1
    as_json = cli("--json", "resolve", *args, cwd=canary_repo)
    assert json.loads(as_json.err)["error"]["message"].startswith(message)


def test_resolve_reports_a_bad_state_file_with_its_exit_code(cli: Cli, canary_repo: Path) -> None:
    state = canary_repo / "stages" / "summarizer.yaml"
    real = version_digest(canary_repo, "summarizer", "1.0.0")
    write(state, state.read_text().replace(real, "sha256:" + "1" * 64))
    result = cli("--json", "resolve", "summarizer", "--stage", "development", cwd=canary_repo)
    assert result.code == 1
    assert json.loads(result.err)["error"]["rule"] == "digest-mismatch"
