"""``python -m tools.adapter_timings [--backend tf|torch|all] [--number N]``: the micro-timings that
``docs/performance.md`` quotes for the adapters' variable I/O and comparisons, each beside the
obvious way to do the same thing.

All on one small model pair, ``ModelRequest(arch="batchnorm", optimizer="adam")`` (float32, CPU),
after one update so that the optimizer has its state. Each figure is the median of 5 repeats of
``number`` calls, in microseconds per call. The machine should be otherwise idle.

* ``tf``: a snapshot (``KerasAdapter.snapshot``: weights, non-trainable variables, optimizer
  variables and ``iterations``, read in one ``_ReadVariablesOp``); the model's and its optimizer's
  variables read as snapshots read them (``KerasAdapter.read_variables``) against reading each with
  ``.numpy()``; one write of a kernel (``KerasAdapter.write_variable``, one ``AssignVariableOp``)
  against Keras' ``assign``.
* ``numpy``: ``np.array_equal`` against ``np.isclose(...).all()`` on a 4x2 float32 array (the
  comparison tries the first and falls back to the second).
* ``torch``: a snapshot, one ``layout`` walk of the module tree, a reset of the pair, and the twin
  comparison's fast path (``TorchAdapter.identical``).
"""
from __future__ import annotations

import argparse
import statistics
import timeit
from typing import Callable, Dict, List, Optional

import numpy as np

from conformance import adapters
from conformance.clauses import BACKENDS
from conformance.model_specs import ModelRequest
from conformance.strategies import GradientDraw

REQUEST = ModelRequest(arch="batchnorm", optimizer="adam")


def micros(call: Callable[[], object], number: int) -> float:
    """Median over 5 repeats of ``number`` calls, in microseconds per call."""
    call()
    return round(statistics.median(timeit.repeat(call, number=number, repeat=5)) / number * 1e6, 1)


def _updated_pair(backend: str) -> tuple:
    import reference
    adapter = adapters.load(backend)
    pair = adapter.pair(REQUEST, seed=1)
    arrays = GradientDraw(seed=2, scale=1.0).arrays(adapter.trainable_shapes(pair), "float32")
    reference.update_model(pair.model, adapter.gradients(pair, arrays))
    adapter.twin_update(pair, arrays, False, {})
    return adapter, pair


def tf_timings(number: int) -> Dict[str, float]:
    adapter, pair = _updated_pair("tf")
    model = pair.model
    variables = list(model.variables) + list(model.current_optimizer.variables)
    kernel = model.trainable_variables[0]
    value = np.zeros(tuple(kernel.shape), dtype=np.float32)
    return {
        "tf snapshot": micros(lambda: adapter.snapshot(model), number),
        f"tf read of {len(variables)} variables (one _ReadVariablesOp)":
            micros(lambda: adapter.read_variables(variables), number),
        f"tf read of the same {len(variables)} variables by .numpy()":
            micros(lambda: [np.array(v.numpy(), copy=True) for v in variables], number),
        "tf write of one kernel (AssignVariableOp)": micros(lambda: adapter.write_variable(kernel, value), number),
        "tf write of one kernel (Keras assign)": micros(lambda: kernel.assign(value), number),
    }


def numpy_timings(number: int) -> Dict[str, float]:
    a = np.random.default_rng(0).normal(size=(4, 2)).astype(np.float32)
    b = a.copy()
    return {
        "np.array_equal, 4x2 float32": micros(lambda: np.array_equal(a, b), number),
        "np.isclose(...).all(), 4x2 float32": micros(lambda: np.isclose(a, b, equal_nan=True).all(), number),
    }


def torch_timings(number: int) -> Dict[str, float]:
    adapter, pair = _updated_pair("torch")
    from conformance.adapters.torch import layout
    return {
        "torch snapshot": micros(lambda: adapter.snapshot(pair.model), number),
        "torch layout (one walk of the module tree)": micros(lambda: layout(pair.model), number),
        "torch list(model.parameters())": micros(lambda: list(pair.model.parameters()), number),
        "torch reset of the pair (model and twin)": micros(lambda: adapter.pair(REQUEST, seed=1), number),
        "torch identical (twin comparison fast path)": micros(lambda: adapter.identical(pair), number),
    }


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.adapter_timings", description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=(*BACKENDS, "all"), default="all")
    parser.add_argument("--number", type=int, default=2000, help="calls per repeat")
    args = parser.parse_args(argv)
    backends = BACKENDS if args.backend == "all" else (args.backend,)
    adapters.prepare(backends)  # torch imported before TensorFlow, warm-ups paid
    rows: Dict[str, float] = {}
    for backend in backends:
        rows.update({"torch": torch_timings, "tf": tf_timings}[backend](args.number))
    rows.update(numpy_timings(args.number))
    width = max(map(len, rows))
    for name, value in rows.items():
        print(f"{name:<{width}}  {value:9.1f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
