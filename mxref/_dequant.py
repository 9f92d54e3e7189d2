"""Dequantization of blocked codes (MX §5.1): X * P_i by table look-ups, exact.

Works on the parts of an MXArray (element row, block size, axis, scale and element codes), so
that both :func:`mxref.dequantize` and :meth:`mxref.MXArray.dequantize` call it without an
import cycle.
"""

from __future__ import annotations

import functools
import threading

import numpy as np

from ._arrays import ieee_subnormals, out_dtype, to_dtype
from ._kernel import decode_table, effective_block, from_rows, pad_blocks, round_to_ieee, row_pieces, to_rows
from .formats import FORMATS, Format

__all__ = ["dequantize_codes", "value_table", "factor_table"]

_CHUNK = 1 << 14  # elements per chunk of the table path
_CHUNK_F32 = 1 << 17  # elements per chunk of the whole-block path


class _Work(threading.local):
    """Per-thread scratch index of the pair look-up, reused across chunks and calls (a fresh
    chunk-sized temporary page-faults on first touch)."""

    def __init__(self):
        self.ip = np.empty(0, np.intp)

    def get(self, n: int) -> np.ndarray:
        if self.ip.size < n:
            self.ip = np.empty(max(n, _CHUNK_F32 // 2), np.intp)
        return self.ip[:n]


_WORK = _Work()


def dequantize_codes(el: Format, block_size: int, axis: int, scales: np.ndarray, elements: np.ndarray,
                     dtype=np.float32, out=None) -> np.ndarray:
    """Values of codes blocked along ``axis`` (see :func:`mxref.dequantize` for the dtypes);
    ``out``: a preallocated array of the result's shape and dtype, written and returned."""
    dt, want = out_dtype(dtype, ("float32", "float64", "float16", "bfloat16"))
    if out is not None:
        if not isinstance(out, np.ndarray) or out.shape != elements.shape or out.dtype != want:
            raise ValueError(f"out must be a numpy array of shape {elements.shape} and dtype {want}, got "
                             f"{getattr(out, 'shape', None)} {getattr(out, 'dtype', type(out).__name__)}")
        if not out.flags.writeable:
            raise ValueError("out must be writeable")
        k = effective_block(block_size, elements.shape[axis]) if elements.ndim else 1
        if (out.flags.c_contiguous and want.isnative and axis == elements.ndim - 1 and dt.name in ("float32", "float64")
                and elements.shape[axis] % k == 0 and ieee_subnormals()):
            _dequantize_blocks(el, axis, scales, elements, dt, k, out.reshape(-1))  # written in place
        else:
            np.copyto(out, _dequantize_any(el, block_size, axis, scales, elements, dt, want))
        return out
    return _dequantize_any(el, block_size, axis, scales, elements, dt, want)


def _dequantize_any(el, block_size, axis, scales, elements, dt, want):
    name = dt.name
    k = effective_block(block_size, elements.shape[axis])
    if name in ("float32", "float64"):
        if not ieee_subnormals():
            return to_dtype(_dequantize_table(el, axis, scales, elements, dt, k), want)
        if elements.shape[axis] % k == 0:
            return to_dtype(_dequantize_blocks(el, axis, scales, elements, dt, k), want)
        return to_dtype(_dequantize_ragged(el, axis, scales, elements, dt, k), want)
    # float16 / bfloat16: a table of the 16-bit results (each exact value rounded once, RNE)
    return to_dtype(_dequantize_table(el, axis, scales, elements, dt, k).view(dt), want)


@functools.lru_cache(maxsize=None)
def value_table(el: Format, dtype: np.dtype) -> np.ndarray:
    """X * P for every (scale code, element code), flattened as (scale << bits) | code: the exact
    float64 product (always representable), cast to dtype (float32: exact, or +-Inf past its
    range; float16 / bfloat16: their uint16 bit patterns, RNE once from the exact value, as
    :func:`mxref._kernel.round_to_ieee` rounds). Scale 0xFF gives NaN for every element (MX §5.1)."""
    p = decode_table(el)  # float64, exact
    sc = np.arange(256)
    t = np.ldexp(p[None, :], (sc - 127)[:, None].astype(np.int32))
    t[0xFF, :] = np.nan
    t = t.reshape(-1)
    if dtype.name in ("float16", "bfloat16"):  # the 16-bit bits of the exact value rounded once (RNE)
        t = round_to_ieee(t, FORMATS[dtype.name])
    elif dtype == np.float32:  # RNE by integers (exact here, Inf past the range): no FTZ in a cast
        t = round_to_ieee(t, FORMATS["float32"]).view(np.float32)
    t.setflags(write=False)
    return t


@functools.lru_cache(maxsize=None)
def factor_table(dtype: np.dtype) -> np.ndarray:
    """2^(c - 127) for every E8M0 code c (NaN for 0xFF), built from bits: exact."""
    c = np.arange(256, dtype=np.int64)
    if dtype == np.float32:
        t = np.where(c == 0, 0x00400000, c << 23).astype(np.uint32).view(np.float32)
    else:
        t = ((c + (1023 - 127)) << 52).view(np.float64)
    t = t.copy()
    t[0xFF] = np.nan
    t.setflags(write=False)
    return t


@functools.lru_cache(maxsize=None)
def _pair_table(el: Format) -> np.ndarray:
    """float32 values of two consecutive element codes, indexed by the pair read as a
    little-endian uint16 (first code in the low byte), as uint64 words (two float32 each)."""
    v = np.full(256, np.nan, np.float32)
    v[: el.num_codes] = value_table(el, np.dtype(np.float32))[127 << el.bits: (127 << el.bits) + el.num_codes]
    t = np.empty((256, 256, 2), np.float32)
    t[:, :, 0] = v[None, :]
    t[:, :, 1] = v[:, None]
    t = t.reshape(-1).view(np.uint64)
    t.setflags(write=False)
    return t


def _dequantize_blocks(el: Format, ax: int, scales, elements, dt: np.dtype, k: int, buffer=None) -> np.ndarray:
    """Dequantize when the blocked axis holds whole blocks: element values by table look-up
    (two codes per look-up for float32), then times the block's 2^(scale - 127) in dt. The
    product is exact: P has at most 8 significant bits and X * P lies within dt's range down to
    its subnormals' quantum (2^-149 for float32), so no rounding happens (IEEE subnormals needed)."""
    if ax != elements.ndim - 1 and buffer is None and elements.flags.c_contiguous and scales.flags.c_contiguous:
        return _dequantize_blocks_in_place(el, ax, scales, elements, dt, k)
    rows, lead = to_rows(elements, ax)
    codes = np.ascontiguousarray(rows).reshape(-1)
    scales = np.ascontiguousarray(to_rows(scales, ax)[0]).reshape(-1)
    out = np.empty(codes.size, dt) if buffer is None else buffer
    ftab = factor_table(dt)
    vals = value_table(el, dt)[127 << el.bits: (128 << el.bits)]
    pairs = _pair_table(el) if dt == np.float32 else None
    step = max(1, _CHUNK_F32 // k) * k  # whole blocks per chunk
    any_nan = bool(np.equal(scales, 0xFF).any())
    for e0 in range(0, codes.size, step):
        c = codes[e0:e0 + step]
        o = out[e0:e0 + step]
        if pairs is not None and c.size % 2 == 0:
            # take's own index type in per-thread scratch: no chunk-sized temporary inside take
            ip = _WORK.get(c.size // 2)
            np.copyto(ip, c.view(np.uint16), casting="unsafe")
            np.take(pairs, ip, out=o.view(np.uint64), mode="clip")  # in range; no temporary
        else:
            np.take(vals, c, out=o, mode="clip")
        sc = scales[e0 // k:(e0 + c.size) // k]
        f = ftab.take(sc)
        with np.errstate(over="ignore"):  # X * P >= 2^128 is +-Inf in float32 (see dequantize)
            # each block's factor repeated k times, one contiguous multiply (a broadcast over
            # (blocks, k) runs an inner loop of k per block: ~35% slower at k = 32)
            np.multiply(o, np.repeat(f, k), out=o)
        if any_nan:  # the default NaN, whatever NaN element x NaN factor propagated
            o.reshape(-1, k)[sc == 0xFF] = np.nan
    return from_rows(out.reshape(rows.shape), lead, ax, contiguous=False)


def _dequantize_ragged(el: Format, ax: int, scales, elements, dt: np.dtype, k: int) -> np.ndarray:
    """:func:`_dequantize_blocks` for a blocked axis whose length L is not a multiple of k (the
    last block of each row short): the same look-ups and exact products, in pieces of whole rows
    or of whole blocks of one long row (:func:`mxref._kernel.row_pieces`); each piece's full
    blocks times their factors as (rows, blocks, k), the short block times its own."""
    c2, lead = to_rows(elements, ax)
    s2 = to_rows(scales, ax)[0]
    codes = np.ascontiguousarray(c2)
    out = np.empty(codes.shape, dt)
    ftab = factor_table(dt)
    vals = value_table(el, dt)[127 << el.bits: (128 << el.bits)]
    pairs = _pair_table(el) if dt == np.float32 else None
    any_nan = bool(np.equal(s2, 0xFF).any())
    for rs, c0, c1 in row_pieces(codes.shape[0], codes.shape[1], k, _CHUNK_F32):
        c = codes[rs, c0:c1]                            # whole rows or one row's slice: contiguous
        o = out[rs, c0:c1]
        if pairs is not None and c.size % 2 == 0:
            ip = _WORK.get(c.size // 2)
            np.copyto(ip, c.reshape(-1).view(np.uint16), casting="unsafe")
            np.take(pairs, ip, out=o.reshape(-1).view(np.uint64), mode="clip")
        else:
            np.take(vals, c, out=o, mode="clip")
        sc = s2[rs, c0 // k:-(-c1 // k)]
        f = ftab.take(sc)
        full = (c1 - c0) // k * k
        nan = sc == 0xFF if any_nan else None  # the default NaN, whatever NaN x NaN propagated
        with np.errstate(over="ignore"):  # X * P >= 2^128 is +-Inf in float32 (see dequantize)
            if full:
                of = o[:, :full].reshape(o.shape[0], full // k, k)
                np.multiply(of, f[:, :full // k, None], out=of)
                if nan is not None:
                    of[nan[:, :full // k]] = np.nan
            if full < c1 - c0:
                np.multiply(o[:, full:], f[:, full // k:], out=o[:, full:])
                if nan is not None:
                    o[nan[:, -1], full:] = np.nan
    return from_rows(out, lead, ax, contiguous=False)


def _dequantize_table(el: Format, ax: int, scales, elements, dt: np.dtype, k: int) -> np.ndarray:
    """Dequantize by one table look-up per element (:func:`value_table`), in chunks of about
    _CHUNK elements (rows, or whole-block pieces of a long row). float16 / bfloat16 come back as
    their uint16 bits."""
    table = value_table(el, dt)
    c2, lead = to_rows(elements, ax)
    s2, _ = to_rows(scales, ax)
    out = np.empty(c2.shape, table.dtype)
    for rs, c0, c1 in row_pieces(c2.shape[0], c2.shape[1], k, _CHUNK):
        s = s2[rs, c0 // k:-(-c1 // k)]
        c = pad_blocks(c2[rs, c0:c1], s.shape[1], k)
        idx = (s.astype(np.intp) << el.bits)[..., None] | c
        v = table.take(idx).reshape(c.shape[0], -1)
        out[rs, c0:c1] = v[:, :c1 - c0]
    return from_rows(out, lead, ax, contiguous=False)


def _dequantize_blocks_in_place(el: Format, ax: int, scales, elements, dt: np.dtype, k: int) -> np.ndarray:
    """:func:`_dequantize_blocks` for a blocked axis that is not last, in x's own layout: codes
    as (blocks of the leading axes, k, trailing size), each times its column's factor (the same
    exact products), in chunks of whole block rows; the result is C-contiguous."""
    shape = elements.shape
    post = int(np.prod(shape[ax + 1:], dtype=np.int64))
    if elements.size == 0:
        return np.empty(shape, dt)
    e3 = elements.reshape(elements.size // (k * post), k, post)
    s2 = scales.reshape(e3.shape[0], post)
    out = np.empty(e3.shape, dt)
    ftab = factor_table(dt)
    vals = value_table(el, dt)[127 << el.bits: (128 << el.bits)]
    g = max(1, _CHUNK_F32 // max(k * post, 1))
    pairs = _pair_table(el) if dt == np.float32 and post % 2 == 0 else None  # half the index temporary
    any_nan = bool(np.equal(s2, 0xFF).any())
    for b0 in range(0, e3.shape[0], g):
        o = out[b0:b0 + g]
        if pairs is not None:
            np.take(pairs, e3[b0:b0 + g].view(np.uint16), out=o.view(np.uint64), mode="clip")
        else:
            np.take(vals, e3[b0:b0 + g], out=o, mode="clip")
        sc = s2[b0:b0 + g]
        with np.errstate(over="ignore"):  # X * P >= 2^128 is +-Inf in float32 (see dequantize)
            np.multiply(o, ftab.take(sc)[:, None, :], out=o)
        if any_nan:  # the default NaN, whatever NaN element x NaN factor propagated
            np.copyto(o, np.nan, where=(sc == 0xFF)[:, None, :])
    return out.reshape(shape)
