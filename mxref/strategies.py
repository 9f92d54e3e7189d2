"""Hypothesis strategies for MX kernels, built from the conformance checker's boundary tables
(:mod:`mxref.conformance.casegen`): the same amax table (at, just below and just above every
power of two and every scale rule's threshold, over the whole exponent range), the same special
blocks (NaN, Inf, zeros, single elements, extremes) and the same mixed blocks (ties of the
element grid after scaling, values far below amax, float32 subnormals, signed zeros).

Needs Hypothesis: ``pip install 'mxref[testing]'``.

Example (a property test of your kernel)::

    from hypothesis import given
    import mxref.strategies as mxst
    from mxref.testing import assert_quantize_equal

    @given(mxst.blocks("mxfp8_e4m3", size=32))
    def test_my_kernel(x):
        s, e = my_kernel(x[None, :])            # your scales and element codes
        assert_quantize_equal(x[None, :], s, e, "mxfp8_e4m3")
"""

from __future__ import annotations

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("mxref.strategies needs Hypothesis: pip install 'mxref[testing]' "
                      "(or pip install hypothesis)") from exc

import numpy as np

from . import MX_FORMATS, decode, mx_format, quantize
from .conformance.casegen.blocks import MIN_BLOCK, special_blocks
from .conformance.casegen.families import mx_amax_table, mx_blocks_around, mx_family
from .conformance.casegen.tables import magnitudes
from .conformance.model import Profile, Target
from .formats import element_format
from .options import SCALE_RULES

#: the kinds of block :func:`blocks` draws, and how often (weights)
BLOCK_KINDS = {"boundary": 5, "tie": 3, "special": 3, "random": 1}
_DTYPES = (np.float16, np.float32, np.float64)


def _mx(fmt):
    try:
        return mx_format(fmt)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"unknown MX format {fmt!r}; known: {', '.join(MX_FORMATS)}") from exc


def _dtype(dtype) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.type not in _DTYPES:
        raise ValueError(f"dtype must be float16, float32 or float64, got {dt}")
    return dt


def element_values(format, *, dtype=np.float32, finite: bool = False):
    """Every value of an element format (an MX format names its element format) as ``dtype``
    scalars: all codes, NaN / Inf included unless ``finite``, and both zeros."""
    try:
        el = element_format(format)
    except ValueError:
        el = _mx(format).element
    dt = _dtype(dtype)
    v = decode(np.arange(el.num_codes), el, np.float64)
    if finite:
        v = v[np.isfinite(v)]
    with np.errstate(all="ignore"):
        vals = v.astype(dt)
    return st.sampled_from(list(vals))


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _tie_block(el, amax: float, rule: str, rng, dt, k: int) -> np.ndarray:
    """amax and exact midpoints of the element grid at the block's scale under ``rule`` (the
    scale mxref gives), each possibly moved to a float neighbour."""
    first = np.zeros(k, np.float64)
    first[0] = amax
    with np.errstate(all="ignore"):
        se = int(quantize(first.astype(dt), mx_format_of(el), scale_rule=rule, block_size=k).scales[0]) - 127
        m = magnitudes(el)
        i = rng.integers(0, len(m) - 1, size=k)
        b = np.ldexp((m[i] + m[i + 1]) / 2, se)
        b = np.where(b > amax, amax, b).astype(dt)
        step = rng.integers(-1, 2, size=k)
        b = np.where(step < 0, np.nextafter(b, dt.type(0)), np.where(step > 0, np.nextafter(b, dt.type(np.inf)), b))
        b = np.minimum(b, dt.type(amax))
        b = np.where(rng.random(k) < 0.5, -b, b).astype(dt)
    b[rng.integers(0, k)] = dt.type(amax)
    return b


def mx_format_of(el):
    for f in MX_FORMATS.values():
        if f.element is el:
            return f
    raise ValueError(f"no MX format has element {el.name}")  # pragma: no cover


def blocks(format, *, scale_rule: str = "floor", size: int = 32, dtype=np.float32):
    """One block of ``size`` values (a 1-D array of ``dtype``) for an MX format, drawn often at
    the boundaries: amax from the checker's table (every power of two, 1.5, the EVEN carry
    threshold, the element max and the value rounding past it, each with its neighbours, from
    2^-149 to 2^127), exact ties after scaling under ``scale_rule``, the checker's special blocks
    (NaN, Inf, zero, -0, single values, float32 subnormals, extremes) and random blocks."""
    fmt = _mx(format)
    if scale_rule not in SCALE_RULES:
        raise ValueError(f"unknown scale_rule {scale_rule!r}; known: {', '.join(SCALE_RULES)}")
    if isinstance(size, bool) or not isinstance(size, int) or size < MIN_BLOCK:
        raise ValueError(f"size must be an int >= {MIN_BLOCK} (the special blocks need it), got {size!r}")
    dt = _dtype(dtype)
    el = fmt.element
    table = mx_amax_table(el, 1, dt)
    fam = mx_family(Target("quantize", fmt.name, Profile("floor-rne"), dtype=dt.name, block_size=size))
    with np.errstate(all="ignore"):
        specials = special_blocks(fam, _rng(0), dt, 1)
    kinds = [k for k, w in BLOCK_KINDS.items() for _ in range(w)]

    @st.composite
    def draw_block(draw):
        kind = draw(st.sampled_from(kinds))
        seed = draw(st.integers(0, 2**32 - 1))
        rng = _rng(seed)
        if kind == "special":
            return specials[draw(st.integers(0, len(specials) - 1))].copy()
        if kind == "random":
            e = draw(st.integers(-140, 120))
            with np.errstate(all="ignore"):
                return (rng.standard_normal(size) * 2.0**e).astype(dt)
        amax = float(table[draw(st.integers(0, len(table) - 1))])
        if kind == "tie":
            return _tie_block(el, amax, scale_rule, rng, dt, size)
        with np.errstate(all="ignore"):
            return mx_blocks_around(np.array([amax]), el, rng, dt, size)[0]

    return draw_block()


def mx_arrays(format, *, shape=(4, 64), axis: int = -1, block_size: int = 32, scale_rule: str = "floor",
              dtype=np.float32):
    """Arrays of ``shape`` whose blocks along ``axis`` are :func:`blocks` (a ragged last block
    when the axis is not a multiple of ``block_size``)."""
    shape = tuple(int(d) for d in shape)
    if not shape or any(d < 1 for d in shape):
        raise ValueError(f"shape must have at least one dimension, each >= 1, got {shape}")
    ax = axis % len(shape)
    L = shape[ax]
    rows = int(np.prod(shape)) // L
    nb = -(-L // block_size)
    blk = blocks(format, scale_rule=scale_rule, size=max(block_size, MIN_BLOCK), dtype=dtype)

    @st.composite
    def draw_array(draw):
        r = np.stack([np.concatenate([draw(blk)[:block_size] for _ in range(nb)])[:L] for _ in range(rows)])
        moved = tuple(d for i, d in enumerate(shape) if i != ax) + (L,)
        return np.moveaxis(r.reshape(moved), -1, ax).copy()

    return draw_array()


def matmul_operands(a_format="mxfp8_e4m3", b_format=None, *, m: int = 4, k: int = 64, n: int = 4,
                    block_size: int = 32, scale_rule: str = "floor"):
    """(A, B) MXArrays for ``mxref.matmul``: A [m, k] blocked along axis 1 and B [k, n] along
    axis 0, quantized from :func:`mx_arrays` (boundary, tie and special blocks)."""
    b_format = a_format if b_format is None else b_format
    xa = mx_arrays(a_format, shape=(m, k), axis=1, block_size=block_size, scale_rule=scale_rule)
    xb = mx_arrays(b_format, shape=(k, n), axis=0, block_size=block_size, scale_rule=scale_rule)

    @st.composite
    def draw_ops(draw):
        with np.errstate(all="ignore"):
            a = quantize(draw(xa), a_format, axis=1, block_size=block_size, scale_rule=scale_rule)
            b = quantize(draw(xb), b_format, axis=0, block_size=block_size, scale_rule=scale_rule)
        return a, b

    return draw_ops()


__all__ = ["BLOCK_KINDS", "element_values", "blocks", "mx_arrays", "matmul_operands"]
