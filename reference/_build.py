"""``fe.build``: make a model, attach its optimizer and a unique ``model_name``."""
from __future__ import annotations

import itertools
from typing import Any, Callable, Union

from reference._dispatch import backend_of

OptimizerFn = Union[str, Callable[..., Any]]

_names = itertools.count()

# name -> (torch.optim class name, keyword arguments); TF uses tf.keras.optimizers.get(name).
_TORCH_OPTIMIZERS = {
    "adadelta": ("Adadelta", {"lr": 1.0}),
    "adagrad": ("Adagrad", {"lr": 0.01}),
    "adam": ("Adam", {"lr": 0.001}),
    "adamax": ("Adamax", {"lr": 0.002}),
    "nadam": ("NAdam", {"lr": 0.002}),
    "rmsprop": ("RMSprop", {"lr": 0.01}),
    "sgd": ("SGD", {"lr": 0.01}),
}


def build(model_fn: Callable[[], Any], optimizer_fn: OptimizerFn) -> Any:
    """Return ``model_fn()`` with ``current_optimizer`` and a unique ``model_name`` attached.

    ``optimizer_fn`` is an optimizer name (see ``_TORCH_OPTIMIZERS``) or a callable: with no
    arguments for TensorFlow, with every parameter of the model for torch (``model.parameters()``,
    frozen ones included, as FastEstimator's ``fe.build``). A torch optimizer gets ``scaler = None``.
    """
    model = model_fn()
    backend = backend_of(model)
    if backend is None:
        raise ValueError(f"model_fn returned {type(model)!r}, neither a Keras model nor a torch module")
    if backend == "torch":
        params = list(model.parameters())  # every parameter, frozen ones included, as fe.build does
        if isinstance(optimizer_fn, str):
            import torch
            class_name, kwargs = _TORCH_OPTIMIZERS[optimizer_fn.lower()]
            optimizer = getattr(torch.optim, class_name)(params, **kwargs)
        else:
            optimizer = optimizer_fn(params)
        optimizer.scaler = None
    elif isinstance(optimizer_fn, str):
        import tensorflow as tf
        optimizer = tf.keras.optimizers.get(optimizer_fn)
    else:
        optimizer = optimizer_fn()
    model.current_optimizer = optimizer
    model.model_name = f"model{next(_names) or ''}"
    return model
