"""Dot products (MX §6.1, §6.2): mxref.dot / matmul against the slow Fraction reference
(reference.dot_scalar, one term at a time) for every accumulator model and every pair of
element formats; the float32 rounding (scalar and vectorized) against an independent search
among float32 neighbours; special values per IEEE 754 with expectations typed by hand;
layouts, chunking, flush-to-zero threads, validation."""

import math
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, note, settings, strategies as st

import mxref
from mxref import reference
from mxref.products import _grid_to_f32, _int_table

MX = list(mxref.MX_FORMATS)
MODELS = list(mxref.options.FLOAT32_ACCUMULATORS)
F32_MAX = F(2) ** 127 * (2 - F(1, 1 << 23))


# ----- helpers ------------------------------------------------------------------------------------


def mk(fmt, scales, codes, k=32):
    """A 1-D MXArray built by hand from codes."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    scales = np.ascontiguousarray(scales, dtype=np.uint8)
    return mxref.MXArray(mxref.mx_format(fmt), k, 0, codes.shape, scales, codes)


def codes_of(fmt, values):
    """Element codes of exactly representable values (checked)."""
    el = mxref.mx_format(fmt).element
    c = mxref.encode(np.array(values, np.float64), el, overflow="nonsaturating" if el.has_nan else "saturate")
    back = mxref.decode(c, el, np.float64)
    assert np.array_equal(back, np.array(values, np.float64), equal_nan=True)
    return c


def same(got, want):
    """float32 results equal bit for bit (any NaN equals any NaN)."""
    g, w = np.float32(got), np.float32(want)
    if np.isnan(g) or np.isnan(w):
        return bool(np.isnan(g) and np.isnan(w))
    return g.view(np.uint32) == w.view(np.uint32)


def same_exact(got, want):
    if isinstance(want, str):
        want = {"nan": math.nan, "+inf": math.inf, "-inf": -math.inf}[want]
        if math.isnan(want):
            return isinstance(got, float) and math.isnan(got)
        return got == want
    return isinstance(got, F) and got == want


def f32_by_search(x: F) -> np.float32:
    """float32 nearest to x, by comparing exact distances to the float32 neighbours of a first
    guess (ties: the candidate with an even bit pattern); 2^128 counts as the even value past the
    largest finite one, and becomes Inf (IEEE 754 §4.3.1, §7.4). Independent of mxref."""
    if x == 0:
        return np.float32(0.0)
    a = abs(x)
    if a > F(2) ** 129:
        r = np.float32(np.inf)
    else:
        guess = np.float32(min(float(a), float(F32_MAX)))
        cands = {guess}
        with np.errstate(over="ignore"):
            for _ in range(2):
                cands |= {np.nextafter(c, np.float32(np.inf)) for c in cands}
                cands |= {np.nextafter(c, np.float32(0)) for c in cands}

        def val(c):
            return F(2) ** 128 if np.isinf(c) else F(float(c))

        best = min(cands, key=lambda c: (abs(val(c) - a), int(np.float32(c).view(np.uint32)) & 1))
        r = best
    return np.float32(-r if x < 0 else r)


# ----- the integer form of every element --------------------------------------------------------


@pytest.mark.parametrize("name", MX)
def test_integer_table_is_the_exact_value(name):
    """N * 2^-q equals the exact value of every finite code (MX §5.3), from the bit fields."""
    el = mxref.mx_format(name).element
    table, q = _int_table(el)
    assert F(el.smallest_positive) == F(1, 1 << q)
    for code in range(el.num_codes):
        d = reference.decode_exact(code, el)
        if isinstance(d, str):
            assert table[code] == 0
        else:
            assert F(int(table[code]), 1 << q) == (-d[1] if d[0] else d[1])


# ----- rounding an exact value to float32 ---------------------------------------------------------


@st.composite
def near_float32(draw):
    """Exact values at and around float32 values: ties, a hair off ties, subnormals, overflow."""
    kind = draw(st.sampled_from(["tie", "tie+", "tie-", "exact", "between", "tiny", "huge", "any"]))
    bits = draw(st.one_of(st.integers(0, 0x7F7FFFFF), st.integers(0, 0x00FFFFFF),
                          st.integers(0x7F000000, 0x7F7FFFFF)))
    lo = F(float(np.uint32(bits).view(np.float32)))
    hi = F(2) ** 128 if bits == 0x7F7FFFFF else F(float(np.uint32(bits + 1).view(np.float32)))
    mid = (lo + hi) / 2
    eps = F(1, 1 << draw(st.integers(1, 400)))
    if kind == "tie":
        x = mid
    elif kind == "tie+":
        x = mid + eps * (hi - lo)
    elif kind == "tie-":
        x = mid - eps * (hi - lo)
    elif kind == "exact":
        x = lo
    elif kind == "between":
        x = lo + (hi - lo) * F(draw(st.integers(1, 10**6)), 10**6 + 1)
    elif kind == "tiny":
        x = F(draw(st.integers(1, 2**40)), 1 << draw(st.integers(140, 400)))
    elif kind == "huge":
        x = F(2) ** 128 - F(2) ** 103 + draw(st.integers(-2**40, 2**40)) * F(2) ** draw(st.integers(-40, 90))
    else:
        x = F(draw(st.integers(1, 2**80)), draw(st.integers(1, 2**80))) * F(2) ** draw(st.integers(-200, 150))
    return -x if draw(st.booleans()) else x


@settings(max_examples=max(10, settings().max_examples // 2))
@given(near_float32())
def test_round_float32_scalar_is_nearest_even(x):
    """reference.round_float32_scalar == the nearest float32 found by search (ties to even)."""
    note(str(x))
    assert same(reference.round_float32_scalar(x), f32_by_search(x))


@pytest.mark.parametrize("x, want", [
    (F(2) ** 128 - F(2) ** 104, F32_MAX),  # the largest float32
    (F(2) ** 128 - F(2) ** 103, math.inf),  # the tie above it goes to the even 2^128: Inf
    (F(2) ** 128 - F(2) ** 103 - F(1, 2**200), F32_MAX),
    (F(1, 2**150), 0.0),  # half the smallest subnormal: a tie, to even zero
    (F(1, 2**150) + F(1, 2**400), 2.0**-149),
    (F(3, 2**150), 2.0**-148),  # 1.5 * 2^-149: tie between 2^-149 (odd) and 2^-148 (even)
    (F(2**24 + 1), 2.0**24),  # 16777217: tie, to even
    (F(2**24 + 3), 2.0**24 + 4),
    (-F(2**24 + 1) - F(1, 2**90), -(2.0**24 + 2)),
    (F(1, 3), 0.3333333432674408),
])
def test_round_float32_scalar_cases(x, want):
    assert same(reference.round_float32_scalar(x), np.float32(float(want)))


def _grid_of(v: int, n: int, rng) -> np.ndarray:
    """An int64 limb vector (radix 2^32, top limb signed) of v, then perturbed by carries moved
    between limbs (a non-normalized representation of the same integer)."""
    limbs = [(v >> (32 * i)) & 0xFFFFFFFF for i in range(n - 1)] + [v >> (32 * (n - 1))]
    for _ in range(3):
        i = int(rng.integers(0, n - 1))
        c = int(rng.integers(-2**20, 2**20))
        limbs[i] += c << 32
        limbs[i + 1] -= c
    assert sum(x << (32 * i) for i, x in enumerate(limbs)) == v
    return np.array(limbs, np.int64)


@st.composite
def exact_ints(draw):
    """(v, base): v * 2^base an exact value with up to ~600 bits, ties and sticky bits far down."""
    kind = draw(st.sampled_from(["random", "tie", "tie_sticky", "small"]))
    if kind == "random":
        v = draw(st.integers(-(2**600), 2**600))
        base = draw(st.integers(-800, 100))
    elif kind == "small":
        v = draw(st.integers(-(2**70), 2**70))
        base = draw(st.integers(-300, 200))
    else:  # a float32 midpoint, scaled so that the tie bit lies deep inside the limbs
        bits = draw(st.integers(0, 0x7F7FFFFE))
        lo = F(float(np.uint32(bits).view(np.float32)))
        hi = F(float(np.uint32(bits + 1).view(np.float32)))
        mid = (lo + hi) / 2
        shift = draw(st.integers(0, 300))
        scaled = mid * F(2) ** (160 + shift)
        assert scaled.denominator == 1
        v, base = int(scaled), -(160 + shift)
        if kind == "tie_sticky":
            v = v + draw(st.sampled_from([1, -1]))
        v = -v if draw(st.booleans()) else v
    return v, base


@settings(max_examples=max(10, settings().max_examples // 2))
@given(st.lists(exact_ints(), min_size=1, max_size=6), st.integers(0, 2**32 - 1))
def test_grid_rounding_equals_scalar(items, seed):
    """The vectorized limb -> float32 rounding of mxref.dot equals round_float32_scalar."""
    rng = np.random.default_rng(seed)
    n = 24
    g = np.stack([_grid_of(v, n, rng) for v, _ in items])
    bases = np.array([b for _, b in items], np.int64)
    got = _grid_to_f32(g, bases)
    for (v, b), r in zip(items, got):
        assert same(r, reference.round_float32_scalar(F(v) * F(2) ** b)), (v, b)


# ----- dot against the reference ------------------------------------------------------------------


@st.composite
def mx_vector(draw, fmt, K, k):
    """A 1-D MXArray of K elements: quantized from drawn floats, or built from drawn codes
    (extreme codes, every scale incl. 0, 254 and NaN, Inf/NaN elements where the format has them)."""
    mxf = mxref.mx_format(fmt)
    el = mxf.element
    nb = -(-K // k)
    if draw(st.booleans()):
        e = draw(st.integers(-150, 120))
        vals = draw(st.lists(st.floats(-4, 4, width=32), min_size=K, max_size=K))
        x = np.array(vals, np.float64) * 2.0 ** e
        if K and draw(st.integers(0, 7)) == 0:
            x[draw(st.integers(0, K - 1))] = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
        rule = draw(st.sampled_from(["floor", "rceil"]))
        return mxref.quantize(x, mxf, block_size=k, scale_rule=rule)
    finite = [c for c in range(el.num_codes) if c not in el.nan_codes + el.inf_codes]
    smallest = [c for c in finite if c & ~el.sign_mask in (1,)] if not el.integer else [1, 0xFF]
    extremes = [0, el.code_of_max, (el.code_of_max | el.sign_mask) if not el.integer else 0x81]
    extremes += smallest + ([0x80] if el.integer else [el.sign_mask])
    special = list(el.nan_codes + el.inf_codes)
    pools = [st.sampled_from(finite), st.sampled_from(extremes)]
    if special and draw(st.integers(0, 3)) == 0:
        pools.append(st.sampled_from(special))
    codes = draw(st.lists(st.one_of(*pools), min_size=K, max_size=K))
    scale_pool = st.one_of(st.sampled_from([0, 1, 100, 126, 127, 128, 200, 253, 254]), st.integers(0, 254))
    if draw(st.integers(0, 5)) == 0:
        scale_pool = st.one_of(scale_pool, st.just(0xFF))
    scales = draw(st.lists(scale_pool, min_size=nb, max_size=nb))
    return mk(mxf, scales, codes, k)


@st.composite
def mx_pairs(draw, fa=None, fb=None):
    fa = fa or draw(st.sampled_from(MX))
    fb = fb or draw(st.sampled_from(MX))
    k = draw(st.sampled_from([32, 32, 32, 1, 2, 3, 8]))
    kind = draw(st.sampled_from(["plain", "plain", "cancel"]))
    if kind == "cancel" and fa == fb:
        # a = (u, u), b = (v, -v) block for block, then one element of a changed: the exact sum
        # is one small difference of large terms
        h = draw(st.integers(1, 2))
        u = draw(mx_vector(fa, h * k, k))
        v = draw(mx_vector(fb, h * k, k))
        el = v.format.element
        neg = (256 - v.elements.astype(np.int64)) % 256 if el.integer else v.elements ^ el.sign_mask
        a = mk(fa, np.concatenate([u.scales, u.scales]), np.concatenate([u.elements, u.elements]), k)
        b = mk(fb, np.concatenate([v.scales, v.scales]), np.concatenate([v.elements, neg]), k)
        i = draw(st.integers(0, 2 * h * k - 1))
        el_a = a.format.element
        codes = a.elements.copy()
        codes[i] = draw(st.integers(0, el_a.num_codes - 1))
        return mk(fa, a.scales, codes, k), b
    K = draw(st.integers(0, 3 * k + 5))
    return draw(mx_vector(fa, K, k)), draw(mx_vector(fb, K, k))


def check_dot(a, b):
    va, vb = reference.mx_values_scalar(a), reference.mx_values_scalar(b)  # decoded once
    k = a.block_size
    want = reference.dot_scalar(va, vb, dtype="exact")
    got = mxref.dot(a, b, dtype="exact")
    assert same_exact(got, want), (got, want)
    for model in MODELS:
        w = reference.dot_scalar(va, vb, accumulate=model, block_size=k)
        g = mxref.dot(a, b, accumulate=model)
        assert isinstance(g, np.float32)
        assert same(g, w), (model, g, w)


@settings(max_examples=max(10, settings().max_examples // 2))
@given(mx_pairs())
def test_dot_equals_fraction_reference(pair):
    """dot (exact as a Fraction, and every float32 model) == reference.dot_scalar, bit for bit."""
    a, b = pair
    note(f"{a!r} {a.scales.tolist()} {a.elements.tolist()}\n{b!r} {b.scales.tolist()} {b.elements.tolist()}")
    check_dot(a, b)


@pytest.mark.parametrize("fb", MX)
@pytest.mark.parametrize("fa", MX)
def test_every_format_pair_at_the_extremes(fa, fb):
    """Every pair of element formats on hand-built blocks: max x max at the largest scales
    (overflow), smallest subnormals at scale 0 (underflow), mixed signs and scales, NaN scale."""
    ea, eb = mxref.mx_format(fa).element, mxref.mx_format(fb).element
    rng = np.random.default_rng(sum(map(ord, fa + fb)))

    def fin(el, n):
        finite = [c for c in range(el.num_codes) if c not in el.nan_codes + el.inf_codes]
        return rng.choice(finite, n)

    mxa, mxb = ea.code_of_max, eb.code_of_max
    cases = [
        ([127], [mxa] * 32, [127], [mxb] * 32),  # the largest block sum at X = 1
        ([254], [mxa] * 32, [254], [mxb] * 32),  # overflows float32
        ([0], [1] * 32, [0], [1] * 32),  # 2^-254 times the smallest products: underflow
        ([0, 254, 127], fin(ea, 96), [0, 254, 127], fin(eb, 96)),
        ([127, 0], fin(ea, 64), [1, 254], fin(eb, 64)),
        ([127, 0xFF], fin(ea, 64), [127, 127], fin(eb, 64)),  # a NaN scale
        ([120, 130, 127], fin(ea, 70), [135, 125, 127], fin(eb, 70)),  # ragged last block
    ]
    for sa, ca, sb, cb in cases:
        check_dot(mk(fa, sa, ca), mk(fb, sb, cb))


# ----- special values and cases typed by hand -----------------------------------------------------


def _e5(values, scale=127):
    return mk("mxfp8_e5m2", [scale] * (-(-len(values) // 32)), codes_of("mxfp8_e5m2", values))


INF, NAN = math.inf, math.nan


@pytest.mark.parametrize("a, b, want", [
    ([INF, 1.0], [0.0, 1.0], NAN),  # Inf x 0
    ([INF, -INF], [1.0, 1.0], NAN),  # +Inf + -Inf
    ([INF, 1.0], [-2.0, 3.0], -INF),  # Inf x negative
    ([-INF, -INF], [-1.0, -0.5], INF),
    ([INF, 2.0], [INF, -57344.0], INF),
    ([NAN, 1.0], [1.0, 1.0], NAN),
    ([1.0] * 32 + [INF], [1.0] * 32 + [1.0], INF),  # Inf in the second block
    ([INF] + [0.0] * 31 + [-INF], [1.0] * 33, NAN),  # +Inf in block 0, -Inf in block 1
])
def test_special_values_ieee(a, b, want):
    """NaN and Inf follow IEEE 754 in every model (MX §5.1 allows Inf/NaN elements in E5M2)."""
    A, B = _e5(a), _e5(b)
    for model in MODELS:
        assert same(mxref.dot(A, B, accumulate=model), np.float32(want)), model
    got = mxref.dot(A, B, dtype="exact")
    assert (math.isnan(got) if math.isnan(want) else got == want)


@pytest.mark.parametrize("fmt", MX)
def test_nan_scale_makes_the_result_nan(fmt):
    """A NaN scale makes its block NaN whatever the elements (MX §5.1), even with zeros."""
    a = mk(fmt, [127, 0xFF], [0] * 64)
    b = mk(fmt, [127, 127], [0] * 64)
    for model in MODELS:
        assert np.isnan(mxref.dot(a, b, accumulate=model))
        assert np.isnan(mxref.dot(b, a, accumulate=model))
    assert math.isnan(mxref.dot(a, b, dtype="exact"))


def test_e4m3_nan_element():
    a = mk("mxfp8_e4m3", [127], [0x7F, 0x38])
    b = mk("mxfp8_e4m3", [127], [0x00, 0x38])
    assert np.isnan(mxref.dot(a, b)) and math.isnan(mxref.dot(a, b, dtype="exact"))


def test_exact_sum_needs_more_than_float64():
    """E5M2 x E5M2: 4096^2 + 1 + (2^-16)^2 = 2^24 + 1 + 2^-32 exactly. float64 holds 2^24 + 1
    (the 2^-32 is lost), which rounds to 2^24 in float32 (a tie, to even); the exact value lies
    above the tie: 2^24 + 2. The sequential model rounds 2^24 + 1 first: 2^24."""
    a = _e5([4096.0, 1.0, 2.0**-16])
    assert mxref.dot(a, a, dtype="exact") == F(2**24 + 1) + F(1, 2**32)
    assert mxref.dot(a, a) == np.float32(16777218.0)
    assert mxref.dot(a, a, accumulate="fp32_blockwise") == np.float32(16777218.0)
    assert mxref.dot(a, a, accumulate="fp32_sequential") == np.float32(16777216.0)
    assert np.float32(np.float64(2**24) + 1 + 2.0**-32) == np.float32(16777216.0)  # float64 loses


def test_e5m2_block_sum_of_69_bits():
    """The largest E5M2 products with the smallest: 31 * 57344^2 + 2^-32 in one block (at X = 1
    the integer form is 31 * (57344 * 2^16)^2 + 1, a 69-bit integer), exactly."""
    vals = [57344.0] * 31 + [2.0**-16]
    a = _e5(vals)
    want = 31 * F(57344) ** 2 + F(1, 2**32)
    assert (want * 2**32).numerator.bit_length() == 69
    assert mxref.dot(a, a, dtype="exact") == want
    assert mxref.dot(a, a) == reference.round_float32_scalar(want)


def test_exact_zero_is_positive_zero():
    a = _e5([-0.0, 2.0, -2.0])
    b = _e5([1.0, 3.0, 3.0])
    for model in MODELS:
        r = mxref.dot(a, b, accumulate=model)
        assert r == 0 and not np.signbit(r)
    assert mxref.dot(a, b, dtype="exact") == 0


def test_empty_vectors():
    a = mxref.quantize(np.zeros(0, np.float32), "mxfp8_e4m3")
    for model in MODELS:
        assert mxref.dot(a, a, accumulate=model) == 0
    assert mxref.dot(a, a, dtype="exact") == 0
    A = mxref.quantize(np.zeros((3, 0), np.float32), "mxfp4_e2m1", axis=1)
    B = mxref.quantize(np.zeros((0, 2), np.float32), "mxfp4_e2m1", axis=0)
    assert np.array_equal(mxref.matmul(A, B), np.zeros((3, 2), np.float32))


# ----- matmul -------------------------------------------------------------------------------------


def row_of(A, m):
    return mk(A.format, A.scales[m], A.elements[m], A.block_size)


def col_of(B, n):
    return mk(B.format, B.scales[:, n], B.elements[:, n], B.block_size)


@st.composite
def mx_matrices(draw):
    fa, fb = draw(st.sampled_from(MX)), draw(st.sampled_from(MX))
    k = draw(st.sampled_from([32, 32, 4, 3]))
    M, N = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    K = draw(st.integers(1, 3 * k + 3))
    rows = [draw(mx_vector(fa, K, k)) for _ in range(M)]
    cols = [draw(mx_vector(fb, K, k)) for _ in range(N)]
    A = mxref.MXArray(mxref.mx_format(fa), k, 1, (M, K), np.stack([r.scales for r in rows]),
                      np.stack([r.elements for r in rows]))
    B = mxref.MXArray(mxref.mx_format(fb), k, 0, (K, N), np.stack([c.scales for c in cols], axis=1),
                      np.stack([c.elements for c in cols], axis=1))
    return A, B


@settings(max_examples=max(10, settings().max_examples // 5))
@given(mx_matrices())
def test_matmul_equals_dot_and_the_python_loop(AB):
    """matmul under every model == dot of row m and column n, and == the plain loop of
    reference.dot_scalar (np.float32 scalar additions in the stated order), per element."""
    A, B = AB
    M, N = A.shape[0], B.shape[1]
    rows = [row_of(A, m) for m in range(M)]
    cols = [col_of(B, n) for n in range(N)]
    vr = [reference.mx_values_scalar(r) for r in rows]
    vc = [reference.mx_values_scalar(c) for c in cols]
    for model in MODELS:
        C = mxref.matmul(A, B, accumulate=model)
        assert C.dtype == np.float32 and C.shape == (M, N)
        for m in range(M):
            for n in range(N):
                assert same(C[m, n], mxref.dot(rows[m], cols[n], accumulate=model)), (model, m, n)
                want = reference.dot_scalar(vr[m], vc[n], accumulate=model, block_size=A.block_size)
                assert same(C[m, n], want), (model, m, n)


def test_matmul_in_chunks_and_tiles(monkeypatch):
    """Chunking over blocks / K steps and tiling over rows does not change a bit."""
    import sys

    mod = sys.modules["mxref.products"]  # the module of dot / matmul (mxref.dot is the function)
    rng = np.random.default_rng(5)
    for fa, fb in [("mxfp8_e5m2", "mxfp8_e5m2"), ("mxfp4_e2m1", "mxint8"), ("mxfp6_e3m2", "mxfp8_e4m3")]:
        x = rng.standard_normal((5, 200)) * np.exp2(rng.integers(-30, 30, (5, 200)))
        y = rng.standard_normal((200, 7)) * np.exp2(rng.integers(-30, 30, (200, 7)))
        A = mxref.quantize(x, fa, axis=1)
        B = mxref.quantize(y, fb, axis=0)
        whole = {m: mxref.matmul(A, B, accumulate=m) for m in MODELS}
        monkeypatch.setattr(mod, "_CHUNK", 40)
        monkeypatch.setattr(mod, "_TILE", 30)
        for m in MODELS:
            assert np.array_equal(mxref.matmul(A, B, accumulate=m).view(np.uint32), whole[m].view(np.uint32)), m
        monkeypatch.undo()


def _tiny_data():
    """Blocks whose products, block sums and running sums are float32 subnormals."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 96)) * 2.0**-70
    y = rng.standard_normal((96, 3)) * 2.0**-70
    return mxref.quantize(x, "mxfp8_e4m3", axis=1), mxref.quantize(y, "mxfp6_e2m3", axis=0)


def test_float32_models_without_ieee_subnormals(monkeypatch):
    """The flush-to-zero fallback (float64 sum, integer rounding) gives the IEEE results."""
    import sys

    A, B = _tiny_data()
    want = {m: mxref.matmul(A, B, accumulate=m) for m in MODELS}
    assert (np.abs(want["fp32_sequential"]) < 2.0**-126).any()
    monkeypatch.setattr(sys.modules["mxref.products"], "ieee_subnormals", lambda: False)
    for m in MODELS:
        assert np.array_equal(mxref.matmul(A, B, accumulate=m).view(np.uint32), want[m].view(np.uint32))


def test_float32_models_in_a_flush_to_zero_thread():
    torch = pytest.importorskip("torch")
    A, B = _tiny_data()
    want = {m: mxref.matmul(A, B, accumulate=m) for m in MODELS}
    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU has no flush-to-zero mode")
    try:
        assert not mxref.ieee_subnormals()
        got = {m: mxref.matmul(A, B, accumulate=m) for m in MODELS}
    finally:
        torch.set_flush_denormal(False)
    for m in MODELS:
        assert np.array_equal(got[m].view(np.uint32), want[m].view(np.uint32)), m


def test_inputs_are_not_modified():
    rng = np.random.default_rng(3)
    A = mxref.quantize(rng.standard_normal((3, 70)), "mxfp8_e5m2", axis=1)
    B = mxref.quantize(rng.standard_normal((70, 2)), "mxfp4_e2m1", axis=0)
    before = [x.copy() for x in (A.scales, A.elements, B.scales, B.elements)]
    for m in MODELS:
        mxref.matmul(A, B, accumulate=m)
    for x, y in zip(before, (A.scales, A.elements, B.scales, B.elements)):
        assert np.array_equal(x, y)


# ----- validation ---------------------------------------------------------------------------------


def test_bad_arguments_name_the_argument():
    rng = np.random.default_rng(0)
    v = mxref.quantize(rng.standard_normal(64), "mxfp8_e4m3")
    v16 = mxref.quantize(rng.standard_normal(64), "mxfp8_e4m3", block_size=16)
    A = mxref.quantize(rng.standard_normal((2, 64)), "mxfp8_e4m3", axis=1)
    B = mxref.quantize(rng.standard_normal((64, 3)), "mxfp8_e4m3", axis=0)
    with pytest.raises(TypeError, match="a must be an MXArray"):
        mxref.dot(np.ones(64), v)
    with pytest.raises(TypeError, match="b must be an MXArray"):
        mxref.matmul(A, np.ones((64, 3)))
    with pytest.raises(ValueError, match="a must be 1-D"):
        mxref.dot(A, v)
    with pytest.raises(ValueError, match="same reduction length"):
        mxref.dot(v, mxref.quantize(rng.standard_normal(63), "mxfp8_e4m3"))
    with pytest.raises(ValueError, match="block_size"):
        mxref.dot(v, v16)
    with pytest.raises(ValueError, match="a must be blocked along axis 1"):
        mxref.matmul(mxref.quantize(rng.standard_normal((2, 64)), "mxfp8_e4m3", axis=0), B)
    with pytest.raises(ValueError, match="b must be blocked along axis 0"):
        mxref.matmul(A, mxref.quantize(rng.standard_normal((64, 3)), "mxfp8_e4m3", axis=1))
    with pytest.raises(ValueError, match="b must be 2-D"):
        mxref.matmul(A, v)
    with pytest.raises(ValueError, match="same reduction length"):
        mxref.matmul(A, mxref.quantize(rng.standard_normal((32, 3)), "mxfp8_e4m3", axis=0))
    with pytest.raises(ValueError, match="accumulate must be one of"):
        mxref.matmul(A, B, accumulate="fp16")
    with pytest.raises(ValueError, match="dtype must be"):
        mxref.dot(v, v, dtype=np.float64)
    with pytest.raises(ValueError, match="dtype='exact' goes with accumulate='exact'"):
        mxref.dot(v, v, dtype="exact", accumulate="fp32_sequential")
