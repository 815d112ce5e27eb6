"""Helpers for the verify tests: forged actions built with git plumbing, verify runs.

A forged action is built the way an attacker would: the state file from the
action's rules (`core.lifecycle.decide`, optionally under a lenient policy so
that a refused action can be built anyway), a commit from a private index with
`git commit-tree`, and a tag made by `git tag`/`git mktag` with whatever key,
tagger and date the test chooses. Nothing goes through modelreg's action code.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from conftest import Key, git, make_key
from modelreg.core.actions import ActionRecord, iso_utc
from modelreg.core.lifecycle import Request, decide, render_state
from modelreg.revision import Snapshot
from modelreg.vcs import Git

PREFIX = "modelreg"
MODEL = "summarizer"
STATE = f"stages/{MODEL}.yaml"
NOW = "2026-11-20T10:00:00Z"  # the frozen clock of conftest's isolated_env


def run_git(
    repo: Path,
    *args: str,
    input: str | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> str:
    """git ARGS in REPO with extra ENV (the test's isolated environment underneath)."""
    proc = subprocess.run(
        ["git", *args],
        cwd=repo,
        input=input,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


def epoch_of(date: str) -> int:
    return int(datetime.fromisoformat(date.replace("Z", "+00:00")).timestamp())


def ssh_signing(key: Key) -> list[str]:
    """git -c options that sign with KEY's ssh key."""
    return ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key.private}"]


@dataclass
class Verdict:
    """What `modelreg --json verify` answered."""

    code: int
    data: dict[str, Any]
    err: str

    @property
    def rules(self) -> set[str]:
        return {p["rule"] for p in self.data.get("problems", [])}

    def problems(self, rule: str) -> list[dict[str, Any]]:
        found = [p for p in self.data.get("problems", []) if p["rule"] == rule]
        assert found, f"no {rule!r} problem in {json.dumps(self.data, indent=1)}"
        return found

    def message(self, rule: str) -> str:
        return " | ".join(p["message"] for p in self.problems(rule))

    def __str__(self) -> str:
        return f"exit {self.code}: {json.dumps(self.data, indent=1)} {self.err}"


@dataclass
class Forged:
    commit: str
    tag: str
    record: ActionRecord


@dataclass
class Lab:
    """A registry repository under attack, with the CLI runner of the test."""

    repo: Path
    cli: Callable[..., Any]
    keys: dict[str, Key]
    tmp: Path

    # --- the honest side ----------------------------------------------------------

    def run(self, *args: str) -> Any:
        return self.cli(*args, cwd=self.repo)

    def act(self, *args: str, key: Key | None = None) -> dict[str, Any]:
        """A real action through the CLI (signed with KEY when given); its --json answer."""
        if key is not None:
            self.sign_as(key)
        result = self.run("--json", *args, "--reason", "test action")
        assert result.code == 0, (args, result.out, result.err)
        out: dict[str, Any] = json.loads(result.out)
        return out

    def promote(self, version: str, *stages: str, key: Key | None = None) -> None:
        for stage in stages:
            self.act("promote", MODEL, version, "--to", stage, key=key)

    def sign_as(self, key: Key) -> None:
        for name, value in (
            ("gpg.format", "ssh"),
            ("user.signingkey", str(key.private)),
            ("user.email", key.principal),
        ):
            git(self.repo, "config", name, value)

    def verify(self, *args: str) -> Verdict:
        result = self.run("--json", "verify", *args)
        data = json.loads(result.out) if result.out.strip() else {}
        return Verdict(result.code, data, result.err)

    def head(self) -> str:
        return git(self.repo, "rev-parse", "HEAD").strip()

    def base(self, name: str = "base") -> str:
        """Mark HEAD as the trusted target branch of the pull request that follows."""
        git(self.repo, "branch", "-f", name, "HEAD")
        return self.head()

    def key(self, principal: str) -> Key:
        return make_key(self.tmp / "more-keys", principal)

    def commit(self, message: str = "update", signed_by: Key | None = None) -> str:
        """Commit everything (signed by SIGNED_BY's key when given)."""
        git(self.repo, "add", "-A")
        sign = [*ssh_signing(signed_by), "commit", "-S"] if signed_by else ["commit"]
        run_git(self.repo, *sign, "-q", "--no-verify", "-m", message)
        return self.head()

    def write(self, rel: str, text: str) -> Path:
        path = self.repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def signers(self, *lines: str, signed_by: Key | None = None) -> str:
        """Replace the allowed-signers file with LINES, committed."""
        self.write(".modelreg/allowed_signers", "".join(lines))
        return self.commit("signers", signed_by)

    def revoke(self, *keys: Key, signed_by: Key | None = None) -> str:
        """Replace the revoked-keys file with KEYS' public key lines, committed."""
        self.write(".modelreg/revoked_keys", "".join(f"{k.public_line}\n" for k in keys))
        return self.commit("revocations", signed_by)

    def edit(self, rel: str, old: str, new: str) -> None:
        path = self.repo / rel
        text = path.read_text()
        assert old in text, f"{old!r} not in {rel}"
        path.write_text(text.replace(old, new, 1))

    # --- the attacker's side --------------------------------------------------------

    def forge(
        self,
        action: str,
        stage: str,
        version: str | None = None,
        *,
        key: Key | None,
        model: str = MODEL,
        weight: float | None = None,
        lenient: bool = False,
        evals: dict[str, str] | None = None,
        edit_record: Callable[[ActionRecord], ActionRecord] | None = None,
        edit_state: Callable[[dict[str, Any]], None] | None = None,
        extra: dict[str, str] | None = None,
        tagger: str = "Test User <test@example.com>",
        date: str = NOW,
        kind: str = "signed",
    ) -> Forged:
        """An action commit on HEAD and its tag, built by hand (the branch moves to it).

        LENIENT builds it under a policy without stage rules (so gates and
        from-stages do not refuse); EVALS, EDIT_RECORD and EDIT_STATE change the
        facts; EXTRA adds files to the commit; KIND is "signed" (with KEY),
        "annotated" (unsigned), "lightweight" or "none" (the test makes the tag).
        The work tree is reset to the new commit.
        """
        head = self.head()
        gitx = Git(self.repo)
        with gitx.objects() as reader:
            snap = Snapshot(gitx, head, "", reader)
            policy = snap.policy
            if lenient:
                snap = Snapshot(gitx, head, "", reader, policy=replace(policy, stage_rules={}))
            request = Request(
                action, model, stage, "forged", "mallory@example.com", version, weight
            )
            decision = decide(snap, request, iso_utc(epoch_of(date)))
        record, state = decision.record, decision.state
        assert record is not None, decision.noop
        if evals is not None:
            record = replace(record, evals=evals)
        if edit_record is not None:
            record = edit_record(record)
            state.setdefault("tags", {})[record.stage] = record.tag_name(PREFIX)
        if edit_state is not None:
            edit_state(state)
        files = {f"stages/{model}.yaml": render_state(state, policy.stages), **(extra or {})}
        commit = self.commit_tree(head, files, record.message(), date)
        run_git(self.repo, "update-ref", "HEAD", commit, head)
        run_git(self.repo, "reset", "-q", "--hard")
        name = record.tag_name(PREFIX)
        if kind == "none":
            return Forged(commit, name, record)
        self.tag(name, commit, record.message(), key=key, kind=kind, tagger=tagger, date=date)
        return Forged(commit, name, record)

    def commit_tree(
        self,
        parent: str,
        files: dict[str, str],
        message: str,
        date: str = NOW,
        *,
        tree_of: str | None = None,
    ) -> str:
        """A commit on PARENT whose tree is TREE_OF's (default PARENT's) with FILES changed."""
        index = self.tmp / f"forge-index-{os.getpid()}"
        env = {"GIT_INDEX_FILE": str(index), "GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date}
        try:
            run_git(self.repo, "read-tree", tree_of or parent, env=env)
            for rel, text in files.items():
                blob = run_git(self.repo, "hash-object", "-w", "--stdin", input=text)
                run_git(
                    self.repo,
                    "update-index",
                    "--add",
                    "--cacheinfo",
                    f"100644,{blob},{rel}",
                    env=env,
                )
            tree = run_git(self.repo, "write-tree", env=env)
            return run_git(
                self.repo, "commit-tree", tree, "-p", parent, "-F", "-", input=message, env=env
            )
        finally:
            index.unlink(missing_ok=True)

    def tag(
        self,
        name: str,
        target: str,
        message: str,
        *,
        key: Key | None,
        kind: str = "signed",
        tagger: str = "Test User <test@example.com>",
        date: str = NOW,
    ) -> str:
        """Create tag NAME on TARGET (replacing one of that name); the tag's object id."""
        ident, _, email = tagger.partition(" <")
        env = {
            "GIT_COMMITTER_NAME": ident,
            "GIT_COMMITTER_EMAIL": email.rstrip(">"),
            "GIT_COMMITTER_DATE": date,
        }
        if kind == "lightweight":
            run_git(self.repo, "tag", "-f", name, target)
        elif kind == "annotated":
            run_git(self.repo, "tag", "-f", "-a", "-F", "-", name, target, input=message, env=env)
        else:
            assert kind == "signed" and key is not None
            args = [*ssh_signing(key), "tag", "-f", "-s", "-F", "-", name, target]
            run_git(self.repo, *args, input=message, env=env)
        return run_git(self.repo, "rev-parse", f"refs/tags/{name}")

    def mktag(self, name: str, raw: str) -> str:
        """Write the tag object RAW with `git mktag` and point refs/tags/NAME at it."""
        oid = run_git(self.repo, "mktag", input=raw)
        run_git(self.repo, "update-ref", f"refs/tags/{name}", oid)
        return oid

    def raw_tag(self, name: str) -> str:
        return run_git(self.repo, "cat-file", "tag", f"refs/tags/{name}") + "\n"
