"""Run ``python -m conformance`` as a child process and summarise its JSON report.

One ``SuiteRun`` describes one CLI invocation (implementation, backend, level, profile, extra
arguments, environment changes); ``run`` executes it in a scratch directory and returns a
``RunResult`` with the exit code, the clauses that failed, the wall time and the time to the first
failing verdict (from the report's per-result ``finished`` timestamps). ``run_all`` runs many at a
time-bounded concurrency (each child is a full suite process: keep ``jobs`` at the core count and
pass ``--workers 1``).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Environment variables a run may set or remove (None removes it).
EnvChanges = Mapping[str, Optional[str]]


@dataclass(frozen=True)
class SuiteRun:
    """One invocation of the suite's CLI."""
    impl: str
    backend: str
    level: str
    profile: str
    args: Tuple[str, ...] = ()
    env: Tuple[Tuple[str, Optional[str]], ...] = ()
    timeout: float = 3600.0

    def command(self, report: str) -> List[str]:
        return [sys.executable, "-m", "conformance", "--impl", self.impl, "--backend", self.backend,
                "--level", self.level, "--profile", self.profile, *self.args, "--report", report]

    def shell(self) -> str:
        """The command as a user would type it (environment prefix, relative paths)."""
        env = " ".join(f"{k}={v}" for k, v in self.env if v is not None)
        impl = os.path.relpath(self.impl, ROOT) if os.path.isabs(self.impl) else self.impl
        words = ["python", "-m", "conformance", "--impl", impl, "--backend", self.backend, "--level",
                 self.level, "--profile", self.profile, *self.args]
        return (env + " " if env else "") + " ".join(words)


@dataclass
class RunResult:
    """What one run said: exit code, failed/xfailed/passed clause ids, timings, and the output tail."""
    run: SuiteRun
    exit_code: int
    failed: List[str] = field(default_factory=list)
    xfailed: List[str] = field(default_factory=list)
    passed: List[str] = field(default_factory=list)
    wall_s: float = 0.0
    first_failure_s: Optional[float] = None
    counterexamples: Dict[str, str] = field(default_factory=dict)
    #: the ``--expect-fail`` line of each failure, with its counterexample where it has one
    entries: List[str] = field(default_factory=list)
    tail: str = ""


def child_env(changes: EnvChanges) -> Dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_USE_LEGACY_KERAS", None)  # Keras 3 unless a run asks for Keras 2
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (ROOT, env.get("PYTHONPATH"))))
    return env


def summarise(run: SuiteRun, code: int, document: dict, started: float, wall: float, tail: str) -> RunResult:
    """A ``RunResult`` from a finished run's report (``document`` may be empty: no report written)."""
    result = RunResult(run, code, wall_s=round(wall, 2), tail=tail)
    finished: List[float] = []
    for clause in document.get("clauses", []):
        status = clause.get("status")
        if status == "failed":
            result.failed.append(clause["id"])
            text = (clause.get("message", "") + "\n" + clause.get("counterexample", "")).strip()
            result.counterexamples[clause["id"]] = text
            result.entries += [r["expect_fail_entry"] for r in clause.get("results", []) if r.get("expect_fail_entry")]
            finished += [r["finished"] for r in clause.get("results", [])
                         if r.get("status") == "failed" and r.get("finished")]
        elif status == "xfailed":
            result.xfailed.append(clause["id"])
        elif status == "passed":
            result.passed.append(clause["id"])
    if finished:
        result.first_failure_s = round(min(finished) - started, 2)
    return result


def run(suite_run: SuiteRun) -> RunResult:
    """Run the CLI once in a scratch directory; never raises for a failing or crashing child."""
    with tempfile.TemporaryDirectory(prefix="suite-run-") as tmp:
        report = os.path.join(tmp, "report.json")
        started = time.time()
        try:
            child = subprocess.run(suite_run.command(report), capture_output=True, text=True, cwd=tmp,
                                   env=child_env(dict(suite_run.env)), timeout=suite_run.timeout)
            code, output = child.returncode, child.stdout + child.stderr
        except subprocess.TimeoutExpired as error:
            code, output = -1, f"timed out after {suite_run.timeout:g} s: {error}"
        wall = time.time() - started
        try:
            with open(report, encoding="utf-8") as handle:
                document = json.load(handle)
        except (OSError, ValueError):
            document = {}
    return summarise(suite_run, code, document, started, wall, output[-3000:])


def run_all(runs: Sequence[SuiteRun], jobs: int,
            on_done: Callable[[RunResult], None] = lambda r: None) -> List[RunResult]:
    """Run every ``SuiteRun``, ``jobs`` at a time; results in the order of ``runs``."""
    def one(suite_run: SuiteRun) -> RunResult:
        result = run(suite_run)
        on_done(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, runs))
