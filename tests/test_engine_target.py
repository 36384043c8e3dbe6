"""``conformance.target``: how ``--impl`` is split and loaded, and how each failure is explained.

Targets that must load are written into ``tmp_path`` under names unique to the test (module
names end up in ``sys.modules``); the shared do-nothing implementation lives in ``engine_impls``.
No framework is imported.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Tuple

import pytest

from conformance.target import (DEFAULT_ATTR, SUITE_ROOT, ResolvedTarget, TargetError, load_resolved, load_target,
                                pinned, resolve, split_target)

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


# ----------------------------------------------------------------------------------- resolution

SUITE_REFERENCE = os.path.join(SUITE_ROOT, "reference", "__init__.py")
MARKER = "SHADOW-REFERENCE-MARKER"


def _package(directory: Path, name: str, init: str, **modules: str) -> Path:
    package = directory / name
    package.mkdir()
    _write(package, "__init__.py", init)
    for module, source in modules.items():
        _write(package, f"{module}.py", source)
    return package


def test_resolve_a_module_names_its_file_and_runs_none_of_its_code(module_dir: Tuple[Path, str]) -> None:
    directory, name = module_dir
    package = _package(directory, name, f"raise RuntimeError({MARKER!r})\n", impl=GOOD)
    resolved = resolve(f"{name}.impl:other_update")
    assert (resolved.location, resolved.attr, resolved.kind) == (f"{name}.impl", "other_update", "module")
    assert resolved.file == str(package / "impl.py") and resolved.root == str(directory)
    assert resolve(name).file == str(package / "__init__.py") and resolve(name).root == str(directory)
    assert name not in sys.modules, "resolving ran the package's __init__"


def test_resolve_a_file_names_it_absolutely(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, "my_impl.py", GOOD)
    monkeypatch.chdir(tmp_path)
    resolved = resolve("./my_impl.py:other_update")
    assert (resolved.file, resolved.attr, resolved.kind, resolved.root) == (
        str(tmp_path / "my_impl.py"), "other_update", "file", None)
    assert load_resolved(resolved)(None, []) == "other"


def test_a_resolved_target_travels_as_plain_strings(module_dir: Tuple[Path, str]) -> None:
    directory, name = module_dir
    _write(directory, f"{name}.py", GOOD)
    resolved = resolve(f"{name}:other_update")
    values = resolved.to_dict()
    assert all(isinstance(v, str) for v in values.values())
    assert ResolvedTarget.from_dict(values) == resolved == pinned(f"{name}:other_update", resolved.file)


def test_a_resolved_module_is_imported_from_its_root_even_off_sys_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """A worker whose ``sys.path`` lacks the directory the controller found the module in (a console
    script's controller has no working directory on it) still imports that module."""
    name = "engine_target_off_path_" + "".join(c if c.isalnum() else "_" for c in request.node.name)
    _write(tmp_path, f"{name}.py", GOOD)
    monkeypatch.setattr(sys, "path", list(sys.path))
    try:
        assert load_target(name, file=str(tmp_path / f"{name}.py"))(None, []) == "default"
        assert sys.path[0] == str(tmp_path)
    finally:
        sys.modules.pop(name, None)


def test_the_working_directory_does_not_shadow_the_suites_reference(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _package(tmp_path, "reference", f"raise RuntimeError({MARKER!r})\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    resolved = resolve("reference")
    assert resolved.file == SUITE_REFERENCE and resolved.root == SUITE_ROOT


WORKER_LIKE = """
import json, sys
from conformance.target import TargetError, load_target
try:
    load_target(sys.argv[1], file=sys.argv[2] if len(sys.argv) > 2 else None)
    print(json.dumps({"file": sys.modules[sys.argv[1].partition(":")[0]].__file__}))
except TargetError as error:
    print(json.dumps({"error": str(error)}))
"""


def _in_worker_like_process(directory: Path, *args: str, preimport: bool = False) -> dict:
    """Load a target in a fresh interpreter whose working directory, ``directory``, is first on
    ``sys.path`` (as on a pytest-xdist worker of a run started there); ``preimport``: the module
    ``reference`` found there first is imported before the target is loaded."""
    code = ("import reference\n" if preimport else "") + WORKER_LIKE
    child = subprocess.run([sys.executable, "-c", code, *args], cwd=directory, capture_output=True, text=True,
                           timeout=120, env=dict(os.environ, PYTHONPATH=str(directory)))
    assert child.returncode == 0, child.stderr
    return json.loads(child.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("handed", [False, True], ids=["resolved-there", "file-handed-over"])
def test_a_worker_in_a_directory_with_another_reference_imports_the_suites(tmp_path: Path, handed: bool) -> None:
    _package(tmp_path, "reference", f"raise RuntimeError({MARKER!r})\n")
    result = _in_worker_like_process(tmp_path, "reference", *([SUITE_REFERENCE] if handed else []))
    assert result == {"file": SUITE_REFERENCE}


def test_a_module_imported_first_from_elsewhere_is_an_error_not_tested(tmp_path: Path) -> None:
    _package(tmp_path, "reference", "def update_model(*args, **kwargs):\n    return None\n")
    result = _in_worker_like_process(tmp_path, "reference", SUITE_REFERENCE, preimport=True)
    assert str(tmp_path / "reference" / "__init__.py") in result["error"], result
    assert f"not from {SUITE_REFERENCE}" in result["error"], result

