"""MX block conversion (MX §6.3) and its inverse (MX §5.1): quantize scales and elements, and
dequantized values, for every MX format (and, under ext/, the MX formats of mxref.ext) over the
edge, random and ragged input sets, in every mode of :func:`mx_mode_list`."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

import mxref
from mxref import reference

from ..inputs import K, SEED, SR_BITS, Raw, mx_edge_blocks, mx_mode_list, mx_random_blocks
from ..schema import LEVELS, Writer
from .common import Ctx, companion, f32, need_axis_last, report_values, sampled_blocks


# ----- generate -------------------------------------------------------------------------------------

def write_mx(w: Writer, level: int, formats, prefix=""):
    nblk = LEVELS[level]["mx_blocks"]
    for mname, mxf in formats.items():
        el = mxf.element
        raw = Raw(SEED, f"mx/{mname}")
        edge, labels = mx_edge_blocks(el)
        dists = mx_random_blocks(raw, nblk)
        rows, r0 = {}, 0
        for d, blk in dists.items():
            rows[d] = [r0, r0 + blk.shape[0]]
            r0 += blk.shape[0]
        rag = mx_random_blocks(raw, 8)["gauss"].reshape(-1)[: 5 * 45].reshape(5, 45)
        sets = {"edge": (edge, dict(row_labels=labels)),
                "random": (np.concatenate(list(dists.values())), dict(row_ranges=rows)),
                "ragged": (rag, {})}  # rows of 45: a full block and a short one of 13 per row
        for sname, (x, info) in sets.items():
            xin = w.raw(f"{prefix}mx/{mname}/{sname}.in.f32.u32", x, "input", "quantize", mname,
                        axis=-1, block_size=K, **info)
            rb = raw.ints(x.size, SR_BITS).astype(np.uint8).reshape(x.shape)
            rin = None
            for tag, kw in mx_mode_list():
                kw = dict(kw)
                ins = [xin]
                if kw.get("rounding") == "stochastic":
                    if rin is None:
                        rin = w.raw(f"{prefix}mx/{mname}/{sname}.random_bits.u8", rb, "input", "quantize", mname,
                                    modes=dict(random_bit_count=SR_BITS))
                    kw.update(random_bits=rb, random_bit_count=SR_BITS)
                    ins = [xin, rin]
                mx = mxref.quantize(x.view(np.float32), mxf, **kw)
                modes = {k: v for k, v in mx.options.items()}
                if "random_bit_count" in kw:
                    modes["random_bit_count"] = SR_BITS
                base = f"{prefix}mx/{mname}/{sname}.{tag}"
                s = w.raw(f"{base}.scales.u8", mx.scales, "expected", "quantize", mname, modes=modes,
                          inputs=ins, axis=-1, block_size=K)
                e = w.raw(f"{base}.elements.u8", mx.elements, "expected", "quantize", mname, modes=modes,
                          inputs=ins, axis=-1, block_size=K)
                w.raw(f"{base}.dequantized.f32.u32", mx.dequantize(np.float32).view(np.uint32), "expected",
                      "dequantize", mname, modes=modes, inputs=[s, e], axis=-1, block_size=K)


def generate_mx(w: Writer, level: int):
    """mx/<mx format>/* and ext/mx/*: scales, elements and dequantized values of each set and mode."""
    write_mx(w, level, mxref.MX_FORMATS)
    write_mx(w, level, mxref.ext.EXT_MX_FORMATS, prefix="ext/")


# ----- check against mxref.reference ----------------------------------------------------------------

def check_quantize(ctx: Ctx, e: dict):
    """Scales and elements (the elements.u8 of the same base) block by block against
    reference.quantize_block_scalar (MX §6.3)."""
    need_axis_last(e)
    p = e["path"]
    ep = companion(ctx, p, "elements.u8")
    if ep is None:
        return
    scales, elems = ctx.arr(p), ctx.arr(ep)
    ins = ctx.ins(e)
    x = ins[0]
    k = e["block_size"]
    modes = dict(e["modes"])
    nbc = modes.pop("random_bit_count", None)
    for r, b, sl in sampled_blocks(x.shape, k, ctx.sample, p):
        vals = [f32(v) for v in x[r, sl]]
        kw = dict(modes)
        if nbc is not None:
            kw.update(random_bits=[int(v) for v in ins[1][r, sl]], random_bit_count=nbc)
        s, codes = reference.quantize_block_scalar(vals, e["format"], **kw)
        if int(scales[r, b]) != s or [int(c) for c in elems[r, sl]] != codes:
            ctx.rep.bad(f"{p} row {r} block {b}: {e['format']} {e['modes']} inputs "
                        f"{','.join(f'{int(v):08X}' for v in x[r, sl])} got {int(scales[r, b]):02X} "
                        f"{','.join(f'{int(c):02X}' for c in elems[r, sl])}, expected {s:02X} "
                        f"{','.join(f'{c:02X}' for c in codes)}")


def check_dequantize(ctx: Ctx, e: dict):
    """X * P_i of each element (MX §5.1): X = 2^(scale code - 127), NaN for scale 0xFF; an
    element's NaN / Inf code stays NaN / Inf; the exact product rounded once to float32 (RNE;
    2^128 and above is Inf), a zero keeping the element's sign."""
    need_axis_last(e)
    p = e["path"]
    sc, el_codes = ctx.ins(e)
    got = ctx.arr(p)
    el, k = mxref.mx_format(e["format"]).element, e["block_size"]
    if not (got.ndim == 2 and el_codes.shape == got.shape and sc.shape == (got.shape[0], -(-got.shape[1] // k))):
        raise ValueError(f"shapes: scales {sc.shape}, elements {el_codes.shape}, values {got.shape}, block {k}")
    for r, b, sl in sampled_blocks(got.shape, k, ctx.sample, p):
        s = int(sc[r, b])
        want = []
        for c in el_codes[r, sl]:
            d = reference.decode_exact(int(c), el)
            if s == 0xFF or d in ("+nan", "-nan"):
                want.append(math.nan)
            elif isinstance(d, str):
                want.append(math.inf if d == "+inf" else -math.inf)
            else:
                sign, mag = d
                v = float(reference.round_float32_scalar(mag * Fraction(2) ** (s - 127)))
                want.append(-v if sign else v)
        report_values(ctx.rep, p, r, b, sl, got, el_codes, want, f"dequantize {e['format']} scale {s:02X}")
