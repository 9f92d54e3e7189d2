"""MX block conversion (MX §6.3) and dequantization (MX §5.1): fast == exact Fraction block
reference on Hypothesis blocks built to hit the boundaries; properties; cross-check with gfloat."""

import functools
import math
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, note, settings, strategies as st

import mxref
from mxref import reference
from mxref.options import INF_POLICIES, SCALE_RULES
from draws import FRAC as _FRAC, SIGNS as _SIGNS, SPECIAL as _SPECIAL, ZEROS as _ZEROS

MX = list(mxref.MX_FORMATS)
ROUNDINGS = list(mxref.ROUNDING_MODES)


def _ulp_below(v):
    return math.nextafter(v, 0)


# Strategies and per-format tables the composite strategies below draw from, built once: the same
# strategies drawn in the same order yield the same examples as building them in every draw did
# (the ci profile is derandomized), at a fraction of the cost.


@functools.lru_cache(maxsize=None)
def _grid_midpoints(el):
    """The midpoints of the finite non-negative element values (from mxref.decode), and their
    sampled_from strategy."""
    grid = sorted({abs(float(v)) for v in mxref.decode(np.arange(el.num_codes), el, np.float64) if np.isfinite(v)})
    mids = [(a + b) / 2 for a, b in zip(grid, grid[1:])]
    return st.sampled_from(mids)


@st.composite
def blocks(draw):
    """One block's values, drawn around what breaks implementations."""
    fmt = mxref.MX_FORMATS[draw(st.sampled_from(MX))]
    el = fmt.element
    n = draw(st.integers(1, 40))
    k = draw(st.integers(-140, 135))
    kind = draw(st.sampled_from(["pow2", "below", "above", "clip", "ties", "random", "tiny", "huge",
                                 "zeros", "special"]))
    if kind in ("pow2", "below", "above"):
        top = {"pow2": 1.0, "below": 1 - 2.0**-24, "above": 1 + 2.0**-23}[kind]
        top = draw(st.sampled_from([top, 1 - 2.0**-53, 1 + 2.0**-52])) if draw(st.booleans()) else top
    elif kind == "clip":  # amax mantissa above max / 2^emax: the largest element clips
        lo = el.max / 2.0**el.emax
        top = draw(st.floats(lo, 2.0, exclude_max=True))
    elif kind == "ties":  # elements on the midpoints of the element grid after scaling
        top = 1.0
    else:
        top = draw(st.floats(1.0, 2.0, exclude_max=True))
    amax = math.ldexp(top, k)
    if kind == "tiny":
        amax = math.ldexp(top, draw(st.integers(-160, -120)))
    if kind == "huge":
        amax = math.ldexp(top, draw(st.integers(120, 140)))
    if kind == "ties":
        mids = _grid_midpoints(el)
        scale = math.ldexp(1.0, k)
        vals = [draw(mids) * scale * draw(_SIGNS) for _ in range(n)]
        vals.append(math.ldexp(1.0, el.emax) * scale)
    elif kind == "zeros":
        vals = [draw(_ZEROS) for _ in range(n)]
    else:
        vals = [amax * draw(_FRAC) * draw(_SIGNS) for _ in range(n - 1)]
        vals.insert(draw(st.integers(0, n - 1)), amax * draw(_SIGNS))
    if kind == "special" or draw(st.integers(0, 9)) == 0:
        vals[draw(st.integers(0, len(vals) - 1))] = draw(_SPECIAL)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    with np.errstate(over="ignore", under="ignore"):
        x = np.array(vals, dtype=np.float64).astype(dtype)
    return fmt, x


@settings(max_examples=settings().max_examples * 3)
@given(blocks(), st.sampled_from(SCALE_RULES), st.sampled_from(ROUNDINGS), st.sampled_from(INF_POLICIES),
       st.booleans(), st.booleans(), st.sampled_from(["clamp", "nan"]), st.data())
def test_fast_equals_exact_block_reference(fb, rule, rounding, inf_policy, flush, allow, scale_overflow, data):
    fmt, x = fb
    kw = dict(scale_rule=rule, rounding=rounding, inf_policy=inf_policy, flush_subnormals=flush,
              int8_allow_minus128=allow, scale_overflow=scale_overflow)
    rb = None
    if rounding == "stochastic":
        n = data.draw(st.sampled_from([1, 4, 8, 16, 32]))
        rb = np.array(data.draw(st.lists(st.integers(0, (1 << n) - 1), min_size=x.size, max_size=x.size)), np.uint64)
        kw.update(random_bit_count=n)
    note(f"{fmt.name} {x.dtype} {[float(v).hex() for v in x]} {kw}")
    mx = mxref.quantize(x, fmt, block_size=x.size, random_bits=rb, **kw)
    s, codes = reference.quantize_block_scalar(x.tolist(), fmt, random_bits=None if rb is None else rb.tolist(), **kw)
    assert int(mx.scales[0]) == s
    assert mx.elements.tolist() == codes
    # dequantize: X * P exactly (float64), and float32 equal to it where finite
    v64 = mx.dequantize(np.float64)
    for c, v in zip(codes, v64.tolist()):
        if s == 0xFF:
            assert math.isnan(v)
            continue
        d = reference.decode_exact(c, fmt.element)
        if isinstance(d, str):
            assert math.isnan(v) if "nan" in d else v == (-math.inf if d == "-inf" else math.inf)
        else:
            sign, mag = d
            assert F(v) == (-1 if sign else 1) * mag * F(2) ** (s - 127)
            assert math.copysign(1, v) == (-1 if sign else 1)


def test_every_mx_format_rule_and_rounding_on_a_random_array():
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((3, 70)) * np.exp2(rng.integers(-30, 30, (3, 1)))).astype(np.float32)
    for name in MX:
        for rule in SCALE_RULES:
            for rounding in ROUNDINGS:
                kw = {}
                if rounding == "stochastic":
                    kw = dict(random_bits=rng.integers(0, 256, x.shape), random_bit_count=8)
                mx = mxref.quantize(x, name, scale_rule=rule, rounding=rounding, **kw)
                for r in range(3):
                    for b in range(3):
                        sl = slice(32 * b, 32 * (b + 1))
                        rb = None if not kw else kw["random_bits"][r, sl].tolist()
                        s, c = reference.quantize_block_scalar(
                            x[r, sl].tolist(), name, scale_rule=rule, rounding=rounding,
                            random_bits=rb, random_bit_count=kw.get("random_bit_count"))
                        assert mx.scales[r, b] == s and mx.elements[r, sl].tolist() == c


# ----- rules, known answers -----------------------------------------------------------------------

def _scale(x, name, rule):
    return int(mxref.quantize(np.array(x, dtype=np.float64), name, scale_rule=rule).scales[0]) - 127


def test_floor_rule_exact_below_a_power_of_two():
    """amax = 2^k (1 - 2^-24): floor(log2) is k - 1; a float log2 would say k (MX notes §4)."""
    for k in (-100, -3, 0, 1, 7, 100):
        v = math.ldexp(1 - 2.0**-24, k)
        assert _scale([v], "mxfp8_e4m3", "floor") == k - 1 - 8
        assert _scale([math.ldexp(1.0, k)], "mxfp8_e4m3", "floor") == k - 8
        v53 = math.ldexp(1 - 2.0**-53, k)
        assert _scale([v53], "mxfp8_e4m3", "floor") == k - 1 - 8


def test_rules_known_answers():
    # E4M3: emax 8, max 448 = 1.75 * 2^8
    assert _scale([448.0], "mxfp8_e4m3", "floor") == 0
    assert _scale([449.0], "mxfp8_e4m3", "floor") == 0  # clips to 448
    assert _scale([449.0], "mxfp8_e4m3", "rceil") == 1  # 449/448 > 1 -> ceil = 1
    assert _scale([448.0], "mxfp8_e4m3", "rceil") == 0
    assert _scale([447.0], "mxfp8_e4m3", "round_down") == -1
    assert _scale([448.0], "mxfp8_e4m3", "round_down") == 0
    assert _scale([300.0], "mxfp8_e4m3", "ceil") == 1  # ceil(log2 300) = 9
    assert _scale([256.0], "mxfp8_e4m3", "ceil") == 0
    # EVEN: amax rounded half-up to 3 mantissa bits: 1.9375 * 2^8 = 496 -> 2^9
    assert _scale([496.0], "mxfp8_e4m3", "even") == 1
    assert _scale([495.0], "mxfp8_e4m3", "even") == 0
    # FP4: emax 2, max 6 = 1.5 * 2^2; EVEN half-up at 1 mantissa bit: 1.75 * 4 = 7 -> 8
    assert _scale([7.0], "mxfp4_e2m1", "even") == 1 and _scale([6.99], "mxfp4_e2m1", "even") == 0
    assert _scale([6.0], "mxfp4_e2m1", "rceil") == 0 and _scale([6.01], "mxfp4_e2m1", "rceil") == 1


def test_clamps_and_scale_overflow():
    assert _scale([2.0**-140], "mxfp8_e4m3", "floor") == -127
    huge = [2.0**200]
    assert _scale(huge, "mxfp4_e2m1", "floor") == 127
    mx = mxref.quantize(np.array(huge), "mxfp4_e2m1", scale_overflow="nan")
    assert mx.scales[0] == 0xFF and mx.elements[0] == 0
    assert mxref.quantize(np.array(huge), "mxfp4_e2m1").elements[0] == 0x7  # saturates


def test_special_blocks():
    z = mxref.quantize(np.array([0.0, -0.0] * 16), "mxfp8_e4m3")
    assert z.scales[0] == 0 and z.elements.tolist() == [0x00, 0x80] * 16
    assert mxref.quantize(np.zeros(32), "mxfp4", zero_scale=127).scales[0] == 127
    n = mxref.quantize(np.array([1.0, np.nan, 3.0]), "mxfp8_e5m2")
    assert n.scales[0] == 0xFF and n.elements.tolist() == [0, 0, 0]
    assert np.isnan(n.dequantize()).all()
    i = mxref.quantize(np.array([1.0, np.inf, -3.0]), "mxfp8_e5m2")
    assert i.scales[0] == 0xFF
    f = mxref.quantize(np.array([1.0, np.inf, -np.inf, -3.0]), "mxfp8_e5m2", inf_policy="finite_scale")
    assert f.scales[0] == 1 - 15 + 127  # from amax 3
    assert f.elements.tolist()[1:3] == [0x7C, 0xFC]
    assert f.dequantize().tolist()[:3] == [1.0, math.inf, -math.inf]
    e4 = mxref.quantize(np.array([1.0, -np.inf]), "mxfp8_e4m3", inf_policy="finite_scale")
    assert e4.elements.tolist()[1] == 0xFF
    f4 = mxref.quantize(np.array([1.0, -np.inf]), "mxfp4", inf_policy="finite_scale")
    # amax 1.0: shared_exp = 0 - 2 = -2, 1.0 / 2^-2 = 4.0 -> code 0x6; -Inf -> -max (0xF)
    assert f4.elements.tolist() == [0x6, 0xF]


def test_flush_subnormals_option():
    x = np.array([2.0**-130, -2.0**-140, 2.0**-126], dtype=np.float32)
    keep = mxref.quantize(x, "mxfp8_e4m3")
    flush = mxref.quantize(x, "mxfp8_e4m3", flush_subnormals=True)
    assert keep.dequantize().tolist()[:2] != [0.0, 0.0]
    assert flush.elements.tolist()[:2] == [0x00, 0x80]
    assert flush.dequantize()[2] == np.float32(2.0**-126)


def test_int8_minus128_option():
    # amax 1.999: shared_exp = 0 - 0 = 0, so -1.999 * 64 = -127.94 rounds to -128
    y = np.array([1.5, -1.999])
    assert mxref.quantize(y, "mxint8").elements.tolist()[1] == 0x81
    assert mxref.quantize(y, "mxint8", int8_allow_minus128=True).elements.tolist()[1] == 0x80


# ----- properties ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _finite_and_top(el):
    """sampled_from strategies of the element's finite codes (INT8 without -128) and of those whose
    magnitude is in the top binade (>= 2^emax), each code decoded by mxref.decode."""
    finite = [c for c in range(el.num_codes) if np.isfinite(mxref.decode([c], el, np.float64)[0])]
    if el.integer:
        finite = [c for c in finite if c != 0x80]
    top = [c for c in finite if 2.0**el.emax <= abs(mxref.decode([c], el, np.float64)[0])]
    return st.sampled_from(finite), st.sampled_from(top)


@st.composite
def representable_blocks(draw):
    """Blocks whose values are X * P_i for a power-of-two X and element values P_i whose largest
    magnitude sits in the element's top binade (so the floor rule recovers X)."""
    fmt = mxref.MX_FORMATS[draw(st.sampled_from(MX))]
    el = fmt.element
    finite, top = _finite_and_top(el)
    codes = draw(st.lists(finite, min_size=1, max_size=32))
    codes[draw(st.integers(0, len(codes) - 1))] = draw(top)
    e = draw(st.integers(-127, 127 - el.emax - 1))
    vals = mxref.decode(codes, el, np.float64) * 2.0**e
    return fmt, vals, codes, e


@given(representable_blocks())
def test_dequantize_quantize_is_identity_on_representable(b):
    fmt, vals, codes, e = b
    mx = mxref.quantize(vals, fmt, block_size=len(vals))
    assert int(mx.scales[0]) == e + 127
    assert np.array_equal(mx.dequantize(np.float64), vals)
    assert np.array_equal(mx.dequantize(np.float32), vals.astype(np.float32))


@given(blocks(), st.integers(-20, 20))
def test_scaling_by_power_of_two_shifts_the_scale(fb, k):
    fmt, x = fb
    x = x.astype(np.float64)
    if not np.isfinite(x).all() or not (x != 0).any():
        return
    mx = mxref.quantize(x, fmt, block_size=x.size)
    se = int(mx.scales[0]) - 127
    if not (-127 + 25 < se < 127 - 25):
        return  # away from the clamps only
    my = mxref.quantize(np.ldexp(x, k), fmt, block_size=x.size)
    assert int(my.scales[0]) == int(mx.scales[0]) + k
    assert np.array_equal(my.elements, mx.elements)


@given(blocks(), st.sampled_from(SCALE_RULES))
def test_sign_symmetry_and_idempotence(fb, rule):
    fmt, x = fb
    mx = mxref.quantize(x, fmt, block_size=x.size, scale_rule=rule)
    neg = mxref.quantize(-x, fmt, block_size=x.size, scale_rule=rule)
    assert np.array_equal(neg.scales, mx.scales)
    v, w = mx.dequantize(np.float64), neg.dequantize(np.float64)
    assert np.array_equal(np.isnan(v), np.isnan(w))
    ok = ~np.isnan(v)
    assert np.array_equal(-v[ok], w[ok])
    again = mxref.quantize(v, fmt, block_size=x.size, scale_rule=rule)
    if mx.scales[0] != 0xFF:
        assert np.array_equal(again.dequantize(np.float64), v)


# ----- layout: axis, rank, ragged lengths ---------------------------------------------------------

@pytest.mark.parametrize("shape, axis", [((70,), 0), ((3, 70), -1), ((70, 3), 0), ((2, 33, 5), 1),
                                         ((2, 3, 64), -1), ((5, 2, 31), -3)])
def test_any_axis_and_ragged(shape, axis):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(np.float32) * 10
    mx = mxref.quantize(x, "mxfp6_e3m2", axis=axis)
    ax = axis % len(shape)
    nb = -(-shape[ax] // 32)
    assert mx.elements.shape == shape and mx.axis == ax
    assert mx.scales.shape == shape[:ax] + (nb,) + shape[ax + 1:]
    xm = np.moveaxis(x, ax, -1).reshape(-1, shape[ax])
    em = np.moveaxis(mx.elements, ax, -1).reshape(-1, shape[ax])
    sm = np.moveaxis(mx.scales, ax, -1).reshape(-1, nb)
    for r in range(xm.shape[0]):
        for b in range(nb):
            s, c = reference.quantize_block_scalar(xm[r, 32 * b:32 * (b + 1)].tolist(), "mxfp6_e3m2")
            assert sm[r, b] == s and em[r, 32 * b:32 * (b + 1)].tolist() == c
    back = mx.dequantize()
    assert back.shape == shape and back.dtype == np.float32


def test_mxarray_object():
    x = np.linspace(-3, 3, 64, dtype=np.float32).reshape(2, 32)
    a = mxref.quantize(x, "mxfp8_e4m3")
    assert a == mxref.quantize(x, "mxfp8_e4m3")
    assert a != mxref.quantize(x, "mxfp8_e4m3", scale_rule="rceil")  # options are part of equality
    assert a.is_mx_v1 and a.bits_per_element == 8.25 and a.nbytes == 64 + 2
    b = mxref.quantize(x, "mxfp4_e2m1", block_size=16)
    assert not b.is_mx_v1 and "not MX v1.0" in repr(b)
    assert b.bits_per_element == 4 + 8 / 16 and b.nbytes == 32 + 4
    assert mxref.quantize(np.ones(32), "mxfp6_e2m3").bits_per_element == 6.25
    assert "mxfp8_e4m3" in repr(a) and "scale_rule='floor'" in repr(a)
    assert np.array_equal(a.dequantize(), mxref.dequantize(a))



def test_mxarray_built_by_hand_is_checked():
    """An MXArray from another library's codes: decoded as the spec says, and incoherent pieces
    are refused with the argument named. Expected values typed from E2M1 (0x1 = 0.5, 0x7 = 6,
    0xA = -1) and E8M0 (0x80 = 2, 0xFF = NaN)."""
    el = np.array([[0x1, 0x7, 0xA, 0x0]], np.uint8)
    mx = mxref.MXArray("mxfp4_e2m1", 2, -1, (1, 4), np.array([[0x80, 0xFF]], np.uint8), el)
    assert mx.axis == 1 and mx.format is mxref.MX_FORMATS["mxfp4_e2m1"]
    got = mx.dequantize()
    assert got[0, :2].tolist() == [1.0, 12.0] and np.isnan(got[0, 2:]).all()
    ok = dict(format="mxfp4_e2m1", block_size=2, axis=-1, shape=(1, 4),
              scales=np.array([[0x80, 0x7F]], np.uint8), elements=el)
    for bad, exc, msg in [
        (dict(elements=el.astype(np.int32)), TypeError, "elements must be a uint8"),
        (dict(scales=[[1, 2]]), TypeError, "scales must be a uint8"),
        (dict(elements=np.array([[0x10, 0, 0, 0]], np.uint8)), ValueError, "outside the fp4_e2m1 codes"),
        (dict(scales=np.zeros((1, 3), np.uint8)), ValueError, "scales must have shape"),
        (dict(shape=(4,)), ValueError, "elements must have shape"),
        (dict(axis=2), ValueError, "axis"),
        (dict(block_size=0), ValueError, "block_size"),
        (dict(format="mxfp5"), ValueError, "unknown MX format"),
    ]:
        with pytest.raises(exc, match=msg):
            mxref.MXArray(**{**ok, **bad})

def test_names():
    for alias, name in [("mxfp4", "mxfp4_e2m1"), ("fp4", "mxfp4_e2m1"), ("float8_e4m3fn", "mxfp8_e4m3"),
                        ("int8", "mxint8"), ("MXFP6_E3M2", "mxfp6_e3m2")]:
        assert mxref.mx_format(alias) is mxref.MX_FORMATS[name]
    with pytest.raises(ValueError, match="known"):
        mxref.mx_format("mxfp5")
    with pytest.raises(ValueError, match="known"):
        mxref.mx_format("e8m0")


# ----- dequantize ---------------------------------------------------------------------------------

def test_dequantize_dtypes():
    import ml_dtypes

    x = np.array([1e-8, 3.0, -200.0, 7e-6] * 8, dtype=np.float32)
    mx = mxref.quantize(x, "mxfp8_e5m2")
    v64 = mx.dequantize(np.float64)
    assert np.array_equal(mx.dequantize(), v64.astype(np.float32))
    h = mx.dequantize(np.float16)
    assert h.dtype == np.float16 and np.array_equal(h, v64.astype(np.float16))  # numpy rounds once here
    bf = mx.dequantize(ml_dtypes.bfloat16)
    assert bf.dtype == np.dtype(ml_dtypes.bfloat16)
    # bfloat16 by RNE from the exact value, checked with Fractions
    for v, b in zip(v64.tolist(), bf.astype(np.float64).tolist()):
        grid_step = F(2) ** (math.frexp(v)[1] - 8)
        assert abs(F(b) - F(v)) <= grid_step / 2
    with pytest.raises(ValueError, match="dtype"):
        mx.dequantize(np.int32)
    with pytest.raises(TypeError, match="MXArray"):
        mxref.dequantize(np.zeros(3))


def test_dequantize_float16_underflow_and_overflow():
    mx = mxref.quantize(np.array([2.0**-30, 1.0, 2.0**20], dtype=np.float32), "mxfp8_e5m2", block_size=1)
    assert mx.dequantize(np.float16).tolist() == [0.0, 1.0, math.inf]


# ----- inputs and errors ---------------------------------------------------------------------------

def test_input_types_and_untouched():
    x = np.random.default_rng(0).standard_normal((4, 64)).astype(np.float32)
    before = x.copy()
    a = mxref.quantize(x, "mxfp8_e4m3")
    assert np.array_equal(x, before)
    assert a == mxref.quantize(x.astype(np.float64), "mxfp8_e4m3")
    assert a == mxref.quantize(x.tolist(), "mxfp8_e4m3")
    torch = pytest.importorskip("torch")
    assert a == mxref.quantize(torch.from_numpy(x), "mxfp8_e4m3")
    bf = torch.from_numpy(x).to(torch.bfloat16)
    bits = bf.view(torch.int16).numpy().view(np.uint16)
    assert mxref.quantize(bf, "mxfp4") == mxref.quantize(mxref.bfloat16_bits_to_float32(bits), "mxfp4")


def test_bad_arguments():
    x = np.ones((2, 64))
    with pytest.raises(ValueError, match="scale_rule"):
        mxref.quantize(x, "mxfp8_e4m3", scale_rule="log2")
    with pytest.raises(ValueError, match="rounding"):
        mxref.quantize(x, "mxfp8_e4m3", rounding="nearest")
    with pytest.raises(ValueError, match="axis"):
        mxref.quantize(x, "mxfp8_e4m3", axis=2)
    with pytest.raises(TypeError, match="axis"):
        mxref.quantize(x, "mxfp8_e4m3", axis=1.0)
    with pytest.raises(ValueError, match="block_size"):
        mxref.quantize(x, "mxfp8_e4m3", block_size=0)
    with pytest.raises(ValueError, match="inf_policy"):
        mxref.quantize(x, "mxfp8_e4m3", inf_policy="ignore")
    with pytest.raises(ValueError, match="zero_scale"):
        mxref.quantize(x, "mxfp8_e4m3", zero_scale=255)
    with pytest.raises(ValueError, match="scale_overflow"):
        mxref.quantize(x, "mxfp8_e4m3", scale_overflow="wrap")
    with pytest.raises(ValueError, match="dimension"):
        mxref.quantize(np.float32(1.0), "mxfp8_e4m3")
    with pytest.raises(TypeError, match="floating"):
        mxref.quantize(np.ones(4, np.uint8), "mxfp8_e4m3")
    with pytest.raises(ValueError, match="random_bits"):
        mxref.quantize(x, "mxfp8_e4m3", rounding="stochastic", random_bits=np.zeros(3, np.uint8), random_bit_count=8)
    with pytest.raises(TypeError, match="flush_subnormals"):
        mxref.quantize(x, "mxfp8_e4m3", flush_subnormals=1)


# ----- gfloat's block quantizer ------------------------------------------------------------------

def test_gfloat_block_quantizer_random_blocks():
    """gfloat.quantize_block (floor rule via float log2, RNE) on random float32 blocks: equal
    values. (gfloat's log2 is taken in float64 of a float32 amax, which is exact enough here.)"""
    gfloat = pytest.importorskip("gfloat")
    from gfloat import RoundMode, quantize_block
    from gfloat.formats import (format_info_mxfp4_e2m1, format_info_mxfp6_e2m3, format_info_mxfp6_e3m2,
                                format_info_mxfp8_e4m3, format_info_mxfp8_e5m2, format_info_mxint8)
    from gfloat.block import compute_scale_amax

    gf = {"mxfp8_e4m3": format_info_mxfp8_e4m3, "mxfp8_e5m2": format_info_mxfp8_e5m2,
          "mxfp6_e2m3": format_info_mxfp6_e2m3, "mxfp6_e3m2": format_info_mxfp6_e3m2,
          "mxfp4_e2m1": format_info_mxfp4_e2m1, "mxint8": format_info_mxint8}
    rng = np.random.default_rng(11)
    for name, fi in gf.items():
        for t in range(40):
            x = (rng.standard_normal(32) * 2.0 ** rng.integers(-20, 20)).astype(np.float32)
            theirs = quantize_block(fi, x.astype(np.float64), compute_scale_amax, RoundMode.TiesToEven)
            ours = mxref.quantize(x, name, int8_allow_minus128=True).dequantize(np.float64)
            assert np.array_equal(ours, theirs), (name, t)


def _general(x, name, **kw):
    """quantize on the general (integer) path: x as float64, the float64-as-float32 shortcut off."""
    import mxref.conversion as conv
    conv.F64_AS_F32 = False
    try:
        return mxref.quantize(x.astype(np.float64), name, **kw)
    finally:
        conv.F64_AS_F32 = True


def test_float64_chunks_of_float32_values_are_recognised():
    """_all_float32 (the float64 input's shortcut to the float32 path) says yes exactly when
    every value is a float32 or a NaN: NaN payloads and signs, +-Inf, -0.0 and float32
    subnormals yes; one float64-only value, a float64 subnormal, or a value past float32's range
    no (its cast is Inf)."""
    from mxref.conversion import _all_float32
    base = np.array([1.5, -0.0, 0.0, np.inf, -np.inf, 2.0 ** -149, -(2.0 ** -126), 3.4028234663852886e38])
    nans = np.array([0x7FF8000000000000, 0xFFF8000000000001, 0x7FF0000000000001], np.uint64).view(np.float64)
    for x, want in ((base, True), (np.concatenate([base, nans]), True), (nans, True),
                    (np.append(base, 1.0 + 2.0 ** -30), False), (np.append(nans, 2.0 ** -150), False),
                    (np.append(base, 2.0 ** -1074), False), (np.append(base, 2.0 ** 128), False),
                    (np.append(nans, 1e300), False)):
        with np.errstate(over="ignore", invalid="ignore"):
            c32 = x.astype(np.float32)
            assert want == all(np.isnan(v) or float(np.float32(v)) == v for v in x.tolist())
        assert _all_float32(c32, x) is want, x


def _random_bits_kw(rounding, shape, rng):
    """random_bits / random_bit_count for stochastic rounding (else {}): a count from 1 to 32,
    the bits in an integer dtype wide enough (uint8 to uint64, or int64)."""
    if rounding != "stochastic":
        return {}
    n = int(rng.choice([1, 3, 8, 16, 23, 31, 32]))
    dt = rng.choice([t for t in (np.uint8, np.uint16, np.uint32, np.uint64, np.int64) if np.iinfo(t).max >= (1 << n) - 1])
    return dict(random_bits=rng.integers(0, 1 << n, shape, dtype=np.uint64).astype(dt), random_bit_count=n)


def test_float32_path_equals_general_path():
    """float32 input (uint32 path) and the same values as float64 (general path) give equal
    MXArrays for every format, rule, rounding it covers and option, on arrays with NaN, Inf,
    zero blocks, float32 subnormals, huge values and ragged lengths; the general path is held to
    the Fraction reference by the tests above."""
    rng = np.random.default_rng(5)
    for t in range(24):
        L = int(rng.integers(1, 100))
        x = (rng.standard_normal((5, L)) * 2.0 ** rng.integers(-135, 125)).astype(np.float32)
        if t % 3 == 0:
            x[0, 0] = np.inf
        if t % 4 == 0:
            x[1, -1] = np.nan
        x[2, :] = 0 if t % 5 == 0 else x[2, :]
        if t % 2 == 0:
            x[3, 1] = np.float32(2.0**-140)
        x[4, : min(L, 3)] = np.float32(1.9 * 2.0**127)
        for name in MX:
            for rule in SCALE_RULES:
                for rounding in ROUNDINGS:
                    kw = dict(scale_rule=rule, rounding=rounding, flush_subnormals=bool(t % 2),
                              int8_allow_minus128=bool(t % 3), inf_policy=INF_POLICIES[t % 2],
                              scale_overflow=("clamp", "nan")[t % 7 == 0])
                    kw.update(_random_bits_kw(rounding, x.shape, rng))
                    assert mxref.quantize(x, name, **kw) == _general(x, name, **kw), (name, rule, rounding, kw)


@pytest.mark.parametrize("shape, axis", [((0,), 0), ((3, 0), -1), ((0, 64), -1), ((0, 64), 0), ((2, 0, 5), 1)])
def test_empty_inputs(shape, axis):
    for dt in (np.float32, np.float64):
        mx = mxref.quantize(np.zeros(shape, dt), "mxfp8_e4m3", axis=axis)
        nb = -(-shape[axis] // 32)
        assert mx.elements.shape == shape
        assert mx.scales.shape == shape[:axis % len(shape)] + (nb,) + shape[axis % len(shape) + 1:]
        for out in (np.float32, np.float64, np.float16):
            assert mx.dequantize(out).shape == shape


@pytest.mark.parametrize("name", MX)
def test_dequantize_16_bit_tables_equal_rounding_the_exact_value(name):
    """dequantize(float16 / bfloat16) looks up a table of 16-bit results: for every (scale,
    element code) pair, on whole-block, ragged 1-D and axis=0 layouts, the same bits as the
    exact float64 value rounded once (RNE) by the integer rounding core (NaNs: the quiet NaN)."""
    from mxref._kernel import round_to_ieee
    from mxref.formats import FORMATS
    mxf = mxref.mx_format(name)
    nc = mxf.element.num_codes
    k = min(32, nc)
    # every scale code with every element code: (256, nc) pairs, blocks of 32 along the last axis
    codes = np.tile(np.arange(nc, dtype=np.uint8), (256, 1))                   # (256, nc)
    scales = np.repeat(np.arange(256, dtype=np.uint8)[:, None], nc // k, 1)    # (256, nc / 32)
    layouts = [mxref.MXArray(mxf, k, 1, codes.shape, scales, codes),
               mxref.MXArray(mxf, k, 0, codes.T.shape, scales.T, codes.T),
               mxref.MXArray(mxf, 40, 0, (codes.size - 5,), np.repeat(np.arange(256, dtype=np.uint8), nc)[::40],
                             codes.reshape(-1)[:-5])]
    for mx in layouts:
        v64 = mx.dequantize(np.float64)
        for row in ("float16", "bfloat16"):
            dt = np.float16 if row == "float16" else pytest.importorskip("ml_dtypes").bfloat16
            got = mx.dequantize(dt).view(np.uint16)
            want = round_to_ieee(v64, FORMATS[row])
            nan = np.isnan(v64)
            want[nan] &= 0x7FFF  # NaN signs: compared apart (below)
            assert np.array_equal(np.where(nan, got & 0x7FFF, got), want), (name, row)
            # an element NaN keeps its code's sign; a NaN scale (0xFF) gives the positive quiet NaN
            assert np.array_equal(got[nan] >> 15, np.where(np.take(mx.scales.repeat(mx.block_size, mx.axis), np.arange(v64.shape[mx.axis]), mx.axis)
                                                             [nan] == 0xFF, 0, np.signbit(v64[nan])))


@pytest.mark.parametrize("name", MX + ["mxint4", "mxint2", "mxfp4_e3m0"])
@pytest.mark.parametrize("row", ["float16", "bfloat16"])
def test_float32_path_equals_general_path_on_every_float16(name, row):
    """Every float16 (bfloat16) value, as float16 (bfloat16) input, which takes the float32 path
    (tables; stochastic and INT roundings other than RNE on y's bits, mxref._fast_int), against
    the same values as float64 (the general path), for every rounding (stochastic with random
    bits of several counts and dtypes) and every scale rule; once in blocks of neighbouring
    values, once with a large value heading each block (the small ones then underflow in the
    float32 product y: the directed roundings' sticky bit). bfloat16 runs the roundings outside
    the tables only (the tables see the same float32 products either way)."""
    rng = np.random.default_rng(17)
    bits = np.arange(1 << 16, dtype=np.uint16)
    if row == "float16":
        h = bits.view(np.float16)
        h = np.where(np.isfinite(h), h, np.float16(0)).reshape(-1, 32)
        big = h.copy()
        big[:, 0] = np.float16(-60000.0)
    else:
        bf16 = pytest.importorskip("ml_dtypes").bfloat16
        f = mxref.bfloat16_bits_to_float32(bits)
        h = np.where(np.isfinite(f), f, np.float32(0)).reshape(-1, 32).astype(bf16)
        big = h.copy()
        big[:, 0] = bf16(-3.0e38)
    integer = mxref.mx_format(name).element.integer
    for x in (h, big):
        for rule in SCALE_RULES:
            for rounding in ROUNDINGS:
                if row == "bfloat16" and not (rounding == "stochastic" or integer):
                    continue
                kw = dict(scale_rule=rule, rounding=rounding, **_random_bits_kw(rounding, x.shape, rng))
                xg = x.astype(np.float32) if row == "bfloat16" else x
                assert mxref.quantize(x, name, **kw) == _general(xg, name, **kw), (rule, rounding)


@pytest.mark.parametrize("name", MX + ["mxint4", "mxint2", "mxfp4_e3m0"])
def test_float32_scale_of_every_amax_exponent_equals_general_path(name):
    """The float32 path's per-block scale and factor ("floor": two 256-entry look-ups on amax's
    exponent field) against the general path, for a block whose amax has every float32 exponent
    field 0 ... 255 (zero, subnormals, every binade at its bottom, middle and top, Inf, NaN), with
    smaller values of both signs beside it, every zero_scale kind, and every scale rule (the
    other rules keep the general formula; a subnormal amax sends them to the general path)."""
    rng = np.random.default_rng(23)
    e = np.repeat(np.arange(256, dtype=np.uint32), 4)
    frac = np.tile(np.array([0, 1, 0x400000, 0x7FFFFF], np.uint32), 256)
    top = (e << np.uint32(23)) | frac  # the amax of each block (NaN for e = 255, frac != 0)
    mag = (rng.random((top.size, 32)) * (top[:, None].astype(np.float64) + 1)).astype(np.uint64)  # <= top
    mag[:, 1::3] >>= np.uint64(23)  # some far smaller ones too
    x = mag.astype(np.uint32) | (rng.integers(0, 2, mag.shape).astype(np.uint32) << np.uint32(31))
    x[:, 0] = top | (x[:, 0] & np.uint32(0x80000000))
    x[::9] = 0  # zero blocks (and -0 blocks)
    x[4::9] = np.uint32(0x80000000)
    xf = x.view(np.float32)
    amax = (x & np.uint32(0x7FFFFFFF)).max(axis=1)
    assert np.array_equal(amax[np.arange(top.size) % 9 % 4 != 0], top[np.arange(top.size) % 9 % 4 != 0])
    for rule in SCALE_RULES:
        for zero_scale in (0, 1, 127, 254):
            for inf_policy in ("nan_scale", "finite_scale"):
                kw = dict(scale_rule=rule, zero_scale=zero_scale, inf_policy=inf_policy)
                with np.errstate(invalid="ignore", over="ignore"):
                    assert mxref.quantize(xf, name, **kw) == _general(xf, name, **kw), kw


@pytest.mark.parametrize("dtype, rounding", [(np.float32, "rne"), (np.float64, "rne"), (np.float32, "stochastic")])
def test_long_ragged_row_in_pieces_equals_blocks_one_by_one(dtype, rounding):
    """A long 1-D array with a short last block is converted in whole-block pieces of the row:
    the same codes as its whole blocks laid out as rows of one block plus the short tail alone."""
    rng = np.random.default_rng(11)
    n = (1 << 18) + 13
    x = (rng.standard_normal(n) * 2.0 ** rng.integers(-20, 20, n)).astype(dtype)
    kw = {}
    rb = rng.integers(0, 1 << 8, n, dtype=np.uint16)
    if rounding == "stochastic":
        kw = dict(random_bits=rb, random_bit_count=8)
    for name in MX:
        mx = mxref.quantize(x, name, rounding=rounding, **kw)
        w = n - 13
        kwb = dict(kw, random_bits=rb[:w].reshape(-1, 32)) if kw else {}
        kwt = dict(kw, random_bits=rb[w:]) if kw else {}
        blocks = mxref.quantize(x[:w].reshape(-1, 32), name, rounding=rounding, **kwb)
        tail = mxref.quantize(x[w:], name, rounding=rounding, **kwt)
        assert np.array_equal(mx.scales, np.concatenate([blocks.scales.reshape(-1), tail.scales]))
        assert np.array_equal(mx.elements, np.concatenate([blocks.elements.reshape(-1), tail.elements]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_axis_not_last_in_transposed_chunks_equals_last_axis(dtype):
    """A blocked axis with many columns after it is converted in transposed chunks of columns:
    the same codes as the data moved to the last axis (every format, every rounding, ragged)."""
    from mxref.options import ROUNDING_MODES
    rng = np.random.default_rng(12)
    for shape, axis in (((3, 70, 130), 1), ((45, 200), 0), ((2, 5000, 64), 1)):
        with np.errstate(over="ignore"):  # float16: the largest magnitudes become +-Inf blocks
            x = (rng.standard_normal(shape) * 2.0 ** rng.integers(-30, 30, shape)).astype(dtype)
        rb = rng.integers(0, 1 << 6, shape, dtype=np.uint8)
        xm = np.ascontiguousarray(np.moveaxis(x, axis, -1))
        rbm = np.ascontiguousarray(np.moveaxis(rb, axis, -1))
        for name in MX:
            for rounding in ROUNDING_MODES:
                kw, kwm = {}, {}
                if rounding == "stochastic":
                    kw, kwm = dict(random_bits=rb, random_bit_count=6), dict(random_bits=rbm, random_bit_count=6)
                mx = mxref.quantize(x, name, axis=axis, rounding=rounding, **kw)
                mm = mxref.quantize(xm, name, axis=-1, rounding=rounding, **kwm)
                assert np.array_equal(mx.elements, np.moveaxis(mm.elements, -1, axis)), (name, rounding)
                assert np.array_equal(mx.scales, np.moveaxis(mm.scales, -1, axis)), (name, rounding)


def _in_layout_input(shape, axis, k, dtype, rng):
    """x for the in-layout path: random magnitudes over a wide range, with one block along
    ``axis`` of each special kind in column 0 of the first index before the axis (float32
    subnormals only, so a subnormal amax; all +-0; one NaN; one +Inf and finite values) and NaN,
    -Inf, zeros and subnormals scattered elsewhere."""
    x = rng.standard_normal(shape) * 2.0 ** rng.integers(-40, 40, shape)
    x3 = x.reshape(int(np.prod(shape[:axis], dtype=np.int64)), shape[axis], -1)  # a view
    tiny = rng.integers(1, 1 << 23, k) * 2.0 ** -149 * rng.choice([-1.0, 1.0], k)  # float32 subnormals
    specials = [tiny, np.array([0.0, -0.0] * (k // 2)), np.where(np.arange(k) == 3, np.nan, 1.5),
                np.where(np.arange(k) == 5, np.inf, -2.0 ** rng.integers(-10, 10, k))]
    for j, block in enumerate(specials):
        b, c = divmod(j, x3.shape[2])
        if (b + 1) * k <= x3.shape[1]:
            x3[0, b * k:(b + 1) * k, c] = block
    flat = x.reshape(-1)
    flat[7::97] = np.nan
    flat[11::89] = -np.inf
    flat[13::53] = -0.0
    flat[17::61] = 2.0 ** -140
    with np.errstate(over="ignore"):
        return x.astype(dtype)


def test_axis_not_last_in_layout_path_equals_last_axis_and_transposed_paths(monkeypatch):
    """Whole blocks along an axis that is not last take the float32 table path in x's own layout
    (no transposes): the same codes, bit for bit, as the data moved to the last axis and as the
    transposed path, for every format (MX-style ones too), scale rule, rounding (stochastic with
    random bits), inf_policy, float32 / float64 / float16 input with NaN, Inf, zeros and float32
    subnormals (a subnormal amax too: under ceil / even that chunk falls back to the transposed
    path), block sizes 32 and 16, with and without out=."""
    import mxref.conversion as conv
    from mxref.options import ROUNDING_MODES
    rng = np.random.default_rng(20)
    names = MX + ["mxint4", "mxfp4_e3m0"]
    case = 0
    for shape, axis in (((3, 64, 5), 1), ((2, 96, 7, 3), 1), ((64, 1), 0)):
        for dtype in (np.float32, np.float64, np.float16):
            for k in (32, 16):
                x = _in_layout_input(shape, axis, k, dtype, rng)
                rb = rng.integers(0, 1 << 7, shape, dtype=np.uint16)
                xm = np.ascontiguousarray(np.moveaxis(x, axis, -1))
                rbm = np.ascontiguousarray(np.moveaxis(rb, axis, -1))
                for name in names:
                    for rounding in ROUNDING_MODES:
                        for rule in SCALE_RULES:
                            case += 1
                            kw = dict(block_size=k, rounding=rounding, scale_rule=rule,
                                      inf_policy=INF_POLICIES[case % 2])
                            kwr = dict(random_bits=rb, random_bit_count=7) if rounding == "stochastic" else {}
                            kwm = dict(random_bits=rbm, random_bit_count=7) if rounding == "stochastic" else {}
                            if case % 3 == 0:
                                so = np.full(tuple(s // k if i == axis else s for i, s in enumerate(shape)), 0xA5,
                                             np.uint8)
                                eo = np.full(shape, 0xA5, np.uint8)
                                mx = mxref.quantize(x, name, axis=axis, out=(so, eo), **kw, **kwr)
                                assert np.shares_memory(mx.elements, eo) and np.shares_memory(mx.scales, so)
                            else:
                                mx = mxref.quantize(x, name, axis=axis, **kw, **kwr)
                            mm = mxref.quantize(xm, name, axis=-1, **kw, **kwm)
                            with monkeypatch.context() as mp:
                                mp.setattr(conv, "BLOCKED_F32", False)
                                mp.setattr(conv, "_MIN_POST", 1)  # every non-last axis transposed
                                mt = mxref.quantize(x, name, axis=axis, **kw, **kwr)
                            where = (shape, dtype.__name__, k, name, rounding, rule, kw["inf_policy"])
                            assert np.array_equal(mx.elements, np.moveaxis(mm.elements, -1, axis)), where
                            assert np.array_equal(mx.scales, np.moveaxis(mm.scales, -1, axis)), where
                            assert mx == mt, where
    assert case == 3 * 3 * 2 * len(names) * len(ROUNDING_MODES) * len(SCALE_RULES) == 5040


def test_axis_not_last_in_layout_path_is_taken(monkeypatch):
    """The in-layout path really runs: float32 whole blocks along axis 0 reach quantize_rows_f32
    with post = the columns after the axis, and never the transposed path's _quantize_2d (also
    for a row of blocks longer than CHUNK_F32); a ragged axis, a subnormal amax under "ceil" and
    float64 values that are not float32 values go back to it; the codes match the moved axis."""
    import mxref.conversion as conv
    calls = {"f32": [], "2d": 0}
    real_f32, real_2d = conv.quantize_rows_f32, conv._quantize_2d

    def f32(*a, **kw):
        ok = real_f32(*a, **kw)
        calls["f32"].append((kw.get("post", 1), ok))
        return ok

    def q2d(*a, **kw):
        calls["2d"] += 1
        return real_2d(*a, **kw)

    monkeypatch.setattr(conv, "quantize_rows_f32", f32)
    monkeypatch.setattr(conv, "_quantize_2d", q2d)
    rng = np.random.default_rng(21)

    def run(x, **kw):
        calls["f32"].clear()
        calls["2d"] = 0
        mx = mxref.quantize(x, "mxfp8_e4m3", axis=0, **kw)
        seen = list(calls["f32"]), calls["2d"]
        mm = mxref.quantize(np.ascontiguousarray(x.T), "mxfp8_e4m3", **kw)
        assert np.array_equal(mx.elements, mm.elements.T) and np.array_equal(mx.scales, mm.scales.T)
        return seen

    x = rng.standard_normal((256, 96)).astype(np.float32)
    f, n2d = run(x)
    assert f and all(p == 96 and ok for p, ok in f) and n2d == 0
    wide = rng.standard_normal((64, 4096)).astype(np.float32)  # one row of blocks: 131072 > CHUNK_F32
    assert 32 * 4096 > conv.CHUNK_F32
    f, n2d = run(wide)
    assert len(f) == 2 and all(p == 4096 and ok for p, ok in f) and n2d == 0
    f, n2d = run(x[:250].copy())  # ragged: 250 % 32 != 0
    assert all(p == 1 for p, _ in f) and n2d > 0
    xs = x.copy()
    xs[:32, 3] = 2.0 ** -130  # one block whose amax is a float32 subnormal
    f, n2d = run(xs, scale_rule="ceil")
    assert (96, False) in f and n2d > 0
    f, n2d = run(xs)  # "floor" takes a subnormal amax on the table path
    assert all(p == 96 and ok for p, ok in f) and n2d == 0
    f, n2d = run(x.astype(np.float64) + 2.0 ** -60)  # not float32 values
    assert not f or all(p == 1 for p, _ in f)
    assert n2d > 0
    x24 = _in_layout_input((48, 70), 0, 24, np.float32, rng)  # k not a power of two: a reduction
    for rounding in ("rne", "down"):
        f, n2d = run(x24, block_size=24, rounding=rounding, inf_policy="nan_scale")
        assert f and all(p == 70 and ok for p, ok in f) and n2d == 0


def test_float64_holding_float32_values_takes_the_table_path_with_the_same_codes():
    """float64 chunks whose values are all float32 values (NaN, Inf, float32 subnormals and
    values past float32's range elsewhere) give the same MXArray with the shortcut on and off."""
    from mxref.options import ROUNDING_MODES
    rng = np.random.default_rng(13)
    x = (rng.standard_normal((6, 50000)) * 2.0 ** rng.integers(-140, 120, (6, 50000))).astype(np.float32)
    x = x.astype(np.float64)
    x[0, ::7] = np.nan
    x[1, 3] = np.inf
    x[2, :100] += 2.0 ** -60  # not float32 values: that chunk takes the general path
    x[3, 5] = 1e300
    for name in MX:
        for rounding in ROUNDING_MODES:
            for rule in SCALE_RULES:
                kw = dict(rounding=rounding, scale_rule=rule, **_random_bits_kw(rounding, x.shape, rng))
                assert mxref.quantize(x, name, **kw) == _general(x, name, **kw), (name, rounding, rule)


def test_dequantize_into_a_preallocated_out():
    """dequantize(..., out=) writes the same bits as a fresh result into the caller's array and
    returns it, on every layout and dtype; a wrong shape, dtype or a read-only out raise."""
    ml = pytest.importorskip("ml_dtypes")
    rng = np.random.default_rng(14)
    for shape, axis in (((6, 256), -1), ((6, 250), -1), ((64, 96), 0), ((1001,), 0)):
        x = rng.standard_normal(shape).astype(np.float32)
        for name in MX:
            mx = mxref.quantize(x, name, axis=axis)
            for dt in (np.float32, np.float64, np.float16, ml.bfloat16, ">f4"):
                out = np.full(shape, 7, np.dtype(dt))
                got = mxref.dequantize(mx, dt, out=out)
                assert got is out
                assert out.tobytes() == mx.dequantize(dt).tobytes(), (shape, name, dt)
    mx = mxref.quantize(np.ones((2, 64), np.float32), "mxfp8_e4m3")
    for bad in (np.empty((2, 63), np.float32), np.empty((2, 64), np.float64), [[0.0] * 64] * 2):
        with pytest.raises(ValueError):
            mxref.dequantize(mx, np.float32, out=bad)
    ro = np.empty((2, 64), np.float32)
    ro.setflags(write=False)
    with pytest.raises(ValueError):
        mxref.dequantize(mx, out=ro)


def test_dequantize_axis_not_last_in_place_equals_last_axis():
    """Whole blocks along an axis that is not last are dequantized in x's own layout: the same
    bits as the codes moved to the last axis (NaN scales, Inf, subnormal products, float32 and
    float64)."""
    rng = np.random.default_rng(15)
    for shape, axis in (((64, 300), 0), ((2, 96, 7), 1), ((3, 32, 20000), 1)):
        x = (rng.standard_normal(shape) * 2.0 ** rng.integers(-150, 126, shape)).astype(np.float32)
        x.flat[::1009] = np.nan
        x.flat[3::2003] = np.inf
        for name in MX:
            mx = mxref.quantize(x, name, axis=axis)
            mm = mxref.quantize(np.ascontiguousarray(np.moveaxis(x, axis, -1)), name)
            for dt in (np.float32, np.float64):
                got = mx.dequantize(dt)
                assert got.flags.c_contiguous
                assert (got.tobytes() ==
                        np.ascontiguousarray(np.moveaxis(mm.dequantize(dt), -1, axis)).tobytes()), (name, dt)


def test_quantize_into_preallocated_out_equals_a_fresh_result():
    """quantize(..., out=(scales, elements)) writes the codes of a fresh quantize into the
    caller's buffers on every layout (last axis, axis not last in place, moved axis, ragged,
    float64 and float16 input, stochastic), and the MXArray it returns views them."""
    rng = np.random.default_rng(18)
    cases = (((6, 256), -1), ((6, 250), -1), ((64, 96), 0), ((3, 40, 70), 1), ((2, 70, 5), 1), ((1001,), 0))
    for shape, axis in cases:
        x = (rng.standard_normal(shape) * 2.0 ** rng.integers(-20, 20, shape)).astype(np.float32)
        x.flat[::97] = np.nan
        with np.errstate(over="ignore"):
            x16 = x.astype(np.float16)  # +-Inf past float16's range: Inf blocks too
        for name in MX:
            for xin, kw in ((x, {}), (x.astype(np.float64), {}), (x16, dict(scale_rule="ceil")),
                            (x, dict(rounding="stochastic", random_bit_count=8,
                                     random_bits=rng.integers(0, 256, shape)))):
                fresh = mxref.quantize(xin, name, axis=axis, **kw)
                so = np.full(fresh.scales.shape, 0xA5, np.uint8)
                eo = np.full(fresh.elements.shape, 0xA5, np.uint8)
                got = mxref.quantize(xin, name, axis=axis, out=(so, eo), **kw)
                assert got == fresh and got.options == fresh.options, (shape, axis, name, kw)
                assert np.shares_memory(got.scales, so) and np.shares_memory(got.elements, eo)
                assert so.tobytes() == fresh.scales.tobytes() and eo.tobytes() == fresh.elements.tobytes()
                assert not got.elements.flags.writeable


def test_quantize_out_is_checked():
    x = np.ones((2, 64), np.float32)
    good_s, good_e = np.empty((2, 2), np.uint8), np.empty((2, 64), np.uint8)
    for bad, err in (((good_s,), TypeError), (good_e, TypeError), ([good_s, good_e, good_e], TypeError),
                     ((good_s.astype(np.int8), good_e), TypeError), ((good_s, good_e.tolist()), TypeError),
                     ((np.empty((2, 3), np.uint8), good_e), ValueError),
                     ((good_s, np.empty((2, 63), np.uint8)), ValueError),
                     ((good_s, np.empty((64, 2), np.uint8).T), ValueError),
                     ((good_s, good_e.view()[None][0]), None)):
        if err is None:
            mxref.quantize(x, "mxfp8_e4m3", out=bad)  # a plain view of a good buffer is fine
            continue
        with pytest.raises(err, match="out"):
            mxref.quantize(x, "mxfp8_e4m3", out=bad)
    ro = np.empty((2, 64), np.uint8)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="writeable"):
        mxref.quantize(x, "mxfp8_e4m3", out=(good_s, ro))
    both = np.empty(2 * 64 + 4, np.uint8)
    with pytest.raises(ValueError, match="overlap"):
        mxref.quantize(x, "mxfp8_e4m3", out=(both[:4].reshape(2, 2), both[2:130].reshape(2, 64)))
    xb = np.zeros((2, 64), np.float32)  # elements over x's own memory: never aliased
    with pytest.raises(ValueError, match="overlap"):
        mxref.quantize(xb, "mxfp8_e4m3", out=(good_s, xb.reshape(-1).view(np.uint8)[:128].reshape(2, 64)))


def test_mxarray_dequantize_out_forwards():
    x = np.random.default_rng(19).standard_normal((4, 96)).astype(np.float32)
    mx = mxref.quantize(x, "mxfp4_e2m1")
    buf = np.full(x.shape, 7.0, np.float32)
    assert mx.dequantize(out=buf) is buf and buf.tobytes() == mx.dequantize().tobytes()
    with pytest.raises(ValueError, match="out"):
        mx.dequantize(np.float64, out=buf)


@pytest.mark.parametrize("name", MX)
def test_dequantize_every_scale_and_code_float32_equals_the_exact_product(name):
    """Every (scale, element code) of a format through the whole-block float32 path (pairs of
    codes per look-up), its odd-length fallback and out=: the exact product 2^(s-127) * P from
    the Fraction decoding, in float32 (exact, or Inf past its range); scale 0xFF and element
    NaN codes give NaN."""
    el = mxref.MX_FORMATS[name].element
    nc = el.num_codes
    width = -(-nc // 32) * 32
    codes = np.tile(np.arange(width) % nc, (256, 1)).astype(np.uint8)
    scales = np.tile(np.arange(256, dtype=np.uint8)[:, None], (1, width // 32))
    want = np.empty((256, width), np.float32)
    for c in range(nc):
        d = reference.decode_exact(c, el)
        for s in range(256):
            if s == 0xFF or (isinstance(d, str) and "nan" in d):
                v = math.nan
            elif isinstance(d, str):
                v = -math.inf if d == "-inf" else math.inf
            else:
                sign, mag = d
                v = math.ldexp(float(mag), s - 127) * (-1 if sign else 1)  # <= 8 bits: exact
                assert F(v) == (-1 if sign else 1) * mag * F(2) ** (s - 127)
            with np.errstate(over="ignore"):
                want[s, np.arange(width) % nc == c] = v  # float64 -> float32: exact or +-Inf
    for cols in (width, width - 32 + 1 if width > 32 else 31):  # even: pairs; odd: single codes
        mx = mxref.MXArray(name, 32, -1, (256, cols), scales[:, :-(-cols // 32)], codes[:, :cols])
        got = mx.dequantize(np.float32)
        buf = np.empty((256, cols), np.float32)
        mx.dequantize(np.float32, out=buf)
        w = want[:, :cols]
        nan = np.isnan(w)
        for g in (got, buf):
            assert np.array_equal(np.isnan(g), nan), (name, cols)
            assert g[~nan].tobytes() == w[~nan].tobytes(), (name, cols)


@pytest.mark.parametrize("src", ["float16", "bfloat16"])
def test_float32_path_equals_general_path_on_every_16_bit_value(src):
    """Every float16 / bfloat16 bit pattern, as float32 (exact), through the float32 table path
    and the general integer path (the float64-as-float32 shortcut off): equal MXArrays for every
    format, rounding the table path covers and scale rule. The values are shuffled into blocks
    with one large value per block or none, so blocks see both large and tiny scales."""
    if src == "float16":
        v = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float32)
    else:
        v = (np.arange(1 << 16, dtype=np.uint32) << np.uint32(16)).view(np.float32)
    v = v[~np.isnan(v)]
    rng = np.random.default_rng(20)
    x = v[rng.permutation(v.size)]
    x = x[: x.size // 32 * 32].reshape(-1, 32)
    x[1::2] = np.sort(np.abs(x[1::2]), axis=1)  # odd rows: sorted magnitudes (amax in its block's values)
    for name in MX:
        for rule in SCALE_RULES:
            for rounding in ("rne", "ties_away", "toward_zero", "ties_toward_zero", "up", "down"):
                kw = dict(scale_rule=rule, rounding=rounding)
                assert mxref.quantize(x, name, **kw) == _general(x, name, **kw), (src, name, rule, rounding)


def test_threads_do_not_share_scratch():
    """The float32 paths keep per-thread scratch buffers: quantize / dequantize of different
    arrays in several threads at once give what each gives alone."""
    import threading
    rng = np.random.default_rng(21)
    xs = [(rng.standard_normal((8, 40000)) * 2.0 ** (4 * i)).astype(np.float32) for i in range(4)]
    want = [(mxref.quantize(x, "mxfp8_e4m3", rounding="up"), mxref.quantize(x, "mxfp8_e4m3").dequantize().tobytes())
            for x in xs]
    got = [None] * len(xs)

    def work(i):
        for _ in range(3):
            got[i] = (mxref.quantize(xs[i], "mxfp8_e4m3", rounding="up"),
                      mxref.quantize(xs[i], "mxfp8_e4m3").dequantize().tobytes())

    ts = [threading.Thread(target=work, args=(i,)) for i in range(len(xs))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for (wq, wd), (gq, gd) in zip(want, got):
        assert gq == wq and gd == wd


@pytest.mark.parametrize("fmt", list(mxref.MX_FORMATS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_scale_dequantizes_to_the_default_nan_on_every_path(fmt, dtype):
    """Scale 0xFF (MX §5.1): every element NaN -- the same positive default NaN whatever the
    element code (a negative NaN element included) and whichever path runs: whole blocks along
    the last axis, a non-last axis in place, or a ragged last block (whole blocks and the short
    one apart)."""
    el = mxref.mx_format(fmt).element
    codes = np.resize(np.arange(el.num_codes, dtype=np.uint8), 64)
    top = np.arange(el.num_codes - 64, el.num_codes, dtype=np.int64)[::-1] % el.num_codes
    top = top.astype(np.uint8)                 # the top codes: the negative NaN(s) of FP8
    codes[5] = el.num_codes // 2 - 1           # the positive NaN of FP8 (a number elsewhere)
    want = np.array(np.nan, dtype).view(np.uint32 if dtype == np.float32 else np.uint64)
    for L in (64, 61):  # 61: a ragged last block
        e = np.stack([codes[:L], top[:L]])
        nb = -(-L // 32)
        for axis, ee in ((-1, e), (0, np.ascontiguousarray(e.T))):
            sshape = (2, nb) if axis == -1 else (nb, 2)
            mx = mxref.MXArray(fmt, 32, axis, ee.shape, np.full(sshape, 0xFF, np.uint8), ee)
            v = mxref.dequantize(mx, dtype)
            assert (v.view(want.dtype) == want).all(), (fmt, L, axis)


@pytest.mark.parametrize("fmt", list(mxref.MX_FORMATS))
def test_ragged_dequantize_equals_the_per_element_table(fmt):
    """A blocked axis whose length is not a multiple of the block (float32 / float64 output)
    takes _dequantize_ragged (pair look-ups, whole blocks and the short one multiplied apart, in
    pieces of whole rows or of one long row): the same bits as one look-up per element in the
    exact (scale, code) value table, on every layout: short and long rows, a block longer than
    the axis, axis not last, pieces that split a long row, every scale code."""
    from mxref._dequant import _CHUNK_F32, _dequantize_ragged, _dequantize_table
    el = mxref.mx_format(fmt).element
    rng = np.random.default_rng(3)
    cases = [((1, _CHUNK_F32 * 2 + 45), 1, 32), ((3, 4, 37), 2, 32), ((37, 5), 0, 8), ((5, 7), 1, 32),
             ((2, 70), 1, 32), ((9,), 0, 4), ((3, 33, 2), 1, 32)]
    for shape, ax, bs in cases:
        codes = rng.integers(0, el.num_codes, shape, dtype=np.uint8)
        k = min(bs, shape[ax])
        sshape = list(shape)
        sshape[ax] = -(-shape[ax] // k)
        scales = rng.integers(0, 256, sshape, dtype=np.uint8)
        for dt in (np.dtype(np.float32), np.dtype(np.float64)):
            want = _dequantize_table(el, ax, scales, codes, dt, k)
            got = _dequantize_ragged(el, ax, scales, codes, dt, k)
            assert got.shape == want.shape == shape
            assert np.array_equal(np.ascontiguousarray(got).view(np.uint8), np.ascontiguousarray(want).view(np.uint8)), (fmt, shape, ax, dt)
            mx = mxref.MXArray(fmt, k, ax, shape, scales, codes)
            assert np.array_equal(np.ascontiguousarray(mx.dequantize(dt)).view(np.uint8), np.ascontiguousarray(want).view(np.uint8))
