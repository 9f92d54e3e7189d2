"""Slow exact scalar references for the formats beside MX v1.0 (NVFP4, MX-QLLM), one block at a
time with Python ints and Fractions, written from the definitions in :mod:`mxref.ext.nvfp4` and
:mod:`mxref.ext.mxqllm` and independent of their vectorized paths. Elements and FP8 scales are
rounded by :func:`mxref.reference.encode_scalar` (enumeration of the format's values); float32
operations are modelled by :func:`f32_scalar` (:func:`mxref.reference.round_to_float32`), the exact
result rounded once to float32.
"""

from __future__ import annotations

import math
from fractions import Fraction

from ..reference import decode_exact, encode_scalar, floor_log2, round_to_float32

__all__ = ["f32_scalar", "nvfp4_block_scalar", "nvfp4_per_tensor_scale_scalar", "mxqllm_block_scalar"]

_TWO = Fraction(2)


#: The one rounding of an exact value to float32 (Fraction, or float +-inf past the range).
f32_scalar = round_to_float32


def _val(code: int, fmt) -> Fraction:
    sign, mag = decode_exact(code, fmt)
    return -mag if sign else mag


# ----- NVFP4 ----------------------------------------------------------------------------------------


def nvfp4_per_tensor_scale_scalar(values, *, arithmetic: str = "exact",
                                  per_tensor_scale_form: str = "direct") -> Fraction:
    """P = float32 rounding of amax_T / 2688 (amax_T the largest finite |x|, x rounded to float32
    first under the float32 arithmetics), 1 where that is 0; the reciprocal form: the global
    scale G = float32 rounding of 2688 / amax_T, 1 where amax_T = 0 or that overflows."""
    xs = [Fraction(v) for v in values if math.isfinite(v)]
    if arithmetic != "exact":
        xs = [f32_scalar(v) for v in xs]
    amax = max((abs(v) for v in xs), default=Fraction(0))
    if per_tensor_scale_form == "reciprocal":
        g = f32_scalar(2688 / amax) if amax else math.inf
        return Fraction(1) if g == math.inf else g
    p = f32_scalar(amax / 2688)
    return p if p != 0 else Fraction(1)


def nvfp4_block_scalar(values, *, per_tensor_scale=None, arithmetic: str = "exact",
                       scale_clamp: str = "none", inf_policy: str = "nan_scale",
                       per_tensor_scale_form: str = "direct") -> tuple[int, list[int]]:
    """(E4M3 scale code, E2M1 codes) of one NVFP4 block of Python floats; per_tensor_scale is the
    resolved P (a float or Fraction) or None, or with ``per_tensor_scale_form="reciprocal"`` the
    global scale G = 1 / P. See :mod:`mxref.ext.nvfp4` for the rules."""
    recip = per_tensor_scale_form == "reciprocal" and per_tensor_scale is not None
    vals = [float(v) for v in values]
    if arithmetic != "exact":  # x as float32 first (exact for float32 input)
        vals = [v if not math.isfinite(v) else math.copysign(float(f32_scalar(v)), v) for v in vals]
    has_nan = any(math.isnan(v) for v in vals)
    has_inf = any(math.isinf(v) for v in vals)
    if has_nan or (has_inf and inf_policy == "nan_scale"):
        return 0x7F, [0] * len(vals)
    P = Fraction(1) if per_tensor_scale is None else Fraction(per_tensor_scale)
    G = P  # the reciprocal form: the given value is G (P = 1 / G)
    # 1. block scale
    if has_inf:  # inf_policy "saturate": amax = Inf
        s_code = encode_scalar(math.inf, "fp8_e4m3", overflow="saturate")
    else:
        amax = max(abs(Fraction(v)) for v in vals)
        if recip:
            q = amax * G / 6 if arithmetic == "exact" else f32_scalar(f32_scalar(amax / 6) * G)
        elif arithmetic == "exact":
            q = amax / (6 * P)
        elif arithmetic == "float32_divide_6p" and per_tensor_scale is not None:
            q = f32_scalar(amax / f32_scalar(6 * P))
        else:
            q = f32_scalar(amax / 6)
            if per_tensor_scale is not None:
                q = f32_scalar(q / P)
        s_code = encode_scalar(q, "fp8_e4m3", rounding="rne", overflow="saturate")
    if scale_clamp == "min_normal":  # clamp to [2^-6, 448] before the cast
        s_code = max(s_code, encode_scalar(2.0 ** -6, "fp8_e4m3"))
    elif scale_clamp == "min_subnormal":  # clamp to [2^-9, 448] before the cast
        s_code = max(s_code, encode_scalar(2.0 ** -9, "fp8_e4m3"))
    elif scale_clamp == "zero_to_0.125" and s_code == 0:  # a zero scale becomes 0.125
        s_code = encode_scalar(0.125, "fp8_e4m3")
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
        if recip:
            y = x * G / S if arithmetic == "exact" else f32_scalar(x / f32_scalar(S / G))
        elif arithmetic == "exact":
            y = x / (P * S)
        elif arithmetic == "float32":
            r = f32_scalar(1 / S) if per_tensor_scale is None else f32_scalar(f32_scalar(1 / P) / S)
            y = f32_scalar(x * r)
        else:  # float32_divide, float32_divide_6p
            den = S if per_tensor_scale is None else f32_scalar(P * S)
            y = f32_scalar(x / den)
        if isinstance(y, float):  # +-inf: saturates
            codes.append(encode_scalar(y, "fp4_e2m1", overflow="saturate"))
            continue
        c = encode_scalar(abs(y), "fp4_e2m1", rounding="rne", overflow="saturate")
        codes.append(c | 0x8 if negative else c)
    return s_code, codes


# ----- MX-QLLM --------------------------------------------------------------------------------------


def _round_int(v: Fraction, rounding: str) -> int:
    if rounding == "rne":
        return round(v)  # Fraction.__round__: half to even
    n = math.floor(abs(v) + Fraction(1, 2))  # half away from zero
    return -n if v < 0 else n


def mxqllm_block_scalar(values, fmt, *, scale_mode: str = "pot", asymmetric: bool = False,
                        rounding: str = "rne", scale_rounding: str = "rne", e4m3_scale: str = "ocp",
                        int_clamp: str = "full", arithmetic: str = "exact") -> dict:
    """One MX-QLLM block of Python floats (float32 values), exactly: a dict with "scale" (a
    Fraction, or NaN), "scale_neg" (asymmetric floating formats), "zero_point" (asymmetric
    integers) and "elements" (codes, or the levels q of asymmetric integers). See
    :mod:`mxref.ext.mxqllm` for the rules."""
    from ..formats import element_format
    from .mxqllm import E4M3_480

    el = element_format(fmt)
    vals = [float(v) for v in values]
    int_asym = asymmetric and el.integer
    fp_asym = asymmetric and not el.integer
    out = {}
    if not all(math.isfinite(v) for v in vals):
        out["scale"] = math.nan
        if fp_asym:
            out["scale_neg"] = math.nan
        if int_asym:
            out["zero_point"] = 0
        out["elements"] = [0] * len(vals)
        return out
    X = [Fraction(v) for v in vals]
    exact = arithmetic == "exact"

    def f32(v):
        return f32_scalar(v)

    def pot_scale(amax):
        """2^(floor(log2 amax) - emax), PoT-R bumping it when the significand of amax is at least
        2 - 2^-(m+1); clamped to [-127, 127]; amax = 0 gives 2^-127."""
        if amax == 0:
            return _TWO ** -127
        f = floor_log2(amax)
        if scale_mode == "pot_r":
            m = el.mantissa_bits - 1 if el.integer else el.mantissa_bits
            if amax / _TWO ** f >= 2 - _TWO ** -(m + 1):
                f += 1
        return _TWO ** max(-127, min(127, f - el.emax))

    def float_scale(amax):
        q = amax / Fraction(el.max)
        if scale_mode == "float":
            s = f32(q)
        else:
            row = "fp8_e5m2" if scale_mode == "fp8_e5m2" else (E4M3_480 if e4m3_scale == "mxqllm" else "fp8_e4m3")
            t = q if exact else (f32(q) or Fraction(1))
            s = _val(encode_scalar(t, row, rounding=scale_rounding, overflow="saturate"), row)
        return s if s != 0 else Fraction(1)

    def element(v, s):
        y = Fraction(v) / s if exact else f32(Fraction(v) / s)
        if y == 0 and math.copysign(1.0, v) < 0:
            y = -0.0  # keep the sign of a zero
        return encode_scalar(y, el, rounding=rounding, overflow="saturate")

    if not asymmetric:
        amax = max(abs(x) for x in X)
        s = pot_scale(amax) if scale_mode in ("pot", "pot_r") else float_scale(amax)
        out["scale"] = s
        out["elements"] = [element(v, s) for v in vals]
        return out
    if fp_asym:
        pick = pot_scale if scale_mode in ("pot", "pot_r") else float_scale
        s_pos = pick(max(max(X), Fraction(0)))
        s_neg = pick(max(-min(X), Fraction(0)))
        out["scale"], out["scale_neg"] = s_pos, s_neg
        out["elements"] = [element(v, s_pos if v > 0 else s_neg) for v in vals]
        return out
    # asymmetric integers: scale, zero point, levels
    if scale_mode not in ("float", "pot", "pot_r"):
        raise ValueError("asymmetric integers take the float, pot or pot_r scale modes")
    b = el.bits
    L, half = (1 << b) - 1, 1 << (b - 1)
    hi, lo = max(X), min(X)
    s = f32((hi - lo) / L) if exact else f32(f32(hi - lo) / L)
    if s == 0:
        s = Fraction(1)
    if scale_mode in ("pot", "pot_r"):
        f = floor_log2(s)
        if scale_mode == "pot_r" and (s / _TWO ** f) ** 2 >= 2:  # nearest in the log domain
            f += 1
        s = _TWO ** f
    R = lambda v: _round_int(v, rounding)  # noqa: E731
    if exact:
        shift = -R(lo / s) - half
        q = [R(x / s + shift) for x in X]
    else:
        shift = f32(-R(f32(lo / s)) - half)
        q = [R(f32(f32(x / s) + shift)) for x in X]
    if int_clamp == "full":
        q = [max(-half, min(half - 1, v)) for v in q]
    elif int_clamp == "upper":
        q = [min(half - 1, v) for v in q]
    out["scale"], out["zero_point"], out["elements"] = s, int(shift), q
    return out
