"""TF-only clauses: CC-5, IM-5, DF-3, MP-3, XM-1.

Runs on whichever Keras ``tf.keras`` is: Keras 3 in the main run, tf-keras (Keras 2) in the child
that test_reference_isolation.py starts with ``TF_USE_LEGACY_KERAS=1``. Expectations come from a
twin driven with ``optimizer.apply_gradients`` directly.
"""
from __future__ import annotations

from typing import Any, List

import numpy as np
import pytest

import reference as fe
from reference_helpers import (DTYPES, LOSS_SCALE, OPTIMIZERS, TRAJECTORY, Deferred, assert_changed,
                               assert_same_state, deferred_identity, documented_scales, flush, kit, noop, part)

dtypes = pytest.mark.parametrize("dtype", DTYPES)
optimizers = pytest.mark.parametrize("optimizer", OPTIMIZERS)
modes = pytest.mark.parametrize("defer", [False, True], ids=["now", "defer"])


@pytest.fixture(scope="module")
def k() -> Any:
    return kit("tf")


# Lookups with repeated rows: row 1 four times, row 2 three times.
LOOKUPS = [[1, 1, 2, 1], [3, 1, 2, 2]]


def dense_equivalent(k: Any, gradient: Any) -> Any:
    """The dense gradient of ``tf.IndexedSlices``, summed per row with NumPy (not by TF)."""
    if not isinstance(gradient, k.tf.IndexedSlices):
        return gradient
    dense = np.zeros(tuple(int(n) for n in np.array(gradient.dense_shape)), dtype=gradient.values.dtype.as_numpy_dtype)
    np.add.at(dense, np.array(gradient.indices), np.array(gradient.values))
    return k.tf.constant(dense)


@dtypes
@optimizers
@modes
def test_cc5_indexed_slices_update_like_their_dense_equivalent(k: Any, dtype: str, optimizer: str,
                                                               defer: bool) -> None:
    """Three steps; Keras 3 applies slices with repeated rows differently from dense for Adam."""
    tf = k.tf
    model, twin = k.embedding_model(dtype, optimizer), k.embedding_model(dtype, optimizer)
    before = k.state(model)
    x = tf.constant(LOOKUPS)
    deferred: Deferred = {}
    for step in range(3):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(model(x) - 1.0))
        gradients = tape.gradient(loss, model.trainable_variables)
        assert isinstance(gradients[0], tf.IndexedSlices)
        assert len(np.unique(np.array(gradients[0].indices))) < len(np.array(gradients[0].indices))
        fe.update_model(model, gradients, defer=defer, deferred=deferred)
        flush(deferred)
        k.step(twin, [dense_equivalent(k, g) for g in gradients])
        assert_same_state(k.state(model), k.state(twin), what=f"state after step {step}")
    assert_changed(before, k.state(model), ["trainable/0"], "the embedding table")


@dtypes
@optimizers
def test_im5_immediate_call_ignores_deferred_and_pending_calls_still_apply(k: Any, dtype: str,
                                                                           optimizer: str) -> None:
    model, twin = k.model(dtype, optimizer), k.model(dtype, optimizer)
    deferred: Deferred = {"other model": [noop]}
    g1, g2 = k.gradients(model, 1), k.gradients(model, 2)
    fe.update_model(model, g1, defer=True, deferred=deferred)
    before = deferred_identity(deferred)
    fe.update_model(model, g2, deferred=deferred)
    assert deferred_identity(deferred) == before
    k.step(twin, g2)
    assert_same_state(k.state(model), k.state(twin), what="state after the immediate call")
    flush(deferred)
    k.step(twin, g1)
    assert_same_state(k.state(model), k.state(twin), what="state after the flush")


class Untouchable(dict):
    """A ``deferred`` dict that fails the test on any read or write."""

    def _touched(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the TF immediate path read or changed `deferred`")

    __getitem__ = __setitem__ = __delitem__ = __contains__ = __iter__ = __len__ = _touched
    get = setdefault = pop = popitem = keys = values = items = update = clear = copy = _touched


def test_im5_immediate_call_does_not_even_read_deferred(k: Any) -> None:
    model, twin = k.model("float32", "adam"), k.model("float32", "adam")
    gradients = k.gradients(model, 1)
    fe.update_model(model, gradients, deferred=Untouchable())
    k.step(twin, gradients)
    assert_same_state(k.state(model), k.state(twin))


@dtypes
@optimizers
def test_df3_each_deferred_call_appends_one_step_applied_in_order(k: Any, dtype: str, optimizer: str) -> None:
    model, twin = k.model(dtype, optimizer), k.model(dtype, optimizer)
    before = k.state(model)
    deferred: Deferred = {"other model": [noop]}
    calls: List[List[Any]] = []
    for seed in (1, 2, 3):
        calls.append(k.gradients(model, seed))
        pending = list(deferred.get(model.model_name, []))
        fe.update_model(model, calls[-1], defer=True, deferred=deferred)
        entry = deferred[model.model_name]
        assert len(entry) == len(calls) and all(a is b for a, b in zip(entry, pending))
    assert_same_state(k.state(model), before, exact=True, what="state before the flush")
    assert flush(deferred) == [None] * 4
    for gradients in calls:
        k.step(twin, gradients)
    assert k.iterations(model) == 3
    assert_same_state(k.state(model), k.state(twin))


def with_poison(k: Any, gradients: List[Any], poison: str) -> List[Any]:
    """A copy of ``gradients`` whose second tensor holds ``poison`` (inf or nan) in one element."""
    values = np.array(gradients[1])
    values.flat[0] = float(poison)
    return [gradients[0], k.tf.constant(values), *gradients[2:]]


def test_mp3_loss_scale_optimizer_gets_gradients_as_given(k: Any) -> None:
    """Keras 3's ``LossScaleOptimizer`` takes scaled gradients (it unscales), tf-keras' takes
    unscaled ones (``get_unscaled_gradients`` is the caller's job): each call hands in what the
    installed Keras expects, and the reference must pass it on untouched. Non-finite steps are
    skipped and back the scale off; finite ones follow plain SGD on the true gradients."""
    def lso() -> Any:
        return k.loss_scale_optimizer(LOSS_SCALE["init_scale"], LOSS_SCALE["growth_interval"])

    model, twin, plain = k.model("float32", lso()), k.model("float32", lso()), k.model("float32", "sgd")
    deferred: Deferred = {}
    scales = []
    for seed, poison, defer in TRAJECTORY:
        before = part(k.state(model), "trainable/")
        true = k.gradients(model, seed)
        scale = k.loss_scale(model.current_optimizer)
        given = true if k.legacy else [g * scale for g in true]
        if poison:
            given = with_poison(k, given, poison)
        fe.update_model(model, given, defer=defer, deferred=deferred)
        flush(deferred)
        k.step(twin, given)
        assert_same_state(k.state(model), k.state(twin), what=f"state after seed {seed}")
        if poison:
            assert_same_state(part(k.state(model), "trainable/"), before, exact=True,
                              what="weights after a skipped step")
        else:
            k.step(plain, true)
            assert_same_state(part(k.state(model), "trainable/"), part(k.state(plain), "trainable/"),
                              what="weights vs plain SGD")
        scales.append(k.loss_scale(model.current_optimizer))
    assert scales == documented_scales(LOSS_SCALE, [poison is not None for _, poison, _ in TRAJECTORY])


@dtypes
@optimizers
def test_xm1_inside_tf_function_equals_eager(k: Any, dtype: str, optimizer: str) -> None:
    """Immediate updates, and deferred callables created and flushed inside the same function."""
    tf = k.tf
    graph_model, eager_model, twin = (k.model(dtype, optimizer) for _ in range(3))
    before = k.state(graph_model)

    @tf.function
    def immediate(gradients: List[Any]) -> None:
        fe.update_model(graph_model, gradients)

    @tf.function
    def deferred_pair(first: List[Any], second: List[Any]) -> None:
        deferred: Deferred = {}
        fe.update_model(graph_model, first, defer=True, deferred=deferred)
        fe.update_model(graph_model, second, defer=True, deferred=deferred)
        flush(deferred)

    for seed in (1, 10, 20):
        g1, g2, g3 = (k.gradients(graph_model, seed + i) for i in range(3))
        immediate(g1)
        deferred_pair(g2, g3)
        deferred: Deferred = {}
        fe.update_model(eager_model, g1)
        fe.update_model(eager_model, g2, defer=True, deferred=deferred)
        fe.update_model(eager_model, g3, defer=True, deferred=deferred)
        flush(deferred)
        for gradients in (g1, g2, g3):
            k.step(twin, gradients)
        assert_same_state(k.state(graph_model), k.state(eager_model), what=f"tf.function vs eager, seed {seed}")
        assert_same_state(k.state(graph_model), k.state(twin), what=f"tf.function vs twin, seed {seed}")
    assert k.iterations(graph_model) == 9
    assert_changed(before, k.state(graph_model), ["trainable/"], "the comparison")
