"""NVFP4 (an extension, not MX v1.0; mxref.ext.nvfp4): E2M1 elements in blocks of 16 with an
unsigned E4M3 block scale and an optional float32 per-tensor scale, in mxref's exact rule and
torchao's float32 model; checked against mxref.ext.reference."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

import mxref
from mxref import reference
from mxref.ext import reference as ext_ref

from ..inputs import SEED, Raw, mx_edge_blocks, mx_random_blocks
from ..schema import LEVELS, Writer
from .common import Ctx, companion, f32, need_axis_last, report_values, sampled_blocks

NVFP4_MODES = (  # (tag, quantize_nvfp4 keywords): mxref's exact rule, and torchao's float32 model
    ("exact", dict()),
    ("exact.pts_amax", dict(per_tensor_scale="amax")),
    ("float32.min_normal", dict(arithmetic="float32", scale_clamp="min_normal")),
    ("float32.min_normal.pts_amax", dict(arithmetic="float32", scale_clamp="min_normal", per_tensor_scale="amax")),
)


def generate_nvfp4(w: Writer, level: int):
    """ext/nvfp4/: rows of 64 (four blocks of 16) and ragged rows of 40; edge blocks reuse the MX
    edge set of FP4 (rows of 32 = two NVFP4 blocks) without its NaN / Inf rows, random blocks the
    MX distributions. Scales, elements, per-tensor scale and dequantized values of each mode."""
    raw = Raw(SEED, "ext/nvfp4")
    edge, labels = mx_edge_blocks(mxref.element_format("fp4_e2m1"))
    edge = edge[[i for i, lb in enumerate(labels) if lb not in ("nan", "nan and inf", "inf", "-inf")]]
    sets = {"edge": edge, "random": np.concatenate(list(mx_random_blocks(raw, LEVELS[level]["mx_blocks"]).values())),
            "ragged": mx_random_blocks(raw, 8)["gauss"].reshape(-1)[: 5 * 40].reshape(5, 40)}
    for sname, x in sets.items():
        xin = w.raw(f"ext/nvfp4/{sname}.in.f32.u32", x, "input", "quantize_nvfp4", "nvfp4", axis=-1, block_size=16)
        for tag, kw in NVFP4_MODES:
            nv = mxref.ext.quantize_nvfp4(x.view(np.float32), **kw)
            modes = dict(nv.options)
            base = f"ext/nvfp4/{sname}.{tag}"
            s_ = w.raw(f"{base}.scales.u8", nv.scales, "expected", "quantize_nvfp4", "nvfp4", modes=modes,
                       inputs=[xin], axis=-1, block_size=16)
            e_ = w.raw(f"{base}.elements.u8", nv.elements, "expected", "quantize_nvfp4", "nvfp4", modes=modes,
                       inputs=[xin], axis=-1, block_size=16)
            pts = np.array([1.0 if nv.per_tensor_scale is None else nv.per_tensor_scale], np.float32)
            p_ = w.raw(f"{base}.per_tensor_scale.f32.u32", pts.view(np.uint32), "expected", "quantize_nvfp4",
                       "nvfp4", modes=modes, inputs=[xin])
            w.raw(f"{base}.dequantized.f32.u32", nv.dequantize().view(np.uint32), "expected", "dequantize_nvfp4",
                  "nvfp4", modes=modes, inputs=[s_, e_, p_], axis=-1, block_size=16)



def check_nvfp4(ctx: Ctx, e: dict):
    """NVFP4 blocks (scales with the elements and per-tensor scale of the same base) against
    mxref.ext.reference."""
    need_axis_last(e)
    p = e["path"]
    x = ctx.ins(e)[0]
    ep = companion(ctx, p, "elements.u8")
    if ep is None:
        return
    pp = companion(ctx, p, "per_tensor_scale.f32.u32")
    if pp is None:
        return
    base = p[: -len(".scales.u8")]
    scales, elems = ctx.arr(p), ctx.arr(ep)
    pts_got = f32(ctx.arr(pp)[0])
    m = e["modes"]
    kw = dict(arithmetic=m["arithmetic"], scale_clamp=m["scale_clamp"], inf_policy=m["inf_policy"])
    pts = None
    if m["per_tensor_scale_rule"] == "amax":
        pts = ext_ref.nvfp4_per_tensor_scale_scalar([f32(v) for v in x.reshape(-1)], arithmetic=m["arithmetic"])
        if pts != pts_got:
            ctx.rep.bad(f"{base}.per_tensor_scale.f32.u32: got {pts_got!r}, expected {float(pts)!r}")
    elif m["per_tensor_scale_rule"] == "none":
        if pts_got != 1.0 or math.copysign(1, pts_got) < 0:  # 1.0 is stored when there is none
            ctx.rep.bad(f"{base}.per_tensor_scale.f32.u32: got {pts_got!r}, expected 1.0 (no per-tensor scale)")
    else:
        raise ValueError(f"unknown per_tensor_scale_rule {m['per_tensor_scale_rule']!r}")
    k = e["block_size"]
    for r, b, sl in sampled_blocks(x.shape, k, ctx.sample, p):
        s_, codes = ext_ref.nvfp4_block_scalar([f32(v) for v in x[r, sl]], per_tensor_scale=pts, **kw)
        if int(scales[r, b]) != s_ or [int(c) for c in elems[r, sl]] != codes:
            ctx.rep.bad(f"{p} row {r} block {b}: nvfp4 {m} inputs {','.join(f'{int(v):08X}' for v in x[r, sl])} "
                        f"got {int(scales[r, b]):02X} {','.join(f'{int(c):02X}' for c in elems[r, sl])}, expected "
                        f"{s_:02X} {','.join(f'{c:02X}' for c in codes)}")


def check_dequantize_nvfp4(ctx: Ctx, e: dict):
    """P * S * e of each element (mxref.ext.nvfp4, not MX v1.0): S the unsigned E4M3 block scale
    (NaN code: the block is NaN), e the E2M1 element, P the stored per-tensor scale (1.0 when
    there is none); the exact product rounded once to float32, a zero keeping e's sign."""
    need_axis_last(e)
    p = e["path"]
    sc, el_codes, pts = ctx.ins(e)
    got = ctx.arr(p)
    k = e["block_size"]
    if not (got.ndim == 2 and el_codes.shape == got.shape and sc.shape == (got.shape[0], -(-got.shape[1] // k))
            and pts.size == 1):
        raise ValueError(f"shapes: scales {sc.shape}, elements {el_codes.shape}, per-tensor scale {pts.shape}, "
                         f"values {got.shape}, block {k}")
    P = Fraction(f32(pts.reshape(-1)[0]))
    for r, b, sl in sampled_blocks(got.shape, k, ctx.sample, p):
        s = int(sc[r, b])
        ds = reference.decode_exact(s, "fp8_e4m3")
        want = []
        for c in el_codes[r, sl]:
            sign, mag = reference.decode_exact(int(c), "fp4_e2m1")
            if isinstance(ds, str):
                want.append(math.nan)
                continue
            v = float(reference.round_float32_scalar(P * ds[1] * mag))
            want.append(-v if sign else v)
        report_values(ctx.rep, p, r, b, sl, got, el_codes, want,
                      f"dequantize nvfp4 scale {s:02X} per-tensor scale {float(P)!r}")
