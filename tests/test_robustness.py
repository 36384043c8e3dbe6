"""The suite stays trustworthy when the implementation under test is broken or hostile.

Every test runs the real CLI (``python -m conformance``) in a child process, on the torch backend
with ``--profile quick`` and ``--only`` a clause or two, and checks its exit code, what it printed
and its JSON report. The faulty implementations live in ``tests/robustness/``; most wrap the
reference and misbehave only when asked to defer, so one run shows both the deferring clause
failing (DF-1) and an immediate clause (IM-1) still running and passing.

| input                                                    | exit | what the user sees                       |
|----------------------------------------------------------|------|------------------------------------------|
| target with a syntax error, raising import, missing      | 2    | the cause, before any test runs          |
| ``mod:attr`` missing or not callable                     | 2    | which attribute, what was found instead  |
| ``update_model`` that cannot take ``defer``/``deferred`` | 1    | CC-1 fails naming the signature          |
| an exception no clause documents (``KeyboardInterrupt``) | 1    | that clause fails with the traceback     |
| ``sys.exit``, ``os._exit``, interpreter crash            | 1    | "implementation ended the process"       |
| never returns (Python loop, sleep, lock, C code + GIL)   | 1    | the clause fails after ``--timeout``     |
| bad option (report path, expect-fail file, choices)      | 2    | one line naming the option and why       |
| Ctrl-C (once, twice, to the process group, at start-up)  | 130  | a report marked incomplete               |
| an earlier run's report at the ``--report`` path         | 2    | never read: this run's report replaces it|

Every run also checks that the CLI wrote nothing but its report in its working directory, left
no ``conformance-*`` directory and no file in its (private) ``TMPDIR``, and left no process of its
process group running. Runs are bounded: a child still alive after ``RUN_LIMIT`` seconds is
killed with its whole process group and the test fails.

Tests marked ``slow`` are further variants of a row already covered by an unmarked test, and the
done-when run of issue 9 (every torch clause against an implementation that never returns);
``-m "not slow"`` leaves about 1.5 minutes of runs, the whole file about 4 (2 cores).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import pytest

from child_signals import default_sigint  # the Ctrl-C rows' child must not inherit SIGINT ignored
from conformance.invoke import WATCHDOG_GRACE  # after --timeout, the watchdog ends a worker

ROBUSTNESS = Path(__file__).resolve().parent / "robustness"
REPORT = "report.json"
#: Every run uses these: one backend, the smallest profile.
BASE = ("--backend", "torch", "--profile", "quick")
#: The deferring clause the faulty implementations break, and an immediate one they leave alone.
BROKEN, INTACT = "DF-1", "IM-1"
#: Seconds a single run may take before it is called hung (runs take 15-60 s on 2 loaded cores).
RUN_LIMIT = 300.0
#: ``--timeout`` for the hang rows: long enough for a reference call on a loaded machine.
HANG_TIMEOUT = 5
#: Seconds a run's worker processes may take to end after the CLI has exited.
SURVIVOR_GRACE = 20.0


def impl(name: str) -> str:
    return str(ROBUSTNESS / f"{name}.py")


@dataclass
class CliRun:
    """What one ``python -m conformance`` run did."""
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    report: Optional[Dict[str, Any]]

    def clause(self, clause_id: str) -> Dict[str, Any]:
        assert self.report is not None, f"no report was written\n{self.describe()}"
        return next(c for c in self.report["clauses"] if c["id"] == clause_id)

    def statuses(self) -> Dict[str, str]:
        assert self.report is not None, f"no report was written\n{self.describe()}"
        return {c["id"]: c["status"] for c in self.report["clauses"] if c["status"] != "skipped"}

    def describe(self) -> str:
        return (f"exit {self.returncode} after {self.seconds:.0f} s\n--- stdout (tail) ---\n{self.stdout[-4000:]}"
                f"\n--- stderr (tail) ---\n{self.stderr[-4000:]}")


class _Output:
    """Collects a pipe's bytes on a thread, so the test can watch a run's output while it runs."""

    def __init__(self, pipe: Any) -> None:
        self.chunks: List[bytes] = []
        self.thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self.thread.start()

    def _read(self, pipe: Any) -> None:
        for chunk in iter(lambda: os.read(pipe.fileno(), 65536), b""):
            self.chunks.append(chunk)

    def text(self) -> str:
        return b"".join(self.chunks).decode(errors="replace")


@dataclass(frozen=True)
class Interrupt:
    """Ctrl-C during a run: once ``when(output so far)`` is true, SIGINT ``times`` times, ``gap``
    seconds apart, to the CLI process (``group``: to its whole process group, as a terminal does)."""
    when: Callable[[str], bool]
    group: bool = False
    times: int = 1
    gap: float = 1.0


def run_cli(tmp_path: Path, *options: str, env: Optional[Dict[str, str]] = None, report: bool = True,
            interrupt: Optional[Interrupt] = None, files: Optional[Dict[str, str]] = None) -> CliRun:
    """``python -m conformance OPTIONS [--report report.json]`` in a fresh directory (holding
    ``files``), with a private ``TMPDIR``; afterwards, check that it left nothing behind: no file
    but the report, no process of its process group still running."""
    cwd, tmpdir = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    tmpdir.mkdir()
    for name, text in (files or {}).items():
        (cwd / name).write_text(text, encoding="utf-8")
    command = [sys.executable, "-m", "conformance", *options] + (["--report", REPORT] if report else [])
    child_env = dict(os.environ, TMPDIR=str(tmpdir), TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1", **(env or {}))
    for name in ("PYTEST_ADDOPTS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "TF_USE_LEGACY_KERAS"):
        child_env.pop(name, None)
    started = time.monotonic()
    child = subprocess.Popen(command, cwd=cwd, env=child_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True, preexec_fn=default_sigint)
    stdout, stderr = _Output(child.stdout), _Output(child.stderr)
    hung = False
    try:
        if interrupt:
            _interrupt(child, interrupt, stdout, deadline=started + RUN_LIMIT)
        child.wait(timeout=max(1.0, RUN_LIMIT - (time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        hung = True
    survivors = [] if hung else _survivors(child.pid)
    if hung or survivors:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    stdout.thread.join(10)
    stderr.thread.join(10)
    path = cwd / REPORT
    run = CliRun(child.returncode, stdout.text(), stderr.text(), time.monotonic() - started,
                 json.loads(path.read_text(encoding="utf-8")) if path.exists() else None)
    assert not hung, f"the run did not end within {RUN_LIMIT:g} s\n{run.describe()}"
    assert not survivors, f"processes of the run outlived it: {survivors}\n{run.describe()}"
    assert_left_nothing(cwd, tmpdir, run)
    return run


def _interrupt(child: subprocess.Popen, interrupt: Interrupt, stdout: _Output, deadline: float) -> None:
    while child.poll() is None and not interrupt.when(stdout.text()) and time.monotonic() < deadline:
        time.sleep(0.2)
    for number in range(interrupt.times):
        if number:
            time.sleep(interrupt.gap)
        if child.poll() is not None:
            return
        if interrupt.group:
            os.killpg(child.pid, signal.SIGINT)
        else:
            child.send_signal(signal.SIGINT)


def _survivors(group: int, grace: float = SURVIVOR_GRACE) -> List[str]:
    """Live (not zombie) processes of process group ``group``, after waiting up to ``grace`` s
    for them to end. Reads ``/proc``; where there is none it reports none."""
    def members() -> List[str]:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:  # the process ended meanwhile
                continue
            name_end = text.rindex(")")
            state, _, pgrp = text[name_end + 2:].split()[:3]
            if int(pgrp) == group and state != "Z":
                found.append(f"{stat.parent.name} ({text[text.index('(') + 1:name_end]})")
        return found
    ends = time.monotonic() + grace
    while (alive := members()) and time.monotonic() < ends:
        time.sleep(0.5)
    return alive


def assert_left_nothing(cwd: Path, tmpdir: Path, run: CliRun) -> None:
    """The run wrote only its report in its working directory; in ``TMPDIR`` it left no
    ``conformance-*`` directory and no file at all. (Empty directories are allowed: importing
    torch's optimizers creates ``torchinductor_$USER``, which is torch's, not the suite's.)"""
    litter = sorted(p.name for p in cwd.iterdir() if p.name != REPORT)
    assert not litter, f"the run left {litter} in its working directory\n{run.describe()}"
    ours = sorted(p.name for p in tmpdir.iterdir() if p.name.startswith("conformance-"))
    assert not ours, f"the run left {ours} in TMPDIR\n{run.describe()}"
    files = sorted(str(p.relative_to(tmpdir)) for p in tmpdir.rglob("*") if not p.is_dir())
    assert not files, f"the run left files in TMPDIR: {files[:10]}\n{run.describe()}"


def assert_nothing_ran(run: CliRun) -> None:
    """A usage or setup error: exit 2, no test started, no report."""
    assert run.returncode == 2, run.describe()
    assert "update_model conformance:" not in run.stdout, f"tests started\n{run.describe()}"
    assert run.report is None, f"a usage error wrote a report\n{run.describe()}"


def assert_broken_and_intact(run: CliRun, *words: str) -> Dict[str, Any]:
    """Exit 1; BROKEN failed with ``words`` in its message; INTACT ran and passed. Returns BROKEN."""
    assert run.returncode == 1, run.describe()
    assert run.statuses() == {BROKEN: "failed", INTACT: "passed"}, run.describe()
    assert run.clause(INTACT)["examples"] > 0
    broken = run.clause(BROKEN)
    for word in words:
        assert word in broken["message"], f"{word!r} not in {broken['message']!r}\n{run.describe()}"
    assert f"{BROKEN} FAILED" in run.stdout, run.describe()
    assert not run.report["incomplete"]
    return broken


# ------------------------------------------------------------------ targets that cannot be loaded

SYNTAX_ERROR = "def update_model(model, gradients, defer=False, deferred=None):\n    return (\n"


@pytest.mark.parametrize("target, words, env", [
    pytest.param("{tmp}/syntax_error.py", ("syntax error in", "syntax_error.py, line 2", "return ("), None,
                 id="syntax-error-file"),
    pytest.param("syntax_error", ("syntax error in", "syntax_error.py, line 2"), {"PYTHONPATH": "{tmp}"},
                 id="syntax-error-module"),
    pytest.param(impl("import_raises"),
                 ("RuntimeError: robustness fixture: the license server is unreachable", "import_raises.py\", line 2"),
                 None, id="import-raises-file"),
    pytest.param("import_raises", ("RuntimeError: robustness fixture: the license server is unreachable",),
                 {"PYTHONPATH": str(ROBUSTNESS)}, id="import-raises-module"),
    pytest.param(impl("import_missing_dependency"),
                 ("ModuleNotFoundError", "No module named 'conformance_robustness_absent_dependency'"), None,
                 id="import-missing-dependency"),
    pytest.param(impl("import_ends_process"), ("loading it ended the process (exit 0)",), None,
                 id="import-ends-process"),
    pytest.param("conformance_robustness_no_such_module",
                 ("module not found: 'conformance_robustness_no_such_module'",), None, id="no-such-module"),
    pytest.param("{tmp}/no_such_file.py", ("target file not found", "no_such_file.py"), None, id="no-such-file"),
    pytest.param(impl("not_callable") + ":no_such_attr",
                 ("has no attribute 'no_such_attr'", "it has: helper, update_model"), None, id="no-such-attribute"),
    pytest.param(impl("not_callable"), ("not_callable.py:update_model is a int, not callable: 42",), None,
                 id="attribute-not-callable"),
])
def test_unloadable_target_exits_2_with_the_cause(tmp_path: Path, target: str, words: Sequence[str],
                                                  env: Optional[Dict[str, str]]) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "syntax_error.py").write_text(SYNTAX_ERROR, encoding="utf-8")
    env = {name: value.format(tmp=source) for name, value in (env or {}).items()}
    run = run_cli(tmp_path, "--impl", target.format(tmp=source), *BASE, env=env)
    assert_nothing_ran(run)
    assert run.stderr.startswith("conformance: error: --impl "), run.describe()
    for word in words:
        assert word in run.stderr, f"{word!r} not in the error\n{run.describe()}"


# ------------------------------------------------------------------------------------ bad options

@pytest.mark.parametrize("options, option, why", [
    pytest.param(("--report", "{tmp}/no_such_dir/r.json"), "--report", "no directory", id="report-dir-missing"),
    pytest.param(("--report", "{tmp}/a_file/r.json"), "--report", "no directory", id="report-under-a-file"),
    pytest.param(("--report", "{tmp}"), "--report", "it is a directory", id="report-is-a-directory"),
    pytest.param(("--report", "{tmp}/read_only/r.json"), "--report", "ermission denied", id="report-dir-read-only",
                 marks=pytest.mark.skipif(os.geteuid() == 0, reason="root may write a read-only directory")),
    pytest.param(("--expect-fail", "{tmp}/missing.txt"), "--expect-fail", "cannot read", id="expect-fail-missing"),
    pytest.param(("--expect-fail", "{tmp}/unknown.txt"), "--expect-fail", "unknown clause 'ZZ-9'",
                 id="expect-fail-unknown-clause"),
    pytest.param(("--level", "lenient"), "--level", "invalid choice: 'lenient'", id="unknown-level"),
    pytest.param(("--backend", "jax"), "--backend", "invalid choice: 'jax'", id="unknown-backend"),
    pytest.param(("--profile", "fast"), "--profile", "invalid choice: 'fast'", id="unknown-profile"),
])
def test_bad_option_exits_2_before_any_test(tmp_path: Path, options: Sequence[str], option: str, why: str) -> None:
    (tmp_path / "a_file").write_text("", encoding="utf-8")
    (tmp_path / "read_only").mkdir(mode=0o555)
    (tmp_path / "unknown.txt").write_text("IM-1\nZZ-9\n", encoding="utf-8")
    # BASE comes first so that a repeated option (--backend, --profile) takes the bad value
    run = run_cli(tmp_path, "--impl", "reference", *BASE, *(o.format(tmp=tmp_path) for o in options), report=False)
    assert_nothing_ran(run)
    last = run.stderr.strip().splitlines()[-1]
    assert "error:" in last and option in last and why in last, run.describe()
    assert not any(line.startswith("Traceback") for line in run.stderr.splitlines()), run.describe()


# ------------------------------------------------------------------------- misbehaving at call time

@pytest.mark.parametrize("attr, signature", [
    ("update_model", "update_model(model, gradients)"),
    ("without_deferred", "without_deferred(model, gradients, defer=False)"),
])
def test_signature_without_defer_fails_cc1_naming_it(tmp_path: Path, attr: str, signature: str) -> None:
    run = run_cli(tmp_path, "--impl", f"{impl('no_defer_parameter')}:{attr}", *BASE, "--only", "CC-1",
                  "--workers", "1")
    assert run.returncode == 1, run.describe()
    cc1 = run.clause("CC-1")
    assert cc1["status"] == "failed", run.describe()
    assert f"signature {signature} cannot take" in cc1["message"], cc1


def test_undocumented_exception_fails_its_clause_with_the_traceback(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "--impl", impl("raises_undocumented"), *BASE, "--only", f"{BROKEN},{INTACT}")
    broken = assert_broken_and_intact(run, "RuntimeError: robustness fixture: an undocumented failure")
    assert "raises_undocumented.py" in broken["counterexample"], broken  # the traceback's frame


def test_keyboard_interrupt_raised_by_the_implementation_fails_its_clause(tmp_path: Path) -> None:
    """Raised, not a Ctrl-C: it must not stop the run (the other clause still runs and passes)."""
    run = run_cli(tmp_path, "--impl", impl("raises_keyboard_interrupt"), *BASE, "--only", f"{BROKEN},{INTACT}")
    assert_broken_and_intact(run, "raised KeyboardInterrupt itself (no Ctrl-C was pressed)")


@pytest.mark.parametrize("name, words", [
    pytest.param("exits_sys", ("implementation ended the process", "sys.exit(0)"), id="sys.exit"),
    pytest.param("exits_os", ("implementation ended the process",), id="os._exit"),
    pytest.param("crashes_null_read", ("implementation ended the process",), id="null-read",
                 marks=pytest.mark.slow),
    pytest.param("crashes_sigsegv", ("implementation ended the process",), id="sigsegv"),
])
def test_ending_the_process_fails_the_clause_never_exit_0(tmp_path: Path, name: str, words: Sequence[str]) -> None:
    run = run_cli(tmp_path, "--impl", impl(name), *BASE, "--only", f"{BROKEN},{INTACT}")
    assert_broken_and_intact(run, *words)


ALARM = (f"did not return within {HANG_TIMEOUT} s (--timeout)",)
WATCHDOG = ("implementation ended the process",)


@pytest.mark.parametrize("name, words, watchdog", [
    # the per-call alarm interrupts these: the clause's message names the timeout
    pytest.param("hangs_busy_loop", ALARM, False, id="python-loop"),
    pytest.param("hangs_sleep", ALARM, False, id="sleep", marks=pytest.mark.slow),
    pytest.param("hangs_lock", ALARM, False, id="lock", marks=pytest.mark.slow),
    # these the alarm cannot interrupt: the watchdog ends the worker, the CLI shows where it hung
    pytest.param("hangs_holding_gil", WATCHDOG, True, id="c-code-holding-gil"),
    pytest.param("hangs_ignoring_alarm", WATCHDOG, True, id="alarm-ignored", marks=pytest.mark.slow),
])
def test_never_returning_fails_the_clause_after_the_timeout(tmp_path: Path, name: str, words: Sequence[str],
                                                           watchdog: bool) -> None:
    run = run_cli(tmp_path, "--impl", impl(name), *BASE, "--only", f"{BROKEN},{INTACT}",
                  "--timeout", str(HANG_TIMEOUT))
    assert_broken_and_intact(run, *words)
    # the hang was given its full time (no early give-up); run_cli checked that the run ended
    assert run.seconds >= HANG_TIMEOUT + (WATCHDOG_GRACE if watchdog else 0), run.describe()
    shown = "conformance: the watchdog ended a worker" in run.stderr
    assert shown == watchdog, run.describe()
    if watchdog:  # the frame where it hung
        assert f"{name}.py\", line" in run.stderr.split("the watchdog ended a worker", 1)[1], run.describe()


@pytest.mark.slow
def test_hanging_on_every_call_ends_with_exit_1_in_bounded_time(tmp_path: Path) -> None:
    """Done-when of issue 9: every torch clause, ``--timeout 5``: exit 1 within a few minutes,
    every clause that ran failed on the timeout, none passed."""
    run = run_cli(tmp_path, "--impl", impl("hangs_always"), *BASE, "--timeout", str(HANG_TIMEOUT))
    assert run.returncode == 1, run.describe()
    assert run.seconds < 240, run.describe()
    statuses = run.statuses()
    assert statuses and set(statuses.values()) == {"failed"}, statuses
    for clause_id in statuses:
        assert f"did not return within {HANG_TIMEOUT} s" in run.clause(clause_id)["message"], run.clause(clause_id)


# ----------------------------------------------------------------------------------------- Ctrl-C

def _intact_passed(output: str) -> bool:
    """``-v`` prints ``[gw1] [ 50%] PASSED .../test_immediate.py::test_im1_one_step[torch-cpu]``."""
    test = "test_" + INTACT.lower().replace("-", "") + "_"
    return any("PASSED" in line and test in line for line in output.splitlines())


def _started(output: str) -> bool:
    """The CLI printed its header: options are valid, pytest is starting, no check has run."""
    return "update_model conformance:" in output


@pytest.mark.parametrize("interrupt, intact_ran", [
    pytest.param(Interrupt(_intact_passed), True, id="cli-process"),
    pytest.param(Interrupt(_intact_passed, group=True), True, id="process-group", marks=pytest.mark.slow),
    pytest.param(Interrupt(_intact_passed, group=True, times=2), True, id="twice", marks=pytest.mark.slow),
    pytest.param(Interrupt(_started), False, id="during-start-up"),
])
def test_interrupt_writes_an_incomplete_report(tmp_path: Path, interrupt: Interrupt, intact_ran: bool) -> None:
    """SIGINT while DF-1 hangs (``--timeout 600``), once IM-1 has passed (or before any check
    ran): a non-zero exit and a report marked incomplete in which only what ran and passed
    (IM-1) is passed; DF-1, which never finished, is not."""
    run = run_cli(tmp_path, "--impl", impl("hangs_sleep"), *BASE, "--only", f"{BROKEN},{INTACT}",
                  "--timeout", "600", "-v", interrupt=interrupt)
    assert run.returncode == 130, run.describe()  # EXIT_INTERRUPTED
    assert run.seconds < 120, run.describe()
    assert run.report is not None and run.report["incomplete"] is True, run.describe()
    assert run.clause(BROKEN)["status"] == "skipped", run.describe()
    if intact_ran:
        assert run.clause(INTACT)["status"] == "passed" and run.clause(INTACT)["examples"] > 0, run.describe()
    for clause in run.report["clauses"]:  # nothing passes that did not run
        if clause["status"] == "passed":
            assert clause["results"] and all(r["status"] == "passed" and r["examples"] > 0
                                             for r in clause["results"]), clause
        else:
            assert clause["status"] == "skipped", clause


def test_an_earlier_report_at_the_path_is_never_taken_for_this_run(tmp_path: Path) -> None:
    """A run that checks nothing (CC-5 is TF-only) must not leave, nor read, an earlier run's
    passing verdict at ``--report``: exit 2, and the report says why nothing ran."""
    earlier = {"incomplete": False, "clauses": [{"id": INTACT, "status": "passed", "results": []}]}
    run = run_cli(tmp_path, "--impl", impl("hangs_always"), *BASE, "--only", "CC-5", "--workers", "1",
                  files={REPORT: json.dumps(earlier)})
    assert run.returncode == 2, run.describe()
    assert run.statuses() == {}, run.describe()
    assert run.clause("CC-5")["message"] == "applies to tf only; --backend torch selected", run.describe()
