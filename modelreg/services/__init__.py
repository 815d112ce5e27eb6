"""Services: one use case per module; typed args in, result dataclass out; never print."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from modelreg.registry import Registry


def open_registry(repo: Path | None) -> Registry:
    """The registry at REPO, or found by walking up from the current folder."""
    from modelreg.registry import Registry

    return Registry.open(repo)
