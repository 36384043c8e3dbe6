"""``conformance.bytecode``: the ``python -O`` children's bytecode cache (EX-4, the ``-O`` tests)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from conformance.bytecode import CACHE_VARIABLE, cache_populated, optimized_child_env

BASE: Dict[str, str] = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}


def test_cache_directory_named_by_the_variable(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = optimized_child_env({**BASE, CACHE_VARIABLE: str(cache)})
    assert env["PYTHONPYCACHEPREFIX"] == str(cache)
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert cache.is_dir() and (cache.stat().st_mode & 0o077) == 0


def test_relative_directory_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = optimized_child_env({**BASE, CACHE_VARIABLE: "relative-cache"})
    assert env["PYTHONPYCACHEPREFIX"] == str(tmp_path / "relative-cache")


def test_default_directory_under_xdg_cache_home(tmp_path: Path) -> None:
    env = optimized_child_env({**BASE, "XDG_CACHE_HOME": str(tmp_path)})
    assert env["PYTHONPYCACHEPREFIX"] == str(tmp_path / "update-model-conformance" / "pycache-O")


@pytest.mark.parametrize("case", ["turned off", "user's own prefix", "unusable directory"])
def test_environment_left_as_it_is(tmp_path: Path, case: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    given = {
        "turned off": {**BASE, CACHE_VARIABLE: "off"},
        "user's own prefix": {**BASE, "PYTHONPYCACHEPREFIX": str(tmp_path / "theirs")},
        "unusable directory": {**BASE, CACHE_VARIABLE: str(blocker / "cache")},
    }[case]
    assert optimized_child_env(given) == given


def test_optimized_child_compiles_once_into_the_cache_only(tmp_path: Path) -> None:
    """A ``-O`` child writes the ``.opt-1.pyc`` of what it imports under the cache, nowhere else, and
    a second child finds it there."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "some_module.py").write_text("VALUE = 1\n")
    cache = tmp_path / "cache"
    env = optimized_child_env({**BASE, CACHE_VARIABLE: str(cache), "PYTHONPATH": str(source)})
    command = [sys.executable, "-O", "-c", "import some_module, sys; print(some_module.__cached__)"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    cached = Path(first.stdout.strip())
    assert cached.name.endswith(".opt-1.pyc") and cached.is_file()
    assert cache in cached.parents
    assert not (source / "__pycache__").exists()
    written = cached.stat().st_mtime_ns
    subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    assert cached.stat().st_mtime_ns == written  # read, not compiled again


def test_cache_populated_says_whether_bytecode_is_there(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {**BASE, CACHE_VARIABLE: str(cache)}
    assert cache_populated(env) is False
    (cache / "x").mkdir(parents=True)
    assert cache_populated(env) is True
    assert cache_populated({**BASE, CACHE_VARIABLE: "off"}) is None
