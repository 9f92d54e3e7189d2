"""onnx: its recorded outputs (tests/peers/recordings/, tools/record_peers.py) classified without
the library: the counts equal the live run's, every MISMATCH line shown is a known difference of
the recorded version (mxref.conformance.known), and the live adapter agrees where it is installed."""

import importlib.util

import pytest

from recorded_helpers import RECORDINGS, assert_counts_as_recorded, mismatch_ids

DIRS = ("onnx", "onnx-1.23.2", )
IDS = {"e8m0_up_subnormal_code1","e8m0_nearest_subnormal","e8m0_inf_is_nan"}


@pytest.mark.parametrize("name", DIRS)
def test_counts_as_recorded(name):
    m, rep = assert_counts_as_recorded(name)
    ids = mismatch_ids(rep)
    assert "unexplained" not in ids, ids
    assert set(ids) <= IDS


@pytest.mark.skipif(importlib.util.find_spec("onnx") is None, reason="onnx is not installed (CI: recordings only)")
def test_live_version_is_recorded_or_new():
    from mxref.conformance.adapters import make_adapter

    a = make_adapter("onnx")
    if a.availability():
        pytest.skip(a.availability())
    recorded = [(RECORDINGS / d / "manifest.json").read_text() for d in DIRS]
    assert any(a.version().split(" ")[0] in t for t in recorded) or pytest.skip(f"{a.version()}: not recorded")
