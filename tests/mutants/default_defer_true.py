"""Both backends: the signature says `defer: bool = True`, so `update_model(model, gradients)` defers.

A default copied from a training loop that always accumulates: every caller that passes `defer`
explicitly is served right, and the page's two-argument calls raise (no `deferred` dict) or, with
a dict, silently never step.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('CC-1',)
BACKENDS: tuple[str, ...] = ('tf', 'torch')
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()

_update_model = base.make(base.UpdateModel)


def update_model(model, gradients, defer=True, deferred=None):
    return _update_model(model, gradients, defer=defer, deferred=deferred)
