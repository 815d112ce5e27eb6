"""Service: the digest of every registered version, cached by git blob id.

A digest depends only on a file's bytes (and on the schema it must pass), and a
git blob id names those bytes, so `{blob id: digest}` never goes stale. The
cache lives in the git dir, keyed by the version schema's hash; a read-only
clone just recomputes. One `ls-tree` lists the blobs, one `cat-file --batch`
reads the ones not cached yet.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from modelreg.core.digest import CanonicalizationError, digest
from modelreg.core.names import is_model_name, parse_version
from modelreg.registry import MODELS, Registry, schema_findings
from modelreg.schemas import shipped
from modelreg.vcs import Git
from modelreg.yamlio import StrictYamlError, loads

CACHE_FILE = "modelreg-digests.json"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")


@dataclass
class Registered:
    digests: dict[tuple[str, str], str]  # (model, version) -> digest
    skipped: list[str]  # `file: message` of committed version files that are not valid


def _schema_key() -> str:
    data = shipped("schemas/model-version.schema.json").read_bytes()
    return hashlib.sha256(data).hexdigest()


def registered_digests(reg: Registry, rev: str = "HEAD") -> Registered:
    """The digest of every version file committed at REV."""
    assert reg.git is not None and reg.git.toplevel is not None
    git = Git(reg.git.toplevel)
    folder = f"{reg.git_prefix}{MODELS}/"
    blobs = git.tree_blobs(rev, [folder]) if git.rev(rev) else {}
    cache_path = git.git_dir() / CACHE_FILE
    key = _schema_key()
    cache: dict[str, str] = {}
    try:
        loaded = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        loaded = None
    if (
        isinstance(loaded, dict)
        and loaded.get("key") == key
        and isinstance(loaded.get("digests"), dict)
    ):
        cache = {
            k: v for k, v in loaded["digests"].items() if isinstance(v, str) and _DIGEST.match(v)
        }
    out = Registered({}, [])
    todo: list[tuple[str, str, str, str]] = []
    for path, oid in sorted(blobs.items()):
        parts = path[len(folder) :].split("/")
        if len(parts) != 2 or not parts[1].endswith(".yaml"):
            continue
        model, version = parts[0], parts[1][:-5]
        if not is_model_name(model) or parse_version(version) is None:
            continue  # `check` reports misplaced files
        found = cache.get(oid)
        if isinstance(found, str):
            out.digests[(model, version)] = found
        else:
            todo.append((model, version, path, oid))
    if todo:
        with git.objects() as reader:
            for model, version, path, oid in todo:
                raw = reader.blob(oid)
                problem = None
                try:
                    doc = loads(raw or b"")
                    findings = schema_findings(doc, "model-version")
                    if findings:
                        problem = f"{findings[0].line}: {findings[0].message}"
                    else:
                        out.digests[(model, version)] = cache[oid] = digest(doc.data)
                except StrictYamlError as e:
                    problem = f"{e.problems[0].line}: {e.problems[0].message}"
                except CanonicalizationError as e:
                    problem = f" {e}"
                if problem:
                    out.skipped.append(f"{path}:{problem} (at {rev})")
        _save(cache_path, key, cache)
    return out


def _save(path: Path, key: str, cache: dict[str, str]) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({"key": key, "digests": cache}))
        os.replace(tmp, path)
    except OSError:  # a read-only clone: compute again next time
        tmp.unlink(missing_ok=True)
