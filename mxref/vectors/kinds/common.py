"""What every kind's reference check uses: the check context, seeded sampling, float32 bit
comparisons and the one way a block of wrong dequantized values is reported."""

from __future__ import annotations

import hashlib
import math

import numpy as np

from ..schema import array_of

#: file types of expected files, longest first: the part of the name after the base
FILE_TYPES = ("identify.elements.u8", "identify.scales.u8", "dequantized.f32.u32", "per_tensor_scale.f32.u32",
              "scales.u8", "elements.u8", "exact.txt", "d.f32.u32", "f32.u32", "tv", "u8")


def kind_of(e: dict) -> tuple[str, str]:
    """(operation, file type) of a manifest entry: the key of the kinds registry."""
    name = e["path"].rsplit("/", 1)[-1]
    t = next((t for t in FILE_TYPES if name.endswith("." + t)), name.rsplit(".", 1)[-1])
    return e["operation"], t


class Ctx:
    """What a reference check reads: the manifest's entries by path, the intact files ({path:
    bytes}), where to report (``rep.bad(text)``), and how many values or blocks to sample per
    binary file (0 = all)."""

    def __init__(self, m: dict, good: dict, rep, sample: int):
        self.by_path = {e["path"]: e for e in m["files"]}
        self.good, self.rep, self.sample = good, rep, sample

    def arr(self, p: str) -> np.ndarray:
        return array_of(self.good[p], self.by_path[p])

    def ins(self, e: dict) -> list:
        return [self.arr(q) for q in e.get("inputs", [])]


def sample(n: int, k: int, key: str) -> np.ndarray:
    """Sorted indices of a seeded sample of k of range(n) (all of them for k = 0 or k >= n)."""
    if k == 0 or k >= n:
        return np.arange(n)
    rng = np.random.Generator(np.random.PCG64(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")))
    return np.sort(rng.choice(n, size=k, replace=False))


def sampled_blocks(shape, k: int, n: int, key: str):
    """(row, block, slice) of a seeded sample of n of the blocks of k along the last axis of shape."""
    rows, L = shape
    nb = -(-L // k)
    blocks = [(r, b) for r in range(rows) for b in range(nb)]
    for j in sample(len(blocks), n, key):
        r, b = blocks[j]
        yield r, b, slice(b * k, min(L, (b + 1) * k))


def f32(b) -> float:
    """The float32 value of the bit pattern b, as a Python float."""
    return float(np.uint32(b).view(np.float32))


def f32_hex(v: float) -> str:
    return "NaN" if math.isnan(v) else f"{int(np.float32(v).view(np.uint32)):08X}"


def same_f32(g: int, want) -> bool:
    """float32 bits g equal to the reference value want (a float or numpy float32): bit for bit
    (the sign of zero included), any NaN for a NaN."""
    v, w = f32(g), float(want)
    if math.isnan(w):
        return math.isnan(v)
    return v == w and math.copysign(1, v) == math.copysign(1, w)


def need_axis_last(e: dict):
    if e.get("axis", -1) != -1:
        raise ValueError(f"axis {e['axis']} (this verifier reads blocks along the last axis, axis -1)")


def report_values(rep, p, r, b, sl, got, codes, want, what):
    """One MISMATCH per block of dequantized values that differs: the first differing element
    (its column, code, got and expected float32 bits) and how many differ in the block."""
    bad = [j for j, (g, w) in enumerate(zip(got[r, sl], want)) if not same_f32(int(g), w)]
    if bad:
        j = bad[0]
        col, g = sl.start + j, int(got[r, sl][j])
        rep.bad(f"{p} [{r},{col}] (row {r} block {b}): {what} element {int(codes[r, col]):02X} got {g:08X} "
                f"({f32(g)!r}), expected {f32_hex(want[j])} ({want[j]!r}); {len(bad)} of {len(want)} "
                "values of the block differ")


def checked_with_scales(ctx: Ctx, e: dict):
    """elements.u8 / per_tensor_scale.f32.u32 of a quantize: checked, block by block, together
    with the scales file of the same base name (its check reads them); an error if that is not
    an expected file of the same operation in the manifest."""
    p = e["path"]
    base = p[: -len("." + kind_of(e)[1])]
    s = ctx.by_path.get(base + ".scales.u8")
    if s is None or s["role"] != "expected" or s["operation"] != e["operation"]:
        raise ValueError(f"no expected {e['operation']} file {base}.scales.u8 to check it with")
    # the scales file's own check compares this file (or reports why it could not)


def companion(ctx: Ctx, p: str, file_type: str):
    """The base.<file_type> file read together with the scales file p: its path, or None after
    reporting that it is missing or damaged; ValueError when the manifest lacks it."""
    q = p[: -len(".scales.u8")] + "." + file_type
    if q not in ctx.by_path:
        raise ValueError(f"no {q} in the manifest to check with it")
    if q not in ctx.good:
        ctx.rep.bad(f"{p}: not checked against the reference: {q} is missing or damaged")
        return None
    return q
