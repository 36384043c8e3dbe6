"""PA and MP-4: the implementation against the float64 NumPy oracle and across backends.

Each backend's item compares that backend's implementation with its own oracle flavour. The item
of the backend whose models accumulate gradients (torch, possibly on CUDA) also runs the same
program on the other backend (when importable, on CPU) and compares the two within the parity
table's tolerance (``conformance/optimizers.py``, docs/parity.md).
"""
from __future__ import annotations

from typing import List, Optional

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import clauses, optimizers, oracle
from conformance.adapters import Adapter, BackendUnavailable, load
from conformance.checks.support import capped, count_example
from conformance.compare import compare_lists
from conformance.harness import Run
from conformance.model_specs import ModelRequest
from conformance.strategies import Call, GradientDraw, gradients, optimizer_ids, programs, seeds

MAPPABLE = optimizer_ids("torch", mappable=True)


def _counterpart(adapter: Adapter) -> Optional[Adapter]:
    """The other backend's adapter, or None when its framework is not importable."""
    try:
        return load(next(b for b in clauses.BACKENDS if b != adapter.backend))
    except BackendUnavailable:
        return None


def _expect_close(run: Run, name: str, actual: List[np.ndarray], expected: List[np.ndarray], tol) -> None:
    lines = compare_lists(name, actual, expected, rtol=tol.rtol, atol=tol.atol)
    if lines:
        run.fail(f"{name} outside tolerance ({tol.reason})", *lines[:6])


def _oracle_program(entry, adapter: Adapter, initial: List[np.ndarray], calls, shapes, dtype: str) -> List[np.ndarray]:
    """What the contract and the backend's optimizer rule give for ``calls`` (a program on one model):
    a backend that accumulates gradients steps once per flush on their sum, another once per
    deferred call at the flush."""
    model = oracle.make(entry, adapter.flavour, [w.astype(np.float64) for w in initial])
    summed = adapter.accumulates_gradients
    pending: List[list] = []
    final_flush = Call(model=0, defer=False, grads=GradientDraw(0, 1.0), flush=True)
    for call in list(calls) + [final_flush]:  # the run flushes at the end
        if call.flush:
            if summed:
                if pending:
                    model.step([sum(g[i] for g in pending) for i in range(len(shapes))])
            else:
                for grads in pending:
                    model.step(grads)
            pending = []
            continue
        grads = [a.astype(np.float64) for a in call.grads.arrays(shapes, dtype)]
        if call.defer:
            pending.append(grads)
        elif summed:
            model.step([g + sum(p[i] for p in pending) for i, g in enumerate(grads)] if pending else grads)
            pending = []
        else:
            model.step(grads)
    return model.params


def _run_program(run: Run, calls) -> Run:
    """``calls`` on model 0 of ``run``, then a flush."""
    shapes = run.shapes()
    for call in calls:
        if call.flush:
            run.flush()
        else:
            run.update(0, call.grads.arrays(shapes, run.pairs[0].request.dtype), defer=call.defer)
    run.flush()
    return run


def _new_run(clause_id: str, adapter, impl, request: ModelRequest, seed: int) -> Run:
    """A run judged against the oracle and the other backend, never against its twin."""
    return Run(clause_id, adapter, impl, [request], seed, twins=False)


def _parity(clause_id: str, adapter, impl, device: str, data, optimizer_ids, dtypes, program) -> None:
    entry = optimizers.get(data.draw(st.sampled_from(optimizer_ids), label="optimizer"))
    dtype = data.draw(st.sampled_from(dtypes), label="dtype")
    request = ModelRequest(arch=data.draw(st.sampled_from(["dense", "conv"]), label="arch"), dtype=dtype,
                           optimizer=entry.id, device=device)
    seed = data.draw(seeds(), label="weights seed")
    if program:
        calls = data.draw(programs(1, max_calls=5), label="program")
    else:
        draws = data.draw(st.lists(gradients(), min_size=1, max_size=3), label="gradients")
        calls = [Call(model=0, defer=False, grads=g) for g in draws]
    run = _new_run(clause_id, adapter, impl, request, seed)
    initial = run.snapshot().weights
    _run_program(run, calls)
    for call in calls:
        run.note(str(call))
    actual = run.snapshot().weights
    if clause_id == "PA-4":
        wrong = [i for i, w in enumerate(actual) if w.dtype != np.dtype(dtype)]
        if wrong:
            run.fail(f"weights {wrong} are {actual[wrong[0]].dtype} after the update, the model is {dtype}")
    expected = _oracle_program(entry, adapter, initial, calls, run.shapes(), dtype)
    _expect_close(run, f"{adapter.backend} weights vs the {adapter.flavour} oracle", actual,
                  expected, entry.tolerance[dtype])
    other = _counterpart(adapter) if adapter.accumulates_gradients else None  # one item compares
    if other is not None and (clause_id != "PA-2" or entry.id == "sgd"):
        tf_run = _run_program(_new_run(clause_id, other, impl,
                                       request.__class__(**{**request.__dict__, "device": "cpu"}), seed), calls)
        tolerance = entry.parity_tolerance.get(dtype) or entry.tolerance[dtype]
        _expect_close(run, f"{adapter.backend} weights vs {other.backend} weights", actual,
                      tf_run.snapshot().weights, tolerance)
    count_example()


@pytest.mark.clause("PA-1")
@capped(40)
@given(data=st.data())
def test_pa1_optimizer_parity(clause, adapter, device, impl, data):
    _parity(clause, adapter, impl, device, data, MAPPABLE, ("float32", "float64"), program=False)


@pytest.mark.clause("PA-2")
@capped(40)
@given(data=st.data())
def test_pa2_deferral_parity(clause, adapter, device, impl, data):
    _parity(clause, adapter, impl, device, data, ["sgd", "sgd-momentum", "adam"], ("float32", "float64"),
            program=True)


@pytest.mark.clause("PA-4")
@capped(40)
@given(data=st.data())
def test_pa4_float32_and_float64(clause, adapter, device, impl, data):
    _parity(clause, adapter, impl, device, data, MAPPABLE, ("float64", "float32"), program=False)


@pytest.mark.clause("PA-3")
@capped(20)
@given(data=st.data())
def test_pa3_cuda_equals_cpu(clause, adapter, device, impl, data):
    """On CUDA: the same program gives the CPU result within tolerance, and nothing leaves the device."""
    entry = optimizers.get(data.draw(st.sampled_from(MAPPABLE), label="optimizer"))
    scaler = data.draw(st.sampled_from([None, "enabled"]), label="scaler")
    request = ModelRequest(arch="dense", dtype="float32", optimizer=entry.id, device=device, scaler=scaler)
    seed = data.draw(seeds(), label="weights seed")
    calls = data.draw(programs(1, max_calls=4), label="program")
    run = _run_program(_new_run(clause, adapter, impl, request, seed), calls)
    cpu = _run_program(_new_run(clause, adapter, impl, ModelRequest(**{**request.__dict__, "device": "cpu"}), seed),
                       calls)
    snapshot = run.snapshot()
    off = [d for d in snapshot.devices if not d.startswith(device)]
    if off:
        run.fail(f"model state left the {device} device: {off}")
    _expect_close(run, f"{device} weights vs cpu weights", snapshot.weights, cpu.snapshot().weights,
                  entry.parity_tolerance.get("float32") or entry.tolerance["float32"])
    count_example()


@pytest.mark.clause("MP-4")
@capped(30)
@given(data=st.data())
def test_mp4_loss_scale_trajectories_match(clause, adapter, device, impl, data):
    """torch GradScaler and Keras LossScaleOptimizer with matched settings (SGD: not bias-corrected,
    so tf-keras' counting of skipped steps does not show): the same scale and weight trajectory for the
    same true gradients, overflows included. Each backend's item runs the comparison when the other
    framework is importable; each Keras gets gradients under its own convention (docs/parity.md)."""
    other = _counterpart(adapter)
    if other is None:
        pytest.skip(f"{clause} compares torch with TensorFlow: the other framework is not importable")
    torch_adapter, tf_adapter = (adapter, other) if adapter.scaler_beside_optimizer else (other, adapter)
    seed = data.draw(seeds(), label="weights seed")
    # 2**8 with at most 6 steps: the scale never reaches tf-keras' floor of 1 (docs/parity.md)
    settings = {"optimizer": "sgd", "initial_scale": 2.0 ** 8, "growth_interval": 2}
    torch_run = _new_run(clause, torch_adapter, impl, ModelRequest(scaler=torch_adapter.loss_scaler, **settings), seed)
    tf_run = _new_run(clause, tf_adapter, impl, ModelRequest(scaler=tf_adapter.loss_scaler, **settings), seed)
    steps = data.draw(st.integers(1, 6), label="steps")
    # at most two overflows: runs of finite steps long enough for the scale to grow twice
    overflows = data.draw(st.sets(st.integers(1, steps), max_size=2), label="steps that overflow")
    for step in range(1, steps + 1):
        draw: GradientDraw = data.draw(gradients(), label=f"gradients {step}")
        overflow = step in overflows
        for run in (torch_run, tf_run):
            scaled = run.adapter.takes_scaled_gradients
            arrays = draw.arrays(run.shapes(), "float32")
            if scaled:
                arrays = [a * np.float32(run.snapshot().scale) for a in arrays]
            if overflow:
                arrays[0].flat[0] = np.inf
            run.update(0, arrays)
        t, k = torch_run.snapshot(), tf_run.snapshot()
        if t.scale != k.scale:
            torch_run.fail(f"after step {step}: torch scale {t.scale}, TF ({tf_adapter.flavour}) scale {k.scale}")
        tol = optimizers.get("sgd").parity_tolerance.get("float32") or optimizers.get("sgd").tolerance["float32"]
        _expect_close(torch_run, f"after step {step}: torch weights vs TF weights", t.weights, k.weights, tol)
    count_example()
