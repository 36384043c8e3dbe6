"""Core only: FastEstimator r1.2's own style with its core bugs fixed; asserts, no checks, no atomicity.

This is what a faithful port of FastEstimator looks like once it meets the documented contract:
`assert` statements (gone under `python -O`), `zip` without a count check, no shape check, torch
`None` gradients not handled (Keras skips them itself), and `.grad` accumulated before the
`scaler` assertion fires. It passes
every core clause and fails exactly the strict clauses listed in STRICT_FAILS.
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Dict, List, Optional

LEVEL: str = "core"
STRICT_FAILS: tuple[str, ...] = ("CC-6", "CC-7", "CC-8", "DF-6", "EX-4", "EX-5")

Deferred = Dict[str, List[Callable[[], None]]]


def _is_keras_model(model: Any) -> bool:
    return any(isinstance(model, getattr(sys.modules.get(name), "Model", ()))
               for name in ("keras", "tf_keras") if name in sys.modules)


def update_model(model: Any, gradients: List[Any], defer: bool = False,
                 deferred: Optional[Deferred] = None) -> None:
    """Update `model` weights based on the given `gradients` (FastEstimator semantics)."""
    assert hasattr(model, "current_optimizer"), "model must have a current_optimizer attribute"
    torch = sys.modules.get("torch")
    if _is_keras_model(model):
        import tensorflow as tf
        gradients = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in gradients]
        variables = model.trainable_variables
        if defer:
            def apply() -> None:
                model.current_optimizer.apply_gradients(zip(gradients, variables))
            deferred.setdefault(model.model_name, []).append(apply)
        else:
            model.current_optimizer.apply_gradients(zip(gradients, variables))
    elif torch is not None and isinstance(model, torch.nn.Module):
        trainable_params = [p for p in model.parameters() if p.requires_grad]
        with torch.no_grad():
            for gradient, parameter in zip(gradients, trainable_params):
                if parameter.grad is not None:
                    parameter.grad += gradient
                else:
                    parameter.grad = gradient.clone()
        if defer:
            deferred[model.model_name] = [lambda: _torch_step(model.current_optimizer)]
        else:
            _torch_step(model.current_optimizer)
            if deferred:
                deferred.pop(model.model_name, None)
    else:
        raise ValueError("Unrecognized model instance {}".format(type(model)))


def _torch_step(optimizer: Any) -> None:
    assert hasattr(optimizer, "scaler"), "optimizer must have a scaler attribute"
    if optimizer.scaler is None:
        optimizer.step()
    else:
        optimizer.scaler.step(optimizer)
        optimizer.scaler.update()
    optimizer.zero_grad()
