"""The backend adapters in this process (torch, and TensorFlow with whichever Keras it loads).

What the checks rely on and what is tested here:
- the canonical (Keras) layout means the same thing on both backends: models reset from one seed
  compute the same function, and one canonical gradient gives the same SGD step on both, equal to
  the NumPy oracle ``w - lr * g``;
- ``pair`` resets a cached pair: weights from the seed, optimizer state and ``.grad`` as new;
- ``snapshot`` captures ``.grad``, optimizer slots (in canonical layout) and ``iterations``.

The model is driven by the reference ``update_model`` and the twin by ``adapter.twin_update``; both
are held to the oracle. Tolerance 1e-6: one float32 step ``w - lr*g`` with |w|, |lr*g| < ~4 is
within a few float32 ulps (~5e-7) of the exactly rounded result on any backend; a layout or step
error moves entries by at least ``lr * |g|`` ~ 1e-2 (docs/framework-facts.md, F1).
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from typing import Any, Dict, List

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reference
from reference_helpers import first_layers_output, shift_first_statistic, torch_perturb
from conformance import optimizers
from conformance.compare import compare_lists
from conformance.adapters import BackendUnavailable, load
from conformance.adapters.base import Adapter, Pair
from conformance.model_specs import EMBEDDING_VOCAB, Layer, ModelRequest, Structure
from conformance.strategies import GradientDraw, structures

BACKENDS = ("torch", "tf")  # torch first: a process using both imports torch before TensorFlow
TOL = 1e-6
SGD_LR = optimizers.get("sgd").hyper["lr"]
ADAM = optimizers.get("adam").hyper


@pytest.fixture(scope="module")
def adapters() -> Dict[str, Adapter]:
    """Both adapters, torch loaded first; skip when a framework is not installed."""
    loaded = {}
    for backend, module in (("torch", "torch"), ("tf", "tensorflow")):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
        try:
            loaded[backend] = load(backend)
        except BackendUnavailable as error:
            pytest.skip(str(error))
    return loaded


def _pair(adapter: Adapter, arch: str, optimizer: str, seed: int, index: int = 0) -> Pair:
    return adapter.pair(ModelRequest(arch=arch, dtype="float32", optimizer=optimizer), seed, index=index)


def _step(adapter: Adapter, pair: Pair, arrays: List[np.ndarray]) -> None:
    """One immediate update: the model by the reference, the twin by the adapter."""
    reference.update_model(pair.model, adapter.gradients(pair, arrays))
    adapter.twin_update(pair, arrays, defer=False, deferred={})


INPUTS = {"dense": (2, 3), "conv": (2, 4, 4, 1)}


@pytest.mark.parametrize("arch", ["dense", "conv"])
def test_same_seed_same_function(adapters: Dict[str, Adapter], arch: str) -> None:
    """The canonical layout is the same on both backends: equal canonical weights compute the same."""
    pairs = {b: _pair(adapters[b], arch, "sgd", seed=21) for b in BACKENDS}
    assert adapters["tf"].trainable_shapes(pairs["tf"]) == adapters["torch"].trainable_shapes(pairs["torch"])
    tf_weights = adapters["tf"].snapshot(pairs["tf"].model).weights
    torch_weights = adapters["torch"].snapshot(pairs["torch"].model).weights
    for a, b in zip(tf_weights, torch_weights, strict=True):
        np.testing.assert_array_equal(a, b)  # the same float32 values, only laid out differently
    x = np.random.default_rng(0).normal(size=INPUTS[arch]).astype("float32")
    # dot products of <= 9 float32 terms of size ~1, summed in any order: a few ulps of ~1
    np.testing.assert_allclose(first_layers_output("torch", pairs["torch"].model, arch, x),
                               first_layers_output("tf", pairs["tf"].model, arch, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("arch", ["dense", "conv"])
def test_same_canonical_gradient_same_sgd_step(adapters: Dict[str, Adapter], arch: str) -> None:
    after: Dict[str, list] = {}
    for backend in BACKENDS:
        adapter = adapters[backend]
        pair = _pair(adapter, arch, "sgd", seed=33)
        start = adapter.snapshot(pair.model).weights
        arrays = GradientDraw(seed=4, scale=1.0).arrays(adapter.trainable_shapes(pair), "float32")
        _step(adapter, pair, arrays)
        model, twin = adapter.snapshot(pair.model).weights, adapter.snapshot(pair.twin).weights
        for w0, g, w_model, w_twin in zip(start, arrays, model, twin, strict=True):
            oracle = w0.astype("float64") - SGD_LR * g.astype("float64")
            np.testing.assert_allclose(w_model, oracle, rtol=TOL, atol=TOL, err_msg=f"{backend} model")
            np.testing.assert_allclose(w_twin, oracle, rtol=TOL, atol=TOL, err_msg=f"{backend} twin")
            assert np.abs(w_model - w0).max() > 100 * TOL, "the step is visible"
        after[backend] = model
    for a, b in zip(after["tf"], after["torch"], strict=True):
        np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)


def _assert_same_snapshot(actual: Any, expected: Any) -> None:
    for name in ("weights", "frozen"):
        for a, e in zip(getattr(actual, name), getattr(expected, name), strict=True):
            np.testing.assert_array_equal(a, e, err_msg=name)
    assert sorted(actual.slots) == sorted(expected.slots)
    for key in actual.slots:
        for a, e in zip(actual.slots[key], expected.slots[key], strict=True):
            np.testing.assert_array_equal(a, e, err_msg=f"slot {key}")
    assert actual.iterations == expected.iterations
    assert (actual.grads is None) == (expected.grads is None)
    for a, e in zip(actual.grads or [], expected.grads or [], strict=True):
        assert (a is None and e is None) or np.array_equal(a, e)


@pytest.mark.parametrize("backend", BACKENDS)
def test_reset_restores_weights_and_optimizer_state(adapters: Dict[str, Adapter], backend: str) -> None:
    adapter = adapters[backend]
    pair = _pair(adapter, "batchnorm", "adam", seed=5, index=3)
    fresh_model, fresh_twin = adapter.snapshot(pair.model), adapter.snapshot(pair.twin)
    arrays = GradientDraw(seed=8, scale=2.0).arrays(adapter.trainable_shapes(pair), "float32")
    for _ in range(2):
        _step(adapter, pair, arrays)
    if adapter.accumulates_gradients:
        adapter.accumulate_gradients(pair, arrays)  # leave .grad behind too
    shift_first_statistic(backend, pair.model)  # and a changed BatchNorm statistic
    moved = adapter.snapshot(pair.model)
    assert any(not np.array_equal(a, b) for a, b in zip(moved.weights, fresh_model.weights))
    assert any(not np.array_equal(a, b) for a, b in zip(moved.frozen, fresh_model.frozen))

    again = _pair(adapter, "batchnorm", "adam", seed=5, index=3)
    assert again is pair, "pairs are cached and reset, not rebuilt"
    _assert_same_snapshot(adapter.snapshot(pair.model), fresh_model)
    _assert_same_snapshot(adapter.snapshot(pair.twin), fresh_twin)

    other = _pair(adapter, "batchnorm", "adam", seed=6, index=3)
    assert any(not np.array_equal(a, b) for a, b in zip(adapter.snapshot(other.model).weights, fresh_model.weights))


#: Loss scaling as each backend's models take it (``ModelRequest.scaler``).
SCALERS = {"tf": "lso", "torch": "enabled"}
#: Every optimizer of the table on each backend (tf: whichever Keras this process runs), without
#: and with loss scaling.
OPTIMIZER_CASES = [pytest.param(backend, entry.id, scaler, id=f"{backend}-{entry.id}-{scaler or 'unscaled'}")
                   for backend in BACKENDS for entry in optimizers.OPTIMIZERS
                   if backend == "tf" or entry.torch is not None for scaler in (None, SCALERS[backend])]


@pytest.mark.parametrize("backend, optimizer, scaler", OPTIMIZER_CASES)
def test_a_reset_pair_steps_as_a_new_one(adapters: Dict[str, Adapter], backend: str, optimizer: str,
                                         scaler: Any) -> None:
    """Examples are independent of what ran before them on a cached pair: after steps of its own, a
    reset pair takes the same steps as when it was new, bit for bit, model and twin. Judged by the
    steps, not by snapshots, so that state a snapshot does not list (tf-keras' Nadam keeps
    ``_u_product`` outside ``variables`` and a step counter in Python) counts too. Five steps in all
    before the reset: with loss scaling (growth interval 3) the scale has grown."""
    adapter = adapters[backend]
    request = ModelRequest(arch="dense", dtype="float32", optimizer=optimizer, scaler=scaler)

    def trajectory() -> tuple:
        pair = adapter.pair(request, 3, index=11)
        weights = []
        for seed in (1, 2, 3):
            _step(adapter, pair, GradientDraw(seed=seed, scale=1.0).arrays(adapter.trainable_shapes(pair), "float32"))
            weights.append([adapter.snapshot(model).weights for model in (pair.model, pair.twin)])
        return pair, weights

    pair, new = trajectory()  # the pair's first use: built for it
    for seed in (7, 8):  # the state an earlier example leaves behind
        _step(adapter, pair, GradientDraw(seed=seed, scale=2.0).arrays(adapter.trainable_shapes(pair), "float32"))
    again, after_reset = trajectory()
    assert again is pair, "pairs are cached and reset, not rebuilt"
    for step, (expected, actual) in enumerate(zip(new, after_reset, strict=True), start=1):
        for who, e, a in zip(("model", "twin"), expected, actual):
            assert all(np.array_equal(x, y) for x, y in zip(e, a, strict=True)), \
                f"{optimizer}: step {step} of the reset {who} differs from its step as a new {who}"


@pytest.mark.parametrize("optimizer", [entry.id for entry in optimizers.OPTIMIZERS])
def test_the_keras_twins_compiled_update_stays_within_the_twin_tolerance(adapters: Dict[str, Adapter],
                                                                          optimizer: str) -> None:
    """docs/framework-facts.md, F2: the Keras adapter compiles a twin's update once it has been used
    ``COMPILE_TWIN_AFTER_USES`` times. Compiled, it must stay within the twin tolerance of the eager
    update (``conformance.compare.TWIN_TOLERANCE``) for as many steps as the longest program an
    example runs (30, the thorough state machine). The model is updated by the reference, eagerly,
    with the same gradients at every step."""
    from conformance.adapters import keras as keras_adapter
    adapter = adapters["tf"]
    if getattr(keras_adapter, "IS_KERAS2", False):
        pytest.skip("the twin is compiled under Keras 3 only")
    pair = adapter.pair(ModelRequest(arch="dense", dtype="float32", optimizer=optimizer), 5, index=12)
    for step in range(1, keras_adapter.COMPILE_TWIN_AFTER_USES + 31):
        _step(adapter, pair, GradientDraw(seed=step, scale=1.0).arrays(adapter.trainable_shapes(pair), "float32"))
        lines = compare_lists("twin", adapter.snapshot(pair.twin).weights, adapter.snapshot(pair.model).weights)
        assert not lines, f"{optimizer}: step {step}: {lines}"
    assert pair.compiled_twin_apply, "the twin's update was never compiled: the test checked nothing"


def _under_keras2(*pytest_args: str) -> "subprocess.CompletedProcess[str]":
    """This module's test(s) ``pytest_args`` in a ``TF_USE_LEGACY_KERAS=1`` child process (this one
    runs Keras 3); skips where tf-keras is missing or this process already runs Keras 2."""
    if importlib.util.find_spec("tf_keras") is None or importlib.util.find_spec("tensorflow") is None:
        pytest.skip("tf-keras is not installed")
    if load("tf").flavour == "tf_keras":
        pytest.skip("this process runs Keras 2: the cases above ran under it")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")}
    env.update(TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           *pytest_args], env=env, capture_output=True, text=True, timeout=600,
                          cwd=os.path.dirname(__file__))


def test_a_reset_pair_steps_as_a_new_one_under_keras2() -> None:
    """The same, every optimizer, under Keras 2."""
    result = _under_keras2(f"{__file__}::test_a_reset_pair_steps_as_a_new_one", "-k", "tf-")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " skipped" not in result.stdout, result.stdout[-2000:]


@pytest.mark.parametrize("arch, optimizer, scaler", [("batchnorm", "adam", "lso"), ("embedding", "nadam", None)])
def test_keras_snapshot_and_reset_hold_what_numpy_reads(adapters: Dict[str, Adapter], arch: str, optimizer: str,
                                                        scaler: Any) -> None:
    """The Keras adapter reads and writes variables through their resource handles (cheaper than
    ``.numpy()`` and ``assign``): its snapshot must hold exactly what ``.numpy()`` reads, for weights,
    non-trainable state, every optimizer variable (loss-scale state included) and ``iterations``,
    after a reset and after a step; the reset must leave in each variable what it means to."""
    adapter = adapters["tf"]
    request = ModelRequest(arch=arch, dtype="float32", optimizer=optimizer, scaler=scaler)
    for stepped in (True, False):  # the second pair() resets the stepped pair
        pair = adapter.pair(request, seed=11, index=5)
        if stepped:
            _step(adapter, pair, GradientDraw(seed=12, scale=1.0).arrays(adapter.trainable_shapes(pair), "float32"))
        for model in (pair.model, pair.twin):
            snapshot = adapter.snapshot(model)
            expected = ([v.numpy() for v in model.trainable_variables], [v.numpy() for v in model.non_trainable_variables],
                        [v.numpy() for v in adapter.optimizer_variables(model.current_optimizer)])
            for got, want in zip((snapshot.weights, snapshot.frozen, snapshot.slots["optimizer"]), expected, strict=True):
                assert len(got) == len(want) and all(
                    g.dtype == w.dtype and np.array_equal(g, w) for g, w in zip(got, want)), (stepped, got, want)
            assert snapshot.iterations == int(model.current_optimizer.iterations.numpy()) == int(stepped)
    # the reset wrote the seed's weights and the optimizer state of a newly built optimizer
    rng = np.random.default_rng(11)
    for variable in pair.twin.trainable_variables:
        np.testing.assert_array_equal(variable.numpy(), rng.normal(0.0, 0.5, variable.shape).astype("float32"))
    new_optimizer = adapter.bare_optimizer(request)
    new_optimizer.build(pair.twin.trainable_variables)
    new_state = [v.numpy() for v in adapter.optimizer_variables(new_optimizer)]
    reset_state = [v.numpy() for v in adapter.optimizer_variables(pair.twin.current_optimizer)]
    assert len(new_state) == len(reset_state) > len(pair.twin.trainable_variables)
    for new, reset in zip(new_state, reset_state):
        np.testing.assert_array_equal(reset, new)


def test_keras_snapshot_and_reset_hold_what_numpy_reads_under_keras2() -> None:
    """The same, under Keras 2."""
    result = _under_keras2(f"{__file__}::test_keras_snapshot_and_reset_hold_what_numpy_reads")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " skipped" not in result.stdout, result.stdout[-2000:]


def _slot_arrays(snapshot: Any) -> List[np.ndarray]:
    return [a for values in snapshot.slots.values() for a in values if a is not None]


@pytest.mark.parametrize("backend", BACKENDS)
def test_snapshot_captures_grads_slots_and_iterations(adapters: Dict[str, Adapter], backend: str) -> None:
    adapter = adapters[backend]
    pair = _pair(adapter, "conv", "adam", seed=9, index=4)
    arrays = GradientDraw(seed=10, scale=1.0).arrays(adapter.trainable_shapes(pair), "float32")
    before = adapter.snapshot(pair.model)
    if backend == "torch":
        assert before.grads == [None] * len(arrays) and before.slots == {}
        adapter.accumulate_gradients(pair, arrays)
        for snap in (adapter.snapshot(pair.model), adapter.snapshot(pair.twin)):
            for g, a in zip(snap.grads, arrays, strict=True):
                np.testing.assert_array_equal(g, a)  # .grad in canonical layout
        pair = _pair(adapter, "conv", "adam", seed=9, index=4)  # back to no .grad
    else:
        assert before.iterations == 0 and before.grads is None
    _step(adapter, pair, arrays)
    model, twin = adapter.snapshot(pair.model), adapter.snapshot(pair.twin)
    # Adam's first moment after one step is (1 - beta1) * g, in the gradient's canonical layout.
    first_moments = [(1 - ADAM["beta1"]) * a.astype("float64") for a in arrays]
    if backend == "torch":
        assert all(g is None or not np.any(g) for g in model.grads), ".grad cleared after the step"
        assert {"exp_avg", "exp_avg_sq"} <= set(model.slots)
        for m, expected in zip(model.slots["exp_avg"], first_moments, strict=True):
            np.testing.assert_allclose(m, expected, rtol=TOL, atol=TOL)
    else:
        assert (before.iterations, model.iterations, twin.iterations) == (0, 1, 1)
        slots = _slot_arrays(model)  # Keras lists its variables, not by name: find each moment
        for expected in first_moments:
            assert any(s.shape == expected.shape and np.allclose(s, expected, rtol=TOL, atol=TOL) for s in slots), \
                f"no optimizer variable holds the first moment of a {expected.shape} gradient"
    assert sorted(model.slots) == sorted(twin.slots)
    for key in model.slots:
        for a, e in zip(model.slots[key], twin.slots[key], strict=True):
            np.testing.assert_allclose(a, e, rtol=TOL, atol=TOL, err_msg=f"slot {key}: model vs twin")


def _perturb_weight(pair: Pair) -> None:
    torch_perturb(pair.model, "weight")


def _zero_grads_instead_of_none(pair: Pair) -> None:
    torch_perturb(pair.model, "zero grads")


def _perturb_slot(pair: Pair) -> None:
    torch_perturb(pair.model, "slot")


def _perturb_buffer(pair: Pair) -> None:
    torch_perturb(pair.model, "buffer")


def _perturb_scale(pair: Pair) -> None:
    pair.model.current_optimizer.scaler.update(new_scale=3.0)


@pytest.mark.parametrize("change, scaler, equal_by_snapshots", [
    (None, None, True),
    (_perturb_weight, None, False),
    (_zero_grads_instead_of_none, None, True),  # cleared either way: only the snapshots say so
    (_perturb_slot, None, False),
    (_perturb_buffer, None, False),
    (_perturb_scale, "enabled", False),
], ids=["equal", "weight", "zero-grad", "slot", "buffer", "scale"])
def test_identical_fast_path_only_when_snapshots_agree(adapters: Dict[str, Adapter], change: Any,
                                                        scaler: Any, equal_by_snapshots: bool) -> None:
    """``identical`` (the twin comparison's fast path) is True only for bit-identical state; every
    difference in weights, buffers, slots, ``.grad`` or scale sends the comparison to the snapshots,
    whose verdict is the one the checks report."""
    from conformance.harness import Run
    adapter = adapters["torch"]
    request = ModelRequest(arch="batchnorm", dtype="float32", optimizer="adam", scaler=scaler)
    run = Run("IM-1", adapter, reference.update_model, [request], seed=5)
    run.update(0, GradientDraw(seed=6, scale=1.0).arrays(run.shapes(), "float32"))
    assert adapter.identical(run.pairs[0]) and run.differences() == []
    if change is None:
        return
    change(run.pairs[0])
    assert not adapter.identical(run.pairs[0])
    assert (run.differences() == []) == equal_by_snapshots


@pytest.mark.parametrize("where, equal", [("both", True), ("model", False), ("twin", False)])
def test_identical_counts_nan_as_the_snapshots_do(adapters: Dict[str, Adapter], where: str, equal: bool) -> None:
    """A NaN in the same place of model and twin (Adamax with ``eps=0`` on a gradient that is
    exactly 0) is equal for the fast path as for the snapshots; a NaN on one side only is not."""
    import torch
    from conformance.harness import Run
    adapter = adapters["torch"]
    run = Run("IM-1", adapter, reference.update_model, [ModelRequest(arch="dense", optimizer="adam")], seed=5)
    run.update(0, GradientDraw(seed=6, scale=1.0).arrays(run.shapes(), "float32"))
    pair = run.pairs[0]
    for model in {"both": (pair.model, pair.twin), "model": (pair.model,), "twin": (pair.twin,)}[where]:
        with torch.no_grad():
            next(model.parameters())[0, 1] = float("nan")
    assert adapter.identical(pair) == equal
    assert (run.differences() == []) == equal


def test_xm1_traced_update_is_reused_and_applies_each_examples_gradients(adapters: Dict[str, Adapter]) -> None:
    """XM-1 keeps a reused pair's traced update per (implementation, defer, calls): the second example
    runs the graph without calling the implementation's Python again, and still applies its own
    gradients (the model equals the eager twin after each)."""
    adapter = adapters["tf"]
    python_calls = []

    def call(*args: Any, **kwargs: Any) -> None:
        python_calls.append(1)
        reference.update_model(*args, **kwargs)

    for example, seed in enumerate((21, 22)):
        pair = _pair(adapter, "dense", "adam", seed=seed, index=7)
        arrays = GradientDraw(seed=seed, scale=1.0).arrays(adapter.trainable_shapes(pair), "float32")
        adapter.compiled_updates(pair, call, [arrays], defer=False, reuse_key="reference")
        adapter.twin_update(pair, arrays, defer=False, deferred={})
        assert len(python_calls) == 1, f"example {example}: traced again"
        model, twin = adapter.snapshot(pair.model), adapter.snapshot(pair.twin)
        for a, e in zip(model.weights, twin.weights, strict=True):
            np.testing.assert_allclose(a, e, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_run_without_twins_updates_only_the_model(adapters: Dict[str, Adapter], backend: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """``Run(twins=False)`` (checks judged by the oracle, the other backend or the caller's tensors):
    the implementation's calls and flushes happen as usual, the twin stays at its reset state, and
    asking for a twin comparison is an error, never a comparison with a stale twin. The workload log
    says so, so that the benchmark's bare replay does not update a twin either."""
    from conformance import workload
    from conformance.harness import Run
    monkeypatch.setattr(workload, "_runs", [])
    adapter = adapters[backend]
    request = ModelRequest(arch="dense", dtype="float32", optimizer="adam")
    run = Run("PA-1", adapter, reference.update_model, [request], seed=8, twins=False)
    start = run.snapshot()
    run.update(0, GradientDraw(seed=9, scale=1.0).arrays(run.shapes(), "float32"))
    run.update(0, GradientDraw(seed=10, scale=1.0).arrays(run.shapes(), "float32"), defer=True)
    run.flush()
    moved = run.snapshot()
    twin = adapter.snapshot(run.pairs[0].twin)
    assert any(not np.array_equal(a, b) for a, b in zip(moved.weights, start.weights))
    _assert_same_snapshot(twin, start)
    with pytest.raises(RuntimeError, match="no twins"):
        run.differences()
    with pytest.raises(RuntimeError, match="no twins"):
        run.expect_twin("after the calls")
    assert [(r["twins"], [op[0] for op in r["ops"]]) for r in workload._runs] == [(False, ["update", "update", "flush"])]


# -- trainability that changes between calls ----------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_reset_restores_the_trainability_the_request_builds(adapters: Dict[str, Adapter], backend: str) -> None:
    adapter = adapters[backend]
    pair = _pair(adapter, "frozen", "sgd-momentum", seed=3, index=21)
    built, shapes = adapter.layers_trainable(pair), adapter.trainable_shapes(pair)
    assert built == [False, True], built  # the frozen architecture: first layer frozen
    adapter.set_trainable(pair, 1, False)
    assert adapter.layers_trainable(pair) == [False, False]
    assert adapter.trainable_shapes(pair) == []
    again = _pair(adapter, "frozen", "sgd-momentum", seed=3, index=21)
    assert again.model is pair.model and adapter.layers_trainable(again) == built
    assert adapter.trainable_shapes(again) == shapes


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_changed_trainability_pairs_at_call_time_on_model_and_twin(adapters: Dict[str, Adapter],
                                                                     backend: str) -> None:
    """Freeze, call, unfreeze, call: the reference's model equals the adapter's twin after each."""
    adapter = adapters[backend]
    pair = _pair(adapter, "dense", "sgd-momentum", seed=4, index=22)
    for step, (layer, trainable) in enumerate(((0, False), (0, True)), start=1):
        assert adapter.may_set_trainable(pair, layer, trainable)
        adapter.set_trainable(pair, layer, trainable)
        arrays = GradientDraw(seed=step, scale=1.0).arrays(adapter.trainable_shapes(pair), "float32")
        _step(adapter, pair, arrays)
        model, twin = adapter.snapshot(pair.model), adapter.snapshot(pair.twin)
        assert not compare_lists("weights", model.weights, twin.weights)
        assert not compare_lists("frozen", model.frozen, twin.frozen)


def test_torch_never_freezes_a_layer_that_holds_an_accumulated_gradient(adapters: Dict[str, Adapter]) -> None:
    """DF-4: freezing a parameter with a pending gradient is outside the contract, so the suite
    never does it; unfreezing a layer the optimizer holds stays allowed."""
    adapter = adapters["torch"]
    pair = adapter.pair(ModelRequest(arch="frozen", optimizer="sgd", optimizer_params="all"), 5, index=23)
    assert adapter.may_set_trainable(pair, 1, False)
    adapter.accumulate_gradients(pair, GradientDraw(seed=1, scale=1.0).arrays(adapter.trainable_shapes(pair),
                                                                             "float32"))
    assert not adapter.may_set_trainable(pair, 1, False)
    assert adapter.may_set_trainable(pair, 0, True)


@pytest.mark.parametrize("optimizer_params, unfreezes", [("trainable", False), ("all", True), ("groups", True)])
def test_torch_unfreezes_only_what_its_optimizer_holds(adapters: Dict[str, Adapter], optimizer_params: str,
                                                       unfreezes: bool) -> None:
    """CC-2: making trainable a parameter the optimizer does not hold is outside the contract (torch
    never steps it), so the suite unfreezes only layers whose parameters the optimizer holds: every
    layer under ``model.parameters()`` and its two groups, not the frozen first layer under the
    trainable parameters alone."""
    adapter = adapters["torch"]
    pair = adapter.pair(ModelRequest(arch="frozen", optimizer="sgd", optimizer_params=optimizer_params), 5, index=26)
    assert adapter.may_set_trainable(pair, 0, True) is unfreezes
    assert adapter.may_set_trainable(pair, 1, False)


def test_keras_unfreezes_only_what_its_optimizer_was_built_with(adapters: Dict[str, Adapter]) -> None:
    """Keras optimizers refuse variables they were not built with: a layer frozen when the optimizer
    was built stays frozen; one frozen later may be unfrozen again."""
    adapter = adapters["tf"]
    pair = _pair(adapter, "frozen", "sgd", seed=6, index=24)
    assert not adapter.may_set_trainable(pair, 0, True)
    adapter.set_trainable(pair, 1, False)
    assert adapter.may_set_trainable(pair, 1, True)
    fresh = adapter.pair(ModelRequest(arch="dense", optimizer="sgd"), 6, index=25, fresh=True)
    assert not adapter.may_set_trainable(fresh, 0, False)  # its optimizer is built by the first call


def test_an_unbuilt_keras_optimizer_is_new_at_each_reset_and_built_by_the_first_update(
        adapters: Dict[str, Adapter]) -> None:
    """An ``"unbuilt"`` request hands the model a new optimizer at every reset, not built, and no
    trainability change until the first update has built it (on the layers trainable then, as the
    twin's was built); after that update the model equals its twin, slots and ``iterations`` included."""
    adapter = adapters["tf"]
    request = ModelRequest(arch="frozen", optimizer="adam", optimizer_params="unbuilt")
    handed = []
    for seed in (7, 8):
        pair = adapter.pair(request, seed, index=27)
        handed.append(pair.model.current_optimizer)
        assert len(adapter.optimizer_variables(pair.model.current_optimizer)) < \
            len(adapter.optimizer_variables(pair.twin.current_optimizer))
        assert not adapter.may_set_trainable(pair, 1, False)
        _step(adapter, pair, GradientDraw(seed=seed, scale=1.0).arrays(adapter.trainable_shapes(pair), "float32"))
        model, twin = adapter.snapshot(pair.model), adapter.snapshot(pair.twin)
        assert model.iterations == twin.iterations == 1
        for what in ("weights", "frozen"):
            assert not compare_lists(what, getattr(model, what), getattr(twin, what))
        assert not compare_lists("slots", model.slots["optimizer"], twin.slots["optimizer"])
        assert adapter.may_set_trainable(pair, 1, False) and not adapter.may_set_trainable(pair, 0, True)
    assert handed[0] is not handed[1]


def test_an_unbuilt_keras_optimizer_is_new_at_each_reset_and_built_by_the_first_update_under_keras2() -> None:
    """The same, under Keras 2."""
    result = _under_keras2(
        f"{__file__}::test_an_unbuilt_keras_optimizer_is_new_at_each_reset_and_built_by_the_first_update")
    assert result.returncode == 0 and " passed" in result.stdout, result.stdout[-4000:] + result.stderr[-2000:]


# -- drawn structures ---------------------------------------------------------------------------
@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(structure=structures(), seed=st.integers(0, 2 ** 16))
def test_a_drawn_structure_builds_alike_on_every_backend(adapters: Dict[str, Adapter], structure: Structure,
                                                         seed: int) -> None:
    """The same trainable shapes, in the same order, and the same embedding index on every backend;
    at least one variable to train; and one reference step equals the twin's on each."""
    request = ModelRequest(arch="structure", structure=structure, optimizer="sgd-momentum")
    pairs = {backend: adapter.pair(request, seed, index=30) for backend, adapter in adapters.items()}
    shapes = {backend: adapters[backend].trainable_shapes(pair) for backend, pair in pairs.items()}
    assert shapes["tf"] == shapes["torch"] and shapes["tf"], (str(structure), shapes)
    assert len({adapters[b].sparse_index(p) for b, p in pairs.items()}) == 1, str(structure)
    for backend, pair in pairs.items():
        adapter = adapters[backend]
        _step(adapter, pair, GradientDraw(seed=seed, scale=1.0).arrays(shapes[backend], "float32"))
        model, twin = adapter.snapshot(pair.model), adapter.snapshot(pair.twin)
        assert not compare_lists("weights", model.weights, twin.weights), (backend, str(structure))
        assert not compare_lists("frozen", model.frozen, twin.frozen), (backend, str(structure))


def test_a_drawn_structure_builds_alike_under_keras2() -> None:
    """The same, with Keras 2 against torch."""
    result = _under_keras2(f"{__file__}::test_a_drawn_structure_builds_alike_on_every_backend")
    assert result.returncode == 0 and " passed" in result.stdout, result.stdout[-4000:] + result.stderr[-2000:]


# -- weights tied between two layers ------------------------------------------------------------
TIED = [Structure(stem="tokens", stem_width=2, layers=(Layer("dense", 2),), tied_output=True),
        Structure(stem="tokens", stem_width=3, stem_frozen=True, layers=(Layer("dense", 2), Layer("dense", 3)),
                  tied_output=True),
        Structure(stem="tokens", stem_width=2, layers=(Layer("dense", 3), Layer("batchnorm", 3), Layer("dense", 2)),
                  nested=(0, 2), tied_output=True)]


@pytest.mark.parametrize("structure", TIED, ids=["plain", "stem-frozen", "nested"])
def test_a_tied_output_builds_alike_on_every_backend(adapters: Dict[str, Adapter], structure: Structure) -> None:
    """An output layer that multiplies by the embedding's own matrix: the model lists that matrix
    once, where the embedding stands, on every backend; its gradient is not a sparse lookup's; one
    reference step equals the twin's; freezing the output layer freezes the matrix with it."""
    request = ModelRequest(arch="structure", structure=structure, optimizer="adam")
    pairs = {backend: adapter.pair(request, 7, index=31) for backend, adapter in adapters.items()}
    shapes = {backend: adapters[backend].trainable_shapes(pair) for backend, pair in pairs.items()}
    assert shapes["tf"] == shapes["torch"], shapes
    matrix = (EMBEDDING_VOCAB, structure.stem_width)
    assert shapes["torch"].count(matrix) == (0 if structure.stem_frozen else 1), shapes
    assert shapes["torch"][-1] == (EMBEDDING_VOCAB,) or structure.stem_frozen  # the output's own bias
    if "torch" in pairs:
        model = pairs["torch"].model
        assert model[-1].weight is model[0].weight
    for backend, pair in pairs.items():
        adapter = adapters[backend]
        assert adapter.sparse_index(pair) is None, backend
        _step(adapter, pair, GradientDraw(seed=8, scale=1.0).arrays(shapes[backend], "float32"))
        model, twin = adapter.snapshot(pair.model), adapter.snapshot(pair.twin)
        assert not compare_lists("weights", model.weights, twin.weights), backend
        if not structure.stem_frozen:
            head = len(adapter.layers_trainable(pair)) - 1
            adapter.set_trainable(pair, head, False)
            assert matrix not in adapter.trainable_shapes(pair), backend
            assert (EMBEDDING_VOCAB,) not in adapter.trainable_shapes(pair), backend


def test_a_tied_output_builds_alike_under_keras2() -> None:
    """The same, with Keras 2 against torch."""
    result = _under_keras2(f"{__file__}::test_a_tied_output_builds_alike_on_every_backend")
    assert result.returncode == 0 and " passed" in result.stdout, result.stdout[-4000:] + result.stderr[-2000:]
