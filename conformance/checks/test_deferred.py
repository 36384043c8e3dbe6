"""DF: deferred updates (``defer=True``), including the state machine over programs of calls."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from conformance.checks.scenarios import (deferred_state, draw_arrays, draw_run, expect_raise, prime,
                                          raw_call)
from conformance.checks.support import capped, count_example
from conformance.harness import Run
from conformance.model_specs import ModelRequest
from conformance.strategies import gradients, optimizer_ids, seeds


@pytest.mark.clause("DF-1")
@capped()
@given(data=st.data())
def test_df1_nothing_changes_now(adapter, device, impl, data):
    run = draw_run("DF-1", adapter, impl, device, data)
    if data.draw(st.booleans(), label="an immediate call first (slots exist)"):
        run.update(0, draw_arrays(run, data, label="immediate gradients"))
    before = [run.snapshot()]
    run.update(0, draw_arrays(run, data, label="deferred gradients"), defer=True)
    run.expect_unchanged(before, "right after a deferred call", grads=False)
    count_example()


def _sentinel() -> None:
    return None


@pytest.mark.clause("DF-2")
@capped()
@given(data=st.data())
def test_df2_list_of_callables(adapter, device, impl, data):
    run = draw_run("DF-2", adapter, impl, device, data)
    run.deferred["some_other_model"] = [_sentinel]
    run.twin_deferred["some_other_model"] = [_sentinel]
    other = deferred_state({"some_other_model": run.deferred["some_other_model"]})
    for call in range(data.draw(st.integers(1, 3), label="deferred calls")):
        run.update(0, draw_arrays(run, data, label=f"deferred gradients {call + 1}"), defer=True)
        entry = run.deferred.get(run.pairs[0].name)
        if not isinstance(entry, list) or not entry or not all(callable(f) for f in entry):
            run.fail(f"deferred[{run.pairs[0].name!r}] is {entry!r:.120}, not a non-empty list of callables")
        if deferred_state({"some_other_model": run.deferred.get("some_other_model")}) != other:
            run.fail("a deferred call changed another key of deferred")
    run.flush()  # raises DF-2 if a callable returns something other than None
    run.expect_twin("after the flush")
    count_example()


@pytest.mark.clause("DF-3")
@capped()
@given(data=st.data())
def test_df3_tf_one_callable_per_call(adapter, device, impl, data):
    run = draw_run("DF-3", adapter, impl, device, data)
    calls = data.draw(st.integers(1, 3), label="deferred calls")
    for call in range(1, calls + 1):
        run.update(0, draw_arrays(run, data, label=f"deferred gradients {call}"), defer=True)
        length = len(run.deferred.get(run.pairs[0].name, []))
        if length != call:
            run.fail(f"after {call} deferred call(s) deferred[{run.pairs[0].name!r}] holds {length} callable(s)")
    run.flush()
    run.expect_twin(f"after flushing {calls} deferred call(s) (one optimizer step each)")
    count_example()


@pytest.mark.clause("DF-4")
@capped()
@given(data=st.data())
def test_df4_torch_accumulate_then_one_step(adapter, device, impl, data):
    run = draw_run("DF-4", adapter, impl, device, data)
    calls = data.draw(st.integers(1, 3), label="deferred calls")
    for call in range(1, calls + 1):
        run.update(0, draw_arrays(run, data, label=f"deferred gradients {call}"), defer=True)
        length = len(run.deferred.get(run.pairs[0].name, []))
        if length != 1:
            run.fail(f"after {call} deferred call(s) deferred[{run.pairs[0].name!r}] holds {length} "
                     "callables, expected exactly 1")
        run.expect_twin(f"after deferred call {call} (.grad holds the sum so far)")
    run.flush()
    run.expect_twin(f"after the flush (one step with the sum of {calls} gradients)")
    count_example()


@pytest.mark.clause("DF-6")
@capped(20)
@given(data=st.data())
def test_df6_defer_without_dict_raises(adapter, device, impl, data):
    run = draw_run("DF-6", adapter, impl, device, data, archs=("dense",))
    if adapter.backend == "torch":
        adapter.backward(run.pairs[0], draw_arrays(run, data, label="existing .grad"))
    tensors = adapter.gradients(run.pairs[0], draw_arrays(run, data))
    expect_raise(run, (ValueError, TypeError), raw_call(run, run.pairs[0].model, tensors, True, None),
                 "update_model(defer=True, deferred=None)")
    count_example()


class DeferralMachine(RuleBasedStateMachine):
    """DF-5: several models share one ``deferred`` dict; any program of deferred and immediate calls,
    caller ``backward()``s and flushes must leave every model equal to its twin."""

    adapter: Any = None
    impl: Any = None
    device = "cpu"

    def __init__(self) -> None:
        super().__init__()
        self.run: Run | None = None
        self.rules_in_flight = 0  # above 0 after a rule raised: teardown then judges nothing

    @initialize(models=st.integers(1, 3), seed=seeds(), optimizer=st.sampled_from(["sgd", "sgd-momentum", "adam"]),
                dtype=st.sampled_from(["float32", "float64"]))
    def build(self, models: int, seed: int, optimizer: str, dtype: str) -> None:
        request = ModelRequest(arch="dense", dtype=dtype, optimizer=optimizer, device=self.device)
        self.run = Run("DF-5", self.adapter, self.impl, [request] * models, seed)

    def _arrays(self, model: int, draw: Any) -> list:
        return draw.arrays(self.run.shapes(model), self.run.pairs[model].request.dtype)

    @rule(model=st.integers(0, 2), draw=gradients(), defer=st.booleans())
    def update(self, model: int, draw: Any, defer: bool) -> None:
        model %= len(self.run.pairs)
        self.rules_in_flight += 1
        self.run.update(model, self._arrays(model, draw), defer=defer)
        self.rules_in_flight -= 1

    @precondition(lambda self: self.adapter.backend == "torch")
    @rule(model=st.integers(0, 2), draw=gradients())
    def backward(self, model: int, draw: Any) -> None:
        model %= len(self.run.pairs)
        pair = self.run.pairs[model]
        self.run.note(f"(caller's backward() adds to .grad of {pair.name})")
        self.adapter.backward(pair, self._arrays(model, draw))

    @rule()
    def flush(self) -> None:
        self.rules_in_flight += 1
        self.run.flush()
        self.rules_in_flight -= 1

    @invariant()
    def matches_twin(self) -> None:
        if self.run is not None:
            self.run.expect_twin("after this step of the program")

    def teardown(self) -> None:
        # After a rule that raised, Hypothesis still calls teardown: flushing then would hide that
        # exception behind a comparison of a half-finished program.
        if self.run is not None and self.rules_in_flight == 0:
            self.run.flush()
            self.run.expect_twin("after the final flush")
            count_example()


@pytest.mark.clause("DF-5")
def test_df5_programs_state_machine(adapter, device, impl):
    machine = type("DeferralMachine", (DeferralMachine,), {"adapter": adapter, "impl": staticmethod(impl), "device": device})
    from hypothesis.stateful import run_state_machine_as_test
    run_state_machine_as_test(machine, settings=capped())
