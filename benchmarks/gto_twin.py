"""A GTO twin of a generated registry: the same history, in GTO 1.10.1's tag formats.

    python benchmarks/gto_twin.py --size small|medium|large   # build (or reuse) and print figures

GTO (https://github.com/iterative/gto) keeps a registry in git tags only:
`model@v1.2.0` registers a version on a commit, `model#stage#N` assigns a stage
to the version registered on the tag's commit, `model@v1.2.0!` deregisters.
`make_twin(source, dest)` clones a modelreg registry (`git clone --shared
--no-checkout --no-tags`: the objects are the source's, no modelreg action tag
comes along) and writes, in ONE `git fast-import`, the annotated tags GTO would
hold after the same history:

- a registration `<model>@v<version>` per version file, on the commit that added
  `models/<model>/<version>.yaml`, tagged by that commit's author at its date;
- per stage-changing action, an assignment `<model>#<stage>#<N>` (N counts per
  model and stage, from 1; GTO's own `gto assign` counts per model, and both
  parse the same) on the registration commit of the version that became the
  stage's version, tagged by the action's tagger at its tagger date: `promote`,
  `rollback` (to the version rolled back to) and `canary-promote` (the canary's
  version). GTO shows, per stage, the version whose assignment is newest (its
  default `--sort timestamp`), so a rollback is an assignment of the older version,
  as `gto assign` would make it; no unassignment tag is needed;
- `archive` deregisters: `<model>@v<version>!` (a second archive of the same
  version `...!#2`); `unarchive` registers again: `<model>@v<version>#2` (GTO's tag
  regex takes a counter after a registration, and a version whose newest
  registration is newer than its newest deregistration is active again);
- canaries (`canary-start`, `canary-weight`, `canary-abort`) have no GTO equivalent
  (GTO has no weighted second version on a stage): they are left out and counted.

The facts come from the source's modelreg tags, read with one `git for-each-ref`
(`%(tagger)` and `%(contents)`, parsed by `ActionRecord.parse`), and the
registration commits from one `git log --diff-filter=A` over `models/`. Then
`git pack-refs --all`, as the source has. GTO itself runs from its own venv,
`benchmarks/.cache/gto-venv` (`gto_executable()` makes it once with `pip install
gto==1.10.1`), so that it can never change the project's packages.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_history import CACHE, SIZES, Stream, ensure

from modelreg.core.actions import ActionFormatError, ActionRecord
from modelreg.core.policy import Policy
from modelreg.yamlio import loads

GTO_VERSION = "1.10.1"
GTO_VENV = CACHE / "gto-venv"
TWIN_FORMAT = 1  # bump when the twin's tags change shape

# actions whose version becomes the stage's version (GTO: an assignment)
ASSIGNING = ("promote", "rollback", "canary-promote")
CANARY_ONLY = ("canary-start", "canary-weight", "canary-abort")
_VERSION_FILE = re.compile(r"models/([^/]+)/([^/]+)\.yaml\Z")


class GtoUnavailable(RuntimeError):
    """GTO could not be installed (the package index is unreachable)."""


def gto_executable(log: Any = None) -> Path:
    """The `gto` script of benchmarks/.cache/gto-venv, made when missing (pip install gto)."""
    gto = GTO_VENV / "bin" / "gto"
    marker = GTO_VENV / f"gto-{GTO_VERSION}.ok"
    if marker.exists() and gto.exists():
        return gto
    if GTO_VENV.exists():
        shutil.rmtree(GTO_VENV)
    CACHE.mkdir(exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n")
    if log:
        log(f"installing gto=={GTO_VERSION} into {GTO_VENV} ...")
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(GTO_VENV)], check=True, capture_output=True)
    pip = subprocess.run(
        [str(GTO_VENV / "bin" / "python"), "-m", "pip", "install", "-q", f"gto=={GTO_VERSION}"],
        capture_output=True,
        text=True,
    )
    if pip.returncode != 0:
        shutil.rmtree(GTO_VENV, ignore_errors=True)
        raise GtoUnavailable(f"pip install gto=={GTO_VERSION} failed: {pip.stderr[-1500:]}")
    marker.write_text(gto_version(gto) + "\n")
    return gto


def gto_version(gto: Path) -> str:
    out = subprocess.run([str(gto), "--version"], capture_output=True, text=True, check=True)
    found = re.search(r"\d+\.\d+\.\d+", out.stdout)
    return found.group(0) if found else out.stdout.strip()


def _git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    proc = subprocess.run(["git", *args], cwd=repo, input=input, capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {proc.stderr.decode()[:500]}")
    return proc.stdout


def _tag(stream: Stream, name: str, commit: str, tagger: str, message: str) -> None:
    stream.write(f"tag {name}\nfrom {commit}\ntagger {tagger}\n".encode())
    stream.data(message.encode())


def registrations(repo: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """{(model, version): (commit that added its file, author ident with date)}."""
    out = _git(
        repo,
        "log",
        "--diff-filter=A",
        "--no-renames",
        "--name-only",
        "--format=%x01%H%x00%an <%ae> %at +0000",
        "HEAD",
        "--",
        "models/",
    ).decode()
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for chunk in out.split("\x01")[1:]:
        head, _, names = chunk.partition("\n")
        commit, ident = head.split("\x00")
        for path in names.split("\n"):
            match = _VERSION_FILE.match(path.strip())
            if match:
                # git log lists newest first: the oldest addition wins (a file added again
                # after a deletion is not a new registration)
                found[(match.group(1), match.group(2))] = (commit, ident)
    return found


def actions(repo: Path, prefix: str) -> list[tuple[ActionRecord, str, int]]:
    """(record, tagger ident with date, tagger epoch) of every action tag, in time order."""
    fmt = "%(refname)%00%(objecttype)%00%(tagger)%00%(taggerdate:unix)%00%(contents)%00"
    out = _git(repo, "for-each-ref", f"--format={fmt}", f"refs/tags/{prefix}/").decode()
    fields = out.split("\x00")
    found = []
    for i in range(0, len(fields) - 4, 5):
        _ref, kind, tagger, epoch, contents = fields[i : i + 5]
        if kind.strip() != "tag":  # a lightweight tag seals nothing
            continue
        try:
            record = ActionRecord.parse(contents)
        except ActionFormatError:
            continue
        found.append((record, tagger, int(epoch)))
    found.sort(key=lambda a: (a[2], a[0].model, a[0].stage, a[0].seq))
    return found


def make_twin(source: Path, dest: Path) -> dict[str, Any]:
    """Clone SOURCE to DEST and write GTO's tags for its history; figures about it."""
    start = time.perf_counter()
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["git", "clone", "-q", "--shared", "--no-checkout", "--no-tags", str(source), str(dest)],
        check=True,
    )
    # No modelreg tag in the twin (a clone with --no-tags has none; one could come
    # from a config that fetches tags): delete any that are there.
    prefix = Policy.from_data(loads(_git(source, "show", "HEAD:modelreg.yaml")).data).tag_prefix
    leftover = _git(dest, "for-each-ref", "--format=%(refname)", f"refs/tags/{prefix}/").split()
    if leftover:
        _git(dest, "update-ref", "--stdin", input=b"".join(b"delete %s\n" % r for r in leftover))

    regs = registrations(source)
    acts = actions(source, prefix)
    stream = Stream(dest)
    counts: Counter[str] = Counter()
    for (model, version), (commit, ident) in sorted(regs.items()):
        _tag(
            stream,
            f"{model}@v{version}",
            commit,
            ident,
            f"Registering artifact {model} version v{version}",
        )
        counts["registration"] += 1
    seen: Counter[tuple[str, str]] = Counter()  # (model, stage) -> assignments so far
    archived: Counter[tuple[str, str]] = Counter()  # (model, version) -> archives so far
    revived: Counter[tuple[str, str]] = Counter()  # (model, version) -> unarchives so far
    for record, tagger, _epoch in acts:
        model, version = record.model, record.version
        if record.action in CANARY_ONLY:
            counts[f"left out: {record.action} (no GTO equivalent)"] += 1
            continue
        if version is None or (model, version) not in regs:
            counts[f"left out: {record.action} of an unregistered version"] += 1
            continue
        commit = regs[(model, version)][0]
        if record.action in ASSIGNING:
            seen[(model, record.stage)] += 1
            n = seen[(model, record.stage)]
            _tag(
                stream,
                f"{model}#{record.stage}#{n}",
                commit,
                tagger,
                f"Assigning stage {record.stage} to artifact {model} version v{version}",
            )
            counts[f"assignment ({record.action})"] += 1
        elif record.action == "archive":
            archived[(model, version)] += 1
            n = archived[(model, version)]
            suffix = "" if n == 1 else f"#{n}"
            _tag(
                stream,
                f"{model}@v{version}!{suffix}",
                commit,
                tagger,
                f"Deregistering artifact {model} version v{version}",
            )
            counts["deregistration (archive)"] += 1
        elif record.action == "unarchive":
            revived[(model, version)] += 1
            _tag(
                stream,
                f"{model}@v{version}#{revived[(model, version)] + 1}",
                commit,
                tagger,
                f"Registering artifact {model} version v{version}",
            )
            counts["registration again (unarchive)"] += 1
        else:
            counts[f"left out: {record.action}"] += 1
    stream.close()
    _git(dest, "pack-refs", "--all")
    tags = len(_git(dest, "for-each-ref", "--format=%(refname)", "refs/tags/").split())
    return {
        "modelreg_actions": len(acts),
        "versions": len(regs),
        "gto_tags": tags,
        "kinds": dict(sorted(counts.items())),
        "seconds": round(time.perf_counter() - start, 2),
    }


def _source_key(source: Path) -> str:
    """What the twin depends on: the source's HEAD and every tag of it."""
    h = hashlib.sha256(f"twin format {TWIN_FORMAT}\n".encode())
    h.update(_git(source, "rev-parse", "HEAD"))
    h.update(_git(source, "for-each-ref", "--format=%(objectname) %(refname)", "refs/tags/"))
    return h.hexdigest()[:16]


def ensure_twin(size: str, log: Any = print) -> tuple[Path, Path, dict[str, Any]]:
    """(source registry, its GTO twin, twin figures) for SIZE, both cached."""
    source, _info = ensure(size, log=log)
    folder = CACHE / size
    twin, stamp_file = folder / "gto-twin", folder / "gto-twin.json"
    key = _source_key(source)
    if stamp_file.exists() and twin.is_dir():
        info: dict[str, Any] = json.loads(stamp_file.read_text())
        if info.get("key") == key:
            return source, twin, info
    log(f"{size}: writing the GTO twin ...")
    info = make_twin(source, twin)
    info["key"] = key
    stamp_file.write_text(json.dumps(info, indent=1))
    return source, twin, info


def gto_stages(gto: Path, repo: Path) -> dict[str, dict[str, str | None]]:
    """{model: {stage: version without its v}} from `gto show --json` in REPO."""
    proc = subprocess.run(
        [str(gto), "show", "--json"], cwd=repo, capture_output=True, text=True, check=True
    )
    shown = json.loads(proc.stdout)
    return {
        model: {
            stage: (v[1:] if isinstance(v, str) and v.startswith("v") else v)
            for stage, v in (entry.get("stage") or {}).items()
        }
        for model, entry in shown.items()
    }


def modelreg_stages(modelreg: str, repo: Path) -> dict[str, dict[str, str | None]]:
    """{model: {stage: version}} from `modelreg --json status` in REPO."""
    proc = subprocess.run(
        [modelreg, "--json", "status"], cwd=repo, capture_output=True, text=True, check=True
    )
    out: dict[str, dict[str, str | None]] = defaultdict(dict)
    for model, stages in json.loads(proc.stdout)["models"].items():
        for stage, entry in (stages or {}).items():
            out[model][stage] = entry.get("version") if isinstance(entry, dict) else None
    return dict(out)


def disagreements(
    ours: dict[str, dict[str, str | None]], theirs: dict[str, dict[str, str | None]]
) -> list[str]:
    """Every (model, stage) whose version differs; a stage absent on one side is None."""
    problems = []
    for model in sorted(set(ours) | set(theirs)):
        a, b = ours.get(model, {}), theirs.get(model, {})
        for stage in sorted(set(a) | set(b)):
            if a.get(stage) != b.get(stage):
                problems.append(f"{model} {stage}: modelreg {a.get(stage)}, gto {b.get(stage)}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--check", action="store_true", help="compare gto show and status")
    args = parser.parse_args()
    source, twin, info = ensure_twin(args.size)
    print(f"{twin}\n{json.dumps(info, indent=1)}")
    if args.check:
        gto = gto_executable(log=print)
        modelreg = str(Path(sys.executable).parent / "modelreg")
        problems = disagreements(modelreg_stages(modelreg, source), gto_stages(gto, twin))
        print(f"gto show vs modelreg status: {len(problems)} disagreements")
        for p in problems[:20]:
            print(f"  {p}")
        raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()
