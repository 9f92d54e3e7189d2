"""Scalar MX block conversion, one block at a time, exact (MX §6.3)."""

from __future__ import annotations

import math
from fractions import Fraction

from ..formats import Format
from .elements import encode_scalar
from .exact import floor_log2, log2_floor_ceil

__all__ = ["shared_exponent_scalar", "quantize_block_scalar"]


def shared_exponent_scalar(amax: Fraction, el: Format, rule: str) -> int:
    """Unclamped shared exponent of a block with amax > 0, from the definition of each rule."""
    emax = el.emax
    if rule == "floor":
        return floor_log2(amax) - emax
    if rule == "ceil":
        return log2_floor_ceil(amax)[1] - emax
    if rule == "even":
        m = el.mantissa_bits - 1 if el.integer else el.mantissa_bits
        f = floor_log2(amax)
        unit = Fraction(2) ** (f - m)
        rounded = math.floor(amax / unit + Fraction(1, 2)) * unit  # half-up to m fraction bits
        return floor_log2(rounded) - emax
    q = amax / Fraction(el.max)
    if rule == "rceil":
        return log2_floor_ceil(q)[1]
    if rule == "round_down":
        return floor_log2(q)
    raise ValueError(f"unknown scale rule {rule!r}")


def quantize_block_scalar(
    values,
    fmt,
    *,
    scale_rule: str = "floor",
    rounding: str = "rne",
    zero_scale: int = 0,
    inf_policy: str = "nan_scale",
    scale_overflow: str = "clamp",
    flush_subnormals: bool = False,
    int8_allow_minus128: bool = False,
    random_bits=None,
    random_bit_count=None,
) -> tuple[int, list[int]]:
    """(E8M0 scale code, element codes) of one block of Python floats, exactly; see
    :func:`mxref.quantize` for the rules. A short block is simply fewer values."""
    from ..formats import mx_format

    el = mx_format(fmt).element
    vals = [float(v) for v in values]
    if flush_subnormals:
        vals = [math.copysign(0.0, v) if (math.isfinite(v) and v != 0 and abs(v) < 2.0**-126) else v
                for v in vals]
    # 1. specials
    has_nan = any(math.isnan(v) for v in vals)
    has_inf = any(math.isinf(v) for v in vals)
    if has_nan or (has_inf and inf_policy == "nan_scale"):
        return 0xFF, [0] * len(vals)
    finite = [abs(Fraction(v)) for v in vals if math.isfinite(v)]
    amax = max(finite, default=Fraction(0))
    # 2. shared exponent
    if amax == 0:
        e = zero_scale - 127
    else:
        e = shared_exponent_scalar(amax, el, scale_rule)
        if e > 127 and scale_overflow == "nan":
            return 0xFF, [0] * len(vals)
        e = max(-127, min(127, e))
    x_scale = Fraction(2) ** e
    # 3. elements: V_i / X exactly, rounded, saturating
    codes = []
    for i, v in enumerate(vals):
        rb = None if random_bits is None else int(random_bits[i])
        kw = dict(rounding=rounding, overflow="saturate", nan="zero",
                  int8_allow_minus128=int8_allow_minus128, random_bits=rb,
                  random_bit_count=random_bit_count if random_bits is not None else None)
        if math.isinf(v):  # inf_policy == "finite_scale"
            codes.append(encode_scalar(v, el, rounding=rounding, int8_allow_minus128=int8_allow_minus128,
                                       overflow="nonsaturating" if el.has_nan else "saturate",
                                       random_bits=kw["random_bits"], random_bit_count=kw["random_bit_count"]))
        elif v == 0:
            codes.append(encode_scalar(v, el, **kw))
        else:
            sign = -1 if v < 0 else 1
            codes.append(encode_scalar(sign * abs(Fraction(v)) / x_scale, el, **kw))
    return e + 127, codes
