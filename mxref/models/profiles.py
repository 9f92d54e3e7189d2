"""Profiles: named compositions of the spec's options and implementation models that reproduce
one library, version by version (issue 14 §2).

A :class:`Profile` says which ``mxref.quantize`` scale rule and rounding the library's rule is a
variant of, which models (:data:`mxref.models.MODELS`) make mxref compute what it computes, any
further mxref.quantize / encode options, and what the profile was verified against: a run of the
library here (how many of the checker's level-1 cases, bit for bit) or its published reference
restated from the source (cited), not run.
"""

from __future__ import annotations

from dataclasses import dataclass, field


from .quantize import check_models, encode_e8m0_model, encode_model, quantize_model

__all__ = ["Profile", "PROFILES", "profile", "apply_profile"]


@dataclass(frozen=True)
class Profile:
    """name: "<library>[-<version>]:<mode>" (e.g. "torchao-0.18:rceil"); library and versions it
    was seen on; scale_rule / rounding: mxref's names; models: model ids; options: further keywords
    (quantize: zero_scale, ...; casts: "overflow", "fp8_overflow", "e8m0_rounding",
    "e8m0_overflow"); formats: the MX formats (quantize profiles) or element formats (cast
    profiles) the library offers in this mode (empty: all); verified_against: what it was checked
    against; kind: "quantize" (block conversion) or "cast" (element and E8M0 casts)."""

    name: str
    library: str
    versions: tuple
    scale_rule: str
    rounding: str
    models: tuple
    options: dict = field(default_factory=dict)
    verified_against: str = ""
    kind: str = "quantize"
    formats: tuple = ()


_MX = ("mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp4_e2m1")
_FP = ("mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp4_e2m1")

_ONNX_RUN = ("onnx 1.22.0 and 1.23.2 run here (reference evaluator): Cast-25 to the FP8/FP6/FP4 types "
             "(saturate=1 and 0, from float32 and float64) and to FLOAT8E8M0 round_mode=%r (mxref %s, saturate=1 "
             "and 0) on the level-1 cases: 0 MISMATCH (%s)")
_ORT_MODELS = ("input_double_round_f32", "fp8_e4m3_nonsat_480_to_max", "fp8_e5m2_nonsat_round_overflow_nan",
               "e8m0_nonsat_below_min_nan", "e8m0_nonsat_above_max_nan")
_ORT_RUN = ("onnxruntime 1.32.0 run here (CPU execution provider): Cast-25 to FLOAT8E4M3FN / FLOAT8E5M2 (saturate=1 "
            "and 0, from float32 and float64; FLOAT4E2M1 has no CPU kernel) and to FLOAT8E8M0 round_mode=%r "
            "(mxref %s, saturate=1 and 0) on the level-1 cases: 0 MISMATCH (%s)")

_P = [
    Profile("torchao-0.18:floor", "torchao", ("0.18.0",), "floor", "rne", ("scale_min_normal_divisor",),
            verified_against="torchao 0.18.0 (torch 2.13 CPU) run here: MXTensor.to_mx FLOOR on the checker's level-1 cases, 5 MX formats x 1112 blocks: 0 MISMATCH, 5445 of 5560 blocks bit-equal (the rest NaN/Inf blocks, implementation-defined)",
            formats=_FP),
    Profile("torchao-0.18:ceil", "torchao", ("0.18.0",), "ceil", "rne", ("scale_min_normal_divisor",), verified_against='torchao 0.18.0 run here: CEIL, level 1, 5560 blocks: 0 MISMATCH, 5387 bit-equal (the rest NaN/Inf blocks)',
            formats=_FP),
    Profile("torchao-0.18:even", "torchao", ("0.18.0",), "even", "rne", ("scale_min_normal_divisor",), verified_against='torchao 0.18.0 run here: EVEN, level 1, 5560 blocks: 0 MISMATCH, 5387 bit-equal (the rest NaN/Inf blocks)',
            formats=_FP),
    Profile("torchao-0.18:rceil", "torchao", ("0.18.0",), "rceil", "rne",
            ("scale_rceil_log2_f32", "scale_code0_as_one"), verified_against='torchao 0.18.0 run here: RCEIL (eager CPU path), level 1, 5560 blocks: 0 MISMATCH, 5387 bit-equal (the rest NaN/Inf blocks)',
            formats=_FP),
    Profile("microxcaling:even", "microxcaling", ("7bc41952",), "floor", "rne",
            ("scale_log2_f32", "elements_ties_away_f32_floor"), verified_against="microxcaling recordings (commit 7bc41952, round='even', 6 formats x 1030 blocks) through the checker's microxcaling adapter: 0 MISMATCH, 5775 of 6180 bit-equal (the rest implementation-defined: NaN/Inf blocks, signed zeros)",
            formats=_MX + ("mxint8",)),
    Profile("microxcaling:nearest", "microxcaling", ("7bc41952",), "floor", "ties_away",
            ("scale_log2_f32", "elements_ties_away_f32_floor"), verified_against="microxcaling recordings (commit 7bc41952, round='nearest', 6180 blocks): 0 MISMATCH, 5775 bit-equal (the rest implementation-defined)",
            formats=_MX + ("mxint8",)),
    Profile("gfloat-0.5", "gfloat", ("0.5.2",), "floor", "rne", ("scale_log2_f64",), verified_against='gfloat 0.5.2 run here: encode_block/quantize_block on level-1 cases, 6 formats x float32/float64, 14400 blocks: 0 MISMATCH outside NaN-holding blocks; 80 blocks of FP6/FP4/INT8 holding NaN among tiny values come back with scale 0 and the NaN as 0 (not modelled: models describe finite blocks)',
            formats=_MX + ("mxint8",)),
    Profile("ml_dtypes-0.6", "ml_dtypes", ("0.6.0",), "floor", "rne",
            ("input_double_round_f32", "e8m0_subnormal_to_min_normal"),
            {"fp8_overflow": "nonsaturating", "e8m0_rounding": "ties_up", "e8m0_overflow": "nonsaturating"},
            verified_against='ml_dtypes 0.6.0 run here (pip --target): every element cast and float8_e8m0fnu on level-1 cases from float32 and float64, 135797 values: 0 MISMATCH, 135773 bit-equal (the rest NaN payloads / signed zeros / NaN into FP6-FP4)',
            kind="cast"),
    Profile("ml_dtypes-0.7", "ml_dtypes", ("0.7.0",), "floor", "rne", (),
            {"fp8_overflow": "nonsaturating", "e8m0_rounding": "ties_up", "e8m0_overflow": "nonsaturating"},
            verified_against='ml_dtypes 0.7.0 run here: the same 135797 level-1 values: 0 MISMATCH, 135773 bit-equal',
            kind="cast"),
    # onnx: the reference evaluator's casts (onnx/reference/ops/op_cast.py cast_to; E8M0 by
    # onnx/numpy_helper.py to_float8e8m0); one profile per Cast round_mode
    Profile("onnx-1.22:up", "onnx", ("1.22.0", "1.23.2"), "floor", "rne",
            ("e8m0_subnormal_field_up", "e8m0_inf_to_nan"), {"e8m0_rounding": "ceil"},
            verified_against=_ONNX_RUN % ("up", "ceil", "147366 values on 1.22.0, 197326 on 1.23.2 with FP6"), kind="cast"),
    Profile("onnx-1.22:nearest", "onnx", ("1.22.0", "1.23.2"), "floor", "rne",
            ("e8m0_subnormal_to_min_normal", "e8m0_inf_to_nan"), {"e8m0_rounding": "ties_up"},
            verified_against=_ONNX_RUN % ("nearest", "ties_up", "12666 E8M0 values on each"), kind="cast"),
    Profile("onnx-1.22:down", "onnx", ("1.22.0", "1.23.2"), "floor", "rne", ("e8m0_inf_to_nan",),
            {"e8m0_rounding": "floor"}, verified_against=_ONNX_RUN % ("down", "floor", "12666 E8M0 values on each"), kind="cast"),
    # onnxruntime: the CPU execution provider's Cast kernels (include/onnxruntime/core/common/float8.h)
    Profile("onnxruntime-1.32:up", "onnxruntime", ("1.32.0",), "floor", "rne", _ORT_MODELS, {"e8m0_rounding": "ceil"},
            verified_against=_ORT_RUN % ("up", "ceil", "123058 values"), kind="cast"),
    Profile("onnxruntime-1.32:nearest", "onnxruntime", ("1.32.0",), "floor", "rne", _ORT_MODELS,
            {"e8m0_rounding": "ties_up"}, verified_against=_ORT_RUN % ("nearest", "ties_up", "12666 E8M0 values"), kind="cast"),
    Profile("onnxruntime-1.32:down", "onnxruntime", ("1.32.0",), "floor", "rne", _ORT_MODELS,
            {"e8m0_rounding": "floor"}, verified_against=_ORT_RUN % ("down", "floor", "12666 E8M0 values"), kind="cast"),
    Profile("transformer_engine:mxfp8", "transformer_engine", ("03198ae1",), "rceil", "rne",
            ("scale_rceil_recip_mul", "scale_code0_as_one"), formats=("mxfp8_e4m3", "mxfp8_e5m2"),
            verified_against="published reference (NVIDIA/TransformerEngine transformer_engine/common/util/"
                             "ptx.cuh float_to_e8m0, exp2f_rcp @03198ae195d7; tests/cpp/test_common.h "
                             "@024ef1585311), not run: the differing amax per format"),
    Profile("triton_kernels:round_up", "triton_kernels", ("018a674f",), "rceil", "rne",
            ("scale_round_up_f32_quotient",), formats=("mxfp8_e4m3", "mxfp8_e5m2", "mxfp4_e2m1"),
            verified_against="published reference (triton-lang/triton python/triton_kernels/triton_kernels/"
                             "numerics_details/mxfp.py downcast_to_mxfp_torch @018a674f6d6d), not run"),
    Profile("triton_kernels:round_down", "triton_kernels", ("018a674f",), "floor", "rne",
            ("scale_round_down_f32_quotient",), formats=("mxfp8_e4m3", "mxfp8_e5m2", "mxfp4_e2m1"),
            verified_against="published reference (triton-lang/triton .../numerics_details/mxfp.py "
                             "downcast_to_mxfp_torch @018a674f6d6d), not run"),
    Profile("modelopt:mxfp8", "modelopt", ("a8d544b3",), "rceil", "rne", ("scale_rceil_log2_f32",),
            formats=("mxfp8_e4m3",),
            verified_against="published reference (NVIDIA/Model-Optimizer modelopt/torch/quantization/qtensor/"
                             "mxfp8_tensor.py MXFP8QTensor @a8d544b397d7), not run"),
    Profile("modelopt:mxfp4", "modelopt", ("cb98b221",), "rceil", "ties_toward_zero", ("scale_rceil_log2_f32",),
            formats=("mxfp4_e2m1",),
            verified_against="published reference (NVIDIA/TensorRT-Model-Optimizer modelopt/torch/quantization/"
                             "qtensor/mxfp4_tensor.py MXFP4QTensor.quantize @cb98b221), not run; zeros: "
                             "ModelOpt codes +0 as 8 (-0), a signed-zero difference not modelled"),
    Profile("llama.cpp:mxfp4", "llama.cpp", ("01243c58",), "floor", "ties_toward_zero",
            ("scale_log2_f32", "scale_no_clamp_wrap"), formats=("mxfp4_e2m1",),
            verified_against="published reference (ggml-org/llama.cpp ggml/src/ggml-quants.c "
                             "quantize_row_mxfp4_ref, best_index_mxfp4 @01243c587fec), not run; -0 results "
                             "are coded +0 there (signed zero, not modelled)"),
]

#: every profile by name
PROFILES: dict[str, Profile] = {p.name: p for p in _P}


def profile(name: str) -> Profile:
    """The profile called ``name`` (ValueError listing the known names)."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}")
    return PROFILES[name]


def apply_profile(x, fmt, prof, *, operation: str | None = None, axis: int = -1, block_size: int | None = None,
                  overflow: str | None = None, nan: str = "zero", **options):
    """What the profiled library gives for x: an MXArray (operation "quantize", fmt an MX format;
    the default for quantize profiles), element codes (operation "encode", fmt an element
    format) or E8M0 codes (operation "encode_e8m0"; fmt ignored, pass "e8m0"). ``prof``: a
    Profile or its name. ``overflow``: the cast's overflow mode where the library offers both
    (encode: the FP8 one; encode_e8m0: the E8M0 one), else the profile's. ``options``: further
    mxref.quantize keywords (quantize only)."""
    p = profile(prof) if isinstance(prof, str) else prof
    if operation is None:
        operation = "encode_e8m0" if fmt == "e8m0" else ("quantize" if p.kind == "quantize" else "encode")
    opts = dict(p.options)
    if operation == "quantize":
        q_opts = {k: v for k, v in opts.items() if k not in ("fp8_overflow", "e8m0_rounding", "e8m0_overflow")}
        q_opts.update(options)
        return quantize_model(x, fmt, axis=axis, block_size=block_size, scale_rule=p.scale_rule, rounding=p.rounding,
                              models=p.models, **q_opts)
    if operation == "encode":
        from ..formats import element_format

        el = element_format(fmt)
        ov = overflow or (opts.get("fp8_overflow", "saturate") if (el.has_nan or el.has_inf) else "saturate")
        ms = [m for m in p.models if check_models((m,)) and _kind(m) in ("input", "cast")]
        return encode_model(x, el, rounding=p.rounding, overflow=ov, nan=nan, models=ms)
    if operation == "encode_e8m0":
        ms = [m for m in p.models if _kind(m) in ("input", "e8m0")]
        return encode_e8m0_model(x, rounding=opts.get("e8m0_rounding", "floor"),
                                 overflow=overflow or opts.get("e8m0_overflow", "saturate"), models=ms)
    raise ValueError(f"operation must be 'quantize', 'encode' or 'encode_e8m0', got {operation!r}")


def _kind(mid: str) -> str:
    from .catalogue import MODELS

    return MODELS[mid.partition("=")[0]].kind
