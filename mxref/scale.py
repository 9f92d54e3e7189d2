"""The shared scale format E8M0 (MX §5.4.1): unsigned, 8 exponent bits, bias 127.

Code c in 0 ... 254 is 2^(c-127); 0xFF is the only NaN; there is no zero, sign or Inf. Decoding
is :func:`mxref.decode` with ``fmt="e8m0"``; this module encodes a positive value to the power of
two chosen by an explicit rounding of its exponent, and holds the shared-exponent rules of MX
block conversion (:func:`shared_exponent`, :data:`mxref.options.SCALE_RULES`), written once: the
float64 path and the float32 path of :func:`mxref.quantize` and the extensions all call it.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ._arrays import as_float64
from ._kernel import round_params
from .formats import Format, e8m0
from .options import E8M0_ROUNDING_MODES, check_choice

__all__ = ["encode_e8m0", "E8M0_NAN", "shared_exponent", "max_significand"]

#: The only NaN code of E8M0.
E8M0_NAN = 0xFF


def encode_e8m0(x, *, rounding: str = "floor", overflow: str = "saturate") -> np.ndarray:
    """E8M0 codes (uint8) of positive values: the power of two 2^k picked by ``rounding``.

    rounding: "floor" (largest 2^k <= x; the exponent of MX §6.3), "ceil" (smallest 2^k >= x),
    "rne" (nearest 2^k; a tie x = 1.5 * 2^k goes to the even code), "ties_up" (nearest; a tie
    goes to 2^(k+1), as ml_dtypes and torch casts do).
    Range: a result below 2^-127 clamps to code 0x00 (E8M0 has no zero and no subnormals); a
    result above 2^127 -- and +Inf -- gives 0xFE with ``overflow="saturate"`` (default) or the
    NaN code 0xFF with ``overflow="nonsaturating"``. NaN gives 0xFF. Zero, negative values and
    -Inf raise ValueError: E8M0 has no sign and no zero. (MX §5.4.1)
    """
    check_choice("rounding", rounding, E8M0_ROUNDING_MODES)
    check_choice("overflow", overflow, ("saturate", "nonsaturating"))
    x64 = as_float64(x)
    bad = ~np.isnan(x64) & ((x64 <= 0) | np.signbit(x64))
    if bad.any():
        v = x64[bad].flat[0]
        raise ValueError(f"x must be positive for E8M0 (no sign, no zero); found {v!r}")
    # 1. unpack: exponent and fraction fields of float64
    bits = x64.view(np.uint64)
    e_field = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64)
    frac = bits & np.uint64((1 << 52) - 1)
    half = np.uint64(1 << 51)
    k = e_field - 1023  # floor(log2 x) for normal x; float64 subnormals are far below 2^-127
    # 2. round the exponent
    if rounding == "floor":
        k_r = k
    elif rounding == "ceil":
        k_r = k + (frac != 0)
    elif rounding == "ties_up":
        k_r = k + (frac >= half)
    else:  # rne: nearest, a tie to the even code (k + 127 even)
        tie_up = (frac == half) & ((k + 127) % 2 == 1)
        k_r = k + ((frac > half) | tie_up)
    # 3. range and specials
    code = np.clip(k_r + 127, 0, 255)
    over = code > 254
    code = np.where(over, 0xFE if overflow == "saturate" else E8M0_NAN, code)
    is_inf = np.isinf(x64)
    code = np.where(is_inf, 0xFE if overflow == "saturate" else E8M0_NAN, code)
    code = np.where(np.isnan(x64), E8M0_NAN, code)
    return code.astype(np.uint8)


# ----- shared exponent of a block (MX §6.3) -------------------------------------------------------


def max_significand(el: Format) -> int:
    """max / 2^emax as a 53-bit significand: max = _max_significand * 2^(emax - 52), exactly."""
    v = Fraction(el.max) / Fraction(2) ** el.emax * (1 << 52)
    assert v.denominator == 1
    return int(v)


def shared_exponent(amax_sig, amax_flog2, el: Format, rule: str):
    """Unclamped shared exponent of blocks whose amax = sig * 2^(flog2 - 52) (sig in [2^52, 2^53)).

    Every rule is decided on the integer significand, exactly (no log2). (MX §6.3)"""
    emax = el.emax
    if rule == "floor":
        return amax_flog2 - emax
    if rule == "ceil":
        return amax_flog2 + (amax_sig != (1 << 52)) - emax
    if rule == "even":
        m, _ = round_params(el)
        # half-up at m fraction bits: carries into the next binade iff sig + 2^(51-m) >= 2^53
        carry = (amax_sig + np.uint64(1 << (51 - m))) >= np.uint64(1 << 53)
        return amax_flog2 + carry - emax
    msig = np.uint64(max_significand(el))
    if rule == "rceil":  # smallest e with max * 2^e >= amax
        return amax_flog2 - emax + (amax_sig > msig)
    if rule == "round_down":  # largest e with max * 2^e <= amax
        return amax_flog2 - emax - (amax_sig < msig)
    raise ValueError(rule)  # pragma: no cover
