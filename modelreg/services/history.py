"""Service: `log`, every action of one model, oldest first, with its verified signer.

The actions of the branch are the tags on the chains the state file at HEAD
names (each tag names the one before it), so a stray tag that is not on the
branch never shows up, and one show-ref lists them all. Each
signature is verified against the allowed-signers file committed at HEAD, in
the same isolated environment as `verify`; results are cached in the git dir
by tag object and trust root, since a tag never changes.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelreg.core.actions import ARCHIVED, iso_utc
from modelreg.core.policy import signers_for
from modelreg.errors import EnvironmentFailure, NotFound
from modelreg.registry import Registry
from modelreg.revision import Snapshot, Tag, TagIndex, trust_root
from modelreg.signing import Signature, TrustRoot, Verifier
from modelreg.vcs import Git

CACHE_FILE = "modelreg-verified.json"


@dataclass
class Event:
    action: str
    model: str
    stage: str
    version: str | None
    previous: str | None
    weight: float | None
    at: str
    signer: str | None
    verified: bool
    reason: str
    commit: str
    tag: str
    note: str | None = None  # why it is not verified

    def as_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "model": self.model,
            "stage": self.stage,
            "version": self.version,
            "previous": self.previous,
            "weight": self.weight,
            "at": self.at,
            "signer": self.signer,
            "verified": self.verified,
            "reason": self.reason,
            "commit": self.commit,
            "tag": self.tag,
        }


@dataclass
class LogResult:
    model: str
    events: list[Event]
    signing_required: bool

    def as_json(self) -> dict[str, Any]:
        return {"events": [e.as_json() for e in self.events]}


def _trust_key(trust: TrustRoot) -> str:
    h = hashlib.sha256()
    for part in (trust.allowed_signers.encode(), trust.revoked_keys, trust.openpgp_keys):
        h.update(hashlib.sha256(part).digest())
    h.update(",".join(trust.formats).encode())
    return h.hexdigest()


class _Cache:
    """{trust key: {tag object id: [principal or None, format, message]}} in the git dir."""

    def __init__(self, git_dir: Path, key: str) -> None:
        self.path = git_dir / CACHE_FILE
        self.key = key
        try:
            data = json.loads(self.path.read_text())
            self.entries: dict[str, list[Any]] = data.get(key, {}) if isinstance(data, dict) else {}
        except (OSError, ValueError):
            self.entries = {}
        self.dirty = False

    def get(self, oid: str) -> Signature | None:
        found = self.entries.get(oid)
        if not isinstance(found, list) or len(found) != 3:
            return None
        principal, fmt, message = found
        return Signature(principal is not None, principal, fmt, message)

    def put(self, oid: str, sig: Signature) -> None:
        self.entries[oid] = [sig.principal if sig.ok else None, sig.format, sig.message]
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps({self.key: self.entries}))
            os.replace(tmp, self.path)
        except OSError:  # a read-only clone: verify again next time
            tmp.unlink(missing_ok=True)


def remember_signature(git_dir: Path, trust: TrustRoot, oid: str, sig: Signature) -> None:
    """Record a verification just made (the preflight of an action) for `log`."""
    if trust.problem is None:
        cache = _Cache(git_dir, _trust_key(trust))
        cache.put(oid, sig)
        cache.save()


def history(reg: Registry, model: str, stage: str | None = None) -> LogResult:
    """Every action on MODEL (on STAGE only, if given) that the branch's state leads to."""
    reg.require_model(model)
    if reg.git is None or reg.git.toplevel is None:
        raise EnvironmentFailure("log needs the registry in a git repository", rule="no-git")
    git = Git(reg.git.toplevel)
    head = git.rev("HEAD")
    if head is None:
        return LogResult(model, [], reg.policy.signing_required)
    with git.objects() as reader:
        snap = Snapshot(git, head, reg.git_prefix, reader)
        policy = snap.policy
        if stage is not None and stage not in (*policy.stages, ARCHIVED):
            raise NotFound(f"unknown stage {stage!r} (stages: {', '.join(policy.stages)})")
        state = snap.state(model)
        tags = TagIndex(git, policy.tag_prefix, reader, pattern=f"{policy.tag_prefix}/{model}")
        chains: list[list[Tag]] = []
        for name, last in sorted((state.get("tags") or {}).items()):
            if stage is not None and name != stage:
                continue
            chains.append(list(reversed(tags.chain_tags(last))))  # oldest first
        ordered = _in_branch_order(git, list(heapq.merge(*chains, key=lambda t: t.epoch or 0)))
        signatures = _signatures(git, snap, ordered) if policy.signing_required else {}
    events = []
    for tag in ordered:
        record = tag.record
        assert record is not None
        sig = signatures.get(tag.oid)
        allowed = signers_for(policy, record.stage)
        verified = bool(sig and sig.ok and (allowed is None or sig.principal in allowed))
        renamed = tag.header_name != tag.name or tag.target_type != "commit"
        verified = verified and not renamed
        note = None
        if renamed:
            note = f"the tag object is {tag.header_name!r} on a {tag.target_type}, copied here"
        elif sig is None:
            note = "unsigned (policy signing.required is false)"
        elif not sig.ok:
            note = sig.message
        elif not verified:
            # archive and unarchive are judged by the last stage's signers, as in verify
            stage = record.stage if record.stage in policy.stages else policy.stages[-1]
            note = f"{sig.principal} may not sign for {stage}"
        events.append(
            Event(
                action=record.action,
                model=record.model,
                stage=record.stage,
                version=record.version,
                previous=record.previous,
                weight=record.weight,
                at=iso_utc(tag.epoch or 0),
                signer=sig.principal if sig and sig.ok else None,
                verified=verified,
                reason=record.reason,
                commit=tag.target,
                tag=tag.name,
                note=note,
            )
        )
    return LogResult(model, events, policy.signing_required)


def _in_branch_order(git: Git, tags: list[Tag]) -> list[Tag]:
    """TAGS (sorted by tagger date) with actions of the same second put in commit order.

    Tagger dates have one-second resolution; within a second, a commit that is an
    ancestor of another came first.
    """
    out: list[Tag] = []
    for _epoch, group in itertools.groupby(tags, key=lambda t: t.epoch or 0):
        same = list(group)
        if len(same) > 1:

            def before(a: Tag, b: Tag) -> int:
                if a.target == b.target:
                    return 0
                ancestor = git.run("merge-base", "--is-ancestor", a.target, b.target, check=False)
                return -1 if ancestor.returncode == 0 else 1

            same.sort(key=functools.cmp_to_key(before))
        out += same
    return out


def _signatures(git: Git, snap: Snapshot, tags: list[Tag]) -> dict[str, Signature]:
    """{tag oid: signature}, from the cache or verified now (a few at a time)."""
    trust = trust_root(snap)
    git_dir = git.git_dir()
    cache = _Cache(git_dir, _trust_key(trust))
    out: dict[str, Signature] = {}
    todo = []
    for tag in tags:
        found = cache.get(tag.oid)
        if found is not None:
            out[tag.oid] = found
        else:
            todo.append(tag)
    if todo:
        from concurrent.futures import ThreadPoolExecutor  # only when something is to verify

        with Verifier(git.cwd, trust) as verifier, ThreadPoolExecutor(max_workers=4) as pool:
            for tag, sig in zip(
                todo,
                pool.map(lambda t: verifier.verify("tag", t.oid, t.message), todo),
                strict=True,
            ):
                out[tag.oid] = sig
                if trust.problem is None:
                    cache.put(tag.oid, sig)
        cache.save()
    return out
