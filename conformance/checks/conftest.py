"""Fixtures of the clause checks: the implementation under test and the (backend, device) target."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from conformance import clauses, plugin
from conformance.adapters import Adapter, BackendUnavailable, load
from conformance.selection import clause_of_item, expand


def _clause_id(node: Any) -> str:
    """The registry clause id that a check's ``@pytest.mark.clause("ID")`` marker names, the only
    place a check states it; ``LookupError`` for a check without one."""
    clause_id = clause_of_item(node)
    if clause_id is None:
        raise LookupError(f"{node.nodeid}: a check needs one @pytest.mark.clause(\"ID\") naming a clause of "
                          "conformance/clauses.py")
    return clause_id


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" not in metafunc.fixturenames:
        return
    selection = metafunc.config.stash[plugin.SELECTION_KEY]  # set by conformance.plugin
    clause = clauses.get(_clause_id(metafunc.definition))
    combos = [(b, d) for b in selection.backends if b in clause.backends
              for d in selection.devices if d in clause.devices]
    metafunc.parametrize("target", combos, ids=[f"{b}-{d}" for b, d in combos])


@pytest.fixture
def clause(request: pytest.FixtureRequest) -> str:
    """The id of the clause this check tests, from its marker (``_clause_id``)."""
    return _clause_id(request.node)


@pytest.fixture(scope="session")
def impl(pytestconfig: pytest.Config) -> Callable[..., Any]:
    return plugin.implementation(pytestconfig)  # the file the run resolved --impl to


@pytest.fixture
def adapter(target: tuple) -> Adapter:
    backend, device = target
    try:
        adapter = load(backend)
    except BackendUnavailable as error:
        pytest.skip(str(error))
    if device not in adapter.devices():
        pytest.skip(f"no {device} device for backend {backend} on this machine")
    return adapter


@pytest.fixture
def device(target: tuple) -> str:
    return target[1]


def pytest_configure(config: pytest.Config) -> None:
    """Load the selected Hypothesis profile and the per-call timeout before the checks import."""
    from hypothesis import settings

    from conformance import adapters, invoke, profiles
    adapters.prepare(expand(config.getoption("conformance_backend"), clauses.BACKENDS))
    profiles.register()
    settings.load_profile(f"conformance-{config.getoption('conformance_profile')}")
    invoke.set_timeout(config.getoption("impl_timeout"))


def pytest_runtest_teardown(item: pytest.Item) -> None:
    """No implementation code runs between checks: stop the hard-hang watchdog."""
    from conformance.invoke import disarm_watchdog
    disarm_watchdog()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the workload log when ``$CONFORMANCE_WORKLOAD_LOG`` asks for one (the benchmark)."""
    from conformance import workload
    workload.write()
