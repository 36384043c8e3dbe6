"""docs/clauses.md is rendered from the registry and must be current."""
from conformance import clauses, render_clauses


def test_rendered_clause_doc_is_current():
    assert render_clauses.main(["--check"]) == 0, "run: python -m conformance.render_clauses"


def test_registry_ids_unique_and_levels_valid():
    ids = [c.id for c in clauses.CLAUSES]
    assert len(ids) == len(set(ids))
    assert {c.level for c in clauses.CLAUSES} <= set(clauses.LEVELS)
    assert {c.family for c in clauses.CLAUSES} == set(clauses.FAMILIES)


def test_registry_matches_spec_ids():
    """Every clause id of shared/SPEC.md is in the registry and vice versa (when SPEC is at hand)."""
    import os
    import re
    spec = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "SPEC.md")
    if not os.path.exists(spec):
        import pytest
        pytest.skip("shared/SPEC.md not beside the checkout")
    text = open(spec, encoding="utf-8").read()
    spec_levels = dict(re.findall(r"^\| ([A-Z]+-\d+) \| (core|strict) \|", text, re.M))
    assert spec_levels == {c.id: c.level for c in clauses.CLAUSES}
