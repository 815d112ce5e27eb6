"""Service: `init`, a new registry with policy, folders, signers, and pre-commit and CI snippets."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from modelreg.core.policy import POLICY_FILE
from modelreg.errors import UsageError
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
        entry: modelreg{repo_arg} check
        language: system
        files: ^{prefix}(modelreg\\.yaml|\\.modelreg/.+|(models|evals|stages)/.*\\.ya?ml)$
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
      - run: modelreg{repo_arg} check --all
"""


def _version() -> str:
    from importlib.metadata import version

    return version("modelreg")


@dataclass
class InitResult:
    root: Path
    git_init: bool
    created: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def init_registry(directory: Path) -> InitResult:
    root = directory.resolve()
    if (root / POLICY_FILE).exists():
        raise UsageError(f"{root / POLICY_FILE} already exists: this folder is already a registry")
    if root.exists() and not root.is_dir():
        raise UsageError(f"{directory} is not a folder")
    root.mkdir(parents=True, exist_ok=True)
    git = Git(root)
    git_init = git.toplevel is None
    if git_init:
        git.run("init", "-q")
        git = Git(root)
    top = git.toplevel.resolve() if git.toplevel else root
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
    repo_arg = f" --repo {prefix.rstrip('/')}" if prefix else ""
    snippets = {
        top / ".pre-commit-config.yaml": PRE_COMMIT_TEMPLATE.format(
            repo_arg=repo_arg, prefix=prefix.replace(".", "\\.")
        ),
        top / ".github" / "workflows" / "modelreg.yml": WORKFLOW_TEMPLATE.format(
            repo_arg=repo_arg, version=_version()
        ),
    }
    for path, text in {**files, **snippets}.items():
        shown = path.relative_to(top).as_posix()
        if path.exists():  # never overwrite: a signer list or a CI job may hold work
            mentions = "modelreg" in path.read_text(encoding="utf-8", errors="replace")
            note = f"; add modelreg to it:\n{text}" if path in snippets and not mentions else ""
            result.notes.append(f"kept your {shown}{note}")
            continue
        write_atomic(path, text)
        result.created.append(shown)
    return result
