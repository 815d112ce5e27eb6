"""Service: `verify`, the CI gate (DESIGN section 4, THREATS.md).

Every commit in range is checked: state changes are action commits sealed by
one signed tag whose signer the trusted policy allows for the stage; the tag
body, the commit trailers and the state diff agree with what the rules of
`core.lifecycle` give at the parent commit; registered versions and relied-on
eval files never change; policy and signer changes carry a signature from a
signer of the last stage. The trust root (policy, allowed signers, revoked
keys) is read from the base revision (for `--all`, from each commit's parent),
never from the work tree or the branch under review, and git runs in an
isolated environment.

Git is asked in batches: one rev-list, one diff-tree, one show-ref and one
cat-file process for the whole range; per action one verify-tag; per merge a
merge-base and a diff-tree per parent; per trust change one verify-commit.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from modelreg.core.actions import (
    ARCHIVED,
    MAX_FUTURE_SECONDS,
    ActionFormatError,
    ActionRecord,
    TagName,
    iso_utc,
)
from modelreg.core.findings import Report
from modelreg.core.lifecycle import Refusal, Request, decide, last_tag
from modelreg.core.policy import POLICY_FILE, Policy, describe_signers, signers_for
from modelreg.errors import BadInput, EnvironmentFailure, NotFound
from modelreg.registry import EVALS, MODELS, STAGES, Registry
from modelreg.revision import Snapshot, Tag, TagIndex, trust_root
from modelreg.signing import Signature, TrustRoot, Verifier, isolated_env
from modelreg.vcs import Git, ObjectReader

CLOCK_SKEW_SECONDS = 3 * 3600  # an action dated before its predecessor by less: a warning
_STATE_FILE = re.compile(rf"{STAGES}/([^/]+)\.yaml")
_COMPARED = (
    "action",
    "model",
    "stage",
    "seq",
    "previous_tag",
    "version",
    "digest",
    "previous",
    "weight",
    "evals",
    "baseline",
    "baseline_evals",
)

SQUASH_ADVICE = (
    "a squash or rebase merge rewrites action commits away from their signed tags: merge "
    "with a merge commit or fast-forward, or re-run the action on the target branch"
)


@dataclass
class VerifyResult:
    report: Report
    range: str  # what was checked, e.g. "origin/main..HEAD" or "all history"
    commits: int = 0
    actions: int = 0
    signers: dict[str, str] = field(default_factory=dict)  # tag -> verified principal

    def as_json(self) -> dict[str, Any]:
        out = self.report.as_json()
        out.update(range=self.range, commits=self.commits, actions=self.actions)
        out["signers"] = self.signers
        return out


class _Where(NamedTuple):
    file: str
    commit: str
    tag: str


@dataclass
class _Trust:
    policy: Policy
    root: TrustRoot
    verifier: Verifier


class _Run:
    def __init__(self, reg: Registry, git: Git, reader: ObjectReader, prefix: str) -> None:
        self.reg, self.git, self.reader, self.prefix = reg, git, reader, prefix
        self.report = Report()
        self.now = int(time.time())
        self._trusts: dict[tuple[bytes | None, ...], _Trust] = {}
        self.tags: TagIndex | None = None
        self._relied: set[str] | None = None
        self._policies: dict[str, Policy | None] = {}  # policy blob id -> parsed
        self._commit_sigs: dict[tuple[str, int], Signature] = {}
        self.touched: set[str] = set()  # models whose state changed in range
        self.dates: dict[str, int] = {}  # commit -> committer date
        self.floors: dict[str, int] = {}  # commit -> its actions may not be dated before this
        self.result = VerifyResult(self.report, "")

    # --- helpers -------------------------------------------------------------------

    def add(
        self,
        rule: str,
        message: str,
        *,
        file: str = "",
        commit: str = "",
        tag: str = "",
        line: int = 0,
        warning: bool = False,
        where: _Where | None = None,
    ) -> None:
        if where is not None:
            file, commit, tag = where
        self.report.add(
            rule, message, file, line, warning=warning, commit=commit[:12] or None, tag=tag or None
        )

    def snapshot(self, rev: str, policy: Policy | None = None) -> Snapshot:
        return Snapshot(self.git, rev, self.prefix, self.reader, self.tags, policy)

    def trust(self, rev: str) -> _Trust:
        """The trust root as of REV (policy, signers, revoked keys), cached by content."""
        policy = self.policy_at(rev)  # parsed once per distinct policy file
        # An unusable policy: read it again for the BadInput that names file and line.
        snap = self.snapshot(rev, policy) if policy else self.snapshot(rev)
        policy = snap.policy
        key = tuple(snap.raw(p) for p in (POLICY_FILE,))
        key += tuple(
            snap.raw(p) if p else None
            for p in (policy.allowed_signers, policy.revocation_file, policy.openpgp_keys)
        )
        if key not in self._trusts:
            root = trust_root(snap)
            self._trusts[key] = _Trust(policy, root, Verifier(self.git.cwd, root))
        return self._trusts[key]

    def close(self) -> None:
        for trust in self._trusts.values():
            trust.verifier.close()

    def in_registry(self, path: str) -> str | None:
        """PATH relative to the registry root, or None when it lies outside the registry."""
        return path[len(self.prefix) :] if path.startswith(self.prefix) else None

    # --- the range -----------------------------------------------------------------

    def commits(self, spec: list[str]) -> list[tuple[str, list[str]]]:
        """(commit, parents) of the range, parents first; committer dates kept in self.dates."""
        out = self.git.out(
            "rev-list", "--reverse", "--topo-order", "--parents", "--timestamp", *spec, "--"
        )
        rows = []
        for line in out.splitlines():
            stamp, commit, *parents = line.split()
            self.dates[commit] = int(stamp)
            rows.append((commit, parents))
        return rows

    def time_floors(self, commits: list[tuple[str, list[str]]]) -> None:
        """The date before which no action of each commit may be dated (back-dating).

        The signer chooses a tag's date, and ssh-keygen judges `valid-before`
        against it; these dates the signer cannot move: the commits an action
        was made on, and the trusted commits outside the range it descends from
        (carried through the range, so back-dated commits in a pull request do
        not lower it). For the first action on a stage there is no previous
        tag to compare with, and this is what catches it.
        """
        trusted: dict[str, int] = {}
        for commit, parents in commits:
            floor = base = 0
            for p in parents:
                if p in trusted:  # in range: its date, and the trusted date it carries
                    floor = max(floor, self.dates[p])
                    base = max(base, trusted[p])
                else:  # outside the range: trusted history
                    base = max(base, self.commit_date(p))
            trusted[commit] = base
            self.floors[commit] = max(floor, base)

    def commit_date(self, commit: str) -> int:
        """COMMIT's committer date (0 when the object is not here)."""
        if commit not in self.dates:
            found = self.reader.read(commit)
            header = found[2].split(b"\n\n", 1)[0] if found and found[1] == "commit" else b""
            stamps = [
                line.rsplit(b" ", 2)[-2]
                for line in header.split(b"\n")
                if line.startswith(b"committer ")
            ]
            self.dates[commit] = int(stamps[0]) if stamps and stamps[0].isdigit() else 0
        return self.dates[commit]

    def changes(self, commits: list[str]) -> dict[str, list[tuple[str, str]]]:
        """{commit: [(status, path)]} against the first parent, for non-merge commits."""
        if not commits:
            return {}
        proc = self.git.run(
            "diff-tree",
            "--stdin",
            "-r",
            "-z",
            "--no-renames",
            "--name-status",
            "--root",
            input="".join(c + "\n" for c in commits).encode(),
        )
        out: dict[str, list[tuple[str, str]]] = {c: [] for c in commits}
        tokens = proc.stdout.decode("utf-8", "surrogateescape").split("\0")
        current: str | None = None
        i = 0
        while i < len(tokens):
            token = tokens[i].strip("\n")
            if token in out and (current is None or i + 1 >= len(tokens) or len(token) >= 40):
                current = token
                i += 1
                continue
            if token and current is not None and i + 1 < len(tokens):
                out[current].append((token, tokens[i + 1]))
                i += 2
                continue
            i += 1
        return out

    # --- rules per commit ------------------------------------------------------------

    def check_commit(
        self, commit: str, parents: list[str], changed: list[tuple[str, str]], trust: _Trust
    ) -> None:
        parent = parents[0] if parents else None
        registry_changes = [(s, p, self.in_registry(p)) for s, p in changed]
        stage_files = [
            (s, p, rel) for s, p, rel in registry_changes if rel and rel.startswith(f"{STAGES}/")
        ]
        watched = self.trust_files(trust, commit, *parents) if registry_changes else set()
        for status, path, rel in registry_changes:
            if rel is None:
                continue  # outside the registry
            if rel in watched:
                if parent is not None:  # the first commit's policy and signers are taken as given
                    self.check_trust_change(commit, parent, path, rel, trust)
                continue
            if rel.rsplit("/", 1)[-1].startswith("."):
                continue  # a dotfile (.gitkeep): not a registry file
            if rel.startswith(f"{MODELS}/"):
                if status[0] in "MDT" and parent is not None:
                    self.add(
                        "immutable-version",
                        f"registered version file {'deleted' if status[0] == 'D' else 'changed'}: "
                        "a registered version never changes; make a new version",
                        file=path,
                        commit=commit,
                    )
                elif status[0] == "A":
                    self.schema_valid(commit, path, rel, "model-version")
            elif rel.startswith(f"{EVALS}/"):
                if status[0] in "MDT" and path in self.relied():
                    self.add(
                        "eval-changed",
                        "an eval file a signed action relied on was changed or deleted; "
                        "eval files are append-only",
                        file=path,
                        commit=commit,
                    )
                elif status[0] != "D":
                    self.schema_valid(commit, path, rel, "eval")
        if stage_files:
            self.check_action(commit, parent, changed, stage_files, trust)
        else:
            for tag in self.tags_on(commit):
                self.add(
                    "tag-without-action",
                    "an action tag on a commit that changes no state file",
                    commit=commit,
                    tag=tag.name,
                )

    def relied(self) -> set[str]:
        """Eval files (repo paths) some action tag names (Modelreg-Eval, Modelreg-Baseline-Eval).

        Read from every tag only when a range changes an existing eval file.
        """
        if self._relied is None:
            assert self.tags is not None
            self._relied = set()
            for tag in self.tags.by_name.values():
                r = tag.record
                if r is None:
                    continue
                for version, suites in ((r.version, r.evals), (r.baseline, r.baseline_evals)):
                    if version:
                        self._relied.update(
                            f"{self.prefix}{EVALS}/{r.model}/{version}/{suite}.yaml"
                            for suite in suites
                        )
        return self._relied

    def signer_files(self, policy: Policy) -> set[str]:
        return {
            p for p in (policy.allowed_signers, policy.revocation_file, policy.openpgp_keys) if p
        }

    def commit_signature(self, commit: str, trust: _Trust) -> Signature:
        """COMMIT's signature under TRUST, verified once however many trust files it changes."""
        key = (commit, id(trust))
        if key not in self._commit_sigs:
            found = self.reader.read(commit)
            content = found[2].decode("utf-8", "replace") if found else ""
            self._commit_sigs[key] = trust.verifier.verify("commit", commit, content)
        return self._commit_sigs[key]

    def policy_at(self, rev: str) -> Policy | None:
        """The policy committed at REV, parsed once per distinct file; None if unusable."""
        found = self.reader.read(f"{rev}:{self.prefix}{POLICY_FILE}")
        if found is None:
            return None
        if found[0] not in self._policies:
            try:
                self._policies[found[0]] = self.snapshot(rev).policy
            except BadInput:
                self._policies[found[0]] = None  # reported where the file changed
        return self._policies[found[0]]

    def trust_files(self, trust: _Trust, *revs: str) -> set[str]:
        """The policy file and every signer file that the trusted policy, or the policy at
        any of REVS, names: a change to any of them is a trust change."""
        out = {POLICY_FILE} | self.signer_files(trust.policy)
        for rev in revs:
            policy = self.policy_at(rev)
            if policy is not None:
                out |= self.signer_files(policy)
        return out

    def tags_on(self, commit: str) -> list[Tag]:
        assert self.tags is not None
        return self.tags.on(commit)

    def schema_valid(self, commit: str, path: str, rel: str, kind: str) -> None:
        try:
            self.snapshot(commit).load(rel, kind)
        except BadInput as e:
            self.add("schema", e.message, file=path, line=e.line or 0, commit=commit)

    def check_trust_change(
        self, commit: str, parent: str | None, path: str, rel: str, trust: _Trust
    ) -> None:
        """Policy and signer changes need a commit signature by a signer of the last stage.

        Before any signer is trusted there is no one to sign: the commit that adds the
        first signers is taken as given (trust on first use), and said so.
        """
        sig = self.commit_signature(commit, trust)
        last = trust.policy.stages[-1]
        allowed = signers_for(trust.policy, last)
        if trust.root.empty and trust.root.problem is None:
            self.add(
                "trust-bootstrap",
                f"{rel} changed while no signer was trusted yet: taken as given (trust on "
                "first use); from now on such changes need a last-stage signer",
                file=path,
                commit=commit,
                warning=True,
            )
        elif not sig.ok:
            self.add(
                "trust-change-unsigned",
                f"{rel} changed in a commit whose signature does not verify ({sig.message}); "
                f"policy and signer changes need a commit signed (`git commit -S`) by a signer "
                f"of {last}",
                file=path,
                commit=commit,
            )
        elif allowed is not None and sig.principal not in allowed:
            self.add(
                "trust-change-signer",
                f"{rel} changed in a commit signed by {sig.principal}, who may not sign for {last}",
                file=path,
                commit=commit,
            )
        if rel == POLICY_FILE and parent is not None:
            try:  # parsed once per distinct file; an unusable one is read again for its error
                new = self.policy_at(commit) or self.snapshot(commit).policy
                old = self.policy_at(parent) or self.snapshot(parent).policy
            except BadInput as e:
                self.add("schema", e.message, file=path, line=e.line or 0, commit=commit)
                return
            if new.policy_version < old.policy_version:
                self.add(
                    "policy-version",
                    f"policy_version went down from {old.policy_version} to {new.policy_version}: "
                    "an older policy was restored",
                    file=path,
                    commit=commit,
                )

    def check_action(
        self,
        commit: str,
        parent: str | None,
        changed: list[tuple[str, str]],
        stage_files: list[tuple[str, str, str]],
        trust: _Trust,
    ) -> None:
        path = stage_files[0][1]
        tags = self.tags_on(commit)
        if not tags:
            self.no_tag(commit, stage_files)
            return
        if len(tags) > 1:
            names = ", ".join(sorted(t.name for t in tags))
            self.add(
                "tag-count",
                f"one action commit, several action tags: {names}",
                file=path,
                commit=commit,
            )
            return
        tag = tags[0]
        ctx = _Where(path, commit, tag.name)
        if tag.type != "tag":
            self.add(
                "lightweight-tag",
                "the action tag is lightweight: it carries no signature and no facts",
                where=ctx,
            )
            return
        if tag.header_name != tag.name:
            self.add(
                "tag-name",
                f"tag {tag.name} holds a tag object named {tag.header_name!r}: "
                "a tag copied under another name",
                where=ctx,
            )
            return
        name = TagName.parse(tag.name, trust.policy.tag_prefix)
        record = tag.record
        if record is None:
            self.add(
                "tag-body",
                f"the tag message is not an action record ({tag.problem})",
                where=ctx,
            )
            return
        if name is None or (name.model, name.stage, name.seq) != (
            record.model,
            record.stage,
            record.seq,
        ):
            self.add(
                "tag-name",
                f"tag name {tag.name} does not match its body "
                f"({record.model}/{record.stage}/{record.seq})",
                where=ctx,
            )
            return
        commit_record = self.commit_record(commit)
        if commit_record != record:
            self.add(
                "trailers",
                "the commit's Modelreg-* trailers differ from the tag's body",
                where=ctx,
            )
        expected = f"{self.prefix}{STAGES}/{record.model}.yaml"
        others = sorted(p for _s, p in changed if p != expected)
        if others or len(stage_files) != 1 or stage_files[0][1] != expected:
            self.add(
                "action-commit",
                "an action commit changes exactly stages/"
                f"{record.model}.yaml and nothing else; it also changes {', '.join(others) or 'another state file'}",
                where=ctx,
            )
        self.check_signature(tag, record, trust, path, commit)
        self.check_time(tag, record, path, commit)
        if parent is None:
            self.add("action-commit", "an action commit needs a parent", where=ctx)
            return
        self.check_rules(tag, record, commit, parent, trust, path)

    def commit_record(self, commit: str) -> ActionRecord | None:
        found = self.reader.read(commit)
        if not found:
            return None
        message = found[2].decode("utf-8", "replace").split("\n\n", 1)[-1]
        try:
            return ActionRecord.parse(message)
        except ActionFormatError:
            return None

    def no_tag(self, commit: str, stage_files: list[tuple[str, str, str]]) -> None:
        for _status, path, rel in stage_files:
            model = rel[len(STAGES) + 1 : -len(".yaml")]
            state = self.safe_state(commit, model)
            named = [t for t in (state.get("tags") or {}).values() if isinstance(t, str)]
            moved = [  # tags on a commit elsewhere (on a tree or a tag: tag-target, below)
                n
                for n in named
                if self.tags
                and n in self.tags.by_name
                and self.tags.by_name[n].target != commit
                and self.tags.by_name[n].target_type == "commit"
            ]
            fresh = [n for n in moved if self.is_new_tag(n, commit)]
            if fresh:
                self.add(
                    "squash-merge",
                    f"state changed by a commit without its action tag; "
                    f"{fresh[0]} seals another commit, not on this branch: {SQUASH_ADVICE}",
                    file=path,
                    commit=commit,
                    tag=fresh[0],
                )
            else:
                self.add(
                    "unsigned-state-change",
                    "state file changed without a signed action "
                    "tag (edited by hand?): state changes only through modelreg actions",
                    file=path,
                    commit=commit,
                )

    def is_new_tag(self, name: str, commit: str) -> bool:
        """True when tag NAME's commit is not an ancestor of COMMIT (a squash left it behind)."""
        assert self.tags is not None
        target = self.tags.by_name[name].target
        proc = self.git.run("merge-base", "--is-ancestor", target, commit, check=False)
        return proc.returncode != 0

    def safe_state(self, rev: str, model: str) -> dict[str, Any]:
        try:
            return self.snapshot(rev).state(model)
        except BadInput:
            return {}

    def check_signature(
        self, tag: Tag, record: ActionRecord, trust: _Trust, path: str, commit: str
    ) -> None:
        if not trust.policy.signing_required:
            self.add(
                "unsigned-history",
                "policy has signing: {required: false}: this action is "
                "not verified, and nothing proves who made it",
                file=path,
                commit=commit,
                tag=tag.name,
                warning=True,
            )
            return
        sig = trust.verifier.verify("tag", tag.oid, tag.message)
        if not sig.ok or sig.principal is None:
            self.add(
                "signature",
                f"the action tag's signature is not trusted: {sig.message}",
                file=path,
                commit=commit,
                tag=tag.name,
            )
            return
        allowed = signers_for(trust.policy, record.stage)
        if allowed is not None and sig.principal not in allowed:
            stage = record.stage if record.stage != ARCHIVED else trust.policy.stages[-1]
            self.add(
                "signer-not-allowed",
                f"{sig.principal} may not sign actions on {stage} "
                f"(allowed: {describe_signers(allowed)})",
                file=path,
                commit=commit,
                tag=tag.name,
            )
            return
        self.result.signers[tag.name] = sig.principal

    def check_time(self, tag: Tag, record: ActionRecord, path: str, commit: str) -> None:
        if tag.epoch is None:
            self.add(
                "tag-time", "the tag has no tagger date", file=path, commit=commit, tag=tag.name
            )
            return
        if tag.epoch > self.now + MAX_FUTURE_SECONDS:
            self.add(
                "tag-future",
                f"the tag is dated {iso_utc(tag.epoch)}, in the future",
                file=path,
                commit=commit,
                tag=tag.name,
            )
        floor = self.floors.get(commit, 0)
        if tag.epoch < floor - CLOCK_SKEW_SECONDS:
            self.add(
                "tag-backdated",
                f"the tag is dated {iso_utc(tag.epoch)}, {(floor - tag.epoch) // 3600} h before "
                f"the history it was made on ({iso_utc(floor)}): back-dated",
                file=path,
                commit=commit,
                tag=tag.name,
            )
            return
        previous = self.tags.by_name.get(record.previous_tag or "") if self.tags else None
        if previous is None or previous.epoch is None or previous.epoch <= tag.epoch:
            return
        behind = previous.epoch - tag.epoch
        if behind > CLOCK_SKEW_SECONDS:
            self.add(
                "tag-backdated",
                f"the tag is dated {behind // 60} min before the action "
                f"before it ({previous.name}): back-dated",
                file=path,
                commit=commit,
                tag=tag.name,
            )
        else:
            self.add(
                "clock-skew",
                f"dated {behind // 60} min before the action before it "
                f"({previous.name}); order comes from the sequence number",
                file=path,
                commit=commit,
                tag=tag.name,
                warning=True,
            )

    def check_rules(
        self, tag: Tag, record: ActionRecord, commit: str, parent: str, trust: _Trust, path: str
    ) -> None:
        ctx = _Where(path, commit, tag.name)
        try:
            before = self.snapshot(parent, trust.policy)
            state_before = before.state(record.model)
            after = self.snapshot(commit).state(record.model)
        except BadInput as e:
            self.add("schema", e.message, line=e.line or 0, where=ctx)
            return
        # The chain: this tag follows the one the state named before, with seq + 1.
        expected_prev = last_tag(state_before, record.stage)
        if record.previous_tag != expected_prev:
            self.add(
                "tag-chain",
                f"the tag follows {record.previous_tag or 'nothing'}, but the "
                f"state named {expected_prev or 'no tag'} (a replayed or re-ordered tag)",
                where=ctx,
            )
        previous = self.tags.by_name.get(expected_prev) if self.tags and expected_prev else None
        if expected_prev and previous is None:
            self.add(
                "tag-missing",
                f"{expected_prev}, the action before this one, is missing "
                "(deleted tags: fetch them, or the remote lost them)",
                where=ctx,
            )
        elif previous is not None and previous.record is not None:
            if record.seq != previous.record.seq + 1:
                self.add(
                    "tag-seq", f"seq {record.seq} does not follow {previous.record.seq}", where=ctx
                )
        elif not expected_prev and record.seq != 1:
            self.add(
                "tag-seq",
                f"the first action on {record.stage} has seq {record.seq}, not 1",
                where=ctx,
            )
        request = Request(
            action=record.action,
            model=record.model,
            stage=record.stage,
            reason=record.reason,
            actor=record.actor,
            version=None
            if record.action in ("canary-weight", "canary-promote", "canary-abort")
            else record.version,
            weight=record.weight if record.action in ("canary-start", "canary-weight") else None,
        )
        try:
            decision = decide(before, request, iso_utc(tag.epoch or 0))
        except Refusal as r:
            self.add(
                r.rule, f"the action's rules did not hold at its parent: {r.message}", where=ctx
            )
            return
        except BadInput as e:  # a file the rules read (an eval, a version) is unusable
            at = f"{e.file}:{e.line}: " if e.file and e.line else f"{e.file}: " if e.file else ""
            self.add("schema", f"the action's rules cannot be checked: {at}{e.message}", where=ctx)
            return
        if decision.record is None:
            self.add("action-noop", f"the action changes nothing: {decision.noop}", where=ctx)
            return
        expected = decision.record
        diffs = [f for f in _COMPARED if getattr(expected, f) != getattr(record, f)]
        if diffs:
            self.add(
                "tag-body",
                "the tag's facts differ from what the rules give at its parent: "
                + ", ".join(
                    f"{d} {getattr(record, d)!r} != {getattr(expected, d)!r}" for d in diffs
                ),
                where=ctx,
            )
        if after != decision.state:
            self.add(
                "state-mismatch",
                "the committed state file is not the state the action produces (edited by hand?)",
                where=ctx,
            )

    def check_merge(self, commit: str, parents: list[str], trust: _Trust | None) -> None:
        """A merge brings no change of its own to what decides a verdict.

        For state, registered versions, policy, the signer lists and the eval files
        an action relied on, the merge must hold what a three-way merge gives: the
        first parent's file, unless the other side changed it since their merge
        base (then that side's). A change made in the merge itself (an "evil merge",
        a conflict resolved by hand) or an old file brought back by merging an old
        commit was never checked as an action, a signed trust change or evidence.
        """
        watched = self.trust_files(trust, commit, *parents) if trust else {POLICY_FILE}
        first, others = parents[0], parents[1:]
        bases = {o: self.merge_base(first, o) for o in others}
        paths = sorted(
            p
            for rev in parents
            for p in self.changed_between(commit, rev)
            if self.decides_verdicts(p, watched)
        )
        if not paths:
            return
        trees = {
            rev: self.git.tree_blobs(rev, paths)
            for rev in {commit, *parents, *bases.values()}
            if rev
        }
        for path in paths:
            ours = trees[first].get(path)
            expected: set[str | None] = set()
            for other in others:
                theirs = trees[other].get(path)
                fork = bases[other]
                base = trees[fork].get(path) if fork else None
                if theirs in (ours, base):
                    continue  # that side did not change it
                expected.add(theirs if ours == base else "<conflict>")
            want = (
                ours if not expected else (expected.pop() if len(expected) == 1 else "<conflict>")
            )
            if trees[commit].get(path) == want:
                continue
            if path.startswith(f"{self.prefix}{STAGES}/"):
                rule, why = "merge-state", "state only changes in action commits"
            else:
                rule, why = "merge-change", "make the change in a commit of its own"
            if want == "<conflict>":
                what = "both sides changed this file, and the merge resolved it by hand"
            elif trees[commit].get(path) == ours:
                what = "the merge drops the other side's change to this file"
            else:
                what = "the merge holds a version of this file that neither side produced"
            self.add(rule, f"{what}; {why}", file=path, commit=commit)

    def check_merged_actions(self, commit: str, parents: list[str], trust: _Trust) -> None:
        """With --all: the actions a merge brings in must also be trusted by the branch they
        join. Each was judged by its own parent's signers; a key revoked or removed on
        this branch meanwhile does not come back through a side branch."""
        first = parents[0]
        seen: set[str] = set()
        for other in parents[1:]:
            brought = self.git.out("rev-list", other, f"^{first}", "--").split()
            for tag in (t for c in brought for t in self.tags_on(c)):
                record = tag.record
                if tag.type != "tag" or record is None or tag.oid in seen:
                    continue  # malformed tags are reported where they were made
                sig = trust.verifier.verify("tag", tag.oid, tag.message)
                allowed = signers_for(trust.policy, record.stage)
                ok = sig.ok and (allowed is None or sig.principal in allowed)
                seen.add(tag.oid)
                if not ok and trust.policy.signing_required:
                    why = sig.message if not sig.ok else f"{sig.principal} may not sign there"
                    self.add(
                        "merged-untrusted",
                        f"the merge brings in an action its branch does not trust ({why}): a "
                        "key revoked or removed on this branch cannot act through a side branch",
                        commit=commit,
                        tag=tag.name,
                    )

    def merge_base(self, a: str, b: str) -> str | None:
        proc = self.git.run("merge-base", a, b, check=False)
        return proc.stdout.decode().split()[0] if proc.returncode == 0 and proc.stdout else None

    def changed_between(self, a: str, b: str) -> list[str]:
        out = self.git.run("diff-tree", "-r", "-z", "--no-renames", "--name-only", a, b).stdout
        return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]

    def decides_verdicts(self, path: str, watched: set[str]) -> bool:
        rel = self.in_registry(path)
        if rel is None:
            return False
        if rel in watched:  # the policy and signer files, dot names included
            return True
        if rel.rsplit("/", 1)[-1].startswith("."):
            return False
        if rel.startswith(f"{EVALS}/"):
            return path in self.relied()  # evidence no action relied on yet: checked when one does
        return rel.startswith((f"{STAGES}/", f"{MODELS}/"))


def _upstream(git: Git) -> str | None:
    proc = git.run("rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}", check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def run_verify(reg: Registry, base: str | None = None, all_history: bool = False) -> VerifyResult:
    """Verify the commits of BASE..HEAD (or of all history) and return the findings."""
    if reg.git is None or reg.git.toplevel is None:
        raise EnvironmentFailure("verify needs the registry in a git repository", rule="no-git")
    with tempfile.TemporaryDirectory(prefix="modelreg-git-") as home:
        (Path(home) / "gnupg").mkdir(mode=0o700)
        git = Git(reg.git.toplevel, base_env=isolated_env(Path(home)))
        if git.is_shallow():
            raise EnvironmentFailure(
                "this is a shallow clone: verify needs the history of the range (GitHub: "
                "actions/checkout with fetch-depth: 0; GitLab: GIT_DEPTH: 0; or `git fetch "
                "--unshallow`)",
                rule="shallow",
            )
        head = git.rev("HEAD^{commit}")
        if head is None:
            raise EnvironmentFailure("the branch has no commit yet", rule="no-commit")
        if base is None and not all_history:
            base = _upstream(git)  # like `git status`: what this branch adds to its upstream
        base_oid = None
        if base is not None:
            base_oid = git.rev(f"{base}^{{commit}}")
            if base_oid is None:
                raise NotFound(f"--base {base}: no such revision (fetch it first)")
        with git.objects() as reader:
            run = _Run(reg, git, reader, reg.git_prefix)
            try:
                _run(run, head, base, base_oid)
            finally:
                run.close()
            return run.result


def _run(run: _Run, head: str, base: str | None, base_oid: str | None) -> None:
    git = run.git
    spec = [head] if base_oid is None else [head, f"^{base_oid}"]
    run.result.range = "all history" if base_oid is None else f"{base}..HEAD"
    commits = run.commits(spec)
    # The repository's first commit (on the first-parent line) is the one trusted as given;
    # another root in range is a history that never descended from it.
    first_root = git.out("rev-list", "--first-parent", "--max-parents=0", head).split()[:1]
    genesis = first_root
    if base_oid is None:
        genesis, before = _registry_start(run, head, first_root)
        commits = [(c, parents) for c, parents in commits if c not in before]
    run.time_floors(commits)
    run.result.commits = run.report.checked = len(commits)
    trusted_base = run.trust(base_oid) if base_oid else None
    try:
        prefix = (trusted_base.policy if trusted_base else run.snapshot(head).policy).tag_prefix
    except BadInput as e:
        run.add("schema", e.message, file=e.file or "", line=e.line or 0, commit=head)
        prefix = Policy().tag_prefix
    run.tags = TagIndex(git, prefix, run.reader)
    singles = [c for c, parents in commits if len(parents) <= 1]
    changes = run.changes(singles)
    for commit, parents in commits:
        if len(parents) > 1:
            try:
                merge_trust = trusted_base or run.trust(parents[0])
            except BadInput:
                merge_trust = None  # the first parent's own commit reports its policy
            run.check_merge(commit, parents, merge_trust)
            if base_oid is None and merge_trust is not None:
                run.check_merged_actions(commit, parents, merge_trust)
            continue
        if not parents and (base_oid is not None or [commit] != first_root):
            run.add(
                "unrelated-history",
                "a commit with no parent that is not this repository's first commit: an "
                "unrelated history was merged in, and nothing in it is trusted as given",
                commit=commit,
            )
            continue
        first = [commit] == genesis  # its policy and signers are taken as given
        try:
            trust = trusted_base or run.trust(parents[0] if parents and not first else commit)
        except BadInput as e:
            run.add("schema", f"no usable policy: {e.message}", file=e.file or "", commit=commit)
            continue
        changed = changes.get(commit, [])
        run.check_commit(commit, [] if first else parents, changed, trust)
        touched = {
            m[1] for _s, p in changed if (m := _STATE_FILE.fullmatch(run.in_registry(p) or ""))
        }
        run.result.actions += bool(touched)
        run.touched |= touched
    in_range = {c for c, _p in commits}
    _check_head_chain(run, head, in_range, all_models=base_oid is None)


def _registry_start(run: _Run, head: str, first_root: list[str]) -> tuple[list[str], set[str]]:
    """([the registry's first commit], the commits before it) in a repository whose history
    began before the registry: its first commit is the oldest on the first-parent line that
    added the policy file, taken as given as a first commit is, and its ancestors are not
    registry history. A policy file deleted and added again later is still judged by the
    rules (its re-adding has no usable policy before it): only the oldest counts.
    """
    added = run.git.path_log(
        head,
        f"{run.prefix}{POLICY_FILE}",
        "%H %P",
        "--first-parent",
        "--reverse",
        "--diff-filter=A",
    )
    start = added[0].split() if added else []
    if len(start) != 2 or start[:1] == first_root:
        return first_root, set()  # added by the first commit, or by a merge: judged as before
    before = set(run.git.out("rev-list", start[1]).split())
    return start[:1], before


def _check_head_chain(run: _Run, head: str, in_range: set[str], all_models: bool) -> None:
    """Every tag the state files at HEAD name exists and seals a commit of this history (freeze).

    With --base only the models the range touched: the others were verified before.
    """
    assert run.tags is not None
    files = run.git.tree_blobs(head, [f"{run.prefix}{STAGES}/"])
    named: list[tuple[str, str, object, Tag | None]] = []  # (state file, stage, name, tag)
    for path in sorted(files):
        m = _STATE_FILE.fullmatch(run.in_registry(path) or "")
        if not m or not (all_models or m[1] in run.touched):
            continue
        state = run.safe_state(head, m[1])
        for stage, name in sorted((state.get("tags") or {}).items()):
            tag = run.tags.by_name.get(name) if isinstance(name, str) else None
            named.append((path, stage, name, tag))
    # which sealed commits outside the range are on this branch: one ref walk, not one
    # `merge-base --is-ancestor` per tag (600 of them on a 200-model `verify --all`)
    ask = sorted(
        {
            f"refs/tags/{tag.name}"
            for _p, _s, _n, tag in named
            if tag and tag.target_type == "commit" and tag.target not in in_range
        }
    )
    merged = (
        {row[0] for row in run.git.for_each_ref(("refname",), *ask, merged=head)} if ask else set()
    )
    for path, stage, name, tag in named:
        if tag is None:
            run.add(
                "tag-missing",
                f"the state names {name} for {stage}, and no such tag "
                "exists (deleted on the remote? fetch tags: `git fetch --tags`)",
                file=path,
            )
        elif tag.target_type != "commit":
            run.add(
                "tag-target",
                f"{name} is a tag on a {tag.target_type}, not on a commit: an action tag "
                "seals its action commit directly",
                file=path,
                tag=tag.name,
            )
        elif tag.target not in in_range and f"refs/tags/{tag.name}" not in merged:
            run.add(
                "tag-unreachable",
                f"{name} seals a commit that is not on this branch: " + SQUASH_ADVICE,
                file=path,
                tag=tag.name,
            )
