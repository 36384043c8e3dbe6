"""torch: the `scaler` check runs only when stepping, after `.grad` has already been accumulated.

This is FastEstimator's order (the check lives in the step helper); the AssertionError still
comes, but the caller's `.grad` now holds the gradients of a failed call (EX-5).
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('EX-5',)
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'strict'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_check_scaler(self, optimizer):
        pass

    def torch_step(self, optimizer, params):
        super().torch_check_scaler(optimizer)
        super().torch_step(optimizer, params)


update_model = base.make(Mutant)
