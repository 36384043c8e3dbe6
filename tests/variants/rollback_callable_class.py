"""Correct: validate-as-you-go with try/rollback, deferred updates as callable class instances,
TF IndexedSlices densified with `tf.scatter_nd` (which sums repeated indices).

Instead of checking everything first, the torch half accumulates while it validates and, on any
exception, restores every `.grad` (in place, keeping tensor identity) and the `deferred` dict.
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Dict, List, Optional

LEVEL: str = "strict"

Deferred = Dict[str, List[Callable[[], None]]]


class TorchStep:
    """One optimizer step on the accumulated `.grad` (through the GradScaler if any), then clear it."""

    def __init__(self, optimizer: Any, params: List[Any]) -> None:
        self.optimizer = optimizer
        self.params = params

    def __call__(self) -> None:
        scaler = self.optimizer.scaler
        if scaler is None:
            self.optimizer.step()
        else:
            scaler.step(self.optimizer)
            scaler.update()
        for p in self.params:
            p.grad = None


class TfUpdate:
    """One `apply_gradients` with the (dense) gradients of one call."""

    def __init__(self, optimizer: Any, variables: List[Any], pairs: List[tuple]) -> None:
        self.optimizer, self.variables, self.pairs = optimizer, variables, pairs

    def __call__(self) -> None:
        if hasattr(self.optimizer, "built"):
            if not self.optimizer.built:
                self.optimizer.build(self.variables)
        elif hasattr(self.optimizer, "build"):
            self.optimizer.build(self.variables)
        if self.pairs:
            self.optimizer.apply_gradients(self.pairs)


def update_model(model: Any, gradients: List[Any], defer: bool = False,
                 deferred: Optional[Deferred] = None) -> None:
    """Apply one update of `model` with `gradients` now, or store it in `deferred` when `defer`."""
    if not hasattr(model, "current_optimizer"):
        raise AssertionError("model must have a 'current_optimizer' attribute")
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        _torch(model, list(gradients), defer, deferred)
        return
    keras_classes = [getattr(sys.modules.get(n), "Model", None) for n in ("keras", "tf_keras")]
    if any(isinstance(c, type) and isinstance(model, c) for c in keras_classes):
        _tf(model, list(gradients), defer, deferred)
        return
    raise ValueError(f"Unrecognized model format: {type(model)!r}")


def _torch(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    import torch
    params = [p for p in model.parameters() if p.requires_grad]
    saved_grads = [None if p.grad is None else p.grad.detach().clone() for p in params]
    saved_deferred = None if deferred is None else dict(deferred)
    try:
        optimizer = model.current_optimizer
        with torch.no_grad():
            for index, (g, p) in enumerate(zip(gradients, params)):
                if g is None:
                    continue
                if g.shape != p.shape:
                    raise ValueError(f"gradient {index} has shape {tuple(g.shape)}, parameter {tuple(p.shape)}")
                g = g.to(device=p.device, dtype=p.dtype)
                if p.grad is None:
                    p.grad = g.clone()
                else:
                    p.grad.add_(g)
        if len(gradients) != len(params):
            raise ValueError(f"{len(gradients)} gradients for {len(params)} trainable parameters")
        if not hasattr(optimizer, "scaler"):
            raise AssertionError("model.current_optimizer must have a 'scaler' attribute")
        step = TorchStep(optimizer, params)
        if defer:
            deferred[model.model_name] = [step]  # TypeError if deferred is None: rolled back below
            return
    except BaseException:
        with torch.no_grad():
            for p, saved in zip(params, saved_grads):
                if saved is None:
                    p.grad = None
                elif p.grad is None:
                    p.grad = saved
                else:
                    p.grad.copy_(saved)
        if deferred is not None:
            deferred.clear()
            deferred.update(saved_deferred)
        raise
    step()
    if deferred is not None:
        deferred.pop(model.model_name, None)


def _tf(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    import tensorflow as tf
    if defer and not isinstance(deferred, dict):
        raise TypeError("defer=True requires a 'deferred' dict")
    variables = list(model.trainable_variables)
    if len(gradients) != len(variables):
        raise ValueError(f"{len(gradients)} gradients for {len(variables)} trainable variables")
    pairs = []
    for index, (g, v) in enumerate(zip(gradients, variables)):
        if g is None:
            continue
        if isinstance(g, tf.IndexedSlices):
            shape = tf.TensorShape(tf.get_static_value(g.dense_shape))
            dense = tf.scatter_nd(tf.expand_dims(g.indices, -1), g.values, tf.cast(g.dense_shape, g.indices.dtype))
        else:
            shape, dense = g.shape, g
        if not tf.TensorShape(shape).is_compatible_with(v.shape):
            raise ValueError(f"gradient {index} has shape {shape}, variable {v.shape}")
        pairs.append((tf.cast(dense, v.dtype), v))
    update = TfUpdate(model.current_optimizer, variables, pairs)
    if defer:
        deferred.setdefault(model.model_name, []).append(update)
    else:
        update()
