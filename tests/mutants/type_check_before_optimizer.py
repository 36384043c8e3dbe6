"""Checks the model's type before `current_optimizer`: a non-model without the attribute gets ValueError.

A framework switch naturally starts with `isinstance`, and the page lists ValueError first; the
order of two independent checks looks irrelevant until EX-1 says which error an arbitrary object gets.
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
    def validate_model(self, model):
        backend = self.backend_of(model)
        if backend is None:
            raise self.unknown_model_error(model)
        self.check_has_optimizer(model)
        return backend


update_model = base.make(Mutant)
