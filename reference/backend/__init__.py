"""The ``fe.backend`` functions the ``update_model`` page uses, dispatching on the model's framework."""
from __future__ import annotations

from reference._update_model import update_model
from reference.backend._ops import feed_forward, get_gradient, sparse_categorical_crossentropy

__all__ = ["feed_forward", "get_gradient", "sparse_categorical_crossentropy", "update_model"]
