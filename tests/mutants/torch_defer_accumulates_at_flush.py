"""torch: `defer=True` stores a TF-style closure per call that accumulates AND steps at flush time.

Porting the TF branch (one closure per call) to torch looks symmetric, but torch must accumulate
at call time and step once on the sum (DF-4).
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('DF-4', 'DF-5')
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_defer(self, deferred, name, optimizer, gradients, params):
        def update():
            self.torch_accumulate_all(optimizer, gradients, params)
            self.torch_step(optimizer, params)
        deferred.setdefault(name, []).append(update)


update_model = base.make(Mutant)
