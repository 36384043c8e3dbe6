"""TF: returns what `apply_gradients` returns (Keras' `iterations` variable) instead of None.

`return optimizer.apply_gradients(...)` is a natural one-liner, and the return value looks useful.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('CC-1',)
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def tf_immediate(self, deferred, name, optimizer, variables, pairs):
        self.tf_build(optimizer, variables)
        return optimizer.apply_gradients(pairs)


update_model = base.make(Mutant)
