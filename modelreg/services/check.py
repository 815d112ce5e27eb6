"""Service: `check`, the pre-commit entry point. Every problem in the registry's files is a finding.

With no paths it checks every registry file; with paths (pre-commit passes
the staged file names; a folder stands for the registry files below it) it
checks those plus what they depend on and what depends on them: a version's
parent and its eval files, an eval's version, a stage file's versions. The
policy is always checked, since every rule depends on it. Registered version
files (those HEAD has) must be unchanged in the index and the work tree.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from modelreg.core.actions import ARCHIVED, TagName
from modelreg.core.digest import CanonicalizationError, digest, short
from modelreg.core.findings import Report
from modelreg.core.names import model_name_problem, parse_version, version_sort_key
from modelreg.core.pinning import is_pinned, pattern_problem
from modelreg.core.policy import POLICY_FILE, Policy
from modelreg.errors import UsageError
from modelreg.registry import EVALS, MODELS, STAGES, Registry, schema_findings
from modelreg.schemas import dotted, json_schema_problems
from modelreg.vcs import git_blob_id
from modelreg.yamlio import Document, StrictYamlError, loads, read_limited

_VERSION_FILE = re.compile(r"models/([^/]+)/([^/]+)\.yaml\Z")
_EVAL_FILE = re.compile(r"evals/([^/]+)/([^/]+)/([^/]+)\.yaml\Z")
_STAGE_FILE = re.compile(r"stages/([^/]+)\.yaml\Z")


class Checker:
    """One run of `check`: parses each file once and reports into one Report."""

    def __init__(self, reg: Registry) -> None:
        self.reg = reg
        self.report = Report()
        self._parsed: dict[str, Document | None] = {}  # None: unparsable (already reported)
        self._reported: set[str] = set()  # files whose own findings are already in the report
        self._digests: dict[str, str | None] = {}
        self._blob_ids: dict[str, str] = {}  # registry-relative path -> git blob id of its bytes
        self.policy = Policy()
        self.pinned_patterns: list[str] = []  # policy's, those pattern_problem() accepts

    # --- helpers -------------------------------------------------------------

    def add(
        self, rule: str, message: str, rel: str = "", line: int = 0, *, warning: bool = False
    ) -> None:
        self.report.add(rule, message, self.reg.display(rel) if rel else "", line, warning=warning)

    def parse(self, rel: str) -> Document | None:
        """Strictly parse REL once; YAML problems become findings on first parse."""
        if rel in self._parsed:
            return self._parsed[rel]
        parsed: Document | None = None
        try:
            raw = read_limited(self.reg.root / rel)
            self._blob_ids[rel] = git_blob_id(raw)  # the immutability check reuses this read
            parsed = loads(raw)
        except StrictYamlError as e:
            for p in e.problems:
                self.add(
                    "yaml",
                    p.message + (f" (column {p.column})" if p.column > 1 else ""),
                    rel,
                    p.line,
                )
        except OSError as e:
            self.add("unreadable", f"cannot read: {e.strerror}", rel)
        self._parsed[rel] = parsed
        return parsed

    def schema(self, kind: str, rel: str, doc: Document | None) -> bool:
        """Schema findings for a parsed file; True when it is schema-valid."""
        if doc is None:
            return False
        problems = schema_findings(doc, kind)
        for p in problems:
            self.add("schema", p.message, rel, p.line)
        return not problems

    def version_digest(self, model: str, version: str) -> str | None:
        """Digest of a version file, or None when it is missing or unparsable."""
        rel = f"{MODELS}/{model}/{version}.yaml"
        if rel not in self._digests:
            self._digests[rel] = None
            doc = self.parse(rel) if (self.reg.root / rel).is_file() else None
            if doc is not None and isinstance(doc.data, dict):
                try:
                    self._digests[rel] = digest(doc.data)
                except CanonicalizationError as e:
                    self.add("digest", f"no digest: {e}", rel, 1)
        return self._digests[rel]

    # --- the whole run --------------------------------------------------------

    def run(self, paths: Sequence[Path] | None) -> Report:
        self.check_policy()
        targets = self.reg.files() if paths is None else self.expand(self.registry_paths(paths))
        for rel in targets:
            self.check_file(rel)
        self.check_case_collisions()
        self.check_immutable(None if paths is None else set(targets))
        self.report.checked = len(self._reported)
        return self.report

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
            if m := _VERSION_FILE.match(rel):
                model, version = m[1], m[2]
                doc = self.parse(rel)
                parent = doc.data.get("parent") if doc and isinstance(doc.data, dict) else None
                if isinstance(parent, str) and parse_version(parent):
                    out.append(f"{MODELS}/{model}/{parent}.yaml")
                out += [
                    f"{EVALS}/{model}/{version}/{p.name}"
                    for p in self.reg.eval_paths(model, version)
                ]
            elif m := _EVAL_FILE.match(rel):
                out.append(f"{MODELS}/{m[1]}/{m[2]}.yaml")
            elif m := _STAGE_FILE.match(rel):
                doc = self.parse(rel)
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
        if (self.reg.root / rel).is_symlink():
            self.add("symlink", "symbolic links are not allowed in a registry", rel)
            return
        if rel in (POLICY_FILE, self.policy.allowed_signers, self.policy.revocation_file):
            return  # checked with the policy
        m = _VERSION_FILE.match(rel)
        if m:
            return self.check_version(rel, m[1], m[2])
        m = _EVAL_FILE.match(rel)
        if m:
            return self.check_eval(rel, m[1], m[2], m[3])
        m = _STAGE_FILE.match(rel)
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
        doc = self.parse(rel)
        if not self.schema("registry", rel, doc):
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
        from modelreg.signing import entry_problem, parse_allowed_signers

        try:
            text = read_limited(self.reg.root / rel).decode("utf-8")
        except StrictYamlError as e:  # not a regular file, or over the size cap
            self.add("signers", e.problems[0].message, rel, 1)
            return
        except UnicodeDecodeError:
            self.add("signers", "allowed-signers file is not UTF-8", rel, 1)
            return
        entries, problems = parse_allowed_signers(text)
        problems += [(e.line, p) for e in entries if (p := entry_problem(e))]
        for line, message in sorted(problems):
            self.add("signers", message, rel, line)

    # --- version files --------------------------------------------------------

    def check_version(self, rel: str, model: str, stem: str) -> None:
        problem = model_name_problem(model)
        if problem:
            self.add("naming", problem, rel)
        if parse_version(stem) is None:
            self.add("naming", f"file name {stem}.yaml is not MAJOR.MINOR.PATCH.yaml", rel)
        doc = self.parse(rel)
        if not self.schema("model-version", rel, doc):
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
        self.check_tools(rel, doc)
        model_id = data["model"]["id"]
        if not is_pinned(model_id, self.pinned_patterns):
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

    def check_parent(self, rel: str, doc: Document, model: str, stem: str) -> None:
        data = doc.data
        own = parse_version(stem)
        parent = data.get("parent")
        if parent is None:
            lower = [v for v in self.reg.versions(model) if own and version_sort_key(v) < own]
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
        if not (self.reg.root / parent_rel).is_file():
            self.add("parent", f"parent {model}@{parent} does not exist ({parent_rel})", rel, line)
        elif self.parse(parent_rel) is None:
            self.add("parent", f"parent {model}@{parent} cannot be parsed", rel, line)

    def check_tools(self, rel: str, doc: Document) -> None:
        seen: dict[str, int] = {}
        for i, tool in enumerate(doc.data.get("tools") or ()):
            name = tool["name"]
            if name in seen:
                self.add(
                    "tools",
                    f"tools[{i}]: duplicate tool name {name!r} (also tools[{seen[name]}])",
                    rel,
                    doc.line_of(("tools", i, "name")),
                )
            seen.setdefault(name, i)
            for p in json_schema_problems(tool["input_schema"]):
                path = ("tools", i, "input_schema", *p.path)
                self.add(
                    "tools",
                    f"{dotted(path)}: not a valid JSON Schema: {p.message}",
                    rel,
                    doc.line_of(path),
                )

    # --- eval files ------------------------------------------------------------

    def check_eval(self, rel: str, model: str, version: str, suite: str) -> None:
        doc = self.parse(rel)
        if not self.schema("eval", rel, doc):
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
            if not (self.reg.root / version_rel).is_file():
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
        doc = self.parse(rel)
        if not self.schema("stages", rel, doc):
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
            if previous is not None and not self.reg.version_path(model, previous).is_file():
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
            if not (self.reg.version_path(model, version)).is_file():
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

    def check_immutable(self, only: set[str] | None) -> None:
        """A version file HEAD has is registered: its bytes never change again.

        The index (what a commit takes) is compared for every registered file;
        the work tree for all of them, or with ONLY (paths mode: the hook) for
        those files alone, as reading every version on each commit would be slow.
        """
        git = self.reg.git
        if git is None or not git.has_head():
            return
        scope = [f"{self.reg.git_prefix}{MODELS}/"]
        registered = git.tree_blobs("HEAD", scope)
        # The index is what a commit takes: git's own comparison of it is exact.
        problems = {
            path: ("deleted" if status == "D" else "changed", "in the index")
            for status, path in git.staged_changes("HEAD", scope)
            if path in registered and status != "A"
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


def _inside(value: str) -> bool:
    p = PurePosixPath(value)
    return bool(value) and not p.is_absolute() and ".." not in p.parts and "\\" not in value


def run_check(reg: Registry, paths: Sequence[Path] | None = None) -> Report:
    """Check the registry's files (all of them when PATHS is None)."""
    return Checker(reg).run(paths)
