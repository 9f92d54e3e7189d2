"""The catalogue of implementation models: what real MX implementations compute, named and exact.

Each :class:`Model` is a bit-exact rule of one step of MX conversion as some public
implementation computes it, beside the spec's rule (mxref.quantize / mxref.encode). A model is
applied through :func:`mxref.models.quantize_model` (block conversion) or
:func:`mxref.models.encode_model` / :func:`mxref.models.encode_e8m0_model` (casts). Kinds:

  "input"    the values are rounded before anything else (float64 to float32, to bfloat16)
  "scale"    the shared scale: how the exponent is computed from amax (at most one "scale
             computation" model), how the stored code and the exponent applied to the elements
             are derived from it (modifiers, composable)
  "element"  the element rounding (variants of the spec's modes, or the cast of a quotient)
  "e8m0"     the cast of a value to E8M0 (encode_e8m0_model)
  "cast"     an element cast's own rule beside rounding (encode_model: what a non-saturating
             FP8 cast gives near the top of the range); no effect on block conversion

Confidence: "run" -- the rule was checked by running the library here (bit for bit, the tests
say on what); "code" -- restated from reading the source at the cited commit, checked against
the differing examples the source gives or that follow from it; "docs" -- from a PR or issue
text only. Sources are cited as repository, file, function, commit or version. No code is
copied; every rule is restated in words here and implemented from that statement in
:mod:`mxref.models.quantize`.

Notation: amax = max |x| over the block; M = the element format's largest finite value; emax its
exponent (E2M1 2, E2M3 2, E3M2 4, E4M3 8, E5M2 15); E the unbiased scale exponent; code = E+127
the stored E8M0 byte; "fp32(...)" an IEEE float32 operation (round to nearest even, subnormals).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Model", "MODELS", "SCALE_COMPUTATIONS", "KINDS"]

KINDS = ("input", "scale", "element", "e8m0", "cast")


@dataclass(frozen=True)
class Model:
    """One implementation model. ``params``: names of its parameters (given as "id=value")."""

    id: str
    kind: str
    doc: str
    source: str
    confidence: str
    params: tuple = ()
    #: scale rules (mxref.options.SCALE_RULES) the model composes with (empty: any)
    rules: tuple = ()
    #: element roundings it composes with (empty: any)
    roundings: tuple = ()
    #: the parameter's allowed values, inclusive (lo, hi); 0 is refused where lo < 0 < hi (an offset)
    param_range: tuple = (-254, 254)
    #: the MX formats it applies to (empty: every one); others are refused (ValueError)
    formats: tuple = ()


_M = [
    # ----- shared scale: how E is computed ------------------------------------------------------
    Model("scale_log2_f32", "scale",
          "E = floor(float32 log2(amax)) - emax (rule floor) or ceil(float32 log2(amax)) - emax (rule "
          "ceil), the log2 correctly rounded to float32 and decided exactly (mxref.models._log2): just "
          "below 2^k the float32 log2 rounds up to exactly k, so floor gives k (one too large) -- at "
          "amax = nextbelow(2^k) for every k except -1, 0, 1, 2, and for large |k| several ulps below "
          "(e.g. E2M1 amax 0x40FFFFFF: code 128, exact 127). amax is taken to float32 first.",
          "microsoft/microxcaling mx/mx_ops.py _shared_exponents (3b429a84b2fb), torch.log2 in the "
          "input's dtype; ggml-org/llama.cpp ggml/src/ggml-quants.c quantize_row_mxfp4_ref floorf(log2f) "
          "(01243c587fec); intel/neural-compressor neural_compressor/torch/algorithms/mx_quant/utils.py "
          "_shared_exponents (1523b61ee8b8)", "run", rules=("floor", "ceil")),
    Model("scale_log2_f64", "scale",
          "E = floor(float64 log2(amax)) - emax (or ceil for rule ceil), the log2 correctly rounded to "
          "float64. Never differs from exact for float32 amax; for float64 amax just below 2^k it "
          "rounds up (f64 amax 8 - 2^-50 with E2M1: E = 1, exact 0).",
          "gfloat 0.5.2 gfloat/block.py compute_scale_amax (floor(xp.log2(amax)) in the array dtype)",
          "run", rules=("floor", "ceil")),
    Model("scale_rceil_log2_f32", "scale",
          "E = ceil(float32 log2(q)), q = fp32(fp32(amax) / M), clamped to [-127, 127]; q = 0 gives -127. "
          "Differs from the exact rceil (a) where q is just above 2^k and its float32 log2 rounds down "
          "to k (E4M3 amax 0x45E00001: code 131, exact 132), (b) where the quotient rounds down to "
          "2^-127 exactly (E4M3 amax 0x04600001: code 0, exact 1).",
          "torchao 0.18.0 torchao/prototype/mx_formats/mx_tensor.py _to_mx_rceil (eager path); "
          "NVIDIA/Model-Optimizer modelopt/torch/quantization/qtensor/mxfp8_tensor.py "
          "MXFP8QTensor._compute_e8m0_exponent (a8d544b397d7); mxfp4_tensor.py MXFP4QTensor.quantize "
          "(cb98b221, float32 version)", "run", rules=("rceil",)),
    Model("scale_rceil_recip_mul", "scale",
          "code = e8m0 round-up of v = fp32(fp32(amax) * fp32(1/M)): NaN -> 255, Inf -> 254, v = 0 -> 0; "
          "else the exponent field of v is incremented iff its mantissa is non-zero, the field is not "
          "254, and not (field 0 and mantissa <= 0x400000) -- so v <= 2^-127 gives 0. Differs from the "
          "exact rceil at exactly one amax per format, nextup(M * 2^-127): E4M3 0x04600001, E5M2 "
          "0x07E00001, E2M1 0x01400001, E2M3 0x01700001, E3M2 0x02600001 (code 0, exact 1). The applied "
          "exponent is code - 127 (TE's test reference); its kernels apply code 0 as 1.0 "
          "(scale_code0_as_one).",
          "NVIDIA/TransformerEngine transformer_engine/common/util/ptx.cuh float_to_e8m0 (03198ae195d7); "
          "tests/cpp/test_common.h float_to_e8m0, Quantized_Limits::max_reciprocal (024ef1585311)",
          "code", rules=("rceil",)),
    Model("scale_round_up_f32_quotient", "scale",
          "q = fp32(fp32(amax) / M); its float32 bits + 0x7FFFFF, masked to the exponent field "
          "(0x7F800000), give the code; the elements are multiplied by fp32(1 / 2^(code-127)), and by 0 "
          "where the masked scale is 0 (amax = 0). Equals the exact rceil in the normal range; "
          "amax in (0, M * 2^-127] gives code 1, exact 0 (E4M3 amax 0x04600000).",
          "triton-lang/triton python/triton_kernels/triton_kernels/numerics_details/mxfp.py "
          "downcast_to_mxfp_torch, DequantScaleRoundingMode.ROUND_UP (018a674f6d6d); "
          "mxfp_details/_downcast_to_mxfp.py _compute_quant_and_scale", "code", rules=("rceil",)),
    Model("scale_round_down_f32_quotient", "scale",
          "q = fp32(fp32(amax) / 2^emax), masked to its exponent field: code = the field (the exact "
          "floor code wherever q is normal; q rounding up to 2^-126 from just below gives code 1); "
          "where q is subnormal the scale is 0 and every element becomes 0 (FP4 amax 2^-126: code 0, "
          "elements 0; exact: element 2). (The old kernel 0616e6451549 divided by M instead: not this "
          "model.)",
          "triton-lang/triton python/triton_kernels/triton_kernels/numerics_details/mxfp.py "
          "downcast_to_mxfp_torch, DequantScaleRoundingMode.ROUND_DOWN (018a674f6d6d)", "code",
          rules=("floor",)),
    Model("scale_even_mbits", "scale",
          "rule even with the amax rounded (half up) at N mantissa bits instead of the element's own "
          "(E4M3 3, E5M2 2, E2M3 3, E3M2 2, E2M1 1, INT8 6): E = floor(log2(amax)) + carry - emax, the "
          "carry set iff the leading N + 1 fraction bits of amax are all ones. N above the element's "
          "width rounds up less often (scale one step low), below it more often (one step high). "
          "AMD Quark's MXINT8 rounds at 8 bits (amax 0x3FFF0000 = 1.9921875: code 127, exact 128); "
          "compressed-tensors' MXFP8 at 1 bit (amax mantissa in [1.75, 1.9375): one step high).",
          "amd-quark 0.13 quark/torch/quantization/utils.py even_round with get_dtype_params(int8) = "
          "(ebits 0, mbits 8, emax 0), called by quark/torch/kernel/hw_emulation/hw_emulation_interface.py "
          "fake_quantize_mx (run here); vllm-project/compressed-tensors 0.20.1 "
          "quantization/utils/mxfp_utils.py generate_mx_scales (round_to_power_2's elem_mantissa is "
          "E2M1's for FP4 and FP8; known difference mxfp8_rounds_amax_at_e2m1)", "run", params=("mbits",), rules=("even",),
          param_range=(0, 52)),
    Model("scale_even_inf_clamp", "scale",
          "rule even, where the amax rounded half up reaches 2^128 (float32 overflows: amax >= 2^127 * "
          "(2 - 2^-(m+1)), m the mantissa bits rounded at): the rounded amax is +Inf, floor(log2(Inf)) - "
          "emax clamped to 127, so E = 127 (code 0xFE) instead of 128 - emax (E2M1 amax 0x7F600000: code "
          "0xFE, exact 0xFD; E4M3 0x7F780000: 0xFE, exact 0xF7); the elements x / 2^127 are rounded as "
          "usual, and their values 2^127 * P overflow float32 to +-Inf where |P| >= 2.",
          "amd-quark 0.13 quark/torch/quantization/utils.py even_round (float32 bits + 1 << (22 - mbits), "
          "masked to sign and exponent, log2, floor, - emax, clamp(-127, 127), exp2), run here", "run",
          rules=("even",)),
    # ----- shared scale: stored code / applied exponent modifiers ----------------------------------
    Model("scale_min_normal_divisor", "scale",
          "the stored code is E, but the elements are divided by max(2^E, 2^-126): at code 0 (E = -127) "
          "they are half of what the code says (E4M3 block {2^-130}: element 0.0625, exact 0.125).",
          "torchao 0.18.0 torchao/prototype/mx_formats/mx_tensor.py to_mx (FLOOR, CEIL, EVEN: "
          "scale_fp32 clamped to the float32 min normal)", "run"),
    Model("scale_code0_as_one", "scale",
          "a block whose stored code is 0 has its elements multiplied by 1.0 instead of 2^127, so they "
          "all flush to zero (E4M3 block {0x04600001, 2^-120} under RCEIL: code 0, elements 0).",
          "torchao 0.18.0 mx_tensor.py _to_mx_rceil (where(exponent == 0, 1.0, ...)); "
          "NVIDIA/TransformerEngine ptx.cuh exp2f_rcp (03198ae195d7)", "run"),
    Model("scale_no_clamp_wrap", "scale",
          "the biased exponent E + 127 is cast to uint8 with no clamp: it wraps modulo 256 (x86-64 gcc), "
          "so amax 2^-126 gives code 255 and 2^-127 code 254 with E2M1 (exact 0); the elements use the "
          "wrapped code, 2^(code-127), so such blocks become all zero.",
          "ggml-org/llama.cpp ggml/src/ggml-quants.c quantize_row_mxfp4_ref (01243c587fec): "
          "(uint8_t)(floorf(log2f(amax)) - 2 + 127)", "code"),
    Model("scale_even_carry_to_inf", "scale",
          "EVEN rule computed on float32 bits: where the half-up rounding of a float32 amax carries out "
          "of the largest binade (amax >= (2 - 2^-(m+1)) * 2^127, m the rounding width) the rounded "
          "amax is +Inf, so the scale is Inf: the stored code is 127 (an int32 cast of the infinite "
          "exponent) and every element x / Inf = +-0 (its value, 0 * Inf, NaN in the library). "
          "E.g. E2M1 amax 0xFF600000 (1.75 * 2^127): code 127 and zeros, EVEN 0xFD.",
          "vllm-project/compressed-tensors 0.20.1 quantization/utils/mxfp_utils.py round_to_power_2 "
          "(integer add on the float bits, then the exponent mask) and compressors/mx_utils.py "
          "compress_mx_scale; run: known difference even_carry_to_inf", "run", rules=("even",)),
    Model("scale_code_offset", "scale",
          "the stored code is the true code + offset (clamped to 0..254; NaN 255 kept), the elements "
          "quantized with the true scale: compressed-tensors' old MXFP4 checkpoints stored "
          "127 + floor(log2 scale) - 2, i.e. scale_code_offset=-2 (bias 125).",
          "vllm-project/compressed-tensors PR #538 'Use standard E8M0 scale format for MXFP4' and "
          "#541 (PR text)", "docs", params=("offset",)),
    Model("scale_int8_quantum_min_normal", "scale",
          "MXINT8: the element quantum 2^E / 64 is clamped to float32's smallest normal 2^-126 before "
          "the elements are rounded (RNE, to -127..127 quanta), so a block with E < -120 is quantized "
          "with scale 2^-120: its values are n * 2^-126, n = round(x * 2^126) (block {0x00600000 = 1.5 * "
          "2^-127}, E = -127: value 2^-126, exact 1.5 * 2^-127; |x| up to 2^-127 gives 0). The MX "
          "block that gives those values stores code max(E, -120) + 127 (the library is a fake "
          "quantizer and stores none).",
          "amd-quark 0.13 quark/torch/kernel/hw_emulation/hw_emulation_interface.py fake_quantize_mx "
          "(int8: fake_quantize_int_per_group_affine(scale / 64, -127..127)) -> "
          "fake_quantize_per_channel_affine (scale clamped to torch.finfo(float32).tiny), run here",
          "run", formats=("mxint8",)),
    # ----- inputs ---------------------------------------------------------------------------------
    Model("input_double_round_f32", "input",
          "float64 inputs are rounded to float32 (RNE) first; the rule then runs on the float32 values "
          "(scale from the float32 amax, elements from the float32 values). No effect on float32 "
          "input. Differs: f64 amax 8 - 2^-50 rounds to 8.0 (E2M1 code 128, exact 127); "
          "0.25 * (1 + 2^-30) becomes the exact tie 0.25 (RNE 0 instead of 0.5).",
          "every torch path that casts to float32 first (torchao data_hp.to(float32), triton_kernels "
          "x.to(torch.float32), TE); ml_dtypes 0.6.0 casts from float64 (run: known difference "
          "float64_rounded_twice)", "run"),
    Model("input_round_bf16", "input",
          "every input is rounded (RNE) to bfloat16 first (8 significant bits); the rule then runs on "
          "those values. With power-of-two scales this is the same, for the elements, as rounding the "
          "quotient x / 2^E to bfloat16 (the compressed-tensors NVFP4 case, where 2.500004 became the "
          "tie 2.5 and rounded to 2); the scale is taken from the rounded amax.",
          "vllm-project/compressed-tensors PR #822 / #824 (_round_to_fp4 cast to bf16, PR text)", "docs"),
    # ----- elements -------------------------------------------------------------------------------
    Model("scaled_quotient_f32", "element",
          "the quotient x * 2^-E is formed in float32 (RNE, subnormals) and then rounded to the "
          "element format. For float32 data with a power-of-two scale the quotient is exact unless "
          "it is below 2^-126, and then far below half the smallest element subnormal (E2M1 0.25 ... "
          "E5M2 2^-17), so the model is a no-op; it can differ only for float64 data (double "
          "rounding of the quotient) -- or with a non-power-of-two divisor, which MX has not.",
          "torchao 0.18.0 to_mx / _to_mx_rceil, triton_kernels mxfp.py, TE, ModelOpt: all form the "
          "quotient in float32 (by reasoning, /tmp research notes)", "code"),
    Model("elements_ties_away_f32_floor", "element",
          "microxcaling's round='nearest' / 'even': v = |x| / 2^E / quantum in float32 and "
          "floor(fp32(v + 0.5)); the only change from exact ties-away / RNE is v = 0.5 - 2^-25 "
          "(v + 0.5 rounds to 1.0), which gives the smallest subnormal instead of 0 (E2M1 element "
          "0x3E7FFFFF: 0.5, exact 0; E4M3 2^-10 - 2^-35).",
          "microsoft/microxcaling mx/elemwise_ops.py _quantize_elemwise_core, _round_mantissa "
          "(4adf988d78dc)", "run", roundings=("ties_away", "rne")),
    Model("stochastic_gfloat", "element",
          "gfloat RoundMode.Stochastic with n random bits R: the discarded fraction f of a quantum is "
          "first rounded to n bits, ties to even (dr = RNE(f * 2^n)), then the magnitude rounds away "
          "iff dr + R >= 2^n (mxref's rounding='stochastic' is gfloat's StochasticFastest: "
          "floor(f * 2^n) + R >= 2^n).",
          "gfloat 0.5.2 gfloat/round.py round_float, gfloat/round_ndarray.py round_ndarray", "run",
          roundings=("stochastic",)),
    Model("stochastic_gfloat_odd", "element",
          "gfloat RoundMode.StochasticOdd: as stochastic_gfloat, the n-bit rounding of the fraction "
          "breaking ties to odd.",
          "gfloat 0.5.2 gfloat/round.py round_float, gfloat/round_ndarray.py round_ndarray", "run",
          roundings=("stochastic",)),
    Model("stochastic_gfloat_fast", "element",
          "gfloat RoundMode.StochasticFast: away iff f + (R + 0.5) * 2^-n >= 1, i.e. the fraction "
          "rounded to n bits half-up.",
          "gfloat 0.5.2 gfloat/round.py round_float, gfloat/round_ndarray.py round_ndarray", "run",
          roundings=("stochastic",)),
    # ----- E8M0 casts -----------------------------------------------------------------------------
    Model("e8m0_subnormal_to_min_normal", "e8m0",
          "a float32 in (2^-127, 1.5 * 2^-127) casts to E8M0 code 1 (2^-126) although 2^-127 (code 0) "
          "is nearer (rounding ties_up).",
          "jax-ml/ml_dtypes 0.6.0 float8_e8m0fnu cast (run: known difference e8m0_below_1.5x2^-127; "
          "fixed in 0.7.0); onnx 1.22.0 and 1.23.2 onnx/numpy_helper.py to_float8e8m0 round_mode='nearest' "
          "(run: it rounds up on the guard bit 0x400000 only together with a round/sticky bit or an "
          "exponent-field lsb, and a subnormal's field is 0, so a subnormal rounds up iff its mantissa > "
          "0x400000 -- with rounding ties_up the same codes on every float32)", "run"),
    Model("e8m0_subnormal_field_up", "e8m0",
          "every float32 subnormal (exponent field 0, mantissa non-zero) casts to code 1 (2^-126): the "
          "round-up adds 1 to the exponent field whenever the mantissa is non-zero, so with rounding ceil "
          "the values in (0, 2^-127], whose ceiling is 2^-127 (code 0), give 2^-126 too (0x00000001: "
          "code 1, exact 0). Equal to ceil on every normal float32.",
          "onnx 1.22.0 and 1.23.2 onnx/numpy_helper.py to_float8e8m0 round_mode='up' (has_fraction "
          "test on the mantissa, exponent + 1; run: known difference e8m0_up_subnormal_code1)", "run"),
    Model("e8m0_inf_to_nan", "e8m0",
          "+Inf casts to 0xFF (NaN) also when the cast saturates (exponent field 0xFF kept as the code; "
          "saturating, mxref gives 0xFE = 2^127). No effect on finite values or non-saturating casts.",
          "onnx 1.22.0 and 1.23.2 onnx/numpy_helper.py to_float8e8m0 (special_mask: exponent field 0xFF "
          "-> 0xFF before any saturate test; run: known difference e8m0_inf_is_nan)", "run"),
    Model("e8m0_nonsat_below_min_nan", "e8m0",
          "a non-saturating E8M0 cast gives 0xFF (NaN) for every value below 2^-127, before rounding: "
          "the float32 subnormals 0x00000001 ... 0x003FFFFF (exactly 2^-127 is code 0; the spec's "
          "non-saturating cast gives code 0 for them). No effect on saturating casts.",
          "microsoft/onnxruntime 1.32.0 CPU execution provider, Cast-25 to FLOAT8E8M0 saturate=0 (run: "
          "every float32 subnormal, all three round modes; the Float8E8M0 constructor in "
          "include/onnxruntime/core/common/float8.h sends saturate=false subnormals to 0xFF); gfloat "
          "0.5.2 gfloat/round.py round_float to E8M0 gives NaN there too (run)", "run"),
    Model("e8m0_nonsat_above_max_nan", "e8m0",
          "a non-saturating E8M0 cast gives 0xFF (NaN) for every value above 2^127, even where the "
          "rounding mode gives 2^127 (round_mode down: 0x7F000001 and 0x7F7FFFFF give 0xFF, floor 0xFE; "
          "nearest: 0x7F3FFFFF). No effect on saturating casts.",
          "microsoft/onnxruntime 1.32.0 CPU execution provider, Cast-25 to FLOAT8E8M0 saturate=0, "
          "round_mode down / nearest (run: the boundary patterns of exponent field 0xFE)", "run"),
    # ----- element casts ----------------------------------------------------------------------------
    Model("fp8_e4m3_nonsat_480_to_max", "cast",
          "a non-saturating cast to FP8 E4M3 gives +-448 (0x7E / 0xFE) for |x| in [480, 496) instead of "
          "NaN: the truncated code 0x7F is first replaced by 0x7E, and the overflow test that follows fires "
          "only on a round-up (|x| >= 496 is NaN, 464 < |x| < 480 NaN, as RNE says). Other formats, "
          "saturating casts: no effect.",
          "microsoft/onnxruntime include/onnxruntime/core/common/float8.h Float8E4M3FN(float, saturate) "
          "(CPU path, no CUDA); run on onnxruntime 1.32.0 Cast-25 saturate=0: 480 -> 448, 495.9 -> 448, "
          "496 -> NaN", "run"),
    Model("fp8_e5m2_nonsat_round_overflow_nan", "cast",
          "a non-saturating cast to FP8 E5M2 gives NaN (0x7F / 0xFF) for |x| in [61440, 65536), the values "
          "that round past 57344: the overflow branch ORs the Inf pattern 0x7C into the code 0x7B already "
          "there (0x7F); |x| >= 65536 and Inf give Inf. Other formats, saturating casts: no effect.",
          "microsoft/onnxruntime include/onnxruntime/core/common/float8.h Float8E5M2(float, saturate) "
          "(CPU path); run on onnxruntime 1.32.0 Cast-25 saturate=0, read back through a Cast to FLOAT: "
          "61440 and 65535 -> NaN, 65536 -> Inf", "run"),
]

#: every model by id
MODELS: dict[str, Model] = {m.id: m for m in _M}

#: scale models that compute the exponent (at most one per combination)
SCALE_COMPUTATIONS = ("scale_log2_f32", "scale_log2_f64", "scale_rceil_log2_f32", "scale_rceil_recip_mul",
                      "scale_round_up_f32_quotient", "scale_round_down_f32_quotient", "scale_even_mbits")
#: groups of models of which at most one may be used (scale computations; stochastic variants)
EXCLUSIVE_GROUPS = (SCALE_COMPUTATIONS, ("stochastic_gfloat", "stochastic_gfloat_odd", "stochastic_gfloat_fast"))
