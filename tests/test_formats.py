"""Format rows: derived constants against the spec's table typed separately (MX §5.3, §5.4.1;
OFP8 Table 1), and the names users type."""

import enum
from fractions import Fraction as F

import ml_dtypes
import numpy as np
import pytest

import mxref
from mxref.formats import Format
from spec_tables import SPEC, spec_value


@pytest.mark.parametrize("name", sorted(SPEC))
def test_derived_constants_match_spec(name):
    s = SPEC[name]
    f = mxref.element_format(name)
    assert f.bits == s["bits"]
    assert f.num_codes == 2 ** s["bits"]
    assert f.exponent_bits == s["ebits"]
    if s["mbits"] is not None:
        assert f.mantissa_bits == s["mbits"]
    if s["bias"] is not None:
        assert f.bias == s["bias"]
    assert f.emax == s["emax"]
    assert F(f.max) == s["max"]
    assert f.code_of_max == s["code_of_max"]
    assert (None if f.smallest_normal is None else F(f.smallest_normal)) == s["min_normal"]
    assert (None if f.smallest_subnormal is None else F(f.smallest_subnormal)) == s["min_subnormal"]
    assert tuple(f.inf_codes) == s["inf"]
    assert tuple(f.nan_codes) == s["nan"]
    assert f.has_inf == bool(s["inf"])
    assert f.has_nan == bool(s["nan"])
    assert f.has_negative_zero == (s["neg_zero"] is not None)
    finite = [c for c in range(2 ** s["bits"]) if c not in s["nan"] and c not in s["inf"]]
    assert f.num_finite == len(finite)
    # max is the largest value of any code; the code of max is where it sits
    vals = [spec_value(name, c) for c in finite]
    assert max(vals) == s["max"]
    assert spec_value(name, s["code_of_max"]) == s["max"]


@pytest.mark.parametrize("name", ["fp8_e4m3", "fp8_e5m2", "fp6_e2m3", "fp6_e3m2", "fp4_e2m1"])
def test_emin_eps_of_floating_formats(name):
    s = SPEC[name]
    f = mxref.element_format(name)
    assert f.emin == 1 - s["bias"]
    assert F(f.eps) == F(1, 2 ** s["mbits"])  # next after 1.0 is 1 + 2^-m
    assert F(f.smallest_normal) == F(2) ** f.emin


def test_e8m0_range():
    f = mxref.e8m0
    assert F(f.smallest_normal) == F(1, 2**127) and F(f.max) == F(2) ** 127
    assert f.emin == -127 and f.emax == 127
    assert not f.signed and not f.has_negative_zero
    assert f.nan_codes == (0xFF,)
    assert F(f.eps) == 1  # next after 1 is 2


def test_int8_quantum_and_range():
    f = mxref.int8
    assert F(f.eps) == F(1, 64) and f.scale_exponent == -6
    assert F(f.min) == -F(127, 64)  # symmetric by default; 0x80 (-2) is decodable but unused


def test_e4m3_nan_only_e5m2_ieee():
    assert mxref.fp8_e4m3.nonfinite == "nan_only" and mxref.fp8_e4m3.nan_encoding == "all_ones"
    assert mxref.fp8_e5m2.nonfinite == "ieee"
    for n in ("fp6_e2m3", "fp6_e3m2", "fp4_e2m1", "int8"):
        assert mxref.element_format(n).nonfinite == "finite"


def test_reference_rows_float32_bfloat16_float16():
    """The wider IEEE rows derive numpy's own finfo constants."""
    import ml_dtypes

    rows = mxref.FORMATS
    for name, fi in [("float32", np.finfo(np.float32)), ("float16", np.finfo(np.float16)),
                     ("bfloat16", ml_dtypes.finfo(ml_dtypes.bfloat16))]:
        f = rows[name]
        assert f.max == float(fi.max)
        assert f.smallest_normal == float(fi.smallest_normal)
        assert f.smallest_subnormal == float(fi.smallest_subnormal)
        assert f.eps == float(fi.eps)
        assert f.emax == fi.maxexp - 1 and f.emin == fi.minexp


@pytest.mark.parametrize(
    "alias, name",
    [
        ("fp8_e4m3", "fp8_e4m3"), ("FP8_E4M3", "fp8_e4m3"), ("float8_e4m3fn", "fp8_e4m3"),
        ("float8_e5m2", "fp8_e5m2"), ("float6_e2m3fn", "fp6_e2m3"), ("float6_e3m2fn", "fp6_e3m2"),
        ("float4_e2m1fn", "fp4_e2m1"), ("float8_e8m0fnu", "e8m0"),
        ("torch.float8_e4m3fn", "fp8_e4m3"), ("torch.float8_e5m2", "fp8_e5m2"),
        ("torch.float8_e8m0fnu", "e8m0"),
        ("fp4", "fp4_e2m1"), ("fp4_e2m1", "fp4_e2m1"), ("int8", "int8"), ("fp6_e3m2", "fp6_e3m2"),
        ("ocp_e4m3", "fp8_e4m3"), ("ocp_int8", "int8"), ("e8m0", "e8m0"),
        (ml_dtypes.float8_e4m3fn, "fp8_e4m3"), (np.dtype(ml_dtypes.float4_e2m1fn), "fp4_e2m1"),
        (ml_dtypes.float8_e8m0fnu, "e8m0"), (ml_dtypes.float6_e3m2fn, "fp6_e3m2"),
    ],
)
def test_aliases(alias, name):
    assert mxref.element_format(alias) is mxref.ELEMENT_FORMATS[name]


def test_enum_names_as_microxcaling_elemformat():
    class ElemFormat(enum.Enum):  # the shape of microxcaling's enum
        int8 = 1
        fp8_e4m3 = 5
        fp4 = 8

    assert mxref.element_format(ElemFormat.fp8_e4m3) is mxref.fp8_e4m3
    assert mxref.element_format(ElemFormat.fp4) is mxref.fp4_e2m1
    assert mxref.element_format(ElemFormat.int8) is mxref.int8


def test_torch_dtype_objects():
    torch = pytest.importorskip("torch")
    assert mxref.element_format(torch.float8_e4m3fn) is mxref.fp8_e4m3
    assert mxref.element_format(torch.float8_e5m2) is mxref.fp8_e5m2


def test_gfloat_formatinfo_objects():
    gfloat = pytest.importorskip("gfloat")
    from gfloat.formats import format_info_ocp_e2m3, format_info_ocp_e8m0

    assert mxref.element_format(format_info_ocp_e2m3) is mxref.fp6_e2m3
    assert mxref.element_format(format_info_ocp_e8m0) is mxref.e8m0


@pytest.mark.parametrize("bad", ["fp8", "float8_e4m3b11fnuz", "float32", np.float32, 3, None, "int3"])
def test_unknown_names_raise_listing_known(bad):
    with pytest.raises(ValueError) as ei:
        mxref.element_format(bad)
    msg = str(ei.value)
    assert "known names" in msg and "fp8_e4m3" in msg and "float4_e2m1fn" in msg


def test_format_rows_are_frozen_and_validated():
    with pytest.raises(Exception):
        mxref.fp8_e4m3.bias = 8
    with pytest.raises(ValueError, match="nan_encoding"):
        Format("x", 8, 4, 3, 7, "nan_only", "ieee")
    with pytest.raises(ValueError, match="bits"):
        Format("x", 8, 4, 4, 7, "finite", None)
    with pytest.raises(ValueError, match="nonfinite"):
        Format("x", 8, 4, 3, 7, "weird", None)
    with pytest.raises(ValueError, match="8 bits"):
        mxref.element_format(mxref.FORMATS["float32"])


def test_has_zero_marks_the_scale_format():
    assert not mxref.e8m0.has_zero
    assert all(mxref.element_format(n).has_zero for n in SPEC if n != "e8m0")
    with pytest.raises(ValueError, match="encode_e8m0"):
        mxref.encode([1.0], mxref.e8m0)
    with pytest.raises(ValueError, match="encode_e8m0"):
        mxref.reference.encode_scalar(1.0, "e8m0")
