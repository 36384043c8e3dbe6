"""``conformance.selection``: test names -> clauses and targets; what a selection keeps."""
from __future__ import annotations

from typing import Optional, Tuple

import pytest

from conformance import clauses
from conformance.selection import Selection, clause_of_test, expand, target_of_test


@pytest.mark.parametrize("name, clause", [
    ("test_im1_one_step", "IM-1"),
    ("test_im1_one_step[torch-cpu]", "IM-1"),
    ("test_immediate.py::test_im1_one_step[tf-cpu]", "IM-1"),
    ("conformance/checks/test_doc.py::test_doc1_page_examples[torch-cpu]", "DOC-1"),
    ("test_df5_programs[torch-cuda]", "DF-5"),
    ("test_zz1_not_a_clause[tf-cpu]", None),     # looks like a check, names no clause
    ("test_im9_beyond_the_registry", None),
    ("test_im1", None),                          # no ``_`` after the id
    ("test_helper_function", None),
    ("tests/test_engine_selection.py::test_clause_of_test", None),
])
def test_clause_of_test(name: str, clause: Optional[str]) -> None:
    assert clause_of_test(name) == clause


def test_every_clause_id_round_trips() -> None:
    for clause in clauses.CLAUSES:
        family, number = clause.id.split("-")
        assert clause_of_test(f"test_{family.lower()}{number}_anything[tf-cpu]") == clause.id


@pytest.mark.parametrize("name, target", [
    ("test_im1_one_step[torch-cpu]", ("torch", "cpu")),
    ("test_immediate.py::test_im1_one_step[tf-cuda]", ("tf", "cuda")),
    ("test_cc5_sparse[tf-cpu-extra-param]", ("tf", "cpu")),
    ("test_im1_one_step", (None, None)),
    ("test_im1_one_step[jax-cpu]", (None, None)),
    ("test_im1_one_step[torch-tpu]", (None, None)),
])
def test_target_of_test(name: str, target: Tuple[Optional[str], Optional[str]]) -> None:
    assert target_of_test(name) == target


def test_expand() -> None:
    assert expand("all", clauses.BACKENDS) == clauses.BACKENDS
    assert expand("torch", clauses.BACKENDS) == ("torch",)


@pytest.mark.parametrize("level, only, selected", [
    ("core", (), {"IM-1"}),
    ("strict", (), {"IM-1", "CC-6"}),
    ("strict", ("CC-6",), {"CC-6"}),
    ("core", ("CC-6",), set()),          # --only cannot bring back a strict clause under --level core
])
def test_selection_keeps(level: str, only: tuple, selected: set) -> None:
    selection = Selection(level=level, only=only)
    assert {c for c in ("IM-1", "CC-6") if selection.clause_selected(clauses.get(c))} == selected
