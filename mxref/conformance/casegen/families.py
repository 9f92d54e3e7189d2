"""The block families of the quantize cases: MX v1.0 (E8M0 scale, MX §5.4.1, §6.3) and NVFP4
(mxref.ext.nvfp4, not MX v1.0: unsigned E4M3 block scale and a per-tensor scale P)."""

from __future__ import annotations

import numpy as np

from ... import decode, encode, mx_format
from ...formats import element_format
from ..model import Profile, Target
from .blocks import BlockFamily, mixed_blocks
from .tables import magnitudes, neighbours

_F32MAX = float(np.finfo(np.float32).max)


def mx_amax_table(el, level: int, dt) -> np.ndarray:
    """Block maxima at the boundaries of every scale rule, over the exponent range, with their
    neighbours in dt: powers of two (FLOOR/CEIL), the EVEN carry threshold 2 - 2^-(m+1), the
    element max (RCEIL/ROUND_DOWN, clipping) and the value that rounds past it, and 1.5."""
    m = el.mantissa_bits - (1 if el.integer else 0)
    emax = el.emax
    top_half_ulp = 2.0 ** (emax - m - 1)
    bases = np.array([1.0, 1.5, 2.0 - 2.0 ** -(m + 1), el.max / 2.0**emax,
                      (el.max + top_half_ulp) / 2.0**emax])
    if level == 1:
        ks = {-149, -148, -145, -140, -135, -133, -130, -129, -128, -127, -126, -125, -124, -120,
              -128 + emax, -127 + emax, -126 + emax, -125 + emax, -64, -17, -2, -1, 0, 1, 2, 3,
              emax, emax + 1, 17, 64, 100, 120, 125, 126, 127}
    else:
        ks = set(range(-149, 128))
    if dt == np.float64:
        ks |= {-1074, -1000, -160, -150, 128, 130, 200} if level == 2 else {-160, 128}
    ks = np.array(sorted(ks))
    with np.errstate(all="ignore"):
        v = np.ldexp(bases[:, None], ks[None, :]).reshape(-1)
        v = neighbours(v.astype(dt), dt)
    v = v[np.isfinite(v) & (v > 0)]
    return np.unique(v)


def mx_blocks_around(amax, el, rng, dt, k: int = 32) -> np.ndarray:
    """One block of k per amax: ±amax at a random position; the other elements mix uniform
    values below amax, exact ties (and their neighbours) and representable values after scaling
    by 2^(floor(log2 amax) - emax + d), d in {-1, 0, 1}, values far below (underflow), float32
    subnormals and signed zeros."""
    a = np.asarray(amax, np.float64)[:, None]

    def scaled():  # drawn after the kinds, before the grid indices (the case stream is fixed)
        se = np.clip(np.frexp(a)[1] - 1 - el.emax + rng.integers(-1, 2, size=(len(a), k)), -127, 127)
        return lambda v: np.ldexp(v, se)

    return mixed_blocks(a, magnitudes(el), rng, dt, k, [0.3, 0.3, 0.15, 0.15, 0.1], 41, scaled)


def _mx_random_parts(n: int, dt) -> list:
    n1, n2 = n // 3, n // 3
    middle = ("bits", n2) if dt == np.float32 else ("normal_element", n2, -160, 140)
    return [("normal_row", n1, -135, 121), middle, ("wide", n - n1 - n2, -149, 128)]


def mx_family(target: Target) -> BlockFamily:
    """The MX blocks of a quantize target: around the boundaries of every scale rule."""
    el = mx_format(target.format).element
    dt = np.dtype(target.dtype)
    return BlockFamily(
        k=target.block_size,
        around=lambda amax, rng, dt_, k: mx_blocks_around(amax, el, rng, dt_, k),
        table=lambda level: mx_amax_table(el, level, dt),
        top=_F32MAX,
        singles=(2.0**-149, 3 * 2.0**-149, 2.0**-127, 1.5 * 2.0**-127, 2.0**-126, 1.0, _F32MAX, 2.0**127),
        reps={1: 1, 2: 2},
        lengths={1: (1, 7, 31, 33, 63, 100),
                 2: (1, 2, 3, 5, 7, 9, 15, 17, 31, 33, 47, 63, 65, 95, 100, 127, 129)},
        random_parts=_mx_random_parts)


# NVFP4 (mxref.ext.nvfp4, not MX v1.0): blocks around the unsigned E4M3 block-scale grid

#: the tensor amax the NVFP4 cases with the "amax" per-tensor scale are built for
_NVFP4_CASE_AMAX = 100.0


def nvfp4_case_pts(profile: Profile) -> tuple:
    """(P the NVFP4 cases are placed for, the cap on |x| or None). No per-tensor scale: P = 1;
    a given one: itself; "amax": P = fp32(100 / 2688), and each batch (one tensor) gets 100 as
    its largest finite |x|, so that fp32(amax_T / 2688) is that P. A reciprocal (global) scale
    G (``per_tensor_scale_form="reciprocal"``): P = 1 / G (float64), G given or fp32(2688 / 100)."""
    opts = dict(profile.options)
    pts = opts.get("per_tensor_scale")
    recip = opts.get("per_tensor_scale_form") == "reciprocal"
    if pts is None:
        return 1.0, None
    if isinstance(pts, str):
        div = np.float32(element_format("fp8_e4m3").max * element_format("fp4_e2m1").max)
        if recip:
            return 1.0 / float(div / np.float32(_NVFP4_CASE_AMAX)), _NVFP4_CASE_AMAX
        return float(np.float32(_NVFP4_CASE_AMAX) / div), _NVFP4_CASE_AMAX  # one float32 division
    return (1.0 / float(pts) if recip else float(pts)), None


def nvfp4_amax_table(P: float, cap, dt) -> np.ndarray:
    """Block maxima at the boundaries of the block scale S = E4M3(amax / (6 P)): 6 P times every
    E4M3 magnitude, every midpoint of neighbours, the values past 448, the region that rounds to
    0 (and is clamped to 2^-6), with their neighbours in dt; float32 extremes unless capped."""
    e4 = magnitudes(element_format("fp8_e4m3"))[1:]
    s = np.concatenate([e4, (e4[:-1] + e4[1:]) / 2, [464.0, 480.0, 2.0**-10, 2.0**-11, 3 * 2.0**-11]])
    v = list(6.0 * P * s) + [2.0**-149, 3 * 2.0**-149, 2.0**-127, 2.0**-126, 1.0]
    if cap is None:
        v += [6.0 * P * 448 * 2.0**k for k in (1, 10, 40)] + [2.0**100, 2.0**127,
                                                               float(np.finfo(np.float32).max)]
    with np.errstate(all="ignore"):
        v = neighbours(np.array(v).astype(dt), dt)
    v = v[np.isfinite(v) & (v > 0)]
    if cap is not None:
        v = v[v <= cap]
    return np.unique(v)


def nvfp4_blocks_around(amax, P: float, rng, dt, k: int = 16) -> np.ndarray:
    """One block of k per amax: +-amax at a random position; the others uniform below amax, E2M1
    ties and values times the block's unit P S (S = E4M3 of amax / (6 P), clamped to [2^-6, 448])
    and their neighbours, values far below, float32 subnormals and signed zeros."""
    e4 = element_format("fp8_e4m3")
    a = np.asarray(amax, np.float64)[:, None]
    with np.errstate(all="ignore"):
        sc = decode(encode(a[:, 0] / (6.0 * P), e4, rounding="rne", overflow="saturate"), e4, np.float64)
    unit = (P * np.maximum(sc, 2.0**-6))[:, None]
    return mixed_blocks(a, magnitudes(element_format("fp4_e2m1")), rng, dt, k, [0.25, 0.3, 0.2, 0.15, 0.1], 30,
                         lambda: (lambda v: v * unit))


def nvfp4_family(target: Target) -> BlockFamily:
    """The NVFP4 blocks of a target: around the E4M3 block-scale grid times 6 P; under the
    "amax" per-tensor scale every |x| is at most the tensor amax the cases are built for."""
    dt = np.dtype(target.dtype)
    P, cap = nvfp4_case_pts(target.profile)
    table = nvfp4_amax_table(P, cap, dt)
    e0 = int(np.frexp(6.0 * P)[1]) - 1
    top = e0 + (7 if cap is not None else 12)

    def random_parts(n, dt_):
        n1 = n // 2
        n2 = n - n1 if cap is not None else n // 4
        return [("normal_row", n1, e0 - 14, top), ("wide", n2, e0 - 20, top), ("bits", n - n1 - n2)]

    return BlockFamily(
        k=target.block_size,
        around=lambda amax, rng, dt_, k: nvfp4_blocks_around(amax, P, rng, dt_, k),
        table=lambda level: table,
        top=cap if cap is not None else _F32MAX,
        singles=(2.0**-149, 3 * 2.0**-149, 2.0**-126, 6 * P * 2.0**-10, 6 * P * 2.0**-9, 6 * P * 2.0**-6,
                 6 * P * 448, 1.0, cap if cap is not None else _F32MAX),
        reps={1: 1, 2: 4},
        lengths={1: (7, 17, 48, 80), 2: (1, 7, 15, 17, 31, 33, 48, 80, 112, 128)},
        random_parts=random_parts,
        cap=cap)
