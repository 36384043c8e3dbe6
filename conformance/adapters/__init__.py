"""Backend adapters: build models and optimizers, drive the twin, snapshot state as NumPy.

``load("tf")`` / ``load("torch")`` import the framework on first use; each adapter module
imports only its own framework.
"""
from __future__ import annotations

import gc
import importlib
import importlib.util
from typing import Dict, Iterable

from conformance.adapters.base import Adapter, BackendUnavailable, Pair, Snapshot

__all__ = ["Adapter", "BackendUnavailable", "Pair", "Snapshot", "load", "prepare"]

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



#: Backends whose framework is imported before any other whenever it is installed: TensorFlow
#: imported before torch in one process breaks torch's import; the other order works.
_IMPORTED_FIRST = {"torch": "torch"}


def prepare(backends: Iterable[str]) -> None:
    """Ready this process for checks of ``backends``: import the frameworks that must come first,
    and pay a selected one's one-time costs now (``Adapter.warm_up``), not inside the first check's
    timing. No other framework is imported here; an unavailable backend is left to its checks."""
    selected = set(backends)
    for backend, module in _IMPORTED_FIRST.items():
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)
            if backend in selected:
                load(backend).warm_up()
