"""The float32 path of :func:`mxref.quantize`: the same rules as the integer path, table-driven.

For float32 input each element's y = x * 2^-se is a float32 product that is exact whenever it
matters (|y| >= 2^-126; a smaller y rounds to zero in every element format under these modes,
whatever the float32 product rounded to, and the product keeps its sign; under "up" / "down" such
a y rounds to +-0 or the smallest element magnitude by its sign alone, so a non-zero x whose
product underflowed to zero gets the sticky bit back). The element code of y
then depends only on y's round-to-odd value at 8 significant bits: its top 16 bits with the OR
of the low 16 bits in bit 0. Rounding that value to p <= 6 bits (every FP element format here)
gives the same result as rounding y itself (RNE / ties-away / ties-toward-zero / toward-zero
from round-to-odd at p + 2 or more bits is exact: the round-to-odd value is y itself when y has
at most p + 2 significant bits, else an odd multiple of 2^-(p+1) ulps, strictly between the same
two points of the p + 1 bit grid as y, so it lies on the same side of every p-bit midpoint and
is a midpoint exactly when y is; it is also exact for "up" / "down": the round-to-odd value is
representable at p bits exactly when y is, and otherwise lies strictly inside the same p-bit
interval), so one 65,536-entry table per (format, rounding), built with
:func:`mxref.encode`, gives the code. INT8 (7 significant bits) rounds by adding 1.5 * 2^(23+q)
(q = its quantum exponent) in float32: one correctly rounded IEEE addition, RNE. The roundings
no table covers (stochastic; INT other than RNE) round y exactly in :mod:`mxref._fast_int`.
These paths need IEEE subnormals (no flush-to-zero / denormals-are-zero): without them the
general integer path runs instead.
"""

from __future__ import annotations

import functools
import threading

import numpy as np

from ._fast_int import round_codes_f32
from ._kernel import round_params
from .elements import encode
from .formats import Format
from .options import QuantizeOptions
from .scale import shared_exponent

__all__ = ["f32_path_ok", "quantize_rows_f32", "CHUNK_F32"]

_FAST_ROUNDINGS = ("rne", "ties_away", "toward_zero", "ties_toward_zero", "up", "down")
_DIRECTED = ("up", "down")
CHUNK_F32 = 1 << 16  # elements per chunk of the float32 path (its buffers are preallocated)


def f32_path_ok(el: Format, rounding: str) -> bool:
    """True where this path applies: every rounding (the ones no table covers, INT other than
    RNE and stochastic, round on y's bits in :mod:`mxref._fast_int`)."""
    return el.integer or (el.bits <= 8 and el.mantissa_bits + 1 + 2 <= 8)


@functools.lru_cache(maxsize=None)
def _rounding_table(el: Format, rounding: str) -> np.ndarray:
    """Element code (sign included) of every float32 whose low 16 bits are zero, indexed by its
    top 16 bits: rounded by ``rounding``, saturating; NaN patterns give 0 (never used)."""
    h = np.arange(1 << 16, dtype=np.uint32) << np.uint32(16)
    t = encode(h.view(np.float32), el, rounding=rounding, overflow="saturate", nan="zero").astype(np.uint8)
    t.setflags(write=False)
    return t


@functools.lru_cache(maxsize=None)
def _floor_scale_table(el: Format) -> tuple[np.ndarray, np.ndarray]:
    """The "floor" rule per block from amax's float32 exponent field e alone (MX §6.3): the E8M0
    code (index e; 0xFF for e = 255, Inf / NaN; a subnormal or zero amax, e = 0, has floor_log2
    = -127 as on the general path, clamped to code 0) and the float32 factor 2^-se of each code
    (index code; 2^127 ... 2^-127, the last a float32 subnormal; 1.0 at 0xFF, whose block's codes
    are replaced). Built with :func:`mxref.scale.shared_exponent`, the general path's rule."""
    e = np.arange(256, dtype=np.int64)
    se = shared_exponent(np.full(256, 1 << 52, np.uint64), np.where(e > 0, e - 127, -127), el, "floor")
    code = np.where(e == 255, 0xFF, np.clip(se, -127, 127) + 127).astype(np.uint8)
    c = np.arange(256, dtype=np.int64)  # 2^(127 - c) from bits: exponent field 254 - c
    f = np.where(c == 254, 0x00400000, np.where(c == 255, 127 << 23, (254 - c) << 23)).astype(np.uint32)
    f = f.view(np.float32)
    code.setflags(write=False)
    f.setflags(write=False)
    return code, f


class _Work(threading.local):
    """Per-thread scratch buffers of the float32 paths, reused across chunks and calls: a fresh
    temporary of a chunk's size is mapped anew by the allocator and page-faults on first touch,
    which costs more than the arithmetic on it."""

    def __init__(self):
        self.bufs = {}

    def get(self, name: str, n: int, dtype) -> np.ndarray:
        b = self.bufs.get(name)
        if b is None or b.size < n or b.dtype != dtype:
            b = np.empty(max(n, CHUNK_F32), dtype)
            self.bufs[name] = b
        return b[:n]


WORK = _Work()


def _block_max(a: np.ndarray, k: int) -> np.ndarray:
    """Per-block max of a flat array of whole blocks of k: a tree of strided maxima for k a power
    of two (no per-block loop inside NumPy; each level written into scratch), else a reduction
    over rows."""
    if k & (k - 1):
        return a.reshape(-1, k).max(axis=1)
    m = a
    while k > 1:
        t = WORK.get(f"max{k}", m.size // 2, m.dtype)
        np.maximum(m[0::2], m[1::2], out=t)
        m = t
        k //= 2
    return m.copy() if m is not a else m


def _block_max_cols(a: np.ndarray, k: int, post: int) -> np.ndarray:
    """Per-(block, column) max of a flat array of (blocks, k, post): blocks along the middle axis.
    For k a power of two, a tree of maxima of the two halves of each block (contiguous slabs of
    k/2 * post elements, written into scratch), else a reduction over the middle axis."""
    if k & (k - 1):
        return a.reshape(-1, k, post).max(axis=1).reshape(-1)
    m = a.reshape(-1, k, post)
    while k > 1:
        k //= 2
        t = WORK.get(f"cmax{k}", m.shape[0] * k * post, m.dtype).reshape(-1, k, post)
        np.maximum(m[:, :k], m[:, k:], out=t)
        m = t
    return m.reshape(-1).copy()


def quantize_rows_f32(rows, k, nb, el: Format, o: QuantizeOptions, out_scales, out_elems, rb=None, nrnd=0,
                      post=1) -> bool:
    """Fill out_scales / out_elems for float32 rows (n, L), exactly as :func:`mxref.conversion.quantize_rows`
    would (``rb``: the chunk's random bits for stochastic rounding, of rows' shape, any integer
    dtype; ``nrnd`` their count). Returns False (writing nothing) where it does not apply: a block with Inf under
    "finite_scale", or a block whose amax is a float32 subnormal under a rule other than floor.
    Every temporary of the chunk's size lives in per-thread scratch (:data:`WORK`).

    ``post`` > 1: a blocked axis that is not last, in x's own layout. Each row is then one row of
    blocks (k, post) flattened (L = k * post, nb = post): block j of the row is its column j, k
    elements post apart; out_scales is (n, post), out_elems (n, k * post). Only the block max,
    the factor's broadcast and the NaN-block zeroing see the layout; the rest is elementwise."""
    n_rows, L = rows.shape
    if post > 1 and (nb != post or L != k * post):
        raise ValueError(f"post={post}: rows must be (n, k * post) with nb == post, got L={L}, nb={nb}")
    pad = nb * k - L
    # 1. unpack: the chunk as whole blocks, |x| bits
    x = np.pad(rows, ((0, 0), (0, pad))).reshape(-1) if pad else rows.reshape(-1)
    u = x.view(np.uint32)
    n = u.size
    a = np.bitwise_and(u, np.uint32(0x7FFFFFFF), out=WORK.get("abs", n, np.uint32))
    if o.flush_subnormals:
        tiny = a < np.uint32(0x00800000)
        a[tiny] = 0
        x = np.where(tiny, u & np.uint32(0x80000000), u).view(np.float32)
    # 2. block amax on the bits; NaN sorts above Inf above every finite value
    amax = _block_max(a, k) if post == 1 else _block_max_cols(a, k, post)
    nan_scale = amax >= np.uint32(0x7F800000)
    if o.inf_policy == "finite_scale" and (amax == np.uint32(0x7F800000)).any():
        return False
    floor = o.scale_rule == "floor"
    has_val = None if floor and o.zero_scale == 0 else amax != 0  # "floor" maps a zero amax to code 0
    if not floor and (has_val & (amax < np.uint32(0x00800000))).any():
        return False  # exponent from the leading bit of a subnormal amax: the general path does it
    # 3. shared exponent (MX §6.3; SCALE_RULES): amax's exponent and fraction fields as the exact
    #    parts (significand, floor_log2) that scale.shared_exponent takes. A subnormal (or zero)
    #    amax gets floor_log2 = -127: only "floor" reaches here with one, and it clamps to -127
    if floor:
        # the code and the factor by two 256-entry look-ups on the exponent field (never above
        # 127: floor_log2 <= 127 and emax >= 0, so scale_overflow cannot apply)
        tcode, tf = _floor_scale_table(el)
        scale = tcode.take(amax >> np.uint32(23))
        f = tf.take(scale)
        if o.zero_scale != 0:
            scale = np.where(has_val, scale, np.uint8(o.zero_scale))
    else:
        ea = (amax >> np.uint32(23)).astype(np.int64)
        sig = ((amax & np.uint32(0x7FFFFF)) | np.uint32(0x800000)).astype(np.uint64) << np.uint64(29)
        se = shared_exponent(sig, np.where(ea > 0, ea - 127, -127), el, o.scale_rule)
        over = has_val & (se > 127)
        se = np.maximum(np.minimum(se, 127), -127)
        scale = np.where(has_val, se + 127, o.zero_scale)
        if o.scale_overflow == "nan":
            nan_scale = nan_scale | over
        scale = np.where(nan_scale, 0xFF, scale)
        f = np.ldexp(np.float32(1.0), -se).astype(np.float32)
    # 4. y = x * 2^-se in float32 (exact where it matters, see above), each element times its
    #    block's factor repeated k times: one contiguous multiply (a broadcast (blocks, k) x
    #    (blocks, 1) multiply runs one inner loop of k per block, ~35% slower at k = 32)
    y = WORK.get("y", n, np.float32)
    if post == 1:
        np.multiply(x, np.repeat(f, k), out=y)
    else:  # each block-row's k slabs of post elements times its post factors: inner loops of post
        np.multiply(x.reshape(-1, k, post), f.reshape(-1, 1, post), out=y.reshape(-1, k, post))
    # 5. round and pack
    code = out_elems.reshape(-1) if not pad else np.empty(n, np.uint8)
    if not (o.rounding in _FAST_ROUNDINGS and (not el.integer or o.rounding == "rne")):
        yb = y.view(np.uint32)
        if o.rounding in _DIRECTED:  # an underflowed non-zero product gets its sticky bit back
            yb |= ((yb & np.uint32(0x7FFFFFFF)) == 0) & (a != 0)
        rbits = None if rb is None else (np.pad(rb, ((0, 0), (0, pad))).reshape(-1) if pad else rb.reshape(-1))
        round_codes_f32(code, yb, el, o.rounding, o.int8_allow_minus128, rbits, nrnd)
    elif el.integer:
        m, emin = round_params(el)
        big = np.float32(1.5 * 2.0 ** (23 + emin - m))  # its ulp is the element quantum 2^(emin-m)
        yi = np.add(y, big, out=y).view(np.int32)
        yi -= big.view(np.int32)
        lo = -el.code_of_max - (1 if o.int8_allow_minus128 else 0)
        np.clip(yi, lo, el.code_of_max, out=yi)
        yi &= el.num_codes - 1  # two's complement in the format's bits (INT4: -1 -> 0xF)
        np.copyto(code, yi, casting="unsafe")
    else:
        # the round-to-odd index (y's top 16 bits, OR of the low 16 bits in bit 0) by four
        # contiguous uint32 operations: (low + 0xFFFF) carries into bit 16 exactly when low != 0
        # (and stays below 2^17), so ((y | that) >> 16) is top | (low != 0). Written over |x|
        # unless a directed rounding still needs it (the scratch stays small enough for the cache)
        yu = y.view(np.uint32)
        directed = o.rounding in _DIRECTED
        idx = np.bitwise_and(yu, np.uint32(0xFFFF), out=WORK.get("idx", n, np.uint32) if directed else a)
        idx += np.uint32(0xFFFF)
        idx |= yu
        idx >>= np.uint32(16)
        if directed:
            # a non-zero x whose y underflowed to +-0 in float32 still rounds away from zero one
            # way: give it the sticky bit (the pattern of a tiny float32 of y's sign)
            np.bitwise_or(idx, (idx & np.uint32(0x7FFF) == 0) & (a != 0), out=idx)
        np.take(_rounding_table(el, o.rounding), idx, out=code, mode="clip")  # idx < 2^16: in range
    if nan_scale.any():
        if post == 1:
            code.reshape(-1, k)[nan_scale] = 0
        else:
            np.copyto(code.reshape(-1, k, post), 0, where=nan_scale.reshape(-1, 1, post))
    out_scales[...] = scale.reshape(n_rows, nb)
    if pad:
        out_elems[...] = code.reshape(n_rows, nb * k)[:, :L]
    return True
