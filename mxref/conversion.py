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

from ._arrays import as_float
from .elements import _decode_table, _max_mag, _pack, _round_params, round_parts, split_float64
from .formats import Format, FORMATS, e8m0, element_format
from .options import check_choice, check_encode_options, check_random_options

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
]

#: Shared-exponent rules. Only "floor" is the §6.3 recommendation; the others are the named,
#: non-normative rules in use (amax = max |V_i| of the block, m = element mantissa width,
#: max = element max normal, emax = its exponent):
#:   floor       floor(log2 amax) - emax                                   (MX §6.3; microxcaling)
#:   ceil        ceil(log2 amax) - emax                                    (torchao CEIL)
#:   even        floor(log2(amax rounded half-up to m mantissa bits)) - emax   (torchao EVEN)
#:   rceil       ceil(log2(amax / max)), the exact quotient; never clips   (NVIDIA, torchao RCEIL)
#:   round_down  floor(log2(amax / max)), the exact quotient               (triton_kernels)
SCALE_RULES = ("floor", "ceil", "even", "rceil", "round_down")
#: A block holding +-Inf and no NaN: "nan_scale" (scale 0xFF, as microxcaling) or "finite_scale"
#: (scale from the finite values; Inf elements become Inf (E5M2), NaN (E4M3) or +-max).
INF_POLICIES = ("nan_scale", "finite_scale")
#: A shared exponent above 127 (only from float64 input or ±Inf): "clamp" to 127 (elements then
#: saturate), or "nan" (scale 0xFF).
SCALE_OVERFLOW_POLICIES = ("clamp", "nan")

#: Smallest float32 normal; flush_subnormals=True zeroes inputs below it (the MX paper's algorithm).
_FLT_MIN_LOG2 = -126
_CHUNK = 1 << 14  # elements per chunk: temporaries stay small enough to be reused, not re-mapped


@dataclass(frozen=True)
class MXFormat:
    """A concrete MX format (MX §5.2 Table 1): an element format, a block size, a scale format."""

    name: str
    element: Format
    block_size: int = 32
    scale: Format = e8m0
    spec: str = "MX §5.2 Table 1"

    def __repr__(self) -> str:
        return f"MXFormat({self.name!r})"


MX_FORMATS: dict[str, MXFormat] = {
    f"mx{e}": MXFormat(f"mx{e}", element_format(e))
    for e in ("fp8_e4m3", "fp8_e5m2", "fp6_e2m3", "fp6_e3m2", "fp4_e2m1", "int8")
}


def mx_format(fmt) -> MXFormat:
    """An :class:`MXFormat` by name (``"mxfp8_e4m3"``, ..., ``"mxint8"``), or from any element
    format name :func:`mxref.element_format` accepts (block 32, E8M0 scale)."""
    if isinstance(fmt, MXFormat):
        return fmt
    if isinstance(fmt, str):
        key = fmt.strip().lower()
        if key in MX_FORMATS:
            return MX_FORMATS[key]
        if key == "mxfp4":
            return MX_FORMATS["mxfp4_e2m1"]
    try:
        el = element_format(fmt)
    except ValueError:
        el = None
    if el is not None and el.has_zero:
        for f in MX_FORMATS.values():
            if f.element is el:
                return f
    raise ValueError(f"unknown MX format {fmt!r}; known: {', '.join(MX_FORMATS)} "
                     "(or an element format name)")


@dataclass(eq=False)
class MXArray:
    """MX-quantized data: E8M0 scale codes and element codes, unpacked, with the options used.

    ``scales`` has x's shape with the blocked axis replaced by the number of blocks; ``elements``
    has x's shape (one uint8 code per element). (MX §5.1, §6.3)"""

    format: MXFormat
    block_size: int
    axis: int
    shape: tuple
    scales: np.ndarray
    elements: np.ndarray
    options: dict = field(default_factory=dict)

    @property
    def is_mx_v1(self) -> bool:
        """True when this is an MX v1.0 format: block size 32 and an E8M0 scale (MX §5.2)."""
        return self.block_size == 32 and self.format.scale is e8m0

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

    def __eq__(self, other) -> bool:
        if not isinstance(other, MXArray):
            return NotImplemented
        return (self.format == other.format and self.block_size == other.block_size
                and self.axis == other.axis and self.shape == other.shape
                and self.options == other.options
                and np.array_equal(self.scales, other.scales)
                and np.array_equal(self.elements, other.elements))

    def __repr__(self) -> str:
        v1 = "" if self.is_mx_v1 else ", not MX v1.0"
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return (f"MXArray({self.format.name}, shape={self.shape}, axis={self.axis}, "
                f"block_size={self.block_size}{v1}, blocks={self.num_blocks}, {opts})")


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


def _check_int(name, v, lo, hi=None):
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        raise TypeError(f"{name} must be an int, got {v!r}")
    v = int(v)
    if v < lo or (hi is not None and v > hi):
        raise ValueError(f"{name} must be in {lo}..{hi if hi is not None else 'inf'}, got {v}")
    return v


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
    elements count as zeros for the scale and are not stored).

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
      * INT8 -128 only with ``int8_allow_minus128=True``.
    """
    mxf = mx_format(fmt)
    el = mxf.element
    check_choice("scale_rule", scale_rule, SCALE_RULES)
    check_encode_options(el, rounding, "saturate", "zero")
    check_choice("inf_policy", inf_policy, INF_POLICIES)
    check_choice("scale_overflow", scale_overflow, SCALE_OVERFLOW_POLICIES)
    zero_scale = _check_int("zero_scale", zero_scale, 0, 254)
    k = mxf.block_size if block_size is None else _check_int("block_size", block_size, 1)
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
        rb = np.asarray(random_bits)
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
    narrow = rows.dtype != np.float64 and rounding in _FAST_ROUNDINGS
    per = max(1, _CHUNK // max(L_c, 1))
    for r0 in range(0, rows_c.shape[0], per):
        sl = slice(r0, r0 + per)
        chunk = rows_c[sl]
        done = False
        if narrow:
            c32 = chunk if chunk.dtype == np.float32 else chunk.astype(np.float32)
            done = _quantize_rows_f32(c32, k, nb_c, el, opts, scales_c[sl], elems_c[sl])
        if not done:
            with np.errstate(invalid="ignore"):
                c64 = chunk.astype(np.float64)
            s_, e_ = _quantize_rows(c64, k, nb_c, el, opts, rb_c[sl] if rb_c is not None else None, nrnd)
            scales_c[sl] = s_
            elems_c[sl] = e_
    scales = np.moveaxis(scales.reshape(*lead, nb), -1, ax)
    elems = np.moveaxis(elems.reshape(*lead, L), -1, ax)
    return MXArray(mxf, k, ax, tuple(xa.shape), np.ascontiguousarray(scales),
                   np.ascontiguousarray(elems), opts)


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


# ----- the float32 path: the same rules on uint32 bits ------------------------------------------

_FAST_ROUNDINGS = ("rne", "ties_away", "toward_zero")


def _quantize_rows_f32(rows, k, nb, el: Format, o, out_scales, out_elems) -> bool:
    """Fill out_scales / out_elems for float32 rows, exactly as :func:`_quantize_rows` would, with
    int32 arithmetic on the bit patterns. Returns False (writing nothing) for chunks it does not
    cover: float32 subnormal inputs (unless flushed), and Inf blocks under "finite_scale"."""
    n_rows, L = rows.shape
    pad = nb * k - L
    # 1. unpack: |x| bits (exponent field and 23-bit fraction)
    a = rows.view(np.uint32) & np.uint32(0x7FFFFFFF)
    if o["flush_subnormals"]:
        a = np.where(a < np.uint32(0x00800000), np.uint32(0), a)
    elif ((a != 0) & (a < np.uint32(0x00800000))).any():
        return False  # subnormal inputs: exponent from the leading bit; the general path does it
    if pad:
        a = np.pad(a, ((0, 0), (0, pad)))
    a = a.reshape(n_rows, nb, k)
    # 2. block amax on the bits; NaN sorts above Inf above every finite value
    amax = a.max(axis=-1)
    nan_blk = amax > np.uint32(0x7F800000)
    inf_blk = amax == np.uint32(0x7F800000)
    if o["inf_policy"] == "finite_scale" and inf_blk.any():
        return False
    nan_scale = nan_blk | inf_blk
    has_val = amax != 0
    # 3. shared exponent, from the exponent and fraction fields of amax (MX §6.3; SCALE_RULES)
    ea = (amax >> np.uint32(23)).astype(np.int32)
    fa = (amax & np.uint32(0x7FFFFF)).astype(np.int32)
    emax = el.emax
    rule = o["scale_rule"]
    se = ea - 127 - emax
    if rule == "ceil":
        se = se + (fa != 0)
    elif rule == "even":
        m, _ = _round_params(el)
        se = se + ((fa + (1 << (22 - m))) >= (1 << 23))
    elif rule in ("rceil", "round_down"):
        frac_max = _max_significand(el) >> 29  # max / 2^emax as 1.f: f in units of 2^-23
        frac_max -= 1 << 23
        se = se + (fa > frac_max) if rule == "rceil" else se - (fa < frac_max)
    over = has_val & (se > 127)
    se = np.maximum(np.minimum(se, 127), -127)
    scale = np.where(has_val, se + 127, o["zero_scale"])
    if o["scale_overflow"] == "nan":
        nan_scale = nan_scale | over
    scale = np.where(nan_scale, 0xFF, scale)
    # 4. elements: y = x / 2^se; quantum 2^(max(e_y, emin) - m); N = round(sig / 2^s), int32
    m, emin = _round_params(el)
    ai = a.view(np.int32)  # |x| bits < 2^31
    e_y = (ai >> 23) - (127 + se)[..., None]
    top = np.maximum(e_y, emin)
    s = np.minimum(top - e_y + (23 - m), 25)  # the shift; any shift >= 25 rounds to 0 alike
    sig = (ai & 0x7FFFFF) | 0x800000
    rnd = o["rounding"]
    if rnd == "rne":
        n = (sig + ((1 << (s - 1)) - 1) + ((sig >> s) & 1)) >> s
    elif rnd == "ties_away":
        n = (sig + (1 << (s - 1))) >> s
    else:  # toward_zero
        n = sig >> s
    mag = ((top - emin) << m) + n
    mag *= ai != 0
    # 5. saturate and pack: sign-magnitude, or two's complement for an integer format
    ui = rows.view(np.int32) if not pad else np.pad(rows.view(np.int32), ((0, 0), (0, pad)))
    sign = (ui.reshape(n_rows, nb, k) >> 31) & 1
    if el.integer:
        top_neg = el.code_of_max + (1 if o["int8_allow_minus128"] else 0)
        mag = np.minimum(mag, el.code_of_max + sign * (top_neg - el.code_of_max))
        code = ((mag ^ -sign) + sign) & (el.num_codes - 1)
    else:
        np.minimum(mag, el.code_of_max, out=mag)
        code = mag | (sign << (el.bits - 1)) if el.signed else mag
    if nan_scale.any():
        code[nan_scale] = 0
    out_scales[...] = scale
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

    float32 (default) and float64 are exact for every finite scale and element (X * P lies in
    [2^-143, 2^128) or is zero; float32 overflows to Inf only for float64-sized scales).
    float16 and bfloat16 (an ml_dtypes dtype) are the exact value correctly rounded (RNE, once):
    values below half the smallest subnormal underflow to signed zero, values beyond max become
    Inf. A NaN scale makes its whole block NaN; element NaN/Inf stay NaN/Inf."""
    if not isinstance(mx, MXArray):
        raise TypeError(f"mx must be an MXArray, got {type(mx).__name__}")
    dt = np.dtype(dtype)
    name = dt.name
    if name not in ("float32", "float64", "float16", "bfloat16"):
        raise ValueError(f"dtype must be float32, float64, float16 or bfloat16, got {dt}")
    if name in ("float32", "float64"):
        return _dequantize_table(mx, dt)
    row = FORMATS[name]
    return _round_to_ieee(_dequantize_table(mx, np.dtype(np.float64)), row).view(dt)


@functools.lru_cache(maxsize=None)
def _value_table(el: Format, dtype: np.dtype) -> np.ndarray:
    """X * P for every (scale code, element code), flattened as (scale << bits) | code: the exact
    float64 product (always representable), cast to dtype (float32: exact, or +-Inf past its
    range). Scale 0xFF gives NaN for every element (MX §5.1)."""
    p = _decode_table(el)  # float64, exact
    sc = np.arange(256)
    t = np.ldexp(p[None, :], (sc - 127)[:, None].astype(np.int32))
    t[0xFF, :] = np.nan
    with np.errstate(over="ignore"):
        t = t.astype(dtype).reshape(-1)
    t.setflags(write=False)
    return t


def _dequantize_table(mx: MXArray, dt: np.dtype) -> np.ndarray:
    """Dequantize by one table look-up per element, in chunks of rows."""
    el = mx.format.element
    table = _value_table(el, dt)
    k, ax = mx.block_size, mx.axis
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
    """RNE of float64 values to a 16-bit IEEE row (float16, bfloat16) as uint16 bits."""
    neg, sig, flog2, is_nan, is_inf = split_float64(x64)
    mag = round_parts(neg, sig, flog2, row, "rne")
    mag = np.where((mag > row.code_of_max) | is_inf, row.inf_codes[0], mag)
    qnan = (((1 << row.exponent_bits) - 1) << row.mantissa_bits) | (1 << (row.mantissa_bits - 1))
    mag = np.where(is_nan, qnan, mag)
    return np.where(neg, mag | row.sign_mask, mag).astype(np.uint16)
