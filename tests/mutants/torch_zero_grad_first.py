"""torch: calls `optimizer.zero_grad()` before accumulating, discarding earlier deferred and caller gradients.

Every torch training loop starts with `zero_grad()`; copied into update_model it wipes the sum
that deferred calls (and the caller's own backward) built up.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('IM-2', 'DF-4', 'DF-5')
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_accumulate_all(self, optimizer, gradients, params):
        optimizer.zero_grad()
        super().torch_accumulate_all(optimizer, gradients, params)


update_model = base.make(Mutant)
