"""Service: `log`, every action of one model, oldest first, with its verified signer.

The actions of the branch are the commits that changed the model's state file
in HEAD's history (`git log -- stages/<model>.yaml`), in commit order, each
with the action tag on it: a stray tag that is not on the branch never shows
up, and a change no action tag seals (a hand edit, a squash merge) shows as an
unverified `unsigned-change`, never hidden. One show-ref lists the tags. Each
signature is verified against the allowed-signers file committed at HEAD, in
the same isolated environment as `verify`; results are cached in the git dir
by tag object and trust root, since a tag never changes.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelreg.core.actions import ARCHIVED, iso_utc
from modelreg.core.policy import Policy, signers_for
from modelreg.errors import EnvironmentFailure, NotFound
from modelreg.registry import STAGES, Registry
from modelreg.revision import Snapshot, Tag, TagIndex, trust_root
from modelreg.signing import Signature, TrustRoot, Verifier
from modelreg.vcs import Git, ObjectReader
from modelreg.yamlio import StrictYamlError, loads

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
    # The commit whose state file this change made, and from when the branch served it: a
    # change merged in from another branch took effect at the merge (None: its own time).
    # Not part of the JSON.
    state_commit: str = ""
    effective: int | None = None

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
        self.entries: dict[str, list[Any]] = {}
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            data = None
        found = data.get(key) if isinstance(data, dict) else None
        if isinstance(found, dict):  # anything else is a cache someone broke: start afresh
            self.entries = found
        self.dirty = False

    def get(self, oid: str) -> Signature | None:
        found = self.entries.get(oid)
        if not isinstance(found, list) or len(found) != 3:
            return None
        principal, fmt, message = found
        if not (principal is None or isinstance(principal, str)) or not isinstance(message, str):
            return None
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


UNSIGNED_CHANGE = "unsigned-change"  # the action word of a state change no action tag seals


def history(reg: Registry, model: str, stage: str | None = None) -> LogResult:
    """Every change of MODEL's state file on the branch (on STAGE only, if given), oldest
    first, each with the action tag that seals it, or as an `unsigned-change` when no single
    action tag does (a hand edit, a squash merge).

    The branch is its first-parent line, as deploy tooling reading it saw it: the changes
    a merge brought in are listed at the merge, in their own order (parents first,
    whatever the clocks say), and took effect at the merge.
    """
    reg.require_model(model)
    if reg.git is None or reg.git.toplevel is None:
        raise EnvironmentFailure(
            "history (log, at, which) needs the registry in a git repository", rule="no-git"
        )
    git = Git(reg.git.toplevel)
    head = git.rev("HEAD")
    if head is None:
        return LogResult(model, [], reg.policy.signing_required)
    if git.is_shallow():
        raise EnvironmentFailure(
            "this is a shallow clone: the action history is cut off, so the answer would be "
            "wrong (`git fetch --unshallow`)",
            rule="shallow",
        )
    with git.objects() as reader:
        snap = Snapshot(git, head, reg.git_prefix, reader)
        policy = snap.policy
        if stage is not None and stage not in (*policy.stages, ARCHIVED):
            raise NotFound(f"unknown stage {stage!r} (stages: {', '.join(policy.stages)})")
        path = snap.path(f"{STAGES}/{model}.yaml")
        tags = TagIndex(git, policy.tag_prefix, reader, pattern=f"{policy.tag_prefix}/{model}")
        steps = _branch_steps(git, reader, head, path)
        found = [(c, _sealing_tag(tags.on(c), model)) for c, _t, _s, _e in steps]
        sealed = [t for _c, t in found if t is not None]
        signatures = verified_signatures(git, snap, sealed) if policy.signing_required else {}
        events = []
        before: str | None = None  # the commit of the change before
        for (commit, committed, state_commit, effective), (_c, tag) in zip(
            steps, found, strict=True
        ):
            if tag is None:
                event = _unsigned_change(reader, path, model, commit, committed, before)
            else:
                event = _event(policy, tag, signatures.get(tag.oid))
            event.state_commit, event.effective = state_commit, effective
            events.append(event)
            before = commit
    if stage is not None:
        events = [e for e in events if stage in e.stage.split(",")]
    return LogResult(model, events, policy.signing_required)


def _branch_steps(
    git: Git, reader: ObjectReader, head: str, path: str
) -> list[tuple[str, int, str, int | None]]:
    """(commit, committer date, state commit, effective date) of every change of PATH on
    HEAD's first-parent line, the changes a merge brought in listed at the merge."""
    out: list[tuple[str, int, str, int | None]] = []
    for row in git.path_log(head, path, "%H %ct %P", "--first-parent", "--reverse"):
        commit, committed, *parents = row.split()
        if len(parents) < 2:
            out.append((commit, int(committed), commit, None))
            continue
        # a merge: the changes on the merged side, oldest first, in effect from the merge
        side = [
            r.split()
            for r in git.path_log(
                commit, path, "%H %ct", "--reverse", "--topo-order", f"^{parents[0]}"
            )
        ]
        side = [r for r in side if r[0] != commit]
        for side_commit, side_date in side:
            out.append((side_commit, int(side_date), side_commit, int(committed)))
        merged = reader.read(f"{commit}:{path}")
        last = reader.read(f"{side[-1][0]}:{path}") if side else None
        if not (side and merged is not None and last is not None and merged[0] == last[0]):
            out.append((commit, int(committed), commit, None))  # a state resolved by hand
    return out


def _sealing_tag(found: list[Tag], model: str) -> Tag | None:
    """The action tag among FOUND (the tags on one commit) that seals it, or None when
    none or several do. A copy of a tag under another name does not count twice."""
    actions = [t for t in found if t.record is not None and t.record.model == model]
    named = [t for t in actions if t.header_name == t.name]
    if len(named) == 1:
        return named[0]
    return actions[0] if len(actions) == 1 else None


def _event(policy: Policy, tag: Tag, sig: Signature | None) -> Event:
    record = tag.record
    assert record is not None
    verified, note = vouch(policy, tag, sig)
    return Event(
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


def _unsigned_change(
    reader: ObjectReader, path: str, model: str, commit: str, epoch: int, before: str | None
) -> Event:
    """A state change no action tag seals: the stages it changed, dated by its commit."""
    now = _stages(reader, f"{commit}:{path}")
    then = _stages(reader, f"{before}:{path}") if before else {}
    changed: list[str] = []
    if now is not None and then is not None:
        changed = sorted(k for k in set(now) | set(then) if now.get(k) != then.get(k))
    entry = (now or {}).get(changed[0]) if changed else None
    return Event(
        action=UNSIGNED_CHANGE,
        model=model,
        stage=",".join(changed),
        version=entry.get("version") if isinstance(entry, dict) else None,
        previous=None,
        weight=None,
        at=iso_utc(epoch),
        signer=None,
        verified=False,
        reason="",
        commit=commit,
        tag="",
        note=f"{path} changed without an action tag (edited by hand, or a squash merge?)",
    )


def _stages(reader: ObjectReader, name: str) -> dict[str, Any] | None:
    """The `stages` map of the state file NAME (`<commit>:<path>`): {} if absent, None if
    it is not a state file anyone could read."""
    raw = reader.blob(name)
    if raw is None:
        return {}
    try:
        data = loads(raw).data
    except StrictYamlError:
        return None
    stages = data.get("stages") if isinstance(data, dict) else None
    return stages if isinstance(stages, dict) else {}


def vouch(policy: Policy, tag: Tag, sig: Signature | None) -> tuple[bool, str | None]:
    """(verified, why not) for an action TAG whose signature is SIG (None: not checked,
    for a policy that does not require signing). Verified means: the tag object is the one
    its name says, on a commit, signed by a principal policy lets sign for its stage."""
    record = tag.record
    if record is None:
        return False, tag.problem or "not an action record"
    if tag.header_name != tag.name or tag.target_type != "commit":
        return False, f"the tag object is {tag.header_name!r} on a {tag.target_type}, copied here"
    if sig is None:
        return False, "unsigned (policy signing.required is false)"
    if not sig.ok:
        return False, sig.message
    allowed = signers_for(policy, record.stage)
    if allowed is not None and sig.principal not in allowed:
        # archive and unarchive are judged by the last stage's signers, as in verify
        stage = record.stage if record.stage in policy.stages else policy.stages[-1]
        return False, f"{sig.principal} may not sign for {stage}"
    return True, None


def verified_signatures(git: Git, snap: Snapshot, tags: list[Tag]) -> dict[str, Signature]:
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


def commit_signature(git: Git, trust: TrustRoot, commit: str, content: str) -> Signature:
    """COMMIT's signature under TRUST (CONTENT: the commit object), cached as tags are."""
    cache = _Cache(git.git_dir(), _trust_key(trust))
    found = cache.get(commit)
    if found is not None:
        return found
    with Verifier(git.cwd, trust) as verifier:
        sig = verifier.verify("commit", commit, content)
    if trust.problem is None:
        cache.put(commit, sig)
        cache.save()
    return sig
