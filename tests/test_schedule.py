"""The check order: every registry clause has a cost; quick runs cheapest first, others longest first."""
from conformance import clauses, schedule


def test_every_clause_has_a_cost() -> None:
    assert sorted(schedule.CI_SECONDS) == sorted(c.id for c in clauses.CLAUSES)


def test_quick_runs_cheapest_first_and_ci_longest_first() -> None:
    ids = [c.id for c in clauses.CLAUSES]
    quick = sorted(ids, key=lambda i: schedule.sort_key(i, "quick"))
    ci = sorted(ids, key=lambda i: schedule.sort_key(i, "ci"))
    assert schedule.CI_SECONDS[quick[0]] == min(schedule.CI_SECONDS.values())
    assert quick[-1] == ci[0] == "EX-4"
