"""torch: the shape check loop `break`s at the first None gradient, so shapes after it go unchecked.

A one-word slip (`break` for `continue`) found by mutation testing of the reference: with no None
gradient it checks everything, so only a call with a None before the wrong-shaped gradient shows it.
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
        for index, (gradient, param) in enumerate(zip(gradients, params)):
            if gradient is None:
                break
            if gradient.shape != param.shape:
                raise ValueError(f"gradient {index} has shape {tuple(gradient.shape)}, "
                                 f"its parameter {tuple(param.shape)}")


update_model = base.make(Mutant)
