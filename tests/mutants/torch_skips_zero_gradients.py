"""torch: treats a gradient tensor that is all zeros like `None`, leaving `.grad` unset for its parameter.

"A zero gradient changes nothing, skip the copy" is a plausible shortcut, and with plain SGD it is
even true. But torch's optimizers skip a parameter whose `.grad` is `None`: no momentum or Adam
step for it, no weight decay, its step count stays behind. Branches that did not reach the loss and
unused embedding rows give exactly such zero tensors every training step.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('IM-1',)
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_accumulate(self, param, gradient):
        if not bool(gradient.any()):
            return
        super().torch_accumulate(param, gradient)


update_model = base.make(Mutant)
