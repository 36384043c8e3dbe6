"""``conformance.report``: per-test outcomes -> per-clause verdicts, the table and the JSON document.

``aggregate`` judges what it is given: turning a "passed" test that ran no example into
"skipped" is the plugin's job (``plugin._record``), tested here too with a stand-in report.
"""
from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from conformance import clauses, plugin, report
from conformance.report import aggregate
from conformance.selection import Selection

ALL = Selection(backends=clauses.BACKENDS, devices=("cpu",), level="strict")


def _result(clause: str, backend: str, status: str, examples: int = 3, message: str = "",
            device: str = "cpu") -> report.TestResult:
    return report.TestResult(nodeid=f"test_x.py::test_{clause}[{backend}-{device}]", clause=clause, backend=backend,
                      device=device, status=status, examples=examples, seconds=0.25, message=message,
                      counterexample=f"counterexample of {clause} on {backend}" if status == "failed" else "")


def _verdicts(results: List[report.TestResult], selection: Selection = ALL,
              unavailable: Optional[Dict[str, str]] = None, interrupted: bool = False) -> Dict[str, report.ClauseResult]:
    verdicts = aggregate(results, selection, unavailable or {}, interrupted=interrupted)
    assert [v.id for v in verdicts] == [c.id for c in clauses.CLAUSES], "every registry clause, in order, once"
    return {v.id: v for v in verdicts}


def test_every_clause_appears_even_with_no_result() -> None:
    verdicts = _verdicts([])
    assert {v.status for v in verdicts.values()} == {"skipped"}
    assert all(v.message for v in verdicts.values()), "a not-run clause always says why"


def test_failed_beats_passed() -> None:
    v = _verdicts([_result("IM-1", "torch", "passed"),
                   _result("IM-1", "tf", "failed", examples=0, message="IM-1: weights differ")])["IM-1"]
    assert v.status == "failed"
    assert v.message == "[tf-cpu] IM-1: weights differ"
    assert v.counterexample == "counterexample of IM-1 on tf"
    assert v.backends == ["tf", "torch"] and v.examples == 3 and v.seconds == 0.5
    assert [r["status"] for r in v.results] == ["passed", "failed"]


def test_failed_beats_xfailed_and_xfailed_beats_passed() -> None:
    verdicts = _verdicts([_result("IM-1", "torch", "xfailed", message="expected failure"),
                          _result("IM-1", "tf", "failed", message="boom"),
                          _result("CC-1", "torch", "xfailed", message="expected failure (listed)"),
                          _result("CC-1", "tf", "passed")])
    assert verdicts["IM-1"].status == "failed" and verdicts["IM-1"].message == "[tf-cpu] boom"
    assert verdicts["CC-1"].status == "xfailed"
    assert verdicts["CC-1"].message == "[torch-cpu] expected failure (listed)"


def test_passed_with_a_skipped_backend_says_so() -> None:
    v = _verdicts([_result("IM-1", "torch", "passed"),
                   _result("IM-1", "tf", "skipped", examples=0, message="backend 'tf' is not available")])["IM-1"]
    assert v.status == "passed" and v.backends == ["torch"]
    assert v.message == "[tf-cpu] skipped: backend 'tf' is not available"


def test_all_skipped_keeps_the_tests_reason() -> None:
    v = _verdicts([_result("IM-1", "torch", "skipped", examples=0, message="ran no example")])["IM-1"]
    assert v.status == "skipped" and v.message == "ran no example" and v.backends == []


def test_aggregate_judges_what_it_is_given() -> None:
    """A "passed" test with 0 examples stays "passed" here: the plugin never hands one over."""
    v = _verdicts([_result("IM-1", "torch", "passed", examples=0)])["IM-1"]
    assert (v.status, v.examples) == ("passed", 0)


def _fake_report(status: str, examples: int) -> types.SimpleNamespace:
    """The parts of a ``pytest.TestReport`` for a check's call phase that ``plugin._record`` reads."""
    nodeid = "test_immediate.py::test_im1_one_step[torch-cpu]"
    return types.SimpleNamespace(
        nodeid=nodeid, when="call", outcome=status, passed=status == "passed", failed=status == "failed",
        skipped=status == "skipped", longrepr=None, duration=0.5,
        user_properties=[("conformance", {"examples": examples, "seconds": 0.5}),
                         ("conformance-report", {"clause": "IM-1"})])


@pytest.mark.parametrize("examples, status", [(0, "skipped"), (2, "passed")])
def test_plugin_turns_a_pass_without_examples_into_a_skip(examples: int, status: str) -> None:
    state = types.SimpleNamespace(results={}, environment={}, unavailable={})
    config = types.SimpleNamespace(stash=pytest.Stash())
    config.stash[plugin.STATE_KEY] = state
    plugin._record(config, _fake_report("passed", examples))
    (result,) = state.results.values()
    assert (result.clause, result.backend, result.status, result.examples) == ("IM-1", "torch", status, examples)
    if status == "skipped":
        assert result.message == "ran no example (nothing was checked)"


@pytest.mark.parametrize("clause_id, selection, unavailable, interrupted, reason", [
    ("CC-6", Selection(level="core"), {}, False, "strict clause; --level core selected"),
    ("IM-1", Selection(level="core", only=("IM-2",)), {}, False, "not selected (--only)"),
    ("IM-2", Selection(backends=("tf",)), {}, False, "applies to torch only; --backend tf selected"),
    ("PA-3", Selection(devices=("cpu",)), {}, False, "needs a cuda device; --device cpu selected"),
    ("DOC-1", Selection(devices=("cuda",)), {}, False, "needs a cpu device; --device cuda selected"),
    ("IM-2", Selection(), {"torch": "backend 'torch' is not available: No module named 'torch'"}, False,
     "backend 'torch' is not available: No module named 'torch'"),
    ("IM-1", Selection(), {"tf": "tf gone", "torch": "torch gone"}, False, "tf gone; torch gone"),
    ("IM-1", Selection(), {}, True, "not run: the run was interrupted"),
    ("IM-1", Selection(), {}, False, "no check for this clause ran"),
])
def test_reasons_for_clauses_that_did_not_run(clause_id: str, selection: Selection, unavailable: Dict[str, str],
                                              interrupted: bool, reason: str) -> None:
    v = _verdicts([], selection, unavailable, interrupted)[clause_id]
    assert (v.status, v.message) == ("skipped", reason)


def test_one_unavailable_backend_does_not_explain_a_clause_the_other_could_run() -> None:
    v = _verdicts([], Selection(), {"tf": "tf gone"})["IM-1"]
    assert v.message == "no check for this clause ran"


def test_table_has_a_row_per_clause_and_counts() -> None:
    verdicts = aggregate([_result("IM-1", "torch", "passed"), _result("CC-1", "tf", "failed", message="x"),
                          _result("DF-1", "torch", "xfailed")], Selection(), {})
    lines = report.table(verdicts)
    rows = lines[2:-1]
    assert [row.split()[0] for row in rows] == [c.id for c in clauses.CLAUSES]
    assert "PASSED" in rows[[c.id for c in clauses.CLAUSES].index("IM-1")]
    skipped = len(clauses.CLAUSES) - 3
    assert lines[-1] == f"1 passed, 1 failed, {skipped} skipped, 1 xfailed"


def test_json_document_round_trips(tmp_path: Path) -> None:
    verdicts = aggregate([_result("IM-1", "torch", "passed")], Selection(), {})
    env = report.environment({"devices": ["cpu"]})
    assert {"python", "tensorflow", "keras", "torch", "numpy", "hypothesis", "devices"} <= set(env)
    document = report.to_json("my.impl", "core", "quick", 7, env, verdicts, incomplete=False, command="replay me",
                              impl_file="/somewhere/my/impl.py")
    path = tmp_path / "report.json"
    report.write(str(path), document)
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert (loaded["impl"], loaded["level"], loaded["profile"], loaded["seed"]) == ("my.impl", "core", "quick", 7)
    assert loaded["impl_file"] == "/somewhere/my/impl.py"
    assert loaded["replay"] == "replay me" and loaded["incomplete"] is False
    assert [c["id"] for c in loaded["clauses"]] == [c.id for c in clauses.CLAUSES]
    assert not (tmp_path / "report.json.tmp").exists()


def test_impl_file_is_null_when_the_target_was_not_resolved() -> None:
    """``impl_file`` is always present; None says no file was resolved (the report of a run that
    could not load its target)."""
    document = report.to_json("my.impl", "core", "quick", 7, report.environment(), [], incomplete=False,
                              command="replay me")
    assert "impl_file" in document and document["impl_file"] is None
