"""torch: collects each top-level layer's own parameters (`layer.parameters(recurse=False)` over `model.children()`).

Walking the model layer by layer is how one inspects or freezes layers, and for a flat
`nn.Sequential` it lists exactly `model.parameters()`. A sub-model used as a layer (a backbone, a
block) owns no parameters itself: its layers' parameters are left out, so the gradients pair with
the wrong parameters, or their count is off.
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
        return [p for layer in model.children() for p in layer.parameters(recurse=False) if p.requires_grad]


update_model = base.make(Mutant)
