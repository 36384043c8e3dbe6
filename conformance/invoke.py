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
from dataclasses import dataclass
from typing import Any, Callable, Optional

DEFAULT_TIMEOUT = 60.0


@dataclass
class _Boundary:
    """The state of this process's boundary with implementation code; process state, not pytest state
    (so not in a ``pytest.Stash``): the bound applies to every :func:`call_impl` of the process, which
    check code, the harness and the tests call without a pytest config; the alarm and the SIGINT
    handler are per process, and so is faulthandler's one watchdog timer, which the armed deadline and
    the open output file describe."""
    #: Seconds an implementation call may take (``--timeout``, set once a process by the checks' conftest).
    timeout: float = float(os.environ.get("CONFORMANCE_TIMEOUT", DEFAULT_TIMEOUT))
    #: ``time.monotonic()`` until which the armed watchdog covers a call; 0: not armed.
    armed_until: float = 0.0
    #: Where the watchdog writes a worker's tracebacks (opened on first use); None: not yet opened.
    watchdog_file: Any = None


_BOUNDARY = _Boundary()


class ImplementationAborted(BaseException):
    """The implementation did not return normally in a way no clause allows (hang, process exit)."""


def set_timeout(seconds: float) -> None:
    """Bound every later implementation call of this process to ``seconds`` of wall time."""
    _BOUNDARY.timeout = float(seconds)


def get_timeout() -> float:
    """The bound on one implementation call of this process, in seconds."""
    return _BOUNDARY.timeout


def _on_alarm(signum: int, frame: Any) -> None:
    raise ImplementationAborted(f"implementation did not return within {_BOUNDARY.timeout:g} s (--timeout)")


#: Seconds after ``--timeout`` at which the watchdog ends a worker the alarm could not free.
WATCHDOG_GRACE = 10.0
#: A directory (set by the CLI) where the watchdog writes the tracebacks of a worker it ends, one
#: file per worker process; the CLI prints them. Without it: stderr, which pytest captures (lost).
WATCHDOG_DIR_VARIABLE = "CONFORMANCE_WATCHDOG_DIR"
_STDERR_FD = 2


def _watchdog_output() -> Any:
    """This worker's file in ``$CONFORMANCE_WATCHDOG_DIR`` (opened once), else stderr."""
    directory = os.environ.get(WATCHDOG_DIR_VARIABLE)
    if not directory or not os.path.isdir(directory):
        return _STDERR_FD
    if _BOUNDARY.watchdog_file is None:
        _BOUNDARY.watchdog_file = open(os.path.join(directory, f"worker-{os.getpid()}.txt"), "w", encoding="utf-8")
    return _BOUNDARY.watchdog_file


def _arm_watchdog() -> None:
    """Arm the hard-hang watchdog for a call, lazily: re-arming (a C thread started and joined) costs
    about a millisecond, so a call re-arms only when the armed deadline would not cover it, with one
    more ``--timeout`` of slack (a hard hang ends its worker within twice the timeout plus the grace);
    the checks' teardown disarms it (:func:`disarm_watchdog`), so suite-only work between checks is
    never cut short."""
    now, timeout = time.monotonic(), _BOUNDARY.timeout
    if _BOUNDARY.armed_until < now + timeout + WATCHDOG_GRACE:
        faulthandler.dump_traceback_later(2 * timeout + WATCHDOG_GRACE, exit=True, file=_watchdog_output())
        _BOUNDARY.armed_until = now + 2 * timeout + WATCHDOG_GRACE


def disarm_watchdog() -> None:
    """Cancel the hard-hang watchdog (after a check, when no implementation code runs)."""
    if _BOUNDARY.armed_until:
        faulthandler.cancel_dump_traceback_later()
        _BOUNDARY.armed_until = 0.0


#: During a call (main thread): the SIGINT handler it replaced, and whether a SIGINT arrived (process
#: state, as ``_Boundary``: the signal handler is the process's).
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
        signal.setitimer(signal.ITIMER_REAL, _BOUNDARY.timeout)
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
