"""decode: every code of every format against the spec's formula typed separately and against the
slow reference (MX §5.3, §5.4.1; OFP8 §3)."""

import math
from fractions import Fraction as F

import numpy as np
import pytest

import mxref
from mxref import reference
from spec_tables import FP4_VALUES, SPEC, spec_value

ALL = sorted(SPEC)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_code_matches_spec_formula(name, dtype):
    f = mxref.element_format(name)
    codes = np.arange(f.num_codes, dtype=np.uint8 if f.bits <= 8 else np.int64)
    got = mxref.decode(codes, name, dtype=dtype)
    assert got.dtype == dtype and got.shape == codes.shape
    for c in range(f.num_codes):
        want = spec_value(name, c)
        if c in SPEC[name]["nan"]:
            assert math.isnan(got[c])
            assert math.copysign(1, got[c]) == (-1 if c & f.sign_mask else 1)
        elif c in SPEC[name]["inf"]:
            assert got[c] == (-np.inf if c & 0x80 else np.inf)
        else:
            assert F(float(got[c])) == want, (name, hex(c))
    if SPEC[name]["neg_zero"] is not None:
        z = got[SPEC[name]["neg_zero"]]
        assert z == 0 and math.copysign(1, z) == -1


@pytest.mark.parametrize("name", ALL)
def test_fast_equals_reference_every_code(name):
    f = mxref.element_format(name)
    fast = mxref.decode(np.arange(f.num_codes), name, dtype=np.float64)
    for c in range(f.num_codes):
        r = reference.decode_scalar(c, name)
        assert np.float64(r).tobytes() == fast[c].tobytes() or (math.isnan(r) and math.isnan(fast[c])
                                                                and math.copysign(1, r) == math.copysign(1, fast[c]))


def test_fp4_table():
    got = mxref.decode(np.arange(16, dtype=np.uint8), "fp4_e2m1")
    assert [F(float(v)) for v in got[:8]] == FP4_VALUES
    assert [F(float(v)) for v in got[8:]] == [-v for v in FP4_VALUES]


def test_e8m0_every_code():
    got = mxref.decode(np.arange(256), "e8m0")
    for c in range(255):
        assert F(float(got[c])) == F(2) ** (c - 127)
    assert np.isnan(got[255])
    assert got[0] == np.float32(2.0**-127)  # a float32 subnormal


def test_int8_minus128_decodes():
    assert mxref.decode(np.array([0x80]), "int8")[0] == -2.0


def test_shapes_and_integer_dtypes_kept():
    codes = np.array([[0x7E, 0xFE], [0x00, 0x80]], dtype=np.int32)
    out = mxref.decode(codes, "fp8_e4m3")
    assert out.shape == (2, 2) and out.dtype == np.float32
    assert out.tolist() == [[448.0, -448.0], [0.0, -0.0]]
    assert mxref.decode(np.uint8(0x7E), "fp8_e4m3") == 448.0
    assert mxref.decode([1, 2, 3], "fp4").tolist() == [0.5, 1.0, 1.5]


@pytest.mark.parametrize("name, bad", [("fp4_e2m1", 0x10), ("fp6_e2m3", 0x40), ("fp6_e3m2", 64),
                                       ("fp8_e4m3", 256), ("int8", -1), ("e8m0", 300)])
def test_code_outside_format_raises(name, bad):
    with pytest.raises(ValueError, match="outside"):
        mxref.decode(np.array([0, bad]), name)


@pytest.mark.parametrize("bad", [np.array([1.0]), np.array([True]), np.array(["a"])])
def test_non_integer_codes_raise(bad):
    with pytest.raises(TypeError, match="codes"):
        mxref.decode(bad, "fp8_e4m3")


def test_bad_dtype_and_format():
    with pytest.raises(ValueError, match="dtype"):
        mxref.decode(np.array([1]), "fp8_e4m3", dtype=np.float16)
    with pytest.raises(ValueError, match="known names"):
        mxref.decode(np.array([1]), "fp9")


def test_input_not_modified_and_result_writable():
    codes = np.arange(16, dtype=np.uint8)
    before = codes.copy()
    out = mxref.decode(codes, "fp4")
    out[0] = 5.0  # the result is the caller's, not a view of a cached table
    assert (codes == before).all()
    assert mxref.decode(codes, "fp4")[0] == 0.0
