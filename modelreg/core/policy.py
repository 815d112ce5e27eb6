"""Core: the registry policy (`modelreg.yaml`) as typed data, read after schema validation."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_STAGES = ("development", "staging", "production")
POLICY_FILE = "modelreg.yaml"
DEFAULT_ALLOWED_SIGNERS = ".modelreg/allowed_signers"
_FORMATS = {"ssh": ("ssh",), "openpgp": ("openpgp",), "any": ("ssh", "openpgp")}


@dataclass(frozen=True)
class Gate:
    suite: str
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    no_regression: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StageRule:
    from_stages: tuple[str, ...] | None = None  # None: any registered version may enter
    gates: tuple[Gate, ...] = ()
    require_pinned_model: bool = False
    signers: tuple[str, ...] = ()
    canary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    stages: tuple[str, ...] = DEFAULT_STAGES
    signing_required: bool = True
    allowed_signers: str = DEFAULT_ALLOWED_SIGNERS
    revocation_file: str | None = None
    signing_formats: tuple[str, ...] = ("ssh",)
    openpgp_keys: str | None = None  # armored public keys of OpenPGP signers
    tag_prefix: str = "modelreg"
    branch: str | None = None
    policy_version: int = 0
    pinned_patterns: tuple[str, ...] = ()
    floating_model: str = "warning"  # lint level of a floating model id outside required stages
    stage_rules: dict[str, StageRule] = field(default_factory=dict)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Policy:
        """Build from a schema-valid policy document."""
        signing = data.get("signing") or {}
        rules = {
            stage: StageRule(
                from_stages=tuple(rule["from"]) if "from" in rule else None,
                gates=tuple(
                    Gate(
                        suite=g["suite"],
                        metrics=dict(g.get("metrics") or {}),
                        no_regression=dict(g.get("no_regression") or {}),
                    )
                    for g in rule.get("gates") or ()
                ),
                require_pinned_model=bool(rule.get("require_pinned_model", False)),
                signers=tuple(rule.get("signers") or ()),
                canary=dict(rule.get("canary") or {}),
            )
            for stage, rule in (data.get("stage_rules") or {}).items()
        }
        return cls(
            stages=tuple(data.get("stages") or DEFAULT_STAGES),
            signing_required=bool(signing.get("required", True)),
            allowed_signers=_registry_path(signing.get("allowed_signers"))
            or DEFAULT_ALLOWED_SIGNERS,
            revocation_file=_registry_path(signing.get("revocation_file")),
            signing_formats=_FORMATS[signing.get("format", "ssh")],
            openpgp_keys=_registry_path(signing.get("openpgp_keys")),
            tag_prefix=data.get("tag_prefix", "modelreg"),
            branch=data.get("branch"),
            policy_version=int(data.get("policy_version", 0)),
            pinned_patterns=tuple(data.get("pinned_patterns") or ()),
            floating_model=(data.get("lint") or {}).get("floating_model", "warning"),
            stage_rules=rules,
            groups={k: tuple(v) for k, v in (data.get("groups") or {}).items()},
        )


def _registry_path(path: str | None) -> str | None:
    """PATH as git names it: `./.modelreg//x` is `.modelreg/x` (so a change to it is seen)."""
    if path is None:
        return None
    return posixpath.normpath(path).removeprefix("./")


def signers_for(policy: Policy, stage: str) -> frozenset[str] | None:
    """Principals allowed to sign actions on STAGE (groups expanded); None: any trusted signer.

    `archive`/`unarchive` (stage "archived") and policy changes need a signer of the
    last stage: they decide what may reach production.
    """
    if stage not in policy.stages:
        stage = policy.stages[-1]
    rule = policy.stage_rules.get(stage)
    if rule is None or not rule.signers:
        return None
    out: set[str] = set()
    for name in rule.signers:
        out.update(policy.groups.get(name, (name,)))
    return frozenset(out)


def in_policy_order(names: Iterable[str], stages: tuple[str, ...]) -> list[str]:
    """NAMES with policy's stages first, in policy order, then any others sorted."""
    present = set(names)
    return [s for s in stages if s in present] + sorted(present - set(stages))


def describe_signers(allowed: frozenset[str]) -> str:
    """ALLOWED for a message: the principals, or why there are none."""
    return ", ".join(sorted(allowed)) or "nobody: its signers name only empty groups"
