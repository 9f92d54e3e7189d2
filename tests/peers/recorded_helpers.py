"""Shared by tests/peers/test_<library>_recorded.py: classify a library's recordings
(tests/peers/recordings/<library>/, written by tools/record_peers.py) without the library, and
check the counts equal those of the live run that recorded them, and the known differences."""

from __future__ import annotations

import json
from pathlib import Path

from mxref.conformance import check
from mxref.conformance.adapters import RecordedAdapter
from mxref.conformance.adapters.recorded import target_key

RECORDINGS = Path(__file__).parent / "recordings"
NAMES = ("pass", "mismatch", "impl-defined", "unsupported", "error")


def run_recorded(name: str):
    """(manifest, report) of recordings/<name>."""
    d = RECORDINGS / name
    m = json.loads((d / "manifest.json").read_text())
    rep = check(RecordedAdapter(d), profile="all", errors=0)
    return m, rep


def assert_counts_as_recorded(name: str):
    m, rep = run_recorded(name)
    got = {target_key(r.target.profile, vars(r.target)): dict(zip(NAMES, r.counts)) for r in rep.results}
    want = RecordedAdapter(RECORDINGS / name).recorded_counts()
    assert len(rep.results) == len(m["targets"])
    assert got == want
    for r in rep.results:
        assert r.version == m["version"] + " (recorded)"
    return m, rep


def mismatch_ids(rep) -> dict:
    """{known difference id or 'unexplained': count of MISMATCH lines}."""
    out: dict = {}
    for r in rep.results:
        for line in r.mismatch_lines:
            k = line.data.get("known_difference", {}).get("id", "unexplained")
            out[k] = out.get(k, 0) + 1
    return out
