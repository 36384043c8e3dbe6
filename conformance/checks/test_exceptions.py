"""EX: the documented exceptions, their order, ``python -O`` and freedom from partial side effects."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import types
from typing import Any, Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.bytecode import optimized_child_env
from conformance.checks.scenarios import draw_arrays, draw_run, expect_raise, flush_each, prime, raw_call
from conformance.checks.support import capped, count_example
from conformance.violation import ClauseViolation


def _without(obj: Any, attribute: str, call: Callable[[], Any]) -> Callable[[], Any]:
    """``call`` run while ``obj.attribute`` is removed (restored afterwards)."""
    def wrapped() -> Any:
        value = getattr(obj, attribute)
        delattr(obj, attribute)
        try:
            return call()
        finally:
            setattr(obj, attribute, value)
    return wrapped


class NotAModel:
    """An object with ``current_optimizer`` that is neither a Keras model nor a torch module."""

    def __init__(self, optimizer: Any) -> None:
        self.current_optimizer = optimizer
        self.model_name = "not_a_model"


_NON_MODELS = ("object()", "None", "a dict", "a string", "a model without current_optimizer")


@pytest.mark.clause("EX-1")
@capped(15)
@given(data=st.data())
def test_ex1_missing_optimizer_asserts_first(clause, adapter, device, impl, data):
    run = draw_run(clause, adapter, impl, device, data, archs=("dense",))
    prime(run, data)
    tensors = adapter.gradients(run.pairs[0], draw_arrays(run, data))
    kind = data.draw(st.sampled_from(_NON_MODELS), label="object without current_optimizer")
    model = run.pairs[0].model
    candidates = {"object()": object(), "None": None, "a dict": {"current": 1}, "a string": "model"}
    defer = data.draw(st.booleans(), label="defer")
    if kind in candidates:
        expect_raise(run, (AssertionError,), raw_call(run, candidates[kind], tensors, defer, run.deferred),
                     f"update_model({kind}, defer={defer})")
    else:
        expect_raise(run, (AssertionError,),
                     _without(model, "current_optimizer", raw_call(run, model, tensors, defer, run.deferred)),
                     f"update_model({kind}, defer={defer})")
    count_example()


@pytest.mark.clause("EX-2")
@capped(10)
@given(data=st.data())
def test_ex2_unknown_type_value_error(clause, adapter, device, impl, data):
    run = draw_run(clause, adapter, impl, device, data, archs=("dense",))
    optimizer = run.pairs[0].model.current_optimizer
    kind = data.draw(st.sampled_from(["NotAModel", "SimpleNamespace"]), label="object type")
    obj = NotAModel(optimizer) if kind == "NotAModel" else types.SimpleNamespace(current_optimizer=optimizer,
                                                                                  model_name="ns")
    tensors = adapter.gradients(run.pairs[0], draw_arrays(run, data))
    error = expect_raise(run, (ValueError,), raw_call(run, obj, tensors, False, {}),
                         f"update_model({kind} with current_optimizer)")
    if type(obj).__name__ not in str(error):
        run.fail(f"the ValueError does not name the type {type(obj).__name__!r}: {error}")
    count_example()


@pytest.mark.clause("EX-3")
@capped(15)
@given(data=st.data())
def test_ex3_torch_optimizer_without_scaler(clause, adapter, device, impl, data):
    run = draw_run(clause, adapter, impl, device, data, archs=("dense",))
    model = run.pairs[0].model
    tensors = adapter.gradients(run.pairs[0], draw_arrays(run, data))
    defer = data.draw(st.booleans(), label="defer")
    before = [run.snapshot()]
    run.note(f"update_model({run.pairs[0].name} whose optimizer has no 'scaler', defer={defer})")

    def call_then_flush() -> None:
        raw_call(run, model, tensors, defer, run.deferred)()
        if defer:
            run.note("flush")
            flush_each(run.deferred)

    raised = None
    try:
        _without(model.current_optimizer, "scaler", call_then_flush)()
    except AssertionError as error:
        raised = error
    except Exception as error:  # noqa: BLE001
        run.fail(f"raised {type(error).__name__}: {error}; expected AssertionError")
    if raised is None:
        run.fail("no AssertionError" + (" from update_model or the flushed callable" if defer else ""))
    run.expect_unchanged(before, "after the AssertionError", grads=False)
    count_example()


_EX5_SCENARIOS = ("wrong count", "wrong shape", "defer without dict", "no current_optimizer", "no scaler")


@pytest.mark.clause("EX-5")
@capped(25)
@given(data=st.data())
def test_ex5_no_partial_side_effects(clause, adapter, device, impl, data):
    """Every erroneous call of the list, in a drawn order, each deferred or not, on one primed model:
    a correct implementation leaves the state as it was after each, so the next starts from it."""
    run = draw_run(clause, adapter, impl, device, data, archs=("dense",))
    prime(run, data)
    scenarios = [s for s in _EX5_SCENARIOS if s != "no scaler" or adapter.scaler_beside_optimizer]
    model = run.pairs[0].model
    for scenario in data.draw(st.permutations(scenarios), label="erroneous calls, in this order"):
        arrays = draw_arrays(run, data, label=f"gradients ({scenario})")
        defer = data.draw(st.booleans(), label=f"defer ({scenario})")
        deferred = run.deferred
        if scenario == "wrong count":
            arrays = arrays[:-1]
        elif scenario == "wrong shape":
            arrays[-1] = arrays[-1][..., None]
        elif scenario == "defer without dict":
            defer, deferred = True, None
        tensors = adapter.gradients(run.pairs[0], arrays)
        what = f"update_model with {scenario}, defer={defer}"
        call = raw_call(run, model, tensors, defer, deferred)
        if scenario == "no current_optimizer":
            call = _without(model, "current_optimizer", call)
        elif scenario == "no scaler":
            call = _without(model.current_optimizer, "scaler", call)
        # EX-5 speaks of .grad and deferred after an exception; whether the call raises, and the
        # weights, are other clauses' (CC-7, CC-8, DF-6, EX-1..3)
        expect_raise(run, (Exception,), call, what, weights_unchanged=False, must_raise=False)
    count_example()


#: The clauses whose checks EX-4 runs again under ``python -O``.
_UNDER_O = ("EX-1", "EX-2", "EX-3")


@pytest.mark.clause("EX-4")
def test_ex4_exceptions_survive_python_O(clause, adapter, target, pytestconfig, tmp_path):
    """Run the EX-1..EX-3 checks again in a ``python -O`` child (``assert`` statements stripped)."""
    backend, device = target
    report = tmp_path / "ex4.json"
    command = [sys.executable, "-O", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
               "-p", "no:update_model_conformance", "-p", "conformance.plugin",
               "--pyargs", "conformance.checks.test_exceptions", "--conformance-only", ",".join(_UNDER_O),
               "--impl", pytestconfig.getoption("impl"), "--conformance-backend", backend,
               "--conformance-device", device, "--conformance-level", "core",
               "--conformance-profile", "quick", "--conformance-report", str(report),
               "--impl-timeout", str(pytestconfig.getoption("impl_timeout"))]
    child = subprocess.run(command, capture_output=True, text=True, cwd=tempfile.gettempdir(),
                           env=optimized_child_env(), timeout=600)
    if not report.exists():
        raise ClauseViolation(clause, "the python -O run ended without a report:\n"
                              + (child.stdout + child.stderr)[-2000:])
    results = json.loads(report.read_text())["clauses"]
    failed = [c for c in results if c["id"] in _UNDER_O and c["status"] == "failed"]
    ran = [c for c in results if c["id"] in _UNDER_O and c["status"] == "passed"]
    if failed:
        raise ClauseViolation(clause, "under python -O: " + "; ".join(
            f"{c['id']}: {c['message']}" for c in failed), [c.get("counterexample") or "" for c in failed])
    if not ran:
        raise ClauseViolation(clause, "the python -O run checked nothing:\n" + child.stdout[-1500:])
    count_example()
