"""Sends itself SIGSEGV when asked to defer; otherwise the reference."""
import os
import signal

from reference import update_model as _reference


def update_model(model, gradients, defer=False, deferred=None):
    if defer:
        os.kill(os.getpid(), signal.SIGSEGV)
    return _reference(model, gradients, defer=defer, deferred=deferred)
