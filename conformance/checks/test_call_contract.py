"""CC: the call contract (return value, pairing, what may change, the caller's tensors, sparse and
missing gradients, wrong counts and shapes)."""
from __future__ import annotations

import inspect
from typing import Any, List, Tuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.checks.scenarios import (draw_arrays, draw_run, expect_raise, immediate_updates, prime,
                                          raw_call)
from conformance.checks.support import capped, count_example
from conformance.compare import compare_lists, compare_mappings
from conformance.harness import Run
from conformance.strategies import optimizer_ids, sparse_rows
from conformance.violation import ClauseViolation


def _signature_problem(impl) -> str | None:
    try:
        signature = inspect.signature(impl)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(object(), [], defer=False, deferred=None)
    except TypeError as error:
        return f"signature {impl.__name__}{signature} cannot take (model, gradients, defer=, deferred=): {error}"
    return None


@pytest.mark.clause("CC-1")
@capped(30)
@given(data=st.data())
def test_cc1_returns_none(clause, adapter, device, impl, data):
    problem = _signature_problem(impl)
    if problem:
        raise ClauseViolation(clause, problem)
    run = draw_run(clause, adapter, impl, device, data, twins=False, archs=("dense", "batchnorm"))
    if data.draw(st.booleans(), label="first call with the signature's defaults"):
        # update_model(model, gradients) must do what the call with the defaults written out does
        # (whether that is right is IM-1's to judge): same model, same start, same gradients
        arrays = draw_arrays(run, data, label="gradients 0")
        result = run.update(0, arrays, defaults=True)
        if result is not None:
            run.fail(f"update_model returned {result!r:.100} ({type(result).__name__}), not None")
        by_default, transcript = run.snapshot(0), run.transcript
        run = Run(clause, adapter, impl, [run.pairs[0].request], run.seed, twins=False)  # the same model, reset
        run.transcript = transcript + ["(the same model reset to the same weights)"]
        run.update(0, arrays, pass_deferred=False)
        explicit = run.snapshot(0)
        lines = compare_lists("weights", by_default.weights, explicit.weights)
        lines += compare_mappings("optimizer", by_default.slots, explicit.slots)
        if lines:
            run.fail("update_model(model, gradients) did not do what update_model(model, gradients, defer=False, "
                     "deferred=None) does: the signature's defaults differ", *lines[:6])
    for call, defer in enumerate(data.draw(st.lists(st.booleans(), min_size=1, max_size=3), label="defer"), 1):
        result = run.update(0, draw_arrays(run, data, label=f"gradients {call}"), defer=defer)
        if result is not None:
            run.fail(f"update_model returned {result!r:.100} ({type(result).__name__}), not None")
    run.flush()
    count_example()


@pytest.mark.clause("CC-2")
@capped()
@given(data=st.data())
def test_cc2_positional_pairing(clause, adapter, device, impl, data):
    immediate_updates(clause, adapter, impl, device, data, archs=("dense", "conv", "batchnorm", "frozen"),
                      calls=data.draw(st.integers(1, 2), label="calls"), zero_parts=True, trainability=True,
                      drawn_structures=True, optimizer_choices=optimizer_ids(adapter.backend, stateful=False))


@pytest.mark.clause("CC-3")
@capped()
@given(data=st.data())
def test_cc3_only_trainables_change(clause, adapter, device, impl, data):
    run = immediate_updates(clause, adapter, impl, device, data, archs=("frozen", "batchnorm"),
                            calls=data.draw(st.integers(1, 2), label="calls"), zero_parts=True, trainability=True,
                            drawn_structures=True)
    del run


@pytest.mark.clause("CC-4")
@capped()
@given(data=st.data())
def test_cc4_caller_gradients_untouched(clause, adapter, device, impl, data):
    scalers = (None, adapter.loss_scaler)
    run = draw_run(clause, adapter, impl, device, data, scalers=scalers, twins=False,
                   optimizer_choices=optimizer_ids(adapter.backend, scale_invariant=False))
    handed: List[Tuple[List[Any], list]] = []  # each call's tensors and copies of their values
    run.before_call.append(lambda tensors: handed.append((tensors, adapter.tensor_values(tensors))))
    for call, defer in enumerate(data.draw(st.lists(st.booleans(), min_size=1, max_size=4), label="defer"), 1):
        run.update(0, draw_arrays(run, data, label=f"gradients {call}"), defer=defer)
        _expect_intact(run, handed)
    run.flush()
    _expect_intact(run, handed)
    count_example()


def _expect_intact(run: Run, handed: List[Tuple[List[Any], list]]) -> None:
    """Every gradient tensor handed over still holds the values it was handed with."""
    for call, (tensors, original) in enumerate(handed, start=1):
        lines = compare_lists(f"call {call} gradients", run.adapter.tensor_values(tensors), original, exact=True)
        if lines:
            run.fail("the caller's gradient tensors were modified", *lines[:4])


@pytest.mark.clause("CC-5")
@capped()
@given(data=st.data())
def test_cc5_indexed_slices_as_dense(clause, adapter, device, impl, data):
    run = draw_run(clause, adapter, impl, device, data, archs=("embedding",),
                   optimizer_choices=optimizer_ids(adapter.backend))
    for call, defer in enumerate(data.draw(st.lists(st.booleans(), min_size=1, max_size=2), label="defer"), 1):
        rows = data.draw(sparse_rows(), label=f"rows {call}")
        run.update(0, draw_arrays(run, data, label=f"gradients {call}"), defer=defer, sparse_rows=rows)
    run.flush()
    run.expect_twin("after the IndexedSlices updates")
    count_example()


@pytest.mark.clause("CC-6")
@capped(25)
@given(data=st.data())
def test_cc6_none_gradient_skipped(clause, adapter, device, impl, data):
    """Calls with and without ``None`` in any order: after a full call a stateful optimizer would
    still move a variable whose gradient were replaced by zeros, so ``None`` must really mean "leave it
    alone". One example in four uses fresh models (a first call with ``None`` must not build the
    optimizer on a subset); building them is most of this check's cost on Keras."""
    fresh = data.draw(st.integers(0, 3), label="fresh models (0)") == 0
    run = draw_run(clause, adapter, impl, device, data, fresh=fresh, archs=("dense", "batchnorm"))
    pattern = data.draw(st.lists(st.booleans(), min_size=2, max_size=3).filter(any), label="calls with None")
    for call, with_none in enumerate(pattern, 1):
        arrays = draw_arrays(run, data, label=f"gradients {call}")
        if with_none:  # some, never all, gradients None
            none = data.draw(st.sets(st.integers(0, len(arrays) - 1), min_size=1, max_size=len(arrays) - 1),
                             label=f"None positions {call}")
            arrays = [None if i in none else a for i, a in enumerate(arrays)]
        run.update(0, arrays)
        run.expect_twin(f"after call {call} ({'with None gradients' if with_none else 'full'})")
    count_example()


@pytest.mark.clause("CC-7")
@capped(25)
@given(data=st.data())
def test_cc7_wrong_count_raises(clause, adapter, device, impl, data):
    run = draw_run(clause, adapter, impl, device, data, archs=("dense", "frozen"))
    prime(run, data)
    arrays = draw_arrays(run, data)
    extra = data.draw(st.booleans(), label="one gradient too many (else one too few)")
    tensors = run.adapter.gradients(run.pairs[0], arrays)
    tensors = tensors + [tensors[-1]] if extra else tensors[:-1]
    defer = data.draw(st.booleans(), label="defer")
    expect_raise(run, (ValueError,), raw_call(run, run.pairs[0].model, tensors, defer, run.deferred),
                 f"update_model with {len(tensors)} gradients for {len(run.shapes())} variables, defer={defer}")
    count_example()


def _wrong_shape(shape: tuple, kind: str) -> tuple:
    if kind == "broadcastable" and len(shape) >= 1:
        return (1,) + shape[1:] if shape[0] != 1 else shape[:-1] + (1,) if shape[-1] != 1 else shape + (2,)
    if kind == "transposed" and len(shape) == 2 and shape[0] != shape[1]:
        return shape[::-1]
    if kind == "scalar" and shape != ():
        return ()
    return shape + (2,)


@pytest.mark.clause("CC-8")
@capped(30)
@given(data=st.data())
def test_cc8_wrong_shape_raises(clause, adapter, device, impl, data):
    # TF, one example in four: the wrong gradient is the embedding's, as IndexedSlices whose
    # dense_shape is wrong (a check that reads only .shape of dense tensors misses it)
    sparse = adapter.sparse_gradients and data.draw(st.integers(0, 3), label="IndexedSlices case") == 0
    run = draw_run(clause, adapter, impl, device, data, archs=("embedding",) if sparse else ("dense", "conv"))
    prime(run, data)
    arrays = draw_arrays(run, data)
    index = run.adapter.sparse_index(run.pairs[0]) if sparse else \
        data.draw(st.integers(0, len(arrays) - 1), label="wrong gradient index")
    kind = data.draw(st.sampled_from(["broadcastable", "transposed", "extra axis"] + ([] if sparse else ["scalar"])),
                     label="wrong shape")
    shape = _wrong_shape(arrays[index].shape, kind)
    arrays[index] = np.ones(shape, dtype=arrays[index].dtype)
    # None gradients elsewhere (CC-6 allows them): a shape check must not stop at the first None
    for other in data.draw(st.sets(st.sampled_from([i for i in range(len(arrays)) if i != index]), max_size=2),
                           label="None gradients at"):
        arrays[other] = None
    rows = data.draw(st.lists(st.integers(0, 11), min_size=1, max_size=4), label="IndexedSlices rows") \
        if sparse else None
    tensors = run.adapter.gradients(run.pairs[0], arrays, rows)
    defer = data.draw(st.booleans(), label="defer")
    expect_raise(run, (Exception,), raw_call(run, run.pairs[0].model, tensors, defer, run.deferred),
                 f"update_model with gradient {index} of shape {shape} ({kind})"
                 f"{' as IndexedSlices rows ' + str(rows) if rows else ''} for a variable of shape "
                 f"{run.shapes()[index]}, defer={defer}")
    count_example()
