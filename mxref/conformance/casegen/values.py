"""Value cases (TestFloat-style): encode (element conversion, MX §5.3 / OFP8 §5.2.1) and
encode_e8m0 (MX §5.4.1) -- every value of the format, its midpoints and neighbours, values
beyond its range, random values in and around it, random bit patterns, and at level 2 every
float16 and bfloat16 pattern."""

from __future__ import annotations

import numpy as np

from ...formats import element_format
from .tables import case_rng, magnitudes, neighbours


def encode_cases(fmt: str, level: int, seed: int, dtype: str) -> list[np.ndarray]:
    dt = np.dtype(dtype)
    el = element_format(fmt)
    rng = case_rng(seed, "encode", fmt, dtype)
    mags = magnitudes(el)
    mids = (mags[:-1] + mags[1:]) / 2
    top = mags[-1]
    q = top - mags[-2]
    extra = [top + q / 2, top + q, 2 * top, 1.5 * top, mags[1] / 4, mags[1] * 0.75]
    base = np.concatenate([mags, mids, extra])
    parts = [neighbours(np.concatenate([base, -base]), dt)]
    if dt == np.float64:  # probes of double rounding through float32: just off a tie
        off = np.concatenate([mids, -mids])
        parts.append(off * (1 + 2.0**-30))
        parts.append(off * (1 - 2.0**-30))
    fi = np.finfo(dt)
    parts.append(np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, fi.max, -fi.max, fi.smallest_subnormal,
                           -fi.smallest_subnormal, fi.tiny, 2.0**-149, 1e-30, -1e-30], dtype=dt))
    n_rand = 10_000 if level == 1 else 150_000
    # values in and around the format's range, every mantissa bit random
    m_bits = 23 if dt == np.float32 else 52
    lo = el.emin - el.mantissa_bits - 4
    e = rng.integers(lo, el.emax + 4, size=n_rand)
    frac = rng.integers(0, 1 << m_bits, size=n_rand, dtype=np.uint64).astype(np.float64)
    with np.errstate(all="ignore"):
        r = np.ldexp(1.0 + np.ldexp(frac, -m_bits), e)
    r = np.where(rng.random(n_rand) < 0.5, -r, r).astype(dt)
    parts.append(r)
    # any bit pattern (NaN payloads, Inf, subnormals included)
    nb = 2_000 if level == 1 else 20_000
    if dt == np.float32:
        parts.append(rng.integers(0, 1 << 32, size=nb, dtype=np.uint64).astype(np.uint32).view(np.float32))
    else:
        parts.append(rng.integers(0, np.iinfo(np.int64).max, size=nb, dtype=np.int64).view(np.float64)
                     * np.where(rng.random(nb) < 0.5, -1, 1))
    if level == 2:
        f16 = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
        bf16 = (np.arange(1 << 16, dtype=np.uint32) << 16).view(np.float32)
        with np.errstate(all="ignore"):
            parts += [f16.astype(dt), bf16.astype(dt)]
    with np.errstate(all="ignore"):
        return [np.concatenate([np.asarray(p).astype(dt) for p in parts])]


def e8m0_cases(level: int, seed: int, dtype: str) -> list[np.ndarray]:
    dt = np.dtype(dtype)
    rng = case_rng(seed, "encode_e8m0", dtype)
    ks = np.arange(-149, 128)
    bases = np.array([1.0, 1.25, 1.5, 1.75])
    with np.errstate(all="ignore"):
        v = neighbours(np.ldexp(bases[:, None], ks[None, :]).reshape(-1).astype(dt), dt)
    fi = np.finfo(dt)
    special = np.array([0.0, -0.0, -1.0, -2.0**-130, -np.inf, np.inf, np.nan, fi.max, fi.smallest_subnormal], dt)
    n = 3_000 if level == 1 else 100_000
    if dt == np.float32:
        r = rng.integers(1, 0x7F800000, size=n, dtype=np.int64).astype(np.uint32).view(np.float32)
    else:
        r = np.exp2(rng.uniform(-160, 130, size=n))
    return [np.concatenate([v[np.isfinite(v)], special, r.astype(dt)])]
