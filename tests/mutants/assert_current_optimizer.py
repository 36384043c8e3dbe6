"""Uses an `assert` statement for the `current_optimizer` check: under `python -O` the check vanishes.

This is FastEstimator's own code; "raises AssertionError" in the page reads like "write an assert".
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('EX-4',)
BACKENDS: tuple[str, ...] = ('tf', 'torch')
LEVEL: str = 'strict'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def check_has_optimizer(self, model):
        assert hasattr(model, "current_optimizer"), "model must have a 'current_optimizer' attribute"


update_model = base.make(Mutant)
