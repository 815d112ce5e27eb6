"""End to end: the built wheel carries the schemas and the example, and works from a fresh venv.

The wheel is built with `python -m build --wheel` in its normal isolated mode
(pip fetches hatchling into a throwaway environment, as for any user), then
installed, not editable, into a new venv. Every command runs from a folder
outside the project so the source checkout cannot be imported by accident.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import EXAMPLE, PROJECT

SCHEMAS = ("model-version", "eval", "registry", "stages")

# Variables that could let the fresh venv see the source checkout or the test venv.
_LEAKS = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "VIRTUAL_ENV",
    "PYTHONSAFEPATH",
    "PYTHONUSERBASE",
)


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    outside: Path  # a working folder outside the project
    env: dict[str, str]

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in args],
            cwd=self.outside,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )


def _run(args: list[str], cwd: Path, env: dict[str, str], what: str) -> None:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.fail(
            f"{what} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}", pytrace=False
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Build the wheel once, install it into a new venv once, for every test in this module."""
    base = tmp_path_factory.mktemp("wheel")
    home = base / "home"
    home.mkdir()
    outside = base / "work"
    outside.mkdir()
    # Module-scoped, so the autouse isolated_env is not active yet: isolate by hand.
    env = {k: v for k, v in os.environ.items() if k not in _LEAKS}
    env.update(HOME=str(home), NO_COLOR="1", GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)

    dist = base / "dist"
    _run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(PROJECT)],
        outside,
        env,
        "python -m build --wheel",
    )
    wheels = sorted(dist.glob("modelreg-*.whl"))
    assert len(wheels) == 1, f"expected one wheel in {dist}, found {wheels}"

    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], outside, env, "python -m venv")
    _run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(wheels[0])],
        outside,
        env,
        "pip install <wheel>",
    )
    return Installed(wheels[0], venv, outside, env)


def test_wheel_contains_schemas_and_example(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for kind in SCHEMAS:
        assert f"modelreg/_data/schemas/{kind}.schema.json" in names
    assert "modelreg/_data/registry-example/modelreg.yaml" in names
    # Every file of the example ships, the hidden .modelreg/ folder included.
    for path in EXAMPLE.rglob("*"):
        if path.is_file():
            assert (
                f"modelreg/_data/registry-example/{path.relative_to(EXAMPLE).as_posix()}" in names
            )
    # Source checkouts' byte-code never ships.
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_installed_package_is_the_wheel_not_the_checkout(installed: Installed) -> None:
    proc = installed.run(
        installed.bin / "python", "-c", "import modelreg.schemas as s; print(s.schema_dir())"
    )
    assert proc.returncode == 0, proc.stderr
    schema_dir = Path(proc.stdout.strip())
    site_packages = list(installed.venv.glob("lib/python3*/site-packages"))
    assert len(site_packages) == 1
    assert schema_dir.is_relative_to(site_packages[0]), schema_dir
    assert schema_dir == site_packages[0] / "modelreg" / "_data" / "schemas"
    assert not schema_dir.is_relative_to(PROJECT)
    assert {p.name for p in schema_dir.iterdir()} >= {f"{k}.schema.json" for k in SCHEMAS}


def test_installed_check_all_on_the_example(installed: Installed) -> None:
    registry = installed.outside / "registry-check"
    shutil.copytree(EXAMPLE, registry)
    proc = installed.run(installed.bin / "modelreg", "--repo", registry, "check", "--all")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("ok"), proc.stdout
    assert "Traceback" not in proc.stderr


def test_installed_show_json(installed: Installed) -> None:
    registry = installed.outside / "registry-show"
    shutil.copytree(EXAMPLE, registry)
    proc = installed.run(
        installed.bin / "modelreg", "--repo", registry, "--json", "show", "summarizer@1.1.0"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["model"] == "summarizer"
    assert data["version"] == "1.1.0"
    assert data["digest"].startswith("sha256:") and len(data["digest"]) == len("sha256:") + 64
    assert data["config"]["parent"] == "1.0.0"


def test_installed_demo_builds_a_history_that_verifies(installed: Installed) -> None:
    """The demo finds registry-example inside the wheel, and needs no git config of the user's
    (GIT_CONFIG_GLOBAL is /dev/null here: no name, no email, no signing key)."""
    demo = installed.outside / "demo-registry"
    proc = installed.run(installed.bin / "modelreg", "demo", demo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "16 signed actions" in proc.stdout
    proc = installed.run(installed.bin / "modelreg", "--repo", demo, "verify", "--all")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("27 commits, 16 actions: ok"), proc.stdout
