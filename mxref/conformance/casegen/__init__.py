"""The checker's cases (TestFloat-style): per-format boundary tables crossed with seeded random
data, deterministic for (seed, operation, format, dtype) -- and, for NVFP4, the profile's
per-tensor scale.

``quantize`` cases come from one builder (:mod:`.blocks`) parametrised by a block family
(:mod:`.families`: MX v1.0, NVFP4) with the target's block size; ``encode`` and ``encode_e8m0``
cases from :mod:`.values`.
"""

from __future__ import annotations

import numpy as np

from ..model import LEVEL_MINIMUM, NVFP4, OPERATIONS, Target, count_cases, pts_str
from .blocks import BlockFamily, quantize_batches
from .families import mx_family, nvfp4_family
from .tables import case_rng
from .values import e8m0_cases, encode_cases

__all__ = ["cases", "BlockFamily", "block_family"]


def block_family(target: Target) -> BlockFamily:
    """The block family of a quantize target (NVFP4 or MX), with the target's block size."""
    return nvfp4_family(target) if target.format == NVFP4 else mx_family(target)


def _rng_of(target: Target, seed: int) -> np.random.Generator:
    if target.format == NVFP4:
        pts_key = pts_str(dict(target.profile.options).get("per_tensor_scale"))
        return case_rng(seed, "quantize", NVFP4, target.dtype, pts_key)
    return case_rng(seed, "quantize", target.format, target.dtype)


def cases(target: Target, level: int = 1, seed: int = 0) -> list[np.ndarray]:
    """The inputs of a target: a list of batches (quantize: 2-D, blocks of the target's block
    size along the last axis, the first batch whole blocks, then rows of ragged lengths; NVFP4
    with the "amax" per-tensor scale: each batch is one tensor; encode, encode_e8m0: 1-D).
    Deterministic for (seed, operation, format, dtype), and for NVFP4 the per-tensor scale."""
    if level not in LEVEL_MINIMUM:
        raise ValueError(f"level must be 1 or 2, got {level!r}")
    if target.operation not in OPERATIONS:
        raise ValueError(f"no generated cases for operation {target.operation!r} (only {', '.join(OPERATIONS)}; "
                         "the others are checked from files in the spec_vectors layout)")
    with np.errstate(all="ignore"):  # NaN payloads and overflowing products are wanted here
        if target.operation == "quantize":
            out = quantize_batches(block_family(target), _rng_of(target, seed), np.dtype(target.dtype), level)
        elif target.operation == "encode":
            out = encode_cases(target.format, level, seed, target.dtype)
        else:
            out = e8m0_cases(level, seed, target.dtype)
    n = sum(count_cases(target, b) for b in out)
    if n < LEVEL_MINIMUM[level][target.operation]:  # pragma: no cover - a generator bug
        raise RuntimeError(f"{target.operation} {target.format}: {n} cases, below the level-{level} minimum")
    return out
