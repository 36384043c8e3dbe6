"""In which order the workers run the clause checks.

Two goals, one per kind of run. A ``quick`` run is a smoke test whose value is an early verdict:
shortest checks first (the shortest-processing-time rule minimizes the mean time at which checks
finish, so a faulty implementation's first failing clause arrives early). Longer runs (``ci``,
``thorough``) want the workers to finish together: longest checks first (the classic LPT rule for
two machines). Neither order changes a verdict; Hypothesis seeds each check independently of order.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

#: Seconds per check at ``--profile ci`` on this project's 2-core machine, (Keras 3, torch), idle,
#: 2026-11-28, every property check at 100 examples; only their ranks matter. ``None``: the clause
#: does not apply to that backend. Parity checks on torch import TensorFlow for the other backend,
#: hence their cost; PA-3 (CUDA) is a guess.
CI_SECONDS: Dict[str, Tuple[Optional[float], Optional[float]]] = {
    "CC-1": (3.8, 0.4), "CC-2": (1.4, 0.2), "CC-3": (1.8, 0.2), "CC-4": (7.1, 0.6),
    "CC-5": (3.3, None), "CC-6": (7.8, 0.6), "CC-7": (0.8, 0.3), "CC-8": (0.9, 0.4),
    "IM-1": (4.0, 0.3), "IM-2": (None, 0.3), "IM-3": (None, 0.3), "IM-4": (None, 0.3),
    "IM-5": (5.2, None), "DF-1": (2.3, 0.2), "DF-2": (2.2, 0.2), "DF-3": (1.6, None),
    "DF-4": (None, 0.2), "DF-5": (9.2, 0.7), "DF-6": (0.8, 0.3), "EX-1": (0.8, 0.3),
    "EX-2": (0.8, 0.2), "EX-3": (None, 0.2), "EX-4": (12.1, 9.7), "EX-5": (0.8, 0.3),
    "MP-1": (None, 0.4), "MP-2": (None, 0.6), "MP-3": (5.4, None), "MP-4": (6.8, 8.2),
    "MP-5": (None, 0.3), "PA-1": (5.2, 8.6), "PA-2": (2.2, 0.7), "PA-3": (7.0, 7.0),
    "PA-4": (5.7, 5.9), "XM-1": (5.5, None), "DOC-1": (0.3, 0.1),
}
_BACKEND_COLUMN = {"tf": 0, "torch": 1}


def expected_seconds(clause_id: Optional[str], backend: Optional[str]) -> float:
    """The check's expected cost on ``backend`` (the larger of the two when unknown; 1 s for an
    unknown clause)."""
    costs = CI_SECONDS.get(clause_id or "")
    if costs is None:
        return 1.0
    column = _BACKEND_COLUMN.get(backend or "")
    if column is not None and costs[column] is not None:
        return float(costs[column])
    return float(max(c for c in costs if c is not None))


def sort_key(clause_id: Optional[str], backend: Optional[str], profile: str) -> float:
    """Smaller runs earlier: ascending expected cost for ``quick``, descending otherwise."""
    cost = expected_seconds(clause_id, backend)
    return cost if profile == "quick" else -cost
