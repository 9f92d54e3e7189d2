"""Each peer library's recorded outputs (tests/peers/recordings/, written by tools/record_peers.py)
classified without the library: the counts equal the live run's, and every MISMATCH line shown is
a known difference of the recorded version (mxref.conformance.known); where the library is
installed, its version is one that was recorded (else the test says it is new)."""

import importlib.util

import pytest

from recorded_helpers import RECORDINGS, assert_counts_as_recorded, mismatch_ids

#: library -> (its module, the recording folders, the known-difference ids its MISMATCHes may have)
LIBRARIES = {
    "onnx": ("onnx", ("onnx", "onnx-1.23.2"),
             {"e8m0_up_subnormal_code1", "e8m0_nearest_subnormal", "e8m0_inf_is_nan"}),
    "onnxruntime": ("onnxruntime", ("onnxruntime",),
                    {"fp8_saturate0_saturates", "double_via_float32", "e8m0_nonsat_tiny_nan"}),
    "compressed_tensors": ("compressed_tensors", ("compressed_tensors",),
                           {"even_carry_to_inf", "nan_amax_scale_0", "mxfp8_rounds_amax_at_e2m1"}),
    "modelopt": ("modelopt", ("modelopt",), {"rceil_float32_log2", "fp4_ties_toward_zero", "nvfp4_nan_block",
                                            "nvfp4_underflow_scale_1", "nvfp4_zero_tensor"}),
    "ml_dtypes": ("ml_dtypes", ("ml_dtypes", "ml_dtypes-0.6.0"), {"float64_rounded_twice", "e8m0_below_1.5x2^-127"}),
}
FOLDERS = [(lib, d) for lib, (_, dirs, _) in LIBRARIES.items() for d in dirs]


@pytest.mark.parametrize("library, folder", FOLDERS, ids=[d for _, d in FOLDERS])
def test_counts_as_recorded(library, folder):
    m, rep = assert_counts_as_recorded(folder)
    ids = mismatch_ids(rep)
    assert "unexplained" not in ids, ids
    assert set(ids) <= LIBRARIES[library][2]


@pytest.mark.parametrize("library", sorted(LIBRARIES))
def test_live_version_is_recorded_or_new(library):
    module, dirs, _ = LIBRARIES[library]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (CI: recordings only)")
    from mxref.conformance.adapters import make_adapter

    a = make_adapter(library)
    if a.availability():
        pytest.skip(a.availability())
    recorded = [(RECORDINGS / d / "manifest.json").read_text() for d in dirs]
    if not any(a.version().split(" ")[0] in t for t in recorded):
        pytest.skip(f"{a.version()}: not recorded")
