"""Fixtures for every test of the project."""
from __future__ import annotations

from typing import Iterator

import pytest


@pytest.fixture(autouse=True)
def _disarm_implementation_watchdog() -> Iterator[None]:
    """A test that calls implementation code through ``conformance.invoke.call_impl`` (e.g. via
    ``Run.update``) arms the hard-hang watchdog, which ends this process when it fires; the checks'
    own conftest disarms it after each check, and this does the same after each test here, so that a
    later slow test (a child pytest run) is never cut short."""
    yield
    from conformance.invoke import disarm_watchdog
    disarm_watchdog()
