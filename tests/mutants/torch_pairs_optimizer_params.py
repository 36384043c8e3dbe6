"""torch: pairs gradients with the optimizer's trainable parameters, group by group, instead of the model's.

The optimizer is what steps, so its `param_groups` look like the natural list to pair with; with one
group built over the trainable parameters (the page's example) the two lists are the same. With
several groups (no weight decay on biases, a smaller learning rate for a backbone) the optimizer's
order is not `model.parameters()` order, and `gradients[i]` lands on the wrong parameter.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('CC-2',)
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_params(self, model):
        return [p for group in model.current_optimizer.param_groups for p in group["params"] if p.requires_grad]


update_model = base.make(Mutant)
