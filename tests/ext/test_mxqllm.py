"""MX-QLLM's shared-scale modes and asymmetric formats (not MX v1.0; mxref/ext/mxqllm.py): fast
== exact Fraction block reference on Hypothesis blocks in every mode and option; PoT-R equals
MX-QLLM's and torchao's bit tests (typed in from their sources) and mxref's scale_rule "even";
known answers worked by hand, including the MX-QLLM quirks the options model."""

import functools
import math
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, note, strategies as st

import mxref
from mxref.ext import mxqllm
from mxref.ext.mxqllm import ARITHMETICS, E4M3_SCALES, INT_CLAMPS, SCALE_MODES
from mxref.ext.reference import f32_scalar, mxqllm_block_scalar
from mxref.reference import decode_exact
from draws import FRAC as _FRAC, SIGNS as _SIGNS, SPECIAL as _SPECIAL, ZEROS as _ZEROS


def _f32_eq(d, v):
    """d (a float) is the float32 rounding of the exact v (+-Inf past the range)."""
    r = f32_scalar(v)
    return d == r if isinstance(r, float) else (math.isfinite(d) and F(d) == r)

ELEMENTS = ["fp8_e4m3", "fp8_e5m2", "fp6_e2m3", "fp6_e3m2", "fp4_e2m1", "int8", "fp4_e3m0", "int4", "int2"]


def _f32(v):
    return float(np.float32(v))


# per-element strategies built once, not in every draw (same strategies in the same order: the same
# examples under the derandomized ci profile)


@functools.lru_cache(maxsize=None)
def _grid_midpoints(el):
    """sampled_from the midpoints of the element's finite non-negative values (mxref.decode)."""
    grid = sorted({abs(float(v)) for v in mxref.decode(np.arange(el.num_codes), el, np.float64) if np.isfinite(v)})
    return st.sampled_from([(a + b) / 2 for a, b in zip(grid, grid[1:])])


@st.composite
def mxqllm_inputs(draw):
    el = mxref.element_format(draw(st.sampled_from(ELEMENTS)))
    n = draw(st.integers(1, 40))
    kind = draw(st.sampled_from(["random", "one_sign", "constant", "narrow", "below_pow2", "ties", "tiny",
                                 "huge", "zeros", "halves"]))
    k = draw(st.integers(-60, 60))
    if kind == "tiny":
        k = draw(st.integers(-149, -120))
    if kind == "huge":
        k = draw(st.integers(100, 126))
    top = 1 - 2.0 ** -24 if kind == "below_pow2" else draw(st.floats(1.0, 2.0, exclude_max=True))
    amax = math.ldexp(top, k)
    sign = _SIGNS
    if kind == "constant":
        vals = [amax * draw(sign)] * n
    elif kind == "narrow":  # max - min a few float32 ulps: a large zero point
        base = _f32(amax)
        vals = [base * (1 + draw(st.integers(0, 4)) * 2.0 ** -23) for _ in range(n)]
    elif kind == "ties":  # element-grid midpoints at a power-of-two scale
        mids = _grid_midpoints(el)
        vals = [draw(mids) * 2.0 ** k * draw(sign) for _ in range(n)]
    elif kind == "zeros":
        vals = [draw(_ZEROS) for _ in range(n)]
    elif kind == "halves":  # max - min = (2^bits - 1) 2^j: asymmetric INT scale 2^j, x / s on halves
        L = (1 << el.bits) - 1
        q = 2.0 ** draw(st.integers(-20, 20))
        lo = (draw(st.integers(-40, 40)) + 0.5) * q
        vals = [lo, lo + L * q] + [lo + draw(st.integers(0, 2 * L)) / 2 * q for _ in range(n)]
    else:
        s = (lambda: 1) if kind == "one_sign" else (lambda: draw(sign))
        vals = [amax * draw(_FRAC) * s() for _ in range(n - 1)] + [amax * s()]
    if draw(st.integers(0, 9)) == 0:
        vals[draw(st.integers(0, n - 1))] = draw(_SPECIAL)
    with np.errstate(over="ignore", under="ignore"):
        x = np.array(vals, np.float64).astype(np.float32)
    return el, x


def _options(draw, el, asymmetric):
    modes = [m for m in SCALE_MODES if not (asymmetric and el.integer and m.startswith("fp8"))]
    return dict(scale_mode=draw(st.sampled_from(modes)), asymmetric=asymmetric,
                rounding=draw(st.sampled_from(["rne", "ties_away"])),
                scale_rounding=draw(st.sampled_from(["rne", "ties_away"])),
                e4m3_scale=draw(st.sampled_from(E4M3_SCALES)), int_clamp=draw(st.sampled_from(INT_CLAMPS)),
                arithmetic=draw(st.sampled_from(ARITHMETICS)))


def _value(v):
    return math.nan if (isinstance(v, float) and math.isnan(v)) else F(v)


def _same(fast, ref):
    return (math.isnan(fast) and isinstance(ref, float) and math.isnan(ref)) or F(fast) == ref


@given(mxqllm_inputs(), st.booleans(), st.data())
def test_fast_equals_exact_block_reference(inp, asymmetric, data):
    el, x = inp
    kw = _options(data.draw, el, asymmetric)
    note(f"{el.name} {[float(v).hex() for v in x]} {kw}")
    try:
        q = mxqllm.quantize(x, el, **kw)
    except ValueError as e:  # only a zero point beyond int32 (a huge constant / narrow block)
        assert "zero point" in str(e) and asymmetric and el.integer
        refs = [mxqllm_block_scalar(x[i:i + 32].tolist(), el, **kw) for i in range(0, x.size, 32)]
        assert any(abs(r["zero_point"]) >= 2 ** 31 - 512 for r in refs)
        return
    v64 = q.dequantize(np.float64)
    v32 = q.dequantize()
    vk = q.dequantize(arithmetic="float32")  # the kernels' fp32(fp32(q - shift) * s)
    for b in range(q.scales.size):
        sl = slice(32 * b, 32 * (b + 1))
        r = mxqllm_block_scalar(x[sl].tolist(), el, **kw)
        assert _same(float(q.scales[b]), r["scale"])
        assert q.elements[sl].tolist() == r["elements"]
        if asymmetric and not el.integer:
            assert _same(float(q.scales_neg[b]), r["scale_neg"])
        if asymmetric and el.integer:
            assert int(q.zero_points[b]) == r["zero_point"]
        # dequantize: the exact value (float64 where it fits), correctly rounded to float32
        for i, (c, d64, d32, dk) in enumerate(zip(r["elements"], v64[sl].tolist(), v32[sl].tolist(),
                                                  vk[sl].tolist())):
            if isinstance(r["scale"], float):
                assert math.isnan(d64) and math.isnan(d32) and math.isnan(dk)
                continue
            if asymmetric and el.integer:
                exact = (c - r["zero_point"]) * r["scale"]
                assert _f32_eq(dk, f32_scalar(c - r["zero_point"]) * r["scale"])
            else:
                sign, mag = decode_exact(c, el)
                p = -mag if sign else mag
                exact = p * (r["scale"] if not asymmetric or p > 0 else r["scale_neg"])
            assert _f32_eq(d32, exact)
            assert F(d64) == exact or (asymmetric and el.integer and abs(F(d64) - exact) <= abs(exact) * F(1, 2 ** 53))


# ----- PoT-R: MX-QLLM's bit test == torchao EVEN == mxref "even" ----------------------------------

# typed in: microxcaling/MX-QLLM mbits (sign and implicit bit counted) and emax of each element
MBITS = {"fp8_e4m3": 5, "fp8_e5m2": 4, "fp6_e2m3": 5, "fp6_e3m2": 4, "fp4_e2m1": 3, "int8": 8,
         "fp4_e3m0": 2, "int4": 4, "int2": 2}
EMAX = {"fp8_e4m3": 8, "fp8_e5m2": 15, "fp6_e2m3": 2, "fp6_e3m2": 4, "fp4_e2m1": 2, "int8": 0,
        "fp4_e3m0": 4, "int4": 0, "int2": 0}
# torchao mx_tensor.py: target_max_pow2 and the element's trailing mantissa bits (FP formats)
TORCHAO = {"fp8_e4m3": (8, 3), "fp8_e5m2": (15, 2), "fp6_e2m3": (2, 3), "fp6_e3m2": (4, 2), "fp4_e2m1": (2, 1)}


def _mxqllm_pot_r(bits, name):
    """MX-QLLM mx.cuh scale_mode 3 + mx_get_shared_scale: the biased exponent of amax, bumped iff
    (bits & 0x7FFFFF) >= (0x7FFFFF >> (24 - mbits)) << (24 - mbits); minus emax; clamp -127."""
    mb = MBITS[name]
    thr = (0x7FFFFF >> (24 - mb)) << (24 - mb)
    e = ((bits >> 23) & 0xFF).astype(np.int64) + ((bits & 0x7FFFFF) >= thr)
    return np.maximum(e - 127 - EMAX[name], -127)


def _torchao_even(bits, name):
    """torchao to_mx EVEN: amax_bits += 1 << (23 - m - 1), masked to sign|exponent; minus the
    target power; clamp at -127."""
    target, m = TORCHAO[name]
    b = (bits.astype(np.int64) + (1 << (23 - m - 1))) & 0xFF800000
    return np.maximum((b >> 23) - 127 - target, -127)


def _amax_samples():
    rng = np.random.default_rng(2)
    bits = rng.integers(0x00000001, 0x7F800000, 20000, dtype=np.int64)
    frac = np.arange(0x7FFFFF - 300, 0x800000)  # the top fractions: every threshold region
    exps = rng.integers(1, 255, frac.size)
    more = (exps << 23) | frac
    sub = np.arange(0x7FFF00, 0x800000)  # float32 subnormals just below 2^-126
    sub2 = rng.integers(0x400000, 0x800000, 3000)  # the upper half of the subnormals
    return np.concatenate([bits, more, sub, sub2, [0x00700000, 0x00780000, 0x007C0000]]).astype(np.uint32)


@pytest.mark.parametrize("name", ELEMENTS)
def test_pot_r_is_mxqllm_bit_test_torchao_even_and_mxref_even(name):
    bits = _amax_samples()
    amax = bits.view(np.float32)
    x = np.zeros((amax.size, 32), np.float32)
    x[:, 0] = amax
    ours = mxqllm.quantize(x, name, scale_mode="pot_r")
    se = np.frexp(ours.scales[:, 0].astype(np.float64))[1] - 1
    even = mxref.quantize(x, name, scale_rule="even")
    assert np.array_equal(se + 127, even.scales[:, 0]) and np.array_equal(ours.elements, even.elements)
    theirs = _mxqllm_pot_r(bits.astype(np.int64), name)
    normal = bits >= 0x00800000
    # an exponent above 127 (integer rows, amax bumped to 2^128): mxref clamps to 127, MX-QLLM's
    # mx_get_shared_scale gives a NaN scale (module docstring)
    over = theirs > 127
    assert over.any() == (EMAX[name] == 0) and (se[over] == 127).all()
    theirs = np.minimum(theirs, 127)
    assert np.array_equal(se[normal], theirs[normal])
    if name in TORCHAO:
        assert np.array_equal(se, _torchao_even(bits.astype(np.int64), name))
        assert np.array_equal(se, theirs)  # subnormal amax: clamped to -127 by all three
    else:
        # integer rows (emax 0) and E3M0 (emax 4): the only difference is a float32-subnormal amax,
        # where MX-QLLM tests the fraction field and mxref the value (module docstring)
        diff = se != theirs
        assert not (diff & normal).any()
        if EMAX[name] == 0:
            mb = MBITS[name]
            f = bits.astype(np.int64) & 0x7FFFFF
            # MX-QLLM bumps for f >= 2^23 - 2^(24 - mbits), mxref (the value f 2^-149 rounded
            # half-up to m = mbits - 2 fraction bits) for f >= 2^23 - 2^(23 - mbits)
            window = ~normal & (f >= (1 << 23) - (1 << (24 - mb))) & (f < (1 << 23) - (1 << (23 - mb)))
            assert np.array_equal(diff, window) and diff.any()
        else:
            assert not diff.any()


# ----- known answers (worked by hand) -------------------------------------------------------------


def test_float_scale_and_guard():
    x = np.array([3.0, -1.0, 0.7] + [0.0] * 29 + [0.0] * 32, np.float32)
    q = mxqllm.quantize(x, "fp4_e2m1", scale_mode="float")
    # s = fp32(3 / 6) = 0.5; 0.7 / 0.5 = 1.4 -> 1.5; the all-zero block: s = 0 -> 1
    assert q.scales.tolist() == [0.5, 1.0] and q.elements[:3].tolist() == [0x7, 0xC, 0x3]
    assert not q.is_mx_v1 and q.scale_format is mxref.FORMATS["float32"]


def test_fp8_e4m3_scale_saturation_and_the_480_quirk():
    x = np.zeros(32, np.float32)
    x[0] = 470 * 6  # amax / max_norm = 470: OCP E4M3 saturates to 448; MX-QLLM's 480 row -> 480
    q = mxqllm.quantize(x, "fp4_e2m1", scale_mode="fp8_e4m3")
    assert q.scales.tolist() == [448.0] and q.elements[0] == 0x7  # 2820 / 448 = 6.3 -> 6
    q = mxqllm.quantize(x, "fp4_e2m1", scale_mode="fp8_e4m3", e4m3_scale="mxqllm")
    assert q.scales.tolist() == [480.0] and q.scale_format is mxqllm.E4M3_480
    x[0] = 464 * 6  # a tie between 448 and 480: RNE -> 448 (even code 0x7E), ties_away -> 480
    assert mxqllm.quantize(x, "fp4_e2m1", scale_mode="fp8_e4m3", e4m3_scale="mxqllm").scales[0] == 448
    assert mxqllm.quantize(x, "fp4_e2m1", scale_mode="fp8_e4m3", e4m3_scale="mxqllm",
                           scale_rounding="ties_away").scales[0] == 480


def test_fp8_zero_guard_for_both_fp8_types():
    x = np.zeros(32, np.float32)
    x[0] = 2.0 ** -30  # amax / 6 far below the FP8 subnormals: the scale rounds to 0 -> 1
    for mode in ("fp8_e4m3", "fp8_e5m2"):
        assert mxqllm.quantize(x, "fp4_e2m1", scale_mode=mode).scales[0] == 1.0


def test_exact_and_float32_elements_differ_by_double_rounding():
    """amax = 6 + 2^-21: s = fp32(amax / 6) = 1 + 2^-23. x = 0.75 + 2^-24: the exact x / s is
    0.75 - 2^-25 + (a hair), below the E2M1 midpoint 0.75 -> 0.5 (code 1); fp32(x / s) rounds
    onto 0.75 and then ties to the even code 2 (1.0), as MX-QLLM's kernels compute it."""
    x = np.zeros(32, np.float32)
    x[0], x[1] = 6 + 2.0 ** -21, 0.75 + 2.0 ** -24
    assert F(float(x[1])) / (1 + F(1, 2 ** 23)) < F(3, 4)
    assert f32_scalar(F(float(x[1])) / (1 + F(1, 2 ** 23))) == F(3, 4)
    ex = mxqllm.quantize(x, "fp4_e2m1", scale_mode="float")
    fl = mxqllm.quantize(x, "fp4_e2m1", scale_mode="float", arithmetic="float32")
    assert ex.scales[0] == fl.scales[0] == 1 + 2.0 ** -23
    assert ex.elements[:2].tolist() == [0x7, 0x1] and fl.elements[:2].tolist() == [0x7, 0x2]


def test_asymmetric_fp_two_scales():
    # max 3 -> PoT 2^(1 - 2) = 0.5; min -0.75 -> 2^(-1 - 2) = 0.125; zero uses the negative scale
    x = np.array([3.0, -0.75, 0.0, -0.0, 1.0, -0.3] + [0.0] * 26, np.float32)
    q = mxqllm.quantize(x, "fp4_e2m1", asymmetric=True)
    assert q.scales.tolist() == [0.5] and q.scales_neg.tolist() == [0.125]
    # 3 / 0.5 = 6 (0x7); -0.75 / 0.125 = -6 (0xF); +-0 keep sign; 1 / 0.5 = 2 (0x4); -0.3 / 0.125 = -2.4 -> -2 (0xC)
    assert q.elements[:6].tolist() == [0x7, 0xF, 0x0, 0x8, 0x4, 0xC]
    assert q.dequantize()[:6].tolist() == [3.0, -0.75, 0.0, -0.0, 1.0, -0.25]
    f = mxqllm.quantize(x, "fp4_e2m1", asymmetric=True, scale_mode="float")  # 3/6, 0.75/6
    assert f.scales.tolist() == [0.5] and f.scales_neg.tolist() == [0.125]


def test_asymmetric_int4_zero_point():
    # s = fp32(3 / 15) = fp32(0.2); shift = -R(-1 / s) - 8 = 5 - 8 = -3;
    # q = R(x / s - 3): -1 -> -8; 0 -> -3; 0.5 / s = 2.4999999 -> 2 - 3 = -1; 2 / s = 9.9999998 -> 7
    x = np.array([-1.0, 0.0, 0.5, 2.0], np.float32)
    q = mxqllm.quantize(x, "int4", asymmetric=True, scale_mode="float")
    assert q.scales.tolist() == [np.float32(0.2)] and q.zero_points.tolist() == [-3]
    assert q.elements.tolist() == [-8, -3, -1, 7] and q.elements.dtype == np.int16
    assert q.dequantize().tolist() == [-1.0, 0.0, _f32(2 * F(_f32(0.2))), 2.0]


@pytest.mark.parametrize("lo, hi, rounding, clamp, want_lo, want_hi", [
    # s = 1 exactly; ties_away: shift = -R(-4.5) - 8 = -3, q(10.5) = R(7.5) = 8 -> clamped to 7
    (-4.5, 10.5, "ties_away", "none", -8, 8),
    (-4.5, 10.5, "ties_away", "full", -8, 7),
    (-4.5, 10.5, "ties_away", "upper", -8, 7),
    # RNE: shift = -R(-4.5) - 8 = -4, q(-4.5) = R(-8.5) = -8, q(10.5) = R(6.5) = 6
    (-4.5, 10.5, "rne", "none", -8, 6),
    # positive block: shift = -R(4.5) - 8 = -13, q(4.5) = R(-8.5) = -9 (ties away)
    (4.5, 19.5, "ties_away", "none", -9, 7),
    (4.5, 19.5, "ties_away", "upper", -9, 7),
    (4.5, 19.5, "ties_away", "full", -8, 7),
])
def test_asymmetric_int4_clamps(lo, hi, rounding, clamp, want_lo, want_hi):
    x = np.array([lo, hi], np.float32)
    q = mxqllm.quantize(x, "int4", asymmetric=True, scale_mode="float", rounding=rounding, int_clamp=clamp)
    assert q.scales.tolist() == [1.0] and q.elements.tolist() == [want_lo, want_hi]


def test_asymmetric_int_pot_scales():
    # (max - min) / 15 = 0.2: pot 2^floor(log2 0.2) = 0.125; pot_r: 0.2 = 1.6 * 2^-3, 1.6 >= sqrt 2 -> 0.25
    x = np.array([-1.0, 2.0], np.float32)
    assert mxqllm.quantize(x, "int4", asymmetric=True, scale_mode="pot").scales.tolist() == [0.125]
    assert mxqllm.quantize(x, "int4", asymmetric=True, scale_mode="pot_r").scales.tolist() == [0.25]
    # 1.4 * 2^-3 (below sqrt 2) stays 2^-3 under pot_r
    x = np.array([0.0, 1.4 * 15 / 8], np.float32)
    assert mxqllm.quantize(x, "int4", asymmetric=True, scale_mode="pot_r").scales.tolist() == [0.125]


def test_specials_and_flags():
    x = np.array([1.0, np.inf] + [0.5] * 30 + [np.nan] + [1.0] * 31, np.float32)
    for kw in (dict(scale_mode="pot"), dict(scale_mode="float"), dict(scale_mode="fp8_e5m2", asymmetric=True),
               dict(scale_mode="float", asymmetric=True)):
        for el in ("fp4_e2m1", "int4"):
            if kw.get("asymmetric") and el == "int4" and kw["scale_mode"].startswith("fp8"):
                continue
            q = mxqllm.quantize(x, el, **kw)
            assert np.isnan(q.scales).all() and not q.elements.any()
            assert np.isnan(q.dequantize()).all()
    q = mxqllm.quantize(np.ones(32, np.float32), "fp4_e2m1")
    assert q.is_mx_v1 and q.scale_format is mxref.e8m0
    assert not mxqllm.quantize(np.ones(32, np.float32), "int4").is_mx_v1  # an extension element
    assert not mxqllm.quantize(np.ones(32, np.float32), "fp4_e2m1", asymmetric=True).is_mx_v1
    assert mxqllm.quantize(np.ones(32, np.float32), "mxfp4").element is mxref.fp4_e2m1


def test_pot_matches_mxref_quantize():
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((16, 70)) * np.exp2(rng.integers(-30, 30, (16, 1)))).astype(np.float32)
    for el in ELEMENTS:
        for rounding in ("rne", "ties_away"):
            q = mxqllm.quantize(x, el, rounding=rounding)
            mx = mxref.quantize(x, el, rounding=rounding)
            assert np.array_equal(q.elements, mx.elements)
            assert np.array_equal(q.scales.astype(np.float64), np.exp2(mx.scales.astype(np.float64) - 127))
            assert np.array_equal(q.dequantize(), mx.dequantize())


def test_axis_and_ragged_blocks_asymmetric():
    rng = np.random.default_rng(6)
    x = np.abs(rng.standard_normal((3, 45))).astype(np.float32) + 1  # one-signed: padding must not count
    q = mxqllm.quantize(x.T, "int4", asymmetric=True, scale_mode="float", axis=0)
    assert q.scales.shape == (2, 3) and q.zero_points.shape == (2, 3)
    for r in range(3):
        for b in range(2):
            ref = mxqllm_block_scalar(x[r, 32 * b:32 * b + 32].tolist(), "int4", scale_mode="float", asymmetric=True)
            assert F(float(q.scales[b, r])) == ref["scale"] and q.zero_points[b, r] == ref["zero_point"]
            assert q.elements[32 * b:32 * b + 32, r].tolist() == ref["elements"]


@pytest.mark.parametrize("kw, exc, msg", [
    (dict(scale_mode="fp16"), ValueError, "scale_mode"),
    (dict(rounding="floor"), ValueError, "rounding"),
    (dict(scale_rounding="up"), ValueError, "scale_rounding"),
    (dict(e4m3_scale="480"), ValueError, "e4m3_scale"),
    (dict(int_clamp="zero"), ValueError, "int_clamp"),
    (dict(arithmetic="fp16"), ValueError, "arithmetic"),
    (dict(asymmetric=1), TypeError, "asymmetric"),
    (dict(block_size=0), ValueError, "block_size"),
])
def test_bad_options_raise(kw, exc, msg):
    with pytest.raises(exc, match=msg):
        mxqllm.quantize(np.ones(32, np.float32), "fp4_e2m1", **kw)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="FP8 scales"):
        mxqllm.quantize(np.ones(32, np.float32), "int4", asymmetric=True, scale_mode="fp8_e4m3")
    with pytest.raises(ValueError, match="float32 value"):
        mxqllm.quantize(np.array([0.1]), "fp4_e2m1")
    mxqllm.quantize(np.array([0.5, np.nan]), "fp4_e2m1")  # float64 holding float32 values: fine
    with pytest.raises(ValueError, match="zero point"):
        mxqllm.quantize(np.full(32, 3e9, np.float32), "int4", asymmetric=True, scale_mode="float")
    with pytest.raises(ValueError, match="element format"):
        mxqllm.quantize(np.ones(32, np.float32), "e8m0")
    with pytest.raises(TypeError):
        mxqllm.quantize(np.ones(32, np.int8), "fp4_e2m1")
    x = np.ones(32, np.float32)
    x0 = x.copy()
    mxqllm.quantize(x, "int4", asymmetric=True, scale_mode="float")
    assert np.array_equal(x, x0)


def test_huge_block_minimum_is_refused_not_misrounded():
    # found by Hypothesis: a one-element INT8 block at 2^53 (scale 1) made the exact path round
    # 2^53 / 1 with a quotient past the rounding core's 53-bit range (zero point -130); the zero
    # point is 2^53 + 128, far beyond int32, so it must be refused like any other
    kw = dict(scale_mode="pot", asymmetric=True, rounding="rne", int_clamp="full", arithmetic="exact")
    for v in (2.0**53, 2.0**52, -(2.0**60), 2.0**41):
        with pytest.raises(ValueError, match="zero point"):
            mxqllm.quantize(np.array([v], np.float32), "int8", **kw)
        r = mxqllm_block_scalar([v], "int8", **{k: w for k, w in kw.items() if k != "arithmetic"})
        assert abs(r["zero_point"]) >= 2**31  # the reference agrees it is out of range
