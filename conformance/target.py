"""Load the implementation under test from ``module``, ``module:attr`` or ``path/to/file.py[:attr]``."""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from typing import Any, Callable, Tuple

DEFAULT_TARGET = "reference"
DEFAULT_ATTR = "update_model"


class TargetError(Exception):
    """The target cannot be loaded: the message says why (exit code 2)."""


def split_target(target: str) -> Tuple[str, str]:
    """``"pkg.mod:attr"`` -> ``("pkg.mod", "attr")``; the attribute defaults to ``update_model``.

    A Windows drive letter (``C:\\x.py``) is not taken for a separator."""
    head, sep, attr = target.rpartition(":")
    if sep and head and not (len(head) == 1 and head.isalpha()) and "/" not in attr and "\\" not in attr:
        return head, attr or DEFAULT_ATTR
    return target, DEFAULT_ATTR


def _is_path(location: str) -> bool:
    return location.endswith(".py") or os.sep in location or "/" in location


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


def load_target(target: str) -> Callable[..., Any]:
    """Import ``target`` and return its ``update_model`` callable, or raise ``TargetError``."""
    location, attr = split_target(target)
    module = _import_file(location) if _is_path(location) else _import_module(location)
    if not hasattr(module, attr):
        public = sorted(n for n in vars(module) if not n.startswith("_"))[:12]
        raise TargetError(f"{location} has no attribute {attr!r} (it has: {', '.join(public) or 'nothing public'})")
    function = getattr(module, attr)
    if not callable(function):
        raise TargetError(f"{location}:{attr} is a {type(function).__name__}, not callable: {function!r:.80}")
    return function
