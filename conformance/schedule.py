"""In which order the workers run the clause checks.

Two goals, one per kind of run. A ``quick`` run is a smoke test whose value is an early verdict:
shortest checks first (the shortest-processing-time rule minimizes the mean time at which checks
finish, so a faulty implementation's first failing clause arrives early). Longer runs (``ci``,
``thorough``) want the workers to finish together: longest checks first (the classic LPT rule for
two machines). Neither order changes a verdict; Hypothesis seeds each check independently of order.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

#: Seconds per check at ``--profile ci`` on this project's 2-core machine, (Keras 3, torch): the
#: report's ``seconds`` of ``python -m conformance --impl reference --backend B --profile ci --level
#: strict`` (2026-12-07, drawn model structures, machine idle, every property check at 100
#: examples); only their ranks matter. ``None``: the clause does not apply to that backend. Parity
#: checks on torch import TensorFlow for the other backend, hence their cost; PA-3 (CUDA) is a guess.
CI_SECONDS: Dict[str, Tuple[Optional[float], Optional[float]]] = {
    "CC-1": (3.7, 0.5), "CC-2": (2.4, 0.4), "CC-3": (5.1, 0.5), "CC-4": (4.9, 0.6), "CC-5": (3.9, None),
    "CC-6": (9.2, 0.7), "CC-7": (0.6, 0.4), "CC-8": (0.8, 0.4), "IM-1": (5.2, 0.5), "IM-2": (None, 0.4),
    "IM-3": (None, 0.3), "IM-4": (None, 0.5), "IM-5": (5.6, None), "DF-1": (1.7, 0.4), "DF-2": (2.9, 0.3),
    "DF-3": (2.1, None), "DF-4": (None, 0.3), "DF-5": (20.5, 1.8), "DF-6": (0.5, 0.3), "EX-1": (0.6, 0.3),
    "EX-2": (0.5, 0.3), "EX-3": (None, 0.2), "EX-4": (5.9, 3.4), "EX-5": (1.3, 0.7), "MP-1": (None, 0.5),
    "MP-2": (None, 0.6), "MP-3": (5.4, None), "MP-4": (5.7, 4.5), "MP-5": (None, 0.6), "PA-1": (3.3, 7.8),
    "PA-2": (2.8, 0.7), "PA-3": (7.0, 7.0), "PA-4": (3.8, 7.6), "XM-1": (6.0, None), "DOC-1": (0.3, 0.2),
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
