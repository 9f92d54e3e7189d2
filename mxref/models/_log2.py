"""floor and ceil of a correctly rounded binary log2, decided exactly from integer thresholds.

An implementation that computes ``floor(log2(amax))`` in float32 (or float64) arithmetic gets
``floor(RN_p(log2 amax))``, where RN_p rounds to nearest-even at p significant bits (p = 24 for
float32, 53 for float64) -- taking its log2 to be correctly rounded. This module decides that
exactly, without calling a floating-point log2.

Derivation (p significant bits; x > 0 finite; f = floor(log2 x), exactly, from x's bits):

* floor: x < 2^(f+1), so log2 x = (f+1) - d with d > 0, and floor(RN(log2 x)) is f+1 iff
  RN(log2 x) = f+1 (RN is monotone and f+1 is representable), else f. RN(k - d) = k iff d is at
  most half the spacing of the p-bit grid just below k:
    k > 0, k = 2^j:        spacing below k is 2^(j-p)        (the binade [2^(j-1), 2^j))
    k > 0 otherwise:       2^(j-p+1), j = floor(log2 k)
    k < 0:                 k - d has magnitude |k| + d, in |k|'s binade: 2^(j-p+1), j = floor(log2|k|)
    k = 0:                 never (log2 x of x just below 1 is a small negative, representable)
  d = h (an exact tie) is impossible: log2 x is irrational for x not a power of two. So
  floor(RN(log2 x)) = f + [x >= T_(f+1)] with T_k = 2^(k - h_k), h_k half that spacing.
* ceil: for x not a power of two, log2 x = f + d (0 < d < 1) and ceil(RN(log2 x)) is f iff
  RN(f + d) = f, i.e. d < h'_f, half the spacing just above f:
    f > 0:                 2^(j-p+1), j = floor(log2 f)
    f < 0, |f| = 2^j:      2^(j-p)   (|f| - d lies in the binade below |f|)
    f < 0 otherwise:       2^(j-p+1)
    f = 0:                 never
  So ceil(RN(log2 x)) = f + 1 - [x < U_f] with U_f = 2^(f + h'_f).

T_k and U_f are irrational; what is stored is the float64 grid point that decides the same
comparisons for every float64 x (hence every float32 x): the smallest float64 >= T_k and the
largest float64 <= U_f, computed with 80-digit decimal exp/ln, each checked to lie more than
10^-60 (relative) away from the threshold, so the rounding of the decimal computation cannot
change it. Tests check the thresholds against numpy and torch float32 log2 on every float32
near a power of two and report where those (not correctly rounded) libraries differ.
"""

from __future__ import annotations

import functools
import math
from decimal import Decimal, getcontext, localcontext
from fractions import Fraction

import numpy as np

__all__ = ["floor_log2_rounded", "ceil_log2_rounded", "thresholds"]

_KMIN, _KMAX = -1076, 1024  # every k a float64 floor/ceil can reach, with room


def _half_spacing(k: int, p: int, side: str) -> Fraction:
    """Half the spacing of the p-bit grid just below k ("below") or just above k ("above")."""
    if k == 0:
        return Fraction(0)
    a = abs(k)
    j = a.bit_length() - 1
    pow2 = a == 1 << j
    # moving away from zero stays in |k|'s binade; moving toward zero from a power of two
    # enters the binade below
    toward_zero = (side == "below") == (k > 0)
    e = j - p if (toward_zero and pow2) else j - p + 1
    return Fraction(1, 2) * Fraction(2) ** e


def _f64_bracket(v: Decimal):
    """(largest float64 <= v, smallest float64 >= v) for a positive Decimal v, exactly, and the
    relative distance of v to the nearer of them (Fraction)."""
    f = float(v)  # correctly rounded
    if math.isinf(f):
        return float(np.finfo(np.float64).max), math.inf, Fraction(1)
    fv = Fraction(v)
    ff = Fraction(f)
    if ff <= fv:
        lo, hi = f, math.nextafter(f, math.inf)
    else:
        lo, hi = math.nextafter(f, 0.0), f
    dist = min(abs(fv - Fraction(lo)), abs(Fraction(hi) - fv)) / fv
    return lo, hi, dist


@functools.lru_cache(maxsize=None)
def thresholds(p: int):
    """(T, U): float64 arrays indexed by k - _KMIN. floor model: x >= T[k] bumps floor(log2 x)
    = k-1 to k (T = +inf where it never does); ceil model: x <= U[f] (x not a power of two)
    lowers ceil(log2 x) = f+1 to f (U = 0 where it never does). See the module docstring."""
    n = _KMAX - _KMIN + 1
    T = np.full(n, np.inf)
    U = np.zeros(n)
    with localcontext() as ctx:
        ctx.prec = 80
        ln2 = Decimal(2).ln()
        eps = Fraction(1, 10**60)
        for i in range(n):
            k = _KMIN + i
            h = _half_spacing(k, p, "below")
            if h:
                t = (Decimal(k) - Decimal(h.numerator) / Decimal(h.denominator)) * ln2
                v = t.exp()
                lo, hi, dist = _f64_bracket(v)
                assert dist > eps, (k, p)
                T[i] = hi
            h2 = _half_spacing(k, p, "above")
            if h2:
                t = (Decimal(k) + Decimal(h2.numerator) / Decimal(h2.denominator)) * ln2
                v = t.exp()
                lo, hi, dist = _f64_bracket(v)
                assert dist > eps, (k, p)
                U[i] = lo
    T.setflags(write=False)
    U.setflags(write=False)
    return T, U


def floor_log2_rounded(x, flog2, p: int):
    """floor(RN_p(log2 x)) for positive finite float64 values x whose exact floor(log2 x) is
    ``flog2`` (int64 array)."""
    T, _ = thresholds(p)
    idx = np.clip(flog2 + 1 - _KMIN, 0, T.size - 1)
    return flog2 + (x >= T[idx])


def ceil_log2_rounded(x, flog2, p: int):
    """ceil(RN_p(log2 x)) for positive finite float64 values x with exact floor(log2 x) = flog2."""
    _, U = thresholds(p)
    pow2 = x == np.ldexp(1.0, flog2.astype(np.int32))
    idx = np.clip(flog2 - _KMIN, 0, U.size - 1)
    return np.where(pow2, flog2, flog2 + 1 - (x <= U[idx]))
