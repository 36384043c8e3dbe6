"""TF: an immediate update pops this model's pending deferred callables (the torch rule applied to TF).

torch pops because its pending step was consumed by the immediate one; TF callables carry their
own gradients, so popping drops updates (IM-5).
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('IM-5',)
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def tf_immediate(self, deferred, name, optimizer, variables, pairs):
        super().tf_immediate(deferred, name, optimizer, variables, pairs)
        if deferred is not None:
            deferred.pop(name, None)


update_model = base.make(Mutant)
