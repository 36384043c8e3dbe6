"""What a run selects (backends, devices, level, clauses) and how checks map to clauses.

A check's clause is the one its ``@pytest.mark.clause("ID")`` marker names: ``clause_of_item`` reads
it from a collected item; ``marked_checks`` reads the same decorators from the checks' source, for
what sees no item (a report's node id, the docs), without importing the checks.
"""
from __future__ import annotations

import ast
import functools
import os
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Dict, Mapping, Optional, Tuple

from conformance import clauses

#: The option value that selects every backend (``--backend``) or every device (``--device``).
ALL = "all"
#: ``--backend``: one backend of the registry, or all of them (the default).
BACKEND_CHOICES: Tuple[str, ...] = (*clauses.BACKENDS, ALL)
DEFAULT_BACKEND = ALL
#: ``--device``: one device of the registry, or all of them; the CPU by default.
DEVICE_CHOICES: Tuple[str, ...] = (*clauses.DEVICES, ALL)
DEFAULT_DEVICE = "cpu"
#: ``--level``: a level of the registry, which selects its clauses and those of the levels before
#: it; the first (``core``) by default.
LEVEL_CHOICES: Tuple[str, ...] = clauses.LEVELS
DEFAULT_LEVEL = clauses.LEVELS[0]


def _one_of(names: Tuple[str, ...]) -> str:
    return "|".join(re.escape(name) for name in names)


_PARAM = re.compile(rf"\[({_one_of(clauses.BACKENDS)})-({_one_of(clauses.DEVICES)})(?:-[^\]]*)?\]")

#: The folder of the clause checks, ``conformance/checks``.
CHECKS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "checks")
_MARKER = "pytest.mark.clause"


def clause_of_item(item: Any) -> Optional[str]:
    """The registry clause id that a pytest item's closest ``clause`` marker names
    (``item.get_closest_marker("clause")``); None for an item without one, or one naming no
    registry clause."""
    marker = item.get_closest_marker("clause")
    clause_id = marker.args[0] if marker is not None and marker.args else None
    return clause_id if clause_id in clauses.BY_ID else None


def _marker_ids(function: ast.AST) -> Tuple[str, ...]:
    """The ids of ``function``'s ``@pytest.mark.clause("ID")`` decorators, in source order."""
    return tuple(decorator.args[0].value for decorator in getattr(function, "decorator_list", ())
                 if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == _MARKER
                 and decorator.args and isinstance(decorator.args[0], ast.Constant))


@functools.lru_cache(maxsize=None)
def marked_checks() -> Mapping[str, Tuple[str, ...]]:
    """The checks' clause markers, read from the source of ``conformance/checks/test_*.py`` without
    importing it: ``"test_x.py::function"`` -> the ids of that top-level function's
    ``@pytest.mark.clause("ID")`` decorators (string literals) in source order, the last being the
    closest (what ``get_closest_marker`` returns). Functions without one are absent; ids outside the
    registry are kept."""
    found: Dict[str, Tuple[str, ...]] = {}
    for name in sorted(os.listdir(CHECKS_DIR)):
        if name.startswith("test_") and name.endswith(".py"):
            with open(os.path.join(CHECKS_DIR, name), encoding="utf-8") as handle:
                tree = ast.parse(handle.read(), filename=name)
            for node in tree.body:
                ids = _marker_ids(node)
                if ids:
                    found[f"{name}::{node.name}"] = ids
    return MappingProxyType(found)


def check_key(nodeid: str) -> str:
    """``".../checks/test_immediate.py::test_im1_one_step[torch-cpu]"`` ->
    ``"test_immediate.py::test_im1_one_step"``, the form of ``marked_checks``' keys."""
    path, _, name = nodeid.partition("::")
    return f"{path.replace(os.sep, '/').rsplit('/', 1)[-1]}::{name.split('[', 1)[0]}"


def clause_of_nodeid(nodeid: str) -> Optional[str]:
    """The registry clause id of the check that ``nodeid`` names, by its marker (``marked_checks``);
    None for any other test. For reports, which carry no item."""
    ids = marked_checks().get(check_key(nodeid), ())
    return ids[-1] if ids and ids[-1] in clauses.BY_ID else None


def target_of_test(name: str) -> Tuple[Optional[str], Optional[str]]:
    """``"test_im1_one_step[torch-cpu]"`` -> ``("torch", "cpu")``."""
    match = _PARAM.search(name)
    return (match.group(1), match.group(2)) if match else (None, None)


def expand(choice: str, universe: Tuple[str, ...]) -> Tuple[str, ...]:
    """An option's value as the names it selects: ``universe`` for ``all``, else the one name."""
    return universe if choice == ALL else (choice,)


@dataclass(frozen=True)
class Selection:
    backends: Tuple[str, ...] = clauses.BACKENDS
    devices: Tuple[str, ...] = (DEFAULT_DEVICE,)
    level: str = DEFAULT_LEVEL
    only: Tuple[str, ...] = ()

    def level_selected(self, clause: clauses.Clause) -> bool:
        return clauses.LEVELS.index(clause.level) <= clauses.LEVELS.index(self.level)

    def clause_selected(self, clause: clauses.Clause) -> bool:
        return self.level_selected(clause) and (not self.only or clause.id in self.only)


def implemented_clauses() -> frozenset:
    """Registry clause ids that at least one marked check tests (``marked_checks``)."""
    return frozenset(ids[-1] for ids in marked_checks().values() if ids[-1] in clauses.BY_ID)
