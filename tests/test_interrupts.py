"""The CLI's Ctrl-C guard (:mod:`conformance.interrupts`), on a KeyboardInterrupt that Python really
drops: one raised inside a ``__del__``. Each case runs in a child process of its own, which sends
itself one SIGINT while a finalizer runs."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Optional

import pytest

from child_signals import default_sigint

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: The child: the guard (``guarded``) or nothing around a block in which one SIGINT lands in a slow
#: ``__del__`` (dropped by Python, "Exception ignored in") or, with ``acknowledged``, is caught and
#: acknowledged as pytest does; then a wait of ``wait`` s.
CHILD = textwrap.dedent("""
    import contextlib, os, signal, sys, threading, time
    from conformance.interrupts import InterruptGuard

    class SlowFinalizer:
        def __del__(self):
            time.sleep(1.0)

    guard = InterruptGuard(grace=0.5)
    started = time.monotonic()
    try:
        with guard if {guarded} else contextlib.nullcontext():
            threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
            if {acknowledged}:  # the KeyboardInterrupt reaches the code that ends the run
                try:
                    time.sleep(1.0)
                except KeyboardInterrupt:
                    guard.pytest_keyboard_interrupt(None)
            else:  # it lands in a finalizer, which drops it
                finalized = SlowFinalizer()
                del finalized
            time.sleep({wait})
        print(f"ran to the end after {{time.monotonic() - started:.1f}} s")
    except KeyboardInterrupt:
        print(f"interrupted after {{time.monotonic() - started:.1f}} s")
    print("handler restored:", signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    print("raised again:", guard.raised_again)
""")


def run_python(script: str, cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
    """``python -c script`` with this checkout importable and SIGINT at its default, as in a
    terminal (a test run started in the background would pass SIGINT on ignored)."""
    return subprocess.run([sys.executable, "-c", script], env=dict(os.environ, PYTHONPATH=ROOT), cwd=cwd,
                          capture_output=True, text=True, timeout=60,
                          preexec_fn=default_sigint)


def run_child(guarded: bool, acknowledged: bool, wait: float = 4.0) -> subprocess.CompletedProcess:
    return run_python(CHILD.format(guarded=guarded, acknowledged=acknowledged, wait=wait))


def test_without_the_guard_a_ctrl_c_in_a_finalizer_is_lost() -> None:
    """The fault the guard exists for: the run goes on to the end."""
    child = run_child(guarded=False, acknowledged=False)
    assert "ran to the end" in child.stdout, child
    assert "Exception ignored in" in child.stderr and "KeyboardInterrupt" in child.stderr, child


def test_the_guard_raises_a_lost_ctrl_c_again() -> None:
    child = run_child(guarded=True, acknowledged=False)
    assert "interrupted after" in child.stdout, child
    seconds = float(child.stdout.split("interrupted after ")[1].split()[0])
    assert seconds < 3.0, child  # 0.3 s to the SIGINT, 1 s of finalizer, 0.5 s of grace: not the 4 s wait
    assert "raised again: 1" in child.stdout and "handler restored: True" in child.stdout, child
    assert "did not stop the run" in child.stderr and "in __del__" in child.stderr, child


@pytest.mark.parametrize("guarded", [True, False], ids=["guarded", "unguarded"])
def test_a_ctrl_c_that_reached_the_run_is_not_raised_again(guarded: bool) -> None:
    """Once caught and acknowledged, the run's orderly ending (here: the wait) is left alone."""
    child = run_child(guarded=guarded, acknowledged=True, wait=2.0)
    assert "ran to the end" in child.stdout, child
    assert "raised again: 0" in child.stdout and "handler restored: True" in child.stdout, child
    assert "did not stop the run" not in child.stderr, child


def test_pytest_acknowledges_the_ctrl_c_it_catches(tmp_path: Path) -> None:
    """As the CLI runs it: the guard, registered as a plugin, hears from pytest that a SIGINT during
    a test was caught (exit 2, "interrupted"), and does not raise it again during the ending."""
    (tmp_path / "test_sigint.py").write_text(textwrap.dedent("""
        import os, signal, time

        def test_pressing_ctrl_c():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
    """))
    script = textwrap.dedent(f"""
        import time, pytest
        from conformance.interrupts import InterruptGuard
        with InterruptGuard(grace=0.5) as guard:
            code = pytest.main(["-q", "-p", "no:cacheprovider", {str(tmp_path)!r}], plugins=[guard])
            time.sleep(1.5)  # the run's ending, past the grace
        print("exit", int(code), "acknowledged", guard.acknowledged, "raised again", guard.raised_again)
    """)
    child = run_python(script, cwd=tmp_path)
    assert "exit 2 acknowledged True raised again 0" in child.stdout, child


def test_outside_the_main_thread_the_guard_stays_out_of_the_way() -> None:
    """``cli.main`` called from another thread (an embedding tool): no handler can be set there, so
    the guard does nothing rather than raise."""
    from conformance.interrupts import InterruptGuard
    errors: list = []

    def enter_and_leave() -> None:
        try:
            with InterruptGuard(grace=0.1) as guard:
                assert not guard.acknowledged
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    before = signal.getsignal(signal.SIGINT)
    thread = threading.Thread(target=enter_and_leave)
    thread.start()
    thread.join(10)
    assert not errors and signal.getsignal(signal.SIGINT) is before, errors
