"""Signal set-up for the child processes the Ctrl-C tests start (``tests/test_robustness.py``,
``tests/test_interrupts.py``). Imports nothing but the standard library."""
from __future__ import annotations

import signal


def default_sigint() -> None:
    """``preexec_fn``: in the child, before ``exec``, SIGINT handled as a terminal user's shell leaves
    it. A test run started in the background (``cmd &`` in a script, ``nohup``) passes SIGINT on
    *ignored*, and Python keeps an ignored SIGINT ignored: a SIGINT sent to the child would be lost."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
