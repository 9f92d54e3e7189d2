"""Peer behaviour is a fact about a version: the version ranges each finding was observed on.

A test that asserts a peer library's difference from mxref asks :func:`finding` which behaviour
the installed version was seen to have. A version outside every observed range gets a skip that
says so (a new release is then a report to make, never a red test for mxref). CI pins the
versions it installs (``.ci/constraints.txt``), so there every finding is asserted.
"""

from __future__ import annotations

import importlib.metadata
import re

import pytest


def version_tuple(text: str) -> tuple:
    """(major, minor, patch) of a version string; local labels and suffixes dropped."""
    parts = re.findall(r"\d+", text.split("+")[0])[:3]
    return tuple(int(p) for p in parts) + (0,) * (3 - len(parts))


def installed(distribution: str) -> tuple:
    """Version of an installed distribution (``importlib.metadata``: also where the module has
    no ``__version__``, as gfloat); (0, 0, 0) when it is not installed."""
    try:
        return version_tuple(importlib.metadata.version(distribution))
    except importlib.metadata.PackageNotFoundError:
        return (0, 0, 0)


#: library -> finding -> [(lowest version, first version not covered, behaviour)], each range
#: one that was run and seen. Behaviour names are the tests' own.
OBSERVED = {
    "ml_dtypes": {
        # float64 -> FP8/FP6/FP4 casts: 0.6.0 rounds to float32 first (1 + 2^-4 + 2^-40 -> E4M3
        # 0x38); 0.7.0 rounds the float64 value once (0x39), as mxref does.
        "float64_cast": [((0, 5, 0), (0, 7, 0), "double_rounding"), ((0, 7, 0), (0, 8, 0), "exact")],
        # E8M0 cast of float32 in (2^-127, 1.5 * 2^-127): 0.6.0 gives code 1 (2^-126), 0.7.0 code 0.
        "e8m0_small": [((0, 5, 0), (0, 7, 0), "code_1"), ((0, 7, 0), (0, 8, 0), "nearest")],
        # NaN into FP6/FP4: a zero of the opposite sign, seen on 0.6.0 and 0.7.0.
        "nan_into_finite": [((0, 5, 0), (0, 8, 0), "opposite_sign_zero")],
        # float32 -> FP8 casts: non-saturating, otherwise equal to mxref; 0.6.0 and 0.7.0.
        "fp8_float32": [((0, 5, 0), (0, 8, 0), "nonsaturating")],
        # float8_e4m3fnuz / float8_e5m2fnuz: every code decodes, and every float32 of the bfloat16
        # and float16 grids casts (RNE, overflow and Inf -> NaN 0x80, -0 -> 0x00) as mxref's rows
        # with overflow="nonsaturating"; seen on 0.7.0.
        "fnuz": [((0, 7, 0), (0, 8, 0), "equal_nonsaturating")],
        # diagnosis of the level-1 MISMATCH values: 0.6.0 casts float64 through float32
        # (input_double_round_f32) and E8M0 (2^-127, 1.5 * 2^-127) to code 1
        # (e8m0_subnormal_to_min_normal); 0.7.0 has no MISMATCH.
        "diagnosis": [((0, 6, 0), (0, 7, 0), "double_round_and_e8m0"), ((0, 7, 0), (0, 8, 0), "none")],
    },
    "gfloat": {
        # round_float TiesToAway decides delta + 0.5 >= 1.0 in float64: seen on 0.5.2.
        "round_float": [((0, 4, 0), (0, 6, 0), "ties_away_slip")],
        # the checker's diagnosis of the level-1 MISMATCH blocks: quantize from float64 takes
        # floor(float64 log2(amax)) (scale_log2_f64); E8M0 casts below 2^-127 give codes outside
        # 0..254, which no model gives (unexplained; round_float's non-saturating NaNs come closest
        # to e8m0_nonsat_below_min_nan, which is not its rule). Seen on 0.5.2.
        "diagnosis": [((0, 5, 0), (0, 6, 0), "scale_log2_f64")],
    },
    "onnx": {
        # diagnosis of the level-1 MISMATCH values (reference evaluator, to_float8e8m0): "up" gives
        # code 1 for every float32 subnormal (e8m0_subnormal_field_up), "nearest" rounds a
        # subnormal above 2^-127 up (e8m0_subnormal_to_min_normal), +Inf is 0xFF whatever
        # saturate (e8m0_inf_to_nan); element casts none. Seen on 1.22.0 and 1.23.2.
        "diagnosis": [((1, 22, 0), (1, 24, 0), "onnx_1.22")],
    },
    "onnxruntime": {
        # diagnosis of the level-1 MISMATCH values (CPU execution provider): DOUBLE cast through
        # float32 (input_double_round_f32), saturate=0 E4M3 [480, 496) -> 448, E5M2 [61440, 65536)
        # -> NaN, E8M0 outside [2^-127, 2^127] -> NaN. Seen on 1.32.0.
        "diagnosis": [((1, 32, 0), (1, 33, 0), "onnxruntime_1.32")],
    },
    "amd-quark": {
        # diagnosis of the level-1 MISMATCH blocks of the OCP_MX*Spec fake quantizers (torch 2.13
        # CPU): FP formats: a rounded amax of float32 Inf gives E = 127 (scale_even_inf_clamp);
        # MXINT8: amax rounded at 8 mantissa bits, quantum clamped to 2^-126 (scale_even_mbits=8 +
        # scale_int8_quantum_min_normal). Seen on 0.13.
        "diagnosis": [((0, 13, 0), (0, 14, 0), "quark_0.13")],
    },
    "torchao": {
        # diagnosis of the level-1 MISMATCH blocks, torch 2.x CPU: FLOOR / CEIL / EVEN divide by
        # max(2^E, 2^-126) (scale_min_normal_divisor); RCEIL takes a float32 log2 of the float32
        # quotient and applies code 0 as 1.0. Seen on 0.18.0.
        "diagnosis": [((0, 18, 0), (0, 19, 0), "torchao_0.18")],
    },
}


def finding(library: str, name: str) -> str:
    """The behaviour seen for the installed version of ``library``, or a pytest skip naming the
    version when no observed range covers it."""
    v = installed(library)
    for lo, hi, behaviour in OBSERVED[library][name]:
        if lo <= v < hi:
            return behaviour
    shown = ".".join(map(str, v))
    pytest.skip(f"{library} {shown}: finding {name!r} not observed on this version (observed: "
                + ", ".join(f"{'.'.join(map(str, lo))} <= v < {'.'.join(map(str, hi))}"
                            for lo, hi, _ in OBSERVED[library][name]) + "); run it and record it")
