"""In which order the workers run the clause checks.

Two goals, one per kind of run. A ``quick`` run is a smoke test whose value is an early verdict:
shortest checks first (the shortest-processing-time rule minimizes the mean time at which checks
finish, so a faulty implementation's first failing clause arrives early). Longer runs (``ci``,
``thorough``) want the workers to finish together: longest checks first (the classic LPT rule for
two machines). Neither order changes a verdict; Hypothesis seeds each check independently of order.
"""
from __future__ import annotations

from typing import Dict, Optional

#: Seconds per check at ``--profile ci`` on this project's 2-core machine (max over Keras 3 and torch,
#: idle, 2026-11-28); only their ranks matter. Parity checks on torch import TensorFlow for the
#: other backend, hence their cost. Unknown clauses rank as 1 s.
CI_SECONDS: Dict[str, float] = {
    "CC-1": 1.7, "CC-2": 1.3, "CC-3": 2.0, "CC-4": 5.8, "CC-5": 3.1, "CC-6": 2.9, "CC-7": 0.2, "CC-8": 0.3,
    "IM-1": 3.4, "IM-2": 0.4, "IM-3": 0.3, "IM-4": 0.5, "IM-5": 4.2,
    "DF-1": 1.9, "DF-2": 1.8, "DF-3": 1.5, "DF-4": 0.4, "DF-5": 7.6, "DF-6": 0.1,
    "EX-1": 0.1, "EX-2": 0.1, "EX-3": 0.05, "EX-4": 14.0, "EX-5": 0.2,
    "MP-1": 0.5, "MP-2": 0.7, "MP-3": 5.2, "MP-4": 4.3, "MP-5": 0.4,
    "PA-1": 6.9, "PA-2": 1.0, "PA-3": 7.0, "PA-4": 3.9, "XM-1": 2.1, "DOC-1": 0.4,
}


def sort_key(clause_id: Optional[str], profile: str) -> float:
    """Smaller runs earlier: ascending expected cost for ``quick``, descending otherwise."""
    cost = CI_SECONDS.get(clause_id or "", 1.0)
    return cost if profile == "quick" else -cost
