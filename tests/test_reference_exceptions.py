"""EX-1, EX-2, EX-3 and EX-5: the documented exceptions, raised before anything changes.

EX-4 (the same under ``python -O``) runs this module in a ``python -O`` child
(test_reference_isolation.py), so nothing here may rely on ``assert`` in non-test code.
"""
from __future__ import annotations

import types
from typing import Any

import pytest

import reference as fe
from reference_helpers import BACKENDS, Deferred, assert_rejected_atomically, deferred_identity, kit, noop, primed

backends = pytest.mark.parametrize("backend", BACKENDS)
modes = pytest.mark.parametrize("defer", [False, True], ids=["now", "defer"])


class NotAModel:
    """Has everything a model has except being a Keras model or a torch module."""

    def __init__(self) -> None:
        self.current_optimizer = object()
        self.model_name = "not a model"


OBJECTS_WITHOUT_OPTIMIZER = [object(), None, "model", 42, [1.0], NotAModel.__new__(NotAModel)]


@pytest.mark.parametrize("obj", OBJECTS_WITHOUT_OPTIMIZER, ids=lambda o: type(o).__name__)
@pytest.mark.parametrize("call", ["plain", "defer-without-dict", "bad-gradients"])
def test_ex1_any_object_without_current_optimizer_gets_assertion_error(obj: Any, call: str) -> None:
    """The attribute check comes first: before the type check, ``deferred`` and gradient checks."""
    deferred: Deferred = {"other model": [noop]}
    before = deferred_identity(deferred)
    with pytest.raises(AssertionError):
        if call == "plain":
            fe.update_model(obj, [])
        elif call == "defer-without-dict":
            fe.update_model(obj, [], defer=True, deferred=None)
        else:
            fe.update_model(obj, [object(), None], defer=True, deferred=deferred)
    assert deferred_identity(deferred) == before


@backends
@modes
def test_ex1_model_without_current_optimizer_changes_nothing(backend: str, defer: bool) -> None:
    k = kit(backend)
    model, twin, deferred = primed(k, "float32")
    optimizer = model.current_optimizer
    del model.current_optimizer
    gradients = k.gradients(model, 1)
    assert_rejected_atomically(
        k, model, twin, deferred, lambda: fe.update_model(model, gradients, defer=defer, deferred=deferred),
        AssertionError, undo=lambda: setattr(model, "current_optimizer", optimizer))


@pytest.mark.parametrize("obj", [types.SimpleNamespace(current_optimizer=object(), model_name="x"), NotAModel()],
                         ids=lambda o: type(o).__name__)
@modes
def test_ex2_object_with_optimizer_but_no_model_gets_value_error_naming_its_type(obj: Any, defer: bool) -> None:
    deferred: Deferred = {"other model": [noop]}
    before = deferred_identity(deferred)
    with pytest.raises(ValueError, match=type(obj).__name__):
        fe.update_model(obj, [], defer=defer, deferred=deferred)
    assert deferred_identity(deferred) == before


@backends
def test_ex2_framework_objects_that_are_not_models(backend: str) -> None:
    """A Keras layer is not a Keras model; a torch tensor is not a module."""
    k = kit(backend)
    if backend == "tf":
        obj = k.keras.layers.Dense(3)
    else:
        obj = k.torch.zeros(3)
    obj.current_optimizer, obj.model_name = object(), "x"
    deferred: Deferred = {"other model": [noop]}
    with pytest.raises(ValueError, match=type(obj).__name__):
        fe.update_model(obj, [k.tensor([1.0, 2.0, 3.0], "float32")], defer=True, deferred=deferred)
    assert list(deferred) == ["other model"]


@modes
def test_ex3_torch_optimizer_without_scaler_gets_assertion_error(defer: bool) -> None:
    """The reference raises from ``update_model`` itself in both modes (the spec allows the
    deferred callable too); weights, ``.grad`` and ``deferred`` are as before (EX-5)."""
    k = kit("torch")
    model, twin, deferred = primed(k, "float32")
    optimizer = model.current_optimizer
    del optimizer.scaler
    gradients = k.gradients(model, 1)
    assert_rejected_atomically(
        k, model, twin, deferred, lambda: fe.update_model(model, gradients, defer=defer, deferred=deferred),
        AssertionError, undo=lambda: setattr(optimizer, "scaler", None))


def test_asserts_in_this_module_are_live() -> None:
    """Canary for the ``python -O`` child (EX-4): pytest rewrites this module's ``assert``s, so they
    still check there. Were they stripped, this test would fail instead of passing vacuously."""
    with pytest.raises(AssertionError):
        assert fe is None
