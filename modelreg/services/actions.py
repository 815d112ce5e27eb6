"""Service: the signed actions (promote, rollback, canary, archive) and `--push`.

The rules live in core.lifecycle (shared with `verify`); this module reads
HEAD, asks the rules, and hands the result to the transaction.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelreg.core.actions import (
    ARCHIVED,
    MAX_FUTURE_SECONDS,
    ActionRecord,
    iso_utc,
    reason_problem,
)
from modelreg.core.lifecycle import Decision, Refusal, Request, decide, last_tag, render_state
from modelreg.core.names import model_name_problem, parse_version
from modelreg.core.policy import describe_signers, signers_for
from modelreg.errors import (
    EnvironmentFailure,
    GitError,
    ModelregError,
    NotFound,
    Refused,
    UsageError,
)
from modelreg.registry import EVALS, MODELS, STAGES, Registry
from modelreg.revision import Snapshot, Tag, TagIndex, trust_root
from modelreg.services.history import remember_signature
from modelreg.services.transaction import PreparedFile, Transaction, action_lock
from modelreg.signing import Verifier
from modelreg.vcs import Git, git_blob_id

MAX_LOCAL_ATTEMPTS = 5  # the branch moved under us (another action in this clone)
MAX_PUSH_ATTEMPTS = 4  # the remote moved: fetch, rebuild, re-sign, push again
CLOCK_SKEW_SECONDS = 300
_IDENT = re.compile(r"^(.*) <([^<>]*)> (\d+) [+-]\d{4}$")


@dataclass
class ActionResult:
    request: Request
    noop: str | None = None
    record: ActionRecord | None = None
    commit: str | None = None
    tag: str | None = None
    signer: str | None = None
    pushed: str | None = None  # "<remote> <branch>" once ls-remote confirmed it
    warnings: list[str] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        r = self.record
        return {
            "action": self.request.action,
            "model": self.request.model,
            "stage": self.request.stage,
            "version": r.version if r else self.request.version,
            "previous": r.previous if r else None,
            "weight": r.weight if r else self.request.weight,
            "noop": self.noop is not None,
            "message": self.noop,
            "commit": self.commit,
            "tag": self.tag,
            "signer": self.signer,
            "pushed": self.pushed,
            "warnings": self.warnings,
        }


class _Moved(Exception):
    """The branch moved between reading HEAD and the compare-and-swap: try again."""


@dataclass
class _Context:
    reg: Registry
    git: Git  # at the top of the work tree
    branch: str  # refs/heads/<name>
    prefix: str  # registry folder inside the repository
    git_dir: Path


def _context(reg: Registry) -> _Context:
    if reg.git is None or reg.git.toplevel is None:
        raise EnvironmentFailure(
            "actions need the registry in a git repository (`git init`, then commit it)",
            rule="no-git",
        )
    git = Git(reg.git.toplevel)
    proc = git.run("symbolic-ref", "-q", "HEAD", check=False)
    if proc.returncode != 0:
        raise EnvironmentFailure(
            "HEAD is detached: actions commit on a branch; `git switch <branch>` first",
            rule="detached-head",
        )
    return _Context(reg, git, proc.stdout.decode().strip(), reg.git_prefix, git.git_dir())


def check_request(req: Request) -> None:
    problem = reason_problem(req.reason) or model_name_problem(req.model)
    if problem:
        raise UsageError(problem)
    if req.version is not None and parse_version(req.version) is None:
        raise UsageError(f"{req.version!r} is not a version (MAJOR.MINOR.PATCH)")
    if req.weight is not None and not (math.isfinite(req.weight) and 0 < req.weight <= 100):
        raise UsageError("--weight must be above 0 and at most 100 (percent of the traffic)")


def _require_known(snap: Snapshot, req: Request) -> None:
    """Unknown stage, model or version: bad input to the command (exit 2), as for `gate`."""
    stages = snap.policy.stages
    lifecycle = req.action in ("archive", "unarchive")
    if (req.stage == ARCHIVED) != lifecycle or (not lifecycle and req.stage not in stages):
        raise NotFound(f"unknown stage {req.stage!r} (stages: {', '.join(stages)})")
    folder = snap.path(f"{MODELS}/{req.model}/")
    files = snap.git.tree_blobs(snap.rev, [folder])
    if not files:
        raise NotFound(f"unknown model {req.model!r} (no {MODELS}/{req.model}/ at HEAD)")
    if req.version and f"{folder}{req.version}.yaml" not in files:
        raise NotFound(f"unknown version {req.model}@{req.version}")


def run_action(reg: Registry, req: Request, push: bool = False) -> ActionResult:
    """Run REQ: one commit and one signed tag on the current branch (and on the remote)."""
    check_request(req)
    ctx = _context(reg)
    where = _remote(ctx) if push else None  # a missing remote stops before anything is made
    with action_lock(ctx.git_dir):
        result = _local(ctx, req)
        if where is not None:
            _push_with_retry(ctx, req, result, *where)
        return result


def _local(ctx: _Context, req: Request) -> ActionResult:
    for _ in range(MAX_LOCAL_ATTEMPTS):
        try:
            return _attempt(ctx, req)
        except _Moved:
            continue
    raise EnvironmentFailure(
        f"the branch kept moving while the action ran ({MAX_LOCAL_ATTEMPTS} tries); run it again",
        rule="lock",
    )


def _ident(git: Git) -> tuple[str, int]:
    """(email, epoch) of the committer git would record now (honours GIT_COMMITTER_DATE)."""
    m = _IDENT.match(git.out("var", "GIT_COMMITTER_IDENT"))
    if not m:
        raise GitError("git var GIT_COMMITTER_IDENT: unexpected answer")
    return m[2], int(m[3])


def _require_clean(ctx: _Context, snap: Snapshot, req: Request) -> None:
    """Refuse when the version file or the state file differ from HEAD (index or work tree)."""
    rels = [f"{STAGES}/{req.model}.yaml"]
    if req.version:
        rels.append(f"{MODELS}/{req.model}/{req.version}.yaml")
    repo_paths = [snap.path(r) for r in rels]
    # The index's blob ids (`ls-files -s`: cheaper than `status` on a large work tree).
    listed = ctx.git.run(
        "ls-files", "-s", "-z", "--", *(f":(top,literal){p}" for p in repo_paths)
    ).stdout
    index = {
        path.decode("utf-8", "surrogateescape"): meta.split()[1].decode()
        for meta, _, path in (e.partition(b"\t") for e in listed.split(b"\0") if e)
    }
    for rel, repo_path in zip(rels, repo_paths, strict=True):
        found = snap.reader.read(f"{snap.rev}:{repo_path}")
        head_id = found[0] if found else None
        try:
            # bytes, not stat data: skip-worktree and assume-unchanged cannot hide an edit
            work_id: str | None = git_blob_id((ctx.reg.root / rel).read_bytes())
        except FileNotFoundError:
            work_id = None
        except OSError:  # a folder or an unreadable file where the file should be
            work_id = "unreadable"
        if index.get(repo_path) == head_id == work_id:
            continue
        if rel.startswith(STAGES):
            # The index may hold the stale copy too (an action interrupted before it wrote the
            # work tree, or a locked index): restore from HEAD, not from the index.
            drop = (
                f"`git checkout HEAD -- {repo_path}`"
                if found is not None
                else f"`git rm -q --cached --ignore-unmatch -- {repo_path}` and delete the file"
            )
            raise Refused(
                f"{rel} has changes that are not committed; it is written only by modelreg "
                f"actions: {drop} to drop them",
                rule="dirty-state",
            )
        what = "is not committed" if found is None else "has changes that are not committed"
        raise Refused(
            f"{rel} {what}: actions use registered versions only; commit it first (a "
            "registered version never changes: make a new version with `modelreg new`)",
            rule="unregistered",
        )


def _attempt(ctx: _Context, req: Request) -> ActionResult:
    git = ctx.git
    head = git.rev("HEAD")
    if head is None:
        raise EnvironmentFailure(
            "the branch has no commit yet: commit the registry first", rule="no-commit"
        )
    with git.objects() as reader:
        snap = Snapshot(git, head, ctx.prefix, reader, model=req.model)
        policy = snap.policy
        if policy.branch and ctx.branch != f"refs/heads/{policy.branch}":
            raise EnvironmentFailure(
                f"actions run on branch {policy.branch!r} (policy `branch`), and this is "
                f"{ctx.branch.removeprefix('refs/heads/')!r}: `git switch {policy.branch}`",
                rule="wrong-branch",
            )
        _require_clean(ctx, snap, req)
        _require_known(snap, req)
        actor, epoch = _ident(git)
        if epoch > time.time() + MAX_FUTURE_SECONDS:
            raise EnvironmentFailure(
                f"the action would be dated {iso_utc(epoch)}, in the future: check the clock and "
                "GIT_COMMITTER_DATE (verify refuses future-dated actions)",
                rule="clock",
            )
        req = dataclasses.replace(req, actor=actor)
        try:
            decision = decide(snap, req, iso_utc(epoch))
        except Refusal as r:
            if r.rule == "rollback-target":
                _require_full_history(snap)
            raise Refused(r.message + _uncommitted_evals(ctx, snap, req, r), rule=r.rule) from None
        result = ActionResult(req, state=decision.state)
        if decision.record is None:
            result.noop = decision.noop
            return result
        record = decision.record
        tag_name = record.tag_name(policy.tag_prefix)
        result.warnings += _skew_warning(snap, record, epoch)
        leftover = snap.tags.by_name.get(tag_name)
        if leftover is not None:
            return _finish_interrupted(ctx, snap, head, decision, leftover, result)
        state_rel = f"{STAGES}/{req.model}.yaml"
        content = render_state(decision.state, policy.stages).encode()
        message = record.message()
        tx = Transaction(git, ctx.branch, epoch)
        commit = tx.build_commit(head, snap.path(state_rel), content, message)
        # Written in full before anything is visible: a file that cannot be written stops here.
        prepared = PreparedFile(ctx.reg.root / state_rel, content)
        try:
            tag_oid = tx.create_tag(tag_name, commit, message, sign=policy.signing_required)
            try:
                result.signer = _preflight(git, snap, tag_oid, record.stage, ctx.git_dir)
            except BaseException:
                tx.delete_tag(tag_name, tag_oid)
                raise
            if not tx.move_branch(commit, head, record.subject()):
                tx.delete_tag(tag_name, tag_oid)
                raise _Moved
        except BaseException:
            prepared.discard()
            raise
    try:
        warning = tx.install(prepared, snap.path(state_rel))
    except OSError as e:
        prepared.discard()
        raise EnvironmentFailure(
            f"the action landed (tag {tag_name}, commit {commit[:12]}), but {state_rel} could not "
            f"be updated in the work tree ({e.strerror or e}): `git checkout HEAD -- "
            f"{snap.path(state_rel)}`",
            rule="write",
        ) from None
    if warning:
        result.warnings.append(warning)
    result.record, result.commit, result.tag = record, commit, tag_name
    if not policy.signing_required:
        result.warnings.append(
            "policy has signing: {required: false}: this action is NOT signed, and nothing "
            "proves who made it"
        )
    return result


def _require_full_history(snap: Snapshot) -> None:
    """Where a version served is read from the state file's history: in a shallow clone
    "never served" would be a guess, so stop (exit 3) instead."""
    if snap.git.is_shallow():
        raise EnvironmentFailure(
            "this is a shallow clone, so where a version served before cannot be told: "
            "`git fetch --unshallow` and run the action again",
            rule="shallow",
        )


def _skew_warning(snap: Snapshot, record: ActionRecord, epoch: int) -> list[str]:
    previous = snap.tags.by_name.get(record.previous_tag or "")
    if previous is None or previous.epoch is None or previous.epoch <= epoch + CLOCK_SKEW_SECONDS:
        return []
    ahead = previous.epoch - epoch
    return [
        f"the previous action {previous.name} is dated {ahead // 60} min after this machine's "
        "clock: one of the clocks is wrong (order comes from the sequence number)"
    ]


def _uncommitted_evals(ctx: _Context, snap: Snapshot, req: Request, refusal: Refusal) -> str:
    """A hint when a gate failed while the work tree holds eval files HEAD does not."""
    if refusal.rule != "gate" or not req.version:
        return ""
    folder = snap.path(f"{EVALS}/{req.model}/{req.version}/")
    status = ctx.git.run("status", "--porcelain", "--untracked-files=all", "--", folder).stdout
    if not status.strip():
        return ""
    return f" ({folder} has eval files that are not committed: actions read committed files)"


def _preflight(git: Git, snap: Snapshot, tag_oid: str, stage: str, git_dir: Path) -> str | None:
    """Verify the new tag as `verify` will, before the branch moves; the signer's principal.

    An action CI would refuse is never made: the key must be trusted by the
    registry's own allowed-signers file and allowed for the stage.
    """
    policy = snap.policy
    if not policy.signing_required:
        return None
    content = snap.reader.read(tag_oid)
    text = content[2].decode("utf-8", "replace") if content else ""
    trust = trust_root(snap)
    with Verifier(git.cwd, trust) as verifier:
        sig = verifier.verify("tag", tag_oid, text)
    if sig.ok:  # `log` need not verify the user's own action again
        remember_signature(git_dir, trust, tag_oid, sig)
    if not sig.ok or sig.principal is None:
        raise EnvironmentFailure(
            f"the action tag's signature does not verify against the registry's trusted signers "
            f"({sig.message}): your public key must be in {policy.allowed_signers} (committed), "
            "not revoked and valid now, and user.signingKey must name it",
            rule="signing",
        )
    allowed = signers_for(policy, stage)
    if allowed is not None and sig.principal not in allowed:
        raise Refused(
            f"{sig.principal} may not sign actions on {stage} (policy allows "
            f"{describe_signers(allowed)})",
            rule="signer-not-allowed",
        )
    return sig.principal


def _on_some_branch(git: Git, commit: str) -> bool:
    """True when a local or remote-tracking branch holds COMMIT."""
    out = git.out("for-each-ref", "--count=1", f"--contains={commit}", "refs/heads", "refs/remotes")
    return bool(out)


def _finish_interrupted(
    ctx: _Context, snap: Snapshot, head: str, decision: Decision, tag: Tag, result: ActionResult
) -> ActionResult:
    """A tag for this sequence number exists: finish an interrupted run of the same action."""
    record = decision.record
    assert record is not None
    mine = tag.record
    state_rel = f"{STAGES}/{record.model}.yaml"
    same = (
        mine is not None
        and tag.type == "tag"
        and tag.target_type == "commit"
        and ctx.git.rev(f"{tag.target}^1") == head
        and (mine.action, mine.model, mine.stage, mine.version, mine.weight, mine.reason)
        == (record.action, record.model, record.stage, record.version, record.weight, record.reason)
        and not _on_some_branch(ctx.git, tag.target)  # then it was not interrupted: it landed
        and _made_by_this_action(ctx, snap, head, tag, result.request, state_rel)
    )
    if not same:
        raise EnvironmentFailure(
            f"tag {tag.name} already exists but is not on this branch: a concurrent action, or a "
            f"stray tag; inspect it (`git show {tag.name}`): if a teammate's action landed, "
            f"update the branch (`git pull --ff-only`) and run again; a stray tag, delete it "
            f"(`git tag -d {tag.name}`)",
            rule="tag-exists",
        )
    # The run that left it may have died before its preflight: the tag must pass it now, or
    # the branch would carry an action CI refuses.
    try:
        result.signer = _preflight(ctx.git, snap, tag.oid, record.stage, ctx.git_dir)
    except ModelregError as e:
        raise EnvironmentFailure(
            f"tag {tag.name} was left by an interrupted run of this action and does not verify "
            f"({e.message}); delete it (`git tag -d {tag.name}`) and run the action again",
            rule="tag-exists",
        ) from None
    content = snap.reader.blob(f"{tag.target}:{snap.path(state_rel)}")
    tx = Transaction(ctx.git, ctx.branch, tag.epoch or 0)
    prepared = PreparedFile(ctx.reg.root / state_rel, content)
    if not tx.move_branch(tag.target, head, f"{record.subject()} (finished)"):
        prepared.discard()
        raise _Moved
    warning = tx.install(prepared, snap.path(state_rel))
    result.warnings += [f"finished the interrupted action of {tag.name}"] + (
        [warning] if warning else []
    )
    result.record, result.commit, result.tag = mine, tag.target, tag.name
    return result


def _made_by_this_action(
    ctx: _Context, snap: Snapshot, head: str, tag: Tag, req: Request, state_rel: str
) -> bool:
    """Whether TAG's commit is exactly what REQ makes on HEAD at the tag's time: only the
    state file changed, and to the state the rules give (as `verify` will check)."""
    changed = ctx.git.out("diff-tree", "--no-commit-id", "--name-only", "-r", head, tag.target)
    if changed.splitlines() != [snap.path(state_rel)]:
        return False
    try:
        again = decide(snap, req, iso_utc(tag.epoch or 0))
        theirs = Snapshot(ctx.git, tag.target, ctx.prefix, snap.reader).state(req.model)
    except (Refusal, ModelregError):
        return False
    return again.state == theirs


# --- push ----------------------------------------------------------------------------


def _config(git: Git, key: str) -> str | None:
    proc = git.run("config", "--get", key, check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def _remote(ctx: _Context) -> tuple[str, str]:
    """(remote, its branch ref) the current branch pushes to: its upstream, else origin."""
    name = ctx.branch.removeprefix("refs/heads/")
    remote = _config(ctx.git, f"branch.{name}.remote") or "origin"
    merge = _config(ctx.git, f"branch.{name}.merge") or ctx.branch
    if ctx.git.run("remote", "get-url", "--", remote, check=False).returncode != 0:
        raise EnvironmentFailure(
            f"--push: no remote {remote!r} (add one with `git remote add {remote} URL`)",
            rule="push",
        )
    return remote, merge


def _tags_to_push(ctx: _Context, remote: str, merge: str, tag: str | None) -> list[str]:
    """TAG, and the action tags of every commit the remote branch lacks (an earlier action
    made without --push): a branch never reaches the remote without its tags."""
    proc = ctx.git.run("ls-remote", "--", remote, merge, check=False)
    tip = proc.stdout.decode().split("\t", 1)[0].strip() if proc.returncode == 0 else ""
    if tip and ctx.git.rev(f"{tip}^{{commit}}") is None:
        return [tag] if tag else []  # the remote has moved on: the push is refused, then rebuilt
    spec = ["HEAD", f"^{tip}"] if tip else ["HEAD"]
    ahead = set(ctx.git.out("rev-list", *spec, "--").split())
    with ctx.git.objects() as reader:
        prefix = Snapshot(ctx.git, "HEAD", ctx.prefix, reader).policy.tag_prefix
        tags = TagIndex(ctx.git, prefix, reader)
        out = {t.name for commit in ahead for t in tags.on(commit)}
    return sorted(out | ({tag} if tag else set()))


def _push_once(git: Git, remote: str, merge: str, tags: list[str]) -> str:
    """Push branch and tags atomically: "ok", "moved" (fetch and retry) or "unreachable"."""
    refspecs = [f"HEAD:{merge}"] + [f"refs/tags/{t}:refs/tags/{t}" for t in tags]
    proc = git.run("push", "--atomic", "--porcelain", "--", remote, *refspecs, check=False)
    if proc.returncode == 0:
        return "ok"
    text = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    if "does not support --atomic" in text:
        raise EnvironmentFailure(
            f"--push: {remote} does not support atomic pushes, so branch and tag could land "
            "apart; nothing was pushed (push by hand with care, or use a git host that does)",
            rule="push",
        )
    if re.search(
        r"\[rejected\].*\((fetch first|non-fast-forward|already exists|stale info)\)", text
    ):
        return "moved"
    reasons = [
        r for r in re.findall(r"\[remote rejected\][^(\n]*\(([^\n]*)\)", text) if r not in _KNOCK_ON
    ]
    # The remote's ref transaction failed: another push moved the branch (or held its lock)
    # between what the remote advertised and its update ("cannot lock ref ...: is at X but
    # expected Y"). A race like a non-fast-forward: fetch and rebuild.
    if "atomic transaction failed" in reasons or "cannot lock ref" in text:
        return "moved"
    if reasons:
        said = [
            ln.removeprefix("remote:").strip()
            for ln in text.splitlines()
            if ln.startswith("remote:") and ln.removeprefix("remote:").strip()
        ]
        detail = f": {said[0]}" if said else ""  # what the hook printed, e.g. why it refused
        raise EnvironmentFailure(
            f"--push: {remote} refused the push ({reasons[0]}{detail}); nothing was pushed",
            rule="push",
        )
    return "unreachable"


# What receive-pack reports for the other refs of an atomic push that one ref's failure sank.
_KNOCK_ON = frozenset({"atomic push failure", "atomic push failed"})


def _confirmed(git: Git, remote: str, merge: str, tags: list[str]) -> bool:
    """True when ls-remote shows the remote branch at HEAD and each tag at its local object."""
    refs = [merge] + [f"refs/tags/{t}" for t in tags]
    proc = git.run("ls-remote", "--", remote, *refs, check=False)
    if proc.returncode != 0:
        return False
    seen: dict[str, str] = {}
    for line in proc.stdout.decode().splitlines():
        oid, _, ref = line.partition("\t")
        seen[ref] = oid
    if seen.get(merge) != git.rev("HEAD"):
        return False
    return all(seen.get(f"refs/tags/{t}") == git.rev(f"refs/tags/{t}") for t in tags)


def _undo(ctx: _Context, result: ActionResult) -> str | None:
    """Take back this run's local action (tag, commit, state file): compare-and-swap only.

    What happened to it, for the error message; None when there was nothing to take back.
    """
    if not result.commit or not result.tag:
        return None
    kept = (
        f"the local action ({result.tag}) stays: the branch moved on top of it meanwhile; "
        "push it by running the action again with --push"
    )
    if ctx.git.rev("HEAD") != result.commit:
        return kept
    parent = ctx.git.out("rev-parse", f"{result.commit}^1")
    tag_oid = ctx.git.rev(f"refs/tags/{result.tag}")
    tx = Transaction(ctx.git, ctx.branch, 0)
    if not tx.move_branch(parent, result.commit, "modelreg: undo an action that was not pushed"):
        return kept
    if tag_oid:
        tx.delete_tag(result.tag, tag_oid)
    state_rel = f"{STAGES}/{result.request.model}.yaml"
    path = f"{ctx.prefix}{state_rel}"
    with ctx.git.objects() as reader:
        old = reader.blob(f"{parent}:{path}")
    tx.sync_worktree(ctx.reg.root, state_rel, path, old)
    result.commit = result.tag = result.record = None
    return "the local action was taken back"


_FETCHED = "refs/modelreg/fetched-tip"


def _catch_up(ctx: _Context, remote: str, merge: str, req: Request) -> bool:
    """Fetch the remote branch and its action tags and fast-forward to it, or stop (exit 3).

    True when the remote holds another action on REQ's model and stage than we did.
    """
    git = ctx.git
    before = git.rev("HEAD")
    # Into a ref of our own: FETCH_HEAD is shared, and any other fetch (an editor's
    # background fetch) could swap in another branch's tip between two commands.
    try:
        git.run("fetch", "-q", "--no-tags", "--", remote, f"+{merge}:{_FETCHED}")
        tip = git.out("rev-parse", "--verify", f"{_FETCHED}^{{commit}}")
    finally:
        git.run("update-ref", "-d", _FETCHED, check=False)
    with git.objects() as reader:
        prefix = Snapshot(git, tip, ctx.prefix, reader).policy.tag_prefix
    git.run("fetch", "-q", "--", remote, f"refs/tags/{prefix}/*:refs/tags/{prefix}/*", check=False)
    if git.run("merge-base", "--is-ancestor", str(before), tip, check=False).returncode != 0:
        raise EnvironmentFailure(
            f"--push: this branch and {remote} have diverged; bring in {remote}'s history with a "
            "merge (never a rebase or squash: it would separate actions from their tags), then "
            "run the action again",
            rule="push-conflict",
        )
    with git.objects() as reader:
        ours = Snapshot(git, str(before), ctx.prefix, reader).state(req.model)
        theirs = Snapshot(git, tip, ctx.prefix, reader).state(req.model)
    git.run("merge", "--ff-only", "-q", tip)
    stage = req.stage
    return bool((ours.get("tags") or {}).get(stage) != (theirs.get("tags") or {}).get(stage))


def _conflict(remote: str, req: Request) -> EnvironmentFailure:
    return EnvironmentFailure(
        f"--push: someone else acted on {req.model} {req.stage} meanwhile ({remote} now has "
        "their action, fetched here); check `modelreg status`, then run yours again",
        rule="push-conflict",
    )


def _push_with_retry(
    ctx: _Context, req: Request, result: ActionResult, remote: str, merge: str
) -> None:
    """Push RESULT; on a moved remote rebuild on its tip and push again. Any failure takes the
    local action back (exit 3), so neither side keeps half of it."""
    try:
        for attempt in range(MAX_PUSH_ATTEMPTS):
            tags = _tags_to_push(
                ctx, remote, merge, result.tag or last_tag(result.state, result.request.stage)
            )
            outcome = _push_once(ctx.git, remote, merge, tags)
            if outcome == "ok":
                break
            if outcome == "unreachable":
                if attempt + 1 < MAX_PUSH_ATTEMPTS:
                    time.sleep(0.1 * 2**attempt)
                    continue
                raise EnvironmentFailure(
                    f"--push: could not push to {remote} after {MAX_PUSH_ATTEMPTS} tries; nothing "
                    "was pushed",
                    rule="push",
                )
            _undo(ctx, result)
            conflict = _catch_up(ctx, remote, merge, req)
            fresh = _local(ctx, req)
            if conflict and fresh.noop is None:
                # Their action on this stage wins; ours would silently override it.
                _undo(ctx, fresh)
                raise _conflict(remote, req)
            # (a no-op: the remote already holds what was asked, e.g. our own interrupted push)
            fresh.warnings = result.warnings + fresh.warnings
            result.__dict__.update(fresh.__dict__)
        else:
            raise EnvironmentFailure(
                f"--push: {remote} kept moving ({MAX_PUSH_ATTEMPTS} tries); nothing was pushed, "
                "run it again",
                rule="push",
            )
    except BaseException as e:
        undone = _undo(ctx, result)
        if undone and isinstance(e, ModelregError):
            e.message = f"{e.message}; {undone}"
        raise
    # Pushed: from here on the remote may hold the action, so the clone keeps it too.
    if not _confirmed(ctx.git, remote, merge, tags):
        raise EnvironmentFailure(
            f"--push: git reported success but {remote} does not show the branch and "
            f"tags {', '.join(tags)}; check `git ls-remote {remote}`, then run the action again "
            "with --push",
            rule="push",
        )
    result.pushed = f"{remote} {merge.removeprefix('refs/heads/')}"
