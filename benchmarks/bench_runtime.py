"""Time `Registry.resolve` (budget: 5 µs, DESIGN 8), `import modelreg` and `Registry.from_bundle`.

    python benchmarks/bench_runtime.py [--models 200] [--repeat 7] [--number 200000]

Builds a bundle in memory from registry-example's version files (MODELS models,
every other one with a canary at 10%; no git needed), writes it to a temporary
file, and prints medians of several timeit repeats for each resolve path: no
key (stable), a key routed to the stable side, a key routed to the canary, and a
model without a canary. Import time is measured in fresh interpreters, beside
`python -c pass`. Benchmarks are not tests: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

from modelreg import Registry
from modelreg.core.digest import canonical_json, digest
from modelreg.yamlio import load_path

EXAMPLE = Path(__file__).resolve().parents[1] / "registry-example"
STAGE = "production"


def config(model: str, name: str, version: str, temperature: float) -> dict[str, Any]:
    data = load_path(EXAMPLE / "models" / model / f"{version}.yaml").data
    data["name"] = name
    data["params"]["temperature"] = temperature
    parsed: dict[str, Any] = json.loads(canonical_json(data))
    return parsed


def make_bundle(models: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in range(models):
        name = f"model-{i:04d}"
        stable = config("summarizer", name, "1.0.0", 0.3)
        entry: dict[str, Any] = {
            "version": "1.0.0",
            "digest": digest(stable),
            "since": "2026-11-21T10:05:00Z",
            "tag": f"modelreg/{name}/{STAGE}/1",
            "config": stable,
            "canary": None,
        }
        if i % 2 == 0:
            canary = config("summarizer", name, "1.1.0", 0.2)
            entry["canary"] = {
                "version": "1.1.0",
                "digest": digest(canary),
                "weight": 10,
                "since": "2026-11-22T08:00:00Z",
                "config": canary,
            }
        out[name] = entry
    return {
        "schema": "modelreg/bundle/v1",
        "stage": STAGE,
        "source": {"commit": "0" * 40, "ref": "HEAD", "registry": ""},
        "models": out,
    }


def per_call_us(stmt: Any, number: int, repeat: int) -> tuple[float, float, float]:
    runs = [t / number * 1e6 for t in timeit.repeat(stmt, number=number, repeat=repeat)]
    return statistics.median(runs), min(runs), max(runs)


def wall_ms(argv: list[str], runs: int) -> tuple[float, float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times), max(times)


def row(name: str, stats: tuple[float, float, float], unit: str, budget: str = "") -> str:
    med, lo, hi = stats
    return f"| {name} | {med:.2f} {unit} | {lo:.2f} | {hi:.2f} | {budget} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--number", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=10, help="fresh interpreters per import row")
    args = parser.parse_args()
    # Byte-compile modelreg as an installed wheel is: with PYTHONDONTWRITEBYTECODE set,
    # an editable install would recompile it in every fresh interpreter.
    package = Path(__file__).resolve().parents[1] / "modelreg"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)

    bundle = make_bundle(args.models)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bundle.json"
        path.write_text(json.dumps(bundle, indent=2, sort_keys=True))
        size_kb = path.stat().st_size / 1024
        loads = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            reg = Registry.from_bundle(path)
            loads.append((time.perf_counter() - start) * 1000)

    canary_model, plain_model = "model-0000", "model-0001"
    keys = [f"user-{i}" for i in range(10_000)]
    on_canary = next(k for k in keys if reg.resolve(canary_model, STAGE, k).variant == "canary")
    on_stable = next(k for k in keys if reg.resolve(canary_model, STAGE, k).variant == "stable")
    resolve = reg.resolve

    print(f"Python {sys.version.split()[0]}, {args.models} models ({args.models // 2} with a")
    print(f"canary at 10%), bundle {size_kb:.0f} KiB; resolve: median of {args.repeat} repeats")
    print(f"x {args.number} calls; imports: median of {args.runs} fresh interpreters.")
    print()
    print("| what | median | min | max | budget |")
    print("|---|---|---|---|---|")
    cases = [
        ("resolve, no key (stable)", lambda: resolve(canary_model, STAGE)),
        ("resolve, key on the stable side", lambda: resolve(canary_model, STAGE, on_stable)),
        ("resolve, key on the canary side", lambda: resolve(canary_model, STAGE, on_canary)),
        ("resolve, key, model without canary", lambda: resolve(plain_model, STAGE, on_canary)),
        ("`cfg.attributes()`", reg.resolve(canary_model, STAGE).attributes),
        ("floor: one dict lookup (`d.get(k)`)", lambda: reg._routes.get((canary_model, STAGE))),
    ]
    for name, stmt in cases:
        budget = "5 µs" if name.startswith("resolve") else ""
        print(row(name, per_call_us(stmt, args.number, args.repeat), "µs", budget))

    python = sys.executable
    floor = wall_ms([python, "-c", "pass"], args.runs)
    imp = wall_ms([python, "-c", "import modelreg"], args.runs)
    rt = wall_ms([python, "-c", "from modelreg import Registry"], args.runs)
    print(row("`python -c pass` (floor)", floor, "ms"))
    print(row("`import modelreg`", imp, "ms"))
    print(row("`from modelreg import Registry`", rt, "ms"))
    print(
        row(
            f"`Registry.from_bundle` ({args.models} models, digests recomputed)",
            (statistics.median(loads), min(loads), max(loads)),
            "ms",
        )
    )


if __name__ == "__main__":
    main()
