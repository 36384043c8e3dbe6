"""The exception a check raises when a clause does not hold, carrying a readable counterexample."""
from __future__ import annotations

from typing import List, Sequence


class ClauseViolation(AssertionError):
    """Clause ``clause_id`` does not hold: ``message`` says how, ``counterexample`` shows the program."""

    def __init__(self, clause_id: str, message: str, counterexample: Sequence[str] = ()) -> None:
        self.clause_id = clause_id
        self.message = message
        self.counterexample: List[str] = list(counterexample)
        super().__init__(self._render())

    def _render(self) -> str:
        lines = [f"{self.clause_id} violated: {self.message}"]
        if self.counterexample:
            lines.append("counterexample:")
            lines += [f"  {line}" for line in self.counterexample]
        return "\n".join(lines)


def require(condition: bool, clause_id: str, message: str, counterexample: Sequence[str] = ()) -> None:
    """Raise :class:`ClauseViolation` unless ``condition`` (never an ``assert``: checks must
    survive ``python -O``)."""
    if not condition:
        raise ClauseViolation(clause_id, message, counterexample)
