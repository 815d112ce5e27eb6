"""Service: `init`, a new registry with policy, folders, signers, and pre-commit and CI snippets."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from modelreg.core.policy import POLICY_FILE
from modelreg.errors import UsageError
from modelreg.registry import obstacle
from modelreg.schemas import SOURCES, schema_dir, shipped
from modelreg.vcs import Git
from modelreg.yamlio import write_atomic

POLICY_TEMPLATE = """\
# modelreg policy: the stages a version moves through, the gates it must pass,
# and who may sign each move. Changes to this file need a signature from a
# signer of the last stage.
schema: modelreg/registry/v1
policy_version: 1                      # raise it with every change; verify refuses a lower one
stages: [development, staging, production]
signing:
  required: true
  allowed_signers: .modelreg/allowed_signers
  revocation_file: .modelreg/revoked_keys
tag_prefix: modelreg                   # action tags live under refs/tags/modelreg/
stage_rules:
  staging:
    from: [development]                # a version must serve one of these stages first
    gates:
      - suite: smoke
        metrics: {{accuracy: {{min: 0.80}}}}
  production:
    from: [staging]
    require_pinned_model: true         # no floating aliases like gpt-4o or ...-latest
    signers: [release-managers]
    gates:
      - suite: regression
        metrics:
          accuracy: {{min: 0.85}}
        no_regression: {{accuracy: 0.02}}
    canary: {{max_weight: 50}}
groups:
  release-managers: []                 # principals from .modelreg/allowed_signers
"""

SIGNERS_TEMPLATE = """\
# Who may sign modelreg actions: OpenSSH allowed-signers format, one key per line.
#   <principal> namespaces="git" <key type> <base64 public key>
# e.g. (from `cat ~/.ssh/id_ed25519.pub`):
#   alice@example.com namespaces="git" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI...
# Changes to this file need a signature from a signer of the last stage.
"""

PRE_COMMIT_TEMPLATE = """\
# Refuse bad registry files before they are committed (https://pre-commit.com).
repos:
  - repo: local
    hooks:
      - id: modelreg-check
        name: modelreg check
        entry: {entry}
        language: system
        always_run: true               # a commit that only deletes a version is checked too
        files: {files}
"""

WORKFLOW_TEMPLATE = """\
# Check every registry file on each pull request and push.
name: modelreg
on: [pull_request, push]
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0               # full history: modelreg reads tags and past commits
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: pip install "modelreg=={version}"
      - run: {check}
"""


def verify_workflow(repo_arg: str) -> str:
    """The shipped `ci/github-verify.yml`, pinned to this modelreg, aimed at the registry folder."""
    text = shipped("ci/github-verify.yml").read_text(encoding="utf-8")
    text = re.sub(r'"modelreg==[^"]*"', f'"modelreg=={_version()}"', text)
    if not repo_arg:
        return text
    # In the `run: |` block the line is shell as written; the one-line `run:` is a YAML
    # scalar, so it is quoted (a folder name may hold `#` or `: `).
    text = text.replace("\n          modelreg verify ", f"\n          modelreg{repo_arg} verify ")
    # the whole `run: modelreg check ...` line, whatever options follow (--format github)
    return re.sub(
        r"^( *run: )modelreg (check\b[^\n]*)$",
        lambda m: m[1] + _yaml_quoted(f"modelreg{repo_arg} {m[2]}"),
        text,
        flags=re.MULTILINE,
    )


def _version() -> str:
    from importlib.metadata import version

    return version("modelreg")


# Editors: init copies the JSON schemas of the registry files into the registry,
# so the association works offline and its paths stay put when modelreg moves.
SCHEMA_FOLDER = ".modelreg/schemas"
# schema kind -> the registry-relative globs of the files it describes (VS Code's yaml.schemas)
EDITOR_SCHEMAS = {
    "model-version": ["models/**/*.yaml"],
    "eval": ["evals/**/*.yaml"],
    "stages": ["stages/*.yaml"],
    "registry": ["modelreg.yaml"],
}
MODELINE = "# yaml-language-server: $schema="
VSCODE_SETTINGS = ".vscode/settings.json"


def schema_copy(kind: str) -> str:
    """The registry-relative path of the copy of the KIND schema that init writes."""
    return f"{SCHEMA_FOLDER}/{SOURCES[kind]}"


def modeline(kind: str, depth: int) -> str:
    """The first line that points an editor at the KIND schema from a file DEPTH folders down."""
    return f"{MODELINE}{'../' * depth}{schema_copy(kind)}\n"


def with_modeline(text: str, line: str) -> str:
    """TEXT with LINE as its first line, in place of a yaml-language-server line it had."""
    first, newline, rest = text.partition("\n")
    if first.startswith(MODELINE):
        text = rest if newline else ""
    return line + text


def vscode_schemas(prefix: str) -> dict[str, list[str]]:
    """VS Code's `yaml.schemas` for a registry at PREFIX ('' or 'dir/') of the workspace."""
    return {
        f"./{prefix}{schema_copy(kind)}": [prefix + glob for glob in globs]
        for kind, globs in EDITOR_SCHEMAS.items()
    }


def merged_settings(text: str, schemas: dict[str, list[str]]) -> str | None:
    """TEXT (a settings.json) with SCHEMAS merged into its `yaml.schemas`: TEXT itself when
    nothing is missing; None when TEXT is not a JSON object (VS Code allows comments, which
    a rewrite would lose) or its `yaml.schemas` is not an object."""
    from modelreg.core.strictjson import no_duplicates, refuse_constant

    def same_float(token: str) -> float:
        value = float(token)  # `1E5` or `1e400` would be rewritten as another text
        if json.dumps(value) != token:
            raise ValueError(f"{token} would not be written back as it is")
        return value

    try:
        settings = json.loads(
            text,
            object_pairs_hook=no_duplicates,
            parse_constant=refuse_constant,
            parse_float=same_float,
        )
    except ValueError:
        return None
    if not isinstance(settings, dict):
        return None
    mapping = settings.setdefault("yaml.schemas", {})
    if not isinstance(mapping, dict):
        return None
    before = json.dumps(mapping)
    for schema, globs in schemas.items():
        had = mapping.get(schema)
        if isinstance(had, str):
            had = [had]
        if not isinstance(had, list):
            had = []
        mapping[schema] = had + [glob for glob in globs if glob not in had]
    if json.dumps(mapping) == before:
        return text
    return json.dumps(settings, indent=2, ensure_ascii=False) + "\n"


# The registry files below the registry root, for a pre-commit `files:` pattern.
FILES_PATTERN = r"(modelreg\.yaml|\.modelreg/.+|(models|evals|stages)/.*\.ya?ml)$"


@dataclass
class InitResult:
    root: Path
    git_init: bool
    created: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _yaml_quoted(text: str) -> str:
    """TEXT as a single-quoted YAML scalar (a folder name may hold spaces, `#` or quotes)."""
    return "'" + text.replace("'", "''") + "'"


def init_registry(directory: Path) -> InitResult:
    """Create a registry at DIRECTORY; on any failure nothing of it is left behind."""
    root = directory.resolve()
    if (root / POLICY_FILE).exists():
        raise UsageError(f"{root / POLICY_FILE} already exists: this folder is already a registry")
    blocker = obstacle(root / POLICY_FILE, Path(root.anchor))
    if blocker is not None:
        raise UsageError(f"{blocker} is a file, not a folder: cannot create a registry in it")
    existing = next(folder for folder in (root, *root.parents) if folder.exists())
    top = Git(existing).toplevel
    top = top.resolve() if top else None
    git_init = top is None
    top = top or root
    prefix = root.relative_to(top).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    result = InitResult(root=root, git_init=git_init)

    files = {
        root / POLICY_FILE: modeline("registry", 0) + POLICY_TEMPLATE.format(),
        root / ".modelreg" / "allowed_signers": SIGNERS_TEMPLATE,
        root / ".modelreg" / "revoked_keys": "",
        root / "models" / ".gitkeep": "",
        root / "evals" / ".gitkeep": "",
    }
    for kind in EDITOR_SCHEMAS:  # byte for byte as shipped, so their `$id`s stay the same
        files[root / schema_copy(kind)] = (schema_dir() / SOURCES[kind]).read_text(encoding="utf-8")
    settings_path = top / VSCODE_SETTINGS
    settings = json.dumps({"yaml.schemas": vscode_schemas(prefix)}, indent=2) + "\n"
    repo_arg = f" --repo {shlex.quote(prefix.rstrip('/'))}" if prefix else ""
    snippets = {
        top / ".pre-commit-config.yaml": PRE_COMMIT_TEMPLATE.format(
            entry=_yaml_quoted(f"modelreg{repo_arg} check --paths-only"),
            files=_yaml_quoted(f"^{re.escape(prefix)}{FILES_PATTERN}"),
        ),
        top / ".github" / "workflows" / "modelreg.yml": WORKFLOW_TEMPLATE.format(
            version=_version(), check=_yaml_quoted(f"modelreg{repo_arg} check --all")
        ),
        top / ".github" / "workflows" / "modelreg-verify.yml": verify_workflow(repo_arg),
    }
    for path in [*files, *snippets, settings_path]:
        blocker = obstacle(path, top)
        if blocker is not None:
            raise UsageError(f"{blocker} is in the way: a file where a folder must be")

    created: list[Path] = []  # to undo, newest first, if a write fails
    try:
        if not root.exists():
            for folder in reversed([root, *root.parents]):
                if not folder.exists():
                    folder.mkdir()
                    created.append(folder)
        if git_init:
            Git(root).run("init", "-q")
            created.append(root / ".git")
        for path, text in {**files, **snippets}.items():
            shown = path.relative_to(top).as_posix()
            if path.exists():  # never overwrite: a signer list or a CI job may hold work
                mentions = "modelreg" in path.read_text(encoding="utf-8", errors="replace")
                note = f"; add modelreg to it:\n{text}" if path in snippets and not mentions else ""
                result.notes.append(f"kept your {shown}{note}")
                continue
            _write_new(path, text, shown, result, created)
        # last, so a failure before it leaves the user's settings as they were
        _associate_vscode(settings_path, settings, prefix, result, created)
    except BaseException:
        for path in reversed(created):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        raise
    return result


def _write_new(path: Path, text: str, shown: str, result: InitResult, created: list[Path]) -> None:
    """Write the new file PATH (and its missing folders), each recorded in CREATED for the
    undo and shown as SHOWN in RESULT."""
    for folder in reversed(path.parents):
        if not folder.exists():
            folder.mkdir()
            created.append(folder)
    write_atomic(path, text)
    created.append(path)
    result.created.append(shown)


def _associate_vscode(
    path: Path, text: str, prefix: str, result: InitResult, created: list[Path]
) -> None:
    """Write .vscode/settings.json, or merge `yaml.schemas` into the user's.

    A link (the folder or the file) is never written through: it may lead out of the
    repository or to a file other tools own; the block to add is printed instead.
    """
    shown = VSCODE_SETTINGS
    if path.parent.is_symlink() or path.is_symlink():
        result.notes.append(f"kept your {shown} (a symbolic link); for editor checks add:\n{text}")
        return
    if not path.exists():
        _write_new(path, text, shown, result, created)
        return
    try:
        old = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        old = ""  # not UTF-8: never rewritten (a lossy decode would change the user's text)
    merged = merged_settings(old, vscode_schemas(prefix)) if old else None
    if merged == old:
        result.notes.append(f"kept your {shown}: its yaml.schemas already maps the registry files")
    elif merged is not None:
        write_atomic(path, merged)
        result.notes.append(f"added the registry's schemas to yaml.schemas in your {shown}")
    else:
        result.notes.append(
            f"kept your {shown} (not plain JSON, or its yaml.schemas is not an object); "
            f"for editor checks add:\n{text}"
        )
