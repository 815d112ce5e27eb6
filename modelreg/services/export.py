"""Service: `export` and the one place that turns a registry into a serving bundle.

A bundle is what one stage serves, every model listed (`null`: serves nothing
there), with each config as the digest sees it, the canary, the last action tag
and the source commit. `modelreg export` writes it; `modelreg.runtime.Registry`
holds the same structure in memory (`Registry.open` builds it here, on first use
of each stage).

Building is strict, and fails closed:
- a state file that serves something must be byte for byte the one a signed
  action committed: one of the action tags it names is an annotated tag on a
  commit whose state file has exactly these bytes, signed by a principal policy
  lets sign for that tag's stage (verified as `log` verifies, against the signer
  files of the source commit, or of HEAD for a work tree). A hand-edited state
  file is refused, however consistent its digests;
- each version it names is read and its digest must equal the one the state
  file records (a version file changed afterwards, or a broken checkout).
Outside git there is no history to check the state against: a plain folder is
served as it is (services should prefer a bundle exported from a verified commit).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelreg.core.digest import canonical_json
from modelreg.core.lifecycle import last_tag
from modelreg.errors import BadInput, NotFound, Refused, UsageError
from modelreg.registry import MODELS, STAGES, Registry
from modelreg.revision import Snapshot, Tag, TagIndex
from modelreg.services.history import verified_signatures, vouch
from modelreg.vcs import Git
from modelreg.yamlio import write_atomic

BUNDLE_SCHEMA = "modelreg/bundle/v1"  # the same string as modelreg.runtime.BUNDLE_SCHEMA

# (model, version) -> (parsed data, digest), or None when the file is absent
VersionReader = Callable[[str, str], "tuple[dict[str, Any], str] | None"]


def bundle_text(bundle: dict[str, Any]) -> str:
    """The bundle as written: sorted keys, two-space indent, UTF-8, one final newline."""
    return json.dumps(bundle, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class BundleSource:
    """A registry to build bundles from: its work tree as it is (COMMIT None), or the
    files of one commit, read through git without a checkout."""

    def __init__(self, reg: Registry, commit: str | None, ref: str | None) -> None:
        self.reg = reg
        self.commit = commit
        self.ref = ref
        self.prefix = reg.git_prefix if reg.git is not None else ""
        if commit is None:
            self.stages: tuple[str, ...] = reg.policy.stages
        else:
            with self._snapshot() as (snap, _git):
                self.stages = snap.policy.stages

    @classmethod
    def open(cls, root: Path, ref: str | None = None) -> BundleSource:
        """The registry in ROOT (which holds modelreg.yaml): the work tree, or REF's commit."""
        reg = Registry.open(root)
        if ref is None:
            return cls(reg, None, None)
        return cls(reg, resolve_commit(reg, ref), ref)

    def _snapshot(self) -> _Reading:
        return _Reading(self)

    def require_stage(self, stage: str) -> None:
        if stage not in self.stages:
            raise NotFound(f"unknown stage {stage!r} (stages: {', '.join(self.stages)})")

    def build(self, stage: str) -> dict[str, Any]:
        """STAGE's bundle (see the module docstring and schemas/bundle.schema.json)."""
        self.require_stage(stage)
        models: dict[str, Any] = {}
        if self.commit is None:
            reg = self.reg

            def read_worktree(model: str, version: str) -> tuple[dict[str, Any], str] | None:
                if not reg.version_path(model, version).is_file():
                    return None
                rec = reg.version(model, version)
                return rec.data, rec.digest

            with _Sealer.at_head(reg, self.prefix) as sealer:
                for model in reg.model_names():
                    where = reg.display(reg.stage_path(model))
                    state = reg.stage_state(model)
                    models[model] = _entry(model, stage, state, read_worktree, where, "")
                    if models[model] is not None and sealer is not None:
                        sealer.require(model, reg.stage_path(model).read_bytes(), state, where)
                if sealer is not None:
                    sealer.verify()
        else:
            with self._snapshot() as (snap, git):
                at = f" at {self.commit[:12]}"
                sealer = _Sealer(git, snap)
                for model in _models_at(git, self.commit, self.prefix):
                    where = snap.path(f"{STAGES}/{model}.yaml") + at
                    state = snap.state(model)
                    models[model] = _entry(model, stage, state, snap.version, where, at)
                    if models[model] is not None:
                        raw = snap.raw(f"{STAGES}/{model}.yaml") or b""
                        sealer.require(model, raw, state, where)
                sealer.verify()
        return {
            "schema": BUNDLE_SCHEMA,
            "stage": stage,
            "source": {
                "commit": self.commit,
                "ref": self.ref,
                "registry": self.prefix.rstrip("/"),
            },
            "models": models,
        }


class _Sealer:
    """Checks that a served state file is what a signed action committed (module docstring)."""

    def __init__(self, git: Git, snap: Snapshot) -> None:
        self.git, self.snap = git, snap
        self.policy = snap.policy
        self.tags = TagIndex(git, self.policy.tag_prefix, snap.reader)
        self.pending: list[tuple[str, list[Tag]]] = []  # (where, the tags that could seal it)

    @classmethod
    @contextmanager
    def at_head(cls, reg: Registry, prefix: str) -> Iterator[_Sealer | None]:
        """A sealer judged by HEAD's signers for REG's work tree; None outside git."""
        if reg.git is None or reg.git.toplevel is None:
            yield None
            return
        git = Git(reg.git.toplevel)
        head = git.rev("HEAD")
        with git.objects() as reader:
            yield cls(git, Snapshot(git, head, prefix, reader)) if head else _Unsealed()

    def require(self, model: str, raw: bytes, state: dict[str, Any], where: str) -> None:
        """Note that MODEL's state file (RAW, at WHERE) must be sealed; `verify` checks all
        the notes at once (one batch of signature checks, one read of the cache)."""
        path = self.snap.path(f"{STAGES}/{model}.yaml")
        candidates = []
        for name in sorted(set((state.get("tags") or {}).values())):
            tag = self.tags.by_name.get(name)
            record = tag.record if tag is not None else None
            if tag is None or record is None or record.model != model:
                continue
            if tag.target_type == "commit" and self.snap.reader.blob(f"{tag.target}:{path}") == raw:
                candidates.append(tag)
        self.pending.append((where, candidates))

    def verify(self) -> None:
        """Refuse the first state file noted that no verified action tag seals."""
        signed = self.policy.signing_required
        every = [t for _where, tags in self.pending for t in tags]
        sigs = verified_signatures(self.git, self.snap, every) if signed and every else {}
        for where, candidates in self.pending:
            why = "no action tag it names committed these bytes"
            for tag in candidates:
                if not signed and tag.header_name == tag.name:
                    break  # policy asks for no signatures: the tag still seals the bytes
                ok, note = vouch(self.policy, tag, sigs.get(tag.oid))
                if ok:
                    break
                why = f"{tag.name} does not vouch for it: {note}"
            else:
                raise Refused(
                    f"the state file is not what a signed action committed ({why}); edited by "
                    "hand? refusing to serve it (run `modelreg verify`)",
                    file=where,
                    rule="unsealed-state",
                )


class _Unsealed(_Sealer):
    """A repository with no commit yet: nothing is sealed, so nothing that serves passes."""

    def __init__(self) -> None:
        pass

    def verify(self) -> None:
        pass

    def require(self, model: str, raw: bytes, state: dict[str, Any], where: str) -> None:
        raise Refused(
            "the state file serves a version, but the repository has no commit: no signed "
            "action made it; refusing to serve it",
            file=where,
            rule="unsealed-state",
        )


class _Reading:
    """A Snapshot of the source's commit with its own `git cat-file` process, closed after."""

    def __init__(self, source: BundleSource) -> None:
        self.source = source

    def __enter__(self) -> tuple[Snapshot, Git]:
        git = _git(self.source.reg)
        self.reader = git.objects()
        assert self.source.commit is not None
        return Snapshot(git, self.source.commit, self.source.prefix, self.reader), git

    def __exit__(self, *exc: object) -> None:
        self.reader.close()


def _git(reg: Registry) -> Git:
    if reg.git is None or reg.git.toplevel is None:
        raise UsageError(
            f"{reg.root} is in no git repository, so it has no commits to read: `git init` "
            "and commit the registry, or read the work tree as it is (no ref)",
            rule="no-git",
        )
    return Git(reg.git.toplevel)


def resolve_commit(reg: Registry, ref: str) -> str:
    """The commit REF names, or NotFound with advice."""
    git = _git(reg)
    commit = git.rev(f"{ref}^{{commit}}")
    if commit is None:
        if ref == "HEAD" and not git.has_head():
            raise NotFound("the repository has no commit yet: commit the registry first")
        raise NotFound(f"unknown revision {ref!r} (no commit of that name)")
    return commit


def _models_at(git: Git, commit: str, prefix: str) -> list[str]:
    """Every model with a file under models/ at COMMIT, sorted."""
    from modelreg.core.names import is_model_name

    top = f"{prefix}{MODELS}/"
    names = set()
    for path in git.tree_blobs(commit, [top]):
        name, sep, _rest = path[len(top) :].partition("/")
        if sep and is_model_name(name):
            names.add(name)
    return sorted(names)


def _entry(
    model: str,
    stage: str,
    state: dict[str, Any],
    read: VersionReader,
    where: str,
    at: str,
) -> dict[str, Any] | None:
    """MODEL's bundle entry for STAGE from its STATE (file WHERE), or None if nothing serves."""
    current = (state.get("stages") or {}).get(stage)
    if not current:
        return None
    canary = current.get("canary")
    return {
        "version": current["version"],
        "digest": current["digest"],
        "since": current["since"],
        "tag": last_tag(state, stage),
        "config": _config(model, stage, current, read, where, at, "serves"),
        "canary": (
            None
            if not canary
            else {
                "version": canary["version"],
                "digest": canary["digest"],
                "weight": canary["weight"],
                "since": canary["since"],
                "config": _config(model, stage, canary, read, where, at, "is the canary of"),
            }
        ),
    }


def _config(
    model: str,
    stage: str,
    entry: dict[str, Any],
    read: VersionReader,
    where: str,
    at: str,
    role: str,
) -> dict[str, Any]:
    """The config ENTRY names, as the digest sees it, once its digest matches ENTRY's."""
    version, recorded = entry["version"], entry["digest"]
    file = f"{MODELS}/{model}/{version}.yaml"
    found = read(model, version)
    if found is None:
        raise Refused(
            f"{model}@{version} {role} {stage}, but {file} is missing{at}: "
            "nothing to serve (run `modelreg check`)",
            file=where,
            rule="missing-version",
        )
    data, actual = found
    if data.get("name") != model or data.get("version") != version:
        raise BadInput(
            f"{file}{at} names {data.get('name')}@{data.get('version')}, not {model}@{version} "
            "(run `modelreg check`)",
            file=where,
        )
    if actual != recorded:
        raise Refused(
            f"{model}@{version} {role} {stage} with digest {recorded}, but {file}{at} has "
            f"digest {actual}: the file changed after "
            "the action, or the state file was edited by hand; refusing to serve it "
            "(run `modelreg verify`)",
            file=where,
            rule="digest-mismatch",
        )
    config: dict[str, Any] = json.loads(canonical_json(data))
    return config


# --- the export command ------------------------------------------------------------------


@dataclass
class ExportResult:
    bundle: dict[str, Any]
    text: str  # the bundle as written
    file: Path | None  # where it was written, or None (stdout)

    @property
    def stage(self) -> str:
        stage: str = self.bundle["stage"]
        return stage

    @property
    def commit(self) -> str:
        commit: str = self.bundle["source"]["commit"]
        return commit

    def versions(self) -> dict[str, str | None]:
        """model -> the stable version it serves on the stage, or None."""
        return {m: (e["version"] if e else None) for m, e in self.bundle["models"].items()}

    def as_json(self) -> dict[str, Any]:
        return {
            "file": None if self.file is None else str(self.file),
            "stage": self.stage,
            "models": self.versions(),
            "commit": self.commit,
        }


def export(
    reg: Registry, stage: str, ref: str | None = None, output: Path | None = None
) -> ExportResult:
    """STAGE's bundle from the COMMITTED registry at REF (default HEAD), never the work
    tree: a bundle names its source commit, so its contents must be that commit's.
    Written atomically to OUTPUT when given."""
    if reg.git is None:
        raise UsageError(
            f"export reads the committed registry, and {reg.root} is in no git repository: "
            "`git init` and commit it (a service can still read the folder with "
            "modelreg.Registry.open(path))",
            rule="no-git",
        )
    source = BundleSource(reg, resolve_commit(reg, ref or "HEAD"), ref or "HEAD")
    bundle = source.build(stage)
    text = bundle_text(bundle)
    if output is not None:
        write_atomic(output, text)
    return ExportResult(bundle, text, output)
