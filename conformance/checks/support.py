"""Helpers shared by the check modules: example counting and per-check example caps."""
from __future__ import annotations

from typing import Optional

from hypothesis import settings

_examples = 0


def count_example() -> None:
    """Record that one example ran to completion (the report's ``examples``)."""
    global _examples
    _examples += 1


def take_example_count() -> int:
    """Examples counted since the last call."""
    global _examples
    n, _examples = _examples, 0
    return n


def capped(cap: Optional[int] = None, **kwargs: object) -> settings:
    """The loaded profile's settings, with ``max_examples`` at most ``cap`` for checks whose input
    space is small (e.g. exception checks)."""
    n = settings.default.max_examples
    return settings(max_examples=n if cap is None else min(n, cap), **kwargs)
