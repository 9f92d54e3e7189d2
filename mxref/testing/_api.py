"""The assertions (``assert_*_equal``) and their non-raising forms (``compare_*``)."""

from __future__ import annotations

import numpy as np

from .. import MXArray, mx_format, quantize
from ..arrays import MXArray as _MX  # noqa: F401  (the type the matmul operands may be)
from ..conformance.model import NVFP4, Output, Profile, Target
from ..formats import element_format
from ._arrays import as_codes, as_values, unlayout_scales, unpack
from ._compare import DEFAULT_LINES, ArrayAdapter, Comparison, MemoryVectors, resolve_claim, run_comparison


def _check_common(strict, max_lines):
    if not isinstance(strict, (bool, np.bool_)):
        raise TypeError(f"strict must be a bool, got {strict!r}")
    if isinstance(max_lines, bool) or not isinstance(max_lines, (int, np.integer)) or max_lines < 0:
        raise ValueError(f"max_lines must be an int >= 0, got {max_lines!r}")


def _axis(axis, ndim: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for an input with {ndim} dimensions")
    return int(axis) % ndim


def _block_size(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"block_size must be an int, got {k!r}")
    if not 1 <= k <= 65536:
        raise ValueError(f"block_size must be 1 ... 65536, got {k}")
    return int(k)


def _block_outputs(x_shape, ax, k, el, scales, elements, values, packing, scale_layout, scale_bits=8):
    """(scales (n, nb), codes (n, L), values (n, L) or None) from the caller's arrays, the
    blocked axis ``ax`` of x moved last."""
    L = x_shape[ax]
    nb = -(-L // k)
    want = tuple(nb if i == ax else d for i, d in enumerate(x_shape))
    s, _ = as_codes(scales, "scales", scale_bits)
    if scale_layout == "cublas" and ax != len(x_shape) - 1:
        raise ValueError("scale_layout='cublas' needs the blocks along the last axis of a 2-D input")
    s = unlayout_scales(s, scale_layout, want, "scales")
    c, packed = as_codes(elements, "elements")
    c = unpack(c, el, x_shape, ax, packing, packed, "elements")
    rows = lambda a, n: np.moveaxis(a, ax, -1).reshape(-1, n)  # noqa: E731
    v = None
    if values is not None:
        v = as_values(values, "values")
        if v.shape != tuple(x_shape):
            raise ValueError(f"values has shape {v.shape}, expected x's shape {tuple(x_shape)}")
        v = rows(v.astype(np.float64), L)
    return rows(s, nb), rows(c, L), v


def _prepare_x(x, axis):
    xa = as_values(x, "x")
    if xa.ndim == 0 or xa.size == 0:
        raise ValueError(f"x must have at least one dimension and one element, got shape {xa.shape}")
    return xa, _axis(axis, xa.ndim)


def _impl_output(impl, el, packing, scale_layout, k):
    if impl is None:
        return None
    if not callable(impl):
        raise TypeError(f"impl must be a callable (the function under test) or None, got {type(impl).__name__}")

    def to_output(ret, xin):
        if isinstance(ret, MXArray) or hasattr(ret, "scales") and hasattr(ret, "elements"):
            ret = (ret.scales, ret.elements)
        if not isinstance(ret, (tuple, list)) or len(ret) not in (2, 3):
            raise TypeError(f"impl must return (scales, elements) or (scales, elements, values), got "
                            f"{type(ret).__name__}")
        s, c, v = _block_outputs(xin.shape, 1, k, el, ret[0], ret[1], ret[2] if len(ret) == 3 else None, packing,
                                 scale_layout)
        return Output(s, c, v)
    return to_output


def compare_quantize(x, scales, elements, format, *, values=None, axis=-1, block_size=32, scale_rule=None,
                     rounding=None, profile=None, packing=None, scale_layout=None, impl=None, strict=False,
                     max_lines=DEFAULT_LINES, **options) -> Comparison:
    """Compare an implementation's MX quantization of ``x`` (its E8M0 ``scales`` and element
    codes ``elements``, optionally its dequantized ``values``) with ``mxref.quantize``, block by
    block, and return the :class:`Comparison`. See :func:`assert_quantize_equal`."""
    _check_common(strict, max_lines)
    fmt = mx_format(format)
    k = _block_size(block_size)
    xa, ax = _prepare_x(x, axis)
    claim = resolve_claim(profile, "quantize", scale_rule, rounding, options)
    p = claim.profile
    # bad option names or values: mxref.quantize's own error, before anything runs
    quantize(np.zeros(1, np.float32), fmt, block_size=k, scale_rule=p.scale_rule, rounding=p.rounding,
             int8_allow_minus128=p.int8_allow_minus128, **dict(p.options))
    s, c, v = _block_outputs(xa.shape, ax, k, fmt.element, scales, elements, values, packing, scale_layout)
    xr = np.moveaxis(xa, ax, -1).reshape(-1, xa.shape[ax])
    target = Target("quantize", fmt.name, p, dtype=xa.dtype.name, block_size=k)
    adapter = ArrayAdapter(claim, [(xr, Output(s, c, v), {})], impl,
                           _impl_output(impl, fmt.element, packing, scale_layout, k))
    return run_comparison(adapter, target, strict=bool(strict), max_lines=int(max_lines), unit="blocks",
                          shrink=impl is not None, profile_label=profile)


def assert_quantize_equal(x, scales, elements, format, *, values=None, axis=-1, block_size=32, scale_rule=None,
                          rounding=None, profile=None, packing=None, scale_layout=None, impl=None, strict=False,
                          max_lines=DEFAULT_LINES, **options) -> None:
    """Assert that ``scales`` and ``elements`` (and ``values`` if given) are, bit for bit, the MX
    quantization of ``x`` in ``format`` along ``axis`` in blocks of ``block_size``.

    scale_rule / rounding: default "floor" / "rne" (MX §6.3), or the profile's. ``profile``: a
    checker profile, ``"LIBRARY:PROFILE"`` or ``"LIBRARY-VERSION:PROFILE"`` (``"torchao:floor-rne"``,
    ``"torchao-0.18:rceil-rne"``): its rule is claimed and the MISMATCH classes that library is
    known to give on that version (``mxref.conformance.KNOWN_DIFFERENCES``) are accepted, so the
    assertion still fails on any new difference. ``packing``: ``"fp4_low_first"`` /
    ``"fp4_high_first"`` (two FP4 codes per byte along the blocked axis; a torch
    ``float4_e2m1fn_x2`` tensor implies the first), ``"bitstream"`` (FP6); ``scale_layout``:
    ``"cublas"`` (the 128x4-tile swizzle of a 2-D input's scales). ``impl``: the function under
    test, ``impl(x2d) -> (scales, elements)`` on a 2-D NumPy array blocked along its last axis
    (same packing and layout); given, failing blocks are shrunk before they are shown.
    ``strict``: IMPL_DEFINED differences fail too. ``options``: further ``mxref.quantize``
    keywords the implementation claims (``zero_scale``, ``inf_policy``, ...).

    Raises AssertionError with the counts, the first ``max_lines`` differing blocks as the
    checker's report lines, and the diagnosis paragraph when available."""
    __tracebackhide__ = True
    r = compare_quantize(x, scales, elements, format, values=values, axis=axis, block_size=block_size,
                         scale_rule=scale_rule, rounding=rounding, profile=profile, packing=packing,
                         scale_layout=scale_layout, impl=impl, strict=strict, max_lines=max_lines, **options)
    if not r.ok:
        raise AssertionError(str(r))


def compare_nvfp4(x, scales, elements, *, values=None, axis=-1, block_size=16, per_tensor_scale=None,
                  profile=None, packing=None, impl=None, strict=False, max_lines=DEFAULT_LINES,
                  **options) -> Comparison:
    """NVFP4 (not MX v1.0): ``scales`` unsigned E4M3 codes, ``elements`` FP4 E2M1 codes, against
    ``mxref.ext.quantize_nvfp4(x, per_tensor_scale=..., **options)`` (``arithmetic``,
    ``scale_clamp``, ``inf_policy``; ``dequantize=`` the values' arithmetic). ``profile``:
    e.g. ``"torchao:nvfp4"`` (torchao 0.18's model, its known differences accepted)."""
    _check_common(strict, max_lines)
    k = _block_size(block_size)
    xa, ax = _prepare_x(x, axis)
    if profile is not None:
        claim = resolve_claim(profile, "quantize", None, None, {})
        if claim.profile.options and dict(claim.profile.options).get("per_tensor_scale", "x") == "x":
            raise ValueError(f"profile {profile!r} is not an NVFP4 profile")
        if per_tensor_scale is not None or options:
            raise ValueError(f"profile {profile!r} fixes the NVFP4 options; give per_tensor_scale / options "
                             "or a profile, not both")
    else:
        from ._compare import Claim

        opts = dict(options, per_tensor_scale=per_tensor_scale)
        from ..ext import quantize_nvfp4

        quantize_nvfp4(np.zeros(1, np.float32), block_size=k,
                       **{n: v for n, v in opts.items() if n != "dequantize"})  # bad options raise here
        name = "nvfp4" + "".join(f"+{n}={v}" for n, v in sorted(options.items()))
        claim = Claim(Profile(name, options=tuple(sorted(opts.items(), key=lambda t: t[0]))))
    s, c, v = _block_outputs(xa.shape, ax, k, element_format("fp4_e2m1"), scales, elements, values, packing, None)
    xr = np.moveaxis(xa, ax, -1).reshape(-1, xa.shape[ax])
    target = Target("quantize", NVFP4, claim.profile, dtype=xa.dtype.name, block_size=k)
    adapter = ArrayAdapter(claim, [(xr, Output(s, c, v), {})], impl,
                           _impl_output(impl, element_format("fp4_e2m1"), packing, None, k))
    return run_comparison(adapter, target, strict=bool(strict), max_lines=int(max_lines), unit="blocks",
                          shrink=impl is not None, profile_label=profile)


def assert_nvfp4_equal(x, scales, elements, *, values=None, axis=-1, block_size=16, per_tensor_scale=None,
                       profile=None, packing=None, impl=None, strict=False, max_lines=DEFAULT_LINES,
                       **options) -> None:
    """Assert an NVFP4 quantization bit for bit (see :func:`compare_nvfp4`)."""
    __tracebackhide__ = True
    r = compare_nvfp4(x, scales, elements, values=values, axis=axis, block_size=block_size,
                      per_tensor_scale=per_tensor_scale, profile=profile, packing=packing, impl=impl,
                      strict=strict, max_lines=max_lines, **options)
    if not r.ok:
        raise AssertionError(str(r))


def compare_encode(x, codes, format, *, rounding="rne", overflow="saturate", nan=None, int8_allow_minus128=False,
                   random_bits=None, random_bit_count=None, strict=False, max_lines=DEFAULT_LINES) -> Comparison:
    """Element conversion: ``codes`` (one per value of ``x``) against ``mxref.encode(x, format,
    rounding=, overflow=, nan=)``; ``nan=None``: NaN into FP6/FP4/INT8 is IMPL_DEFINED
    (``"zero"``/``"max"`` claims a rule). Stochastic rounding: ``random_bits`` (x's shape) and
    ``random_bit_count``."""
    _check_common(strict, max_lines)
    el = element_format(format)
    xa = as_values(x, "x")
    c, _ = as_codes(codes, "codes")
    if c.shape != xa.shape:
        raise ValueError(f"codes has shape {c.shape}, expected x's shape {xa.shape}")
    from .. import encode

    kw = {}
    if random_bits is not None:
        kw = dict(random_bits=np.asarray(random_bits).reshape(-1), random_bit_count=random_bit_count)
    encode(np.zeros(xa.size, np.float32), el, rounding=rounding, overflow=overflow, nan=nan or "zero",
           int8_allow_minus128=int8_allow_minus128, **kw)  # bad arguments raise here
    claim = resolve_claim(None, "encode", None, rounding, {"int8_allow_minus128": int8_allow_minus128}, nan=nan,
                          overflow=overflow)
    target = Target("encode", el.name, claim.profile, dtype=xa.dtype.name, overflow=overflow)
    adapter = ArrayAdapter(claim, [(xa.reshape(-1), Output(codes=c.reshape(-1)), kw)])
    return run_comparison(adapter, target, strict=bool(strict), max_lines=int(max_lines), unit="values")


def assert_encode_equal(x, codes, format, *, rounding="rne", overflow="saturate", nan=None,
                        int8_allow_minus128=False, random_bits=None, random_bit_count=None, strict=False,
                        max_lines=DEFAULT_LINES) -> None:
    """Assert element codes bit for bit (see :func:`compare_encode`)."""
    __tracebackhide__ = True
    r = compare_encode(x, codes, format, rounding=rounding, overflow=overflow, nan=nan,
                       int8_allow_minus128=int8_allow_minus128, random_bits=random_bits,
                       random_bit_count=random_bit_count, strict=strict, max_lines=max_lines)
    if not r.ok:
        raise AssertionError(str(r))


def compare_dequantize(scales, elements, values, format, *, axis=-1, block_size=32, packing=None,
                       scale_layout=None, strict=False, max_lines=DEFAULT_LINES) -> Comparison:
    """Dequantization: float32 ``values`` against X * P_i of the given scale and element codes
    (MX §5.1), block by block, through the checker's spec_vectors dequantize comparison."""
    _check_common(strict, max_lines)
    fmt = mx_format(format)
    k = _block_size(block_size)
    v = as_values(values, "values")
    if v.dtype != np.float32:
        raise TypeError(f"values must be float32 (X * P_i as float32), got dtype {v.dtype}")
    if v.ndim == 0 or v.size == 0:
        raise ValueError(f"values must have at least one dimension and one element, got shape {v.shape}")
    ax = _axis(axis, v.ndim)
    L = v.shape[ax]
    want = tuple(-(-L // k) if i == ax else d for i, d in enumerate(v.shape))
    s, _ = as_codes(scales, "scales")
    s = unlayout_scales(s, scale_layout, want, "scales")
    c, packed = as_codes(elements, "elements")
    c = unpack(c, fmt.element, v.shape, ax, packing, packed, "elements")
    prof = Profile("codes", scale_rule="floor")
    target = Target("dequantize", fmt.name, prof, block_size=k, detail=f"block={k} to=float32")
    entry = {"path": "values", "inputs": ["scales", "elements"], "axis": ax}
    arrays = {"values": np.ascontiguousarray(v).view(np.uint32), "scales": s.astype(np.uint8),
              "elements": c.astype(np.int64)}
    adapter = MemoryVectors(arrays, entry, target, "dequantize")
    return run_comparison(adapter, target, strict=bool(strict), max_lines=int(max_lines), unit="blocks")


def assert_dequantize_equal(scales, elements, values, format, *, axis=-1, block_size=32, packing=None,
                            scale_layout=None, strict=False, max_lines=DEFAULT_LINES) -> None:
    """Assert dequantized float32 values bit for bit (see :func:`compare_dequantize`)."""
    __tracebackhide__ = True
    r = compare_dequantize(scales, elements, values, format, axis=axis, block_size=block_size, packing=packing,
                           scale_layout=scale_layout, strict=strict, max_lines=max_lines)
    if not r.ok:
        raise AssertionError(str(r))


def _operand(a, name: str, ax: int) -> MXArray:
    if isinstance(a, MXArray):
        if a.elements.ndim != 2 or a.axis != ax:
            raise ValueError(f"{name} must be a 2-D MXArray blocked along axis {ax}, got shape {a.shape} axis {a.axis}")
        return a
    if isinstance(a, (tuple, list)) and len(a) in (3, 4):
        s, e, fmt = a[:3]
        k = a[3] if len(a) == 4 else 32
        mxf = mx_format(fmt)
        sc, _ = as_codes(s, f"{name} scales")
        c, packed = as_codes(e, f"{name} elements")
        if packed:
            raise ValueError(f"{name}: give the elements unpacked (one code per element)")
        return MXArray(mxf, k, ax, c.shape, sc.astype(np.uint8), c.astype(np.uint8))
    raise TypeError(f"{name} must be an MXArray or (scales, elements, format[, block_size]), got {type(a).__name__}")


def compare_matmul(A, B, C, *, accumulate="exact", strict=False, max_lines=DEFAULT_LINES) -> Comparison:
    """C = A @ B (MX §6.2): float32 ``C`` [M, N] against ``mxref.matmul(A, B, accumulate=...)``
    element by element. A [M, K] blocked along axis 1, B [K, N] along axis 0: MXArrays or
    ``(scales, elements, format[, block_size])``."""
    _check_common(strict, max_lines)
    from .. import ACCUMULATORS

    if accumulate not in ACCUMULATORS:
        raise ValueError(f"unknown accumulate {accumulate!r}; known: {', '.join(ACCUMULATORS)}")
    a, b = _operand(A, "A", 1), _operand(B, "B", 0)
    got = as_values(C, "C")
    if got.dtype != np.float32:
        raise TypeError(f"C must be float32, got dtype {got.dtype}")
    if got.shape != (a.shape[0], b.shape[1]):
        raise ValueError(f"C has shape {got.shape}, expected {(a.shape[0], b.shape[1])}")
    target = Target("matmul", f"{a.format.name}__{b.format.name}", Profile(accumulate),
                    detail=f"accumulate={accumulate} to=float32")
    entry = {"path": "C", "dtype": "float32", "modes": {"accumulate": accumulate}}
    adapter = MemoryVectors({"C": np.ascontiguousarray(got).view(np.uint32)}, entry, target, "matmul", (a, b))
    return run_comparison(adapter, target, strict=bool(strict), max_lines=int(max_lines), unit="elements")


def assert_matmul_equal(A, B, C, *, accumulate="exact", strict=False, max_lines=DEFAULT_LINES) -> None:
    """Assert a matmul's float32 result bit for bit (see :func:`compare_matmul`)."""
    __tracebackhide__ = True
    r = compare_matmul(A, B, C, accumulate=accumulate, strict=strict, max_lines=max_lines)
    if not r.ok:
        raise AssertionError(str(r))
