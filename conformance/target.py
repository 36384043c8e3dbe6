"""Load the implementation under test from ``module``, ``module:attr`` or ``path/to/file.py[:attr]``.

A target is resolved once, to the file its implementation is imported from (:func:`resolve`, which
runs none of its code), and every process of a run (the CLI, its probe, each pytest-xdist worker)
imports exactly that file (:func:`load_resolved`): a module of the same name found first on some
process's ``sys.path`` is never tested in its place, and one imported there already is an error.

A path names its file. A module name is looked up on the suite's import path (:func:`search_path`):
the directory that holds the running ``conformance`` package first (:data:`SUITE_ROOT`, which pytest
puts first on the workers' ``sys.path`` for the checks anyway, so ``reference`` is always the suite's
own reference), then the working directory, then ``sys.path``.
"""
from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
import traceback
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

DEFAULT_TARGET = "reference"
DEFAULT_ATTR = "update_model"
#: The directory that holds the running ``conformance`` package: a checkout, or site-packages.
SUITE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE, FILE = "module", "file"


class TargetError(Exception):
    """The target cannot be loaded: the message says why (exit code 2)."""


@dataclass(frozen=True)
class ResolvedTarget:
    """A target and the file its implementation is imported from.

    ``kind`` is ``"module"`` (``location`` is a dotted module name) or ``"file"`` (``location`` is
    the path as given); ``file`` is absolute (for a package, its ``__init__.py``)."""
    location: str
    attr: str
    file: str
    kind: str

    @property
    def root(self) -> Optional[str]:
        """For a module, the directory its top-level package is imported from (``root/a/b.py``
        for ``a.b``); None for a file."""
        return _root_of(self.file, self.location) if self.kind == MODULE else None

    def to_dict(self) -> Dict[str, str]:
        """Plain strings, to hand to another process (``from_dict`` reads them back)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Dict[str, str]) -> "ResolvedTarget":
        return cls(**values)


def split_target(target: str) -> Tuple[str, str]:
    """``"pkg.mod:attr"`` -> ``("pkg.mod", "attr")``; the attribute defaults to ``update_model``.

    A Windows drive letter (``C:\\x.py``) is not taken for a separator."""
    head, sep, attr = target.rpartition(":")
    if sep and head and not (len(head) == 1 and head.isalpha()) and "/" not in attr and "\\" not in attr:
        return head, attr or DEFAULT_ATTR
    return target, DEFAULT_ATTR


def _is_path(location: str) -> bool:
    return location.endswith(".py") or os.sep in location or "/" in location


def search_path() -> List[str]:
    """Where a module target is looked up, in order: :data:`SUITE_ROOT`, the working directory,
    then ``sys.path`` (``""`` read as the working directory), each once."""
    cwd = os.getcwd()
    entries = [SUITE_ROOT, cwd, *(entry or cwd for entry in sys.path)]
    return list(dict.fromkeys(entries))


def _root_of(file: str, module: str) -> str:
    """The directory ``module`` is imported from, given its ``file``: ``root/a/b.py`` or
    ``root/a/b/__init__.py`` for ``a.b``."""
    depth = module.count(".") + (1 if os.path.basename(file).split(".")[0] == "__init__" else 0)
    root = os.path.dirname(file)
    for _ in range(depth):
        root = os.path.dirname(root)
    return root


def _same_path(first: str, second: str) -> bool:
    return os.path.normcase(os.path.realpath(first)) == os.path.normcase(os.path.realpath(second))


def _find_top(name: str) -> Optional[importlib.machinery.ModuleSpec]:
    """The spec of top-level module ``name`` on :func:`search_path`, else as a meta-path finder
    (an editable install's, say) finds it; None if neither does. Runs no code of the module."""
    spec = importlib.machinery.PathFinder.find_spec(name, search_path())
    if spec is not None:
        return spec
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None


def _find_spec(name: str) -> Optional[importlib.machinery.ModuleSpec]:
    """The spec under which module ``name`` would be imported from :func:`search_path`, or None.
    Its packages' ``__init__`` are not run: each submodule is looked up in its parent's directories."""
    parts = name.split(".")
    spec = _find_top(parts[0])
    for depth in range(2, len(parts) + 1):
        if spec is None or spec.submodule_search_locations is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[:depth]),
                                                        list(spec.submodule_search_locations))
    return spec


def _resolve_module(name: str, attr: str) -> ResolvedTarget:
    if not name or "" in name.split("."):
        raise TargetError(f"not a module name: {name!r}")
    spec = _find_spec(name)
    if spec is None:
        raise TargetError(f"module not found: {name!r} (is it installed, or on PYTHONPATH?)")
    if not spec.has_location or not spec.origin:
        raise TargetError(f"module {name!r} has no file (a namespace package or a built-in module): "
                          "name the module that defines the implementation")
    return ResolvedTarget(name, attr, os.path.abspath(spec.origin), MODULE)


def resolve(target: str) -> ResolvedTarget:
    """The file ``target`` names, without running any of its code; ``TargetError`` if there is none."""
    location, attr = split_target(target)
    if not _is_path(location):
        return _resolve_module(location, attr)
    if not os.path.isfile(location):
        raise TargetError(f"target file not found: {location}")
    return ResolvedTarget(location, attr, os.path.abspath(location), FILE)


def pinned(target: str, file: str) -> ResolvedTarget:
    """``target`` as resolved to ``file`` by another process (see :func:`resolve`)."""
    location, attr = split_target(target)
    return ResolvedTarget(location, attr, os.path.abspath(file), FILE if _is_path(location) else MODULE)


def _import_file(path: str) -> Any:
    if not os.path.isfile(path):
        raise TargetError(f"target file not found: {path}")
    name = "_conformance_target_" + os.path.splitext(os.path.basename(path))[0].replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, os.path.abspath(path))
    if spec is None or spec.loader is None:
        raise TargetError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        sys.modules.pop(name, None)
        raise TargetError(f"syntax error in {error.filename}, line {error.lineno}: {error.msg}\n"
                          f"    {(error.text or '').rstrip()}") from None
    except BaseException as error:  # noqa: BLE001 - any failure while importing user code
        sys.modules.pop(name, None)
        raise TargetError(f"importing {path} raised {type(error).__name__}: {error}\n"
                          + "".join(traceback.format_exception(error)[-6:])) from None
    return module


def _import_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name and (name == error.name or name.startswith(error.name + ".")):
            raise TargetError(f"module not found: {name!r} (is it installed, or on PYTHONPATH?)") from None
        raise TargetError(f"importing {name!r} raised ModuleNotFoundError: {error}") from None
    except SyntaxError as error:
        raise TargetError(f"syntax error in {error.filename}, line {error.lineno}: {error.msg}") from None
    except BaseException as error:  # noqa: BLE001
        raise TargetError(f"importing {name!r} raised {type(error).__name__}: {error}\n"
                          + "".join(traceback.format_exception(error)[-6:])) from None


def _imported_from(top: str) -> Optional[str]:
    """The directory this process's import system takes top-level module ``top`` from (where it
    was imported from, if it was), running none of its code; None if it finds no file for it."""
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.has_location or not spec.origin:
        return None
    return _root_of(spec.origin, top)


def _pin(resolved: ResolvedTarget) -> None:
    """Make this process import ``resolved``'s top-level package from its root: put the root first
    on ``sys.path``, unless that is already where the package is found."""
    root = resolved.root
    found = _imported_from(resolved.location.partition(".")[0])
    if root is not None and (found is None or not _same_path(found, root)):
        sys.path.insert(0, root)
        importlib.invalidate_caches()


def _module_of(resolved: ResolvedTarget) -> Any:
    """Import exactly ``resolved.file``; ``TargetError`` if the import yields another file."""
    if resolved.kind == FILE:
        return _import_file(resolved.file)
    _pin(resolved)
    module = _import_module(resolved.location)
    actual = getattr(module, "__file__", None)
    if not actual or not _same_path(actual, resolved.file):
        raise TargetError(f"module {resolved.location!r} was imported from {actual or 'no file'}, not from "
                          f"{resolved.file} where this run resolved it: a module of that name was imported "
                          "first from elsewhere (name the file instead)")
    return module


def _attribute(module: Any, location: str, attr: str) -> Callable[..., Any]:
    if not hasattr(module, attr):
        public = sorted(n for n in vars(module) if not n.startswith("_"))[:12]
        raise TargetError(f"{location} has no attribute {attr!r} (it has: {', '.join(public) or 'nothing public'})")
    function = getattr(module, attr)
    if not callable(function):
        raise TargetError(f"{location}:{attr} is a {type(function).__name__}, not callable: {function!r:.80}")
    return function


def load_resolved(resolved: ResolvedTarget) -> Callable[..., Any]:
    """Import ``resolved.file`` and return its ``attr`` callable, or raise ``TargetError``."""
    return _attribute(_module_of(resolved), resolved.location, resolved.attr)


def load_target(target: str, file: Optional[str] = None) -> Callable[..., Any]:
    """Import ``target`` and return its ``update_model`` callable, or raise ``TargetError``.

    ``file``: where another process of the run resolved ``target`` (:func:`resolve`); that file is
    imported. Without it, ``target`` is resolved here."""
    return load_resolved(resolve(target) if file is None else pinned(target, file))
