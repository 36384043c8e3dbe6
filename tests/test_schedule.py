"""The check order: every registry clause has a cost per backend it applies to; quick runs cheapest
first, others longest first."""
import pytest

from conformance import clauses, schedule


def test_every_clause_has_a_cost_on_each_backend_it_applies_to() -> None:
    assert sorted(schedule.CI_SECONDS) == sorted(c.id for c in clauses.CLAUSES)
    for clause in clauses.CLAUSES:
        tf, torch = schedule.CI_SECONDS[clause.id]
        assert (tf is not None) == ("tf" in clause.backends), clause.id
        assert (torch is not None) == ("torch" in clause.backends), clause.id


@pytest.mark.parametrize("backend", ["tf", "torch"])
def test_quick_runs_cheapest_first_and_ci_longest_first(backend: str) -> None:
    ids = [c.id for c in clauses.CLAUSES if backend in c.backends]
    quick = sorted(ids, key=lambda i: schedule.sort_key(i, backend, "quick"))
    ci = sorted(ids, key=lambda i: schedule.sort_key(i, backend, "ci"))
    costs = [schedule.expected_seconds(i, backend) for i in quick]
    assert costs == sorted(costs) and quick[-1] == ci[0] == max(ids, key=lambda i: schedule.expected_seconds(i, backend))


def test_unknown_clause_or_backend_gets_a_cost() -> None:
    assert schedule.expected_seconds("XX-1", "tf") == 1.0
    assert schedule.expected_seconds("CC-5", "torch") == schedule.CI_SECONDS["CC-5"][0]  # not on torch: the known cost
