"""Sleeps for ~11 days when asked to defer; otherwise the reference.

The per-call alarm interrupts it: ``time.sleep`` returns to run signal handlers."""
import time

from reference import update_model as _reference


def update_model(model, gradients, defer=False, deferred=None):
    if defer:
        time.sleep(10 ** 6)
    return _reference(model, gradients, defer=defer, deferred=deferred)
