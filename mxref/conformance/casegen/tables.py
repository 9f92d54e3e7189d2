"""The pieces every case generator shares: a seeded generator per (operation, format, dtype),
the exact magnitudes of an element format, and values with their float neighbours."""

from __future__ import annotations

import zlib

import numpy as np

from ... import decode


def case_rng(seed: int, *key) -> np.random.Generator:
    """A generator for one (operation, format, dtype), independent of which targets run."""
    return np.random.default_rng([int(seed), zlib.crc32(":".join(map(str, key)).encode())])


def neighbours(v, dt) -> np.ndarray:
    """v and both of its neighbours in dt (finite, non-negative values stay so)."""
    v = np.asarray(v, dtype=dt)
    with np.errstate(all="ignore"):
        return np.concatenate([v, np.nextafter(v, dt.type(0)), np.nextafter(v, dt.type(np.inf))])


def magnitudes(el) -> np.ndarray:
    """Every finite non-negative value of an element format, ascending (float64, exact)."""
    v = decode(np.arange(el.num_codes), el, np.float64)
    v = v[np.isfinite(v) & (v >= 0)]
    return np.unique(v)
