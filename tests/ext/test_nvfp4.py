"""NVFP4 (not MX v1.0; mxref/ext/nvfp4.py): fast == exact Fraction block reference on Hypothesis
blocks built to hit the scale and element boundaries, in every arithmetic / clamp / Inf option;
dequantization exact; known answers worked by hand; torchao 0.18's nvfp4_quantize bit for bit
under the torchao-modelling options."""

import math
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, note, strategies as st

from mxref.ext.nvfp4 import (NVFP4_ARITHMETICS, NVFP4_INF_POLICIES, NVFP4_SCALE_CLAMPS, NVFP4Array,
                             dequantize_nvfp4, nvfp4_per_tensor_scale, quantize_nvfp4)
from mxref.ext.reference import (f32_scalar, nvfp4_block_scalar, nvfp4_per_tensor_scale_scalar)
from mxref.reference import decode_exact
from nvfp4_blocks import E4M3, block_values  # typed in from OFP8 Table 1 / MX §5.3.3


def _f32_eq(d, v):
    """d (a float) is the float32 rounding of the exact v (+-Inf past the range)."""
    r = f32_scalar(v)
    return d == r if isinstance(r, float) else (math.isfinite(d) and F(d) == r)



def _f32(v):
    return float(np.float32(v))


# per-element strategies built once, not in every draw (same strategies in the same order: the same
# examples under the derandomized ci profile)


@st.composite
def nvfp4_inputs(draw):
    n = draw(st.integers(1, 40))
    kind = draw(st.sampled_from(["random", "scale_mid", "elem_mid", "tiny", "huge", "zeros", "pow2"]))
    p = draw(st.sampled_from([None, "amax", "given"]))
    pts = 1.0
    if p == "given":
        pts = _f32(math.ldexp(draw(st.floats(1.0, 2.0, exclude_max=True)), draw(st.integers(-40, 20))))
    k = draw(st.integers(-60, 40))
    if kind == "scale_mid":  # amax = 6 P * (midpoint of two E4M3 values) (+- an ulp)
        i = draw(st.integers(0, 125))
        amax = float(6 * F(pts) * (E4M3[i] + E4M3[i + 1]) / 2)
        amax = draw(st.sampled_from([amax, math.nextafter(amax, 0), math.nextafter(amax, math.inf)]))
    elif kind == "tiny":
        amax = math.ldexp(draw(st.floats(1.0, 2.0)), draw(st.integers(-150, -120)))
    elif kind == "huge":
        amax = math.ldexp(draw(st.floats(1.0, 2.0)), draw(st.integers(100, 127)))
    elif kind == "pow2":
        amax = math.ldexp(1.0, k)
    else:
        amax = math.ldexp(draw(st.floats(1.0, 2.0)), k)
    unit = E4M3[draw(st.integers(1, 126))] * F(pts) if kind == "elem_mid" else None
    x = block_values(draw, kind, n, amax, unit)
    return x, (pts if p == "given" else p)


@given(nvfp4_inputs(), st.sampled_from(NVFP4_ARITHMETICS), st.sampled_from(NVFP4_SCALE_CLAMPS),
       st.sampled_from(NVFP4_INF_POLICIES))
def test_fast_equals_exact_block_reference(inp, arithmetic, clamp, inf_policy):
    x, pts = inp
    kw = dict(arithmetic=arithmetic, scale_clamp=clamp, inf_policy=inf_policy)
    note(f"{x.dtype} {[float(v).hex() for v in x]} pts={pts} {kw}")
    try:
        q = quantize_nvfp4(x, per_tensor_scale=pts, **kw)
    except ValueError:
        # refused only where a float32 operation leaves the range: so does the reference
        P = nvfp4_per_tensor_scale_scalar(x.tolist(), arithmetic=arithmetic) if pts == "amax" else F(pts)
        with pytest.raises(ValueError, match="overflows"):
            for i in range(0, x.size, 16):
                nvfp4_block_scalar(x[i:i + 16].tolist(), per_tensor_scale=float(P), **kw)
        return
    assert not q.is_mx_v1 and q.block_size == 16
    P = q.per_tensor_scale
    if pts == "amax":
        assert F(P) == nvfp4_per_tensor_scale_scalar(x.tolist(), arithmetic=arithmetic)
    elif pts is None:
        assert P is None
    v64 = q.dequantize(np.float64)
    v32 = q.dequantize()
    vt = q.dequantize(arithmetic="float32")  # torchao's fp32(e * fp32(P * S))
    for b in range(q.scales.size):
        sl = slice(16 * b, 16 * (b + 1))
        s, codes = nvfp4_block_scalar(x[sl].tolist(), per_tensor_scale=P, **kw)
        assert int(q.scales[b]) == s
        assert q.elements[sl].tolist() == codes
        # dequantize: P * S * e exactly (float64), correctly rounded once to float32
        for c, d64, d32, dt in zip(codes, v64[sl].tolist(), v32[sl].tolist(), vt[sl].tolist()):
            if s == 0x7F:
                assert math.isnan(d64) and math.isnan(d32) and math.isnan(dt)
                continue
            sign, mag = decode_exact(c, "fp4_e2m1")
            S = decode_exact(s, "fp8_e4m3")[1]
            exact = (-1 if sign else 1) * mag * S * F(1 if P is None else P)
            assert F(d64) == exact and _f32_eq(d32, exact)
            assert _f32_eq(dt, (-1 if sign else 1) * mag * f32_scalar(S * F(1 if P is None else P)))


# ----- known answers (worked by hand) -------------------------------------------------------------


def test_known_block():
    # amax 7: 7/6 = 1.1666... -> E4M3 1.125 (0x39; 1.25 is farther); 3 / 1.125 = 2.67 -> 3 (0x5);
    # 7 / 1.125 = 6.2 -> 6 (0x7); 0.1 / 1.125 -> 0; -0.2 / 1.125 -> -0 (0x8); 0.5 / 1.125 = 0.44 -> 0.5
    x = np.array([0.1, -0.2, 3.0, -7.0] + [0.5] * 12, np.float32)
    q = quantize_nvfp4(x)
    assert q.scales.tolist() == [0x39]
    assert q.elements.tolist() == [0x0, 0x8, 0x5, 0xF] + [0x1] * 12
    assert q.dequantize().tolist() == [0.0, -0.0, 3.375, -6.75] + [0.5625] * 12


def test_zero_and_tiny_blocks_and_the_clamp():
    x = np.zeros(32, np.float32)
    x[16] = 2.0 ** -13  # amax / 6 = 2^-13 / 6 < 2^-10: E4M3 rounds it to 0
    q = quantize_nvfp4(x)
    assert q.scales.tolist() == [0x00, 0x00] and not q.elements.any()
    q = quantize_nvfp4(x, scale_clamp="min_normal")  # torchao: [2^-6, 448] before the cast
    assert q.scales.tolist() == [0x08, 0x08] and not q.elements.any()
    # a subnormal scale: amax = 6 * 2^-8 -> S = 2^-8 (0x02); elements 6 -> 0x7
    x = np.array([6 * 2.0 ** -8, -3 * 2.0 ** -8], np.float32)
    assert quantize_nvfp4(x).scales.tolist() == [0x02]
    assert quantize_nvfp4(x).elements.tolist() == [0x7, 0xD]
    # clamped to S = 2^-6: 1.5 (exact, 0x3); -0.75 ties 0.5 / 1 -> the even code 0x2 -> 0xA
    assert quantize_nvfp4(x, scale_clamp="min_normal").elements.tolist() == [0x3, 0xA]


def test_min_subnormal_clamp():
    """ModelOpt's clamp to [2^-9, 448] before the E4M3 cast (derived by hand)."""
    x = np.zeros(32, np.float32)
    x[16] = 2.0 ** -13  # amax / 6 < 2^-10 would round to scale 0; clamped to 2^-9 (0x01)
    x[17] = -(2.0 ** -11)
    q = quantize_nvfp4(x, scale_clamp="min_subnormal")
    assert q.scales.tolist() == [0x01, 0x01]
    # 2^-13 / 2^-9 = 1/16 -> 0 (below 0.25); -2^-11 / 2^-9 = -0.25: a tie of 0 and 0.5 -> -0 (0x8)
    assert q.elements.tolist()[16:18] == [0x0, 0x8] and not q.elements[:16].any()
    x[16] = 5 * 2.0 ** -11  # 5/4 of 2^-9: 1.25, a tie of 1 and 1.5 -> 1 (0x2)
    assert quantize_nvfp4(x, scale_clamp="min_subnormal").elements.tolist()[16] == 0x2
    # a scale above 2^-9 is unchanged: amax = 6 * 2^-8 -> S = 2^-8 (0x02) under every clamp but min_normal
    x = np.array([6 * 2.0 ** -8, -3 * 2.0 ** -8], np.float32)
    assert quantize_nvfp4(x, scale_clamp="min_subnormal").scales.tolist() == [0x02]
    assert quantize_nvfp4(x, scale_clamp="min_subnormal").elements.tolist() == [0x7, 0xD]
    # and 448 * 6 * 2 saturates to 448 (0x7E) as before
    assert quantize_nvfp4(np.array([5376.0], np.float32), scale_clamp="min_subnormal").scales.tolist() == [0x7E]


def test_float32_divide_6p_rounds_6p_first():
    """ModelOpt's block-scale quotient fp32(amax / fp32(6 P)): for this amax it is exactly 8.5, an
    E4M3 tie (8 and 9) that goes to the even 8 (0x50); fp32(fp32(amax / 6) / P) is above 8.5 and
    rounds up to 9 (0x51). Each fp32(...) below is one IEEE float32 numpy operation."""
    P = np.float32(100.0) / np.float32(2688.0)
    a = np.array([0x3FF2DB6E], np.uint32).view(np.float32)[0]
    assert a / (np.float32(6.0) * P) == np.float32(8.5)
    assert (a / np.float32(6.0)) / P > np.float32(8.5)
    x = np.r_[a, np.zeros(15, np.float32)]
    q = quantize_nvfp4(x, per_tensor_scale=float(P), arithmetic="float32_divide_6p")
    assert q.scales.tolist() == [0x50]
    # elements: a / fp32(8 P) = 6.375 (float32 op) -> saturates to 6 (0x7)
    assert q.elements.tolist()[0] == 0x7
    assert quantize_nvfp4(x, per_tensor_scale=float(P), arithmetic="float32_divide").scales.tolist() == [0x51]
    # P = 1 (single level): the same as float32_divide
    y = np.linspace(-3, 5, 16).astype(np.float32)
    a6, ad = (quantize_nvfp4(y, arithmetic=m) for m in ("float32_divide_6p", "float32_divide"))
    assert a6.scales.tolist() == ad.scales.tolist() and a6.elements.tolist() == ad.elements.tolist()


def test_ties_go_to_the_even_code_and_signs_are_kept():
    # S = 1 (amax 6): 0.25 -> 0, 0.75 -> 1, 1.25 -> 1, 1.75 -> 2, 2.5 -> 2, 3.5 -> 4, 5 -> 4
    x = np.array([6, 0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5, -0.25, -5], np.float32)
    q = quantize_nvfp4(x)
    assert q.scales.tolist() == [0x38]
    assert q.elements.tolist() == [0x7, 0x0, 0x2, 0x2, 0x4, 0x4, 0x6, 0x6, 0x8, 0xE]


def test_two_level_scaling():
    # P = 2^-4 given: amax 96 -> 96 / (6 * 2^-4) = 256 -> S = 256 (0x78); elements x / 16
    x = np.array([96.0, -24.0, 8.0, 1.0], np.float32)
    q = quantize_nvfp4(x, per_tensor_scale=2.0 ** -4)
    assert q.scales.tolist() == [0x78] and q.per_tensor_scale == 2.0 ** -4
    assert q.elements.tolist() == [0x7, 0xB, 0x1, 0x0]  # 6, -1.5, 0.5, 0.0625 -> 0
    # "amax": P = fp32(96 / 2688) = fp32(1/28); S = E4M3(96 / (6 P)) = 448 (0x7E) up to rounding of P
    q = quantize_nvfp4(x, per_tensor_scale="amax")
    assert q.per_tensor_scale == _f32(96 / 2688) == nvfp4_per_tensor_scale(x)
    assert q.scales.tolist() == [0x7E]


def test_specials():
    x = np.array([1.0, np.nan] + [2.0] * 14 + [np.inf, -3.0] + [0.0] * 14, np.float32)
    q = quantize_nvfp4(x)
    assert q.scales.tolist() == [0x7F, 0x7F] and not q.elements.any()
    assert np.isnan(q.dequantize()).all()
    q = quantize_nvfp4(x, inf_policy="saturate")  # torchao: S = 448, Inf -> 6, -3 / 448 -> -0
    assert q.scales.tolist() == [0x7F, 0x7E]
    assert q.elements[16:18].tolist() == [0x7, 0x8]
    # per-tensor "amax" ignores the non-finite values
    assert nvfp4_per_tensor_scale(x) == _f32(3.0 / 2688)
    assert nvfp4_per_tensor_scale(np.zeros(4, np.float32)) == 1.0


def test_exact_and_float32_arithmetic_differ_where_expected():
    """x * fp32(1/S) rounds twice: for some block scales S (1/S not a float32) an input on an
    E2M1 midpoint of S lands off it and rounds the other way. Enumerated over every normal S;
    each float32 result equals the reference's."""
    found = 0
    for sc in range(0x08, 0x7F):
        s = float(decode_exact(sc, "fp8_e4m3")[1])
        for mid in (0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0):
            x = np.array([6 * s, mid * s], np.float32)
            if float(np.float32(x[1])) != mid * s:
                continue
            a = quantize_nvfp4(x).elements[1]
            b = quantize_nvfp4(x, arithmetic="float32").elements[1]
            r = nvfp4_block_scalar(x.tolist(), arithmetic="float32")[1][1]
            assert b == r
            found += a != b
    assert found > 0


def test_float32_mode_refuses_a_per_tensor_scale_whose_reciprocal_overflows():
    x = np.ones(16, np.float32)
    with pytest.raises(ValueError, match="reciprocal overflows"):
        quantize_nvfp4(x, per_tensor_scale=2.0 ** -130, arithmetic="float32")
    quantize_nvfp4(x, per_tensor_scale=2.0 ** -130)  # exact: fine


@pytest.mark.parametrize("kw, exc, msg", [
    (dict(arithmetic="fast"), ValueError, "arithmetic"),
    (dict(scale_clamp="min"), ValueError, "scale_clamp"),
    (dict(inf_policy="max"), ValueError, "inf_policy"),
    (dict(per_tensor_scale="max"), ValueError, "per_tensor_scale"),
    (dict(per_tensor_scale=0.1), ValueError, "float32 value"),
    (dict(per_tensor_scale=-1.0), ValueError, "positive"),
    (dict(per_tensor_scale=float("nan")), ValueError, "positive"),
    (dict(axis=2), ValueError, "axis"),
    (dict(block_size=0), ValueError, "block_size"),
])
def test_bad_options_raise(kw, exc, msg):
    with pytest.raises(exc, match=msg):
        quantize_nvfp4(np.ones((2, 16), np.float32), **kw)


def test_bad_input_and_hand_built_arrays():
    with pytest.raises(TypeError):
        quantize_nvfp4(np.ones(16, np.int32))
    good = quantize_nvfp4(np.ones((3, 20), np.float32))
    assert good.scales.shape == (3, 2) and good.elements.shape == (3, 20)
    with pytest.raises(ValueError, match="sign bit"):
        NVFP4Array((16,), 0, np.array([0x80], np.uint8), np.zeros(16, np.uint8))
    with pytest.raises(ValueError, match="E2M1"):
        NVFP4Array((16,), 0, np.array([0x38], np.uint8), np.full(16, 16, np.uint8))
    with pytest.raises(ValueError, match="scales must have shape"):
        NVFP4Array((32,), 0, np.array([0x38], np.uint8), np.zeros(32, np.uint8))
    with pytest.raises(TypeError, match="NVFP4Array"):
        dequantize_nvfp4(good.scales)
    x = np.ones((2, 16), np.float32)
    x0 = x.copy()
    quantize_nvfp4(x, per_tensor_scale="amax")
    assert np.array_equal(x, x0)  # inputs are never modified


def test_axis_and_ragged_blocks():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 37, 2)).astype(np.float32)
    q = quantize_nvfp4(x, axis=1)
    assert q.scales.shape == (3, 3, 2)
    for i in range(3):
        for j in range(2):
            r = quantize_nvfp4(np.ascontiguousarray(x[i, :, j]))
            assert np.array_equal(q.elements[i, :, j], r.elements)
            assert np.array_equal(q.scales[i, :, j], r.scales)
    assert np.array_equal(q.dequantize()[1, :, 0], quantize_nvfp4(x[1, :, 0].copy()).dequantize())


# ----- torchao 0.18 ---------------------------------------------------------------------------------


def _torchao_inputs(rng):
    xs = []
    for e in range(-24, 24, 3):
        xs.append((rng.standard_normal((8, 64)) * 2.0 ** e).astype(np.float32))
    # E2M1 midpoints of power-of-two and non-power-of-two block scales, and all-zero rows
    mids = np.array([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0, 6.0], np.float32)
    for s in (1.0, 0.875, 1.375, 2.0 ** -7, 3 * 2.0 ** -9, 320.0):
        t = rng.choice(mids, (8, 64)) * rng.choice([-1, 1], (8, 64))
        t[:, ::16] = 6.0
        xs.append((t * s).astype(np.float32))
    z = rng.standard_normal((8, 64)).astype(np.float32)
    z[2] = 0.0
    z[3, :16] = 1e-30
    xs.append(z)
    return xs


def test_torchao_nvfp4_quantize_bit_for_bit():
    """torchao 0.18 nvfp4_quantize (CPU) == quantize_nvfp4(arithmetic="float32",
    scale_clamp="min_normal"), single-level and two-level (per_tensor_amax_to_scale, and a given
    scale); NVFP4Tensor.dequantize == dequantize(arithmetic="float32")."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchao")
    from torchao.prototype.mx_formats.nvfp4_tensor import (NVFP4Tensor, nvfp4_quantize,
                                                           per_tensor_amax_to_scale)

    rng = np.random.default_rng(11)
    blocks = 0
    for x in _torchao_inputs(rng):
        xt = torch.from_numpy(x)
        for mode in ("single", "amax", "given"):
            if mode == "single":
                pts_t, kw = None, {}
            elif mode == "amax":
                pts_t = per_tensor_amax_to_scale(xt.abs().max())
                kw = dict(per_tensor_scale="amax")
            else:
                pts_t = torch.tensor(np.float32(0.0123))
                kw = dict(per_tensor_scale=float(np.float32(0.0123)))
            s_t, d_t = nvfp4_quantize(xt, 16, pts_t)
            d = d_t.view(torch.uint8).numpy()
            codes = np.stack([d & 0xF, d >> 4], -1).reshape(x.shape)  # low nibble first
            q = quantize_nvfp4(x, arithmetic="float32", scale_clamp="min_normal", **kw)
            if pts_t is not None:
                assert q.per_tensor_scale == float(pts_t)
            assert np.array_equal(q.scales, s_t.view(torch.uint8).numpy().reshape(q.scales.shape))
            assert np.array_equal(q.elements, codes)
            deq = NVFP4Tensor.to_nvfp4(xt, per_tensor_scale=pts_t).dequantize(torch.float32).numpy()
            assert np.array_equal(q.dequantize(arithmetic="float32").view(np.uint32), deq.view(np.uint32))
            blocks += q.scales.size
    assert blocks == 3 * 8 * 4 * len(_torchao_inputs(np.random.default_rng(11)))
    # bfloat16 input (torchao's other accepted dtype), single-level and "amax"
    xb = (torch.randn(16, 64, generator=torch.Generator().manual_seed(1)) * 3).to(torch.bfloat16)
    for pts_t, kw in ((None, {}), (per_tensor_amax_to_scale(xb.float().abs().max()), dict(per_tensor_scale="amax"))):
        s_t, d_t = nvfp4_quantize(xb, 16, pts_t)
        d = d_t.view(torch.uint8).numpy()
        q = quantize_nvfp4(xb, arithmetic="float32", scale_clamp="min_normal", **kw)
        assert np.array_equal(q.scales, s_t.view(torch.uint8).numpy().reshape(q.scales.shape))
        assert np.array_equal(q.elements, np.stack([d & 0xF, d >> 4], -1).reshape(q.shape))


def test_torchao_differences_outside_the_modelled_cases():
    """Where mxref defines what torchao leaves to NaN arithmetic (documented, asserted here so a
    change in either shows): a NaN block -- torchao writes E4M3 NaN (0x7F) like mxref but element
    codes computed from NaN bits (0x4), mxref canonical 0; an all-zero tensor with the "amax"
    per-tensor scale -- torchao divides by P = 0 (scale 0xFF, elements 0xC), mxref takes P = 1."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchao")
    from torchao.prototype.mx_formats.nvfp4_tensor import nvfp4_quantize, per_tensor_amax_to_scale

    def tao(x, pts):
        s, d = nvfp4_quantize(torch.from_numpy(x), 16, pts)
        d = d.view(torch.uint8).numpy()
        return s.view(torch.uint8).numpy().ravel().tolist(), np.stack([d & 0xF, d >> 4], -1).ravel().tolist()

    kw = dict(arithmetic="float32", scale_clamp="min_normal")
    x = np.ones((1, 16), np.float32)
    x[0, 3] = np.nan
    assert tao(x, None) == ([0x7F], [0x4] * 16)
    q = quantize_nvfp4(x, **kw)
    assert q.scales.ravel().tolist() == [0x7F] and q.elements.ravel().tolist() == [0] * 16
    z = np.zeros((1, 16), np.float32)
    pts = per_tensor_amax_to_scale(torch.from_numpy(z).abs().max())
    assert float(pts) == 0.0 and tao(z, pts) == ([0xFF], [0xC] * 16)
    q = quantize_nvfp4(z, per_tensor_scale="amax", **kw)
    assert q.per_tensor_scale == 1.0 and q.scales.ravel().tolist() == [0x08] and not q.elements.any()
