"""torch: `deferred.pop(name, None)` without checking that `deferred` is given: the page's own example crashes.

Inside FastEstimator `UpdateOp` always passes a dict, so the `None` default of the public
function is never exercised by the framework's own tests.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('DOC-1', 'IM-1')
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_forget(self, deferred, name):
        deferred.pop(name, None)


update_model = base.make(Mutant)
