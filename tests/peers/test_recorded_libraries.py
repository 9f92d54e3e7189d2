"""Each peer library's recorded outputs (tests/peers/recordings/, written by tools/record_peers.py)
classified without the library: the counts equal the live run's, and every MISMATCH line shown is
a known difference of the recorded version (mxref.conformance.known); where the library is
installed, its version is one that was recorded (else the test says it is new)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from recorded_helpers import RECORDINGS, assert_counts_as_recorded, mismatch_ids

#: library -> (its module, the recording folders, the known-difference ids its MISMATCHes may have)
LIBRARIES = {
    "onnx": ("onnx", ("onnx", "onnx-1.23.2"),
             {"e8m0_up_subnormal_code1", "e8m0_nearest_subnormal", "e8m0_inf_is_nan"}),
    "onnxruntime": ("onnxruntime", ("onnxruntime",),
                    {"fp8_saturate0_saturates", "double_via_float32", "e8m0_nonsat_tiny_nan"}),
    "compressed_tensors": ("compressed_tensors", ("compressed_tensors",),
                           {"even_carry_to_inf", "nan_amax_scale_0", "mxfp8_rounds_amax_at_e2m1",
                            "nvfp4_nan_scale_0xff"}),
    "modelopt": ("modelopt", ("modelopt",), {"rceil_float32_log2", "fp4_ties_toward_zero", "nvfp4_nan_block",
                                            "nvfp4_underflow_scale_1", "nvfp4_zero_tensor"}),
    "ml_dtypes": ("ml_dtypes", ("ml_dtypes", "ml_dtypes-0.6.0"), {"float64_rounded_twice", "e8m0_below_1.5x2^-127"}),
    "quark": ("quark", ("quark",),
              {"even_carry_to_inf", "mxint8_amax_rounded_at_8_bits", "mxint8_tiny_scale_quantum_2^-126"}),
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


#: recording folder -> the mxref.models profile of each adapter profile (None: not modelled)
PROFILE_OF = {
    "onnx": {"rne": "onnx-1.22:up", "e8m0-nearest": "onnx-1.22:nearest", "e8m0-down": "onnx-1.22:down"},
    "onnx-1.23.2": {"rne": "onnx-1.22:up", "e8m0-nearest": "onnx-1.22:nearest", "e8m0-down": "onnx-1.22:down"},
    "onnxruntime": {"rne": "onnxruntime-1.32:up", "e8m0-nearest": "onnxruntime-1.32:nearest",
                    "e8m0-down": "onnxruntime-1.32:down"},
    "ml_dtypes": {"rne": "ml_dtypes-0.7"},
    "ml_dtypes-0.6.0": {"rne": "ml_dtypes-0.6"},
}


@pytest.mark.parametrize("folder", sorted(PROFILE_OF))
def test_the_library_profiles_reproduce_the_recordings(folder):
    """Each recorded cast target under its mxref.models profile (the models the diagnosis finds on
    the live library): no MISMATCH left; without the models some are -- without the library (CI).
    (The recordings keep 48 failing and 16 passing rows per target: too few for the diagnosis
    itself to tell e.g. input_double_round_f32 from rounding=up; the live runs do.)"""
    sys.path.insert(0, str(Path(__file__).parents[1] / "models"))
    import profile_check as pc
    from dataclasses import replace

    import mxref.models as mm
    from mxref.conformance.adapters import RecordedAdapter
    from mxref.conformance.classify import classify_values
    from mxref.conformance.model import MISMATCH

    a = RecordedAdapter(RECORDINGS / folder)
    n = left = bare_left = 0
    for pname, p in a.profiles().items():
        prof = mm.profile(PROFILE_OF[folder][pname])
        assert a.version().split()[0] in prof.versions, (a.version(), prof.versions)
        for t in a.targets(p, 1):
            if t.unsupported or t.operation == "quantize":
                continue
            for x, got, _ in a.record(t):
                for pr, acc in ((prof, "left"), (replace(prof, models=()), "bare")):
                    with np.errstate(all="ignore"):
                        cls, _ = classify_values(t, x, pc.model_output(pr, t, x), got, {})
                    k = int((cls == MISMATCH).sum())
                    if acc == "left":
                        left += k
                        n += cls.size
                    else:
                        bare_left += k
    assert n >= 100 and left == 0
    models = {m for pname in a.profiles() for m in mm.profile(PROFILE_OF[folder][pname]).models}
    assert (bare_left > 0) == bool(models), bare_left  # the models carry the differences
