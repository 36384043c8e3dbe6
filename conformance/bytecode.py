"""A bytecode cache for ``python -O`` child processes (EX-4 and the project's own ``-O`` tests).

Under ``-O`` Python reads and writes ``*.opt-1.pyc`` files, which pip does not create. Where bytecode
may not be written (``PYTHONDONTWRITEBYTECODE=1``, a read-only site-packages) every ``-O`` child
compiles TensorFlow or torch from source again: about 8 s of a 15 s EX-4 run on TensorFlow on the
2-core reference machine. ``optimized_child_env`` points such a child at a private cache directory
(``PYTHONPYCACHEPREFIX``), so that the compilation is paid once per machine and nothing is ever
written into the user's installation. Python checks each cached file against its source (mtime and
size), so a stale cache costs a recompilation, never a wrong import.

``$CONFORMANCE_PYCACHE`` names the directory (``off`` disables the cache); by default it is
``$XDG_CACHE_HOME/update-model-conformance/pycache-O`` (``~/.cache`` without ``XDG_CACHE_HOME``).
A user's own ``PYTHONPYCACHEPREFIX`` is kept as it is.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Mapping, Optional

CACHE_VARIABLE = "CONFORMANCE_PYCACHE"


def cache_directory(env: Mapping[str, str]) -> Optional[Path]:
    """The directory the cache lives in for ``env``, or None when it is turned off."""
    chosen = env.get(CACHE_VARIABLE)
    if chosen is not None:
        # absolute: the children run in other working directories
        return None if chosen.strip().lower() in ("", "off", "0", "no") else Path(chosen).expanduser().absolute()
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "update-model-conformance" / "pycache-O"


def _directory_in_force(env: Mapping[str, str]) -> Optional[Path]:
    """Our cache directory for ``env``; None when the cache is off or the user's own
    ``PYTHONPYCACHEPREFIX`` decides where bytecode goes."""
    return None if env.get("PYTHONPYCACHEPREFIX") else cache_directory(env)


def _usable(directory: Path) -> bool:
    """Create ``directory`` (owner-only) if needed; usable when it is a directory this user owns and
    may write to (a cache another user could write to would let them choose the code we run)."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.stat()
    except OSError:
        return False
    owned = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return directory.is_dir() and owned and os.access(directory, os.W_OK | os.X_OK)


def optimized_child_env(env: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """A copy of ``env`` (default: this process's) for a ``python -O`` child: bytecode goes to the
    cache directory and may be written there. Unchanged when the cache is off or unusable, or when
    ``PYTHONPYCACHEPREFIX`` is already set."""
    result = dict(os.environ if env is None else env)
    directory = _directory_in_force(result)
    if directory is None or not _usable(directory):
        return result
    result["PYTHONPYCACHEPREFIX"] = str(directory)
    result.pop("PYTHONDONTWRITEBYTECODE", None)
    return result


def cache_populated(env: Optional[Mapping[str, str]] = None) -> Optional[bool]:
    """Whether the cache directory for ``env`` already holds bytecode (None: the cache is off or a
    user's own ``PYTHONPYCACHEPREFIX`` is in force). Timings depend on it: the first ``-O`` child on a
    machine compiles the frameworks."""
    directory = _directory_in_force(os.environ if env is None else env)
    if directory is None:
        return None
    return directory.is_dir() and any(directory.iterdir())
