"""``python -m conformance``: check an ``update_model`` implementation clause by clause.

Exit 0: every selected clause holds. 1: a clause fails (named, with a shrunk counterexample and
the command that replays it). 2: usage or setup error (target not loadable, backend missing,
CUDA required but absent, bad option). The checks run in pytest-xdist worker processes, so an
implementation that exits, crashes or hangs fails the clause it was running, never the verdict.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
from typing import List, Optional

from conformance import clauses, expect_fail, invoke
from conformance.interrupts import InterruptGuard
from conformance.profiles import DEFAULT_PROFILE, FIXED_SEED_PROFILES, PROFILES
from conformance.selection import (BACKEND_CHOICES, DEFAULT_BACKEND, DEFAULT_DEVICE, DEFAULT_LEVEL, DEVICE_CHOICES,
                                   LEVEL_CHOICES, expand)
from conformance.target import DEFAULT_TARGET, ResolvedTarget, TargetError, resolve, split_target

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A bad option or setup problem: one line, exit 2."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m conformance", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--impl", default=DEFAULT_TARGET,
                   help="module, module:attr or path/to/file.py[:attr] (attr defaults to update_model)")
    p.add_argument("--backend", choices=BACKEND_CHOICES, default=DEFAULT_BACKEND)
    p.add_argument("--device", choices=DEVICE_CHOICES, default=DEFAULT_DEVICE)
    p.add_argument("--level", choices=LEVEL_CHOICES, default=DEFAULT_LEVEL)
    p.add_argument("--profile", choices=tuple(PROFILES), default=DEFAULT_PROFILE)
    p.add_argument("--expect-fail", metavar="FILE", help="clause ids expected to fail, one a line")
    p.add_argument("--report", metavar="FILE.json", help="write the JSON report here")
    p.add_argument("--junitxml", metavar="FILE.xml", help="also write JUnit XML")
    p.add_argument("--seed", type=int, help="Hypothesis seed (replays a run)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="bound on each call into the implementation (default 60)")
    p.add_argument("--only", default="", metavar="IDS", help="comma-separated clause ids to check")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("-v", "--verbose", action="store_true", help="one line per check")
    return p


def _check_writable(path: str, option: str) -> None:
    """Fail before any test runs if ``path`` cannot be written at the end of the run.

    Reports are written as ``path.tmp`` then renamed, so the directory must accept a new file:
    that is tried (``os.access`` says yes to root on a read-only directory)."""
    directory = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.isdir(path):
        raise UsageError(f"{option}: cannot write {path}: it is a directory")
    if not os.path.isdir(directory):
        raise UsageError(f"{option}: cannot write {path}: no directory {directory}")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise UsageError(f"{option}: cannot write {path}: permission denied")
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".conformance-probe-"):
            pass
    except OSError as error:
        raise UsageError(f"{option}: cannot write {path}: {error.strerror}") from None


def _absolute_target(target: str) -> str:
    location, attr = split_target(target)
    if location.endswith(".py") or "/" in location or os.sep in location:
        return f"{os.path.abspath(location)}:{attr}"
    return target


def _resolve(target: str) -> ResolvedTarget:
    """The file ``--impl`` names (``conformance.target.resolve``, which runs none of its code): the
    probe and every worker import that file."""
    try:
        return resolve(target)
    except TargetError as error:
        raise UsageError(f"--impl {target}: {error}") from None


def _probe(target: str, file: str, want_cuda: bool, timeout: float) -> dict:
    command = [sys.executable, "-m", "conformance.probe", target, "1" if want_cuda else "0", file]
    try:
        child = subprocess.run(command, capture_output=True, text=True, timeout=timeout + 60)
    except subprocess.TimeoutExpired:
        raise UsageError(f"--impl {target}: importing it did not finish within {timeout + 60:g} s") from None
    marker = child.stdout.rfind("@@probe@@")
    if marker < 0:
        tail = (child.stdout + child.stderr).strip()[-800:]
        raise UsageError(f"--impl {target}: loading it ended the process (exit {child.returncode}): {tail}")
    return json.loads(child.stdout[marker + len("@@probe@@"):].strip())


def _validate(args: argparse.Namespace) -> ResolvedTarget:
    """Check the options and the environment before any test runs (``UsageError``: exit 2); the
    implementation under test, resolved."""
    if args.report:
        _check_writable(args.report, "--report")
    if args.junitxml:
        _check_writable(args.junitxml, "--junitxml")
    if args.expect_fail:
        try:
            expect_fail.parse(args.expect_fail)
        except expect_fail.ExpectFailError as error:
            raise UsageError(str(error)) from None
    for clause_id in filter(None, (c.strip().upper() for c in args.only.split(","))):
        if clause_id not in clauses.BY_ID:
            raise UsageError(f"--only: unknown clause {clause_id!r}")
    if args.timeout <= 0:
        raise UsageError("--timeout: must be a positive number of seconds")
    if args.workers < 1:
        raise UsageError("--workers: must be at least 1")
    resolved = _resolve(args.impl)
    probe = _probe(args.impl, resolved.file, "cuda" in expand(args.device, clauses.DEVICES), args.timeout)
    if probe["target_error"]:
        raise UsageError(f"--impl {args.impl}: {probe['target_error']}")
    selected = expand(args.backend, clauses.BACKENDS)
    if not any(probe["backends"][b] for b in selected):
        names = {"tf": "tensorflow", "torch": "torch"}
        raise UsageError(f"--backend {args.backend}: {' and '.join(names[b] for b in selected)} "
                         "not importable; install the extra (e.g. pip install '.[torch]')")
    if args.device == "cuda" and not probe["cuda"]:
        raise UsageError("--device cuda: CUDA required but no CUDA device is available "
                         "(torch.cuda.is_available() is False)")
    return resolved


def replay_command(args: argparse.Namespace, seed: int) -> str:
    words = ["python", "-m", "conformance", "--impl", args.impl, "--backend", args.backend,
             "--device", args.device, "--level", args.level, "--profile", args.profile, "--seed", str(seed)]
    if args.expect_fail:
        words += ["--expect-fail", args.expect_fail]
    if args.timeout != 60.0:
        words += ["--timeout", f"{args.timeout:g}"]
    return shlex.join(words)


def pytest_args(args: argparse.Namespace, seed: int, report_path: str, workdir: str,
                impl_file: Optional[str] = None) -> List[str]:
    """The pytest command line of a run; ``impl_file``: where ``--impl`` was resolved (else pytest
    resolves it)."""
    ini = os.path.join(workdir, "pytest.ini")
    with open(ini, "w", encoding="utf-8") as handle:
        handle.write("[pytest]\nfilterwarnings =\n    ignore::DeprecationWarning\n    ignore::FutureWarning\n"
                     "    ignore::UserWarning\n")
    words = ["-c", ini, "--rootdir", workdir, "--basetemp", os.path.join(workdir, "tmp"),
             "-p", "no:cacheprovider", "-p", "no:update_model_conformance", "-p", "conformance.plugin",
             # its end-of-session gc.collect() passes cost ~0.3 s a process, and a warning about an
             # exception in some __del__ is no verdict of this suite
             "-p", "no:unraisableexception",
             "--assert=plain",  # the checks raise ClauseViolation, never assert: skip the AST rewrite
             "--pyargs", "conformance.checks", "--impl", args.impl,
             "--conformance-backend", args.backend, "--conformance-device", args.device,
             "--conformance-level", args.level, "--conformance-profile", args.profile,
             "--conformance-report", report_path, "--impl-timeout", str(args.timeout),
             "--conformance-command", replay_command(args, seed),
             "--hypothesis-seed", str(seed), "-n", str(args.workers), "--max-worker-restart", "50",
             "--tb=no", "-q" if not args.verbose else "-v", "-rN"]
    if impl_file:
        words += ["--impl-file", impl_file]
    if args.only:
        words += ["--conformance-only", args.only]
    if args.expect_fail:
        words += ["--expect-fail", os.path.abspath(args.expect_fail)]
    if args.junitxml:
        words += ["--junitxml", os.path.abspath(args.junitxml)]
    return words


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    args.impl = _absolute_target(args.impl)
    try:
        resolved = _validate(args)
    except UsageError as error:
        print(f"conformance: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    seed = args.seed if args.seed is not None else (0 if args.profile in FIXED_SEED_PROFILES
                                                    else random.randrange(2 ** 32))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, (os.getcwd(), os.environ.get("PYTHONPATH"))))
    import pytest
    with tempfile.TemporaryDirectory(prefix="conformance-") as workdir:
        # The run writes its report here; --report gets a copy at the end, so that it always
        # describes this run (never an earlier run's verdicts left at the same path).
        report_path = os.path.join(workdir, "report.json")
        # Hypothesis caches the constants of the modules it runs in ``.hypothesis/`` under the
        # current directory; the suite writes nothing outside its report and temporary paths.
        os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = os.path.join(workdir, "hypothesis")
        watchdog_dir = os.path.join(workdir, "watchdog")
        os.mkdir(watchdog_dir)
        os.environ[invoke.WATCHDOG_DIR_VARIABLE] = watchdog_dir
        print(f"update_model conformance: impl={args.impl} impl_file={resolved.file} backend={args.backend} "
              f"device={args.device} level={args.level} profile={args.profile} seed={seed}", flush=True)
        try:
            with InterruptGuard() as guard:  # one Ctrl-C ends the run, even if Python drops it once
                code = pytest.main(pytest_args(args, seed, report_path, workdir, resolved.file), plugins=[guard])
        except KeyboardInterrupt:
            code = pytest.ExitCode.INTERRUPTED
        _print_watchdog_reports(watchdog_dir)
        exit_code = _exit_code(code, report_path)
        if args.report:
            if not os.path.exists(report_path):
                _write_not_run_report(args, seed, report_path, interrupted=code == pytest.ExitCode.INTERRUPTED,
                                      impl_file=resolved.file)
            try:
                _publish(report_path, os.path.abspath(args.report))
            except OSError as error:
                print(f"conformance: error: --report: cannot write {args.report}: {error}", file=sys.stderr)
                return EXIT_USAGE
        return exit_code


def _print_watchdog_reports(directory: str) -> None:
    """Show where each worker the watchdog ended was stuck (its checks are reported failed:
    'implementation ended the process')."""
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as handle:
            text = handle.read().strip()
        if text:
            print(f"conformance: the watchdog ended a worker: an implementation call ran past --timeout + "
                  f"{invoke.WATCHDOG_GRACE:g} s and the alarm could not interrupt it (a hang in C code, or "
                  f"SIGALRM blocked). Where it was:\n{_implementation_frames(text)}", file=sys.stderr)


def _implementation_frames(dump: str) -> str:
    """From a faulthandler dump (every thread, most recent call first): the thread that was in
    ``call_impl``, down to that frame. The whole dump if there is none."""
    blocks = dump.split("\n\n")
    for block in blocks:
        lines = block.splitlines()
        ends = [i for i, line in enumerate(lines) if line.rstrip().endswith(" in call_impl")]
        if ends:
            return "\n".join([blocks[0].splitlines()[0]] * (block is not blocks[0]) + lines[:ends[0] + 1])
    return dump


def _write_not_run_report(args: argparse.Namespace, seed: int, path: str, interrupted: bool,
                          impl_file: Optional[str] = None) -> None:
    """The run ended before any check reported (Ctrl-C during start-up, nothing to run): a report
    in which every clause is skipped with the reason, marked incomplete if interrupted."""
    from conformance import report
    from conformance.selection import Selection
    selection = Selection(backends=expand(args.backend, clauses.BACKENDS),
                          devices=expand(args.device, clauses.DEVICES), level=args.level,
                          only=tuple(c.strip().upper() for c in args.only.split(",") if c.strip()))
    report.write(path, report.to_json(
        impl=args.impl, impl_file=impl_file, level=args.level, profile=args.profile, seed=seed,
        env=report.environment(),
        verdicts=report.aggregate([], selection, {}, interrupted=interrupted), incomplete=interrupted,
        command=replay_command(args, seed)))


def _publish(source: str, destination: str) -> None:
    """Copy the run's report to ``destination``, replacing it atomically."""
    partial = f"{destination}.tmp"
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, destination)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _exit_code(pytest_code: int, report_path: str) -> int:
    if not os.path.exists(report_path):
        print("conformance: error: no check reported a result (pytest exit "
              f"{int(pytest_code)}); nothing is reported as passed", file=sys.stderr)
        return EXIT_INTERRUPTED if pytest_code == 2 else EXIT_USAGE
    with open(report_path, encoding="utf-8") as handle:
        document = json.load(handle)
    statuses = [c["status"] for c in document["clauses"]]
    if document.get("incomplete") or pytest_code == 2:
        print("conformance: the run was interrupted; the report is marked incomplete", file=sys.stderr)
        return EXIT_INTERRUPTED
    if "failed" in statuses:
        return EXIT_FAIL
    if "passed" not in statuses and "xfailed" not in statuses:
        print("conformance: error: no clause was checked (all skipped); see the reasons above", file=sys.stderr)
        return EXIT_USAGE
    if pytest_code not in (0, 1, 5):
        return EXIT_USAGE
    return EXIT_OK
