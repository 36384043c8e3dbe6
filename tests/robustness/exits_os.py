"""Calls ``os._exit(0)`` when asked to defer (no cleanup, no exception); otherwise the reference."""
import os

from reference import update_model as _reference


def update_model(model, gradients, defer=False, deferred=None):
    if defer:
        os._exit(0)
    return _reference(model, gradients, defer=defer, deferred=deferred)
