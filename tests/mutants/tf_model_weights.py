"""TF: pairs gradients with `model.weights` (which includes non-trainable variables) instead of `trainable_variables`.

`weights` is Keras' everyday name for "the model's variables" and equals the trainable ones for
plain Dense/Conv models; BatchNorm statistics and frozen layers make them differ.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('CC-2', 'CC-3')
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def tf_variables(self, model):
        return list(model.weights)


update_model = base.make(Mutant)
