"""DF-5's two ways of reaching a program over several models: the small scope at every seed, and the
state machine by its rules alone (one rule per kind of step, and a bundle of models with a pending
entry), both shown on FastEstimator's KeyError (``tests/mutants/port_fe_keyerror.py``): a deferred
call on one model, then an immediate call on another."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

pytest.importorskip("torch")

from conformance import profiles  # noqa: E402
from conformance.adapters import load  # noqa: E402
from conformance.checks import test_deferred  # noqa: E402
from conformance.target import load_target  # noqa: E402

KEYERROR = str(Path(__file__).resolve().parent / "mutants" / "port_fe_keyerror.py")


def _ci() -> settings:
    profiles.register()
    return settings(settings.get_profile("conformance-ci"), phases=profiles.phases())


def test_the_small_scope_finds_it_with_no_search() -> None:
    with pytest.raises(KeyError) as info:
        test_deferred.play_small_scope("DF-5", load("torch"), load_target(KEYERROR), "cpu")
    assert "update_model(model 0, defer=True); update_model(model 1, defer=False)" in "\n".join(info.value.__notes__)


@pytest.mark.parametrize("seed", range(5))
def test_the_state_machine_alone_reaches_it_at_every_seed(seed: int) -> None:
    machine = type("DeferralMachine", (test_deferred.DeferralMachine,), {
        "clause": "DF-5", "adapter": load("torch"), "impl": staticmethod(load_target(KEYERROR)), "device": "cpu",
        "_hypothesis_internal_use_seed": seed})  # what @seed(seed) sets
    with pytest.raises(KeyError):
        run_state_machine_as_test(machine, settings=_ci())


def test_the_reference_holds_on_the_small_scope() -> None:
    test_deferred.play_small_scope("DF-5", load("torch"), load_target("reference"), "cpu")
