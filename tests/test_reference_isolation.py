"""The reference in other processes: no framework on import, one framework only, Keras 2, ``python -O``.

Each test starts a fresh interpreter (Keras 2 and Keras 3 cannot share a process; ``-O`` is an
interpreter flag; a blocked import must be blocked before anything imports it) and checks what
the child's pytest run reports test by test, not just its exit code.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import List, Sequence

import pytest

from reference_helpers import (ALL_FRAMEWORK_MODULES, FRAMEWORK_MODULES, ChildResult, child_env, run_pytest_child,
                               run_python_child)

CONTRACT = "tests/test_reference_contract.py"
EXCEPTIONS = "tests/test_reference_exceptions.py"
DOC = "tests/test_reference_doc.py"
TF_ONLY = "tests/test_reference_tf.py"
TORCH_ONLY = "tests/test_reference_torch.py"

# Skips a child may report: the page-copy check where the seed page is not reachable.
ALLOWED_SKIPS = ("is not reachable here",)


def assert_child_passed(result: ChildResult, minimum: int) -> None:
    """No failure or error, at least ``minimum`` passed, and no skip but the allowed ones.

    Each ``minimum`` is its selection's size when written, less the page-copy check that skips
    where the seed page is unreachable: fewer passing tests means tests went missing."""
    if result.returncode != 0 or result.count("failed") or result.count("error"):
        pytest.fail(result.describe(), pytrace=False)
    unexpected = {t: m for t, m in result.skip_messages.items() if not any(a in m for a in ALLOWED_SKIPS)}
    assert not unexpected, f"unexpected skips: {unexpected}"
    assert result.count("passed") >= minimum, result.describe()


def requires(*modules: str) -> None:
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"not installed: {missing}")


CHECK_IMPORT = """
import json, sys, types
import reference
import reference as fe
import reference.backend, reference.architecture, reference.architecture as arch
for obj, error in ((object(), AssertionError), (types.SimpleNamespace(current_optimizer=1), ValueError)):
    try:
        fe.update_model(obj, [], defer=True, deferred={})
    except error:
        pass
    else:
        raise SystemExit(f"no {error.__name__} for {obj!r}")
print(json.dumps(sorted(name for name in %r if name in sys.modules)))
"""


@pytest.mark.parametrize("blocked", [(), ALL_FRAMEWORK_MODULES], ids=["frameworks-installed", "none-importable"])
def test_importing_reference_loads_no_framework(blocked: Sequence[str]) -> None:
    """Also: ``fe.architecture`` / ``fe.backend`` and rejecting a non-model need no framework."""
    completed = run_python_child(CHECK_IMPORT % (ALL_FRAMEWORK_MODULES,), blocked=blocked)
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == []


def run_child(tmp_path: Path, paths: List[str], keyword: str, blocked: Sequence[str] = (),
              legacy_keras: bool = False, optimize: bool = False) -> ChildResult:
    return run_pytest_child([*paths, "-k", keyword], tmp_path / "child.xml", blocked=blocked, optimize=optimize,
                            env=child_env(legacy_keras=legacy_keras))


def test_tf_keras2_with_torch_unimportable(tmp_path: Path) -> None:
    """Every TF test again under tf-keras (TF_USE_LEGACY_KERAS=1), in a process without torch."""
    requires("tensorflow", "tf_keras")
    result = run_child(tmp_path, [CONTRACT, TF_ONLY, EXCEPTIONS, DOC], "not torch",
                       blocked=FRAMEWORK_MODULES["torch"], legacy_keras=True)
    assert_child_passed(result, minimum=133)
    assert "tf_keras" in result.loaded and "torch" not in result.loaded


def test_tf_keras3_with_torch_unimportable(tmp_path: Path) -> None:
    """A cross-section of the Keras 3 tests in a process without torch (all of them run in the
    main process, where torch is importable)."""
    requires("tensorflow")
    result = run_child(tmp_path, [CONTRACT, TF_ONLY, DOC], "not torch and (im1 or df5 or cc5 or doc1)",
                       blocked=FRAMEWORK_MODULES["torch"])
    assert_child_passed(result, minimum=17)
    assert "tensorflow" in result.loaded and "torch" not in result.loaded


def test_torch_with_tensorflow_unimportable(tmp_path: Path) -> None:
    """Every torch test again in a process where tensorflow, keras and tf_keras cannot be imported."""
    requires("torch")
    result = run_child(tmp_path, [CONTRACT, TORCH_ONLY, EXCEPTIONS, DOC], "not tf",
                       blocked=FRAMEWORK_MODULES["tf"])
    assert_child_passed(result, minimum=137)
    assert result.loaded == ["torch"]


def test_ex4_exceptions_hold_under_python_O(tmp_path: Path) -> None:
    """EX-1..EX-3 (and the strict rejections CC-7, DF-6) with ``assert`` statements stripped."""
    requires("tensorflow", "torch")
    result = run_child(tmp_path, [EXCEPTIONS, CONTRACT], "exceptions or cc7 or df6", optimize=True)
    assert result.optimize == 1, result.describe()
    assert_child_passed(result, minimum=51)
    assert any("asserts_in_this_module_are_live" in test_id for test_id in result.outcomes)
