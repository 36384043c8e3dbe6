"""TF: pairs gradients with each layer's `trainable_weights`, layer after layer (`model.layers`).

Walking a model layer by layer is how one inspects or freezes it, and the concatenation equals
`model.trainable_variables` for stacked layers, nested sub-models (a sub-model's weights are its
layers') and a layer called twice (listed once in `model.layers`). A layer that uses another
layer's weights (an output layer multiplying by the embedding's matrix) lists them among its own:
the tied matrix comes twice, so the gradient count is off.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('CC-2', 'CC-3', 'IM-1')
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def tf_variables(self, model):
        return [w for layer in model.layers for w in layer.trainable_weights]


update_model = base.make(Mutant)
