"""Registry: finds the root; reads policy, models, versions, evals and stage state from the work tree.

A registry is a folder holding `modelreg.yaml`: the top of a git work tree, a
folder inside one (monorepo), or, for read-only use, a folder in no repo.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from modelreg.core.digest import CanonicalizationError, digest
from modelreg.core.names import (
    is_model_name,
    model_name_problem,
    parse_version,
    quote_advice,
    version_sort_key,
)
from modelreg.core.policy import POLICY_FILE, Policy
from modelreg.errors import BadInput, NotARegistry, NotFound, UsageError
from modelreg.schemas import validate
from modelreg.vcs import Git
from modelreg.yamlio import Document, StrictYamlError, load_path

MODELS, EVALS, STAGES = "models", "evals", "stages"


def find_root(start: Path) -> Path:
    """Walk up from START to the folder holding modelreg.yaml."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / POLICY_FILE).is_file():
            return folder
    raise NotARegistry(
        f"no {POLICY_FILE} in {start} or any parent folder: run `modelreg init`, or pass --repo PATH"
    )


@dataclass(frozen=True)
class SchemaFinding:
    line: int
    message: str  # `dotted.path: what is wrong`


def schema_findings(doc: Document, kind: str) -> list[SchemaFinding]:
    """DOC's problems against the KIND schema, with lines and advice, in file order."""
    out = []
    for p in validate(kind, doc.data):
        message, line = p.message, doc.line_of(p.path)
        if p.path in (("version",), ("parent",)) and p.path in doc.float_texts:
            message = quote_advice(doc.float_texts[p.path])
        elif p.keyword == "required" and p.missing == "changes" and "parent" in doc.data:
            message = (
                "changes (summary and reason) is required with parent: say what changed and why"
            )
            line = doc.line_of(("parent",))
        out.append(SchemaFinding(line, f"{p.dotted}: {message}" if p.dotted else message))
    return sorted(out, key=lambda f: f.line)


def obstacle(path: Path, stop: Path) -> Path | None:
    """The first folder on the way from STOP to PATH that exists but is a file, or None."""
    for folder in reversed(path.parents):
        if not folder.is_relative_to(stop):
            continue
        if folder.exists() and not folder.is_dir():
            return folder
    return None


@dataclass
class VersionRecord:
    model: str
    version: str
    path: Path
    data: dict[str, Any]
    digest: str
    text: str  # the file as written and parsed


class Registry:
    """Read access to one registry's files in the work tree."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @classmethod
    def open(cls, repo: Path | None) -> Registry:
        """The registry at REPO (which must hold modelreg.yaml), or found from the current folder."""
        if repo is None:
            return cls(find_root(Path.cwd()))
        if not (repo / POLICY_FILE).is_file():
            raise NotARegistry(
                f"{repo}: not a registry (no {POLICY_FILE}); run `modelreg init {repo}`"
            )
        return cls(repo)

    # --- git ----------------------------------------------------------------

    @cached_property
    def git(self) -> Git | None:
        """Git for the work tree holding the registry, or None outside git."""
        git = Git(self.root)
        return git if git.toplevel is not None else None

    @cached_property
    def git_prefix(self) -> str:
        """The registry root relative to the work tree's top, '' or ending in '/'."""
        if self.git is None or self.git.toplevel is None:
            return ""
        rel = self.root.relative_to(self.git.toplevel.resolve()).as_posix()
        return "" if rel == "." else rel + "/"

    # --- paths --------------------------------------------------------------

    def display(self, path: Path | str) -> str:
        """How a file is named in messages: relative to the current folder when below it."""
        full = self.root / path if isinstance(path, str) else path
        cwd = Path.cwd()
        try:
            return os.path.relpath(full, cwd) if full.is_relative_to(cwd) else str(full)
        except ValueError:  # pragma: no cover - another drive on Windows
            return str(full)

    def version_path(self, model: str, version: str) -> Path:
        return self.root / MODELS / model / f"{version}.yaml"

    def eval_dir(self, model: str, version: str) -> Path:
        return self.root / EVALS / model / version

    def stage_path(self, model: str) -> Path:
        return self.root / STAGES / f"{model}.yaml"

    def files(self) -> list[str]:
        """Every file under models/, evals/ and stages/, registry-relative, sorted.

        Dotfiles and dot-folders (.gitkeep, editor lock files) are not registry
        files; symlinked folders are not followed.
        """
        out: list[str] = []
        for top in (MODELS, EVALS, STAGES):
            for folder, dirs, names in os.walk(self.root / top):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                base = Path(folder).relative_to(self.root).as_posix()
                out += [f"{base}/{n}" for n in names if not n.startswith(".")]
                # a symlink to a folder is listed as a file, so check refuses it
                out += [f"{base}/{d}" for d in dirs if os.path.islink(os.path.join(folder, d))]
        return sorted(out)

    def eval_paths(self, model: str, version: str) -> list[Path]:
        """The eval files of MODEL@VERSION, by suite name."""
        folder = self.eval_dir(model, version)
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.glob("*.yaml") if not p.name.startswith("."))

    # --- reading ------------------------------------------------------------

    def load(self, path: Path, kind: str) -> Document:
        """Strictly parse one registry file and check it against the KIND schema.

        A bad file is bad input to a read command (exit 2, with file and line);
        `check` reports the same problems as findings instead.
        """
        try:
            doc = load_path(path)
        except FileNotFoundError:
            raise NotFound(f"{self.display(path)}: no such file") from None
        except OSError as e:
            raise BadInput(f"cannot read: {e.strerror}", file=self.display(path)) from None
        except StrictYamlError as e:
            first = e.problems[0]
            raise BadInput(first.message, file=self.display(path), line=first.line) from None
        findings = schema_findings(doc, kind)
        if findings:
            raise BadInput(
                f"{findings[0].message} (run `modelreg check` for every problem)",
                file=self.display(path),
                line=findings[0].line,
            )
        return doc

    @cached_property
    def policy(self) -> Policy:
        return Policy.from_data(self.load(self.root / POLICY_FILE, "registry").data)

    def model_names(self) -> list[str]:
        folder = self.root / MODELS
        if not folder.is_dir():
            return []
        # A folder and not a symbolic link, told from the directory entry itself: no two
        # stats per model (200 models: 400 system calls)
        with os.scandir(folder) as entries:
            return sorted(
                e.name for e in entries if e.is_dir(follow_symlinks=False) and is_model_name(e.name)
            )

    def versions(self, model: str) -> list[str]:
        """Versions of MODEL, lowest first (files named MAJOR.MINOR.PATCH.yaml)."""
        folder = self.root / MODELS / model
        if not folder.is_dir():
            return []
        found = [
            p.name[:-5]
            for p in folder.iterdir()
            if p.name.endswith(".yaml") and p.is_file() and not p.is_symlink()
        ]
        return sorted((v for v in found if parse_version(v)), key=version_sort_key)

    def require_model(self, model: str) -> None:
        problem = model_name_problem(model)
        if problem:
            raise UsageError(problem)
        folder = self.root / MODELS / model
        if folder.is_symlink():
            raise BadInput(f"{self.display(folder)} is a symbolic link; run `modelreg check`")
        if not folder.is_dir():
            known = ", ".join(self.model_names()) or "none yet"
            raise NotFound(f"unknown model {model!r} (models: {known})")

    def version(self, model: str, version: str) -> VersionRecord:
        self.require_model(model)
        path = self.version_path(model, version)
        if path.is_symlink():
            raise BadInput(f"{self.display(path)} is a symbolic link; run `modelreg check`")
        if not path.is_file():
            known = ", ".join(self.versions(model)) or "none"
            raise NotFound(f"unknown version {model}@{version} (versions: {known})")
        doc = self.load(path, "model-version")
        try:
            dg = digest(doc.data)
        except CanonicalizationError as e:
            raise BadInput(str(e), file=self.display(path)) from None
        return VersionRecord(model, version, path, doc.data, dg, doc.text)

    def evals(self, model: str, version: str) -> dict[str, dict[str, Any]]:
        """{suite: eval data} for MODEL@VERSION."""
        return {
            path.name[:-5]: self.load(path, "eval").data for path in self.eval_paths(model, version)
        }

    def stage_state(self, model: str) -> dict[str, Any]:
        """The stage state file of MODEL, or an empty state before any action."""
        path = self.stage_path(model)
        if not path.is_file():
            return {"model": model, "stages": {}, "archived": []}
        data: dict[str, Any] = self.load(path, "stages").data
        return data

    def serving(self, model: str) -> dict[str, dict[str, Any] | None]:
        """{stage: entry or None} for every stage in policy order."""
        stages = self.stage_state(model).get("stages") or {}
        return {stage: stages.get(stage) for stage in self.policy.stages}
