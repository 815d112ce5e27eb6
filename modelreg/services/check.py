"""Service: `check`, the pre-commit entry point. Every problem in the registry's files is a finding.

With no paths it checks every registry file; with paths (pre-commit passes
the staged file names; a folder stands for the registry files below it) it
checks those plus what they depend on and what depends on them: a version's
parent and its eval files, an eval's version, a stage file's versions. The
policy is always checked, since every rule depends on it. Registered version
files (those HEAD has) must be unchanged in the index and the work tree.

What a file says about itself comes from check_cache (worked out once per
blob, and kept in the git dir by `check --all`); the rules between files run
here, from those facts. When nothing they read has changed since the last
`check --all` (every folder and file as recorded, HEAD and the index the same,
and no question asked outside the listing) that run's findings are the answer.
"""

from __future__ import annotations

import gc
import hashlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any, Generic, TypeVar

from modelreg.core.digest import short
from modelreg.core.findings import Report
from modelreg.core.names import model_name_problem, parse_version, version_sort_key
from modelreg.core.pinning import is_pinned, pattern_problem
from modelreg.core.policy import POLICY_FILE, Policy
from modelreg.errors import UsageError
from modelreg.registry import EVALS, MODELS, STAGES, Registry
from modelreg.services.check_cache import (
    CACHE_FILE,
    EVAL,
    EVAL_FILE,
    POLICY,
    SIGNERS,
    STAGE,
    STAGE_FILE,
    VERSION,
    VERSION_FILE,
    Facts,
    Files,
)
from modelreg.vcs import git_blob_id
from modelreg.yamlio import StrictYamlError, read_limited

T = TypeVar("T")


class Checker:
    """One run of `check`: parses each file once and reports into one Report."""

    def __init__(self, reg: Registry, files: Files | None = None) -> None:
        self.reg = reg
        self.files = files or Files(reg.root)
        self.report = Report()
        # (path, kind) -> facts; None: unparsable (already reported)
        self._parsed: dict[tuple[str, str], Facts | None] = {}
        self._reported: set[str] = set()  # files whose own findings are already in the report
        self._digests: dict[str, str | None] = {}
        self._blob_ids: dict[str, str] = {}  # registry-relative path -> git blob id of its bytes
        self._pinned: dict[str, bool] = {}  # model id -> is_pinned, for this policy
        self._recording: list[list[Any]] | None = None  # findings kept for the next run
        self.policy = Policy()
        self.pinned_patterns: list[str] = []  # policy's, those pattern_problem() accepts

    # --- helpers -------------------------------------------------------------

    def add(
        self, rule: str, message: str, rel: str = "", line: int = 0, *, warning: bool = False
    ) -> None:
        if self._recording is not None:
            self._recording.append([rule, message, rel, line, warning])
        self.report.add(rule, message, self.reg.display(rel) if rel else "", line, warning=warning)

    def parse(self, rel: str, kind: str) -> Facts | None:
        """Strictly parse REL as KIND once; YAML problems become findings on first parse."""
        key = (rel, kind)
        if key in self._parsed:
            return self._parsed[key]
        blob, facts, unreadable = self.files.outcome(rel, kind)
        if blob is not None:
            self._blob_ids[rel] = blob  # the immutability check reuses this read
        if unreadable is not None:
            self.add("unreadable", unreadable, rel)
        elif facts is not None and facts.yaml:
            for line, column, message in facts.yaml:
                self.add("yaml", message + (f" (column {column})" if column > 1 else ""), rel, line)
            facts = None
        self._parsed[key] = facts
        return facts

    def schema(self, rel: str, facts: Facts | None) -> bool:
        """Schema findings for a parsed file; True when it is schema-valid."""
        if facts is None:
            return False
        problems = facts.schema
        for line, message in problems:
            self.add("schema", message, rel, line)
        return not problems

    def version_digest(self, model: str, version: str) -> str | None:
        """Digest of a version file, or None when it is missing or unparsable."""
        rel = f"{MODELS}/{model}/{version}.yaml"
        if rel not in self._digests:
            self._digests[rel] = None
            facts = self.parse(rel, VERSION) if self.files.is_file(rel) else None
            if facts is not None:  # a digest (or the reason for none) when it is a mapping
                if facts.digest_error is not None:
                    self.add("digest", f"no digest: {facts.digest_error}", rel, 1)
                self._digests[rel] = facts.digest
        return self._digests[rel]

    def versions(self, model: str) -> list[str]:
        """As Registry.versions, from this run's listing when there is one."""
        stems = self.files.version_stems(model)
        if stems is None:
            return self.reg.versions(model)
        return sorted((v for v in stems if parse_version(v)), key=version_sort_key)

    def pinned(self, model_id: str) -> bool:
        if model_id not in self._pinned:
            self._pinned[model_id] = is_pinned(model_id, self.pinned_patterns)
        return self._pinned[model_id]

    # --- the whole run --------------------------------------------------------

    def run(self, paths: Sequence[Path] | None) -> Report:
        # git finds HEAD while the files are listed
        self._head = _Background(self.head_commit)
        self.check_policy()
        if paths is not None:
            targets = self.expand(self.registry_paths(paths))
            self.check_files(targets, set(targets))
        else:
            # HEAD's thread is joined before a pool forks
            targets = self.files.listing(before_fork=self._head.result)
            head = self._head.result()
            # what check_file will parse, learnt at once (from the cache, or on a pool)
            self.files.prefetch()
            index = self.files.cache_file.parent / "index" if self.files.cache_file else None
            # what the HEAD and index rules read: the commit, and the index file as stat sees it
            git_state = None if head is None or index is None else [head, self.files.sig_of(index)]
            memo = self.files.memo
            if (
                self.files.unchanged
                and isinstance(memo, dict)
                and memo.get("git") == git_state
                and isinstance(memo.get("findings"), list)
            ):  # as the last run found: nothing it read has changed
                self._reported.update(targets)
                for rule, message, rel, line, warning in memo["findings"]:
                    self.add(rule, message, rel, line, warning=warning)
            else:
                outside = self.files.outside
                recorded: list[list[Any]] = []
                self._recording = recorded
                self.check_files(targets, None)
                self._recording = None
                # answers from outside the listing are not in the cache: then no memo
                pure = self.files.outside == outside
                self.files.memo = {"git": git_state, "findings": recorded} if pure else None
        self.report.checked = len(self._reported)
        self.files.save()
        return self.report

    def check_files(self, targets: list[str], only: set[str] | None) -> None:
        """Every rule on TARGETS (ONLY: the files whose work tree HEAD is compared with)."""
        for rel in targets:
            self.check_file(rel)
        self.check_case_collisions()
        self.check_immutable(only)

    def registry_paths(self, paths: Sequence[Path]) -> list[str]:
        """Registry-relative posix paths of the given files (folders: the files below them).

        A path that does not exist is a usage error; one outside the registry is
        skipped, so a broad pre-commit `files:` pattern does no harm.
        """
        out: list[str] = []
        files: list[str] | None = None  # the registry's files, listed once if a folder is given
        for p in paths:
            # `..` collapsed and folders resolved, the last part kept: a symlinked
            # file is named as it is, so check can refuse it
            full = Path(os.path.normpath(os.path.abspath(p)))
            if not full.exists() and not full.is_symlink():
                raise UsageError(f"{p}: no such file or folder")
            if full.is_dir() and not full.is_symlink():
                full = full.resolve()
            else:
                full = full.parent.resolve() / full.name
            try:
                rel = full.relative_to(self.reg.root).as_posix()
            except ValueError:
                continue
            if full.is_dir() and not full.is_symlink():
                prefix = "" if rel == "." else rel + "/"
                files = self.reg.files() if files is None else files
                out += [f for f in files if f.startswith(prefix)]
            elif not any(part.startswith(".") for part in rel.split("/")[1:]):
                out.append(rel)
        return out

    def expand(self, rels: list[str]) -> list[str]:
        """RELS plus what they depend on and what depends on them (see the module doc)."""
        out = list(rels)
        for rel in rels:
            if m := VERSION_FILE.match(rel):
                model, version = m[1], m[2]
                doc = self.parse(rel, VERSION)
                parent = doc.data.get("parent") if doc and isinstance(doc.data, dict) else None
                if isinstance(parent, str) and parse_version(parent):
                    out.append(f"{MODELS}/{model}/{parent}.yaml")
                out += [
                    f"{EVALS}/{model}/{version}/{p.name}"
                    for p in self.reg.eval_paths(model, version)
                ]
            elif m := EVAL_FILE.match(rel):
                out.append(f"{MODELS}/{m[1]}/{m[2]}.yaml")
            elif m := STAGE_FILE.match(rel):
                doc = self.parse(rel, STAGE)
                stages = doc.data.get("stages") if doc and isinstance(doc.data, dict) else None
                for entry in (stages or {}).values() if isinstance(stages, dict) else ():
                    for item in (
                        (entry, (entry or {}).get("canary")) if isinstance(entry, dict) else ()
                    ):
                        if isinstance(item, dict) and parse_version(item.get("version")):
                            out.append(f"{MODELS}/{m[1]}/{item['version']}.yaml")
        return [rel for rel in dict.fromkeys(out) if (self.reg.root / rel).exists()]

    def check_file(self, rel: str) -> None:
        if rel in self._reported:
            return
        self._reported.add(rel)
        if self.files.is_symlink(rel):
            self.add("symlink", "symbolic links are not allowed in a registry", rel)
            return
        if rel in (POLICY_FILE, self.policy.allowed_signers, self.policy.revocation_file):
            return  # checked with the policy
        m = VERSION_FILE.match(rel)
        if m:
            return self.check_version(rel, m[1], m[2])
        m = EVAL_FILE.match(rel)
        if m:
            return self.check_eval(rel, m[1], m[2], m[3])
        m = STAGE_FILE.match(rel)
        if m:
            return self.check_stages(rel, m[1])
        if rel.split("/", 1)[0] in (MODELS, EVALS, STAGES):
            self.add(
                "layout",
                "unexpected file: registry files are models/<model>/<version>.yaml, "
                "evals/<model>/<version>/<suite>.yaml and stages/<model>.yaml",
                rel,
            )

    # --- policy and signers ----------------------------------------------------

    def check_policy(self) -> None:
        rel = POLICY_FILE
        self._reported.add(rel)
        doc = self.parse(rel, POLICY)
        if not self.schema(rel, doc):
            return
        assert doc is not None
        self.policy = policy = Policy.from_data(doc.data)
        stages = set(policy.stages)
        for stage, rule in policy.stage_rules.items():
            line = doc.line_of(("stage_rules", stage))
            if stage not in stages:
                self.add("policy", f"stage_rules.{stage}: no such stage in stages", rel, line)
            for src in rule.from_stages or ():
                if src not in stages:
                    self.add(
                        "policy", f"stage_rules.{stage}.from: no such stage {src!r}", rel, line
                    )
            for name in rule.signers:
                if "@" not in name and name not in policy.groups:
                    self.add(
                        "policy",
                        f"stage_rules.{stage}.signers: {name!r} is neither a group nor a principal",
                        rel,
                        line,
                    )
        for i, pattern in enumerate(policy.pinned_patterns):
            problem = pattern_problem(pattern)
            if problem is None:
                self.pinned_patterns.append(pattern)
            else:
                self.add(
                    "policy",
                    f"pinned_patterns[{i}]: {problem}",
                    rel,
                    doc.line_of(("pinned_patterns", i)),
                )
        written = doc.data.get("signing") or {}
        for key, value in (
            ("allowed_signers", policy.allowed_signers),
            ("revocation_file", policy.revocation_file),
            ("openpgp_keys", policy.openpgp_keys),
        ):
            if value is None:
                continue
            as_written = written.get(key, value)  # `a/../../x` is judged as written
            if not _inside(as_written):
                self.add(
                    "path-escape",
                    f"signing.{key}: {as_written!r} must be a relative path inside the registry",
                    rel,
                    doc.line_of(("signing", key)),
                )
                continue
            path = self.reg.root / value
            self._reported.add(value)
            if path.is_symlink() or (
                path.exists() and not path.resolve().is_relative_to(self.reg.root)
            ):
                self.add(
                    "path-escape",
                    f"signing.{key}: {value} is a symbolic link; signer files must be regular files in the registry",
                    rel,
                    doc.line_of(("signing", key)),
                )
                continue
            if path.exists() and not path.is_file():
                self.add(
                    "signers",
                    f"signing.{key}: {value} is not a file",
                    rel,
                    doc.line_of(("signing", key)),
                )
                continue
            if not path.is_file():
                if key == "revocation_file" or policy.signing_required:
                    self.add(
                        "signers",
                        f"signing.{key}: {value} does not exist",
                        rel,
                        doc.line_of(("signing", key)),
                    )
            elif key == "allowed_signers":
                self.check_allowed_signers(value)

    def check_allowed_signers(self, rel: str) -> None:
        _blob, facts, _ = self.files.outcome(rel, SIGNERS)  # an OSError is raised as it is
        assert facts is not None
        if facts.yaml:  # not a regular file, or over the size cap
            self.add("signers", facts.yaml[0][2], rel, 1)
            return
        for line, message in facts.signers:
            self.add("signers", message, rel, line)

    # --- version files --------------------------------------------------------

    def check_version(self, rel: str, model: str, stem: str) -> None:
        problem = model_name_problem(model)
        if problem:
            self.add("naming", problem, rel)
        if parse_version(stem) is None:
            self.add("naming", f"file name {stem}.yaml is not MAJOR.MINOR.PATCH.yaml", rel)
        doc = self.parse(rel, VERSION)
        if not self.schema(rel, doc):
            return
        assert doc is not None
        data = doc.data
        if data["name"] != model:
            self.add(
                "path-mismatch",
                f"name {data['name']!r} does not match its folder models/{model}/",
                rel,
                doc.line_of(("name",)),
            )
        if data["version"] != stem:
            self.add(
                "path-mismatch",
                f"version {data['version']!r} does not match its file name {stem}.yaml",
                rel,
                doc.line_of(("version",)),
            )
        name_problem = model_name_problem(data["name"])
        if name_problem:
            self.add("naming", name_problem, rel, doc.line_of(("name",)))
        self.check_parent(rel, doc, model, stem)
        for line, message in doc.tools:
            self.add("tools", message, rel, line)
        model_id = data["model"]["id"]
        if not self.pinned(model_id):
            required = [s for s, r in self.policy.stage_rules.items() if r.require_pinned_model]
            note = f"; stages {', '.join(required)} require a pinned model" if required else ""
            self.add(
                "floating-model",
                f"model.id {model_id!r} is a floating alias, not a pinned snapshot "
                f"(add a date like -20250929 or a digest){note}",
                rel,
                doc.line_of(("model", "id")),
                warning=self.policy.floating_model != "error",
            )

    def check_parent(self, rel: str, doc: Facts, model: str, stem: str) -> None:
        data = doc.data
        own = parse_version(stem)
        parent = data.get("parent")
        if parent is None:
            lower = [v for v in self.versions(model) if own and version_sort_key(v) < own]
            if lower:
                self.add(
                    "parent",
                    f"parent is required: {model} already has {lower[-1]} (only a model's first version has none)",
                    rel,
                    doc.line_of(()),
                )
            return
        line = doc.line_of(("parent",))
        parent_v = parse_version(parent)
        if own and parent_v and parent_v >= own:
            self.add("parent", f"parent {parent} is not lower than {stem}", rel, line)
        parent_rel = f"{MODELS}/{model}/{parent}.yaml"
        if not self.files.is_file(parent_rel):
            self.add("parent", f"parent {model}@{parent} does not exist ({parent_rel})", rel, line)
        elif self.parse(parent_rel, VERSION) is None:
            self.add("parent", f"parent {model}@{parent} cannot be parsed", rel, line)

    # --- eval files ------------------------------------------------------------

    def check_eval(self, rel: str, model: str, version: str, suite: str) -> None:
        doc = self.parse(rel, EVAL)
        if not self.schema(rel, doc):
            return
        assert doc is not None
        data = doc.data
        for key, expected in (("model", model), ("version", version), ("suite", suite)):
            if data[key] != expected:
                self.add(
                    "path-mismatch",
                    f"{key} {data[key]!r} does not match its path ({rel})",
                    rel,
                    doc.line_of((key,)),
                )
        version_rel = f"{MODELS}/{model}/{version}.yaml"
        actual = self.version_digest(model, version)
        if actual is None:
            if not self.files.is_file(version_rel):
                self.add(
                    "eval-orphan",
                    f"no version file {version_rel} for this eval",
                    rel,
                    doc.line_of(()),
                )
            return
        if data["config_digest"] != actual:
            self.add(
                "eval-digest",
                f"config_digest {short(data['config_digest'])} is not the digest of {model}@{version} "
                f"({short(actual)}): this eval is about another config",
                rel,
                doc.line_of(("config_digest",)),
            )

    # --- stage state files -------------------------------------------------------

    def check_stages(self, rel: str, model: str) -> None:
        from modelreg.core.actions import ARCHIVED, TagName  # 9 ms: only for stage files

        doc = self.parse(rel, STAGE)
        if not self.schema(rel, doc):
            return
        assert doc is not None
        data = doc.data
        if data["model"] != model:
            self.add(
                "path-mismatch",
                f"model {data['model']!r} does not match its file name",
                rel,
                doc.line_of(("model",)),
            )
        archived = set(data.get("archived") or ())
        for stage, entry in (data.get("stages") or {}).items():
            line = doc.line_of(("stages", stage))
            if stage not in self.policy.stages:
                self.add("stage-state", f"stage {stage!r} is not in policy's stages", rel, line)
            if entry is None:
                continue
            canary = entry.get("canary")
            if canary and canary["version"] == entry["version"]:
                self.add(
                    "stage-state",
                    f"{stage} canary {canary['version']} is the version it serves",
                    rel,
                    line,
                )
            previous = entry.get("previous")
            if previous is not None and not self.files.is_file(f"{MODELS}/{model}/{previous}.yaml"):
                self.add(
                    "stage-state",
                    f"{stage} previous {model}@{previous} is not registered",
                    rel,
                    line,
                )
            in_use = {entry["version"], previous, canary["version"] if canary else None}
            for version in sorted(v for v in archived & in_use if v is not None):
                self.add(
                    "stage-state",
                    f"archived {model}@{version} still serves {stage} (or is its previous or canary)",
                    rel,
                    line,
                )
            for label, item in (("version", entry), ("canary", canary)):
                if not item:
                    continue
                actual = self.version_digest(model, item["version"])
                if actual is None:
                    self.add(
                        "stage-state",
                        f"{stage} {label} {model}@{item['version']} is not registered",
                        rel,
                        line,
                    )
                elif item["digest"] != actual:
                    self.add(
                        "stage-state",
                        f"{stage} {label} digest does not match {model}@{item['version']}",
                        rel,
                        line,
                    )
        for key, name in (data.get("tags") or {}).items():
            tag = TagName.parse(name, self.policy.tag_prefix)
            if tag is None or (tag.model, tag.stage) != (model, key):
                self.add(
                    "stage-state",
                    f"tags.{key}: {name!r} is not an action tag of {model} {key} "
                    f"({self.policy.tag_prefix}/{model}/{key}/<seq>)",
                    rel,
                    doc.line_of(("tags", key)),
                )
            elif key != ARCHIVED and key not in self.policy.stages:
                self.add(
                    "stage-state",
                    f"tags.{key}: no such stage in policy",
                    rel,
                    doc.line_of(("tags", key)),
                )
        for i, version in enumerate(data.get("archived") or ()):
            if not self.files.is_file(f"{MODELS}/{model}/{version}.yaml"):
                self.add(
                    "stage-state",
                    f"archived version {model}@{version} does not exist",
                    rel,
                    doc.line_of(("archived", i)),
                )

    # --- whole-registry rules ------------------------------------------------------

    def check_case_collisions(self) -> None:
        folder = self.reg.root / MODELS
        if not folder.is_dir():
            return
        seen: dict[str, str] = {}
        for p in sorted(folder.iterdir()):
            other = seen.setdefault(p.name.lower(), p.name)
            if other != p.name:
                self.add(
                    "naming",
                    f"model folder {p.name!r} differs from {other!r} only in case (they collide on macOS and Windows)",
                    f"{MODELS}/{p.name}",
                )

    def head_commit(self) -> str | None:
        """HEAD's commit id, or None (no git, or no commit yet)."""
        return None if self.reg.git is None else self.reg.git.rev("HEAD^{commit}")

    def check_immutable(self, only: set[str] | None) -> None:
        """A version file HEAD has is registered: its bytes never change again.

        The index (what a commit takes) is compared for every registered file;
        the work tree for all of them, or with ONLY (paths mode: the hook) for
        those files alone, as reading every version on each commit would be slow.
        """
        git, head = self.reg.git, self._head.result()
        if git is None or head is None:
            return
        scope = [f"{self.reg.git_prefix}{MODELS}/"]
        staged = [
            (status, path) for status, path in git.staged_changes(head, scope) if status != "A"
        ]
        wanted = None
        if only is not None:  # HEAD's blobs of these paths alone: listing 10,000 costs ~40 ms
            asked = (self.reg.git_prefix + rel for rel in only)
            wanted = {path for _, path in staged} | {p for p in asked if p.startswith(scope[0])}
        if wanted is not None and len(wanted) <= 1000:  # within a command line's length
            exact = [f":(top,literal){path}" for path in sorted(wanted)]
            registered = git.tree_blobs(head, exact) if exact else {}
        else:
            registered = git.tree_blobs(head, scope)
        # The index is what a commit takes: git's own comparison of it is exact.
        problems = {
            path: ("deleted" if status == "D" else "changed", "in the index")
            for status, path in staged
            if path in registered
        }
        # The work tree is compared byte for byte with HEAD's blob, not through
        # `git diff`, which skip-worktree, assume-unchanged and clean/smudge or
        # ident filters can blind: a digest is computed from these bytes.
        for path, blob in registered.items():
            rel = path.removeprefix(self.reg.git_prefix)
            if path in problems or (only is not None and rel not in only):
                continue
            found = self._blob_ids.get(rel)
            if found is None:  # not parsed in this run
                self.files.outside += 1
                try:
                    found = git_blob_id(read_limited(self.reg.root / rel))
                except FileNotFoundError:
                    problems[path] = ("deleted", "in the work tree")
                    continue
                except (OSError, StrictYamlError):
                    found = ""  # unreadable here: not the registered bytes
            if found != blob:
                problems[path] = ("changed", "in the work tree")
        for path, (what, where) in sorted(problems.items()):
            rel = path.removeprefix(self.reg.git_prefix)
            self.add(
                "immutable",
                f"registered version file {what} {where}: versions are immutable once committed; "
                f"restore it (`git checkout HEAD -- {self.reg.display(rel)}`; a git filter or "
                "`ident` attribute on it must go) and make a new version with `modelreg new`",
                rel,
            )


class _Background(Generic[T]):
    """A function run on a thread (git waits on its own process there); result() joins it."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn = fn
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as e:  # raised again by result(), in the caller's thread
            self._error = e
        finally:
            # a bound method would keep its object (the checker, and all it read) in a
            # cycle that only a collection frees: ~0.2 s on 30,000 files
            del self._fn

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Collection paused: a run makes ~100,000 objects that live to its end and form no
    cycles, and collecting as they pile up cost a third of an unchanged run."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _inside(value: str) -> bool:
    p = PurePosixPath(value)
    return bool(value) and not p.is_absolute() and ".." not in p.parts and "\\" not in value


def cache_file(reg: Registry) -> Path | None:
    """Where `check --all` keeps what it learnt: in the git dir, one file per registry folder."""
    if reg.git is None:
        return None
    prefix = reg.git_prefix
    name = CACHE_FILE
    if prefix:
        name = name.replace(".cache", f"-{hashlib.sha256(prefix.encode()).hexdigest()[:12]}.cache")
    return reg.git.git_dir() / name


def run_check(reg: Registry, paths: Sequence[Path] | None = None) -> Report:
    """Check the registry's files (all of them when PATHS is None).

    Checking them all uses (and refreshes) the cache of what each file says
    about itself; paths mode (the pre-commit hook) reads the few files it needs.
    """
    # Registry.git and git_prefix are cached properties: filled here, before a thread reads them
    files = Files(reg.root, cache_file(reg) if paths is None else None)
    _ = reg.git_prefix
    with _gc_paused():
        return Checker(reg, files).run(paths)
