"""Time modelreg, GTO 1.10.1 and the raw git floors side by side; write benchmarks/RESULTS.md.

    python benchmarks/run.py --size small [--size medium --size large] [--runs 5]
                             [--gto-runs N] [--gto-timeout 300] [--gto-timeout-rest 60]
                             [--out benchmarks/RESULTS.md] [--reuse] [--note TEXT ...]
    python benchmarks/run.py --report [--note TEXT ...]   # RESULTS.md from the kept results

For each size, on the cached registry of generate_history.py and its GTO twin
(gto_twin.py; GTO runs from its own venv, benchmarks/.cache/gto-venv, made when
missing), in one run, one command at a time:

- every command of DESIGN section 8's table that exists, as the installed
  `modelreg` console script a user runs, in `cp -a` copies of the cached registry
  (never the cache itself): `--help`, `status --help`, `status`, `status M`, `show
  M@V`, `log M` cold (no `.git/modelreg-verified.json`) and warm, `check` of one
  staged new version file, `check --all` cold (every cache file modelreg left in
  `.git` and in XDG_CACHE_HOME removed before each run) and unchanged since the
  last run, `verify --base` of a one-action pull request, `verify` per action
  (`--all` on small; on medium and large the last VERIFY_RANGE commits, `--base
  HEAD~N`, so the total stays in minutes: the per-action figure includes the
  command's fixed start-up), a promotion to development, staging and production
  (signing included; a different model each run), `Registry.resolve` in process
  (bench_runtime.py's bundle, the key on the canary side: its slowest path);
- their GTO equivalents on the twin: `gto --help`, `gto show`, `gto show M`, `gto
  history M`, `gto check-ref <assignment tag>`, `gto assign` in a throwaway clone;
  each capped at --gto-timeout seconds;
- the raw git floors: `python -c pass`, `git for-each-ref` of every action tag
  with its message, `git ls-tree -r` piped to `git cat-file --batch` (every blob
  of HEAD), `git log -- stages/<model>.yaml`.

Wall time of each run (median, min, max), peak RSS (the largest resident set of
the process and any of its children, as GNU time reports it), ratios GTO / modelreg and
modelreg / floor, each budget marked met or missed. Results of each size are kept
in benchmarks/.cache/results/<size>.json; RESULTS.md gets the sizes measured in
this run (and, with --reuse, the kept results of the others, marked with their
date), and a growth table of each command's median across sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_runtime import make_bundle
from generate_history import CACHE, SIZES
from gto_twin import ensure_twin, gto_executable, gto_version

from modelreg import Registry

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
MODELREG = str(Path(sys.executable).parent / "modelreg")
TIME = shutil.which("time", path="/usr/bin:/bin")  # GNU time, for each command's own peak RSS
RESULTS = CACHE / "results"
VERIFY_RANGE = 600  # commits verified by `verify --base HEAD~N` on medium and large
STAGES = ("development", "staging", "production")


# --- measuring ---------------------------------------------------------------------


@dataclass
class Sample:
    times: list[float]  # seconds per run (per action or per call where the row says so)
    rss_kib: int = 0  # peak resident set over the runs, KiB (0: not measured)
    timeout: float = 0.0  # > 0: a run was stopped after this many seconds
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")


def measure(
    cmd: list[str],
    cwd: Path,
    runs: int,
    env: dict[str, str],
    before: Any = None,
    timeout: float | None = None,
    expect: int | None = 0,
) -> Sample:
    """RUNS runs of CMD; BEFORE() is called before each (untimed)."""
    times: list[float] = []
    rss = 0
    for _ in range(runs):
        if before is not None:
            before()
        with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile() as peak:
            # Linux starts a forked child's high-water mark at the parent's resident size
            # (run.py's, 115 MiB by the large size), so ru_maxrss from wait4 overstates
            # every small command; GNU time forks from its own ~2 MiB and reports the
            # command's own peak (it adds ~1 ms of exec to each timed run).
            wrapped = [TIME, "-f", "%M", "-o", peak.name, *cmd] if TIME else cmd
            start = time.perf_counter()
            proc = subprocess.Popen(
                wrapped,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
            killed = threading.Event()

            def kill(
                proc: subprocess.Popen[bytes] = proc, killed: threading.Event = killed
            ) -> None:
                killed.set()
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

            timer = threading.Timer(timeout, kill) if timeout else None
            if timer:
                timer.start()
            _pid, status, usage = os.wait4(proc.pid, 0)
            elapsed = time.perf_counter() - start
            if timer:
                timer.cancel()
            proc.returncode = os.waitstatus_to_exitcode(status)
            reported = Path(peak.name).read_text().split() if TIME else []
            own = int(reported[-1]) if reported and reported[-1].isdigit() else usage.ru_maxrss
            rss = max(rss, own)
            if killed.is_set():
                return Sample(times, rss, timeout=timeout or 0.0)
            if expect is not None and proc.returncode != expect:
                err.seek(0)
                raise SystemExit(
                    f"{' '.join(cmd)} (in {cwd}) exited {proc.returncode}: "
                    f"{err.read().decode(errors='replace')[-2000:]}"
                )
            times.append(elapsed)
    return Sample(times, rss)


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout


def copy_repo(source: Path, dest: Path) -> Path:
    """A copy of SOURCE's work tree and git dir, its index refreshed (new inodes)."""
    subprocess.run(["cp", "-a", str(source), str(dest)], check=True)
    subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=dest, check=False)
    return dest


# --- one size ---------------------------------------------------------------------


@dataclass
class Row:
    key: str
    name: str
    ours: Sample | None = None
    budget: float | None = None  # seconds (large registry)
    gto: str = ""  # key into the GTO samples
    floor: str = ""  # key into the floor samples
    unit: str = "s"  # "s", or "µs" for in-process calls


@dataclass
class SizeResult:
    size: str
    when: str
    figures: dict[str, Any]
    machine: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    gto: dict[str, tuple[str, Sample]] = field(default_factory=dict)
    floors: dict[str, tuple[str, Sample]] = field(default_factory=dict)


def resolve_sample(repeat: int = 5, number: int = 100_000) -> Sample:
    """Registry.resolve per call, the key on the canary side (bench_runtime's bundle)."""
    bundle = make_bundle(200)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bundle.json"
        path.write_text(json.dumps(bundle))
        reg = Registry.from_bundle(path)
    model = "model-0000"  # a canary at 10%
    key = next(
        k
        for k in (f"user-{i}" for i in range(10_000))
        if reg.resolve(model, "production", k).variant == "canary"
    )
    resolve = reg.resolve
    times = timeit.repeat(lambda: resolve(model, "production", key), number=number, repeat=repeat)
    return Sample([t / number for t in times], note=f"{repeat} x {number:,} calls")


def gto_profile(gto: Path, twin: Path) -> dict[str, Any]:
    """Where `gto show` spends its time: a cProfile of one run (GTO's venv, same Python)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "gto.prof"
        subprocess.run(
            [str(gto.parent / "python"), "-m", "cProfile", "-o", str(out), str(gto), "show"],
            cwd=twin,
            check=True,
            capture_output=True,
        )
        stats = pstats.Stats(str(out))
    found: dict[str, Any] = {"total": round(stats.total_tt, 2)}
    table_ = stats.stats
    for (path, _line, func), (_cc, calls, _tt, cum, _callers) in table_.items():
        where = path.replace(os.sep, "/")
        if where.endswith("gto/registry.py") and func == "get_state":
            found["get_state"], found["get_state_calls"] = round(cum, 2), calls
        elif where.endswith("gto/index.py") and func == "update_state":
            found["enrichment"] = round(cum, 2)  # EnrichmentManager: each version's commit
        elif where.endswith("gto/tag.py") and func == "update_state":
            found["tags"] = round(cum, 2)  # the tag managers: every tag, parsed and indexed
    return found


def machine(gto: Path) -> dict[str, Any]:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    ssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True)
    project = run(["git", "rev-parse", "--short", "HEAD"], PROJECT).strip()
    dirty = run(["git", "status", "--porcelain", "--", "modelreg"], PROJECT).strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "git": run(["git", "--version"], PROJECT).strip().removeprefix("git version "),
        "openssh": (ssh.stderr or ssh.stdout).strip().split(",")[0],
        "gto": gto_version(gto),
        "modelreg": f"{project}{' (modelreg/ with uncommitted changes)' if dirty else ''}",
    }


def bench_size(size: str, args: argparse.Namespace, log: Any) -> SizeResult:
    models, versions = SIZES[size]
    runs = args.runs
    gto_runs = args.gto_runs if args.gto_runs is not None else (3 if size == "small" else 1)
    heavy = 2 if size == "large" else min(runs, 3)  # check --all cold, verify
    if runs + 2 > models:
        raise SystemExit(f"--runs must be at most {models - 2} on {size}")
    source, twin, twin_info = ensure_twin(size, log=log)
    stamp = json.loads((CACHE / size / "stamp.json").read_text())
    gto = gto_executable(log=log)
    load_before = os.getloadavg()
    names = [f"model-{m:03d}" for m in range(models)]
    newest = f"1.{versions - 1}.0"
    model = names[models // 2]
    shown = f"{model}@1.{versions // 2}.0"

    tmp = Path(tempfile.mkdtemp(prefix="modelreg-run-"))
    xdg = tmp / "xdg-cache"
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(xdg),
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_AUTHOR_DATE"):
        env.pop(name, None)
    env.pop("GIT_COMMITTER_DATE", None)
    result = SizeResult(
        size,
        datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        {},
        machine(gto),
    )
    rows = result.rows
    floors, gtos = result.floors, result.gto

    def ours(key: str, name: str, cmd: list[str], cwd: Path, n: int = runs, **kw: Any) -> Sample:
        log(f"{size}: {name}")
        return measure(cmd, cwd, n, env, **kw)

    # Every GTO command but --help first loads the whole registry state as `gto show`
    # does (GTO's get_state: every tag, then each version's commit): past small, only
    # `gto show` gets the full cap; the others are stopped sooner (their time is at
    # least `gto show`'s).
    rest_timeout = args.gto_timeout if size == "small" else args.gto_timeout_rest

    def gto_cmd(
        key: str, name: str, cmd: list[str], cwd: Path, n: int = gto_runs, cap: float = 0
    ) -> None:
        log(f"{size}: {name}")
        sample = measure([str(gto), *cmd], cwd, n, env, timeout=cap or rest_timeout)
        gtos[key] = (name, sample)

    try:
        clean = copy_repo(source, tmp / "clean")
        files = len(run(["git", "ls-tree", "-r", "--name-only", "HEAD"], clean).splitlines())
        result.figures = {
            "models": models,
            "versions": versions,
            "commits": stamp["commits"],
            "action_tags": stamp["tags"],
            "files": files,
            "pack_mib": stamp.get("pack_mib"),
            "gto_tags": twin_info["gto_tags"],
            "gto_kinds": twin_info["kinds"],
            "runs": runs,
            "gto_runs": gto_runs,
            "heavy_runs": heavy,
            "gto_timeout": args.gto_timeout,
            "gto_timeout_rest": rest_timeout,
        }

        # --- floors -------------------------------------------------------------------
        fields = "%(refname)%00%(objectname)%00%(*objectname)%00%(taggerdate:unix)%00%(contents)"
        for key, name, cmd in (
            ("python", "`python -c pass`", [sys.executable, "-c", "pass"]),
            # every command's start-up floor: the CLI framework's import alone
            ("typer", "`python -c 'import typer'`", [sys.executable, "-c", "import typer"]),
            (
                "for_each_ref",
                "`git for-each-ref` every action tag, with messages",
                ["git", "for-each-ref", f"--format={fields}", "refs/tags/modelreg/"],
            ),
            (
                "ls_cat",
                "`git ls-tree -r HEAD` piped to `git cat-file --batch` (every blob)",
                [
                    "sh",
                    "-c",
                    "git ls-tree -r --format='%(objectname)' HEAD | git cat-file --batch",
                ],
            ),
            (
                "log_path",
                "`git log -- stages/M.yaml`",
                ["git", "log", "--", f"stages/{model}.yaml"],
            ),
        ):
            log(f"{size}: floor {name}")
            floors[key] = (name, measure(cmd, clean, runs, env))

        # --- read commands ------------------------------------------------------------
        verified = clean / ".git" / "modelreg-verified.json"
        rows += [
            Row("help", "`modelreg --help`", ours("help", "--help", [MODELREG, "--help"], clean),
                0.15, "help", "python"),
            Row("status_help", "`modelreg status --help`",
                ours("status_help", "status --help", [MODELREG, "status", "--help"], clean),
                0.15, "help", "python"),
            Row("status", "`status` (all models)",
                ours("status", "status", [MODELREG, "status"], clean), 0.3, "show", "for_each_ref"),
            Row("status_one", "`status M`",
                ours("status_one", "status M", [MODELREG, "status", model], clean), 0.15,
                "show_one", "typer"),
            Row("show_one", "`show M@V`",
                ours("show_one", "show M@V", [MODELREG, "show", shown], clean), 0.15,
                "show_one", "typer"),
        ]  # fmt: skip
        n_events = len(json.loads(run([MODELREG, "--json", "log", model], clean, env))["events"])
        result.figures.update(M=model, V=shown.split("@")[1], log_actions=n_events)
        rows.append(
            Row(
                "log_cold",
                "`log M` cold (no verification cache)",
                ours(
                    "log_cold",
                    "log cold",
                    [MODELREG, "log", model],
                    clean,
                    before=lambda: verified.unlink(missing_ok=True),
                ),
                0.3,
                "history",
                "log_path",
            )
        )
        run([MODELREG, "log", model], clean, env)
        rows.append(
            Row(
                "log_warm",
                "`log M` warm",
                ours("log_warm", "log warm", [MODELREG, "log", model], clean),
                0.3,
                "history",
                "log_path",
            )
        )

        # --- check ----------------------------------------------------------------------
        run([MODELREG, "new", names[0]], clean, env)
        new_file = f"models/{names[0]}/1.{versions}.0.yaml"
        path = clean / new_file
        text = path.read_text()
        text = text.replace("summary: ''", "summary: benchmark").replace(
            "reason: ''", "reason: benchmark"
        )
        path.write_text(text)
        run(["git", "add", new_file], clean)
        rows.append(
            Row(
                "check_one",
                "`check` of one staged file (pre-commit)",
                ours("check_one", "check one file", [MODELREG, "check", new_file], clean),
                0.3,
            )
        )
        run(["git", "rm", "-q", "--cached", new_file], clean)
        path.unlink()
        git_dir = clean / ".git"
        pristine = {p.name for p in git_dir.iterdir()}

        def forget() -> None:
            """Remove what modelreg cached since the copy: new files in .git, XDG cache."""
            for p in git_dir.iterdir():
                if p.name not in pristine and p.name.startswith("modelreg"):
                    if p.is_dir():
                        shutil.rmtree(p)
                    else:
                        p.unlink()
            shutil.rmtree(xdg, ignore_errors=True)

        rows.append(
            Row(
                "check_all_cold",
                f"`check --all` cold ({files:,} files)",
                ours("check_all_cold", "check --all cold", [MODELREG, "check", "--all"], clean,
                     n=heavy, before=forget),
                5.0,
                "",
                "ls_cat",
            )
        )  # fmt: skip
        run([MODELREG, "check", "--all"], clean, env)
        rows.append(
            Row(
                "check_all_warm",
                "`check --all` unchanged since the last run",
                ours("check_all_warm", "check --all unchanged", [MODELREG, "check", "--all"],
                     clean, n=heavy),
                0.5,
                "",
                "ls_cat",
            )
        )  # fmt: skip
        cached = sorted(p.name for p in git_dir.iterdir() if p.name not in pristine)
        result.figures["check_cache"] = cached

        # --- verify per action ------------------------------------------------------------
        if size == "small":
            cmd = [MODELREG, "--json", "verify", "--all"]
            what = "`verify --all`"
        else:
            cmd = [MODELREG, "--json", "verify", "--base", f"HEAD~{VERIFY_RANGE}"]
            what = f"`verify --base HEAD~{VERIFY_RANGE}`"
        report = json.loads(run(cmd, clean, env))
        if not report.get("ok"):
            raise SystemExit(f"{' '.join(cmd)}: not ok: {report.get('problems', [])[:5]}")
        actions, commits = report["actions"], report["commits"]
        total = ours("verify_all", what, cmd, clean, n=heavy)
        per = Sample(
            [t / actions for t in total.times],
            total.rss_kib,
            note=f"{what}: {commits:,} commits, {actions:,} actions, "
            f"{statistics.median(total.times):.1f} s in all",
        )
        rows.append(Row("verify_per_action", "`verify`, per action (range: notes)", per, 0.010))

        # --- GTO on its twin --------------------------------------------------------------
        gto_cmd("help", "`gto --help`", ["--help"], twin, n=runs)
        gto_cmd("show", "`gto show`", ["show"], twin, cap=args.gto_timeout)
        gto_cmd("show_one", "`gto show M`", ["show", model], twin)
        gto_cmd("history", "`gto history M`", ["history", model], twin)
        if size == "small":
            log(f"{size}: a cProfile of gto show")
            result.figures["gto_profile"] = gto_profile(gto, twin)
        tags = run(
            [
                "git",
                "for-each-ref",
                "--format=%(refname:strip=2)",
                f"refs/tags/{model}#production#*",
            ],
            twin,
        ).split()
        tag = max(tags, key=lambda t: int(t.rsplit("#", 1)[1]))
        gto_cmd("check_ref", "`gto check-ref T`", ["check-ref", tag], twin)
        result.figures["T"] = tag
        assign = tmp / "gto-assign"
        subprocess.run(
            ["git", "clone", "-q", "--shared", "--no-checkout", str(twin), str(assign)], check=True
        )
        log(f"{size}: gto assign")
        samples = []
        for i in range(gto_runs):
            samples.append(
                measure(
                    [str(gto), "assign", names[i], "--version", f"v{newest}", "--stage",
                     "production"],
                    assign, 1, env, timeout=rest_timeout,
                )
            )  # fmt: skip
            if samples[-1].timeout:
                break
        gtos["assign"] = (
            "`gto assign` (throwaway clone)",
            Sample(
                [t for s in samples for t in s.times],
                max(s.rss_kib for s in samples),
                timeout=max(s.timeout for s in samples),
            ),
        )

        # --- actions: promotions, then verify --base of a one-action PR --------------------
        work = copy_repo(source, tmp / "actions")
        promoted: dict[str, list[Sample]] = {s: [] for s in STAGES}
        log(f"{size}: promote x {runs}")
        for i in range(runs):
            for stage in STAGES:
                promoted[stage].append(
                    measure(
                        [MODELREG, "promote", names[i], newest, "--to", stage, "--reason", "b"],
                        work, 1, env,
                    )
                )  # fmt: skip
        for stage in STAGES:
            samples = promoted[stage]
            rows.append(
                Row(
                    f"promote_{stage}",
                    f"`promote` to {stage}, end to end (signing included)",
                    Sample([s.times[0] for s in samples], max(s.rss_kib for s in samples)),
                    1.0,
                    "assign" if stage == "production" else "",
                )
            )
        pr_model, extra = names[-1], names[-2]
        for m in (pr_model, extra):
            for stage in ("development", "staging"):
                run([MODELREG, "promote", m, newest, "--to", stage, "--reason", "b"], work, env)
        run(["git", "branch", "-f", "bench-base"], work)
        run(
            [MODELREG, "promote", pr_model, newest, "--to", "production", "--reason", "pr"],
            work,
            env,
        )
        rows.append(
            Row(
                "verify_base",
                "`verify --base` of a one-action pull request",
                ours("verify_base", "verify --base", [MODELREG, "verify", "--base", "bench-base"],
                     work),
                1.0,
                "check_ref",
            )
        )  # fmt: skip

        log(f"{size}: Registry.resolve")
        rows.append(
            Row("resolve", "`Registry.resolve` in process", resolve_sample(), 5e-6, unit="µs")
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load_after = os.getloadavg()
    result.machine["load"] = (
        f"{' '.join(f'{x:.2f}' for x in load_before)} before, "
        f"{' '.join(f'{x:.2f}' for x in load_after)} after"
    )
    return result


# --- reporting -------------------------------------------------------------------------


def fmt(seconds: float, unit: str = "s") -> str:
    if seconds != seconds:  # nan
        return "—"
    if unit == "µs":
        return f"{seconds * 1e6:.2f} µs"
    if seconds >= 10:
        return f"{seconds:.1f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.01:
        return f"{seconds:.3f} s"
    return f"{seconds:.4f} s"


def cell(s: Sample | None, unit: str = "s", spread: bool = True) -> str:
    if s is None:
        return ""
    if s.timeout and not s.times:
        return f"> {s.timeout:.0f} s (stopped)"
    text = fmt(s.median, unit)
    if spread and len(s.times) > 1:
        lo, hi = min(s.times), max(s.times)
        text += f" ({fmt(lo, unit).split()[0]}–{fmt(hi, unit)})"
    if s.timeout:
        text += f", a run > {s.timeout:.0f} s"
    return text


def mib(s: Sample | None) -> str:
    return f"{s.rss_kib / 1024:.0f} MiB" if s and s.rss_kib else ""


def verdict(row: Row) -> str:
    if row.budget is None or row.ours is None:
        return ""
    med = row.ours.median
    if med <= row.budget:
        return f"met ({med / row.budget:.0%})"
    return f"**missed** (x{med / row.budget:.1f})"


def ratio(a: Sample | None, b: Sample | None) -> str:
    if not a or not b or not b.times:
        return ""
    if a.timeout and not a.times:
        return f"> {a.timeout / b.median:,.0f}x"
    return (
        f"{a.median / b.median:,.0f}x"
        if a.median >= 10 * b.median
        else f"{a.median / b.median:.1f}x"
    )


def table(res: SizeResult) -> list[str]:
    out = [
        "| command | modelreg median (min–max) | peak RSS | budget (large) | | GTO 1.10.1 "
        "equivalent | GTO median | GTO RSS | GTO / modelreg | raw git floor | floor median "
        "| modelreg / floor |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in res.rows:
        gname, gs = res.gto.get(row.gto, ("", None)) if row.gto else ("", None)
        fname, fs = res.floors.get(row.floor, ("", None)) if row.floor else ("", None)
        budget = "" if row.budget is None else fmt(row.budget, row.unit)
        out.append(
            f"| {row.name} | {cell(row.ours, row.unit)} | {mib(row.ours)} | {budget} | "
            f"{verdict(row)} | {gname} | {cell(gs, spread=True)} | {mib(gs)} | "
            f"{ratio(gs, row.ours)} | {fname} | {cell(fs, spread=False)} | "
            f"{ratio(row.ours, fs)} |"
        )
    return out


def growth(results: list[SizeResult]) -> list[str]:
    sizes = [r.size for r in results]
    head = "| command | " + " | ".join(sizes) + " |"
    if len(sizes) > 1:
        head += f" {sizes[-1]} / {sizes[0]} |"
    out = [head, "|---" * (len(sizes) + 1 + (len(sizes) > 1)) + "|"]
    entries: list[tuple[str, str, str]] = []  # (label, kind, key)
    for row in results[0].rows:
        label = row.name.split(" (")[0]
        entries.append(
            (label if label.startswith("`modelreg") else f"modelreg {label}", "row", row.key)
        )
    for key, (name, _s) in results[0].gto.items():
        entries.append((name, "gto", key))
    for key, (name, _s) in results[0].floors.items():
        entries.append((f"floor: {name}", "floor", key))

    def sample(res: SizeResult, kind: str, key: str) -> tuple[Sample | None, str]:
        if kind == "row":
            row = next((r for r in res.rows if r.key == key), None)
            return (row.ours, row.unit) if row else (None, "s")
        table_ = res.gto if kind == "gto" else res.floors
        return (table_[key][1] if key in table_ else None), "s"

    for label, kind, key in entries:
        cells, meds = [], []
        for res in results:
            s, unit = sample(res, kind, key)
            cells.append(cell(s, unit, spread=False) if s else "")
            meds.append(s.median if s and s.times else None)
        line = f"| {label} | " + " | ".join(cells) + " |"
        if len(results) > 1:
            first, last = meds[0], meds[-1]
            stopped, _unit = sample(results[-1], kind, key)
            if first and last:
                line += f" {last / first:.1f}x |"
            elif first and stopped and stopped.timeout:
                line += f" > {stopped.timeout / first:,.0f}x |"
            else:
                line += " |"
        out.append(line)
    return out


def summary(res: SizeResult) -> list[str]:
    """Each budget met or missed on RES, with the margin."""
    met, missed = [], []
    startup = res.floors.get("typer")
    for row in res.rows:
        if row.budget is None or row.ours is None or not row.ours.times:
            continue
        med, budget = row.ours.median, row.budget
        text = f"{row.name}: {fmt(med, row.unit)} against {fmt(budget, row.unit)}"
        if med <= budget:
            met.append(f"{text} ({med / budget:.0%} of it)")
        else:
            line = f"{text} (x{med / budget:.1f}, {fmt(med - budget, row.unit)} over)"
            if startup and row.unit == "s" and 0.1 <= budget < 1:  # a whole command's budget
                line += f"; start-up alone (`import typer`) is {fmt(startup[1].median, 's')}"
            missed.append(line)
    return [
        f"Met ({len(met)}):",
        "",
        *(f"- {m}" for m in met),
        "",
        f"Missed ({len(missed)}):",
        "",
        *(f"- {m}" for m in missed),
    ]


def to_json(res: SizeResult) -> dict[str, Any]:
    return asdict(res)


def from_json(data: dict[str, Any]) -> SizeResult:
    def sample(d: dict[str, Any] | None) -> Sample | None:
        return None if d is None else Sample(**d)

    rows = [Row(**{**r, "ours": sample(r["ours"])}) for r in data["rows"]]
    gto = {k: (n, sample(s)) for k, (n, s) in data["gto"].items()}
    floors = {k: (n, sample(s)) for k, (n, s) in data["floors"].items()}
    return SizeResult(
        data["size"], data["when"], data["figures"], data["machine"], rows, gto, floors
    )


def gto_note(results: list[SizeResult]) -> list[str]:
    """Where GTO's time goes, from the cProfile of `gto show` on small, if one was made."""
    prof = next((r.figures["gto_profile"] for r in results if "gto_profile" in r.figures), None)
    if not prof or not prof.get("get_state"):
        return []
    share = prof.get("enrichment", 0) / prof["get_state"]
    return [
        f"Where GTO's time goes (cProfile of `gto show` on small, {prof['total']} s under the "
        f"profiler): `GitRegistry.get_state` runs {prof['get_state_calls']} times "
        f"({prof['get_state']} s); of that, {share:.0%} ({prof.get('enrichment')} s) is "
        "`EnrichmentManager.update_state`, which resolves the commit of every registered "
        "version and reads that commit's tree for GTO's annotations (`describe`), and "
        f"{prof.get('tags')} s the tag managers (every tag parsed and indexed). The tree "
        "walk grows with versions x files at each version's commit, which is why `gto show` "
        "grows faster than the tag count from small to medium. Every GTO command but `--help` "
        "pays `get_state` at least once.",
        "",
    ]


def write_results(
    results: list[SizeResult], out: Path, argv: list[str], remarks: list[str] | None = None
) -> None:
    order = list(SIZES)
    results = sorted(results, key=lambda r: order.index(r.size))
    argv = [
        a
        for i, a in enumerate(argv)
        if a != "--note" and not a.startswith("--note=") and (i == 0 or argv[i - 1] != "--note")
    ]
    m = results[-1].machine
    lines = [
        "# Benchmarks: modelreg beside GTO 1.10.1 and raw git",
        "",
        f"Written by `python benchmarks/run.py {' '.join(argv)}`"
        + (
            ""
            if "--report" not in argv
            else " from the results kept in benchmarks/.cache/results/, measured by `python "
            f"benchmarks/run.py {results[0].figures.get('argv', '--size ...')}`"
        )
        + " (see run.py's docstring for what",
        "each row runs and how). Budgets are DESIGN section 8's, set for the large registry;",
        "they are marked on every size. Nothing here is a test: no time is asserted.",
        "",
        "## Machine and versions",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {m['cpu']}, {m['cores']} cores (shared with other work) |",
        f"| kernel | Linux {m['kernel']} |",
        f"| Python | {m['python']} |",
        f"| git | {m['git']} |",
        f"| OpenSSH | {m['openssh']} |",
        f"| GTO | {m['gto']} (its own venv, benchmarks/.cache/gto-venv) |",
        f"| modelreg | commit {m['modelreg']} |",
    ]
    for r in results:
        lines.append(f"| load average ({r.size}, {r.when}) | {r.machine.get('load', '')} |")
    lines += [
        "",
        "## Sizes",
        "",
        "| size | models x versions | commits | modelreg action tags | files at HEAD | pack | "
        "GTO twin tags | runs (modelreg / heavy / GTO) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        f = r.figures
        lines.append(
            f"| {r.size} | {f['models']} x {f['versions']} | {f['commits']:,} | "
            f"{f['action_tags']:,} | {f['files']:,} | {f['pack_mib']} MiB | {f['gto_tags']:,} | "
            f"{f['runs']} / {f['heavy_runs']} / {f['gto_runs']} |"
        )
    kinds = results[-1].figures["gto_kinds"]
    rest = [r.figures["gto_timeout_rest"] for r in results if r.size != "small"]
    lines += [
        "",
        "The GTO twin (`benchmarks/gto_twin.py`) holds, on "
        f"{results[-1].size}: "
        + ", ".join(f"{v:,} {k}" for k, v in kinds.items())
        + ". Canaries have no GTO equivalent. `tests/test_gto_twin.py` checks that "
        "`gto show` agrees with `modelreg status` on every model's version per stage.",
        "",
        *gto_note(results),
        "'heavy' runs: `check --all` cold and `verify`. Each cell: median (min–max) of the "
        "runs. GTO runs are stopped after a cap: "
        f"{results[-1].figures['gto_timeout']:.0f} s"
        + (
            f"; on medium and large, GTO commands other than `gto show` after {rest[0]:.0f} s: "
            "each of them first loads the whole registry state exactly as `gto show` does "
            "(GTO's `get_state`: every tag, then the commit of every version), so `gto show`'s "
            "time is a lower bound for them"
            if rest
            else ""
        )
        + ". A stopped run reads `> N s (stopped)`, and its ratio is a lower bound.",
    ]
    for r in results:
        f = r.figures
        lines += ["", f"## {r.size} ({f['models']} x {f['versions']}; measured {r.when})", ""]
        lines += table(r)
        cache = f.get("check_cache") or []
        notes = [
            f"M = {f['M']} ({f['log_actions']} actions in its log), V = {f['V']}, T = {f['T']} "
            "(its newest production assignment in the GTO twin).",
            f"`check --all` left in `.git`: {', '.join(cache) if cache else 'nothing new'} "
            "(removed before each cold run, with XDG_CACHE_HOME).",
        ]
        per = next((row for row in r.rows if row.key == "verify_per_action"), None)
        if per and per.ours:
            notes.append(f"verify per action: {per.ours.note}.")
        res_row = next((row for row in r.rows if row.key == "resolve"), None)
        if res_row and res_row.ours:
            notes.append(f"`Registry.resolve`: {res_row.ours.note}, median per call.")
        lines += ["", *(f"- {n}" for n in notes)]
    lines += ["", f"## Budgets on {results[-1].size}", "", *summary(results[-1])]
    if remarks:
        lines += ["", "## Notes from the run", "", *(f"- {n}" for n in remarks)]
    if len(results) > 1:
        lines += [
            "",
            "## Growth: median per size",
            "",
            "Commands about one model or one pull request should stay flat as history grows.",
            "",
            *growth(results),
        ]
    out.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=SIZES, action="append", help="repeat for several")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--gto-runs", type=int, default=None, help="default: 3 on small, 1 otherwise"
    )
    parser.add_argument("--gto-timeout", type=float, default=300.0, help="cap of each GTO run (s)")
    parser.add_argument(
        "--gto-timeout-rest",
        type=float,
        default=60.0,
        help="cap of GTO runs other than `gto show` on medium and large (s)",
    )
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument(
        "--reuse", action="store_true", help="add the kept results of sizes not measured now"
    )
    parser.add_argument(
        "--report", action="store_true", help="measure nothing: write OUT from the kept results"
    )
    parser.add_argument(
        "--note", action="append", default=[], help="a line for RESULTS.md's notes (repeat)"
    )
    args = parser.parse_args()
    sizes = args.size or ["small"]
    if args.report:
        kept = [RESULTS / f"{s}.json" for s in (args.size or SIZES)]
        found = [from_json(json.loads(k.read_text())) for k in kept if k.exists()]
        if not found:
            raise SystemExit(f"no kept results in {RESULTS}")
        write_results(found, args.out, sys.argv[1:], args.note)
        print(args.out.read_text())
        return

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    # Byte-compile modelreg as an installed wheel is: with PYTHONDONTWRITEBYTECODE set
    # (as on some machines), an editable install would recompile every run.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(PROJECT / "modelreg")], check=True
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = []
    for size in sizes:
        start = time.perf_counter()
        res = bench_size(size, args, log)
        res.figures["argv"] = " ".join(sys.argv[1:])
        res.figures["seconds"] = round(time.perf_counter() - start)
        (RESULTS / f"{size}.json").write_text(json.dumps(to_json(res), indent=1))
        log(f"{size}: done in {time.perf_counter() - start:.0f} s")
        results.append(res)
    if args.reuse:
        for size in SIZES:
            kept = RESULTS / f"{size}.json"
            if size not in sizes and kept.exists():
                results.append(from_json(json.loads(kept.read_text())))
    write_results(results, args.out, sys.argv[1:], args.note)
    print(args.out.read_text())


if __name__ == "__main__":
    main()
