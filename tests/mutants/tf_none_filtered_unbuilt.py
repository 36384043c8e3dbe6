"""TF: filters out `None` gradients without building the optimizer first: Keras 3 builds its slots on that subset.

Dropping None pairs is what Keras does itself; when the first call has a None, Keras 3 builds
on the subset and a later full update fails with "Unknown variable".
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('CC-6',)
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'strict'
REQUIRES: tuple[str, ...] = ('keras3',)


class Mutant(base.UpdateModel):
    def tf_build(self, optimizer, variables):
        pass


update_model = base.make(Mutant)
