"""torch: a disabled GradScaler (e.g. the legacy CUDA scaler without CUDA) skips the step entirely.

`if scaler.is_enabled(): scaler.step(...)` guards the AMP path and forgets that a disabled
scaler must behave as `scaler=None`, i.e. still step.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('MP-5',)
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_scaled_step(self, scaler, optimizer):
        if scaler.is_enabled():
            scaler.step(optimizer)
            scaler.update()


update_model = base.make(Mutant)
