"""Calls ``sys.exit(0)`` when asked to defer; otherwise the reference."""
import sys

from reference import update_model as _reference


def update_model(model, gradients, defer=False, deferred=None):
    if defer:
        sys.exit(0)
    return _reference(model, gradients, defer=defer, deferred=deferred)
