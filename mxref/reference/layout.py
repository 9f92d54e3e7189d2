"""Independent references for the memory layouts mxref writes (outside the specification; the
conventions are described in docs/layouts.md): element packing and the cuBLAS scale swizzle.

Python ints only, one row or one matrix at a time, straight from the layout definitions and
sharing no code with :func:`mxref.pack_elements` / :func:`mxref.swizzle_scales`, so that the
golden vectors' verifier can hold the fast path to them.
"""

from __future__ import annotations

__all__ = ["PACK_ORDERS", "pack_row", "swizzled_position", "swizzled_source", "swizzle_cublas"]

#: the packing orders these references know (docs/layouts.md, "Element codes narrower than a byte")
PACK_ORDERS = ("byte", "low_first", "bitstream", "high_first")


def pack_row(codes, bits: int, order: str) -> list[int]:
    """The bytes of one row of element codes of ``bits`` bits in ``order``:

    * ``byte``: one code per byte;
    * ``low_first`` / ``bitstream``: a little-endian bit stream, code i at bits i*bits ...
      i*bits + bits - 1 (FP4 element 0 in the low nibble; FP6 four codes in three bytes);
    * ``high_first`` (4-bit codes): element 2j in the high nibble of byte j, 2j + 1 in the low.

    The last byte is padded with zero bits. ValueError for another order."""
    row = [int(c) for c in codes]
    if order == "byte":
        return row
    if order in ("low_first", "bitstream"):
        acc = sum(c << (i * bits) for i, c in enumerate(row))
        return list(acc.to_bytes((len(row) * bits + 7) // 8, "little"))
    if order == "high_first":
        return [((row[i] << 4) | (row[i + 1] if i + 1 < len(row) else 0)) for i in range(0, len(row), 2)]
    raise ValueError(f"unknown order {order!r}")


def swizzled_position(r: int, c: int, kblocks: int) -> int:
    """The byte of the cuBLAS / CUTLASS block-scaled layout holding scale (r, c) of a matrix of
    ``kblocks`` K-blocks per row (docs/layouts.md, "Scales"): 128 x 4 tiles of 512 bytes, K-tiles
    fastest; inside a tile, scale (r % 128, c % 4) at (r % 32) * 16 + (r % 128 // 32) * 4 + c % 4."""
    tk = -(-kblocks // 4)
    i, j, rr, cc = r // 128, c // 4, r % 128, c % 4
    return (i * tk + j) * 512 + (rr % 32) * 16 + (rr // 32) * 4 + cc


def swizzled_source(i: int, kblocks: int) -> tuple[int, int]:
    """The inverse of :func:`swizzled_position`: the (row, K-block) of the scale matrix whose
    scale byte ``i`` of the swizzled buffer holds (it may be padding: row or K-block past the
    matrix)."""
    tk = -(-kblocks // 4)
    t, w = divmod(i, 512)
    ti, tj = divmod(t, tk)
    rr = (w // 16) + 32 * ((w % 16) // 4)  # w = (rr % 32) * 16 + (rr // 32) * 4 + c
    return ti * 128 + rr, tj * 4 + w % 4


def swizzle_cublas(scales, pad: int = 0) -> list[int]:
    """The swizzled bytes of a scale matrix (a list of rows of ints, rows x K-blocks): rows padded
    to a multiple of 128 and K-blocks to a multiple of 4 with ``pad``."""
    rows = len(scales)
    kb = len(scales[0]) if rows else 0
    tm, tk = -(-rows // 128), -(-kb // 4)
    out = [pad] * (tm * tk * 512)
    for r in range(rows):
        for c in range(kb):
            out[swizzled_position(r, c, kb)] = int(scales[r][c])
    return out
