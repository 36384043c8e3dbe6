"""Never returns from any call (a pure-Python busy loop): every clause that calls it must fail
after ``--timeout`` seconds, and the run must still end."""


def update_model(model, gradients, defer=False, deferred=None):
    while True:
        pass
