"""Never checks for `current_optimizer`: a model without it fails with AttributeError, a non-model with ValueError.

`fe.build` always attaches the optimizer, so the check looks redundant, and reading
`model.current_optimizer` raises anyway - just not the documented AssertionError.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('EX-1',)
BACKENDS: tuple[str, ...] = ('tf', 'torch')
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def check_has_optimizer(self, model):
        pass


update_model = base.make(Mutant)
