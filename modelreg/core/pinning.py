"""Core: is a `model.id` pinned to one immutable snapshot, or a floating alias?"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A date suffix (-20250929 or -2024-08-06), a content digest, or a fine-tune id.
# ASCII digits and \Z on purpose: \d matches any script's digits (２０２５) and
# $ matches before a trailing newline, either of which would let a look-alike pass.
_PINNED = re.compile(
    r"""(?x)
    (?:-[0-9]{8}|-[0-9]{4}-[0-9]{2}-[0-9]{2})\Z   # dated snapshot
    | @sha256:[0-9a-f]{64}\Z                       # digest-pinned
    | \Aft:                                        # OpenAI-style fine-tune id
    | \Aprojects/.+/models/[0-9]+                   # Vertex-style tuned model
    """
)
_FLOATING_WORDS = re.compile(r"(?:\A|[-_.:])(latest|preview|current|stable)\Z")


def is_pinned(model_id: str, patterns: Iterable[str] = ()) -> bool:
    """True when MODEL_ID names one immutable snapshot (DESIGN 2.1)."""
    if not model_id.isascii() or not model_id.isprintable() or any(c.isspace() for c in model_id):
        return False  # no provider names its snapshots with look-alikes or blanks
    if _FLOATING_WORDS.search(model_id):
        return False
    if _PINNED.search(model_id):
        return True
    return any(re.search(p, model_id) for p in patterns)


MAX_PATTERN = 200


def pattern_problem(pattern: str) -> str | None:
    """Why policy's pinned PATTERN is refused, or None.

    A pattern comes from a file under review, so it must compile and must not
    backtrack exponentially: a repeated group that itself repeats or alternates,
    like `(a+)+` or `(a|aa)*`, could hang `check` on a crafted model id.
    """
    if len(pattern) > MAX_PATTERN:
        return f"longer than {MAX_PATTERN} characters"
    try:
        re.compile(pattern)
    except (re.error, OverflowError, RecursionError, ValueError) as e:
        return f"bad regex: {e}"
    if _repeats_a_repetition(pattern):
        return "a repeated group repeats or alternates inside (e.g. (a+)+ or (a|b)*): it can take exponential time"
    return None


def _repeats_a_repetition(pattern: str) -> bool:
    """True if a quantified group holds a quantifier or an alternation (outside classes)."""
    opened: list[int] = []  # positions of '(' still open
    risky: list[bool] = [False]  # per open group: holds a quantifier or '|'
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":  # skip a character class, where quantifiers are literal
            i += 1
            if i < len(pattern) and pattern[i] == "^":
                i += 1
            if i < len(pattern) and pattern[i] == "]":
                i += 1
            while i < len(pattern) and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
        elif ch == "(":
            opened.append(i)
            risky.append(False)
        elif ch == ")" and opened:
            opened.pop()
            inner = risky.pop()
            quantified = i + 1 < len(pattern) and pattern[i + 1] in "*+{"
            if inner and quantified:
                return True
            risky[-1] = risky[-1] or inner or quantified
        elif ch in "*+{|" or (ch == "?" and i > 0 and pattern[i - 1] not in "(?"):
            risky[-1] = risky[-1] or ch != "?"
        i += 1
    return False
