"""Scalar element and E8M0 codecs, exact (MX §5.3, §5.4.1; OFP8 §3, §5.2.1).

A code's value comes from its bit fields; rounding enumerates every representable value of the
format and picks a neighbour of the exact input. No bit tricks, no floating-point arithmetic.
"""

from __future__ import annotations

import bisect
import functools
import math
from fractions import Fraction

from ..formats import Format, element_format
from ..options import E8M0_ROUNDING_MODES, check_choice, check_encode_options, check_random_options
from .exact import exact_value, floor_log2

__all__ = ["decode_exact", "decode_scalar", "encode_scalar", "encode_e8m0_scalar"]

_NAN = float("nan")
_INF = float("inf")


def _signed_code(code: int, bits: int) -> int:
    return code - (1 << bits) if code >> (bits - 1) else code


def decode_exact(code: int, fmt) -> tuple[int, Fraction] | str:
    """(sign, |value|) of a code as an exact Fraction, or "+nan" / "-nan" / "+inf" / "-inf".

    Floating formats: S | E | M fields, normal (-1)^S 2^(E-bias) (1 + M/2^m), subnormal
    (E = 0) (-1)^S 2^(1-bias) M/2^m; all-ones patterns per the format's NaN/Inf encoding.
    Integer formats: two's complement code times 2^scale_exponent. (MX §5.3, §5.4.1)
    """
    fmt = element_format(fmt)
    code = int(code)
    if not 0 <= code < (1 << fmt.bits):
        raise ValueError(f"code {code} is outside {fmt.name} (0 ... {(1 << fmt.bits) - 1})")
    if fmt.integer:
        v = _signed_code(code, fmt.bits)
        return (1 if v < 0 else 0), Fraction(abs(v)) * Fraction(2) ** fmt.scale_exponent
    m_bits, e_bits = fmt.mantissa_bits, fmt.exponent_bits
    sign = (code >> (m_bits + e_bits)) & 1 if fmt.signed else 0
    e = (code >> m_bits) & ((1 << e_bits) - 1)
    m = code & ((1 << m_bits) - 1)
    e_ones, m_ones = (1 << e_bits) - 1, (1 << m_bits) - 1
    if fmt.nonfinite == "ieee" and e == e_ones:
        if m:
            return "-nan" if sign else "+nan"
        return "-inf" if sign else "+inf"
    if fmt.nonfinite == "nan_only" and e == e_ones and m == m_ones:
        return "-nan" if sign else "+nan"
    if e == 0 and fmt.has_subnormals:
        mag = Fraction(m, 1 << m_bits) * Fraction(2) ** (1 - fmt.bias)
    else:
        mag = (1 + Fraction(m, 1 << m_bits)) * Fraction(2) ** (e - fmt.bias)
    return sign, mag


def decode_scalar(code: int, fmt) -> float:
    """The value of one code as a Python float (exact: every value is a binary64 number)."""
    d = decode_exact(code, fmt)
    if d in ("+nan", "-nan"):
        return math.copysign(_NAN, -1.0 if d == "-nan" else 1.0)
    if d in ("+inf", "-inf"):
        return -_INF if d == "-inf" else _INF
    sign, mag = d
    f = float(mag)
    assert Fraction(f) == mag
    return -f if sign else f


@functools.lru_cache(maxsize=None)
def _side_table(fmt: Format, sign: int, allow_minus128: bool):
    """Sorted (magnitude, code, parity) of every finite code of one sign, plus the value just
    beyond the largest one in the same format with an unbounded exponent (marked code=None)."""
    rows = []
    for code in range(1 << fmt.bits):
        d = decode_exact(code, fmt)
        if isinstance(d, str):
            continue
        s, mag = d
        if mag == 0:
            # zero belongs to both sides: -0 for the negative side when the format has it
            if fmt.integer or not fmt.signed:
                rows.append((mag, code))
            elif s == sign:
                rows.append((mag, code))
            continue
        if s != sign:
            continue
        if fmt.integer and sign and code == (1 << (fmt.bits - 1)) and not allow_minus128:
            continue  # INT8 -128 is not produced unless asked (MX §5.3.4 allows it unused)
        rows.append((mag, code))
    rows.sort()
    mags = [r[0] for r in rows]
    codes = [r[1] for r in rows]
    # parity of the significand: for a floating format the code's LSB is the mantissa LSB; for an
    # integer format the magnitude integer's LSB. Ties go to the even one.
    if fmt.integer:
        q = Fraction(2) ** fmt.scale_exponent
        par = [int(m / q) & 1 for m in mags]
        beyond = mags[-1] + q
        beyond_par = int(beyond / q) & 1
    else:
        top_mag = mags[-1]
        # the step in the top binade: 2^(emax - m)
        step = Fraction(2) ** (floor_log2(top_mag) - fmt.mantissa_bits)
        par = [c & 1 for c in codes]
        beyond = top_mag + step
        beyond_par = (codes[-1] + 1) & 1
    return mags + [beyond], codes + [None], par + [beyond_par]


def _check_random(rounding, random_bits, random_bit_count):
    n = check_random_options(rounding, random_bits, random_bit_count)
    if not n:
        return None, None
    r = int(random_bits)
    if not 0 <= r < (1 << n):
        raise ValueError(f"random_bits must be in [0, 2**{n}), got {r}")
    return r, n


def _away(rounding, negative, lo, hi, a, lo_par, rnd, nbits) -> bool:
    """Whether magnitude a (strictly between lo and hi) rounds to hi."""
    if rounding == "rne":
        return a - lo > hi - a or (a - lo == hi - a and lo_par == 1)
    if rounding == "ties_away":
        return a - lo >= hi - a
    if rounding == "ties_toward_zero":
        return a - lo > hi - a
    if rounding == "toward_zero":
        return False
    if rounding == "up":
        return not negative
    if rounding == "down":
        return negative
    # stochastic: the fraction f = (a - lo) / (hi - lo) in [0, 1); away iff R + f * 2^n >= 2^n
    f = (a - lo) / (hi - lo)
    return rnd + f * (1 << nbits) >= (1 << nbits)


def encode_scalar(
    x,
    fmt,
    *,
    rounding: str = "rne",
    overflow: str = "saturate",
    nan: str = "raise",
    int8_allow_minus128: bool = False,
    random_bits: int | None = None,
    random_bit_count: int | None = None,
) -> int:
    """The code of one value (Python float, int or Fraction), exactly; see :func:`mxref.encode`."""
    fmt = element_format(fmt)
    if not fmt.has_zero:
        raise ValueError(f"{fmt.name} is a scale format (no zero): use encode_e8m0_scalar")
    check_encode_options(fmt, rounding, overflow, nan)
    rnd, nbits = _check_random(rounding, random_bits, random_bit_count)

    # 1. specials
    v = exact_value(x)
    sat = overflow == "saturate"
    if v in ("+nan", "-nan"):
        if fmt.has_nan:
            # NaN keeps its sign (OFP8 leaves sign and payload open): E4M3 S.1111.111,
            # E5M2 the quiet pattern S.11111.10
            if fmt.nan_encoding == "all_ones":
                return fmt.nan_codes[-1] if v == "-nan" else fmt.nan_codes[0]
            return _canonical_ieee_nan(fmt) | (fmt.sign_mask if v == "-nan" else 0)
        if nan == "raise":
            raise ValueError(f"NaN input cannot be encoded in {fmt.name} (it has no NaN); pass nan='zero' or 'max'")
        return 0 if nan == "zero" else fmt.code_of_max
    if v in ("+inf", "-inf"):
        negative = v == "-inf"
        return _overflow_code(fmt, negative, rounding, sat, finite_input=False,
                              allow_minus128=int8_allow_minus128)
    negative, a = v

    # 2. round the magnitude among the representable values of its sign (unbounded top binade)
    mags, codes, par = _side_table(fmt, negative, int8_allow_minus128)
    if a >= mags[-1]:
        return _overflow_code(fmt, negative, rounding, sat, True, int8_allow_minus128)
    i = bisect.bisect_right(mags, a) - 1  # mags[i] <= a < mags[i + 1]
    if mags[i] == a:
        return codes[i]
    lo, hi = mags[i], mags[i + 1]
    j = i + 1 if _away(rounding, negative, lo, hi, a, par[i], rnd, nbits) else i
    if codes[j] is None:
        return _overflow_code(fmt, negative, rounding, sat, True, int8_allow_minus128)
    return codes[j]


def _canonical_ieee_nan(fmt: Format) -> int:
    # positive quiet NaN: exponent all ones, mantissa MSB set (E5M2: 0x7E)
    return ((1 << fmt.exponent_bits) - 1) << fmt.mantissa_bits | (1 << (fmt.mantissa_bits - 1))


def _overflow_code(fmt, negative, rounding, sat, finite_input, allow_minus128):
    """Code for a result whose rounded magnitude exceeds max (IEEE 754 §7.4; OFP8 Table 3)."""
    max_code = _max_code(fmt, negative, allow_minus128)
    to_max = sat or (finite_input and (
        rounding == "toward_zero"
        or (rounding == "up" and negative)
        or (rounding == "down" and not negative)
    ))
    if to_max:
        return max_code
    if fmt.has_inf:
        return fmt.inf_codes[1 if negative else 0]
    # NaN-only formats (E4M3): overflow is NaN, carrying the sign
    return fmt.nan_codes[-1] if negative else fmt.nan_codes[0]


def _max_code(fmt, negative, allow_minus128):
    if fmt.integer:
        if not negative:
            return fmt.code_of_max
        mag = fmt.code_of_max + (1 if allow_minus128 else 0)
        return (1 << fmt.bits) - mag
    return fmt.code_of_max | (fmt.sign_mask if negative else 0)


_E8M0_POWERS = [Fraction(2) ** (c - 127) for c in range(255)]  # the value of codes 0 ... 254


def encode_e8m0_scalar(x, *, rounding: str = "floor", overflow: str = "saturate") -> int:
    """E8M0 code of a positive value, exactly, by enumeration; see :func:`mxref.encode_e8m0`."""
    check_choice("rounding", rounding, E8M0_ROUNDING_MODES)
    check_choice("overflow", overflow, ("saturate", "nonsaturating"))
    v = exact_value(x)
    if v in ("+nan", "-nan"):
        return 0xFF
    if v == "-inf" or (v != "+inf" and (v[0] == 1 or v[1] == 0)):
        raise ValueError(f"E8M0 encodes positive values only, got {x!r}")
    if v == "+inf":
        return 0xFE if overflow == "saturate" else 0xFF
    a = v[1]
    powers = _E8M0_POWERS
    if a <= powers[0]:
        return 0  # no zero, no subnormals: everything at or below 2^-127 clamps to code 0
    if a > powers[-1]:
        lo_code = 254
        hi_code = 255  # 2^128: beyond the format
        lo, hi = powers[-1], Fraction(2) ** 128
        if a >= hi:
            lo_code, lo, hi_code, hi = 255, hi, 256, hi * 2
    else:
        hi_code = bisect.bisect_left(powers, a)
        lo_code = hi_code - 1
        lo, hi = powers[lo_code], powers[hi_code]
        if a == hi:
            return hi_code
    if rounding == "floor":
        c = lo_code
    elif rounding == "ceil":
        c = hi_code
    else:
        mid = (lo + hi) / 2
        if a != mid:
            c = hi_code if a > mid else lo_code
        elif rounding == "ties_up":
            c = hi_code
        else:  # rne: the even code
            c = lo_code if lo_code % 2 == 0 else hi_code
    if c > 254:
        return 0xFE if overflow == "saturate" else 0xFF
    return c
