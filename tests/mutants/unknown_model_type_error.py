"""Raises TypeError (not the documented ValueError) for an object that is neither a Keras model nor a torch module.

TypeError is what Python's own conventions suggest for "wrong type of argument", so a careful
engineer "fixes" the page's choice.
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
        return TypeError(f"Unrecognized model format: {type(model)!r}")


update_model = base.make(Mutant)
