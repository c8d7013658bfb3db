"""Pure: how a failure is written to the log without the personal data it may carry.

Exception messages hold what was being looked up: a URL with a handle in it, a bio, a personal
domain. The log gets the exception's type and where in our code it happened (enough to find
a bug), never its message or arguments.
"""

from __future__ import annotations

import traceback
from pathlib import Path


def describe(error: BaseException, frames: int = 4) -> str:
    """`TypeError at resolver.py:212 in _answer ← signals.py:430 in extract`, innermost first."""
    stack = traceback.extract_tb(error.__traceback__)[-frames:]
    where = " ← ".join(f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in reversed(stack))
    kind = type(error).__name__
    return f"{kind} at {where}" if where else kind
