"""The GTO twin of a generated registry reads, in GTO 1.10.1, as the same registry.

benchmarks/gto_twin.py writes the history of a modelreg registry as GTO's tags
(registrations, stage assignments, deregistrations) in a clone; the benchmarks
compare GTO's commands on it with modelreg's. Here a small real history (3 models x
9 versions, signed actions, a rollback, a canary and an archive per model, then an
unarchive and a rollback made by the CLI) is built, twinned, and `gto show --json`
(GTO from its own venv, benchmarks/.cache/gto-venv, made once and reused) must agree
with `modelreg --json status` on every model's version per stage, and `gto show
<model> --json` with `modelreg --json list` on which versions are archived. No
timing is asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PROJECT, git

sys.path.insert(0, str(PROJECT / "benchmarks"))
from generate_history import build, ensure_keys
from gto_twin import (
    GtoUnavailable,
    disagreements,
    gto_executable,
    gto_stages,
    make_twin,
    modelreg_stages,
)

MODELREG = str(Path(sys.executable).parent / "modelreg")
MODELS, VERSIONS = 3, 9  # 9: two production promotions, so the rollback is made
# pip's words when it cannot reach the package index (the one reason to skip)
OFFLINE = (
    "No matching distribution found",
    "Could not find a version",
    "NewConnectionError",
    "Network is unreachable",
    "Temporary failure in name resolution",
    "Connection refused",
    "Max retries exceeded",
)


@pytest.fixture(scope="module")
def gto() -> Path:
    try:
        return gto_executable()
    except GtoUnavailable as e:
        if any(word in str(e) for word in OFFLINE):
            pytest.skip(f"GTO cannot be installed, the package index is unreachable: {e}")
        raise


def test_gto_show_agrees_with_modelreg_status(
    tmp_path: Path, gto: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "registry"
    build(repo, MODELS, VERSIONS, ensure_keys(tmp_path / "keys"))
    # Two actions through the CLI, now (the history ends an hour ago): an unarchive
    # (GTO's re-registration `model@vX.Y.Z#2` must make the version active again) and a
    # rollback of production to an older version (the history's own rollback is undone
    # by its canary's promotion; GTO must show the older version, assigned last).
    monkeypatch.delenv("GIT_AUTHOR_DATE", raising=False)
    monkeypatch.delenv("GIT_COMMITTER_DATE", raising=False)
    archived = {
        (v["model"], v["version"])
        for v in json.loads(
            subprocess.run(
                [MODELREG, "--json", "list"], cwd=repo, capture_output=True, check=True
            ).stdout
        )["versions"]
        if v["archived"]
    }
    assert len(archived) == MODELS  # the history archives one version per model
    revived = min(archived)
    subprocess.run(
        [MODELREG, "unarchive", *revived, "--reason", "needed again"],
        cwd=repo,
        capture_output=True,
        check=True,
    )
    rolled = "model-001"
    before = modelreg_stages(MODELREG, repo)[rolled]["production"]
    subprocess.run(
        [MODELREG, "rollback", rolled, "--stage", "production", "--reason", "regressed"],
        cwd=repo,
        capture_output=True,
        check=True,
    )
    after = modelreg_stages(MODELREG, repo)[rolled]["production"]
    assert after and before and after.split(".") != before.split(".")

    twin = tmp_path / "twin"
    info = make_twin(repo, twin)
    kinds = info["kinds"]
    assert kinds["registration"] == MODELS * VERSIONS
    assert kinds["deregistration (archive)"] == MODELS
    assert kinds["registration again (unarchive)"] == 1
    assert kinds["assignment (rollback)"] == MODELS + 1
    assert kinds["assignment (canary-promote)"] == MODELS
    assert kinds["left out: canary-start (no GTO equivalent)"] == MODELS
    # the twin holds GTO's tags only
    names = git(twin, "for-each-ref", "--format=%(refname:strip=2)", "refs/tags/").split()
    assert names and not any(n.startswith("modelreg/") for n in names)
    assert f"{revived[0]}@v{revived[1]}!" in names and f"{revived[0]}@v{revived[1]}#2" in names

    ours = modelreg_stages(MODELREG, repo)
    theirs = gto_stages(gto, twin)
    assert sorted(ours) == [f"model-{m:03d}" for m in range(MODELS)]
    served = [(m, s) for m, stages in ours.items() for s, v in stages.items() if v]
    assert len(served) == MODELS * 3  # every model serves development, staging, production
    assert disagreements(ours, theirs) == []

    # Archived versions are deregistered in GTO; the unarchived one is active again.
    for model in sorted(ours):
        shown = json.loads(
            subprocess.run(
                [str(gto), "show", model, "--json"],
                cwd=twin,
                capture_output=True,
                check=True,
            ).stdout
        )
        active = {v["version"][1:] for v in shown if v["is_active"]}
        assert len(active) == VERSIONS - len([a for a in archived - {revived} if a[0] == model])
        for m, version in archived:
            if m == model:
                assert (version in active) == ((m, version) == revived)
