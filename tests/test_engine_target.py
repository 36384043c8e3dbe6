"""``conformance.target``: how ``--impl`` is split and loaded, and how each failure is explained.

Targets that must load are written into ``tmp_path`` under names unique to the test (module
names end up in ``sys.modules``); the shared do-nothing implementation lives in ``engine_impls``.
No framework is imported.
"""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Tuple

import pytest

from conformance.target import DEFAULT_ATTR, TargetError, load_target, split_target

NOOP = Path(__file__).resolve().parent / "engine_impls" / "noop.py"


@pytest.mark.parametrize("target, expected", [
    ("pkg.mod", ("pkg.mod", DEFAULT_ATTR)),
    ("pkg.mod:my_update", ("pkg.mod", "my_update")),
    ("pkg.mod:", ("pkg.mod", DEFAULT_ATTR)),
    ("impl.py", ("impl.py", DEFAULT_ATTR)),
    ("dir/impl.py", ("dir/impl.py", DEFAULT_ATTR)),
    ("dir/impl.py:my_update", ("dir/impl.py", "my_update")),
    ("/abs/dir/impl.py:my_update", ("/abs/dir/impl.py", "my_update")),
    ("C:\\work\\impl.py", ("C:\\work\\impl.py", DEFAULT_ATTR)),
    ("C:\\work\\impl.py:my_update", ("C:\\work\\impl.py", "my_update")),
    ("c:/work/impl.py", ("c:/work/impl.py", DEFAULT_ATTR)),
    ("D:impl.py", ("D:impl.py", DEFAULT_ATTR)),
])
def test_split_target(target: str, expected: Tuple[str, str]) -> None:
    assert split_target(target) == expected


def _write(directory: Path, name: str, source: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


GOOD = """
    def update_model(model, gradients, defer=False, deferred=None):
        return "default"

    def other_update(model, gradients, defer=False, deferred=None):
        return "other"

    NOT_CALLABLE = 42
"""


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Tuple[Path, str]:
    """A directory on ``sys.path`` and a module name unique to this test (removed afterwards)."""
    name = "engine_target_" + "".join(c if c.isalnum() else "_" for c in request.node.name)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path, name
    sys.modules.pop(name, None)


@pytest.mark.parametrize("attr, result", [(None, "default"), ("other_update", "other")])
def test_load_module_and_module_attr(module_dir: Tuple[Path, str], attr: str, result: str) -> None:
    directory, name = module_dir
    _write(directory, f"{name}.py", GOOD)
    function = load_target(name if attr is None else f"{name}:{attr}")
    assert function(None, []) == result


@pytest.mark.parametrize("attr, result", [(None, "default"), ("other_update", "other")])
def test_load_file_and_file_attr(tmp_path: Path, attr: str, result: str) -> None:
    path = _write(tmp_path, "my_impl.py", GOOD)
    function = load_target(str(path) if attr is None else f"{path}:{attr}")
    assert function(None, []) == result


def test_load_shared_noop_impl() -> None:
    function = load_target(str(NOOP))
    assert function.__name__ == "update_model" and function(object(), [1, 2]) is None


@pytest.mark.parametrize("attr, words", [
    ("missing", ("has no attribute 'missing'", "update_model", "NOT_CALLABLE")),
    ("NOT_CALLABLE", ("NOT_CALLABLE is a int, not callable", "42")),
])
@pytest.mark.parametrize("kind", ["file", "module"])
def test_bad_attribute(module_dir: Tuple[Path, str], kind: str, attr: str, words: Tuple[str, ...]) -> None:
    directory, name = module_dir
    path = _write(directory, f"{name}.py", GOOD)
    with pytest.raises(TargetError) as info:
        load_target(f"{path if kind == 'file' else name}:{attr}")
    for word in words:
        assert word in str(info.value)


SYNTAX_ERROR = """
    def update_model(model, gradients, defer=False, deferred=None):
        return None

    def broken(:
        pass
"""


@pytest.mark.parametrize("kind", ["file", "module"])
def test_syntax_error_names_file_and_line(module_dir: Tuple[Path, str], kind: str) -> None:
    directory, name = module_dir
    path = _write(directory, f"{name}.py", SYNTAX_ERROR)
    with pytest.raises(TargetError) as info:
        load_target(str(path) if kind == "file" else name)
    message = str(info.value)
    assert message.startswith("syntax error in ") and str(path) in message, message
    assert "line 5" in message, message  # the dedented source: blank line 1, ``def broken(:`` on line 5
    if kind == "file":
        assert "def broken(:" in message, message
    assert name not in sys.modules and f"_conformance_target_{name}" not in sys.modules  # nothing half-imported


def test_import_time_error_is_reported_with_its_type(tmp_path: Path) -> None:
    path = _write(tmp_path, "raises_on_import.py", "raise RuntimeError('no GPU here')\n")
    with pytest.raises(TargetError, match=r"importing .*raises_on_import\.py raised RuntimeError: no GPU here"):
        load_target(str(path))
    assert "_conformance_target_raises_on_import" not in sys.modules


def test_missing_dependency_is_not_taken_for_a_missing_target(module_dir: Tuple[Path, str]) -> None:
    directory, name = module_dir
    _write(directory, f"{name}.py", "import engine_target_no_such_dependency\n")
    with pytest.raises(TargetError) as info:
        load_target(name)
    assert "raised ModuleNotFoundError" in str(info.value)
    assert "engine_target_no_such_dependency" in str(info.value)


@pytest.mark.parametrize("target, match", [
    ("engine_target_no_such_module", r"module not found: 'engine_target_no_such_module'"),
    ("engine_target_no_such_module.sub:fn", r"module not found: 'engine_target_no_such_module.sub'"),
    ("no/such/impl.py", r"target file not found: no/such/impl.py"),
    ("C:\\no\\such\\impl.py:fn", r"target file not found: C:\\no\\such\\impl.py"),
])
def test_missing_target(target: str, match: str) -> None:
    with pytest.raises(TargetError, match=match):
        load_target(target)
