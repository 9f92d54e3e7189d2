"""modelopt: its recorded outputs (tests/peers/recordings/, tools/record_peers.py) classified without
the library: the counts equal the live run's, every MISMATCH line shown is a known difference of
the recorded version (mxref.conformance.known), and the live adapter agrees where it is installed."""

import importlib.util

import pytest

from recorded_helpers import RECORDINGS, assert_counts_as_recorded, mismatch_ids

DIRS = ("modelopt", )
IDS = {"rceil_float32_log2"}


@pytest.mark.parametrize("name", DIRS)
def test_counts_as_recorded(name):
    m, rep = assert_counts_as_recorded(name)
    ids = mismatch_ids(rep)
    assert "unexplained" not in ids, ids
    assert set(ids) <= IDS


@pytest.mark.skipif(importlib.util.find_spec("modelopt") is None, reason="modelopt is not installed (CI: recordings only)")
def test_live_version_is_recorded_or_new():
    from mxref.conformance.adapters import make_adapter

    a = make_adapter("modelopt")
    if a.availability():
        pytest.skip(a.availability())
    recorded = [(RECORDINGS / d / "manifest.json").read_text() for d in DIRS]
    assert any(a.version().split(" ")[0] in t for t in recorded) or pytest.skip(f"{a.version()}: not recorded")
