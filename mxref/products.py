"""Dot products of MX data (MX §6.1 Dot, §6.2 DotGeneral): the exact value and named float32
accumulator models; an MX matmul (the linear layer on top is :mod:`mxref.layers`).

Dot of two k-element blocks is X_A * X_B * sum_i P_A,i * P_B,i (MX §6.1); DotGeneral sums the
Dot of consecutive blocks (MX §6.2). The spec leaves the internal precision and the order of the
sum open, so there is no single bit-exact answer: mxref gives the exact value, rounded once to
float32 (or as a Fraction), and models of the usual accumulators (:data:`ACCUMULATORS`), each
defined precisely in :func:`matmul`, so that a GPU result can be checked against the model it
claims.

How the exact value is computed (no big floats, no Python loop over elements)
----------------------------------------------------------------------------
1. Every finite element value is an integer multiple of the format's smallest positive value
   2^-q (q = 9, 16, 3, 4, 1, 6 for E4M3, E5M2, E2M3, E3M2, E2M1, INT8): P = N * 2^-q with N an
   integer, |N| < 2^32 (E5M2: 57344 * 2^16 < 2^32). With the scale, a block's element values
   are N * 2^e, e = scale - 127 - q, one exponent per block. A float32 operand (weight-only
   linear) is brought to the same form: per block, e = the smallest exponent of the last
   significand bit of its nonzero values, N = significand * 2^(own exponent - e) (any size).
2. N is split into limbs of w bits, N = sum_s N_s 2^(w s), |N_s| < 2^w, with
   w = (53 - ceil(log2 k)) // 2 (k = 32: w = 24; E5M2 needs two limbs, the others one).
   For each limb pair, the k-term block sums sum_i A_s,i * B_t,i are one batched float64
   matrix product. It is exact in any order, with or without FMA, however the BLAS blocks the
   sum (as every dgemm does, each entry is a sum of the k products): every product is an
   integer below 2^(2w) and every partial sum of k of them an integer of magnitude below
   k * 2^(2w) <= 2^53, which float64 holds exactly. The block sum is then
   S = sum_u U_u 2^(w u), U_u = sum_{s+t=u} (pair sums), in int64 (|U_u| < 2^62).
   E5M2 x E5M2 block sums reach 32 * (57344 * 2^16)^2, about 2^68.8: more than float64 and
   int64 hold, hence the limbs.
3. "exact": every block's U_u * 2^(e_A + e_B + w u) is added into a fixed-point accumulator of
   32-bit limbs held in int64 (one per output element, spanning the exponent range of the whole
   product), each term cut into four pieces of magnitude < 2^32 and summed with
   ``np.bincount`` (float64 sums of integers below 2^53: exact); carries are propagated after
   every chunk of blocks. The accumulator is then rounded once to float32 by integers (see
   :func:`_grid_to_f32`): the top 64 bits, round-to-odd at 53 bits (exact for a later rounding
   to 24 bits), then the same integer RNE core as the element encoder, with subnormals and
   overflow to Inf.
4. Special values follow IEEE 754 on exact operands: a NaN scale makes every value of its block
   NaN (MX §5.1); NaN x anything = NaN; Inf x 0 = NaN; Inf x nonzero = Inf with the product's
   sign; +Inf + -Inf = NaN. They are decided per block from indicator matrix products.

Fast paths (:func:`run_model`; the general ones above remain where their bounds fail)
-------------------------------------------------------------------------------------
* "exact": each row of A (column of B) is integers times 2^base_row (the lowest set bit of the
  row); when limbs of w_A, w_B bits with K (2^w_A - 1)(2^w_B - 1) <= 2^53 and at most 12 limb
  pairs hold them, every limb pair is one whole-K float64 GEMM, exact in any order, and the
  pairs meet in the limb accumulator once per output instead of once per block.
* "fp32_blockwise": a block whose rows and columns span b_A + b_B + log2(k) <= 53 bits is one
  float64 product of the exact values (exact), cast once; else two limbs, rounded once by
  :func:`mxref._intsum.pair_to_f32`; the float32 adds in K order over the whole output.
* "fp32_sequential": where every value is a float32 and the thread keeps subnormals, IEEE
  float32 multiplication is the rounded exact product; a loop over K in order, each step one
  float32 multiply and add over a cache-sized tile of outputs.

The slow reference is :func:`mxref.reference.dot_scalar` (Fractions, one term at a time); the
tests hold every mode here equal to it bit for bit, and the fast paths equal to the general ones.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ._arrays import ieee_subnormals, widen_exact
from ._dequant import value_table
from ._intsum import (
    bitlen as _bitlen,
    cast_f32,
    f32_from_f64 as _f32_from_f64,
    grid_to_f32 as _grid_to_f32,
    grid_to_int as _grid_to_int,
    limb_stack,
    normalize as _normalize,
    pair_to_f32,
    pieces as _pieces,
    plan_limbs,
)
from ._kernel import decode_table, effective_block, pad_blocks
from .accumulators import Accumulator as _Accumulator, gemm as _gemm, preset as _preset
from .arrays import MXArray
from .formats import e8m0
from .options import ACCUMULATORS, FLOAT32_ACCUMULATORS, TENSOR_CORE_ACCUMULATORS, check_choice

__all__ = ["ACCUMULATORS", "dot", "matmul"]

#: Accumulator models of :func:`matmul` (the spec leaves internal precision and order open):
#:   exact            the exact sum, rounded once to float32 (RNE)
#:   fp32_blockwise   each block's exact scaled sum rounded to float32, added in float32 in K order
#:   fp32_sequential  each scaled product rounded to float32, added in float32 in K order
#: and the tensor-core models (options.TENSOR_CORE_ACCUMULATORS, :mod:`mxref.accumulators`)

_CHUNK = 1 << 19  # output elements x blocks (or x K-steps) per chunk: bounds the temporaries
_TILE = 1 << 22  # int64 accumulator words per row tile of the output


# ----- operands: rows blocked along K ------------------------------------------------------------


@dataclass
class _Op:
    """One operand as R rows of K values, blocked along K in blocks of k (K padded with zeros to
    nb * k). Finite value of element i = (-1)^neg * m * 2^d * 2^exp[row, block]; ``values`` are
    the exact values in float64 (NaN for a NaN-scale block), used by the sequential model and
    for the special-value indicators."""

    k: int
    m: np.ndarray  # (R, Kp) int64, >= 0, 0 for non-finite elements and NaN-scale blocks
    d: np.ndarray  # (R, Kp) int64, >= 0 (0 for MX operands)
    neg: np.ndarray  # (R, Kp) bool
    exp: np.ndarray  # (R, nb) int64
    values: np.ndarray  # (R, Kp) float64
    bits: int  # max bit length of m * 2^d

    @property
    def R(self) -> int:
        return self.m.shape[0]

    @property
    def nb(self) -> int:
        return self.exp.shape[1]

    def rows(self, r0: int, r1: int) -> "_Op":
        return _Op(self.k, self.m[r0:r1], self.d[r0:r1], self.neg[r0:r1], self.exp[r0:r1],
                   self.values[r0:r1], self.bits)

    def limbs(self, w: int, rhs: bool) -> np.ndarray:
        """Signed limbs of w bits of m * 2^d, least significant first, as exact float64 (each
        |limb| < 2^w <= 2^26), stacked for batched block products: (nb, nl * R, k) for the
        left operand, (nb, k, nl * R) for the right one (limb-major along the row axis)."""
        nl = max(1, -(-self.bits // w))
        out = limb_stack(self.m, self.d, self.neg, w, nl).reshape(nl * self.R, self.nb, self.k)
        return np.ascontiguousarray(out.transpose(1, 2, 0) if rhs else out.transpose(1, 0, 2))


@functools.lru_cache(maxsize=None)
def _int_table(el):
    """(N per code as int64 (0 for NaN/Inf codes), q): finite value = N * 2^-q, where 2^-q is
    the smallest positive value of the format (MX §5.3)."""
    small = Fraction(el.smallest_positive)
    if small.numerator != 1 or small.denominator & (small.denominator - 1):
        raise ValueError(f"{el.name}: smallest positive value {small} is not 2^-q")  # pragma: no cover
    q = small.denominator.bit_length() - 1
    vals = decode_table(el)
    finite = np.isfinite(vals)
    n = np.where(finite, np.ldexp(np.where(finite, vals, 0.0), q), 0.0)
    table = n.astype(np.int64)
    assert np.array_equal(table.astype(np.float64), n)  # every value is an integer multiple
    table.setflags(write=False)
    return table, q


def mx_operand(codes: np.ndarray, scales: np.ndarray, mx: MXArray) -> _Op:
    """Operand from an MXArray's codes laid out (R, K) and scales (R, nb); a block longer than K
    is one short block (blocks of K: nothing is allocated for the missing elements)."""
    el = mx.format.element
    table, q = _int_table(el)
    R, K = codes.shape
    k = effective_block(mx.block_size, K)
    nb = scales.shape[1]
    codes = pad_blocks(codes, nb, k).reshape(R, nb * k)  # code 0 is +0 in every element format
    n = table[codes]
    sc = scales.astype(np.int64)
    nan_blk = sc == 0xFF
    m = np.abs(n)
    if nan_blk.any():
        m = np.where(np.repeat(nan_blk, k, axis=1), 0, m)
    vals = value_table(el, np.dtype(np.float64)).take((np.repeat(sc, k, axis=1) << el.bits) | codes)
    bits = int(m.max()).bit_length() if m.size else 0
    return _Op(k, m, np.zeros_like(m), n < 0, np.where(nan_blk, 0, sc - 127 - q), vals, bits)


def float_operand(x32: np.ndarray, k: int) -> _Op:
    """Operand from float32 values (R, K), blocks of k: per block the exponent is the smallest
    exponent of the last significand bit among its finite nonzero values (0 if none)."""
    R, K = x32.shape
    k = effective_block(k, K)
    nb = -(-K // k)
    x32 = pad_blocks(x32, nb, k).reshape(R, nb * k)
    u = x32.view(np.uint32).astype(np.int64)
    ef = (u >> 23) & 0xFF
    frac = u & 0x7FFFFF
    finite = ef != 0xFF
    sig = np.where(ef > 0, frac | (1 << 23), frac)
    lsb = np.where(ef > 0, ef, 1) - 150  # exponent of the significand's last bit
    nz = finite & (sig != 0)
    big = np.int64(1 << 20)
    blk = np.where(nz, lsb, big).reshape(R, nb, k).min(axis=2)
    blk = np.where(blk == big, 0, blk)
    d = np.where(nz, lsb - np.repeat(blk, k, axis=1), 0)
    m = np.where(nz, sig, 0)
    bl = np.where(nz, d + 24, 0)  # an upper bound of the bit length of m * 2^d
    bits = int(bl.max()) if bl.size else 0
    return _Op(k, m, d, (u >> 31) == 1, blk, widen_exact(x32), bits)


def _limb_width(k: int) -> int:
    """w with k * (2^w - 1)^2 < 2^53: the block sums of w-bit limbs are exact in float64."""
    w = (53 - (k - 1).bit_length()) // 2
    if w < 1:  # pragma: no cover - k > 2^51
        raise ValueError(f"block_size {k} is too large")
    return w


# ----- block sums ---------------------------------------------------------------------------------


def _block_sums(la: np.ndarray, lb: np.ndarray, RA: int, RB: int, j0: int, j1: int) -> list:
    """Exact block sums of blocks j0..j1-1 as int64 arrays U[u] of shape (cb, RA, RB): the block
    sum is sum_u U[u] * 2^(w u). One batched float64 matmul gives every limb pair's block sums,
    exact by the choice of w (see :func:`_limb_width`); |U[u]| < 2^53 * (number of pairs) < 2^62."""
    nla, nlb = la.shape[1] // max(RA, 1), lb.shape[2] // max(RB, 1)
    p = np.matmul(la[j0:j1], lb[j0:j1]).reshape(j1 - j0, nla, RA, nlb, RB)
    U = [None] * (nla + nlb - 1)
    for s in range(nla):
        for t in range(nlb):
            q = p[:, s, :, t, :].astype(np.int64)
            U[s + t] = q if U[s + t] is None else U[s + t] + q
    return U


def chain_f32(acc: np.ndarray, terms: np.ndarray) -> np.ndarray:
    """acc = fl32(acc + terms[i]) for i = 0, 1, ... in order (IEEE binary32 addition, RNE),
    vectorized over the output (a loop over the terms: the order is the model). With IEEE
    subnormals each step is one float32 ``np.add``. In a thread that flushes subnormals, each
    addition is done in float64 and rounded to float32 by integers (one float64 rounding then
    one to float32 is the correct rounding of a sum of two float32 values: 53 >= 2 * 24 + 2)."""
    acc = np.array(acc, dtype=np.float32, copy=True)
    with np.errstate(invalid="ignore", over="ignore"):
        if ieee_subnormals():
            for t in terms:
                np.add(acc, t, out=acc)
            return acc
        for t in terms:
            acc = _f32_from_f64(widen_exact(acc) + widen_exact(np.asarray(t, np.float32)))
        return acc


# ----- special values -----------------------------------------------------------------------------


def _indicators(v: np.ndarray) -> dict:
    with np.errstate(invalid="ignore"):
        return {"pinf": v == np.inf, "ninf": v == -np.inf, "pos": v > 0, "neg": v < 0, "zero": v == 0}


def _special_blocks(A: _Op, B: _Op, j0: int, j1: int, k: int | None = None):
    """Per block (cb, RA, RB): (nan, +inf, -inf) flags of the exact block sum, or None when the
    blocks hold no NaN or Inf. NaN: a NaN value (or NaN scale) in either block, Inf x 0, or Inf
    products of both signs; else +-Inf when an Inf product exists (IEEE 754). ``k``: blocks of
    another length (k = the padded K: one block, the flags of the whole sum)."""
    k = A.k if k is None else k
    va = A.values[:, j0 * k:j1 * k].reshape(A.R, j1 - j0, k)
    vb = B.values[:, j0 * k:j1 * k].reshape(B.R, j1 - j0, k)
    if np.isfinite(va).all() and np.isfinite(vb).all():
        return None
    nan = np.isnan(va).any(axis=2).T[:, :, None] | np.isnan(vb).any(axis=2).T[:, None, :]
    ia, ib = _indicators(va), _indicators(vb)
    if not (ia["pinf"].any() or ia["ninf"].any() or ib["pinf"].any() or ib["ninf"].any()):
        z = np.zeros(nan.shape, bool)
        return nan, z, z

    def count(names_a, names_b):  # sum over the pairs of (indicator_a @ indicator_b), per block
        a = np.concatenate([ia[n] for n in names_a], axis=2).astype(np.float64).transpose(1, 0, 2)
        b = np.concatenate([ib[n] for n in names_b], axis=2).astype(np.float64).transpose(1, 2, 0)
        return np.matmul(a, b) > 0

    ia["inf"], ib["inf"] = ia["pinf"] | ia["ninf"], ib["pinf"] | ib["ninf"]
    inf_zero = count(["inf", "zero"], ["zero", "inf"])
    pinf = count(["pinf", "ninf", "pos", "neg"], ["pos", "neg", "pinf", "ninf"])
    ninf = count(["pinf", "ninf", "pos", "neg"], ["neg", "pos", "ninf", "pinf"])
    nan = nan | inf_zero | (pinf & ninf)
    return nan, pinf & ~nan, ninf & ~nan


# ----- the three accumulators ---------------------------------------------------------------------


def _exact(A: _Op, B: _Op, finish: str):
    """Exact sum over all blocks. finish="f32": float32 (RA, RB); "int": (ints, base, flags)."""
    RA, RB, nb = A.R, B.R, A.nb
    w = _limb_width(A.k)
    la, lb = A.limbs(w, False), B.limbs(w, True)
    nu = la.shape[1] // RA + lb.shape[2] // RB - 1
    base = int(A.exp.min()) + int(B.exp.min())
    span = int(A.exp.max()) + int(B.exp.max()) - base + w * (nu - 1)
    n = (span + 62 + (nb * nu).bit_length()) // 32 + 4
    P = RA * RB
    g = np.zeros((P, n), np.int64)
    pos = (np.arange(P, dtype=np.int64) * n).reshape(RA, RB)
    fnan = np.zeros((RA, RB), bool)
    fpinf, fninf = fnan.copy(), fnan.copy()
    cb = max(1, _CHUNK // max(P * nu, 1))
    for j0 in range(0, nb, cb):
        j1 = min(nb, j0 + cb)
        U = _block_sums(la, lb, RA, RB, j0, j1)
        e = (A.exp[:, j0:j1].T[:, :, None] + B.exp[:, j0:j1].T[:, None, :]) - base  # (cb, RA, RB)
        idx, wts = [], []
        for u, c in enumerate(U):
            L, parts = _pieces(c, e + w * u)
            start = pos[None] + L
            for off, p in parts:
                idx.append((start + off).reshape(-1))
                wts.append(p.reshape(-1).astype(np.float64))
        # a bin gets at most 2 pieces per (block, u), so at most 2 * max(nu, _CHUNK / P) <= 2^20
        # pieces of magnitude < 2^32: every partial sum is an integer below 2^52, exact in float64
        g += np.bincount(np.concatenate(idx), np.concatenate(wts), minlength=P * n).reshape(P, n).astype(np.int64)
        _normalize(g)
        sp = _special_blocks(A, B, j0, j1)
        if sp is not None:
            fnan |= sp[0].any(axis=0)
            fpinf |= sp[1].any(axis=0)
            fninf |= sp[2].any(axis=0)
    fnan |= fpinf & fninf
    if finish == "int":
        return _grid_to_int(g), base, (fnan, fpinf & ~fnan, fninf & ~fnan)
    out = _grid_to_f32(g, base).reshape(RA, RB)
    out[fpinf] = np.inf
    out[fninf] = -np.inf
    out[fnan] = np.nan
    return out


def _blockwise(A: _Op, B: _Op) -> np.ndarray:
    """acc = +0.0; for each block in K order: acc = fl32(acc + fl32(exact block sum))."""
    RA, RB, nb = A.R, B.R, A.nb
    w = _limb_width(A.k)
    la, lb = A.limbs(w, False), B.limbs(w, True)
    nu = la.shape[1] // RA + lb.shape[2] // RB - 1
    n = (w * (nu - 1) + 62 + nu.bit_length()) // 32 + 4
    acc = np.zeros((RA, RB), np.float32)
    cb = max(1, _CHUNK // max(RA * RB * n, 1))
    for j0 in range(0, nb, cb):
        j1 = min(nb, j0 + cb)
        U = _block_sums(la, lb, RA, RB, j0, j1)
        base = A.exp[:, j0:j1].T[:, :, None] + B.exp[:, j0:j1].T[:, None, :]
        if len(U) == 1:
            # one limb: |U| < 2^53 and 2^-400 < 2^base < 2^400, so U * 2^base is a float64, exactly
            vals = _f32_from_f64(np.ldexp(U[0].astype(np.float64), base.astype(np.int32)))
        else:
            g = np.zeros((U[0].size, n), np.int64)
            for u, c in enumerate(U):  # a constant offset w*u: the pieces land in fixed limbs
                L, parts = _pieces(c.reshape(-1), np.int64(w * u))
                for off, p in parts:
                    g[:, int(L) + off] += p
                _normalize(g)
            vals = _grid_to_f32(g, base.reshape(-1)).reshape(j1 - j0, RA, RB)
        sp = _special_blocks(A, B, j0, j1)
        if sp is not None:
            vals[sp[1]] = np.inf
            vals[sp[2]] = -np.inf
            vals[sp[0]] = np.nan
        acc = chain_f32(acc, vals)
    return acc


def _sequential(A: _Op, B: _Op, K: int) -> np.ndarray:
    """acc = +0.0; for i in 0 .. K-1: acc = fl32(acc + fl32(a_i * b_i)). The products are exact in
    float64 (significands of at most 24 x 8 bits; exponents within float64's normal range)."""
    RA, RB = A.R, B.R
    acc = np.zeros((RA, RB), np.float32)
    ci = max(1, _CHUNK // max(RA * RB, 1))
    for i0 in range(0, K, ci):
        i1 = min(K, i0 + ci)
        with np.errstate(invalid="ignore"):
            p = A.values[:, i0:i1].T[:, :, None] * B.values[:, i0:i1].T[:, None, :]
        acc = chain_f32(acc, _f32_from_f64(p))
    return acc


# ----- fast paths: whole-K and per-block BLAS products, float32 products ---------------------------

_FAST = True  # the paths below (False: the general ones above, for the tests that compare them)
_FAST_MIN = 4  # exact / blockwise fast paths where M N >= _FAST_MIN (M + N)
_MAX_PAIRS = 12  # limb pairs of the whole-K exact path (one float64 GEMM each)
_GEMM_TILE = 1 << 22  # float64 limb values (and accumulator words) per row tile of the exact path
_BLOCK_TILE = 1 << 20  # outputs per row tile of the blockwise path (one block at a time: a GEMM per block)
_SEQ_TILE = 1 << 16  # float32 products per step of the sequential path (cache sized)


def _row_form(op: _Op):
    """(m, d, base, bits): every element is +-m * 2^(d + base[row]) with m odd (or 0), d >= 0 and
    base the row's smallest exponent of a nonzero element's last bit; bits = max bit length."""
    nz = op.m != 0
    tz = np.where(nz, _bitlen(op.m & -op.m) - 1, 0)  # trailing zeros (m < 2^53)
    e = op.d + np.repeat(op.exp, op.k, axis=1) + tz
    big = np.int64(1 << 40)
    base = np.where(nz, e, big).min(axis=1)
    base = np.where(base == big, 0, base)
    d = np.where(nz, e - base[:, None], 0)
    m = op.m >> tz
    bl = np.where(nz, _bitlen(m) + d, 0)
    return m, d, base, int(bl.max()) if bl.size else 0


def _exact_gemm(A: _Op, B: _Op):
    """"exact" as whole-K float64 GEMMs, or None when the rows span too many bits. Rows of A and
    columns of B become integers times 2^base (:func:`_row_form`), cut into limbs so that every
    K-term sum of limb products is an integer of at most 2^53 (exact in any order: one dgemm per
    limb pair, :func:`mxref._intsum.plan_limbs`); the pair sums land in a 32-bit-limb accumulator
    per output, rounded once (:func:`mxref._intsum.grid_to_f32`, base = base_A + base_B)."""
    RA, RB, Kp = A.R, B.R, A.m.shape[1]
    ma, da, ba, bits_a = _row_form(A)
    mb, db, bb, bits_b = _row_form(B)
    plan = plan_limbs(bits_a, bits_b, Kp, _MAX_PAIRS)
    if plan is None:
        return None
    na, nb, wa, wb = plan
    lb = limb_stack(mb, db, B.neg, wb, nb).transpose(2, 0, 1).reshape(Kp, nb * RB)
    n = (wa * (na - 1) + wb * (nb - 1) + 53 + 8) // 32 + 3
    out = np.empty((RA, RB), np.float32)
    tile = max(1, min(RA, 2 * _GEMM_TILE // max(na * Kp, 1), _GEMM_TILE // max(RB * n, 1)))
    for r0 in range(0, RA, tile):
        r1 = min(RA, r0 + tile)
        la = limb_stack(ma[r0:r1], da[r0:r1], A.neg[r0:r1], wa, na).reshape(na * (r1 - r0), Kp)
        p = (la @ lb).reshape(na, r1 - r0, nb, RB)
        g = np.zeros(((r1 - r0) * RB, n), np.int64)
        for s in range(na):
            for t in range(nb):
                L, parts = _pieces(p[s, :, t, :].reshape(-1).astype(np.int64), np.int64(wa * s + wb * t))
                for off, q in parts:
                    g[:, int(L) + off] += q
        base = (ba[r0:r1, None] + bb[None, :]).reshape(-1)
        o = _grid_to_f32(g, base).reshape(r1 - r0, RB)
        sp = _special_blocks(A.rows(r0, r1), B, 0, 1, Kp)
        if sp is not None:
            o[sp[1][0]] = np.inf
            o[sp[2][0]] = -np.inf
            o[sp[0][0]] = np.nan
        out[r0:r1] = o
    return out


def _finite(op: _Op) -> np.ndarray:
    return np.where(np.isfinite(op.values), op.values, 0.0)


def _block_bits(op: _Op) -> np.ndarray:
    """(R, nb): per row and block, the bits from the lowest set bit of its nonzero values to the
    highest (0 for a block of zeros): its values are integers below 2^bits times a power of two."""
    nz = op.m != 0
    low = np.where(nz, _bitlen(op.m & -op.m) - 1 + op.d, 1 << 40).reshape(op.R, op.nb, op.k).min(axis=2)
    top = np.where(nz, _bitlen(op.m) + op.d, 0).reshape(op.R, op.nb, op.k).max(axis=2)
    return np.where(top > 0, top - low, 0)


def _blockwise_blas(A: _Op, B: _Op):
    """"fp32_blockwise" with every block sum from a float64 matrix product per block, or None.
    Block j of a row tile is one product of the exact values (scales included) when
    b_A + b_B + ceil(log2 k) <= 53 for the widest bit spans b of its rows and of B's columns
    (:func:`_block_bits`): every product is a multiple of the least of them and every partial sum
    stays below 2^53 of it, so the float64 block sum is exact (all exponents stay inside
    float64's normal range), then cast once. Else two products: the wider operand (on the grid
    of its format) cut into two limbs at c bits, hi * 2^c + lo exact in two int64, rounded once
    by :func:`mxref._intsum.pair_to_f32`. None when neither is exact."""
    RA, RB, nb, k = A.R, B.R, A.nb, A.k
    ba, bb = _block_bits(A), _block_bits(B).max(axis=0)
    swap = A.bits < B.bits
    wide, narrow = (B, A) if swap else (A, B)
    c = -(-wide.bits // 2)
    pair_ok = k * ((1 << c) - 1) * ((1 << narrow.bits) - 1) <= 1 << 53
    ieee = ieee_subnormals()
    acc = np.zeros((RA, RB), np.float32)
    tile = max(1, min(RA, _BLOCK_TILE // max(RB, 1)))
    fin_a = np.isfinite(A.values).reshape(RA, nb, k).all(axis=2).all(axis=0)
    fin_b = np.isfinite(B.values).reshape(RB, nb, k).all(axis=2).all(axis=0)
    vb = np.ascontiguousarray(_finite(B).reshape(RB, nb, k).transpose(1, 2, 0))
    lb = buf = vals = None
    for r0 in range(0, RA, tile):
        a = A.rows(r0, min(RA, r0 + tile))
        bt = ba[r0:r0 + a.R].max(axis=0)
        one = bt + bb <= 53 - (k - 1).bit_length()  # k (2^bt - 1)(2^bb - 1) < 2^53
        if not one.all():
            if not pair_ok:
                return None
            if lb is None:
                lb = B.limbs(c if swap else max(B.bits, 1), True)
            la = a.limbs(max(a.bits, 1) if swap else c, False)
        va = np.ascontiguousarray(_finite(a).reshape(a.R, nb, k).transpose(1, 0, 2))
        if buf is None or buf.shape != (a.R, RB):  # preallocated: no fresh pages per block
            buf, vals = np.empty((a.R, RB)), np.empty((a.R, RB), np.float32)
        o = acc[r0:r0 + a.R]
        with np.errstate(over="ignore", invalid="ignore"):  # IEEE: overflow to Inf, Inf - Inf = NaN
            for j in range(nb):
                if one[j]:
                    np.matmul(va[j], vb[j], out=buf)
                    v = buf if ieee else cast_f32(buf)
                    vals[...] = v  # the IEEE conversion (RNE), or already rounded
                else:
                    p = np.matmul(la[j], lb[j]).astype(np.int64).reshape(-1, a.R, lb.shape[2] // RB, RB)
                    lo, hi = (p[0, :, 0, :], p[0, :, 1, :]) if swap else (p[0, :, 0, :], p[1, :, 0, :])
                    vals[...] = pair_to_f32(hi, lo, c, a.exp[:, j, None] + B.exp[None, :, j])
                if not (fin_a[j] and fin_b[j]):
                    sp = _special_blocks(a, B, j, j + 1)
                    if sp is not None:
                        vals[sp[1][0]] = np.inf
                        vals[sp[2][0]] = -np.inf
                        vals[sp[0][0]] = np.nan
                if ieee:
                    np.add(o, vals, out=o)
                else:
                    o[...] = chain_f32(o, vals[None])
    return acc


def _sequential_f32(A: _Op, B: _Op, K: int):
    """"fp32_sequential" with float32 products, or None: where the thread keeps subnormals and
    every value is a float32, IEEE binary32 multiplication is fl32 of the exact product. A loop
    over K in order, each step over a tile of outputs that stays in cache."""
    if not ieee_subnormals():
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        a32, b32 = A.values[:, :K].astype(np.float32), B.values[:, :K].astype(np.float32)
    for v, v32 in ((A.values[:, :K], a32), (B.values[:, :K], b32)):
        if not ((widen_exact(v32) == v) | np.isnan(v)).all():
            return None
    aT, bT = np.ascontiguousarray(a32.T), np.ascontiguousarray(b32.T)  # (K, RA), (K, RB)
    RA, RB = A.R, B.R
    out = np.zeros((RA, RB), np.float32)
    tile = max(1, min(RA, _SEQ_TILE // max(RB, 1)))
    ci = max(1, _SEQ_TILE // (tile * RB))
    with np.errstate(over="ignore", invalid="ignore"):
        for r0 in range(0, RA, tile):
            acc = out[r0:r0 + tile]
            for i0 in range(0, K, ci):
                p = aT[i0:i0 + ci, r0:r0 + tile, None] * bT[i0:i0 + ci, None, :]
                for t in p:
                    np.add(acc, t, out=acc)
    return out


def run_model(A: _Op, B: _Op, K: int, accumulate: str) -> np.ndarray:
    """float32 (RA, RB) under one accumulator model: a fast path above where it applies, else
    the general one in row tiles of A (bit for bit the same results)."""
    RA, RB = A.R, B.R
    out = np.zeros((RA, RB), np.float32)
    if RA == 0 or RB == 0 or K == 0:
        return out
    fast = None
    # the whole-K and per-block paths pay per row and column, the general ones per output and
    # block: a dot or a matrix-vector product is faster the general way
    if _FAST and (accumulate == "fp32_sequential" or RA * RB >= _FAST_MIN * (RA + RB)):
        if accumulate == "exact":
            fast = _exact_gemm(A, B)
        elif accumulate == "fp32_blockwise":
            fast = _blockwise_blas(A, B)
        else:
            fast = _sequential_f32(A, B, K)
    if fast is not None:
        return fast
    words = RB * (8 if accumulate == "fp32_sequential" else 32)  # accumulator limbs and temporaries
    step = max(1, _TILE // max(words, 1))
    for r0 in range(0, RA, step):
        a = A.rows(r0, min(RA, r0 + step))
        if accumulate == "exact":
            out[r0:r0 + a.R] = _exact(a, B, "f32")
        elif accumulate == "fp32_blockwise":
            out[r0:r0 + a.R] = _blockwise(a, B)
        else:
            out[r0:r0 + a.R] = _sequential(a, B, K)
    return out


# ----- public API ---------------------------------------------------------------------------------


def check_mx_operand(name: str, x, ndim: int, axis: int) -> MXArray:
    if not isinstance(x, MXArray):
        raise TypeError(f"{name} must be an MXArray (mxref.quantize), got {type(x).__name__}")
    if len(x.shape) != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {x.shape}")
    if x.axis != axis:
        raise ValueError(f"{name} must be blocked along axis {axis} (the reduction axis K), "
                         f"got axis {x.axis}")
    if x.format.scale is not e8m0:
        raise ValueError(f"{name} must have an E8M0 scale, got {x.format.scale.name}")  # pragma: no cover
    return x


def _check_pair(a: MXArray, b: MXArray, Ka: int, Kb: int):
    if Ka != Kb:
        raise ValueError(f"a and b must have the same reduction length K, got {Ka} and {Kb}")
    if a.block_size != b.block_size:
        raise ValueError(f"a and b must have the same block_size, got {a.block_size} and {b.block_size}")


def dot(a: MXArray, b: MXArray, *, dtype=np.float32, accumulate="exact", c=None, k_order="ascending"):
    """Dot product of two 1-D MXArrays of equal length and block size (element formats may
    differ): C = sum over blocks j of X_A,j * X_B,j * sum_i P_A,i * P_B,i (MX §6.1, §6.2).

    ``dtype=np.float32`` (default): a float32 scalar under ``accumulate`` (see :func:`matmul`;
    default "exact": the exact value rounded once, RNE). ``dtype="exact"`` (with
    accumulate="exact"): the exact value as a ``fractions.Fraction``, or the Python float nan /
    inf / -inf. NaN scale -> NaN; NaN element -> NaN; Inf x 0 -> NaN; +Inf + -Inf -> NaN;
    an exact zero is +0.0. A tensor-core ``accumulate`` (a preset name or an
    :class:`mxref.accumulators.Accumulator`, see :func:`matmul`) takes ``c`` (the float32
    accumulator input, default +0), ``k_order`` and NVFP4Array operands. (MX §6.1, §6.2)"""
    if _tensor_core(accumulate):
        if isinstance(dtype, str) or np.dtype(dtype) != np.float32:
            raise ValueError("a tensor-core accumulate gives float32 only")
        A = _core_operand("a", a, 1, 0)
        B = _core_operand("b", b, 1, 0)
        A = dict(A, codes=A["codes"][None, :], scales=None if A["scales"] is None else A["scales"][None, :])
        B = dict(B, codes=B["codes"][:, None], scales=None if B["scales"] is None else B["scales"][:, None])
        cc = None if c is None else np.asarray(c).reshape(1, 1)
        return _run_tensor_core(A, B, accumulate, cc, k_order)[0, 0]
    _no_tensor_core_options(c, k_order)
    a = check_mx_operand("a", a, 1, 0)
    b = check_mx_operand("b", b, 1, 0)
    _check_pair(a, b, a.shape[0], b.shape[0])
    check_choice("accumulate", accumulate, ACCUMULATORS)
    exact = isinstance(dtype, str) and dtype == "exact"
    if not exact:
        try:
            dt = np.dtype(dtype)
            ok = dt.newbyteorder("=") == np.float32  # a float32 scalar has no byte order
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(f"dtype must be np.float32 or 'exact', got {dtype!r}")
    A = mx_operand(a.elements[None, :], a.scales[None, :], a)
    B = mx_operand(b.elements[None, :], b.scales[None, :], b)
    if exact:
        if accumulate != "exact":
            raise ValueError("dtype='exact' goes with accumulate='exact' only")
        if a.shape[0] == 0:
            return Fraction(0)
        ints, base, (fnan, fpinf, fninf) = _exact(A, B, "int")
        if fnan[0, 0]:
            return float("nan")
        if fpinf[0, 0] or fninf[0, 0]:
            return float("inf") if fpinf[0, 0] else float("-inf")
        return Fraction(ints[0]) * Fraction(2) ** base
    return run_model(A, B, a.shape[0], accumulate)[0, 0]


def matmul(a: MXArray, b: MXArray, *, accumulate="exact", c=None, k_order="ascending") -> np.ndarray:
    """C = A @ B for A (M x K) blocked along K (axis 1) and B (K x N) blocked along K (axis 0),
    equal block sizes, element formats free; float32 (M, N). Each C[m, n] is the DotGeneral of
    row m of A and column n of B (MX §6.2) under the accumulator model ``accumulate``:

      "exact" (default)   the exact sum over all K of X_A X_B P_A P_B, rounded once to float32
                          (round to nearest, ties to even; subnormals; overflow to +-Inf).
      "fp32_blockwise"    acc = +0.0; for each block j = 0, 1, ... in K order:
                          acc = fl32(acc + fl32(X_A,j X_B,j sum_{i in block j} P_A,i P_B,i)),
                          the block sum exact before its one rounding (a ragged last block
                          sums the elements it has).
      "fp32_sequential"   acc = +0.0; for i = 0, 1, ..., K-1 in order:
                          acc = fl32(acc + fl32(X_A P_A,i X_B P_B,i)), each product exact
                          before its rounding.

    fl32 rounds an exact value to float32 (RNE, as above); acc + t is IEEE binary32 addition
    (RNE, subnormals kept even in a flush-to-zero thread). Special values (IEEE 754 on exact
    operands): a NaN scale makes its block's values NaN (MX §5.1); NaN x anything = NaN,
    Inf x 0 = NaN, Inf x nonzero = +-Inf, +Inf + -Inf = NaN; in the float32 models the Inf/NaN
    then propagate through the float32 additions. An exact zero is +0.0 (the float32 models
    start from +0.0, so their zero is +0.0 too).

    Vectorized over M and N: "exact" is whole-K float64 GEMMs of integer limbs (or per-block
    products into an integer accumulator), "fp32_blockwise" one float64 product per block, and
    the float32 models keep their order with a float32 running sum over blocks / K, each step
    over all outputs (module docstring).

    Tensor-core models (outside the spec): ``accumulate`` = a preset name below or any
    :class:`mxref.accumulators.Accumulator` (the generic form: instruction K, group size, F,
    term and result rounding, C entry, chaining; see :mod:`mxref.accumulators.model`). Each is
    bit-exact to the instruction as modelled by microsoft/MMA-Sim c78513835c8b (969,344 recorded
    outputs reproduced, :func:`mxref.accumulators.replay`). Common rules: alignment exponents
    are the true exponent of a normal value, 1 - bias of a subnormal and -126 of a zero
    (element, scale or C; zeros take part in the maximum); subnormal inputs and outputs are
    kept, never flushed; a zero result is +0 (CDNA3: an exact zero is +0).
    **K chaining**: K is cut into instruction slices of the preset's K (32; FP4 kinds 64; K must
    be a multiple: pad with zero codes); ``D = c`` (float32 values or uint32 bit patterns,
    broadcast to (M, N); default +0); for each slice in ``k_order`` (default "ascending", the
    hardware K loop; "descending", or a permutation of the slice indices)
    ``D = instruction(A slice, B slice, C = D)``: every boundary rounds as the instruction's
    result does.

      "blackwell_mxf8f6f4"      tcgen05.mma kind::mxf8f6f4 (sm_100a) and, the same arithmetic,
      "rtx_blackwell_mxf8f6f4"  sm_120 mma.block_scale (RTX 50): E4M3/E5M2 operands (FP6 and
                                FP4: extrapolated), E8M0 scales, block 32, K = 32. Products
                                s(a)s(b) at exponent e(a)+e(b)+e(sa)+e(sb) (the scales are
                                exponent offsets, before alignment); C one more term at its own
                                exponent; E = the largest of the 33 exponents; every term
                                truncated toward zero (magnitude) to F = 25 fraction bits below
                                2^E and added exactly; result truncated toward zero to float32
                                (>= 2^128: +-Inf). NaN = 0x7FFFFFFF if an element of the row or
                                column is NaN, a scale is 0xFF, C is NaN, Inf*0, or +Inf meets
                                -Inf; else an E5M2 Inf or C = +-Inf gives +-Inf.
      "blackwell_mxf4"          tcgen05 kind::mxf4 (E2M1, E8M0, block 32), kind::mxf4nvf4 (also
      "blackwell_mxf4nvf4"      block 16, E8M0 or UE4M3 scales) and sm_120 mxf4nvf4; K = 64.
      "rtx_blackwell_mxf4nvf4"  Four groups of 16 consecutive products, each summed exactly and
                                times its block's scale significands, at exponent e(sa)+e(sb) (a
                                zero group keeps it); C plus the 4 group terms truncated toward
                                zero to F = 35 bits below the largest exponent, added exactly,
                                truncated toward zero to float32. NaN = 0x7FFFFFFF for a NaN
                                scale (E8M0 0xFF, UE4M3 0x7F) or a NaN C.
      "hopper_fp8"              wgmma FP8 (sm_90a): E4M3/E5M2, no block scales, K = 32. As
                                mxf8f6f4 with F = 13, the result truncated toward zero to 13
                                fraction bits (f32_e8m13: a float32 whose 10 low bits are 0;
                                subnormal quantum 2^-139), fed back as the next C.
      "cdna3_fp8"               MI300 v_mfma_f32_16x16x32 fp8/bf8: FNUZ operands (fp8_e4m3fnuz,
                                fp8_e5m2fnuz), no block scales, K = 32 as two sequential groups
                                of 16. Per group: the even-k and the odd-k products are two sums,
                                each truncated toward zero to F = 24 bits below its own largest
                                exponent, floored to the larger one and added; E_x = max(that,
                                e(C)); the product sum floored to 31 bits below 2^E_x, C floored
                                to 24 (0 when e(C) < E_x - 25), added exactly, rounded to
                                nearest even to float32: the next group's C. A 0x80 code or NaN
                                C gives NaN (MMA-Sim's payload is host-dependent: compare it as
                                a class); C = +-Inf passes through.

    Operands of the tensor-core models: MXArrays as above, in the element formats and block
    sizes the preset takes (else ValueError naming them). ``mxref.ext.NVFP4Array`` (E2M1, UE4M3
    scales, block 16) for the mxf4nvf4 presets: the per-tensor scales are applied outside the
    instructions, as a GEMM epilogue does, ``D = fl32(fl32(P_A * P_B) * acc)`` (RNE; P = 1 where
    None), ``acc`` the instruction chain above; ``c`` is not taken then (C would enter unscaled).
    Hopper and CDNA3 have no block scales: their MXArray operands must have every scale 127
    (X = 1: the elements are the instruction's operands; any block size), else ValueError --
    block scales applied outside the instruction are a kernel's technique, not the instruction
    (:func:`mxref.accumulators.gemm` takes raw codes). (MX §6.1, §6.2 for the float32 models;
    the tensor-core models are outside the spec)"""
    if _tensor_core(accumulate):
        A = _core_operand("a", a, 2, 1)
        B = _core_operand("b", b, 2, 0)
        return _run_tensor_core(A, B, accumulate, c, k_order)
    _no_tensor_core_options(c, k_order)
    a = check_mx_operand("a", a, 2, 1)
    b = check_mx_operand("b", b, 2, 0)
    _check_pair(a, b, a.shape[1], b.shape[0])
    check_choice("accumulate", accumulate, ACCUMULATORS)
    A = mx_operand(a.elements, a.scales, a)
    B = mx_operand(np.ascontiguousarray(b.elements.T), np.ascontiguousarray(b.scales.T), b)
    return run_model(A, B, a.shape[1], accumulate)


# ----- tensor-core models (mxref.accumulators) --------------------------------------------------


def _tensor_core(accumulate) -> bool:
    return isinstance(accumulate, _Accumulator) or (
        isinstance(accumulate, str) and accumulate in TENSOR_CORE_ACCUMULATORS)


def _no_tensor_core_options(c, k_order):
    if c is not None or not (isinstance(k_order, str) and k_order == "ascending"):
        raise ValueError("c= and k_order= go with a tensor-core accumulate (one of "
                         f"{', '.join(TENSOR_CORE_ACCUMULATORS)}, or an Accumulator); the float32 "
                         f"models {', '.join(FLOAT32_ACCUMULATORS)} start from +0 in K order")


def _core_operand(name, x, ndim, axis) -> dict:
    """Codes, format, scales, scale format, block size and per-tensor scale of an operand of a
    tensor-core model: an MXArray, or an object with ``mma_operand()`` (mxref.ext.NVFP4Array)."""
    if isinstance(x, MXArray):
        d = dict(codes=np.asarray(x.elements), fmt=x.format.element, scales=np.asarray(x.scales),
                 scale_fmt="e8m0", block_size=x.block_size, pts=None)
    elif callable(getattr(x, "mma_operand", None)):
        d = x.mma_operand()
    else:
        raise TypeError(f"{name} must be an MXArray (or an NVFP4Array), got {type(x).__name__}")
    if len(x.shape) != ndim or x.axis % ndim != axis:
        raise ValueError(f"{name} must be {ndim}-D and blocked along axis {axis} (K), got shape "
                         f"{x.shape} blocked along axis {x.axis}")
    K = x.shape[axis]
    if d["scales"] is not None and K % d["block_size"]:
        raise ValueError(f"{name}: K = {K} is not a multiple of the block size {d['block_size']}")
    return d


def _run_tensor_core(A, B, accumulate, c, k_order) -> np.ndarray:
    acc = _preset(accumulate)
    if A["block_size"] != B["block_size"] or A["scale_fmt"] != B["scale_fmt"]:
        raise ValueError(f"a and b must have the same block size and scale format, got "
                         f"{A['block_size']} {A['scale_fmt']} and {B['block_size']} {B['scale_fmt']}")
    sa, sb, sfmt = A["scales"], B["scales"], A["scale_fmt"]
    if acc.scale_formats == ():  # Hopper, CDNA3: no block scales
        for nm, s in (("a", sa), ("b", sb)):
            if s is not None and (sfmt != "e8m0" or (s.size and not (s == 127).all())):
                raise ValueError(f"accumulate={acc.name} has no block scales: {nm}'s scales must all "
                                 "be 127 (X = 1), so that its elements are the instruction's operands")
        sa = sb = sfmt = None
    pts = (A["pts"], B["pts"])
    if (pts[0] is not None or pts[1] is not None) and c is not None:
        raise ValueError("c is not taken with per-tensor-scaled (NVFP4) operands: the per-tensor "
                         "scales multiply the instruction chain's result, C would enter unscaled")
    try:
        d = _gemm(A["codes"], A["fmt"], sa, B["codes"], B["fmt"], sb, c, preset=acc,
                      scale_fmt=sfmt, k_order=k_order)
    except ValueError as exc:
        raise ValueError(f"accumulate={acc.name}: {exc}") from None
    if pts[0] is None and pts[1] is None:
        return d
    one = np.float32(1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        alpha = (one if pts[0] is None else np.float32(pts[0])) * (one if pts[1] is None else np.float32(pts[1]))
        return (np.float32(alpha) * d).astype(np.float32)
