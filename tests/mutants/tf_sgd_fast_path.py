"""TF: a "fast path" for SGD assigns `w -= lr * g` directly, ignoring momentum/Nesterov and `iterations`.

Plain SGD needs no slots, so bypassing `apply_gradients` looks like a free speed-up; the SGD class
also implements momentum.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('IM-1', 'PA-1')
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def tf_apply(self, optimizer, variables, pairs):
        if type(optimizer).__name__ == "SGD":
            for gradient, variable in pairs:
                variable.assign_sub(optimizer.learning_rate * gradient)
            return
        super().tf_apply(optimizer, variables, pairs)


update_model = base.make(Mutant)
