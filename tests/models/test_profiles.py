"""Profiles (issue 14 §2): each runnable profile reproduces its library on the checker's level-1
cases (no MISMATCH; gfloat: none outside NaN-holding blocks), on the versions it was seen on
(another version: a skip naming it); the others against the published reference's differing
examples, restated from /tmp research notes (sources cited in mxref.models.profiles)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mxref
import mxref.models as mm
from peer_versions import installed

sys.path.insert(0, str(Path(__file__).parent))
import profile_check as pc  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ML06 = Path("/tmp/mld06_14")


def f32(h):
    return np.uint32(h).view(np.float32)


def _version_or_skip(prof, ver: str):
    v = ver.split()[0] if not ver.startswith("commit") else ver.split()[1]
    if not any(v.startswith(s) for s in prof.versions):
        pytest.skip(f"{prof.library} {ver}: profile {prof.name} was seen on {', '.join(prof.versions)}; "
                    "run tests/models/profile_check.py and record it")


@pytest.mark.parametrize("name", [n for n in pc.RUNNABLE if n != "ml_dtypes-0.6"])
def test_runnable_profile_reproduces_its_library_on_level_1(name):
    if name.startswith("microxcaling") and not os.environ.get("MXREF_RECORDINGS"):
        rec = ROOT.parent / "shared" / "peers" / "microxcaling"
        if not rec.is_dir():
            pytest.skip("no microxcaling recordings")
        os.environ["MXREF_RECORDINGS"] = str(rec)
    prof = mm.profile(name)
    if name == "ml_dtypes-0.7" and installed("ml_dtypes")[:2] != (0, 7):
        pytest.skip(f"ml_dtypes {installed('ml_dtypes')} installed, profile seen on 0.7.0")
    res, ver = pc.verify(name)
    if res is None:
        pytest.skip(ver)
    _version_or_skip(prof, ver)
    assert res, "no targets compared"
    n, eq, mis, mis_nan = (sum(v[i] for v in res.values()) for i in range(4))
    assert n > 1000 and eq > 0.9 * n
    if name == "gfloat-0.5":  # NaN among tiny values: scale 0, NaN -> 0 (not modelled)
        assert mis == mis_nan, {k: v for k, v in res.items() if v[2] != v[3]}
    else:
        assert mis == 0, {k: v for k, v in res.items() if v[2]}


@pytest.mark.parametrize("name", ["torchao-0.18:floor", "torchao-0.18:rceil", "microxcaling:nearest"])
def test_the_models_are_what_makes_the_profile_match(name):
    """Without its models the same profile leaves MISMATCHes: the models carry the difference."""
    if name.startswith("microxcaling") and not os.environ.get("MXREF_RECORDINGS"):
        rec = ROOT.parent / "shared" / "peers" / "microxcaling"
        if not rec.is_dir():
            pytest.skip("no microxcaling recordings")
        os.environ["MXREF_RECORDINGS"] = str(rec)
    from dataclasses import replace

    bare = replace(mm.profile(name), models=())
    res, ver = pc.verify(bare)
    if res is None:
        pytest.skip(ver)
    _version_or_skip(bare, ver)
    assert sum(v[2] for v in res.values()) > 0


def test_ml_dtypes_0_6_profile_in_a_subprocess():
    if not (ML06 / "ml_dtypes").is_dir():
        pytest.skip(f"ml_dtypes 0.6.0 not at {ML06} (pip install --no-deps --target {ML06} ml_dtypes==0.6.0)")
    code = ("import sys; sys.path.insert(0, 'tests/models'); import profile_check as pc, ml_dtypes;"
            "assert ml_dtypes.__version__ == '0.6.0';"
            "r, v = pc.verify('ml_dtypes-0.6'); print(sum(x[2] for x in r.values()), sum(x[0] for x in r.values()));"
            "r7, v = pc.verify('ml_dtypes-0.7'); print(sum(x[2] for x in r7.values()))")
    env = dict(os.environ, PYTHONPATH=f"{ML06}{os.pathsep}{ROOT}")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.split()
    mis06, n, mis07_on_06 = int(lines[0]), int(lines[1]), int(lines[2])
    assert mis06 == 0 and n > 100_000
    assert mis07_on_06 > 0  # the 0.7 profile (no models) does not describe 0.6.0


# ----- profiles of libraries that do not run here: the published reference's examples ---------


def _q(vals, fmt, prof):
    x = np.zeros((1, 32), np.float32)
    x[0, :len(vals)] = vals
    return mm.apply_profile(x, fmt, prof)


def test_transformer_engine_mxfp8():
    for fmt, h in (("mxfp8_e4m3", 0x04600001), ("mxfp8_e5m2", 0x07E00001)):
        r = _q([f32(h)], fmt, "transformer_engine:mxfp8")
        assert r.scales[0, 0] == 0 and (r.elements == 0).all()  # code 0, applied as 1.0 (kernel)
        assert mxref.quantize(np.pad(np.array([[f32(h)]], np.float32), ((0, 0), (0, 31))), fmt,
                              scale_rule="rceil").scales[0, 0] == 1
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((2000, 32)) * 2.0 ** rng.integers(-100, 100, (2000, 1))).astype(np.float32)
    a = mm.apply_profile(x, "mxfp8_e4m3", "transformer_engine:mxfp8")
    b = mxref.quantize(x, "mxfp8_e4m3", scale_rule="rceil")
    assert (a.scales == b.scales).all() and (a.elements == b.elements).all()  # normal range: exact rceil


def test_triton_kernels_profiles():
    assert _q([f32(0x04600000)], "mxfp8_e4m3", "triton_kernels:round_up").scales[0, 0] == 1
    r = _q([2.0**-126], "mxfp4_e2m1", "triton_kernels:round_down")
    assert r.scales[0, 0] == 0 and (r.elements == 0).all()
    r = _q([4.0, 5.0], "mxfp4_e2m1", "triton_kernels:round_down")  # the new kernel: OCP floor
    assert r.scales[0, 0] == 127


def test_modelopt_profiles():
    assert _q([f32(0x45E00001)], "mxfp8_e4m3", "modelopt:mxfp8").scales[0, 0] == 131
    r = _q([f32(0x04600001)], "mxfp8_e4m3", "modelopt:mxfp8")  # code 0 applied as 2^127
    assert r.scales[0, 0] == 0 and r.elements[0, 0] == 0x7E
    # cast_fp4: strict bound comparisons, ties toward zero (amax 6: E = 0)
    x = [6.0, 0.25, 0.26, 0.75, 1.75, 3.5, 5.0, -0.75, 5.5]
    r = _q(x, "mxfp4_e2m1", "modelopt:mxfp4")
    assert r.scales[0, 0] == 127
    assert r.elements[0, :9].tolist() == [7, 0, 1, 1, 3, 5, 6, 9, 7]


def test_llama_cpp_mxfp4():
    p = "llama.cpp:mxfp4"
    assert _q([f32(0x40FFFFFF)], "mxfp4_e2m1", p).scales[0, 0] == 128
    assert _q([f32(0x7F7FFFFF)], "mxfp4_e2m1", p).scales[0, 0] == 253
    assert _q([2.0**-126], "mxfp4_e2m1", p).scales[0, 0] == 255
    assert _q([2.0**-127], "mxfp4_e2m1", p).scales[0, 0] == 254
    v = mxref.decode(_q([6.0, 0.75, 1.75, 3.5, 0.25, 2.5, 5.0], "mxfp4_e2m1", p).elements[0, :7], "fp4_e2m1", np.float64)
    assert v.tolist() == [6.0, 0.5, 1.5, 3.0, 0.0, 2.0, 4.0]


def test_every_profile_is_documented_and_its_models_compose():
    for name, p in mm.PROFILES.items():
        assert p.name == name and p.verified_against and p.library and p.versions
        if p.kind == "quantize":
            mm.check_models(p.models, scale_rule=p.scale_rule, rounding=p.rounding)
        assert ("run here" in p.verified_against or "recordings" in p.verified_against) == (name in pc.RUNNABLE)
