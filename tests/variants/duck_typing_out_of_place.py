"""Correct: duck-typed dispatch, torch accumulation out of place (`.grad = .grad + g`), nested-def callables.

A model is torch-like if it has `parameters`/`named_buffers`/`zero_grad`, Keras-like if it has
`trainable_variables` and `get_weights`; anything else with a `current_optimizer` is rejected with
ValueError. `.grad` is rebuilt out of place on every call, so the caller's tensor is never aliased.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

LEVEL: str = "strict"

Deferred = Dict[str, List[Callable[[], None]]]


def _looks_torch(model: Any) -> bool:
    return all(callable(getattr(model, name, None)) for name in ("parameters", "named_buffers", "zero_grad"))


def _looks_keras(model: Any) -> bool:
    return hasattr(model, "trainable_variables") and callable(getattr(model, "get_weights", None))


def update_model(model: Any, gradients: List[Any], defer: bool = False,
                 deferred: Optional[Deferred] = None) -> None:
    """Apply one update of `model` with `gradients` now, or store it in `deferred` when `defer`."""
    if not hasattr(model, "current_optimizer"):
        raise AssertionError("model must have a 'current_optimizer' attribute")
    if _looks_torch(model):
        update = _torch
    elif _looks_keras(model):
        update = _tf
    else:
        raise ValueError(f"Unrecognized model format: {type(model)!r}")
    if defer and deferred is None:
        raise ValueError("defer=True requires a 'deferred' dict")
    gradients = list(gradients)
    update(model, gradients, defer, deferred)


def _torch(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    import torch
    optimizer = model.current_optimizer
    if not hasattr(optimizer, "scaler"):
        raise AssertionError("model.current_optimizer must have a 'scaler' attribute")
    params = [p for p in model.parameters() if p.requires_grad]
    if len(gradients) != len(params):
        raise ValueError(f"{len(gradients)} gradients for {len(params)} trainable parameters")
    for index, (g, p) in enumerate(zip(gradients, params)):
        if g is not None and g.shape != p.shape:
            raise ValueError(f"gradient {index} has shape {tuple(g.shape)}, parameter {tuple(p.shape)}")
    with torch.no_grad():
        for g, p in zip(gradients, params):
            if g is not None:
                g = g.to(device=p.device, dtype=p.dtype)
                p.grad = g.clone() if p.grad is None else p.grad + g

    def step() -> None:
        if optimizer.scaler is not None:
            optimizer.scaler.step(optimizer)
            optimizer.scaler.update()
        else:
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    if defer:
        deferred[model.model_name] = [step]
    else:
        step()
        if deferred is not None:
            deferred.pop(model.model_name, None)


def _tf(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    import tensorflow as tf
    variables = list(model.trainable_variables)
    if len(gradients) != len(variables):
        raise ValueError(f"{len(gradients)} gradients for {len(variables)} trainable variables")
    pairs = []
    for index, (g, v) in enumerate(zip(gradients, variables)):
        if g is None:
            continue
        shape = tf.TensorShape(tf.get_static_value(g.dense_shape)) if isinstance(g, tf.IndexedSlices) else g.shape
        if not tf.TensorShape(shape).is_compatible_with(v.shape):
            raise ValueError(f"gradient {index} has shape {shape}, variable {v.shape}")
        pairs.append((tf.cast(tf.convert_to_tensor(g), v.dtype), v))
    optimizer = model.current_optimizer

    def apply() -> None:
        if hasattr(optimizer, "built"):
            if not optimizer.built:
                optimizer.build(variables)
        elif hasattr(optimizer, "build"):
            optimizer.build(variables)
        if pairs:
            optimizer.apply_gradients(pairs)

    if defer:
        deferred.setdefault(model.model_name, []).append(apply)
    else:
        apply()
