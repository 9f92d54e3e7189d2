"""Element formats and the E8M0 scale (MX §5.3, §5.4.1; OFP8 §5.2.1 Table 3): decode tables and
encode vectors, for the spec's formats and, under ext/, the extension rows of mxref.ext."""

from __future__ import annotations

import numpy as np

import mxref
from mxref import reference

from ..inputs import ELEMENT_FORMATS, SEED, SR_BITS, Raw, e8m0_boundary, element_boundary, element_random
from ..schema import LEVELS, Writer
from .common import Ctx, f32, same_f32, sample

#: The element roundings the encode vectors cover: the modes of mxref v1 (spec_vectors/ is a
#: fixed set; rounding="ties_toward_zero", added with mxref.models, is not part of it).
VECTOR_ROUNDINGS = ("rne", "ties_away", "toward_zero", "up", "down", "stochastic")


def _ext_names():
    return tuple(mxref.ext.EXTENSION_FORMATS)


# ----- generate -------------------------------------------------------------------------------------

def write_decode(w: Writer, names, prefix=""):
    for name in names:
        el = mxref.element_format(name)
        codes = np.arange(el.num_codes, dtype=np.uint8)
        cin = w.raw(f"{prefix}decode/{name}.codes.u8", codes, "input", "decode", name)
        vals = mxref.decode(codes, el, np.float32).view(np.uint32)
        w.raw(f"{prefix}decode/{name}.f32.u32", vals, "expected", "decode", name, inputs=[cin])


def write_encode(w: Writer, level: int, names, prefix=""):
    n = LEVELS[level]["encode_random"]
    for name in names:
        el = mxref.element_format(name)
        raw = Raw(SEED, f"encode/{name}")
        x = np.concatenate([element_boundary(el), element_random(el, raw, n)])
        if not el.has_nan:  # NaN has no code here: mxref's nan="raise" default; see the .tv files
            x = x[(x & np.uint32(0x7FFFFFFF)) <= np.uint32(0x7F800000)]
        xin = w.raw(f"{prefix}encode/{name}.in.f32.u32", x, "input", "encode", name)
        rb = raw.ints(x.size, SR_BITS).astype(np.uint8)
        rin = w.raw(f"{prefix}encode/{name}.random_bits.u8", rb, "input", "encode", name,
                    modes=dict(random_bit_count=SR_BITS))
        overflows = ("saturate", "nonsaturating") if el.has_nan else ("saturate",)
        for rnd in VECTOR_ROUNDINGS:
            for ov in overflows:
                kw = dict(rounding=rnd, overflow=ov)
                if rnd == "stochastic":
                    kw.update(random_bits=rb, random_bit_count=SR_BITS)
                codes = mxref.encode(x.view(np.float32), el, **kw)
                ins = [xin, rin] if rnd == "stochastic" else [xin]
                modes = dict(rounding=rnd, overflow=ov, nan="raise")
                if rnd == "stochastic":
                    modes["random_bit_count"] = SR_BITS
                w.raw(f"{prefix}encode/{name}.{rnd}.{ov}.u8", codes, "expected", "encode", name, modes=modes,
                      inputs=ins)


def generate_decode(w: Writer, level: int):
    """decode/<fmt>.{codes.u8,f32.u32}: every code of every element format and E8M0; ext/decode/."""
    write_decode(w, ELEMENT_FORMATS + ("e8m0",))
    write_decode(w, _ext_names(), prefix="ext/")


def generate_encode(w: Writer, level: int):
    """encode/<fmt>.*: boundary table and seeded random inputs, every rounding and overflow; ext/encode/."""
    write_encode(w, level, ELEMENT_FORMATS)
    write_encode(w, level, _ext_names(), prefix="ext/")


def generate_encode_e8m0(w: Writer, level: int):
    """encode/e8m0.*: float32 around every 2^k and 1.5 * 2^k, every E8M0 rounding and overflow."""
    x = e8m0_boundary()
    xin = w.raw("encode/e8m0.in.f32.u32", x, "input", "encode_e8m0", "e8m0")
    for rnd in mxref.E8M0_ROUNDING_MODES:
        for ov in ("saturate", "nonsaturating"):
            codes = mxref.encode_e8m0(x.view(np.float32), rounding=rnd, overflow=ov)
            w.raw(f"encode/e8m0.{rnd}.{ov}.u8", codes, "expected", "encode_e8m0", "e8m0",
                  modes=dict(rounding=rnd, overflow=ov), inputs=[xin])


# ----- check against mxref.reference ----------------------------------------------------------------

def check_decode(ctx: Ctx, e: dict):
    p, fmt = e["path"], e["format"]
    (codes,), got = ctx.ins(e), ctx.arr(p)
    codes, got = codes.reshape(-1), got.reshape(-1)
    if codes.size != got.size:
        raise ValueError(f"{codes.size} codes, {got.size} values")
    for i in sample(got.size, ctx.sample, p):
        c = int(codes[i])
        want = reference.decode_scalar(c, fmt)
        if not same_f32(int(got[i]), want):
            ctx.rep.bad(f"{p}[{i}]: decode {fmt} {c:02X} got {int(got[i]):08X} ({f32(got[i])!r}), expected {want!r}")


def check_encode(ctx: Ctx, e: dict):
    p, fmt, modes = e["path"], e["format"], e["modes"]
    ins, got = ctx.ins(e), ctx.arr(p).reshape(-1)
    x = ins[0].reshape(-1)
    if x.size != got.size:
        raise ValueError(f"{x.size} inputs, {got.size} codes")
    for i in sample(got.size, ctx.sample, p):
        kw = dict(rounding=modes["rounding"], overflow=modes["overflow"])
        if modes["rounding"] == "stochastic":
            kw.update(random_bits=int(ins[1].reshape(-1)[i]), random_bit_count=modes["random_bit_count"])
        want = reference.encode_scalar(f32(x[i]), fmt, **kw)
        if int(got[i]) != want:
            ctx.rep.bad(f"{p}[{i}]: encode {fmt} {modes} {int(x[i]):08X} got {int(got[i]):02X}, expected {want:02X}")


def check_encode_e8m0(ctx: Ctx, e: dict):
    p, modes = e["path"], e["modes"]
    (x,), got = ctx.ins(e), ctx.arr(p).reshape(-1)
    x = x.reshape(-1)
    if x.size != got.size:
        raise ValueError(f"{x.size} inputs, {got.size} codes")
    for i in sample(got.size, ctx.sample, p):
        want = reference.encode_e8m0_scalar(f32(x[i]), rounding=modes["rounding"], overflow=modes["overflow"])
        if int(got[i]) != want:
            ctx.rep.bad(f"{p}[{i}]: encode_e8m0 {modes} {int(x[i]):08X} got {int(got[i]):02X}, expected {want:02X}")
