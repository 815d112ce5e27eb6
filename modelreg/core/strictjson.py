"""Core: the hooks that make `json.loads` strict, shared by every JSON input modelreg reads
(bundles, eval metrics, canary metrics): no duplicate keys, no NaN or Infinity."""

from __future__ import annotations

from typing import Any


class DuplicateKey(ValueError):
    """An object names the same key twice: which value was meant is anyone's guess."""

    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key


class NonFinite(ValueError):
    """JSON's NaN, Infinity or -Infinity, which no modelreg document may hold."""

    def __init__(self, constant: str) -> None:
        super().__init__(f"{constant} is not a finite number")
        self.constant = constant


def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`object_pairs_hook`: the object, or DuplicateKey."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKey(key)
        out[key] = value
    return out


def refuse_constant(constant: str) -> Any:
    """`parse_constant`: NaN, Infinity and -Infinity are refused."""
    raise NonFinite(constant)
