"""torch: never clears `.grad` after the step, so the next step adds onto stale gradients.

Clearing is the caller's job in a hand-written loop (`zero_grad()` at the top), so it is easy to
leave out of a helper that only "applies gradients".
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('IM-2', 'MP-1', 'DF-5')
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_clear(self, optimizer, params):
        pass


update_model = base.make(Mutant)
