"""One Ctrl-C ends the CLI's run, even when Python drops the KeyboardInterrupt it raised.

Python turns SIGINT into ``KeyboardInterrupt`` at whatever bytecode the main thread runs next. When
that is a finalizer (``__del__``, a weakref or GC callback) the exception is reported as
"unraisable" and dropped, as it is below C code that clears errors; the run then goes on as if no
Ctrl-C was pressed. (Seen once in CI, where exactly it landed not known: a SIGINT during pytest's
start-up was lost, and the run waited out a hanging implementation's 600 s ``--timeout``.)

:class:`InterruptGuard`, around ``pytest.main`` in the controller process: on SIGINT it raises
``KeyboardInterrupt`` as Python's own handler does; pytest, when it catches one, calls the hook
``pytest_keyboard_interrupt`` (the guard is registered as a plugin for that). A SIGINT that no such
hook acknowledges within ``grace`` seconds, while the guarded block still runs, was lost: the guard
says where it had landed and raises it again in the main thread, every ``grace`` seconds until it
is acknowledged or the block ends. A Ctrl-C pytest did catch is never raised again: the run's
orderly ending (workers stopped, the report written) is left alone.
"""
from __future__ import annotations

import _thread
import signal
import sys
import threading
import time
import traceback
from types import FrameType, TracebackType
from typing import Any, List, Optional, Type

#: Seconds a KeyboardInterrupt may take to reach pytest before it is taken as lost. Unwinding to
#: pytest's handler takes milliseconds; a lost one would otherwise cost up to the ``--timeout``.
GRACE = 5.0


class InterruptGuard:
    """Context manager and pytest plugin; see the module docstring."""

    def __init__(self, grace: float = GRACE) -> None:
        self.grace = grace
        self.raised_again = 0
        self._pending_since: Optional[float] = None  # a KeyboardInterrupt raised, not acknowledged
        self._where: List[str] = []  # the frames it was raised in
        self._acknowledged = False
        self._done = threading.Event()
        self._previous: Any = signal.default_int_handler
        self._watcher: Optional[threading.Thread] = None

    @property
    def acknowledged(self) -> bool:
        """pytest has caught a KeyboardInterrupt: the run is ending."""
        return self._acknowledged

    def __enter__(self) -> "InterruptGuard":
        if threading.current_thread() is not threading.main_thread():
            return self  # only the main thread gets signals (and may set their handlers): inactive
        self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        self._watcher = threading.Thread(target=self._watch, name="conformance-interrupt-guard", daemon=True)
        self._watcher.start()
        return self

    def __exit__(self, kind: Optional[Type[BaseException]], error: Optional[BaseException],
                 trace: Optional[TracebackType]) -> None:
        if self._watcher is None:
            return
        self._done.set()
        self._watcher.join()
        signal.signal(signal.SIGINT, self._previous if self._previous is not None else signal.default_int_handler)

    def _on_sigint(self, signum: int, frame: Optional[FrameType]) -> None:
        __tracebackhide__ = True  # pytest's "KeyboardInterrupt at FILE:LINE" names the interrupted code
        if not self._acknowledged:
            self._pending_since = time.monotonic()
            self._where = traceback.format_stack(frame, limit=6) if frame is not None else []
        raise KeyboardInterrupt

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        """pytest caught the KeyboardInterrupt: the run is ending."""
        self._acknowledged = True
        self._pending_since = None

    def _watch(self) -> None:
        while not self._done.wait(min(0.25, self.grace / 4)):
            since = self._pending_since
            if since is None or self._acknowledged or time.monotonic() - since < self.grace:
                continue
            self.raised_again += 1
            where = "".join(self._where).rstrip() or "(no Python frame)"
            print(f"conformance: Ctrl-C {self.grace:g} s ago did not stop the run: the KeyboardInterrupt was "
                  f"dropped where it was raised (a finalizer or code that swallows it). Raising it again. "
                  f"It was raised in:\n{where}", file=sys.stderr, flush=True)
            self._pending_since = time.monotonic()
            _raise_in_main_thread()


def _raise_in_main_thread() -> None:
    """SIGINT to the main thread itself, which ends a blocking call it is in (``interrupt_main``
    alone only sets Python's flag, seen when that call returns)."""
    if hasattr(signal, "pthread_kill"):
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
    else:
        _thread.interrupt_main(signal.SIGINT)
