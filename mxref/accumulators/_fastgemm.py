"""The fast path of :func:`mxref.accumulators.gemm` for the fused presets (``c_entry="fused"``,
finite ``fraction_bits``, the float64 arithmetic): bit-identical to the per-term model of
:mod:`.model` (its ``_chunk``, kept as the reference path, ``path="reference"``).

Per instruction chunk, for every output (m, n) at once:

1. **A bound that proves no term loses a bit.** The model truncates every term (and C) to a
   multiple of ``2^(E - F)``, E the largest alignment exponent of the chunk (C's included). E is
   at most ``Eu = max(max_k eA[m, k] + max_k eB[k, n], e(C))`` (group sums: the largest scale
   exponents of the groups instead). Every non-zero product is a multiple of
   ``2^(lA[m] + lB[n])``, ``lA[m]`` the lowest set bit of the chunk's scaled A elements (group
   sums: the fixed-point quantum of the elements plus the lowest set bit of the scales), and C a
   multiple of ``2^max(e(C) - 23, -149)``. Where ``lA + lB >= Eu - F`` and C's quantum is too
   (or C = 0), no truncation changes anything: the model's sum is the exact sum.
2. **The exact sum by a GEMM.** There every product and C is a multiple of ``2^(Eu - F)``, and
   the magnitudes of all of them add up to less than ``(n R + 2) 2^F`` such quanta (n terms, R
   the largest term significand relative to its alignment exponent), below 2^53 by
   :func:`.model.fits_float64`, which the float64 arithmetic already requires: every partial sum
   of a float64 matmul (any order, FMA or not) is exact, and so is the sum.
3. **The result rounding** of that exact float64 sum: toward zero to ``P`` fraction bits by
   clearing float64 fraction bits (below 2^-126 by ``trunc`` at the subnormal quantum
   ``2^(-126-P)``), which is the model's rounding for the presets (toward zero, +0 for a zero
   result, Inf at 2^128); any other result rule goes through the model's own ``_round_result``
   on the integer ``S * 2^(F - Eu)``.
4. **The rest** (outputs where the bound fails: a wide exponent spread, a large C against small
   products or the reverse) is computed by the model's ``_accumulate`` / ``_round_result`` on
   those (m, n) pairs only, gathered into rows of terms; specials (NaN, Inf) by the model's rule
   on the whole chunk. A tile where the bound fails on more than half the outputs (random codes
   in ``hopper_fp8``, F = 13) runs the model's ``_chunk`` on the whole tile instead.

Outputs are processed in tiles of 256 x 256 (``model._TILE``) through the whole K loop, so that
the per-output temporaries stay in cache; results of different outputs never interact.
"""

from __future__ import annotations

import copy

import numpy as np

from ._codes import decode_f32_bits

_NONE = 1 << 14  # "no set bit": the lowest-bit bound of zero values
#: multiply-adds per matmul call: 64 rows x (_MACS / 64 / K) columns, small enough that OpenBLAS
#: runs it on one thread (its threshold is m*n*k <= 262144); its threaded GEMM of these thin
#: (K = 32 or 64) shapes measured 10-650x slower on a loaded 2-core machine. Speed only.
_MACS = 1 << 18


def applies(acc, A, wide) -> bool:
    """Whether this path computes ``acc``'s chunks (else the reference ``_chunk`` does)."""
    if wide or acc.c_entry != "fused" or acc.fraction_bits is None:
        return False
    return acc.group == 1 or np.ndim(A.se) > 0


def _lowest_bit(v):
    """Exponent of the lowest set bit of float64 values (exact integers times powers of 2);
    ``_NONE`` for zeros."""
    v = np.abs(np.asarray(v, np.float64))
    m, e = np.frexp(v)
    n = np.ldexp(m, 53).astype(np.int64)  # the 53-bit significand, an exact integer
    low = np.frexp((n & -n).astype(np.float64))[1] - 1
    return np.where(v == 0, _NONE, e - 53 + low).astype(np.int32)


_CHUNKED = ("fxc", "ecc", "emax", "lmin", "nanc", "infc")


def prepare(acc, S, step):
    """Per-side arrays of the fast path, computed once per GEMM and stored on the _Side ``S``,
    each (batch, chunk, rows, ...): ``fxc`` the scaled values (contiguous for the matmul);
    ``ecc`` the alignment exponents (group 1); ``emax`` / ``lmin`` the largest alignment
    exponent and the lowest set bit of each row's chunk (group sums: of the scales, plus the
    elements' quantum); ``nanc`` / ``infc`` whether the row's chunk holds a NaN / an Inf."""
    Bt, R, K = S.x.shape
    nc = K // step

    def per_chunk(v, n):  # (Bt, R, n * nc) -> (Bt, nc, R, n)
        return np.swapaxes(np.asarray(v).reshape(Bt, R, nc, n), 1, 2)

    S.nanc = per_chunk(np.broadcast_to(S.nan, S.x.shape), step).any(-1)
    S.infc = per_chunk(np.broadcast_to(S.inf, S.x.shape), step).any(-1)
    if acc.group == 1:
        S.fxc = np.ascontiguousarray(per_chunk(S.x, step))
        S.ecc = np.ascontiguousarray(per_chunk(S.e, step))
        S.emax = S.ecc.max(-1).astype(np.int32)
        S.lmin = per_chunk(_lowest_bit(S.x), step).min(-1)
    else:
        blk = np.arange(K) // (K // np.shape(S.sx)[-1])
        S.fxc = np.ascontiguousarray(per_chunk(S.x * np.asarray(S.sx)[..., blk], step))
        ng = step // acc.group
        g = S.gblk  # the block of each group
        S.emax = per_chunk(np.asarray(S.se)[..., g], ng).max(-1).astype(np.int32)
        S.lmin = per_chunk(_lowest_bit(np.asarray(S.sx)[..., g]) + S.q, ng).min(-1).astype(np.int32)


def tile(S, r):
    """A shallow copy of side ``S`` restricted to the rows ``r`` (a slice)."""
    T = copy.copy(S)
    for k, v in vars(S).items():
        if k in _CHUNKED:
            setattr(T, k, v[:, :, r])
        elif isinstance(v, np.ndarray) and v.ndim == 3:
            setattr(T, k, v[:, r])
    return T


def _rz(s, P):
    """float32 bits (uint32) of float64 ``s`` truncated toward zero to P fraction bits, +-Inf from
    2^128; below 2^-126 (subnormal quantum 2^(-126-P), a zero result +0) by integers, so that no
    flush-to-zero mode can touch a subnormal."""
    r = (s.view(np.int64) & np.int64(-(1 << (52 - P)))).view(np.float64)
    with np.errstate(over="ignore"):
        bits = r.astype(np.float32).view(np.uint32)  # exact: r has P + 1 <= 24 bits, normal
    tiny = np.abs(s) < 2.0 ** -126
    if tiny.any():
        v = s[tiny]
        mag = np.trunc(np.abs(v) * np.ldexp(1.0, 126 + P)).astype(np.uint32) << np.uint32(23 - P)
        bits[tiny] = np.where((v < 0) & (mag != 0), mag | np.uint32(1 << 31), mag)
    return bits


def chunk(acc, A, B, ci, ks, d, model):
    """float32 bits (uint32, (batch, M, N)) of chunk number ``ci`` (k range ``ks``) with C = the
    bits ``d``, as ``model._chunk`` computes them; A and B prepared (:func:`prepare`)."""
    F = acc.fraction_bits
    ef = (d >> np.uint32(23)) & np.uint32(0xFF)
    special = ef == 0xFF
    cf = d.view(np.float32)
    czero = (d & np.uint32(0x7FFFFFFF)) == 0
    if acc.subnormal_inputs == "flush":
        czero |= ef == 0
    with np.errstate(invalid="ignore"):  # signalling NaN codes of C (replaced below)
        cv = cf.astype(np.float64)
    anyspecial = special.any()
    if anyspecial or acc.subnormal_inputs == "flush":
        cv[special | czero] = 0.0
    ec = np.maximum(ef.astype(np.int32), 1)
    ec -= 127  # C's alignment exponent (C = 0: below, set by czero)
    t = A.emax[:, ci, :, None] + B.emax[:, ci, None, :]
    np.maximum(t, np.where(czero, acc.zero_exponent, ec), out=t)
    t -= F  # >= E - F: the finest quantum any term can be truncated to
    ok = A.lmin[:, ci, :, None] + B.lmin[:, ci, None, :] >= t
    ec -= 23  # C's quantum
    ok &= czero | (ec >= t)
    bad = ~ok
    nbad = np.count_nonzero(bad)
    if 2 * nbad > bad.size:  # mostly truncated terms (Hopper's F = 13 on wide data): the model
        return model._chunk(acc, A, B, ks, d.astype(np.int64), False).astype(np.uint32)
    s = np.empty(d.shape)
    step = A.fxc.shape[-1]
    cs = max(_MACS // (64 * step), 1)
    for b in range(d.shape[0]):
        for r in range(0, s.shape[1], 64):
            for q in range(0, s.shape[2], cs):
                np.matmul(A.fxc[b, ci, r:r + 64], B.fxc[b, ci, q:q + cs].T, out=s[b, r:r + 64, q:q + cs])
    s += cv
    if (acc.result_rounding == "toward_zero" and acc.overflow == "inf" and acc.zero_sign == "positive"
            and acc.subnormal_outputs == "keep"):
        bits = _rz(s, acc.result_fraction_bits)
    else:
        tt = np.where(ok, -t, 0).astype(np.int32)
        S = np.where(ok, np.ldexp(s, tt), 0.0).astype(np.int64)
        bits = model._round_result(S, t, acc).astype(np.uint32)
    if nbad:
        for b in range(d.shape[0]):
            mi, ni = np.nonzero(bad[b])
            if mi.size:
                bits[b, mi, ni] = _pairs(acc, A, B, ci, ks, b, mi, ni, d[b, mi, ni], model)
    if not (anyspecial or A.nanc[:, ci].any() or B.nanc[:, ci].any() or A.infc[:, ci].any()
            or B.infc[:, ci].any()):
        return bits
    c = dict(nan=np.isnan(cf), inf=np.isinf(cf), neg=d >= np.uint32(1 << 31))
    return model._specials(acc, A, B, ks, c, d, bits).astype(np.uint32)


def _pairs(acc, A, B, ci, ks, b, mi, ni, c_bits, model):
    """The model's finite result for the outputs (mi, ni) of batch b: terms gathered per pair."""
    c = decode_f32_bits(c_bits, zero_exponent=acc.zero_exponent,
                        flush_subnormals=acc.subnormal_inputs == "flush")
    if acc.group == 1:
        x = A.fxc[b, ci][mi] * B.fxc[b, ci][ni]
        e = A.ecc[b, ci][mi] + B.ecc[b, ci][ni]
    else:
        G = acc.group
        ng = (ks.stop - ks.start) // G
        j = slice(ks.start // G, ks.stop // G)
        xa = A.x[b, :, ks][mi].reshape(-1, ng, G)
        xb = B.x[b, :, ks][ni].reshape(-1, ng, G)
        gs = np.matmul(xa[:, :, None, :], xb[:, :, :, None])[..., 0, 0]  # exact group sums
        ba, bb = A.gblk[j], B.gblk[j]
        x = gs * np.asarray(A.sx)[b][:, ba][mi] * np.asarray(B.sx)[b][:, bb][ni]
        e = (np.asarray(A.se)[b][:, ba][mi] + np.asarray(B.se)[b][:, bb][ni]).astype(np.int64)
    S, Q = model._accumulate(acc, x, 0, e, c, False)
    return model._round_result(S, Q, acc)
