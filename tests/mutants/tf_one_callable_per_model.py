"""TF: `deferred[model_name] = [callable]` replaces earlier deferred updates (the torch rule applied to TF).

torch keeps one callable because `.grad` accumulates; TF has no such accumulator, so replacing
drops every deferred update but the last.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('DF-3', 'DF-5')
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def tf_store(self, deferred, name, update):
        deferred[name] = [update]


update_model = base.make(Mutant)
