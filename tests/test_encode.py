"""encode: Hypothesis on float32 and float64 with the nasty values drawn often, fast == exact
reference; known answers typed from OFP8 Table 3 and MX §6.3; options and bad input."""

import math
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, note, settings, strategies as st

import mxref
from mxref import reference
from helpers import ELEMENTS, ROUNDINGS, overflows
from spec_tables import SPEC


def _nasty_values(name):
    """Boundary table: every value, every midpoint (incl. the one above max), +-1 ulp of float32
    and float64 around each, min/max subnormal/normal, overflow thresholds, specials."""
    f = mxref.element_format(name)
    vals = sorted({float(v) for v in mxref.decode(np.arange(f.num_codes), name, np.float64)
                   if np.isfinite(v) and v >= 0})
    step_top = vals[-1] - vals[-2]
    ext = vals + [vals[-1] + step_top, vals[-1] + 2 * step_top]
    mids = [(a + b) / 2 for a, b in zip(ext, ext[1:])]
    out = set(ext) | set(mids)
    for v in list(out):
        for dt in (np.float32, np.float64):
            out.add(float(np.nextafter(dt(v), dt(np.inf))))
            out.add(float(np.nextafter(dt(v), dt(0))))
    out |= {464.0, 61440.0, 57344.0 + 4096.0, 2.0**-149, 2.0**-126, 2.0**-1074, 1e-40, 3.4e38,
            float(np.finfo(np.float32).max), 1e300}
    return sorted(out)


NASTY = {n: _nasty_values(n) for n in ELEMENTS}
SPECIALS = [math.nan, -math.nan, math.inf, -math.inf, 0.0, -0.0]


def _one_value(name, width):
    return st.one_of(
        st.sampled_from(NASTY[name]).map(float),
        st.sampled_from(NASTY[name]).map(float),  # drawn often
        st.sampled_from(SPECIALS),
        st.floats(width=width, allow_nan=True, allow_infinity=True),
        st.floats(min_value=-1024.0, max_value=1024.0, width=width),
    )


def _times_sign(t):
    return t[0] * t[1]


# the list-of-values strategy of each (format, width), built once rather than in every draw (the
# same strategies drawn in the same order: the same examples under the derandomized ci profile)
_SIGNS = st.sampled_from([1.0, -1.0])
_VALUES = {(name, width): st.lists(st.tuples(_one_value(name, width), _SIGNS).map(_times_sign), min_size=1, max_size=24)
           for name in ELEMENTS for width in (32, 64)}


@st.composite
def cases(draw):
    name = draw(st.sampled_from(ELEMENTS))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    width = 32 if dtype == np.float32 else 64
    xs = draw(_VALUES[name, width])
    with np.errstate(over="ignore"):  # large float64 draws become +-Inf in float32: still a case
        x = np.array(xs, dtype=np.float64).astype(dtype)
    rounding = draw(st.sampled_from(ROUNDINGS))
    overflow = draw(st.sampled_from(overflows(name)))
    nan = draw(st.sampled_from(["zero", "max"]))
    allow = draw(st.booleans())
    kw = dict(rounding=rounding, overflow=overflow, nan=nan, int8_allow_minus128=allow)
    rb = None
    if rounding == "stochastic":
        n = draw(st.sampled_from([1, 2, 7, 8, 16, 23, 31, 32]))
        rb = np.array(draw(st.lists(st.integers(0, (1 << n) - 1), min_size=len(xs), max_size=len(xs))),
                      dtype=np.uint64)
        kw["random_bit_count"] = n
    return name, x, kw, rb


def _check(name, x, kw, rb):
    fast = mxref.encode(x, name, random_bits=rb, **kw)
    for i, v in enumerate(x.tolist()):
        k = dict(kw)
        if rb is not None:
            k["random_bits"] = int(rb[i])
        want = reference.encode_scalar(float(v), name, **k)
        assert fast[i] == want, f"{name} {kw} x={float(v).hex()}: fast 0x{fast[i]:02X}, exact 0x{want:02X}"


@settings(max_examples=settings().max_examples * 4)  # the main property: 4x the profile's count
@given(cases())
def test_fast_equals_exact_float32_float64(case):
    name, x, kw, rb = case
    note(f"{name} {x.dtype} {x.tolist()} {kw}")
    _check(name, x, kw, rb)


@given(st.sampled_from(ELEMENTS), st.floats(allow_nan=False, width=64), st.integers(-40, 40))
def test_fast_equals_exact_scaled(name, v, k):
    """float64 values spread over every binade near the format's range (x = v * 2^k)."""
    x = np.array([math.ldexp(math.frexp(v)[0], k)]) if v else np.array([v])
    for rounding in ["rne", "ties_away", "toward_zero", "up", "down"]:
        _check(name, x, dict(rounding=rounding, overflow="saturate", nan="zero"), None)


# ----- known answers (typed from the documents, not from mxref) --------------------------------

@pytest.mark.parametrize(
    "name, x, overflow, code",
    [
        # OFP8 Table 3 and its thresholds under RNE
        ("fp8_e4m3", 448.0, "saturate", 0x7E),
        ("fp8_e4m3", 464.0, "nonsaturating", 0x7E),  # the tie between 448 and 480 goes to 448
        ("fp8_e4m3", 464.00001, "nonsaturating", 0x7F),  # above it overflows to NaN
        ("fp8_e4m3", 464.00001, "saturate", 0x7E),
        ("fp8_e4m3", math.inf, "saturate", 0x7E),
        ("fp8_e4m3", -math.inf, "saturate", 0xFE),
        ("fp8_e4m3", math.inf, "nonsaturating", 0x7F),
        ("fp8_e4m3", -1e6, "nonsaturating", 0xFF),
        ("fp8_e4m3", 2.0**-10, "saturate", 0x00),  # half the min subnormal ties to 0
        ("fp8_e4m3", -2.0**-10, "saturate", 0x80),  # keeps its sign
        ("fp8_e4m3", 1.5 * 2.0**-10, "saturate", 0x01),
        ("fp8_e5m2", 57344.0, "nonsaturating", 0x7B),
        ("fp8_e5m2", 61439.99, "nonsaturating", 0x7B),
        ("fp8_e5m2", 61440.0, "nonsaturating", 0x7C),  # the tie goes to the even 65536: Inf
        ("fp8_e5m2", 61440.0, "saturate", 0x7B),
        ("fp8_e5m2", -math.inf, "nonsaturating", 0xFC),
        ("fp8_e5m2", -math.inf, "saturate", 0xFB),
        ("fp8_e5m2", 2.0**-17, "saturate", 0x00),
        ("fp6_e2m3", 7.75, "saturate", 0x1F),
        ("fp6_e2m3", 100.0, "saturate", 0x1F),
        ("fp6_e3m2", 30.0, "saturate", 0x1F),
        ("fp6_e3m2", -math.inf, "saturate", 0x3F),
        ("fp4_e2m1", 5.0, "saturate", 0x6),  # tie between 4 (even) and 6
        ("fp4_e2m1", 0.25, "saturate", 0x0),
        ("fp4_e2m1", 0.75, "saturate", 0x2),  # tie between 0.5 and 1.0 goes to 1.0 (even)
        ("fp4_e2m1", -2.5, "saturate", 0xC),  # tie between -2 (even) and -3
        ("int8", 1.0, "saturate", 0x40),
        ("int8", -1.0, "saturate", 0xC0),
        ("int8", 1.5 / 64, "saturate", 0x02),  # tie 1.5 -> 2
        ("int8", 2.5 / 64, "saturate", 0x02),  # tie 2.5 -> 2
        ("int8", -0.0, "saturate", 0x00),  # no -0 in two's complement
        ("int8", -2.0, "saturate", 0x81),  # -128 not produced by default
        ("int8", 3.0, "saturate", 0x7F),
    ],
)
def test_known_answers(name, x, overflow, code):
    assert mxref.encode(np.array([x]), name, overflow=overflow)[0] == code
    assert reference.encode_scalar(x, name, overflow=overflow) == code


def test_directed_rounding_known_answers():
    e = lambda x, r, o="saturate": int(mxref.encode(np.array([x]), "fp8_e4m3", rounding=r, overflow=o)[0])
    assert e(1.0 + 2**-5, "rne") == 0x38 and e(1.0 + 2**-5, "up") == 0x39  # 1 + 1/32 between 1 and 1.125
    assert e(1.0 + 2**-4, "ties_away") == 0x39 and e(1.0 + 2**-4, "rne") == 0x38
    assert e(-1.0 - 2**-5, "down") == 0xB9 and e(-1.0 - 2**-5, "up") == 0xB8
    assert e(-1.0 - 2**-5, "toward_zero") == 0xB8
    # IEEE 754 §7.4 overflow under directed rounding, non-saturating
    assert e(500.0, "toward_zero", "nonsaturating") == 0x7E
    assert e(500.0, "down", "nonsaturating") == 0x7E
    assert e(450.0, "up", "nonsaturating") == 0x7F
    assert e(-450.0, "up", "nonsaturating") == 0xFE
    assert e(-450.0, "down", "nonsaturating") == 0xFF
    assert e(math.inf, "toward_zero", "nonsaturating") == 0x7F  # Inf is not an overflow: NaN for E4M3


def test_int8_minus128_option():
    x = np.array([-2.0, -1.995, -5.0, 2.0])  # -1.995 * 64 = -127.68 rounds to -128
    assert mxref.encode(x, "int8").tolist() == [0x81, 0x81, 0x81, 0x7F]
    assert mxref.encode(x, "int8", int8_allow_minus128=True).tolist() == [0x80, 0x80, 0x80, 0x7F]


def test_nan_policies():
    x = np.array([np.nan, -np.nan, 1.0])
    assert mxref.encode(x, "fp8_e4m3").tolist() == [0x7F, 0xFF, 0x38]
    assert mxref.encode(x, "fp8_e5m2").tolist() == [0x7E, 0xFE, 0x3C]
    for name in ["fp6_e2m3", "fp6_e3m2", "fp4_e2m1", "int8"]:
        with pytest.raises(ValueError, match="NaN"):
            mxref.encode(x, name)
        f = mxref.element_format(name)
        assert mxref.encode(x, name, nan="zero")[:2].tolist() == [0, 0]
        assert mxref.encode(x, name, nan="max")[:2].tolist() == [f.code_of_max] * 2


def test_stochastic_rule():
    """1 + 3/4 quantum above 1.0 in FP4 (quantum 0.5 at 1.0): f = 3/4 rounds up iff R + 3*2^(n-2) >= 2^n."""
    x = np.full(4, 1.375)
    got = mxref.encode(x, "fp4_e2m1", rounding="stochastic", random_bits=np.arange(4), random_bit_count=2)
    assert got.tolist() == [0x2, 0x3, 0x3, 0x3]  # R = 0 stays at 1.0; R >= 1 goes to 1.5
    exact = np.full(4, 1.5)  # representable: never moves
    assert mxref.encode(exact, "fp4", rounding="stochastic", random_bits=np.full(4, 3), random_bit_count=2).tolist() == [3] * 4
    # probability of rounding up equals the fraction, over all 2^n random values
    for frac in [F(1, 8), F(3, 8), F(5, 8)]:
        v = float(1 + frac / 2)  # fraction of the 0.5 quantum
        n = 3
        ups = mxref.encode(np.full(8, v), "fp4", rounding="stochastic", random_bits=np.arange(8), random_bit_count=n)
        assert F(int((ups == 3).sum()), 8) == frac


def test_signed_zero_kept():
    x = np.array([-0.0, -1e-30, 0.0, 1e-30])
    for name in ["fp8_e4m3", "fp8_e5m2", "fp6_e2m3", "fp6_e3m2", "fp4_e2m1"]:
        nz = SPEC[name]["neg_zero"]
        assert mxref.encode(x, name).tolist() == [nz, nz, 0, 0]
    assert mxref.encode(x, "int8").tolist() == [0, 0, 0, 0]


def test_float64_not_rounded_through_float32():
    """1 + 2^-4 + 2^-40 is above the E4M3 tie at 1 + 2^-4; via float32 it would be the tie itself."""
    v = 1.0 + 2.0**-4 + 2.0**-40
    assert np.float32(v) == 1.0 + 2.0**-4
    assert mxref.encode(np.array([v]), "fp8_e4m3")[0] == 0x39
    assert mxref.encode(np.array([v], np.float32), "fp8_e4m3")[0] == 0x38


# ----- options and bad input --------------------------------------------------------------------

def test_bad_options_raise_naming_the_argument():
    x = np.array([1.0])
    with pytest.raises(ValueError, match="rounding"):
        mxref.encode(x, "fp8_e4m3", rounding="nearest")
    with pytest.raises(ValueError, match="overflow"):
        mxref.encode(x, "fp8_e4m3", overflow="clip")
    with pytest.raises(ValueError, match="nonsaturating"):
        mxref.encode(x, "fp4_e2m1", overflow="nonsaturating")
    with pytest.raises(ValueError, match="nan"):
        mxref.encode(x, "fp4_e2m1", nan="ignore")
    with pytest.raises(ValueError, match="random_bits"):
        mxref.encode(x, "fp4_e2m1", rounding="stochastic")
    with pytest.raises(ValueError, match="random_bits"):
        mxref.encode(x, "fp4_e2m1", random_bits=np.array([1]), random_bit_count=4)
    with pytest.raises(ValueError, match="random_bit_count"):
        mxref.encode(x, "fp4_e2m1", rounding="stochastic", random_bits=np.array([1]), random_bit_count=33)
    with pytest.raises(ValueError, match=r"\[0, 2\*\*4\)"):
        mxref.encode(x, "fp4_e2m1", rounding="stochastic", random_bits=np.array([16]), random_bit_count=4)
    with pytest.raises(TypeError, match="random_bits"):
        mxref.encode(x, "fp4_e2m1", rounding="stochastic", random_bits=np.array([0.5]), random_bit_count=4)
    with pytest.raises(ValueError, match="broadcast"):
        mxref.encode(x, "fp4_e2m1", rounding="stochastic", random_bits=np.array([1, 2]), random_bit_count=4)
    with pytest.raises(ValueError, match="encode_e8m0"):
        mxref.encode(x, "e8m0")
    with pytest.raises(TypeError, match="int8_allow_minus128"):
        mxref.encode(x, "int8", int8_allow_minus128="yes")


@pytest.mark.parametrize("bad", [np.array([1, 2], dtype=np.uint8), np.array([1], dtype=np.int64),
                                 np.array([True]), np.array([1 + 1j]), np.array(["1.0"]),
                                 np.array([1.0], dtype=np.longdouble)])
def test_bad_input_dtypes_raise(bad):
    if bad.dtype == np.longdouble and np.dtype(np.longdouble) == np.float64:
        pytest.skip("longdouble is float64 here")
    with pytest.raises(TypeError, match="floating"):
        mxref.encode(bad, "fp8_e4m3")


def test_shapes_scalars_and_input_untouched():
    x = np.array([[1.0, -2.0], [np.inf, 0.5]], dtype=np.float32)
    before = x.copy()
    out = mxref.encode(x, "fp8_e5m2")
    assert out.shape == (2, 2) and out.dtype == np.uint8
    assert np.array_equal(x, before)
    assert mxref.encode(1.5, "fp4").shape == () and int(mxref.encode(1.5, "fp4")) == 3
    assert mxref.encode([1.5, 6.0], "fp4").tolist() == [3, 7]
    assert mxref.encode(np.zeros((0, 3)), "fp4").shape == (0, 3)
    # non-contiguous views
    big = np.arange(40, dtype=np.float64).reshape(5, 8) / 8
    assert np.array_equal(mxref.encode(big[:, ::3], "fp8_e4m3"), mxref.encode(big[:, ::3].copy(), "fp8_e4m3"))


def test_large_arrays_cross_chunks():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(200_000).astype(np.float32) * 100
    out = mxref.encode(x, "fp8_e4m3")
    idx = rng.integers(0, x.size, 300)
    for i in idx:
        assert out[i] == reference.encode_scalar(float(x[i]), "fp8_e4m3")
