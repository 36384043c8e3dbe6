"""What a run selects (backends, devices, level, clauses) and how test ids map to clauses."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple

from conformance import clauses

_TEST_NAME = re.compile(r"test_([a-z]+)(\d+)_")
_PARAM = re.compile(r"\[(tf|torch)-(cpu|cuda)(?:-[^\]]*)?\]")


def clause_of_test(name: str) -> Optional[str]:
    """``"test_im1_one_step[torch-cpu]"`` -> ``"IM-1"``; None for other tests."""
    match = _TEST_NAME.search(name)
    if not match:
        return None
    clause_id = f"{match.group(1).upper()}-{match.group(2)}"
    return clause_id if clause_id in clauses.BY_ID else None


def target_of_test(name: str) -> Tuple[Optional[str], Optional[str]]:
    """``"test_im1_one_step[torch-cpu]"`` -> ``("torch", "cpu")``."""
    match = _PARAM.search(name)
    return (match.group(1), match.group(2)) if match else (None, None)


def expand(choice: str, universe: Tuple[str, ...]) -> Tuple[str, ...]:
    return universe if choice == "all" else (choice,)


@dataclass(frozen=True)
class Selection:
    backends: Tuple[str, ...] = clauses.BACKENDS
    devices: Tuple[str, ...] = ("cpu",)
    level: str = "core"
    only: Tuple[str, ...] = ()

    def level_selected(self, clause: clauses.Clause) -> bool:
        return self.level == "strict" or clause.level == "core"

    def clause_selected(self, clause: clauses.Clause) -> bool:
        return self.level_selected(clause) and (not self.only or clause.id in self.only)


def implemented_clauses() -> frozenset:
    """Clause ids that have at least one check in ``conformance/checks`` (read from the test names,
    without importing the checks)."""
    import os
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "checks")
    found = set()
    for name in os.listdir(folder):
        if name.startswith("test_") and name.endswith(".py"):
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                for match in re.finditer(r"^def (test_[a-z]+\d+_\w+)", handle.read(), re.M):
                    clause_id = clause_of_test(match.group(1))
                    if clause_id:
                        found.add(clause_id)
    return frozenset(found)
