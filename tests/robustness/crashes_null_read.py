"""Crashes the interpreter (reads address 0 through ctypes) when asked to defer; otherwise the reference."""
import ctypes

from reference import update_model as _reference


def update_model(model, gradients, defer=False, deferred=None):
    if defer:
        ctypes.string_at(0)
    return _reference(model, gradients, defer=defer, deferred=deferred)
