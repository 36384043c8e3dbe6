"""A check's ``@pytest.mark.clause("ID")`` marker is the one link between it and its clause.

pytest collects the checks (every backend, device and level, nothing run) in a child process; its
items' markers must agree with the registry, with ``selection.marked_checks`` (the same markers read
from the source, which reports and docs use) and with the checks docs/clauses.md names.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from conformance import clauses, render_clauses, selection

REPO = Path(__file__).resolve().parent.parent

#: Run in the child: ``argv[1]`` is the JSON file to write, the rest are pytest's arguments.
_COLLECT = """
import json, sys
import pytest


class Collector:
    items = []

    def pytest_collection_finish(self, session):
        self.items = [{"nodeid": item.nodeid, "key": f"{item.path.name}::{item.originalname}",
                       "markers": [[list(m.args), sorted(m.kwargs)] for m in item.iter_markers("clause")]}
                      for item in session.items]


collector = Collector()
code = pytest.main(sys.argv[2:], plugins=[collector])
with open(sys.argv[1], "w", encoding="utf-8") as handle:
    json.dump({"code": int(code), "items": collector.items}, handle)
"""


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> List[Dict[str, Any]]:
    """Every item pytest collects from ``conformance.checks`` with every backend, device and level
    selected: ``{"nodeid", "key": "test_x.py::function", "markers": [[args, kwarg names], ...]}``,
    the item's ``clause`` markers closest first."""
    workdir = tmp_path_factory.mktemp("collect")
    (workdir / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    out = workdir / "items.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH")))),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    args = ["-c", str(workdir / "pytest.ini"), "--rootdir", str(workdir), "-p", "no:cacheprovider",
            "-p", "no:xdist", "-p", "no:update_model_conformance", "-p", "conformance.plugin", "--assert=plain",
            "--collect-only", "-q", "--pyargs", "conformance.checks", "--conformance-backend", "all",
            "--conformance-device", "all", "--conformance-level", "strict"]
    child = subprocess.run([sys.executable, "-c", _COLLECT, str(out), *args], cwd=workdir, env=env,
                           capture_output=True, text=True, timeout=300)
    assert out.exists(), child.stdout[-3000:] + child.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["code"] == 0 and result["items"], child.stdout[-3000:] + child.stderr[-3000:]
    return result["items"]


def _closest(item: Dict[str, Any]) -> str:
    return item["markers"][0][0][0]


def test_every_check_carries_exactly_one_clause_marker_with_one_id(collected: List[Dict[str, Any]]) -> None:
    wrong = [(item["nodeid"], item["markers"]) for item in collected
             if len(item["markers"]) != 1 or len(item["markers"][0][0]) != 1 or item["markers"][0][1]]
    assert not wrong, "each check needs exactly one @pytest.mark.clause(\"ID\"):\n" + "\n".join(map(str, wrong))


def test_every_marker_names_a_registry_clause(collected: List[Dict[str, Any]]) -> None:
    named = {args[0] for item in collected for args, _ in item["markers"] if args}
    named |= {clause_id for ids in selection.marked_checks().values() for clause_id in ids}
    assert named <= set(clauses.BY_ID), f"not in conformance/clauses.py: {sorted(named - set(clauses.BY_ID))}"


def test_every_registry_clause_has_a_check(collected: List[Dict[str, Any]]) -> None:
    checked = {_closest(item) for item in collected if item["markers"]}
    missing = [clause.id for clause in clauses.CLAUSES if clause.id not in checked]
    assert not missing, f"clauses without a marked check: {missing}"


def test_the_markers_read_from_the_source_are_those_pytest_sees(collected: List[Dict[str, Any]]) -> None:
    """``selection.marked_checks`` (what reports without an item and the docs use) lists exactly the
    collected checks, each with the clause its items' closest marker names."""
    seen = {item["key"]: _closest(item) for item in collected if item["markers"]}
    assert len({item["key"] for item in collected}) == len(seen)
    assert {key: ids[-1] for key, ids in selection.marked_checks().items()} == seen
    assert all(selection.clause_of_nodeid(item["nodeid"]) == _closest(item) for item in collected)


def test_the_clause_doc_names_each_clause_s_checks(collected: List[Dict[str, Any]]) -> None:
    """docs/clauses.md is current, and each clause's row names the checks pytest collects for it."""
    assert render_clauses.main(["--check"]) == 0, "run: python -m conformance.render_clauses"
    text = Path(render_clauses.DEFAULT_PATH).read_text(encoding="utf-8")
    rows = {match.group(1): re.findall(r"`conformance/checks/([^`]+)`", match.group(2))
            for match in re.finditer(r"^\| ([A-Z]+-\d+) \|.*\| ([^|]*) \|$", text, re.M)}
    expected: Dict[str, List[str]] = {clause.id: [] for clause in clauses.CLAUSES}
    for item in filter(lambda item: item["markers"], collected):
        if item["key"] not in expected[_closest(item)]:
            expected[_closest(item)].append(item["key"])
    assert {k: sorted(v) for k, v in rows.items()} == {k: sorted(v) for k, v in expected.items()}
    assert all((REPO / "conformance" / "checks" / key.split("::")[0]).is_file() for keys in rows.values()
               for key in keys)
