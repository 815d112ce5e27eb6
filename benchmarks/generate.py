"""Generate a registry of MODELS x VERSIONS version files, each with two eval files, committed in git.

python benchmarks/generate.py OUT --models 100 --versions 20
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

from modelreg.core.digest import digest
from modelreg.yamlio import loads

PROJECT = Path(__file__).resolve().parents[1]

VERSION = """\
schema: modelreg/v1
name: {model}
version: {version}
kind: prompt-config
{parent}model:
  provider: anthropic
  id: claude-sonnet-4-5-20250929
params:
  temperature: {temperature}
  max_tokens: {max_tokens}
  top_p: 0.95
system_prompt: |
  You are the {model} assistant, revision {version}.
  Answer in at most {sentences} sentences. Cite the ticket id when one is given.
  Never invent prices, features or policies; say so when you do not know.
tools:
  - name: lookup_ticket
    description: Fetch a support ticket by id.
    input_schema: {{type: object, properties: {{id: {{type: string}}}}, required: [id]}}
{changes}created: 2026-{month:02d}-{day:02d}T09:30:00Z
author: alice@example.com
"""

EVAL = """\
schema: modelreg/eval/v1
model: {model}
version: {version}
config_digest: {digest}
suite: {suite}
dataset: {{name: support-tickets, version: 2026-11-01}}
samples: 500
metrics: {{accuracy: {accuracy}, faithfulness: 0.88, latency_p95_ms: {latency}}}
run: {{id: run-{run}, at: 2026-11-21T10:00:00Z, tool: promptfoo}}
"""


def generate(out: Path, models: int, versions: int) -> int:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copy(PROJECT / "registry-example" / "modelreg.yaml", out / "modelreg.yaml")
    shutil.copytree(PROJECT / "registry-example" / ".modelreg", out / ".modelreg")
    files = 0
    for m in range(models):
        model = f"model-{m:03d}"
        for v in range(versions):
            version = f"1.{v}.0"
            parent = f"parent: 1.{v - 1}.0\n" if v else ""
            changes = (
                f"changes:\n  summary: Revision {v}.\n  reason: Benchmark history (BENCH-{m}-{v}).\n"
                if v
                else ""
            )
            text = VERSION.format(
                model=model,
                version=version,
                parent=parent,
                changes=changes,
                temperature=round(0.1 + (v % 7) / 10, 1),
                max_tokens=256 + v,
                sentences=2 + v % 3,
                month=1 + v % 12,
                day=1 + m % 28,
            )
            path = out / "models" / model / f"{version}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            dg = digest(loads(text).data)
            for suite in ("smoke", "regression"):
                ev = out / "evals" / model / version / f"{suite}.yaml"
                ev.parent.mkdir(parents=True, exist_ok=True)
                ev.write_text(
                    EVAL.format(
                        model=model,
                        version=version,
                        digest=dg,
                        suite=suite,
                        accuracy=0.85 + (v % 10) / 100,
                        latency=800 + v,
                        run=m * 1000 + v,
                    )
                )
            files += 3
    git = ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=out, check=True)
    subprocess.run([*git, "add", "-A"], cwd=out, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "generated registry"], cwd=out, check=True)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--versions", type=int, default=10)
    args = parser.parse_args()
    print(f"{generate(args.out, args.models, args.versions)} registry files in {args.out}")


if __name__ == "__main__":
    main()
