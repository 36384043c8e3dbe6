"""IM: immediate updates (``defer=False``)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.checks.scenarios import deferred_state, draw_arrays, draw_run, immediate_updates
from conformance.checks.support import capped, count_example
from conformance.strategies import optimizer_ids


@pytest.mark.clause("IM-1")
@capped()
@given(data=st.data())
def test_im1_one_step(clause, adapter, device, impl, data):
    immediate_updates(clause, adapter, impl, device, data, calls=data.draw(st.integers(1, 2), label="calls"),
                      zeros=True, zero_parts=True, trainability=True, drawn_structures=True, unbuilt=True,
                      optimizer_choices=optimizer_ids(adapter.backend))


@pytest.mark.clause("IM-2")
@capped()
@given(data=st.data())
def test_im2_adds_to_existing_grad(clause, adapter, device, impl, data):
    run = draw_run(clause, adapter, impl, device, data)
    if data.draw(st.booleans(), label="caller's own backward() first"):
        adapter.accumulate_gradients(run.pairs[0], draw_arrays(run, data, label="existing .grad"))
        run.note("(caller's backward() leaves .grad on every parameter)")
    for call in range(data.draw(st.integers(0, 2), label="deferred calls first")):
        run.update(0, draw_arrays(run, data, label=f"deferred gradients {call + 1}"), defer=True)
    run.update(0, draw_arrays(run, data, label="immediate gradients"))
    run.expect_twin("after the immediate call")
    count_example()


@pytest.mark.clause("IM-3")
@capped()
@given(data=st.data())
def test_im3_pending_entry_consumed(clause, adapter, device, impl, data):
    run = draw_run(clause, adapter, impl, device, data)
    run.update(0, draw_arrays(run, data, label="deferred gradients"), defer=True)
    run.update(0, draw_arrays(run, data, label="immediate gradients"))
    if run.pairs[0].name in run.deferred:
        run.fail(f"after the immediate call deferred still holds {run.pairs[0].name!r}: "
                 f"{run.deferred_text()} (flushing it would step again on consumed gradients)")
    run.flush()
    run.expect_twin("after the flush")
    count_example()


@pytest.mark.clause("IM-4")
@capped()
@given(data=st.data())
def test_im4_other_entries_untouched(clause, adapter, device, impl, data):
    run = draw_run(clause, adapter, impl, device, data, models=2)
    run.update(1, draw_arrays(run, data, 1, label="model 1 deferred gradients"), defer=True)
    if data.draw(st.booleans(), label="model 0 has a pending entry too"):
        run.update(0, draw_arrays(run, data, label="model 0 deferred gradients"), defer=True)
    other = {k: v for k, v in deferred_state(run.deferred).items() if k != run.pairs[0].name}
    run.update(0, draw_arrays(run, data, label="model 0 immediate gradients"))
    now = {k: v for k, v in deferred_state(run.deferred).items() if k != run.pairs[0].name}
    if now != other:
        run.fail(f"the immediate call on {run.pairs[0].name} changed other models' deferred entries: "
                 f"now {run.deferred_text()}")
    run.flush()
    run.expect_twin("after the flush")
    count_example()


@pytest.mark.clause("IM-5")
@capped()
@given(data=st.data())
def test_im5_deferred_not_touched(clause, adapter, device, impl, data):
    run = draw_run(clause, adapter, impl, device, data, models=2)
    for index, call in data.draw(st.lists(st.tuples(st.integers(0, 1), st.integers(1, 9)), min_size=1,
                                          max_size=3), label="deferred calls first"):
        run.update(index, draw_arrays(run, data, index, label=f"deferred gradients {call}"), defer=True)
    before = deferred_state(run.deferred)
    run.update(0, draw_arrays(run, data, label="immediate gradients"))
    if deferred_state(run.deferred) != before:
        run.fail(f"the immediate call changed deferred: now {run.deferred_text()}")
    run.flush()
    run.expect_twin("after the flush")
    count_example()
