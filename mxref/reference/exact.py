"""Exact numbers for the slow reference: floor(log2) of a Fraction, exact values of Python floats,
extended reals (a Fraction or "nan" / "+inf" / "-inf") and the one rounding of an exact value to
float32. Python ints and Fractions only (numpy only to hand back a float32 scalar)."""

from __future__ import annotations

import math
from fractions import Fraction

__all__ = ["floor_log2", "log2_floor_ceil", "exact_value", "to_extended", "ext_mul", "ext_sum",
           "round_to_float32", "round_float32_scalar"]

_TWO = Fraction(2)
_F32_LIMIT = _TWO ** 128  # the first magnitude that rounds to Inf is at or above this


def floor_log2(v: Fraction) -> int:
    """floor(log2(v)) of a positive Fraction (or int), exactly."""
    v = Fraction(v)
    n, d = v.numerator, v.denominator
    k = n.bit_length() - d.bit_length()
    # 2^k <= v < 2^(k+1) after the adjustment
    if k >= 0:
        if n < d << k:
            k -= 1
    else:
        if n << -k < d:
            k -= 1
    return k


def log2_floor_ceil(v: Fraction) -> tuple[int, int]:
    """(floor(log2 v), ceil(log2 v)) of a positive Fraction, exactly."""
    f = floor_log2(v)
    return f, (f if v == _TWO ** f else f + 1)


def exact_value(x) -> tuple[int, Fraction] | str:
    """(sign, |x|) of a Python float / int / Fraction exactly, or "+nan" / "-nan" / "+inf" / "-inf"."""
    if isinstance(x, Fraction):
        return (1 if x < 0 else 0), abs(x)
    x = float(x)
    if math.isnan(x):
        return "-nan" if math.copysign(1.0, x) < 0 else "+nan"
    if math.isinf(x):
        return "-inf" if x < 0 else "+inf"
    return (1 if math.copysign(1.0, x) < 0 else 0), abs(Fraction(x))


# Extended real values: a Fraction, or one of the strings "nan", "+inf", "-inf". The rules are
# IEEE 754's for exact operands: NaN absorbs; Inf x 0 is NaN; Inf x nonzero is Inf with the
# product's sign; +Inf + -Inf is NaN.

_SPECIAL = ("nan", "+inf", "-inf")


def to_extended(v):
    """A value as a Fraction or "nan" / "+inf" / "-inf" (NaN sign is dropped: it carries nothing)."""
    if isinstance(v, str):
        if v in ("+nan", "-nan", "nan"):
            return "nan"
        if v in ("+inf", "-inf"):
            return v
        raise ValueError(f"not a value: {v!r}")
    if isinstance(v, (int, Fraction)):
        return Fraction(v)
    d = exact_value(v)
    if isinstance(d, str):
        return to_extended(d)
    s, mag = d
    return -mag if s else mag


def ext_mul(x, y):
    if x == "nan" or y == "nan":
        return "nan"
    xi, yi = isinstance(x, str), isinstance(y, str)
    if xi or yi:
        other = y if xi else x
        if not isinstance(other, str) and other == 0:
            return "nan"  # Inf x 0
        neg = (x == "-inf" if xi else x < 0) != (y == "-inf" if yi else y < 0)
        return "-inf" if neg else "+inf"
    return x * y


def ext_sum(values):
    """Exact sum of extended values (an empty sum is 0)."""
    total, pos, neg = Fraction(0), False, False
    for v in values:
        if v == "nan":
            return "nan"
        if v == "+inf":
            pos = True
        elif v == "-inf":
            neg = True
        else:
            total += v
    if pos and neg:
        return "nan"
    return "+inf" if pos else "-inf" if neg else total


def round_to_float32(v):
    """An exact value (Fraction, int or float; or a float +-inf) rounded once to float32: round
    to nearest, ties to the even significand, by integers: |v| = n * 2^q with
    q = max(floor(log2 |v|), -126) - 23 (the float32 quantum at |v|, subnormals included), n
    rounded to an integer. Returns a Fraction, or a float +-inf past the range (2^128 or more)
    and for +-inf input. The sign of a zero result is dropped (callers keep signs apart).
    (IEEE 754 roundTiesToEven, binary32)"""
    if isinstance(v, float) and math.isinf(v):
        return v
    v = Fraction(v)
    if v == 0:
        return Fraction(0)
    a = abs(v)
    q = max(floor_log2(a), -126) - 23
    n = round(a / _TWO ** q)  # Fraction.__round__: half to even
    r = n * _TWO ** q
    if r >= _F32_LIMIT:
        return -math.inf if v < 0 else math.inf
    return -r if v < 0 else r


def round_float32_scalar(v):
    """An extended value (Fraction, int, float, or "nan" / "+inf" / "-inf") rounded once to
    float32 (:func:`round_to_float32`) as a numpy float32 scalar; an exact zero gives +0.0, a negative value
    that rounds to zero -0.0."""
    import numpy as np

    v = to_extended(v)
    if isinstance(v, str):
        return np.float32({"nan": math.nan, "+inf": math.inf, "-inf": -math.inf}[v])
    r = float(round_to_float32(v))
    return np.float32(math.copysign(r, -1.0) if (v < 0 and r == 0) else r)  # -tiny -> -0.0
