"""Witness scenarios: tiny deterministic programs that observe what an ``update_model`` does.

A scenario runs one fixed program (models, gradients, calls, flushes) against a :class:`Target`
and returns an *observation*: nested dicts/lists of NumPy arrays, numbers, strings and booleans.
``tests/test_mutant_metadata.py`` runs each scenario on the reference and on a mutant and requires
the observations to DIFFER (the fault is visible), and on every correct variant and requires them
to be EQUAL. Nothing here knows the expected numbers: the reference is the oracle.

Observations record only what the spec fixes, so that correct implementations agree: exception
*types* (not messages, except EX-2's "names the type"), ``.grad`` cleared as ``None`` or zeros
(IM-2 allows both), DF-6's ``ValueError``/``TypeError`` as one outcome, and EX-3's deferred
check "at call or at flush" as one outcome.

Values are dyadic (multiples of 1/8, learning rates 0.5 and 0.125) so every correct variant
computes bit-identical float32 results whatever its summation order; the comparison still allows
a few ulps (:data:`TOLERANCE`). The faults move weights by >= 1e-2 (float64 precision faults: by
>= 1e-10, against a float64 tolerance of 1e-13 + 1e-12*|w|).

Frameworks are imported only by the scenarios that use them (torch first when both are used), and
only through the test kit's witness fixtures (``tests/reference_helpers.py``).
Run as a script, this module prints witness verdicts for a subprocess (used for Keras 2):
``python _scenarios.py REFERENCE_MODULE MUTANT_PATH:SCENARIO ...``.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import types
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, home of the framework kit
from reference_helpers import (clones, gradient_pattern, import_torch_first, intact, keras_flavour,  # noqa: E402
                               lso_scale, tf_grads, tf_module, tf_net, tf_state, tied_net, torch_grads,
                               torch_module, torch_net, torch_state)

Observation = Any
# |a - b| <= atol + rtol * |b|. float32: a few ulps (the dyadic programs are exact; this only
# absorbs fused-op rounding differences between styles). float64: the oracle's
# tolerance, ~1000x below the precision-loss faults (PA-4 mutants lose ~1e-8 relative).
TOLERANCE = {np.dtype("float32"): (1e-6, 1e-7), np.dtype("float64"): (1e-12, 1e-13)}


# ---------------------------------------------------------------------------- targets
class Target:
    """An implementation under observation: its ``update_model`` and, for EX-4, the same code
    compiled as ``python -O`` would (``assert`` statements stripped)."""

    def __init__(self, update_model: Callable[..., Any], optimized: Optional[Callable[[], Callable]] = None,
                 name: str = "") -> None:
        self.update_model = update_model
        self._optimized = optimized
        self.name = name

    def optimized(self) -> Callable[..., Any]:
        return self._optimized() if self._optimized is not None else self.update_model


_loads = 0


def load_module(path: Path, optimize: int = 0) -> types.ModuleType:
    """Load a file as a fresh module (never cached), with ``compile(optimize=...)``: ``optimize=1``
    strips ``assert`` statements exactly as ``python -O`` does for that file."""
    global _loads
    _loads += 1
    path = Path(path).resolve()
    name = f"_witness_{path.stem}_{_loads}"
    if optimize == 0:
        spec = spec_from_file_location(name, path)
        module = module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    module = types.ModuleType(name)
    module.__file__ = str(path)
    code = compile(path.read_text(), str(path), "exec", optimize=optimize, dont_inherit=True)
    exec(code, module.__dict__)
    return module


def load_target(path: Path) -> Target:
    module = load_module(path)
    return Target(module.update_model, lambda: load_module(path, optimize=1).update_model, Path(path).stem)


def reference_target(module_name: str = "reference") -> Target:
    """The reference. It raises its AssertionErrors explicitly (the metadata test checks it has no
    ``assert`` statement), so its ``-O`` behaviour is its normal behaviour."""
    return Target(importlib.import_module(module_name).update_model, None, module_name)


# ---------------------------------------------------------------------------- requirements
def requirement_met(requirement: str) -> bool:
    """Requirements: "tf", "torch", "keras2", "keras3", "cuda", "no-cuda"."""
    if requirement in ("torch", "cuda", "no-cuda"):
        try:
            import torch
        except ImportError:
            return False
        if requirement == "torch":
            return True
        return torch.cuda.is_available() == (requirement == "cuda")
    if requirement == "tf":
        return keras_flavour() is not None
    if requirement in ("keras2", "keras3"):
        return keras_flavour() == requirement
    raise ValueError(f"unknown requirement {requirement!r}")


# ---------------------------------------------------------------------------- registry
class Scenario(NamedTuple):
    id: str
    clauses: Tuple[str, ...]
    requires: Tuple[str, ...]
    run: Callable[[Target], Observation]


SCENARIOS: Dict[str, Scenario] = {}


def scenario(clauses: Tuple[str, ...], requires: Tuple[str, ...]) -> Callable:
    def register(function: Callable[[Target], Observation]) -> Callable[[Target], Observation]:
        SCENARIOS[function.__name__] = Scenario(function.__name__, clauses, requires, function)
        return function
    return register


# ---------------------------------------------------------------------------- observation helpers
def outcome(call: Callable[[], Any]) -> str:
    """"none" (returned None), "value" (returned something else) or the exception's type name."""
    try:
        result = call()
    except Exception as error:  # the observation IS the exception type
        return type(error).__name__
    return "none" if result is None else "value"


def flush(deferred: Dict[str, List[Callable[[], Any]]]) -> List[str]:
    """Call every callable, dict order then list order, then clear the dict; the outcomes."""
    outcomes = [outcome(update) for updates in list(deferred.values()) for update in list(updates)]
    deferred.clear()
    return outcomes


def shape_of(deferred: Dict[str, list]) -> Dict[str, int]:
    return {name: len(updates) for name, updates in deferred.items()}


def same(a: Observation, b: Observation) -> bool:
    """Observations equal, arrays within :data:`TOLERANCE` (NaN equals NaN)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        rtol, atol = TOLERANCE.get(a.dtype, (0.0, 0.0))
        return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return False
    return a == b


def describe(observation: Observation) -> str:
    """A short printable form for assertion messages."""
    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, np.ndarray):
            return np.array2string(value.ravel()[:6], precision=5)
        return value
    return json.dumps(plain(observation), default=str)[:600]


# ---------------------------------------------------------------------------- torch scenarios
@scenario(("IM-1", "IM-2", "CC-1", "CC-4", "DOC-1"), ("torch",))
def torch_immediate(target: Target) -> Observation:
    """Two immediate momentum updates with no ``deferred`` dict (the page's call)."""
    net, steps = torch_net("momentum"), []
    for k in (1.0, 2.0):
        gradients = torch_grads(net, k)
        snapshot = clones(gradients)
        steps.append({"call": outcome(lambda: target.update_model(net, gradients)),
                      "state": torch_state(net), "caller_intact": intact(snapshot, gradients)})
    return steps


@scenario(("IM-2",), ("torch",))
def torch_after_backward(target: Target) -> Observation:
    """The caller's own backward() filled ``.grad``; the step must use the sum."""
    torch = torch_module()
    net = torch_net("sgd")
    net(torch.ones(2, 3)).sum().backward()
    call = outcome(lambda: target.update_model(net, torch_grads(net)))
    return {"call": call, "state": torch_state(net)}


def _noop() -> None:
    return None


@scenario(("DF-1", "DF-2", "DF-4", "DF-5", "CC-4"), ("torch",))
def torch_defer_flush(target: Target) -> Observation:
    """Two deferred calls (another model pending too), a flush, then an immediate call."""
    net = torch_net("momentum")
    other = [_noop]
    deferred = {"other": other}
    stages, calls = [], []
    for k in (1.0, 2.0):
        gradients = torch_grads(net, k)
        calls.append((gradients, clones(gradients)))
        stages.append({"call": outcome(lambda: target.update_model(net, gradients, True, deferred)),
                       "state": torch_state(net),
                       "deferred": shape_of(deferred),
                       "other_untouched": deferred.get("other") is other and other == [_noop]})
    stages.append({"flush": flush(deferred), "state": torch_state(net),
                   "caller_intact": all(intact(s, g) for g, s in calls)})
    stages.append({"call": outcome(lambda: target.update_model(net, torch_grads(net, 3.0), False, deferred)),
                   "state": torch_state(net)})
    return stages


@scenario(("DF-2", "DF-4"), ("torch",))
def torch_defer_empty_dict(target: Target) -> Observation:
    """The first deferred call of a step gets an EMPTY dict; the update must land in it."""
    net, deferred = torch_net("sgd"), {}
    call = outcome(lambda: target.update_model(net, torch_grads(net), True, deferred))
    return {"call": call, "deferred": shape_of(deferred), "flush": flush(deferred), "state": torch_state(net)}


@scenario(("IM-2", "IM-3"), ("torch",))
def torch_defer_then_immediate(target: Target) -> Observation:
    """A deferred call then an immediate one: one step with the sum, the pending entry removed."""
    net, deferred = torch_net("momentum"), {}
    first = outcome(lambda: target.update_model(net, torch_grads(net, 1.0), True, deferred))
    second = outcome(lambda: target.update_model(net, torch_grads(net, 2.0), False, deferred))
    observed = {"calls": [first, second], "deferred": shape_of(deferred), "state": torch_state(net)}
    observed["flush"] = flush(deferred)
    observed["after_flush"] = torch_state(net)
    return observed


@scenario(("IM-4",), ("torch",))
def torch_immediate_others_pending(target: Target) -> Observation:
    """An immediate update while only ANOTHER model has a pending entry."""
    net = torch_net("sgd")
    other = [_noop]
    deferred = {"other": other}
    call = outcome(lambda: target.update_model(net, torch_grads(net), False, deferred))
    return {"call": call, "deferred": shape_of(deferred), "other_untouched": deferred.get("other") is other,
            "state": torch_state(net)}


@scenario(("EX-3",), ("torch",))
def torch_missing_scaler(target: Target) -> Observation:
    """``current_optimizer`` without ``scaler``: AssertionError (deferred: at call or at flush)."""
    net = torch_net("sgd", scaler_attr=False)
    immediate = outcome(lambda: target.update_model(net, torch_grads(net)))
    params_after_immediate = torch_state(net, grads=False)
    for param in net.parameters():
        param.grad = None
    deferred: dict = {}
    at_call = outcome(lambda: target.update_model(net, torch_grads(net), True, deferred))
    at_flush = flush(deferred)
    deferred_seen = "AssertionError" if "AssertionError" in [at_call] + at_flush else at_call
    return {"immediate": immediate, "params_after_immediate": params_after_immediate,
            "deferred": deferred_seen, "state": torch_state(net, grads=False)}


@scenario(("EX-5",), ("torch",))
def torch_missing_scaler_atomic(target: Target) -> Observation:
    """After the EX-3 AssertionError of an immediate call, ``.grad`` is as before."""
    net = torch_net("sgd", scaler_attr=False)
    return {"call": outcome(lambda: target.update_model(net, torch_grads(net))), "state": torch_state(net)}


@scenario(("EX-4",), ("torch",))
def torch_missing_scaler_optimized(target: Target) -> Observation:
    """EX-3 under ``python -O``."""
    net = torch_net("sgd", scaler_attr=False)
    update_model = target.optimized()
    return {"call": outcome(lambda: update_model(net, torch_grads(net))), "state": torch_state(net, grads=False)}


@scenario(("MP-1", "MP-2", "CC-4"), ("torch",))
def torch_scaler(target: Target) -> Observation:
    """GradScaler("cpu", init 16, growth every 2): scaled gradients finite, finite, inf, finite."""
    net = torch_net("sgd", scaler="amp")
    scaler = net.current_optimizer.scaler
    steps = []
    for k in (1.0, 2.0, float("inf"), 1.0):
        gradients = [g * scaler.get_scale() for g in torch_grads(net, 1.0 if k == float("inf") else k)]
        if k == float("inf"):
            gradients[0].view(-1)[0] = float("inf")
        snapshot = clones(gradients)
        call = outcome(lambda: target.update_model(net, gradients))
        steps.append({"call": call, "state": torch_state(net), "scale": float(scaler.get_scale()),
                      "caller_intact": intact(snapshot, gradients)})
    return steps


@scenario(("MP-1", "MP-2", "DF-5"), ("torch",))
def torch_scaler_deferred(target: Target) -> Observation:
    """GradScaler with deferral: two deferred calls, a flush, an immediate call, then an overflow
    deferred and flushed. One scaler step and one update per optimizer step."""
    net = torch_net("momentum", scaler="amp")
    scaler = net.current_optimizer.scaler
    deferred: dict = {}
    stages = []
    for k, defer in ((1.0, True), (2.0, True), (None, None), (1.0, False), (float("inf"), True), (None, None)):
        if k is None:
            stages.append({"flush": flush(deferred), "state": torch_state(net), "scale": float(scaler.get_scale())})
            continue
        gradients = [g * scaler.get_scale() for g in torch_grads(net, 1.0 if k == float("inf") else k)]
        if k == float("inf"):
            gradients[1].view(-1)[0] = float("inf")
        call = outcome(lambda: target.update_model(net, gradients, defer, deferred))
        stages.append({"call": call, "state": torch_state(net), "scale": float(scaler.get_scale()),
                       "deferred": shape_of(deferred)})
    return stages


@scenario(("MP-5",), ("torch", "no-cuda"))
def torch_disabled_scaler(target: Target) -> Observation:
    """The legacy CUDA GradScaler without CUDA is disabled: it must act as ``scaler=None``."""
    net = torch_net("sgd", scaler="legacy")
    return {"call": outcome(lambda: target.update_model(net, torch_grads(net))), "state": torch_state(net)}


@scenario(("PA-4",), ("torch",))
def torch_float64(target: Target) -> Observation:
    """A float64 model with gradients not exact in float32 (multiples of 0.025)."""
    net = torch_net("momentum", dtype="float64")
    calls = [outcome(lambda: target.update_model(net, torch_grads(net, k))) for k in (0.1, 0.3)]
    return {"calls": calls, "state": torch_state(net)}


@scenario(("CC-2", "CC-3"), ("torch",))
def torch_frozen_bn(target: Target) -> Observation:
    """BatchNorm buffers and a ``requires_grad=False`` bias must stay; the rest updates."""
    net = torch_net("momentum", bn=True, frozen=True)
    return {"call": outcome(lambda: target.update_model(net, torch_grads(net))), "state": torch_state(net)}


@scenario(("CC-2",), ("torch",))
def torch_pairing(target: Target) -> Observation:
    """gradients[i] pairs with the i-th trainable parameter in ``parameters()`` order."""
    net = torch_net("sgd")
    return {"call": outcome(lambda: target.update_model(net, torch_grads(net))), "state": torch_state(net)}


@scenario(("CC-2", "CC-3"), ("torch",))
def torch_param_groups(target: Target) -> Observation:
    """An optimizer over two param groups (weights, then biases): gradients still pair with the
    trainable parameters in ``parameters()`` order, not in the optimizer's order."""
    net = torch_net("sgd", over="groups")
    return {"call": outcome(lambda: target.update_model(net, torch_grads(net))), "state": torch_state(net)}


@scenario(("CC-2", "CC-3"), ("torch",))
def torch_all_parameters(target: Target) -> Observation:
    """An optimizer over ``model.parameters()`` (``fe.build``), one of them frozen: the frozen one
    takes no gradient and stays."""
    net = torch_net("momentum", frozen=True, over="all")
    return {"call": outcome(lambda: target.update_model(net, torch_grads(net))), "state": torch_state(net)}


def zero_gradient_steps(target: Target, net: Any, grads: Callable[[Any, float], List[Any]],
                        state: Callable[[Any], Any]) -> Observation:
    """A call, then a call whose first gradient is exactly 0, on a momentum ``net``: with momentum
    that variable still moves."""
    steps = []
    for k, zero_first in ((1.0, False), (2.0, True)):
        gradients = grads(net, k)
        if zero_first:
            gradients[0] = gradients[0] * 0
        steps.append({"call": outcome(lambda: target.update_model(net, gradients)), "state": state(net)})
    return steps


@scenario(("IM-1",), ("torch",))
def torch_zero_gradient(target: Target) -> Observation:
    """Momentum, then a call whose first gradient is exactly 0: that parameter still moves."""
    return zero_gradient_steps(target, torch_net("momentum"), torch_grads, torch_state)


@scenario(("CC-2", "CC-3"), ("torch",))
def torch_trainability_changes(target: Target) -> Observation:
    """Momentum; a call; the first layer frozen; a call; the first layer unfrozen; a call: each
    call's gradients pair with the parameters trainable then."""
    net, steps = torch_net("momentum", over="all"), []
    for trainable in (True, False, True):
        net[0].requires_grad_(trainable)
        gradients = torch_grads(net)
        steps.append({"call": outcome(lambda: target.update_model(net, gradients)), "state": torch_state(net)})
    return steps


@scenario(("CC-2",), ("torch",))
def torch_nested(target: Target) -> Observation:
    """A sub-model used as a layer: its parameters pair in ``parameters()`` order too."""
    net = torch_net("sgd", nested=True)
    return {"call": outcome(lambda: target.update_model(net, torch_grads(net))), "state": torch_state(net)}


@scenario(("CC-2", "IM-1"), ("torch",))
def torch_tied(target: Target) -> Observation:
    """An output layer tied to the embedding (one ``Parameter``, two modules; momentum, so the
    second call shows the first's pairing too): the tied weight takes one gradient, where
    ``parameters()`` lists it."""
    net, steps = tied_net("torch", "momentum"), []
    for k in (1.0, 2.0):
        gradients = torch_grads(net, k)
        steps.append({"call": outcome(lambda: target.update_model(net, gradients)), "state": torch_state(net)})
    return steps


@scenario(("MP-1", "MP-4"), ("torch",))
def torch_scale_growth(target: Target) -> Observation:
    """GradScaler("cpu", init 16, growth every 2) over twelve finite steps: the scale doubles every
    second step, to 1024, as ``scaler.update()`` makes it."""
    net = torch_net("sgd", scaler="amp")
    scaler, scales = net.current_optimizer.scaler, []
    for _ in range(12):
        gradients = [g * scaler.get_scale() for g in torch_grads(net, 0.125)]
        scales.append((outcome(lambda: target.update_model(net, gradients)), float(scaler.get_scale())))
    return {"scales": scales, "state": torch_state(net)}


@scenario(("CC-6",), ("torch",))
def torch_none_gradient(target: Target) -> Observation:
    """Momentum, then a ``None`` gradient: that parameter must not move."""
    net = torch_net("momentum")
    first = outcome(lambda: target.update_model(net, torch_grads(net, 1.0)))
    gradients = torch_grads(net, 2.0)
    gradients[0] = None
    second = outcome(lambda: target.update_model(net, gradients))
    return {"calls": [first, second], "state": torch_state(net)}


@scenario(("CC-7",), ("torch",))
def torch_length(target: Target) -> Observation:
    """One gradient too few, then one too many: ValueError, nothing changes."""
    net = torch_net("sgd")
    short = outcome(lambda: target.update_model(net, torch_grads(net)[:-1]))
    state_short = torch_state(net)
    long = outcome(lambda: target.update_model(net, torch_grads(net) + torch_grads(net)[:1]))
    return {"short": short, "state_short": state_short, "long": long, "state": torch_state(net)}


@scenario(("CC-8",), ("torch",))
def torch_shape(target: Target) -> Observation:
    """A broadcastable and a non-broadcastable wrong shape (the latter also after a None gradient),
    immediate and deferred: raise, no change."""
    torch = torch_module()
    net, deferred, observed = torch_net("sgd"), {}, {}
    for label, bad in (("broadcastable", torch.ones(1)), ("mismatched", torch.ones(5)),
                       ("after-none", torch.ones(5))):
        for defer in (False, True):
            gradients = torch_grads(net)
            if label == "after-none":  # a checker that stops at the None lets .grad of 1, 2 change
                gradients[0], gradients[3] = None, bad
            else:
                gradients[1] = bad
            observed[f"{label}-{defer}"] = {
                "raised": outcome(lambda: target.update_model(net, gradients, defer, deferred)) not in ("none", "value"),
                "state": torch_state(net), "deferred": shape_of(deferred)}
    return observed


@scenario(("PA-3",), ("torch", "cuda"))
def torch_cuda(target: Target) -> Observation:
    """A CUDA model: same result as CPU, everything stays on the device."""
    net = torch_net("momentum", device="cuda")
    call = outcome(lambda: target.update_model(net, torch_grads(net)))
    devices = sorted({str(p.device) for p in net.parameters()}
                     | {str(t.device) for s in net.current_optimizer.state.values() for t in s.values()
                        if hasattr(t, "device")})
    return {"call": call, "state": torch_state(net), "devices": devices}


@scenario(("EX-1",), ("torch",))
def torch_ex1(target: Target) -> Observation:
    """A torch module without ``current_optimizer``: AssertionError, nothing changes."""
    net = torch_net("sgd")
    del net.current_optimizer
    return {"call": outcome(lambda: target.update_model(net, torch_grads(net))), "state": torch_state(net)}


@scenario(("DF-6",), ("torch",))
def torch_df6(target: Target) -> Observation:
    """``defer=True`` without a dict: ValueError or TypeError, nothing changes."""
    net = torch_net("sgd")
    call = outcome(lambda: target.update_model(net, torch_grads(net), True, None))
    return {"call": "rejected" if call in ("ValueError", "TypeError") else call, "state": torch_state(net)}


# ---------------------------------------------------------------------------- TF scenarios
@scenario(("IM-1", "CC-1", "PA-1", "DOC-1"), ("tf",))
def tf_immediate(target: Target) -> Observation:
    """Two immediate momentum updates, no ``deferred`` dict."""
    net, steps = tf_net("momentum"), []
    for k in (1.0, 2.0):
        gradients = tf_grads(net, k)
        steps.append({"call": outcome(lambda: target.update_model(net, gradients)), "state": tf_state(net)})
    return steps


@scenario(("DF-1", "DF-2", "DF-3", "DF-5"), ("tf",))
def tf_defer_flush(target: Target) -> Observation:
    """Two deferred calls (another model pending too), a flush, then an immediate call."""
    net = tf_net("momentum")
    other = [_noop]
    deferred = {"other": other}
    stages = []
    for k in (1.0, 2.0):
        gradients = tf_grads(net, k)
        stages.append({"call": outcome(lambda: target.update_model(net, gradients, True, deferred)),
                       "state": tf_state(net), "deferred": shape_of(deferred),
                       "other_untouched": deferred.get("other") is other and other == [_noop]})
    stages.append({"flush": flush(deferred), "state": tf_state(net)})
    stages.append({"call": outcome(lambda: target.update_model(net, tf_grads(net, 3.0), False, deferred)),
                   "state": tf_state(net)})
    return stages


@scenario(("DF-2", "DF-3"), ("tf",))
def tf_defer_empty_dict(target: Target) -> Observation:
    """The first deferred call of a step gets an EMPTY dict; the update must land in it."""
    net, deferred = tf_net("sgd"), {}
    call = outcome(lambda: target.update_model(net, tf_grads(net), True, deferred))
    return {"call": call, "deferred": shape_of(deferred), "flush": flush(deferred), "state": tf_state(net)}


@scenario(("IM-5",), ("tf",))
def tf_immediate_with_pending(target: Target) -> Observation:
    """A deferred call, an immediate one, then the flush: both updates apply, in that order."""
    net, deferred = tf_net("momentum"), {}
    first = outcome(lambda: target.update_model(net, tf_grads(net, 1.0), True, deferred))
    second = outcome(lambda: target.update_model(net, tf_grads(net, 2.0), False, deferred))
    observed = {"calls": [first, second], "deferred": shape_of(deferred), "state": tf_state(net)}
    observed["flush"] = flush(deferred)
    observed["after_flush"] = tf_state(net)
    return observed


@scenario(("IM-1",), ("tf",))
def tf_zero_gradient(target: Target) -> Observation:
    """Momentum, then a call whose first gradient is exactly 0: that variable still moves."""
    return zero_gradient_steps(target, tf_net("momentum"), tf_grads, tf_state)


@scenario(("CC-2", "CC-3"), ("tf",))
def tf_trainability_changes(target: Target) -> Observation:
    """Momentum; a call; the first layer frozen; a call; unfrozen again; a call: each call's
    gradients pair with the variables trainable then."""
    net, steps = tf_net("momentum"), []
    net.current_optimizer.build(net.trainable_variables)
    for trainable in (True, False, True):
        net.layers[0].trainable = trainable
        gradients = tf_grads(net)
        steps.append({"call": outcome(lambda: target.update_model(net, gradients)), "state": tf_state(net)})
    return steps


@scenario(("CC-2", "IM-1"), ("tf",))
def tf_tied(target: Target) -> Observation:
    """An output layer that multiplies by the embedding's own matrix (momentum, two calls): the
    tied matrix takes one gradient, where ``trainable_variables`` lists it."""
    net, steps = tied_net("tf", "momentum"), []
    for k in (1.0, 2.0):
        gradients = tf_grads(net, k)
        steps.append({"call": outcome(lambda: target.update_model(net, gradients)), "state": tf_state(net)})
    return steps


@scenario(("CC-2", "CC-3"), ("tf",))
def tf_frozen_bn(target: Target) -> Observation:
    """BatchNorm statistics and a frozen layer must stay; the rest updates."""
    net = tf_net("momentum", bn=True, frozen=True)
    return {"call": outcome(lambda: target.update_model(net, tf_grads(net))), "state": tf_state(net)}


@scenario(("CC-5",), ("tf",))
def tf_indexed_slices(target: Target) -> Observation:
    """An embedding gradient as IndexedSlices with a repeated row, Adagrad, two steps. (Adagrad:
    Keras 3 squares each raw slice before summing duplicates, and, unlike Adam, it is not
    scale-invariant, so a densification that drops a duplicate row shows too.)"""
    tf = tf_module()
    net = tf_net("adagrad", embedding=True)
    calls = []
    for k in (1.0, 2.0):
        gradients = tf_grads(net, k)
        values = tf.constant(gradient_pattern((3, 2), 0, k), dtype=tf.float32)
        gradients[0] = tf.IndexedSlices(values, tf.constant([1, 1, 3]), tf.constant([5, 2]))
        calls.append(outcome(lambda: target.update_model(net, gradients)))
    return {"calls": calls, "state": tf_state(net)}


@scenario(("CC-6",), ("tf",))
def tf_none_gradient(target: Target) -> Observation:
    """Momentum, then a ``None`` gradient: that variable must not move."""
    net = tf_net("momentum")
    first = outcome(lambda: target.update_model(net, tf_grads(net, 1.0)))
    gradients = tf_grads(net, 2.0)
    gradients[0] = None
    second = outcome(lambda: target.update_model(net, gradients))
    return {"calls": [first, second], "state": tf_state(net)}


@scenario(("CC-6",), ("tf",))
def tf_none_first(target: Target) -> Observation:
    """A ``None`` gradient in the very first call, then a full one (the optimizer is built on the first)."""
    net = tf_net("momentum")
    gradients = tf_grads(net, 1.0)
    gradients[0] = None
    first = outcome(lambda: target.update_model(net, gradients))
    second = outcome(lambda: target.update_model(net, tf_grads(net, 2.0)))
    return {"calls": [first, second], "state": tf_state(net)}


@scenario(("CC-7",), ("tf",))
def tf_length(target: Target) -> Observation:
    """One gradient too few, then one too many: ValueError, nothing changes."""
    net = tf_net("sgd")
    short = outcome(lambda: target.update_model(net, tf_grads(net)[:-1]))
    state_short = tf_state(net)
    long = outcome(lambda: target.update_model(net, tf_grads(net) + tf_grads(net)[:1]))
    return {"short": short, "state_short": state_short, "long": long, "state": tf_state(net)}


@scenario(("CC-8",), ("tf",))
def tf_shape(target: Target) -> Observation:
    """A broadcastable and a non-broadcastable wrong shape, and ``IndexedSlices`` with a wrong
    ``dense_shape`` for a kernel, immediate and deferred: raise, no change."""
    tf = tf_module()
    net, deferred, observed = tf_net("momentum"), {}, {}
    rows, columns = net.trainable_variables[0].shape
    sparse = tf.IndexedSlices(values=tf.ones((2, columns + 1)), indices=tf.constant([0, 1], dtype=tf.int64),
                              dense_shape=tf.constant([rows, columns + 1], dtype=tf.int64))
    for label, bad, at in (("broadcastable", tf.ones((1,)), 1), ("mismatched", tf.ones((5,)), 1),
                           ("indexed-slices", sparse, 0)):
        for defer in (False, True):
            gradients = tf_grads(net)
            gradients[at] = bad
            observed[f"{label}-{defer}"] = {
                "raised": outcome(lambda: target.update_model(net, gradients, defer, deferred)) not in ("none", "value"),
                "state": tf_state(net), "deferred": shape_of(deferred)}
    return observed


@scenario(("XM-1",), ("tf",))
def tf_function(target: Target) -> Observation:
    """A compiled training step: one immediate update, then two deferred updates created and
    flushed inside the same ``tf.function``; run twice (one trace serves both runs)."""
    tf = tf_module()
    net = tf_net("momentum")
    name = net.model_name

    @tf.function
    def train_step(now: List[Any], first: List[Any], second: List[Any]) -> None:
        target.update_model(net, now)
        deferred: dict = {}
        target.update_model(net, first, True, deferred)
        target.update_model(net, second, True, deferred)
        for update in deferred.get(name, []):
            update()

    stages = []
    for k in (1.0, 2.0):
        now, first, second = tf_grads(net, k), tf_grads(net, k + 1.0), tf_grads(net, 0.5)
        stages.append({"call": outcome(lambda: train_step(now, first, second)), "state": tf_state(net)})
    return stages


@scenario(("PA-4",), ("tf",))
def tf_float64(target: Target) -> Observation:
    """A float64 model with gradients not exact in float32 (multiples of 0.025)."""
    net = tf_net("momentum", dtype="float64")
    calls = [outcome(lambda: target.update_model(net, tf_grads(net, k))) for k in (0.1, 0.3)]
    return {"calls": calls, "state": tf_state(net)}


@scenario(("MP-3",), ("tf",))
def tf_lso(target: Target) -> Observation:
    """LossScaleOptimizer(SGD, initial 16, growth every 2): finite, finite, inf, finite, each fed
    under the installed Keras' convention (Keras 3: scaled; tf-keras: unscaled)."""
    tf = tf_module()
    net = tf_net("lso")
    optimizer = net.current_optimizer
    scaled = keras_flavour() == "keras3"
    steps = []
    for k in (1.0, 2.0, float("inf"), 1.0):
        factor = lso_scale(optimizer) if scaled else 1.0
        values = [gradient_pattern(tuple(v.shape), i, 1.0 if k == float("inf") else k) * factor
                  for i, v in enumerate(net.trainable_variables)]
        if k == float("inf"):
            values[0].reshape(-1)[0] = np.inf
        gradients = [tf.constant(v, dtype=var.dtype) for v, var in zip(values, net.trainable_variables)]
        call = outcome(lambda: target.update_model(net, gradients))
        steps.append({"call": call, "variables": [np.array(v.numpy()) for v in net.weights],
                      "scale": lso_scale(optimizer)})
    return steps


@scenario(("IM-1",), ("tf",))
def tf_two_fresh(target: Target) -> Observation:
    """Two models, each with a fresh (unbuilt) optimizer, updated one after the other."""
    first, second = tf_net("momentum", name="first"), tf_net("adam", name="second")
    calls = [outcome(lambda: target.update_model(first, tf_grads(first))),
             outcome(lambda: target.update_model(second, tf_grads(second)))]
    return {"calls": calls, "first": tf_state(first), "second": tf_state(second)}


@scenario(("EX-1",), ("tf",))
def tf_ex1(target: Target) -> Observation:
    """A Keras model without ``current_optimizer``: AssertionError, nothing changes."""
    net = tf_net("sgd")
    optimizer = net.current_optimizer
    del net.current_optimizer
    gradients = tf_grads(net)
    call = outcome(lambda: target.update_model(net, gradients))
    return {"call": call, "variables": [np.array(v.numpy()) for v in net.weights],
            "iterations": int(optimizer.iterations.numpy())}


@scenario(("DF-6",), ("tf",))
def tf_df6(target: Target) -> Observation:
    """``defer=True`` without a dict: ValueError or TypeError, nothing changes."""
    net = tf_net("sgd")
    call = outcome(lambda: target.update_model(net, tf_grads(net), True, None))
    return {"call": "rejected" if call in ("ValueError", "TypeError") else call, "state": tf_state(net)}


# ---------------------------------------------------------------------------- framework-free scenarios
class NotAModel:
    """Has ``current_optimizer`` but is neither a Keras model nor a torch module."""

    def __init__(self) -> None:
        self.current_optimizer = types.SimpleNamespace()
        self.model_name = "not_a_model"


@scenario(("EX-1",), ())
def plain_object_ex1(target: Target) -> Observation:
    """An arbitrary object without ``current_optimizer`` gets AssertionError (the check comes first)."""
    return {"object": outcome(lambda: target.update_model(object(), [])),
            "list": outcome(lambda: target.update_model([1, 2], [None, None]))}


@scenario(("EX-4",), ())
def plain_object_ex1_optimized(target: Target) -> Observation:
    """EX-1 under ``python -O``."""
    update_model = target.optimized()
    return {"object": outcome(lambda: update_model(object(), []))}


@scenario(("EX-2",), ())
def not_a_model_ex2(target: Target) -> Observation:
    """An object with ``current_optimizer`` that is no model: ValueError naming its type."""
    try:
        target.update_model(NotAModel(), [])
    except Exception as error:  # the observation is the error
        return {"error": type(error).__name__, "names_type": "NotAModel" in str(error)}
    return {"error": None, "names_type": False}


# ---------------------------------------------------------------------------- subprocess entry point
def main(argv: List[str]) -> int:
    """``REFERENCE_MODULE PATH:SCENARIO ...`` -> one JSON line per pair: differs / same / skipped."""
    import_torch_first()
    reference = reference_target(argv[0])
    for item in argv[1:]:
        path, scenario_id = item.rsplit(":", 1)
        chosen = SCENARIOS[scenario_id]
        module = load_module(Path(path))
        requires = tuple(chosen.requires) + tuple(getattr(module, "REQUIRES", ()))
        if not all(requirement_met(r) for r in requires):
            verdict = "skipped"
        else:
            expected = chosen.run(reference)
            actual = chosen.run(load_target(Path(path)))
            verdict = "same" if same(expected, actual) else "differs"
        print(json.dumps({"item": item, "verdict": verdict}), flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main(sys.argv[1:]))
