"""torch: moves gradients to the CPU (`.cpu()`) before accumulating: a CUDA model gets CPU gradients.

`.cpu()` is a reflex when inspecting tensors; on a CPU-only development machine it is a no-op.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('PA-3',)
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ('cuda',)


class Mutant(base.UpdateModel):
    def torch_prepare(self, optimizer, gradient, param):
        return gradient.detach().cpu().to(dtype=param.dtype)


update_model = base.make(Mutant)
