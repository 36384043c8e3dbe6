"""TensorFlow adapter: Keras 3, or Keras 2 (tf-keras) when ``TF_USE_LEGACY_KERAS=1``. Imports only TF."""
from __future__ import annotations

import os
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402

from conformance import optimizers, oracle  # noqa: E402
from conformance.adapters.base import Adapter, Arrays, Deferred, Pair, Snapshot  # noqa: E402
from conformance.cases import Case, Result  # noqa: E402
from conformance.model_specs import EMBEDDING_VOCAB, ModelRequest, Structure  # noqa: E402

keras = tf.keras
IS_KERAS2 = not keras.__name__.startswith("keras")
#: Eager ``apply_gradients`` costs ~10 ms, a traced one ~0.6 ms a call but ~140 ms to trace (Keras
#: 3.15 on a 2-core CPU machine): the twin's update for one (model pair, gradients present)
#: is compiled on its Nth use, when the trace has nearly paid for itself.
COMPILE_TWIN_AFTER_USES = 12


#: Which Keras ``tf.keras`` is in this process: ``"keras3"``, or ``"tf_keras"`` (Keras 2, with
#: ``TF_USE_LEGACY_KERAS=1``). The one place the project detects it.
FLAVOUR = "tf_keras" if IS_KERAS2 else "keras3"


def _layers(arch: str, dtype: str) -> List[Any]:
    L = keras.layers
    if arch == "dense":
        return [keras.Input((3,), dtype=dtype), L.Dense(4, dtype=dtype), L.Dense(2, dtype=dtype)]
    if arch == "frozen":
        return [keras.Input((3,), dtype=dtype), L.Dense(4, dtype=dtype, trainable=False),
                L.Dense(2, dtype=dtype)]
    if arch == "batchnorm":
        return [keras.Input((3,), dtype=dtype), L.Dense(4, dtype=dtype),
                L.BatchNormalization(dtype=dtype), L.Dense(2, dtype=dtype)]
    if arch == "embedding":
        return [keras.Input((2,), dtype="int32"), L.Embedding(EMBEDDING_VOCAB, 3, dtype=dtype),
                L.Flatten(dtype=dtype), L.Dense(2, dtype=dtype)]
    if arch == "conv":
        return [keras.Input((4, 4, 1), dtype=dtype), L.Conv2D(2, 3, dtype=dtype),
                L.Flatten(dtype=dtype), L.Dense(2, dtype=dtype)]
    raise ValueError(f"unknown architecture {arch!r}")


def _structure_model(structure: Structure, dtype: str) -> Any:
    """A drawn structure as a functional Keras model (a shared layer is called twice)."""
    L = keras.layers
    if structure.stem == "vector":
        inputs = x = keras.Input((3,), dtype=dtype)
    elif structure.stem == "image":
        inputs = keras.Input((4, 4, 1), dtype=dtype)
        x = L.Flatten(dtype=dtype)(L.Conv2D(structure.stem_width, 3, dtype=dtype,
                                            trainable=not structure.stem_frozen)(inputs))
    else:
        inputs = keras.Input((2,), dtype="int32")
        embedding = L.Embedding(EMBEDDING_VOCAB, structure.stem_width, dtype=dtype,
                                trainable=not structure.stem_frozen)
        x = L.Flatten(dtype=dtype)(embedding(inputs))
    layers = [L.Dense(s.width, dtype=dtype, trainable=not s.frozen) if s.kind == "dense"
              else L.BatchNormalization(dtype=dtype, trainable=not s.frozen) for s in structure.layers]
    a, b = structure.nested
    index = 0
    while index < len(layers):
        if a < b and index == a:
            inner = keras.Sequential(layers[a:b])
            inner.trainable = not structure.nested_frozen
            x, index = inner(x), b
            continue
        x = layers[index](x)
        if structure.layers[index].shared:
            x = layers[index](x)
        index += 1
    if structure.tied_output:
        head = _TiedOutput(embedding, dtype=dtype)
        head.trainable = not structure.stem_frozen  # and so the embedding it holds, as it already is
        x = head(x)
    return keras.Model(inputs, x)


class _TiedOutput(keras.layers.Layer):
    """Logits over the embedding's vocabulary: ``x @ embeddings.T + bias``, the kernel being the
    embedding layer's own matrix (weights tied between two layers). The embedding layer is one of
    this layer's sublayers, so the model lists the matrix once, where the embedding stands, and
    freezing this layer freezes the embedding too (as freezing the torch head freezes its tied
    ``Parameter``)."""

    def __init__(self, embedding: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.embedding = embedding

    def build(self, input_shape: Any) -> None:
        self.bias = self.add_weight(name="bias", shape=(EMBEDDING_VOCAB,), initializer="zeros", dtype=self.dtype)
        super().build(input_shape)

    def call(self, inputs: Any) -> Any:
        return tf.matmul(inputs, tf.convert_to_tensor(self.embedding.embeddings), transpose_b=True) + self.bias


def _new_model(request: ModelRequest) -> Any:
    if request.structure is not None:
        return _structure_model(request.structure, request.dtype)
    return keras.Sequential(_layers(request.arch, request.dtype))


def _optimizer(request: ModelRequest) -> Any:
    optimizer = optimizers.get(request.optimizer).keras(keras.optimizers)
    if request.scaler == "lso":
        optimizer = keras.mixed_precision.LossScaleOptimizer(
            optimizer, initial_scale=request.initial_scale, dynamic_growth_steps=request.growth_interval)
    elif request.scaler is not None:
        raise ValueError(f"TF models take scaler None or 'lso', not {request.scaler!r}")
    return optimizer


#: tf-keras optimizer state that lives outside ``variables``: Nadam's ``_u_product`` is a bare
#: ``tf.Variable`` (tf-keras 2.21 ``nadam.py``); Keras 3 tracks its own among the variables.
_UNLISTED_VARIABLES = ("_u_product",)
#: ... and in Python attributes: Nadam counts the steps whose ``_u_product`` it has computed, and
#: recomputes it only when that count is behind ``iterations``, so a reset of ``iterations`` alone
#: would leave every later step on a stale product.
_PYTHON_STATE = ("_u_product_counter",)


def _optimizer_chain(optimizer: Any) -> List[Any]:
    """The optimizer and the ones it wraps (a ``LossScaleOptimizer``'s ``inner_optimizer``)."""
    chain = []
    while optimizer is not None and all(optimizer is not seen for seen in chain):
        chain.append(optimizer)
        optimizer = getattr(optimizer, "inner_optimizer", None)
    return chain


def _optimizer_variables(optimizer: Any) -> List[Any]:
    """Every variable of the optimizer's state. tf-keras' ``LossScaleOptimizer.variables`` leaves out
    its loss-scale state (scale, good-step counter), and tf-keras' Nadam its ``_u_product``: those
    are added, so resets and snapshots see them."""
    variables = optimizer.variables
    found = list(variables() if callable(variables) else variables)
    loss_scale_weights = getattr(getattr(optimizer, "_loss_scale", None), "_weights", None)
    if isinstance(loss_scale_weights, dict):
        found += [v for _, v in sorted(loss_scale_weights.items(), key=lambda item: str(item[0]))]
    listed = {id(v) for v in found}
    for part in _optimizer_chain(optimizer):
        for name in _UNLISTED_VARIABLES:
            variable = getattr(part, name, None)
            if variable is not None and id(variable) not in listed:
                found.append(variable)
                listed.add(id(variable))
    return found


def _python_state(optimizer: Any) -> List[Tuple[Any, str, Any]]:
    """(optimizer, attribute, value) of the optimizer's state kept in Python (``_PYTHON_STATE``)."""
    return [(part, name, getattr(part, name)) for part in _optimizer_chain(optimizer)
            for name in _PYTHON_STATE if hasattr(part, name)]


def _np_dtype(variable: Any) -> np.dtype:
    """A variable's dtype as NumPy's (Keras 3 gives a string, tf-keras a ``tf.DType``)."""
    return np.dtype(getattr(variable.dtype, "name", variable.dtype))


def _resource(variable: Any) -> Optional[Any]:
    """The ``tf.Variable`` that holds ``variable``'s value: itself (tf-keras, bare TF), the one a
    Keras 3 variable wraps, or ``None`` (anything else)."""
    if isinstance(variable, tf.Variable):
        return variable
    inner = getattr(variable, "value", None)
    return inner if isinstance(inner, tf.Variable) else None


def _read(variable: Any) -> np.ndarray:
    """A copy of ``variable``'s value, read by one ``ReadVariableOp`` on its resource: the op that
    ``.numpy()`` runs too, without its Python wrappers (name scopes, tape checks; about a third of
    the time of ``.numpy()`` on a small Keras 3 variable). Other objects are read with ``.numpy()``."""
    resource = _resource(variable)
    if resource is None:
        return np.array(variable.numpy())
    return _READ_VARIABLE(resource=resource.handle, dtype=resource.dtype).numpy().copy()


def _read_all(variables: Sequence[Any]) -> List[np.ndarray]:
    """Copies of the values of ``variables``, in order: one ``_ReadVariablesOp`` (TensorFlow's read of
    several resource variables in one op) for all of them, about a quarter of the time of one
    ``ReadVariableOp`` each on a dozen small variables. Where that op is missing or refuses (another
    TensorFlow, variables on several devices) or a variable has no resource, each is read by
    :func:`_read`: the same values either way."""
    global _EAGER_EXECUTE
    resources = [_resource(v) for v in variables]
    if _EAGER_EXECUTE is not None and resources and all(r is not None for r in resources):
        try:
            values = _EAGER_EXECUTE.execute(b"_ReadVariablesOp", len(resources),
                                            inputs=[r.handle for r in resources],
                                            attrs=("N", len(resources), "dtypes",
                                                   [r.dtype.as_datatype_enum for r in resources]),
                                            ctx=_EAGER_CONTEXT.context())
            return [value.numpy().copy() for value in values]
        except Exception:  # noqa: BLE001 - any refusal: read them one by one from now on
            _EAGER_EXECUTE = None
    return [_read(v) for v in variables]


def _write(variable: Any, value: np.ndarray) -> None:
    """``variable.assign(value)`` by one ``AssignVariableOp`` on its resource, about half the time of
    Keras 3's ``assign``. ``value`` must have the variable's shape and dtype: the op refuses others
    (``validate_shape``, and the resource's dtype), as ``assign`` does. TF copies ``value``: later
    updates of the variable never write into the array."""
    resource = _resource(variable)
    if resource is None:
        variable.assign(value)
        return
    _ASSIGN_VARIABLE(resource=resource.handle, value=value, validate_shape=True)


_READ_VARIABLE = tf.raw_ops.ReadVariableOp
_ASSIGN_VARIABLE = tf.raw_ops.AssignVariableOp
#: TensorFlow's eager op executor (``_ReadVariablesOp`` is not in ``tf.raw_ops``); ``None`` where it
#: cannot be imported, or once that op has been refused (``_read_all`` then reads one by one).
try:
    from tensorflow.python.eager import context as _EAGER_CONTEXT, execute as _EAGER_EXECUTE  # noqa: E402
except ImportError:  # pragma: no cover - another TensorFlow layout
    _EAGER_EXECUTE = _EAGER_CONTEXT = None


def _tf_device(request: ModelRequest) -> str:
    """The TensorFlow device ``request``'s models and optimizers live on."""
    return "/GPU:0" if request.device == "cuda" else "/CPU:0"


def _is_built(optimizer: Any) -> bool:
    """Whether ``optimizer`` (or the one a loss-scale wrapper holds) has built its variables:
    Keras 3's ``built``, tf-keras' ``_built``."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    return bool(getattr(inner, "built", getattr(inner, "_built", False)))


def _build_optimizer(optimizer: Any, variables: List[Any]) -> None:
    if not _is_built(optimizer):
        optimizer.build(variables)


class KerasAdapter(Adapter):
    backend = "tf"
    flavour = FLAVOUR
    loss_scaler = "lso"
    takes_scaled_gradients = not IS_KERAS2  # tf-keras' LossScaleOptimizer scales the gradients itself
    sparse_gradients = True

    def __init__(self) -> None:
        super().__init__()
        self._names = 0
        # Building a Keras model costs ~30 ms: one model pair per (arch, dtype, device, index) serves
        # every optimizer; each request gets its own optimizers, swapped in at reset.
        self._models: Dict[Tuple[Any, ...], Tuple[Any, Any]] = {}

    def _model_pair(self, request: ModelRequest, index: int, fresh: bool) -> Tuple[Any, Any]:
        key = (request.arch, request.structure, request.dtype, request.device, index)
        if fresh or key not in self._models:
            model, twin = (_new_model(request) for _ in range(2))
            for built in (model, twin):
                built.built_trainable = [layer.trainable for layer in built.layers]  # restored at reset
            self._names += 1
            model.model_name = twin.model_name = f"tf_{request.arch}_{self._names}"
            if fresh:
                return model, twin
            self._models[key] = (model, twin)
        for model in self._models[key]:  # another request's example may have changed it
            _restore_trainability(model)
        return self._models[key]

    def _build(self, request: ModelRequest, index: int, prebuild: bool) -> Pair:
        if request.device not in self.devices():
            raise RuntimeError(f"{request.device} requested but TensorFlow sees no such device")
        with tf.device(_tf_device(request)):
            return self._build_on_device(request, index, prebuild)

    def _build_on_device(self, request: ModelRequest, index: int, prebuild: bool) -> Pair:
        model, twin = self._model_pair(request, index, fresh=not prebuild)
        pair = Pair(request, model, twin, index, optimizer=_optimizer(request), twin_optimizer=_optimizer(request))
        _build_optimizer(pair.twin_optimizer, twin.trainable_variables)
        # an "unbuilt" request's model gets a new optimizer at every reset (see _reset)
        prebuild_own = prebuild and request.optimizer_params != "unbuilt"
        if prebuild_own:
            _build_optimizer(pair.optimizer, model.trainable_variables)
            pair.initial_optimizer_state = _read_all(_optimizer_variables(pair.optimizer))
        pair.twin_initial_optimizer_state = _read_all(_optimizer_variables(pair.twin_optimizer))
        # restored at every reset; an optimizer not built yet has none
        pair.initial_python_state = (_python_state(pair.optimizer) if prebuild_own else []) + \
            _python_state(pair.twin_optimizer)
        if prebuild:  # reused across examples: the twin's update is compiled once it pays off
            # tf-keras' Nadam caches u_product on the Python side, so its tf.function update differs
            # from eager: the twin stays eager there (the implementation is called eagerly)
            pair.compiled_twin_apply = {} if not IS_KERAS2 else None
            pair.twin_apply_uses = {}
            pair.xm1_traces = {}  # XM-1's traced calls, see compiled_updates
        return pair

    def _reset(self, pair: Pair, seed: int, fresh: bool) -> None:
        """Weights from ``seed``, optimizers as built. An ``"unbuilt"`` request's model gets a new
        optimizer, which the implementation's first update builds; its twin's stays built, reset to
        the state it had when built, which is what a new optimizer's first update builds."""
        pair.model.current_optimizer = pair.optimizer
        if pair.request.optimizer_params == "unbuilt" and not fresh:
            with tf.device(_tf_device(pair.request)):
                pair.model.current_optimizer = _optimizer(pair.request)
        pair.twin.current_optimizer = pair.twin_optimizer
        for model in (pair.model, pair.twin):
            _restore_trainability(model)
        model_rng = np.random.default_rng(seed)  # model and twin are built alike: one draw serves both
        values = [model_rng.normal(0.0, 0.5, v.shape).astype(_np_dtype(v)) for v in pair.model.trainable_variables]
        values += [model_rng.uniform(0.5, 1.5, v.shape).astype(_np_dtype(v)) for v in pair.model.non_trainable_variables]
        values += values
        variables = (list(pair.model.trainable_variables) + list(pair.model.non_trainable_variables)
                     + list(pair.twin.trainable_variables) + list(pair.twin.non_trainable_variables))
        if pair.initial_optimizer_state is not None:
            variables += _optimizer_variables(pair.optimizer)
            values += list(pair.initial_optimizer_state)
        variables += _optimizer_variables(pair.twin_optimizer)
        values += list(pair.twin_initial_optimizer_state)
        for variable, value in zip(variables, values):
            _write(variable, value)
        for optimizer, name, value in pair.initial_python_state:
            setattr(optimizer, name, value)

    def trainable_shapes(self, pair: Pair) -> List[Tuple[int, ...]]:
        return [tuple(v.shape) for v in pair.model.trainable_variables]

    def layers_trainable(self, pair: Pair) -> List[bool]:
        return [layer.trainable for layer in _weighted_layers(pair.model)]

    def may_set_trainable(self, pair: Pair, layer: int, trainable: bool) -> bool:
        """Keras optimizers refuse variables they were not built with (Keras 3 raises; tf-keras
        has no slots for them), so a layer is made trainable again only if it was trainable when
        the optimizers were built. An optimizer the implementation's first update builds is left
        alone until then: that update builds it on the layers trainable at reset, as the twin's was.
        Freezing is always allowed: a deferred update keeps the variables it was given at call time."""
        if not _is_built(pair.model.current_optimizer):
            return False
        return not trainable or pair.model.built_trainable[pair.model.layers.index(_weighted_layers(pair.model)[layer])]

    def set_trainable(self, pair: Pair, layer: int, trainable: bool) -> None:
        for model in (pair.model, pair.twin):
            _weighted_layers(model)[layer].trainable = trainable

    def sparse_index(self, pair: Pair) -> Optional[int]:
        """The first trainable variable that only embeddings use (a matrix tied to an output layer
        has a dense gradient: the lookup's rows plus the output layer's whole matrix)."""
        embedded = {id(w) for layer in pair.model.layers if isinstance(layer, keras.layers.Embedding)
                    for w in layer.weights}
        embedded -= {id(w) for layer in pair.model.layers if not isinstance(layer, keras.layers.Embedding)
                     for w in layer.weights}
        return next((i for i, v in enumerate(pair.model.trainable_variables) if id(v) in embedded), None)

    def environment(self) -> Dict[str, Any]:
        return {"tensorflow": tf.__version__, "keras": keras.__version__
                if hasattr(keras, "__version__") else "unknown", "keras_flavour": FLAVOUR,
                "tf_devices": [d.name for d in tf.config.list_physical_devices()]}

    def devices(self) -> List[str]:
        return ["cpu", "cuda"] if tf.config.list_physical_devices("GPU") else ["cpu"]

    def gradients(self, pair: Pair, arrays: Arrays, sparse_rows: Optional[Sequence[int]] = None) -> List[Any]:
        dtype = pair.request.dtype
        tensors: List[Any] = [None if a is None else tf.constant(a, dtype=dtype) for a in arrays]
        index = self.sparse_index(pair)
        if sparse_rows is not None and index is not None and arrays[index] is not None:
            tensors[index] = _as_indexed_slices(arrays[index], sparse_rows, dtype)
        return tensors

    def tensor_values(self, tensors: Sequence[Any]) -> Arrays:
        return [None if t is None else tf.convert_to_tensor(t).numpy().copy() for t in tensors]

    def twin_update(self, pair: Pair, arrays: Arrays, defer: bool, deferred: Deferred) -> None:
        twin = pair.twin
        optimizer = twin.current_optimizer
        present = tuple(a is not None for a in arrays)
        variables = [v for v, p in zip(twin.trainable_variables, present) if p]
        key = (present, tuple(id(v) for v in variables))  # a compiled update holds its variables
        grads = [tf.constant(a, dtype=v.dtype) for a, v in zip(arrays, twin.trainable_variables) if a is not None]
        compiled = getattr(pair, "compiled_twin_apply", None)
        if compiled is not None and key not in compiled:
            uses = pair.twin_apply_uses[key] = pair.twin_apply_uses.get(key, 0) + 1
            if uses >= COMPILE_TWIN_AFTER_USES:
                # the eager update within the twin tolerance (docs/framework-facts.md, F2), far cheaper
                compiled[key] = tf.function(lambda g: optimizer.apply_gradients(zip(g, variables)))
        function = compiled.get(key) if compiled is not None else None

        def step() -> None:
            if not grads:
                return
            if function is not None:
                function(grads)
            else:
                optimizer.apply_gradients(list(zip(grads, variables)))

        if defer:
            deferred.setdefault(pair.name, []).append(step)
        else:
            step()

    def bare_model(self, request: ModelRequest) -> Any:
        return _new_model(request)

    @staticmethod
    def read_variables(variables: Sequence[Any]) -> List[np.ndarray]:
        """Copies of the values of ``variables``, read as snapshots read them (the benchmark's bare
        replay reads the same way)."""
        return _read_all(variables)

    @staticmethod
    def write_variable(variable: Any, value: np.ndarray) -> None:
        """``variable.assign(value)`` as resets write (``value`` of the variable's shape and dtype)."""
        _write(variable, value)

    @staticmethod
    def bare_optimizer(request: ModelRequest) -> Any:
        """``request``'s optimizer (in its ``LossScaleOptimizer`` when loss-scaled), not built."""
        return _optimizer(request)

    @staticmethod
    def optimizer_variables(optimizer: Any) -> List[Any]:
        """Every variable of ``optimizer``'s state, the ones Keras does not list included."""
        return _optimizer_variables(optimizer)

    def apply_case(self, entry: Any, case: Case) -> Result:
        return _apply_case(entry, case)

    def compiled_updates(self, pair: Pair, call: Any, gradient_lists: Sequence[Arrays], defer: bool,
                         reuse_key: Any = None) -> None:
        _compiled_updates(pair, call, gradient_lists, defer, reuse_key)

    def page_namespace(self, seed: int) -> Dict[str, Any]:
        keras.utils.set_random_seed(seed)
        return {"tf": tf}

    def trainable_values(self, model: Any) -> Arrays:
        return _read_all(model.trainable_variables)

    def scalar(self, value: Any) -> float:
        return float(np.asarray(value))

    def snapshot(self, model: Any) -> Snapshot:
        optimizer = model.current_optimizer
        optimizer_vars = _optimizer_variables(optimizer) if hasattr(optimizer, "variables") else []
        scale = getattr(optimizer, "dynamic_scale", None)
        if scale is None:
            scale = getattr(optimizer, "loss_scale", None)
        weights, frozen = list(model.trainable_variables), list(model.non_trainable_variables)
        counter = [optimizer.iterations] if hasattr(optimizer, "iterations") else []
        values = _read_all(weights + frozen + optimizer_vars + counter)  # one op reads them all
        cuts = np.cumsum([len(weights), len(frozen), len(optimizer_vars)])
        return Snapshot(
            weights=values[:cuts[0]],
            frozen=values[cuts[0]:cuts[1]],
            slots={"optimizer": values[cuts[1]:cuts[2]]},
            iterations=int(values[cuts[2]]) if counter else None,
            scale=None if scale is None else float(tf.convert_to_tensor(scale).numpy()),
            devices=sorted({_device_kind(_variable_device(v)) for v in model.variables}),
        )


def _restore_trainability(model: Any) -> None:
    """Every layer trainable or frozen as the request built it."""
    for layer, trainable in zip(model.layers, model.built_trainable):
        layer.trainable = trainable


def _weighted_layers(model: Any) -> List[Any]:
    """The model's layers that own weights, in model order."""
    return [layer for layer in model.layers if layer.weights]


def _variable_device(variable: Any) -> str:
    """Where a variable lives (Keras 3 wraps a ``tf.Variable`` in ``.value``)."""
    device = getattr(variable, "device", None)
    if device is None:
        device = getattr(getattr(variable, "value", None), "device", "")
    return device or ""


def _device_kind(name: str) -> str:
    """``"/job:localhost/replica:0/task:0/device:GPU:0"`` -> ``"cuda:0"``; CPU -> ``"cpu"``."""
    return f"cuda:{name.rsplit(':', 1)[-1]}" if "GPU" in name.upper() else "cpu"


def _as_indexed_slices(dense: np.ndarray, rows: Sequence[int], dtype: str) -> tf.IndexedSlices:
    """``IndexedSlices`` holding row ``dense[r]`` once per occurrence of ``r`` in ``rows``."""
    rows = [int(r) % dense.shape[0] for r in rows]
    return tf.IndexedSlices(values=tf.constant(np.stack([dense[r] for r in rows]), dtype=dtype),
                            indices=tf.constant(rows, dtype=tf.int64),
                            dense_shape=tf.constant(dense.shape, dtype=tf.int64))


warnings.filterwarnings("ignore", message=".*Gradients do not exist.*")
ADAPTER_CLASS = KerasAdapter


def _compiled_updates(pair: Pair, call: Any, gradient_lists: Sequence[Arrays], defer: bool,
                      reuse_key: Any = None) -> None:
    """XM-1: inside one ``tf.function``, call ``call(model, gradients, defer=..., deferred=...)``
    once per gradient list and, when deferring, flush the callables inside the same function.

    With ``reuse_key`` (identifying the implementation) and a pair reused across examples, the traced
    function is kept on the pair per (key, defer, number of calls) and later examples run the same
    graph on their own gradient values: the implementation's Python runs once per trace, as under
    any ``tf.function``, and each example still compares the compiled update with the eager twin."""
    model = pair.model
    dtype = pair.request.dtype
    tensors = [[tf.constant(a, dtype=dtype) for a in arrays] for arrays in gradient_lists]
    traces = getattr(pair, "xm1_traces", None) if reuse_key is not None else None
    key = (reuse_key, defer, len(gradient_lists), id(model.current_optimizer))
    if traces is not None and key in traces:
        traces[key](tensors)
        return
    call = tf.autograph.experimental.do_not_convert(call)  # the suite's wrapper is not graph code

    @tf.function
    def step(all_gradients: Any) -> None:
        deferred: Dict[str, list] = {}
        for gradients in all_gradients:
            call(model, list(gradients), defer=defer, deferred=deferred)
        for callables in list(deferred.values()):
            for fn in callables:
                fn()

    step(tensors)
    if traces is not None:
        traces[key] = step  # kept only once it has run without error


# -- optimizer cases (the parity measurements) ---------------------------------------------------
#: tf-keras names some slots differently from Keras 3 (which the oracle's Keras flavours use).
_TF_KERAS_SLOT_ALIASES = {"momentum": "m", "velocity": "v", "velocity_hat": "vhat", "norm": "u"}


def _apply_case(entry: Any, case: Case) -> Result:
    """Apply ``case`` with ``entry.keras`` (through a ``LossScaleOptimizer`` when the case has a
    loss scale: Keras 3 is handed grads x its current scale, tf-keras the unscaled grads)."""
    legacy = IS_KERAS2
    tf_dtype = tf.as_dtype(case.dtype)
    variables = [tf.Variable(w.astype(case.dtype), dtype=tf_dtype, name=f"w{i}")
                 for i, w in enumerate(case.weights)]
    inner = entry.keras(keras.optimizers)
    optimizer = inner
    spec = case.loss_scale
    if spec is not None:
        if not spec.get("enabled", True):
            raise ValueError("a disabled loss scale is a plain optimizer on Keras")
        optimizer = keras.mixed_precision.LossScaleOptimizer(
            inner, initial_scale=spec["initial_scale"],
            dynamic_growth_steps=spec["growth_interval"])
    optimizer.build(variables)
    scales = []
    for grads in case.grads:
        scale = 1.0
        if spec is not None and not legacy:
            scale = float(optimizer.dynamic_scale.numpy())
        pairs = [(tf.constant((g * scale).astype(case.dtype)), v)
                 for g, v in zip(grads, variables) if g is not None]
        optimizer.apply_gradients(pairs)
        if spec is not None:
            scales.append(float((optimizer.loss_scale if legacy else optimizer.dynamic_scale).numpy()))
    return Result(weights=[v.numpy().astype(np.float64) for v in variables],
                  slots=_case_slots(inner, entry, len(variables), legacy),
                  iterations=int(optimizer.iterations.numpy()), scales=scales)


def _case_slots(optimizer: Any, entry: Any, n_vars: int,
                 legacy: bool) -> Dict[str, List[np.ndarray]]:
    """Slot variables named as the oracle's Keras flavours name them (Keras 3 names)."""
    names = oracle.OracleOptimizer(entry.rule, entry.hyper, "keras", []).slots()
    out: Dict[str, List[np.ndarray]] = {}
    variables = list(optimizer.variables)
    for name in names:
        if legacy:
            found = [v for v in variables if v.name.startswith(f"{name}/")]
            if not found and name in _TF_KERAS_SLOT_ALIASES:
                found = [v for v in variables
                         if v.name.startswith(f"{_TF_KERAS_SLOT_ALIASES[name]}/")]
        else:
            found = [v for v in variables if v.name.endswith(f"_{name}")]
        if len(found) != n_vars:
            raise AssertionError(f"{entry.id}: found {len(found)} {name!r} slots for {n_vars} variables")
        out[name] = [np.asarray(v.numpy(), dtype=np.float64) for v in found]
    return out
