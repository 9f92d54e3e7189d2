"""--identify on the discriminating vectors (spec_vectors/identify/): outputs produced by mxref
under each catalogue profile, written in the spec_vectors layout, are identified as that profile
and no other. Profiles with the same definition are one entry ("a = b", diagnose.profile_groups);
on these float32 inputs gfloat-0.5 (float64 log2) computes what the spec does, but the spec is
not a catalogue profile (documented in spec_vectors/README.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import mxref
from mxref import models as M
from mxref.conformance import check
from mxref.conformance.diagnose import _CAST_OPTIONS, profile_groups

VEC = Path(__file__).resolve().parents[2] / "spec_vectors"


def _write(tmp: Path, p, formats) -> Path:
    man = json.loads((VEC / "MANIFEST.json").read_text())
    keep = []
    for fmt in formats:
        base = f"identify/{fmt}/blocks"
        x = np.fromfile(VEC / f"{base}.in.f32.u32", "<u4").view(np.float32).reshape(-1, 32)
        opts = {k: v for k, v in (p.options or {}).items() if k not in _CAST_OPTIONS}
        mx = M.quantize_model(x, fmt, block_size=32, scale_rule=p.scale_rule, rounding=p.rounding,
                              models=p.models, **opts)
        (tmp / f"identify/{fmt}").mkdir(parents=True, exist_ok=True)
        mx.scales.astype(np.uint8).tofile(tmp / f"{base}.identify.scales.u8")
        mx.elements.astype(np.uint8).tofile(tmp / f"{base}.identify.elements.u8")
        keep += [e for e in man["files"] if e["path"].startswith(f"identify/{fmt}/")]
    (tmp / "MANIFEST.json").write_text(json.dumps({"schema_version": 1, "library": p.name, "files": keep}))
    return tmp


GROUPS = profile_groups(M)


@pytest.mark.parametrize("name,p", GROUPS, ids=[n for n, _ in GROUPS])
def test_identify_names_the_profile(tmp_path, name, p):
    formats = [f for f in mxref.MX_FORMATS if not p.formats or f in p.formats]
    d = _write(tmp_path, p, formats)
    rep = check("spec_vectors", dump=d, vectors=VEC, identify=True, errors=0)
    ranking = rep.to_json()["identify"]["ranking"]
    names = {n for n, _ in GROUPS}
    full = [r["profile"] for r in ranking if r["profile"] in names and r["blocks_reproduced"] == r["of"]]
    assert full == [name], ranking
    assert "Identification" in rep.text()


def test_identify_vectors_are_small():
    for fmt in mxref.MX_FORMATS:
        n = (VEC / f"identify/{fmt}/blocks.in.f32.u32").stat().st_size // 128
        assert 1 <= n <= 16, (fmt, n)
