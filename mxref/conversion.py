"""MX block conversion from scalar floats (MX §6.3) and dequantization (MX §5.1), vectorized.

A block is k consecutive values along one axis. Its shared exponent comes from the bits of the
block's amax, exactly; every element is V_i / 2^shared_exp rounded by :func:`mxref.round_parts`
on exact integer parts (no division, no intermediate underflow, one rounding).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ._arrays import _to_numpy, as_float, ieee_subnormals, native, out_dtype, refuse_masked, to_dtype, widen_exact
from .elements import _decode_table, _max_mag, _pack, _round_params, encode, round_parts, split_float64
from .formats import ELEMENT_FORMATS, Format, FORMATS, e8m0, element_format
from .options import INF_POLICIES, SCALE_OVERFLOW_POLICIES, SCALE_RULES, ROUNDING_MODES, check_choice, check_encode_options, check_random_options

__all__ = [
    "MXFormat",
    "MX_FORMATS",
    "MXArray",
    "mx_format",
    "quantize",
    "dequantize",
    "SCALE_RULES",
    "INF_POLICIES",
    "SCALE_OVERFLOW_POLICIES",
    "MAX_BLOCK_SIZE",
]

#: The largest block size accepted anywhere (quantize, MXFormat, MXArray, the ext formats):
#: 2^31, far beyond any real block. A block longer than its axis is one short block: the work
#: and memory follow the data, never the block size.
MAX_BLOCK_SIZE = 1 << 31



#: Smallest float32 normal; flush_subnormals=True zeroes inputs below it (the MX paper's algorithm).
_FLT_MIN_LOG2 = -126
_CHUNK = 1 << 14  # elements per chunk: temporaries stay small enough to be reused, not re-mapped


def _check_int(name, v, lo, hi=None):
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        raise TypeError(f"{name} must be an int, got {v!r}")
    v = int(v)
    if v < lo or (hi is not None and v > hi):
        raise ValueError(f"{name} must be in {lo}..{hi if hi is not None else 'inf'}, got {v}")
    return v


def check_block_size(block_size, name: str = "block_size") -> int:
    """block_size as an int in 1 ... MAX_BLOCK_SIZE, else TypeError / ValueError naming it."""
    return _check_int(name, block_size, 1, MAX_BLOCK_SIZE)


@dataclass(frozen=True)
class MXFormat:
    """A concrete MX format (MX §5.2 Table 1): an element format, a block size, a scale format."""

    name: str
    element: Format
    block_size: int = 32
    scale: Format = e8m0
    spec: str = "MX §5.2 Table 1"

    def __post_init__(self):
        # every field is checked here, so that no later use (quantize, dequantize, dot) divides
        # by a zero block size or reads codes of a format that is not an element row
        if not isinstance(self.name, str):
            raise TypeError(f"MXFormat name must be a str, got {self.name!r}")
        el = element_format(self.element)
        if not el.has_zero:
            raise ValueError(f"MXFormat element must be an element format, got the scale format {el.name}")
        sc = element_format(self.scale)
        if sc is not e8m0:
            raise ValueError(f"MXFormat scale must be E8M0 (the MX scale format, MX §5.4.1), got {sc.name}")
        object.__setattr__(self, "element", el)
        object.__setattr__(self, "scale", sc)
        object.__setattr__(self, "block_size", check_block_size(self.block_size))
        if not isinstance(self.spec, str):
            raise TypeError(f"MXFormat spec must be a str, got {self.spec!r}")

    def __repr__(self) -> str:
        return f"MXFormat({self.name!r})"


MX_FORMATS: dict[str, MXFormat] = {
    f"mx{e}": MXFormat(f"mx{e}", element_format(e))
    for e in ("fp8_e4m3", "fp8_e5m2", "fp6_e2m3", "fp6_e3m2", "fp4_e2m1", "int8")
}


def mx_format(fmt) -> MXFormat:
    """An :class:`MXFormat` by name (``"mxfp8_e4m3"``, ..., ``"mxint8"``), or from any element
    format name :func:`mxref.element_format` accepts (block 32, E8M0 scale). The MX-style formats
    beside MX v1.0 (``"mxint4"``, ``"mxint2"``, ``"mxfp4_e3m0"``; :data:`mxref.ext.EXT_MX_FORMATS`)
    resolve too; their MXArrays say ``is_mx_v1 == False``."""
    from .ext.formats import EXT_MX_FORMATS  # imports this module: resolved at call time

    if isinstance(fmt, MXFormat):
        return fmt
    registries = (MX_FORMATS, EXT_MX_FORMATS)
    if isinstance(fmt, str):
        key = fmt.strip().lower()
        for reg in registries:
            if key in reg:
                return reg[key]
        if key == "mxfp4":
            return MX_FORMATS["mxfp4_e2m1"]
    try:
        el = element_format(fmt)
    except ValueError:
        el = None
    if el is not None and el.has_zero:
        for reg in registries:
            for f in reg.values():
                if f.element is el:
                    return f
    raise ValueError(f"unknown MX format {fmt!r}; known: {', '.join(MX_FORMATS)}, "
                     f"and beside MX v1.0 {', '.join(EXT_MX_FORMATS)} (or an element format name)")


def effective_block(block_size: int, length: int) -> int:
    """The block length the computation uses along an axis of ``length``: a block longer than
    the axis is one short block, the same computation as block_size == length (MX §6.3: the
    missing elements of a short block count as zeros for the scale and are not stored)."""
    return block_size if block_size <= length or length == 0 else length


class Owned:
    """An array made by mxref for the object being built: frozen without a copy (internal)."""

    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a


def frozen_array(name: str, a, kind: str = "uint8") -> np.ndarray:
    """A read-only array for an MXArray-like object: an array mxref made (:class:`Owned`) is
    frozen as it is; a caller's array is copied (native byte order, C order), so the caller's
    array stays writable and later changes to it cannot reach the object."""
    if isinstance(a, Owned):
        v = a.a.view()
    else:
        refuse_masked(a, name)
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{name} must be a {kind} numpy array, got {type(a).__name__}")
        v = np.array(native(a), order="C", copy=True)
    v.setflags(write=False)
    return v


def _check_shape(shape) -> tuple:
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise TypeError(f"shape must be a tuple of ints, got {shape!r}")
    out = []
    for n in shape:
        if isinstance(n, bool) or not hasattr(n, "__index__"):
            raise TypeError(f"shape must be a tuple of ints, got {shape!r}")
        if int(n) < 0:
            raise ValueError(f"shape must hold sizes >= 0, got {shape!r}")
        out.append(int(n))
    return tuple(out)


def check_blocked_codes(shape, axis, block_size, elements, scales=None, elements_dtype=np.uint8):
    """Check the pieces of blocked codes (an MXArray, or an extension format's array) and return
    (shape, axis >= 0, block_size, scales shape): ``elements`` of ``elements_dtype`` (uint8 codes)
    and ``shape``; ``scales`` (unless None) uint8 with the blocked axis replaced by the number of
    blocks."""
    block_size = check_block_size(block_size)
    shape = _check_shape(shape)
    nd = len(shape)
    if nd == 0:
        raise ValueError("shape must have at least one dimension")
    axis = _check_int("axis", axis, -nd, nd - 1) % nd
    for nm, a, dt in (("elements", elements, np.dtype(elements_dtype)), ("scales", scales, np.dtype(np.uint8))):
        if a is None and nm == "scales":
            continue
        refuse_masked(a, nm)
        if not isinstance(a, np.ndarray) or a.dtype != dt:
            raise TypeError(f"{nm} must be a {dt.name} numpy array, got {getattr(a, 'dtype', type(a).__name__)}")
    if elements.shape != shape:
        raise ValueError(f"elements must have shape {shape}, got {elements.shape}")
    nb = -(-shape[axis] // block_size)
    want = shape[:axis] + (nb,) + shape[axis + 1:]
    if scales is not None and scales.shape != want:
        raise ValueError(f"scales must have shape {want} ({nb} blocks of {block_size} along axis {axis}), "
                         f"got {scales.shape}")
    return shape, axis, block_size, want


class CheckedFields:
    """Mixin of MXArray-like dataclasses (checked in ``__post_init__``, which ends by setting
    ``_checked``): assigning a field later builds and checks the object anew; pickling and
    copying go through the constructor too. ``_FIELDS``: the constructor's fields, in order."""

    _FIELDS: tuple = ()

    def __setattr__(self, name, value):
        if name in type(self)._FIELDS and self.__dict__.get("_checked", False):
            kw = {f: (Owned(v) if isinstance(v, np.ndarray) else v)
                  for f, v in ((f, self.__dict__[f]) for f in type(self)._FIELDS)}
            kw[name] = value
            new = type(self)(**kw)
            self.__dict__.update({f: new.__dict__[f] for f in type(self)._FIELDS})
            return
        object.__setattr__(self, name, value)

    def __reduce__(self):
        return (type(self), tuple(getattr(self, f) for f in type(self)._FIELDS))


@dataclass(eq=False)
class MXArray(CheckedFields):
    """MX-quantized data: E8M0 scale codes and element codes, unpacked, with the options used.

    ``scales`` has x's shape with the blocked axis replaced by the number of blocks; ``elements``
    has x's shape (one uint8 code per element). (MX §5.1, §6.3)

    ``scales`` and ``elements`` are read-only: the constructor copies arrays it is given (the
    caller's stay writable and cannot change the MXArray later), and assigning a field again
    checks the whole MXArray anew. ``options`` is a dict of the :func:`quantize` options
    (:data:`MXARRAY_OPTIONS` keys, any subset)."""

    format: MXFormat
    block_size: int
    axis: int
    shape: tuple
    scales: np.ndarray
    elements: np.ndarray
    options: dict = field(default_factory=dict)

    _FIELDS = ("format", "block_size", "axis", "shape", "scales", "elements", "options")

    def __post_init__(self):
        # An MXArray may be built by hand from another library's codes: check it is coherent,
        # and freeze its arrays so that no later edit can put codes outside the format.
        if not isinstance(self.format, MXFormat):
            self.format = mx_format(self.format)
        self.scales = frozen_array("scales", self.scales)
        self.elements = frozen_array("elements", self.elements)
        self.shape, self.axis, self.block_size, _ = check_blocked_codes(
            self.shape, self.axis, self.block_size, self.elements, self.scales)
        bits = self.format.element.bits
        if bits < 8 and self.elements.size and int(self.elements.max()) >= (1 << bits):
            raise ValueError(f"elements holds {int(self.elements.max())}, outside the "
                             f"{self.format.element.name} codes 0 ... {(1 << bits) - 1}")
        self.options = check_options(self.options, MXARRAY_OPTIONS, "MXArray")
        object.__setattr__(self, "_checked", True)

    @property
    def is_mx_v1(self) -> bool:
        """True when this is an MX v1.0 format: a spec element format (not an extension row such
        as INT4 or FP4 E3M0), block size 32 and an E8M0 scale (MX §5.2)."""
        el = self.format.element
        return (self.block_size == 32 and self.format.scale is e8m0 and not el.extension
                and el in ELEMENT_FORMATS.values())

    @property
    def num_blocks(self) -> int:
        return int(self.scales.size)

    @property
    def nbytes(self) -> int:
        """Bytes when stored packed: element bits rounded up to bytes, plus one byte per scale."""
        return (self.elements.size * self.format.element.bits + 7) // 8 + self.scales.size

    @property
    def bits_per_element(self) -> float:
        """Storage bits per element, scales included (MXFP8 with k = 32: 8.25)."""
        n = self.elements.size
        return (n * self.format.element.bits + self.scales.size * 8) / n if n else float("nan")

    def dequantize(self, dtype=np.float32) -> np.ndarray:
        return dequantize(self, dtype)

    def save(self, path) -> None:
        """Write to one .npz file, read back equal by :func:`mxref.load` (see
        :func:`mxref.serialization.save`)."""
        from .serialization import save

        save(self, path)

    def __eq__(self, other) -> bool:
        """Equal data, and no option that contradicts: the same format row, block size, axis,
        shape, scale codes and element codes (so both dequantize to the same values, bit for
        bit), and every option that *both* sides record has the same value on both. An option
        only one side records is unknown to the other, not a difference: an MXArray read from a
        layout that stores no options (``from_gpt_oss``, one built by hand with ``options={}``)
        equals the quantized MXArray it was written from. So this equality is not transitive
        across options: ``quantize(x, f) == from_gpt_oss(...) == quantize(x, f, scale_rule=r)``
        may hold while the two quantized arrays, recording different rules, differ. Compare
        ``a.options == b.options`` as well where the record must match."""
        if not isinstance(other, MXArray):
            return NotImplemented
        if not (self.format == other.format and self.block_size == other.block_size
                and self.axis == other.axis and self.shape == other.shape
                and np.array_equal(self.scales, other.scales)
                and np.array_equal(self.elements, other.elements)):
            return False
        a, b = self.options, other.options
        if not (isinstance(a, dict) and isinstance(b, dict)):
            return bool(a == b)
        for k in a.keys() & b.keys():
            try:
                same = bool(a[k] == b[k])
            except (TypeError, ValueError):  # array-valued options: compare the arrays
                same = bool(np.array_equal(a[k], b[k]))
            if not same:
                return False
        return True

    def __repr__(self) -> str:
        v1 = "" if self.is_mx_v1 else ", not MX v1.0"
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return (f"MXArray({self.format.name}, shape={self.shape}, axis={self.axis}, "
                f"block_size={self.block_size}{v1}, blocks={self.num_blocks}, {opts})")


def _bool_option(name, v):
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"options[{name!r}] must be a bool, got {v!r}")


def _choice_option(allowed):
    return lambda name, v: check_choice(f"options[{name!r}]", v, allowed)


def _zero_scale_option(name, v):
    _check_int(f"options[{name!r}]", v, 0, 254)


#: The option keys an MXArray may carry (those :func:`quantize` records) and their checks.
MXARRAY_OPTIONS = {
    "scale_rule": _choice_option(SCALE_RULES),
    "rounding": _choice_option(ROUNDING_MODES),
    "zero_scale": _zero_scale_option,
    "inf_policy": _choice_option(INF_POLICIES),
    "scale_overflow": _choice_option(SCALE_OVERFLOW_POLICIES),
    "flush_subnormals": _bool_option,
    "int8_allow_minus128": _bool_option,
}


def check_options(options, known: dict, owner: str) -> dict:
    """A copy of ``options`` (a dict) whose keys are in ``known`` and whose values pass the
    check ``known[key]`` (a function (name, value) raising TypeError / ValueError)."""
    if not isinstance(options, dict):
        raise TypeError(f"{owner} options must be a dict, got {type(options).__name__}")
    for key, v in options.items():
        if key not in known:
            raise ValueError(f"{owner} options has the unknown key {key!r}; known keys: "
                             f"{', '.join(known)}")
        known[key](key, v)
    return dict(options)


# ----- shared exponent ----------------------------------------------------------------------------


def _max_significand(el: Format) -> int:
    """max / 2^emax as a 53-bit significand: max = _max_significand * 2^(emax - 52), exactly."""
    v = Fraction(el.max) / Fraction(2) ** el.emax * (1 << 52)
    assert v.denominator == 1
    return int(v)


def shared_exponent(amax_sig, amax_flog2, el: Format, rule: str):
    """Unclamped shared exponent of blocks whose amax = sig * 2^(flog2 - 52) (sig in [2^52, 2^53)).

    Every rule is decided on the integer significand, exactly (no log2). (MX §6.3)"""
    emax = el.emax
    if rule == "floor":
        return amax_flog2 - emax
    if rule == "ceil":
        return amax_flog2 + (amax_sig != (1 << 52)) - emax
    if rule == "even":
        m, _ = _round_params(el)
        # half-up at m fraction bits: carries into the next binade iff sig + 2^(51-m) >= 2^53
        carry = (amax_sig + np.uint64(1 << (51 - m))) >= np.uint64(1 << 53)
        return amax_flog2 + carry - emax
    msig = np.uint64(_max_significand(el))
    if rule == "rceil":  # smallest e with max * 2^e >= amax
        return amax_flog2 - emax + (amax_sig > msig)
    if rule == "round_down":  # largest e with max * 2^e <= amax
        return amax_flog2 - emax - (amax_sig < msig)
    raise ValueError(rule)  # pragma: no cover


# ----- quantize -----------------------------------------------------------------------------------


def quantize(
    x,
    fmt,
    *,
    axis: int = -1,
    block_size: int | None = None,
    scale_rule: str = "floor",
    rounding: str = "rne",
    zero_scale: int = 0x00,
    inf_policy: str = "nan_scale",
    scale_overflow: str = "clamp",
    flush_subnormals: bool = False,
    int8_allow_minus128: bool = False,
    random_bits=None,
    random_bit_count=None,
) -> MXArray:
    """MX-quantize x along ``axis`` in blocks of ``block_size`` (default: the format's 32).

    Per block (MX §6.3): amax = max |V_i|; shared_exp by ``scale_rule`` (see SCALE_RULES;
    default "floor": floor(log2 amax) - emax_elem, from amax's bits), clamped to [-127, 127];
    X = 2^shared_exp; P_i = V_i / X computed exactly and rounded by ``rounding`` (any mode of
    :func:`mxref.encode`; "stochastic" takes ``random_bits`` of x's shape), saturating to
    +-max. A length not a multiple of the block size: the last block is short (its missing
    elements count as zeros for the scale and are not stored); a block size above the axis
    length is one short block (the work follows the data; ``block_size`` is at most
    :data:`MAX_BLOCK_SIZE`, and the MXArray records the block size asked for). x may be in any
    byte order (taken exactly); masked arrays raise TypeError.

    Special values, each an option (the spec leaves them open):
      * all-zero block (+-0 only): scale ``zero_scale`` (default 0x00); elements keep their sign.
      * a NaN in the block: scale 0xFF; the block's element codes are all 0x00 (canonical).
      * +-Inf and no NaN: ``inf_policy`` "nan_scale" (default: as a NaN block) or
        "finite_scale" (scale from the finite values; Inf elements become Inf in E5M2, NaN with
        the sign in E4M3, +-max in FP6/FP4/INT8).
      * shared_exp > 127 (float64 input): ``scale_overflow`` "clamp" (default; elements
        saturate) or "nan" (scale 0xFF, elements 0x00).
      * ``flush_subnormals=True`` zeroes inputs below 2^-126 (float32 subnormals) first, keeping
        their sign (the MX paper's algorithm); default False: they are values.
      * INT8 -128 only with ``int8_allow_minus128=True`` (for every integer element: its most
        negative two's-complement code, e.g. INT4 -8 = -2.0).

    Besides the MX v1.0 formats, ``fmt`` may be one of the MX-style formats beside the spec
    (``"mxint4"``, ``"mxint2"``, ``"mxfp4_e3m0"``, see :mod:`mxref.ext`): same rules, and the
    MXArray says ``is_mx_v1 == False``.
    """
    mxf = mx_format(fmt)
    el = mxf.element
    check_choice("scale_rule", scale_rule, SCALE_RULES)
    check_encode_options(el, rounding, "saturate", "zero")
    check_choice("inf_policy", inf_policy, INF_POLICIES)
    check_choice("scale_overflow", scale_overflow, SCALE_OVERFLOW_POLICIES)
    zero_scale = _check_int("zero_scale", zero_scale, 0, 254)
    k = mxf.block_size if block_size is None else check_block_size(block_size)
    for nm, flag in (("flush_subnormals", flush_subnormals), ("int8_allow_minus128", int8_allow_minus128)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{nm} must be a bool, got {flag!r}")
    xa = as_float(x)  # float16 / float32 / float64, exactly x's values
    if xa.ndim == 0:
        raise ValueError("x must have at least one dimension")
    ax = _check_int("axis", axis, -xa.ndim, xa.ndim - 1) % xa.ndim
    nrnd = check_random_options(rounding, random_bits, random_bit_count)
    rb = None
    if nrnd:
        rb = _to_numpy(random_bits, "random_bits")
        if rb.dtype == np.bool_ or rb.dtype.kind not in "iu":
            raise TypeError(f"random_bits must be an integer array, got dtype {rb.dtype}")
        if rb.shape != xa.shape:
            raise ValueError(f"random_bits must have x's shape {xa.shape}, got {rb.shape}")
        if rb.size and (int(rb.min()) < 0 or int(rb.max()) >= (1 << nrnd)):
            raise ValueError(f"random_bits must lie in [0, 2**{nrnd})")

    # 1. lay the blocked axis last: rows of length L, nb blocks per row
    xm = np.moveaxis(xa, ax, -1)
    L = xm.shape[-1]
    lead = xm.shape[:-1]
    n_rows = int(np.prod(lead, dtype=np.int64))  # explicit: reshape(-1, 0) is ambiguous
    rows = xm.reshape(n_rows, L)
    rbr = np.moveaxis(rb, ax, -1).reshape(n_rows, L).astype(np.uint64) if rb is not None else None
    k_req, k = k, effective_block(k, L)  # a block longer than the axis: one short block
    nb = -(-L // k)
    scales = np.empty((rows.shape[0], nb), np.uint8)
    elems = np.empty(rows.shape, np.uint8)
    opts = dict(scale_rule=scale_rule, rounding=rounding, zero_scale=zero_scale, inf_policy=inf_policy,
                scale_overflow=scale_overflow, flush_subnormals=bool(flush_subnormals),
                int8_allow_minus128=bool(int8_allow_minus128))
    # 2. convert in chunks of whole rows -- of single blocks when rows hold whole blocks only.
    #    Inputs exact in float32 take the uint32 path when it applies.
    rows_c, scales_c, elems_c, rb_c, L_c, nb_c = rows, scales, elems, rbr, L, nb
    if L % k == 0 and nb > 1:
        rows_c, scales_c, elems_c = rows.reshape(-1, k), scales.reshape(-1, 1), elems.reshape(-1, k)
        rb_c = rbr.reshape(-1, k) if rbr is not None else None
        L_c, nb_c = k, 1
    narrow = rows.dtype != np.float64 and _f32_path_ok(el, rounding) and ieee_subnormals()
    per = max(1, (_CHUNK_F32 if narrow else _CHUNK) // max(L_c, 1))
    for r0 in range(0, rows_c.shape[0], per):
        sl = slice(r0, r0 + per)
        chunk = rows_c[sl]
        done = False
        if narrow:
            c32 = chunk if chunk.dtype == np.float32 else chunk.astype(np.float32)
            done = _quantize_rows_f32(c32, k, nb_c, el, opts, scales_c[sl], elems_c[sl])
        if not done:
            c64 = widen_exact(chunk)
            s_, e_ = _quantize_rows(c64, k, nb_c, el, opts, rb_c[sl] if rb_c is not None else None, nrnd)
            scales_c[sl] = s_
            elems_c[sl] = e_
    scales = np.moveaxis(scales.reshape(*lead, nb), -1, ax)
    elems = np.moveaxis(elems.reshape(*lead, L), -1, ax)
    return MXArray(mxf, k_req, ax, tuple(xa.shape), Owned(np.ascontiguousarray(scales)),
                   Owned(np.ascontiguousarray(elems)), opts)


def _quantize_rows(rows, k, nb, el: Format, o, rb, nrnd):
    """Scale and element codes of a 2-D chunk (rows, L) blocked along the last axis."""
    n_rows, L = rows.shape
    pad = nb * k - L
    # 1. unpack (zero padding only fills the short last block; it never changes amax)
    v = np.pad(rows, ((0, 0), (0, pad))) if pad else rows
    v = v.reshape(n_rows, nb, k)
    neg, sig, flog2, is_nan, is_inf = split_float64(v)
    if o["flush_subnormals"]:
        tiny = (sig != 0) & (flog2 < _FLT_MIN_LOG2)
        sig = np.where(tiny, np.uint64(0), sig)
    # 2. block amax: the bit pattern of |x| orders finite magnitudes exactly
    finite_nz = (sig != 0) & ~is_nan & ~is_inf
    abits = np.where(finite_nz, np.abs(v).view(np.uint64), np.uint64(0)).max(axis=-1)
    has_val = abits != 0
    _, amax_sig, amax_flog2, _, _ = split_float64(np.where(has_val, abits, np.float64(1.0).view(np.uint64)).view(np.float64))
    block_nan = is_nan.any(axis=-1)
    block_inf = is_inf.any(axis=-1) & ~block_nan
    # 3. shared exponent, clamp, specials
    se = shared_exponent(amax_sig, amax_flog2, el, o["scale_rule"])
    over = se > 127
    se = np.maximum(np.minimum(se, 127), -127)
    scale = se + 127
    scale = np.where(has_val, scale, o["zero_scale"])
    nan_scale = block_nan | (block_inf & (o["inf_policy"] == "nan_scale"))
    if o["scale_overflow"] == "nan":
        nan_scale |= over & has_val
    scale = np.where(nan_scale, 0xFF, scale)
    se_used = np.where(has_val, se, o["zero_scale"] - 127)
    # 4. elements: V_i / 2^se exactly is (sig, flog2 - se); round, saturate, pack
    rbits = None
    if rb is not None:
        rbits = np.pad(rb, ((0, 0), (0, pad))).reshape(n_rows, nb, k) if pad else rb.reshape(n_rows, nb, k)
    mag = round_parts(neg, sig, flog2 - se_used[..., None], el, o["rounding"], rbits, nrnd)
    max_mag = _max_mag(el, neg, o["int8_allow_minus128"])
    mag = np.where(mag > max_mag, max_mag, mag)
    code = _pack(el, neg, mag)
    if o["inf_policy"] == "finite_scale":
        code = np.where(is_inf, _inf_element_code(el, neg, o["int8_allow_minus128"]), code)
    code = np.where(nan_scale[..., None], 0, code)
    code = code.reshape(n_rows, nb * k)[:, :L].astype(np.uint8)
    return scale.astype(np.uint8), code


# ----- the float32 path: the same rules, table-driven ---------------------------------------------
#
# For float32 input each element's y = x * 2^-se is a float32 product that is exact whenever it
# matters (|y| >= 2^-126; a smaller y rounds to zero in every element format under these modes,
# whatever the float32 product rounded to, and the product keeps its sign). The element code of y
# then depends only on y's round-to-odd value at 8 significant bits: its top 16 bits with the OR
# of the low 16 bits in bit 0. Rounding that value to p <= 6 bits (every FP element format here)
# gives the same result as rounding y itself (RNE / ties-away / toward-zero from round-to-odd at
# p + 2 or more bits is exact), so one 65,536-entry table per (format, rounding), built with
# :func:`mxref.encode`, gives the code. INT8 (7 significant bits) rounds by adding 1.5 * 2^(23+q)
# (q = its quantum exponent) in float32: one correctly rounded IEEE addition, RNE.
# These paths need IEEE subnormals (no flush-to-zero / denormals-are-zero): without them the
# general integer path runs instead.

_FAST_ROUNDINGS = ("rne", "ties_away", "toward_zero")
_CHUNK_F32 = 1 << 17  # elements per chunk of the float32 path (its buffers are preallocated)


def _f32_path_ok(el: Format, rounding: str) -> bool:
    if el.integer:
        return rounding == "rne"
    return el.bits <= 8 and el.mantissa_bits + 1 + 2 <= 8 and rounding in _FAST_ROUNDINGS


@functools.lru_cache(maxsize=None)
def _rounding_table(el: Format, rounding: str) -> np.ndarray:
    """Element code (sign included) of every float32 whose low 16 bits are zero, indexed by its
    top 16 bits: rounded by ``rounding``, saturating; NaN patterns give 0 (never used)."""
    h = np.arange(1 << 16, dtype=np.uint32) << np.uint32(16)
    t = encode(h.view(np.float32), el, rounding=rounding, overflow="saturate", nan="zero").astype(np.uint8)
    t.setflags(write=False)
    return t


def _block_max(a: np.ndarray, k: int) -> np.ndarray:
    """Per-block max of a flat array of whole blocks of k: a tree of strided maxima for k a power
    of two (no per-block loop inside NumPy), else a reduction over rows."""
    if k & (k - 1):
        return a.reshape(-1, k).max(axis=1)
    m = a
    while k > 1:
        m = np.maximum(m[0::2], m[1::2])
        k //= 2
    return m


def _quantize_rows_f32(rows, k, nb, el: Format, o, out_scales, out_elems) -> bool:
    """Fill out_scales / out_elems for float32 rows (n, L), exactly as :func:`_quantize_rows`
    would. Returns False (writing nothing) where it does not apply: a block with Inf under
    "finite_scale", or a block whose amax is a float32 subnormal under a rule other than floor."""
    n_rows, L = rows.shape
    pad = nb * k - L
    # 1. unpack: the chunk as whole blocks, |x| bits
    x = np.pad(rows, ((0, 0), (0, pad))).reshape(-1) if pad else rows.reshape(-1)
    u = x.view(np.uint32)
    a = np.bitwise_and(u, np.uint32(0x7FFFFFFF))
    if o["flush_subnormals"]:
        tiny = a < np.uint32(0x00800000)
        a[tiny] = 0
        x = np.where(tiny, u & np.uint32(0x80000000), u).view(np.float32)
    # 2. block amax on the bits; NaN sorts above Inf above every finite value
    amax = _block_max(a, k)
    nan_scale = amax >= np.uint32(0x7F800000)
    if o["inf_policy"] == "finite_scale" and (amax == np.uint32(0x7F800000)).any():
        return False
    has_val = amax != 0
    if o["scale_rule"] != "floor" and (has_val & (amax < np.uint32(0x00800000))).any():
        return False  # exponent from the leading bit of a subnormal amax: the general path does it
    # 3. shared exponent, from the exponent and fraction fields of amax (MX §6.3; SCALE_RULES);
    #    a subnormal amax under "floor" clamps to -127 either way
    ea = (amax >> np.uint32(23)).astype(np.int32)
    fa = (amax & np.uint32(0x7FFFFF)).astype(np.int32)
    rule = o["scale_rule"]
    se = ea - 127 - el.emax
    if rule == "ceil":
        se = se + (fa != 0)
    elif rule == "even":
        m, _ = _round_params(el)
        se = se + ((fa + (1 << (22 - m))) >= (1 << 23))
    elif rule in ("rceil", "round_down"):
        frac_max = (_max_significand(el) >> 29) - (1 << 23)  # max / 2^emax = 1.f, f in 2^-23
        se = se + (fa > frac_max) if rule == "rceil" else se - (fa < frac_max)
    over = has_val & (se > 127)
    se = np.maximum(np.minimum(se, 127), -127)
    scale = np.where(has_val, se + 127, o["zero_scale"])
    if o["scale_overflow"] == "nan":
        nan_scale = nan_scale | over
    scale = np.where(nan_scale, 0xFF, scale)
    # 4. y = x * 2^-se in float32 (exact where it matters, see above)
    y = np.multiply(x, np.repeat(np.ldexp(np.float32(1.0), -se).astype(np.float32), k))
    # 5. round and pack
    code = out_elems.reshape(-1) if not pad else np.empty(x.size, np.uint8)
    if el.integer:
        m, emin = _round_params(el)
        big = np.float32(1.5 * 2.0 ** (23 + emin - m))  # its ulp is the element quantum 2^(emin-m)
        n = np.add(y, big).view(np.int32)
        n -= big.view(np.int32)
        lo = -el.code_of_max - (1 if o["int8_allow_minus128"] else 0)
        np.clip(n, lo, el.code_of_max, out=n)
        n &= el.num_codes - 1  # two's complement in the format's bits (INT4: -1 -> 0xF)
        np.copyto(code, n, casting="unsafe")
    else:
        y16 = y.view(np.uint16)  # little-endian: [low, high] halves of each float32
        idx = np.bitwise_or(y16[1::2], np.not_equal(y16[0::2], 0))
        np.take(_rounding_table(el, o["rounding"]), idx, out=code)
    if nan_scale.any():
        code.reshape(-1, k)[nan_scale] = 0
    out_scales[...] = scale.reshape(n_rows, nb)
    if pad:
        out_elems[...] = code.reshape(n_rows, nb * k)[:, :L]
    return True


def _inf_element_code(el: Format, neg, allow_minus128):
    if el.has_inf:
        return np.where(neg, el.inf_codes[1], el.inf_codes[0])
    if el.has_nan:
        return np.where(neg, el.nan_codes[-1], el.nan_codes[0])
    return _pack(el, neg, _max_mag(el, neg, allow_minus128))


# ----- dequantize ---------------------------------------------------------------------------------

_OUT = {"float32": np.float32, "float64": np.float64}


def dequantize(mx: MXArray, dtype=np.float32) -> np.ndarray:
    """Values X * P_i of an MXArray, shape of the original x (MX §5.1).

    float64 is exact for every finite scale and element. float32 (default) is exact too, except
    that X * P >= 2^128 becomes +-Inf: a float64-sized scale, or an element rounded up past
    float32's max (e.g. 1.9 * 2^127 in MXFP8 E5M2 under "rceil": X = 2^113, P = 2^15).
    float16 and bfloat16 (an ml_dtypes dtype) are the exact value correctly rounded (RNE, once):
    values below half the smallest subnormal underflow to signed zero, values beyond max become
    Inf. A NaN scale makes its whole block NaN; element NaN/Inf stay NaN/Inf. A dtype in the
    other byte order (e.g. ">f2") gives the same values in that byte order."""
    if not isinstance(mx, MXArray):
        raise TypeError(f"mx must be an MXArray, got {type(mx).__name__}")
    dt, want = out_dtype(dtype, ("float32", "float64", "float16", "bfloat16"))
    name = dt.name
    k = effective_block(mx.block_size, mx.elements.shape[mx.axis])
    if name in ("float32", "float64"):
        if mx.elements.shape[mx.axis] % k == 0 and ieee_subnormals():
            return to_dtype(_dequantize_blocks(mx, dt, k), want)
        return to_dtype(_dequantize_table(mx, dt, k), want)
    row = FORMATS[name]
    return to_dtype(_round_to_ieee(_dequantize_table(mx, np.dtype(np.float64), k), row).view(dt), want)


@functools.lru_cache(maxsize=None)
def _value_table(el: Format, dtype: np.dtype) -> np.ndarray:
    """X * P for every (scale code, element code), flattened as (scale << bits) | code: the exact
    float64 product (always representable), cast to dtype (float32: exact, or +-Inf past its
    range). Scale 0xFF gives NaN for every element (MX §5.1)."""
    p = _decode_table(el)  # float64, exact
    sc = np.arange(256)
    t = np.ldexp(p[None, :], (sc - 127)[:, None].astype(np.int32))
    t[0xFF, :] = np.nan
    t = t.reshape(-1)
    if dtype == np.float32:  # RNE by integers (exact here, Inf past the range): no FTZ in a cast
        t = _round_to_ieee(t, FORMATS["float32"]).view(np.float32)
    t.setflags(write=False)
    return t


@functools.lru_cache(maxsize=None)
def _factor_table(dtype: np.dtype) -> np.ndarray:
    """2^(c - 127) for every E8M0 code c (NaN for 0xFF), built from bits: exact."""
    c = np.arange(256, dtype=np.int64)
    if dtype == np.float32:
        t = np.where(c == 0, 0x00400000, c << 23).astype(np.uint32).view(np.float32)
    else:
        t = ((c + (1023 - 127)) << 52).view(np.float64)
    t = t.copy()
    t[0xFF] = np.nan
    t.setflags(write=False)
    return t


@functools.lru_cache(maxsize=None)
def _pair_table(el: Format) -> np.ndarray:
    """float32 values of two consecutive element codes, indexed by the pair read as a
    little-endian uint16 (first code in the low byte), as uint64 words (two float32 each)."""
    v = np.full(256, np.nan, np.float32)
    v[: el.num_codes] = _value_table(el, np.dtype(np.float32))[127 << el.bits: (127 << el.bits) + el.num_codes]
    t = np.empty((256, 256, 2), np.float32)
    t[:, :, 0] = v[None, :]
    t[:, :, 1] = v[:, None]
    t = t.reshape(-1).view(np.uint64)
    t.setflags(write=False)
    return t


def _dequantize_blocks(mx: MXArray, dt: np.dtype, k: int) -> np.ndarray:
    """Dequantize when the blocked axis holds whole blocks: element values by table look-up
    (two codes per look-up for float32), then times the block's 2^(scale - 127) in dt. The
    product is exact: P has at most 8 significant bits and X * P lies within dt's range down to
    its subnormals' quantum (2^-149 for float32), so no rounding happens (IEEE subnormals needed)."""
    el, ax = mx.format.element, mx.axis
    codes = np.ascontiguousarray(np.moveaxis(mx.elements, ax, -1)).reshape(-1)
    scales = np.ascontiguousarray(np.moveaxis(mx.scales, ax, -1)).reshape(-1)
    out = np.empty(codes.size, dt)
    ftab = _factor_table(dt)
    vals = _value_table(el, dt)[127 << el.bits: (128 << el.bits)]
    pairs = _pair_table(el) if dt == np.float32 else None
    step = max(1, _CHUNK_F32 // k) * k  # whole blocks per chunk
    for e0 in range(0, codes.size, step):
        c = codes[e0:e0 + step]
        o = out[e0:e0 + step]
        if pairs is not None and c.size % 2 == 0:
            np.take(pairs, c.view(np.uint16), out=o.view(np.uint64))
        else:
            np.take(vals, c, out=o, mode="clip")
        with np.errstate(over="ignore"):  # X * P >= 2^128 is +-Inf in float32 (see dequantize)
            np.multiply(o, np.repeat(ftab.take(scales[e0 // k:(e0 + c.size) // k]), k), out=o)
    shape = np.moveaxis(mx.elements, ax, -1).shape
    return np.moveaxis(out.reshape(shape), -1, ax)


def _dequantize_table(mx: MXArray, dt: np.dtype, k: int) -> np.ndarray:
    """Dequantize by one table look-up per element, in chunks of rows (blocks of k)."""
    el = mx.format.element
    table = _value_table(el, dt)
    ax = mx.axis
    codes = np.moveaxis(mx.elements, ax, -1)
    scales = np.moveaxis(mx.scales, ax, -1)
    L, nb = codes.shape[-1], scales.shape[-1]
    lead = codes.shape[:-1]
    n_rows = int(np.prod(lead, dtype=np.int64))
    c2 = codes.reshape(n_rows, L)
    s2 = scales.reshape(n_rows, nb)
    out = np.empty(c2.shape, dt)
    pad = nb * k - L
    per = max(1, _CHUNK // max(L, 1))
    for r0 in range(0, c2.shape[0], per):
        sl = slice(r0, r0 + per)
        c = c2[sl]
        if pad:
            c = np.pad(c, ((0, 0), (0, pad)))
        idx = (s2[sl].astype(np.intp) << el.bits)[..., None] | c.reshape(c.shape[0], nb, k)
        v = table.take(idx)
        out[sl] = v.reshape(c.shape[0], nb * k)[:, :L] if pad else v.reshape(c.shape[0], L)
    return np.moveaxis(out.reshape(*lead, L), -1, ax)


def _round_to_ieee(x64: np.ndarray, row: Format) -> np.ndarray:
    """RNE of float64 values to an IEEE row (float16, bfloat16, float32) as uint16/uint32 bits."""
    neg, sig, flog2, is_nan, is_inf = split_float64(x64)
    mag = round_parts(neg, sig, flog2, row, "rne")
    mag = np.where((mag > row.code_of_max) | is_inf, row.inf_codes[0], mag)
    qnan = (((1 << row.exponent_bits) - 1) << row.mantissa_bits) | (1 << (row.mantissa_bits - 1))
    mag = np.where(is_nan, qnan, mag)
    return np.where(neg, mag | row.sign_mask, mag).astype(np.uint16 if row.bits == 16 else np.uint32)
