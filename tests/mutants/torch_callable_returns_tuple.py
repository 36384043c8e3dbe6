"""torch: the deferred callable is `lambda: (step(), zero_grad())`, which returns a tuple instead of None.

A tuple is the usual trick to fit two statements into one lambda; nobody looks at the return value.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('DF-2',)
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_callable(self, optimizer, params):
        return lambda: (self.torch_optimizer_step(optimizer), self.torch_clear(optimizer, params))


update_model = base.make(Mutant)
