"""Every call into implementation code goes through :func:`call_impl`.

It bounds the call's time and turns an implementation that ends the process (``sys.exit``) or
never returns into :class:`ImplementationAborted`, a ``BaseException`` that Hypothesis does not
catch or shrink: the check fails at once with the reason. A hard hang that a signal cannot
interrupt, ``os._exit`` and interpreter crashes end the worker process; the runner reports those
as failures of the test that was running (never as passes).
"""
from __future__ import annotations

import os
import signal
import threading
from typing import Any, Callable, Optional

DEFAULT_TIMEOUT = 60.0
_timeout: float = float(os.environ.get("CONFORMANCE_TIMEOUT", DEFAULT_TIMEOUT))
HARD_HANG_EXIT = 75


class ImplementationAborted(BaseException):
    """The implementation did not return normally in a way no clause allows (hang, process exit)."""


def set_timeout(seconds: float) -> None:
    """Bound every later implementation call to ``seconds`` of wall time."""
    global _timeout
    _timeout = float(seconds)


def get_timeout() -> float:
    return _timeout


def _on_alarm(signum: int, frame: Any) -> None:
    raise ImplementationAborted(f"implementation did not return within {_timeout:g} s (--timeout)")


def _watchdog(done: threading.Event, seconds: float, what: str) -> None:
    """Last resort when the alarm cannot interrupt (e.g. a hang inside C code): end the worker."""
    if not done.wait(seconds):
        os.write(2, f"\n[conformance] {what} did not return within {seconds:g} s; "
                    "ending the worker process\n".encode())
        os._exit(HARD_HANG_EXIT)


def call_impl(function: Callable[..., Any], *args: Any, what: str = "update_model",
              **kwargs: Any) -> Any:
    """Call implementation code with a time bound; see the module docstring."""
    use_alarm = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    done = threading.Event()
    watchdog = threading.Thread(target=_watchdog, args=(done, _timeout + 10.0, what), daemon=True)
    previous: Optional[Any] = None
    if use_alarm:
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, _timeout)
    watchdog.start()
    try:
        return function(*args, **kwargs)
    except SystemExit as error:
        raise ImplementationAborted(f"implementation ended the process: {what} called "
                                    f"sys.exit({error.code!r})") from None
    finally:
        done.set()
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
