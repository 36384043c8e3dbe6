"""``conformance.selection``: checks -> clauses (by their markers), test ids -> targets; what a
selection keeps."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator, Optional, Tuple

import pytest

from conformance import clauses, selection
from conformance.selection import Selection, clause_of_item, clause_of_nodeid, expand, target_of_test


def _item(*ids: str) -> Any:
    """A stand-in for a pytest item decorated ``@pytest.mark.clause(id)`` once per id, top to bottom."""
    marks = [pytest.mark.clause(clause_id).mark for clause_id in ids]
    return SimpleNamespace(get_closest_marker=lambda name: marks[-1] if marks and name == "clause" else None)


@pytest.mark.parametrize("ids, clause", [
    (("IM-1",), "IM-1"),
    (("IM-1", "DF-2"), "DF-2"),     # the closest marker, as get_closest_marker gives it
    ((), None),
    (("ZZ-1",), None),              # names no registry clause
])
def test_clause_of_item_reads_the_marker(ids: Tuple[str, ...], clause: Optional[str]) -> None:
    assert clause_of_item(_item(*ids)) == clause


@pytest.mark.parametrize("nodeid, key", [
    ("test_immediate.py::test_im1_one_step[torch-cpu]", "test_immediate.py::test_im1_one_step"),
    ("conformance/checks/test_doc.py::test_doc1_page_examples", "test_doc.py::test_doc1_page_examples"),
    ("../../w/conformance/checks/test_deferred.py::test_any[tf-cpu-x]", "test_deferred.py::test_any"),
])
def test_check_key(nodeid: str, key: str) -> None:
    assert selection.check_key(nodeid) == key


_SOURCE = """
import pytest


@pytest.mark.clause("DF-2")
@some_other_decorator
def test_a_name_that_names_no_clause(clause, adapter):
    pass


@pytest.mark.clause("IM-1")
@pytest.mark.clause("CC-3")
def test_two_markers(clause):
    pass


@pytest.mark.clause("ZZ-9")
def test_unknown(clause):
    pass


@pytest.mark.clause(SOME_NAME)
def test_df1_not_a_literal(clause):
    pass


def test_im1_unmarked():
    pass


class TestNested:
    @pytest.mark.clause("IM-2")
    def test_method(self):
        pass
"""


@pytest.fixture
def fake_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``selection.CHECKS_DIR`` pointed at a folder holding ``test_fake.py`` (``_SOURCE``)."""
    (tmp_path / "test_fake.py").write_text(_SOURCE, encoding="utf-8")
    (tmp_path / "helpers.py").write_text('@pytest.mark.clause("IM-3")\ndef test_x():\n    pass\n', encoding="utf-8")
    monkeypatch.setattr(selection, "CHECKS_DIR", str(tmp_path))
    selection.marked_checks.cache_clear()
    yield tmp_path
    selection.marked_checks.cache_clear()


def test_marked_checks_reads_the_decorators_not_the_names(fake_checks: Path) -> None:
    assert dict(selection.marked_checks()) == {
        "test_fake.py::test_a_name_that_names_no_clause": ("DF-2",),
        "test_fake.py::test_two_markers": ("IM-1", "CC-3"),
        "test_fake.py::test_unknown": ("ZZ-9",)}


@pytest.mark.parametrize("nodeid, clause", [
    ("test_fake.py::test_a_name_that_names_no_clause[tf-cpu]", "DF-2"),
    ("some/where/test_fake.py::test_two_markers", "CC-3"),      # the closest marker
    ("test_fake.py::test_unknown[torch-cpu]", None),            # names no registry clause
    ("test_fake.py::test_im1_unmarked[torch-cpu]", None),       # a check's name, no marker
    ("test_other.py::test_a_name_that_names_no_clause", None),  # another file
])
def test_clause_of_nodeid_reads_the_marker(fake_checks: Path, nodeid: str, clause: Optional[str]) -> None:
    assert clause_of_nodeid(nodeid) == clause


def test_implemented_clauses_are_the_marked_registry_clauses(fake_checks: Path) -> None:
    assert selection.implemented_clauses() == {"DF-2", "CC-3"}


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
