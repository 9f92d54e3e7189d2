"""E8M0 encode (MX §5.4.1): fast == exact reference over boundary values and Hypothesis;
known answers from the definition 2^(c-127)."""

import math
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, strategies as st

import mxref
from mxref import reference

MODES = list(mxref.E8M0_ROUNDING_MODES)


def _boundaries():
    pts = set()
    for k in range(-131, 131):
        for m in (1.0, 1.25, 1.5, 1.75):
            v = math.ldexp(m, k)
            pts |= {v, math.nextafter(v, 0), math.nextafter(v, math.inf)}
            for dt in (np.float32,):
                with np.errstate(over="ignore"):
                    w = dt(v)
                if np.isfinite(w) and w > 0:
                    pts |= {float(np.nextafter(w, dt(0))), float(np.nextafter(w, dt(np.inf)))}
    pts |= {5e-324, 2.0**-149, 1e-45, 1e300, math.inf, float(np.finfo(np.float32).max)}
    return sorted(p for p in pts if p > 0)


B = _boundaries()


@pytest.mark.parametrize("rounding", MODES)
@pytest.mark.parametrize("overflow", ["saturate", "nonsaturating"])
def test_boundaries_fast_equals_exact(rounding, overflow):
    x = np.array(B + [math.nan])
    fast = mxref.encode_e8m0(x, rounding=rounding, overflow=overflow)
    for v, c in zip(x.tolist(), fast.tolist()):
        assert c == reference.encode_e8m0_scalar(v, rounding=rounding, overflow=overflow), (v, rounding)


@given(st.lists(st.floats(min_value=0, exclude_min=True, allow_nan=False, width=64) |
                st.floats(min_value=0, exclude_min=True, allow_nan=False, width=32), min_size=1, max_size=20),
       st.sampled_from(MODES), st.sampled_from(["saturate", "nonsaturating"]))
def test_random_fast_equals_exact(values, rounding, overflow):
    fast = mxref.encode_e8m0(np.array(values), rounding=rounding, overflow=overflow)
    for v, c in zip(values, fast.tolist()):
        assert c == reference.encode_e8m0_scalar(v, rounding=rounding, overflow=overflow)


def test_known_answers():
    e = lambda v, r: int(mxref.encode_e8m0(np.array([v]), rounding=r)[0])
    assert e(1.0, "floor") == 127 and e(1.0, "ceil") == 127
    assert e(1.9, "floor") == 127 and e(1.1, "ceil") == 128
    assert e(1.5, "rne") == 128  # tie between 2^0 (code 127, odd) and 2^1 (code 128, even)
    assert e(3.0, "rne") == 128  # tie between 2^1 (code 128, even) and 2^2
    assert e(3.0, "ties_up") == 129
    assert e(1.4, "rne") == 127 and e(1.6, "rne") == 128
    assert e(2.0**-127, "floor") == 0 and e(2.0**-130, "ceil") == 0  # clamps at the bottom
    assert e(2.0**127, "ceil") == 254 and e(1.5 * 2.0**127, "ceil") == 254  # saturates
    assert mxref.encode_e8m0(np.array([1.5 * 2.0**127]), rounding="ceil", overflow="nonsaturating")[0] == 0xFF
    assert mxref.encode_e8m0(np.array([np.inf, np.nan])).tolist() == [0xFE, 0xFF]
    assert mxref.encode_e8m0(np.array([np.inf]), overflow="nonsaturating")[0] == 0xFF
    # round trip of every finite code under every mode
    vals = mxref.decode(np.arange(255), "e8m0", dtype=np.float64)
    for r in MODES:
        assert (mxref.encode_e8m0(vals, rounding=r) == np.arange(255)).all()


@pytest.mark.parametrize("bad", [0.0, -0.0, -1.0, -np.inf])
def test_non_positive_raises(bad):
    with pytest.raises(ValueError, match="positive"):
        mxref.encode_e8m0(np.array([1.0, bad]))


def test_bad_options():
    with pytest.raises(ValueError, match="rounding"):
        mxref.encode_e8m0(np.array([1.0]), rounding="rtz")
    with pytest.raises(ValueError, match="overflow"):
        mxref.encode_e8m0(np.array([1.0]), overflow="nan")
    with pytest.raises(TypeError, match="floating"):
        mxref.encode_e8m0(np.array([1]))
