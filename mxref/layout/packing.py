"""Memory layouts of MX data: element packing and GEMM scale layouts (MX §5.1 / memory layout:
outside the spec, see docs/layouts.md).

The spec defines a block as one scale and k element codes (MX §5.1) and prescribes no memory
layout. Every kernel and checkpoint fixes one, so each layout here is a named option with a
documented default, decided by the element format's ``bits`` (never by its name).

Element packing (:func:`pack_elements`, :func:`unpack_elements`), along the LAST axis of an
N-D array of codes; every row (every index of the leading axes) is packed on its own and padded
on its own:

=====  ==============  ===========================================================================
bits   order           layout of codes c0, c1, ... in bytes b0, b1, ...
=====  ==============  ===========================================================================
4      "low_first"     (default) b_j = c_2j | c_2j+1 << 4: element 0 in bits 0-3 (torchao >= 0.15,
                       Triton ``dot_scaled``, ONNX, gpt-oss checkpoints)
4      "high_first"    b_j = c_2j << 4 | c_2j+1 (torchao <= 0.14; PTX ``cvt...e2m1x2`` registers)
6      "bitstream"     (default) a little-endian bit stream: code i in bits 6i ... 6i+5 of the
                       integer sum(b_j << 8j); 4 codes in 3 bytes, code 0 in bits 0-5 of b0 (ROCm)
6      "byte"          one code per byte, in bits 0-5 (ml_dtypes, torchao, PTX registers)
8      "byte"          one code per byte (FP8, INT8, E8M0)
2      "bitstream"     (default; INT2, an extension format) four codes per byte, code 0 in bits
                       0-1: b_j = c_4j | c_4j+1 << 2 | c_4j+2 << 4 | c_4j+3 << 6
2      "byte"          one code per byte, in bits 0-1
=====  ==============  ===========================================================================

A row of n codes takes ceil(n * bits_per_slot / 8) bytes (bits_per_slot = 8 for "byte"). Bits
past the last code of a row (half a byte for odd n in FP4, 2 / 4 / 6 bits in the FP6 bit stream,
the top 2 bits of each "byte" FP6 code) are padding and are zero; unpacking needs the count n
and, by default, checks that the padding is zero (``check_padding``).

GEMM scale layouts (:func:`swizzle_scales`, :func:`unswizzle_scales`) for the scale matrix
[rows, k_blocks] of an M x K operand blocked along K: "row_major" (plain) and "cublas", the
128 x 4 tiled layout of cuBLAS / CUTLASS SM100 block-scaled GEMMs (see :func:`swizzle_scales`).
"""

from __future__ import annotations

import numpy as np

from .._arrays import _to_numpy, as_codes
from ..formats import Format, element_format, mx_format
from ..options import check_choice

__all__ = [
    "PACKING_ORDERS",
    "SCALE_LAYOUTS",
    "packing_orders",
    "packed_nbytes",
    "pack_elements",
    "unpack_elements",
    "swizzle_scales",
    "unswizzle_scales",
    "swizzled_nbytes",
]

#: Element packing orders by element width in bits; the first is the default.
PACKING_ORDERS: dict[int, tuple[str, ...]] = {
    2: ("bitstream", "byte"),
    4: ("low_first", "high_first"),
    6: ("bitstream", "byte"),
    8: ("byte",),
}
#: Scale layouts for block-scaled GEMMs; "row_major" is the plain layout.
SCALE_LAYOUTS = ("row_major", "cublas")

# The cuBLAS / CUTLASS tile: 128 rows x 4 block columns, stored as 512 bytes.
_TILE_ROWS, _TILE_COLS, _TILE_BYTES = 128, 4, 512


# ----- element packing ----------------------------------------------------------------------------


def _element_row(fmt) -> Format:
    """The element format row of fmt: an element format name or row, or an MX format."""
    try:
        return element_format(fmt)
    except ValueError:
        pass
    try:
        return mx_format(fmt).element
    except ValueError:
        raise ValueError(f"fmt: unknown element or MX format {fmt!r}") from None


def packing_orders(fmt) -> tuple[str, ...]:
    """The packing orders of an element format, the default first (decided by its bits)."""
    el = _element_row(fmt)
    if el.bits not in PACKING_ORDERS:  # pragma: no cover - every element format here is 2, 4, 6 or 8 bits
        raise ValueError(f"fmt: no packing defined for {el.bits}-bit codes ({el.name})")
    return PACKING_ORDERS[el.bits]


def _order(el: Format, order) -> str:
    allowed = packing_orders(el)
    if order is None:
        return allowed[0]
    if not isinstance(order, str) or order not in allowed:
        raise ValueError(f"order must be one of {', '.join(map(repr, allowed))} for "
                         f"{el.bits}-bit codes ({el.name}); got {order!r}")
    return order


def _count(count) -> int:
    if isinstance(count, bool) or not hasattr(count, "__index__"):
        raise TypeError(f"count must be an int (codes per row), got {count!r}")
    n = int(count)
    if n < 0:
        raise ValueError(f"count must be >= 0, got {n}")
    return n


def packed_nbytes(count, fmt, *, order: str | None = None) -> int:
    """Bytes that ``count`` codes of ``fmt`` take when packed in ``order``: ceil(count * bits /
    8), with bits = 8 for the one-per-byte orders. (Memory layout: outside the spec, MX §5.1)"""
    el = _element_row(fmt)
    o = _order(el, order)
    n = _count(count)
    bits = 8 if o == "byte" else el.bits
    return (n * bits + 7) // 8


def pack_elements(codes, fmt, *, order: str | None = None) -> np.ndarray:
    """Element codes packed into bytes along the last axis (see the module table).

    ``codes``: an integer array (any integer dtype) of shape [..., n] holding codes of ``fmt``
    (0 ... 2^bits - 1; wider values raise ValueError). Returns uint8 [..., packed_nbytes(n)];
    each row is padded with zero bits to a whole byte. ``order``: None gives the default of the
    format's width (FP4 "low_first", FP6 "bitstream", 8-bit "byte"). The input is not modified.
    (MX §5.1 / memory layout: outside the spec, see docs/layouts.md)"""
    el = _element_row(fmt)
    o = _order(el, order)
    c = as_codes(codes, el.bits, "codes")
    if c.ndim == 0:
        raise ValueError("codes must have at least one dimension (codes are packed along the last axis)")
    c = c.astype(np.uint8)  # a copy, in range: the caller's array is never touched
    n = c.shape[-1]
    lead = c.shape[:-1]
    if o == "byte":
        return c
    if el.bits == 4:
        # 1. pad to an even count with a zero code; 2. two codes per byte
        if n % 2:
            c = np.concatenate([c, np.zeros(lead + (1,), np.uint8)], axis=-1)
        first, second = c[..., 0::2], c[..., 1::2]
        if o == "low_first":
            return first | (second << np.uint8(4))
        return (first << np.uint8(4)) | second
    if el.bits == 2:  # four codes per byte, code 0 lowest
        g = -(-n // 4)
        if 4 * g != n:
            c = np.concatenate([c, np.zeros(lead + (4 * g - n,), np.uint8)], axis=-1)
        q = c.reshape(lead + (g, 4))
        return q[..., 0] | (q[..., 1] << np.uint8(2)) | (q[..., 2] << np.uint8(4)) | (q[..., 3] << np.uint8(6))
    # el.bits == 6, "bitstream":
    # 1. pad to whole groups of 4 codes; 2. each group is a 24-bit little-endian word
    g = -(-n // 4)
    if 4 * g != n:
        c = np.concatenate([c, np.zeros(lead + (4 * g - n,), np.uint8)], axis=-1)
    q = c.reshape(lead + (g, 4)).astype(np.uint32)
    w = q[..., 0] | (q[..., 1] << np.uint32(6)) | (q[..., 2] << np.uint32(12)) | (q[..., 3] << np.uint32(18))
    # 3. the word's three bytes, low first; 4. drop the bytes holding padding bits only
    b = np.stack([w, w >> np.uint32(8), w >> np.uint32(16)], axis=-1).astype(np.uint8)
    return b.reshape(lead + (3 * g,))[..., : (6 * n + 7) // 8]


def _as_bytes(data, name: str) -> np.ndarray:
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            return np.frombuffer(data, np.uint8)
        except (ValueError, TypeError, BufferError) as exc:
            raise TypeError(f"{name} must be a uint8 array or contiguous bytes: {exc}") from None
    a = _to_numpy(data, name)
    if a.dtype != np.uint8:
        raise TypeError(f"{name} must be a uint8 array (or bytes), got dtype {a.dtype}")
    return a


def unpack_elements(data, fmt, count, *, order: str | None = None, check_padding: bool = True) -> np.ndarray:
    """The codes of :func:`pack_elements` back: uint8 [..., count] from uint8 ``data`` [..., nb].

    ``data``'s last axis must hold exactly ``packed_nbytes(count, fmt, order=order)`` bytes (one
    packed row per index of the leading axes; bytes objects are one row). With
    ``check_padding`` (default) the padding bits must be zero, else ValueError: non-zero padding
    means a wrong count, order or format; ``check_padding=False`` ignores them. (MX §5.1 / memory layout: outside the spec, see
    docs/layouts.md)"""
    el = _element_row(fmt)
    o = _order(el, order)
    n = _count(count)
    if not isinstance(check_padding, (bool, np.bool_)):
        raise TypeError(f"check_padding must be a bool, got {check_padding!r}")
    d = _as_bytes(data, "data")
    if d.ndim == 0:
        raise ValueError("data must have at least one dimension (bytes are unpacked along the last axis)")
    want = packed_nbytes(n, el, order=o)
    if d.shape[-1] != want:
        raise ValueError(f"data's last axis must hold {want} bytes for count={n} {el.name} codes in "
                         f"order {o!r}, got {d.shape[-1]}" + (" (too short)" if d.shape[-1] < want else ""))
    lead = d.shape[:-1]
    if o == "byte":
        if el.bits == 8:
            return d.copy()
        if check_padding and d.size and int(d.max()) >> el.bits:
            raise ValueError(f"data holds {int(d.max())} (0x{int(d.max()):02X}): the top "
                             f"{8 - el.bits} bits of each byte are padding and must be zero for "
                             f"{el.name} codes in order 'byte' (check_padding=False ignores them)")
        return d & np.uint8((1 << el.bits) - 1)
    if el.bits == 4:
        lo, hi = d & np.uint8(0x0F), d >> np.uint8(4)
        pair = (lo, hi) if o == "low_first" else (hi, lo)
        full = np.stack(pair, axis=-1).reshape(lead + (2 * want,))
    elif el.bits == 2:
        shifts = np.array([0, 2, 4, 6], np.uint8)
        full = ((d[..., None] >> shifts) & np.uint8(3)).reshape(lead + (4 * want,))
    else:  # 6-bit bit stream: whole 3-byte words (zero bytes appended), four codes per word
        g = -(-want // 3)
        if 3 * g != want:
            d = np.concatenate([d, np.zeros(lead + (3 * g - want,), np.uint8)], axis=-1)
        t = d.reshape(lead + (g, 3)).astype(np.uint32)
        w = t[..., 0] | (t[..., 1] << np.uint32(8)) | (t[..., 2] << np.uint32(16))
        shifts = np.array([0, 6, 12, 18], np.uint32)
        full = ((w[..., None] >> shifts) & np.uint32(0x3F)).astype(np.uint8).reshape(lead + (4 * g,))
    # every bit of data past code n - 1 lands in a code at index >= n
    if check_padding and full.shape[-1] > n and full[..., n:].any():
        raise ValueError(f"data has non-zero padding bits after code {n - 1} of a row: wrong count "
                         f"({n}), order ({o!r}) or format ({el.name})? (check_padding=False skips this)")
    return np.ascontiguousarray(full[..., :n])


# ----- scale layouts for block-scaled GEMMs -------------------------------------------------------


def _dims(name: str, v, lo: int = 0) -> int:
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        raise TypeError(f"{name} must be an int, got {v!r}")
    v = int(v)
    if v < lo:
        raise ValueError(f"{name} must be >= {lo}, got {v}")
    return v


def _pad_value(v) -> int:
    """pad_value of the "cublas" layout: a byte, 0..255 (the same check for both directions)."""
    v = _dims("pad_value", v)
    if v > 255:
        raise ValueError(f"pad_value must be a byte, 0..255, got {v}")
    return v


def swizzled_nbytes(rows, k_blocks, *, layout: str = "cublas") -> int:
    """Bytes of one [rows, k_blocks] scale matrix in ``layout``: rows * k_blocks for
    "row_major"; 512 per 128 x 4 tile for "cublas" (rows padded to 128, k_blocks to 4)."""
    check_choice("layout", layout, SCALE_LAYOUTS)
    r, k = _dims("rows", rows), _dims("k_blocks", k_blocks)
    if layout == "row_major":
        return r * k
    return -(-r // _TILE_ROWS) * -(-k // _TILE_COLS) * _TILE_BYTES


def swizzle_scales(scales, *, layout: str = "cublas", pad_value: int = 0) -> np.ndarray:
    """Scale codes [..., rows, k_blocks] (uint8; one row per row of an M x K operand, one column
    per block along K) laid out for a block-scaled GEMM: uint8 [..., swizzled_nbytes(rows,
    k_blocks)], one buffer per matrix of the leading axes.

    "cublas" (default): the matrix is padded with ``pad_value`` (default 0) to rows a multiple of
    128 and k_blocks a multiple of 4, and cut into 128 x 4 tiles. Tiles are stored one after
    another, 512 bytes each, the tile index running fastest along K: tile (i, j) starts at byte
    (i * ceil(k_blocks / 4) + j) * 512. Inside a tile, the scale of tile row r (0..127) and tile
    column c (0..3) is at byte (r % 32) * 16 + (r // 32) * 4 + c: the tile is 32 lines of 16
    bytes, line r % 32 holding rows r, r + 32, r + 64, r + 96, four scales each. This is the
    cuBLAS "1D block scaling factors layout", CUTLASS SM100 ``Sm1xxBlockScaledBasicChunk``
    (K-major atom: shape ((32, 4), (vec, 4)), stride ((16, 4), (0, 1)), tiles K-first), cuDNN's
    128x4 layout and torchao's ``to_blocked``. For an operand blocked along its first axis (B of
    A @ B as [K, N]) pass the transposed scales, [N, k_blocks].

    "row_major": the plain C-order bytes of each matrix, no padding.
    (MX §5.1 / memory layout: outside the spec, see docs/layouts.md)"""
    check_choice("layout", layout, SCALE_LAYOUTS)
    pad_value = _pad_value(pad_value)
    s = _to_numpy(scales, "scales")
    if s.dtype != np.uint8:
        raise TypeError(f"scales must be a uint8 array of scale codes, got dtype {s.dtype}")
    if s.ndim < 2:
        raise ValueError(f"scales must have at least 2 dimensions [..., rows, k_blocks], got shape {s.shape}")
    lead, (r, k) = s.shape[:-2], s.shape[-2:]
    if layout == "row_major":
        return np.ascontiguousarray(s).reshape(lead + (r * k,)).copy()
    # 1. pad to whole tiles
    nrt, nct = -(-r // _TILE_ROWS), -(-k // _TILE_COLS)
    p = np.full(lead + (nrt * _TILE_ROWS, nct * _TILE_COLS), pad_value, np.uint8)
    p[..., :r, :k] = s
    # 2. padded row R = 128 i + 32 a + b, column C = 4 j + c  ->  [..., i, j, b, a, c]
    nl = len(lead)
    t = p.reshape(lead + (nrt, 4, 32, nct, 4))
    t = t.transpose(tuple(range(nl)) + tuple(nl + q for q in (0, 3, 2, 1, 4)))
    return np.ascontiguousarray(t).reshape(lead + (nrt * nct * _TILE_BYTES,))


def unswizzle_scales(data, rows, k_blocks, *, layout: str = "cublas", check_padding: bool = True,
                     pad_value: int = 0) -> np.ndarray:
    """The scale matrix [..., rows, k_blocks] back from a GEMM layout (inverse of
    :func:`swizzle_scales`). ``data``: uint8 [..., swizzled_nbytes(rows, k_blocks)] (exactly).
    With ``check_padding`` (default) every padding byte of the "cublas" layout must equal
    ``pad_value``, else ValueError. (MX §5.1 / memory layout: outside the spec, see
    docs/layouts.md)"""
    check_choice("layout", layout, SCALE_LAYOUTS)
    r, k = _dims("rows", rows), _dims("k_blocks", k_blocks)
    pad_value = _pad_value(pad_value)
    if not isinstance(check_padding, (bool, np.bool_)):
        raise TypeError(f"check_padding must be a bool, got {check_padding!r}")
    d = _as_bytes(data, "data")
    if d.ndim == 0:
        raise ValueError("data must have at least one dimension")
    want = swizzled_nbytes(r, k, layout=layout)
    if d.shape[-1] != want:
        raise ValueError(f"data's last axis must hold {want} bytes for a {r} x {k} scale matrix in "
                         f"layout {layout!r}, got {d.shape[-1]}")
    lead = d.shape[:-1]
    if layout == "row_major":
        return d.reshape(lead + (r, k)).copy()
    nrt, nct = -(-r // _TILE_ROWS), -(-k // _TILE_COLS)
    nl = len(lead)
    # [..., i, j, b, a, c] -> [..., i, a, b, j, c] = padded [..., R, C]
    t = d.reshape(lead + (nrt, nct, 32, 4, 4))
    t = t.transpose(tuple(range(nl)) + tuple(nl + q for q in (0, 3, 2, 1, 4)))
    p = t.reshape(lead + (nrt * _TILE_ROWS, nct * _TILE_COLS))
    if check_padding:
        mask = np.ones(p.shape[-2:], bool)
        mask[:r, :k] = False
        if (p[..., mask] != pad_value).any():
            raise ValueError(f"data has padding bytes other than pad_value={pad_value} outside the "
                             f"{r} x {k} scales: wrong rows / k_blocks? (check_padding=False skips this)")
    return np.ascontiguousarray(p[..., :r, :k])
