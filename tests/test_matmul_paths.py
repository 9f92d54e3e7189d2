"""The fast paths of mxref.matmul / dot (MX §6.1, §6.2): whole-K limb GEMMs for "exact", one
float64 product per block for "fp32_blockwise" (and its two-limb fallback), float32 products for
"fp32_sequential". Held bit for bit against the general paths (``products._FAST = False``) and
the one-term-at-a-time Fraction reference (reference.dot_scalar) for every pair of element
formats and every float32 model, on hand-built codes: ordinary blocks, scales across the whole
E8M0 range, NaN / Inf elements and NaN scales, blocks spanning their format's whole exponent
range (max and smallest subnormal together), cancellation. The roundings the paths use
(pair_to_f32, cast_f32) against exact Fraction arithmetic; the limb plans against their bound."""

import sys
from fractions import Fraction as F

import numpy as np
import pytest

import mxref
from mxref import _intsum, reference

MX = list(mxref.MX_FORMATS)
MODELS = list(mxref.options.FLOAT32_ACCUMULATORS)
prod = sys.modules["mxref.products"]  # the module of matmul (mxref.matmul is the function)


@pytest.fixture(autouse=True)
def fast_even_when_small(monkeypatch):
    """The small shapes here take the fast paths too (by default a dot or a matrix-vector
    product goes the general way, which is faster there)."""
    monkeypatch.setattr(prod, "_FAST_MIN", 0)


def same(got, want) -> bool:
    """float32 arrays equal bit for bit, any NaN equal to any NaN."""
    g, w = np.asarray(got, np.float32), np.asarray(want, np.float32)
    nan = np.isnan(g)
    return bool(np.array_equal(nan, np.isnan(w)) and
                np.array_equal(g.view(np.uint32)[~nan], w.view(np.uint32)[~nan]))


def _codes(rng, el, n, kind):
    finite = np.array([c for c in range(el.num_codes) if c not in el.nan_codes + el.inf_codes])
    c = rng.choice(finite, n)
    if kind == "span":  # the largest magnitude and the smallest nonzero one in every block
        small = 1 if not el.integer else 1
        c[0::5] = el.code_of_max | (el.sign_mask if rng.integers(2) else 0) if not el.integer else 0x7F
        c[1::7] = small
    if kind == "special" and (el.nan_codes or el.inf_codes):
        pick = rng.random(n) < 0.05
        c[pick] = rng.choice(np.array(el.nan_codes + el.inf_codes), pick.sum())
    if kind == "zeros":
        c[rng.random(n) < 0.6] = 0
    return c.astype(np.uint8)


def _scales(rng, n, kind):
    if kind in ("wide", "special"):
        s = rng.choice(np.array([0, 1, 2, 60, 126, 127, 128, 200, 253, 254]), n)
        if kind == "special":
            s[rng.random(n) < 0.1] = 0xFF
        return s.astype(np.uint8)
    return rng.integers(124, 131, n).astype(np.uint8)


def mx_matrix(rng, fmt, M, K, axis, k, kind):
    """(M, K) blocked along axis 1 (axis=1), or its (K, M) transpose blocked along axis 0."""
    mxf = mxref.mx_format(fmt)
    nb = -(-K // k)
    codes = _codes(rng, mxf.element, M * K, kind).reshape(M, K)
    scales = _scales(rng, M * nb, kind).reshape(M, nb)
    if axis == 1:
        return mxref.MXArray(mxf, k, 1, (M, K), scales, codes)
    return mxref.MXArray(mxf, k, 0, (K, M), np.ascontiguousarray(scales.T), np.ascontiguousarray(codes.T))


def cancelling(rng, fmt, k):
    """Rows (u, u) and (u, u) with one code changed, columns (v, -v): sums of large terms that
    cancel to nothing, or to one small difference."""
    el = mxref.mx_format(fmt).element
    u, v = _codes(rng, el, 2 * k, "span"), _codes(rng, el, 2 * k, "span")
    neg = ((256 - v.astype(np.int64)) % 256).astype(np.uint8) if el.integer else v ^ el.sign_mask
    su, sv = _scales(rng, 2, "narrow"), _scales(rng, 2, "narrow")
    a = np.stack([np.concatenate([u, u]), np.concatenate([u, u])])
    a[1, rng.integers(4 * k)] = rng.choice([c for c in range(el.num_codes) if c not in el.nan_codes + el.inf_codes])
    b = np.concatenate([v, neg])[:, None]
    A = mxref.MXArray(mxref.mx_format(fmt), k, 1, a.shape, np.stack([np.concatenate([su, su])] * 2), a)
    B = mxref.MXArray(mxref.mx_format(fmt), k, 0, b.shape, np.concatenate([sv, sv])[:, None], b)
    return A, B


def both_paths(A, B, model, monkeypatch):
    fast = mxref.matmul(A, B, accumulate=model)
    with monkeypatch.context() as mp:
        mp.setattr(prod, "_FAST", False)
        general = mxref.matmul(A, B, accumulate=model)
    return fast, general


def by_reference(A, B, model):
    rows = [mxref.MXArray(A.format, A.block_size, 0, (A.shape[1],), A.scales[m], A.elements[m])
            for m in range(A.shape[0])]
    cols = [mxref.MXArray(B.format, B.block_size, 0, (B.shape[0],), np.ascontiguousarray(B.scales[:, n]),
                          np.ascontiguousarray(B.elements[:, n])) for n in range(B.shape[1])]
    vr = [reference.mx_values_scalar(r) for r in rows]
    vc = [reference.mx_values_scalar(c) for c in cols]
    return np.array([[reference.dot_scalar(r, c, accumulate=model, block_size=A.block_size) for c in vc]
                     for r in vr], np.float32)


KINDS = ["narrow", "wide", "special", "span", "zeros"]


@pytest.mark.parametrize("fb", MX)
@pytest.mark.parametrize("fa", MX)
def test_fast_paths_equal_general_and_reference(fa, fb, monkeypatch):
    """Every format pair x model x kind of data: fast == general == Fraction reference."""
    rng = np.random.default_rng(sum(map(ord, fa + fb)))
    for i, kind in enumerate(KINDS):
        k = 32 if i % 2 == 0 else 8
        M, K, N = 3, int(rng.integers(1, 4 * k + 5)), 2
        A = mx_matrix(rng, fa, M, K, 1, k, kind)
        B = mx_matrix(rng, fb, N, K, 0, k, kind)
        for model in MODELS:
            fast, general = both_paths(A, B, model, monkeypatch)
            assert same(fast, general), (kind, model)
            if kind in ("special", "span") or i == 0:
                assert same(fast, by_reference(A, B, model)), (kind, model)


@pytest.mark.parametrize("fmt", MX)
def test_cancellation(fmt, monkeypatch):
    rng = np.random.default_rng(len(fmt))
    for k in (32, 4):
        A, B = cancelling(rng, fmt, k)
        for model in MODELS:
            fast, general = both_paths(A, B, model, monkeypatch)
            assert same(fast, general) and same(fast, by_reference(A, B, model)), model
        assert mxref.matmul(A, B)[0, 0].view(np.uint32) == 0  # an exact zero is +0


def _spy(monkeypatch, name):
    calls = []
    real = getattr(prod, name)

    def spy(*args, **kw):
        r = real(*args, **kw)
        calls.append(r is not None)
        return r
    monkeypatch.setattr(prod, name, spy)
    return calls


def test_each_fast_path_is_taken_where_it_applies(monkeypatch):
    """E4M3 data goes the fast ways (block sums below 2^41: one float64 product each); rows
    spanning 2^254 fall back to the general exact path;
    E5M2 blocks with 57344 and 2^-16 on both sides need the two-limb block sums; values beyond
    float32 (448 * 2^127) keep the float64 products of the general sequential path."""
    rng = np.random.default_rng(7)
    calls = {n: _spy(monkeypatch, n) for n in ("_exact_gemm", "_blockwise_blas", "_sequential_f32")}
    pairs = _spy(monkeypatch, "pair_to_f32")
    A = mx_matrix(rng, "mxfp8_e4m3", 4, 96, 1, 32, "narrow")
    B = mx_matrix(rng, "mxfp8_e4m3", 3, 96, 0, 32, "narrow")
    for model in MODELS:
        mxref.matmul(A, B, accumulate=model)
    assert [c[-1] for c in calls.values()] == [True, True, True] and not pairs
    A = mx_matrix(rng, "mxfp8_e5m2", 4, 96, 1, 32, "span")
    B = mx_matrix(rng, "mxfp8_e5m2", 3, 96, 0, 32, "span")
    fast, general = both_paths(A, B, "fp32_blockwise", monkeypatch)
    assert calls["_blockwise_blas"][-1] and pairs and same(fast, general)
    assert same(fast, by_reference(A, B, "fp32_blockwise"))
    A = mx_matrix(rng, "mxfp8_e4m3", 4, 96, 1, 32, "wide")
    sc = A.scales.copy()
    sc[:, 0], sc[:, 1] = 0, 254
    A = mxref.MXArray(A.format, 32, 1, A.shape, sc, A.elements)
    mxref.matmul(A, B)
    assert calls["_exact_gemm"][-1] is False
    mxref.matmul(A, B, accumulate="fp32_sequential")
    assert calls["_sequential_f32"][-1] is False


def test_tiles_do_not_change_a_bit(monkeypatch):
    rng = np.random.default_rng(11)
    for fa, fb, kind in [("mxfp8_e5m2", "mxfp8_e5m2", "span"), ("mxfp4_e2m1", "mxint8", "special"),
                         ("mxfp6_e3m2", "mxfp8_e4m3", "narrow")]:
        A = mx_matrix(rng, fa, 7, 130, 1, 32, kind)
        B = mx_matrix(rng, fb, 5, 130, 0, 32, kind)
        whole = {m: mxref.matmul(A, B, accumulate=m) for m in MODELS}
        with monkeypatch.context() as mp:
            for name in ("_GEMM_TILE", "_BLOCK_TILE", "_SEQ_TILE"):
                mp.setattr(prod, name, 3)
            for m in MODELS:
                assert same(mxref.matmul(A, B, accumulate=m), whole[m]), (fa, fb, m)


@pytest.mark.parametrize("fmt", ["mxfp8_e5m2", "mxfp8_e4m3", "mxint8"])
def test_long_dot_equals_general_path(fmt, monkeypatch):
    """dot over 3000 elements (a 1 x 1 output: the sequential path's K chunks) per model."""
    rng = np.random.default_rng(3)
    x = mx_matrix(rng, fmt, 1, 3000, 1, 32, "narrow")
    a = mxref.MXArray(x.format, 32, 0, (3000,), x.scales[0], x.elements[0])
    y = mx_matrix(rng, fmt, 1, 3000, 1, 32, "span")
    b = mxref.MXArray(y.format, 32, 0, (3000,), y.scales[0], y.elements[0])
    for model in MODELS:
        fast = mxref.dot(a, b, accumulate=model)
        with monkeypatch.context() as mp:
            mp.setattr(prod, "_FAST", False)
            assert same(fast, mxref.dot(a, b, accumulate=model)), model


# ----- the roundings and the limb plans --------------------------------------------------------------


def test_pair_to_f32_is_one_rounding():
    """(hi * 2^c + lo) * 2^base rounded by pair_to_f32 == the Fraction rounded to nearest even:
    random operands placed at float32's normal, subnormal and overflow ranges, exact ties and
    ties broken by one far low bit, both signs, zero."""
    rng = np.random.default_rng(0)
    his, los, cs, bases = [], [], [], []
    for _ in range(3000):
        c = int(rng.choice([0, 1, 13, 16, 24, 32]))
        hi = int(rng.integers(-(1 << 53), 1 << 53)) >> int(rng.integers(0, 54))
        lo = int(rng.integers(-(1 << 53), 1 << 53)) >> int(rng.integers(0, 54))
        kind = rng.integers(4)
        if kind == 0:  # an exact tie at 24 bits (or at the subnormal quantum), maybe one low bit more
            X = ((1 << 24) | int(rng.integers(0, 1 << 23)) << 1 | 1) << int(rng.integers(0, 29 + c))
            X = -X if rng.integers(2) else X
            if c and rng.integers(2):
                X += 1 if X > 0 else -1
            hi, lo = X >> c, X - ((X >> c) << c)
        v = hi * (1 << c) + lo
        top = abs(v).bit_length()
        target = int(rng.choice([0, -126, -140, -149, -151, 127, 128]) if kind == 1 else rng.integers(-160, 130))
        his.append(hi)
        los.append(lo)
        cs.append(c)
        bases.append(target - top)
    his.append(0), los.append(0), cs.append(16), bases.append(-20)
    for c in sorted(set(cs)):
        idx = [i for i, ci in enumerate(cs) if ci == c]
        hi = np.array([his[i] for i in idx], np.int64)
        lo = np.array([los[i] for i in idx], np.int64)
        base = np.array([bases[i] for i in idx], np.int64)
        got = _intsum.pair_to_f32(hi, lo, c, base)
        for g, i in zip(got, idx):
            want = reference.round_float32_scalar((F(his[i]) * 2 ** c + los[i]) * F(2) ** bases[i])
            assert same(g, want), (his[i], los[i], c, bases[i])


def test_cast_f32_is_the_rounding_of_the_reference():
    """float64 -> float32 as cast_f32 does it (the IEEE conversion in an IEEE thread) ==
    reference.round_float32_scalar of the exact float64 value: ties, subnormals, overflow."""
    rng = np.random.default_rng(1)
    sig = rng.integers(1 << 52, 1 << 53, 4000)
    sig[::3] = (sig[::3] >> 29 << 29) | (1 << 28)  # exact ties at 24 bits
    e = rng.integers(-210, 110, sig.size)
    x = np.ldexp(sig.astype(np.float64), e) * np.where(rng.random(sig.size) < 0.5, -1, 1)
    got = _intsum.cast_f32(x)
    for g, v in zip(got, x):
        assert same(g, reference.round_float32_scalar(F(float(v))))


@pytest.mark.parametrize("terms", [1, 32, 4096, 3000])
def test_limb_plans_keep_every_sum_exact(terms):
    for ba in range(0, 90, 7):
        for bb in range(0, 90, 5):
            plan = _intsum.plan_limbs(ba, bb, terms, 12)
            if plan is None:
                # no pair count of at most 12 fits: then not even the widest split does
                assert all(terms * ((1 << -(-ba // na)) - 1) * ((1 << -(-bb // (12 // na))) - 1) > 1 << 53
                           for na in range(1, 13))
                continue
            na, nb, wa, wb = plan
            assert na * wa >= ba and nb * wb >= bb and na * nb <= 12
            assert terms * ((1 << wa) - 1) * ((1 << wb) - 1) <= 1 << 53


def test_a_dot_goes_the_general_way_by_default(monkeypatch):
    monkeypatch.setattr(prod, "_FAST_MIN", 4)
    calls = _spy(monkeypatch, "_exact_gemm")
    rng = np.random.default_rng(2)
    x = mx_matrix(rng, "mxfp8_e4m3", 1, 256, 1, 32, "narrow")
    a = mxref.MXArray(x.format, 32, 0, (256,), x.scales[0], x.elements[0])
    mxref.dot(a, a)
    assert calls == []
    A = mx_matrix(rng, "mxfp8_e4m3", 9, 64, 1, 32, "narrow")
    B = mx_matrix(rng, "mxfp8_e4m3", 9, 64, 0, 32, "narrow")
    mxref.matmul(A, B)
    assert calls == [True]
