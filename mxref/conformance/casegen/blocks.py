"""The one quantize case builder, for every block format (MX v1.0 §5 and NVFP4).

A :class:`BlockFamily` gives what differs between block formats -- the block size (the
target's), how a block is built around a given amax, the boundary amax table, the largest input
magnitude, the single values worth a block of their own, the ragged row lengths and the random
block kinds -- and :func:`quantize_batches` builds the batches from it: whole blocks around every
boundary amax, special blocks (NaN, Inf, zeros, single non-zero elements, extremes), random
blocks to the level's minimum, then rows of ragged lengths. The draws from the generator are in
a fixed order, so a (seed, target) always gives the same cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..model import LEVEL_MINIMUM

#: the smallest block the special blocks fit in (they set elements 0, 1, 2 and 5, the middle one
#: and the last one)
MIN_BLOCK = 6


@dataclass(frozen=True)
class BlockFamily:
    """What the builder needs of one block format (see the module docstring)."""

    k: int  # the block size (the target's)
    around: Callable  # around(amax (n,), rng, dt, k) -> (n, k) blocks, +-amax in each
    table: Callable  # table(level) -> the boundary block maxima, ascending, in dt
    top: float  # the largest finite |x| the cases hold (float32 max, or the tensor cap)
    singles: tuple  # values worth a block holding only them (skipped above top)
    reps: dict  # {level: how often the boundary table is repeated}
    lengths: dict  # {level: the row lengths of the ragged batches}
    random_parts: Callable  # random_parts(n, dt) -> [(kind, count, *exponent range)], in draw order
    cap: float | None = None  # |x| is clipped to this (NVFP4 "amax": the tensor's amax)


def mixed_blocks(a, mags, rng, dt, k, p, far_max, scaled) -> np.ndarray:
    """Blocks of k around amax a (n, 1): kinds drawn with probabilities p -- uniform below amax,
    exact ties of the element grid ``mags`` (and their float neighbours) and grid values, both
    through ``scaled()``'s map, values 2^-1 ... 2^-(far_max-1) of amax, float32 subnormals or
    zeros -- random signs, and +-amax at a random position."""
    n = len(a)
    u = rng.random((n, k))
    kind = rng.choice(5, size=(n, k), p=p)
    to_block = scaled()
    i = rng.integers(0, len(mags) - 1, size=(n, k))
    with np.errstate(all="ignore"):
        tie = to_block((mags[i] + mags[i + 1]) / 2)
        rep = to_block(mags[i])
        far = a * np.ldexp(1.0 + u, -rng.integers(1, far_max, size=(n, k)))
        tiny = np.where(rng.random((n, k)) < 0.5, 0.0,
                        np.ldexp(rng.integers(1, 1 << 23, size=(n, k)).astype(np.float64), -149))
        c = np.choose(kind, [a * u, tie, rep, far, tiny])
        c = np.where(c > a, a * u, c).astype(dt)
        step = rng.integers(-1, 2, size=(n, k))
        c = np.where((kind == 1) & (step < 0), np.nextafter(c, dt.type(0)), c)
        c = np.where((kind == 1) & (step > 0), np.nextafter(c, dt.type(np.inf)), c)
    c = np.where(c > a.astype(dt), a.astype(dt), c)
    c = np.where(rng.random((n, k)) < 0.5, -c, c)
    pos = rng.integers(0, k, size=n)
    sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    c[np.arange(n), pos] = (sign * a[:, 0]).astype(dt)
    return c.astype(dt)


def special_blocks(fam: BlockFamily, rng, dt, level: int) -> np.ndarray:
    """NaN, Inf, zero and -0 blocks, single non-zero elements, constant and extreme blocks."""
    k = fam.k
    amax = fam.table(1).astype(np.float64)
    base = lambda n: fam.around(rng.choice(amax, n), rng, dt, k).astype(np.float64)  # noqa: E731
    out = [np.zeros(k), -np.zeros(k), np.where(rng.random(k) < 0.5, -0.0, 0.0)]
    for p in ([0, 1, k // 2 - 1, k - 1] if level == 1 else list(range(k))):
        b = base(4)
        b[0, p], b[1, p], b[2, p], b[3, p] = np.nan, -np.nan, np.inf, -np.inf
        out += list(b)
        z = np.zeros(k)
        z[p] = np.inf
        out.append(z)
    b = base(3)
    b[0, :3] = [np.nan, np.inf, -np.inf]
    b[1, :2] = [np.inf, fam.top]
    b[2, :] = np.nan
    out += list(b)
    for v in fam.singles:
        if v > fam.top:
            continue
        for p in (0, k - 1):
            z = np.zeros(k) * np.where(rng.random(k) < 0.5, -1, 1)
            z[p] = -v if p else v
            out.append(z)
    out.append(np.full(k, fam.top) * np.where(rng.random(k) < 0.5, -1, 1))
    out.append(np.full(k, 2.0**-149))
    out.append(np.ldexp(rng.integers(1, 1 << 23, size=k).astype(np.float64), -149))
    b = base(4)
    b[:, 5] = -0.0
    out += list(b)
    with np.errstate(all="ignore"):
        return np.array(out).astype(dt)


def _random_part(kind: str, n: int, k: int, rng, *exps) -> np.ndarray:
    """n random blocks of one kind (float64): "normal_row" (normal data times 2^e, one e per
    block), "normal_element" (one e per element), "wide" ((1 + u) 2^e per element, random
    signs), "bits" (float32 bit patterns, NaN and Inf patterns turned finite)."""
    if kind == "normal_row":
        return rng.standard_normal((n, k)) * np.exp2(rng.integers(*exps, size=(n, 1)).astype(np.float64))
    if kind == "normal_element":
        return rng.standard_normal((n, k)) * np.exp2(rng.integers(*exps, size=(n, k)).astype(np.float64))
    if kind == "wide":
        c = (1 + rng.random((n, k))) * np.exp2(rng.integers(*exps, size=(n, k)).astype(np.float64))
        return np.where(rng.random((n, k)) < 0.5, -c, c)
    if kind == "bits":
        bits = rng.integers(0, 1 << 32, size=(n, k), dtype=np.uint64).astype(np.uint32)
        bits = np.where((bits & 0x7F800000) == 0x7F800000, bits & 0xBFFFFFFF, bits).astype(np.uint32)
        return bits.view(np.float32).astype(np.float64)
    raise ValueError(f"unknown random block kind {kind!r}")


def random_blocks(fam: BlockFamily, n: int, rng, dt) -> np.ndarray:
    """n random blocks, the family's kinds in its order; clipped to the cap; non-finite -> 0."""
    with np.errstate(all="ignore"):
        parts = [_random_part(kind, count, fam.k, rng, *exps)
                 for kind, count, *exps in fam.random_parts(n, dt) if count]
        out = np.concatenate(parts)
        if fam.cap is not None:
            out = np.clip(out, -fam.cap, fam.cap)
        out = out.astype(dt)
    return np.where(np.isfinite(out), out, dt.type(0))


def ragged_rows(fam: BlockFamily, rng, dt, level: int) -> list[np.ndarray]:
    """Rows of the family's ragged lengths: full blocks and a short last block, each built
    around a boundary amax."""
    rows_per = 8 if level == 1 else 40
    table = fam.table(1)
    k = fam.k
    out = []
    for L in fam.lengths[level]:
        nfull, short = divmod(L, k)
        row = [fam.around(rng.choice(table, rows_per), rng, dt, k) for _ in range(nfull)]
        if short:
            row.append(fam.around(rng.choice(table, rows_per), rng, dt, short))
        out.append(np.concatenate(row, axis=1))
    return out


def quantize_batches(fam: BlockFamily, rng, dt, level: int) -> list[np.ndarray]:
    """The quantize batches of a family: whole blocks (boundary table, specials, random blocks
    to the level's minimum), then the ragged rows; with a cap, every batch's first element is
    the cap (its largest |x|), and one all-zero tensor (+0 and -0 rows) comes last."""
    k = fam.k
    if k < MIN_BLOCK:
        raise ValueError(f"the generated quantize cases need blocks of at least {MIN_BLOCK} elements, "
                         f"got block_size {k}")
    parts = [fam.around(np.tile(fam.table(level), fam.reps[level]), rng, dt, k), special_blocks(fam, rng, dt, level)]
    ragged = ragged_rows(fam, rng, dt, level)
    have = sum(len(p) for p in parts) + sum(r.shape[0] * -(-r.shape[1] // k) for r in ragged)
    need = LEVEL_MINIMUM[level]["quantize"]
    parts.append(random_blocks(fam, max(need - have, 0) + (200 if level == 1 else 2000), rng, dt))
    out = [np.concatenate(parts)] + ragged
    if fam.cap is not None:
        for b in out:
            b[0, 0] = dt.type(fam.cap)
        out.append(np.concatenate([np.zeros((1, k), dt), -np.zeros((1, k), dt)]))
    return out
