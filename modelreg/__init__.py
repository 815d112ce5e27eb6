"""modelreg: a Git-native registry for model configurations.

The CLI lives in modelreg.cli; services read serving configs through the
runtime library (modelreg.runtime), which imports no git, typer, rich or jsonschema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelreg.runtime import (
        BundleError,
        NotServing,
        Registry,
        RegistryError,
        ResolvedConfig,
        SourceError,
        UnknownModel,
        UnknownStage,
    )

__all__ = [
    "BundleError",
    "NotServing",
    "Registry",
    "RegistryError",
    "ResolvedConfig",
    "SourceError",
    "UnknownModel",
    "UnknownStage",
]


def __getattr__(name: str) -> Any:
    # Loaded on first use (PEP 562): `modelreg --help` imports this package too, and
    # does not pay for the runtime's hashlib and threading.
    if name in __all__:
        import modelreg.runtime

        return getattr(modelreg.runtime, name)
    raise AttributeError(f"module 'modelreg' has no attribute {name!r}")
