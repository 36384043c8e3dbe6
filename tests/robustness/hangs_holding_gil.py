"""Deadlocks inside C code while holding the GIL when asked to defer; otherwise the reference.

It locks a pthread mutex twice through ``ctypes.PyDLL`` (which keeps the GIL during the call): a
mutex wait is not interrupted by signals, and no other Python thread can run. Only a watchdog
that needs no GIL can end this worker."""
import ctypes
import ctypes.util

from reference import update_model as _reference

_PTHREAD_MUTEX_T_SIZE = 64  # at least sizeof(pthread_mutex_t) on glibc (40 on x86-64); zeroed = default mutex


def update_model(model, gradients, defer=False, deferred=None):
    if defer:
        libc = ctypes.PyDLL(ctypes.util.find_library("c") or None)
        mutex = ctypes.create_string_buffer(_PTHREAD_MUTEX_T_SIZE)
        libc.pthread_mutex_lock(mutex)
        libc.pthread_mutex_lock(mutex)
    return _reference(model, gradients, defer=defer, deferred=deferred)
