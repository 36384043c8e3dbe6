"""PyTorch half of ``update_model``. Imports only torch."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

import torch

from reference._checks import check_count, shape_error


def _step(optimizer: torch.optim.Optimizer, params: List[torch.nn.Parameter]) -> None:
    """One optimizer step on the accumulated ``.grad``, then clear ``.grad``."""
    scaler = optimizer.scaler
    if scaler is None:
        optimizer.step()
    else:
        scaler.step(optimizer)
        scaler.update()
    for param in params:
        param.grad = None


def update_torch_model(model: torch.nn.Module, gradients: List[Any], defer: bool,
                       deferred: Optional[Dict[str, List[Callable[[], None]]]]) -> None:
    optimizer = model.current_optimizer
    if not hasattr(optimizer, "scaler"):
        raise AssertionError("model.current_optimizer must have a 'scaler' attribute")
    params = [p for p in model.parameters() if p.requires_grad]
    check_count(gradients, params)
    for index, (gradient, param) in enumerate(zip(gradients, params)):
        if gradient is None:
            continue
        if not isinstance(gradient, torch.Tensor):
            raise TypeError(f"gradient {index} is a {type(gradient).__name__}, not a torch.Tensor")
        if gradient.shape != param.shape:
            raise shape_error(index, gradient.shape, param.shape)
    name = model.model_name if deferred is not None else None

    with torch.no_grad():
        for gradient, param in zip(gradients, params):
            if gradient is None:
                continue
            # A copy: the scaler unscales .grad in place, and the caller's tensor must not change.
            gradient = gradient.detach().to(device=param.device, dtype=param.dtype)
            if param.grad is None:
                param.grad = gradient.clone()
            else:
                param.grad.add_(gradient)

    def step() -> None:
        _step(optimizer, params)

    if defer:
        deferred[name] = [step]
    else:
        step()
        if deferred is not None:
            deferred.pop(name, None)
