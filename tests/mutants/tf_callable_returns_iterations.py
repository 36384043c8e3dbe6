"""TF: the deferred callable returns `apply_gradients`' result (the `iterations` variable), not None.

A `lambda: optimizer.apply_gradients(...)` (FastEstimator's form) returns whatever the call
returns; Keras returns its step counter.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('DF-2',)
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def tf_callable(self, optimizer, variables, pairs):
        def apply():
            self.tf_build(optimizer, variables)
            return optimizer.apply_gradients(pairs)
        return apply


update_model = base.make(Mutant)
