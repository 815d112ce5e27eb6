"""Time the signed actions on a registry with history: promote, verify, log (DESIGN section 8).

    python benchmarks/bench_actions.py --size small|medium|large [--runs 5] [--all-runs N]
                                       [--processes] [--profile DIR]

The registry comes from generate_history.py (cached in benchmarks/.cache/).
Each benchmark runs the installed `modelreg` console script as a user would,
in a copy of the cached repository (`cp -a`, index refreshed) so that runs
never touch the cache:

- promote: the newest version of a model, never promoted, to development,
  staging and production (three actions, each timed; a different model each run);
- verify --base: a pull request of one production promotion on top of the history;
- log of one model, cold (no `.git/modelreg-verified.json`) and warm;
- verify --all: total and per action (once on large, `--all-runs` times otherwise);
- floors: `python -c pass`, `git for-each-ref` of one model's tags and of all of
  them with their messages, `git log -- stages/<model>.yaml`, one `git verify-tag`,
  a walk of all history with changed paths.

Prints a markdown table of median, min and max wall time per command beside its
budget. `--processes` counts the processes each modelreg command starts (strace);
`--profile DIR` writes a cProfile of each modelreg command to DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_history import CACHE, SIZES, allowed_signers, ensure, ensure_keys

MODELREG = str(Path(sys.executable).parent / "modelreg")
PROJECT = Path(__file__).resolve().parents[1]


def run(cmd: list[str], cwd: Path, expect: int | None = 0) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True)
    if expect is not None and proc.returncode != expect:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()[:1500]}")
    return proc


def timed(
    cmd: list[str], cwd: Path, runs: int, before: list[str] | None = None, expect: int = 0
) -> list[float]:
    """Wall times of RUNS runs of CMD; BEFORE (a path) is deleted before each run."""
    times = []
    for _ in range(runs):
        for path in before or []:
            Path(path).unlink(missing_ok=True)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != expect:
            raise SystemExit(
                f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()[:1500]}"
            )
    return times


def fmt(seconds: float) -> str:
    return f"{seconds:.3f}" if seconds >= 0.01 else f"{seconds:.4f}"


def row(name: str, times: list[float], budget: str = "") -> str:
    med = statistics.median(times)
    return f"| {name} | {fmt(med)} | {fmt(min(times))} | {fmt(max(times))} | {budget} |"


def copy_repo(source: Path, dest: Path) -> Path:
    """A copy of SOURCE's work tree and git dir, its index refreshed (new inodes)."""
    subprocess.run(["cp", "-a", str(source), str(dest)], check=True)
    subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=dest, check=False)
    return dest


def _program(line: str) -> str:
    """`git <command>` or the program's name, from an strace execve line."""
    program = line.split('execve("', 1)[1].split('"', 1)[0]
    args = line.split("[", 1)[1].split("]", 1)[0].split(", ") if "[" in line else []
    name = os.path.basename(program)
    if name == "git":
        rest = [a.strip('"') for a in args[1:]]
        while rest and rest[0].startswith("-"):  # options before the command
            rest = rest[2:] if rest[0] in ("-c", "-C") else rest[1:]
        name = f"git {rest[0] if rest else ''}".strip()
    return name


def count_processes(cmd: list[str], cwd: Path, before: list[str] | None = None) -> Counter[str]:
    """{program: number of execve} of CMD and its children, by strace."""
    for path in before or []:
        Path(path).unlink(missing_ok=True)
    with tempfile.NamedTemporaryFile(prefix="modelreg-strace-", suffix=".txt") as out:
        subprocess.run(
            ["strace", "-f", "-qq", "-s", "256", "-e", "trace=execve", "-o", out.name, *cmd],
            cwd=cwd,
            capture_output=True,
        )
        counts: Counter[str] = Counter()
        pending: dict[str, str] = {}  # pid -> program of an execve strace split in two lines
        for line in Path(out.name).read_text(errors="replace").splitlines():
            pid = line.split(" ", 1)[0]
            if "execve(" in line:
                program = _program(line)
                if line.endswith("<unfinished ...>"):
                    pending[pid] = program
                elif line.rsplit(")", 1)[-1].strip().startswith("= 0"):
                    counts[program] += 1
            elif "<... execve resumed>" in line and pid in pending:
                program = pending.pop(pid)
                if line.rsplit(")", 1)[-1].strip().startswith("= 0"):
                    counts[program] += 1
    return counts


def profile(out: Path, cmd: list[str], cwd: Path, before: list[str] | None = None) -> None:
    """A cProfile of the modelreg command CMD, written to OUT."""
    for path in before or []:
        Path(path).unlink(missing_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(out), *cmd], cwd=cwd, capture_output=True
    )
    print(f"profile: {out}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--all-runs", type=int, default=None, help="runs of verify --all (default: 1 on large)"
    )
    parser.add_argument("--processes", action="store_true", help="count processes (strace)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of each command here")
    args = parser.parse_args()
    models, versions = SIZES[args.size]
    if args.runs + 2 > models:
        raise SystemExit(f"--runs must be at most {models - 2} on {args.size}")
    all_runs = (
        args.all_runs
        if args.all_runs is not None
        else (1 if args.size == "large" else min(args.runs, 3))
    )
    # Byte-compile modelreg as an installed wheel is: with PYTHONDONTWRITEBYTECODE
    # set (as on some machines), an editable install would recompile every run.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(PROJECT / "modelreg")], check=True
    )
    cached, info = ensure(args.size, log=lambda m: print(m, file=sys.stderr))
    names = [f"model-{m:03d}" for m in range(models)]
    newest = f"1.{versions - 1}.0"
    tmp = Path(tempfile.mkdtemp(prefix="modelreg-bench-actions-"))
    results: list[str] = []
    processes: dict[str, Counter[str]] = {}
    try:
        # --- promote, end to end: a different model each run -------------------------
        work = copy_repo(cached, tmp / "actions")
        times: dict[str, list[float]] = {s: [] for s in ("development", "staging", "production")}
        for i in range(args.runs):
            for stage in times:
                times[stage] += timed(
                    [MODELREG, "promote", names[i], newest, "--to", stage, "--reason", "bench"],
                    work,
                    1,
                )
        for stage, t in times.items():
            results.append(row(f"`promote` to {stage} (signing included)", t, "1 s"))

        # --- verify --base of a one-action pull request --------------------------------
        pr_model, extra = names[-1], names[-2]
        for model_ in (pr_model, extra):  # both ready for production
            for stage in ("development", "staging"):
                run([MODELREG, "promote", model_, newest, "--to", stage, "--reason", "b"], work)
        run(["git", "branch", "-f", "bench-base"], work)
        run([MODELREG, "promote", pr_model, newest, "--to", "production", "--reason", "pr"], work)
        verify_base = [MODELREG, "verify", "--base", "bench-base"]
        results.append(
            row(
                "`verify --base` of a one-action PR (production promotion)",
                timed(verify_base, work, args.runs),
                "1 s, independent of history",
            )
        )
        if args.processes:
            processes["verify --base (one action)"] = count_processes(verify_base, work)
        if args.profile:
            profile(args.profile / f"{args.size}-verify-base.prof", verify_base, work)
        promote_extra = [MODELREG, "promote", extra, newest, "--to", "production", "--reason", "b"]
        if args.processes:
            processes["promote to production"] = count_processes(promote_extra, work)
        elif args.profile:
            profile(args.profile / f"{args.size}-promote.prof", promote_extra, work)

        # --- a pristine copy: log, verify --all, floors ---------------------------------
        clean = copy_repo(cached, tmp / "clean")
        model = names[models // 2]
        cache_file = str(clean / ".git" / "modelreg-verified.json")
        log = [MODELREG, "log", model]
        n_events = len(json.loads(run([*log, "--json"], clean).stdout)["events"])
        results.append(
            row(
                f"`log {model}` cold ({n_events} actions, no verification cache)",
                timed(log, clean, args.runs, before=[cache_file]),
                "0.3 s",
            )
        )
        run(log, clean)
        results.append(
            row(f"`log {model}` warm (cache filled)", timed(log, clean, args.runs), "0.3 s")
        )
        if args.processes:
            processes["log cold"] = count_processes(log, clean, before=[cache_file])
            processes["log warm"] = count_processes(log, clean)
        if args.profile:
            profile(args.profile / f"{args.size}-log-cold.prof", log, clean, [cache_file])
            profile(args.profile / f"{args.size}-log-warm.prof", log, clean)

        floors_model = f"refs/tags/modelreg/{model}/"
        fields = (
            "%(refname)%00%(objecttype)%00%(objectname)%00%(tag)%00%(*objecttype)%00"
            "%(*objectname)%00%(taggerdate:unix)%00%(contents)%00"
        )
        one_tag = (
            run(["git", "for-each-ref", "--count=1", "--format=%(refname)", floors_model], clean)
            .stdout.decode()
            .strip()
        )
        signers = tmp / "allowed_signers"
        signers.write_text(allowed_signers(ensure_keys(CACHE / "keys")))
        floors = [
            ("`python -c pass` (floor)", [sys.executable, "-c", "pass"]),
            ("`modelreg --help`", [MODELREG, "--help"]),
            (
                "`git for-each-ref` one model's tags with messages (floor of log)",
                ["git", "for-each-ref", f"--format={fields}", floors_model],
            ),
            (
                "`git log --oneline -- stages/<model>.yaml` (floor of log)",
                ["git", "log", "--oneline", "--", f"stages/{model}.yaml"],
            ),
            (
                "`git verify-tag` of one tag (floor per signature)",
                ["git", "-c", f"gpg.ssh.allowedSignersFile={signers}", "verify-tag", one_tag],
            ),
            (
                "`git for-each-ref` all action tags with messages",
                ["git", "for-each-ref", f"--format={fields}", "refs/tags/modelreg/"],
            ),
            (
                "`git log --name-status` all history (walk floor of verify --all)",
                ["git", "log", "--format=%H %P", "--name-status", "--no-renames", "HEAD"],
            ),
        ]
        for name, cmd in floors:
            results.append(row(name, timed(cmd, clean, args.runs)))

        verify_all = [MODELREG, "verify", "--all", "--json"]
        all_times = []
        report: dict[str, Any] = {}
        for _ in range(all_runs):
            start = time.perf_counter()
            proc = run(verify_all, clean, expect=None)
            all_times.append(time.perf_counter() - start)
            report = json.loads(proc.stdout or b"{}")
            if proc.returncode != 0 or not report.get("ok"):
                problems = report.get("problems", [])[:5]
                raise SystemExit(f"verify --all failed ({proc.returncode}): {problems}")
        if all_times:
            actions, commits = report["actions"], report["commits"]
            results.append(
                row(f"`verify --all` ({commits} commits, {actions} actions)", all_times, "linear")
            )
            results.append(
                row("`verify --all`, per action", [t / actions for t in all_times], "0.010 s")
            )
        if args.processes and args.size != "large":
            processes["verify --all"] = count_processes(verify_all, clean)
        if args.profile and args.size != "large":
            profile(args.profile / f"{args.size}-verify-all.prof", verify_all, clean)

        print(
            f"registry {args.size}: {models} models x {versions} versions, "
            f"{info['commits']} commits, {info['tags']} action tags (generated in "
            f"{info['total_seconds']} s, pack {info['pack_mib']} MiB); "
            f"{args.runs} runs each, verify --all {all_runs}\n"
        )
        print("| command | median s | min s | max s | budget |")
        print("|---|---|---|---|---|")
        print("\n".join(results))
        if processes:
            print("\n| command | processes started (strace execve) |")
            print("|---|---|")
            for name, counts in processes.items():
                total = sum(counts.values())
                detail = ", ".join(f"{k} {v}" for k, v in counts.most_common())
                print(f"| {name} | {total}: {detail} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
