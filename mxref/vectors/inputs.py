"""Inputs of the golden vectors: deterministic, integer-built float32 bit patterns.

Every byte is reproducible: inputs come from the boundary tables of each format and from the
raw 64-bit output of NumPy's PCG64 bit generator (:class:`Raw`; stable across NumPy versions
and machines), turned into float32 bit patterns with integer arithmetic only (no libm, no float
rounding). The streams below define the committed files of spec_vectors/: changing any of them
changes those bytes.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

import mxref
from mxref.options import SCALE_RULES

SEED = 20261121
#: the spec's element formats with vectors (e8m0 apart: its own encode, MX §5.4.1)
ELEMENT_FORMATS = ("fp8_e4m3", "fp8_e5m2", "fp6_e2m3", "fp6_e3m2", "fp4_e2m1", "int8")
DETERMINISTIC = ("rne", "ties_away", "toward_zero", "up", "down")
SR_BITS = 8  # random_bit_count used for the stochastic-rounding vectors

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


def mx_mode_list():
    """(tag, quantize keyword arguments): every rule with RNE; every other rounding with floor;
    the special-value options with floor RNE."""
    out = [(f"{r}.rne", dict(scale_rule=r)) for r in SCALE_RULES]
    out += [(f"floor.{r}", dict(rounding=r)) for r in DETERMINISTIC if r != "rne"]
    out += [("floor.stochastic", dict(rounding="stochastic")),
            ("floor.rne.finite_scale", dict(inf_policy="finite_scale")),
            ("floor.rne.flush_subnormals", dict(flush_subnormals=True))]
    return out


MM = (6, 64, 4)  # M, K, N of every matmul vector set: two blocks of 32 along K


def mx_operand(mxf, shape, axis, raw: Raw, plant: dict) -> "mxref.MXArray":
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


