"""`check --all` with its cache: the same findings cold, warm and after edits; a bad cache is ignored."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_check import SUMMARIZER_12

from conftest import commit_all, git, write
from modelreg.services import check_cache
from modelreg.services.check import Checker


def cache_path(root: Path) -> Path:
    return Path(git(root, "rev-parse", "--absolute-git-dir").strip()) / check_cache.CACHE_FILE


def check_all(cli, root: Path) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = cli("--repo", str(root), "--json", "check", "--all")
    assert result.code in (0, 1), result.err
    data: dict = json.loads(result.out)  # type: ignore[type-arg]
    return data


def cold(cli, root: Path) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """check --all with no cache: what every cached run must say."""
    cache_path(root).unlink(missing_ok=True)
    data = check_all(cli, root)
    assert cache_path(root).is_file()
    return data


@pytest.fixture
def trusting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stats recorded just now are trusted (a test writes files a moment before checking)."""
    monkeypatch.setattr(check_cache, "RACY_NS", 0)


class Spy:
    """Counts the files parsed and the runs that applied the rules between files."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.parsed: list[str] = []
        self.rule_runs = 0
        facts, check_files = check_cache.file_facts, Checker.check_files

        def file_facts(kind: str, raw: bytes) -> dict:  # type: ignore[type-arg]
            self.parsed.append(kind)
            return facts(kind, raw)

        def counted(checker: Checker, *args: object) -> None:
            self.rule_runs += 1
            check_files(checker, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(check_cache, "file_facts", file_facts)
        monkeypatch.setattr(Checker, "check_files", counted)

    def reset(self) -> None:
        self.parsed, self.rule_runs = [], 0


def break_broadly(root: Path) -> None:
    """One file or more for every rule check applies (no symbolic links: see below)."""
    write(
        root / "models/summarizer/1.2.0.yaml",
        SUMMARIZER_12.replace("parent: 1.1.0", "parent: 1.9.0"),
    )
    write(
        root / "models/summarizer/1.3.0.yaml",
        SUMMARIZER_12.replace("1.2.0", "1.3.0")
        .replace("parent: 1.1.0", "parent: 1.2.0")
        .replace("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
    )
    write(
        root / "models/summarizer/1.4.0.yaml",
        SUMMARIZER_12.replace("version: 1.2.0", "version: 1.10"),
    )
    write(root / "models/summarizer/1.5.0.yaml", b"schema: modelreg/v1\nname: \xff\n")
    write(root / "models/summarizer/1.6.0.yaml", "")
    write(root / "models/summarizer/1.7.0.yaml", "a:\n\tb: 1\n")
    write(root / "models/summarizer/notes.txt", "hi")
    write(root / "models/assistant/1.1.0.yaml", "a: 1\na: 2\n")
    tools = (root / "models/assistant/1.0.0.yaml").read_text()
    tools = tools.replace(
        "version: 1.0.0", "version: 1.2.0\nparent: 1.0.0\nchanges: {summary: a, reason: b}"
    )
    tools = tools.replace(
        "limit: {type: integer, minimum: 1, maximum: 20}", "limit: {type: integr}"
    )
    write(
        root / "models/assistant/1.2.0.yaml",
        tools.replace("- name: search_docs", "- name: lookup_ticket"),
    )
    write(root / "models/Bad_Name/1.0.0.yaml", SUMMARIZER_12.replace("parent: 1.1.0\n", ""))
    write(root / "models/ticket-classifier/v2.yaml", "schema: modelreg/v1\n")
    smoke = (root / "evals/summarizer/1.0.0/smoke.yaml").read_text()
    write(
        root / "evals/summarizer/1.1.0/latency.yaml",
        smoke.replace("version: 1.0.0", "version: 1.1.0"),
    )
    write(
        root / "evals/summarizer/9.0.0/smoke.yaml",
        smoke.replace("version: 1.0.0", "version: 9.0.0"),
    )
    write(root / "evals/summarizer/1.1.0/extra.yaml", "schema: modelreg/eval/v1\n")
    write(
        root / "evals/summarizer/1.2.0/smoke.yaml",
        smoke.replace("version: 1.0.0", "version: 1.2.0"),
    )
    write(
        root / "stages/summarizer.yaml",
        "schema: modelreg/stages/v1\nmodel: summarizer\nstages:\n"
        "  production: {version: 1.1.0, digest: 'sha256:"
        + "0"
        * 64
        + "', since: '2026-11-21T10:05:00Z'}\n"
        "  qa: null\narchived: [0.9.0]\ntags: {production: modelreg/assistant/production/1}\n",
    )
    write(root / "stages/nobody.yaml", "schema: modelreg/stages/v1\nmodel: someone\nstages: {}\n")
    policy = root / "modelreg.yaml"
    policy.write_text(policy.read_text() + "pinned_patterns: ['(']\n")
    registered = root / "models/ticket-classifier/1.0.0.yaml"
    registered.write_text(registered.read_text() + "# edited\n")  # changed in the work tree
    staged = root / "models/summarizer/1.0.0.yaml"
    staged.write_text(staged.read_text().replace("temperature: 0.3", "temperature: 0.4"))
    git(root, "add", "models/summarizer/1.0.0.yaml")  # changed in the index


def rules(data: dict) -> set[str]:  # type: ignore[type-arg]
    return {p["rule"] for p in data["problems"] + data["warnings"]}


def test_cold_warm_and_edited_runs_find_the_same(
    cli, example: Path, trusting: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    break_broadly(example)
    spy = Spy(monkeypatch)
    first = cold(cli, example)
    assert first["ok"] is False
    assert {
        "yaml", "schema", "naming", "path-mismatch", "parent", "tools", "floating-model",
        "eval-digest", "eval-orphan", "stage-state", "layout", "policy", "immutable",
    } <= rules(first)  # fmt: skip
    assert len(spy.parsed) > 20

    spy.reset()
    assert check_all(cli, example) == first  # unchanged: the last run's findings
    assert spy.parsed == [] and spy.rule_runs == 0

    # one file edited: only it is parsed again, and the rules between files run again
    path = example / "models/summarizer/1.2.0.yaml"
    path.write_text(path.read_text().replace("parent: 1.9.0", "parent: 1.1.0"))
    spy.reset()
    edited = check_all(cli, example)
    assert spy.parsed == ["model-version"] and spy.rule_runs == 1
    assert edited != first  # its parent exists now
    spy.reset()
    assert check_all(cli, example) == edited and spy.rule_runs == 0
    assert cold(cli, example) == edited


def test_each_kind_of_change_is_seen(cli, example: Path, trusting: None) -> None:
    break_broadly(example)
    cold(cli, example)

    def same_as_cold() -> None:
        warm = check_all(cli, example)
        assert warm == cold(cli, example)
        assert check_all(cli, example) == warm

    write(example / "evals/assistant/1.0.0/extra.yaml", "a: [\n")  # a file added to a folder
    same_as_cold()
    (example / "evals/assistant/1.0.0/extra.yaml").unlink()  # ... removed
    same_as_cold()
    write(example / "evals/newcomer/1.0.0/smoke.yaml", "model: x\n")  # a folder added
    same_as_cold()
    (example / "stages/nobody.yaml").write_text(
        "schema: modelreg/stages/v1\nmodel: nobody\nstages: {}\n"
    )
    same_as_cold()  # edited in place
    git(example, "add", "-A")  # the index changes, the files do not
    same_as_cold()
    commit_all(example, "all of it")  # HEAD changes: the drafts are registered now
    same_as_cold()
    policy = example / "modelreg.yaml"
    policy.write_text(
        policy.read_text().replace("pinned_patterns: ['(']", "lint: {floating_model: error}")
    )
    same_as_cold()


def test_a_new_top_folder_is_seen(cli, example: Path, trusting: None) -> None:
    assert not (example / "stages").exists()
    cold(cli, example)
    write(example / "stages/summarizer.yaml", "not: [a stage file\n")
    data = check_all(cli, example)
    assert data == cold(cli, example) and "yaml" in rules(data)


@pytest.mark.parametrize("hide", ["--skip-worktree", "--assume-unchanged"])
def test_an_edit_hidden_from_git_is_seen_by_a_warm_cache(
    cli, example: Path, trusting: None, hide: str
) -> None:
    assert check_all(cli, example)["ok"] is True
    git(example, "update-index", hide, "models/summarizer/1.0.0.yaml")
    path = example / "models/summarizer/1.0.0.yaml"
    path.write_text(path.read_text().replace("temperature: 0.3", "temperature: 1.9"))
    data = check_all(cli, example)
    assert "immutable" in rules(data) and data == cold(cli, example)


def test_symbolic_links_are_checked_the_same_way(cli, example: Path, tmp_path: Path) -> None:
    outside = write(tmp_path / "outside.yaml", SUMMARIZER_12)
    (example / "models/summarizer/1.2.0.yaml").symlink_to(outside)
    (example / "evals/linked").symlink_to(example / "evals/summarizer")
    smoke = (example / "evals/summarizer/1.0.0/smoke.yaml").read_text()
    write(example / "evals/summarizer/1.2.0/smoke.yaml", smoke.replace("1.0.0", "1.2.0"))
    first = cold(cli, example)
    assert "symlink" in rules(first) and "unreadable" in rules(first)
    assert check_all(cli, example) == first
    outside.unlink()  # what the link names changed: no folder or file stat shows it
    assert check_all(cli, example) == cold(cli, example)


def test_a_same_size_edit_right_after_a_run_is_read_again(cli, example: Path) -> None:
    path = write(example / "models/summarizer/1.2.0.yaml", SUMMARIZER_12)
    assert check_all(cli, example)["ok"] is True
    # recorded less than RACY_NS before the cache was written: no stat is kept for it
    raw = cache_path(example).read_bytes()
    columns = check_cache._read_columns(raw)
    assert columns is not None
    rows = dict(zip(columns[6].split("\0"), columns[7].split("\0"), strict=True))
    assert rows["models/summarizer/1.2.0.yaml"] == ""
    path.write_text(SUMMARIZER_12.replace("temperature: 0.1", "temperature: x.1"))  # same size
    assert "schema" in rules(check_all(cli, example))


@pytest.mark.parametrize(
    "damage",
    ["garbage", "truncated", "flipped", "foreign key", "old json", "short columns", "a folder"],
)
def test_a_corrupted_or_foreign_cache_is_ignored(
    cli, example: Path, trusting: None, damage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    break_broadly(example)
    first = cold(cli, example)
    path = cache_path(example)
    raw = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(os.urandom(4096))
    elif damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "flipped":  # one byte of a blob id: the CRC no longer holds
        at = raw.index(b"\n") + len(raw) // 3
        path.write_bytes(raw[:at] + bytes([raw[at] ^ 1]) + raw[at + 1 :])
    elif damage == "foreign key":  # another modelreg wrote it
        key = check_cache.cache_key()
        path.write_bytes(raw.replace(key.encode(), b"0" * len(key), 1))
    elif damage == "old json":
        path.write_text(json.dumps({"key": check_cache.cache_key(), "files": {}}))
    elif damage == "short columns":  # well formed, CRC right, but not what this code writes
        columns = check_cache._read_columns(raw)
        assert columns is not None
        columns[7] = columns[7].split("\0", 1)[1]
        path.write_bytes(check_cache._write_columns(columns))
    else:  # the cache cannot be read or written
        path.unlink()
        path.mkdir()
    spy = Spy(monkeypatch)
    assert check_all(cli, example) == first
    assert spy.rule_runs == 1 and len(spy.parsed) > 20  # nothing was trusted
    if damage != "a folder":
        spy.reset()
        assert check_all(cli, example) == first and spy.rule_runs == 0  # written anew


def test_the_pool_finds_what_one_process_finds(
    cli, example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    break_broadly(example)
    alone = cold(cli, example)
    started = []
    from concurrent.futures import ProcessPoolExecutor

    class Counted(ProcessPoolExecutor):
        def __init__(self, *args: object, **kwargs: object) -> None:
            started.append(kwargs)
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("concurrent.futures.ProcessPoolExecutor", Counted)
    monkeypatch.setattr(check_cache, "POOL_MIN", 1)
    monkeypatch.setattr(check_cache, "CHUNK", 3)
    monkeypatch.setattr(check_cache, "_cpus", lambda: 2)
    assert cold(cli, example) == alone
    assert started == [{"max_workers": 2}]


def test_files_read_while_listing_serve_the_next_run(
    cli, example: Path, monkeypatch: pytest.MonkeyPatch, trusting: None
) -> None:
    break_broadly(example)
    alone = cold(cli, example)
    monkeypatch.setattr(check_cache, "POOL_MIN", 1)
    monkeypatch.setattr(check_cache, "CHUNK", 2)
    monkeypatch.setattr(check_cache, "_cpus", lambda: 2)
    assert cold(cli, example) == alone  # read on the pool while the folders were listed
    spy = Spy(monkeypatch)
    assert check_all(cli, example) == alone
    assert spy.parsed == [] and spy.rule_runs == 0  # what the workers read was recorded


@pytest.mark.parametrize("failure", ["no processes", "one core"])
def test_without_a_pool_the_files_are_read_here(
    cli, example: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    break_broadly(example)
    alone = cold(cli, example)
    from concurrent.futures import ProcessPoolExecutor

    class Refusing(ProcessPoolExecutor):
        def submit(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
            raise OSError("no processes here")

    monkeypatch.setattr("concurrent.futures.ProcessPoolExecutor", Refusing)
    monkeypatch.setattr(check_cache, "POOL_MIN", 1)
    monkeypatch.setattr(check_cache, "CHUNK", 3)
    monkeypatch.setattr(check_cache, "_cpus", lambda: 1 if failure == "one core" else 2)
    assert cold(cli, example) == alone


def test_listing_is_registry_files(example: Path, tmp_path: Path, trusting: None) -> None:
    from modelreg.core.names import parse_version, version_sort_key
    from modelreg.registry import Registry

    write(example / "models/.gitkeep", "")
    write(example / "models/.hidden/1.0.0.yaml", "x: 1\n")
    write(example / "models/summarizer/.1.9.0.yaml.swp", "x")
    write(example / "evals/summarizer/1.0.0/deeper/more.yaml", "x: 1\n")
    (example / "models/linked").symlink_to(example / "models/summarizer")
    (example / "models/.linked").symlink_to(example / "models/summarizer")
    (example / "models/summarizer/dangling.yaml").symlink_to(tmp_path / "nowhere")
    os.mkfifo(example / "models/summarizer/3.0.0.yaml")
    reg = Registry(example)
    cache = tmp_path / "cache"

    def listed() -> list[str]:
        files = check_cache.Files(example, cache)
        out = files.listing()
        stems = files.version_stems("summarizer") or []
        assert sorted(filter(parse_version, stems), key=version_sort_key) == reg.versions(
            "summarizer"
        )
        assert [files.is_symlink(rel) for rel in out] == [(example / r).is_symlink() for r in out]
        assert [files.is_file(rel) for rel in out] == [(example / r).is_file() for r in out]
        files.save()
        return out

    assert listed() == reg.files()
    assert listed() == reg.files()  # from the recorded folders
    write(example / "evals/summarizer/1.0.0/deeper/most.yaml", "x: 1\n")
    assert listed() == reg.files()


def test_a_registry_in_a_subfolder_has_its_own_cache(cli, tmp_path: Path, trusting: None) -> None:
    import shutil

    from conftest import EXAMPLE

    repo = tmp_path / "mono"
    for name in ("a", "b"):
        shutil.copytree(EXAMPLE, repo / name)
    git(repo, "init", "-q")
    commit_all(repo)
    write(repo / "b/models/summarizer/1.2.0.yaml", "a: 1\na: 1\n")
    a, b = check_all(cli, repo / "a"), check_all(cli, repo / "b")
    assert a["ok"] is True and b["ok"] is False
    assert len(list((repo / ".git").glob("modelreg-check-*.cache"))) == 2
    assert check_all(cli, repo / "a") == a and check_all(cli, repo / "b") == b


def test_paths_mode_neither_reads_nor_writes_the_cache(cli, example: Path, trusting: None) -> None:
    write(example / "models/summarizer/1.2.0.yaml", SUMMARIZER_12)
    assert cli("check", "models/summarizer/1.2.0.yaml", cwd=example).code == 0
    assert not cache_path(example).exists()
    check_all(cli, example)
    before = cache_path(example).read_bytes()
    write(example / "models/summarizer/1.2.0.yaml", "a: 1\na: 1\n")
    assert cli("check", "models/summarizer/1.2.0.yaml", cwd=example).code == 1
    assert cache_path(example).read_bytes() == before


def test_a_file_read_as_two_kinds_does_not_break_the_cache(
    cli, example: Path, trusting: None
) -> None:
    """A signer file kept under stages/ is read as signers and as a stage file: the cache
    holds one row a path, and every warm run answers as a cold one."""
    policy = example / "modelreg.yaml"
    policy.write_text(
        policy.read_text().replace(
            "allowed_signers: .modelreg/allowed_signers", "allowed_signers: stages/signers.yaml"
        )
    )
    write(example / "stages/signers.yaml", (example / ".modelreg/allowed_signers").read_text())
    first = cold(cli, example)
    for _ in range(2):
        assert check_all(cli, example) == first


def test_a_cache_that_is_a_fifo_or_a_link_is_ignored_without_blocking(
    cli, example: Path, trusting: None, tmp_path: Path
) -> None:
    first = cold(cli, example)
    path = cache_path(example)
    path.unlink()
    os.mkfifo(path)
    assert check_all(cli, example) == first  # would block forever on open() before
    path.unlink(missing_ok=True)
    real = tmp_path / "elsewhere.cache"
    cold(cli, example)
    cache_path(example).rename(real)
    cache_path(example).symlink_to(real)
    assert check_all(cli, example) == first
