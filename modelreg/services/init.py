"""Service: `init`, a new registry with policy, folders, signers, and pre-commit and CI snippets."""

from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from modelreg.core.policy import POLICY_FILE
from modelreg.errors import UsageError
from modelreg.registry import obstacle
from modelreg.schemas import shipped
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
    check = _yaml_quoted(f"modelreg{repo_arg} check --all")
    return text.replace("run: modelreg check --all\n", f"run: {check}\n")


def _version() -> str:
    from importlib.metadata import version

    return version("modelreg")


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
        root / POLICY_FILE: POLICY_TEMPLATE.format(),
        root / ".modelreg" / "allowed_signers": SIGNERS_TEMPLATE,
        root / ".modelreg" / "revoked_keys": "",
        root / "models" / ".gitkeep": "",
        root / "evals" / ".gitkeep": "",
    }
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
    for path in [*files, *snippets]:
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
            for folder in reversed(path.parents):
                if not folder.exists():
                    folder.mkdir()
                    created.append(folder)
            write_atomic(path, text)
            created.append(path)
            result.created.append(shown)
    except BaseException:
        for path in reversed(created):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        raise
    return result
