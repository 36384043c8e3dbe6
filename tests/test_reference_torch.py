"""torch-only clauses: IM-2, IM-3, IM-4, DF-4, MP-1, MP-2, MP-5 (and CC-4 under a GradScaler).

Expectations come from a twin driven with ``optimizer.step()`` / ``GradScaler.step()`` directly.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, List, Optional

import numpy as np
import pytest

import reference as fe
from reference_helpers import (DTYPES, LOSS_SCALE, OPTIMIZERS, TRAJECTORY, WIDTH, Deferred, assert_changed,
                               assert_same_state, deferred_identity, documented_scales, flush, kit, noop, part)

dtypes = pytest.mark.parametrize("dtype", DTYPES)
optimizers = pytest.mark.parametrize("optimizer", OPTIMIZERS)


@pytest.fixture(scope="module")
def k() -> Any:
    return kit("torch")


def grads_cleared(k: Any, model: Any) -> bool:
    """IM-2: after a step every trainable ``.grad`` is ``None`` or all zeros."""
    return all(p.grad is None or not bool(p.grad.any()) for p in k.variables(model))


def backward(k: Any, model: Any, seed: int) -> None:
    """The caller's own ``backward()`` on a seeded batch (train mode: BatchNorm uses batch statistics)."""
    torch = k.torch
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(4, WIDTH, generator=generator, dtype=next(model.parameters()).dtype)
    model.train()
    model(x).pow(2).sum().backward()


@dtypes
@optimizers
def test_im2_step_uses_caller_grad_plus_gradients_then_clears(k: Any, dtype: str, optimizer: str) -> None:
    model, twin = k.model(dtype, optimizer), k.model(dtype, optimizer)
    backward(k, model, seed=3)
    backward(k, twin, seed=3)
    assert all(p.grad is not None for p in k.variables(model))
    gradients = k.gradients(model, 1)
    fe.update_model(model, gradients)
    k.step(twin, k.sum_gradients([[p.grad for p in k.variables(twin)], gradients]))
    assert grads_cleared(k, model)
    assert_same_state(k.state(model), k.state(twin))


@dtypes
@optimizers
def test_im3_immediate_call_consumes_the_pending_entry(k: Any, dtype: str, optimizer: str) -> None:
    """defer g1, defer g2, immediate g3: one step on g1+g2+g3, the entry gone, nothing left to flush."""
    model, twin = k.model(dtype, optimizer), k.model(dtype, optimizer)
    deferred: Deferred = {"other model": [noop]}
    others = deferred_identity(deferred)
    g1, g2, g3 = (k.gradients(model, seed) for seed in (1, 2, 3))
    fe.update_model(model, g1, defer=True, deferred=deferred)
    fe.update_model(model, g2, defer=True, deferred=deferred)
    fe.update_model(model, g3, deferred=deferred)
    assert deferred_identity(deferred) == others
    k.step(twin, k.sum_gradients([g1, g2, g3]))
    assert grads_cleared(k, model)
    assert_same_state(k.state(model), k.state(twin))
    flush(deferred)
    assert_same_state(k.state(model), k.state(twin), what="state after a flush with nothing pending")


@pytest.mark.parametrize("deferred", [None, {}, {"other model": [noop]}, {"a": [noop], "b": []}],
                         ids=["none", "empty", "other-model", "two-others"])
def test_im4_other_entries_untouched_and_no_entry_is_fine(k: Any, deferred: Optional[Deferred]) -> None:
    """FastEstimator r1.2-1.7 raises KeyError here; the contract says it is not an error."""
    model, twin = k.model("float32", "adam"), k.model("float32", "adam")
    before = deferred_identity(deferred)
    gradients = k.gradients(model, 1)
    fe.update_model(model, gradients, deferred=deferred)
    k.step(twin, gradients)
    assert deferred_identity(deferred) == before
    assert_same_state(k.state(model), k.state(twin))


@dtypes
@optimizers
def test_df4_deferred_calls_accumulate_into_grad_and_keep_one_callable(k: Any, dtype: str,
                                                                       optimizer: str) -> None:
    model, twin = k.model(dtype, optimizer), k.model(dtype, optimizer)
    deferred: Deferred = {}
    weights = part(k.state(model), "grad/", exclude=True)
    calls: List[List[Any]] = []
    for seed in (1, 2, 3):
        calls.append(k.gradients(model, seed))
        fe.update_model(model, calls[-1], defer=True, deferred=deferred)
        expected_grad = k.sum_gradients(calls)
        for param, expected in zip(k.variables(model), expected_grad):
            np.testing.assert_array_equal(k.numpy(param.grad), k.numpy(expected))
        assert list(deferred) == [model.model_name] and len(deferred[model.model_name]) == 1
    assert_same_state(part(k.state(model), "grad/", exclude=True), weights,
                      exact=True, what="weights and optimizer state before the flush")
    assert flush(deferred) == [None]
    k.step(twin, k.sum_gradients(calls))
    assert grads_cleared(k, model)
    assert_same_state(k.state(model), k.state(twin))


def enabled_scaler(k: Any) -> Callable[[], Any]:
    """A CPU ``GradScaler`` configured as ``LOSS_SCALE``."""
    return lambda: k.torch.amp.GradScaler("cpu", **LOSS_SCALE)


@dtypes
@optimizers
def test_mp1_mp2_grad_scaler_unscales_skips_backs_off_and_grows(k: Any, dtype: str, optimizer: str) -> None:
    """Each call gets gradients x the current scale (``scaler.scale``). The twin with the same scaler sets the
    expectation; a scaler-free twin fed the true gradients checks the unscaling on finite steps."""
    model = k.model(dtype, optimizer, scaler=enabled_scaler(k))
    twin = k.model(dtype, optimizer, scaler=enabled_scaler(k))
    unscaled_twin = k.model(dtype, optimizer)
    scaler, twin_scaler = model.current_optimizer.scaler, twin.current_optimizer.scaler
    scales = []
    deferred: Deferred = {}
    for seed, poison, defer in TRAJECTORY:
        before = k.state(model)
        true = k.gradients(model, seed)
        scaled, twin_scaled = scaler.scale(true), twin_scaler.scale(true)  # as scaler.scale(loss) would
        if poison:
            scaled[1][0] = twin_scaled[1][0] = float(poison)
        copies = [k.numpy(g) for g in scaled]
        fe.update_model(model, scaled, defer=defer, deferred=deferred)
        flush(deferred)
        k.step(twin, twin_scaled)
        assert_same_state(k.state(model), k.state(twin), what=f"state after seed {seed}")
        assert grads_cleared(k, model)
        for gradient, copy in zip(scaled, copies):  # CC-4: GradScaler unscales .grad in place
            np.testing.assert_array_equal(k.numpy(gradient), copy)
        if poison:  # MP-2: skipped, scale backed off
            assert_same_state(part(k.state(model), "trainable/"), part(before, "trainable/"), exact=True,
                              what="weights after a skipped step")
        else:  # MP-1: the step used the unscaled gradients
            k.step(unscaled_twin, true)
            assert_same_state(part(k.state(model), "trainable/"), part(k.state(unscaled_twin), "trainable/"),
                              what="weights vs unscaled twin")
        scales.append(scaler.get_scale())
    assert scales == documented_scales(LOSS_SCALE, [poison is not None for _, poison, _ in TRAJECTORY])


def disabled_scalers(k: Any) -> List[Any]:
    """A disabled ``torch.amp.GradScaler``, and the legacy CUDA one where there is no CUDA."""
    factories = [("amp-disabled", lambda: k.torch.amp.GradScaler("cpu", enabled=False))]
    if not k.torch.cuda.is_available():
        def legacy() -> Any:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # deprecation, and "CUDA is not available: disabling"
                return k.torch.cuda.amp.GradScaler()
        factories.append(("legacy-cuda-without-cuda", legacy))
    return factories


@optimizers
@pytest.mark.parametrize("which", ["amp-disabled", "legacy-cuda-without-cuda"])
def test_mp5_disabled_scaler_behaves_as_none(k: Any, optimizer: str, which: str) -> None:
    """No unscale and no skipping: even an inf gradient is applied, exactly as with ``scaler=None``."""
    factory = dict(disabled_scalers(k)).get(which)
    if factory is None:
        pytest.skip("CUDA is available here, so the legacy CUDA scaler is enabled")
    assert not factory().is_enabled()
    model = k.model("float32", optimizer, scaler=factory)
    twin = k.model("float32", optimizer)
    before = k.state(twin)
    deferred: Deferred = {}
    for seed, poison in [(1, None), (2, None), (3, "inf")]:
        gradients = k.gradients(model, seed)
        if poison:
            gradients[1][0] = float(poison)
        fe.update_model(model, gradients, defer=seed == 2, deferred=deferred)
        flush(deferred)
        k.step(twin, gradients)
        weights = part(k.state(model), "scaler/", exclude=True)
        assert_same_state(weights, k.state(twin), what=f"state after seed {seed}")
    assert_changed(before, k.state(twin), ["trainable/"], "the comparison")
