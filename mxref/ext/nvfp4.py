"""NVFP4 (not MX v1.0): E2M1 elements, blocks of 16, an unsigned E4M3 block scale, and an
optional per-tensor float32 scale. Exact by default; options model the variants in use.

Definition (default, ``arithmetic="exact"``), for a block B of x with the per-tensor scale P
(P = 1 when there is none):

1. amax = max |x_i| over B (exact).
2. block scale S = E4M3 RNE of the exact amax / (6 P), saturating at 448 (OFP8 SAT); its code
   is an E4M3 code with the sign bit clear (0x00 ... 0x7E).
3. element e_i = E2M1 RNE of the exact x_i / (P S), saturating at +-6; the sign is kept
   (-0.0 and negatives that round to zero give the -0 code 0x8).
4. value v_i = P * S * e_i.

A block whose scale is 0 (an all-zero block, or amax / (6 P) <= 2^-10) holds zeros: its elements
are +-0 with x's signs (x / 0 is not a number). Options, each modelling what it names:

* ``scale_clamp="min_normal"``: the block scale is clamped to [2^-6, 448] before the E4M3
  cast, as torchao does (``torch.clamp(block_scale, min=E4M3_EPS, max=448)``, E4M3_EPS the
  smallest normal): no subnormal scales, an all-zero block gets 2^-6 (code 0x08).
  ``scale_clamp="min_subnormal"``: clamped to [2^-9, 448] (2^-9 the smallest E4M3 subnormal) before
  the cast, as NVIDIA ModelOpt does (``nvfp4_tensor.py`` ``_cast_per_block_scale_to_fp8``,
  ``clamp(min=2**-9, max=448)``, nvidia-modelopt 0.47.0): a non-zero block whose quotient rounds
  to 0 gets 2^-9 (code 0x01), an all-zero block code 0x01 too (ModelOpt sets its scale to 1.0;
  every scale gives zeros there).
  ``scale_clamp="zero_to_0.125"``: a block scale that rounds to 0 is replaced by 0.125 (code
  0x20), as vllm-project/compressed-tensors does (``quantization/utils/helpers.py``
  ``calculate_qparams``, step 5: ``scales == 0`` set to ``_get_dtype_eps(float8_e4m3fn)`` =
  0.125, compressed-tensors 0.20.1): an all-zero block gets 0x20, and a non-zero block whose
  quotient rounds to 0 is quantized against S = 0.125 (its elements mostly 0).
  Default ``"none"``: the scale is the E4M3 rounding of the exact quotient, subnormals included.
* ``arithmetic="float32"``: torchao 0.18's CPU ``nvfp4_quantize`` (pytorch/ao#4031, #4188; the
  MSLK Triton numerics): x is taken as float32, t = fp32(amax / 6) (then fp32(t / P) with a
  per-tensor scale), S = E4M3 RNE of t; elements are fp32(x * fp32(1 / S)), or
  fp32(x * fp32(fp32(1 / P) / S)) with a per-tensor scale, clamped to +-6 and rounded RNE.
  ``arithmetic="float32_divide"``: torchao before #4031: fp32(x / S), or fp32(x / fp32(P S)).
  ``arithmetic="float32_divide_6p"``: as ``"float32_divide"`` but the block scale's quotient is
  t = fp32(amax / fp32(6 P)) (one division by the rounded product; the same as the others for
  P = 1), as NVIDIA ModelOpt computes it (``nvfp4_tensor.py``
  ``NVFP4QTensor.get_weights_scaling_factor``: ``per_block_amax / (E2M1_MAX *
  weights_scaling_factor_2)``, nvidia-modelopt 0.47.0).
  Every fp32(...) is one IEEE float32 operation (round to nearest even).
* ``per_tensor_scale``: None (single level, P = 1), a positive float32 value (given), or
  ``"amax"``: computed as torchao's ``per_tensor_amax_to_scale``, P = fp32(amax_T / 2688)
  (2688 = 448 * 6), amax_T the largest finite |x| of the whole tensor; a zero result (an
  all-zero tensor, or one so small that the quotient underflows) is taken as P = 1.
* ``per_tensor_scale_form``: ``"direct"`` (default): the per-tensor scale is P, as above.
  ``"reciprocal"``: the per-tensor scale given (and stored in ``NVFP4Array.per_tensor_scale``) is
  its reciprocal, the float32 *global scale* G = 1 / P of compressed-tensors (0.20.1,
  ``quantization/utils/helpers.py`` ``generate_gparam``: G = fp32(2688 / amax_T)): S = E4M3 RNE
  of amax G / 6, e_i = E2M1 RNE of x_i G / S, v_i = S e_i / G, each exact and rounded once.
  ``per_tensor_scale="amax"`` then gives G = fp32(2688 / amax_T), 1 where that is 0 / 0 or
  overflows (an all-zero tensor, or amax_T below about 7.9e-36: ``generate_gparam``'s
  ``nan_to_num(..., posinf=1.0)``). With ``arithmetic="float32_divide"`` it is compressed-tensors'
  CPU arithmetic: t = fp32(fp32(amax / 6) G) (``calculate_qparams``: ``max_val_pos / 6``, then
  ``global_scale * scales``), S = E4M3 RNE of t clamped to 448; elements fp32(x / fp32(S / G))
  (``lifecycle/forward_helpers.py`` ``_quantize``: ``scale / global_scale``, ``x / scale``);
  values fp32(e fp32(S / G)) under ``dequantize(arithmetic="float32")`` (``_dequantize``). The
  reciprocal form takes ``arithmetic="exact"`` or ``"float32_divide"`` only (the others model
  libraries that multiply by P).
* ``inf_policy``: a block holding a NaN always gets the E4M3 NaN scale 0x7F and element codes 0
  (all its values NaN). A block holding +-Inf (no NaN): ``"nan_scale"`` (default) treats it the
  same way; ``"saturate"`` models torchao: amax = Inf gives S = 448 (saturated), Inf elements
  become +-6, the finite ones are rounded against P * 448.

The float32 variants take float64 input by rounding it to float32 first (RNE, as torch's
``.float()``); float16 / bfloat16 / float32 inputs are exact either way. In them an operation
that leaves the finite float32 range (fp32(1 / P) = Inf, for P below about 2^-128) raises ValueError
instead of silently giving NaN codes. (fp32(P S) cannot underflow to 0: a non-zero S is at least
2/3 of t = fp32(amax / 6) / P, so P S >= (2/3) 2^-149.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._arrays import as_float, out_dtype, refuse_masked, to_dtype, widen_exact
from .._kernel import round_to_ieee
from ..arrays import CheckedFields, Owned, check_blocked_codes, frozen_array
from ..elements import encode
from ..formats import fp4_e2m1, fp8_e4m3
from ..options import check_block_size, check_choice, check_int, check_options, choice_option
from .._kernel import Blocked, blocked_codes, unblock
from ._exact import FLOAT32, f32, mag_value, round_product_quotient, round_quotient

__all__ = [
    "NVFP4_PTS_FORMS",
    "NVFP4Array",
    "quantize_nvfp4",
    "dequantize_nvfp4",
    "nvfp4_per_tensor_scale",
    "NVFP4_ARITHMETICS",
    "NVFP4_SCALE_CLAMPS",
    "NVFP4_INF_POLICIES",
    "NVFP4_BLOCK_SIZE",
]

#: The NVFP4 block size.
NVFP4_BLOCK_SIZE = 16
#: "exact" (default), "float32" (torchao 0.18, reciprocal multiply), "float32_divide" (torchao
#: before pytorch/ao#4031, division by the scale), "float32_divide_6p" (ModelOpt: that, with the
#: block scale's quotient fp32(amax / fp32(6 P))).
NVFP4_ARITHMETICS = ("exact", "float32", "float32_divide", "float32_divide_6p")
#: "none" (default: E4M3 of the quotient, subnormal scales included), "min_normal" (torchao:
#: clamp to [2^-6, 448] before the cast), "min_subnormal" (ModelOpt: [2^-9, 448]),
#: "zero_to_0.125" (compressed-tensors: a zero scale becomes 0.125).
NVFP4_SCALE_CLAMPS = ("none", "min_normal", "min_subnormal", "zero_to_0.125")
#: The per-tensor scale's form: "direct" (default: P, v = P S e) or "reciprocal" (compressed-tensors'
#: global scale G = 1 / P, v = S e / G).
NVFP4_PTS_FORMS = ("direct", "reciprocal")
#: The arithmetics the reciprocal form takes.
_RECIPROCAL_ARITHMETICS = ("exact", "float32_divide")
#: A block holding +-Inf: "nan_scale" (default, scale 0x7F) or "saturate" (torchao: scale 448,
#: Inf elements +-6).
NVFP4_INF_POLICIES = ("nan_scale", "saturate")

_E4M3_NAN = 0x7F
_E4M3_MAX_CODE = fp8_e4m3.code_of_max  # 0x7E = 448
_E4M3_MIN_NORMAL_CODE = 1 << fp8_e4m3.mantissa_bits  # 0x08 = 2^-6
_E4M3_EIGHTH_CODE = (fp8_e4m3.bias - 3) << fp8_e4m3.mantissa_bits  # 0x20 = 0.125 = 2^-3
_E2M1_MAX_CODE = fp4_e2m1.code_of_max  # 0x7 = 6
_E2M1_SIGN = fp4_e2m1.sign_mask
_PTS_DIVISOR = fp8_e4m3.max * fp4_e2m1.max  # 2688


def _check_pts_value(v) -> float:
    refuse_masked(v, "per_tensor_scale")
    try:
        f = float(np.asarray(v, dtype=np.float64).item()) if not isinstance(v, float) else v
    except (TypeError, ValueError):
        raise TypeError(f"per_tensor_scale must be None, 'amax' or a float, got {v!r}") from None
    if not np.isfinite(f) or f <= 0:
        raise ValueError(f"per_tensor_scale must be a positive finite float32 value, got {f!r}")
    if float(f32(f)) != f:
        raise ValueError(f"per_tensor_scale must be exactly a float32 value (NVFP4 stores it as "
                         f"float32), got {f!r}; round it first, e.g. float(np.float32(s))")
    return f


#: The option keys an NVFP4Array may carry (those :func:`quantize_nvfp4` records).
NVFP4_OPTIONS = {
    "arithmetic": choice_option(NVFP4_ARITHMETICS),
    "scale_clamp": choice_option(NVFP4_SCALE_CLAMPS),
    "inf_policy": choice_option(NVFP4_INF_POLICIES),
    "per_tensor_scale_rule": choice_option(("none", "amax", "given")),
    # recorded only where it is "reciprocal" (absent: "direct")
    "per_tensor_scale_form": choice_option(NVFP4_PTS_FORMS),
}


@dataclass(eq=False)
class NVFP4Array(CheckedFields):
    """NVFP4 data: unsigned E4M3 block-scale codes, E2M1 element codes (one per uint8), the
    per-tensor float32 scale (None for single-level scaling) and the options used. Not MX v1.0.

    ``scales`` has x's shape with the blocked axis replaced by the number of blocks; code 0x7F
    (E4M3 NaN) makes its whole block NaN. ``scales`` and ``elements`` are read-only (given
    arrays are copied); assigning a field again checks the whole array anew."""

    shape: tuple
    axis: int
    scales: np.ndarray
    elements: np.ndarray
    per_tensor_scale: float | None = None
    block_size: int = NVFP4_BLOCK_SIZE
    options: dict = field(default_factory=dict)

    _FIELDS = ("shape", "axis", "scales", "elements", "per_tensor_scale", "block_size", "options")

    def __post_init__(self):
        self.scales = frozen_array("scales", self.scales)
        self.elements = frozen_array("elements", self.elements)
        self.shape, self.axis, self.block_size, _ = check_blocked_codes(
            self.shape, self.axis, self.block_size, self.elements, self.scales)
        if self.elements.size and int(self.elements.max()) > 0xF:
            raise ValueError(f"elements holds {int(self.elements.max())}, outside the E2M1 codes 0 ... 15")
        if self.scales.size and int(self.scales.max()) > _E4M3_NAN:
            raise ValueError(f"scales holds {int(self.scales.max())}: the unsigned E4M3 codes are "
                             "0x00 ... 0x7E, and 0x7F (NaN); the sign bit must be clear")
        if self.per_tensor_scale is not None:
            self.per_tensor_scale = _check_pts_value(self.per_tensor_scale)
        self.options = check_options(self.options, NVFP4_OPTIONS, "NVFP4Array")
        object.__setattr__(self, "_checked", True)

    @property
    def is_mx_v1(self) -> bool:
        """Always False: NVFP4 is not an MX v1.0 format (block 16, E4M3 scale)."""
        return False

    def dequantize(self, dtype=np.float32, *, arithmetic: str = "exact") -> np.ndarray:
        return dequantize_nvfp4(self, dtype, arithmetic=arithmetic)

    def mma_operand(self) -> dict:
        """The operand of a tensor-core model (``mxref.matmul(a, b, accumulate="blackwell_mxf4nvf4")``):
        E2M1 codes, UE4M3 block scales (block 16), and the per-tensor scale, which the model
        applies outside the instruction chain (see :func:`mxref.matmul`)."""
        if self.options.get("per_tensor_scale_form") == "reciprocal":
            raise ValueError("this NVFP4Array holds a reciprocal (global) per-tensor scale G = 1 / P, "
                             "which the tensor-core models do not take (they multiply by P); "
                             "quantize with per_tensor_scale_form='direct'")
        return dict(codes=np.asarray(self.elements), fmt="fp4_e2m1", scales=np.asarray(self.scales),
                    scale_fmt="ue4m3", block_size=self.block_size, pts=self.per_tensor_scale)

    def __eq__(self, other) -> bool:
        if not isinstance(other, NVFP4Array):
            return NotImplemented
        return (self.shape == other.shape and self.axis == other.axis
                and self.block_size == other.block_size
                and self.per_tensor_scale == other.per_tensor_scale and self.options == other.options
                and np.array_equal(self.scales, other.scales)
                and np.array_equal(self.elements, other.elements))

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return (f"NVFP4Array(shape={self.shape}, axis={self.axis}, block_size={self.block_size}, "
                f"not MX v1.0, per_tensor_scale={self.per_tensor_scale!r}, {opts})")


def _finite_amax(x64: np.ndarray) -> float:
    a = np.abs(x64[np.isfinite(x64)])
    return float(a.max()) if a.size else 0.0


def nvfp4_per_tensor_scale(x, *, arithmetic: str = "exact", per_tensor_scale_form: str = "direct") -> float:
    """torchao's per-tensor scale of x: fp32(amax_T / 2688), amax_T the largest finite |x|
    (x taken as float32 first under the float32 arithmetics); 1.0 where that is 0. Under
    ``per_tensor_scale_form="reciprocal"``: compressed-tensors' global scale fp32(2688 / amax_T),
    1.0 where amax_T = 0 or the quotient overflows."""
    check_choice("arithmetic", arithmetic, NVFP4_ARITHMETICS)
    check_choice("per_tensor_scale_form", per_tensor_scale_form, NVFP4_PTS_FORMS)
    x64 = widen_exact(as_float(x))
    if arithmetic != "exact":
        x64 = f32(x64)
    return _amax_pts(_finite_amax(x64), per_tensor_scale_form == "reciprocal")


def _amax_pts(amax: float, reciprocal: bool) -> float:
    """RNE to float32 of the exact amax / 2688 (1 where 0), or of 2688 / amax (1 where amax = 0
    or the quotient overflows float32)."""
    if not reciprocal:
        c = round_quotient(np.float64(amax), np.float64(_PTS_DIVISOR), FLOAT32, "rne")
        return float(mag_value(FLOAT32, c)) or 1.0
    if amax == 0:
        return 1.0
    c = int(round_quotient(np.float64(_PTS_DIVISOR), np.float64(amax), FLOAT32, "rne"))
    return 1.0 if c > FLOAT32.code_of_max else float(mag_value(FLOAT32, c))


def quantize_nvfp4(
    x,
    *,
    axis: int = -1,
    block_size: int = NVFP4_BLOCK_SIZE,
    per_tensor_scale=None,
    arithmetic: str = "exact",
    scale_clamp: str = "none",
    inf_policy: str = "nan_scale",
    per_tensor_scale_form: str = "direct",
) -> NVFP4Array:
    """NVFP4-quantize x along ``axis`` in blocks of ``block_size`` (16; the last block may be
    short). See the module docstring for the rule and every option (not MX v1.0)."""
    check_choice("arithmetic", arithmetic, NVFP4_ARITHMETICS)
    check_choice("scale_clamp", scale_clamp, NVFP4_SCALE_CLAMPS)
    check_choice("inf_policy", inf_policy, NVFP4_INF_POLICIES)
    check_choice("per_tensor_scale_form", per_tensor_scale_form, NVFP4_PTS_FORMS)
    recip = per_tensor_scale_form == "reciprocal"
    if recip and arithmetic not in _RECIPROCAL_ARITHMETICS:
        raise ValueError(f"per_tensor_scale_form='reciprocal' takes arithmetic "
                         f"{' or '.join(map(repr, _RECIPROCAL_ARITHMETICS))}, got {arithmetic!r}")
    k = check_block_size(block_size)
    xa = as_float(x)
    if xa.ndim == 0:
        raise ValueError("x must have at least one dimension")
    ax = check_int("axis", axis, -xa.ndim, xa.ndim - 1) % xa.ndim
    x64 = widen_exact(xa)
    f32_mode = arithmetic != "exact"
    if f32_mode:
        x64 = f32(x64)  # torch's .float(): exact for float16 / bfloat16 / float32 inputs
    # 1. the per-tensor scale P
    if per_tensor_scale is None:
        pts = None
    elif isinstance(per_tensor_scale, str):
        check_choice("per_tensor_scale", per_tensor_scale, ("amax",))
        pts = _amax_pts(_finite_amax(x64), recip)  # = nvfp4_per_tensor_scale
    else:
        pts = _check_pts_value(per_tensor_scale)
    inv_pts = None
    if arithmetic == "float32" and pts is not None:
        inv_pts = float(f32(1.0 / pts))
        if not np.isfinite(inv_pts):
            raise ValueError(f"per_tensor_scale {pts!r}: its float32 reciprocal overflows, so "
                             f"arithmetic={arithmetic!r} would give NaN codes; use arithmetic='exact'")
    blk = Blocked(x64, ax, k)
    nblocks = blk.blocks.shape[0]
    scales = np.empty(nblocks, np.uint8)
    elems = np.empty((nblocks, blk.k), np.uint8)  # blk.k: a block longer than the axis is short
    for sl in blk.chunks():
        scales[sl], elems[sl] = _quantize_blocks(blk.blocks[sl], pts, inv_pts, arithmetic,
                                                 scale_clamp, inf_policy, recip)
    opts = dict(arithmetic=arithmetic, scale_clamp=scale_clamp, inf_policy=inf_policy,
                per_tensor_scale_rule=("none" if per_tensor_scale is None else
                                       "amax" if isinstance(per_tensor_scale, str) else "given"))
    if recip:
        opts["per_tensor_scale_form"] = "reciprocal"
    return NVFP4Array(tuple(xa.shape), ax, Owned(blk.scales_back(scales)), Owned(blk.elements_back(elems)),
                      pts, k, opts)


def _quantize_blocks(v, pts, inv_pts, arithmetic, scale_clamp, inf_policy, recip=False):
    """(scale codes (n,), element codes (n, k)) of float64 blocks v (n, k); recip: pts is the
    reciprocal global scale G."""
    # 1. specials and amax
    is_nan = np.isnan(v)
    is_inf = np.isinf(v)
    neg = np.signbit(v)
    block_nan = is_nan.any(axis=1)
    block_inf = is_inf.any(axis=1) & ~block_nan
    nan_scale = block_nan | (block_inf & (inf_policy == "nan_scale"))
    a = np.where(is_nan | is_inf, 0.0, np.abs(v))
    amax = a.max(axis=1)
    sat_block = block_inf & ~nan_scale  # inf_policy "saturate": amax = Inf
    p = 1.0 if pts is None else pts
    # 2. block scale code
    if arithmetic == "exact":
        if recip:  # amax G / 6
            c = round_product_quotient(amax, p, 6.0, fp8_e4m3, "rne")
        else:
            c = round_quotient(amax, 6.0 * p, fp8_e4m3, "rne")
    else:
        if recip:  # compressed-tensors: fp32(G * fp32(amax / 6))
            with np.errstate(over="ignore"):
                t = f32(f32(amax / 6.0) * p)
        elif arithmetic == "float32_divide_6p" and pts is not None:
            t = f32(amax / float(f32(6.0 * pts)))
        else:
            t = f32(amax / 6.0)
            if pts is not None:
                t = f32(t / pts)
        c = encode(t, fp8_e4m3, rounding="rne", overflow="saturate").astype(np.int64)
    c = np.where(sat_block, _E4M3_MAX_CODE, np.minimum(c, _E4M3_MAX_CODE))
    if scale_clamp == "min_normal":
        c = np.maximum(c, _E4M3_MIN_NORMAL_CODE)
    elif scale_clamp == "min_subnormal":
        c = np.maximum(c, 1)  # code 0x01 = 2^-9
    elif scale_clamp == "zero_to_0.125":
        c = np.where(c == 0, _E4M3_EIGHTH_CODE, c)
    s = mag_value(fp8_e4m3, c)  # exact float64 scale values
    zero_scale = (c == 0)[:, None]
    # 3. elements
    if arithmetic == "exact":
        if recip:  # |x| G / S
            mag = round_product_quotient(a, p, np.where(c == 0, 1.0, s)[:, None], fp4_e2m1, "rne")
        else:
            d = np.where(c == 0, 1.0, p * s)[:, None]  # P * S: at most 28 bits, exact
            mag = round_quotient(a, d, fp4_e2m1, "rne")
        mag = np.minimum(mag, _E2M1_MAX_CODE)
        mag = np.where(is_inf, _E2M1_MAX_CODE, mag)
    else:
        s_safe = np.where(c == 0, 1.0, s)
        if arithmetic == "float32":
            r = f32(1.0 / s_safe) if pts is None else f32(inv_pts / s_safe)
            with np.errstate(over="ignore"):
                y = f32(v * r[:, None])
        else:
            # fp32(P S) > 0: S >= (2/3) t, so P S >= (2/3) fp32(amax / 6) >= (2/3) 2^-149;
            # fp32(S / G) > 0: S >= 2^-9 and G < 2^128
            den = s_safe if pts is None else f32(s_safe / pts) if recip else f32(pts * s_safe)
            with np.errstate(over="ignore"):
                y = f32(v / den[:, None])
        y = np.where(is_nan, 0.0, y)
        mag = encode(np.abs(y), fp4_e2m1, rounding="rne", overflow="saturate").astype(np.int64)
    mag = np.where(zero_scale, 0, mag)
    codes = np.where(neg, mag | _E2M1_SIGN, mag)
    codes = np.where(nan_scale[:, None], 0, codes)
    c = np.where(nan_scale, _E4M3_NAN, c)
    return c.astype(np.uint8), codes.astype(np.uint8)


# ----- dequantize ---------------------------------------------------------------------------------

_DEQUANT_ARITHMETICS = ("exact", "float32")


def dequantize_nvfp4(nv: NVFP4Array, dtype=np.float32, *, arithmetic: str = "exact") -> np.ndarray:
    """Values P * S * e of an NVFP4Array, shape of the original x.

    ``arithmetic="exact"`` (default): the exact product (float64 holds it exactly), correctly
    rounded once to float32 (or returned as float64). ``"float32"`` models torchao's
    ``NVFP4Tensor.dequantize``: fp32(e * fp32(P * S)) (fp32(e * S) with no per-tensor scale).
    With a reciprocal global scale G (``per_tensor_scale_form="reciprocal"``): the exact S e / G
    rounded once, or compressed-tensors' fp32(e * fp32(S / G)) under ``"float32"``.
    A NaN scale (0x7F) makes its whole block NaN."""
    if not isinstance(nv, NVFP4Array):
        raise TypeError(f"nv must be an NVFP4Array, got {type(nv).__name__}")
    check_choice("arithmetic", arithmetic, _DEQUANT_ARITHMETICS)
    dt, want = out_dtype(dtype, ("float32", "float64"))
    codes, sc = blocked_codes(nv.elements, nv.scales, nv.axis, nv.block_size)
    e = mag_value(fp4_e2m1, codes.astype(np.int64) & 0x7)
    e = np.where((codes & _E2M1_SIGN) != 0, -e, e)
    s = mag_value(fp8_e4m3, sc.astype(np.int64))
    p = 1.0 if nv.per_tensor_scale is None else nv.per_tensor_scale
    if nv.options.get("per_tensor_scale_form") == "reciprocal" and nv.per_tensor_scale is not None:
        v = _dequantize_reciprocal(e, s, p, arithmetic, dt)
    elif arithmetic == "exact":
        v = e * (p * s)[:, None]  # at most 30 significant bits: exact
    else:
        s32 = f32(p * s) if nv.per_tensor_scale is not None else s
        with np.errstate(over="ignore"):
            v = f32(e * s32[:, None])
    v = np.where((sc == _E4M3_NAN)[:, None], np.nan, v)
    out = unblock(v, nv.shape, nv.axis, nv.block_size)
    if v.dtype == np.float32:  # already rounded once to float32
        return to_dtype(out, want)
    if dt == np.float64:
        return to_dtype(out, want)
    return to_dtype(_to_f32(out), want)


def _dequantize_reciprocal(e, s, g, arithmetic, dt):
    """S e / G: float64 (IEEE division, one rounding), float32 rounded once from the exact
    quotient, or fp32(e * fp32(S / G)); returned as float64, or float32 where rounded to it."""
    if arithmetic == "float32":
        with np.errstate(over="ignore"):
            return f32(e * f32(s / g)[:, None])
    es = e * s[:, None]  # exact: at most 7 significant bits
    if dt == np.float64:
        return es / g
    c = round_quotient(np.abs(es), np.float64(g), FLOAT32, "rne")
    mag = np.where(c > FLOAT32.code_of_max, np.inf, mag_value(FLOAT32, np.minimum(c, FLOAT32.code_of_max)))
    return np.where(np.signbit(es), -mag, mag).astype(np.float32)


def _to_f32(v64):

    return round_to_ieee(v64, FLOAT32).view(np.float32)
