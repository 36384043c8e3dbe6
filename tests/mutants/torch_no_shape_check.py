"""torch: no shape check: `.grad.add_` broadcasts a wrong-shaped gradient, `.grad = ...` fails half-way.

Gradients from autograd always have the right shape; torch itself checks assignment to `.grad`,
so an explicit check looks redundant - but in-place add broadcasts and a late failure is not atomic.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('CC-8',)
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'strict'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_check_gradients(self, gradients, params):
        pass


update_model = base.make(Mutant)
