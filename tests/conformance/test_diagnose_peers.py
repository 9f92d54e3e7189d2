"""Diagnosis of the real libraries at level 1: every MISMATCH block (value) is explained, by the
models each library version was seen to follow (tests/peer_versions.py: a version outside the
observed ranges is a skip that says so)."""

from __future__ import annotations

import pytest

from mxref.conformance import AdapterUnavailable, check

from peer_versions import finding


def _diagnosed(lib, **kw):
    try:
        rep = check(lib, errors=1, **kw)
    except AdapterUnavailable as exc:
        pytest.skip(str(exc))
    return {(r.target.profile.name, r.target.operation, r.target.format, r.target.dtype, r.target.overflow,
             r.target.api, r.target.profile.e8m0_overflow): r.diagnosis
            for r in rep.results if r.diagnosis is not None and r.diagnosis.mismatch}


def _all_explained(ds, want):
    assert ds, "no MISMATCH at all: the finding changed"
    for key, d in ds.items():
        assert d.explained == d.mismatch, (key, d.text())
        assert d.best.label(key[1]) == want(key), (key, d.text())
        assert d.ref_kept == d.ref_n, (key, d.text())


def test_torchao_four_modes():
    pytest.importorskip("torchao")
    assert finding("torchao", "diagnosis") == "torchao_0.18"
    ds = _diagnosed("torchao", profile="floor-rne,ceil-rne,even-rne,rceil-rne", operations="quantize")
    want = {"floor-rne": "floor + scale_min_normal_divisor", "ceil-rne": "ceil + scale_min_normal_divisor",
            "even-rne": "even + scale_min_normal_divisor",
            "rceil-rne": "rceil + scale_code0_as_one + scale_rceil_log2_f32"}
    _all_explained(ds, lambda k: want[k[0]])
    assert {k[0] for k in ds} == set(want)


def test_microxcaling_recordings():
    ds = _diagnosed("microxcaling")
    _all_explained(ds, lambda k: "floor + scale_log2_f32")


def test_gfloat():
    pytest.importorskip("gfloat")
    assert finding("gfloat", "diagnosis") == "scale_log2_f64"
    ds = _diagnosed("gfloat")
    q = {k: d for k, d in ds.items() if k[1] == "quantize"}
    _all_explained(q, lambda k: "floor + scale_log2_f64")
    assert {k[3] for k in q} == {"float64"}
    # E8M0 below 2^-127: round_ndarray gives codes outside 0..255 (said so), round_float the NaN
    # code 255 -- no E8M0 model gives either, except onnxruntime's non-saturating
    # e8m0_nonsat_below_min_nan, which gives all of round_float's non-saturating NaNs but is not
    # its rule (it changes values gfloat casts to code 0, [0.75, 1) * 2^-127): said so
    for k, d in ds.items():
        if k[1] == "encode_e8m0" and k[5] == "round_float" and k[6] == "nonsaturating":
            assert d.explained == d.mismatch and d.best.changes == ("e8m0_nonsat_below_min_nan",), d.text()
            assert d.ref_kept < d.ref_n and "which changes" in d.text(), d.text()
        elif k[1] == "encode_e8m0":
            assert d.explained == 0 and d.unexplained_lines, d.text()
            assert all(not 0 <= ln.data["got"] <= 254 for ln in d.unexplained_lines), d.text()
            if k[5] == "round_ndarray":
                assert "outside the format" in d.text(), d.text()
    assert {k[1] for k in ds} <= {"quantize", "encode_e8m0"}


def test_ml_dtypes():
    pytest.importorskip("ml_dtypes")
    behaviour = finding("ml_dtypes", "diagnosis")
    ds = _diagnosed("ml_dtypes")
    if behaviour == "none":
        assert not ds, {k: d.text() for k, d in ds.items()}
        return
    want = lambda k: ("e8m0 rounding=ties_up + e8m0_subnormal_to_min_normal" if k[1] == "encode_e8m0"  # noqa: E731
                      else f"{k[0]} + input_double_round_f32")
    _all_explained(ds, want)


def _profile_models(names):
    import mxref.models as mm

    return {pname: set(mm.profile(prof).models) for pname, prof in names.items()}


def _explained_by_profiles(ds, models):
    """Every MISMATCH value explained, keeping every reference value, by models of the target's
    mxref.models profile only; together the targets use every model of the profiles."""
    assert ds, "no MISMATCH at all: the finding changed"
    used = set()
    for key, d in ds.items():
        assert d.explained == d.mismatch and not d.extras, (key, d.text())
        assert d.ref_kept == d.ref_n, (key, d.text())
        ch = [c for c in d.best.changes if not c.startswith(("rounding=", "e8m0_rounding="))]
        assert ch == list(d.best.changes) and set(ch) <= models[key[0]], (key, d.text())
        used |= set(ch)
    assert used == set().union(*models.values()), used


def test_onnx():
    pytest.importorskip("onnx")
    assert finding("onnx", "diagnosis") == "onnx_1.22"
    ds = _diagnosed("onnx", profile="all")
    assert {k[1] for k in ds} == {"encode_e8m0"}
    _explained_by_profiles(ds, _profile_models({"rne": "onnx-1.22:up", "e8m0-nearest": "onnx-1.22:nearest",
                                                "e8m0-down": "onnx-1.22:down"}))


def test_onnxruntime():
    pytest.importorskip("onnxruntime")
    assert finding("onnxruntime", "diagnosis") == "onnxruntime_1.32"
    ds = _diagnosed("onnxruntime", profile="all")
    _explained_by_profiles(ds, _profile_models({"rne": "onnxruntime-1.32:up",
                                                "e8m0-nearest": "onnxruntime-1.32:nearest",
                                                "e8m0-down": "onnxruntime-1.32:down"}))
def test_quark():
    pytest.importorskip("quark")
    assert finding("amd-quark", "diagnosis") == "quark_0.13"
    ds = _diagnosed("quark", profile="all")
    assert {k[2] for k in ds} == {"mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp4_e2m1", "mxint8"}
    for key, d in ds.items():
        want = {"scale_even_mbits=8", "scale_int8_quantum_min_normal"} if key[2] == "mxint8" else {"scale_even_inf_clamp"}
        assert d.explained == d.mismatch and d.ref_kept == d.ref_n, (key, d.text())
        assert d.best.scale_rule == "even" and set(d.best.changes) == want, (key, d.text())
