"""``feed_forward``, ``sparse_categorical_crossentropy`` and ``get_gradient`` as FastEstimator defines them.

Each looks at its argument to pick the framework, so no framework is imported up front.
"""
from __future__ import annotations

import sys
from typing import Any, Iterable, List, Optional

from reference._dispatch import backend_of


def _is_torch_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def feed_forward(model: Any, *x: Any, training: bool = True) -> Any:
    """Run ``model`` on ``x`` in training (or inference) mode and return its output."""
    if backend_of(model) == "torch":
        model.train(mode=training)
        return model(*x)
    return model(*x, training=training)


def sparse_categorical_crossentropy(y_pred: Any, y_true: Any, from_logits: bool = False,
                                    average_loss: bool = True) -> Any:
    """Cross-entropy between integer labels ``y_true`` and class probabilities ``y_pred``."""
    if _is_torch_tensor(y_pred):
        import torch
        if from_logits:
            loss = torch.nn.functional.cross_entropy(y_pred, y_true.long(), reduction="none")
        else:
            eps = torch.finfo(y_pred.dtype).eps
            loss = torch.nn.functional.nll_loss(torch.log(y_pred.clamp(eps, 1 - eps)),
                                                y_true.long(), reduction="none")
        return loss.mean() if average_loss else loss
    import tensorflow as tf
    loss = tf.keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=from_logits)
    return tf.reduce_mean(loss) if average_loss else loss

def get_gradient(target: Any, sources: Iterable[Any], higher_order: bool = False,
                 tape: Optional[Any] = None, retain_graph: bool = True) -> List[Any]:
    """Gradients of ``target`` with respect to ``sources`` (a ``tf.GradientTape`` for TensorFlow)."""
    sources = list(sources)
    if _is_torch_tensor(target):
        import torch
        return list(torch.autograd.grad(target, sources, retain_graph=retain_graph,
                                        create_graph=higher_order, allow_unused=True))
    if tape is None:
        raise ValueError("TensorFlow gradients need the tf.GradientTape that recorded 'target'")
    return tape.gradient(target, sources)
