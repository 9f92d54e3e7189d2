"""Tensor-core accumulator models (outside the MX spec; :mod:`mxref.accumulators`): for each
preset and each operand pair MMA-Sim recorded, D = A @ B + C as a chain of two instructions
along K (``mxref.matmul(..., accumulate=preset, c=C)`` / :func:`mxref.accumulators.gemm`),
written as element codes, scale codes, C bits and D bits under ``ext/tensor_core/``."""

from __future__ import annotations

import numpy as np

from mxref import accumulators as acm
from mxref import element_format

from ..inputs import SEED, Raw
from ..schema import Writer
from .common import Ctx, f32, sample

#: (preset, A format, B format, scale format or None, block size): one vector set each
SETS = (
    ("blackwell_mxf8f6f4", "fp8_e4m3", "fp8_e4m3", "e8m0", 32),
    ("blackwell_mxf8f6f4", "fp8_e5m2", "fp8_e5m2", "e8m0", 32),
    ("blackwell_mxf8f6f4", "fp8_e4m3", "fp8_e5m2", "e8m0", 32),
    ("blackwell_mxf8f6f4", "fp8_e5m2", "fp8_e4m3", "e8m0", 32),
    ("rtx_blackwell_mxf8f6f4", "fp8_e4m3", "fp8_e4m3", "e8m0", 32),
    ("blackwell_mxf4", "fp4_e2m1", "fp4_e2m1", "e8m0", 32),
    ("blackwell_mxf4nvf4", "fp4_e2m1", "fp4_e2m1", "e8m0", 16),
    ("blackwell_mxf4nvf4", "fp4_e2m1", "fp4_e2m1", "ue4m3", 16),
    ("rtx_blackwell_mxf4nvf4", "fp4_e2m1", "fp4_e2m1", "ue4m3", 16),
    ("hopper_fp8", "fp8_e4m3", "fp8_e4m3", None, None),
    ("hopper_fp8", "fp8_e5m2", "fp8_e5m2", None, None),
    ("cdna3_fp8", "fp8_e4m3fnuz", "fp8_e4m3fnuz", None, None),
    ("cdna3_fp8", "fp8_e5m2fnuz", "fp8_e5m2fnuz", None, None),
)
M, N, INSTRUCTIONS = 8, 4, 2  # two instructions along K: the chaining (D fed back as C) is in it
BASE = "ext/tensor_core"


def set_name(preset, fa, fb, sf, bs) -> str:
    tail = f"__{sf}_block{bs}" if sf else ""
    return f"{preset}__{fa}__{fb}{tail}"


def _scales(raw, n, sf):
    if sf == "e8m0":  # 2^-7 ... 2^8, and one NaN scale (0xFF) in the last block
        s = raw.ints(n, 4) + 120
    else:  # UE4M3 0x30 ... 0x4F (about 0.5 ... 3.9), a zero scale now and then
        s = raw.ints(n, 5) + 0x30
        s[raw.ints(n, 5) == 0] = 0
    return s.astype(np.uint8)


def operands(preset, fa, fb, sf, bs):
    """The inputs of one set, from the vectors' PCG64 stream of its name: A (M, K) and B (K, N)
    element codes (every code, NaN and Inf included), block scales (None without), C bits."""
    acc = acm.PRESETS[preset]
    K = INSTRUCTIONS * acc.k
    raw = Raw(SEED, f"{BASE}/{set_name(preset, fa, fb, sf, bs)}")
    a = raw.ints(M * K, element_format(fa).bits).astype(np.uint8).reshape(M, K)
    b = raw.ints(K * N, element_format(fb).bits).astype(np.uint8).reshape(K, N)
    sa = sb = None
    if sf:
        sa = _scales(raw, M * (K // bs), sf).reshape(M, K // bs)
        sb = _scales(raw, (K // bs) * N, sf).reshape(K // bs, N)
        if sf == "e8m0":
            sa[M - 1, -1] = 0xFF
    # C: float32 of moderate size (exponent 2^-8 ... 2^7), some zeros and one -Inf
    sign = raw.ints(M * N, 1) << 31
    c = (sign | ((raw.ints(M * N, 4) + 119) << 23) | raw.ints(M * N, 23)).astype(np.uint32).reshape(M, N)
    c[raw.ints(M * N, 3).reshape(M, N) == 0] = 0
    if acc.element_formats != ("fp4_e2m1",):  # the FP4 path of MMA-Sim has no C = Inf
        c[0, N - 1] = 0xFF800000
    return a, sa, b, sb, c


def generate_tensor_core(w: Writer, level: int):
    """ext/tensor_core/<preset>__<A>__<B>[__<scale>_block<bs>].*: M x K A codes (K = 2 instructions),
    K x N B codes, scales (per row of A, per column of B, one per block), C and D float32 bits."""
    for preset, fa, fb, sf, bs in SETS:
        a, sa, b, sb, c = operands(preset, fa, fb, sf, bs)
        base = f"{BASE}/{set_name(preset, fa, fb, sf, bs)}"
        extra = dict(block_size=bs, scale_format=sf) if sf else {}
        ins = [w.raw(f"{base}.a.codes.u8", a, "input", "matmul", fa, axis=1, **extra)]
        if sf:
            ins.append(w.raw(f"{base}.a.scales.u8", sa, "input", "matmul", sf, axis=1, block_size=bs))
        ins.append(w.raw(f"{base}.b.codes.u8", b, "input", "matmul", fb, axis=0, **extra))
        if sf:
            ins.append(w.raw(f"{base}.b.scales.u8", sb, "input", "matmul", sf, axis=0, block_size=bs))
        ins.append(w.raw(f"{base}.c.f32.u32", c, "input", "matmul", "float32"))
        d = acm.gemm(a, fa, sa, b, fb, sb, c, preset=preset, scale_fmt=sf).view(np.uint32)
        w.raw(f"{base}.d.f32.u32", d, "expected", "matmul", f"{fa} x {fb}",
              modes=dict(accumulate=preset, k_order="ascending", instruction_k=acm.PRESETS[preset].k),
              inputs=ins)


def tensor_core_inputs(entry, by_path, arr):
    """(a, a_fmt, sa, b, b_fmt, sb, scale_fmt, c) of an expected D file; ``arr(path)`` reads an
    input file as an array, ``by_path`` the manifest's entries."""
    ins = entry.get("inputs") or []
    ents = [by_path[q] for q in ins]
    if len(ins) not in (3, 5) or ents[-1].get("format") != "float32":
        raise ValueError(f"{len(ins)} inputs: expected A codes, [A scales], B codes, [B scales], C")
    scaled = len(ins) == 5
    a, fa = arr(ins[0]), ents[0]["format"]
    b, fb = arr(ins[2 if scaled else 1]), ents[2 if scaled else 1]["format"]
    sa = arr(ins[1]) if scaled else None
    sb = arr(ins[3]) if scaled else None
    sf = ents[1]["format"] if scaled else None
    return a, fa, sa, b, fb, sb, sf, arr(ins[-1])


def check_tensor_core(ctx: Ctx, e: dict):
    """D, element by element, against the model recomputed on exact Python integers
    (``arithmetic="python"``, the path independent of the float64 fast path that wrote the
    file); NaN compared as a class where the preset says so (CDNA3)."""
    p = e["path"]
    preset = (e.get("modes") or {}).get("accumulate")
    if preset not in acm.PRESETS:
        raise ValueError(f"unknown accumulate {preset!r}")
    a, fa, sa, b, fb, sb, sf, c = tensor_core_inputs(e, ctx.by_path, ctx.arr)
    want = acm.gemm(a, fa, sa, b, fb, sb, c, preset=preset, scale_fmt=sf, arithmetic="python").view(np.uint32)
    got = np.frombuffer(ctx.good[p], "<u4").reshape(want.shape)
    for n in sample(want.size, ctx.sample, p):
        i, j = divmod(n, want.shape[1])
        g, x = int(got[i, j]), int(want[i, j])
        if g != x and not (acm.PRESETS[preset].nan_compare == "class" and np.isnan(f32(g)) and np.isnan(f32(x))):
            ctx.rep.bad(f"{p} [{i},{j}]: got {g:08X} ({f32(g)!r}), expected {x:08X} ({f32(x)!r})")
