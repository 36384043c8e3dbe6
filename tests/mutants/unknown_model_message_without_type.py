"""The ValueError for an unsupported model does not name the model's type.

A short fixed message is the first thing one writes; nobody re-reads it until a user reports
"Unrecognized model" without knowing what they passed.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('EX-2',)
BACKENDS: tuple[str, ...] = ('tf', 'torch')
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def unknown_model_error(self, model):
        return ValueError("Unrecognized model format")


update_model = base.make(Mutant)
