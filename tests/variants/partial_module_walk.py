"""Correct: walks every module's own parameters, stores `functools.partial` steps, TF `trainable_weights`.

The style of code that inspects models layer by layer: torch parameters are collected by walking
`model.modules()` (each module's own parameters, so nested sub-models and shared layers count once,
and a weight tied between two modules is kept where it is first met, in `parameters()` order), the optimizer is never asked which parameters it holds (param groups,
`fe.build`'s every-parameter optimizer), deferred steps are `functools.partial` objects, and TF
pairs with `model.trainable_weights`. Trainability is read at every call, never cached.
"""
from __future__ import annotations

import functools
import sys
from typing import Any, Callable, Dict, List, Optional

LEVEL: str = "strict"

Deferred = Dict[str, List[Callable[[], None]]]


def _kind(model: Any) -> Optional[str]:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        return "torch"
    for name in ("keras", "tf_keras"):
        base = getattr(sys.modules.get(name), "Model", None)
        if isinstance(base, type) and isinstance(model, base):
            return "tf"
    return None


def update_model(model: Any, gradients: List[Any], defer: bool = False,
                 deferred: Optional[Deferred] = None) -> None:
    """Apply one update of `model` with `gradients` now, or store it in `deferred` when `defer`."""
    if not hasattr(model, "current_optimizer"):
        raise AssertionError("model has no current_optimizer")
    kind = _kind(model)
    if kind is None:
        raise ValueError(f"cannot update a {type(model).__name__}: not a Keras model or torch module")
    if defer and not isinstance(deferred, dict):
        raise TypeError("defer=True needs the deferred dict")
    gradients = list(gradients)
    if kind == "torch":
        _torch(model, gradients, defer, deferred)
    else:
        _tf(model, gradients, defer, deferred)


# -- torch ------------------------------------------------------------------------------------------
def _torch_params(model: Any) -> List[Any]:
    params, seen = [], set()
    for module in model.modules():
        for p in module.parameters(recurse=False):
            if p.requires_grad and id(p) not in seen:  # a weight tied between two modules counts once
                seen.add(id(p))
                params.append(p)
    return params


def _torch_step(optimizer: Any, params: List[Any]) -> None:
    scaler = optimizer.scaler
    if scaler is None:
        optimizer.step()
    else:
        scaler.step(optimizer)
        scaler.update()
    for param in params:
        param.grad = None


def _torch(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    import torch
    optimizer = model.current_optimizer
    if "scaler" not in dir(optimizer):
        raise AssertionError("the torch optimizer has no scaler attribute")
    params = _torch_params(model)
    if len(gradients) != len(params):
        raise ValueError(f"{len(gradients)} gradients for {len(params)} trainable parameters")
    for index, (gradient, param) in enumerate(zip(gradients, params)):
        if gradient is None:
            continue
        if not isinstance(gradient, torch.Tensor):
            raise TypeError(f"gradient {index}: {type(gradient).__name__} is not a tensor")
        if tuple(gradient.shape) != tuple(param.shape):
            raise ValueError(f"gradient {index}: shape {tuple(gradient.shape)}, parameter {tuple(param.shape)}")
    with torch.no_grad():
        for gradient, param in zip(gradients, params):
            if gradient is not None:
                value = gradient.detach().to(device=param.device, dtype=param.dtype)
                param.grad = value.clone() if param.grad is None else param.grad + value
    step = functools.partial(_torch_step, optimizer, params)
    if defer:
        deferred[model.model_name] = [step]
        return
    step()
    if deferred is not None and model.model_name in deferred:
        del deferred[model.model_name]


# -- TensorFlow -------------------------------------------------------------------------------------
def _tf_shape(gradient: Any) -> Any:
    import tensorflow as tf
    if isinstance(gradient, tf.IndexedSlices):
        known = None if gradient.dense_shape is None else tf.get_static_value(gradient.dense_shape)
        return tf.TensorShape(known)
    return tf.TensorShape(gradient.shape)


def _tf_apply(optimizer: Any, variables: List[Any], pairs: List[tuple]) -> None:
    # every trainable variable gets its slots, not only those with a gradient (Keras 3 builds once;
    # tf-keras' build is idempotent and has no `built`)
    if not getattr(optimizer, "built", False):
        optimizer.build(variables)
    if pairs:
        optimizer.apply_gradients(pairs)


def _tf(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    import tensorflow as tf
    variables = list(model.trainable_weights)
    if len(gradients) != len(variables):
        raise ValueError(f"{len(gradients)} gradients for {len(variables)} trainable variables")
    for index, (gradient, variable) in enumerate(zip(gradients, variables)):
        if gradient is not None and not _tf_shape(gradient).is_compatible_with(variable.shape):
            raise ValueError(f"gradient {index}: shape {_tf_shape(gradient)}, variable {variable.shape}")
    pairs = [(tf.cast(tf.convert_to_tensor(g), v.dtype), v) for g, v in zip(gradients, variables) if g is not None]
    apply = functools.partial(_tf_apply, model.current_optimizer, variables, pairs)
    if defer:
        deferred.setdefault(model.model_name, []).append(apply)
    else:
        apply()
