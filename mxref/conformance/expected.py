"""mxref's expected outputs for a target: the profile's options applied to ``mxref.quantize``,
``mxref.encode``, ``mxref.encode_e8m0`` (and, for NVFP4, :func:`mxref.ext.quantize_nvfp4`), and
the open alternatives the classification accepts (INT8 -128, MX §5.3.4; flushed float32
subnormals)."""

from __future__ import annotations

import numpy as np

from .. import encode, encode_e8m0, mx_format, quantize
from ..formats import element_format
from .model import NVFP4, Output, Target

def reference_output(target: Target, x: np.ndarray, **override) -> Output:
    """mxref's result for a batch under the target's profile; ``override``: further keywords of
    mxref.quantize / mxref.encode (an open alternative, or the random bits of stochastic
    rounding)."""
    p = target.profile
    if target.operation == "quantize" and target.format == NVFP4:
        return nvfp4_reference_output(target, x)
    if target.operation == "quantize":
        opts = dict(p.options)
        opts.update(scale_rule=p.scale_rule, rounding=p.rounding, block_size=target.block_size,
                    int8_allow_minus128=p.int8_allow_minus128)
        opts.update(override)
        mx = quantize(x, target.format, axis=-1, **opts)
        return Output(mx.scales.astype(np.int64), mx.elements.astype(np.int64), mx.dequantize(np.float64))
    if target.operation == "encode":
        el = element_format(target.format)
        allow = override.get("int8_allow_minus128", p.int8_allow_minus128)
        c = encode(x, el, rounding=p.rounding, overflow=target.overflow, nan=p.nan or "zero",
                   int8_allow_minus128=allow, random_bits=override.get("random_bits"),
                   random_bit_count=override.get("random_bit_count"))
        return Output(codes=c.astype(np.int64))
    xs = np.where(nonpositive(x), 1.0, x)
    return Output(codes=encode_e8m0(xs, rounding=p.e8m0_rounding, overflow=p.e8m0_overflow).astype(np.int64))


def nvfp4_reference_output(target: Target, x: np.ndarray) -> Output:
    """NVFP4 (not MX v1.0): mxref.ext.quantize_nvfp4 under the profile's options; the values by
    dequantize_nvfp4 with the profile's "dequantize" arithmetic."""
    from ..ext import quantize_nvfp4

    opts = dict(target.profile.options)
    deq = opts.pop("dequantize", "exact")
    q = quantize_nvfp4(x, axis=-1, block_size=target.block_size, **opts)
    return Output(q.scales.astype(np.int64), q.elements.astype(np.int64),
                  q.dequantize(np.float64, arithmetic=deq))


def nonpositive(x):
    x = np.asarray(x, np.float64)
    return ~np.isnan(x) & ((x <= 0) | np.signbit(x))


def alternatives(target: Target, x: np.ndarray, **extra) -> dict:
    """mxref under the open alternatives that are options: INT8 -128, flushing subnormals.
    ``extra``: keywords every mxref call of the batch takes (random bits)."""
    alts = {}
    fmt = target.format
    if fmt == NVFP4:  # quantize_nvfp4 has neither option
        return alts
    is_int8 = (mx_format(fmt).element if target.operation == "quantize" else
               element_format(fmt) if target.operation == "encode" else None)
    if is_int8 is not None and is_int8.integer and not target.profile.int8_allow_minus128:
        alts["int8_minus128"] = reference_output(target, x, int8_allow_minus128=True, **extra)
    if target.operation == "quantize":
        xf = np.abs(x.astype(np.float64))
        if ((xf != 0) & (xf < 2.0**-126)).any():
            alts["fp32_subnormal_flush"] = reference_output(target, x, flush_subnormals=True, **extra)
    return alts
