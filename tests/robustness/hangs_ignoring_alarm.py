"""Ignores SIGALRM, then busy-loops, when asked to defer; otherwise the reference.

The per-call alarm cannot interrupt it; the watchdog must end the worker."""
import signal

from reference import update_model as _reference


def update_model(model, gradients, defer=False, deferred=None):
    if defer:
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        while True:
            pass
    return _reference(model, gradients, defer=defer, deferred=deferred)
