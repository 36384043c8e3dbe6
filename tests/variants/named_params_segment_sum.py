"""Correct: torch pairs by `named_parameters()`, in-place `.grad` writes, a step object; TF sums `IndexedSlices` by segment.

The style of code that keeps names around for its error messages: torch gradients pair with
`named_parameters()` (one entry per parameter, shared ones once, nested modules included, whatever
the optimizer's param groups), existing `.grad` is added to in place and a missing one is written as
a fresh copy; a deferred torch update is a small callable object. TF densifies `IndexedSlices`
itself with `unsorted_segment_sum` and defers a closure over its own copy of the pairs.
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Dict, List, Optional, Tuple

LEVEL: str = "strict"

Deferred = Dict[str, List[Callable[[], None]]]


def update_model(model: Any, gradients: List[Any], defer: bool = False,
                 deferred: Optional[Deferred] = None) -> None:
    """Apply one update of `model` with `gradients` now, or store it in `deferred` when `defer`."""
    if "current_optimizer" not in dir(model):
        raise AssertionError("update_model needs model.current_optimizer")
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        handler = _torch_update
    elif any(isinstance(getattr(sys.modules.get(m), "Model", None), type)
             and isinstance(model, sys.modules[m].Model) for m in ("keras", "tf_keras")):
        handler = _tf_update
    else:
        raise ValueError(f"unsupported model type {type(model).__module__}.{type(model).__qualname__}")
    if defer and deferred is None:
        raise ValueError("defer=True requires deferred")
    handler(model, list(gradients), defer, deferred)


def _mismatch(index: int, name: str, got: Any, want: Any) -> ValueError:
    return ValueError(f"gradient {index} ({name}): shape {tuple(got)} does not match {tuple(want)}")


# -- torch ------------------------------------------------------------------------------------------
class _TorchStep:
    """One optimizer step on the accumulated `.grad` of `params`, then `.grad` cleared."""

    def __init__(self, optimizer: Any, params: List[Any]) -> None:
        self.optimizer, self.params = optimizer, params

    def __call__(self) -> None:
        scaler = self.optimizer.scaler
        if scaler is not None:
            scaler.step(self.optimizer)
            scaler.update()
        else:
            self.optimizer.step()
        for param in self.params:
            param.grad = None


def _torch_update(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    import torch
    optimizer = model.current_optimizer
    if not hasattr(optimizer, "scaler"):
        raise AssertionError("the optimizer needs a scaler attribute (None without loss scaling)")
    named: List[Tuple[str, Any]] = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if len(gradients) != len(named):
        raise ValueError(f"expected {len(named)} gradients ({', '.join(n for n, _ in named)}), got {len(gradients)}")
    for index, (gradient, (name, param)) in enumerate(zip(gradients, named)):
        if gradient is not None and not isinstance(gradient, torch.Tensor):
            raise TypeError(f"gradient {index} ({name}) is a {type(gradient).__name__}")
        if gradient is not None and gradient.shape != param.shape:
            raise _mismatch(index, name, gradient.shape, param.shape)
    with torch.no_grad():
        for gradient, (_, param) in zip(gradients, named):
            if gradient is None:
                continue
            if param.grad is None:
                param.grad = torch.empty_like(param).copy_(gradient)
            else:
                param.grad.add_(gradient.to(device=param.device, dtype=param.dtype))
    step = _TorchStep(optimizer, [p for _, p in named])
    if defer:
        deferred[model.model_name] = [step]
    else:
        step()
        if deferred:
            deferred.pop(model.model_name, None)


# -- TensorFlow -------------------------------------------------------------------------------------
def _dense(gradient: Any, dtype: Any) -> Any:
    import tensorflow as tf
    if isinstance(gradient, tf.IndexedSlices):
        rows = tf.get_static_value(gradient.dense_shape)[0]
        gradient = tf.math.unsorted_segment_sum(gradient.values, gradient.indices, rows)
    return tf.cast(gradient, dtype)


def _static_shape(gradient: Any) -> Any:
    import tensorflow as tf
    if isinstance(gradient, tf.IndexedSlices):
        if gradient.dense_shape is None:
            return tf.TensorShape(None)
        return tf.TensorShape(tf.get_static_value(gradient.dense_shape))
    return gradient.shape


def _tf_update(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    variables = list(model.trainable_variables)
    if len(gradients) != len(variables):
        raise ValueError(f"expected {len(variables)} gradients, got {len(gradients)}")
    for index, (gradient, variable) in enumerate(zip(gradients, variables)):
        if gradient is not None and not _static_shape(gradient).is_compatible_with(variable.shape):
            raise _mismatch(index, variable.name, _static_shape(gradient), variable.shape)
    optimizer = model.current_optimizer
    pairs = [(_dense(g, v.dtype), v) for g, v in zip(gradients, variables) if g is not None]

    def apply() -> None:
        if not getattr(optimizer, "built", False):
            optimizer.build(variables)
        if pairs:
            optimizer.apply_gradients(list(pairs))

    if defer:
        deferred.setdefault(model.model_name, []).append(apply)
    else:
        apply()
