"""MX-QLLM's shared-scale modes and asymmetric formats (aiha-lab/MX-QLLM, the AMXFP4 paper,
arXiv 2411.09909) -- not MX v1.0 except the plain power-of-two mode on a spec element format.

MX-QLLM implements its modes only in CUDA (``microxcaling/mx/cpp/mx.cuh``, three kernels), in
float32, with ties-away rounding. mxref defines each mode exactly, with options that model
MX-QLLM's float32 kernels; ``max_norm`` below is the element format's largest value and ``emax``
its exponent (mxref's rows agree with MX-QLLM's ``_get_format_params`` for every format here).

Symmetric blocks (``asymmetric=False``), amax = max |x_i| of the block:

* ``"pot"``: 2^(floor(log2 amax) - emax), exactly MX §6.3's rule (mxref ``scale_rule="floor"``).
* ``"pot_r"`` (MX-QLLM scale_mode 3): the exponent is bumped when the top m+1 trailing bits of
  amax's significand are all ones (m = the element's mantissa bits, m = bits - 2 for an integer
  row). That is mxref ``scale_rule="even"`` (amax rounded half-up to m fraction bits) and torchao
  ``ScaleCalculationMode.EVEN``. mxref reads amax as a value; MX-QLLM and torchao test the float32
  fraction field, which differs for a float32-subnormal amax -- visible only for the integer
  elements (emax 0), e.g. INT4 amax in [0.875, 0.9375) * 2^-126, where MX-QLLM gives 2^-126 and
  mxref 2^-127.
  Both PoT modes: scale codes clamp to [-127, 127] (E8M0; an exponent above 127, only from
  "pot_r" with an integer element and amax near 2^128, clamps to 127 where MX-QLLM gives a NaN
  scale); an all-zero block gets 2^-127 (as MX-QLLM: exponent field 0); elements are
  x / scale rounded to the element format, saturating at +-max_norm.
* ``"float"`` (MX-QLLM scale_mode 2, its "FP16" mode -- really float32, unrounded): the float32
  number s = amax / max_norm (one float32 division: the exact quotient rounded once); s = 0 -> 1.
* ``"fp8_e4m3"`` / ``"fp8_e5m2"`` (MX-QLLM 143 / 152): s = the quotient amax / max_norm rounded
  to FP8 by ``scale_rounding``, saturating; s = 0 -> 1. With ``arithmetic="exact"`` the exact
  quotient is rounded once; with ``"float32"`` the float32 quotient is rounded (MX-QLLM: double
  rounding). E4M3 saturates at 448 (OCP E4M3; default ``e4m3_scale="ocp"``); MX-QLLM's
  ``quantize_elemwise(scale, 5, 4, 480, ...)`` treats the top code as the finite 480 -- the OCP
  NaN pattern -- which ``e4m3_scale="mxqllm"`` models with the row :data:`E4M3_480` (E4M3 with no
  NaN). mxref follows OCP by default because 480 is not an E4M3 value.
  MX-QLLM's zero guard (s = 0 -> 1) after the E5M2 rounding exists only in
  ``quantize_mx_cuda_kernel``; the innermost and by-tile kernels (the ones Linear layers run) lack
  it and divide by zero. mxref applies the guard to both FP8 scale types, everywhere.
  Elements (non-PoT scales): ``arithmetic="exact"`` rounds the exact x / s; ``"float32"`` rounds
  the float32 quotient fp32(x / s), as the kernels do (double rounding).

Element rounding: ``rounding="rne"`` (default, the spec's) or ``"ties_away"`` (MX-QLLM's
``round_mx_output="nearest"``, CUDA ``rd_away``; used by the kernels for elements and FP8 scales:
pass ``scale_rounding="ties_away"`` too). Elements saturate at +-max_norm and keep their sign
(MX-QLLM returns +0.0 for a zero).

Asymmetric floating-point blocks (``asymmetric=True``, a floating element; MX-QLLM ``fp*_asym``):
two scales per block, from amax_pos = max(x_i, 0) and amax_neg = max(-x_i, 0) by the rules above;
x_i > 0 uses the positive scale, every other x_i (zeros included) the negative one; on
dequantization a code with the sign bit clear and a non-zero value uses the positive scale.
(MX-QLLM's innermost kernel takes the true block max / min, its by-tile kernel starts them at 0;
a side with no element of its sign is never used, so both give the same values.)

Asymmetric integer blocks (``asymmetric=True``, an integer element of b bits; MX-QLLM
``int*_asym``), with L = 2^b - 1 and R the element ``rounding`` to an integer:

* the float32 scale s = (max - min) / L, max and min the block's largest and smallest x_i
  (MX-QLLM's innermost kernel; its by-tile kernel starts them at 0 so the range includes 0 --
  not followed); s = 0 -> 1. ``arithmetic="exact"``: the exact quotient rounded once to float32;
  ``"float32"``: fp32(fp32(max - min) / L).
* ``"pot"`` / ``"pot_r"`` then replace s by 2^floor(log2 s) / 2^round(log2 s) (round in the log
  domain: up iff the significand of s is at least sqrt(2)), exactly from s's bits where MX-QLLM
  uses ``log2f`` (which can be off next to a power of two). The FP8 scale modes are refused:
  MX-QLLM ignores them for asymmetric integers (its scale stays the float one; use "float").
* zero point shift = -R(min / s) - 2^(b-1); q_i = R(x_i / s + shift); value (q_i - shift) * s.
  ``arithmetic="float32"`` evaluates min / s, the shift, x_i / s + shift in float32 as the kernels.
* ``int_clamp``: "full" (default) clamps q to [-2^(b-1), 2^(b-1) - 1], the b-bit range; "none"
  models MX-QLLM's float-type modes (no clamp: q can reach -2^(b-1) - 1 or 2^(b-1)); "upper"
  models ``quantize_mx_cuda_kernel`` in the PoT modes (min(q, 2^(b-1) - 1) only). The innermost
  and by-tile kernels clamp the PoT modes to [0, 2^(b-1) - 1], throwing away every negative
  level (a bug by their own comment "-8~7"): not followed, not offered.
* ``elements`` holds the integers q (int16), not codes; ``zero_points`` the shifts (int32). A block
  whose shift or q - shift does not fit (|shift| >= 2^31, e.g. a constant block of 3e9) raises
  ValueError.

Every mode: a block holding NaN or +-Inf gets NaN scale(s) (elements 0, zero point 0; all its
values NaN), as mxref's MX default. Inputs must be float32 values (float16, bfloat16, float32, or
float64 holding float32 values): MX-QLLM computes in float32. MX-QLLM's scale_mode 1 (unreachable
from its Python) and the "synced mantissa" modes 11 ... 1111111 are not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._arrays import as_float, out_dtype, to_dtype, widen_exact
from .._kernel import Blocked, blocked_codes, max_mag, pack_code, round_parts, round_to_ieee, split_float64, unblock
from ..arrays import CheckedFields, Owned, check_blocked_codes, frozen_array
from ..conversion import quantize as mx_quantize
from ..elements import encode
from ..formats import ELEMENT_FORMATS, Format, e8m0, element_format, fp8_e4m3, fp8_e5m2, mx_format
from ..options import check_block_size, check_choice, check_int, check_options, choice_option
from ..scale import shared_exponent
from ._exact import FLOAT32, INTEGERS, sign_a_minus_bc, f32, mag_value, round_difference_quotient, round_quotient

__all__ = [
    "MXQLLMArray",
    "quantize",
    "dequantize",
    "SCALE_MODES",
    "ARITHMETICS",
    "INT_CLAMPS",
    "E4M3_SCALES",
    "E4M3_480",
]

#: Shared-scale modes (MX-QLLM scale_mode 0, 3, 2, 143, 152).
SCALE_MODES = ("pot", "pot_r", "float", "fp8_e4m3", "fp8_e5m2")
#: "exact" (default) or "float32" (MX-QLLM's float32 kernel arithmetic).
ARITHMETICS = ("exact", "float32")
#: Asymmetric INT clamp of q: "full" (default), "none", "upper".
INT_CLAMPS = ("full", "none", "upper")
#: E4M3 scale saturation: "ocp" (448, default) or "mxqllm" (480, the top code finite).
E4M3_SCALES = ("ocp", "mxqllm")
#: Element / FP8-scale rounding modes.
ROUNDINGS = ("rne", "ties_away")
#: MX-QLLM's E4M3 scale format: E4M3 with the all-ones code finite (480), no NaN. Not OCP.
E4M3_480 = Format("fp8_e4m3_480", 8, 4, 3, 7, "finite", None, extension=True,
                  spec="not OFP8: MX-QLLM's E4M3 scale (quantize_elemwise max_norm 480)")

_POT_RULES = {"pot": "floor", "pot_r": "even"}


#: The option keys an MXQLLMArray may carry (those :func:`quantize` records).
MXQLLM_OPTIONS = {
    "scale_mode": choice_option(SCALE_MODES),
    "rounding": choice_option(ROUNDINGS),
    "scale_rounding": choice_option(ROUNDINGS),
    "e4m3_scale": choice_option(E4M3_SCALES),
    "int_clamp": choice_option(INT_CLAMPS),
    "arithmetic": choice_option(ARITHMETICS),
}


@dataclass(eq=False)
class MXQLLMArray(CheckedFields):
    """MX-QLLM-style quantized data. Per block: ``scales`` (float32 values; the positive side
    for asymmetric floating formats), ``scales_neg`` (asymmetric floating formats) and
    ``zero_points`` (asymmetric integers: int32 shifts); ``elements``: uint8 element codes, or
    the int16 levels q for asymmetric integers. Per-block arrays have x's shape with the blocked
    axis replaced by the number of blocks. A NaN scale makes its block NaN; every other scale
    is a positive finite float32. The arrays are read-only (given arrays are copied); assigning
    a field again checks the whole array anew."""

    element: Format
    block_size: int
    axis: int
    shape: tuple
    scale_mode: str
    asymmetric: bool
    scales: np.ndarray
    elements: np.ndarray
    scales_neg: np.ndarray | None = None
    zero_points: np.ndarray | None = None
    options: dict = field(default_factory=dict)

    _FIELDS = ("element", "block_size", "axis", "shape", "scale_mode", "asymmetric", "scales", "elements",
               "scales_neg", "zero_points", "options")

    def __post_init__(self):
        self.element = element_format(self.element)
        if not self.element.has_zero:
            raise ValueError(f"element must be an element format, got the scale format {self.element.name}")
        check_choice("scale_mode", self.scale_mode, SCALE_MODES)
        if not isinstance(self.asymmetric, (bool, np.bool_)):
            raise TypeError(f"asymmetric must be a bool, got {self.asymmetric!r}")
        self.asymmetric = bool(self.asymmetric)
        for nm, kind in (("scales", "float32"), ("elements", "uint8 (int16 levels for asymmetric INT)"),
                         ("scales_neg", "float32"), ("zero_points", "int32")):
            if getattr(self, nm) is not None or nm in ("scales", "elements"):
                setattr(self, nm, frozen_array(nm, getattr(self, nm), kind))
        int_asym = self.asymmetric and self.element.integer
        fp_asym = self.asymmetric and not self.element.integer
        self.shape, self.axis, self.block_size, want = check_blocked_codes(
            self.shape, self.axis, self.block_size, self.elements,
            elements_dtype=np.int16 if int_asym else np.uint8)
        for nm, needed, dt in (("scales", True, np.float32), ("scales_neg", fp_asym, np.float32),
                               ("zero_points", int_asym, np.int32)):
            a = getattr(self, nm)
            if not needed:
                if a is not None:
                    raise ValueError(f"{nm} must be None for this format")
                continue
            if not isinstance(a, np.ndarray) or a.dtype != dt or a.shape != want:
                raise ValueError(f"{nm} must be a {np.dtype(dt).name} array of shape {want}")
            if dt == np.float32:
                with np.errstate(invalid="ignore"):
                    bad = ~(np.isnan(a) | (np.isfinite(a) & (a > 0)))
                if bad.any():
                    raise ValueError(f"{nm} holds {a[bad].flat[0]!r}: a scale is a positive finite "
                                     "float32, or NaN (a NaN block)")
        if not int_asym and self.elements.size and int(self.elements.max()) >= self.element.num_codes:
            raise ValueError(f"elements holds a code outside {self.element.name}")
        self.options = check_options(self.options, MXQLLM_OPTIONS, "MXQLLMArray")
        object.__setattr__(self, "_checked", True)

    @property
    def is_mx_v1(self) -> bool:
        """True only for a symmetric power-of-two mode on a spec element format with blocks of
        32: then the scale is an E8M0 value and the block an MX v1.0 block (MX §5.2)."""
        el = self.element
        return (not self.asymmetric and self.scale_mode in _POT_RULES and self.block_size == 32
                and not el.extension and el in ELEMENT_FORMATS.values())

    @property
    def scale_format(self) -> Format:
        """The format of the scale values: E8M0 (PoT modes), FP8 E4M3 / MX-QLLM's E4M3_480 / E5M2,
        or float32 ("float", and every asymmetric INT scale: its powers of two reach 2^-149)."""
        if self.asymmetric and self.element.integer:
            return FLOAT32
        if self.scale_mode in _POT_RULES:
            return e8m0
        if self.scale_mode == "float":
            return FLOAT32
        if self.scale_mode == "fp8_e5m2":
            return fp8_e5m2
        return E4M3_480 if self.options.get("e4m3_scale") == "mxqllm" else fp8_e4m3

    def dequantize(self, dtype=np.float32, *, arithmetic: str = "exact") -> np.ndarray:
        return dequantize(self, dtype, arithmetic=arithmetic)

    def __eq__(self, other) -> bool:
        if not isinstance(other, MXQLLMArray):
            return NotImplemented

        def same(a, b):
            return (a is None and b is None) or (a is not None and b is not None and
                                                 np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
        return (self.element == other.element and self.block_size == other.block_size
                and self.axis == other.axis and self.shape == other.shape
                and self.scale_mode == other.scale_mode and self.asymmetric == other.asymmetric
                and self.options == other.options and same(self.scales, other.scales)
                and same(self.scales_neg, other.scales_neg) and same(self.zero_points, other.zero_points)
                and np.array_equal(self.elements, other.elements))

    def __repr__(self) -> str:
        v1 = "" if self.is_mx_v1 else ", not MX v1.0"
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        kind = "asymmetric " if self.asymmetric else ""
        return (f"MXQLLMArray({kind}{self.element.name}, scale_mode={self.scale_mode!r}, shape={self.shape}, "
                f"axis={self.axis}, block_size={self.block_size}{v1}, {opts})")


# ----- helpers --------------------------------------------------------------------------------------


def _as_f32_values(x) -> np.ndarray:
    xa = as_float(x)
    x64 = widen_exact(xa)
    if xa.dtype == np.float64:
        with np.errstate(invalid="ignore"):
            bad = np.isfinite(x64) & (f32(x64) != x64)
        if bad.any():
            v = x64[bad].flat[0]
            raise ValueError(f"x holds {v!r}, which is not a float32 value; MX-QLLM computes in "
                             "float32: round x to float32 first (e.g. x.astype(np.float32))")
    return x64


def _to_f32_array(v64) -> np.ndarray:
    return round_to_ieee(np.asarray(v64, np.float64), FLOAT32).view(np.float32)


def _rint(y, rounding):
    """Exact rounding of float64 values to integers (float64 results)."""
    if rounding == "rne":
        return np.rint(y)
    t = np.trunc(y)
    return t + np.sign(y) * (np.abs(y - t) >= 0.5)


def _fp8_row(scale_mode, e4m3_scale):
    if scale_mode == "fp8_e5m2":
        return fp8_e5m2
    return E4M3_480 if e4m3_scale == "mxqllm" else fp8_e4m3


def _float_scale(amax, el: Format, o):
    """Non-PoT scale values (float64 holding float32 values) of amax >= 0 (finite)."""
    mn = el.max
    if o["scale_mode"] == "float":
        s = mag_value(FLOAT32, round_quotient(amax, mn, FLOAT32, "rne"))
    else:
        row = _fp8_row(o["scale_mode"], o["e4m3_scale"])
        if o["arithmetic"] == "exact":
            c = round_quotient(amax, mn, row, o["scale_rounding"])
        else:
            t = mag_value(FLOAT32, round_quotient(amax, mn, FLOAT32, "rne"))  # fp32(amax / max_norm)
            t = np.where(t == 0, 1.0, t)  # MX-QLLM's guard before the cast (FP8(1) = 1 either way)
            c = encode(t, row, rounding=o["scale_rounding"], overflow="saturate").astype(np.int64)
        s = mag_value(row, np.minimum(c, row.code_of_max))
    return np.where(s == 0, 1.0, s)


def _elements_by_scale(v, s, el: Format, o):
    """Element codes of x / s (s > 0 per element, float64 of float32 values)."""
    neg = np.signbit(v)
    a = np.abs(v)
    if o["arithmetic"] == "exact":
        mag = round_quotient(a, s, el, o["rounding"])
    else:
        y = f32(a / s)  # fp32(|x| / s) = |fp32(x / s)|
        mag = encode(y, el, rounding=o["rounding"], overflow="saturate", nan="zero").astype(np.int64)
    return pack_code(el, neg, np.minimum(mag, max_mag(el, neg, False)))


def _pot_exponents(amax, el: Format, rule):
    """Clamped shared exponents of amax >= 0 (0 -> -127) by an mxref scale rule."""
    has = amax > 0
    _, sig, flog2, _, _ = split_float64(np.where(has, amax, 1.0))
    se = shared_exponent(sig, flog2, el, rule)
    return np.where(has, np.clip(se, -127, 127), -127)


# ----- quantize -------------------------------------------------------------------------------------


def quantize(
    x,
    fmt,
    *,
    scale_mode: str = "pot",
    asymmetric: bool = False,
    axis: int = -1,
    block_size: int = 32,
    rounding: str = "rne",
    scale_rounding: str = "rne",
    e4m3_scale: str = "ocp",
    int_clamp: str = "full",
    arithmetic: str = "exact",
) -> MXQLLMArray:
    """Quantize x along ``axis`` in blocks of ``block_size`` with an MX-QLLM scale mode,
    symmetric or asymmetric. ``fmt``: an element format (or an MX format, for its element).
    See the module docstring for every rule and option."""
    try:
        el = element_format(fmt)
    except ValueError:
        el = mx_format(fmt).element
    if not el.has_zero:
        raise ValueError(f"fmt must be an element format, got the scale format {el.name}")
    check_choice("scale_mode", scale_mode, SCALE_MODES)
    check_choice("rounding", rounding, ROUNDINGS)
    check_choice("scale_rounding", scale_rounding, ROUNDINGS)
    check_choice("e4m3_scale", e4m3_scale, E4M3_SCALES)
    check_choice("int_clamp", int_clamp, INT_CLAMPS)
    check_choice("arithmetic", arithmetic, ARITHMETICS)
    if not isinstance(asymmetric, (bool, np.bool_)):
        raise TypeError(f"asymmetric must be a bool, got {asymmetric!r}")
    asymmetric = bool(asymmetric)
    int_asym = asymmetric and el.integer
    if int_asym and scale_mode.startswith("fp8"):
        raise ValueError(f"scale_mode {scale_mode!r} with an asymmetric integer format: MX-QLLM "
                         "ignores FP8 scales there (its scale stays the float32 one); use 'float'")
    k = check_block_size(block_size)
    x64 = _as_f32_values(x)
    if x64.ndim == 0:
        raise ValueError("x must have at least one dimension")
    ax = check_int("axis", axis, -x64.ndim, x64.ndim - 1) % x64.ndim
    o = dict(scale_mode=scale_mode, rounding=rounding, scale_rounding=scale_rounding,
             e4m3_scale=e4m3_scale, int_clamp=int_clamp, arithmetic=arithmetic)
    shape = tuple(x64.shape)

    # 1. symmetric PoT modes: mxref's MX conversion (MX §6.3 and scale_rule "even")
    if not asymmetric and scale_mode in _POT_RULES:
        mx = mx_quantize(_to_f32_array(x64), mx_format(el), axis=ax, block_size=k, scale_rule=_POT_RULES[scale_mode],
                         rounding=rounding)
        sc = mx.scales.astype(np.int64)
        vals = np.where(sc == 0xFF, np.nan, np.ldexp(1.0, (sc - 127).astype(np.int32)))
        return MXQLLMArray(el, k, ax, shape, scale_mode, False, Owned(_to_f32_array(vals)),
                           Owned(mx.elements), options=o)

    # 2. blockwise: specials, then per kind
    blk = Blocked(x64, ax, k)
    n = blk.blocks.shape[0]
    scales = np.empty(n, np.float64)
    scales_neg = np.empty(n, np.float64) if asymmetric and not el.integer else None
    zps = np.empty(n, np.int64) if int_asym else None
    elems = np.empty((n, blk.k), np.int64)  # blk.k: a block longer than the axis is short
    for sl in blk.chunks():
        v = blk.blocks[sl]
        bad = (~np.isfinite(v)).any(axis=1)
        vf = np.where(np.isfinite(v), v, 0.0)
        if int_asym:  # max and min over the block's own elements (a short last block is padded)
            s, zp, q = _int_asym_blocks(vf, blk.valid(sl), bad, el, o)
            zps[sl] = np.where(bad, 0, zp)
        elif asymmetric:
            s, s_neg, q = _fp_asym_blocks(vf, el, o)
            scales_neg[sl] = np.where(bad, np.nan, s_neg)
        else:
            s = _float_scale(np.abs(vf).max(axis=1), el, o)
            q = _elements_by_scale(vf, s[:, None], el, o)
        scales[sl] = np.where(bad, np.nan, s)
        elems[sl] = np.where(bad[:, None], 0, q)
    el_out = blk.elements_back(elems.astype(np.int16 if int_asym else np.uint8))
    return MXQLLMArray(
        el, k, ax, shape, scale_mode, asymmetric, Owned(blk.scales_back(_to_f32_array(scales))), Owned(el_out),
        scales_neg=None if scales_neg is None else Owned(blk.scales_back(_to_f32_array(scales_neg))),
        zero_points=None if zps is None else Owned(blk.scales_back(zps.astype(np.int32))), options=o)


def _fp_asym_blocks(v, el: Format, o):
    """(positive scales, negative scales, element codes) of finite blocks v (n, k)."""
    amax_pos = np.maximum(v.max(axis=1), 0.0)
    amax_neg = np.maximum(-v.min(axis=1), 0.0)
    pos = v > 0
    neg = np.signbit(v)
    if o["scale_mode"] in _POT_RULES:
        rule = _POT_RULES[o["scale_mode"]]
        se_p = _pot_exponents(amax_pos, el, rule)
        se_n = _pot_exponents(amax_neg, el, rule)
        se = np.where(pos, se_p[:, None], se_n[:, None])
        _, sig, flog2, _, _ = split_float64(v)
        mag = round_parts(neg, sig, flog2 - se, el, o["rounding"])  # x / 2^se exactly
        code = pack_code(el, neg, np.minimum(mag, max_mag(el, neg, False)))
        return np.ldexp(1.0, se_p.astype(np.int32)), np.ldexp(1.0, se_n.astype(np.int32)), code
    s_p = _float_scale(amax_pos, el, o)
    s_n = _float_scale(amax_neg, el, o)
    s = np.where(pos, s_p[:, None], s_n[:, None])
    return s_p, s_n, _elements_by_scale(v, s, el, o)


_SHIFT_LIMIT = 1 << 31


def _int_asym_blocks(v, valid, bad, el: Format, o):
    """(scales, zero points, levels q) of blocks v (n, k) of an integer element (non-finite values
    replaced by 0 in the blocks marked bad, whose results are discarded); valid marks the block's
    own elements (not padding)."""
    b = el.bits
    L = (1 << b) - 1
    half = 1 << (b - 1)
    hi = np.where(valid, v, -np.inf).max(axis=1)
    lo = np.where(valid, v, np.inf).min(axis=1)
    # 1. the float32 scale s = (max - min) / L, 0 -> 1, then PoT
    if o["arithmetic"] == "exact":
        s = mag_value(FLOAT32, round_difference_quotient(hi, lo, L, FLOAT32, "rne"))
    else:
        s = f32(f32(hi - lo) / L)
    s = np.where(s == 0, 1.0, s)
    if o["scale_mode"] in _POT_RULES:
        frac, ex = np.frexp(s)  # s = frac * 2^ex, frac in [0.5, 1): exact
        e = ex - 1
        if o["scale_mode"] == "pot_r":
            m = np.ldexp(frac, 24).astype(np.uint64)  # significand * 2^23, in [2^23, 2^24)
            e = e + (m * m >= np.uint64(1 << 47))  # log2(significand) >= 1/2
        if (e > 127).any():
            raise ValueError("an asymmetric INT scale rounds to 2^128, beyond float32")
        s = np.ldexp(1.0, e.astype(np.int32))
    sc = s[:, None]
    # 2. zero point and levels
    r = o["rounding"]
    if o["arithmetic"] == "exact":
        # |lo| / s >= 2^40 makes a zero point far beyond int32 (refused below); checked first, since
        # the integer rounding core takes quotients below 2^52 only (a 53-bit significand)
        far = ~bad & (np.abs(lo) >= np.ldexp(s, 40))  # exact: s times a power of two
        if far.any():
            _check_shift(np.where(far, np.abs(lo) / s, 0))
        lo_q = np.where(lo < 0, -1, 1) * round_quotient(np.abs(lo), s, INTEGERS, r)
        shift = -lo_q - half
        _check_shift(np.where(bad, 0, shift))
        q = _round_shifted_quotient(v, sc, shift[:, None], r)
    else:
        shift = f32(-_rint(f32(lo / s), r) - half)
        _check_shift(np.where(bad, 0, shift))
        q = _rint(f32(f32(v / sc) + shift[:, None]), r)
    top = half - 1
    if o["int_clamp"] == "full":
        q = np.clip(q, -half, top)
    elif o["int_clamp"] == "upper":
        q = np.minimum(q, top)
    return s, shift.astype(np.int64), q.astype(np.int64)


def _round_shifted_quotient(v, s, shift, rounding):
    """R(v / s + shift) exactly, shift an integer: away from a tie R(v / s) + shift; at a tie
    (v / s = m + 1/2) the tie is resolved at m + 1/2 + shift (RNE and ties-away are not
    invariant under integer shifts)."""
    a = np.abs(v)
    sgn = np.where(np.signbit(v), -1, 1)
    c = round_quotient(a, s, INTEGERS, "rne")
    with np.errstate(over="ignore", invalid="ignore"):
        tie_lo = (c > 0) & (sign_a_minus_bc(a, s, c - 0.5) == 0)  # |v| / s = c - 1/2
        tie_hi = sign_a_minus_bc(a, s, c + 0.5) == 0  # |v| / s = c + 1/2
    q = sgn * c + shift
    t2 = sgn * np.where(tie_lo, 2 * c - 1, 2 * c + 1) + 2 * shift  # 2 (v / s + shift): odd at a tie
    lo = (t2 - 1) // 2  # the tie is between lo and lo + 1
    if rounding == "rne":
        tq = np.where(lo % 2 == 0, lo, lo + 1)
    else:
        tq = np.where(t2 > 0, lo + 1, lo)
    return np.where(tie_lo | tie_hi, tq, q)


def _check_shift(shift):
    if (np.abs(shift) >= _SHIFT_LIMIT - 512).any():
        bad = shift[np.abs(shift) >= _SHIFT_LIMIT - 512].flat[0]
        raise ValueError(f"an asymmetric INT zero point is {bad:.0f}, beyond the int32 range "
                         "mxref stores (a block whose minimum is huge compared with its scale, "
                         "e.g. a constant block of 3e9)")


# ----- dequantize -----------------------------------------------------------------------------------


def dequantize(a: MXQLLMArray, dtype=np.float32, *, arithmetic: str = "exact") -> np.ndarray:
    """Values of an MXQLLMArray: P * s (symmetric), P * s_pos or P * s_neg (asymmetric floating:
    s_pos for a code with the sign clear and a non-zero value), (q - shift) * s (asymmetric
    integers). ``arithmetic="exact"`` (default): the exact value, correctly rounded once to
    ``dtype`` (float32 or float64). ``"float32"`` models the kernels' output
    fp32(fp32(q - shift) * s) for asymmetric integers (elsewhere the one product is the same).
    A NaN scale makes its block NaN."""
    if not isinstance(a, MXQLLMArray):
        raise TypeError(f"a must be an MXQLLMArray, got {type(a).__name__}")
    check_choice("arithmetic", arithmetic, ARITHMETICS)
    dt, want = out_dtype(dtype, ("float32", "float64"))
    el, k, ax = a.element, a.block_size, a.axis
    codes, s = blocked_codes(a.elements, a.scales, ax, k)
    s = widen_exact(s)[:, None]
    if a.asymmetric and el.integer:
        _, zp = blocked_codes(a.elements, a.zero_points, ax, k)
        d = codes.astype(np.int64) - zp.astype(np.int64)[:, None]  # |d| < 2^32
        if arithmetic == "float32":
            v = f32(f32(d.astype(np.float64)) * s)
        elif dt == np.float64:
            v = d.astype(np.float64) * s  # one rounding: int64 -> float64 is exact below 2^53
        else:
            # round to odd at 53 bits (|d| < 2^32 and s has 24 bits: the product has <= 56)
            v = _f32_of_int_times(d, s)
        v = np.where(np.isnan(s), np.nan, v)
    else:
        if el.integer:
            p = mag_value(el, codes.astype(np.int64))
            p = np.where(codes.astype(np.int64) >= el.num_codes // 2, p - 2.0 ** (el.bits + el.scale_exponent), p)
        else:
            p = mag_value(el, codes.astype(np.int64) & (el.sign_mask - 1))
            p = np.where((codes & el.sign_mask) != 0, -p, p)
        if a.asymmetric:
            _, sn = blocked_codes(a.elements, a.scales_neg, ax, k)
            s = np.where(p > 0, s, widen_exact(sn)[:, None])
        v = p * s  # at most 8 + 24 significant bits: exact
        v = np.where(np.isnan(s), np.nan, v)
        if dt == np.float32:
            v = f32(v)
    out = unblock(v, a.shape, ax, k)
    return to_dtype(out if dt == np.float64 else _to_f32_array(out), want)


def _f32_of_int_times(d, s):
    """float64 holding the float32 RNE of the exact d * s (int64 |d| < 2^32, s a float32 value)."""
    frac, ex = np.frexp(np.where(np.isnan(s), 1.0, s))
    ms = np.ldexp(frac, 24).astype(np.int64)  # s = ms * 2^(ex - 24), ms < 2^24
    prod = d * ms  # |prod| < 2^56: exact in int64
    sgn = np.sign(prod)
    ap = np.abs(prod)
    # above 2^53: round to odd at 53 bits (the low 3 bits folded into a sticky bit), exact in
    # float64; RNE to float32 from it is the RNE of the exact product
    big = ap >= (1 << 53)
    odd = np.where(big, ((ap >> 3) | ((ap & 7) != 0).astype(np.int64)) << 3, ap)
    return f32(sgn * np.ldexp(odd.astype(np.float64), (ex - 24).astype(np.int32)))
