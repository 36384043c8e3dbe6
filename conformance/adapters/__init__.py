"""Backend adapters: build models and optimizers, drive the twin, snapshot state as NumPy.

``load("tf")`` / ``load("torch")`` import the framework on first use; each adapter module
imports only its own framework.
"""
from __future__ import annotations

import gc
import importlib
from typing import Dict

from conformance.adapters.base import Adapter, BackendUnavailable, Pair, Snapshot

__all__ = ["Adapter", "BackendUnavailable", "Pair", "Snapshot", "load"]

_MODULES = {"tf": "conformance.adapters.keras", "torch": "conformance.adapters.torch"}
_loaded: Dict[str, Adapter] = {}


def load(backend: str) -> Adapter:
    """The adapter for ``backend``; ``BackendUnavailable`` if its framework cannot be imported."""
    if backend not in _loaded:
        try:
            module = importlib.import_module(_MODULES[backend])
        except ImportError as error:
            raise BackendUnavailable(f"backend {backend!r} is not available: {error}") from None
        _loaded[backend] = module.ADAPTER_CLASS()
        # The framework's millions of import-time objects live as long as the process: move them out
        # of the collector's reach, so that each full collection (the cyclic GC's own, and the one
        # Hypothesis runs when its first test registers its global Random) costs milliseconds,
        # not about 0.2 s.
        gc.freeze()
    return _loaded[backend]
