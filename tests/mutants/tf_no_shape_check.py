"""TF: no shape check: a broadcastable wrong-shaped gradient is applied, a non-broadcastable one fails half-way.

Keras validates shapes itself, doesn't it? Keras 3 broadcasts some, and a bad second gradient
after a good first one leaves the first variable updated.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('CC-8',)
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'strict'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def tf_check_shapes(self, gradients, variables):
        pass


update_model = base.make(Mutant)
