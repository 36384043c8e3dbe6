"""Correct: a registry of (predicate, handler) pairs, torch accumulation by `add_` into zeros,
`functools.partial` deferred callables, TF IndexedSlices densified with `unsorted_segment_sum`.

Handlers register themselves; a torch gradient is summed into a zero-initialised `.grad` (never
aliasing the caller's tensor), and the stored callables are partials of module-level functions.
"""
from __future__ import annotations

import functools
import sys
from typing import Any, Callable, Dict, List, Optional, Tuple

LEVEL: str = "strict"

Deferred = Dict[str, List[Callable[[], None]]]
Handler = Callable[[Any, List[Any], bool, Optional[Deferred]], None]
_REGISTRY: List[Tuple[Callable[[Any], bool], Handler]] = []


def _handles(predicate: Callable[[Any], bool]) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _REGISTRY.append((predicate, handler))
        return handler
    return register


def update_model(model: Any, gradients: List[Any], defer: bool = False,
                 deferred: Optional[Deferred] = None) -> None:
    """Apply one update of `model` with `gradients` now, or store it in `deferred` when `defer`."""
    if not hasattr(model, "current_optimizer"):
        raise AssertionError("model must have a 'current_optimizer' attribute")
    handler = next((h for predicate, h in _REGISTRY if predicate(model)), None)
    if handler is None:
        raise ValueError(f"Unrecognized model format: {type(model)!r}")
    if defer and not isinstance(deferred, dict):
        raise TypeError("defer=True requires a 'deferred' dict")
    handler(model, list(gradients), defer, deferred)


def _count(gradients: List[Any], variables: List[Any]) -> None:
    if len(gradients) != len(variables):
        raise ValueError(f"{len(gradients)} gradients for {len(variables)} trainable variables")


def _is_torch(model: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def _torch_step(optimizer: Any, params: List[Any]) -> None:
    scaler = optimizer.scaler
    if scaler is None:
        optimizer.step()
    else:
        scaler.step(optimizer)
        scaler.update()
    for p in params:
        p.grad = None


@_handles(_is_torch)
def _torch(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    import torch
    optimizer = model.current_optimizer
    if not hasattr(optimizer, "scaler"):
        raise AssertionError("model.current_optimizer must have a 'scaler' attribute")
    params = [p for p in model.parameters() if p.requires_grad]
    _count(gradients, params)
    bad = [i for i, (g, p) in enumerate(zip(gradients, params)) if g is not None and tuple(g.shape) != tuple(p.shape)]
    if bad:
        raise ValueError(f"gradients {bad} do not match their parameters' shapes")
    with torch.no_grad():
        for g, p in zip(gradients, params):
            if g is not None:
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
                p.grad.add_(g.to(device=p.device, dtype=p.dtype))
    step = functools.partial(_torch_step, optimizer, params)
    if defer:
        deferred[model.model_name] = [step]
    else:
        step()
        if deferred is not None and model.model_name in deferred:
            del deferred[model.model_name]


def _is_keras(model: Any) -> bool:
    classes = [getattr(sys.modules.get(n), "Model", None) for n in ("keras", "tf_keras")]
    return any(isinstance(c, type) and isinstance(model, c) for c in classes)


def _dense(gradient: Any, variable: Any) -> Any:
    import tensorflow as tf
    if isinstance(gradient, tf.IndexedSlices):
        rows = tf.math.unsorted_segment_sum(gradient.values, gradient.indices,
                                            num_segments=tf.cast(gradient.dense_shape[0], gradient.indices.dtype))
        return tf.cast(tf.reshape(rows, gradient.dense_shape), variable.dtype)
    return tf.cast(gradient, variable.dtype)


def _shape(gradient: Any) -> Any:
    import tensorflow as tf
    if isinstance(gradient, tf.IndexedSlices):
        return tf.TensorShape(tf.get_static_value(gradient.dense_shape))
    return tf.TensorShape(gradient.shape)


def _tf_apply(optimizer: Any, variables: List[Any], pairs: List[tuple]) -> None:
    if hasattr(optimizer, "built"):
        if not optimizer.built:
            optimizer.build(variables)
    elif hasattr(optimizer, "build"):
        optimizer.build(variables)
    if pairs:
        optimizer.apply_gradients(pairs)


@_handles(_is_keras)
def _tf(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    variables = list(model.trainable_variables)
    _count(gradients, variables)
    for i, (g, v) in enumerate(zip(gradients, variables)):
        if g is not None and not _shape(g).is_compatible_with(v.shape):
            raise ValueError(f"gradient {i} has shape {_shape(g)}, variable {v.shape}")
    pairs = [(_dense(g, v), v) for g, v in zip(gradients, variables) if g is not None]
    update = functools.partial(_tf_apply, model.current_optimizer, variables, pairs)
    if defer:
        deferred.setdefault(model.model_name, []).append(update)
    else:
        update()
