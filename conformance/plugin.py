"""pytest plugin (entry point ``pytest11``): ``pytest --pyargs conformance --impl mypkg:update_model``.

It adds the suite's options, applies ``--expect-fail``, counts examples, and on the controlling
process aggregates every test's outcome into per-clause verdicts: the summary table and the JSON
report. It stays inert in test runs that collect no clause check. Importing it loads no framework.
"""
from __future__ import annotations

import json
import os
import shlex
import time
from typing import Any, Callable, Dict, List, Optional, Union

import pytest

from conformance import clauses, expect_fail, replay, report, schedule, target
from conformance.profiles import DEFAULT_PROFILE, PROFILES
from conformance.selection import (BACKEND_CHOICES, DEFAULT_BACKEND, DEFAULT_DEVICE, DEFAULT_LEVEL, DEVICE_CHOICES,
                                   LEVEL_CHOICES, Selection, clause_of_item, clause_of_nodeid, expand,
                                   target_of_test)

_PROPERTY = "conformance"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "update_model conformance suite")
    group.addoption("--impl", default=None, help="implementation under test: module, module:attr or "
                    "path/to/file.py[:attr] (default: reference)")
    group.addoption("--impl-file", default=None, help="the file --impl resolved to (set by python -m conformance; "
                    "without it, this process resolves --impl and hands the file to the xdist workers)")
    group.addoption("--conformance-backend", default=DEFAULT_BACKEND, choices=BACKEND_CHOICES)
    group.addoption("--conformance-device", default=DEFAULT_DEVICE, choices=DEVICE_CHOICES)
    group.addoption("--conformance-level", default=DEFAULT_LEVEL, choices=LEVEL_CHOICES)
    group.addoption("--conformance-profile", default=DEFAULT_PROFILE, choices=tuple(PROFILES))
    group.addoption("--conformance-only", default="", help="comma-separated clause ids to check")
    group.addoption("--expect-fail", default=None, help="file of clause ids expected to fail")
    group.addoption("--conformance-report", default=None, help="write the JSON report here")
    group.addoption("--impl-timeout", default=60.0, type=float, help="seconds per implementation call")
    group.addoption("--conformance-command", default=None,
                    help="the command that replays this run (set by python -m conformance)")


def selection_of(config: pytest.Config) -> Selection:
    only = tuple(c.strip().upper() for c in config.getoption("conformance_only").split(",") if c.strip())
    return Selection(backends=expand(config.getoption("conformance_backend"), clauses.BACKENDS),
                     devices=expand(config.getoption("conformance_device"), clauses.DEVICES),
                     level=config.getoption("conformance_level"), only=only)


class _State:
    """Per-session bookkeeping of one process: expected failures, results seen (controller), the
    environment reported, and (workers) each backend's environment, read once."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        path = config.getoption("expect_fail")
        self.expected = expect_fail.parse(path) if path else frozenset()
        self.replays = expect_fail.replays(path) if path else {}
        self.results: Dict[str, report.TestResult] = {}
        self.environment: Dict[str, Any] = {}
        self.unavailable: Dict[str, str] = {}
        self.backend_environments: Dict[str, Dict[str, Any]] = {}
        self.started = time.time()
        self.interrupted = False


#: This session's selection (backends, devices, level, clauses); set at configure, on every process.
SELECTION_KEY = pytest.StashKey[Selection]()
#: This session's bookkeeping; set at configure, on every process.
STATE_KEY = pytest.StashKey[_State]()
#: The implementation under test as the controller resolved it (the file every process imports), or
#: why it could not be resolved (each check then fails with that reason).
IMPL_KEY = pytest.StashKey[Union[target.ResolvedTarget, target.TargetError]]()
#: The key of the resolved implementation in an xdist worker's ``workerinput``.
_WORKERINPUT_IMPL = "conformance_impl"


class _SessionHooks:
    """The hooks pytest calls without the config (a test report, an interrupt), bound to one
    session's config; ``pytest_configure`` registers one per config."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not hasattr(self.config, "workerinput"):
            _record(self.config, report)

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        self.config.stash[STATE_KEY].interrupted = True


def _resolved_impl(config: pytest.Config) -> Union[target.ResolvedTarget, target.TargetError]:
    """A worker: the implementation its controller resolved. The controller: ``--impl`` resolved
    here, or at the file ``--impl-file`` names."""
    handed = getattr(config, "workerinput", {}).get(_WORKERINPUT_IMPL)
    if isinstance(handed, dict):
        return target.ResolvedTarget.from_dict(handed)
    if isinstance(handed, str):
        return target.TargetError(handed)
    name, file = config.getoption("impl") or target.DEFAULT_TARGET, config.getoption("impl_file")
    try:
        return target.pinned(name, file) if file else target.resolve(name)
    except target.TargetError as error:
        return error


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clause(id): the contract clause a test checks")
    config.stash[SELECTION_KEY] = selection_of(config)
    config.stash[IMPL_KEY] = _resolved_impl(config)
    try:
        config.stash[STATE_KEY] = _State(config)
    except expect_fail.ExpectFailError as error:
        raise pytest.UsageError(str(error)) from None
    config.pluginmanager.register(_SessionHooks(config), "conformance-session")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist, before it starts a worker: hand it the implementation this controller resolved."""
    resolved = node.config.stash[IMPL_KEY]
    node.workerinput[_WORKERINPUT_IMPL] = (resolved.to_dict() if isinstance(resolved, target.ResolvedTarget)
                                           else str(resolved))


def implementation(config: pytest.Config) -> Callable[..., Any]:
    """The implementation under test, imported from the file the run resolved (see
    ``conformance.target``); ``TargetError`` if it cannot be."""
    resolved = config.stash[IMPL_KEY]
    if isinstance(resolved, target.TargetError):
        raise target.TargetError(str(resolved))
    return target.load_resolved(resolved)


def impl_file(config: pytest.Config) -> Optional[str]:
    """The file the implementation under test is imported from; None if it could not be resolved."""
    resolved = config.stash.get(IMPL_KEY, None)
    return resolved.file if isinstance(resolved, target.ResolvedTarget) else None


def pytest_report_header(config: pytest.Config) -> Optional[str]:
    """A suite run through pytest with ``--impl``: which file is tested (the CLI prints its own)."""
    if config.getoption("impl") is None or config.getoption("conformance_command"):
        return None
    return f"update_model conformance: impl={config.getoption('impl')} impl_file={impl_file(config)}"


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    selection: Selection = config.stash[SELECTION_KEY]
    keep, drop = [], []
    for item in items:
        if not _is_check(item):
            keep.append(item)
        elif selection.clause_selected(clauses.get(clause_of_item(item))):
            keep.append(item)
        else:
            drop.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    # quick: shortest checks first (an early first verdict); otherwise longest first (workers finish
    # together). Ties in registry order; non-checks last.
    profile = config.getoption("conformance_profile")
    order = {clause.id: i for i, clause in enumerate(clauses.CLAUSES)}
    items.sort(key=lambda item: (0, schedule.sort_key(clause_of_item(item), target_of_test(item.name)[0],
                                                      profile),
                                 order.get(clause_of_item(item) or "", len(order)))
               if _is_check(item) else (1, 0.0, 0))


_CHECKS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "checks")


def _is_check(item: pytest.Item) -> bool:
    """A clause check of this suite: a test of conformance/checks/ marked with its clause."""
    return os.path.dirname(os.path.abspath(str(item.path))) == _CHECKS_DIR and clause_of_item(item) is not None


def _is_check_report(rep: pytest.TestReport) -> bool:
    """A report of a clause check: it carries our properties, or (a crashed worker's report, which
    carries none) its node id names a marked check."""
    if any(k.startswith(_PROPERTY) for k, _ in rep.user_properties):
        return True
    return clause_of_nodeid(rep.nodeid) is not None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    if not _is_check(item):
        yield
        return
    from conformance.checks.support import EXAMPLES_KEY, start_counting
    start_counting(item.stash)
    started = time.perf_counter()
    yield
    item.user_properties.append((_PROPERTY, {"examples": item.stash[EXAMPLES_KEY],
                                             "seconds": time.perf_counter() - started}))


_REPLAY_OUTCOME = pytest.StashKey[str]()


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Optional[bool]:
    """A listed check whose entry carries a counterexample runs on it first (conformance.replay)."""
    if not _is_check(pyfuncitem):
        return None
    state: _State = pyfuncitem.config.stash[STATE_KEY]
    clause_id = clause_of_item(pyfuncitem)
    backend, _ = target_of_test(pyfuncitem.name)
    recorded = expect_fail.replay_for(state.replays, clause_id, backend)
    if recorded is None or not expect_fail.expected(state.expected, clause_id, backend):
        return None
    kwargs = {arg: pyfuncitem.funcargs[arg] for arg in pyfuncitem._fixtureinfo.argnames}
    pyfuncitem.stash[_REPLAY_OUTCOME] = replay.CONFIRMED  # stays so when the replay raises
    pyfuncitem.stash[_REPLAY_OUTCOME] = replay.first(pyfuncitem.obj, kwargs, recorded)
    pyfuncitem.obj(**kwargs)  # the search
    return True


def _failure_text(excinfo: Any) -> tuple:
    from conformance.violation import ClauseViolation
    error = excinfo.value
    notes = "\n".join(getattr(error, "__notes__", []) or [])
    if isinstance(error, ClauseViolation):
        counterexample = "\n".join(error.counterexample)
        return f"{error.clause_id}: {error.message}", (counterexample + ("\n" + notes if notes else "")).strip()
    text = f"{type(error).__name__}: {error}".strip()
    if type(error).__name__ == "ImplementationAborted":
        return text, notes
    tb = excinfo.getrepr(style="short", chain=False)
    who = ("the implementation raised" if getattr(error, "raised_by_implementation", False)
           else "the suite itself raised (a bug in the suite: please report it)")
    return f"{who} {text}", (notes + "\n" + str(tb)[-3000:]).strip()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    rep = outcome.get_result()
    if not _is_check(item):
        return
    state: _State = item.config.stash[STATE_KEY]
    clause_id = clause_of_item(item)
    backend, _ = target_of_test(item.name)
    info: Dict[str, Any] = {"clause": clause_id}
    if rep.when == "call" or (rep.when == "setup" and not rep.passed):
        if call.excinfo is not None and rep.failed:
            info["message"], info["counterexample"] = _failure_text(call.excinfo)
            # only a check's own Hypothesis examples replay (EX-4's text holds its child's blobs)
            found = replay.found_replay(info["counterexample"]) if replay.replayable(item.obj) else None
            info["expect_fail_entry"] = expect_fail.entry_line(clause_id, backend, found)
        info["environment"] = _worker_environment(state, backend)
        if expect_fail.expected(state.expected, clause_id, backend):
            listed = f"listed in {item.config.getoption('expect_fail')}"
            replayed = item.stash.get(_REPLAY_OUTCOME, "")
            if rep.failed:
                rep.outcome = "skipped"
                how = (replayed if replayed in ("", replay.CONFIRMED) or not replay.replayable(item.obj)
                       else f"{replayed}; a search found this failure: update the entry to "
                            f"'{info.get('expect_fail_entry', clause_id)}'")
                rep.wasxfail = f"expected failure ({listed}{'; ' + how if how else ''})"
            elif rep.passed and rep.when == "call":
                rep.outcome = "failed"
                info["message"] = (f"expected to fail ({listed}) but it holds now"
                                   f"{' (' + replayed + ', nor does a search find one)' if replayed else ''}: "
                                   f"remove the entry '{clause_id}' from the expect-fail file")
                rep.longrepr = info["message"]
        rep.user_properties.append((_PROPERTY + "-report", info))


def _worker_environment(state: _State, backend: Optional[str]) -> Dict[str, Any]:
    """What ``backend``'s adapter reports of its environment, read once a session."""
    if backend is None:
        return {}
    cache = state.backend_environments
    if backend not in cache:
        try:
            from conformance.adapters import load
            # plain JSON values only: reports travel between xdist processes
            cache[backend] = json.loads(json.dumps(load(backend).environment(), default=str))
        except Exception as error:  # noqa: BLE001 - reported, not fatal
            cache[backend] = {f"{backend}_unavailable": str(error)}
    return cache[backend]


def _record(config: pytest.Config, rep: pytest.TestReport) -> None:
    if not _is_check_report(rep):
        return
    state: _State = config.stash[STATE_KEY]
    props = dict((k, v) for k, v in rep.user_properties if k.startswith(_PROPERTY))
    timing = props.get(_PROPERTY, {})
    info = props.get(_PROPERTY + "-report", {})
    clause_id = info.get("clause") or clause_of_nodeid(rep.nodeid)
    backend, device = target_of_test(rep.nodeid)
    state.environment.update(info.get("environment", {}))
    previous = state.results.get(rep.nodeid)
    if hasattr(rep, "wasxfail") and rep.skipped:
        status = "xfailed"
    elif rep.failed:
        status = "failed"
    elif rep.skipped:
        status = "skipped"
    elif rep.when == "call":
        status = "passed"
    else:
        return
    if previous is not None and previous.status == "failed":
        return  # a failing call stays failed whatever teardown says
    message = info.get("message", "")
    if status == "skipped" and isinstance(rep.longrepr, tuple):
        message = str(rep.longrepr[2]).removeprefix("Skipped: ")
        if message.startswith("got empty parameter set"):
            return  # the clause does not apply to the selected backends: the report says why
        if backend and "not available" in message:
            state.unavailable[backend] = message
    if status == "xfailed":
        message = getattr(rep, "wasxfail", "")
    if status == "failed" and not message:
        text = str(rep.longrepr or "")
        if "crashed" in text or rep.when == "???":
            message = ("implementation ended the process (the worker running this check exited or "
                       f"crashed): {text.strip().splitlines()[0] if text.strip() else ''}")
        else:
            message = text.strip().splitlines()[-1] if text.strip() else "failed"
    examples = int(timing.get("examples", 0))
    if status == "passed" and examples == 0:
        status, message = "skipped", "ran no example (nothing was checked)"
    state.results[rep.nodeid] = report.TestResult(
        nodeid=rep.nodeid, clause=clause_id, backend=backend, device=device, status=status,
        examples=examples, seconds=round(float(timing.get("seconds", rep.duration)), 3),
        message=message, counterexample=info.get("counterexample", ""), finished=time.time(),
        expect_fail_entry=info.get("expect_fail_entry", "") if status == "failed" else "")


def _verdicts(config: pytest.Config) -> List[report.ClauseResult]:
    state: _State = config.stash[STATE_KEY]
    return report.aggregate(list(state.results.values()), config.stash[SELECTION_KEY], state.unavailable,
                            interrupted=state.interrupted)


def _replay(config: pytest.Config) -> str:
    command = config.getoption("conformance_command")
    if command:
        return command
    return "pytest " + shlex.join(config.invocation_params.args)


@pytest.hookimpl(tryfirst=True)  # write the report before xdist's teardown, which a 2nd Ctrl-C interrupts
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state: Optional[_State] = config.stash.get(STATE_KEY, None)
    if hasattr(config, "workerinput") or state is None:
        return
    if not state.results:
        return
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        state.interrupted = True
    path = config.getoption("conformance_report")
    if path:
        seed = config.getoption("hypothesis_seed", None) if config.pluginmanager.has_plugin("hypothesispytest") else None
        document = report.to_json(
            impl=config.getoption("impl") or target.DEFAULT_TARGET, impl_file=impl_file(config),
            level=config.getoption("conformance_level"),
            profile=config.getoption("conformance_profile"), seed=int(seed) if seed is not None else None,
            env=report.environment(state.environment, state.unavailable), verdicts=_verdicts(config),
            incomplete=state.interrupted, command=_replay(config))
        report.write(path, document)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state: Optional[_State] = config.stash.get(STATE_KEY, None)
    if hasattr(config, "workerinput") or state is None or not state.results:
        return
    verdicts = _verdicts(config)
    write = terminalreporter.write_line
    terminalreporter.section("update_model conformance")
    for line in report.table(verdicts):
        write(line)
    failed = [v for v in verdicts if v.status == "failed"]
    for verdict in failed:
        terminalreporter.section(f"{verdict.id} FAILED: {clauses.get(verdict.id).text}", sep="-")
        write(verdict.message)
        if verdict.counterexample:
            write("shrunk counterexample:")
            for line in verdict.counterexample.splitlines():
                write(f"  {line}")
        write(f"replay: {_replay(config)} --only {verdict.id}" if config.getoption("conformance_command")
              else f"replay: {_replay(config)} --conformance-only {verdict.id}")
        entries = [r["expect_fail_entry"] for r in verdict.results if r.get("expect_fail_entry")]
        if entries:
            write("to list it as a known failure (--expect-fail FILE), with the counterexample to replay:")
            for entry in entries:
                write(f"  {entry}")
    if state.interrupted:
        write("INCOMPLETE: the run was interrupted; clauses that did not run are not passed.")
