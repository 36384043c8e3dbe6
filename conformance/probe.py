"""Run in a child process by the CLI before any test: can the target be loaded, which backends
import, is there a CUDA device? Prints one JSON object. Implementation code runs here, not in the
CLI, so a target that ends or crashes the process cannot take the CLI down with it."""
from __future__ import annotations

import importlib.util
import json
import os
import sys


def _findable(module: str) -> bool:
    """Whether ``module`` can be found; a finder that raises ``ImportError`` (or a module whose
    ``__spec__`` is unset: ``ValueError``) means it cannot."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def main(argv: list) -> int:
    target, want_cuda = argv[0], argv[1] == "1"
    result = {"target_error": None, "backends": {}, "cuda": False}
    for backend, module in (("torch", "torch"), ("tf", "tensorflow")):
        result["backends"][backend] = _findable(module)
    if want_cuda and result["backends"]["torch"]:
        import torch
        result["cuda"] = bool(torch.cuda.is_available())
    if want_cuda and not result["cuda"] and result["backends"]["tf"]:
        import tensorflow as tf
        result["cuda"] = bool(tf.config.list_physical_devices("GPU"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from conformance.target import TargetError, load_target
    try:
        load_target(target, argv[2] if len(argv) > 2 else None)  # argv[2]: the file the CLI resolved
    except TargetError as error:
        result["target_error"] = str(error)
    sys.stdout.write("\n@@probe@@" + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
