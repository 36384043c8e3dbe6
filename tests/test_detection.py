"""``tools.detection``: the detection rate of every fault, and the table it keeps in ``docs/kill-table.json``.

Currency: every mutant x backend x declared clause and every published peer finding has a row,
over 20 seeds, and each rate below 19/20 is explained. Behaviour: a child run counts the seeds at
which a clause fails (a real mutant and the reference, two seeds each).
"""
from __future__ import annotations

from typing import Any, Dict

import pytest

from conformance import clauses, expect_fail
from tools import detection, kill_table, kill_table_doc, peers

SEEDS = 20


@pytest.fixture(scope="module")
def table() -> Dict[str, Any]:
    document = kill_table.load()
    assert "detection" in document, "docs/kill-table.json has no detection rows: run python -m tools.detection"
    return document["detection"]


def _key(row: Dict[str, Any]) -> tuple:
    return row["subject"], row["backend"].split(" ")[0], row["clause"]


def test_subjects_cover_every_declared_clause_and_peer_finding() -> None:
    mutants = {(s.name, s.backend, c) for s in detection.mutant_subjects() for c in s.clauses}
    for mutant in kill_table.mutants():
        if any(kill_table.unmet(r, have_cuda=False) for r in mutant.requires):
            continue
        for backend in mutant.backends:
            assert any((mutant.name, backend, c) in mutants for c in mutant.violates), (mutant.name, backend)
    found = {(s.name, s.backend, c) for s in detection.peer_subjects() for c in s.clauses}
    for version in peers.PEERS:
        for clause_id, backend in expect_fail.parse(peers.known_path(version, "strict")):
            for b in ([backend] if backend else list(peers.BACKENDS)):
                assert (f"fastestimator-{version}", b, clause_id) in found


def test_a_declared_strict_clause_is_measured_at_strict() -> None:
    for subject in detection.mutant_subjects():
        if any(clauses.BY_ID[c].level == "strict" for c in subject.clauses):
            assert subject.level == "strict", subject


def test_every_fault_has_a_recorded_rate_over_20_seeds(table: Dict[str, Any]) -> None:
    recorded = {_key(r): r for r in table["rows"] if r["profile"] == "ci"}
    for subject in detection.mutant_subjects() + detection.peer_subjects():
        for clause_id in subject.clauses:
            row = recorded.get((subject.name, subject.backend, clause_id))
            assert row is not None, f"no detection rate for {subject.name} {subject.backend} {clause_id}"
            assert row["ran"] == row["seeds"] == SEEDS, row


def test_every_rate_below_19_of_20_is_explained(table: Dict[str, Any]) -> None:
    low = [r for r in table["rows"] if detection.below_target(r)]
    assert not [r for r in low if (r["subject"], r["clause"]) not in detection.EXPLAINED], low
    assert set(detection.EXPLAINED) <= {(r["subject"], r["clause"]) for r in low}, "explanations of no low row"


@pytest.mark.parametrize("detected, ran, below", [(19, 20, False), (18, 20, True), (20, 20, False), (0, 0, True)])
def test_the_target_is_19_of_20_of_the_seeds_run(detected: int, ran: int, below: bool) -> None:
    assert detection.below_target({"detected": detected, "ran": ran}) is below


def test_the_rendering_flags_an_unexplained_low_rate() -> None:
    rows = [{"subject": "m", "kind": "mutant", "backend": "torch", "level": "core", "clause": "DF-5", "profile": "ci",
             "seeds": 20, "ran": 20, "detected": d, "missed_seeds": list(range(20 - d)), "wall_s": 1.0} for d in (20, 12)]
    rows[1]["subject"] = "n"
    commands = [{"command": "python -m tools.detection", "started_utc": "x", "duration_s": 1.0, "commit": "c"}]
    text = "\n".join(kill_table_doc.detection_md({"commands": commands, "rows": rows}, {}, detection.below_target))
    assert "**1 of 2 rows at 19/20 or above.**" in text and "**not explained**" in text
    text = "\n".join(kill_table_doc.detection_md({"commands": commands, "rows": rows}, {("n", "DF-5"): "by chance"},
                                                detection.below_target))
    assert "**not explained**" not in text and "| by chance |" in text


def test_a_child_run_counts_the_seeds_that_find_the_fault() -> None:
    mutant = next(s for s in detection.mutant_subjects(["port_fe_keyerror"]) if s.backend == "torch")
    rows = {r["clause"]: r for r in detection.measure(mutant, [0, 7], "ci")}
    assert {c: (r["detected"], r["ran"]) for c, r in rows.items()} == {"IM-4": (2, 2), "DF-5": (2, 2)}
    reference = detection.Subject("reference", "mutant", "reference", "torch", "core", ("IM-4",))
    row, = detection.measure(reference, [0, 7], "quick")
    assert (row["detected"], row["ran"], row["missed_seeds"]) == (0, 2, [0, 7])
