"""DF: deferred updates (``defer=True``), including the state machine over programs of calls."""
from __future__ import annotations

import dataclasses
from typing import Any, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import (Bundle, RuleBasedStateMachine, initialize, invariant, precondition, rule,
                                 run_state_machine_as_test)

from conformance.checks.scenarios import (deferred_state, draw_arrays, draw_run, expect_raise,
                                          raw_call, trainability_changes)
from conformance.checks.support import capped, count_example
from conformance.harness import Run
from conformance.model_specs import ModelRequest
from conformance.replay import REPRODUCE_ATTRIBUTE, recorded, replays_counterexamples
from conformance.strategies import (STEP_KINDS, GradientDraw, Step, gradients, models_of, seeds,
                                    small_programs)
from conformance.violation import ClauseViolation


@pytest.mark.clause("DF-1")
@capped()
@given(data=st.data())
def test_df1_nothing_changes_now(clause, adapter, device, impl, data):
    run = draw_run(clause, adapter, impl, device, data)
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
def test_df2_list_of_callables(clause, adapter, device, impl, data):
    run = draw_run(clause, adapter, impl, device, data)
    # the caller's dict: empty (the first deferred call of a training step) or holding another model's entry
    if data.draw(st.booleans(), label="another model's entry already in deferred"):
        run.deferred["some_other_model"] = [_sentinel]
        run.twin_deferred["some_other_model"] = [_sentinel]
    other = deferred_state({"some_other_model": run.deferred.get("some_other_model")})
    for call in range(data.draw(st.integers(1, 3), label="deferred calls")):
        run.update(0, draw_arrays(run, data, label=f"deferred gradients {call + 1}"), defer=True)
        entry = run.deferred.get(run.pairs[0].name)
        if not isinstance(entry, list) or not entry or not all(callable(f) for f in entry):
            run.fail(f"deferred[{run.pairs[0].name!r}] is {entry!r:.120}, not a non-empty list of callables")
        if deferred_state({"some_other_model": run.deferred.get("some_other_model")}) != other:
            run.fail("a deferred call changed another key of deferred")
    run.after_deferred_call.append(lambda name, result: result is None or run.fail(
        f"a deferred callable of {name} returned {result!r}, not None"))
    run.flush()
    run.expect_twin("after the flush")
    count_example()


@pytest.mark.clause("DF-3")
@capped()
@given(data=st.data())
def test_df3_tf_one_callable_per_call(clause, adapter, device, impl, data):
    run = draw_run(clause, adapter, impl, device, data)
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
def test_df4_torch_accumulate_then_one_step(clause, adapter, device, impl, data):
    run = draw_run(clause, adapter, impl, device, data)
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
def test_df6_defer_without_dict_raises(clause, adapter, device, impl, data):
    run = draw_run(clause, adapter, impl, device, data, archs=("dense",))
    if adapter.accumulates_gradients:
        adapter.accumulate_gradients(run.pairs[0], draw_arrays(run, data, label="existing .grad"))
    tensors = adapter.gradients(run.pairs[0], draw_arrays(run, data))
    expect_raise(run, (ValueError, TypeError), raw_call(run, run.pairs[0].model, tensors, True, None),
                 "update_model(defer=True, deferred=None)")
    count_example()


#: DF-5's small scope: every program of at most this many steps over at most this many models is
#: played, shortest first, before the state machine draws longer ones. Such programs are found at
#: every seed; the state machine's are found by chance.
SMALL_SCOPE_STEPS = 3
SMALL_SCOPE_MODELS = 3
#: The small scope's model: Adam, whose step is not linear in the gradient, so that one step with a
#: sum and several steps differ, and whose slots and ``iterations`` show every extra or missing step.
SMALL_SCOPE_REQUEST = ModelRequest(arch="dense", dtype="float32", optimizer="adam")


def _step_kinds(adapter: Any) -> tuple:
    return STEP_KINDS if adapter.accumulates_gradients else tuple(k for k in STEP_KINDS if k != "backward")


def play(run: Run, step: Step, arrays: list) -> None:
    """Do ``step`` of a DF-5 program on ``run``: the implementation's call, the caller's
    ``backward()`` (on model and twin alike) or a flush."""
    if step.kind == "flush":
        run.flush()
    elif step.kind == "backward":
        pair = run.pairs[step.model]
        run.note(f"(caller's backward() adds to .grad of {pair.name})")
        run.adapter.accumulate_gradients(pair, arrays)
    else:
        run.update(step.model, arrays, defer=step.kind == "defer")


def play_small_scope(clause: str, adapter: Any, impl: Any, device: str) -> None:
    """Every small program (``SMALL_SCOPE_STEPS``/``SMALL_SCOPE_MODELS``), shortest first: after each
    step and after the final flush, every model must equal its twin, else ``clause`` is violated. The
    first failing program is the smallest counterexample there is."""
    request = dataclasses.replace(SMALL_SCOPE_REQUEST, device=device)
    programs = small_programs(SMALL_SCOPE_MODELS, SMALL_SCOPE_STEPS, _step_kinds(adapter))
    for number, program in enumerate(programs, 1):
        run = Run(clause, adapter, impl, [request] * models_of(program), seed=number)
        run.note(f"small-scope program {number} of {len(programs)} (every program of at most "
                 f"{SMALL_SCOPE_STEPS} steps over at most {SMALL_SCOPE_MODELS} models, at every seed): "
                 + "; ".join(map(str, program)) + "; final flush")
        try:
            for index, step in enumerate(program, 1):
                arrays = GradientDraw(seed=index, scale=1.0).arrays(run.shapes(step.model), request.dtype)
                play(run, step, arrays)
                run.expect_twin(f"after step {index} ({step})")
            run.flush()
            run.expect_twin("after the final flush")
        except ClauseViolation:
            raise
        except Exception as error:  # the implementation raised: say in which program
            error.add_note(f"{clause} program (shrunk: the smallest that fails):\n  " + "\n  ".join(run.transcript))
            raise
        count_example()


#: Before a call of the DF-5 machine: no change (what shrinking aims at), or the index of one of the
#: freezing/unfreezing changes the adapter allows then.
TRAINABILITY_CHANGE = st.none() | st.integers(0, 7)


class DeferralMachine(RuleBasedStateMachine):
    """DF-5: several models share one ``deferred`` dict; any program of deferred and immediate calls,
    caller ``backward()``s and flushes must leave every model equal to its twin.

    Each kind of step is a rule of its own, so Hypothesis' swarm testing leaves some out of whole
    programs; ``pending`` holds the models that had a deferred call, so that an immediate call on
    another model meets a pending entry on purpose, not by chance. Every call may first freeze or
    unfreeze a layer of its model (``change``), pending deferred updates or not: a part of the call
    rules rather than a rule of its own, because each extra rule thins out the programs that reach
    a pending entry. The check sets ``clause`` (the id its runs report), ``adapter``, ``impl`` and
    ``device`` on a subclass."""

    clause = ""
    adapter: Any = None
    impl: Any = None
    device = "cpu"
    pending = Bundle("pending")

    def __init__(self) -> None:
        super().__init__()
        self.run: Run | None = None
        self.rules_in_flight = 0  # above 0 after a rule raised: teardown then judges nothing

    @initialize(models=st.sampled_from([2, 3]), seed=seeds(),
                optimizer=st.sampled_from(["sgd", "sgd-momentum", "adam"]),
                dtype=st.sampled_from(["float32", "float64"]), loss_scaled=st.booleans())
    def build(self, models: int, seed: int, optimizer: str, dtype: str, loss_scaled: bool) -> None:
        scaler = self.adapter.loss_scaler if loss_scaled else None
        request = ModelRequest(arch="dense", dtype=dtype, optimizer=optimizer, scaler=scaler, device=self.device)
        self.run = Run(self.clause, self.adapter, self.impl, [request] * models, seed)

    def _play(self, step: Step, draw: Any, change: Optional[int] = None) -> None:
        step = dataclasses.replace(step, model=step.model % len(self.run.pairs))
        if change is not None:
            self._change_trainability(step.model, change)
        arrays = [] if step.kind == "flush" else draw.arrays(self.run.shapes(step.model),
                                                             self.run.pairs[step.model].request.dtype)
        self.rules_in_flight += 1
        play(self.run, step, arrays)
        self.rules_in_flight -= 1

    def _change_trainability(self, index: int, change: int) -> None:
        """Freeze or unfreeze a layer of model ``index`` before a call, as far as the adapter allows
        (``Adapter.may_set_trainable``)."""
        allowed = trainability_changes(self.run, index)
        if allowed:
            self.run.set_trainable(index, *allowed[change % len(allowed)])

    @rule(target=pending, model=st.integers(0, 2), draw=gradients(), change=TRAINABILITY_CHANGE)
    def defer(self, model: int, draw: Any, change: Optional[int]) -> int:
        self._play(Step("defer", model), draw, change)
        return model % len(self.run.pairs)

    @rule(model=st.integers(0, 2), draw=gradients(), change=TRAINABILITY_CHANGE)
    def now(self, model: int, draw: Any, change: Optional[int]) -> None:
        self._play(Step("now", model), draw, change)

    @rule(pending_model=pending, offset=st.integers(1, 2), draw=gradients())
    def now_beside_pending(self, pending_model: int, offset: int, draw: Any) -> None:
        """An immediate call on another model than one that had a deferred call (the same one only
        in a program over one model)."""
        models = len(self.run.pairs)
        other = pending_model + 1 + (offset - 1) % (models - 1) if models > 1 else pending_model
        self._play(Step("now", other), draw)

    @precondition(lambda self: self.adapter.accumulates_gradients)
    @rule(model=st.integers(0, 2), draw=gradients())
    def backward(self, model: int, draw: Any) -> None:
        self._play(Step("backward", model), draw)

    @precondition(lambda self: bool(self.run.deferred or self.run.twin_deferred))
    @rule()
    def flush(self) -> None:
        """Run the pending entries (the implementation's or the twin's: a flush with neither is a no-op,
        and programs of no-ops would crowd out the ones that test something)."""
        self._play(Step("flush"), None)

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
@replays_counterexamples
def test_df5_programs_state_machine(clause, adapter, device, impl):
    play_small_scope(clause, adapter, impl, device)
    machine = type("DeferralMachine", (DeferralMachine,), {
        "clause": clause, "adapter": adapter, "impl": staticmethod(impl), "device": device,
        REPRODUCE_ATTRIBUTE: recorded(test_df5_programs_state_machine)})
    run_state_machine_as_test(machine, settings=capped())
