"""Deadlocks on a ``threading.Lock`` it already holds when asked to defer; otherwise the reference.

The wait is inside C code, but CPython's lock wait returns to run signal handlers (POSIX), so the
per-call alarm interrupts it."""
import threading

from reference import update_model as _reference


def update_model(model, gradients, defer=False, deferred=None):
    if defer:
        lock = threading.Lock()
        lock.acquire()
        lock.acquire()
    return _reference(model, gradients, defer=defer, deferred=deferred)
