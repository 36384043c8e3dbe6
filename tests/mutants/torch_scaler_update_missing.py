"""torch: `scaler.step(optimizer)` without `scaler.update()`: the loss scale never backs off nor grows.

`scaler.update()` is a separate call in the AMP recipe and looks like bookkeeping; without it
training still runs, with a frozen scale.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('MP-1', 'MP-2')
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_scaled_step(self, scaler, optimizer):
        scaler.step(optimizer)


update_model = base.make(Mutant)
