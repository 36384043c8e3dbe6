"""torch: uses an `assert` statement for the `scaler` check: under `python -O` a missing scaler passes silently.

The page says AssertionError, FastEstimator writes `assert`; `-O` is rare in training scripts.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('EX-4',)
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'strict'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_check_scaler(self, optimizer):
        assert hasattr(optimizer, "scaler"), "model.current_optimizer must have a 'scaler' attribute"


update_model = base.make(Mutant)
