"""The generic exact model of one block-scaled matrix-multiply-accumulate instruction, and a GEMM
that chains instructions along K.

One instruction (:class:`Accumulator` holds its parameters) computes, for every output (m, n),
from the element codes ``A[m, k]``, ``B[k, n]`` (k over the instruction's ``k``), the block
scales ``SA[m, k // bs]``, ``SB[k // bs, n]`` and the float32 ``C[m, n]``:

1. **Terms.** ``group == 1``: one term per product, value ``a*b*sa*sb`` and alignment exponent
   ``e(a) + e(b) + e(sa) + e(sb)`` (the scales enter only as exponent offsets plus their
   significands; ``e`` is the alignment exponent of :mod:`._codes`: true exponent of a normal,
   ``1 - bias`` of a subnormal, ``zero_exponent`` of a zero). ``group == G > 1``: one term per G
   consecutive k, the exact sum ``sum a*b`` times ``sa*sb`` (one block's scales; G divides bs),
   alignment exponent ``e(sa) + e(sb)`` -- a group whose sum is 0 still carries it.
2. **Alignment.** ``c_entry == "fused"``: E = the largest alignment exponent of the terms *and of
   C* (zeros included); every term and C is rounded to a multiple of ``2^(E - F)``
   (``term_rounding``: toward zero = sign-magnitude truncation, floor, or nearest-even), and the
   rounded terms are added exactly: ``S * 2^(E - F)``. ``c_entry == "after"`` (CDNA3): the
   products are split into ``halves`` interleaved sub-sums (k mod halves), each aligned and
   rounded to F bits below its own maximum exponent E_h; the sub-sums are floored to the largest
   E_m and added; ``E_x = max(E_m, e(C))``; the product sum is floored to ``after_sum_bits``
   below 2^E_x, C to ``after_c_bits`` (and dropped, as 0, when ``e(C) < E_x - after_c_window``);
   the two are added exactly.
3. **Result.** The exact sum is rounded to ``result_fraction_bits`` (23: float32; 13: Hopper's
   ``f32_e8m13``) below its leading bit, or below 2^-126 for a subnormal result (kept, unless
   ``subnormal_outputs == "flush"``), by ``result_rounding``; 2^128 or more is +-Inf (or the
   largest finite value with ``overflow == "saturate"``). A zero result is +0
   (``zero_sign == "positive"``) or keeps the sign of the rounded sum (``"rounded"``; an exact
   zero is +0 in both).
4. **Specials.** NaN if any element or block scale of the row or column (within the chunk) is
   NaN, C is NaN, some product is Inf*0 (a zero element or a zero scale), or +Inf and -Inf
   meet among the products and C; otherwise +-Inf if a product or C is infinite. NaN is
   ``nan_bits`` (0x7FFFFFFF on NVIDIA), or with ``nan_bits=None`` the quieted C when C is NaN
   and 0x7FC00000 otherwise.
5. **Chaining inside an instruction** (``chain = c``, CDNA3: 16): the k range is processed in
   consecutive chunks of c; each chunk's rounded float32 result is the next chunk's C.

**Exactness of the float64 path** (the default; ``arithmetic="float64"``). Every number it
handles is an integer multiple of a power of two with few significant bits, and float64 holds it
exactly: element and scale values have at most 4 significant bits and exponents in [-254, 254]
once scaled (a code of at most 8 bits times E8M0 or UE4M3), so a scaled product ``a*sa * b*sb``
has at most 8 (16 with UE4M3) significant bits, a group sum of G = 16 E2M1 products is a
multiple of 2^-2 below 2^12, and C has 24. A power-of-two factor ``2^(F - E)`` times such a
value is exact unless the result leaves float64's normal range, which it cannot: a non-zero
value is at least 2^-288 in magnitude (the smallest subnormal products, 2^-17 * 2^-17, times the
smallest scales, 2^-127 each; C at least 2^-149) and an alignment exponent E at most 285 (2^16 *
2^16 * 2^127 * 2^127), so |v| * 2^(F - E) >= 2^-573, far above 2^-1022; the largest is below R *
2^F < 2^53 (R the largest term significand relative to its alignment exponent, read from the
code tables); the factors themselves lie within 2^+-1000 (E >= -654 with ``zero_exponent`` >=
-200, and F < 53 whenever this path is taken); the floors of the CDNA3 sub-sums shift integers
>= 1 by at most 2^-940. ``np.trunc``, ``np.floor`` and ``np.rint`` of an exact float64 are exact
integers, and a sum of integers is exact while every partial sum stays below 2^53 --
:func:`fits_float64` checks this bound (``n_terms * R * 2^F + ...`` < 2^53) before the float64
path is taken (all presets: at most 2^49, FP4 with F = 35); otherwise, and for
``fraction_bits=None`` (exact, F = infinity), the same algorithm runs on Python integers in
numpy object arrays (``arithmetic="python"``: exact for any width, slower). The final rounding
works on int64 integers (the float64 sums below 2^53 convert exactly) or on the Python integers.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace

import numpy as np

from ._fastgemm import applies as _fast_applies, chunk as _fast_chunk
from ._fastgemm import prepare as _fast_prepare, tile as _fast_tile
from ._codes import codec, decode_f32_bits, decode_operand

__all__ = ["Accumulator", "TERM_ROUNDINGS", "RESULT_ROUNDINGS", "C_ENTRIES", "K_ORDERS",
           "instruction", "gemm", "fits_float64", "as_accumulator", "register"]

TERM_ROUNDINGS = ("toward_zero", "floor", "nearest_even")
RESULT_ROUNDINGS = ("toward_zero", "nearest_even")
C_ENTRIES = ("fused", "after")
K_ORDERS = ("ascending", "descending")
_ARITHMETIC = ("auto", "float64", "python")
_F32_NAN_QUIET = 0x7FC00000

_PRESETS: dict = {}
_TILE = 256  # output rows / columns per tile of the fast path (its temporaries stay in cache)


@dataclass(frozen=True)
class Accumulator:
    """Parameters of one matrix-multiply-accumulate instruction (see the module docstring for
    what each does). ``fraction_bits=None`` means F = infinity: terms are not rounded at all.
    ``element_formats`` / ``scale_formats`` / ``block_sizes`` restrict what a preset accepts
    (None: anything; ``scale_formats=()``: no block scales). ``verified_formats`` names the
    operand pairs checked against recorded outputs (the rest is extrapolated). ``doc`` holds
    the preset's definition (its function's docstring)."""

    name: str = "custom"
    k: int = 32
    group: int = 1
    fraction_bits: int | None = 25
    term_rounding: str = "toward_zero"
    c_entry: str = "fused"
    halves: int = 1
    after_sum_bits: int = 31
    after_c_bits: int = 24
    after_c_window: int = 25
    chain: int | None = None
    result_rounding: str = "toward_zero"
    result_fraction_bits: int = 23
    overflow: str = "inf"
    subnormal_inputs: str = "keep"
    subnormal_outputs: str = "keep"
    zero_exponent: int = -126
    zero_sign: str = "positive"
    nan_bits: int | None = 0x7FFFFFFF
    element_formats: tuple | None = None
    scale_formats: tuple | None = None
    block_sizes: tuple | None = None
    verified_formats: tuple = ()
    nan_compare: str = "bits"
    hardware: str = ""
    source: str = ""
    doc: str = field(default="", repr=False, compare=False)

    def __post_init__(self):
        def choice(name, value, allowed):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")

        choice("term_rounding", self.term_rounding, TERM_ROUNDINGS)
        choice("result_rounding", self.result_rounding, RESULT_ROUNDINGS)
        choice("c_entry", self.c_entry, C_ENTRIES)
        choice("overflow", self.overflow, ("inf", "saturate"))
        choice("subnormal_inputs", self.subnormal_inputs, ("keep", "flush"))
        choice("subnormal_outputs", self.subnormal_outputs, ("keep", "flush"))
        choice("zero_sign", self.zero_sign, ("positive", "rounded"))
        choice("nan_compare", self.nan_compare, ("bits", "class"))
        for name in ("k", "group", "halves"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        step = self.chain or self.k
        if self.k % step or step % self.group or (step // self.group) % self.halves:
            raise ValueError(f"k={self.k}, chain={self.chain}, group={self.group} and "
                             f"halves={self.halves} must nest (chain | k, group | chain, ...)")
        if self.fraction_bits is not None and not (isinstance(self.fraction_bits, int)
                                                   and 0 <= self.fraction_bits <= 400):
            raise ValueError("fraction_bits must be None or an int in 0 ... 400")
        if self.fraction_bits is None and self.c_entry == "after":
            raise ValueError("c_entry='after' needs a finite fraction_bits")
        if self.halves > 1 and self.c_entry != "after":
            raise ValueError("halves > 1 is modelled with c_entry='after' only (CDNA3)")
        if not 1 <= self.result_fraction_bits <= 23:
            raise ValueError("result_fraction_bits must lie in 1 ... 23")
        if not -200 <= self.zero_exponent <= 0:
            raise ValueError("zero_exponent must lie in -200 ... 0")

    def replace(self, **changes) -> "Accumulator":
        """A copy with some parameters changed, without a preset's restrictions unless given
        (name "custom" unless given)."""
        changes.setdefault("name", "custom")
        for k in ("element_formats", "scale_formats", "block_sizes"):
            changes.setdefault(k, None)
        changes.setdefault("verified_formats", ())
        changes.setdefault("doc", "")
        return replace(self, **changes)


def register(fn):
    """Decorator of a preset function: its return value is registered under its name, with its
    docstring as ``doc``."""
    acc = fn()
    acc = replace(acc, name=fn.__name__, doc=fn.__doc__ or "")
    _PRESETS[fn.__name__] = acc
    fn.accumulator = acc
    return fn


def as_accumulator(preset) -> Accumulator:
    """An :class:`Accumulator` from itself or a preset name."""
    if isinstance(preset, Accumulator):
        return preset
    if isinstance(preset, str) and preset in _PRESETS:
        return _PRESETS[preset]
    raise ValueError(f"unknown accumulator preset {preset!r}; known: {sorted(_PRESETS)}")


# ----- integer primitives (float64 holding exact integers, or Python ints in object arrays) -----


def _obj(a):
    return np.asarray(a).astype(object)


def _scale_round(x, sh, mode, *, out=None):
    """``mode``-rounded ``x * 2^sh`` (x integer-valued; sh int64, broadcasting). float64: exact by
    the module docstring's bound; object: Python integers."""
    if x.dtype != object:
        p2 = np.ldexp(np.float64(1.0), np.asarray(sh).astype(np.int32))
        y = x * p2 if out is None else np.multiply(x, p2, out=out)
        fn = {"toward_zero": np.trunc, "floor": np.floor, "nearest_even": np.rint}[mode]
        return fn(y, out=y)
    sh = np.broadcast_to(np.asarray(sh, np.int64), np.broadcast_shapes(np.shape(x), np.shape(sh)))
    left = _obj(np.maximum(sh, 0))
    d = _obj(np.maximum(-sh, 0))
    if mode == "toward_zero":
        r = np.abs(x) >> d
        r = np.where(x < 0, -r, r)
    else:
        r = x >> d  # Python >> floors
        if mode == "nearest_even":
            rem = x - (r << d)
            half = _obj(1) << _obj(np.maximum(-sh - 1, 0))  # used only where sh < 0
            up = (sh < 0) & np.asarray((rem > half) | ((rem == half) & (r % 2 == 1)), bool)
            r = r + up.astype(np.int64).astype(object)
    return np.where(sh >= 0, x << left, r)


def _bitlen(m):
    if m.dtype == object:
        return np.frompyfunc(lambda v: int(v).bit_length(), 1, 1)(m).astype(np.int64)
    return np.frexp(m.astype(np.float64))[1].astype(np.int64)  # exact: m < 2^53


def _round_result(S, Q, acc: Accumulator, neg_hint=None):
    """float32 bit patterns (int64) of S * 2^Q rounded as the accumulator's result."""
    S = np.asarray(S)
    if S.dtype != object:
        S = S.astype(np.int64)
    Q = np.asarray(Q, np.int64)
    P = acc.result_fraction_bits
    neg = S < 0
    m = np.abs(S)
    et = np.maximum(_bitlen(m) - 1 + Q, -126)
    sh = et - P - Q
    if S.dtype == object:
        q = _scale_round(m, -sh, "floor" if acc.result_rounding == "toward_zero" else "nearest_even")
        q = q.astype(np.int64)
    else:
        rs, ls = np.clip(sh, 0, 63), np.clip(-sh, 0, 63)
        q = np.where(sh > 0, m >> rs, m << ls)
        if acc.result_rounding == "nearest_even":
            rem = m - (q << rs)
            half = np.where(rs > 0, np.int64(1) << np.maximum(rs - 1, 0), 0)
            q = q + ((sh > 0) & ((rem > half) | ((rem == half) & (q & 1 == 1))))
    carry = q >> (P + 1) > 0
    q = np.where(carry, q >> 1, q)
    et = np.where(carry, et + 1, et)
    normal = q >= (1 << P)
    bexp = np.where(normal, et + 127, 0)
    frac = np.where(normal, q - (1 << P), q) << (23 - P)
    bits = (bexp << 23) | frac
    big = bexp >= 255
    if acc.overflow == "inf":
        bits = np.where(big, 0x7F800000, bits)
    else:
        bits = np.where(big, (254 << 23) | (((1 << P) - 1) << (23 - P)), bits)
    zero = q == 0
    if acc.subnormal_outputs == "flush":
        zero = zero | ~normal
    bits = np.where(zero, 0, bits)
    sign = neg.astype(np.int64) << 31
    if acc.zero_sign == "positive":
        sign = np.where(zero, 0, sign)
    bits = bits | sign
    return np.where(np.asarray(m == 0, bool), 0, bits)


# ----- one chunk of one instruction ---------------------------------------------------------------


def _accumulate(acc, x, q, e, c, wide):
    """(S, Q): the exact sum S * 2^Q of the terms (x * 2^q, alignment exponent e; last axis) and
    C (decoded), by the accumulator's alignment rule."""
    F = acc.fraction_bits
    xc, qc, ec = (_obj(c["n"]), c["q"], c["exp"]) if wide else (c["value"], 0, c["exp"])
    if acc.c_entry == "fused":
        E = np.maximum(e.max(-1), ec)
        if F is None:  # exact: F just large enough that no term loses a bit
            qs = np.where(np.asarray(x != 0, bool), q, 1 << 20)
            lo = np.minimum(np.min(qs, axis=-1), np.where(np.asarray(xc != 0, bool), qc, 1 << 20))
            F = np.maximum(E - lo, 0)
        sh = q + (F - E)[..., None]
        t = _scale_round(x, sh, acc.term_rounding, out=None if wide else x)
        S = t.sum(-1) + _scale_round(xc, qc + F - E, acc.term_rounding)
        return S, E - F
    h = acc.halves
    parts = []
    for j in range(h):
        ej = e[..., j::h]
        Ej = ej.max(-1)
        qj = q[..., j::h] if wide else 0
        xj = np.ascontiguousarray(x[..., j::h])
        sh = qj + (F - Ej)[..., None]
        parts.append((_scale_round(xj, sh, acc.term_rounding).sum(-1), Ej))
    Em = np.max([p[1] for p in parts], axis=0)
    S = sum(_scale_round(Sj, Ej - Em, "floor") for Sj, Ej in parts)
    Ex = np.maximum(Em, ec)
    Pq = _scale_round(S, acc.after_sum_bits - F - (Ex - Em), "floor")
    Cq = _scale_round(xc, qc + acc.after_c_bits - Ex, "floor")
    Cq = np.where(ec >= Ex - acc.after_c_window, Cq, 0)
    return Pq + Cq * (2 ** (acc.after_sum_bits - acc.after_c_bits)), Ex - acc.after_sum_bits


class _Side:
    """One operand, decoded and scaled once for the whole GEMM (batch, rows, K)."""

    def __init__(self, codes, fmt, scales, sfmt, bs, acc, wide):
        zx, flush = acc.zero_exponent, acc.subnormal_inputs == "flush"
        d = decode_operand(codes, fmt, zero_exponent=zx, flush_subnormals=flush)
        K = codes.shape[-1]
        if scales is None:
            s = {"n": np.ones(codes.shape[:-1] + (1,), np.int64), "q": 0, "exp": 0, "value": 1.0,
                 "nan": False}
            blk = np.zeros(K, np.intp)
        else:
            s = decode_operand(scales, sfmt, zero_exponent=zx, flush_subnormals=flush)
            blk = np.arange(K) // bs
        sv = {k: (np.asarray(v)[..., blk] if np.ndim(v) else v) for k, v in s.items()}
        self.nan = d["nan"] | sv["nan"]
        self.inf = d["inf"]
        self.neg = d["neg"]
        self.zero = ((d["n"] == 0) & ~d["nan"] & ~d["inf"]) | (np.asarray(sv["n"]) == 0)
        if acc.group == 1:
            self.e = (d["exp"] + sv["exp"]).astype(np.int16)
            if wide:
                self.x = _obj(d["n"]) * _obj(sv["n"])
                self.q = d["q"] + sv["q"]
            else:
                self.x = d["value"] * sv["value"]
        else:
            if len(set(d["q"].ravel().tolist())) > 1:
                raise ValueError("group sums need a fixed-point element format")
            self.x = _obj(d["n"]) if wide else d["value"]
            self.q = int(d["q"].ravel()[0]) if d["q"].size else 0
            g = np.arange(0, K, acc.group)
            self.sx = (_obj(s["n"]) if wide else np.asarray(s["value"], np.float64))
            self.sq = s["q"]
            self.se = s["exp"]
            self.gblk = blk[g] if scales is not None else np.zeros(len(g), np.intp)


def _terms(acc, A, B, ks, wide):
    """(x, q, e) of the terms of chunk ks: shape (batch, M, N, terms)."""
    if acc.group == 1:
        x = A.x[:, :, None, ks] * B.x[:, None, :, ks]
        e = A.e[:, :, None, ks] + B.e[:, None, :, ks]
        q = (A.q[:, :, None, ks] + B.q[:, None, :, ks]) if wide else 0
        return x, q, e.astype(np.int64) if wide else e
    G = acc.group
    L = ks.stop - ks.start
    Bt, M, N = A.x.shape[0], A.x.shape[1], B.x.shape[1]
    ng, j = L // G, slice(ks.start // G, ks.stop // G)
    # all groups of the chunk in one batched matmul: (Bt, ng, M, G) @ (Bt, ng, G, N)
    xa = np.swapaxes(A.x[:, :, ks].reshape(Bt, M, ng, G), 1, 2)
    xb = np.swapaxes(B.x[:, :, ks].reshape(Bt, N, ng, G), 1, 2)
    gs = np.moveaxis(np.matmul(xa, np.swapaxes(xb, 2, 3)), 1, -1)  # (Bt, M, N, ng)

    def pick(v, blk, side):
        v = np.asarray(v)
        if v.ndim == 0:
            return v
        v = v[:, :, blk]  # (Bt, rows, ng)
        return v[:, :, None, :] if side == 0 else v[:, None, :, :]

    ba, bb = A.gblk[j], B.gblk[j]
    x = gs * pick(A.sx, ba, 0) * pick(B.sx, bb, 1)
    e = np.broadcast_to(pick(A.se, ba, 0) + pick(B.se, bb, 1), gs.shape).astype(np.int64)
    if not wide:
        return x, 0, e
    q = np.broadcast_to(A.q + B.q + pick(A.sq, ba, 0) + pick(B.sq, bb, 1), gs.shape)
    return x, q.astype(np.int64), e


def _chunk(acc, A, B, ks, c_bits, wide):
    """float32 bits (int64, (batch, M, N)) of one chunk: C = c_bits."""
    c = decode_f32_bits(c_bits, zero_exponent=acc.zero_exponent,
                        flush_subnormals=acc.subnormal_inputs == "flush")
    x, q, e = _terms(acc, A, B, ks, wide)
    S, Q = _accumulate(acc, x, q, e, c, wide)
    return _specials(acc, A, B, ks, c, c_bits, _round_result(S, Q, acc))


def _specials(acc, A, B, ks, c, c_bits, bits):
    """``bits`` with the chunk's NaN / Inf outputs overwritten (the finite path ran with NaN/Inf
    codes as zeros); ``c``: C's ``nan``, ``inf``, ``neg`` masks."""
    nan = A.nan[:, :, ks].any(-1)[:, :, None] | B.nan[:, :, ks].any(-1)[:, None, :] | c["nan"]
    pinf = c["inf"] & ~c["neg"]
    ninf = c["inf"] & c["neg"]
    if A.inf[:, :, ks].any() or B.inf[:, :, ks].any():
        ai, bi = A.inf[:, :, None, ks], B.inf[:, None, :, ks]
        nan = nan | ((ai & B.zero[:, None, :, ks]) | (bi & A.zero[:, :, None, ks])).any(-1)
        it = ai | bi
        sg = A.neg[:, :, None, ks] ^ B.neg[:, None, :, ks]
        pinf = pinf | (it & ~sg).any(-1)
        ninf = ninf | (it & sg).any(-1)
    nan = nan | (pinf & ninf)
    bits = np.where(pinf, 0x7F800000, bits)
    bits = np.where(ninf, 0xFF800000, bits)
    if acc.nan_bits is None:
        nb = np.where(c["nan"], np.asarray(c_bits, np.int64) | 0x00400000, _F32_NAN_QUIET)
    else:
        nb = acc.nan_bits
    return np.where(nan, nb, bits)


# ----- checks and the public drivers ----------------------------------------------------------------


def _rel_max(fmt, scale: bool):
    """max |value| / 2^exp over the finite non-zero codes, and max |value| (from the tables)."""
    if fmt is None:
        return 1.0, 1.0
    d = decode_operand(np.arange(1 << codec(fmt).bits), fmt)
    ok = ~d["nan"] & ~d["inf"] & (d["n"] != 0)
    v = np.abs(d["value"][ok])
    return float(np.max(v / np.ldexp(1.0, d["exp"][ok]))), float(v.max())


def fits_float64(acc, a_fmt, b_fmt, scale_fmt=None) -> bool:
    """Whether the float64 path is exact for these formats (module docstring): every partial
    sum of rounded terms below 2^53, group sums exact."""
    if acc.fraction_bits is None:
        return False
    F = acc.fraction_bits
    ra, ma = _rel_max(a_fmt, False)
    rb, mb = _rel_max(b_fmt, False)
    rs = _rel_max(scale_fmt, True)[0]
    if acc.group == 1:
        R = ra * rb * rs * rs
    else:
        qa = decode_operand(np.arange(1 << codec(a_fmt).bits), a_fmt)["q"]
        qb = decode_operand(np.arange(1 << codec(b_fmt).bits), b_fmt)["q"]
        if acc.group * ma * mb * 2.0 ** -(int(qa.min()) + int(qb.min())) >= 2 ** 53:
            return False
        R = acc.group * ma * mb * rs * rs
    n = (acc.chain or acc.k) // acc.group
    if acc.c_entry == "fused":
        return (n * R + 2) * 2.0 ** F + n + 2 < 2 ** 53
    s = (n * R * 2.0 ** F + n) * 2.0 ** max(acc.after_sum_bits - F, 0)
    return s + 2.0 ** (acc.after_sum_bits + 2) < 2 ** 53


def _check_formats(acc, a_fmt, b_fmt, scale_fmt, bs, has_scales):
    names = [codec(f).name for f in (a_fmt, b_fmt)]
    if acc.element_formats is not None:
        for which, n in zip("AB", names):
            if n not in acc.element_formats:
                raise ValueError(f"{acc.name}: {which} format {n} is not one of {acc.element_formats}")
    if acc.scale_formats is not None:
        if not has_scales and acc.scale_formats:
            raise ValueError(f"{acc.name} needs block scales ({acc.scale_formats})")
        if has_scales and codec(scale_fmt).name not in acc.scale_formats:
            raise ValueError(f"{acc.name}: scale format {codec(scale_fmt).name} is not one of "
                             f"{acc.scale_formats or '(none: this instruction has no block scales)'}")
    if has_scales and acc.block_sizes is not None and bs not in acc.block_sizes:
        raise ValueError(f"{acc.name}: block size {bs} is not one of {acc.block_sizes}")
    if has_scales and acc.group > 1 and bs % acc.group:
        raise ValueError(f"group {acc.group} must divide the block size {bs}")


def _c_bits(c, shape):
    if c is None:
        return np.zeros(shape, np.int64)
    c = np.asarray(c)
    if c.dtype == np.uint32:
        b = c
    elif c.dtype == np.float32:
        b = c.view(np.uint32)
    else:
        c32 = c.astype(np.float32)
        ok = (c32.astype(np.float64) == c.astype(np.float64)) | np.isnan(c)
        if not ok.all():
            raise ValueError("c must be float32 values (or uint32 bit patterns); some values "
                             "are not float32 numbers")
        b = c32.view(np.uint32)
    return np.broadcast_to(b, shape).astype(np.int64)


def gemm(a_codes, a_fmt, a_scales, b_codes, b_fmt, b_scales, c=None, *,
         preset="blackwell_mxf8f6f4", scale_fmt=None, block_size=None, k_order="ascending",
         arithmetic="auto", path="fast") -> np.ndarray:
    """D = A @ B + C as a chain of instructions along K, each one exact per ``preset``.

    ``a_codes`` (..., M, K) and ``b_codes`` (..., K, N) are element codes (one per byte, FP4/FP6
    unpacked) of ``a_fmt`` / ``b_fmt``; ``a_scales`` (..., M, K/bs) and ``b_scales``
    (..., K/bs, N) are block scale codes of ``scale_fmt`` (default E8M0; ``"ue4m3"`` for NVFP4),
    or None for instructions without block scales; ``c`` (broadcast to (..., M, N)) is float32
    values or uint32 float32 bit patterns, default +0. Leading (...) axes are a batch.

    **Chaining.** K is cut into ``K / preset.k`` instruction slices (K must be a multiple of the
    instruction's K, 32 or 64: pad with zero codes if needed -- zeros take part in the
    alignment, exactly as they would in a padded kernel); each slice carries its own blocks'
    scales. ``D_0 = C``; then for the slices t in ``k_order`` (default ``"ascending"``, the
    order of a hardware K loop; ``"descending"``, or any sequence of slice indices):
    ``D = instruction(A[:, slice t], B[slice t, :], C = D)``, so every instruction boundary is a
    float32 rounding of the preset's result rounding (on Hopper FP8 the 13-bit result is fed
    back). Within one instruction the preset's ``chain`` (CDNA3: groups of 16) continues the
    same way. Returns float32 (..., M, N); ``.view(np.uint32)`` gives the bit patterns (NaN
    payloads are kept).

    ``arithmetic``: ``"auto"`` (float64 when :func:`fits_float64`, else Python integers),
    ``"float64"``, ``"python"``. ``path``: ``"fast"`` (default; the fused presets on the float64
    arithmetic take :mod:`._fastgemm`, a GEMM where no term can lose a bit and the per-term
    model elsewhere, bit-identical) or ``"reference"`` (the per-term model on every output)."""
    acc = as_accumulator(preset)
    if arithmetic not in _ARITHMETIC:
        raise ValueError(f"arithmetic must be one of {_ARITHMETIC}")
    if path not in ("fast", "reference"):
        raise ValueError(f"path must be 'fast' or 'reference', got {path!r}")
    a = np.asarray(a_codes)
    b = np.asarray(b_codes)
    if a.ndim < 2 or b.ndim < 2 or a.shape[:-2] != b.shape[:-2] or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"need A (..., M, K) and B (..., K, N) with the same batch, got "
                         f"{a.shape} and {b.shape}")
    batch, (M, K), N = a.shape[:-2], a.shape[-2:], b.shape[-1]
    if K % acc.k:
        raise ValueError(f"K = {K} is not a multiple of the instruction K = {acc.k} of "
                         f"{acc.name}; pad A and B with zero codes")
    has_scales = a_scales is not None or b_scales is not None
    if has_scales and (a_scales is None or b_scales is None):
        raise ValueError("give both a_scales and b_scales, or neither")
    if has_scales:
        a_scales, b_scales = np.asarray(a_scales), np.asarray(b_scales)
        nb = a_scales.shape[-1]
        if a_scales.shape != batch + (M, nb) or b_scales.shape != batch + (nb, N) or K % nb:
            raise ValueError(f"scales must be (..., M, K/bs) and (..., K/bs, N); got "
                             f"{a_scales.shape} and {b_scales.shape}")
        bs = K // nb
        if block_size is not None and block_size != bs:
            raise ValueError(f"block_size {block_size} does not match the scales ({bs})")
        scale_fmt = "e8m0" if scale_fmt is None else scale_fmt
    else:
        bs, scale_fmt = None, None
    _check_formats(acc, a_fmt, b_fmt, scale_fmt, bs, has_scales)
    wide = arithmetic == "python" or (arithmetic == "auto" and not fits_float64(
        acc, a_fmt, b_fmt, scale_fmt))
    if arithmetic == "float64" and not fits_float64(acc, a_fmt, b_fmt, scale_fmt):
        raise ValueError("the float64 path is not exact for these parameters; use 'python'")
    Bt = int(np.prod(batch, dtype=np.int64))
    a3, b3 = a.reshape(Bt, M, K), b.reshape(Bt, K, N)
    sa3 = a_scales.reshape(Bt, M, -1) if has_scales else None
    sbT = np.swapaxes(b_scales.reshape(Bt, -1, N), 1, 2) if has_scales else None
    A = _Side(a3, a_fmt, sa3, scale_fmt, bs, acc, wide)
    B = _Side(np.swapaxes(b3, 1, 2), b_fmt, sbT, scale_fmt, bs, acc, wide)
    T = K // acc.k
    if isinstance(k_order, str):
        if k_order not in K_ORDERS:
            raise ValueError(f"k_order must be one of {K_ORDERS} or a sequence of slice indices")
        order = range(T) if k_order == "ascending" else range(T - 1, -1, -1)
    else:
        order = [int(t) for t in k_order]
        if sorted(order) != list(range(T)):
            raise ValueError(f"k_order must be a permutation of range({T})")
    step = acc.chain or acc.k
    d = _c_bits(c, batch + (M, N)).reshape(Bt, M, N)
    if path == "fast" and _fast_applies(acc, A, wide):
        _fast_prepare(acc, A, step)
        _fast_prepare(acc, B, step)
        model = sys.modules[__name__]
        # output tiles that stay in cache across the K loop (their results are independent)
        for r in range(0, M, _TILE):
            At = _fast_tile(A, slice(r, r + _TILE))
            for q in range(0, N, _TILE):
                Bq = _fast_tile(B, slice(q, q + _TILE))
                dt = d[:, r:r + _TILE, q:q + _TILE].astype(np.uint32)
                for t in order:
                    for k0 in range(t * acc.k, (t + 1) * acc.k, step):
                        dt = _fast_chunk(acc, At, Bq, k0 // step, slice(k0, k0 + step), dt, model)
                d[:, r:r + _TILE, q:q + _TILE] = dt
        return d.astype(np.uint32).view(np.float32).reshape(batch + (M, N))
    for t in order:
        for k0 in range(t * acc.k, (t + 1) * acc.k, step):
            d = _chunk(acc, A, B, slice(k0, k0 + step), d, wide)
    return d.astype(np.uint32).view(np.float32).reshape(batch + (M, N))


def instruction(a_codes, a_fmt, a_scales, b_codes, b_fmt, b_scales, c=None, *,
                preset="blackwell_mxf8f6f4", **kw) -> np.ndarray:
    """One instruction: :func:`gemm` with K equal to the preset's instruction K."""
    acc = as_accumulator(preset)
    if np.shape(a_codes)[-1] != acc.k:
        raise ValueError(f"{acc.name} takes K = {acc.k}, got {np.shape(a_codes)[-1]}")
    return gemm(a_codes, a_fmt, a_scales, b_codes, b_fmt, b_scales, c, preset=acc, **kw)


