"""The kill table (``tools/kill_table.py``, ``docs/kill-table.json``): coverage and currency, no suite runs.

Coverage: every clause of the registry is declared by at least one mutant, and caught by one in the
recorded table; PA-3 (device parity) is excepted from *caught* here: its only mutant needs a CUDA
device, which the development machine has not (the table records it as skipped with that reason).
Currency: the recorded table names exactly the mutants of ``tests/mutants`` with their present
metadata, and every variant. The verdict logic is tested on synthetic run results.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import pytest

from conformance import clauses
from tools import flakiness, kill_table, kill_table_doc
from tools.suite_runs import RunResult, SuiteRun

ROOT = Path(__file__).resolve().parent.parent
#: clause -> why no mutant can be caught on it here.
CAUGHT_EXCEPTIONS = {"PA-3": "device parity needs a CUDA device; its mutant (torch_grads_to_cpu) is skipped here"}
MUTANTS = kill_table.mutants()
VARIANTS = kill_table.variants()


@pytest.fixture(scope="module")
def document() -> Dict[str, Any]:
    assert Path(kill_table.JSON_PATH).exists(), "docs/kill-table.json is missing: run python -m tools.kill_table"
    return kill_table.load()


def _rows(document: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [row for section in document["sections"].values() for row in section["mutants"]]


#: clause -> why no mutant declares it yet (a known gap of tests/mutants, reported; strict xfail).
UNDECLARED: Dict[str, str] = {}


@pytest.mark.parametrize("clause_id", [
    pytest.param(c, marks=pytest.mark.xfail(reason=UNDECLARED[c], strict=True)) if c in UNDECLARED else c
    for c in clauses.BY_ID])
def test_every_clause_is_declared_by_a_mutant(clause_id: str) -> None:
    assert any(clause_id in m.violates for m in MUTANTS), f"no mutant declares {clause_id}"


def test_every_clause_is_caught_by_a_declaring_mutant(document: Dict[str, Any]) -> None:
    caught = {c for row in _rows(document) if row["verdict"] == "killed" for c in row["caught_by_declared"]}
    missing = set(clauses.BY_ID) - caught - set(CAUGHT_EXCEPTIONS) - set(UNDECLARED)
    assert missing == set(), f"no mutant is caught on {sorted(missing)} in docs/kill-table.json"
    for clause_id in CAUGHT_EXCEPTIONS:
        skipped = [r for r in _rows(document) if clause_id in r["declared"] and r["verdict"] == "skipped"]
        assert skipped and all("CUDA" in r["reason"] for r in skipped), clause_id


def test_the_table_is_current(document: Dict[str, Any]) -> None:
    assert document["mutant_metadata"] == {m.name: m.metadata() for m in MUTANTS}
    for name, section in document["sections"].items():
        assert sorted({r["mutant"] for r in section["mutants"]}) == sorted(m.name for m in MUTANTS), name
        for row in section["mutants"]:
            meta = document["mutant_metadata"][row["mutant"]]
            assert row["declared"] == meta["VIOLATES"] and row["level"] == meta["LEVEL"], (name, row["mutant"])
        if section["variants"]:
            assert {r["variant"] for r in section["variants"]} == {v.name for v in VARIANTS}, name
    assert kill_table.render(document) == Path(kill_table.MD_PATH).read_text(encoding="utf-8"), \
        "docs/kill-table.md is not the rendering of docs/kill-table.json"


def test_the_done_when_holds_in_the_recorded_table(document: Dict[str, Any]) -> None:
    sections = document["sections"]
    ci = [s for name, s in sections.items() if name.startswith("ci")]
    assert ci, "no --profile ci section recorded"
    for section in ci:
        s = section["summary"]
        assert not (s["survivors"] or s["caught_undeclared"] or s["errors"] or s["false_alarms"]), s
    if "quick" in sections:
        assert sections["quick"]["summary"]["kill_rate"] >= 0.95


# ------------------------------------------------------------------------------- runner logic
def _result(exit_code: int, failed: List[str], backend: str = "torch", level: str = "core") -> RunResult:
    return RunResult(SuiteRun("x.py", backend, level, "quick"), exit_code, failed=failed)


MUTANT = kill_table.Mutant("m", "m.py", ("IM-2", "DF-4"), ("torch",), "core", ())


@pytest.mark.parametrize("exit_code, failed, verdict", [
    (1, ["DF-4", "PA-1"], "killed"),
    (1, ["PA-1"], "caught, but not by a declared clause"),
    (0, [], "survived"),
    (2, [], "error"),
    (1, [], "error"),
    (-1, [], "error"),
])
def test_mutant_verdicts(exit_code: int, failed: List[str], verdict: str) -> None:
    assert kill_table.mutant_verdict(MUTANT, _result(exit_code, failed)) == verdict


def test_core_variant_must_fail_exactly_its_strict_fails() -> None:
    variant = kill_table.Variant("v", "v.py", "core", ("CC-6", "CC-7"))
    core = [_result(0, [], b) for b in ("tf", "torch")]
    good = core + [_result(1, ["CC-7"], "tf", "strict"), _result(1, ["CC-6", "CC-7"], "torch", "strict")]
    assert [r["verdict"] for r in kill_table.variant_rows(variant, good)] == ["accepted as expected"] * 2
    extra = core + [_result(1, ["CC-7", "IM-1"], "tf", "strict"), _result(1, ["CC-6"], "torch", "strict")]
    assert [r["verdict"] for r in kill_table.variant_rows(variant, extra)] == ["accepted as expected", "false alarm"]
    short = core + [_result(1, ["CC-7"], "tf", "strict"), _result(0, [], "torch", "strict")]
    assert kill_table.variant_rows(variant, short)[1]["verdict"] == "false alarm"
    rejected = [_result(1, ["IM-1"], "tf"), _result(0, [], "torch")]
    assert kill_table.variant_rows(variant, rejected)[0]["verdict"] == "false alarm"


def test_runs_follow_the_metadata() -> None:
    options = kill_table.Options("ci", only_declared=True, seed=None, jobs=2)
    mutant = kill_table.Mutant("m", "m.py", ("DF-3", "DF-4"), ("tf", "torch"), "core", ("keras2",))
    runs, why = kill_table.mutant_runs(mutant, options, have_cuda=False)
    if why:  # tf-keras missing: the reason says so
        assert "tf-keras" in why and runs == []
        return
    assert [(r.backend, r.args[r.args.index("--only") + 1]) for r in runs] == [("tf", "DF-3"), ("torch", "DF-4")]
    assert all(dict(r.env) == {"TF_USE_LEGACY_KERAS": "1"} and r.level == "core" for r in runs)
    cuda = kill_table.Mutant("c", "c.py", ("PA-3",), ("torch",), "core", ("cuda",))
    assert kill_table.mutant_runs(cuda, options, have_cuda=False) == ([], "needs a CUDA device; torch sees none here")
    assert "--device" in kill_table.mutant_runs(cuda, options, have_cuda=True)[0][0].args


def test_variants_run_on_each_backend_and_under_keras2() -> None:
    """A correct variant runs at its level on tf and torch, and on tf under Keras 2 where tf-keras is
    installed; a core-only variant does the same at strict."""
    options = kill_table.Options("ci", only_declared=False, seed=None, jobs=2)
    keras2 = kill_table.unmet("keras2", have_cuda=False) is None
    legs = ["tf", "torch"] + (["tf (Keras 2)"] if keras2 else [])
    for level, variant in (("strict", ("strict",)), ("core", ("core", "strict"))):
        runs = kill_table.variant_runs(kill_table.Variant("v", "v.py", level, ()), options)
        assert [(r.level, kill_table.backend_label(r)) for r in runs] == [(lv, leg) for lv in variant for leg in legs]
    assert all(dict(r.env) == ({"TF_USE_LEGACY_KERAS": "1"} if "Keras 2" in kill_table.backend_label(r) else {})
               for r in runs)


def test_a_rerun_of_named_mutants_keeps_the_whole_runs_provenance() -> None:
    """``--only`` into a section a whole run made: its rows are replaced, the header keeps the whole
    run's command and time, and the re-run is listed with the rows it replaced (once per re-run)."""
    options = kill_table.Options("ci", only_declared=False, seed=None, jobs=2)
    row = {"mutant": "a", "backend": "tf", "verdict": "killed", "caught_by": ["IM-1", "PA-1"],
           "caught_by_declared": ["IM-1"], "declared": ["IM-1"], "level": "core", "requires": [],
           "exit": 1, "time_to_verdict_s": 1.0, "wall_s": 2.0}
    whole = {"command": "python -m tools.kill_table --profile ci", "started_utc": "2026-01-01 00:00:00",
             "duration_s": 100.0, "jobs": 2, "seed": None, "complete": True}
    document: Dict[str, Any] = {}
    kill_table.merge_section(document, options, [row, {**row, "mutant": "b"}], [], partial=True, meta=whole)
    rerun = {**whole, "command": "python -m tools.kill_table --profile ci --only a", "started_utc": "2026-01-02 00:00:00",
             "duration_s": 5.0}
    for _ in range(2):  # merged after each finished run: one entry, not two
        section = kill_table.merge_section(document, options, [{**row, "caught_by": ["IM-1"]}], [], partial=True,
                                           meta=rerun, rerun=True)
    assert (section["command"], section["started_utc"]) == (whole["command"], whole["started_utc"])
    assert [(r["command"], r["rows"]) for r in section["reruns"]] == [(rerun["command"], ["a"])]
    assert [(r["mutant"], r["caught_by"]) for r in section["mutants"]] == [("a", ["IM-1"]), ("b", ["IM-1", "PA-1"])]
    text = "\n".join(kill_table_doc.section_md(options.section, section))
    assert whole["command"] in text and f"Rows re-run since and merged here: a, by `{rerun['command']}`" in text


def test_flakiness_seed_overrides() -> None:
    assert flakiness.seeds_by_subject(["reference=11,12", "fe_style_core="]) == {"reference": [11, 12],
                                                                               "fe_style_core": []}
    with pytest.raises(SystemExit):
        flakiness.seeds_by_subject(["reference"])


def test_flakiness_section_names_every_command_commit_and_failure() -> None:
    def run(impl: str, seed: int, commit: str, exit_code: int = 0) -> Dict[str, Any]:
        return {"impl": impl, "level": "strict", "backend": "tf", "seed": seed, "profile": "ci", "commit": commit,
                "exit": exit_code, "failed": ["IM-1"] if exit_code else [], "wall_s": 1.0}
    text = "\n".join(kill_table_doc.flakiness_md({
        "command": "second", "commands": ["first", "second"], "started_utc": "t", "duration_s": 2.0,
        "runs": [run("reference", 1, "aaa"), run("reference", 2, "bbb", exit_code=1)]}))
    assert "`first`; `second`" in text and "aaa, bbb" in text
    assert "**1 failing runs.**" in text and "seed 2: IM-1" in text


#: How many seeds the flakiness runs must cover per correct implementation and backend (issue 7).
FLAKINESS_SEEDS = 20


def test_flakiness_runs_cover_every_correct_implementation(document: Dict[str, Any]) -> None:
    runs = document["flakiness"]["runs"]
    assert [r["command"] for r in runs if r["exit"] != 0] == [], "a correct implementation failed under some seed"
    for name in ["reference"] + [v.name for v in VARIANTS]:
        for backend in ("tf", "torch"):
            seeds = {r["seed"] for r in runs if r["impl"] == name and r["backend"] == backend and r["profile"] == "ci"}
            assert len(seeds) >= FLAKINESS_SEEDS, (name, backend, sorted(seeds))
