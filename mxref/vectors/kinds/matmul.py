"""Dot products (MX §6.1, §6.2): C = A @ B for every pair of MX formats, as float32 under each
accumulator model of :func:`mxref.matmul` and as exact hex rationals."""

from __future__ import annotations

import math

import numpy as np

import mxref
from mxref import reference

from ..inputs import MM, SEED, Raw, mx_operand
from ..schema import Writer, hex_rational, parse_hex_rational
from .common import Ctx, f32, sample


def generate_matmul(w: Writer, level: int):
    """A (M x K) blocked along K times B (K x N) blocked along K for every pair of MX formats:
    float32 results of each accumulator model and the exact values as hex rationals."""
    M, K, N = MM
    for an, amf in mxref.MX_FORMATS.items():
        for bn, bmf in mxref.MX_FORMATS.items():
            raw = Raw(SEED, f"matmul/{an}/{bn}")
            # rows 0, 4, 5 of A and column 3 of B are plain; the others carry one special each
            a = mx_operand(amf, (M, K), 1, raw, dict(scale={(3, 1): 0xFF},
                                                     element={(1, 40): "inf", (2, 7): "nan", (0, 5): "max"}))
            b = mx_operand(bmf, (K, N), 0, raw, dict(scale={(0, 1): 0x00, (1, 2): 0xFE},
                                                     element={(33, 0): "inf", (10, 3): "max"}))
            base = f"matmul/{an}__{bn}"
            ins = [w.raw(f"{base}.a.scales.u8", a.scales, "input", "matmul", an, axis=1, block_size=K // 2),
                   w.raw(f"{base}.a.elements.u8", a.elements, "input", "matmul", an, axis=1, block_size=K // 2),
                   w.raw(f"{base}.b.scales.u8", b.scales, "input", "matmul", bn, axis=0, block_size=K // 2),
                   w.raw(f"{base}.b.elements.u8", b.elements, "input", "matmul", bn, axis=0, block_size=K // 2)]
            for model in mxref.options.FLOAT32_ACCUMULATORS:
                c = mxref.matmul(a, b, accumulate=model)
                w.raw(f"{base}.{model}.f32.u32", c.view(np.uint32), "expected", "matmul", f"{an} x {bn}",
                      modes=dict(accumulate=model), inputs=ins)
            lines = [f"# exact C = A @ B, {an} x {bn}: one line per element, '<row> <col> <value>', the value as "
                     "<sign>0x<hex integer>p<binary exponent> (nan / inf / -inf for the IEEE cases)"]
            for i in range(M):
                for j in range(N):
                    ra = mxref.MXArray(amf, K // 2, 0, (K,), a.scales[i], a.elements[i])
                    cb = mxref.MXArray(bmf, K // 2, 0, (K,), np.ascontiguousarray(b.scales[:, j]),
                                       np.ascontiguousarray(b.elements[:, j]))
                    lines.append(f"{i} {j} {hex_rational(mxref.dot(ra, cb, dtype='exact'))}")
            w.text(f"{base}.exact.txt", "\n".join(lines) + "\n", "expected", "matmul", inputs=ins)


def check_matmul(ctx: Ctx, e: dict):
    """C = A @ B, element by element, against reference.dot_scalar (MX §6.2): the float32 file
    under its accumulator model, the .exact.txt file exactly."""
    p = e["path"]
    ins = [(ctx.arr(q), ctx.by_path[q]) for q in e.get("inputs", [])]
    if len(ins) != 4:
        raise ValueError(f"{len(ins)} inputs, expected A scales, A elements, B scales, B elements")
    data = ctx.good[p]
    (sa, ea), (xa, _), (sb, eb), (xb, _) = ins
    fa, fb = ea["format"], eb["format"]
    k = ea["block_size"]
    M, K = xa.shape
    N = xb.shape[1]

    def row(i):
        return mxref.MXArray(fa, k, 0, (K,), np.ascontiguousarray(sa[i]), np.ascontiguousarray(xa[i]))

    def col(j):
        return mxref.MXArray(fb, k, 0, (K,), np.ascontiguousarray(sb[:, j]), np.ascontiguousarray(xb[:, j]))

    cells = [(i, j) for i in range(M) for j in range(N)]
    if p.endswith(".exact.txt"):
        got = {}
        for line in data.decode().splitlines():
            if line and not line.startswith("#"):
                i, j, t = line.split()
                got[(int(i), int(j))] = parse_hex_rational(t)
        if set(got) != set(cells):
            ctx.rep.bad(f"{p}: {len(got)} elements, expected {M} x {N}")
            return
        for c in sample(len(cells), ctx.sample, p):
            i, j = cells[c]
            want = reference.dot_scalar(row(i), col(j), dtype="exact")
            if got[(i, j)] != want:
                ctx.rep.bad(f"{p} [{i},{j}]: got {got[(i, j)]}, expected {want}")
        return
    got = np.frombuffer(data, "<u4").reshape(M, N)
    model = e["modes"]["accumulate"]
    for c in sample(len(cells), ctx.sample, p):
        i, j = cells[c]
        want = int(np.float32(reference.dot_scalar(row(i), col(j), accumulate=model)).view(np.uint32))
        g = int(got[i, j])
        if g != want and not (math.isnan(f32(g)) and math.isnan(f32(want))):
            ctx.rep.bad(f"{p} [{i},{j}]: {model} got {g:08X} ({f32(g)!r}), expected {want:08X} ({f32(want)!r})")
