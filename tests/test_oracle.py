"""The float64 oracle (``conformance/oracle.py``) against the real frameworks.

Keras 3 runs in this process, tf-keras (Keras 2) in one child process with
``TF_USE_LEGACY_KERAS=1``, torch in this process. Each framework runs every table row on one
fixed random case per dtype (46 variables of random shapes, 3 steps, ~10% ``None`` gradients):
22 rows x 46 = 1,012 cases per dtype per framework, computed once per session
(``parity_measure.framework_results``) and shared with ``tests/test_parity_table.py``.
Expectations come only from the oracle; the sensitivity tests show that the tolerances would
catch a wrong step and that the oracle's modelling of Keras' float32 constants is needed.
"""
from __future__ import annotations

import importlib.util
from typing import List, Optional

import numpy as np
import pytest

from conformance import oracle
from conformance import parity_measure as pm
from conformance.optimizers import OPTIMIZERS, Tolerance, get

ROWS = [pytest.param(entry, id=entry.id) for entry in OPTIMIZERS]
DTYPES = list(pm.DTYPES)
_NEEDS = {"keras3": ("tensorflow",), "tf_keras": ("tensorflow", "tf_keras"), "torch": ("torch",)}


def results(framework: str):
    """The framework's results for every standard request, or skip if it is not installed."""
    missing = [m for m in _NEEDS[framework] if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{framework} needs {missing}")
    if framework == "keras3" and pm.keras_flavour() != "keras3":
        pytest.skip("this process runs tf-keras (TF_USE_LEGACY_KERAS=1)")
    return pm.framework_results(framework)


def assert_within(actual: List[np.ndarray], expected: List[np.ndarray], tol: Tolerance,
                  what: str) -> None:
    use = pm.tolerance_use(actual, expected, tol)
    assert use <= 1.0, (f"{what}: worst use {use:.3g} of rtol={tol.rtol:g} atol={tol.atol:g}; "
                        f"max abs diff {pm.max_abs_diff(actual, expected):.3g}")


# -- the cases ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_at_least_1000_cases_per_dtype(dtype: str) -> None:
    assert sum(len(pm.table_case(entry, dtype).weights) for entry in OPTIMIZERS) >= 1000


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("entry", ROWS)
def test_every_step_is_visible(entry, dtype: str) -> None:
    """At every step the median variable that gets a gradient moves by >= 1e-3 relative (100x the
    float32 rtol) and none by less than 1e-6 (momentum can nearly cancel one variable's step),
    in both flavours; a variable without a gradient does not move. The fault tests below check
    that a wrong step exceeds the tolerances."""
    case = pm.table_case(entry, dtype)
    assert any(g is None for grads in case.grads for g in grads)  # None handling is exercised
    for flavour in ("keras3", "torch"):
        opt = oracle.make(entry, flavour, case.weights)
        for grads in case.grads:
            before = [p.copy() for p in opt.params]
            opt.step(grads)
            moved = [float(np.max(np.abs(p - b) / np.maximum(1.0, np.abs(b))))
                     for p, b in zip(opt.params, before)]
            stepped = [m for m, g in zip(moved, grads) if g is not None]
            assert all(m == 0.0 for m, g in zip(moved, grads) if g is None)
            assert np.median(stepped) >= 1e-3 and min(stepped) >= 1e-6, (flavour, stepped)


# -- the oracle against the frameworks ----------------------------------------------------------
@pytest.mark.parametrize("framework", pm.FRAMEWORKS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("entry", ROWS)
def test_framework_matches_its_oracle(framework: str, dtype: str, entry) -> None:
    got = results(framework)[(entry.id, dtype)]
    case = pm.table_case(entry, dtype)
    expected = pm.run_oracle(entry, case, framework)
    tol = entry.tolerance[dtype]
    assert_within(got.weights, expected.weights, tol, f"{framework} weights")
    assert got.iterations == expected.iterations
    assert sorted(got.slots) == sorted(expected.slots)
    for name in expected.slots:
        assert_within(got.slots[name], expected.slots[name], tol, f"{framework} slot {name}")


SCENARIO_RUNS = [pytest.param(s, fw, dt, id=f"{s.name}-{fw}-{dt}")
                 for s in pm.LOSS_SCALE_SCENARIOS for fw in s.frameworks for dt in s.dtypes]


@pytest.mark.parametrize("scenario, framework, dtype", SCENARIO_RUNS)
def test_loss_scale_machine_matches_framework(scenario, framework: str, dtype: str) -> None:
    """Scale after every step equal, iterations equal, weights within the oracle tolerance."""
    got = results(framework)[(f"ls:{scenario.name}", dtype)]
    entry = get(scenario.entry_id)
    case = pm.loss_scale_case(scenario, dtype)
    expected = pm.run_oracle(entry, case, framework, loss_scale_kind=framework)
    assert got.scales == expected.scales
    assert got.iterations == expected.iterations
    assert_within(got.weights, expected.weights, entry.tolerance[dtype], f"{framework} weights")


# -- the tolerances and the modelling can fail --------------------------------------------------
def _faulty(case: pm.Case, fault: str) -> pm.Case:
    grads = [list(g) for g in case.grads]
    if fault == "last step dropped":
        grads = grads[:-1]
    elif fault == "last step sign-flipped":
        grads[-1] = [None if g is None else -g for g in grads[-1]]
    elif fault == "last step applied twice":
        grads.append(grads[-1])
    return pm.Case(case.dtype, case.weights, grads)


@pytest.mark.parametrize("fault", ["last step dropped", "last step sign-flipped",
                                   "last step applied twice"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("entry", ROWS)
def test_tolerance_catches_a_wrong_step(entry, dtype: str, fault: str) -> None:
    got = results("torch")[(entry.id, dtype)]
    wrong = pm.run_oracle(entry, _faulty(pm.table_case(entry, dtype), fault), "torch")
    use = pm.tolerance_use(got.weights, wrong.weights, entry.tolerance[dtype])
    assert use > 10.0, f"a {fault} is only {use:.3g} x the tolerance"


# Rows whose Keras hyperparameters are not exact in float32 (lr 0.01 / 0.001, momentum 0.9, ...).
_INEXACT = [pytest.param(get(i), id=i) for i in
            ("sgd-momentum-weight-decay", "adam-eps-default", "rmsprop-eps-placement",
             "nadam-momentum-decay-default", "adagrad-weight-decay")]


@pytest.mark.parametrize("entry", _INEXACT)
def test_keras_float32_constants_are_needed(entry, monkeypatch: pytest.MonkeyPatch) -> None:
    """An oracle that takes Keras' hyperparameters as exact float64 misses Keras 3 in float64."""
    got = results("keras3")[(entry.id, "float64")]
    case = pm.table_case(entry, "float64")
    monkeypatch.setattr(oracle, "_f32", float)
    naive = pm.run_oracle(entry, case, "keras3")
    assert pm.tolerance_use(got.weights, naive.weights, entry.tolerance["float64"]) > 10.0


@pytest.mark.parametrize("entry_id", ["adagrad-weight-decay", "nadam-momentum-decay-default"])
def test_tf_keras_flavour_is_needed(entry_id: str) -> None:
    """tf-keras differs from Keras 3 in float64 where the oracle says so (Adagrad's initial
    accumulator, Nadam's u_product): Keras 3's flavour misses tf-keras."""
    entry = get(entry_id)
    got = results("tf_keras")[(entry.id, "float64")]
    keras3 = pm.run_oracle(entry, pm.table_case(entry, "float64"), "keras3")
    assert pm.tolerance_use(got.weights, keras3.weights, entry.tolerance["float64"]) > 10.0


def test_torch_unscales_by_float32_reciprocal() -> None:
    """GradScaler multiplies by float32(1/scale): dividing exactly misses torch in float64."""
    scenario = next(s for s in pm.LOSS_SCALE_SCENARIOS if s.name == "torch-factors")
    got = results("torch")[(f"ls:{scenario.name}", "float64")]
    entry = get(scenario.entry_id)
    case = pm.loss_scale_case(scenario, "float64")
    exact = oracle.make(entry, "torch", case.weights)
    machine = oracle.make_loss_scale("torch", **case.loss_scale)
    for grads in case.grads:  # the same machine, but unscaling by an exact division
        finite = all(np.all(np.isfinite(g)) for g in grads if g is not None)
        if finite:
            exact.step(grads)
        machine.apply(oracle.make(entry, "torch", case.weights), [
            None if g is None else g * machine.scale for g in grads])
    assert pm.tolerance_use(got.weights, exact.params, entry.tolerance["float64"]) > 10.0


# -- the oracle's own contract (no framework) ---------------------------------------------------
def _entry(rule: str, **hyper):
    from conformance.optimizers import OptimizerEntry
    return OptimizerEntry(id="t", rule=rule, hyper=hyper, keras=lambda k: None, torch=None,
                          mappable=False, scale_invariant=False, stateful=True, tolerance={})


@pytest.mark.parametrize("flavour", ["keras", "tf_keras", "torch"])
def test_none_gradient_leaves_param_and_slots_untouched(flavour: str) -> None:
    entry = _entry("adam", lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1)
    params = [np.ones(2), np.full(3, 2.0)]
    opt = oracle.make(entry, flavour, params)
    opt.step([np.ones(2), np.ones(3)])
    frozen_p, frozen_s = opt.params[1].copy(), {k: v[1].copy() for k, v in opt.slots().items()}
    opt.step([np.ones(2), None])
    assert np.array_equal(opt.params[1], frozen_p)
    assert all(np.array_equal(v[1], frozen_s[k]) for k, v in opt.slots().items())
    assert opt.iterations == 2
    assert np.array_equal(params[0], np.ones(2))  # the oracle copied its inputs


@pytest.mark.parametrize("flavour, iterations", [("keras", 0), ("torch", 1)])
def test_all_none_step(flavour: str, iterations: int) -> None:
    opt = oracle.make(_entry("sgd", lr=0.5, momentum=0.5), flavour, [np.ones(2)])
    opt.step([None])
    assert opt.iterations == iterations and np.array_equal(opt.params[0], np.ones(2))


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        oracle.make(_entry("sgd", lr=0.5), "jax", [np.ones(1)])
    with pytest.raises(ValueError):
        oracle.make(_entry("sgd", lr=0.5, betas=0.9), "torch", [np.ones(1)])
    with pytest.raises(ValueError):
        oracle.make(_entry("nadam", lr=0.1, beta1=0.9, beta2=0.9, eps=0.0, momentum_decay=4e-3),
                    "keras", [np.ones(1)])
    opt = oracle.make(_entry("sgd", lr=0.5), "torch", [np.ones(2)])
    with pytest.raises(ValueError):
        opt.step([np.ones(2), np.ones(2)])
    with pytest.raises(ValueError):
        opt.step([np.ones(3)])
    with pytest.raises(ValueError):
        oracle.make_loss_scale("keras3", initial_scale=4.0, growth_interval=2, growth_factor=4.0)
    with pytest.raises(AssertionError):
        oracle.make_loss_scale("torch", initial_scale=4.0, growth_interval=2).apply(opt, [None])


def test_torch_flavour_uses_torch_hyper() -> None:
    entry = get("rmsprop")
    assert oracle.make(entry, "torch", [np.ones(1)]).hyper["eps"] == entry.torch_hyper["eps"]
    assert oracle.make(entry, "keras", [np.ones(1)]).hyper["eps"] == entry.hyper["eps"]


@pytest.mark.parametrize("kind", ["keras3", "tf_keras", "torch"])
def test_disabled_loss_scale_is_a_plain_step(kind: str) -> None:
    entry = _entry("sgd", lr=0.5)
    plain, scaled = (oracle.make(entry, "torch", [np.ones(2)]) for _ in range(2))
    machine = oracle.make_loss_scale(kind, initial_scale=8.0, growth_interval=1, enabled=False)
    grads: List[Optional[np.ndarray]] = [np.full(2, 3.0)]
    assert machine.apply(scaled, grads) and machine.scale == 1.0
    plain.step(grads)
    assert np.array_equal(plain.params[0], scaled.params[0])
