"""Framework code goes through one door per framework.

- The clause checks (``conformance/checks/``) import no framework and no concrete adapter, and never
  ask which backend an adapter is: they ask its capability flags and ``flavour``.
- No module outside ``conformance/adapters/`` imports a private name of an adapter module.
- The oracle imports only NumPy.

Read from the source with ``ast``, so that nothing is imported to check it.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKS = ROOT / "conformance" / "checks"
FRAMEWORKS = ("tensorflow", "torch", "keras", "tf_keras")
CONCRETE_ADAPTERS = ("conformance.adapters.keras", "conformance.adapters.torch")


def _imports(path: Path) -> Iterator[Tuple[int, str, List[str]]]:
    """(line, module, imported names) of every import statement in ``path``."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module, [a.name for a in node.names]


def _python_files(*folders: Path) -> List[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _framework_imports(path: Path, root: Path = ROOT) -> List[str]:
    found = []
    for line, module, names in _imports(path):
        if module.split(".")[0] in FRAMEWORKS or module in CONCRETE_ADAPTERS or (
                module == "conformance.adapters" and set(names) & {"keras", "torch"}):
            found.append(f"{path.relative_to(root)}:{line}: {module} {names or ''}")
    return found


@pytest.mark.parametrize("path", _python_files(CHECKS), ids=lambda p: p.name)
def test_checks_import_no_framework_and_no_concrete_adapter(path: Path) -> None:
    assert not _framework_imports(path)


@pytest.mark.parametrize("path", _python_files(CHECKS), ids=lambda p: p.name)
def test_checks_never_ask_which_backend_an_adapter_is(path: Path) -> None:
    """``adapter.backend`` may name a backend in a message or select the optimizer table's column,
    never decide a check's behaviour by comparison with a backend's name."""
    compared = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(s, ast.Attribute) and s.attr == "backend" for s in sides) and \
                    any(isinstance(s, ast.Constant) and isinstance(s.value, str) for s in sides):
                compared.append(f"{path.name}:{node.lineno}")
    assert not compared


def test_no_module_outside_the_adapters_imports_a_private_adapter_name() -> None:
    offenders = []
    for path in _python_files(ROOT / "conformance", ROOT / "tools", ROOT / "tests"):
        if (ROOT / "conformance" / "adapters") in path.parents:
            continue
        for line, module, names in _imports(path):
            if module.startswith("conformance.adapters") and any(n.startswith("_") for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {module} {names}")
    assert not offenders


def test_the_oracle_imports_only_numpy() -> None:
    modules = {module.split(".")[0] for _, module, _ in _imports(ROOT / "conformance" / "oracle.py")}
    assert modules - {"__future__", "numpy", "typing", "dataclasses", "math", "abc", "collections",
                      "functools", "itertools"} == set(), modules


def test_the_detector_sees_a_framework_import(tmp_path: Path) -> None:
    """The first test's detector is not blind: it reports each kind of forbidden import."""
    sample = tmp_path / "sample.py"
    sample.write_text("import torch\nfrom tensorflow import keras\nfrom conformance.adapters.keras import FLAVOUR\n"
                      "from conformance.adapters import torch as t\nimport numpy\n")
    assert len(_framework_imports(sample, root=tmp_path)) == 4
