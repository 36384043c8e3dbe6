"""torch: `defer=True` appends a step per call instead of keeping exactly one callable for the model.

The TF branch appends, and appending looks like the safe choice; the torch flush then steps
several times on the one accumulated `.grad` (empty after the first step).
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('DF-4',)
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_store(self, deferred, name, step):
        deferred.setdefault(name, []).append(step)


update_model = base.make(Mutant)
