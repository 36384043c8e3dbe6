"""Correct: dispatch on class names in the model's MRO (no framework module lookup), small pure
helpers, deferred callables as lambdas with default-argument binding.

`torch.nn.Module` / `keras...Model` / `tf_keras...Model` are recognised by (top-level package,
class name) anywhere in `type(model).__mro__`. Every check runs before anything changes.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

LEVEL: str = "strict"

Deferred = Dict[str, List[Callable[[], None]]]
_KINDS: Dict[Tuple[str, str], str] = {("torch", "Module"): "torch", ("keras", "Model"): "tf",
                                      ("tf_keras", "Model"): "tf"}


def _kind(model: Any) -> Optional[str]:
    for cls in type(model).__mro__:
        kind = _KINDS.get((cls.__module__.split(".")[0], cls.__name__))
        if kind is not None:
            return kind
    return None


def update_model(model: Any, gradients: List[Any], defer: bool = False,
                 deferred: Optional[Deferred] = None) -> None:
    """Apply one update of `model` with `gradients` now, or store it in `deferred` when `defer`."""
    if not hasattr(model, "current_optimizer"):
        raise AssertionError("model must have a 'current_optimizer' attribute")
    kind = _kind(model)
    if kind is None:
        raise ValueError(f"Unrecognized model format: {type(model)!r}")
    if defer and deferred is None:
        raise ValueError("defer=True requires a 'deferred' dict")
    (_torch if kind == "torch" else _tf)(model, list(gradients), defer, deferred)


def _require_count(n_gradients: int, n_variables: int) -> None:
    if n_gradients != n_variables:
        raise ValueError(f"{n_gradients} gradients for {n_variables} trainable variables")


def _torch_step(optimizer: Any, params: List[Any]) -> None:
    if optimizer.scaler is None:
        optimizer.step()
    else:
        optimizer.scaler.step(optimizer)
        optimizer.scaler.update()
    for p in params:
        p.grad = None


def _torch(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    import torch
    optimizer = model.current_optimizer
    if not hasattr(optimizer, "scaler"):
        raise AssertionError("model.current_optimizer must have a 'scaler' attribute")
    params = [p for p in model.parameters() if p.requires_grad]
    _require_count(len(gradients), len(params))
    for index, (g, p) in enumerate(zip(gradients, params)):
        if g is not None and g.shape != p.shape:
            raise ValueError(f"gradient {index} has shape {tuple(g.shape)}, parameter {tuple(p.shape)}")
    with torch.no_grad():
        for g, p in zip(gradients, params):
            if g is None:
                continue
            g = g.detach().to(device=p.device, dtype=p.dtype)
            if p.grad is None:
                p.grad = g.clone()
            else:
                p.grad.add_(g)
    if defer:
        deferred[model.model_name] = [lambda o=optimizer, ps=params: _torch_step(o, ps)]
    else:
        _torch_step(optimizer, params)
        if deferred is not None:
            deferred.pop(model.model_name, None)


def _tf_shape(tf: Any, g: Any) -> Any:
    if isinstance(g, tf.IndexedSlices):
        return tf.TensorShape(tf.get_static_value(g.dense_shape))
    return tf.TensorShape(g.shape)


def _tf_apply(optimizer: Any, variables: List[Any], pairs: List[tuple]) -> None:
    if hasattr(optimizer, "built"):
        if not optimizer.built:
            optimizer.build(variables)
    elif hasattr(optimizer, "build"):
        optimizer.build(variables)
    if pairs:
        optimizer.apply_gradients(pairs)


def _tf(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    import tensorflow as tf
    variables = list(model.trainable_variables)
    _require_count(len(gradients), len(variables))
    for index, (g, v) in enumerate(zip(gradients, variables)):
        if g is not None and not _tf_shape(tf, g).is_compatible_with(v.shape):
            raise ValueError(f"gradient {index} has shape {_tf_shape(tf, g)}, variable {v.shape}")
    pairs = [(tf.cast(tf.convert_to_tensor(g), v.dtype), v) for g, v in zip(gradients, variables) if g is not None]
    optimizer = model.current_optimizer
    if defer:
        deferred.setdefault(model.model_name, []).append(
            lambda o=optimizer, vs=variables, ps=pairs: _tf_apply(o, vs, ps))
    else:
        _tf_apply(optimizer, variables, pairs)
