"""Never returns (a pure-Python busy loop) when asked to defer; otherwise the reference.

The per-call alarm interrupts it: the interpreter runs signal handlers between bytecodes."""
from reference import update_model as _reference


def update_model(model, gradients, defer=False, deferred=None):
    while defer:
        pass
    return _reference(model, gradients, defer=defer, deferred=deferred)
