"""A port that compiles the TF apply step ONCE per process (a module-level `tf.function`): a second fresh optimizer cannot build.

Wrapping `apply_gradients` in `tf.function` is the standard TF speed-up, and a module-level
function is compiled once. But a `tf.function` may create variables only on its first trace:
the next model with a not-yet-built optimizer fails with "tf.function only supports singleton
tf.Variables created on the first call" (IM-1, and every later clause on that model). A test
with a single model passes. The torch half is correct.
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Dict, List, Optional

VIOLATES: tuple[str, ...] = ("IM-1", "PA-1")
BACKENDS: tuple[str, ...] = ("tf",)
LEVEL: str = "core"
REQUIRES: tuple[str, ...] = ()

Deferred = Dict[str, List[Callable[[], None]]]
_compiled_apply: Optional[Callable] = None


def _apply(optimizer: Any, pairs: List[tuple]) -> None:
    global _compiled_apply
    if _compiled_apply is None:
        import tensorflow as tf

        @tf.function
        def compiled(optimizer: Any, pairs: List[tuple]) -> None:
            optimizer.apply_gradients(pairs)

        _compiled_apply = compiled
    _compiled_apply(optimizer, pairs)


def update_model(model: Any, gradients: List[Any], defer: bool = False,
                 deferred: Optional[Deferred] = None) -> None:
    """Apply or defer one update; TF updates run through one compiled function."""
    if not hasattr(model, "current_optimizer"):
        raise AssertionError("model must have a 'current_optimizer' attribute")
    if defer and deferred is None:
        raise ValueError("defer=True needs a 'deferred' dict")
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        _update_torch(model, list(gradients), defer, deferred)
    elif any(isinstance(model, getattr(sys.modules.get(n), "Model", ())) for n in ("keras", "tf_keras")
             if n in sys.modules):
        _update_tf(model, list(gradients), defer, deferred)
    else:
        raise ValueError(f"Unrecognized model format: {type(model)!r}")


def _update_tf(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    import tensorflow as tf
    variables = list(model.trainable_variables)
    if len(gradients) != len(variables):
        raise ValueError(f"{len(gradients)} gradients for {len(variables)} variables")
    optimizer = model.current_optimizer
    pairs = [(tf.cast(tf.convert_to_tensor(g), v.dtype), v) for g, v in zip(gradients, variables) if g is not None]

    def update() -> None:
        if pairs:
            _apply(optimizer, pairs)

    if defer:
        deferred.setdefault(model.model_name, []).append(update)
    else:
        update()


def _update_torch(model: Any, gradients: List[Any], defer: bool, deferred: Optional[Deferred]) -> None:
    import torch
    optimizer = model.current_optimizer
    if not hasattr(optimizer, "scaler"):
        raise AssertionError("current_optimizer must have a 'scaler' attribute")
    params = [p for p in model.parameters() if p.requires_grad]
    if len(gradients) != len(params):
        raise ValueError(f"{len(gradients)} gradients for {len(params)} parameters")
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
        optimizer.zero_grad()

    if defer:
        deferred[model.model_name] = [step]
    else:
        step()
        if deferred is not None:
            deferred.pop(model.model_name, None)
