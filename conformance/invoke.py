"""Every call into implementation code goes through :func:`call_impl`.

It bounds the call's time and turns an implementation that ends the process (``sys.exit``) or
never returns into :class:`ImplementationAborted`, a ``BaseException`` that Hypothesis does not
catch or shrink: the check fails at once with the reason. A hard hang that a signal cannot
interrupt, ``os._exit`` and interpreter crashes end the worker process; the runner reports those
as failures of the test that was running (never as passes). A ``KeyboardInterrupt`` that the
implementation raises itself, with no SIGINT received during the call, is ``ImplementationAborted``
too; a real Ctrl-C still interrupts the run.

The hard-hang watchdog is :func:`faulthandler.dump_traceback_later`, whose timer is a C thread:
a Python thread could not end a worker whose implementation hangs in C code while holding the
GIL (e.g. a deadlock in an extension module), because it needs the GIL to run.
"""
from __future__ import annotations

import faulthandler
import os
import signal
import threading
import time
from typing import Any, Callable, Optional

DEFAULT_TIMEOUT = 60.0
_timeout: float = float(os.environ.get("CONFORMANCE_TIMEOUT", DEFAULT_TIMEOUT))


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


#: Seconds after ``--timeout`` at which the watchdog ends a worker the alarm could not free.
WATCHDOG_GRACE = 10.0
#: A directory (set by the CLI) where the watchdog writes the tracebacks of a worker it ends, one
#: file per worker process; the CLI prints them. Without it: stderr, which pytest captures (lost).
WATCHDOG_DIR_VARIABLE = "CONFORMANCE_WATCHDOG_DIR"
_STDERR_FD = 2
_watchdog_file: Any = None


def _watchdog_output() -> Any:
    global _watchdog_file
    directory = os.environ.get(WATCHDOG_DIR_VARIABLE)
    if not directory or not os.path.isdir(directory):
        return _STDERR_FD
    if _watchdog_file is None:
        _watchdog_file = open(os.path.join(directory, f"worker-{os.getpid()}.txt"), "w", encoding="utf-8")
    return _watchdog_file

#: The watchdog is armed lazily: re-arming (a C thread started and joined) costs about a millisecond,
#: so a call re-arms only when the armed deadline would not cover it, with one more ``--timeout`` of
#: slack (a hard hang ends its worker within twice the timeout plus the grace); the checks' teardown
#: disarms it (:func:`disarm_watchdog`), so suite-only work between checks is never cut short.
_armed_until = 0.0


def _arm_watchdog() -> None:
    global _armed_until
    now = time.monotonic()
    if _armed_until < now + _timeout + WATCHDOG_GRACE:
        faulthandler.dump_traceback_later(2 * _timeout + WATCHDOG_GRACE, exit=True, file=_watchdog_output())
        _armed_until = now + 2 * _timeout + WATCHDOG_GRACE


def disarm_watchdog() -> None:
    """Cancel the hard-hang watchdog (after a check, when no implementation code runs)."""
    global _armed_until
    if _armed_until:
        faulthandler.cancel_dump_traceback_later()
        _armed_until = 0.0


#: During a call (main thread): the SIGINT handler it replaced, and whether a SIGINT arrived.
_sigint: dict = {"previous": signal.default_int_handler, "received": False}


def _on_sigint(signum: int, frame: Any) -> None:
    """Record a real Ctrl-C, then do what the replaced handler does (normally: KeyboardInterrupt)."""
    _sigint["received"] = True
    previous = _sigint["previous"]
    if callable(previous):
        previous(signum, frame)
    elif previous != signal.SIG_IGN:
        raise KeyboardInterrupt


def call_impl(function: Callable[..., Any], *args: Any, what: str = "update_model",
              **kwargs: Any) -> Any:
    """Call implementation code with a time bound; see the module docstring."""
    main_thread = threading.current_thread() is threading.main_thread()
    use_alarm = main_thread and hasattr(signal, "setitimer")
    previous: Optional[Any] = None
    if main_thread:  # tell a real Ctrl-C from an implementation raising KeyboardInterrupt itself
        _sigint.update(previous=signal.signal(signal.SIGINT, _on_sigint), received=False)
    if use_alarm:
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, _timeout)
    # Last resort when the alarm cannot interrupt (a hang in C code, SIGALRM ignored): dump every
    # thread's traceback to stderr and _exit(1) the worker, from a C thread that needs no GIL.
    _arm_watchdog()
    try:
        return function(*args, **kwargs)
    except Exception as error:
        try:
            error.raised_by_implementation = True  # the report says who raised it
        except AttributeError:
            pass
        raise
    except SystemExit as error:
        raise ImplementationAborted(f"implementation ended the process: {what} called "
                                    f"sys.exit({error.code!r})") from None
    except KeyboardInterrupt:
        if main_thread and not _sigint["received"]:
            raise ImplementationAborted(f"{what} raised KeyboardInterrupt itself (no Ctrl-C was pressed), "
                                        "which would have stopped the whole run") from None
        raise
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        if main_thread and _sigint["previous"] is not None:  # None: not set from Python, cannot restore
            signal.signal(signal.SIGINT, _sigint["previous"])
