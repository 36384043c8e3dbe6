"""The project's test kit: helpers of the reference tests (``tests/test_reference_*.py``), the
witness fixtures of the mutants' scenarios (``tests/mutants/_scenarios.py``) and the framework-level
probes of the adapters' own tests (``tests/test_engine_adapters.py``).

It builds, reads and pokes Keras and torch objects itself, on purpose: it is the one framework code
of the project outside ``conformance/adapters/`` (the implementations under test aside), kept
independent of the adapters so that the tests can judge them: the adapters' tests compare the
adapters with the reference and with direct framework reads, and the reference itself is tested
here without them.

Contract:
- Importing this module loads no framework. Each backend kit imports its framework on first use,
  so a process in which torch (or TensorFlow) is unimportable can still use the other kit.
- Expectations never come from hard-coded numbers: a *twin* (a second model built from the same
  seed, with a fresh optimizer of the same kind) is driven with the framework's own optimizer
  (``apply_gradients`` / ``step``) and the reference's model is compared with it.
- Checks that must survive ``python -O`` raise ``AssertionError`` explicitly (this module is not
  rewritten by pytest), never with an ``assert`` statement.

Sections: comparison of states; backend kits (TF: Keras 3 or tf-keras; torch); the ``deferred``
dict; child processes (import blockers, ``python -O``, Keras 2).
"""
from __future__ import annotations

import functools
import importlib.abc
import itertools
import json
import os
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent

BACKENDS = ("tf", "torch")
DTYPES = ("float32", "float64")
OPTIMIZERS = ("sgd", "adam")

# Hyperparameters exact in float32, so that float64 variables see the same constants on both
# frameworks. Steps are large enough to be seen: SGD moves a weight by lr*|g| ~ 0.06, Adam by ~lr.
SGD_LR = 2.0 ** -4
ADAM = {"lr": 2.0 ** -7, "beta1": 0.875, "beta2": 1 - 2.0 ** -9, "eps": 2.0 ** -20}

WIDTH = 3  # every Dense/Linear is WIDTH x WIDTH, so mis-paired gradients fit and must be caught by value

# ---------------------------------------------------------------------------------------------
# Comparison of states
# ---------------------------------------------------------------------------------------------

# The reference and its twin run the same framework operations, so they agree bit for bit; the
# tolerance only admits a different order of float additions (a few ulps). A skipped, doubled or
# mis-paired step moves some weight by >= ADAM["lr"] * 0.5 ~ 4e-3, more than 1e4 times this.
ULPS = 16
TOLERANCE = {"float32": ULPS * float(np.finfo(np.float32).eps),
             "float64": ULPS * float(np.finfo(np.float64).eps)}

State = Dict[str, Optional[np.ndarray]]


def _tolerance_for(*arrays: np.ndarray) -> float:
    """The loosest tolerance among the arrays' float dtypes (0 for integer and bool arrays)."""
    tolerances = [TOLERANCE.get(a.dtype.name, 0.0) for a in arrays]
    if any(a.dtype.kind == "f" and a.dtype.name not in TOLERANCE for a in arrays):
        tolerances.append(TOLERANCE["float32"])  # float16 / bfloat16 never appear; be safe anyway
    return max(tolerances, default=0.0)


def part(state: State, prefix: str, exclude: bool = False) -> State:
    """The entries of ``state`` whose key starts with ``prefix`` (``exclude=True``: all the others)."""
    return {key: value for key, value in state.items() if key.startswith(prefix) != exclude}


def state_differences(actual: State, expected: State, exact: bool = False) -> List[str]:
    """Describe every entry where ``actual`` differs from ``expected`` (empty list: they agree).

    ``exact=True`` demands bit-for-bit equality (NaN equal to NaN); otherwise floats may differ by
    ``TOLERANCE[dtype] * (1 + |expected|)``.
    """
    problems = []
    if list(actual) != list(expected):
        return [f"entries differ: {list(actual)} != {list(expected)}"]
    for key in expected:
        a, e = actual[key], expected[key]
        if a is None or e is None:
            if not (a is None and e is None):
                problems.append(f"{key}: {'None' if a is None else 'array'} != {'None' if e is None else 'array'}")
            continue
        if a.shape != e.shape or a.dtype != e.dtype:
            problems.append(f"{key}: {a.dtype}{a.shape} != {e.dtype}{e.shape}")
            continue
        tolerance = 0.0 if exact else _tolerance_for(a, e)
        if tolerance == 0.0:
            same = np.array_equal(a, e, equal_nan=a.dtype.kind in "fc")
        else:
            same = bool(np.all(np.isclose(a, e, rtol=tolerance, atol=tolerance, equal_nan=True)))
        if not same:
            worst = np.max(np.abs(a.astype(np.float64) - e.astype(np.float64))) if a.size else 0.0
            problems.append(f"{key}: max |actual - expected| = {worst:.3g} (tolerance {tolerance:.3g})")
    return problems


def assert_same_state(actual: State, expected: State, exact: bool = False, what: str = "state") -> None:
    """Raise ``AssertionError`` listing the differences unless the states agree (see above)."""
    problems = state_differences(actual, expected, exact)
    if problems:
        raise AssertionError(f"{what} differs:\n  " + "\n  ".join(problems))


def changed_entries(before: State, after: State) -> List[str]:
    """The keys whose value is not bit-for-bit equal in ``before`` and ``after``."""
    return [key for key in after if key not in before or state_differences(
        {key: after[key]}, {key: before[key]}, exact=True)]


def assert_changed(before: State, after: State, prefixes: Iterable[str], what: str) -> None:
    """Guard against vacuous comparisons: some entry starting with each prefix must have changed."""
    changed = changed_entries(before, after)
    for prefix in prefixes:
        if not any(key.startswith(prefix) for key in changed):
            raise AssertionError(f"{what}: nothing under {prefix!r} changed (changed: {changed})")


# ---------------------------------------------------------------------------------------------
# The deferred dict
# ---------------------------------------------------------------------------------------------

Deferred = Dict[str, List[Callable[[], None]]]
DeferredShape = List[Tuple[str, int, Tuple[int, ...]]]


def deferred_identity(deferred: Optional[Deferred]) -> Optional[DeferredShape]:
    """The dict's keys in order, each with the identity of its list and of the callables in it.

    Two equal results mean the dict was neither re-keyed nor had a list replaced or changed.
    The caller keeps ``deferred`` alive, so the ids cannot be reused meanwhile.
    """
    if deferred is None:
        return None
    return [(key, id(fns), tuple(id(fn) for fn in fns)) for key, fns in deferred.items()]


def flush(deferred: Deferred) -> List[Any]:
    """Call every callable of every list, dict order then list order, then clear the dict.

    Returns what the callables returned, in call order (the contract says ``None`` each).
    """
    results = [fn() for fns in list(deferred.values()) for fn in list(fns)]
    deferred.clear()
    return results


def noop() -> None:
    """A pending update of some other model, for ``deferred`` dicts that hold other keys."""
    return None


# ---------------------------------------------------------------------------------------------
# Rejected calls (CC-7, CC-8, DF-6, EX-1..EX-3 with EX-5)
# ---------------------------------------------------------------------------------------------

PRIMING_SEED = 99


def primed(backend_kit: Any, dtype: str, optimizer: str = "adam") -> Tuple[Any, Any, Deferred]:
    """A model with one pending deferred update (torch: a non-None ``.grad``) and a ``deferred``
    dict that also holds another model's entry; its twin has already taken that pending step."""
    import reference
    model = backend_kit.model(dtype, optimizer, seed=5)
    twin = backend_kit.model(dtype, optimizer, seed=5)
    deferred: Deferred = {"other model": [noop]}
    reference.update_model(model, backend_kit.gradients(model, PRIMING_SEED), defer=True, deferred=deferred)
    backend_kit.step(twin, backend_kit.gradients(twin, PRIMING_SEED))
    return model, twin, deferred


def assert_rejected_atomically(backend_kit: Any, model: Any, twin: Any, deferred: Deferred,
                               call: Callable[[], Any], exceptions: Any,
                               undo: Optional[Callable[[], None]] = None) -> BaseException:
    """``call()`` raises one of ``exceptions`` and changes nothing: weights, buffers, ``.grad``,
    optimizer and scaler state, the ``deferred`` dict (EX-5). Then ``undo()`` (repair what the test
    broke on purpose) and a flush: the earlier pending update of ``primed`` must still apply.
    Returns the exception raised."""
    before, before_deferred = backend_kit.state(model), deferred_identity(deferred)
    with pytest.raises(exceptions) as raised:
        call()
    assert_same_state(backend_kit.state(model), before, exact=True, what="model after a rejected call")
    if deferred_identity(deferred) != before_deferred:
        raise AssertionError(f"deferred changed: {before_deferred} -> {deferred_identity(deferred)}")
    if undo is not None:
        undo()
    flush(deferred)
    assert_same_state(backend_kit.state(model), backend_kit.state(twin),
                      what="model after flushing the earlier pending update")
    return raised.value


# ---------------------------------------------------------------------------------------------
# Backend kits
# ---------------------------------------------------------------------------------------------

_names = itertools.count()


def unique_name(prefix: str = "model") -> str:
    return f"{prefix}{next(_names)}"


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


class TfKit:
    """Build, drive and inspect small Keras models (Keras 3, or tf-keras under TF_USE_LEGACY_KERAS=1).

    Models: ``Input -> Dense -> Dense (frozen) -> BatchNormalization -> Dense``, every kernel
    WIDTH x WIDTH. Trainable variables: 2 kernels, 2 biases, gamma, beta.
    """

    name = "tf"

    def __init__(self) -> None:
        import_torch_first()
        import tensorflow as tf
        self.tf = tf
        self.keras = tf.keras
        self.legacy = keras_flavour() == "keras2"
        expected = os.environ.get(EXPECT_LEGACY_KERAS)
        if expected is not None and self.legacy != (expected == "1"):
            raise RuntimeError(f"{EXPECT_LEGACY_KERAS}={expected} but tf.keras is {self.keras.Model.__module__}")

    # building -----------------------------------------------------------------------------
    def optimizer(self, kind: str) -> Any:
        optimizers = self.keras.optimizers
        if kind == "sgd":
            return optimizers.SGD(learning_rate=SGD_LR)
        if kind == "adam":
            return optimizers.Adam(learning_rate=ADAM["lr"], beta_1=ADAM["beta1"], beta_2=ADAM["beta2"],
                                   epsilon=ADAM["eps"])
        raise ValueError(kind)

    def loss_scale_optimizer(self, initial_scale: float, growth_steps: int) -> Any:
        """A dynamic ``LossScaleOptimizer`` around SGD (SGD is not scale-invariant: unscaling shows)."""
        return self.keras.mixed_precision.LossScaleOptimizer(
            self.optimizer("sgd"), initial_scale=initial_scale, dynamic_growth_steps=growth_steps)

    def model(self, dtype: str = "float32", optimizer: Any = "sgd", seed: int = 0) -> Any:
        """A fresh model with random (seeded) weights, ``current_optimizer`` and a unique name.

        Two calls with the same ``seed`` and ``dtype`` give identical weights.
        """
        keras, layers = self.keras, self.keras.layers
        model = keras.Sequential([
            keras.Input(shape=(WIDTH,), dtype=dtype),
            layers.Dense(WIDTH, dtype=dtype),
            layers.Dense(WIDTH, dtype=dtype),
            layers.BatchNormalization(dtype=dtype),
            layers.Dense(WIDTH, dtype=dtype),
        ])
        model.layers[1].trainable = False
        rng = _rng(seed)
        model.set_weights([rng.standard_normal(w.shape).astype(w.dtype) for w in model.get_weights()])
        return self._attach(model, optimizer)

    def embedding_model(self, dtype: str, optimizer: str, seed: int = 0) -> Any:
        """``Embedding(10, WIDTH) -> Flatten -> Dense(2)``: its lookup gradient is ``tf.IndexedSlices``."""
        keras, layers = self.keras, self.keras.layers
        model = keras.Sequential([
            keras.Input(shape=(4,), dtype="int32"),
            layers.Embedding(10, WIDTH, dtype=dtype),
            layers.Flatten(dtype=dtype),
            layers.Dense(2, dtype=dtype),
        ])
        rng = _rng(seed)
        model.set_weights([rng.standard_normal(w.shape).astype(w.dtype) for w in model.get_weights()])
        return self._attach(model, optimizer)

    def _attach(self, model: Any, optimizer: Any) -> Any:
        model.current_optimizer = self.optimizer(optimizer) if isinstance(optimizer, str) else optimizer
        model.model_name = unique_name()
        return model

    # driving ------------------------------------------------------------------------------
    def variables(self, model: Any) -> List[Any]:
        return list(model.trainable_variables)

    def gradients(self, model: Any, seed: int, scale: float = 1.0) -> List[Any]:
        """One random gradient per trainable variable, of its shape and dtype."""
        rng = _rng(seed)
        return [self.tf.constant(scale * rng.standard_normal(tuple(v.shape)), dtype=v.dtype)
                for v in self.variables(model)]

    def tensor(self, values: Any, dtype: str) -> Any:
        return self.tf.constant(values, dtype=dtype)

    def numpy(self, tensor: Any) -> np.ndarray:
        return np.array(self.tf.convert_to_tensor(tensor))

    def build_optimizer(self, model: Any) -> None:
        """Create the optimizer's slots for all trainable variables (as the reference does)."""
        optimizer, variables = model.current_optimizer, self.variables(model)
        if hasattr(optimizer, "built"):
            if not optimizer.built:
                optimizer.build(variables)
        else:
            optimizer.build(variables)

    def step(self, twin: Any, gradients: Sequence[Any]) -> None:
        """The expectation: one ``apply_gradients`` on the twin (``None`` gradients left out)."""
        self.build_optimizer(twin)
        pairs = [(g, v) for g, v in zip(gradients, self.variables(twin)) if g is not None]
        twin.current_optimizer.apply_gradients(pairs)

    # inspecting ---------------------------------------------------------------------------
    def iterations(self, model: Any) -> int:
        return int(np.array(model.current_optimizer.iterations))

    def loss_scale(self, optimizer: Any) -> float:
        """The current scale of a ``LossScaleOptimizer`` (Keras 3 creates its variable at build)."""
        if self.legacy:
            return float(np.array(optimizer.loss_scale))
        if not optimizer.built:
            return float(optimizer.initial_scale)
        return float(np.array(optimizer.dynamic_scale))

    def state(self, model: Any) -> State:
        """Every model variable and every optimizer variable, as arrays. Keys: ``trainable/<i>``
        (i-th trainable variable), ``frozen/<i>`` (non-trainable), ``optimizer/...``."""
        state: State = {}
        for index, variable in enumerate(model.trainable_variables):
            state[f"trainable/{index}"] = np.array(variable.numpy())
        for index, variable in enumerate(model.non_trainable_variables):
            state[f"frozen/{index}"] = np.array(variable.numpy())
        optimizer = getattr(model, "current_optimizer", None)
        if optimizer is None:  # EX-1 tests take the optimizer away
            return state
        for index, variable in enumerate(list(optimizer.variables)):
            state[f"optimizer/{index}"] = np.array(variable.numpy())
        if self.legacy and hasattr(optimizer, "dynamic_counter"):  # tf-keras keeps these apart
            state["optimizer/loss_scale"] = np.array(optimizer.loss_scale)
            state["optimizer/dynamic_counter"] = np.array(optimizer.dynamic_counter)
        return state


class TorchKit:
    """Build, drive and inspect small torch models.

    Models: ``Linear -> Linear (requires_grad=False) -> BatchNorm1d -> Linear``, every weight
    WIDTH x WIDTH. Trainable parameters: 2 weights, 2 biases, BatchNorm weight and bias.
    """

    name = "torch"

    def __init__(self) -> None:
        import torch
        self.torch = torch

    # building -----------------------------------------------------------------------------
    def optimizer(self, kind: str, params: List[Any]) -> Any:
        optim = self.torch.optim
        if kind == "sgd":
            return optim.SGD(params, lr=SGD_LR)
        if kind == "adam":
            return optim.Adam(params, lr=ADAM["lr"], betas=(ADAM["beta1"], ADAM["beta2"]), eps=ADAM["eps"])
        raise ValueError(kind)

    def model(self, dtype: str = "float32", optimizer: str = "sgd", seed: int = 0,
              scaler: Optional[Callable[[], Any]] = None) -> Any:
        """A fresh model with random (seeded) parameters and buffers, ``current_optimizer`` (with
        ``scaler = scaler()`` or ``None``) and a unique name. Same seed and dtype: same model."""
        nn = self.torch.nn
        model = nn.Sequential(nn.Linear(WIDTH, WIDTH), nn.Linear(WIDTH, WIDTH), nn.BatchNorm1d(WIDTH),
                              nn.Linear(WIDTH, WIDTH)).to(getattr(self.torch, dtype))
        model[1].requires_grad_(False)
        rng = _rng(seed)
        with self.torch.no_grad():
            for tensor in itertools.chain(model.parameters(), model.buffers()):
                if tensor.is_floating_point():
                    tensor.copy_(self.torch.from_numpy(rng.standard_normal(tuple(tensor.shape))))
                else:
                    tensor.fill_(int(rng.integers(1, 100)))
        model.current_optimizer = self.optimizer(optimizer, self.variables(model))
        model.current_optimizer.scaler = None if scaler is None else scaler()
        model.model_name = unique_name()
        return model

    # driving ------------------------------------------------------------------------------
    def variables(self, model: Any) -> List[Any]:
        return [p for p in model.parameters() if p.requires_grad]

    def gradients(self, model: Any, seed: int, scale: float = 1.0) -> List[Any]:
        rng = _rng(seed)
        return [self.torch.from_numpy(scale * rng.standard_normal(tuple(p.shape))).to(p.dtype)
                for p in self.variables(model)]

    def tensor(self, values: Any, dtype: str) -> Any:
        return self.torch.tensor(values, dtype=getattr(self.torch, dtype))

    def numpy(self, tensor: Any) -> np.ndarray:
        return tensor.detach().cpu().numpy().copy()

    def step(self, twin: Any, gradients: Sequence[Any]) -> None:
        """The expectation: ``.grad = g`` on the twin, then ``step()`` (through its scaler, if
        any, with ``update()``), then ``zero_grad(set_to_none=True)``."""
        for param, gradient in zip(self.variables(twin), gradients):
            param.grad = None if gradient is None else gradient.detach().clone()
        optimizer = twin.current_optimizer
        if optimizer.scaler is None:
            optimizer.step()
        else:
            optimizer.scaler.step(optimizer)
            optimizer.scaler.update()
        optimizer.zero_grad(set_to_none=True)

    @staticmethod
    def sum_gradients(gradient_lists: Sequence[Sequence[Any]]) -> List[Any]:
        """Element-wise sum of several gradient lists, in call order (``None`` adds nothing)."""
        def add(a: Any, b: Any) -> Any:
            return b if a is None else a if b is None else a + b
        return [functools.reduce(add, column) for column in zip(*gradient_lists)]

    # inspecting ---------------------------------------------------------------------------
    def state(self, model: Any) -> State:
        """Parameters, buffers, ``.grad``s, the optimizer state and the scaler state. Keys:
        ``trainable/<i>`` (i-th trainable parameter), ``frozen/<name>`` (frozen parameters, their
        ``.grad``, buffers), ``grad/<i>``, ``optimizer/<i>/<slot>``, ``scaler/<key>``."""
        state: State = {}
        trainable = self.variables(model)
        for index, param in enumerate(trainable):
            state[f"trainable/{index}"] = self.numpy(param)
        for name, param in model.named_parameters():
            if not any(param is p for p in trainable):
                state[f"frozen/{name}"] = self.numpy(param)
                state[f"frozen/{name}.grad"] = None if param.grad is None else self.numpy(param.grad)
        for name, buffer in model.named_buffers():
            state[f"frozen/{name}"] = self.numpy(buffer)
        for index, param in enumerate(trainable):
            state[f"grad/{index}"] = None if param.grad is None else self.numpy(param.grad)
        optimizer = getattr(model, "current_optimizer", None)
        if optimizer is None:  # EX-1 tests take the optimizer away
            return state
        for index, slots in optimizer.state_dict()["state"].items():
            for slot, value in slots.items():
                state[f"optimizer/{index}/{slot}"] = (self.numpy(value) if isinstance(value, self.torch.Tensor)
                                                      else np.array(value))
        scaler = getattr(optimizer, "scaler", None)
        if scaler is not None:
            for key, value in scaler.state_dict().items():
                state[f"scaler/{key}"] = np.array(value)
        return state


def import_torch_first() -> None:
    """Import torch before TensorFlow when both are importable (the project's rule for processes
    that use both); a process where torch is blocked or absent goes on without it."""
    if "tensorflow" not in sys.modules:
        try:
            import torch  # noqa: F401
        except ImportError:
            pass


def keras_flavour() -> Optional[str]:
    """"keras2" (tf-keras via TF_USE_LEGACY_KERAS), "keras3", or None without TensorFlow: the kit's
    one test of which Keras ``tf.keras`` is."""
    import_torch_first()
    try:
        import tensorflow as tf
    except ImportError:
        return None
    return "keras2" if tf.keras.Model.__module__.startswith("tf_keras") else "keras3"



@functools.lru_cache(maxsize=None)
def _make_kit(backend: str) -> Any:
    return {"tf": TfKit, "torch": TorchKit}[backend]()


def kit(backend: str) -> Any:
    """The kit for ``"tf"`` or ``"torch"``; skips the test when that framework cannot be imported."""
    try:
        return _make_kit(backend)
    except ImportError as error:
        pytest.skip(f"{backend} is not importable here: {error}")


# ---------------------------------------------------------------------------------------------
# Loss scaling (MP-2, MP-3)
# ---------------------------------------------------------------------------------------------

# Power-of-2 scales (unscaling is exact), growth after 2 finite steps; Keras' LossScaleOptimizer
# has growth 2 and backoff 0.5 built in, so one configuration fits both frameworks.
LOSS_SCALE = {"init_scale": 2.0 ** 4, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2}

# (seed, poison, defer) per step: poison puts inf or nan into one gradient element; defer=True
# goes through ``deferred`` and a flush right after.
TRAJECTORY = [(1, None, False), (2, None, True), (3, "inf", False), (4, None, False), (5, "nan", True),
              (6, None, False), (7, None, True), (8, None, False)]


def documented_scales(config: Mapping[str, float], overflows: Sequence[bool]) -> List[float]:
    """The dynamic loss-scale rule shared by ``GradScaler`` and Keras' ``LossScaleOptimizer``,
    once per step: an overflow multiplies the scale by ``backoff_factor`` and restarts the count;
    ``growth_interval`` finite steps in a row multiply it by ``growth_factor``. Returns the scale
    after each step (the scales used here never come near tf-keras' floor of 1)."""
    scale, streak, scales = config["init_scale"], 0, []
    for overflow in overflows:
        if overflow:
            scale, streak = scale * config["backoff_factor"], 0
        else:
            streak += 1
            if streak == config["growth_interval"]:
                scale, streak = scale * config["growth_factor"], 0
        scales.append(scale)
    return scales


# ---------------------------------------------------------------------------------------------
# Programs over several models sharing one deferred dict (DF-5)
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Op:
    """One step of a program: ``kind`` is "defer", "now" or "flush"; ``model`` indexes the models."""
    kind: str
    model: int = -1
    seed: int = 0


def run_program(update_model: Callable[..., None], backend_kit: Any, models: Sequence[Any],
                program: Sequence[Op]) -> Deferred:
    """Run ``program`` through ``update_model`` with one shared ``deferred`` dict; return the dict."""
    deferred: Deferred = {}
    for op in program:
        if op.kind == "flush":
            flush(deferred)
        else:
            model = models[op.model]
            update_model(model, backend_kit.gradients(model, op.seed), defer=op.kind == "defer",
                         deferred=deferred)
    return deferred


def run_program_on_twins(backend_kit: Any, twins: Sequence[Any], program: Sequence[Op]) -> None:
    """The documented meaning of ``program``, applied with the framework's optimizers directly.

    TF: each deferred call is one step with its own gradients, applied at the next flush in call
    order; an immediate call steps at once. torch: deferred calls accumulate; an immediate call
    steps on the accumulated sum plus its own gradients and drops the pending step; a flush steps
    each model with a pending step on its sum.
    """
    pending: Dict[int, List[List[Any]]] = {}
    for op in program:
        if op.kind == "flush":
            for index, gradient_lists in pending.items():
                if backend_kit.name == "tf":
                    for gradients in gradient_lists:
                        backend_kit.step(twins[index], gradients)
                else:
                    backend_kit.step(twins[index], backend_kit.sum_gradients(gradient_lists))
            pending.clear()
            continue
        gradients = backend_kit.gradients(twins[op.model], op.seed)
        if op.kind == "defer":
            pending.setdefault(op.model, []).append(gradients)
        elif backend_kit.name == "tf":
            backend_kit.step(twins[op.model], gradients)
        else:
            earlier = pending.pop(op.model, [])
            backend_kit.step(twins[op.model], backend_kit.sum_gradients(earlier + [gradients]))


# ---------------------------------------------------------------------------------------------
# Child processes
# ---------------------------------------------------------------------------------------------

FRAMEWORK_MODULES = {"torch": ("torch",), "tf": ("tensorflow", "keras", "tf_keras")}
EXPECT_LEGACY_KERAS = "REFERENCE_TESTS_EXPECT_LEGACY_KERAS"  # "1"/"0": which Keras a child must see
ALL_FRAMEWORK_MODULES = ("torch", "tensorflow", "keras", "tf_keras", "jax")


class HidingFinder(importlib.abc.MetaPathFinder):
    """Wraps one meta-path finder so that it does not find the named top-level packages (nor
    their submodules): to every importer, including ``importlib.util.find_spec`` (which torch
    uses to probe for tensorflow), they look not installed."""

    def __init__(self, inner: Any, roots: Iterable[str]) -> None:
        self.inner = inner
        self.roots = frozenset(roots)

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname.partition(".")[0] in self.roots:
            return None
        find_spec = getattr(self.inner, "find_spec", None)
        return None if find_spec is None else find_spec(fullname, path, target)

    def __getattr__(self, name: str) -> Any:  # invalidate_caches() and the like
        return getattr(self.inner, name)


def block_imports(roots: Iterable[str]) -> None:
    """Hide ``roots`` from every meta-path finder; refuse if one of them is already imported."""
    roots = tuple(roots)
    loaded = [name for name in roots if name in sys.modules]
    if loaded:
        raise RuntimeError(f"cannot block modules that are already imported: {loaded}")
    if roots:
        sys.meta_path[:] = [HidingFinder(finder, roots) for finder in sys.meta_path]


_CHILD_BOOTSTRAP = """\
import json, sys
sys.path.insert(0, {tests_dir!r})
import reference_helpers
reference_helpers.block_imports({blocked!r})
import pytest
code = pytest.main({args!r})
loaded = sorted(name for name in reference_helpers.ALL_FRAMEWORK_MODULES if name in sys.modules)
print(reference_helpers.CHILD_MARK + json.dumps({{"optimize": sys.flags.optimize, "loaded": loaded}}))
sys.exit(code)
"""
CHILD_MARK = "REFERENCE-TESTS-CHILD "


@dataclass(frozen=True)
class ChildResult:
    """What a child pytest run did: exit code, outcome per test id (from its JUnit XML), skip
    messages, its ``sys.flags.optimize``, the frameworks it had loaded at exit, and its output."""
    returncode: int
    outcomes: Dict[str, str]
    skip_messages: Dict[str, str]
    optimize: Optional[int]
    loaded: Optional[List[str]]
    output: str

    def count(self, outcome: str) -> int:
        return sum(1 for value in self.outcomes.values() if value == outcome)

    def describe(self) -> str:
        counts = ", ".join(f"{self.count(o)} {o}" for o in ("passed", "failed", "error", "skipped"))
        return f"exit code {self.returncode}: {counts}\n--- child output (tail) ---\n{self.output[-6000:]}"


def _junit_outcomes(junit_xml: Path) -> Tuple[Dict[str, str], Dict[str, str]]:
    outcomes: Dict[str, str] = {}
    skip_messages: Dict[str, str] = {}
    if not junit_xml.exists():
        return outcomes, skip_messages
    for case in ElementTree.parse(junit_xml).getroot().iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                if child.tag == "skipped":
                    skip_messages[test_id] = child.get("message", "")
                break
        outcomes[test_id] = outcome
    return outcomes, skip_messages


def child_env(legacy_keras: bool = False) -> Dict[str, str]:
    """The parent's environment with TF quiet and Keras 2 (tf-keras) on or off; the child's
    ``TfKit`` refuses to run under the other Keras."""
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env.pop("TF_USE_LEGACY_KERAS", None)
    if legacy_keras:
        env["TF_USE_LEGACY_KERAS"] = "1"
    env[EXPECT_LEGACY_KERAS] = "1" if legacy_keras else "0"
    return env


def run_pytest_child(pytest_args: Sequence[str], junit_xml: Path, blocked: Sequence[str] = (),
                     optimize: bool = False, env: Optional[Mapping[str, str]] = None,
                     timeout: float = 600) -> ChildResult:
    """Run ``pytest pytest_args`` in a fresh interpreter (with ``-O`` if ``optimize``) in which
    the ``blocked`` top-level modules cannot be imported; return its counts and output."""
    args = ["-q", "-p", "no:cacheprovider", f"--junitxml={junit_xml}", *pytest_args]
    code = _CHILD_BOOTSTRAP.format(tests_dir=str(TESTS_DIR), blocked=tuple(blocked), args=args)
    command = [sys.executable, *(["-O"] if optimize else []), "-c", code]
    completed = subprocess.run(command, cwd=REPO_ROOT, env=_child_env(env, optimize), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    info: Dict[str, Any] = {}
    for line in completed.stdout.splitlines():
        if line.startswith(CHILD_MARK):
            info = json.loads(line[len(CHILD_MARK):])
    outcomes, skip_messages = _junit_outcomes(junit_xml)
    return ChildResult(completed.returncode, outcomes, skip_messages, info.get("optimize"), info.get("loaded"),
                       completed.stdout)


def run_python_child(code: str, blocked: Sequence[str] = (), optimize: bool = False,
                     env: Optional[Mapping[str, str]] = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with the ``blocked`` modules unimportable."""
    prelude = (f"import sys\nsys.path.insert(0, {str(TESTS_DIR)!r})\nimport reference_helpers\n"
               f"reference_helpers.block_imports({tuple(blocked)!r})\n")
    command = [sys.executable, *(["-O"] if optimize else []), "-c", prelude + code]
    return subprocess.run(command, cwd=REPO_ROOT, env=_child_env(env, optimize), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def _child_env(env: Optional[Mapping[str, str]], optimize: bool) -> Dict[str, str]:
    """``env`` (default ``child_env()``), with the ``-O`` bytecode cache when ``optimize``."""
    from conformance.bytecode import optimized_child_env  # here: a child imports this module too
    chosen = dict(env or child_env())
    return optimized_child_env(chosen) if optimize else chosen


# ---------------------------------------------------------------------------------------------
# Witness fixtures: the tiny dyadic models of the mutants' scenarios (tests/mutants/_scenarios.py)
# ---------------------------------------------------------------------------------------------
def value_pattern(shape: Tuple[int, ...], offset: int, step: float) -> np.ndarray:
    size = int(np.prod(shape)) if shape else 1
    return ((np.arange(size) + offset) % 7 - 3).reshape(shape) * step


def gradient_pattern(shape: Tuple[int, ...], index: int, k: float) -> np.ndarray:
    size = int(np.prod(shape)) if shape else 1
    return ((np.arange(size) % 5) + 1 + index).reshape(shape) * (0.25 * k)


# ---------------------------------------------------------------------------- torch fixtures
def torch_module():
    import torch
    return torch


def torch_net(optimizer: str = "sgd", *, dtype: str = "float32", bn: bool = False, frozen: bool = False,
              scaler: Optional[str] = None, scaler_attr: bool = True, device: str = "cpu",
              name: str = "net", over: str = "trainable", nested: bool = False) -> Any:
    """Linear(3,4) [BatchNorm1d(4)] Linear(4,2), dyadic weights, ``current_optimizer`` attached,
    built over the trainable parameters (``over="trainable"``), over ``model.parameters()`` as
    ``fe.build`` does (``"all"``), or over every parameter in two groups, weights then the 1-d
    ones (``"groups"``). ``nested``: the last Linear inside a sub-``Sequential``."""
    torch = torch_module()
    last = torch.nn.Sequential(torch.nn.Linear(4, 2)) if nested else torch.nn.Linear(4, 2)
    layers = [torch.nn.Linear(3, 4)] + ([torch.nn.BatchNorm1d(4)] if bn else []) + [last]
    net = torch.nn.Sequential(*layers).to(dtype=getattr(torch, dtype), device=device)
    torch_dyadic_weights(net)
    if frozen:
        net[0].bias.requires_grad_(False)
    params: Any = [p for p in net.parameters() if p.requires_grad]
    if over == "all":
        params = list(net.parameters())
    elif over == "groups":
        params = [{"params": [p for p in net.parameters() if p.dim() > 1]},
                  {"params": [p for p in net.parameters() if p.dim() <= 1]}]
    net.current_optimizer = torch_optimizer(optimizer, params)
    if scaler_attr:
        net.current_optimizer.scaler = torch_scaler(scaler)
    net.model_name = name
    return net


def torch_dyadic_weights(net: Any) -> None:
    """Every parameter of ``net`` set to its dyadic ``value_pattern`` (``parameters()`` order)."""
    torch = torch_module()
    with torch.no_grad():
        for index, param in enumerate(net.parameters()):
            param.copy_(torch.as_tensor(value_pattern(tuple(param.shape), index, 0.125), dtype=param.dtype))


def torch_optimizer(kind: str, params: Any) -> Any:
    """``"sgd"`` (lr 0.5), ``"momentum"`` (lr 0.5, momentum 0.5) or ``"adam"`` (lr 0.125) over ``params``."""
    torch = torch_module()
    builders = {
        "sgd": lambda: torch.optim.SGD(params, lr=0.5),
        "momentum": lambda: torch.optim.SGD(params, lr=0.5, momentum=0.5),
        "adam": lambda: torch.optim.Adam(params, lr=0.125),
    }
    return builders[kind]()


def torch_scaler(kind: Optional[str]) -> Any:
    torch = torch_module()
    if kind is None:
        return None
    if kind == "amp":
        scaler = torch.amp.GradScaler("cpu", init_scale=16.0, growth_interval=2)
        scaler.scale(torch.ones(()))  # creates the scale tensor, as the caller's scaler.scale(loss) would
        return scaler
    with warnings.catch_warnings():  # "CUDA not available, disabling": the point of this scaler
        warnings.simplefilter("ignore")
        return torch.cuda.amp.GradScaler()


def torch_grads(net: Any, k: float = 1.0) -> List[Any]:
    torch = torch_module()
    params = [p for p in net.parameters() if p.requires_grad]
    return [torch.as_tensor(gradient_pattern(tuple(p.shape), i, k), dtype=p.dtype, device=p.device)
            for i, p in enumerate(params)]


def numpy_copy(tensor: Any) -> np.ndarray:
    return tensor.detach().cpu().numpy().copy()


def torch_state(net: Any, grads: bool = True) -> Dict[str, Any]:
    """Parameters, buffers and ``.grad`` (None for a cleared one: None or all zeros)."""
    state = {"params": [numpy_copy(p) for p in net.parameters()],
             "buffers": [numpy_copy(b) for b in net.buffers()]}
    if grads:
        state["grads"] = [None if p.grad is None or not bool(p.grad.any()) else numpy_copy(p.grad)
                          for p in net.parameters()]
    return state


def intact(snapshot: List[Any], gradients: List[Any]) -> bool:
    """The caller's gradient tensors still hold their values (CC-4)."""
    torch = torch_module()
    return all(g is None or torch.equal(s, g) for s, g in zip(snapshot, gradients))


def clones(gradients: List[Any]) -> List[Any]:
    return [None if g is None else g.clone() for g in gradients]


# ---------------------------------------------------------------------------- TF fixtures
def tf_module():
    import tensorflow as tf
    return tf


def tf_optimizer(kind: str) -> Any:
    keras = tf_module().keras
    if kind == "sgd":
        return keras.optimizers.SGD(learning_rate=0.5)
    if kind == "momentum":
        return keras.optimizers.SGD(learning_rate=0.5, momentum=0.5)
    if kind == "adam":
        return keras.optimizers.Adam(learning_rate=0.125)
    if kind == "adagrad":
        return keras.optimizers.Adagrad(learning_rate=0.125)
    if kind == "lso":
        return keras.mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(learning_rate=0.5),
                                                        initial_scale=16.0, dynamic_growth_steps=2)
    raise ValueError(kind)


def tf_net(optimizer: str = "sgd", *, dtype: str = "float32", bn: bool = False, frozen: bool = False,
           embedding: bool = False, name: str = "net") -> Any:
    """Dense(4) [BatchNormalization] Dense(2) on 3 inputs, or Embedding(5,2)-Flatten-Dense(2)."""
    keras = tf_module().keras
    layers = keras.layers
    if embedding:
        stack = [keras.Input((2,), dtype="int32"), layers.Embedding(5, 2), layers.Flatten(), layers.Dense(2)]
    else:
        stack = ([keras.Input((3,), dtype=dtype), layers.Dense(4, dtype=dtype)]
                 + ([layers.BatchNormalization(dtype=dtype)] if bn else []) + [layers.Dense(2, dtype=dtype)])
    net = keras.Sequential(stack)
    tf_dyadic_weights(net)
    if frozen:
        net.layers[0].trainable = False
    net.current_optimizer = tf_optimizer(optimizer)
    net.model_name = name
    return net


def tf_dyadic_weights(net: Any) -> None:
    """Every variable of ``net`` set to its dyadic ``value_pattern`` (``weights`` order)."""
    for index, variable in enumerate(net.weights):
        variable.assign(value_pattern(tuple(variable.shape), index, 0.125))


def tf_grads(net: Any, k: float = 1.0) -> List[Any]:
    tf = tf_module()
    return [tf.constant(gradient_pattern(tuple(v.shape), i, k), dtype=v.dtype)
            for i, v in enumerate(net.trainable_variables)]


def tf_state(net: Any) -> Dict[str, Any]:
    optimizer = net.current_optimizer
    return {"variables": [np.array(v.numpy()) for v in net.weights],
            "iterations": int(optimizer.iterations.numpy())}


def tied_net(backend: str, optimizer: str = "sgd", name: str = "net") -> Any:
    """Embedding(6, 2), Flatten, a dense layer of 2, then 6 logits through the embedding's own matrix
    (weights tied between two layers): the suite's ``Structure(tied_output=True)``, built by its
    adapter, with dyadic weights and ``current_optimizer`` attached (``torch_optimizer``/``tf_optimizer``)."""
    import_torch_first()
    from conformance.adapters import load
    from conformance.model_specs import Layer, ModelRequest, Structure
    structure = Structure(stem="tokens", stem_width=2, layers=(Layer("dense", 2),), tied_output=True)
    net = load(backend).bare_model(ModelRequest(arch="structure", structure=structure))
    if backend == "torch":
        torch_dyadic_weights(net)
        net.current_optimizer = torch_optimizer(optimizer, list(net.parameters()))
        net.current_optimizer.scaler = None
    else:
        tf_dyadic_weights(net)
        net.current_optimizer = tf_optimizer(optimizer)
    net.model_name = name
    return net


def lso_scale(optimizer: Any) -> float:
    scale = getattr(optimizer, "dynamic_scale", None)  # Keras 3 (after build)
    if scale is None:
        scale = getattr(optimizer, "loss_scale", None)  # tf-keras
    return float(scale.numpy()) if scale is not None else float(optimizer.initial_scale)


# ---------------------------------------------------------------------------------------------
# Probes for the adapters' own tests (tests/test_engine_adapters.py): framework-level reads and
# pokes on models an adapter built, written without the adapter so that they can judge it
# ---------------------------------------------------------------------------------------------
def first_layers_output(backend: str, model: Any, arch: str, x: np.ndarray) -> np.ndarray:
    """The output, in Keras layout, of the layers whose weights the canonical layout maps: the whole
    dense model; the conv model's convolution only (Keras flattens NHWC, torch NCHW, so the
    following dense weights see features in another order: that layer is not comparable)."""
    if backend == "tf":
        layer = model if arch == "dense" else model.layers[0]
        return np.asarray(layer(x, training=False))
    torch = torch_module()
    layer = model if arch == "dense" else model[0]
    inputs = torch.as_tensor(np.ascontiguousarray(x if arch == "dense" else x.transpose(0, 3, 1, 2)))
    with torch.no_grad():
        out = layer(inputs).numpy()
    return out if arch == "dense" else out.transpose(0, 2, 3, 1)


def shift_first_statistic(backend: str, model: Any) -> None:
    """Add 1 to the float32 model's first non-trainable statistic (a BatchNorm running mean)."""
    if backend == "tf":
        statistic = model.non_trainable_variables[0]
        statistic.assign_add(np.ones(statistic.shape, "float32"))
        return
    torch = torch_module()
    with torch.no_grad():
        next(iter(model.buffers())).add_(1.0)


def torch_perturb(model: Any, what: str) -> None:
    """Change one thing of a torch model a little: ``"weight"`` (its first), ``"zero grads"`` (every
    trainable parameter's ``.grad`` zeros instead of ``None``), ``"slot"`` (its optimizer's first
    ``exp_avg``), ``"buffer"`` (its first)."""
    torch = torch_module()
    with torch.no_grad():
        if what == "weight":
            next(model.parameters()).view(-1)[0] += 1e-3
        elif what == "zero grads":
            for p in model.parameters():
                if p.requires_grad:
                    p.grad = torch.zeros_like(p)
        elif what == "slot":
            next(iter(model.current_optimizer.state.values()))["exp_avg"].view(-1)[0] += 1e-3
        elif what == "buffer":
            next(model.buffers()).view(-1)[0] += 1e-3
        else:
            raise ValueError(what)
