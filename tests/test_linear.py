"""mxref.linear (an MX linear layer, y = x @ w.T + bias): equal to the direct composition
quantize -> matmul -> one float32 bias addition; weight-only and unquantized sides against the
Fraction reference loop; the bias rule on a case typed by hand; shapes, validation; torchao's MX
tensors (quantization bit for bit, its emulated F.linear within float32 summation error)."""

import math
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mxref
from mxref import reference

MX = list(mxref.MX_FORMATS)
MODELS = list(mxref.options.FLOAT32_ACCUMULATORS)


def bits(a):
    return np.asarray(a, np.float32).view(np.uint32)


def wide(rng, shape, spread=12):
    """float32 values with a spread of exponents, some zeros."""
    x = rng.standard_normal(shape) * np.exp2(rng.integers(-spread, spread, shape))
    x[rng.random(shape) < 0.05] = 0.0
    return x.astype(np.float32)


def as_B(w, fmt, **kw):
    """w (N, K) quantized per output channel along K, laid out as the (K, N) right operand."""
    return mxref.quantize(np.ascontiguousarray(w.T), fmt, axis=0, **kw)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("fa, fw", [("mxfp8_e4m3", "mxfp8_e4m3"), ("mxfp8_e5m2", "mxfp4_e2m1"),
                                    ("mxint8", "mxfp6_e3m2"), ("mxfp6_e2m3", "mxint8")])
def test_linear_is_quantize_matmul_then_bias(fa, fw, model):
    rng = np.random.default_rng(len(fa) * 7 + len(fw))
    x = wide(rng, (2, 3, 100))
    w = wide(rng, (5, 100))
    bias = wide(rng, 5)
    y = mxref.linear(x, w, bias, act_format=fa, weight_format=fw, accumulate=model)
    A = mxref.quantize(x.reshape(6, 100), fa, axis=1)
    C = mxref.matmul(A, as_B(w, fw), accumulate=model)
    want = np.add(C, bias, dtype=np.float32).reshape(2, 3, 5)
    assert y.shape == (2, 3, 5) and y.dtype == np.float32
    assert np.array_equal(bits(y), bits(want))
    y0 = mxref.linear(x, w, act_format=fa, weight_format=fw, accumulate=model)
    assert np.array_equal(bits(y0), bits(C.reshape(2, 3, 5)))


def test_quantization_options_pass_through():
    rng = np.random.default_rng(11)
    x, w = wide(rng, (3, 64)), wide(rng, (4, 64))
    kw = dict(scale_rule="rceil", rounding="ties_away")
    y = mxref.linear(x, w, act_format="mxfp4_e2m1", weight_format="mxfp6_e2m3", **kw)
    C = mxref.matmul(mxref.quantize(x, "mxfp4_e2m1", axis=1, **kw), as_B(w, "mxfp6_e2m3", **kw))
    assert np.array_equal(bits(y), bits(C))
    y16 = mxref.linear(x, w, act_format="mxfp8_e4m3", weight_format="mxfp8_e4m3", block_size=16)
    C16 = mxref.matmul(mxref.quantize(x, "mxfp8_e4m3", axis=1, block_size=16),
                       as_B(w, "mxfp8_e4m3", block_size=16))
    assert np.array_equal(bits(y16), bits(C16))


@st.composite
def float_side(draw, n, K):
    """n rows of K float32 values from a drawn seed: exponents spread up to +-spread around a
    drawn centre, subnormals, signed zeros, the largest float32, sometimes Inf/NaN."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    spread, centre = draw(st.integers(0, 140)), draw(st.integers(-100, 100))
    e = np.clip(centre + rng.integers(-spread, spread + 1, (n, K)), -160, 127)
    with np.errstate(over="ignore"):  # beyond float32: Inf, also a case
        x = (rng.standard_normal((n, K)) * np.exp2(e.astype(np.float64))).astype(np.float32)
    pool = np.array([0.0, -0.0, 1e-45, -3e-42, 2.0**-126, 3.4e38, -1.0], np.float32)
    pick = rng.random((n, K)) < draw(st.sampled_from([0.0, 0.1, 0.5]))
    x[pick] = rng.choice(pool, int(pick.sum()))
    if draw(st.integers(0, 9)) == 0:
        x[draw(st.integers(0, n - 1)), draw(st.integers(0, K - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return x


@settings(max_examples=max(10, settings().max_examples // 4))
@given(st.data(), st.sampled_from([None] + MX), st.sampled_from([None] + MX), st.sampled_from(MODELS),
       st.integers(1, 70), st.sampled_from([32, 5]))
def test_float_sides_against_the_fraction_loop(data, fa, fw, model, K, k):
    """Weight-only (act_format=None), unquantized weights (weight_format=None) and both
    quantized: every output element == reference.dot_scalar on the exact values of the two
    sides (float32 values, or the MX values), then fl32(. + bias)."""
    x = data.draw(float_side(2, K))
    w = data.draw(float_side(3, K))
    bias = data.draw(float_side(1, 3))[0]
    y = mxref.linear(x, w, bias, act_format=fa, weight_format=fw, accumulate=model, block_size=k)

    def side(v, fmt):
        if fmt is None:
            return [[float(t) for t in row] for row in v]
        mx = mxref.quantize(v, fmt, axis=1, block_size=k)
        return [reference.mx_values_scalar(mxref.MXArray(mx.format, k, 0, (K,), mx.scales[r], mx.elements[r]))
                for r in range(v.shape[0])]

    xs, ws = side(x, fa), side(w, fw)
    with np.errstate(invalid="ignore", over="ignore"):
        for r in range(2):
            for n in range(3):
                acc = reference.dot_scalar(xs[r], ws[n], accumulate=model, block_size=k)
                want = np.float32(acc + bias[n])
                got = y[r, n]
                assert (np.isnan(got) and np.isnan(want)) or bits(got) == bits(want), (r, n, got, want)


def test_bias_is_added_after_the_rounding():
    """x.w = 4096 * 4096 + 1 * 1 = 2^24 + 1 exactly (E5M2 weights hold 4096 and 1 exactly);
    rounded once it is 2^24 (a tie, to even); + bias 1.0 is 2^24 + 1, again a tie: 2^24.
    Had the bias been part of the exact sum, 2^24 + 2 would be exact."""
    x = np.array([[4096.0, 1.0]], np.float32)
    w = np.array([[4096.0, 1.0]], np.float32)
    y = mxref.linear(x, w, np.array([1.0], np.float32), weight_format="mxfp8_e5m2")
    assert y[0, 0] == np.float32(16777216.0)
    assert mxref.linear(x, w, weight_format="mxfp8_e5m2")[0, 0] == np.float32(16777216.0)


def test_unquantized_linear_is_the_exact_sum_rounded_once():
    rng = np.random.default_rng(2)
    x, w = wide(rng, (3, 40), 40), wide(rng, (2, 40), 40)
    y = mxref.linear(x, w, act_format=None, weight_format=None)
    for r in range(3):
        for n in range(2):
            exact = sum(F(float(a)) * F(float(b)) for a, b in zip(x[r], w[n]))
            assert bits(y[r, n]) == bits(reference.round_float32_scalar(exact))


def test_shapes_and_inputs():
    rng = np.random.default_rng(4)
    w = wide(rng, (3, 64))
    x1 = wide(rng, 64)
    y1 = mxref.linear(x1, w, act_format="mxfp8_e4m3")
    assert y1.shape == (3,)
    assert np.array_equal(bits(y1), bits(mxref.linear(x1[None], w, act_format="mxfp8_e4m3")[0]))
    x0 = np.zeros((2, 0, 64), np.float32)
    assert mxref.linear(x0, w).shape == (2, 0, 3)
    # float64 x holding float32 values: the same as float32 (weight-only keeps float32 values)
    xs = wide(rng, (2, 64))
    assert np.array_equal(bits(mxref.linear(xs.astype(np.float64), w)), bits(mxref.linear(xs, w)))
    before = (xs.copy(), w.copy())
    mxref.linear(xs, w, act_format="mxfp4_e2m1", accumulate="fp32_sequential")
    assert np.array_equal(before[0], xs) and np.array_equal(before[1], w)


def test_bad_arguments():
    rng = np.random.default_rng(0)
    x, w = wide(rng, (2, 64)), wide(rng, (3, 64))
    with pytest.raises(ValueError, match="w must be 2-D"):
        mxref.linear(x, w[0])
    with pytest.raises(ValueError, match="w must have K = 64"):
        mxref.linear(x, w[:, :32])
    with pytest.raises(ValueError, match=r"bias must have shape \(3,\)"):
        mxref.linear(x, w, np.ones(4, np.float32))
    with pytest.raises(ValueError, match="x holds float64 values that are not float32"):
        mxref.linear(x.astype(np.float64) + 2.0**-40, w)
    with pytest.raises(ValueError, match="accumulate must be one of"):
        mxref.linear(x, w, accumulate="bf16")
    with pytest.raises(ValueError, match="unknown MX format"):
        mxref.linear(x, w, weight_format="mxfp3")
    with pytest.raises(TypeError, match="x must be a floating array"):
        mxref.linear(np.ones((2, 64), np.int32), w)
    with pytest.raises(ValueError, match="block_size"):
        mxref.linear(x, w, block_size=0)


# ----- torchao --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt, tdt", [("mxfp8_e4m3", "float8_e4m3fn"), ("mxfp8_e5m2", "float8_e5m2")])
def test_torchao_mx_linear(fmt, tdt):
    """torchao quantizes input rows and weight rows along K exactly as mxref (FLOOR scales, RNE);
    the exact product of its dequantized tensors is mxref.linear's "exact" result, and its
    emulated F.linear (float32 addmm, order unspecified) lies within the float32 summation bound
    of it."""
    torch = pytest.importorskip("torch")
    mxt = pytest.importorskip("torchao.prototype.mx_formats.mx_tensor")
    cfg = pytest.importorskip("torchao.prototype.mx_formats.config")
    rng = np.random.default_rng(8)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((6, 128), (4, 128), (4,)))
    dt = getattr(torch, tdt)
    floor = cfg.ScaleCalculationMode.FLOOR
    xm = mxt.MXTensor.to_mx(torch.from_numpy(x), dt, block_size=32, scaling_mode=floor)
    wm = mxt.MXTensor.to_mx(torch.from_numpy(w), dt, block_size=32, scaling_mode=floor)
    for t, v in ((xm, x), (wm, w)):
        ours = mxref.quantize(v, fmt, axis=1)
        assert np.array_equal(t.qdata.view(torch.uint8).numpy(), ours.elements)
        assert np.array_equal(t.scale.view(torch.uint8).numpy().reshape(ours.scales.shape), ours.scales)
    xd = xm.dequantize(torch.float32).double()
    wd = wm.dequantize(torch.float32).double()
    # float64 sum exact here: every product is a multiple of 2^lo and below 2^hi, hi - lo + 7 <= 53
    prods = (xd[:, None, :] * wd[None, :, :]).numpy()
    nz = np.abs(prods[prods != 0])
    lo = int(np.frexp(nz.min())[1]) - 1 - 16
    hi = int(np.frexp(nz.max())[1])
    assert hi - lo + 7 <= 53
    exact = (xd @ wd.T).numpy().astype(np.float32)  # one rounding of an exact float64 sum
    ours = mxref.linear(x, w, act_format=fmt, weight_format=fmt)
    assert np.array_equal(bits(ours), bits(exact))
    y = torch.nn.functional.linear(xm, wm, torch.from_numpy(b)).numpy()
    ref = mxref.linear(x, w, b, act_format=fmt, weight_format=fmt).astype(np.float64)
    bound = 130 * 2.0**-24 * (np.abs(prods).sum(axis=2) + np.abs(b)) + 2.0**-149
    assert (np.abs(y.astype(np.float64) - ref) <= 2 * bound).all()
    assert not math.isnan(float(y.sum()))
