"""docs/clauses.md is rendered from the registry and must be current."""
from pathlib import Path

from conformance import clauses, render_clauses


def test_rendered_clause_doc_is_current():
    assert render_clauses.main(["--check"]) == 0, "run: python -m conformance.render_clauses"


def test_registry_ids_unique_and_levels_valid():
    ids = [c.id for c in clauses.CLAUSES]
    assert len(ids) == len(set(ids))
    assert {c.level for c in clauses.CLAUSES} <= set(clauses.LEVELS)
    assert {c.family for c in clauses.CLAUSES} == set(clauses.FAMILIES)


def test_the_clause_doc_lists_every_registry_clause_with_its_level():
    """docs/clauses.md, the contract a user reads, names each clause once, at the registry's level."""
    import re
    text = Path(render_clauses.DEFAULT_PATH).read_text(encoding="utf-8")
    rows = re.findall(r"^\| ([A-Z]+-\d+) \| (core|strict) \|", text, re.M)
    assert len(rows) == len(dict(rows)) and dict(rows) == {c.id: c.level for c in clauses.CLAUSES}
