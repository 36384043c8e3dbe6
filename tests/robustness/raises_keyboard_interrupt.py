"""Raises ``KeyboardInterrupt`` itself (no signal) when asked to defer; otherwise the reference.

Nobody pressed Ctrl-C: this is the implementation misbehaving, and must fail the clause."""
from reference import update_model as _reference


def update_model(model, gradients, defer=False, deferred=None):
    if defer:
        raise KeyboardInterrupt
    return _reference(model, gradients, defer=defer, deferred=deferred)
