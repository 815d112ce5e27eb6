"""Service: `demo`, a real registry with real history, built from registry-example/.

Everything is made as a user would make it: version and eval files committed
(signed commits), then every promotion, canary and rollback through the real
action service, signed by a throwaway ed25519 key that lives in the git dir
(never in the work tree) and that the first commit adds to the registry's
allowed signers and to its release managers. The timeline lies in the past:
each step runs at a fixed time of day, day by day, starting nine days ago.

The action service starts its own git processes and takes the action's time
from `GIT_COMMITTER_DATE` as git reads it; so the demo (and only the demo) sets
the dates in os.environ around each action, and puts them back after.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from modelreg.core.actions import iso_utc
from modelreg.core.lifecycle import Request
from modelreg.core.policy import POLICY_FILE, signers_for
from modelreg.errors import EnvironmentFailure, ModelregError, UsageError
from modelreg.registry import Registry, obstacle
from modelreg.schemas import shipped
from modelreg.services.actions import run_action
from modelreg.services.history import LogResult, history
from modelreg.services.query import StatusResult, status
from modelreg.signing import make_ssh_key
from modelreg.vcs import Git

NAME = "modelreg demo"
EMAIL = "demo@example.com"
GROUP = "release-managers"
KEY_FOLDER = "modelreg-demo"  # inside the git dir, so never in the work tree
KEY_NAME = "demo_ed25519"
HOOKS_FOLDER = "no-hooks"  # an empty folder in KEY_FOLDER: the demo repo's core.hooksPath
DAY, HOUR, MINUTE = 86400, 3600, 60
DAYS_BACK = 9

# The identity of every git process of the demo: a user's GIT_AUTHOR_NAME & co. would
# otherwise win over the repository's config.
_IDENTITY = {
    "GIT_AUTHOR_NAME": NAME,
    "GIT_AUTHOR_EMAIL": EMAIL,
    "GIT_COMMITTER_NAME": NAME,
    "GIT_COMMITTER_EMAIL": EMAIL,
}
_GROUP_LINE = re.compile(rf"^(  {GROUP}: \[)([^\]\n]*)(\])", re.MULTILINE)

INCIDENT = "INC-2041: summaries dropped next steps; back to 1.0.0 while we fix the prompt"


@dataclass(frozen=True)
class _Commit:
    """Files copied from the example and committed, at DAY HH:MM of the timeline."""

    day: int
    at: str
    message: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class _Action:
    day: int
    at: str
    request: Request


def _act(
    day: int,
    at: str,
    action: str,
    model: str,
    stage: str,
    reason: str,
    version: str | None = None,
    weight: float | None = None,
) -> _Action:
    return _Action(day, at, Request(action, model, stage, reason, "", version, weight))


def _files(model: str, version: str, *suites: str) -> tuple[str, ...]:
    return tuple(f"evals/{model}/{version}/{suite}.yaml" for suite in suites)


# The story, oldest first: (day after the start, UTC time of day, what happens).
PLAN: tuple[_Commit | _Action, ...] = (
    _Commit(
        0,
        "09:00",
        "Set up the model registry: policy and allowed signers",
        (POLICY_FILE, ".modelreg/allowed_signers", ".modelreg/revoked_keys"),
    ),
    _Commit(0, "09:40", "Register summarizer 1.0.0", ("models/summarizer/1.0.0.yaml",)),
    _Commit(
        0,
        "11:15",
        "Add smoke and regression evals of summarizer 1.0.0",
        _files("summarizer", "1.0.0", "smoke", "regression"),
    ),
    _act(
        0,
        "11:30",
        "promote",
        "summarizer",
        "development",
        "First summarizer for the support console pilot",
        "1.0.0",
    ),
    _act(
        0,
        "14:00",
        "promote",
        "summarizer",
        "staging",
        "Smoke eval passed; try it on staging traffic",
        "1.0.0",
    ),
    _act(
        1,
        "10:00",
        "promote",
        "summarizer",
        "production",
        "Regression eval passed; support leads signed off on the pilot",
        "1.0.0",
    ),
    _Commit(
        1, "13:20", "Register ticket-classifier 1.0.0", ("models/ticket-classifier/1.0.0.yaml",)
    ),
    _Commit(
        1,
        "15:45",
        "Add smoke and regression evals of ticket-classifier 1.0.0",
        _files("ticket-classifier", "1.0.0", "smoke", "regression"),
    ),
    _act(
        1,
        "16:00",
        "promote",
        "ticket-classifier",
        "development",
        "Fine-tuned triage classifier, first cut",
        "1.0.0",
    ),
    _act(
        2,
        "09:30",
        "promote",
        "ticket-classifier",
        "staging",
        "Smoke eval passed on the held-out tickets",
        "1.0.0",
    ),
    _Commit(2, "11:00", "Register assistant 1.0.0", ("models/assistant/1.0.0.yaml",)),
    _Commit(
        2, "14:10", "Add the smoke eval of assistant 1.0.0", _files("assistant", "1.0.0", "smoke")
    ),
    _act(
        2,
        "14:30",
        "promote",
        "assistant",
        "development",
        "Support assistant with ticket lookup and doc search",
        "1.0.0",
    ),
    _act(
        3,
        "10:00",
        "promote",
        "ticket-classifier",
        "production",
        "Regression eval on 2,000 held-out tickets passed; replaces manual triage",
        "1.0.0",
    ),
    _act(
        3,
        "11:30",
        "promote",
        "assistant",
        "staging",
        "Smoke eval passed; internal dogfooding before any customer sees it",
        "1.0.0",
    ),
    _Commit(
        4, "09:50", "Register ticket-classifier 2.0.0", ("models/ticket-classifier/2.0.0.yaml",)
    ),
    _Commit(
        4,
        "12:00",
        "Add the smoke eval of ticket-classifier 2.0.0",
        _files("ticket-classifier", "2.0.0", "smoke"),
    ),
    _act(
        4,
        "12:15",
        "promote",
        "ticket-classifier",
        "development",
        "Retrained on October tickets (TICKET-398)",
        "2.0.0",
    ),
    _act(
        4,
        "16:30",
        "promote",
        "ticket-classifier",
        "staging",
        "Smoke eval passed; production waits for the regression run",
        "2.0.0",
    ),
    _Commit(5, "09:15", "Register summarizer 1.1.0", ("models/summarizer/1.1.0.yaml",)),
    _Commit(
        5,
        "11:10",
        "Add smoke and regression evals of summarizer 1.1.0",
        _files("summarizer", "1.1.0", "smoke", "regression"),
    ),
    _act(
        5,
        "11:30",
        "promote",
        "summarizer",
        "development",
        "Next steps first, as support leads asked (TICKET-412)",
        "1.1.0",
    ),
    _act(
        5,
        "15:00",
        "promote",
        "summarizer",
        "staging",
        "Smoke eval passed; accuracy up on the regression suite",
        "1.1.0",
    ),
    _act(
        6,
        "10:00",
        "canary-start",
        "summarizer",
        "production",
        "Regression eval passed; start with a tenth of production traffic",
        "1.1.0",
        10,
    ),
    _act(
        6,
        "16:00",
        "canary-weight",
        "summarizer",
        "production",
        "No errors and no complaints after six hours at 10%",
        weight=25,
    ),
    _act(
        7,
        "10:30",
        "canary-promote",
        "summarizer",
        "production",
        "Canary healthy for a day at 25%; make 1.1.0 the production version",
    ),
    _act(8, "09:20", "rollback", "summarizer", "production", INCIDENT, "1.0.0"),
)

# What the history shows, for people: one line per model.
STORY = (
    "summarizer: 1.0.0 to production; 1.1.0 canaried there (10%, then 25%), promoted, "
    "and rolled back to 1.0.0 (INC-2041)",
    "ticket-classifier: 1.0.0 to production; 2.0.0 to staging, waiting for its regression eval",
    "assistant: 1.0.0 to staging (production needs a regression eval)",
)


@dataclass
class DemoResult:
    root: Path
    commits: int
    actions: int
    start: str  # the first commit's time
    end: str  # the last action's time
    key: Path  # the throwaway private key, in the git dir
    story: tuple[str, ...]
    status: StatusResult
    log: LogResult  # summarizer on production
    serving_new: str  # a moment when summarizer 1.1.0 served production
    new_digest: str  # summarizer 1.1.0's digest
    warnings: list[str] = field(default_factory=list)


def _start(now: float) -> int:
    """Midnight UTC of the day DAYS_BACK days before NOW: the plan's last day is yesterday."""
    return int(now - DAYS_BACK * DAY) // DAY * DAY


def _epoch(start: int, day: int, at: str) -> int:
    hours, minutes = at.split(":")
    return start + day * DAY + int(hours) * HOUR + int(minutes) * MINUTE


def _env(epoch: int) -> dict[str, str]:
    stamp = f"@{epoch} +0000"
    return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp, **_IDENTITY}


@contextmanager
def _dated(epoch: int) -> Iterator[None]:
    """os.environ dated EPOCH, with the demo's identity, for the action service's git processes."""
    values = _env(epoch)
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _refuse_unusable(root: Path) -> None:
    if root.is_symlink() or (root.exists() and not root.is_dir()):
        raise UsageError(f"{root} exists and is not a folder: the demo builds in a new folder")
    if root.exists() and any(root.iterdir()):
        raise UsageError(
            f"{root} exists and is not empty: the demo never overwrites; name a new folder"
        )
    blocker = obstacle(root / "x", Path(root.anchor))
    if blocker is not None:
        raise UsageError(f"{blocker} is a file, not a folder: cannot create {root}")


def _make_folders(root: Path) -> list[Path]:
    """Create ROOT and any missing parents; the folders made, outermost first."""
    made = [folder for folder in reversed([root, *root.parents]) if not folder.exists()]
    for folder in made:
        folder.mkdir()
    return made


def _add_demo_signer(root: Path, public: str) -> None:
    """Trust the demo key: a line in the allowed signers, and a release manager in policy."""
    signers = root / ".modelreg" / "allowed_signers"
    text = signers.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text += "\n"
    signers.write_text(
        f"{text}# the modelreg demo's throwaway key (made by `modelreg demo`)\n"
        f'{EMAIL} namespaces="git" {public}\n',
        encoding="utf-8",
    )
    policy_path = root / POLICY_FILE
    policy = policy_path.read_text(encoding="utf-8")
    new, count = _GROUP_LINE.subn(lambda m: f"{m[1]}{m[2]}, {EMAIL}{m[3]}", policy)
    if count != 1:
        raise EnvironmentFailure(
            f"the shipped registry-example's {POLICY_FILE} has no one-line `{GROUP}: [...]` "
            "group any more, so the demo cannot make its key a release manager (a modelreg bug)",
            rule="demo",
        )
    policy_path.write_text(new, encoding="utf-8")
    allowed = signers_for(Registry(root).policy, "production")
    if allowed is None or EMAIL not in allowed:
        raise EnvironmentFailure(
            f"the demo key is not a production signer under the example's {POLICY_FILE} "
            "(a modelreg bug)",
            rule="demo",
        )


def _init_repo(root: Path) -> tuple[Git, Path, str]:
    """git init ROOT with the demo's local config and key; (git, private key, public line).

    Everything signing needs is set in the repository's own config, so neither the
    user's global config nor its absence matters; core.hooksPath names an empty
    folder in the git dir, so no hook of the user's runs in the demo either.
    """
    git = Git(root)
    # No template (the user's could bring hooks), a fixed branch name, and no hooks at all:
    # a global core.hooksPath (prepare-commit-msg, reference-transaction, ...) would run in
    # the demo's commits and tags, so the repository points core.hooksPath at an empty
    # folder of its own (the init itself, before that folder exists, at where it will be).
    hooks = root / ".git" / KEY_FOLDER / HOOKS_FOLDER
    git.run("-c", f"core.hooksPath={hooks}", "init", "-q", "--template=", "--initial-branch=main")
    folder = git.git_dir() / KEY_FOLDER
    folder.mkdir()
    hooks = folder / HOOKS_FOLDER
    hooks.mkdir()
    key = folder / KEY_NAME
    public = make_ssh_key(key, EMAIL)
    for name, value in (
        ("user.name", NAME),
        ("user.email", EMAIL),
        ("gpg.format", "ssh"),
        ("gpg.ssh.program", "ssh-keygen"),  # a user's global signing program does not apply
        ("user.signingkey", str(key)),
        ("commit.gpgsign", "true"),
        ("core.hooksPath", str(hooks)),  # empty: no hook of the user's runs in the demo
        # so that plain `git log --show-signature` and `git verify-tag` work in the demo too
        ("gpg.ssh.allowedSignersFile", str(root / ".modelreg" / "allowed_signers")),
    ):
        git.run("config", "--local", name, value)
    return git, key, public


def _commit(git: Git, source: Path, root: Path, step: _Commit, epoch: int) -> None:
    for rel in step.paths:
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():  # the first commit's files are copied (and edited) already
            shutil.copyfile(source / rel, target)
    git.run("add", "--", *step.paths)
    git.run("commit", "-q", "--no-verify", "-m", step.message, env=_env(epoch))


def build_demo(directory: Path, now: float | None = None) -> DemoResult:
    """Build the demo registry at DIRECTORY (new or empty); on failure nothing of it stays."""
    root = directory.absolute()
    _refuse_unusable(root)
    source = shipped("registry-example")
    made: list[Path] = []
    try:
        made = _make_folders(root)
        return _build(root, source, time.time() if now is None else now)
    except BaseException as e:
        if made:
            shutil.rmtree(made[0], ignore_errors=True)
        elif root.is_dir():  # it was empty: empty it again
            for child in root.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        if isinstance(e, ModelregError):
            e.message = f"demo: {e.message} (nothing was left in {root})"
        elif isinstance(e, OSError):
            raise EnvironmentFailure(
                f"demo: {e.strerror or e} ({e.filename or root}); nothing was left in {root}",
                rule="demo",
            ) from e
        raise


def _build(root: Path, source: Path, now: float) -> DemoResult:
    start = _start(now)
    git, key, public = _init_repo(root)
    shutil.copyfile(source / POLICY_FILE, root / POLICY_FILE)
    shutil.copytree(source / ".modelreg", root / ".modelreg")
    _add_demo_signer(root, public)
    reg = Registry(root)
    commits = actions = 0
    times: dict[str, int] = {}
    warnings: list[str] = []
    for step in PLAN:
        epoch = _epoch(start, step.day, step.at)
        if epoch > now - HOUR:  # pragma: no cover - the plan ends the day before `now`
            raise EnvironmentFailure("demo: the timeline reaches the present", rule="demo")
        if isinstance(step, _Commit):
            _commit(git, source, root, step, epoch)
            commits += 1
            continue
        with _dated(epoch):
            result = run_action(reg, step.request)
        if result.record is None:  # pragma: no cover - every step changes the state
            raise EnvironmentFailure(
                f"demo: {step.request.action} of {step.request.model} did nothing", rule="demo"
            )
        warnings += result.warnings
        times[step.request.action] = epoch
        commits += 1
        actions += 1
    first = _epoch(start, PLAN[0].day, PLAN[0].at)
    last = _epoch(start, PLAN[-1].day, PLAN[-1].at)
    # A whole hour a few hours after 1.1.0 took production over, well before the rollback.
    serving = (times["canary-promote"] + 4 * HOUR) // HOUR * HOUR
    if not times["canary-promote"] < serving < times["rollback"]:  # pragma: no cover
        raise EnvironmentFailure("demo: the plan has no hour when 1.1.0 served", rule="demo")
    reg = Registry(root)  # read afresh: the state files changed
    return DemoResult(
        root=root,
        commits=commits,
        actions=actions,
        start=iso_utc(first),
        end=iso_utc(last),
        key=key,
        story=STORY,
        status=status(reg),
        log=history(reg, "summarizer", "production"),
        serving_new=iso_utc(serving),
        new_digest=reg.version("summarizer", "1.1.0").digest,
        warnings=warnings,
    )
