"""Correct: isinstance dispatch, every check up front, torch `.grad = g.clone()`, lambdas, TF `convert_to_tensor`.

The straightforward style: validate everything, then change things. torch gradients are copied
into `.grad` (`clone`, then `add_`), deferred updates are lambdas, IndexedSlices are densified with
`tf.convert_to_tensor` (which sums repeated rows).
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Dict, List, Optional

LEVEL: str = "strict"

Deferred = Dict[str, List[Callable[[], None]]]


def _framework(model: Any) -> Optional[str]:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        return "torch"
    for module_name in ("keras", "tf_keras"):
        model_class = getattr(sys.modules.get(module_name), "Model", None)
        if isinstance(model_class, type) and isinstance(model, model_class):
            return "tf"
    return None


def update_model(model: Any, gradients: List[Any], defer: bool = False,
                 deferred: Optional[Deferred] = None) -> None:
    """Apply one update of `model` with `gradients` now, or store it in `deferred` when `defer`."""
    if not hasattr(model, "current_optimizer"):
        raise AssertionError("model must have a 'current_optimizer' attribute")
    framework = _framework(model)
    if framework is None:
        raise ValueError(f"Unrecognized model format: {type(model)!r}")
    if defer and deferred is None:
        raise ValueError("defer=True requires a 'deferred' dict")
    if framework == "tf":
        _update_tf(model, list(gradients), defer, deferred)
    else:
        _update_torch(model, list(gradients), defer, deferred)


def _check_count(gradients: List[Any], variables: List[Any]) -> None:
    if len(gradients) != len(variables):
        raise ValueError(f"{len(gradients)} gradients for {len(variables)} trainable variables")


def _update_tf(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    import tensorflow as tf
    variables = list(model.trainable_variables)
    _check_count(gradients, variables)
    for i, (g, v) in enumerate(zip(gradients, variables)):
        if g is None:
            continue
        shape = tf.TensorShape(tf.get_static_value(g.dense_shape)) if isinstance(g, tf.IndexedSlices) else g.shape
        if not tf.TensorShape(shape).is_compatible_with(v.shape):
            raise ValueError(f"gradient {i} has shape {shape}, variable {v.shape}")
    optimizer = model.current_optimizer
    pairs = [(tf.cast(tf.convert_to_tensor(g), v.dtype), v) for g, v in zip(gradients, variables) if g is not None]

    def apply() -> None:
        if getattr(optimizer, "built", True) is False:
            optimizer.build(variables)
        elif not hasattr(optimizer, "built") and hasattr(optimizer, "build"):
            optimizer.build(variables)  # tf-keras: idempotent
        if pairs:
            optimizer.apply_gradients(pairs)

    if defer:
        deferred.setdefault(model.model_name, []).append(lambda: apply())
    else:
        apply()


def _update_torch(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    import torch
    optimizer = model.current_optimizer
    if not hasattr(optimizer, "scaler"):
        raise AssertionError("model.current_optimizer must have a 'scaler' attribute")
    params = [p for p in model.parameters() if p.requires_grad]
    _check_count(gradients, params)
    for i, (g, p) in enumerate(zip(gradients, params)):
        if g is not None and (not isinstance(g, torch.Tensor) or g.shape != p.shape):
            raise ValueError(f"gradient {i} does not fit parameter of shape {tuple(p.shape)}")
    with torch.no_grad():
        for g, p in zip(gradients, params):
            if g is None:
                continue
            g = g.detach().to(device=p.device, dtype=p.dtype)
            if p.grad is None:
                p.grad = g.clone()
            else:
                p.grad.add_(g)

    def step() -> None:
        if optimizer.scaler is None:
            optimizer.step()
        else:
            optimizer.scaler.step(optimizer)
            optimizer.scaler.update()
        for p in params:
            p.grad = None

    if defer:
        deferred[model.model_name] = [lambda: step()]
    else:
        step()
        if deferred is not None:
            deferred.pop(model.model_name, None)
