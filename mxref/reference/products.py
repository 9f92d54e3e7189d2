"""Scalar dot products, one term at a time on extended reals (MX §6.1, §6.2)."""

from __future__ import annotations

from fractions import Fraction

from .elements import decode_exact
from .exact import ext_mul, ext_sum, round_float32_scalar, to_extended

__all__ = ["mx_values_scalar", "dot_scalar"]


def mx_values_scalar(mx) -> list:
    """Exact values X * P_i of a 1-D MXArray, element by element: a NaN scale makes its whole
    block NaN; with a finite scale X = 2^(code - 127), an element's NaN/Inf code is NaN/Inf, any
    other code X times its exact value. (MX §5.1, §5.3, §5.4.1)"""
    if len(mx.shape) != 1:
        raise ValueError(f"mx must be 1-D, got shape {mx.shape}")
    el, k = mx.format.element, mx.block_size
    out = []
    for i, code in enumerate(mx.elements.tolist()):
        s = int(mx.scales[i // k])
        if s == 0xFF:
            out.append("nan")
            continue
        d = decode_exact(code, el)
        if isinstance(d, str):
            out.append(to_extended(d))
            continue
        sign, mag = d
        out.append((-mag if sign else mag) * Fraction(2) ** (s - 127))
    return out


def dot_scalar(a, b, *, accumulate: str = "exact", block_size: int | None = None, dtype="float32"):
    """Dot product of two equal-length vectors, one term at a time (MX §6.1, §6.2).

    ``a`` and ``b`` are 1-D MXArrays or sequences of values (floats, Fractions, or "nan" /
    "+inf" / "-inf"). Blocks are the MXArrays' (both must agree) or ``block_size``.

      exact            the exact sum of the exact products, rounded once (``dtype="float32"``)
                       or returned exactly (``dtype="exact"``: a Fraction, or "nan" / "+inf" /
                       "-inf").
      fp32_blockwise   acc = +0.0; for each block in order: acc = fl32(acc + fl32(exact block sum)).
      fp32_sequential  acc = +0.0; for each i in order: acc = fl32(acc + fl32(a_i * b_i)).

    fl32 is :func:`round_float32_scalar`; the float32 additions are numpy float32 scalar
    additions (IEEE 754 binary32, round to nearest even)."""
    import numpy as np

    from ..arrays import MXArray

    ks = {x.block_size for x in (a, b) if isinstance(x, MXArray)}
    if block_size is not None:
        ks.add(int(block_size))
    if len(ks) > 1:
        raise ValueError(f"block sizes differ: {sorted(ks)}")
    k = ks.pop() if ks else None
    va = mx_values_scalar(a) if isinstance(a, MXArray) else [to_extended(v) for v in a]
    vb = mx_values_scalar(b) if isinstance(b, MXArray) else [to_extended(v) for v in b]
    if len(va) != len(vb):
        raise ValueError(f"lengths differ: {len(va)} and {len(vb)}")
    prods = [ext_mul(x, y) for x, y in zip(va, vb)]
    if accumulate == "exact":
        s = ext_sum(prods)
        return s if dtype == "exact" else round_float32_scalar(s)
    if dtype != "float32":
        raise ValueError("dtype='exact' goes with accumulate='exact' only")
    with np.errstate(invalid="ignore", over="ignore"):
        acc = np.float32(0.0)
        if accumulate == "fp32_sequential":
            for p in prods:
                acc = np.float32(acc + round_float32_scalar(p))
            return acc
        if accumulate == "fp32_blockwise":
            if k is None:
                raise ValueError("fp32_blockwise needs blocks: MXArrays or block_size")
            for j in range(0, len(prods), k):
                acc = np.float32(acc + round_float32_scalar(ext_sum(prods[j:j + k])))
            return acc
    raise ValueError(f"unknown accumulate {accumulate!r}")
