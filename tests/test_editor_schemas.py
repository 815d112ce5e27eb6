"""Editors: `init` copies the schemas into .modelreg/schemas/ and associates them
(a yaml-language-server line, .vscode/settings.json); the association points at
files that exist, and it changes nothing modelreg reads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import EXAMPLE, commit_all, git, write
from modelreg.core.digest import digest
from modelreg.schemas import SOURCES, schema_dir
from modelreg.services.init import EDITOR_SCHEMAS, MODELINE
from modelreg.yamlio import load_path, loads

KINDS = ("model-version", "eval", "stages", "registry")
SCHEMA_LINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")

VERSION = """\
schema: modelreg/v1
name: summarizer
version: 1.0.0
kind: prompt-config
model: {provider: anthropic, id: claude-sonnet-4-5-20250929}
params: {temperature: 0.2, max_tokens: 256}
system_prompt: |
  Summarize in 2-3 sentences.
created: 2026-11-20T09:30:00Z
author: alice@example.com
"""


def _shipped(kind: str) -> dict:  # type: ignore[type-arg]
    return json.loads((schema_dir() / SOURCES[kind]).read_text(encoding="utf-8"))


def _kind_of(schema: Path) -> str:
    return next(kind for kind in KINDS if schema.name == SOURCES[kind])


def _assert_is_the_shipped_schema(schema: Path) -> None:
    assert schema.is_file(), schema
    kind = _kind_of(schema)
    data = json.loads(schema.read_text(encoding="utf-8"))
    assert data == _shipped(kind)
    assert data["$id"] == f"urn:modelreg:schema:{kind}:v1"


def _schema_line_target(path: Path) -> Path:
    """The schema file the first line of PATH names, resolved as editors do (from its folder)."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    m = SCHEMA_LINE.match(first)
    assert m, f"{path}: no yaml-language-server line: {first!r}"
    return (path.parent / m[1]).resolve()


def test_every_shipped_schema_has_a_stable_id() -> None:
    for kind in (*KINDS, "bundle"):
        file = "bundle.schema.json" if kind == "bundle" else SOURCES[kind]
        data = json.loads((schema_dir() / file).read_text(encoding="utf-8"))
        assert data["$id"] == f"urn:modelreg:schema:{kind}:v1"


def test_init_associates_every_file_it_writes_with_a_schema_that_exists(
    cli, tmp_path: Path
) -> None:
    root = tmp_path / "reg"
    result = cli("init", str(root))
    assert result.code == 0, result.err
    for kind in KINDS:
        copy = root / ".modelreg/schemas" / SOURCES[kind]
        assert f"created .modelreg/schemas/{SOURCES[kind]}" in result.out
        assert copy.read_bytes() == (schema_dir() / SOURCES[kind]).read_bytes()
    assert "created .vscode/settings.json" in result.out

    # the yaml-language-server line of every YAML file init wrote
    written = [p for p in root.rglob("*.yaml") if ".git" not in p.parts and p.name != ".gitkeep"]
    associated = [p for p in written if p.read_text().startswith(MODELINE)]
    assert [p.relative_to(root).as_posix() for p in associated] == ["modelreg.yaml"]
    target = _schema_line_target(root / "modelreg.yaml")
    assert target == (root / ".modelreg/schemas/registry.schema.json").resolve()
    _assert_is_the_shipped_schema(target)

    # .vscode/settings.json: every schema path exists, and each glob is the right kind's
    settings = json.loads((root / ".vscode/settings.json").read_text())
    mapping = settings["yaml.schemas"]
    assert sorted(mapping) == sorted(f"./.modelreg/schemas/{SOURCES[k]}" for k in KINDS)
    for schema, globs in mapping.items():
        path = root / schema
        _assert_is_the_shipped_schema(path)
        assert globs == EDITOR_SCHEMAS[_kind_of(path)]

    # the copies are not registry files: check passes, also when pre-commit hands them over
    assert cli("--repo", str(root), "check", "--all").code == 0
    schemas = sorted(str(p) for p in (root / ".modelreg/schemas").iterdir())
    hook = cli("--repo", str(root), "check", "--paths-only", *schemas)
    assert hook.code == 0, hook.out + hook.err


def test_new_version_files_carry_the_line_and_it_changes_no_digest(cli, tmp_path: Path) -> None:
    root = tmp_path / "reg"
    assert cli("init", str(root)).code == 0
    assert cli("--repo", str(root), "new", "summarizer").code == 0
    first = root / "models/summarizer/1.0.0.yaml"
    assert (
        _schema_line_target(first)
        == (root / ".modelreg/schemas/model-version.schema.json").resolve()
    )
    _assert_is_the_shipped_schema(_schema_line_target(first))

    # a real first version with the line; modelreg reads it as without it
    write(
        first,
        "# yaml-language-server: $schema=../../.modelreg/schemas/"
        "model-version.schema.json\n" + VERSION,
    )
    assert load_path(first).data == loads(VERSION).data
    assert digest(load_path(first).data) == digest(loads(VERSION).data)
    check = cli("--repo", str(root), "check", "--all")
    assert check.code == 0, check.out
    commit_all(root, "register summarizer 1.0.0")

    # the next version keeps the line (and one only), and so does `show`'s digest
    assert cli("--repo", str(root), "new", "summarizer").code == 0
    child = root / "models/summarizer/1.1.0.yaml"
    text = child.read_text()
    assert text.count("yaml-language-server") == 1
    assert _schema_line_target(child) == _schema_line_target(first)
    shown = cli("--repo", str(root), "--json", "show", "summarizer@1.0.0").json()
    assert shown["digest"] == digest(loads(VERSION).data)  # type: ignore[index]


def test_new_adds_the_line_a_parent_lacks_and_fixes_a_wrong_one(cli, tmp_path: Path) -> None:
    root = tmp_path / "reg"
    assert cli("init", str(root)).code == 0
    write(root / "models/summarizer/1.0.0.yaml", VERSION)
    assert cli("--repo", str(root), "new", "summarizer").code == 0
    child = root / "models/summarizer/1.1.0.yaml"
    _assert_is_the_shipped_schema(_schema_line_target(child))
    write(
        root / "models/summarizer/1.0.0.yaml", "# yaml-language-server: $schema=x.json\n" + VERSION
    )
    assert (
        cli("--repo", str(root), "new", "summarizer", "--from", "1.0.0", "--bump", "major").code
        == 0
    )
    other = root / "models/summarizer/2.0.0.yaml"
    assert other.read_text().count("yaml-language-server") == 1
    _assert_is_the_shipped_schema(_schema_line_target(other))


def test_new_adds_no_line_where_the_registry_has_no_schema_copies(cli, example: Path) -> None:
    # registry-example/ (and a registry made before init copied the schemas) has none:
    # a line would point at nothing, so none is written
    assert not (example / ".modelreg/schemas").exists()
    assert cli("--repo", str(example), "new", "summarizer").code == 0
    assert "yaml-language-server" not in (example / "models/summarizer/1.2.0.yaml").read_text()
    assert not any("yaml-language-server" in p.read_text() for p in EXAMPLE.rglob("*.yaml"))


def test_init_merges_yaml_schemas_into_existing_settings(cli, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    theirs = {
        "editor.tabSize": 2,
        "yaml.schemas": {"./other.schema.json": ["other/*.yaml"]},
        "files.exclude": {"**/.git": True},
    }
    write(repo / ".vscode/settings.json", json.dumps(theirs, indent=4))
    git(repo, "init", "-q")
    result = cli("init", str(repo))
    assert result.code == 0, result.err
    assert "added the registry's schemas to yaml.schemas in your .vscode/settings.json" in (
        result.out
    )
    merged = json.loads((repo / ".vscode/settings.json").read_text())
    assert merged["editor.tabSize"] == 2 and merged["files.exclude"] == {"**/.git": True}
    assert merged["yaml.schemas"]["./other.schema.json"] == ["other/*.yaml"]
    for kind in KINDS:
        path = f"./.modelreg/schemas/{SOURCES[kind]}"
        assert merged["yaml.schemas"][path] == EDITOR_SCHEMAS[kind]
        _assert_is_the_shipped_schema(repo / path)


@pytest.mark.parametrize(
    "text",
    [
        '{\n  // VS Code allows comments\n  "editor.tabSize": 2\n}\n',
        '{"yaml.schemas": ["not", "an", "object"]}\n',
        "[1, 2]\n",
        # review round 1: a rewrite would have lost or changed these
        '{"d": 1, "d": 2}\n',
        '{"editor.fontSize": 1E5}\n',
        '{"x": 1e400}\n',
        '{"x": NaN}\n',
    ],
)
def test_init_leaves_settings_it_cannot_merge_and_says_what_to_add(
    cli, tmp_path: Path, text: str
) -> None:
    repo = tmp_path / "repo"
    write(repo / ".vscode/settings.json", text)
    git(repo, "init", "-q")
    result = cli("init", str(repo))
    assert result.code == 0, result.err
    assert (repo / ".vscode/settings.json").read_text() == text
    assert "kept your .vscode/settings.json" in result.out
    assert '"./.modelreg/schemas/model-version.schema.json": [' in result.out


def test_a_registry_in_a_subfolder_is_mapped_from_the_workspace_root(cli, tmp_path: Path) -> None:
    repo = tmp_path / "mono"
    repo.mkdir()
    git(repo, "init", "-q")
    assert cli("init", str(repo / "ml" / "registry")).code == 0
    assert not (repo / "ml/registry/.vscode").exists()
    mapping = json.loads((repo / ".vscode/settings.json").read_text())["yaml.schemas"]
    for kind in KINDS:
        path = f"./ml/registry/.modelreg/schemas/{SOURCES[kind]}"
        _assert_is_the_shipped_schema(repo / path)
        assert mapping[path] == [f"ml/registry/{glob}" for glob in EDITOR_SCHEMAS[kind]]
    policy = repo / "ml/registry/modelreg.yaml"
    assert (
        _schema_line_target(policy)
        == (repo / "ml/registry/.modelreg/schemas/registry.schema.json").resolve()
    )
    # the globs name the registry's files from the workspace root
    assert cli("--repo", str(repo / "ml/registry"), "new", "summarizer").code == 0
    version_glob = mapping["./ml/registry/.modelreg/schemas/model-version.schema.json"][0]
    assert [p.relative_to(repo).as_posix() for p in repo.glob(version_glob)] == [
        "ml/registry/models/summarizer/1.0.0.yaml"
    ]


def test_init_leaves_settings_that_are_not_utf8_byte_for_byte(cli, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    raw = b'{"greeting": "caf\xe9"}\n'
    (repo / ".vscode").mkdir(parents=True)
    (repo / ".vscode" / "settings.json").write_bytes(raw)
    git(repo, "init", "-q")
    result = cli("init", str(repo))
    assert result.code == 0, result.err
    assert (repo / ".vscode" / "settings.json").read_bytes() == raw
    assert "kept your .vscode/settings.json" in result.out


@pytest.mark.parametrize("link", ["folder", "file"])
def test_init_never_writes_settings_through_a_link(cli, tmp_path: Path, link: str) -> None:
    """Review round 1: a linked .vscode led the write out of the repository."""
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    outside.mkdir()
    repo.mkdir()
    git(repo, "init", "-q")
    if link == "folder":
        (repo / ".vscode").symlink_to(outside)
    else:
        (outside / "settings.json").write_text('{"editor.tabSize": 2}\n')
        (repo / ".vscode").mkdir()
        (repo / ".vscode" / "settings.json").symlink_to(outside / "settings.json")
    result = cli("init", str(repo))
    assert result.code == 0, result.err
    assert "kept your .vscode/settings.json (a symbolic link)" in result.out
    assert sorted(p.name for p in outside.iterdir()) == (
        [] if link == "folder" else ["settings.json"]
    )
    if link == "file":
        assert (outside / "settings.json").read_text() == '{"editor.tabSize": 2}\n'
        assert (repo / ".vscode" / "settings.json").is_symlink()
