"""torch: `deferred.pop(model_name)` without a default raises KeyError when only other models are pending.

This is FastEstimator's own code (r1.2-1.7): with a single model the entry is always there.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('IM-4',)
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_forget(self, deferred, name):
        if deferred:
            deferred.pop(name)


update_model = base.make(Mutant)
