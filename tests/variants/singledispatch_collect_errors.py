"""Correct: `functools.singledispatch` on the model's class (registered lazily per framework),
all gradient problems collected and reported in one ValueError, deferred steps as bound methods.

The dispatcher's fallback raises the documented ValueError; torch and Keras classes are
registered the first time a model of that framework could exist (its module is imported).
"""
from __future__ import annotations

import functools
import sys
from typing import Any, Callable, Dict, List, Optional

LEVEL: str = "strict"

Deferred = Dict[str, List[Callable[[], None]]]


@functools.singledispatch
def _update(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    raise ValueError(f"Unrecognized model format: {type(model)!r}")


_registered: set = set()


def _register_frameworks() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and "torch" not in _registered:
        _update.register(torch.nn.Module, _update_torch)
        _registered.add("torch")
    for name in ("keras", "tf_keras"):
        model_class = getattr(sys.modules.get(name), "Model", None)
        if isinstance(model_class, type) and name not in _registered:
            _update.register(model_class, _update_tf)
            _registered.add(name)


def update_model(model: Any, gradients: List[Any], defer: bool = False,
                 deferred: Optional[Deferred] = None) -> None:
    """Apply one update of `model` with `gradients` now, or store it in `deferred` when `defer`."""
    if not hasattr(model, "current_optimizer"):
        raise AssertionError("model must have a 'current_optimizer' attribute")
    _register_frameworks()
    _update(model, list(gradients), defer, deferred)


def _problems(gradients: List[Any], shapes: List[tuple], shape_of: Callable[[Any], Any],
              fits: Callable[[Any, tuple], bool]) -> List[str]:
    problems = []
    if len(gradients) != len(shapes):
        problems.append(f"{len(gradients)} gradients for {len(shapes)} trainable variables")
    for index, (g, shape) in enumerate(zip(gradients, shapes)):
        if g is not None and not fits(shape_of(g), shape):
            problems.append(f"gradient {index} has shape {shape_of(g)}, its variable {shape}")
    return problems


class _TorchUpdater:
    def __init__(self, optimizer: Any, params: List[Any]) -> None:
        self.optimizer, self.params = optimizer, params

    def step(self) -> None:
        scaler = self.optimizer.scaler
        if scaler is None:
            self.optimizer.step()
        else:
            scaler.step(self.optimizer)
            scaler.update()
        for p in self.params:
            p.grad = None


def _update_torch(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    import torch
    if defer and deferred is None:
        raise ValueError("defer=True requires a 'deferred' dict")
    optimizer = model.current_optimizer
    if not hasattr(optimizer, "scaler"):
        raise AssertionError("model.current_optimizer must have a 'scaler' attribute")
    params = [p for p in model.parameters() if p.requires_grad]
    problems = _problems(gradients, [tuple(p.shape) for p in params], lambda g: tuple(g.shape),
                         lambda a, b: a == b)
    if problems:
        raise ValueError("; ".join(problems))
    with torch.no_grad():
        for g, p in zip(gradients, params):
            if g is not None:
                g = g.detach().to(device=p.device, dtype=p.dtype)
                if p.grad is None:
                    p.grad = torch.empty_like(p).copy_(g)
                else:
                    p.grad.add_(g)
    updater = _TorchUpdater(optimizer, params)
    if defer:
        deferred[model.model_name] = [updater.step]
    else:
        updater.step()
        if deferred is not None:
            deferred.pop(model.model_name, None)


def _update_tf(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    import tensorflow as tf
    if defer and deferred is None:
        raise ValueError("defer=True requires a 'deferred' dict")
    variables = list(model.trainable_variables)

    def shape_of(g: Any) -> tf.TensorShape:
        if isinstance(g, tf.IndexedSlices):
            return tf.TensorShape(tf.get_static_value(g.dense_shape))
        return tf.TensorShape(g.shape)

    problems = _problems(gradients, [tuple(v.shape) for v in variables], shape_of,
                         lambda a, b: a.is_compatible_with(b))
    if problems:
        raise ValueError("; ".join(problems))
    optimizer = model.current_optimizer
    pairs = [(tf.cast(tf.convert_to_tensor(g), v.dtype), v) for g, v in zip(gradients, variables) if g is not None]

    class _Apply:
        def run(self) -> None:
            if hasattr(optimizer, "built"):
                if not optimizer.built:
                    optimizer.build(variables)
            elif hasattr(optimizer, "build"):
                optimizer.build(variables)
            if pairs:
                optimizer.apply_gradients(pairs)

    if defer:
        deferred.setdefault(model.model_name, []).append(_Apply().run)
    else:
        _Apply().run()
