"""MX block conversion from scalar floats (MX §6.3) and dequantization (MX §5.1), vectorized.

A block is k consecutive values along one axis. Its shared exponent comes from the bits of the
block's amax, exactly (:func:`mxref.scale.shared_exponent`); every element is V_i / 2^shared_exp
rounded by :func:`mxref._kernel.round_parts` on exact integer parts (no division, no
intermediate underflow, one rounding). Inputs exact in float32 take the table-driven path of
:mod:`mxref._fast_f32` where it applies (the same results, faster).
"""

from __future__ import annotations

import numpy as np

from ._arrays import _to_numpy, as_float, ieee_subnormals, widen_exact
from ._dequant import dequantize_codes
from ._fast_f32 import CHUNK_F32, f32_path_ok, quantize_rows_f32
from ._kernel import effective_block, from_rows, max_mag, pack_code, pad_blocks, round_parts, row_pieces, split_float64, to_rows
from .arrays import MXArray, Owned
from .formats import MX_FORMATS, Format, mx_format  # noqa: F401 (MX_FORMATS re-exported)
from .options import (INF_POLICIES, MAX_BLOCK_SIZE, SCALE_OVERFLOW_POLICIES, SCALE_RULES, QuantizeOptions,  # noqa: F401
                      check_block_size, check_int, check_random_options)
from .scale import shared_exponent

__all__ = ["quantize", "dequantize"]
# Re-exported where they were before the layout of issue 13 (they live in formats / options /
# arrays): MX_FORMATS, MXArray, mx_format, SCALE_RULES, INF_POLICIES, SCALE_OVERFLOW_POLICIES,
# MAX_BLOCK_SIZE.

#: Smallest float32 normal; flush_subnormals=True zeroes inputs below it (the MX paper's algorithm).
_FLT_MIN_LOG2 = -126
_CHUNK = 1 << 14  # elements per chunk: temporaries stay small enough to be reused, not re-mapped
#: float64 chunks holding only float32 values take the float32 table path (tests turn it off to
#: hold that path to the general one)
F64_AS_F32 = True
_MIN_POST = 64  # axis not last: columns after it from which chunks of them are transposed
#: axis not last, whole blocks: the float32 table path runs on x's own layout, no transposes
#: (tests turn it off to hold it to the transposed / moved-axis paths)
BLOCKED_F32 = True
_MAX_ROW_BLOCKS = 1 << 20  # elements of one row of blocks (k * post) the in-layout path takes as one chunk


# ----- quantize -----------------------------------------------------------------------------------


def check_quantize_inputs(x, mxf, axis, block_size, rounding, random_bits, random_bit_count):
    """(block size, x as a float array, axis >= 0, random bit count, random bits or None): the
    checks :func:`quantize` (and the implementation models' pipeline) make of their inputs, with
    clear TypeError / ValueError naming the argument."""
    k = mxf.block_size if block_size is None else check_block_size(block_size)
    xa = as_float(x)  # float16 / float32 / float64, exactly x's values
    if xa.ndim == 0:
        raise ValueError("x must have at least one dimension")
    ax = check_int("axis", axis, -xa.ndim, xa.ndim - 1) % xa.ndim
    nrnd = check_random_options(rounding, random_bits, random_bit_count)
    rb = None
    if nrnd:
        rb = _to_numpy(random_bits, "random_bits")
        if rb.dtype == np.bool_ or rb.dtype.kind not in "iu":
            raise TypeError(f"random_bits must be an integer array, got dtype {rb.dtype}")
        if rb.shape != xa.shape:
            raise ValueError(f"random_bits must have x's shape {xa.shape}, got {rb.shape}")
        if rb.size and (int(rb.min()) < 0 or int(rb.max()) >= (1 << nrnd)):
            raise ValueError(f"random_bits must lie in [0, 2**{nrnd})")
    return k, xa, ax, nrnd, rb


def check_quantize_out(out, s_shape, x_shape, inputs):
    """(scales, elements) of quantize's ``out=``, checked: a pair of C-contiguous, writeable
    uint8 numpy arrays of the scale and element shapes, overlapping neither the inputs nor each
    other (TypeError / ValueError naming ``out``)."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"out must be a pair (scales, elements) of uint8 numpy arrays, got {type(out).__name__}")
    for nm, a, shape in (("out[0] (scales)", out[0], s_shape), ("out[1] (elements)", out[1], x_shape)):
        if not isinstance(a, np.ndarray) or isinstance(a, np.ma.MaskedArray) or a.dtype != np.uint8:
            raise TypeError(f"{nm} must be a uint8 numpy array, got {getattr(a, 'dtype', type(a).__name__)}")
        if a.shape != tuple(shape):
            raise ValueError(f"{nm} must have shape {tuple(shape)}, got {a.shape}")
        if not a.flags.c_contiguous:
            raise ValueError(f"{nm} must be C-contiguous")
        if not a.flags.writeable:
            raise ValueError(f"{nm} must be writeable")
        if any(b is not None and np.may_share_memory(a, b) for b in inputs):
            raise ValueError(f"{nm} must not overlap the input x or random_bits")
    if np.may_share_memory(out[0], out[1]):
        raise ValueError("out[0] (scales) and out[1] (elements) must not overlap")
    return out[0], out[1]


def quantize(
    x,
    fmt,
    *,
    axis: int = -1,
    block_size: int | None = None,
    scale_rule: str = "floor",
    rounding: str = "rne",
    zero_scale: int = 0x00,
    inf_policy: str = "nan_scale",
    scale_overflow: str = "clamp",
    flush_subnormals: bool = False,
    int8_allow_minus128: bool = False,
    random_bits=None,
    random_bit_count=None,
    out=None,
) -> MXArray:
    """MX-quantize x along ``axis`` in blocks of ``block_size`` (default: the format's 32).

    Per block (MX §6.3): amax = max |V_i|; shared_exp by ``scale_rule`` (see SCALE_RULES;
    default "floor": floor(log2 amax) - emax_elem, from amax's bits), clamped to [-127, 127];
    X = 2^shared_exp; P_i = V_i / X computed exactly and rounded by ``rounding`` (any mode of
    :func:`mxref.encode`; "stochastic" takes ``random_bits`` of x's shape), saturating to
    +-max. A length not a multiple of the block size: the last block is short (its missing
    elements count as zeros for the scale and are not stored); a block size above the axis
    length is one short block (the work follows the data; ``block_size`` is at most
    :data:`MAX_BLOCK_SIZE`, and the MXArray records the block size asked for). x may be in any
    byte order (taken exactly); masked arrays raise TypeError.

    Special values, each an option (the spec leaves them open):
      * all-zero block (+-0 only): scale ``zero_scale`` (default 0x00); elements keep their sign.
      * a NaN in the block: scale 0xFF; the block's element codes are all 0x00 (canonical).
      * +-Inf and no NaN: ``inf_policy`` "nan_scale" (default: as a NaN block) or
        "finite_scale" (scale from the finite values; Inf elements become Inf in E5M2, NaN with
        the sign in E4M3, +-max in FP6/FP4/INT8).
      * shared_exp > 127 (float64 input): ``scale_overflow`` "clamp" (default; elements
        saturate) or "nan" (scale 0xFF, elements 0x00).
      * ``flush_subnormals=True`` zeroes inputs below 2^-126 (float32 subnormals) first, keeping
        their sign (the MX paper's algorithm); default False: they are values.
      * INT8 -128 only with ``int8_allow_minus128=True`` (for every integer element: its most
        negative two's-complement code, e.g. INT4 -8 = -2.0).

    Besides the MX v1.0 formats, ``fmt`` may be one of the MX-style formats beside the spec
    (``"mxint4"``, ``"mxint2"``, ``"mxfp4_e3m0"``, see :mod:`mxref.ext`): same rules, and the
    MXArray says ``is_mx_v1 == False``.

    ``out``: a pair ``(scales, elements)`` of preallocated uint8 arrays, C-contiguous and
    writeable, of the returned MXArray's shapes (``scales``: x's shape with the blocked axis
    replaced by the number of blocks; ``elements``: x's shape), for callers who reuse buffers
    (no fresh output to page-fault on first touch). The codes are written into them and the
    returned MXArray views them read-only, without a copy: it sees later writes into the
    buffers (a second ``quantize(..., out=)`` into the same pair changes it), so keep one pair
    per MXArray that must stay. They may not overlap x, ``random_bits`` or each other.
    """
    mxf = mx_format(fmt)
    el = mxf.element
    o = QuantizeOptions(scale_rule=scale_rule, rounding=rounding, zero_scale=zero_scale, inf_policy=inf_policy,
                        scale_overflow=scale_overflow, flush_subnormals=flush_subnormals,
                        int8_allow_minus128=int8_allow_minus128)
    k, xa, ax, nrnd, rb = check_quantize_inputs(x, mxf, axis, block_size, rounding, random_bits,
                                                random_bit_count)

    L = xa.shape[ax]
    k_req, k = k, effective_block(k, L)  # a block longer than the axis: one short block
    nb = -(-L // k)
    pre = int(np.prod(xa.shape[:ax], dtype=np.int64))
    post = int(np.prod(xa.shape[ax + 1:], dtype=np.int64))
    s_shape = xa.shape[:ax] + (nb,) + xa.shape[ax + 1:]
    so, eo = check_quantize_out(out, s_shape, xa.shape, (xa, rb)) if out is not None else (None, None)
    if (BLOCKED_F32 and ax < xa.ndim - 1 and xa.size and L % k == 0 and k * post <= _MAX_ROW_BLOCKS
            and xa.flags.c_contiguous and (rb is None or rb.flags.c_contiguous)
            and f32_path_ok(el, o.rounding) and ieee_subnormals()):
        # blocked axis not last, whole blocks: (pre * nb, k, post) in x's own layout; consecutive
        # rows of blocks are contiguous in x, random bits, scales and elements alike (a row of
        # blocks above CHUNK_F32 elements, up to _MAX_ROW_BLOCKS, is one chunk)
        if so is not None:
            scales, elems = so, eo
        else:
            scales, elems = np.empty(s_shape, np.uint8), np.empty(xa.shape, np.uint8)
        m = pre * nb
        _quantize_blocked(xa.reshape(m, k * post), rb.reshape(m, k * post) if rb is not None else None,
                          k, post, el, o, nrnd, scales.reshape(m, post), elems.reshape(m, k * post))
        return MXArray(mxf, k_req, ax, tuple(xa.shape), Owned(scales), Owned(elems), o.as_dict())
    if post >= _MIN_POST and xa.flags.c_contiguous and (rb is None or rb.flags.c_contiguous):
        # blocked axis not last: (pre, L, post), converted in chunks of post columns, each
        # transposed to rows and back (no whole-array moveaxis copy)
        x3 = xa.reshape(pre, L, post)
        r3 = rb.reshape(pre, L, post) if rb is not None else None
        if so is not None:
            scales, elems = so.reshape(pre, nb, post), eo.reshape(pre, L, post)  # views
        else:
            scales, elems = np.empty((pre, nb, post), np.uint8), np.empty((pre, L, post), np.uint8)
        w = max(1, CHUNK_F32 // max(L, 1))
        for p0 in range(pre):
            for j0 in range(0, post, w):
                cols = slice(j0, j0 + w)
                rows = np.ascontiguousarray(x3[p0, :, cols].T)
                rbr = np.ascontiguousarray(r3[p0, :, cols].T) if r3 is not None else None
                s_, e_ = np.empty((rows.shape[0], nb), np.uint8), np.empty(rows.shape, np.uint8)
                _quantize_2d(rows, rbr, k, el, o, nrnd, s_, e_)
                scales[p0, :, cols] = s_.T
                elems[p0, :, cols] = e_.T
        return MXArray(mxf, k_req, ax, tuple(xa.shape), Owned(scales.reshape(s_shape)),
                       Owned(elems.reshape(xa.shape)), o.as_dict())
    # 1. lay the blocked axis last: rows of length L, nb blocks per row
    rows, lead = to_rows(xa, ax)
    rbr = to_rows(rb, ax)[0] if rb is not None else None  # widened to uint64 per chunk
    direct = so is not None and ax == xa.ndim - 1  # rows are x's own layout: write into out
    scales = so.reshape(rows.shape[0], nb) if direct else np.empty((rows.shape[0], nb), np.uint8)
    elems = eo.reshape(rows.shape) if direct else np.empty(rows.shape, np.uint8)
    _quantize_2d(rows, rbr, k, el, o, nrnd, scales, elems)
    if so is not None:
        if not direct:
            np.copyto(so, from_rows(scales, lead, ax))
            np.copyto(eo, from_rows(elems, lead, ax))
        return MXArray(mxf, k_req, ax, tuple(xa.shape), Owned(so), Owned(eo), o.as_dict())
    return MXArray(mxf, k_req, ax, tuple(xa.shape), Owned(from_rows(scales, lead, ax)),
                   Owned(from_rows(elems, lead, ax)), o.as_dict())


def _quantize_blocked(xb, rbb, k, post, el: Format, o: QuantizeOptions, nrnd, scales, elems) -> None:
    """Fill scales (m, post) / elems (m, k * post) for xb (m, k * post): m rows of blocks, block j
    of a row its column j (k elements post apart), in chunks of whole rows of blocks on the float32
    table path (:func:`quantize_rows_f32` with ``post``). A chunk that path declines, or float64
    values that are not all float32 values, is transposed to one block per row and converted by
    :func:`_quantize_2d` (the transposed path's own rule)."""
    g = max(1, CHUNK_F32 // (k * post))
    wide = xb.dtype == np.float64
    for b0 in range(0, xb.shape[0], g):
        rs = slice(b0, b0 + g)
        chunk, s_out, e_out = xb[rs], scales[rs], elems[rs]
        rb_c = rbb[rs] if rbb is not None else None
        with np.errstate(over="ignore", invalid="ignore"):
            c32 = chunk if chunk.dtype == np.float32 else chunk.astype(np.float32)
        if ((not wide or (F64_AS_F32 and np.array_equal(c32, chunk, equal_nan=True)))
                and quantize_rows_f32(c32, k, post, el, o, s_out, e_out, rb_c, nrnd, post=post)):
            continue
        n = chunk.shape[0]
        rows = np.ascontiguousarray(chunk.reshape(n, k, post).transpose(0, 2, 1)).reshape(n * post, k)
        rbr = (np.ascontiguousarray(rb_c.reshape(n, k, post).transpose(0, 2, 1)).reshape(n * post, k)
               if rb_c is not None else None)
        s_, e_ = np.empty((n * post, 1), np.uint8), np.empty((n * post, k), np.uint8)
        _quantize_2d(rows, rbr, k, el, o, nrnd, s_, e_)
        s_out[...] = s_.reshape(n, post)
        e_out.reshape(n, k, post)[...] = e_.reshape(n, post, k).transpose(0, 2, 1)


def _quantize_2d(rows, rbr, k, el: Format, o: QuantizeOptions, nrnd, scales, elems) -> None:
    """Fill scales (n, nb) / elems (n, L) (C-contiguous) for rows (n, L) blocked by k along the
    last axis, in chunks of about a fixed number of elements: whole rows, single blocks when rows
    hold whole blocks only, or whole-block pieces of a long ragged row. Inputs exact in float32
    take the uint32 path when it applies."""
    L = rows.shape[1]
    nb = scales.shape[1]
    rows_c, scales_c, elems_c, rb_c, L_c = rows, scales, elems, rbr, L
    if L % k == 0 and nb > 1:
        rows_c, scales_c, elems_c = rows.reshape(-1, k), scales.reshape(-1, 1), elems.reshape(-1, k)
        rb_c = rbr.reshape(-1, k) if rbr is not None else None
        L_c = k
    narrow = f32_path_ok(el, o.rounding) and ieee_subnormals()
    wide = rows.dtype == np.float64
    for rs, c0, c1 in row_pieces(rows_c.shape[0], L_c, k, CHUNK_F32 if narrow else _CHUNK):
        chunk = rows_c[rs, c0:c1]
        s_out, e_out = scales_c[rs, c0 // k:-(-c1 // k)], elems_c[rs, c0:c1]
        nb_c = s_out.shape[1]
        done = False
        if narrow:
            with np.errstate(over="ignore", invalid="ignore"):
                c32 = chunk if chunk.dtype == np.float32 else chunk.astype(np.float32)
            # float64 input: a chunk whose every value is a float32 (NaN aside) is the same data
            if not wide or (F64_AS_F32 and _all_float32(c32, chunk)):
                done = quantize_rows_f32(c32, k, nb_c, el, o, s_out, e_out,
                                         rb_c[rs, c0:c1] if rb_c is not None else None, nrnd)
        if not done:
            r_ = rb_c[rs, c0:c1].astype(np.uint64) if rb_c is not None else None
            s_, e_ = quantize_rows(widen_exact(chunk), k, nb_c, el, o, r_, nrnd)
            s_out[...] = s_
            e_out[...] = e_


def _all_float32(c32: np.ndarray, chunk: np.ndarray) -> bool:
    """True iff every value of the float64 ``chunk`` equals its float32 cast ``c32`` or is a NaN
    (np.array_equal's equal_nan=True is ~25x slower than one comparison: the NaNs are looked at
    only where the values differ)."""
    eq = c32 == chunk
    return bool(eq.all()) or bool(np.isnan(chunk[~eq]).all())


def quantize_rows(rows, k, nb, el: Format, o: QuantizeOptions, rb, nrnd):
    """Scale and element codes of a 2-D chunk (rows, L) blocked along the last axis."""
    n_rows, L = rows.shape
    # 1. unpack (zero padding only fills the short last block; it never changes amax)
    v = pad_blocks(rows, nb, k)
    neg, sig, flog2, is_nan, is_inf = split_float64(v)
    if o.flush_subnormals:
        tiny = (sig != 0) & (flog2 < _FLT_MIN_LOG2)
        sig = np.where(tiny, np.uint64(0), sig)
    # 2. block amax: the bit pattern of |x| orders finite magnitudes exactly
    finite_nz = (sig != 0) & ~is_nan & ~is_inf
    abits = np.where(finite_nz, np.abs(v).view(np.uint64), np.uint64(0)).max(axis=-1)
    has_val = abits != 0
    _, amax_sig, amax_flog2, _, _ = split_float64(np.where(has_val, abits, np.float64(1.0).view(np.uint64)).view(np.float64))
    block_nan = is_nan.any(axis=-1)
    block_inf = is_inf.any(axis=-1) & ~block_nan
    # 3. shared exponent, clamp, specials
    se = shared_exponent(amax_sig, amax_flog2, el, o.scale_rule)
    over = se > 127
    se = np.maximum(np.minimum(se, 127), -127)
    scale = se + 127
    scale = np.where(has_val, scale, o.zero_scale)
    nan_scale = block_nan | (block_inf & (o.inf_policy == "nan_scale"))
    if o.scale_overflow == "nan":
        nan_scale |= over & has_val
    scale = np.where(nan_scale, 0xFF, scale)
    se_used = np.where(has_val, se, o.zero_scale - 127)
    # 4. elements: V_i / 2^se exactly is (sig, flog2 - se); round, saturate, pack
    rbits = None
    if rb is not None:
        rbits = pad_blocks(rb, nb, k)
    mag = round_parts(neg, sig, flog2 - se_used[..., None], el, o.rounding, rbits, nrnd)
    top = max_mag(el, neg, o.int8_allow_minus128)
    mag = np.where(mag > top, top, mag)
    code = pack_code(el, neg, mag)
    if o.inf_policy == "finite_scale":
        code = np.where(is_inf, _inf_element_code(el, neg, o.int8_allow_minus128), code)
    code = np.where(nan_scale[..., None], 0, code)
    code = code.reshape(n_rows, nb * k)[:, :L].astype(np.uint8)
    return scale.astype(np.uint8), code


def _inf_element_code(el: Format, neg, allow_minus128):
    if el.has_inf:
        return np.where(neg, el.inf_codes[1], el.inf_codes[0])
    if el.has_nan:
        return np.where(neg, el.nan_codes[-1], el.nan_codes[0])
    return pack_code(el, neg, max_mag(el, neg, allow_minus128))


# ----- dequantize ---------------------------------------------------------------------------------


def dequantize(mx: MXArray, dtype=np.float32, *, out=None) -> np.ndarray:
    """Values X * P_i of an MXArray, shape of the original x (MX §5.1).

    float64 is exact for every finite scale and element. float32 (default) is exact too, except
    that X * P >= 2^128 becomes +-Inf: a float64-sized scale, or an element rounded up past
    float32's max (e.g. 1.9 * 2^127 in MXFP8 E5M2 under "rceil": X = 2^113, P = 2^15).
    float16 and bfloat16 (an ml_dtypes dtype) are the exact value correctly rounded (RNE, once):
    values below half the smallest subnormal underflow to signed zero, values beyond max become
    Inf. A NaN scale makes its whole block NaN; element NaN/Inf stay NaN/Inf. A dtype in the
    other byte order (e.g. ">f2") gives the same values in that byte order.

    ``out``: a preallocated array of x's shape and the dtype asked for, written and returned (for
    callers who reuse buffers; whole-block float32 / float64 results are written into it
    directly, with no temporary)."""
    if not isinstance(mx, MXArray):
        raise TypeError(f"mx must be an MXArray, got {type(mx).__name__}")
    return dequantize_codes(mx.format.element, mx.block_size, mx.axis, mx.scales, mx.elements, dtype, out)
