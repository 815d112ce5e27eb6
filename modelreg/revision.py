"""Registry at a revision: the files of one commit (`Snapshot`) and the action tags (`TagIndex`).

Actions read HEAD's tree, never the work tree: a version is registered once it
is committed. `verify` reads each action's parent commit the same way. Files
come from one `git cat-file --batch` process and tags from one
`git show-ref -d`, whatever their number.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from modelreg.core.actions import ActionFormatError, ActionRecord
from modelreg.core.digest import CanonicalizationError, digest
from modelreg.core.policy import POLICY_FILE, Policy
from modelreg.errors import BadInput
from modelreg.registry import EVALS, MODELS, STAGES, schema_findings
from modelreg.signing import TrustRoot, parse_allowed_signers
from modelreg.vcs import Git, ObjectReader
from modelreg.yamlio import Document, StrictYamlError, loads


class Tag:
    """One ref under refs/tags/<prefix>/. Its object is read (through the shared cat-file
    process) only when asked: a long history has many tags, and a question needs few."""

    def __init__(self, name: str, oid: str, reader: ObjectReader) -> None:
        self.name = name  # without refs/tags/
        self.oid = oid  # the ref's object: the tag object of an annotated tag
        self._reader = reader

    @cached_property
    def _object(self) -> tuple[str, dict[str, str], str]:
        """(type, tag headers, message) of the object the ref names."""
        found = self._reader.read(self.oid)
        if found is None:
            return "missing", {}, ""
        _oid, otype, data = found
        if otype != "tag":
            return otype, {}, ""
        head, _, message = data.decode("utf-8", "replace").partition("\n\n")
        headers: dict[str, str] = {}
        for line in head.split("\n"):
            key, _, value = line.partition(" ")
            headers.setdefault(key, value)
        return "tag", headers, message

    @property
    def type(self) -> str:
        """ "tag" for an annotated tag; a lightweight tag names a commit (or anything)."""
        return self._object[0]

    @property
    def header_name(self) -> str:
        """The `tag` line inside the tag object (git does not check it against the ref)."""
        return self._object[1].get("tag", "")

    @property
    def target_type(self) -> str:
        return self._object[1].get("type", "") if self.type == "tag" else self.type

    @property
    def target(self) -> str:
        """The object the tag points at (one level: a tag on a tag names the inner tag)."""
        return self._object[1].get("object", "") if self.type == "tag" else self.oid

    @property
    def epoch(self) -> int | None:
        """The tagger date in seconds (the time of the action)."""
        fields = self._object[1].get("tagger", "").split()
        return int(fields[-2]) if len(fields) >= 2 and fields[-2].isdigit() else None

    @property
    def message(self) -> str:
        """Subject, body and signature block, as the tag object holds them."""
        return self._object[2]

    @cached_property
    def _parsed(self) -> tuple[ActionRecord | None, str | None]:
        try:
            return ActionRecord.parse(self.message), None
        except ActionFormatError as e:
            return None, str(e)

    @property
    def record(self) -> ActionRecord | None:
        """The action record in the message, or None when it is not one (see `problem`)."""
        return self._parsed[0]

    @property
    def problem(self) -> str | None:
        return self._parsed[1]


class TagIndex:
    """The action tags of a registry (or of one model: PATTERN), listed with one
    `git show-ref -d` (packed refs keep the peeled commit: no tag object is opened)."""

    def __init__(
        self, git: Git, prefix: str, reader: ObjectReader, pattern: str | None = None
    ) -> None:
        self.prefix = prefix
        self.by_name: dict[str, Tag] = {}
        self._by_peeled: dict[str, list[Tag]] = {}
        under = f"refs/tags/{pattern or prefix}/"
        out = git.run("show-ref", "-d", "--tags", check=False).stdout
        for line in out.decode("utf-8", "surrogateescape").splitlines():
            oid, _, ref = line.partition(" ")
            if not ref.startswith(under):
                continue
            if ref.endswith("^{}"):  # the fully peeled object of the tag just listed
                tag = self.by_name.get(ref[len("refs/tags/") : -3])
                if tag is not None:
                    self._by_peeled.setdefault(oid, []).append(tag)
                continue
            tag = Tag(ref[len("refs/tags/") :], oid, reader)
            self.by_name[tag.name] = tag
            self._by_peeled.setdefault(oid, []).append(tag)  # a lightweight tag names it

    def on(self, commit: str) -> list[Tag]:
        """The tags that point at COMMIT itself (not through another tag)."""
        return [t for t in self._by_peeled.get(commit, []) if t.target == commit]

    def chain_tags(self, name: str | None) -> list[Tag]:
        """NAME's tag and the tags before it (previous-tag links), newest first.

        Stops at a missing or malformed tag, or a loop; `verify` reports those.
        """
        out: list[Tag] = []
        seen: set[str] = set()
        while name and name not in seen:
            seen.add(name)
            tag = self.by_name.get(name)
            record = tag.record if tag else None
            if tag is None or record is None:
                break
            out.append(tag)
            name = record.previous_tag
        return out


class Snapshot:
    """The registry's files in one commit (registry PREFIX inside the repository)."""

    def __init__(
        self,
        git: Git,
        rev: str,
        prefix: str,
        reader: ObjectReader,
        tags: TagIndex | None = None,
        policy: Policy | None = None,
        model: str | None = None,
    ) -> None:
        """MODEL, when given, limits `tags` to that model's action tags (one model's actions
        need no other tag, and reading all of them costs time on a long history)."""
        self.git, self.rev, self.prefix, self.reader = git, rev, prefix, reader
        self._tags = tags
        self._policy = policy
        self._model = model
        self._versions: dict[tuple[str, str], tuple[dict[str, Any], str] | None] = {}

    def path(self, rel: str) -> str:
        return f"{self.prefix}{rel}"

    def raw(self, rel: str) -> bytes | None:
        return self.reader.blob(f"{self.rev}:{self.path(rel)}")

    def load(self, rel: str, kind: str) -> Document | None:
        """REL parsed and schema-checked, None if absent; BadInput (file:line) when invalid.

        A blob is parsed once per reader, however many commits hold it: `verify` reads
        the same policy, versions and evals at every action. Callers never change a
        Document (lifecycle copies the state it edits).
        """
        found = self.reader.read(f"{self.rev}:{self.path(rel)}")
        if found is None or found[1] != "blob":
            return None
        oid, _type, raw = found
        memo = self.reader.memo.get((oid, kind))
        if isinstance(memo, Document):
            return memo
        where = f"{self.path(rel)} at {self.rev[:12]}"
        try:
            doc = loads(raw)
        except StrictYamlError as e:
            raise BadInput(e.problems[0].message, file=where, line=e.problems[0].line) from None
        findings = schema_findings(doc, kind)
        if findings:
            raise BadInput(findings[0].message, file=where, line=findings[0].line)
        self.reader.memo[(oid, kind)] = doc
        return doc

    @property
    def policy(self) -> Policy:
        if self._policy is None:
            doc = self.load(POLICY_FILE, "registry")
            if doc is None:
                raise BadInput(f"no {POLICY_FILE} at {self.rev[:12]}")
            self._policy = Policy.from_data(doc.data)
        return self._policy

    @property
    def tags(self) -> TagIndex:
        if self._tags is None:
            prefix = self.policy.tag_prefix
            scope = f"{prefix}/{self._model}" if self._model else None
            self._tags = TagIndex(self.git, prefix, self.reader, pattern=scope)
        return self._tags

    def version(self, model: str, version: str) -> tuple[dict[str, Any], str] | None:
        key = (model, version)
        if key not in self._versions:
            doc = self.load(f"{MODELS}/{model}/{version}.yaml", "model-version")
            found = None
            if doc is not None:
                try:
                    found = (doc.data, digest(doc.data))
                except CanonicalizationError as e:
                    where = self.path(f"{MODELS}/{model}/{version}.yaml")
                    raise BadInput(str(e), file=where) from None
            self._versions[key] = found
        return self._versions[key]

    def evals(self, model: str, version: str) -> Mapping[str, Mapping[str, Any]]:
        folder = f"{EVALS}/{model}/{version}/"
        out: dict[str, Mapping[str, Any]] = {}
        for name in sorted(self.reader.files(f"{self.rev}:{self.path(folder)}")):
            if not name.endswith(".yaml") or name.startswith("."):
                continue
            doc = self.load(folder + name, "eval")
            if doc is not None:
                out[name[:-5]] = doc.data
        return out

    def state(self, model: str) -> dict[str, Any]:
        doc = self.load(f"{STAGES}/{model}.yaml", "stages")
        if doc is None:
            return {}
        data: dict[str, Any] = doc.data
        return data

    def served(self, model: str, stage: str) -> set[str]:
        """Versions STAGE served in any commit of this revision's history that changed the
        model's state file: one `git log` and one read per change."""
        path = self.path(f"{STAGES}/{model}.yaml")
        commits = self.git.path_log(self.rev, path, "%H")
        out: set[str] = set()
        for commit in commits:
            found = self.reader.read(f"{commit}:{path}")
            if found is None or found[1] != "blob":
                continue
            # a state blob recurs in every later rollback's walk: read its stages once
            memo = self.reader.memo.get((found[0], "served"))
            if not isinstance(memo, dict):
                memo = _served_versions(found[2])
                self.reader.memo[(found[0], "served")] = memo
            version = memo.get(stage)
            if isinstance(version, str):
                out.add(version)
        return out


def _served_versions(raw: bytes) -> dict[str, object]:
    """{stage: version} of a state file's text; {} when it is not a state anyone could
    have served from."""
    try:
        data = loads(raw).data
    except StrictYamlError:
        return {}
    stages = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(stages, dict):
        return {}
    return {
        stage: entry.get("version") for stage, entry in stages.items() if isinstance(entry, dict)
    }


def trust_root(snap: Snapshot) -> TrustRoot:
    """The signer lists as of SNAP: allowed signers, revoked keys, OpenPGP keys.

    A file that policy names but that is missing makes the trust root unusable:
    every signature then fails (fail closed), rather than passing unchecked.
    """
    policy = snap.policy
    problem = None
    signers = snap.raw(policy.allowed_signers)
    if signers is None and "ssh" in policy.signing_formats:
        problem = f"allowed-signers file {policy.allowed_signers} is missing at {snap.rev[:12]}"
    revoked = b""
    if policy.revocation_file:
        found = snap.raw(policy.revocation_file)
        if found is None:
            problem = (
                f"revocation file {policy.revocation_file} named by policy is missing at "
                f"{snap.rev[:12]}"
            )
        revoked = found or b""
    openpgp = b""
    if "openpgp" in policy.signing_formats:
        found = snap.raw(policy.openpgp_keys) if policy.openpgp_keys else None
        if found is None:
            problem = "policy accepts OpenPGP signatures but names no signing.openpgp_keys file"
        openpgp = found or b""
    text = (signers or b"").decode("utf-8", "replace")
    _entries, bad = parse_allowed_signers(text)
    if bad and problem is None:
        line, message = bad[0]
        problem = (
            f"{policy.allowed_signers}:{line}: {message} (the trusted signer list is malformed)"
        )
    return TrustRoot(text, revoked, policy.signing_formats, openpgp, problem)
