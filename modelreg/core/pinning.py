"""Core: is a `model.id` pinned to one immutable snapshot, or a floating alias?"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A date suffix (-20250929 or -2024-08-06), a content digest, or a fine-tune id.
_PINNED = re.compile(
    r"""(?x)
    (?:-\d{8}|-\d{4}-\d{2}-\d{2})$      # dated snapshot
    | @sha256:[0-9a-f]{64}$             # digest-pinned
    | ^ft:                              # OpenAI-style fine-tune id
    | ^projects/.+/models/\d+           # Vertex-style tuned model
    """
)
_FLOATING_WORDS = re.compile(r"(?:^|[-_.:])(latest|preview|current|stable)$")


def is_pinned(model_id: str, patterns: Iterable[str] = ()) -> bool:
    """True when MODEL_ID names one immutable snapshot (DESIGN 2.1)."""
    if _FLOATING_WORDS.search(model_id):
        return False
    if _PINNED.search(model_id):
        return True
    return any(re.search(p, model_id) for p in patterns)
