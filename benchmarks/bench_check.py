"""Time `--help`, `check` (one file and all), `status` and `show` on a generated registry.

    python benchmarks/bench_check.py [--models 100] [--versions 20] [--runs 5]

Runs the installed `modelreg` console script as a user would, several times,
and prints the median, min and max wall time of each, beside the raw git floor
(`git ls-tree -r` + `git cat-file --batch` over the same files).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate

MODELREG = str(Path(sys.executable).parent / "modelreg")


def timed(
    cmd: list[str], cwd: Path, runs: int, expect: int = 0, stdin: bytes | None = None
) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, input=stdin)
        times.append(time.perf_counter() - start)
        if proc.returncode != expect:
            raise SystemExit(
                f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()[:500]}"
            )
    return times


def row(name: str, times: list[float], budget: str) -> str:
    med = statistics.median(times)
    return f"| {name} | {med:.3f} | {min(times):.3f} | {max(times):.3f} | {budget} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    # Byte-compile modelreg as an installed wheel is: with PYTHONDONTWRITEBYTECODE
    # set (as on some machines), an editable install would recompile every run.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            str(Path(__file__).resolve().parents[1] / "modelreg"),
        ],
        check=True,
    )
    tmp = Path(tempfile.mkdtemp(prefix="modelreg-bench-"))
    try:
        root = tmp / "registry"
        files = generate(root, args.models, args.versions)
        one = "models/model-000/1.1.0.yaml"
        blobs = subprocess.run(
            ["git", "ls-tree", "-r", "HEAD"], cwd=root, capture_output=True, check=True
        ).stdout
        batch = b"".join(line.split()[2] + b"\n" for line in blobs.splitlines())
        results = [
            row("`modelreg --help`", timed([MODELREG, "--help"], root, args.runs), "0.15 s"),
            row(
                "`python -c pass` (floor)",
                timed([sys.executable, "-c", "pass"], root, args.runs),
                "",
            ),
            row(
                "`check` of one staged file",
                timed([MODELREG, "check", one], root, args.runs),
                "0.3 s",
            ),
            row(
                "`status` of one model",
                timed([MODELREG, "status", "model-000"], root, args.runs),
                "0.15 s",
            ),
            row(
                "`show` of one version",
                timed([MODELREG, "show", "model-000@1.1.0"], root, args.runs),
                "0.15 s",
            ),
            row("`status` (all models)", timed([MODELREG, "status"], root, args.runs), "0.3 s"),
            row(
                f"`check --all` ({files} files)",
                timed([MODELREG, "check", "--all"], root, args.runs),
                "5 s cold (large)",
            ),
            row(
                "`git ls-tree -r` (floor)",
                timed(["git", "ls-tree", "-r", "HEAD"], root, args.runs),
                "",
            ),
            row(
                "`git cat-file --batch` all blobs (floor)",
                timed(["git", "cat-file", "--batch"], root, args.runs, stdin=batch),
                "",
            ),
        ]
        print(
            f"registry: {args.models} models x {args.versions} versions, {files} files; {args.runs} runs each\n"
        )
        print("| command | median s | min s | max s | budget |")
        print("|---|---|---|---|---|")
        print("\n".join(results))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
