"""Element codes of float32 values rounded on their bit patterns with uint32 integer operations.

The float32 path of :func:`mxref.quantize` (:mod:`mxref._fast_f32`) looks codes up in a table for
the roundings a table covers. This module covers the rest: every rounding of the integer element
formats (INT8 / INT4 / INT2 other than RNE) and stochastic rounding of every element format. It
is :func:`mxref._kernel.round_parts` written for the 24-bit significand of a float32 y (the
scaled element x * 2^-shared_exp): |y| = S * 2^(e - 23) with S = the significand field plus the
implicit bit (none for a subnormal, whose e is -126), the quantum 2^q with
q = max(e, emin) - m, N0 = S >> s, the remainder rem = S mod 2^s, s = q - (e - 23) >= 23 - m.
Every shift, comparison and sum stays inside uint32 / int32, with no widening to 64 bits:

* s >= 24 discards all of S; a shift clamped to 31 leaves N0 = 0 and rem = S, and for the
  nearest roundings half = 2^(s-1) > rem either way (s >= 25), or the true 2^23 (s = 24).
* stochastic (``random_bits`` R in [0, 2^r), r <= 32): the reference rounds away from zero iff
  R + floor(rem * 2^r / 2^s) >= 2^r; here floor(rem * 2^(r-s)) is rem >> (s - r) (0 once
  s - r >= 24) or rem << (r - s) (< 2^r), compared as floor(...) > (2^r - 1) - R so that no sum
  can exceed 2^32. :func:`stochastic_codes_f32` does the same for r <= 23 - m in fewer
  operations: (T + R) >> r with T = floor(|y| / 2^(q - r)), the truncated code and the r
  remainder bits below it in one integer.

y is exact where it matters (see :mod:`mxref._fast_f32`): a |y| below 2^-126 lies more than 2^100
quanta below the smallest element quantum of every format, so it rounds to zero under the
nearest roundings and under stochastic rounding (floor(rem * 2^(r-s)) = 0 < 2^r - R), and under
"up" / "down" only its being non-zero counts (the caller gives an underflowed product back its
sticky bit). Saturation and packing follow :func:`mxref._kernel.max_mag` / ``pack_code``.
Integer formats (one fixed quantum) take :func:`int_codes_from_f32`, fewer operations in float32
that are exact too. The exact reference is :mod:`mxref.reference`; the tests hold these paths to
the general integer path on every float16 / bfloat16 value.
"""

from __future__ import annotations

import functools

import numpy as np

from ._kernel import round_params
from .formats import Format

__all__ = ["round_codes_f32", "codes_from_f32_bits", "int_codes_from_f32", "stochastic_codes_f32"]

_U = np.uint32
_I = np.int32
#: elements per piece: its dozen int32 temporaries (128 KiB each) are reused from the heap rather
#: than freshly mapped (and page-faulted) as larger ones are, which costs more than the arithmetic
PIECE = 1 << 15


def round_codes_f32(code: np.ndarray, yb: np.ndarray, el: Format, rounding: str, allow_minus128: bool,
                    random_bits=None, random_bit_count: int = 0) -> None:
    """Write into the flat uint8 array ``code`` the element codes of the float32 values whose
    bits are the flat uint32 array ``yb`` (integer formats: :func:`int_codes_from_f32`, else
    :func:`codes_from_f32_bits`), in pieces of :data:`PIECE` elements (a loop over fixed-size
    pieces, never over elements or blocks)."""
    fn = int_codes_from_f32 if el.integer else codes_from_f32_bits
    if rounding == "stochastic" and not el.integer and 23 - el.mantissa_bits - int(random_bit_count) >= 0:
        fn = stochastic_codes_f32
    for i in range(0, yb.size, PIECE):
        sl = slice(i, i + PIECE)
        rb = None if random_bits is None else random_bits[sl]
        np.copyto(code[sl], fn(yb[sl], el, rounding, allow_minus128, rb, random_bit_count), casting="unsafe")


@functools.lru_cache(maxsize=None)
def _full(value: int, dtype) -> np.ndarray:
    """A read-only array of :data:`PIECE` copies of ``value``: NumPy's minimum / maximum of an
    array and a scalar run several times slower than of two arrays (no vector loop for the
    broadcast scalar), so the constants of the per-piece operations are arrays."""
    a = np.full(PIECE, value, dtype)
    a.setflags(write=False)
    return a


def _const(value: int, dtype, n: int) -> np.ndarray:
    """n copies of ``value``: a view of :func:`_full` for a piece (n <= :data:`PIECE`)."""
    return _full(value, dtype)[:n] if n <= PIECE else np.full(n, value, dtype)


def stochastic_codes_f32(yb: np.ndarray, el: Format, rounding: str, allow_minus128: bool,
                         random_bits=None, random_bit_count: int = 0) -> np.ndarray:
    """Stochastic rounding of a floating-point element format with r = ``random_bit_count`` <=
    23 - m: the codes :func:`codes_from_f32_bits` gives, in fewer operations. With the quantum
    2^q, q = max(e, emin) - m, let T = floor(|y| / 2^(q - r)) counted the way the codes count:
    T >> r is the truncated magnitude code N0 and T mod 2^r is floor(rem * 2^r / 2^s), so the
    reference's N0 + [R + floor(rem * 2^r / 2^s) >= 2^r] is (T + R) >> r. Two exact forms of T:
    below 2^(emin + 1) the codes are linear in |y| and T = floor(|y| * 2^(m + r - emin)) (a float32
    product by a power of two, with |y| first capped at 2^(emin + 1); truncating conversion); at
    or above 2^emin T is |y|'s bit pattern shifted right by 23 - m - r less
    (e0 - 1) << (m + r) (the exponent field rebased to count binades from emin). The two agree on
    [2^emin, 2^(emin + 1)); below 2^emin the second is smaller (negative two binades down), above
    the first is (capped), so T is their maximum. Saturation and the sign as in
    :func:`codes_from_f32_bits`."""
    m, emin = round_params(el)
    r = int(random_bit_count)
    base = 23 - m - r
    n = yb.size
    # 1. the linear form, on |y| capped at 2^(emin + 1) (NaN / Inf of a NaN block capped too)
    x = np.bitwise_and(yb, _U(0x7FFFFFFF))
    c = np.minimum(x, _const((emin + 128) << 23, _U, n)).view(np.float32)
    c *= np.float32(2.0 ** (m + r - emin))
    t_lin = c.astype(_I)
    # 2. the bit-pattern form, and the larger of the two
    t = np.right_shift(x, _U(base), out=x).view(_I)
    t -= (emin + 126) << (m + r)                       # (e0 - 1) << (m + r), e0 = emin + 127
    np.maximum(t, t_lin, out=t)
    # 3. (T + R) >> r, saturate, sign
    tu = t.view(_U)
    np.add(tu, random_bits, out=tu, dtype=_U, casting="unsafe")
    tu >>= _U(r)
    np.minimum(tu, _const(el.code_of_max, _U, n), out=tu)
    if el.signed:
        sign = np.right_shift(yb, _U(31))
        sign <<= _U(el.bits - 1)
        tu |= sign
    return tu


def codes_from_f32_bits(yb: np.ndarray, el: Format, rounding: str, allow_minus128: bool,
                        random_bits=None, random_bit_count: int = 0) -> np.ndarray:
    """Element codes (uint8, sign included, saturating) of the finite float32 values whose bit
    patterns are the flat uint32 array ``yb``, rounded by ``rounding`` exactly as
    :func:`mxref._kernel.round_parts` rounds their exact parts. ``random_bits``: integers in
    [0, 2^random_bit_count) of yb's shape (stochastic only)."""
    m, emin = round_params(el)
    e0 = emin + 127                      # the biased float32 exponent of 2^emin (>= 1 here)
    r = int(random_bit_count) if rounding == "stochastic" else 0
    # 1. X: |y| as sig * 2^(e - 23) with the exponent field replaced so that X >> s is the
    #    truncated magnitude code. e >= emin: X = ((ef - e0 + 1) << 23) | fraction and s = 23 - m,
    #    so X >> s = ((e - emin) << m) + N0 (the exponent part of the code comes with it, and a
    #    carry of N0 runs into the next binade); e < emin: X = the significand S, s = 23 - m +
    #    (emin - e) (capped where every bit is discarded; 56 keeps s - r >= 24 for r <= 32)
    x = np.bitwise_and(yb, _U(0x7FFFFFFF)).view(_I)
    ef = x >> 23
    s = np.subtract(e0, ef, dtype=_I)
    np.clip(s, 0, (33 if r else 8) + m, out=s)
    s += 23 - m
    np.clip(ef, 1, e0, out=ef)
    ef -= 1
    ef <<= 23
    x -= ef                                            # X >= 0; ef is scratch from here
    xu = x.view(_U)
    s_c = np.minimum(s, 31, out=ef).view(_U)
    n0 = xu >> s_c
    rem = np.left_shift(n0, s_c, out=s_c)              # rem = X - (N0 << s): s_c is dead after
    np.subtract(xu, rem, out=rem)
    # 2. away from zero or not (a magnitude of 0 never has rem != 0 or rem > half)
    if rounding in ("rne", "ties_away", "ties_toward_zero"):
        half = np.minimum(s, 31).view(_U)
        half -= _U(1)
        np.left_shift(_U(1), half, out=half)
        if rounding == "rne":                          # rem > half, or a tie with N0 odd (the code's parity)
            rem += n0 & _U(1)
            up = rem > half
        elif rounding == "ties_away":
            up = rem >= half
        else:
            up = rem > half
    elif rounding == "toward_zero":
        up = None
    elif rounding in ("up", "down"):
        up = rem != 0
        up &= (yb < _U(0x80000000)) if rounding == "up" else (yb >= _U(0x80000000))
    elif rounding == "stochastic":
        # floor(rem * 2^r / 2^s) > 2^r - 1 - R: the reference's R + floor(...) >= 2^r in uint32
        s -= r
        sh = np.clip(s, 0, 31).view(_U)
        rem >>= sh
        np.negative(s, out=s)
        np.clip(s, 0, 31, out=s)
        rem <<= s.view(_U)                             # s < r here: below 2^r
        lim = np.subtract(_U((1 << r) - 1), random_bits, dtype=_U, casting="unsafe")
        up = rem > lim
    else:  # pragma: no cover - validated by the caller
        raise ValueError(rounding)
    mag = n0.view(_I)
    if up is not None:
        mag += up
    # 3. saturate and pack (sign-magnitude, or two's complement in the format's bits)
    neg = (yb >> _U(31)).view(_I)
    if el.integer:
        if allow_minus128:
            np.minimum(mag, neg + el.code_of_max, out=mag)
        else:
            np.minimum(mag, el.code_of_max, out=mag)
        np.negative(neg, out=neg)                      # 0 / -1
        mag ^= neg
        mag -= neg
        mag &= el.num_codes - 1
    else:
        np.minimum(mag, _const(el.code_of_max, _I, mag.size), out=mag)
        if el.signed:
            neg <<= el.bits - 1
            mag |= neg
    return mag


def int_codes_from_f32(yb: np.ndarray, el: Format, rounding: str, allow_minus128: bool,
                       random_bits=None, random_bit_count: int = 0) -> np.ndarray:
    """Codes (int32, in the format's bits) of an integer element format (fixed quantum 2^q) for
    the flat float32 array ``y``, by any rounding, exactly as :func:`codes_from_f32_bits` gives
    them, with float32 arithmetic that is exact here: y is first capped at +-2^(emin + 1) (every
    magnitude from there on saturates under every rounding, and NaN / Inf of a NaN block become
    that cap too). "up" / "down" / "toward_zero": y / 2^q (a power of two) by ceil / floor / the
    truncating conversion, on signed y. The rest on |y|: t = |y| + 1.5 * 2^(23 + q) is |y| rounded
    to the quantum (one correctly rounded addition, RNE: t's ulp is 2^q), N its integer, and
    d = |y| - (t - 1.5 * 2^(23 + q)) the signed rest, both subtractions exact (Sterbenz;
    |d| <= 2^(q-1) is a multiple of |y|'s ulp); the tie rules move N by one at a tie
    d = +-2^(q-1); stochastic: :func:`_int_stochastic`."""
    m, emin = round_params(el)
    q = emin - m
    big = np.float32(1.5 * 2.0 ** (23 + q))
    if rounding in ("up", "down", "toward_zero"):
        # on signed y capped at +-2^(emin + 1) (it saturates from there on; a NaN of a NaN-scale
        # block becomes the cap): y / 2^q (exact) to an integer by ceil / floor / the conversion's
        # truncation, all exact on these small integers
        c = (emin + 128) << 23                         # the bits of 2^(emin + 1)
        y = np.fmin(yb.view(np.float32), _const(c, _U, yb.size).view(np.float32))
        np.fmax(y, _const(c | 0x80000000, _U, yb.size).view(np.float32), out=y)
        y *= np.float32(2.0 ** -q)
        if rounding == "up":
            np.ceil(y, out=y)
        elif rounding == "down":
            np.floor(y, out=y)
        n = y.astype(_I)
        np.clip(n, -el.code_of_max - (1 if allow_minus128 else 0), el.code_of_max, out=n)
        n &= el.num_codes - 1
        return n
    ax = np.bitwise_and(yb, _U(0x7FFFFFFF))
    ay = np.minimum(ax, _const((emin + 128) << 23, _U, ax.size), out=ax).view(np.float32)
    if rounding == "stochastic":
        return _int_stochastic(yb, ay, el, q, allow_minus128, random_bits, int(random_bit_count))
    t = ay + big
    n = t.view(_I) - big.view(_I)
    t -= big
    np.subtract(ay, t, out=t)                          # d = |y| - N * 2^q, exact
    d = t
    if rounding == "ties_away":
        n += d == np.float32(2.0 ** (q - 1))
    elif rounding == "ties_toward_zero":
        n -= d == np.float32(-(2.0 ** (q - 1)))
    elif rounding != "rne":  # pragma: no cover - validated by the caller
        raise ValueError(rounding)
    neg = (yb >> _U(31)).view(_I)
    np.minimum(n, neg + el.code_of_max if allow_minus128 else _const(el.code_of_max, _I, n.size), out=n)
    np.negative(neg, out=neg)                          # 0 / -1: two's complement of the magnitude
    n ^= neg
    n -= neg
    n &= el.num_codes - 1
    return n


def _int_stochastic(yb, ay, el: Format, q: int, allow_minus128: bool, random_bits, r: int) -> np.ndarray:
    """Stochastic rounding of :func:`int_codes_from_f32` (|y| capped at 2^(emin + 1) = 2^(m + 1 + q)).
    For m + 1 + r <= 30: T = floor(|y| * 2^(r - q)) < 2^31 (an exact product by a power of two,
    a truncating conversion) and the magnitude is (T + R) >> r, as in
    :func:`stochastic_codes_f32`. Else all in float32 (exact): |y| / 2^q, its floor N and
    fraction f, away from zero iff floor(f * 2^r) >= 2^r - R, both sides as uint32 (for r <= 24,
    2^r - R is a float32 integer and that is f * 2^r >= 2^r - R); the sign goes on with copysign
    (a -0.0 code is 0), saturation is a clip, the cast to int32 is exact (|value| <= 128)."""
    m = round_params(el)[0]
    if m + 1 + r <= 30:
        # T = floor(|y| * 2^(r - q)) <= 2^(m + 1 + r) < 2^31 (exact product, truncating conversion):
        # (T + R) >> r is the magnitude, as in :func:`stochastic_codes_f32`
        ay *= np.float32(2.0 ** (r - q))
        t = ay.astype(_I)
        tu = t.view(_U)
        np.add(tu, random_bits, out=tu, dtype=_U, casting="unsafe")
        tu >>= _U(r)
        neg = (yb >> _U(31)).view(_I)
        lim = neg + el.code_of_max if allow_minus128 else _const(el.code_of_max, _I, t.size)
        np.minimum(t, lim, out=t)
        np.negative(neg, out=neg)                      # 0 / -1: two's complement of the magnitude
        t ^= neg
        t -= neg
        t &= el.num_codes - 1
        return t
    ay *= np.float32(2.0 ** -q)
    n = np.floor(ay)
    ay -= n                                            # the discarded fraction f, exact
    ay *= np.float32(2.0 ** r)                         # f * 2^r < 2^r, exact
    if r <= 24:
        up = ay >= np.subtract(np.float32(2.0 ** r), random_bits, dtype=np.float32)
    else:
        np.floor(ay, out=ay)
        up = ay.astype(_U) > np.subtract(_U((1 << r) - 1), random_bits, dtype=_U, casting="unsafe")
    n += up
    np.copysign(n, yb.view(np.float32), out=n)
    np.clip(n, -el.code_of_max - (1 if allow_minus128 else 0), el.code_of_max, out=n)
    code = n.astype(_I)
    code &= el.num_codes - 1
    return code
