"""A class-based port that follows PyTorch's AMP recipe to the letter: `optimizer.zero_grad()` comes first.

The recipe's loop body is zero_grad / scale+backward / step / update. Transplanted into
update_model, the leading `zero_grad()` wipes everything `.grad` held: the caller's own backward()
and the sum of earlier deferred calls (IM-2; deferred accumulation never accumulates: DF-4).
The TF half is correct; strict-level behaviour is not judged.
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Dict, List, Optional

VIOLATES: tuple[str, ...] = ("IM-2", "DF-4", "DF-5")
BACKENDS: tuple[str, ...] = ("torch",)
LEVEL: str = "core"
REQUIRES: tuple[str, ...] = ()

Deferred = Dict[str, List[Callable[[], None]]]


class _TorchStep:
    """The deferred torch update: one (scaled) optimizer step on the accumulated `.grad`."""

    def __init__(self, optimizer: Any) -> None:
        self.optimizer = optimizer

    def __call__(self) -> None:
        scaler = self.optimizer.scaler
        if scaler is None:
            self.optimizer.step()
        else:
            scaler.step(self.optimizer)
            scaler.update()
        self.optimizer.zero_grad(set_to_none=True)


class _TfUpdate:
    """The deferred TF update: one `apply_gradients` with the gradients of one call."""

    def __init__(self, optimizer: Any, variables: List[Any], pairs: List[tuple]) -> None:
        self.optimizer, self.variables, self.pairs = optimizer, variables, pairs

    def __call__(self) -> None:
        if hasattr(self.optimizer, "built") and not self.optimizer.built:
            self.optimizer.build(self.variables)
        if self.pairs:
            self.optimizer.apply_gradients(self.pairs)


def update_model(model: Any, gradients: List[Any], defer: bool = False,
                 deferred: Optional[Deferred] = None) -> None:
    """Apply or defer one update of `model` with `gradients`."""
    if not hasattr(model, "current_optimizer"):
        raise AssertionError("model must have a 'current_optimizer' attribute")
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        optimizer = model.current_optimizer
        if not hasattr(optimizer, "scaler"):
            raise AssertionError("current_optimizer must have a 'scaler' attribute")
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer.zero_grad(set_to_none=True)
        with torch.no_grad():
            for g, p in zip(gradients, params):
                if g is not None:
                    g = g.detach().to(device=p.device, dtype=p.dtype)
                    if p.grad is None:
                        p.grad = g.clone()
                    else:
                        p.grad.add_(g)
        step = _TorchStep(optimizer)
        if defer:
            deferred[model.model_name] = [step]
        else:
            step()
            if deferred is not None:
                deferred.pop(model.model_name, None)
    elif any(isinstance(model, getattr(sys.modules.get(n), "Model", ())) for n in ("keras", "tf_keras")
             if n in sys.modules):
        import tensorflow as tf
        variables = list(model.trainable_variables)
        pairs = [(tf.cast(tf.convert_to_tensor(g), v.dtype), v) for g, v in zip(gradients, variables)
                 if g is not None]
        update = _TfUpdate(model.current_optimizer, variables, pairs)
        if defer:
            deferred.setdefault(model.model_name, []).append(update)
        else:
            update()
    else:
        raise ValueError(f"Unrecognized model format: {type(model)!r}")
