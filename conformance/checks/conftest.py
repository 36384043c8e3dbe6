"""Fixtures of the clause checks: the implementation under test and the (backend, device) target."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from conformance import clauses
from conformance.adapters import Adapter, BackendUnavailable, load
from conformance.selection import clause_of_test
from conformance.target import DEFAULT_TARGET, load_target


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" not in metafunc.fixturenames:
        return
    selection = metafunc.config._conformance_selection  # set by conformance.plugin
    clause = clauses.get(clause_of_test(metafunc.function.__name__))
    combos = [(b, d) for b in selection.backends if b in clause.backends
              for d in selection.devices if d in clause.devices]
    metafunc.parametrize("target", combos, ids=[f"{b}-{d}" for b, d in combos])


@pytest.fixture(scope="session")
def impl(pytestconfig: pytest.Config) -> Callable[..., Any]:
    return load_target(pytestconfig.getoption("impl") or DEFAULT_TARGET)


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

    import importlib.util

    from conformance import invoke, profiles
    if importlib.util.find_spec("torch") is not None:
        import torch  # torch must be imported before TensorFlow in one process
        if config.getoption("conformance_backend") in ("torch", "all"):
            # The first torch optimizer imports torch._dynamo (~1.3 s): pay it at start-up, not
            # inside the first check's timing (and not at all when only TF is checked).
            torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
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
