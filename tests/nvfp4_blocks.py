"""Shared pieces of the NVFP4 Hypothesis strategies (tests/ext/test_nvfp4*.py): the E4M3 and E2M1
magnitudes typed in from OFP8 Table 1 / MX §5.3.3 (not from mxref), and one block's values."""

from fractions import Fraction as F

import numpy as np
from hypothesis import strategies as st
from draws import FRAC as _FRAC, SIGNS as _SIGNS, SPECIAL as _SPECIAL, ZEROS as _ZEROS

E2M1 = [F(0), F(1, 2), F(1), F(3, 2), F(2), F(3), F(4), F(6)]
E4M3 = ([F(m, 8) * F(2) ** -6 for m in range(8)]
        + [(1 + F(m, 8)) * F(2) ** (e - 7) for e in range(1, 16) for m in range(8)])[:127]
assert E4M3[-1] == 448 and E4M3[8] == F(1, 64)

# built once, not in every draw
_E2M1_MIDS = st.sampled_from([(a + b) / 2 for a, b in zip(E2M1, E2M1[1:])])
_DTYPE = st.sampled_from([np.float32, np.float64])


def block_values(draw, kind: str, n: int, amax: float, unit) -> np.ndarray:
    """n values of one block: "elem_mid" puts every element on an E2M1 midpoint times ``unit`` (the
    exact size of one element step at a drawn E4M3 block scale) and element 0 on 6 * unit; "zeros"
    is +-0; otherwise random values below ``amax`` with amax itself somewhere. One time in eight a
    NaN, +-Inf or -0 replaces one value. float32 or float64."""
    if kind == "elem_mid":
        vals = [float(draw(_E2M1_MIDS) * unit) * draw(_SIGNS) for _ in range(n)]
        vals[0] = float(6 * unit)
    elif kind == "zeros":
        vals = [draw(_ZEROS) for _ in range(n)]
    else:
        vals = [amax * draw(_FRAC) * draw(_SIGNS) for _ in range(n - 1)]
        vals.insert(draw(st.integers(0, n - 1)), amax * draw(_SIGNS))
    if draw(st.integers(0, 7)) == 0:
        vals[draw(st.integers(0, n - 1))] = draw(_SPECIAL)
    dtype = draw(_DTYPE)
    with np.errstate(over="ignore", under="ignore"):
        return np.array(vals, np.float64).astype(dtype)
