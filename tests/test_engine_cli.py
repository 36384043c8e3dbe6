"""``python -m conformance`` end to end, in child processes: exit codes, the report, ``--expect-fail``,
``--seed``, a framework made unimportable, and the ``pytest --pyargs conformance.checks`` route.

Each run is kept short: ``--profile quick``, ``--only`` two clauses, one worker. The
implementation under test is the reference (which holds) or ``engine_impls/noop.py`` (which
returns None, so CC-1 holds, and applies no step, so IM-1 fails).

A framework is made unimportable by a ``sitecustomize.py`` on ``PYTHONPATH``: the CLI, its probe and
every pytest-xdist worker inherit the environment, so all of them run it first. It wraps every
meta-path finder so that none finds the framework (nor its submodules): ``import`` raises
``ModuleNotFoundError`` and ``importlib.util.find_spec`` returns None, as when it is not installed.
(A finder that *raises* from ``find_spec`` is no model of a missing package: torch's dynamo calls
``find_spec("tensorflow")`` for its skip list and would crash on it, in torch code.)
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import pytest

from conformance import clauses, report

NOOP = str(Path(__file__).resolve().parent / "engine_impls" / "noop.py")
#: The repository's reference, which ``--impl reference`` names wherever the suite runs from.
REFERENCE_FILE = str(Path(__file__).resolve().parents[1] / "reference" / "__init__.py")
FRAMEWORK_ROOTS = {"tf": ("tensorflow", "keras", "tf_keras"), "torch": ("torch",)}
OTHER = {"tf": "torch", "torch": "tf"}
# A clause that applies to one backend only, and so has nothing to run when that backend is missing.
ONLY_ON = {"tf": "IM-5", "torch": "IM-2"}
QUICK = ("--profile", "quick", "--workers", "1")

BLOCKER = '''\
"""Test fixture: the packages named below look not installed, in this process and its children."""
import importlib.abc
import sys

_ROOTS = frozenset({roots!r})


class _Hiding(importlib.abc.MetaPathFinder):
    """One meta-path finder that does not find the hidden packages."""

    def __init__(self, inner):
        self.inner = inner

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in _ROOTS:
            return None
        find_spec = getattr(self.inner, "find_spec", None)
        return None if find_spec is None else find_spec(fullname, path, target)

    def __getattr__(self, name):  # invalidate_caches() and the like
        return getattr(self.inner, name)


sys.meta_path[:] = [_Hiding(finder) for finder in sys.meta_path]
'''


@dataclass(frozen=True)
class CliRun:
    """What one ``python -m conformance`` run did."""
    returncode: int
    output: str                          # stdout and stderr, interleaved
    report: Optional[Dict[str, Any]]     # the JSON report, if one was written

    def clause(self, clause_id: str) -> Dict[str, Any]:
        assert self.report is not None, self.describe()
        return next(c for c in self.report["clauses"] if c["id"] == clause_id)

    def describe(self) -> str:
        return f"exit {self.returncode}\n--- output (tail) ---\n{self.output[-5000:]}"


def _blocker_dir(tmp_path: Path, backend: str) -> Path:
    directory = tmp_path / f"block-{backend}"
    directory.mkdir()
    (directory / "sitecustomize.py").write_text(BLOCKER.format(roots=FRAMEWORK_ROOTS[backend]), encoding="utf-8")
    return directory


def _env(tmp_path: Path, blocked: Optional[str]) -> Dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_USE_LEGACY_KERAS", None)
    env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    env.pop("PYTEST_ADDOPTS", None)
    if blocked:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(_blocker_dir(tmp_path, blocked)),
                                                          env.get("PYTHONPATH"))))
    return env


def _run(tmp_path: Path, command: Sequence[str], report_path: Path, blocked: Optional[str] = None,
         timeout: float = 240) -> CliRun:
    completed = subprocess.run([sys.executable, *command], cwd=tmp_path, env=_env(tmp_path, blocked),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=timeout)
    document = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else None
    return CliRun(completed.returncode, completed.stdout, document)


def run_cli(tmp_path: Path, *args: str, blocked: Optional[str] = None) -> CliRun:
    """``python -m conformance ARGS --report tmp_path/report.json``, run in ``tmp_path``."""
    path = tmp_path / "report.json"
    return _run(tmp_path, ["-m", "conformance", *args, "--report", str(path)], path, blocked)


def _expect_fail_file(tmp_path: Path, *lines: str) -> str:
    path = tmp_path / "expected-failures.txt"
    path.write_text("# known failures\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


# ------------------------------------------------------------------------------- the report schema

CLAUSE_FIELDS = {"id": str, "level": str, "status": str, "backends": list, "examples": int, "message": str,
                 "counterexample": str}
ENVIRONMENT_FIELDS = ("python", "tensorflow", "keras", "torch", "numpy", "hypothesis", "devices")


def assert_report_schema(document: Dict[str, Any]) -> None:
    """The documented schema, with one entry for every registry clause, in registry order."""
    assert {"impl", "impl_file", "level", "profile", "seed", "environment", "clauses"} <= set(document)
    assert set(ENVIRONMENT_FIELDS) <= set(document["environment"])
    assert isinstance(document["environment"]["devices"], list) and "cpu" in document["environment"]["devices"]
    assert [c["id"] for c in document["clauses"]] == [c.id for c in clauses.CLAUSES]
    for entry in document["clauses"]:
        for name, kind in CLAUSE_FIELDS.items():
            assert isinstance(entry[name], kind), (entry["id"], name, entry[name])
        assert entry["level"] == clauses.get(entry["id"]).level
        assert entry["status"] in report.STATUSES
        assert set(entry["backends"]) <= set(clauses.BACKENDS) and entry["examples"] >= 0
        if entry["status"] == "skipped":
            assert entry["message"], f"{entry['id']} skipped without a reason"


# ------------------------------------------------------------------------------------ the runs

def test_do_nothing_update_model_fails_im1(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "--impl", NOOP, "--backend", "torch", "--only", "IM-1,CC-1", "--seed", "1234", *QUICK)
    assert run.returncode == 1, run.describe()
    assert "IM-1 FAILED" in run.output and "seed=1234" in run.output, run.describe()
    assert_report_schema(run.report)
    assert run.report["impl"] == f"{NOOP}:update_model" and run.report["impl_file"] == NOOP
    assert f"impl={NOOP}:update_model impl_file={NOOP} backend=torch" in run.output, run.describe()
    assert (run.report["level"], run.report["profile"], run.report["seed"]) == ("core", "quick", 1234)
    assert "--seed 1234" in run.report["replay"]
    im1, cc1 = run.clause("IM-1"), run.clause("CC-1")
    assert (im1["status"], im1["backends"]) == ("failed", ["torch"])
    assert "IM-1" in im1["message"] and "update_model(" in im1["counterexample"], im1
    assert (cc1["status"], cc1["backends"]) == ("passed", ["torch"]) and cc1["examples"] > 0
    assert run.clause("IM-2")["message"] == "not selected (--only)"
    assert run.clause("CC-6")["message"] == "strict clause; --level core selected"
    assert {c["status"] for c in run.report["clauses"] if c["id"] not in ("IM-1", "CC-1")} == {"skipped"}


@pytest.mark.parametrize("impl, words", [
    ("engine_cli_no_such_module", ("module not found: 'engine_cli_no_such_module'",)),
    ("{tmp}/broken.py", ("syntax error in", "broken.py", "line 2")),
    ("{tmp}/exits.py", ("loading it ended the process (exit 3)",)),
    (f"{NOOP}:NOT_CALLABLE", ("not callable",)),
    (f"{NOOP}:no_such_function", ("has no attribute 'no_such_function'",)),
])
def test_unloadable_target_exits_2(tmp_path: Path, impl: str, words: Sequence[str]) -> None:
    (tmp_path / "broken.py").write_text("def update_model(model, gradients):\n    return (\n", encoding="utf-8")
    (tmp_path / "exits.py").write_text("import os\nos._exit(3)\n", encoding="utf-8")
    run = run_cli(tmp_path, "--impl", impl.format(tmp=tmp_path), "--backend", "torch", *QUICK)
    assert run.returncode == 2, run.describe()
    assert "conformance: error: --impl" in run.output, run.describe()
    for word in words:
        assert word in run.output, run.describe()
    assert run.report is None, "a usage error writes no report"


@pytest.mark.parametrize("args, words", [
    (("--only", "IM-1,ZZ-9"), ("--only: unknown clause 'ZZ-9'",)),
    (("--expect-fail", "{ef}"), ("unknown clause 'ZZ-9'", ":2:")),
    (("--expect-fail", "{tmp}/missing.txt"), ("cannot read", "missing.txt")),
])
def test_usage_errors_exit_2(tmp_path: Path, args: Sequence[str], words: Sequence[str]) -> None:
    ef = _expect_fail_file(tmp_path, "ZZ-9")
    run = run_cli(tmp_path, "--impl", NOOP, *(a.format(ef=ef, tmp=tmp_path) for a in args), *QUICK)
    assert run.returncode == 2 and run.report is None, run.describe()
    for word in words:
        assert word in run.output, run.describe()


@pytest.mark.parametrize("blocked", ["tf", "torch"])
def test_one_framework_unimportable(tmp_path: Path, blocked: str) -> None:
    """With the default ``--backend all``, the other backend is checked and the blocked one is
    reported unavailable (a skip with the reason), not a crash."""
    available, only_blocked = OTHER[blocked], ONLY_ON[blocked]
    run = run_cli(tmp_path, "--impl", "reference", "--only", f"IM-1,{only_blocked}", *QUICK, blocked=blocked)
    assert run.returncode == 0, run.describe()
    im1 = run.clause("IM-1")
    assert (im1["status"], im1["backends"]) == ("passed", [available]), im1
    assert f"[{blocked}-cpu] skipped: backend '{blocked}' is not available" in im1["message"], im1
    missing = "tensorflow" if blocked == "tf" else "torch"
    assert f"No module named '{missing}'" in im1["message"], "the worker really could not import it"
    other = run.clause(only_blocked)
    assert other["status"] == "skipped" and f"backend '{blocked}' is not available" in other["message"], other


@pytest.mark.parametrize("blocked", ["tf", "torch"])
def test_selecting_only_an_unimportable_backend_exits_2(tmp_path: Path, blocked: str) -> None:
    run = run_cli(tmp_path, "--impl", "reference", "--backend", blocked, "--only", "IM-1", *QUICK, blocked=blocked)
    assert run.returncode == 2, run.describe()
    name = "tensorflow" if blocked == "tf" else "torch"
    assert f"--backend {blocked}: {name} not importable" in run.output, run.describe()


def test_expected_failure_becomes_xfailed(tmp_path: Path) -> None:
    """A listed failure is xfailed and the run passes. (Run with TensorFlow unimportable: this is
    also the ``--backend torch`` run in a torch-only environment.)"""
    ef = _expect_fail_file(tmp_path, "IM-1 torch   # no step yet")
    run = run_cli(tmp_path, "--impl", NOOP, "--backend", "torch", "--only", "IM-1,CC-1", "--expect-fail", ef, *QUICK,
                  blocked="tf")
    assert run.returncode == 0, run.describe()
    assert run.clause("IM-1")["status"] == "xfailed" and ef in run.clause("IM-1")["message"]
    assert run.clause("CC-1")["status"] == "passed"


def test_expected_failure_that_holds_fails_the_run(tmp_path: Path) -> None:
    ef = _expect_fail_file(tmp_path, "IM-1", "CC-1")
    run = run_cli(tmp_path, "--impl", NOOP, "--backend", "torch", "--only", "IM-1,CC-1", "--expect-fail", ef, *QUICK)
    assert run.returncode == 1, run.describe()
    assert run.clause("IM-1")["status"] == "xfailed"
    cc1 = run.clause("CC-1")
    assert cc1["status"] == "failed" and "but it holds now" in cc1["message"] and "'CC-1'" in cc1["message"], cc1


# ----------------------------------------------------------- known failures: recorded counterexamples

@pytest.fixture(scope="module")
def noop_im1_entry(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The expect-fail line a failing run prints for the no-op's IM-1 failure on torch."""
    tmp_path = tmp_path_factory.mktemp("entry")
    run = run_cli(tmp_path, "--impl", NOOP, "--backend", "torch", "--only", "IM-1", *QUICK)
    assert run.returncode == 1, run.describe()
    entries = [r["expect_fail_entry"] for r in run.clause("IM-1")["results"]]
    assert len(entries) == 1 and entries[0].startswith("IM-1 torch replay="), entries
    assert entries[0] in run.output, run.describe()
    return entries[0]


def test_a_recorded_counterexample_confirms_the_failure_at_any_seed(tmp_path: Path, noop_im1_entry: str) -> None:
    ef = _expect_fail_file(tmp_path, noop_im1_entry + "   # no step yet")
    run = run_cli(tmp_path, "--impl", NOOP, "--backend", "torch", "--only", "IM-1", "--expect-fail", ef,
                  "--seed", "12345", *QUICK)
    assert run.returncode == 0, run.describe()
    im1 = run.clause("IM-1")
    assert im1["status"] == "xfailed" and "confirmed by its recorded counterexample" in im1["message"], im1


def test_a_clause_holds_now_only_when_its_counterexample_no_longer_fails(tmp_path: Path, noop_im1_entry: str) -> None:
    ef = _expect_fail_file(tmp_path, noop_im1_entry)
    run = run_cli(tmp_path, "--impl", "reference", "--backend", "torch", "--only", "IM-1", "--expect-fail", ef, *QUICK)
    assert run.returncode == 1, run.describe()
    message = run.clause("IM-1")["message"]
    assert "holds now (its recorded counterexample no longer fails, nor does a search find one)" in message, message


@pytest.mark.parametrize("token", ["replay=0.0.1:AEEAQQBBAEEAQQFBAEEA", "replay={version}:AAAA"],
                         ids=["another-hypothesis-version", "blob-of-another-shape"])
def test_an_unusable_counterexample_falls_back_to_the_search(tmp_path: Path, token: str) -> None:
    token = token.format(version=importlib.metadata.version("hypothesis"))
    ef = _expect_fail_file(tmp_path, f"IM-1 torch {token}")
    run = run_cli(tmp_path, "--impl", NOOP, "--backend", "torch", "--only", "IM-1", "--expect-fail", ef, *QUICK)
    assert run.returncode == 0, run.describe()
    message = run.clause("IM-1")["message"]
    assert "its recorded counterexample could not be replayed" in message, message
    assert "a search found this failure: update the entry to 'IM-1 torch replay=" in message, message


# ------------------------------------------------------------------------- the pytest route

def test_plugin_is_registered_by_entry_point() -> None:
    points = {e.name: e.value for e in importlib.metadata.entry_points(group="pytest11")}
    assert points.get("update_model_conformance") == "conformance.plugin"


def test_pytest_pyargs_route(tmp_path: Path) -> None:
    """``pytest --pyargs conformance.checks --impl X``: the entry point loads the plugin (no ``-p``)."""
    path = tmp_path / "report.json"
    run = _run(tmp_path, ["-m", "pytest", "-p", "no:cacheprovider", "-q", "--pyargs", "conformance.checks",
                          "--impl", NOOP, "--conformance-backend", "torch", "--conformance-profile", "quick",
                          "--conformance-only", "IM-1,CC-1", "--conformance-report", str(path),
                          "--hypothesis-seed", "77"], path)
    assert run.returncode == 1, run.describe()
    assert "update_model conformance" in run.output and "IM-1 FAILED" in run.output, run.describe()
    assert_report_schema(run.report)
    assert (run.report["impl"], run.report["profile"], run.report["seed"]) == (NOOP, "quick", 77)
    assert run.report["impl_file"] == NOOP
    assert run.clause("IM-1")["status"] == "failed" and run.clause("CC-1")["status"] == "passed"


# ------------------------------------------------------ the implementation named is the one tested

SHADOW_MARKER = "SHADOW-REFERENCE-MARKER"
#: Another ``reference`` package in the working directory: one that fails wherever it is imported,
#: one whose ``update_model`` fails CC-1 wherever it is called.
SHADOWS = {
    "import-raises": f"raise RuntimeError({SHADOW_MARKER!r})\n",
    "update-raises": f"def update_model(*args, **kwargs):\n    raise RuntimeError({SHADOW_MARKER!r})\n",
}


def _shadow(tmp_path: Path, source: str) -> None:
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "__init__.py").write_text(source, encoding="utf-8")


@pytest.mark.parametrize("shadow", sorted(SHADOWS))
def test_another_reference_in_the_working_directory_is_not_tested(tmp_path: Path, shadow: str) -> None:
    """``--impl reference`` run from a directory holding another ``reference`` package: the probe and
    the workers all import the repository's reference, whose file the header and the report name."""
    _shadow(tmp_path, SHADOWS[shadow])
    run = run_cli(tmp_path, "--impl", "reference", "--backend", "torch", "--only", "CC-1", *QUICK)
    assert run.returncode == 0, run.describe()
    assert SHADOW_MARKER not in run.output, run.describe()
    assert run.report["impl"] == "reference" and run.report["impl_file"] == REFERENCE_FILE
    assert f"impl=reference impl_file={REFERENCE_FILE} " in run.output, run.describe()
    cc1 = run.clause("CC-1")
    assert (cc1["status"], cc1["backends"]) == ("passed", ["torch"]) and cc1["examples"] > 0, cc1


def test_pytest_route_workers_test_the_file_the_controller_resolved(tmp_path: Path) -> None:
    """``pytest --pyargs conformance.checks --impl reference -n 1`` from a directory holding another
    ``reference``: the xdist worker imports the file the controller resolved."""
    _shadow(tmp_path, SHADOWS["import-raises"])
    path = tmp_path / "report.json"
    run = _run(tmp_path, ["-m", "pytest", "-p", "no:cacheprovider", "-q", "--pyargs", "conformance.checks",
                          "--impl", "reference", "--conformance-backend", "torch", "--conformance-profile", "quick",
                          "--conformance-only", "CC-1", "--conformance-report", str(path), "-n", "1"], path)
    assert run.returncode == 0, run.describe()
    assert SHADOW_MARKER not in run.output, run.describe()
    assert run.report["impl_file"] == REFERENCE_FILE and run.clause("CC-1")["status"] == "passed"

