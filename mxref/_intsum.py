"""Exact integer sums for :mod:`mxref.products` (MX §6.1, §6.2): signed limbs of exact float64
integers for BLAS products, fixed-point accumulators of 32-bit limbs, and the single rounding of
an exact sum to float32.

Everything here is integer arithmetic, or float64 arithmetic on integers kept below 2^53 (exact
in any order), so no result depends on the BLAS, on FMA or on the thread's subnormal mode; the
one exception, :func:`cast_f32`, uses the hardware float64 -> float32 conversion only where the
thread keeps IEEE subnormals (else the integer rounding of :mod:`mxref._kernel`)."""

from __future__ import annotations

import numpy as np

from ._arrays import ieee_subnormals, widen_exact
from ._kernel import round_parts, round_to_ieee
from .formats import FORMATS

__all__ = ["limb_stack", "plan_limbs", "pair_to_f32", "cast_f32", "f32_from_f64", "pieces", "normalize",
           "bitlen", "grid_to_f32", "grid_to_int"]

_F32 = FORMATS["float32"]
_M32 = np.int64(0xFFFFFFFF)


def limb_stack(m: np.ndarray, d: np.ndarray, neg: np.ndarray, w: int, nl: int) -> np.ndarray:
    """Signed limbs of w bits of the integers +-m * 2^d (m, d >= 0 int64, sign ``neg``), least
    significant first, as exact float64 of shape (nl, *m.shape): every |limb| < 2^w and
    m * 2^d = sum_s |limb_s| 2^(w s) (nl limbs must hold the bit length)."""
    mask = np.int64((1 << w) - 1)
    out = np.empty((nl,) + m.shape, np.float64)
    for s in range(nl):
        sh = d - w * s  # >= 0: shift m left by sh; < 0: right by -sh
        left = (m << np.clip(sh, 0, w)) & mask  # shifts >= w leave no bit of the limb
        right = (m >> np.clip(-sh, 0, 63)) & mask
        limb = np.where(sh >= w, 0, np.where(sh >= 0, left, right))
        out[s] = np.where(neg, -limb, limb)
    return out


def plan_limbs(bits_a: int, bits_b: int, terms: int, max_pairs: int):
    """(na, nb, wa, wb): the fewest limb pairs (na * nb <= max_pairs) such that a sum of
    ``terms`` products of limbs below 2^wa and 2^wb stays at most 2^53 (every partial sum an
    exact float64 integer, in any order); limbs of wa = ceil(bits_a / na) bits hold bits_a bits.
    None when no such plan exists."""
    best = None
    for na in range(1, max_pairs + 1):
        for nb in range(1, max_pairs // na + 1):
            wa, wb = max(1, -(-bits_a // na)), max(1, -(-bits_b // nb))
            if terms * ((1 << wa) - 1) * ((1 << wb) - 1) <= 1 << 53:
                key = (na * nb, na + nb)
                if best is None or key < best[0]:
                    best = (key, (na, nb, wa, wb))
    return None if best is None else best[1]


def f32_from_f64(x: np.ndarray) -> np.ndarray:
    """float64 values rounded once to float32 (RNE; overflow to Inf; subnormals). The cast is
    kept only where it is exact (read back equal); every element that needs rounding, and every
    one a flush-to-zero thread would spoil, is rounded by integers instead."""
    with np.errstate(over="ignore", invalid="ignore"):
        y = x.astype(np.float32)
    bad = (widen_exact(y) != x) & ~np.isnan(x)
    if bad.any():
        y[bad] = round_to_ieee(x[bad], _F32).view(np.float32)
    return y


def cast_f32(x: np.ndarray) -> np.ndarray:
    """float64 -> float32, rounded once (RNE, subnormals, overflow to +-Inf): the IEEE 754
    conversion, which is that rounding where the thread keeps subnormals; elsewhere
    :func:`f32_from_f64` (integer rounding)."""
    if ieee_subnormals():
        with np.errstate(over="ignore", invalid="ignore"):
            return x.astype(np.float32)
    return f32_from_f64(x)


def pair_to_f32(hi: np.ndarray, lo: np.ndarray, c: int, base) -> np.ndarray:
    """float32 nearest (ties to even) to (hi * 2^c + lo) * 2^base, for int64 |hi|, |lo| <= 2^53,
    0 <= c <= 32 and int64 ``base`` (broadcast) with 2^base * 2^-2 and 2^base * 2^(c + 55)
    inside float64's normal range; +0.0 for zero.

    1. Y = floor((hi * 2^c + lo) / 2^s) with s the smallest shift that keeps |Y| < 2^61 (s = 0:
       Y is the value); the value lies in [Y, Y + 1) * 2^s, in (Y, Y + 1) * 2^s when the bits
       shifted out are not all zero. 2. Y2 = 2 Y + (those bits nonzero): when s > 0, |Y| > 2^58,
       so no 53-bit float lies strictly between Y and Y + 1 and Y2 * 2^(s-1) rounds to odd at
       53 bits as the value does. 3. float64 round-to-odd of the int64 Y2: the RNE conversion,
       moved one unit toward Y2 when inexact and even. 4. times 2^(s - 1 + base) (exact), then
       one RNE rounding to float32, which is the correct rounding of the value (53 >= 24 + 2)."""
    bl = np.frexp(np.abs(hi).astype(np.float64))[1].astype(np.int64)  # bit length (exact: |hi| <= 2^53)
    s = np.clip(bl + c - 60, 0, c)
    Y = (hi << (c - s)) + (lo >> s)
    rem = lo & ((np.int64(1) << s) - 1)
    Y2 = (Y << 1) | (rem != 0).astype(np.int64)
    f = Y2.astype(np.float64)
    d = Y2 - f.astype(np.int64)  # |f| <= 2^62: the read-back is exact
    fb = f.view(np.int64)
    step = np.where((d == 0) | ((fb & 1) == 1), 0, np.where((d > 0) == (f > 0), 1, -1))
    f = (fb + step).view(np.float64)
    return cast_f32(np.ldexp(f, (s - 1 + base).astype(np.int32)))


# ----- fixed-point accumulators of 32-bit limbs -----------------------------------------------------


def pieces(c, o):
    """c * 2^o (int64 |c| < 2^62, int64 o >= 0) as (L, [(0, p0), (1, p1), (1, p2), (2, p3)]):
    c * 2^o = sum p * 2^(32 (L + offset)), every |p| < 2^32, L = o // 32."""
    L, r = o >> 5, o & 31
    t0 = (c & _M32) << r  # < 2^63
    t1 = (c >> 32) << r  # |.| < 2^61
    return L, ((0, t0 & _M32), (1, t0 >> 32), (1, t1 & _M32), (2, t1 >> 32))


def normalize(g: np.ndarray) -> None:
    """Propagate carries in place: limbs 0 .. n-2 in [0, 2^32), the top limb keeps the sign."""
    for i in range(g.shape[1] - 1):
        c = g[:, i] >> 32
        g[:, i] &= _M32
        g[:, i + 1] += c


def bitlen(a: np.ndarray) -> np.ndarray:
    """Bit length of non-negative integers below 2^53 (frexp of an exact float64)."""
    return np.frexp(a.astype(np.float64))[1].astype(np.int64)


def grid_to_f32(g: np.ndarray, base) -> np.ndarray:
    """float32 nearest (ties to even) to sum_i g[:, i] * 2^(32 i + base); +0.0 for zero.

    1. carries; sign; magnitude. 2. the highest nonzero limb h: W = g[h] * 2^32 + g[h-1] holds
    the top 33..64 bits, ``sticky`` whether any lower limb is nonzero. 3. a 53-bit significand
    rounded to odd (the lost bits and sticky ORed into its last bit: RNE to 24 bits from it is
    RNE of the exact value, 53 >= 24 + 2), exponent bl - 1 + 32 (h - 1) + base. 4. the integer
    RNE core :func:`mxref.elements.round_parts` with float32's emin (subnormals); a magnitude
    above the largest finite code is Inf."""
    g = g.copy()
    P, n = g.shape
    # 1. sign and magnitude
    normalize(g)
    neg = g[:, -1] < 0
    if neg.any():
        g[neg] = -g[neg]
        normalize(g)
    if (g[:, -1] >= (1 << 31)).any():  # pragma: no cover - the callers leave headroom
        raise RuntimeError("accumulator overflow")
    # 2. top limbs
    nz = g != 0
    anynz = nz.any(axis=1)
    h = n - 1 - np.argmax(nz[:, ::-1], axis=1)
    rows = np.arange(P)
    hi = g[rows, h]
    lo = np.where(h >= 1, g[rows, np.maximum(h - 1, 0)], 0)
    below = np.logical_or.accumulate(nz, axis=1)
    sticky = (h >= 2) & below[rows, np.maximum(h - 2, 0)]
    W = (hi.astype(np.uint64) << np.uint64(32)) | lo.astype(np.uint64)
    bl = 32 + bitlen(hi)
    # 3. 53-bit significand, round to odd
    sd = bl - 53
    rs = np.clip(sd, 0, 63).astype(np.uint64)
    ls = np.clip(-sd, 0, 63).astype(np.uint64)
    one = np.uint64(1)
    lost = (W & ((one << rs) - one)) != 0
    sig = ((W >> rs) << ls) | (lost | sticky).astype(np.uint64)
    flog2 = bl - 1 + 32 * (h - 1) + np.asarray(base, dtype=np.int64)
    sig = np.where(anynz, sig, np.uint64(1 << 52))
    # 4. round to float32
    mag = round_parts(neg, sig, flog2, _F32, "rne")
    mag = np.where(mag > _F32.code_of_max, _F32.inf_codes[0], mag)
    bits = np.where(neg, mag | _F32.sign_mask, mag)
    return np.where(anynz, bits, 0).astype(np.uint32).view(np.float32)


def grid_to_int(g: np.ndarray) -> list:
    """The integers sum_i g[p, i] 2^(32 i) as Python ints (exact)."""
    out = []
    for row in g.tolist():
        v = 0
        for limb in reversed(row):
            v = (v << 32) + limb
        out.append(v)
    return out


