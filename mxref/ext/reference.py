"""Slow exact scalar references for the formats beside MX v1.0 (NVFP4, MX-QLLM), one block at a
time with Python ints and Fractions, written from the definitions in :mod:`mxref.ext.nvfp4` and
:mod:`mxref.ext.mxqllm` and independent of their vectorized paths. Elements and FP8 scales are
rounded by :func:`mxref.reference.encode_scalar` (enumeration of the format's values); float32
operations are modelled by :func:`f32_scalar`, the exact result rounded once to float32.
"""

from __future__ import annotations

import math
from fractions import Fraction

from ..reference import decode_exact, encode_scalar

__all__ = ["f32_scalar", "nvfp4_block_scalar", "nvfp4_per_tensor_scale_scalar", "mxqllm_block_scalar"]

_TWO = Fraction(2)
_F32_MAX_EXCLUSIVE = _TWO ** 128


def _floor_log2(v: Fraction) -> int:
    k = v.numerator.bit_length() - v.denominator.bit_length()
    return k if _TWO ** k <= v else k - 1


def f32_scalar(v):
    """An exact value (Fraction, int or float; or +-inf) rounded once to float32: round to nearest,
    ties to the even significand, subnormals down to 2^-149, +-inf past the range. Returns a
    Fraction, or a float +-inf. The sign of a zero result is dropped (callers keep signs apart)."""
    if isinstance(v, float) and math.isinf(v):
        return v
    v = Fraction(v)
    if v == 0:
        return Fraction(0)
    a = abs(v)
    q = max(_floor_log2(a), -126) - 23  # the float32 quantum at |v|
    n = round(a / _TWO ** q)  # Fraction.__round__: half to even
    r = n * _TWO ** q
    if r >= _F32_MAX_EXCLUSIVE:
        return -math.inf if v < 0 else math.inf
    return -r if v < 0 else r


def _val(code: int, fmt) -> Fraction:
    sign, mag = decode_exact(code, fmt)
    return -mag if sign else mag


# ----- NVFP4 ----------------------------------------------------------------------------------------


def nvfp4_per_tensor_scale_scalar(values, *, arithmetic: str = "exact") -> Fraction:
    """P = float32 rounding of amax_T / 2688 (amax_T the largest finite |x|, x rounded to float32
    first under the float32 arithmetics), 1 where that is 0."""
    xs = [Fraction(v) for v in values if math.isfinite(v)]
    if arithmetic != "exact":
        xs = [f32_scalar(v) for v in xs]
    amax = max((abs(v) for v in xs), default=Fraction(0))
    p = f32_scalar(amax / 2688)
    return p if p != 0 else Fraction(1)


def nvfp4_block_scalar(values, *, per_tensor_scale=None, arithmetic: str = "exact",
                       scale_clamp: str = "none", inf_policy: str = "nan_scale") -> tuple[int, list[int]]:
    """(E4M3 scale code, E2M1 codes) of one NVFP4 block of Python floats; per_tensor_scale is the
    resolved P (a float or Fraction) or None. See :mod:`mxref.ext.nvfp4` for the rules."""
    vals = [float(v) for v in values]
    if arithmetic != "exact":  # x as float32 first (exact for float32 input)
        vals = [v if not math.isfinite(v) else math.copysign(float(f32_scalar(v)), v) for v in vals]
    has_nan = any(math.isnan(v) for v in vals)
    has_inf = any(math.isinf(v) for v in vals)
    if has_nan or (has_inf and inf_policy == "nan_scale"):
        return 0x7F, [0] * len(vals)
    P = Fraction(1) if per_tensor_scale is None else Fraction(per_tensor_scale)
    # 1. block scale
    if has_inf:  # inf_policy "saturate": amax = Inf
        s_code = encode_scalar(math.inf, "fp8_e4m3", overflow="saturate")
    else:
        amax = max(abs(Fraction(v)) for v in vals)
        if arithmetic == "exact":
            q = amax / (6 * P)
        else:
            q = f32_scalar(amax / 6)
            if per_tensor_scale is not None:
                q = f32_scalar(q / P)
        s_code = encode_scalar(q, "fp8_e4m3", rounding="rne", overflow="saturate")
    if scale_clamp == "min_normal":  # clamp to [2^-6, 448] before the cast
        s_code = max(s_code, encode_scalar(2.0 ** -6, "fp8_e4m3"))
    S = _val(s_code, "fp8_e4m3")
    if per_tensor_scale is not None and arithmetic == "float32" and f32_scalar(1 / P) == math.inf:
        raise ValueError("fp32(1 / P) overflows")  # refused, as the fast path does
    # 2. elements
    codes = []
    for v in vals:
        negative = math.copysign(1.0, v) < 0
        if S == 0:
            codes.append(0x8 if negative else 0)
            continue
        if math.isinf(v):
            codes.append(encode_scalar(v, "fp4_e2m1", overflow="saturate"))
            continue
        x = Fraction(v)
        if arithmetic == "exact":
            y = x / (P * S)
        elif arithmetic == "float32":
            r = f32_scalar(1 / S) if per_tensor_scale is None else f32_scalar(f32_scalar(1 / P) / S)
            y = f32_scalar(x * r)
        else:  # float32_divide
            den = S if per_tensor_scale is None else f32_scalar(P * S)
            y = f32_scalar(x / den)
        if isinstance(y, float):  # +-inf: saturates
            codes.append(encode_scalar(y, "fp4_e2m1", overflow="saturate"))
            continue
        c = encode_scalar(abs(y), "fp4_e2m1", rounding="rne", overflow="saturate")
        codes.append(c | 0x8 if negative else c)
    return s_code, codes
