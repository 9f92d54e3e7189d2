"""NVFP4 with a reciprocal per-tensor (global) scale G = 1 / P, compressed-tensors' form
(mxref/ext/nvfp4.py ``per_tensor_scale_form="reciprocal"``), and the ``scale_clamp="zero_to_0.125"``
option: fast == exact Fraction block reference (mxref.ext.reference) on Hypothesis blocks placed
at the scale and element boundaries of S = E4M3(amax G / 6); dequantization S e / G checked
against Fractions; known answers worked by hand."""

import math
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, note, strategies as st

from mxref.ext.nvfp4 import NVFP4_INF_POLICIES, NVFP4_SCALE_CLAMPS, nvfp4_per_tensor_scale, quantize_nvfp4
from mxref.ext.reference import f32_scalar, nvfp4_block_scalar, nvfp4_per_tensor_scale_scalar
from mxref.reference import decode_exact
from nvfp4_blocks import E4M3, block_values  # typed in from OFP8 Table 1 / MX §5.3.3

R = dict(per_tensor_scale_form="reciprocal")



def _rounds_to(d, v):
    """d (a float) is the float32 rounding of the exact v (+-Inf past the range)."""
    r = f32_scalar(v)
    return d == r if isinstance(r, float) else (math.isfinite(d) and F(d) == r)


@st.composite
def reciprocal_inputs(draw):
    n = draw(st.integers(1, 40))
    g = float(np.float32(math.ldexp(draw(st.floats(1.0, 2.0, exclude_max=True)), draw(st.integers(-30, 40)))))
    kind = draw(st.sampled_from(["random", "scale_mid", "elem_mid", "tiny", "zeros"]))
    gg = F(g)
    if kind == "scale_mid":  # amax G / 6 at an E4M3 midpoint (+- an ulp)
        i = draw(st.integers(0, 125))
        amax = float(6 * (E4M3[i] + E4M3[i + 1]) / 2 / gg)
        amax = draw(st.sampled_from([amax, math.nextafter(amax, 0), math.nextafter(amax, math.inf)]))
    elif kind == "tiny":  # amax G / 6 around 2^-10 (a zero scale)
        amax = float(6 * F(2) ** -10 / gg) * draw(st.floats(0.25, 2.0))
    else:
        amax = math.ldexp(draw(st.floats(1.0, 2.0)), draw(st.integers(-20, 20))) / g
    unit = (E4M3[draw(st.integers(1, 126))]) / gg if kind == "elem_mid" else None
    x = block_values(draw, kind, n, amax, unit)
    return x, draw(st.sampled_from([g, "amax"]))


@given(reciprocal_inputs(), st.sampled_from(["exact", "float32_divide"]), st.sampled_from(NVFP4_SCALE_CLAMPS),
       st.sampled_from(NVFP4_INF_POLICIES))
def test_fast_equals_exact_block_reference(inp, arithmetic, clamp, inf_policy):
    x, g = inp
    kw = dict(arithmetic=arithmetic, scale_clamp=clamp, inf_policy=inf_policy)
    note(f"{x.dtype} {[float(v).hex() for v in x]} G={g} {kw}")
    q = quantize_nvfp4(x, per_tensor_scale=g, **kw, **R)
    G = q.per_tensor_scale
    if g == "amax":
        assert F(G) == nvfp4_per_tensor_scale_scalar(x.tolist(), arithmetic=arithmetic, **R)
        assert G == nvfp4_per_tensor_scale(x, arithmetic=arithmetic, **R)
    else:
        assert G == g
    assert q.options["per_tensor_scale_form"] == "reciprocal"
    v64, v32, vf = q.dequantize(np.float64), q.dequantize(), q.dequantize(arithmetic="float32")
    for b in range(q.scales.size):
        sl = slice(16 * b, 16 * (b + 1))
        s, codes = nvfp4_block_scalar(x[sl].tolist(), per_tensor_scale=G, **kw, **R)
        assert int(q.scales[b]) == s and q.elements[sl].tolist() == codes
        for c, d64, d32, df in zip(codes, v64[sl].tolist(), v32[sl].tolist(), vf[sl].tolist()):
            if s == 0x7F:
                assert math.isnan(d64) and math.isnan(d32) and math.isnan(df)
                continue
            sign, mag = decode_exact(c, "fp4_e2m1")
            S = decode_exact(s, "fp8_e4m3")[1]
            exact = (-1 if sign else 1) * mag * S / F(G)  # S e / G
            assert d64 == float(exact) and _rounds_to(d32, exact)  # float(Fraction): one rounding
            assert math.copysign(1, d32) == (-1 if sign else 1)
            assert _rounds_to(df, (-1 if sign else 1) * mag * f32_scalar(S / F(G)))  # fp32(e fp32(S / G))


# ----- known answers (worked by hand) -------------------------------------------------------------


def test_known_block_exact():
    # G = 3: amax 1 -> 1 * 3 / 6 = 0.5 -> S = 0.5 (0x30); elements x G / S = 6 x:
    # 1 -> 6 (0x7), -0.5 -> -3 (0xD), 0.25 -> 1.5 (0x3), 0.1 -> 0.6 -> 0.5 (0x1); values S e / G
    x = np.array([1.0, -0.5, 0.25, 0.1] + [0.0] * 12, np.float32)
    q = quantize_nvfp4(x, per_tensor_scale=3.0, **R)
    assert q.scales.tolist() == [0x30] and q.per_tensor_scale == 3.0
    assert q.elements.tolist() == [0x7, 0xD, 0x3, 0x1] + [0x0] * 12
    # 0.5 * 0.5 / 3 = 1/12 rounded once to float32
    assert q.dequantize().tolist()[:4] == [1.0, -0.5, 0.25, float(np.float32(1 / 12))]
    assert q.dequantize(np.float64).tolist()[3] == 1 / 12


def test_float32_divide_breaks_a_near_tie():
    """x = 0x1.aaaaacp-2 (float32 rounding of 1.25 / 3) with G = 3 and S = 1: exact x G / S =
    1.25 + 2^-24, above the tie of 1 and 1.5, so 1.5 (0x3). compressed-tensors' float32:
    fp32(1 / 3) = 11184811 / 2^25; x / that = 41943042 / 33554433 = 1.25 + 2.2e-8, which
    float32 rounds to 1.25 (its half-ulp is 6e-8): a tie, to the even 1 (0x2)."""
    x = np.zeros(16, np.float32)
    x[0], x[1] = 2.0, float.fromhex("0x1.aaaaacp-2")
    assert F(float(x[1])) * 3 == F(5, 4) + F(1, 2 ** 24)
    assert np.float32(1) / np.float32(3) == np.float32(F(11184811, 2 ** 25))
    # block scale: exact 2 * 3 / 6 = 1; fp32(fp32(2 / 6) * 3) = fp32(1 + 2^-25) = 1: both 0x38
    ex = quantize_nvfp4(x, per_tensor_scale=3.0, **R)
    fl = quantize_nvfp4(x, per_tensor_scale=3.0, arithmetic="float32_divide", **R)
    assert ex.scales.tolist() == fl.scales.tolist() == [0x38]
    assert ex.elements.tolist()[:2] == [0x7, 0x3] and fl.elements.tolist()[:2] == [0x7, 0x2]
    # values: exact 6 / 3 = 2, 1.5 / 3 = 0.5; float32: fp32(6 * fp32(1/3)) = fp32(2 + 2^-24) = 2,
    # fp32(1 * fp32(1/3)) = 11184811 / 2^25
    assert ex.dequantize().tolist()[:2] == [2.0, 0.5]
    assert fl.dequantize(arithmetic="float32").tolist()[:2] == [2.0, 11184811 / 2 ** 25]


def test_zero_scale_becomes_an_eighth():
    x = np.zeros(32, np.float32)
    x[16] = 2.0 ** -13  # amax / 6 = 2^-13 / 6 < 2^-10: E4M3 rounds the scale to 0
    assert quantize_nvfp4(x).scales.tolist() == [0x00, 0x00]
    q = quantize_nvfp4(x, scale_clamp="zero_to_0.125")
    assert q.scales.tolist() == [0x20, 0x20]  # 0.125 = 2^-3: biased exponent 4, code 4 << 3
    assert not q.elements.any()  # 2^-13 / 0.125 = 2^-10 -> 0
    # a non-zero scale is kept: amax 6 * 2^-8 -> S = 2^-8 (0x02)
    y = np.array([6 * 2.0 ** -8], np.float32)
    assert quantize_nvfp4(y, scale_clamp="zero_to_0.125").scales.tolist() == [0x02]
    # with G = 2^20: amax G / 6 = 2^-13 * 2^20 / 6 = 2^7 / 6 = 21.33 -> E4M3 22 = 16 * (1 + 3/8)
    # (biased exponent 11: 0x5B; 20 is farther); 2^7 / 22 = 5.8 -> 6 (0x7)
    q = quantize_nvfp4(x, per_tensor_scale=2.0 ** 20, scale_clamp="zero_to_0.125", **R)
    assert q.scales.tolist() == [0x20, 0x5B] and q.elements.tolist()[16] == 0x7


def test_global_scale_rule():
    """G = fp32(2688 / amax_T) (compressed-tensors generate_gparam); 1 for an all-zero tensor and
    where the quotient overflows float32."""
    x = np.array([7.0, -3.0, np.inf, np.nan], np.float32)  # amax of the finite values: 7
    assert nvfp4_per_tensor_scale(x, **R) == 384.0  # 2688 / 7 = 384 exactly
    x = np.array([100.0, 1.0], np.float32)
    assert nvfp4_per_tensor_scale(x, **R) == float(np.float32(2688) / np.float32(100))  # one IEEE division
    assert nvfp4_per_tensor_scale(x) == float(np.float32(100) / np.float32(2688))  # direct P as before
    assert nvfp4_per_tensor_scale(np.zeros(4, np.float32), **R) == 1.0
    assert nvfp4_per_tensor_scale(np.array([1e-36], np.float32), **R) == 1.0  # 2.7e39 overflows
    assert nvfp4_per_tensor_scale(np.array([1e-35], np.float32), **R) == float(np.float32(2688) / np.float32(1e-35))
    q = quantize_nvfp4(np.array([7.0] + [0.0] * 15, np.float32), per_tensor_scale="amax", **R)
    # amax 7: 7 * 384 / 6 = 448 (0x7E); 7 * 384 / 448 = 6 (0x7); value 448 * 6 / 384 = 7
    assert q.per_tensor_scale == 384.0 and q.scales.tolist() == [0x7E] and q.elements.tolist()[0] == 0x7
    assert q.dequantize().tolist()[0] == 7.0 and q.options["per_tensor_scale_rule"] == "amax"


def test_direct_form_unchanged_and_recorded_only_when_reciprocal():
    x = np.linspace(-3, 5, 16).astype(np.float32)
    q = quantize_nvfp4(x, per_tensor_scale=0.5)
    assert "per_tensor_scale_form" not in q.options
    assert quantize_nvfp4(x, per_tensor_scale=0.5, per_tensor_scale_form="direct") == q
    # G = 2 is P = 1/2: the same codes and values (both exact)
    r = quantize_nvfp4(x, per_tensor_scale=2.0, **R)
    assert r.scales.tolist() == q.scales.tolist() and r.elements.tolist() == q.elements.tolist()
    assert r.dequantize().tolist() == q.dequantize().tolist()


@pytest.mark.parametrize("kw, exc, msg", [
    (dict(per_tensor_scale_form="inverse"), ValueError, "per_tensor_scale_form"),
    (dict(per_tensor_scale_form="reciprocal", arithmetic="float32"), ValueError, "per_tensor_scale_form"),
    (dict(per_tensor_scale_form="reciprocal", arithmetic="float32_divide_6p"), ValueError, "arithmetic"),
    (dict(scale_clamp="zero_to_0.5"), ValueError, "scale_clamp"),
])
def test_bad_options_raise(kw, exc, msg):
    with pytest.raises(exc, match=msg):
        quantize_nvfp4(np.ones(16, np.float32), per_tensor_scale=2.0, **kw)


def test_tensor_core_operand_refuses_a_reciprocal_scale():
    q = quantize_nvfp4(np.ones(16, np.float32), per_tensor_scale=2.0, **R)
    with pytest.raises(ValueError, match="reciprocal"):
        q.mma_operand()
