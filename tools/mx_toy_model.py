#!/usr/bin/env python3
"""A toy model with one MX-quantized linear layer per format: the NumPy counterpart of IBM
fms-model-optimizer's simple MX example (examples/MX/simple_mx_example.py).

The model (as there): out = x + dummy(dense_h(gelu(dense_4h(layernorm(x))))), hidden size H,
dense_4h: H -> 4H, dense_h: 4H -> H, dummy: H -> H, every linear with a bias. As fms-mo skips the
first and the last layer by default, only dense_h is quantized: its activations and its weights
both in the row's MX format (fms-mo sets qa_mode and qw_mode to the same "mx_<format>"), blocks
of 32 along K, mxref defaults (scale rule floor, RNE). ``--weight-only`` quantizes only the
weights (Intel Neural Compressor's ``weight_only``).

Deterministic, everywhere: the weights and biases are drawn once from a fixed seed (uniform
+-1/sqrt(fan_in), as torch.nn.Linear initializes) and the same model serves every row; every
linear layer -- the float32 ones too -- is :func:`mxref.linear` (the exact sum, rounded once to
float32, plus the bias in one float32 addition), so no BLAS summation order enters. LayerNorm
(eps 1e-5, unit gain, zero shift) and the exact GELU (erf) are computed in float64 and rounded
to float32.

Printed: for the float32 model and one row per MX format (every entry of ``mxref.MX_FORMATS``:
formats added there appear here), output[0, 0..2] and the L2 norm of (float32 output - row's
output). Note: the table in fms-mo's README builds a fresh, unseeded model for every row, so its
norms (about 8 for every format, MXINT8 included) compare different models; here the norms
measure quantization error only.

    python tools/mx_toy_model.py                    # H = 128, batch 16, seed 0
    python tools/mx_toy_model.py --accumulate fp32_sequential --weight-only
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

try:
    import mxref
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import mxref

HEADERS = ["dtype", "output[0, 0]", "output[0, 1]", "output[0, 2]", "||ref - out||_2"]


def make_model(hidden: int, seed: int) -> dict:
    """Weights (out, in) and biases (out,) of the three linear layers, float32, fixed seed."""
    rng = np.random.default_rng(seed)
    shapes = {"dense_4h": (4 * hidden, hidden), "dense_h": (hidden, 4 * hidden), "dummy": (hidden, hidden)}
    model = {}
    for name, (n_out, n_in) in shapes.items():
        bound = 1.0 / math.sqrt(n_in)
        w = rng.uniform(-bound, bound, size=(n_out, n_in)).astype(np.float32)
        b = rng.uniform(-bound, bound, size=n_out).astype(np.float32)
        model[name] = (w, b)
    return model


def _layernorm(x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    x64 = x.astype(np.float64)
    mu = x64.mean(axis=-1, keepdims=True)
    var = ((x64 - mu) ** 2).mean(axis=-1, keepdims=True)
    return ((x64 - mu) / np.sqrt(var + eps)).astype(np.float32)


_ERF = np.frompyfunc(math.erf, 1, 1)


def _gelu(x: np.ndarray) -> np.ndarray:
    x64 = x.astype(np.float64)
    return (0.5 * x64 * (1.0 + _ERF(x64 / math.sqrt(2.0)).astype(np.float64))).astype(np.float32)


def forward(model: dict, x: np.ndarray, fmt: str | None, *, accumulate: str = "exact",
            weight_only: bool = False) -> np.ndarray:
    """The toy model on x (batch, H); dense_h quantized in MX format ``fmt`` (None: float32)."""

    def lin(name, v, f=None):
        w, b = model[name]
        return mxref.linear(v, w, b, act_format=None if weight_only else f, weight_format=f,
                            accumulate=accumulate)

    h = lin("dense_4h", _layernorm(x))
    h = lin("dense_h", _gelu(h), fmt)
    h = lin("dummy", h)
    return np.add(x, h, dtype=np.float32)


def run(*, hidden: int = 128, batch: int = 16, seed: int = 0, accumulate: str = "exact",
        weight_only: bool = False) -> list:
    """The table's rows: [dtype, out[0, 0], out[0, 1], out[0, 2], ||ref - out||_2]."""
    model = make_model(hidden, seed)
    x = np.random.default_rng(seed + 1).standard_normal((batch, hidden)).astype(np.float32)
    ref = forward(model, x, None, accumulate=accumulate)
    rows = []
    for name, fmt in [("fp32", None)] + [(n, n) for n in mxref.MX_FORMATS]:
        out = ref if fmt is None else forward(model, x, fmt, accumulate=accumulate, weight_only=weight_only)
        err = float(np.linalg.norm((ref.astype(np.float64) - out.astype(np.float64)).ravel()))
        label = name if fmt is None or not weight_only else f"{name} (weights)"
        rows.append([label, float(out[0, 0]), float(out[0, 1]), float(out[0, 2]), err])
    return rows


def format_table(rows: list, floatfmt: str = ".4f") -> str:
    try:
        from tabulate import tabulate
    except ImportError:  # the tool still runs without the test extra
        widths = [max(len(h), 12) for h in HEADERS]
        lines = [" | ".join(h.rjust(w) for h, w in zip(HEADERS, widths))]
        for r in rows:
            cells = [r[0]] + [format(v, floatfmt) for v in r[1:]]
            lines.append(" | ".join(c.rjust(w) for c, w in zip(cells, widths)))
        return "\n".join(lines)
    return tabulate(rows, headers=HEADERS, tablefmt="pipe", floatfmt=floatfmt)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--accumulate", choices=mxref.options.FLOAT32_ACCUMULATORS, default="exact")
    p.add_argument("--weight-only", action="store_true", help="quantize the weights only")
    p.add_argument("--floatfmt", default=".4f")
    a = p.parse_args(argv)
    if a.hidden < 1 or a.batch < 1:
        p.error("--hidden and --batch must be positive")
    rows = run(hidden=a.hidden, batch=a.batch, seed=a.seed, accumulate=a.accumulate,
               weight_only=a.weight_only)
    print(f"toy model: H={a.hidden}, batch={a.batch}, seed={a.seed}, accumulate={a.accumulate}, "
          f"dense_h quantized ({'weights only' if a.weight_only else 'activations and weights'})")
    print(format_table(rows, a.floatfmt))
    return 0


if __name__ == "__main__":
    sys.exit(main())
