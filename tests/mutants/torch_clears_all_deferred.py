"""torch: an immediate update clears the whole `deferred` dict, dropping other models' pending updates.

"The step consumed the deferred updates" is true for this model only; `clear()` reads like the
natural way to say it.
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
        if deferred is not None:
            deferred.clear()


update_model = base.make(Mutant)
