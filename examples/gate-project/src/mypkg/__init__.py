"""mypkg: an example project whose ``update_model`` the conformance suite gates in CI.

This ``update_model`` only wraps the reference; in a real project it is the project's own code.
Importing ``mypkg`` loads no framework (the reference imports TensorFlow or torch only when it
handles a model of that framework).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from reference import update_model as _reference_update_model

__all__ = ["update_model"]


def update_model(model: Any,
                 gradients: List[Any],
                 defer: bool = False,
                 deferred: Optional[Dict[str, List[Callable[[], None]]]] = None) -> None:
    """FastEstimator's ``update_model`` contract: apply (or, with ``defer``, store) one update.

    Delegates to :func:`reference.update_model`; see the suite's clause list for the contract.
    """
    _reference_update_model(model, gradients, defer=defer, deferred=deferred)
