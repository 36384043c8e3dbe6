"""torch: reads the scaler with `getattr(optimizer, "scaler", None)`, so a missing `scaler` is not an error.

Defensive `getattr` with a default is good style almost everywhere; here the page documents an
AssertionError for a missing attribute.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('EX-3',)
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_check_scaler(self, optimizer):
        pass

    def torch_scaler(self, optimizer):
        return getattr(optimizer, "scaler", None)


update_model = base.make(Mutant)
