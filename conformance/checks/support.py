"""Helpers shared by the check modules: example counting and per-check example caps."""
from __future__ import annotations

from typing import Optional

import pytest
from hypothesis import settings

#: Examples of a check that ran to completion (the report's ``examples``), kept in its item's stash.
EXAMPLES_KEY = pytest.StashKey[int]()

#: The stash of the check now running in this process: set by :func:`start_counting` before each
#: check's call, so that code deep inside a check can count without being handed its item.
_running: Optional[pytest.Stash] = None


def start_counting(stash: pytest.Stash) -> None:
    """Count the examples of the check whose item holds ``stash``, from zero."""
    global _running
    stash[EXAMPLES_KEY] = 0
    _running = stash


def count_example() -> None:
    """Record that one example of the running check ran to completion."""
    if _running is not None:
        _running[EXAMPLES_KEY] += 1


#: Every property-based check runs at least this many examples when the profile asks for as many
#: (``ci`` and above): a cap never cuts a check below it.
CAP_FLOOR = 100


def capped(cap: Optional[int] = None, **kwargs: object) -> settings:
    """The loaded profile's settings, with ``max_examples`` at most ``max(cap, CAP_FLOOR)`` for checks
    whose input space is small (e.g. exception checks) or whose examples are expensive: ``cap`` bounds
    only the profiles above ``ci``."""
    n = settings.default.max_examples
    return settings(max_examples=n if cap is None else min(n, max(cap, CAP_FLOOR)), **kwargs)
