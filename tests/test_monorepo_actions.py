"""Actions, verify and log on a registry in a subfolder of a larger repository (monorepo)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import EXAMPLE, commit_all, git, use_key, write


def test_actions_in_a_monorepo_subfolder(cli, tmp_path: Path, keys) -> None:
    repo = tmp_path / "mono"
    root = repo / "ml" / "registry"
    shutil.copytree(EXAMPLE, root)
    (root / ".modelreg" / "allowed_signers").write_text(keys["alice"].allowed())
    write(repo / "service" / "app.py", "print('hi')\n")
    git(repo, "init", "-q")
    use_key(keys["alice"])
    commit_all(repo, "monorepo")
    for stage in ("development", "staging", "production"):
        result = cli("promote", "summarizer", "1.1.0", "--to", stage, "--reason", "r", cwd=root)
        assert result.code == 0, result.err
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert changed == ["ml/registry/stages/summarizer.yaml"]
    assert git(repo, "status", "--porcelain") == ""
    # another team's commit beside the registry does not disturb verify
    write(repo / "service" / "app.py", "print('bye')\n")
    commit_all(repo, "service change")
    verified = cli("--json", "verify", "--all", cwd=repo / "service")
    assert verified.code == 2  # not inside the registry: no modelreg.yaml above service/
    verified = cli("--repo", str(root), "--json", "verify", "--all", cwd=repo / "service")
    assert verified.code == 0, verified.out
    assert verified.json()["actions"] == 3
    events = cli("--json", "log", "summarizer", cwd=root).json()["events"]
    assert [e["stage"] for e in events] == ["development", "staging", "production"]
    assert all(e["verified"] and e["signer"] == "alice@example.com" for e in events)
    # a hand edit of the state file in the subfolder is caught with its repo path
    state = root / "stages" / "summarizer.yaml"
    state.write_text(state.read_text().replace("previous: null", "previous: 1.0.0", 1))
    commit_all(repo, "hand edit")
    data = cli("--repo", str(root), "--json", "verify", "--base", "HEAD~1").json()
    assert [p["rule"] for p in data["problems"]] == ["unsigned-state-change"]
    assert data["problems"][0]["file"] == "ml/registry/stages/summarizer.yaml"
