"""Memory layouts (outside the specification; docs/layouts.md): packed FP4 / FP6 element codes in
every order, and the cuBLAS / CUTLASS scale swizzle; checked against mxref.reference.layout."""

from __future__ import annotations

import numpy as np

import mxref
from mxref.reference import layout as ref_layout

from ..inputs import SEED, Raw
from ..schema import Writer
from .common import Ctx


def generate_pack(w: Writer, level: int):
    """Packed element codes in every order of the 4- and 6-bit formats (rows of 37 codes: the
    last byte of each row is padded with zero bits)."""
    for name in ("fp4_e2m1", "fp6_e2m3", "fp6_e3m2"):
        el = mxref.element_format(name)
        raw = Raw(SEED, f"packing/{name}")
        codes = np.concatenate([np.arange(el.num_codes, dtype=np.int64),  # every code, then random
                                raw.ints(37 * 8, el.bits)])[: 37 * 8].reshape(8, 37).astype(np.uint8)
        cin = w.raw(f"packing/{name}.codes.u8", codes, "input", "pack", name)
        for order in mxref.packing_orders(el):
            w.raw(f"packing/{name}.{order}.u8", mxref.pack_elements(codes, el, order=order), "expected", "pack",
                  name, modes=dict(order=order), inputs=[cin])


def generate_swizzle(w: Writer, level: int):
    """A 200 x 7 E8M0 scale matrix (both dimensions padded) in the cuBLAS block-scaled layout."""
    raw = Raw(SEED, "packing/scales")
    sc = raw.ints(200 * 7, 8).astype(np.uint8).reshape(200, 7)  # M = 200 rows, 7 K-blocks: both padded
    sin = w.raw("packing/scales.row_major.u8", sc, "input", "swizzle_scales", "e8m0")
    w.raw("packing/scales.cublas.u8", mxref.swizzle_scales(sc, layout="cublas"), "expected", "swizzle_scales",
          "e8m0", modes=dict(layout="cublas", pad_value=0), inputs=[sin])


def check_pack(ctx: Ctx, e: dict):
    """Each row against reference.layout.pack_row (Python ints, from the layout definitions)."""
    p = e["path"]
    codes, got = ctx.ins(e)[0], ctx.arr(p)
    bits = mxref.element_format(e["format"]).bits
    order = e["modes"]["order"]
    for r in range(codes.shape[0]):
        try:
            want = ref_layout.pack_row(codes[r], bits, order)
        except ValueError:
            ctx.rep.bad(f"{p}: unknown order {order!r}")
            return
        if [int(b) for b in got[r]] != want:
            ctx.rep.bad(f"{p} row {r}: {order} got {bytes(got[r]).hex()}, expected {bytes(want).hex()}")


def check_swizzle(ctx: Ctx, e: dict):
    """The whole swizzled matrix against reference.layout.swizzle_cublas."""
    p = e["path"]
    sc, got = ctx.ins(e)[0], ctx.arr(p).reshape(-1)
    if sc.ndim != 2:
        raise ValueError(f"scales of shape {sc.shape}, expected rows x K-blocks")
    want = ref_layout.swizzle_cublas(sc.tolist())
    g = [int(v) for v in got]
    if g != want:
        bad = next(i for i, (x, y) in enumerate(zip(g, want)) if x != y) if len(g) == len(want) else -1
        ctx.rep.bad(f"{p}: swizzled scales differ (first at byte {bad})")
