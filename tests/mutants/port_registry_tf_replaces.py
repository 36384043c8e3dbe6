"""A registry-dispatch port whose TF half keeps ONE deferred callable per model (`deferred[name] = [update]`).

The author wrote the torch half first (one callable, replaced on every deferred call, because
`.grad` accumulates) and mirrored it for TF, where nothing accumulates: all deferred TF updates of
a step but the last are lost (DF-3). Everything else is careful (explicit errors, checks first).
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Dict, List, Optional

VIOLATES: tuple[str, ...] = ("DF-3", "DF-5", "PA-2")
BACKENDS: tuple[str, ...] = ("tf",)
LEVEL: str = "core"
REQUIRES: tuple[str, ...] = ()

Deferred = Dict[str, List[Callable[[], None]]]
_HANDLERS: List[tuple] = []  # (predicate, handler)


def _register(predicate: Callable[[Any], bool]) -> Callable:
    def decorate(handler: Callable) -> Callable:
        _HANDLERS.append((predicate, handler))
        return handler
    return decorate


def update_model(model: Any, gradients: List[Any], defer: bool = False,
                 deferred: Optional[Deferred] = None) -> None:
    """Dispatch to the handler registered for the model's framework."""
    if not hasattr(model, "current_optimizer"):
        raise AssertionError("model must have a 'current_optimizer' attribute")
    for predicate, handler in _HANDLERS:
        if predicate(model):
            break
    else:
        raise ValueError(f"Unrecognized model format: {type(model)!r}")
    if defer and deferred is None:
        raise ValueError("defer=True needs a 'deferred' dict")
    gradients = list(gradients)
    handler(model, gradients, defer, deferred)


def _count(gradients: List[Any], variables: List[Any]) -> None:
    if len(gradients) != len(variables):
        raise ValueError(f"{len(gradients)} gradients for {len(variables)} variables")


@_register(lambda m: "torch" in sys.modules and isinstance(m, sys.modules["torch"].nn.Module))
def _torch(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    import torch
    optimizer = model.current_optimizer
    if not hasattr(optimizer, "scaler"):
        raise AssertionError("current_optimizer must have a 'scaler' attribute")
    params = [p for p in model.parameters() if p.requires_grad]
    _count(gradients, params)
    for i, (g, p) in enumerate(zip(gradients, params)):
        if g is not None and g.shape != p.shape:
            raise ValueError(f"gradient {i}: shape {tuple(g.shape)} != {tuple(p.shape)}")
    with torch.no_grad():
        for g, p in zip(gradients, params):
            if g is not None:
                g = g.detach().to(device=p.device, dtype=p.dtype)
                p.grad = g.clone() if p.grad is None else p.grad.add_(g)

    def step() -> None:
        if optimizer.scaler is None:
            optimizer.step()
        else:
            optimizer.scaler.step(optimizer)
            optimizer.scaler.update()
        optimizer.zero_grad(set_to_none=True)

    if defer:
        deferred[model.model_name] = [step]
    else:
        step()
        if deferred is not None:
            deferred.pop(model.model_name, None)


def _is_keras(model: Any) -> bool:
    return any(isinstance(model, getattr(sys.modules.get(n), "Model", ())) for n in ("keras", "tf_keras")
               if n in sys.modules)


@_register(_is_keras)
def _tf(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    import tensorflow as tf
    optimizer = model.current_optimizer
    variables = list(model.trainable_variables)
    _count(gradients, variables)
    for i, (g, v) in enumerate(zip(gradients, variables)):
        shape = tf.TensorShape(tf.get_static_value(g.dense_shape)) if isinstance(g, tf.IndexedSlices) else g.shape if g is not None else None
        if shape is not None and not tf.TensorShape(shape).is_compatible_with(v.shape):
            raise ValueError(f"gradient {i}: shape {shape} != {v.shape}")
    pairs = [(tf.cast(tf.convert_to_tensor(g), v.dtype), v) for g, v in zip(gradients, variables) if g is not None]

    def update() -> None:
        if hasattr(optimizer, "built") and not optimizer.built:
            optimizer.build(variables)
        if pairs:
            optimizer.apply_gradients(pairs)

    if defer:
        deferred[model.model_name] = [update]  # as in the torch handler
    else:
        update()
