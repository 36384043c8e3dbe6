"""Known failures confirmed, not searched for again: a check run first on an ``--expect-fail``
entry's recorded counterexample (``replay=VERSION:BLOB``), then, only where that does not fail, by
the usual search.

Hypothesis reads ``@reproduce_failure`` from the test function when it is called; this module sets
it for one call and puts back what was there. A check that is not a ``@given`` test replays only where
it says it can (:func:`replays_counterexamples`: the DF-5 state machine hands it to its machine).
"""
from __future__ import annotations

import re
from typing import Any, Callable, Dict, Optional

from conformance.expect_fail import Replay

#: Where Hypothesis looks for the ``@reproduce_failure`` of a test (set by that decorator).
REPRODUCE_ATTRIBUTE = "_hypothesis_internal_use_reproduce_failure"
_REPLAYABLE = "_conformance_replays_counterexamples"
_BLOB = re.compile(r"@reproduce_failure\('([^']+)', b'([^']+)'\)")

#: What a replay showed, when the check did not fail on it.
NO_LONGER_FAILS = "its recorded counterexample no longer fails"


def replays_counterexamples(function: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a check that is not a ``@given`` test but passes :func:`recorded` on to Hypothesis."""
    setattr(function, _REPLAYABLE, True)
    return function


def recorded(function: Callable[..., Any]) -> Optional[tuple]:
    """The ``(version, blob)`` a check is being replayed on, for a check to hand to its machine."""
    return getattr(function, REPRODUCE_ATTRIBUTE, None)


def replayable(function: Callable[..., Any]) -> bool:
    return hasattr(function, "hypothesis") or getattr(function, _REPLAYABLE, False)


CONFIRMED = "confirmed by its recorded counterexample"


def first(function: Callable[..., Any], kwargs: Dict[str, Any], replay: Replay) -> str:
    """Call ``function(**kwargs)`` on ``replay``. Where that raises the check's failure it propagates:
    the known failure, confirmed. Otherwise the returned text says why the replay did not settle
    it, and the caller runs the check as usual."""
    from hypothesis import reproduce_failure
    from hypothesis.errors import DidNotReproduce, InvalidArgument

    if not replayable(function):
        return "the check draws no Hypothesis examples: its recorded counterexample does not apply"
    missing = object()
    previous = getattr(function, REPRODUCE_ATTRIBUTE, missing)
    reproduce_failure(replay.version, replay.blob)(function)
    try:
        function(**kwargs)
        return "its recorded counterexample could not be replayed (the check ran no example on it)"
    except DidNotReproduce as error:
        return (NO_LONGER_FAILS if "completed successfully" in str(error)
                else f"its recorded counterexample could not be replayed ({error})")
    except InvalidArgument as error:  # another Hypothesis version
        return f"its recorded counterexample could not be replayed ({error})"
    finally:  # as it was: a @given test keeps the attribute, set to None
        if previous is missing:
            delattr(function, REPRODUCE_ATTRIBUTE)
        else:
            setattr(function, REPRODUCE_ATTRIBUTE, previous)


def found_replay(text: str) -> Optional[Replay]:
    """The ``@reproduce_failure`` Hypothesis printed for a failure (in its notes), if any."""
    match = _BLOB.search(text)
    return Replay(match.group(1), match.group(2).encode("ascii")) if match else None
