"""torch: with `defer=True` the step is stored AND applied at once (the immediate branch's line copied in).

Refactoring both branches to share "accumulate, then step" leaves the step outside the `if`.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('DF-1',)
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_defer(self, deferred, name, optimizer, gradients, params):
        super().torch_defer(deferred, name, optimizer, gradients, params)
        self.torch_step(optimizer, params)


update_model = base.make(Mutant)
