"""Generate a registry with a realistic, signed action history, cached by size.

    python benchmarks/generate_history.py --size small|medium|large [--force] [--verify]

On top of generate.py's registry (MODELS x VERSIONS version files, each with a
`smoke` and a `regression` eval), history is built as it would have happened:
models advance together, round after round; each version is added in its own
commit, its evals in the next, then the actions of that round: promotions
development -> staging -> production in order, and at the end of each model's
history a rollback, a canary (start, weight, promote) and an archive. The
newest version of each model is committed with its evals but never promoted,
so a benchmark can promote it (to development, staging, then production).

Every action is what `modelreg promote` (and the other actions) would have
made: the rules of `modelreg.core.lifecycle.decide` give the record and the
new state (tag chain, seq, previous version, digests, gate eval digests); the
state file is `render_state(...)`, the commit changes only `stages/<model>.yaml`
and carries `ActionRecord.message()`, and the annotated tag
`modelreg/<model>/<stage>/<seq>` carries the same message, SSH-signed exactly
as `git tag -s` signs it (the tag header and message signed by `ssh-keygen -Y
sign -n git`, the signature block appended). Signers: carol signs development,
bob staging, alice (a release manager) production and archive; all three are
trusted in `.modelreg/allowed_signers` from the first commit on.

Speed: commits go through one `git fast-import`, the tags through a second one
(its `tag` command writes the signed message as given), signatures through a
few `ssh-keygen -Y sign` processes over many files at once, two at a time.
Then `git pack-refs --all`, `git repack -a -d` and `git commit-graph write
--reachable --changed-paths`, as a long-lived repository would have.

Sizes: small 10 x 10, medium 100 x 20, large 200 x 50 (~12k tags, ~32k
commits). The registry lives in benchmarks/.cache/<size>/registry with the
signing keys in benchmarks/.cache/keys/; it is reused while the sources that
shape it (this file, generate.py, modelreg's action and rule modules) are
unchanged, and rebuilt otherwise. Its git config signs as alice.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate

from modelreg.core.actions import ARCHIVED, iso_utc
from modelreg.core.digest import digest
from modelreg.core.lifecycle import Refusal, Request, decide, render_state
from modelreg.core.policy import Policy
from modelreg.yamlio import loads

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
CACHE = HERE / ".cache"
SIZES = {"small": (10, 10), "medium": (100, 20), "large": (200, 50)}
PREFIX = "modelreg"
SIGNERS = {"alice": "Alice", "bob": "Bob", "carol": "Carol"}  # all @example.com
STAGE_SIGNER = {"development": "carol", "staging": "bob", "production": "alice", ARCHIVED: "alice"}
STEP = 60  # seconds between two commits
# Bump when the history this file makes changes shape; with the sources below, the
# fingerprint of a cached registry (a change of either rebuilds it).
HISTORY_FORMAT = 2
SOURCES = [
    HERE / "generate.py",
    PROJECT / "registry-example" / "modelreg.yaml",
    *(
        PROJECT / "modelreg" / "core" / f"{m}.py"
        for m in ("actions", "lifecycle", "gates", "digest", "policy")
    ),
    PROJECT / "modelreg" / "yamlio.py",
]


def ident(who: str) -> str:
    return f"{SIGNERS[who]} <{who}@example.com>"


# --- keys ---------------------------------------------------------------------------


def ensure_keys(folder: Path) -> dict[str, Path]:
    """An ed25519 key per signer in FOLDER (made once); {name: private key path}."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for who in SIGNERS:
        key = folder / who
        if not key.exists():
            comment = f"{who}@example.com"
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)],
                check=True,
            )
        key.chmod(0o600)
        out[who] = key
    return out


def allowed_signers(keys: Mapping[str, Path]) -> str:
    lines = ['# principal namespaces="git" key (ssh-keygen(1) ALLOWED SIGNERS)\n']
    for who, key in keys.items():
        public = " ".join(key.with_name(key.name + ".pub").read_text().split()[:2])
        lines.append(f'{who}@example.com namespaces="git" {public}\n')
    return "".join(lines)


# --- the registry as the rules see it -------------------------------------------------


class MemoryView:
    """core.lifecycle.View over the files generate() wrote and the states made so far."""

    def __init__(self, root: Path, policy: Policy) -> None:
        self.root = root
        self._policy = policy
        self.states: dict[str, dict[str, Any]] = {}
        self._served: dict[tuple[str, str], set[str]] = {}
        self._versions: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        self._evals: dict[tuple[str, str], dict[str, Mapping[str, Any]]] = {}

    @property
    def policy(self) -> Policy:
        return self._policy

    def version(self, model: str, version: str) -> tuple[dict[str, Any], str] | None:
        key = (model, version)
        if key not in self._versions:
            data = loads((self.root / "models" / model / f"{version}.yaml").read_bytes()).data
            self._versions[key] = (data, digest(data))
        return self._versions[key]

    def evals(self, model: str, version: str) -> Mapping[str, Mapping[str, Any]]:
        key = (model, version)
        if key not in self._evals:
            folder = self.root / "evals" / model / version
            self._evals[key] = {
                p.stem: loads(p.read_bytes()).data for p in sorted(folder.glob("*.yaml"))
            }
        return self._evals[key]

    def state(self, model: str) -> dict[str, Any]:
        return self.states.get(model, {})

    def served(self, model: str, stage: str) -> set[str]:
        """Versions STAGE served in some state file of the history so far."""
        return set(self._served.get((model, stage), ()))

    def record(self, model: str, state: dict[str, Any]) -> None:
        """STATE is MODEL's state from now on."""
        self.states[model] = state
        for stage, entry in (state.get("stages") or {}).items():
            if isinstance(entry, dict) and isinstance(entry.get("version"), str):
                self._served.setdefault((model, stage), set()).add(entry["version"])


def plan(versions: int) -> list[list[tuple[str, str, int | None, float | None]]]:
    """Per round (one version of every model), the actions: (action, stage, version index, weight).

    Round v adds version v and its evals, then acts. Promotions skip a fifth of
    the versions; staging takes every `every`-th, production every other of those.
    The last round adds the newest version only and ends each model's history with
    a rollback, a canary and an archive.
    """
    every = max(2, versions // 12)
    rounds: list[list[tuple[str, str, int | None, float | None]]] = []
    for v in range(versions):
        acts: list[tuple[str, str, int | None, float | None]] = []
        if v < versions - 1:
            if v % 5 != 1:
                acts.append(("promote", "development", v, None))
                if v % every == every - 1:
                    acts.append(("promote", "staging", v, None))
                    if v % (2 * every) == 2 * every - 1:
                        acts.append(("promote", "production", v, None))
        else:
            acts += [
                ("rollback", "production", None, None),
                ("canary-start", "production", -1, 10.0),  # -1: the version serving staging
                ("canary-weight", "production", None, 25.0),
                ("canary-promote", "production", None, None),
                ("archive", ARCHIVED, 0, None),
            ]
        rounds.append(acts)
    return rounds


# --- fast-import ----------------------------------------------------------------------


class Stream:
    """A `git fast-import` process fed one command at a time."""

    def __init__(self, repo: Path, marks: Path | None = None) -> None:
        args = ["git", "fast-import", "--quiet", "--date-format=raw"]
        if marks is not None:
            args.append(f"--export-marks={marks}")
        self.proc = subprocess.Popen(args, cwd=repo, stdin=subprocess.PIPE)
        self.buf: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> None:
        self.buf.append(data)
        self.size += len(data)
        if self.size > 1 << 20:
            self.flush()

    def data(self, payload: bytes) -> None:
        self.write(b"data %d\n" % len(payload) + payload + b"\n")

    def flush(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"".join(self.buf))
        self.buf, self.size = [], 0

    def commit(
        self,
        who: str,
        epoch: int,
        message: str,
        files: Mapping[str, bytes],
        mark: int | None = None,
    ) -> None:
        head = b"commit refs/heads/main\n"
        if mark is not None:
            head += b"mark :%d\n" % mark
        stamp = f"{ident(who)} {epoch} +0000\n".encode()
        self.write(head + b"author " + stamp + b"committer " + stamp)
        self.data(message.encode())
        for path, content in files.items():
            self.write(f"M 100644 inline {path}\n".encode())
            self.data(content)
        self.write(b"\n")

    def close(self) -> None:
        self.flush()
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        if self.proc.wait() != 0:
            raise SystemExit("git fast-import failed")


# --- signing --------------------------------------------------------------------------


def sign_all(payloads: list[tuple[str, bytes]], keys: Mapping[str, Path]) -> list[bytes]:
    """SSH signatures (namespace git) of each (signer, payload), as `git tag -s` makes them.

    ssh-keygen signs many files in one run: a few runs, two at a time.
    """
    with tempfile.TemporaryDirectory(prefix="modelreg-sign-") as tmp:
        folder = Path(tmp)
        jobs: dict[str, list[Path]] = {}
        for i, (who, payload) in enumerate(payloads):
            path = folder / f"{i}"
            path.write_bytes(payload)
            jobs.setdefault(who, []).append(path)
        chunks = []
        for who, paths in jobs.items():
            size = max(1, min(1500, len(paths) // 2 + 1))
            chunks += [(who, paths[i : i + size]) for i in range(0, len(paths), size)]

        def run(chunk: tuple[str, list[Path]]) -> None:
            who, paths = chunk
            subprocess.run(
                ["ssh-keygen", "-q", "-Y", "sign", "-n", "git", "-f", str(keys[who])]
                + [str(p) for p in paths],
                check=True,
                capture_output=True,
            )

        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(run, chunks))
        return [(folder / f"{i}.sig").read_bytes() for i in range(len(payloads))]


# --- the history --------------------------------------------------------------------


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, input=input, capture_output=True)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)}: {proc.stderr.decode()[:500]}")
    return proc.stdout.decode()


def build(out: Path, models: int, versions: int, keys: Mapping[str, Path]) -> dict[str, Any]:
    """Write the registry with its history to OUT; figures about it."""
    t0 = time.perf_counter()
    # generate() makes the files, and a one-commit repository that is not kept; no
    # automatic gc may start in the background there while it is removed.
    saved = {
        k: os.environ.get(k) for k in ("GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0")
    }
    os.environ.update(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="gc.auto", GIT_CONFIG_VALUE_0="0")
    try:
        generate(out, models, versions)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    shutil.rmtree(out / ".git")
    (out / ".modelreg" / "allowed_signers").write_text(allowed_signers(keys))
    t_files = time.perf_counter() - t0
    subprocess.run(["git", "init", "-q", "-b", "main", str(out)], check=True)
    for key, value in (
        ("user.name", SIGNERS["alice"]),
        ("user.email", "alice@example.com"),
        ("gpg.format", "ssh"),
        ("user.signingKey", str(keys["alice"])),
    ):
        git(out, "config", key, value)

    policy = Policy.from_data(loads((out / "modelreg.yaml").read_bytes()).data)
    view = MemoryView(out, policy)
    rounds = plan(versions)
    names = [f"model-{m:03d}" for m in range(models)]
    commits = len(rounds) * models * 2 + 1 + sum(len(r) for r in rounds) * models
    epoch = int(time.time()) - commits * STEP - 3600  # history ends an hour ago
    marks = out / ".git" / "bench-marks"
    stream = Stream(out, marks)
    root_files = {
        rel: (out / rel).read_bytes()
        for rel in ("modelreg.yaml", ".modelreg/allowed_signers", ".modelreg/revoked_keys")
    }
    stream.commit("alice", epoch, "Registry policy and trusted signers\n", root_files)
    # (tag name, signer, commit mark, epoch, message) of each action, in order
    actions: list[tuple[str, str, int, int, str]] = []
    skipped: list[str] = []
    n_commits = 1
    for v, acts in enumerate(rounds):
        version = f"1.{v}.0"
        for m, model in enumerate(names):
            author = ("alice", "bob", "carol")[(m + v) % 3]
            rel = f"models/{model}/{version}.yaml"
            epoch += STEP
            stream.commit(
                author, epoch, f"Add {model}@{version}\n", {rel: (out / rel).read_bytes()}
            )
            evals = {
                f"evals/{model}/{version}/{s}.yaml": (
                    out / "evals" / model / version / f"{s}.yaml"
                ).read_bytes()
                for s in ("smoke", "regression")
            }
            epoch += STEP
            stream.commit(author, epoch, f"Evals for {model}@{version}\n", evals)
            n_commits += 2
            for action, stage, vi, weight in acts:
                if vi == -1:
                    served = (view.state(model).get("stages") or {}).get("staging") or {}
                    target = served.get("version")
                else:
                    target = None if vi is None else f"1.{vi}.0"
                signer = STAGE_SIGNER[stage]
                epoch += STEP
                request = Request(
                    action,
                    model,
                    stage,
                    f"benchmark history: {action} in round {v}",
                    f"{signer}@example.com",
                    target,
                    weight,
                )
                try:
                    decision = decide(view, request, iso_utc(epoch))
                except Refusal as r:
                    skipped.append(f"{model} {action} {stage} {target}: {r.rule}: {r.message}")
                    continue
                record = decision.record
                if record is None:
                    skipped.append(f"{model} {action} {stage} {target}: no-op: {decision.noop}")
                    continue
                text = render_state(decision.state, policy.stages)
                parsed = loads(text).data
                if parsed != decision.state:
                    raise SystemExit(f"render_state does not read back for {model}: {text}")
                tag = record.tag_name(policy.tag_prefix)
                view.record(model, parsed)
                message = record.message()
                stream.commit(
                    signer,
                    epoch,
                    message,
                    {f"stages/{model}.yaml": text.encode()},
                    mark=len(actions) + 1,
                )
                actions.append((tag, signer, len(actions) + 1, epoch, message))
                n_commits += 1
    stream.close()
    t_commits = time.perf_counter() - t0 - t_files

    oids = {}
    for line in marks.read_text().splitlines():
        number, oid = line.split()
        oids[int(number[1:])] = oid
    marks.unlink()
    payloads = []
    for tag, signer, mark, when, message in actions:
        header = (
            f"object {oids[mark]}\ntype commit\ntag {tag}\ntagger {ident(signer)} {when} +0000\n\n"
        )
        payloads.append((signer, (header + message).encode()))
    signatures = sign_all(payloads, keys)
    t_sign = time.perf_counter() - t0 - t_files - t_commits

    tags = Stream(out)
    expected: dict[str, str] = {}
    for (tag, signer, mark, when, message), (_who, payload), sig in zip(
        actions, payloads, signatures, strict=True
    ):
        tags.write(f"tag {tag}\nfrom {oids[mark]}\ntagger {ident(signer)} {when} +0000\n".encode())
        tags.data(message.encode() + sig)
        body = payload + sig
        expected[f"refs/tags/{tag}"] = hashlib.sha1(
            b"tag %d\0" % len(body) + body, usedforsecurity=False
        ).hexdigest()
    tags.close()
    # Every tag object is byte for byte the payload that was signed, plus its signature.
    found = dict(
        line.split()[::-1]
        for line in git(out, "for-each-ref", "--format=%(objectname) %(refname)", "refs/tags/")
        .strip()
        .splitlines()
    )
    if found != expected:
        bad = next(k for k in expected if found.get(k) != expected[k])
        raise SystemExit(f"tag object of {bad} is not the signed payload")

    # The work tree: generate()'s files, the final states; the index from HEAD.
    (out / "stages").mkdir(exist_ok=True)
    for model, state in view.states.items():
        (out / "stages" / f"{model}.yaml").write_text(render_state(state, policy.stages))
    git(out, "reset", "-q")
    dirty = git(out, "status", "--porcelain", "--untracked-files=all")
    if dirty:
        raise SystemExit(f"work tree differs from the history's last commit:\n{dirty[:2000]}")
    t_tags = time.perf_counter() - t0 - t_files - t_commits - t_sign
    git(out, "pack-refs", "--all")
    git(out, "repack", "-a", "-d", "-q")
    git(out, "commit-graph", "write", "--reachable", "--changed-paths")
    t_maint = time.perf_counter() - t0 - t_files - t_commits - t_sign - t_tags
    return {
        "models": models,
        "versions": versions,
        "commits": n_commits,
        "tags": len(actions),
        "skipped": skipped,
        "seconds": {
            "files (generate.py)": round(t_files, 1),
            "rules + fast-import of commits": round(t_commits, 1),
            "signing": round(t_sign, 1),
            "tags + checkout": round(t_tags, 1),
            "pack-refs + repack + commit-graph": round(t_maint, 1),
        },
    }


def check_one_tag(repo: Path, keys: Mapping[str, Path]) -> None:
    """`git verify-tag` accepts a generated tag, and `git tag -s` makes the same object."""
    with tempfile.TemporaryDirectory(prefix="modelreg-check-") as tmp:
        signers = Path(tmp) / "allowed_signers"
        signers.write_text(allowed_signers(keys))
        row = git(
            repo,
            "for-each-ref",
            "--count=1",
            "--format=%(refname:strip=2) %(objectname) %(*objectname) %(taggerdate:raw)",
            "refs/tags/",
        ).split()
        name, oid, target, epoch = row[:4]
        out = subprocess.run(
            ["git", "-c", f"gpg.ssh.allowedSignersFile={signers}", "verify-tag", oid],
            cwd=repo,
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            raise SystemExit(f"git verify-tag {name} failed: {out.stderr}")
        # ed25519 signatures are deterministic: git's own signing gives the very same object
        contents = git(repo, "cat-file", "tag", oid)
        message = contents.split("\n\n", 1)[1].split("-----BEGIN SSH SIGNATURE-----")[0]
        tagger = next(ln for ln in contents.splitlines() if ln.startswith("tagger "))
        who = tagger.split("<")[1].split("@")[0]
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "init", "-q", "--bare", str(clone)], check=True, capture_output=True)
        (clone / "objects" / "info").mkdir(parents=True, exist_ok=True)
        (clone / "objects" / "info" / "alternates").write_text(f"{repo / '.git' / 'objects'}\n")
        env = {**os.environ, "GIT_COMMITTER_DATE": f"@{epoch} +0000"}
        config = {
            "gpg.format": "ssh",
            "user.signingKey": str(keys[who]),
            "user.name": SIGNERS[who],
            "user.email": f"{who}@example.com",
        }
        options = [arg for k, v in config.items() for arg in ("-c", f"{k}={v}")]
        made = subprocess.run(
            ["git", *options, "tag", "-s", "-F", "-", name, target],
            cwd=clone,
            input=message,
            env=env,
            capture_output=True,
            text=True,
        )
        if made.returncode != 0:
            raise SystemExit(f"git tag -s failed: {made.stderr}")
        theirs = git(clone, "rev-parse", f"refs/tags/{name}").strip()
        if theirs != oid:
            raise SystemExit(f"git tag -s made {theirs} for {name}, the generator {oid}")


def fingerprint(keys: Mapping[str, Path]) -> str:
    h = hashlib.sha256(f"history format {HISTORY_FORMAT}".encode())
    for path in SOURCES:
        h.update(path.read_bytes())
    for key in keys.values():
        h.update(key.with_name(key.name + ".pub").read_bytes())
    return h.hexdigest()[:16]


def ensure(
    size: str, force: bool = False, log: Callable[[str], None] = print
) -> tuple[Path, dict[str, Any]]:
    """The cached registry of SIZE (built when missing or stale) and its figures."""
    CACHE.mkdir(exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n")  # never committed
    keys = ensure_keys(CACHE / "keys")
    folder = CACHE / size
    repo, stamp_file = folder / "registry", folder / "stamp.json"
    stamp = fingerprint(keys)
    if not force and stamp_file.exists():
        info = json.loads(stamp_file.read_text())
        if info.get("fingerprint") == stamp and repo.is_dir():
            return repo, info
        log(f"{size}: the cached registry is stale (its sources changed): rebuilding")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    models, versions = SIZES[size]
    log(f"{size}: generating {models} models x {versions} versions with history ...")
    start = time.perf_counter()
    info = build(repo, models, versions, keys)
    check_one_tag(repo, keys)
    info["fingerprint"] = stamp
    info["total_seconds"] = round(time.perf_counter() - start, 1)
    info["pack_mib"] = round(
        sum(p.stat().st_size for p in (repo / ".git" / "objects" / "pack").glob("*.pack")) / 2**20,
        1,
    )
    stamp_file.write_text(json.dumps(info, indent=1))
    return repo, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--force", action="store_true", help="rebuild even when cached")
    parser.add_argument(
        "--verify", action="store_true", help="then run `modelreg verify --all` on it"
    )
    args = parser.parse_args()
    repo, info = ensure(args.size, force=args.force)
    shown = {k: v for k, v in info.items() if k != "skipped"}
    print(f"{repo}\n{json.dumps(shown, indent=1)}")
    if info["skipped"]:
        print(
            f"{len(info['skipped'])} planned actions the rules refused, e.g. {info['skipped'][0]}"
        )
    if args.verify:
        modelreg = str(Path(sys.executable).parent / "modelreg")
        start = time.perf_counter()
        proc = subprocess.run(
            [modelreg, "verify", "--all", "--json"], cwd=repo, capture_output=True
        )
        took = time.perf_counter() - start
        result = json.loads(proc.stdout or b"{}")
        problems = result.get("problems", [])
        print(
            f"modelreg verify --all: exit {proc.returncode}, ok={result.get('ok')}, "
            f"{result.get('commits')} commits, {result.get('actions')} actions, "
            f"{len(problems)} problems, {took:.1f} s"
        )
        for p in problems[:10]:
            print(f"  {p}")
        if proc.returncode != 0:
            print(proc.stderr.decode()[:2000])
            raise SystemExit(1)


if __name__ == "__main__":
    main()
