"""An MX linear layer, y = x @ w.T + bias (MX §6.2, §6.3): both operands quantized along K (or
kept as float32 values), reduced under the accumulator models of :func:`mxref.matmul`.
"""

from __future__ import annotations

import numpy as np

from ._arrays import as_float, widen_exact
from .conversion import quantize
from .formats import mx_format
from .options import FLOAT32_ACCUMULATORS, check_block_size, check_choice
from .products import chain_f32, float_operand, mx_operand, run_model

__all__ = ["linear"]


def _as_f32_values(v, name: str) -> np.ndarray:
    """float16 / bfloat16 / float32 values as float32; float64 only when every value is a
    float32 (else ValueError: it would have to be rounded)."""
    arr = as_float(v, name)
    if arr.dtype == np.float64:
        with np.errstate(over="ignore", invalid="ignore"):
            f = arr.astype(np.float32)
        if not ((widen_exact(f) == arr) | np.isnan(arr)).all():
            raise ValueError(f"{name} holds float64 values that are not float32 values; cast it "
                             "to float32 first (the layer computes on float32 values)")
        return f
    return arr.astype(np.float32)


def linear(
    x,
    w,
    bias=None,
    *,
    act_format=None,
    weight_format="mxfp8_e4m3",
    block_size: int | None = None,
    scale_rule: str = "floor",
    rounding: str = "rne",
    accumulate: str = "exact",
) -> np.ndarray:
    """Reference of an MX linear layer, y = x @ w.T + bias, float32 of shape (..., N).

    x (..., K) and w (N, K) are float values (float16, bfloat16, float32; float64 only when its
    values are float32 values). Both are quantized along K (MX §6.3, :func:`mxref.quantize`
    with ``block_size``, ``scale_rule``, ``rounding``): x per row (activations, dynamically),
    w per output channel. ``act_format=None`` keeps x as float32 values (weight-only);
    ``weight_format=None`` keeps w as float32 values. The product of the two, each kept or
    quantized, is then reduced over K under ``accumulate`` (one of the float32 models,
    ``mxref.options.FLOAT32_ACCUMULATORS``) exactly as in :func:`matmul`, with
    the blocks of the block size along K also for an unquantized side: "exact" rounds the exact
    sum of the products x_i * w_i once; "fp32_blockwise" rounds each block's exact sum;
    "fp32_sequential" rounds every product; the float32 sums run in K order from +0.0.

    bias (N,) (float32 values): added after the reduction, y = fl32(acc + bias), one IEEE
    float32 addition (as ``F.linear`` / ``x @ w.T + b`` in float32 and a GEMM epilogue do).

    Correspondence: torchao ``MXLinear`` (and ``MXTensor`` under ``F.linear``) quantizes the
    input rows and the weight rows along K (block 32, scale mode FLOOR by default = mxref
    ``scale_rule="floor"``; RCEIL = "rceil"; elements RNE), then multiplies -- emulated: the
    dequantized tensors in the input's dtype with ``torch.mm`` (order unspecified), real:
    ``torch._scaled_mm`` with a bfloat16 output -- and adds the bias in high precision; it has
    no weight-only MX path. Intel Neural Compressor ``MXQuantConfig(w_dtype, act_dtype,
    weight_only, blocksize=32, round_method="nearest", out_dtype)``: weights quantized along
    the input axis, activations along the last axis unless ``weight_only`` (= act_format=None),
    ``F.linear`` in floating point, then ``output + bias``; ``round_method="nearest"`` is
    microxcaling's ties-away rounding (mxref ``rounding="ties_away"``; "even" is "rne"), and its
    default ``out_dtype="bfloat16"`` additionally rounds weights, bias and outputs element-wise to
    bfloat16 -- mxref models ``out_dtype="float32"`` only. (MX §6.2, §6.3)"""
    check_choice("accumulate", accumulate, FLOAT32_ACCUMULATORS)
    xa = as_float(x, "x")
    wa = as_float(w, "w")
    if xa.ndim < 1:
        raise ValueError("x must have at least one dimension (..., K)")
    if wa.ndim != 2:
        raise ValueError(f"w must be 2-D (N, K), got shape {wa.shape}")
    K = xa.shape[-1]
    if wa.shape[1] != K:
        raise ValueError(f"w must have K = {K} columns (x's last axis), got shape {wa.shape}")
    N = wa.shape[0]
    x2 = xa.reshape(-1, K)
    if act_format is None and weight_format is None:
        k = 32 if block_size is None else block_size
    else:
        k = mx_format(weight_format if weight_format is not None else act_format).block_size \
            if block_size is None else block_size
    if isinstance(k, bool) or not hasattr(k, "__index__") or int(k) < 1:
        raise ValueError(f"block_size must be a positive int, got {block_size!r}")
    k = check_block_size(k)
    qkw = dict(block_size=k, scale_rule=scale_rule, rounding=rounding)

    def operand(v, fmt, name):
        if fmt is None:
            return float_operand(_as_f32_values(v, name), k)
        mx = quantize(v, fmt, axis=1, **qkw)
        return mx_operand(mx.elements, mx.scales, mx)

    A = operand(x2, act_format, "x")
    B = operand(wa, weight_format, "w")
    y = run_model(A, B, K, accumulate)
    if bias is not None:
        b32 = _as_f32_values(bias, "bias")
        if b32.shape != (N,):
            raise ValueError(f"bias must have shape ({N},), got {b32.shape}")
        y = chain_f32(y, b32[None, None, :].repeat(y.shape[0], axis=1))
    return y.reshape(*xa.shape[:-1], N)
