"""Service: `export` and the one place that turns a registry into a serving bundle.

A bundle is what one stage serves, every model listed (`null`: serves nothing
there), with each config as the digest sees it, the canary, the last action tag
and the source commit. `modelreg export` writes it; `modelreg.runtime.Registry`
holds the same structure in memory (`Registry.open` builds it here, on first use
of each stage).

Building is strict, and fails closed. For each model serving on the stage:
- the stage's entry must be what the newest action on that stage in the source's
  history committed: the tag the state file names for the stage is the highest
  seq of that model and stage among the tags merged into the source commit (an
  older state restored by a revert, or an action squashed in from a branch, is
  refused), and the entry at that tag's commit equals the entry served;
- that tag must be signed by a principal policy lets sign for the stage,
  verified as `log` verifies, against the signers at the source commit (HEAD for
  a work tree); and those signers are relied on only if every commit that
  changed the policy or a signer file was signed by a last-stage signer under
  its parent's signers (as `verify` rule 5; the first signers taken as given);
- each version the entry names is read and its digest must equal the one the
  entry records (a version file changed afterwards, or a broken checkout).
A shallow clone cannot be checked (exit 3). Outside git there is no history to
check against: a plain folder is served as it is (services should prefer a
checkout or a bundle exported from a verified commit). These checks are a last
line of defense, not a substitute for `modelreg verify` in CI.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelreg.core.actions import TagName
from modelreg.core.digest import canonical_json
from modelreg.core.lifecycle import last_tag
from modelreg.core.policy import POLICY_FILE, signers_for
from modelreg.errors import BadInput, EnvironmentFailure, NotFound, Refused, UsageError
from modelreg.registry import MODELS, STAGES, Registry
from modelreg.revision import Snapshot, Tag, TagIndex, trust_root
from modelreg.services.history import commit_signature, verified_signatures, vouch
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
                        sealer.require(model, stage, state["stages"][stage], state, where)
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
                        sealer.require(model, stage, state["stages"][stage], state, where)
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
    """Serves a stage's entry only if the newest action on that stage in REV's history put
    it there, under a trust root whose every change was signed (module docstring)."""

    def __init__(self, git: Git, snap: Snapshot) -> None:
        if git.is_shallow():
            raise EnvironmentFailure(
                "this is a shallow clone: what serves can only be checked against the action "
                "history (`git fetch --unshallow`, or serve a bundle exported from a full clone)",
                rule="shallow",
            )
        self.git, self.snap = git, snap
        self.policy = snap.policy
        prefix = self.policy.tag_prefix
        self.tags = TagIndex(git, prefix, snap.reader)
        # The newest action tag of each (model, stage) in REV's history: one for-each-ref.
        self.newest: dict[tuple[str, str], tuple[int, str]] = {}
        out = git.out(
            "for-each-ref", f"--merged={snap.rev}", "--format=%(refname)", f"refs/tags/{prefix}/"
        )
        for ref in out.split("\n"):
            name = TagName.parse(ref.removeprefix("refs/tags/"), prefix)
            if name is None:
                continue
            key = (name.model, name.stage)
            if key not in self.newest or name.seq > self.newest[key][0]:
                self.newest[key] = (name.seq, str(name))
        self.pending: list[tuple[str, Tag]] = []  # (where, the action tag to verify)

    @classmethod
    @contextmanager
    def at_head(cls, reg: Registry, prefix: str) -> Iterator[_Sealer | None]:
        """A sealer judged by HEAD for REG's work tree; None outside git."""
        if reg.git is None or reg.git.toplevel is None:
            yield None
            return
        git = Git(reg.git.toplevel)
        head = git.rev("HEAD^{commit}")
        with git.objects() as reader:
            yield cls(git, Snapshot(git, head, prefix, reader)) if head else _Unsealed()

    def require(
        self, model: str, stage: str, entry: dict[str, Any], state: dict[str, Any], where: str
    ) -> None:
        """ENTRY (STAGE's entry in MODEL's state file at WHERE) must be what the newest action
        on STAGE in the history committed; its signature is checked by `verify`."""
        name = (state.get("tags") or {}).get(stage)
        newest = self.newest.get((model, stage), (0, None))[1]
        tag = self.tags.by_name.get(name) if isinstance(name, str) else None
        record = tag.record if tag is not None else None
        problem = None
        if newest is None:
            problem = f"no action on {stage} in the history put it there"
        elif name != newest:
            problem = (
                f"it names {name or 'no tag'} for {stage}, but the newest action there is "
                f"{newest} (an older state restored, or an action not on this branch?)"
            )
        elif tag is None or record is None or tag.target_type != "commit":
            problem = f"{name} is not an action tag on a commit"
        elif record.model != model or record.stage != stage:
            problem = f"{name} records an action on {record.model} {record.stage}"
        else:
            then = Snapshot(self.git, tag.target, self.snap.prefix, self.snap.reader).state(model)
            if ((then.get("stages") or {}).get(stage)) != entry:
                problem = f"its {stage} entry is not what {name} committed"
        if problem:
            raise _unsealed(where, problem)
        assert tag is not None
        self.pending.append((where, tag))

    def verify(self) -> None:
        """Check the signatures of every tag noted (one batch) and the trust chain."""
        problem = self.trust_chain_problem()
        if problem and self.pending:
            raise _unsealed(self.pending[0][0], problem)
        signed = self.policy.signing_required
        every = [t for _where, t in self.pending]
        sigs = verified_signatures(self.git, self.snap, every) if signed and every else {}
        for where, tag in self.pending:
            if not signed and tag.header_name == tag.name:
                continue  # policy asks for no signatures: the tag still names the action
            ok, note = vouch(self.policy, tag, sigs.get(tag.oid))
            if not ok:
                raise _unsealed(where, f"{tag.name} does not vouch for it: {note}")

    def trust_chain_problem(self) -> str | None:
        """Why the trust root at REV cannot be relied on, or None: every commit in its history
        that changed the policy or a signer file must be signed by a last-stage signer under
        its parent's trust root (as `verify` rule 5), the first signers taken as given."""
        policy = self.policy
        files = [POLICY_FILE, policy.allowed_signers, policy.revocation_file, policy.openpgp_keys]
        paths = sorted({self.snap.path(f) for f in files if f})
        rows = self.git.path_log(self.snap.rev, paths, "%H %P", "--reverse", "--topo-order")
        for row in rows:
            commit, *parents = row.split()
            if not parents:
                continue  # the first commit: taken as given
            before = Snapshot(self.git, parents[0], self.snap.prefix, self.snap.reader)
            try:
                root, rule = trust_root(before), before.policy
            except BadInput:
                continue  # no usable policy before: nothing was trusted yet
            if root.empty and root.problem is None:
                continue  # no signer trusted yet: trust on first use
            found = self.snap.reader.read(commit)
            content = found[2].decode("utf-8", "replace") if found else ""
            sig = commit_signature(self.git, root, commit, content)
            allowed = signers_for(rule, rule.stages[-1])
            if not sig.ok:
                return f"the signer files changed in commit {commit[:12]}, whose signature does not verify ({sig.message})"
            if allowed is not None and sig.principal not in allowed:
                return f"the signer files changed in commit {commit[:12]}, signed by {sig.principal}, who may not sign for {rule.stages[-1]}"
        return None


def _unsealed(where: str, problem: str) -> Refused:
    return Refused(
        f"not what a signed action committed: {problem}; refusing to serve it "
        "(run `modelreg verify`)",
        file=where,
        rule="unsealed-state",
    )


class _Unsealed(_Sealer):
    """A repository with no commit yet: nothing is sealed, so nothing that serves passes."""

    def __init__(self) -> None:
        pass

    def verify(self) -> None:
        pass

    def require(
        self, model: str, stage: str, entry: dict[str, Any], state: dict[str, Any], where: str
    ) -> None:
        raise _unsealed(where, "the repository has no commit, so no action made it")


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
