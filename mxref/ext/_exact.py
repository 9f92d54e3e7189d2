"""Exact vectorized helpers for scales that are not powers of two (NVFP4, MX-QLLM).

Rounding a quotient a / d (d not a power of two) to a format cannot be done by shifting
significands. Here a candidate comes from the float64 quotient (within half a float64 ulp of the
exact one, so at most one rounding boundary away) and is then corrected by comparing a with
d times the boundary *exactly* (Dekker's error-free product; Sterbenz's lemma for the
difference). No log2, no division taken as final, no Python loop over elements.

Float32 IEEE operations (the "float32" arithmetic options that model a peer's kernels) are
computed in float64 on float32 operands and rounded once to float32 by integers: for +, -, *, /
of two float32 numbers the float64 result is correctly rounded back (53 >= 2 * 24 + 2, Figueroa
1995), and nothing depends on the thread's flush-to-zero mode.
"""

from __future__ import annotations

import numpy as np

from .._arrays import widen_exact
from .._kernel import round_parts, round_to_ieee, split_float64
from ..formats import FORMATS, Format

__all__ = ["f32", "mag_value", "round_quotient", "round_product_quotient", "round_difference_quotient",
           "INTEGERS", "FLOAT32"]

FLOAT32 = FORMATS["float32"]
#: The integers, as an integer row (quantum 1) wide enough for every use here (|n| < 2^61).
INTEGERS = Format("integers", 63, 0, 62, 0, "finite", None, integer=True, scale_exponent=0,
                  extension=True, spec="helper: rounding to an integer")

_SPLITTER = 134217729.0  # 2^27 + 1 (Veltkamp)


def f32(x64) -> np.ndarray:
    """float64 values rounded once to float32 (RNE; +-Inf past the range), returned as float64."""
    x64 = np.asarray(x64, np.float64)
    return widen_exact(round_to_ieee(x64, FLOAT32).view(np.float32))


def mag_value(fmt: Format, c) -> np.ndarray:
    """float64 value of magnitude codes c (sign clear) of fmt with an unbounded top exponent: the
    grid continues past the largest finite code (E4M3 code 0x7F is 480 here)."""
    c = np.asarray(c, np.int64)
    if fmt.integer:
        return np.ldexp(c.astype(np.float64), fmt.scale_exponent)
    m = fmt.mantissa_bits
    e = c >> m
    mant = c & ((1 << m) - 1)
    sub = (e == 0) if fmt.has_subnormals else np.zeros(c.shape, bool)
    sig = np.where(sub, mant, mant + (1 << m)).astype(np.float64)
    return np.ldexp(sig, (np.where(sub, 1, e) - fmt.bias - m).astype(np.int32))


def _split(v):
    t = _SPLITTER * v
    hi = t - (t - v)
    return hi, v - hi


def sign_a_minus_bc(a, b, c):
    """sign(a - b * c) exactly, for float64 a, b, c >= 0 of moderate range (|b c| < 2^900,
    partial products far above the float64 subnormals)."""
    p = b * c
    bh, bl = _split(b)
    ch, cl = _split(c)
    e = ((bh * ch - p) + bh * cl + bl * ch) + bl * cl  # b c = p + e exactly
    d = a - p  # exact when a and p are within a factor 2 (Sterbenz); else |d| >> |e|
    return np.sign(d - e)


def _sign_pair_minus(s, e, t):
    """sign(s + e - t) exactly, where s + e is an exact pair (|e| <= ulp(s) / 2) and t is a
    float64 whose significand is at most 33 bits."""
    d = s - t  # exact when close (Sterbenz); d is then a multiple of ulp(s) or zero
    return np.sign(d + e)


def _tie_up(rounding: str, lower_code):
    """Whether a tie between magnitude codes lower_code and lower_code + 1 goes up."""
    if rounding == "rne":
        return (lower_code & 1) == 1  # to the even code
    if rounding == "ties_away":
        return np.ones(np.shape(lower_code), bool)
    raise ValueError(f"rounding must be 'rne' or 'ties_away', got {rounding!r}")  # pragma: no cover


def _correct(c, sgn_lo, sgn_hi, rounding, cmax):
    """One correction step: sgn_lo / sgn_hi are sign(q - mid(c-1, c)) and sign(q - mid(c, c+1))."""
    down = (c > 0) & ((sgn_lo < 0) | ((sgn_lo == 0) & ~_tie_up(rounding, c - 1)))
    up = (c <= cmax) & ((sgn_hi > 0) | ((sgn_hi == 0) & _tie_up(rounding, c)))
    return c - down + up


def _candidate(y, fmt: Format, rounding: str):
    cmax = fmt.code_of_max
    cap = mag_value(fmt, cmax + 1)
    y = np.where(np.isnan(y) | (y > cap), cap, y)  # a quotient past the range: saturating anyway
    neg, sig, flog2, _, _ = split_float64(y)
    c = round_parts(neg, sig, flog2, fmt, rounding)
    return np.minimum(c, cmax + 1), cmax


def round_quotient(a, d, fmt: Format, rounding: str = "rne") -> np.ndarray:
    """Magnitude code (int64) of the exact quotient a / d rounded to fmt (``"rne"`` or
    ``"ties_away"``), a >= 0 and d > 0 finite float64 arrays (broadcast). A result above the
    largest finite value gives ``fmt.code_of_max + 1`` (the caller saturates or overflows)."""
    a = np.asarray(a, np.float64)
    d = np.asarray(d, np.float64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        c, cmax = _candidate(a / d, fmt, rounding)
        lo_mid = (mag_value(fmt, np.maximum(c - 1, 0)) + mag_value(fmt, c)) / 2
        hi_mid = (mag_value(fmt, c) + mag_value(fmt, c + 1)) / 2
        s_lo = sign_a_minus_bc(a, d, lo_mid)
        s_hi = sign_a_minus_bc(a, d, hi_mid)
    return _correct(c, s_lo, s_hi, rounding, cmax)


def round_product_quotient(a, g, d, fmt: Format, rounding: str = "rne") -> np.ndarray:
    """Magnitude code (int64) of the exact a * g / d rounded to fmt: a >= 0 and g > 0 finite float64
    arrays (broadcast; the product need not be a float64 number), d > 0 with d times every
    midpoint of fmt exact in float64 (d of at most 53 - (fmt's significand bits + 1) bits, e.g.
    6 or an E4M3 value for E4M3 / E2M1 rows). Same conventions as :func:`round_quotient`."""
    a, g, d = (np.asarray(v, np.float64) for v in (a, g, d))
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        y = a * g / d  # within a few float64 ulps of the exact quotient (or 0 / Inf far outside)
        lo_cut = mag_value(fmt, 1) / 4  # below half the smallest magnitude: code 0
        hi_cut = 2 * mag_value(fmt, fmt.code_of_max)  # past the largest finite value: saturates
        mid_range = (y >= lo_cut) & (y <= hi_cut)
        c, cmax = _candidate(np.where(mid_range, y, 1.0), fmt, rounding)
        # there a * g is a normal float64 of moderate size: sign(a g - d m) = -sign(d m - a g)
        a_, g_ = np.where(mid_range, a, 1.0), np.where(mid_range, g, 1.0)
        lo_mid = (mag_value(fmt, np.maximum(c - 1, 0)) + mag_value(fmt, c)) / 2
        hi_mid = (mag_value(fmt, c) + mag_value(fmt, c + 1)) / 2
        s_lo = -sign_a_minus_bc(d * lo_mid, a_, g_)
        s_hi = -sign_a_minus_bc(d * hi_mid, a_, g_)
        c = _correct(c, s_lo, s_hi, rounding, cmax)
    return np.where(mid_range, c, np.where(y > hi_cut, cmax + 1, 0))


def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def round_difference_quotient(hi, lo, n: int, fmt: Format, rounding: str = "rne") -> np.ndarray:
    """Magnitude code of the exact (hi - lo) / n rounded to fmt, hi >= lo finite float64 values
    of float32 range, n a positive integer below 2^8 (so n times a boundary of a format of at
    most 25 significant bits is exact). Same conventions as :func:`round_quotient`."""
    hi = np.asarray(hi, np.float64)
    lo = np.asarray(lo, np.float64)
    s, e = _two_sum(hi, -lo)  # hi - lo = s + e exactly
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        c, cmax = _candidate((s + e) / n, fmt, rounding)
        lo_mid = (mag_value(fmt, np.maximum(c - 1, 0)) + mag_value(fmt, c)) / 2 * n
        hi_mid = (mag_value(fmt, c) + mag_value(fmt, c + 1)) / 2 * n
        s_lo = _sign_pair_minus(s, e, lo_mid)
        s_hi = _sign_pair_minus(s, e, hi_mid)
    return _correct(c, s_lo, s_hi, rounding, cmax)
