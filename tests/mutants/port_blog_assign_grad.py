"""A compact port that hands torch gradients over with `param.grad = gradient`: earlier `.grad` is lost, the caller's tensor is aliased.

"Set .grad, call step()" is how most blog posts show manual gradients in torch. Assigning
overwrites whatever `.grad` held (the caller's own backward(), earlier deferred calls: IM-2) and
makes `.grad` the caller's tensor, which `GradScaler.step` then unscales in place (CC-4). One
line, two consequences. The TF half is correct; strict-level behaviour is not judged.
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Dict, List, Optional

VIOLATES: tuple[str, ...] = ("IM-2", "CC-4", "DF-4")
BACKENDS: tuple[str, ...] = ("torch",)
LEVEL: str = "core"
REQUIRES: tuple[str, ...] = ()


def update_model(model: Any, gradients: List[Any], defer: bool = False,
                 deferred: Optional[Dict[str, List[Callable[[], None]]]] = None) -> None:
    """Apply `gradients` to `model` now, or store the update in `deferred` when `defer`."""
    if not hasattr(model, "current_optimizer"):
        raise AssertionError("model has no current_optimizer")
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        _torch(model, gradients, defer, deferred)
    elif "tensorflow" in sys.modules and hasattr(model, "trainable_variables") and hasattr(model, "get_weights"):
        _tf(model, gradients, defer, deferred)
    else:
        raise ValueError(f"Unrecognized model instance {type(model)}")


def _torch(model: Any, gradients: List[Any], defer: bool, deferred: Optional[dict]) -> None:
    optimizer = model.current_optimizer
    if not hasattr(optimizer, "scaler"):
        raise AssertionError("current_optimizer has no scaler")
    params = [p for p in model.parameters() if p.requires_grad]
    for param, grad in zip(params, gradients):
        if grad is not None:
            param.grad = grad

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


def _tf(model: Any, gradients: List[Any], defer: bool, deferred: Optional[dict]) -> None:
    import tensorflow as tf
    optimizer = model.current_optimizer
    variables = model.trainable_variables
    pairs = [(tf.convert_to_tensor(g), v) for g, v in zip(gradients, variables) if g is not None]
    if hasattr(optimizer, "built") and not optimizer.built:
        optimizer.build(variables)

    def apply() -> None:
        optimizer.apply_gradients(pairs)

    if defer:
        deferred.setdefault(model.model_name, []).append(apply)
    else:
        apply()
