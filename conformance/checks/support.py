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


#: Every property-based check runs at least this many examples when the profile asks for as many
#: (``ci`` and above): a cap never cuts a check below it.
CAP_FLOOR = 100


def capped(cap: Optional[int] = None, **kwargs: object) -> settings:
    """The loaded profile's settings, with ``max_examples`` at most ``max(cap, CAP_FLOOR)`` for checks
    whose input space is small (e.g. exception checks) or whose examples are expensive: ``cap`` bounds
    only the profiles above ``ci``."""
    n = settings.default.max_examples
    return settings(max_examples=n if cap is None else min(n, max(cap, CAP_FLOOR)), **kwargs)
