"""quantize_model / encode_model / encode_e8m0_model: the spec path with named models applied.

One vectorized pipeline over all blocks at once (no Python loop over blocks), built from the
core's exact parts (:mod:`mxref._kernel` split / round / pack, :func:`mxref.scale.shared_exponent`):

1. input models round the values (float64 -> float32, -> bfloat16);
2. amax of every block, exactly, from the bits (as mxref.quantize);
3. the scale: the spec rule's exponent, or a scale-computation model's; then per block the
   stored code and the *applied* exponent A (elements are x / 2^A) -- these differ under
   scale_min_normal_divisor, scale_code0_as_one, scale_code_offset; a block may also have its
   elements forced to zero (a zero quant scale: triton_kernels);
4. elements: (x / 2^A) rounded once by the rounding mode (mxref._kernel.round_parts), or by an
   element model; saturated and packed as mxref.quantize does.

NaN / Inf blocks are converted as mxref.quantize's options say (inf_policy, NaN scale 0xFF,
element codes 0) under every model: the models describe finite blocks (what libraries do with
specials is implementation-defined, MX §6.3, and the checker classifies it so).

Float32 arithmetic of the models (a float32 quotient, a float32 product) is IEEE float32 with
subnormals, done by NumPy; it needs a thread without flush-to-zero (RuntimeError otherwise).
"""

from __future__ import annotations

import numpy as np

from .._arrays import as_float, ieee_subnormals, widen_exact
from .._kernel import (effective_block, from_rows, max_mag, pack_code, pad_blocks, round_params, round_parts,
                       round_to_ieee, split_float64, to_rows)
from ..arrays import MXArray, Owned
from ..conversion import _inf_element_code, check_quantize_inputs, quantize
from ..elements import encode
from ..formats import Format, bfloat16, element_format, mx_format
from ..options import QuantizeOptions
from ..scale import E8M0_NAN, encode_e8m0, shared_exponent
from ._log2 import ceil_log2_rounded, floor_log2_rounded
from .catalogue import EXCLUSIVE_GROUPS, MODELS

__all__ = ["parse_models", "check_models", "compatible", "quantize_model", "encode_model", "encode_e8m0_model"]

_ZERO_A = 1 << 20  # an applied exponent that rounds every finite element to zero


# ----- model lists --------------------------------------------------------------------------------


def parse_models(models) -> dict:
    """{id: parameter or None} of a list of model ids ("id" or "id=value"); ValueError for an
    unknown id, a missing or bad parameter, a repeated id, or two models of one exclusive group."""
    if isinstance(models, str):
        models = (models,)
    out = {}
    for m in models:
        if not isinstance(m, str):
            raise TypeError(f"model ids must be strings, got {m!r}")
        mid, eq, val = m.partition("=")
        mid = mid.strip()
        if mid not in MODELS:
            raise ValueError(f"unknown implementation model {mid!r}; known: {', '.join(MODELS)}")
        if mid in out:
            raise ValueError(f"model {mid!r} given twice")
        model = MODELS[mid]
        if model.params:
            if not eq:
                raise ValueError(f"model {mid!r} needs a parameter: {mid}=<{model.params[0]}> (e.g. {mid}=-2)")
            try:
                v = int(val.strip())
            except ValueError:
                raise ValueError(f"model {mid!r}: {model.params[0]} must be an int, got {val!r}") from None
            lo, hi = model.param_range
            if lo < 0 < hi and v == 0:
                raise ValueError(f"model {mid!r}: {model.params[0]} must be a non-zero int in {lo}..{hi}, got {v}")
            if not lo <= v <= hi:
                raise ValueError(f"model {mid!r}: {model.params[0]} must be an int in {lo}..{hi}, got {v}")
            out[mid] = v
        else:
            if eq:
                raise ValueError(f"model {mid!r} takes no parameter, got {m!r}")
            out[mid] = None
    for group in EXCLUSIVE_GROUPS:
        got = [g for g in group if g in out]
        if len(got) > 1:
            raise ValueError(f"models {' and '.join(map(repr, got))} cannot be combined (each replaces the same step)")
    return out


def check_models(models, *, scale_rule: str | None = None, rounding: str | None = None, kinds=None,
                 fmt: str | None = None) -> dict:
    """:func:`parse_models`, and (when given) that every model composes with ``scale_rule`` and
    ``rounding``, is of one of ``kinds`` and applies to the MX format ``fmt``; ValueError naming
    the conflict."""
    ms = parse_models(models)
    for mid in ms:
        m = MODELS[mid]
        if kinds is not None and m.kind not in kinds:
            raise ValueError(f"model {mid!r} is a {m.kind} model; this call takes {', '.join(kinds)} models")
        if fmt is not None and m.formats and fmt not in m.formats:
            raise ValueError(f"model {mid!r} applies to {' / '.join(m.formats)} only; got format {fmt!r}")
        if scale_rule is not None and m.rules and scale_rule not in m.rules:
            raise ValueError(f"model {mid!r} is a variant of scale_rule {' / '.join(map(repr, m.rules))}; "
                             f"got scale_rule={scale_rule!r}")
        if rounding is not None and m.roundings and rounding not in m.roundings:
            raise ValueError(f"model {mid!r} is a variant of rounding {' / '.join(map(repr, m.roundings))}; "
                             f"got rounding={rounding!r}")
    return ms


def compatible(models, *, scale_rule: str | None = None, rounding: str | None = None) -> bool:
    """Whether :func:`check_models` accepts the combination (False instead of ValueError)."""
    try:
        check_models(models, scale_rule=scale_rule, rounding=rounding)
    except ValueError:
        return False
    return True


# ----- float32 helpers (IEEE, subnormals) -------------------------------------------------------


def _need_ieee():
    if not ieee_subnormals():
        raise RuntimeError("the float32 models need IEEE subnormals: this thread flushes them to zero "
                           "(e.g. torch.set_flush_denormal(True)); turn that off")


def _f32(a64):
    """float64 values rounded (RNE) to float32, as float32 (overflow to +-Inf)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return a64.astype(np.float32)


def _e8m0_from_f32_bits(b):
    """(exponent field, mantissa) of float32 bit patterns."""
    return ((b >> np.uint32(23)) & np.uint32(0xFF)).astype(np.int64), (b & np.uint32(0x7FFFFF)).astype(np.int64)


# ----- the scale --------------------------------------------------------------------------------


def _scale(ms, rule, el: Format, amax64, amax_sig, amax_flog2, has_val):
    """(E unclamped int64, preclamped bool, zero_elems bool array) of every block."""
    emax = el.emax
    zero = np.zeros(amax64.shape, bool)
    if "scale_log2_f32" in ms or "scale_log2_f64" in ms:
        p = 24 if "scale_log2_f32" in ms else 53
        a = amax64
        fl = amax_flog2
        if p == 24:  # the float32 amax (float32 data: itself)
            a = widen_exact(_f32(amax64))
            a = np.where(has_val & np.isfinite(a), a, 1.0)
            fl = split_float64(a)[2]
        a = np.where(has_val, a, 1.0)
        lg = floor_log2_rounded(a, fl, p) if rule == "floor" else ceil_log2_rounded(a, fl, p)
        return lg - emax, False, zero
    if any(m in ms for m in ("scale_rceil_log2_f32", "scale_rceil_recip_mul", "scale_round_up_f32_quotient",
                             "scale_round_down_f32_quotient")):
        _need_ieee()
        a32 = _f32(np.where(has_val, amax64, 0.0))
        with np.errstate(all="ignore"):
            if "scale_rceil_log2_f32" in ms:
                q = a32 / np.float32(el.max)
                q64 = widen_exact(q)
                pos = q64 > 0
                qq = np.where(pos & np.isfinite(q64), q64, 1.0)
                e = ceil_log2_rounded(qq, split_float64(qq)[2], 24)
                e = np.where(pos, e, -127)
                return np.where(np.isinf(q64), 127, e), False, zero
            if "scale_rceil_recip_mul" in ms:
                v = a32 * np.float32(np.float32(1.0) / np.float32(el.max))
                f, m = _e8m0_from_f32_bits(v.view(np.uint32))
                inc = (m > 0) & (f != 0xFE) & ~((f == 0) & (m <= 0x400000))
                code = np.where(np.isinf(v), 0xFE, np.minimum(f + inc, 0xFE))
                return code - 127, True, zero
            if "scale_round_up_f32_quotient" in ms:
                q = a32 / np.float32(el.max)
                b = (q.view(np.uint32).astype(np.uint64) + np.uint64(0x7FFFFF)) & np.uint64(0x7F800000)
                code = (b >> np.uint64(23)).astype(np.int64)
                return code - 127, True, code == 0
            # scale_round_down_f32_quotient
            q = a32 / np.float32(2.0 ** emax)
            code, _ = _e8m0_from_f32_bits(q.view(np.uint32))
            return code - 127, True, code == 0
    if rule == "even" and ("scale_even_mbits" in ms or "scale_even_inf_clamp" in ms):
        m = ms.get("scale_even_mbits")
        if m is None:
            m = round_params(el)[0]
        # half up at m fraction bits: the leading m + 1 fraction bits all ones (exact, on the bits)
        carry = (amax_sig + np.uint64(1 << (51 - m))) >= np.uint64(1 << 53) if m <= 51 else \
            amax_sig == np.uint64((1 << 53) - 1)
        top = amax_flog2 + carry
        E = top - emax
        if "scale_even_inf_clamp" in ms:  # the rounded amax is float32 +Inf: log2 -> Inf, clamped
            E = np.where(top >= 128, 127, E)
        return E, False, zero
    return shared_exponent(amax_sig, amax_flog2, el, rule), False, zero


# ----- elements ---------------------------------------------------------------------------------


def _stochastic_variant(sig, flog2, el: Format, rb, n: int, variant: str):
    """Magnitude codes under gfloat's Stochastic / StochasticOdd / StochasticFast (see the catalogue)."""
    from .._kernel import round_params

    m, emin = round_params(el)
    top = np.maximum(flog2, emin)
    s = top - m - flog2 + 52  # the quantum is 2^s units of the 53-bit significand
    one = np.uint64(1)
    s_c = np.minimum(s, 63).astype(np.uint64)
    n0 = sig >> s_c
    rem = sig & ((one << s_c) - one)  # the fraction is rem / 2^s (s >= 63: rem = sig, n0 = 0)
    t = s - n  # bits of the fraction below its top n
    tpos = t > 0
    big = t >= 64  # then rem < 2^53 <= 2^(t-1): floor(f * 2^n) = 0 and f * 2^n < 1/2
    t_c = np.clip(t, 1, 63).astype(np.uint64)
    floord = np.where(~tpos, rem << np.clip(-t, 0, 63).astype(np.uint64),
                      np.where(big, np.uint64(0), rem >> t_c))
    low = np.where(tpos & ~big, rem & ((one << t_c) - one), np.uint64(0))
    half = one << (t_c - one)
    if variant == "fast":  # half up
        up_r = low >= half
    else:
        odd = (floord & one) == one
        up_r = (low > half) | ((low == half) & (odd if variant == "even" else ~odd))
    up_r = up_r & tpos & ~big
    dr = floord + up_r.astype(np.uint64)
    away = (dr + rb) >= (one << np.uint64(n))
    nn = n0 + away.astype(np.uint64)
    mag = ((top - emin) << m) + nn.astype(np.int64)
    return np.where(sig == 0, 0, mag)


def _elements(ms, el: Format, neg, sig, flog2, A, rounding, rbits, nrnd, x64):
    """Magnitude codes (unbounded) of x / 2^A under the rounding and the element models."""
    if "scaled_quotient_f32" in ms:
        # the quotient in float32: exact float64 ldexp (no float64 underflow matters, see the
        # catalogue), then one RNE to float32
        with np.errstate(all="ignore"):
            q64 = np.ldexp(np.abs(x64), (-np.clip(A, -2000, 2000))[..., None].astype(np.int32))
        q32 = widen_exact(_f32(q64))
        _, sig, fl, _, _ = split_float64(np.where(np.isfinite(x64), q32, 0.0))
        flog2_q = fl
    else:
        flog2_q = flog2 - A[..., None]
    variant = next((v for k, v in (("stochastic_gfloat", "even"), ("stochastic_gfloat_odd", "odd"),
                                   ("stochastic_gfloat_fast", "fast")) if k in ms), None)
    if variant is not None:
        mag = _stochastic_variant(sig, flog2_q, el, rbits, nrnd, variant)
    else:
        mag = round_parts(neg, sig, flog2_q, el, rounding, rbits, nrnd)
    if "elements_ties_away_f32_floor" in ms:
        # v = 0.5 - 2^-25 quanta of the smallest quantum 2^(emin - m): significand (2^24 - 1) * 2^29
        from .._kernel import round_params

        m, emin = round_params(el)
        hit = (sig == np.uint64(((1 << 24) - 1) << 29)) & (flog2_q == emin - m - 2)
        mag = np.where(hit, 1, mag)
    return mag


# ----- quantize_model -----------------------------------------------------------------------------


def quantize_model(x, fmt, *, axis: int = -1, block_size: int | None = None, scale_rule: str = "floor",
                   rounding: str = "rne", models=(), **options) -> MXArray:
    """MX-quantize x as :func:`mxref.quantize` does, with the named implementation models applied
    (ids of :data:`mxref.models.MODELS`, or "id=value" for a parameter, e.g.
    "scale_code_offset=-2"). ``models=()`` gives exactly mxref.quantize's result. ``options``:
    mxref.quantize's other keywords (zero_scale, inf_policy, scale_overflow, flush_subnormals,
    int8_allow_minus128, random_bits, random_bit_count). ValueError for unknown ids, bad
    parameters, or models that do not compose (with each other, the rule or the rounding).
    The returned MXArray holds the codes the modelled implementation stores; dequantizing it
    gives what a consumer reading those codes with the spec's meaning gets."""
    ms = check_models(models, scale_rule=scale_rule, rounding=rounding, kinds=("input", "scale", "element"),
                      fmt=mx_format(fmt).name)
    if not ms:
        return quantize(x, fmt, axis=axis, block_size=block_size, scale_rule=scale_rule, rounding=rounding, **options)
    return _pipeline(x, fmt, axis=axis, block_size=block_size, scale_rule=scale_rule, rounding=rounding, ms=ms,
                     **options)


def _pipeline(x, fmt, *, axis=-1, block_size=None, scale_rule="floor", rounding="rne", ms=None,
              random_bits=None, random_bit_count=None, **options) -> MXArray:
    ms = {} if ms is None else ms
    mxf = mx_format(fmt)
    el = mxf.element
    o = QuantizeOptions(scale_rule=scale_rule, rounding=rounding, **options)
    k, xa, ax, nrnd, rb = check_quantize_inputs(x, mxf, axis, block_size, rounding, random_bits,
                                                random_bit_count)
    # 1. input models
    x64 = widen_exact(xa)
    if "input_double_round_f32" in ms and xa.dtype == np.float64:
        x64 = widen_exact(_f32(x64))
    if "input_round_bf16" in ms:
        b = round_to_ieee(x64, bfloat16).astype(np.uint32) << np.uint32(16)
        x64 = widen_exact(b.view(np.float32))
    rows, lead = to_rows(x64, ax)
    L = rows.shape[1]
    k_req, k = k, effective_block(k, L)
    nb = -(-L // k)
    v = pad_blocks(rows, nb, k)  # (n, nb, k)
    rbits = pad_blocks(to_rows(rb, ax)[0].astype(np.uint64), nb, k) if rb is not None else None
    # 2. amax (as mxref.conversion.quantize_rows)
    neg, sig, flog2, is_nan, is_inf = split_float64(v)
    if o.flush_subnormals:
        tiny = (sig != 0) & (flog2 < -126)
        sig = np.where(tiny, np.uint64(0), sig)
        v = np.where(tiny, np.copysign(0.0, v), v)
    finite_nz = (sig != 0) & ~is_nan & ~is_inf
    abits = np.where(finite_nz, np.abs(v).view(np.uint64), np.uint64(0)).max(axis=-1)
    has_val = abits != 0
    amax64 = np.where(has_val, abits, np.float64(1.0).view(np.uint64)).view(np.float64)
    _, amax_sig, amax_flog2, _, _ = split_float64(amax64)
    block_nan = is_nan.any(axis=-1)
    block_inf = is_inf.any(axis=-1) & ~block_nan
    # 3. scale: E, stored code, applied exponent
    E, pre, zero_el = _scale(ms, o.scale_rule, el, amax64, amax_sig, amax_flog2, has_val)
    over = has_val & (E > 127)
    if "scale_no_clamp_wrap" in ms and not pre:
        code = np.where(has_val, (E + 127) % 256, 0)
        A = code - 127
    else:
        Ec = np.clip(E, -127, 127)
        code = Ec + 127
        A = Ec
    code = np.where(has_val, code, o.zero_scale)
    A = np.where(has_val, A, o.zero_scale - 127)
    if "scale_min_normal_divisor" in ms:
        A = np.maximum(A, -126)
    if "scale_code0_as_one" in ms:
        A = np.where(code == 0, 0, A)
    if "scale_int8_quantum_min_normal" in ms:  # quantum 2^A / 64 clamped to 2^-126
        low = has_val & (A < -120)
        A = np.where(low, -120, A)
        code = np.where(low, 7, code)
    A = np.where(zero_el & has_val, _ZERO_A, A)
    if "scale_even_carry_to_inf" in ms:  # float32 amax rounded up past 2^128: an infinite scale
        to_inf = has_val & (amax_flog2 == 127) & (E + el.emax == 128)
        code = np.where(to_inf, 127, code)
        A = np.where(to_inf, _ZERO_A, A)
    if "scale_code_offset" in ms:
        code = np.clip(code + ms["scale_code_offset"], 0, 254)
    nan_scale = block_nan | (block_inf & (o.inf_policy == "nan_scale"))
    if o.scale_overflow == "nan":
        nan_scale = nan_scale | over
    code = np.where(nan_scale, E8M0_NAN, code)
    # 4. elements
    mag = _elements(ms, el, neg, sig, flog2, A, o.rounding, rbits, nrnd, v)
    top = max_mag(el, neg, o.int8_allow_minus128)
    mag = np.where(mag > top, top, mag)
    ecode = pack_code(el, neg, mag)
    if o.inf_policy == "finite_scale":
        ecode = np.where(is_inf, _inf_element_code(el, neg, o.int8_allow_minus128), ecode)
    ecode = np.where(nan_scale[..., None], 0, ecode)
    n_rows = rows.shape[0]
    ecode = ecode.reshape(n_rows, nb * k)[:, :L].astype(np.uint8)
    return MXArray(mxf, k_req, ax, tuple(xa.shape), Owned(from_rows(code.astype(np.uint8), lead, ax)),
                   Owned(from_rows(ecode, lead, ax)), o.as_dict())


# ----- casts --------------------------------------------------------------------------------------


def encode_model(x, fmt, *, rounding: str = "rne", overflow: str = "saturate", nan: str = "raise", models=(),
                 **kw) -> np.ndarray:
    """Element codes of x (:func:`mxref.encode`) with input models applied first
    (input_double_round_f32: float64 values go through float32, as ml_dtypes 0.6.0 casts;
    input_round_bf16) and cast models after (fp8_e4m3_nonsat_480_to_max,
    fp8_e5m2_nonsat_round_overflow_nan: onnxruntime 1.32.0's non-saturating FP8 casts). ``kw``:
    mxref.encode's other keywords."""
    ms = check_models(models, rounding=rounding, kinds=("input", "cast"))
    xa = as_float(x)
    if "input_double_round_f32" in ms and xa.dtype == np.float64:
        xa = _f32(xa)
    if "input_round_bf16" in ms:
        xa = (round_to_ieee(widen_exact(xa), bfloat16).astype(np.uint32) << np.uint32(16)).view(np.float32)
    codes = encode(xa, fmt, rounding=rounding, overflow=overflow, nan=nan, **kw)
    name = element_format(fmt).name
    if overflow == "nonsaturating" and name in ("fp8_e4m3", "fp8_e5m2"):
        lo, hi, top = (480.0, 496.0, 0x7E) if name == "fp8_e4m3" else (61440.0, 65536.0, 0x7F)
        key = "fp8_e4m3_nonsat_480_to_max" if name == "fp8_e4m3" else "fp8_e5m2_nonsat_round_overflow_nan"
        if key in ms:
            v = widen_exact(xa)
            with np.errstate(invalid="ignore"):
                hit = (np.abs(v) >= lo) & (np.abs(v) < hi)
            codes = np.where(hit, np.where(np.signbit(v), 0x80 | top, top), codes).astype(codes.dtype)
    return codes


def encode_e8m0_model(x, *, rounding: str = "floor", overflow: str = "saturate", models=()) -> np.ndarray:
    """E8M0 codes of positive values (:func:`mxref.encode_e8m0`) with E8M0-cast and input models:
    e8m0_subnormal_to_min_normal (values in (2^-127, 1.5 * 2^-127) give code 1: ml_dtypes 0.6.0,
    onnx "nearest"), e8m0_subnormal_field_up (every float32 subnormal gives code 1: onnx "up"),
    e8m0_inf_to_nan (+Inf gives 0xFF also when saturating: onnx), e8m0_nonsat_below_min_nan /
    e8m0_nonsat_above_max_nan (non-saturating: values below 2^-127 / above 2^127 give 0xFF:
    onnxruntime 1.32.0),
    input_double_round_f32."""
    ms = check_models(models, kinds=("e8m0", "input"))
    xa = as_float(x)
    if "input_double_round_f32" in ms and xa.dtype == np.float64:
        xa = _f32(xa)
    if "input_round_bf16" in ms:
        xa = (round_to_ieee(widen_exact(xa), bfloat16).astype(np.uint32) << np.uint32(16)).view(np.float32)
    codes = encode_e8m0(xa, rounding=rounding, overflow=overflow)
    v = widen_exact(xa)
    with np.errstate(invalid="ignore"):
        if "e8m0_subnormal_to_min_normal" in ms:
            codes = np.where((v > 2.0**-127) & (v < 1.5 * 2.0**-127), np.uint8(1), codes).astype(np.uint8)
        if "e8m0_subnormal_field_up" in ms:
            codes = np.where((v > 0) & (v < 2.0**-126), np.uint8(1), codes).astype(np.uint8)
        if "e8m0_inf_to_nan" in ms:
            codes = np.where(v == np.inf, np.uint8(E8M0_NAN), codes).astype(np.uint8)
        if overflow == "nonsaturating":
            out = np.zeros(v.shape, bool)
            if "e8m0_nonsat_below_min_nan" in ms:
                out |= (v > 0) & (v < 2.0**-127)
            if "e8m0_nonsat_above_max_nan" in ms:
                out |= v > 2.0**127
            codes = np.where(out, np.uint8(E8M0_NAN), codes).astype(np.uint8)
    return codes
