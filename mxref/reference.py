"""Slow exact scalar reference: decode and encode one value with Python ints and Fractions.

Written straight from the specification and independent of the vectorized path in
:mod:`mxref.elements`: a code's value is computed from its bit fields (MX §5.3, §5.4.1; OFP8 §3),
and rounding enumerates every representable value of the format and picks a neighbour of the
exact input (OFP8 §5.2.1 Table 3, MX §6.3). No bit tricks, no floating-point arithmetic. The
tests hold :func:`mxref.encode` / :func:`mxref.decode` equal to these functions bit for bit.

The rules of every option are stated in :func:`mxref.encode` and :func:`mxref.encode_e8m0`; the
functions here implement the same rules by a different route.
"""

from __future__ import annotations

import bisect
import functools
import math
from fractions import Fraction

from .formats import Format, element_format
from .options import (
    E8M0_ROUNDING_MODES,
    check_choice,
    check_encode_options,
    check_random_options,
)

__all__ = [
    "decode_scalar", "decode_exact", "encode_scalar", "encode_e8m0_scalar", "exact_value",
    "round_float32_scalar", "mx_values_scalar", "dot_scalar",
]

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
        step = Fraction(2) ** (_floor_log2(top_mag) - fmt.mantissa_bits)
        par = [c & 1 for c in codes]
        beyond = top_mag + step
        beyond_par = (codes[-1] + 1) & 1
    return mags + [beyond], codes + [None], par + [beyond_par]


def _floor_log2(v: Fraction) -> int:
    """floor(log2(v)) of a positive Fraction, exactly."""
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


# ----- MX block conversion (MX §6.3), one block at a time ---------------------------------------


def _log2_floor_ceil(v: Fraction) -> tuple[int, int]:
    f = _floor_log2(v)
    return f, (f if v == Fraction(2) ** f else f + 1)


def shared_exponent_scalar(amax: Fraction, el: Format, rule: str) -> int:
    """Unclamped shared exponent of a block with amax > 0, from the definition of each rule."""
    emax = el.emax
    if rule == "floor":
        return _floor_log2(amax) - emax
    if rule == "ceil":
        return _log2_floor_ceil(amax)[1] - emax
    if rule == "even":
        m = el.mantissa_bits - 1 if el.integer else el.mantissa_bits
        f = _floor_log2(amax)
        unit = Fraction(2) ** (f - m)
        rounded = math.floor(amax / unit + Fraction(1, 2)) * unit  # half-up to m fraction bits
        return _floor_log2(rounded) - emax
    q = amax / Fraction(el.max)
    if rule == "rceil":
        return _log2_floor_ceil(q)[1]
    if rule == "round_down":
        return _floor_log2(q)
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
    from .conversion import mx_format

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


# ----- dot products (MX §6.1, §6.2), one term at a time ------------------------------------------
#
# Extended real values: a Fraction, or one of the strings "nan", "+inf", "-inf". The rules are
# IEEE 754's for exact operands: NaN absorbs; Inf x 0 is NaN; Inf x nonzero is Inf with the
# product's sign; +Inf + -Inf is NaN.

_SPECIAL = ("nan", "+inf", "-inf")


def _ext(v):
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
        return _ext(d)
    s, mag = d
    return -mag if s else mag


def _ext_mul(x, y):
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


def _ext_sum(values):
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


def round_float32_scalar(v):
    """An exact value (Fraction, int, or "nan" / "+inf" / "-inf") rounded once to float32,
    ties to even, by integer arithmetic: |v| = n * 2^q with q = max(floor(log2 |v|), -126) - 23
    (the float32 quantum at |v|, subnormals included), n rounded to an integer; a result of 2^128
    or more is Inf. An exact zero gives +0.0. Returns a numpy float32 scalar."""
    import numpy as np

    v = _ext(v)
    if isinstance(v, str):
        return np.float32({"nan": math.nan, "+inf": math.inf, "-inf": -math.inf}[v])
    if v == 0:
        return np.float32(0.0)
    neg, a = v < 0, abs(v)
    q = max(_floor_log2(a), -126) - 23
    scaled = a / Fraction(2) ** q
    n = scaled.numerator // scaled.denominator
    rem = scaled - n
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and n % 2 == 1):
        n += 1
    r = Fraction(n) * Fraction(2) ** q
    f = math.inf if r >= Fraction(2) ** 128 else float(r)
    return np.float32(-f if neg else f)


def mx_values_scalar(mx) -> list:
    """Exact values X * P_i of a 1-D MXArray, element by element: a NaN scale makes its whole
    block NaN; with a finite scale X = 2^(code - 127), an element's NaN/Inf code is NaN/Inf, any
    other code X times its exact value. (MX §5.1, §5.3, §5.4.1)"""
    if len(mx.shape) != 1:
        raise ValueError(f"mx must be 1-D, got shape {mx.shape}")
    el, k = mx.format.element, mx.block_size
    out = []
    for i, code in enumerate(mx.elements.tolist()):
        s = int(mx.scales[i // k])
        if s == 0xFF:
            out.append("nan")
            continue
        d = decode_exact(code, el)
        if isinstance(d, str):
            out.append(_ext(d))
            continue
        sign, mag = d
        out.append((-mag if sign else mag) * Fraction(2) ** (s - 127))
    return out


def dot_scalar(a, b, *, accumulate: str = "exact", block_size: int | None = None, dtype="float32"):
    """Dot product of two equal-length vectors, one term at a time (MX §6.1, §6.2).

    ``a`` and ``b`` are 1-D MXArrays or sequences of values (floats, Fractions, or "nan" /
    "+inf" / "-inf"). Blocks are the MXArrays' (both must agree) or ``block_size``.

      exact            the exact sum of the exact products, rounded once (``dtype="float32"``)
                       or returned exactly (``dtype="exact"``: a Fraction, or "nan" / "+inf" /
                       "-inf").
      fp32_blockwise   acc = +0.0; for each block in order: acc = fl32(acc + fl32(exact block sum)).
      fp32_sequential  acc = +0.0; for each i in order: acc = fl32(acc + fl32(a_i * b_i)).

    fl32 is :func:`round_float32_scalar`; the float32 additions are numpy float32 scalar
    additions (IEEE 754 binary32, round to nearest even)."""
    import numpy as np

    from .conversion import MXArray

    ks = {x.block_size for x in (a, b) if isinstance(x, MXArray)}
    if block_size is not None:
        ks.add(int(block_size))
    if len(ks) > 1:
        raise ValueError(f"block sizes differ: {sorted(ks)}")
    k = ks.pop() if ks else None
    va = mx_values_scalar(a) if isinstance(a, MXArray) else [_ext(v) for v in a]
    vb = mx_values_scalar(b) if isinstance(b, MXArray) else [_ext(v) for v in b]
    if len(va) != len(vb):
        raise ValueError(f"lengths differ: {len(va)} and {len(vb)}")
    prods = [_ext_mul(x, y) for x, y in zip(va, vb)]
    if accumulate == "exact":
        s = _ext_sum(prods)
        return s if dtype == "exact" else round_float32_scalar(s)
    if dtype != "float32":
        raise ValueError("dtype='exact' goes with accumulate='exact' only")
    with np.errstate(invalid="ignore", over="ignore"):
        acc = np.float32(0.0)
        if accumulate == "fp32_sequential":
            for p in prods:
                acc = np.float32(acc + round_float32_scalar(p))
            return acc
        if accumulate == "fp32_blockwise":
            if k is None:
                raise ValueError("fp32_blockwise needs blocks: MXArrays or block_size")
            for j in range(0, len(prods), k):
                acc = np.float32(acc + round_float32_scalar(_ext_sum(prods[j:j + k])))
            return acc
    raise ValueError(f"unknown accumulate {accumulate!r}")
