"""mxref.testing: every assertion passes on mxref's own outputs and fails on planted faults
(ties away, nibble swap, scale off by one, swizzle error, NaN handling) with the checker's block
line in the message; bad arguments are TypeError / ValueError; inputs are never modified."""

import importlib.util

import numpy as np
import pytest

import mxref
from mxref.conformance import parse_line
from mxref.testing import (assert_dequantize_equal, assert_encode_equal, assert_matmul_equal, assert_nvfp4_equal,
                           assert_quantize_equal, compare_quantize)

HAVE_DIAG = importlib.util.find_spec("mxref.conformance.diagnose") is not None


def _x(shape=(4, 64), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    x[:, 0] = 4.0      # amax 4: FP8 E4M3 scale 2^-6, FP4 scale 2^0
    x[:, 5] = 1.0625   # an E4M3 tie between 1.0 and 1.125 (RNE: 1.0)
    x[:, 9] = 1.25     # an E2M1 tie between 1.0 and 1.5 (RNE: 1.0)
    return x


def _impl(fmt, **kw):
    def impl(a):
        m = mxref.quantize(a, fmt, **kw)
        return m.scales, m.elements
    return impl


def _message(excinfo) -> str:
    msg = str(excinfo.value)
    assert "MISMATCH quantize" in msg or "MISMATCH" in msg
    assert ("diagnosis" in msg)
    if not HAVE_DIAG:
        assert "diagnosis unavailable" in msg
    return msg


def _lines(msg):
    return [parse_line(ln.strip()) for ln in msg.splitlines() if ln.strip().startswith("MISMATCH ")]


@pytest.mark.parametrize("fmt", ["mxfp8_e4m3", "mxfp4_e2m1", "mxfp6_e3m2", "mxint8"])
def test_passes_on_mxrefs_own_output(fmt):
    x = _x()
    before = x.copy()
    mx = mxref.quantize(x, fmt)
    assert_quantize_equal(x, mx.scales, mx.elements, fmt, values=mx.dequantize())
    assert_dequantize_equal(mx.scales, mx.elements, mx.dequantize(), fmt)
    r = compare_quantize(x, mx.scales, mx.elements, fmt)
    assert r.ok and r.counts["pass"] == r.cases == 8 and r.lines == []
    assert np.array_equal(x, before)


@pytest.mark.parametrize("fmt", ["mxfp8_e4m3", "mxfp4_e2m1"])
def test_ties_away_fails_with_the_shrunk_block(fmt):
    x = _x()
    bad = mxref.quantize(x, fmt, rounding="ties_away")
    with pytest.raises(AssertionError) as ei:
        assert_quantize_equal(x, bad.scales, bad.elements, fmt, impl=_impl(fmt, rounding="ties_away"))
    msg = _message(ei)
    assert "4 of 8 blocks differ" in msg
    ls = _lines(msg)
    assert ls and all(f["format"] == fmt and f["block_len"] == "32" for f in ls)
    assert "shrunk from" in msg and "31 zeros" in msg  # one tie is enough
    # the diagnosis names the cause: the spec's scale rule with ties away from zero
    assert "diagnosis: 4 of 4 mismatching blocks reproduced by floor + rounding=ties_away" in msg
    # without impl= the block is shown as found, and the message says how to shrink it
    r = compare_quantize(x, bad.scales, bad.elements, fmt)
    assert not r.ok and "give impl=" in str(r)


def test_nibble_swap_fails():
    x = _x()
    mx = mxref.quantize(x, "mxfp4_e2m1")
    good = mxref.pack_elements(mx.elements, "fp4_e2m1")
    assert_quantize_equal(x, mx.scales, good, "mxfp4_e2m1", packing="fp4_low_first")
    swapped = mxref.pack_elements(mx.elements, "fp4_e2m1", order="high_first")
    with pytest.raises(AssertionError) as ei:
        assert_quantize_equal(x, mx.scales, swapped, "mxfp4_e2m1", packing="fp4_low_first")
    assert "8 of 8 blocks differ" in _message(ei)
    assert_quantize_equal(x, mx.scales, swapped, "mxfp4_e2m1", packing="fp4_high_first")


def test_scale_off_by_one_fails():
    x = _x()
    mx = mxref.quantize(x, "mxfp8_e4m3")
    s = mx.scales.copy()
    s[1, 0] += 1
    with pytest.raises(AssertionError) as ei:
        assert_quantize_equal(x, s, mx.elements, "mxfp8_e4m3")
    msg = _message(ei)
    assert "1 of 8 blocks differ" in msg and "scale got 0x7A(2^-5) expected 0x79(2^-6)" in msg
    assert "diagnosis: 1 of 1 mismatching blocks reproduced by" in msg  # a one-off scale: some model


def test_diagnosis_names_a_constant_scale_offset():
    # every scale two codes low (the bias-125 storage bug) is diagnosed as scale_code_offset=-2
    x = _x()
    mx = mxref.quantize(x, "mxfp8_e4m3")
    with pytest.raises(AssertionError) as ei:
        assert_quantize_equal(x, mx.scales - np.uint8(2), mx.elements, "mxfp8_e4m3")
    msg = _message(ei)
    assert "8 of 8 blocks differ" in msg and "scale_code_offset=-2" in msg
    d = compare_quantize(x, mx.scales - np.uint8(2), mx.elements, "mxfp8_e4m3").diagnosis
    assert "8 of 8 mismatching blocks reproduced" in str(d)


def test_swizzle_error_fails():
    x = _x((130, 64))
    mx = mxref.quantize(x, "mxfp8_e5m2")
    sw = mxref.swizzle_scales(mx.scales)
    assert_quantize_equal(x, sw, mx.elements, "mxfp8_e5m2", scale_layout="cublas")
    bad = sw.copy()
    bad[[16, 20]] = bad[[20, 16]]  # two rows' scales exchanged: a tile-index slip
    if np.array_equal(bad, sw):
        bad[16] ^= 1
    with pytest.raises(AssertionError) as ei:
        assert_quantize_equal(x, bad, mx.elements, "mxfp8_e5m2", scale_layout="cublas")
    assert "scale got" in _message(ei)
    with pytest.raises(ValueError, match="cublas"):
        assert_quantize_equal(x, sw[:-1], mx.elements, "mxfp8_e5m2", scale_layout="cublas")


def test_nan_handling_fails():
    x = _x()
    x[2, 40] = np.nan
    mx = mxref.quantize(x, "mxfp8_e4m3")
    assert_quantize_equal(x, mx.scales, mx.elements, "mxfp8_e4m3")
    # a kernel that ignores NaN for the scale and writes the block's codes from NaN-free data
    clean = np.where(np.isnan(x), 0, x)
    bad = mxref.quantize(clean, "mxfp8_e4m3")

    def impl(a):
        m = mxref.quantize(np.where(np.isnan(a), 0, a), "mxfp8_e4m3")
        return m.scales, m.elements
    with pytest.raises(AssertionError) as ei:
        assert_quantize_equal(x, bad.scales, bad.elements, "mxfp8_e4m3", impl=impl)
    msg = _message(ei)
    assert "1 of 8 blocks differ" in msg and "nan" in msg and "expected 0xFF(NaN)" in msg
    # element codes under a NaN scale are open (IMPL_DEFINED); strict refuses them
    e = mx.elements.copy()
    e[2, 41] ^= 1
    r = compare_quantize(x, mx.scales, e, "mxfp8_e4m3")
    assert r.ok and r.counts["impl-defined"] == 1 and "nan_scale_elements" in str(r)
    assert not compare_quantize(x, mx.scales, e, "mxfp8_e4m3", strict=True).ok


def test_encode_and_nvfp4_and_matmul():
    x = np.array([1.0625, -1.0625, 3.0, np.nan, 1e9], np.float32)
    c = mxref.encode(x, "fp8_e4m3")
    assert_encode_equal(x, c, "fp8_e4m3")
    with pytest.raises(AssertionError) as ei:
        assert_encode_equal(x, mxref.encode(x, "fp8_e4m3", rounding="ties_away"), "fp8_e4m3")
    assert "2 of 5 values differ" in str(ei.value) and "MISMATCH encode fp8_e4m3" in str(ei.value)
    xn = _x((2, 32))
    nv = mxref.ext.quantize_nvfp4(xn)
    assert_nvfp4_equal(xn, nv.scales, nv.elements)
    e = nv.elements.copy()
    e[0, 3] ^= 1
    with pytest.raises(AssertionError, match="MISMATCH quantize nvfp4"):
        assert_nvfp4_equal(xn, nv.scales, e)
    a = mxref.quantize(_x((4, 64)), "mxfp8_e4m3", axis=1)
    b = mxref.quantize(_x((3, 64), 1).T.copy(), "mxfp4_e2m1", axis=0)
    C = mxref.matmul(a, b)
    assert_matmul_equal(a, b, C)
    assert_matmul_equal((a.scales, a.elements, "mxfp8_e4m3"), b, C)
    C2 = C.copy()
    C2[1, 2] = np.nextafter(C2[1, 2], np.float32(np.inf))
    with pytest.raises(AssertionError, match=r"MISMATCH matmul mxfp8_e4m3__mxfp4_e2m1 .*\[1,2\]"):
        assert_matmul_equal(a, b, C2)
    v = mxref.quantize(xn, "mxfp6_e2m3")
    d = v.dequantize().copy()
    d[1, 7] = -d[1, 7] if d[1, 7] else 1.0
    with pytest.raises(AssertionError, match="MISMATCH dequantize mxfp6_e2m3"):
        assert_dequantize_equal(v.scales, v.elements, d, "mxfp6_e2m3")


def test_axis_and_ragged():
    x = _x((3, 45)).T.copy()
    mx = mxref.quantize(x, "mxfp8_e4m3", axis=0)
    assert_quantize_equal(x, mx.scales, mx.elements, "mxfp8_e4m3", axis=0)
    e = mx.elements.copy()
    e[40, 1] ^= 1  # the short block of column 1
    r = compare_quantize(x, mx.scales, e, "mxfp8_e4m3", axis=0)
    assert r.counts["mismatch"] == 1 and "in[13]" in r.lines[0]


def test_bad_arguments():
    x = _x()
    mx = mxref.quantize(x, "mxfp8_e4m3")
    with pytest.raises(ValueError, match="unknown"):
        assert_quantize_equal(x, mx.scales, mx.elements, "mxfp9")
    with pytest.raises(ValueError, match="shape"):
        assert_quantize_equal(x, mx.scales[:, :1], mx.elements, "mxfp8_e4m3")
    with pytest.raises(TypeError, match="codes"):
        assert_quantize_equal(x, mx.scales, mx.elements.astype(np.float32), "mxfp8_e4m3")
    with pytest.raises(TypeError, match="floating"):
        assert_quantize_equal(mx.elements, mx.scales, mx.elements, "mxfp8_e4m3")
    with pytest.raises(ValueError):
        assert_quantize_equal(x, mx.scales, mx.elements, "mxfp8_e4m3", rounding="sideways")
    with pytest.raises(ValueError, match="packing"):
        assert_quantize_equal(x, mx.scales, mx.elements, "mxfp8_e4m3", packing="fp4_low_first")
    with pytest.raises(ValueError, match="profile"):
        assert_quantize_equal(x, mx.scales, mx.elements, "mxfp8_e4m3", profile="nolib:floor-rne")
    with pytest.raises(ValueError, match="contradicts"):
        assert_quantize_equal(x, mx.scales, mx.elements, "mxfp8_e4m3", profile="torchao-0.18:floor-rne",
                              scale_rule="ceil")
    with pytest.raises(TypeError, match="impl"):
        assert_quantize_equal(x, mx.scales, mx.elements, "mxfp8_e4m3", impl=3)
    with pytest.raises(ValueError, match="max_lines"):
        compare_quantize(x, mx.scales, mx.elements, "mxfp8_e4m3", max_lines=-1)


def test_known_differences_are_accepted_by_profile_and_version():
    # torchao 0.18 FLOOR at scale code 0: the elements divided by 2^-126 (a known difference)
    x = np.zeros((1, 32), np.float32)
    x[0, 0], x[0, 1] = 448 * 2.0**-135, 3 * 2.0**-135
    mx = mxref.quantize(x, "mxfp8_e4m3")
    assert mx.scales[0, 0] == 0
    e = mxref.encode(np.ldexp(x.astype(np.float64), 126), "fp8_e4m3")
    assert not compare_quantize(x, mx.scales, e, "mxfp8_e4m3").ok
    r = compare_quantize(x, mx.scales, e, "mxfp8_e4m3", profile="torchao-0.18:floor-rne")
    assert r.ok and r.counts["known"] == 1 and "scale0_divides_by_2^-126" not in str(r) and "known" in str(r)
    assert not compare_quantize(x, mx.scales, e, "mxfp8_e4m3", profile="torchao-0.19:floor-rne").ok
    # a new difference under the same profile still fails
    e2 = e.copy()
    e2[0, 1] ^= 1
    assert not compare_quantize(x, mx.scales, e2, "mxfp8_e4m3", profile="torchao-0.18:floor-rne").ok
