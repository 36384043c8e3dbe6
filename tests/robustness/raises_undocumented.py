"""Raises an exception no clause documents, only when asked to defer; otherwise the reference.

Expected verdict: the deferring clauses fail with this traceback, the immediate ones pass."""
from reference import update_model as _reference


def update_model(model, gradients, defer=False, deferred=None):
    if defer:
        raise RuntimeError("robustness fixture: an undocumented failure")
    return _reference(model, gradients, defer=defer, deferred=deferred)
