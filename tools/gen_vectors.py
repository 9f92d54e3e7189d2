#!/usr/bin/env python3
"""Generate mxref's golden vectors (spec_vectors/): raw little-endian files, a manifest, sha256 sums.

    python tools/gen_vectors.py                      # level 1 into spec_vectors/ (committed)
    python tools/gen_vectors.py --level 2 --out DIR  # the larger level-2 set (not committed)

Every byte is deterministic: inputs are built from the boundary tables of each format and from
the raw 64-bit output of NumPy's PCG64 bit generator (stable across NumPy versions and machines),
turned into float32 bit patterns with integer arithmetic only (no libm, no float rounding). The
expected outputs are mxref's (fast path, held bit for bit to the slow Fraction reference by the
tests); the hand-reviewed ``*.tv`` files are additionally checked here against
``mxref.reference`` while they are written. Layout: spec_vectors/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np

try:
    import mxref
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import mxref
from mxref import reference
from mxref.conversion import SCALE_RULES

SCHEMA_VERSION = 1
SEED = 20261121
ELEMENT_FORMATS = ("fp8_e4m3", "fp8_e5m2", "fp6_e2m3", "fp6_e3m2", "fp4_e2m1", "int8")
DETERMINISTIC = ("rne", "ties_away", "toward_zero", "up", "down")
SR_BITS = 8  # random_bit_count used for the stochastic-rounding vectors
SPEC = {
    "mx": "OCP Microscaling Formats (MX) v1.0, September 2023",
    "ofp8": "OCP 8-bit Floating Point Specification (OFP8) Revision 1.0, June 2023",
}
#: Random counts per level: encode inputs per format, MX blocks per distribution.
LEVELS = {1: dict(encode_random=4096, mx_blocks=48), 2: dict(encode_random=1 << 16, mx_blocks=1024)}


# ----- deterministic randomness: PCG64 raw words, integer arithmetic only -------------------------

class Raw:
    """A stream of raw uint64 words from PCG64(seed, stream name): stable across NumPy versions."""

    def __init__(self, seed: int, name: str):
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
        self.bg = np.random.PCG64(np.random.SeedSequence([seed, key]))

    def words(self, n: int) -> np.ndarray:
        return self.bg.random_raw(n).astype(np.uint64)

    def ints(self, n: int, bits: int) -> np.ndarray:
        """n integers uniform in [0, 2^bits), bits <= 32, as int64."""
        return (self.words(n) >> np.uint64(64 - bits)).astype(np.int64)


def f32_from_int(m: np.ndarray, e: np.ndarray) -> np.ndarray:
    """float32 bits of m * 2^e for integers |m| < 2^24 (exact: ldexp of an exact float64, then a
    float32 that holds it exactly -- checked)."""
    v = np.ldexp(m.astype(np.float64), e.astype(np.int32))
    out = v.astype(np.float32)
    if not np.array_equal(out.astype(np.float64), v, equal_nan=True):
        raise AssertionError("an input was not exact in float32")
    return out.view(np.uint32)


# ----- boundary tables ----------------------------------------------------------------------------

def f32bits(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).astype(np.float32).view(np.uint32)


def next_up(b: np.ndarray) -> np.ndarray:
    """float32 bits one ulp further from zero (same sign); +-0 -> smallest subnormal."""
    return b + np.uint32(1)


def next_down(b: np.ndarray) -> np.ndarray:
    mag = b & np.uint32(0x7FFFFFFF)
    return np.where(mag == 0, np.uint32(0x80000001) ^ (b & np.uint32(0x80000000)), b - np.uint32(1)).astype(np.uint32)


def element_boundary(el) -> np.ndarray:
    """float32 bit patterns: every finite value of el, every midpoint between adjacent magnitudes
    (and above max), each +-1 float32 ulp, both signs; +-0, +-Inf, NaN where el has NaN, float32
    subnormals and the float32 extremes."""
    vals = mxref.decode(np.arange(el.num_codes), el, np.float64)
    mags = np.unique(np.abs(vals[np.isfinite(vals)]))
    step = mags[-1] - mags[-2]
    mids = np.concatenate([(mags[1:] + mags[:-1]) / 2, [mags[-1] + step / 2, mags[-1] + step]])
    core = f32bits(np.concatenate([mags, mids]))  # exact in float32 for every format here
    pts = np.concatenate([core, next_up(core), next_down(core)])
    pts = np.concatenate([pts, pts | np.uint32(0x80000000)])
    extra = np.array([0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x00000001, 0x80000001,
                      0x007FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x00400000, 0x3F800000],
                     np.uint32)
    if el.has_nan:
        extra = np.concatenate([extra, np.array([0x7FC00000, 0xFFC00000, 0x7F800001], np.uint32)])
    out = np.concatenate([extra, pts])
    _, first = np.unique(out, return_index=True)
    return out[np.sort(first)]


def element_random(el, raw: Raw, n: int) -> np.ndarray:
    """n float32 patterns spread over el's range and a little beyond: random sign, exponent in
    [emin - m - 3, emax + 2], 23 random fraction bits."""
    lo, hi = el.emin - el.mantissa_bits - 3, el.emax + 2
    e = raw.ints(n, 16) % (hi - lo + 1) + lo
    frac = raw.ints(n, 23)
    sign = raw.ints(n, 1)
    bits = ((e + 127).astype(np.uint32) << np.uint32(23)) | frac.astype(np.uint32)
    return bits | (sign.astype(np.uint32) << np.uint32(31))


def e8m0_boundary() -> np.ndarray:
    """Positive float32 patterns around every power of two and the E8M0 rounding points:
    2^k, 1.5 * 2^k (the RNE tie in log domain for an exponent-only format is at sqrt 2; mxref's
    rules use the float value: floor/ceil at 2^k, rne/ties_up at 1.5 * 2^k) each +-1 ulp, from the
    smallest subnormal to the largest float32, plus +Inf and NaN."""
    k = np.arange(-149, 128)
    p2 = f32bits(np.ldexp(1.0, k))
    mid = f32bits(np.ldexp(1.5, k[k >= -148]))
    core = np.concatenate([p2, mid])
    pts = np.concatenate([core, next_up(core), next_down(core) & np.uint32(0x7FFFFFFF)])
    pts = pts[(pts != 0) & (pts < np.uint32(0x7F800000))]
    pts = np.concatenate([pts, np.array([0x7F7FFFFF, 0x7F800000, 0x7FC00000], np.uint32)])
    _, first = np.unique(pts, return_index=True)
    return pts[np.sort(first)]


# ----- MX blocks ----------------------------------------------------------------------------------

K = 32


def mx_edge_blocks(el) -> tuple[np.ndarray, list[str]]:
    """Hand-built blocks of 32 (float32 bits), one per row, with a label each."""
    rows, labels = [], []

    def add(label, vals):
        v = np.zeros(K, np.float64)
        v[: len(vals)] = vals
        with np.errstate(over="ignore"):
            rows.append(v.astype(np.float32).view(np.uint32))
        labels.append(label)

    def add_bits(label, bits):
        b = np.zeros(K, np.uint32)
        b[: len(bits)] = bits
        rows.append(b)
        labels.append(label)

    emax = el.emax
    add("zeros", [0.0] * K)
    add_bits("negative zeros", [0x80000000] * K)
    add_bits("mixed zeros", [0x80000000, 0, 0x80000000])
    add("nan", [1.0, math.nan, -2.0])
    add("inf", [1.0, math.inf, -2.0])
    add("-inf", [0.5, -math.inf])
    add("nan and inf", [math.nan, math.inf])
    for k in (-20, 0, 1, 7, 20):
        a = math.ldexp(1.0, k)
        add(f"amax 2^{k}", [a, -a / 3, a / 7, a * 0.75])
        add(f"amax 2^{k}(1-2^-24)", [a * (1 - 2.0**-24), a / 5, -a / 9])
        add(f"amax 2^{k}(1+2^-23)", [-a * (1 + 2.0**-23), a / 5, a / 9])
    clip = el.max / 2.0**emax  # amax mantissa at and above max / 2^emax: the top element clips
    for f in (clip, (clip + 2) / 2, 2 - 2.0**-23):
        add(f"clip region {f}", [math.ldexp(f, 3), 1.0, -0.5])
    vals = mxref.decode(np.arange(el.num_codes), el, np.float64)
    grid = np.unique(np.abs(vals[np.isfinite(vals)]))
    mids = (grid[1:] + grid[:-1]) / 2
    top = math.ldexp(1.0, emax)  # amax = 2^emax -> shared exponent 0: elements are exact midpoints
    for i in range(0, len(mids), K - 1):
        chunk = list(mids[i:i + K - 1])
        add(f"ties {i}", [top] + [m * (-1) ** j for j, m in enumerate(chunk)])
    add_bits("float32 subnormals", [0x00000001, 0x80000002, 0x00400000, 0x007FFFFF, 0x00000100])
    add_bits("subnormal and smallest normal", [0x00800000, 0x00000003, 0x80400000])
    add("near 2^-127 clamp", [2.0**-127, 2.0**-130, -(2.0**-133)])
    add("below 2^-127 clamp", [1.5 * 2.0**-135, 2.0**-140, 2.0**-145])
    add("huge 1.9*2^127", [1.9 * 2.0**127, -(2.0**126), 2.0**100])
    add_bits("largest float32", [0x7F7FFFFF, 0xFF7FFFFF, 0x3F800000])
    add("huge 2^127", [2.0**127, 2.0**120])
    add("single value", [0, 0, 0, 3.0])
    add("all equal", [-0.3] * K)
    add("alternating", [(-1) ** i * (1 + i / 32) for i in range(K)])
    return np.stack(rows).astype(np.uint32), labels


def mx_random_blocks(raw: Raw, nblk: int) -> dict[str, np.ndarray]:
    """Seeded random blocks (nblk x 32 float32 bits) of several distributions (gauss, uniform, wide,
    sparse, outlier, bits), each block with its
    own power-of-two magnitude; built from integers, so exactly reproducible."""
    n = nblk * K
    scale = np.repeat(raw.ints(nblk, 8) % 61 - 30, K)  # block magnitude 2^-30 .. 2^30

    def irwin_hall():  # sum of 12 uniform 20-bit integers, centred: bell-shaped, |m| < 2^23.6
        s = sum(raw.ints(n, 20) for _ in range(12))
        return s - 6 * (1 << 20)

    out = {}
    out["gauss"] = f32_from_int(irwin_hall(), scale - 21)
    u = raw.ints(n, 24) - (1 << 23)
    out["uniform"] = f32_from_int(u, scale - 23)
    e = np.repeat(raw.ints(nblk, 8) % 200 - 100, K) + raw.ints(n, 8) % 24 - 12
    bits = ((e + 127).astype(np.uint32) << np.uint32(23)) | raw.ints(n, 23).astype(np.uint32)
    out["wide"] = bits | (raw.ints(n, 1).astype(np.uint32) << np.uint32(31))  # 24 binades per block
    g = irwin_hall()
    g[raw.ints(n, 8) < 230] = 0  # about 90 % zeros
    out["sparse"] = f32_from_int(g, scale - 21)
    g = irwin_hall()
    pos = raw.ints(nblk, 5) + np.arange(nblk) * K
    o = f32_from_int(g, scale - 21)
    o[pos] = f32_from_int(g[pos], scale[pos] - 11)  # one outlier 2^10 larger per block
    out["outlier"] = o
    b = raw.words(n).astype(np.uint32)  # any bit pattern but NaN/Inf: subnormals, clamps, all
    b = np.where((b & np.uint32(0x7F800000)) == np.uint32(0x7F800000), b & np.uint32(0xBFFFFFFF), b)
    out["bits"] = b.astype(np.uint32)
    return {k: v.reshape(nblk, K) for k, v in out.items()}


# ----- writing --------------------------------------------------------------------------------------

class Writer:
    def __init__(self, root: Path):
        self.root = root
        self.entries = []

    def raw(self, rel: str, arr: np.ndarray, role: str, operation: str, fmt: str | None = None,
            modes: dict | None = None, inputs: list[str] | None = None, **extra):
        a = np.ascontiguousarray(arr)
        dt = {np.dtype(np.uint8): "|u1", np.dtype(np.uint16): "<u2", np.dtype(np.uint32): "<u4"}[a.dtype]
        data = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        self._write(rel, data)
        e = dict(path=rel, sha256=hashlib.sha256(data).hexdigest(), size=len(data), dtype=dt,
                 shape=list(a.shape), role=role, operation=operation)
        if fmt is not None:
            e["format"] = fmt
        if modes:
            e["modes"] = modes
        if inputs:
            e["inputs"] = inputs
        e.update(extra)
        self.entries.append(e)
        return rel

    def text(self, rel: str, content: str, role: str, operation: str, inputs: list[str] | None = None):
        data = content.encode()
        self._write(rel, data)
        e = dict(path=rel, sha256=hashlib.sha256(data).hexdigest(), size=len(data), dtype="text", shape=[],
                 role=role, operation=operation)
        if inputs:
            e["inputs"] = inputs
        self.entries.append(e)

    def _write(self, rel, data):
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def gen_decode(w: Writer, names=ELEMENT_FORMATS + ("e8m0",), prefix=""):
    for name in names:
        el = mxref.element_format(name)
        codes = np.arange(el.num_codes, dtype=np.uint8)
        cin = w.raw(f"{prefix}decode/{name}.codes.u8", codes, "input", "decode", name)
        vals = mxref.decode(codes, el, np.float32).view(np.uint32)
        w.raw(f"{prefix}decode/{name}.f32.u32", vals, "expected", "decode", name, inputs=[cin])


def gen_encode(w: Writer, level: int, names=ELEMENT_FORMATS, prefix="", e8m0=True):
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
        for rnd in mxref.ROUNDING_MODES:
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
    if not e8m0:
        return
    x = e8m0_boundary()
    xin = w.raw("encode/e8m0.in.f32.u32", x, "input", "encode_e8m0", "e8m0")
    for rnd in mxref.E8M0_ROUNDING_MODES:
        for ov in ("saturate", "nonsaturating"):
            codes = mxref.encode_e8m0(x.view(np.float32), rounding=rnd, overflow=ov)
            w.raw(f"encode/e8m0.{rnd}.{ov}.u8", codes, "expected", "encode_e8m0", "e8m0",
                  modes=dict(rounding=rnd, overflow=ov), inputs=[xin])


def mx_mode_list():
    """(tag, quantize keyword arguments): every rule with RNE; every other rounding with floor;
    the special-value options with floor RNE."""
    out = [(f"{r}.rne", dict(scale_rule=r)) for r in SCALE_RULES]
    out += [(f"floor.{r}", dict(rounding=r)) for r in DETERMINISTIC if r != "rne"]
    out += [("floor.stochastic", dict(rounding="stochastic")),
            ("floor.rne.finite_scale", dict(inf_policy="finite_scale")),
            ("floor.rne.flush_subnormals", dict(flush_subnormals=True))]
    return out


def gen_mx(w: Writer, level: int, formats=None, prefix=""):
    nblk = LEVELS[level]["mx_blocks"]
    for mname, mxf in (mxref.MX_FORMATS if formats is None else formats).items():
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


# ----- dot products (MX §6.1, §6.2) ------------------------------------------------------------

MM = (6, 64, 4)  # M, K, N of every matmul vector set: two blocks of 32 along K


def hex_rational(v) -> str:
    """An exact dyadic value as <sign>0x<hex integer>p<exponent> (e.g. -0x1B3p-12), or nan/inf/-inf."""
    from fractions import Fraction

    if isinstance(v, str):
        return {"+inf": "inf", "-inf": "-inf", "nan": "nan"}[v]
    v = Fraction(v)
    if v == 0:
        return "0x0p0"
    d = v.denominator
    e = d.bit_length() - 1
    if d != 1 << e:
        raise AssertionError(f"{v} is not dyadic")
    n = v.numerator
    while n % 2 == 0:
        n //= 2
        e -= 1
    return f"{'-' if n < 0 else ''}0x{abs(n):X}p{-e}"


def _operand(mxf, shape, axis, raw: Raw, plant: dict) -> "mxref.MXArray":
    """Random MX operand (bell-shaped values, random block magnitudes) with special codes planted:
    ``plant`` maps "scale" / "element" positions (index tuples) to codes ("max", "inf", "nan" or
    an int); Inf/NaN only where the element format has them."""
    el = mxf.element
    n = shape[0] * shape[1]
    g = sum(raw.ints(n, 16) for _ in range(4)) - 2 * (1 << 16)
    x = f32_from_int(g, raw.ints(n, 4) - 24).view(np.float32).reshape(shape)
    mx = mxref.quantize(x, mxf, axis=axis)
    sc, elm = mx.scales.copy(), mx.elements.copy()
    for pos, code in plant.get("scale", {}).items():
        sc[pos] = code
    named = {"max": el.code_of_max, "inf": el.inf_codes[0] if el.has_inf else None,
             "nan": el.nan_codes[0] if el.has_nan else None}
    for pos, code in plant.get("element", {}).items():
        c = named.get(code, code)
        if c is not None:
            elm[pos] = c
    return mxref.MXArray(mxf, mx.block_size, axis, x.shape, sc, elm)


def _as_text(v) -> str:
    if isinstance(v, float):  # dot(..., dtype="exact") gives Python nan / +-inf for the IEEE cases
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return hex_rational(v)


def gen_matmul(w: Writer):
    """A (M x K) blocked along K times B (K x N) blocked along K for every pair of MX formats:
    float32 results of each accumulator model and the exact values as hex rationals."""
    M, K, N = MM
    for an, amf in mxref.MX_FORMATS.items():
        for bn, bmf in mxref.MX_FORMATS.items():
            raw = Raw(SEED, f"matmul/{an}/{bn}")
            # rows 0, 4, 5 of A and column 3 of B are plain; the others carry one special each
            a = _operand(amf, (M, K), 1, raw, dict(scale={(3, 1): 0xFF},
                                                   element={(1, 40): "inf", (2, 7): "nan", (0, 5): "max"}))
            b = _operand(bmf, (K, N), 0, raw, dict(scale={(0, 1): 0x00, (1, 2): 0xFE},
                                                   element={(33, 0): "inf", (10, 3): "max"}))
            base = f"matmul/{an}__{bn}"
            ins = [w.raw(f"{base}.a.scales.u8", a.scales, "input", "matmul", an, axis=1, block_size=K // 2),
                   w.raw(f"{base}.a.elements.u8", a.elements, "input", "matmul", an, axis=1, block_size=K // 2),
                   w.raw(f"{base}.b.scales.u8", b.scales, "input", "matmul", bn, axis=0, block_size=K // 2),
                   w.raw(f"{base}.b.elements.u8", b.elements, "input", "matmul", bn, axis=0, block_size=K // 2)]
            for model in mxref.ACCUMULATORS:
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
                    lines.append(f"{i} {j} {_as_text(mxref.dot(ra, cb, dtype='exact'))}")
            w.text(f"{base}.exact.txt", "\n".join(lines) + "\n", "expected", "matmul", inputs=ins)


# ----- memory layouts (outside the spec: MX-SPEC-NOTES §7) -----------------------------------------

def gen_packing(w: Writer):
    """Packed element codes in every order of the 4- and 6-bit formats (rows of 37 codes: the
    last byte of each row is padded with zero bits), and the cuBLAS/CUTLASS scale swizzle."""
    for name in ("fp4_e2m1", "fp6_e2m3", "fp6_e3m2"):
        el = mxref.element_format(name)
        raw = Raw(SEED, f"packing/{name}")
        codes = np.concatenate([np.arange(el.num_codes, dtype=np.int64),  # every code, then random
                                raw.ints(37 * 8, el.bits)])[: 37 * 8].reshape(8, 37).astype(np.uint8)
        cin = w.raw(f"packing/{name}.codes.u8", codes, "input", "pack", name)
        for order in mxref.packing_orders(el):
            w.raw(f"packing/{name}.{order}.u8", mxref.pack_elements(codes, el, order=order), "expected", "pack",
                  name, modes=dict(order=order), inputs=[cin])
    raw = Raw(SEED, "packing/scales")
    sc = raw.ints(200 * 7, 8).astype(np.uint8).reshape(200, 7)  # M = 200 rows, 7 K-blocks: both padded
    sin = w.raw("packing/scales.row_major.u8", sc, "input", "swizzle_scales", "e8m0")
    w.raw("packing/scales.cublas.u8", mxref.swizzle_scales(sc, layout="cublas"), "expected", "swizzle_scales",
          "e8m0", modes=dict(layout="cublas", pad_value=0), inputs=[sin])


# ----- hand-reviewed text vectors -------------------------------------------------------------------

def h32(b: int) -> str:
    return f"{b & 0xFFFFFFFF:08X}"


def gen_tv(w: Writer):
    """Key edge cases, one per line; each expected value is checked against mxref.reference."""
    lines = ["# mxref hand-reviewed vectors: encode / decode of elements (MX §5.3, OFP8 Table 3).",
             "# decode <format> <code hex> -> <float32 hex>",
             "# encode <format> <rounding> <overflow> <options> <float32 hex> -> <code hex>",
             "#   options: - (none) or comma-separated name=value of mxref.encode (nan=raise is the default)"]

    def enc(fmt, rnd, ov, x, why, **kw):
        b = int(np.float32(x).view(np.uint32)) if not isinstance(x, int) else x
        v = float(np.uint32(b).view(np.float32))
        got = int(mxref.encode(np.uint32(b).view(np.float32).reshape(1), fmt, rounding=rnd, overflow=ov, **kw)[0])
        ref = reference.encode_scalar(v, fmt, rounding=rnd, overflow=ov, **kw)
        if got != ref:
            raise AssertionError(f"encode {fmt} {rnd} {ov} {h32(b)}: fast {got:#x} != reference {ref:#x}")
        opts = ",".join(f"{k}={v}" for k, v in kw.items()) or "-"
        lines.append(f"encode {fmt} {rnd} {ov} {opts} {h32(b)} -> {got:02X}  # {why}")

    def dec(fmt, code, why):
        got = int(mxref.decode(np.array([code]), fmt, np.float32).view(np.uint32)[0])
        ref = reference.decode_scalar(code, fmt)
        rv = float(np.uint32(got).view(np.float32))
        if not (math.isnan(ref) and math.isnan(rv)) and rv != ref:
            raise AssertionError(f"decode {fmt} {code:#x}: {rv} != reference {ref}")
        lines.append(f"decode {fmt} {code:02X} -> {h32(got)}  # {why}")

    dec("fp8_e4m3", 0x7E, "max normal 448")
    dec("fp8_e4m3", 0x7F, "NaN (S.1111.111)")
    dec("fp8_e4m3", 0x01, "min subnormal 2^-9")
    dec("fp8_e5m2", 0x7B, "max normal 57344")
    dec("fp8_e5m2", 0x7C, "+Inf")
    dec("fp6_e2m3", 0x1F, "max 7.5")
    dec("fp6_e3m2", 0x1F, "max 28")
    dec("fp4_e2m1", 0x07, "max 6")
    dec("fp4_e2m1", 0x09, "-0.5")
    dec("int8", 0x81, "-127/64")
    dec("int8", 0x80, "-2 (the code mxref never produces by default)")
    dec("e8m0", 0x7F, "2^0")
    dec("e8m0", 0x00, "2^-127, a float32 subnormal")
    dec("e8m0", 0xFF, "NaN")
    enc("fp8_e4m3", "rne", "saturate", 464.0, "464 ties to even 448 (OFP8 Table 3)")
    enc("fp8_e4m3", "rne", "saturate", 0x43E80001, "just above 464 saturates to 448")
    enc("fp8_e4m3", "rne", "nonsaturating", 0x43E80001, "just above 464 -> NaN")
    enc("fp8_e4m3", "rne", "nonsaturating", 464.0, "464 ties to 448 even without saturation")
    enc("fp8_e4m3", "rne", "saturate", math.inf, "Inf saturates to max")
    enc("fp8_e4m3", "rne", "saturate", 2.0**-10, "half the min subnormal ties to 0")
    enc("fp8_e4m3", "rne", "saturate", 0x3A800001, "just above half the min subnormal -> 2^-9")
    enc("fp8_e4m3", "up", "saturate", 2.0**-140, "tiny positive rounds up to min subnormal")
    enc("fp8_e4m3", "rne", "saturate", -0.0, "-0 keeps its sign")
    enc("fp8_e5m2", "rne", "nonsaturating", 61440.0, "61440 ties to even: up to Inf")
    enc("fp8_e5m2", "rne", "saturate", 61440.0, "61440 saturates to 57344")
    enc("fp8_e5m2", "toward_zero", "nonsaturating", math.inf, "Inf stays Inf")
    enc("fp8_e5m2", "toward_zero", "nonsaturating", 1e6, "finite overflow toward zero -> max (IEEE 754 §7.4)")
    enc("fp8_e5m2", "rne", "saturate", math.nan, "NaN -> quiet NaN S.11111.10")
    enc("fp6_e2m3", "rne", "saturate", 7.75, "tie above max 7.5 saturates")
    enc("fp6_e3m2", "rne", "saturate", 30.0, "tie above max 28 saturates")
    enc("fp4_e2m1", "rne", "saturate", 5.0, "tie between 4 and 6 -> 4 (even)")
    enc("fp4_e2m1", "ties_away", "saturate", 5.0, "tie between 4 and 6 -> 6 away")
    enc("fp4_e2m1", "rne", "saturate", 0.25, "tie between 0 and 0.5 -> 0")
    enc("fp4_e2m1", "rne", "saturate", -2.5, "tie between -2 and -3 -> -2")
    enc("int8", "rne", "saturate", -2.0, "-2 saturates to -127/64 (no -128 by default)")
    enc("int8", "rne", "saturate", -2.0, "-2 -> -128 when allowed", int8_allow_minus128=True)
    enc("int8", "rne", "saturate", 3.0, "3 saturates to 127/64")
    enc("int8", "rne", "saturate", 1.0 / 128, "tie 0.5/64 -> 0")
    enc("int8", "rne", "saturate", 3.0 / 128, "tie 1.5/64 -> 2/64")
    lines.append("")
    lines.append("# encode_e8m0 <rounding> <overflow> <float32 hex> -> <code hex>   (MX §5.4.1)")
    for rnd, ov, x, why in [("floor", "saturate", 1.5, "floor of 1.5 -> 2^0"),
                            ("ceil", "saturate", 1.5, "ceil of 1.5 -> 2^1"),
                            ("rne", "saturate", 1.5, "1.5 is the tie of 1 and 2 -> 2 (even code 0x80)"),
                            ("ties_up", "saturate", 1.5, "1.5 ties up to 2"),
                            ("floor", "saturate", 2.0**-149, "smallest float32 -> 2^-127 (saturate)"),
                            ("floor", "nonsaturating", 2.0**-149, "smallest float32 below 2^-127 -> NaN"),
                            ("ceil", "saturate", 0x7F000001, "ceil above 2^127 saturates to 2^127"),
                            ("floor", "saturate", math.inf, "Inf -> 2^127 (saturate)"),
                            ("floor", "saturate", math.nan, "NaN -> 0xFF")]:
        b = int(np.float32(x).view(np.uint32)) if not isinstance(x, int) else x
        v = float(np.uint32(b).view(np.float32))
        got = int(mxref.encode_e8m0(np.array([v], np.float32), rounding=rnd, overflow=ov)[0])
        ref = reference.encode_e8m0_scalar(v, rounding=rnd, overflow=ov)
        if got != ref:
            raise AssertionError(f"encode_e8m0 {rnd} {ov} {h32(b)}: {got:#x} != reference {ref:#x}")
        lines.append(f"encode_e8m0 {rnd} {ov} {h32(b)} -> {got:02X}  # {why}")
    w.text("text/elements.tv", "\n".join(lines) + "\n", "expected", "encode")

    lines = ["# mxref hand-reviewed MX block vectors (MX §6.3): one block per line.",
             "# quantize <mx format> <scale rule> <rounding> <options> <n> <float32 hex x n, comma-separated>"
             " -> <scale hex> <element codes hex, comma-separated>",
             "#   the block size is n; options: - (none) or comma-separated name=value of mxref.quantize"]

    def q(fmt, rule, rnd, vals, why, **kw):
        bits = [v if isinstance(v, int) else int(np.float32(v).view(np.uint32)) for v in vals]
        x = np.array(bits, np.uint32).view(np.float32)
        mx = mxref.quantize(x, fmt, scale_rule=rule, rounding=rnd, block_size=len(bits), **kw)
        s, codes = reference.quantize_block_scalar(x.tolist(), fmt, scale_rule=rule, rounding=rnd, **kw)
        if int(mx.scales[0]) != s or mx.elements.tolist() != codes:
            raise AssertionError(f"quantize {fmt} {rule} {rnd} {vals}: fast != reference")
        opts = ",".join(f"{k}={v}" for k, v in kw.items()) or "-"
        lines.append(f"quantize {fmt} {rule} {rnd} {opts} {len(bits)} {','.join(h32(b) for b in bits)} -> "
                     f"{s:02X} {','.join(f'{c:02X}' for c in codes)}  # {why}")

    q("mxfp8_e4m3", "floor", "rne", [448.0, 1.0, -0.5, 0.0], "amax 448 = max: X = 2^0, exact")
    q("mxfp8_e4m3", "floor", "rne", [480.0, 1.0], "amax 480: X = 2^0, 480 clips to 448")
    q("mxfp8_e4m3", "rceil", "rne", [480.0, 1.0], "rceil: 480/448 > 1 -> X = 2^1")
    q("mxfp8_e4m3", "floor", "rne", [0x43FFFFFF, 3.0], "amax 512(1-2^-24): floor(log2) = 8 -> X = 2^0")
    q("mxfp8_e4m3", "ceil", "rne", [256.0, 3.0], "ceil of an exact power of two stays: X = 2^0")
    q("mxfp4_e2m1", "floor", "rne", [6.0, 5.0, 0.25, -2.5], "X = 2^0: 5 -> 4, 0.25 -> 0, -2.5 -> -2 (ties to even)")
    q("mxfp4_e2m1", "floor", "rne", [7.0, 1.0], "amax 7: floor(log2 7) - 2 = 0, 7 clips to 6")
    q("mxfp4_e2m1", "even", "rne", [7.0, 1.0], "even: 7 rounds half-up to 8 -> X = 2^1")
    q("mxfp4_e2m1", "round_down", "rne", [5.0, 1.0], "round_down: floor(log2(5/6)) = -1 -> X = 2^-1, 10 clips to 6")
    q("mxfp6_e3m2", "floor", "rne", [0.0, 0x80000000], "all-zero block: scale 0x00, -0 kept")
    q("mxfp6_e2m3", "floor", "rne", [1.0, float("nan")], "a NaN: scale 0xFF, element codes 0")
    q("mxfp8_e5m2", "floor", "rne", [1.0, float("inf")], "Inf: NaN scale by default (inf_policy nan_scale)")
    q("mxfp8_e5m2", "floor", "rne", [1.0, float("inf")], "finite_scale: X = 2^-15 from the 1.0, Inf element 0x7C",
      inf_policy="finite_scale")
    q("mxfp8_e4m3", "floor", "rne", [2.0**-130, -(2.0**-136)], "tiny block clamps to X = 2^-127: 2^-3, -2^-9")
    q("mxfp8_e4m3", "floor", "rne", [2.0**-130, -(2.0**-136)], "flush_subnormals: zeros, signs kept",
      flush_subnormals=True)
    q("mxint8", "floor", "rne", [-1.998046875, 1.0], "INT8, X = 2^0: -127.875/64 rounds to -128, saturates to 0x81")
    q("mxint8", "floor", "rne", [-1.998046875, 1.0], "INT8 -128 allowed: 0x80", int8_allow_minus128=True)
    q("mxint8", "floor", "rne", [-2.0, 1.0], "INT8 amax 2: X = 2^1, -2 -> -1 (0xC0)")
    q("mxint8", "floor", "rne", [1.0, 1.0 / 128, -3.0 / 128], "INT8 ties to even: 0.5/64 -> 0, -1.5/64 -> -2/64")
    q("mxfp8_e4m3", "floor", "rne", [0x7F7FFFFF, 1.0], "largest float32: X = 2^119, 1.0 underflows to 0")
    w.text("text/mx.tv", "\n".join(lines) + "\n", "expected", "quantize")


# ----- formats beside MX v1.0 (mxref.ext; not the spec) ---------------------------------------------

NVFP4_MODES = (  # (tag, quantize_nvfp4 keywords): mxref's exact rule, and torchao's float32 model
    ("exact", dict()),
    ("exact.pts_amax", dict(per_tensor_scale="amax")),
    ("float32.min_normal", dict(arithmetic="float32", scale_clamp="min_normal")),
    ("float32.min_normal.pts_amax", dict(arithmetic="float32", scale_clamp="min_normal", per_tensor_scale="amax")),
)


def gen_ext(w: Writer, level: int):
    """ext/: the extension element formats (FP4 E3M0, INT4, INT2) and MX formats built on them
    (mxint4, mxint2, mxfp4_e3m0), in the same layout as the spec's, and NVFP4."""
    names = tuple(mxref.EXTENSION_FORMATS)
    gen_decode(w, names, prefix="ext/")
    gen_encode(w, level, names, prefix="ext/", e8m0=False)
    gen_mx(w, level, mxref.ext.EXT_MX_FORMATS, prefix="ext/")
    # NVFP4: rows of 64 (four blocks of 16) and ragged rows of 40; edge blocks reuse the MX edge
    # set of FP4 (rows of 32 = two NVFP4 blocks), random blocks the MX distributions
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


# ----- manifest -------------------------------------------------------------------------------------

def generate(root: Path, level: int) -> list[dict]:
    root.mkdir(parents=True, exist_ok=True)
    w = Writer(root)
    gen_decode(w)
    gen_encode(w, level)
    gen_mx(w, level)
    gen_packing(w)
    gen_matmul(w)
    gen_tv(w)
    gen_ext(w, level)
    cmd = "python tools/gen_vectors.py" + ("" if level == 1 else f" --level {level} --out DIR")
    manifest = dict(schema_version=SCHEMA_VERSION, generator=cmd, mxref_version=mxref.__version__,
                    seed=SEED, level=level, spec=SPEC, endianness="little", layout="C order, no header",
                    readme="README.md", files=sorted(w.entries, key=lambda e: e["path"]))
    (root / "MANIFEST.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    sums = sorted(w.entries, key=lambda e: e["path"])
    (root / "SHA256SUMS").write_text("".join(f"{e['sha256']}  {e['path']}\n" for e in sums))
    return sums


DEFAULT_OUT = Path(__file__).resolve().parents[1] / "spec_vectors"


def previous_set(out: Path):
    """The file paths of the vector set in out (its MANIFEST.json, written by this tool), or None
    when out holds no such set."""
    try:
        with open(out / "MANIFEST.json", "rb") as f:
            m = json.loads(f.read(64 << 20).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if (not isinstance(m, dict) or not isinstance(m.get("generator"), str)
            or not m["generator"].startswith("python tools/gen_vectors.py") or not isinstance(m.get("files"), list)):
        return None
    return {e["path"] for e in m["files"] if isinstance(e, dict) and isinstance(e.get("path"), str)}


def main(argv=None) -> int:
    desc, _, epilog = __doc__.partition("\n\n")
    ap = argparse.ArgumentParser(description=desc.replace("\n", " "), epilog=epilog,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                    help="directory to write the set into (default: spec_vectors/ of this checkout, whose "
                         "committed files are rewritten in place). DIR may be new, empty, or hold a previous "
                         "set (a MANIFEST.json written by this tool): its files are overwritten, and it says so. "
                         "Any other non-empty directory is refused unless --force is given.")
    ap.add_argument("--level", type=int, choices=(1, 2), default=1,
                    help="1: the committed set (default); 2: the larger set (16x more encode inputs, 21x more "
                         "MX blocks, about 123 MiB), needs --out")
    ap.add_argument("--force", action="store_true",
                    help="write into a non-empty --out DIR that does not hold a previous set (files of the same "
                         "names are overwritten, others are left as they are)")
    a = ap.parse_args(argv)
    out = a.out
    if a.level == 2 and out.resolve() == DEFAULT_OUT.resolve():
        ap.error("--level 2 needs --out DIR: spec_vectors/ holds the committed level-1 set")
    if out.exists() and not out.is_dir():
        ap.error(f"--out {out}: exists and is not a directory")
    old = previous_set(out) if out.is_dir() else None
    if out.is_dir() and old is None and any(out.iterdir()):
        if not a.force:
            ap.error(f"--out {out}: a non-empty directory without a previous vector set (no MANIFEST.json "
                     "written by tools/gen_vectors.py); refusing to write into it (use an empty or new "
                     "directory, or --force)")
        print(f"--force: writing into {out}, a non-empty directory that holds no previous vector set")
    files = generate(out, a.level)
    total = sum(e["size"] for e in files)
    how = "replacing the previous set there" if old is not None else "a new set"
    print(f"wrote {len(files)} files, {total / 2**20:.1f} MiB, and MANIFEST.json, SHA256SUMS into {out} ({how})")
    stale = sorted(old - {e["path"] for e in files}) if old is not None else []
    if stale:
        print(f"note: {len(stale)} file(s) of the previous set are not in this one and were left in place "
              f"(verify_vectors.py will report them), e.g. {stale[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
