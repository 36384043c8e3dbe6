"""MP: loss scaling (torch ``GradScaler``, Keras ``LossScaleOptimizer``), checked with optimizers
that are not scale-invariant, so a missing or doubled unscale shows."""
from __future__ import annotations

from typing import Tuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.checks.scenarios import draw_arrays, draw_run
from conformance.checks.support import capped, count_example
from conformance.harness import Run
from conformance.strategies import optimizer_ids

_NON_FINITE = (np.inf, -np.inf, np.nan)


def _scaled_program(run: Run, data, scaled: bool, overflow: bool, deferral: bool) -> None:
    """Calls with gradients multiplied by the current loss scale (when ``scaled``), some of them
    non-finite (when ``overflow``); the model must match its twin after each call and flush."""
    calls = data.draw(st.integers(1, 5), label="calls")
    for call in range(1, calls + 1):
        arrays = draw_arrays(run, data, label=f"gradients {call}")
        scale = run.twin_snapshot().scale
        if scaled and scale is not None:
            arrays = [None if a is None else a * np.asarray(scale, dtype=a.dtype) for a in arrays]
        if overflow and data.draw(st.booleans(), label=f"call {call} overflows"):
            index = data.draw(st.integers(0, len(arrays) - 1), label="non-finite gradient")
            arrays[index] = arrays[index].copy()
            arrays[index].flat[0] = data.draw(st.sampled_from(_NON_FINITE), label="non-finite value")
            run.note(f"(gradient {index} of call {call} holds a non-finite value)")
        defer = deferral and data.draw(st.booleans(), label=f"call {call} deferred")
        run.update(0, arrays, defer=defer)
        if not defer:
            run.expect_twin(f"after call {call} (loss scale {scale})")
    run.flush()
    run.expect_twin("after the flush")
    count_example()


def _visible(backend: str) -> Tuple[str, ...]:
    return optimizer_ids(backend, scale_invariant=False, unscale_visible=True)


@pytest.mark.clause("MP-1")
@capped()
@given(data=st.data())
def test_mp1_torch_gradscaler_unscales(clause, adapter, device, impl, data):
    run = draw_run(clause, adapter, impl, device, data, scalers=("enabled",),
                   optimizer_choices=_visible(adapter.backend))
    _scaled_program(run, data, scaled=True, overflow=False, deferral=True)


@pytest.mark.clause("MP-2")
@capped()
@given(data=st.data())
def test_mp2_torch_overflow_skips_and_backs_off(clause, adapter, device, impl, data):
    run = draw_run(clause, adapter, impl, device, data, scalers=("enabled",),
                   optimizer_choices=_visible(adapter.backend))
    # deferred calls too: an overflow in a deferred sum is skipped and backed off at the flush's step
    _scaled_program(run, data, scaled=True, overflow=True, deferral=True)


@pytest.mark.clause("MP-3")
@capped()
@given(data=st.data())
def test_mp3_tf_loss_scale_optimizer(clause, adapter, device, impl, data):
    run = draw_run(clause, adapter, impl, device, data, scalers=("lso",), archs=("dense", "batchnorm"),
                   optimizer_choices=_visible(adapter.backend))
    scaled = adapter.takes_scaled_gradients
    run.note(f"({adapter.flavour}: gradients handed in {'scaled' if scaled else 'unscaled'})")
    _scaled_program(run, data, scaled=scaled, overflow=True, deferral=True)


@pytest.mark.clause("MP-5")
@capped()
@given(data=st.data())
def test_mp5_torch_disabled_scaler_is_none(clause, adapter, device, impl, data):
    run = draw_run(clause, adapter, impl, device, data, scalers=("disabled", "legacy"),
                   optimizer_choices=_visible(adapter.backend))
    _scaled_program(run, data, scaled=False, overflow=False, deferral=True)
