"""The fast path of mxref.accumulators.gemm (mxref/accumulators/_fastgemm.py: a GEMM where a
bound proves that no term loses a bit, the per-term model on the other outputs) against the
per-term model kept as ``path="reference"`` and against the Python-integer arithmetic
(``arithmetic="python"``, which the fast path never takes), bit for bit: every preset and every
operand / scale / block configuration it takes, every code (NaN, Inf, subnormals, zeros), scales
over the whole E8M0 / UE4M3 range (exponent spreads far beyond any alignment width), C from
subnormal to 2^127 and non-finite, batch axes, K orders, tile edges, generic Accumulators with the
other rounding / overflow / subnormal rules, and MX-quantized normal data (the benchmark's)."""

import itertools

import numpy as np
import pytest

import mxref
from mxref import accumulators as acm
from mxref.accumulators import _fastgemm, model

SCALED = {"blackwell_mxf8f6f4": [("e8m0", 32)], "rtx_blackwell_mxf8f6f4": [("e8m0", 32)],
          "blackwell_mxf4": [("e8m0", 32)], "rtx_blackwell_mxf4nvf4": [("ue4m3", 16), ("e8m0", 32)],
          "blackwell_mxf4nvf4": [("ue4m3", 16), ("e8m0", 16), ("e8m0", 32)],
          "hopper_fp8": [(None, None)], "cdna3_fp8": [(None, None)]}
CASES = [(p, fa, fb, sf, bs) for p, acc in acm.PRESETS.items()
         for fa, fb in itertools.product(acc.element_formats, repeat=2) for sf, bs in SCALED[p]]


def _c(rng, shape, special=True):
    """float32 C: zeros, subnormals, values from 2^-140 to 2^120, and (optionally) NaN / +-Inf."""
    c = rng.standard_normal(shape) * np.ldexp(1.0, rng.integers(-140, 120, shape))
    c[rng.random(shape) < 0.15] = 0.0
    c[rng.random(shape) < 0.1] = 2.0 ** -140
    c = c.astype(np.float32)
    if special:
        r = rng.random(shape)
        c[r < 0.03] = np.nan
        c[(r >= 0.03) & (r < 0.06)] = np.inf
        c[(r >= 0.06) & (r < 0.08)] = -np.inf
    return c


def _draw(acc, fa, fb, sf, bs, rng, M=9, N=7, T=3, batch=(2,), spread=True):
    K = T * acc.k
    a = rng.integers(0, 1 << acm.codec(fa).bits, batch + (M, K)).astype(np.uint8)
    b = rng.integers(0, 1 << acm.codec(fb).bits, batch + (K, N)).astype(np.uint8)
    a[..., 0, :] = a[..., 0, :] & 0x01  # a row of zeros and the smallest subnormals
    sa = sb = None
    if sf is not None:
        n = 256 if sf == "e8m0" else 0x80
        lo, hi = (0, n) if spread else ((120, 135) if sf == "e8m0" else (0x20, 0x50))
        sa = rng.integers(lo, hi, batch + (M, K // bs)).astype(np.uint8)
        sb = rng.integers(lo, hi, batch + (K // bs, N)).astype(np.uint8)
    return a, b, sa, sb


def _gemm(acc, fa, fb, sf, a, b, sa, sb, c, **kw):
    return acm.gemm(a, fa, sa, b, fb, sb, c, preset=acc, scale_fmt=sf, **kw).view(np.uint32)


@pytest.mark.parametrize("preset,fa,fb,sf,bs", CASES)
def test_fast_path_equals_the_reference_on_every_configuration(preset, fa, fb, sf, bs):
    acc = acm.preset(preset)
    rng = np.random.default_rng(sum(map(ord, f"{preset}{fa}{fb}{sf}{bs}")))
    for spread in (True, False):
        a, b, sa, sb = _draw(acc, fa, fb, sf, bs, rng, spread=spread)
        for c in (None, _c(rng, (2, 9, 7))):
            ref = _gemm(acc, fa, fb, sf, a, b, sa, sb, c, path="reference")
            np.testing.assert_array_equal(_gemm(acc, fa, fb, sf, a, b, sa, sb, c), ref)
            if spread and c is not None:
                wide = _gemm(acc, fa, fb, sf, a, b, sa, sb, c, arithmetic="python")
                np.testing.assert_array_equal(ref, wide)


def test_the_fast_path_is_taken_by_the_fused_presets_only():
    for name, acc in acm.PRESETS.items():
        A = type("S", (), {"se": np.zeros((1, 1, 1))})()
        assert _fastgemm.applies(acc, A, False) == (acc.c_entry == "fused"), name
        assert not _fastgemm.applies(acc, A, True)
    assert not _fastgemm.applies(acm.preset("blackwell_mxf8f6f4").replace(fraction_bits=None),
                                 A, False)


VARIANTS = [
    dict(result_rounding="nearest_even"),
    dict(zero_sign="rounded", result_rounding="nearest_even"),
    dict(overflow="saturate"),
    dict(subnormal_outputs="flush"),
    dict(subnormal_inputs="flush"),
    dict(term_rounding="floor", fraction_bits=8),
    dict(term_rounding="nearest_even", fraction_bits=3, result_fraction_bits=10),
    dict(fraction_bits=0),
    dict(zero_exponent=-200, nan_bits=None),
]


@pytest.mark.parametrize("base,fa,fb,sf,bs", [("blackwell_mxf8f6f4", "fp8_e5m2", "fp8_e4m3", "e8m0", 32),
                                              ("blackwell_mxf4nvf4", "fp4_e2m1", "fp4_e2m1", "ue4m3", 16),
                                              ("hopper_fp8", "fp8_e5m2", "fp8_e5m2", None, None)])
@pytest.mark.parametrize("change", VARIANTS, ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()))
def test_fast_path_equals_the_reference_on_generic_accumulators(base, fa, fb, sf, bs, change):
    acc = acm.preset(base).replace(**change)
    rng = np.random.default_rng(len(str(change)) + len(base))
    a, b, sa, sb = _draw(acc, fa, fb, sf, bs, rng, spread=False)
    c = _c(rng, (2, 9, 7))
    ref = _gemm(acc, fa, fb, sf, a, b, sa, sb, c, path="reference")
    np.testing.assert_array_equal(_gemm(acc, fa, fb, sf, a, b, sa, sb, c), ref)
    if acm.fits_float64(acc, fa, fb, sf):
        np.testing.assert_array_equal(_gemm(acc, fa, fb, sf, a, b, sa, sb, c, arithmetic="python"), ref)


@pytest.mark.parametrize("preset,fa,fb,sf,bs", [("blackwell_mxf8f6f4", "fp8_e4m3", "fp8_e4m3", "e8m0", 32),
                                                ("blackwell_mxf4nvf4", "fp4_e2m1", "fp4_e2m1", "ue4m3", 16)])
def test_tile_edges_orders_and_batches(preset, fa, fb, sf, bs, monkeypatch):
    """Tiles of 5 outputs (ragged edges), matmul blocks of a few columns, any K order, 3-D batch."""
    acc = acm.preset(preset)
    rng = np.random.default_rng(3)
    a, b, sa, sb = _draw(acc, fa, fb, sf, bs, rng, M=13, N=11, T=4, batch=(2, 2), spread=False)
    c = _c(rng, (2, 2, 13, 11), special=False)
    for order in ("ascending", "descending", [2, 0, 3, 1]):
        ref = _gemm(acc, fa, fb, sf, a, b, sa, sb, c, path="reference", k_order=order)
        np.testing.assert_array_equal(_gemm(acc, fa, fb, sf, a, b, sa, sb, c, k_order=order), ref)
        with monkeypatch.context() as m:
            m.setattr(model, "_TILE", 5)
            m.setattr(_fastgemm, "_MACS", 64 * acc.k * 3)
            np.testing.assert_array_equal(_gemm(acc, fa, fb, sf, a, b, sa, sb, c, k_order=order), ref)


def test_one_lossy_term_among_exact_ones():
    """Outputs where the bound fails by one bit, and by none: the tiny product is truncated."""
    acc = acm.preset("blackwell_mxf8f6f4")
    f = "fp8_e4m3"
    vals = mxref.decode(np.arange(256, dtype=np.uint8), f, np.float64)
    big, tiny = int(np.flatnonzero(vals == 448)[0]), int(np.flatnonzero(vals == 2.0 ** -9)[0])
    one = int(np.flatnonzero(vals == 1.0)[0])
    a = np.full((4, 32), 0, np.uint8)
    b = np.full((32, 3), one, np.uint8)
    a[:, 0] = big
    a[1, 5] = tiny          # 448 * 1 and 2^-9: spread 8 + 9 = 17 bits: exact
    a[2, 5:9] = tiny        # several
    b[5, 1] = tiny          # 2^-18 against 2^8: 26 bits below 448's exponent: truncated to 0
    a[3] = tiny             # all tiny, then a large C
    sa = np.full((4, 1), 127, np.uint8)
    sb = np.full((1, 3), 127, np.uint8)
    c = np.zeros((4, 3), np.float32)
    c[3] = [2.0 ** 18, -(2.0 ** 18), 3.0]
    ref = _gemm(acc, f, f, "e8m0", a, b, sa, sb, c, path="reference")
    np.testing.assert_array_equal(_gemm(acc, f, f, "e8m0", a, b, sa, sb, c), ref)
    got = ref.view(np.float32)
    # E = 8 (448), quantum 2^(8 - 25): 2^-9 (a subnormal, alignment exponent -6) is kept exactly
    assert got[1, 0] == 448 + 2.0 ** -9 and got[2, 0] == 448 + 4 * 2.0 ** -9
    assert got[1, 1] == 448  # 2^-18 is below the quantum 2^-17: truncated
    # E = 18 (C), quantum 2^-7: the 32 products 2^-9 vanish (untruncated: 2^18 + 2^-4, a float32)
    assert got[3, 0] == 2.0 ** 18 and got[3, 1] == -(2.0 ** 18)
    # E = 1 (C = 3), quantum 2^-24: 32 * 2^-9 kept
    assert got[3, 2] == 3.0625


@pytest.mark.parametrize("fa,fb", [(f, f) for f in mxref.MX_FORMATS if "int" not in f]
                         + [("mxfp8_e4m3", "mxfp8_e5m2")])
def test_matmul_on_quantized_normal_data(fa, fb):
    """The benchmark's data (standard normal, MX-quantized), through mxref.matmul."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((40, 512), dtype=np.float32)
    y = rng.standard_normal((512, 24), dtype=np.float32)
    A, B = mxref.quantize(x, fa, axis=1), mxref.quantize(y, fb, axis=0)
    n = 0
    for name in mxref.options.TENSOR_CORE_ACCUMULATORS:
        try:
            got = mxref.matmul(A, B, accumulate=name).view(np.uint32)
        except ValueError:
            continue
        n += 1
        ref = acm.gemm(np.asarray(A.elements), A.format.element, np.asarray(A.scales),
                       np.asarray(B.elements), B.format.element, np.asarray(B.scales),
                       preset=name, path="reference").view(np.uint32)
        np.testing.assert_array_equal(got, ref)
    assert n >= 2  # the two mxf8f6f4 presets, and the three FP4 ones for MXFP4


def test_path_must_be_known():
    with pytest.raises(ValueError, match="path"):
        acm.gemm(np.zeros((1, 32), np.uint8), "fp8_e4m3", np.full((1, 1), 127, np.uint8),
                 np.zeros((32, 1), np.uint8), "fp8_e4m3", np.full((1, 1), 127, np.uint8), path="slow")


def test_infinities_without_nans_and_tiny_results():
    """E5M2 Inf against finite, zero (NaN) and the opposite Inf (NaN), with no NaN code in the
    chunk; sums below the float32 subnormal quantum truncate to +0 (never -0), subnormal sums
    stay exact."""
    acc = acm.preset("blackwell_mxf8f6f4")
    f = "fp8_e5m2"
    vals = mxref.decode(np.arange(256, dtype=np.uint8), f, np.float64)
    code = {v: int(np.flatnonzero(vals == v)[0]) for v in (1.0, -1.0, 2.0, np.inf, -np.inf)}
    a = np.full((5, 32), code[1.0], np.uint8)
    b = np.full((32, 2), code[2.0], np.uint8)
    a[0, 3] = code[np.inf]
    a[1, 3], a[1, 4] = code[np.inf], code[-np.inf]
    a[2, 3], b[3, 1] = code[-np.inf], 0
    a[3] = code[-1.0]
    a[4, :16] = code[-1.0]
    a[4, 16] = code[2.0]
    sa = np.full((5, 1), 127, np.uint8)
    sa[3:] = 0  # 2^-127
    sb = np.full((1, 2), 127, np.uint8)
    sb[0, 1] = 1  # 2^-126
    ref = _gemm(acc, f, f, "e8m0", a, b, sa, sb, None, path="reference")
    got = _gemm(acc, f, f, "e8m0", a, b, sa, sb, None)
    np.testing.assert_array_equal(got, ref)
    assert got[0, 0] == 0x7F800000 and got[2, 0] == 0xFF800000
    assert got[0, 1] == got[2, 1] == 0x7FFFFFFF  # +-Inf * 0 (b[3, 1] = 0)
    assert got[1, 0] == got[1, 1] == 0x7FFFFFFF  # +Inf and -Inf
    # row 3: 32 * (-1 * 2) * 2^-127 = -2^-121 (column 0, scale 2^0); column 1 (2^-126, k = 3
    # zero): -31 * 2^-252, below the subnormal quantum 2^-149: +0, not -0
    assert got[3, 0].view(np.float32) == -(2.0 ** -121) and got[3, 1] == 0
    # row 4: (-16 + 2 + 15) * 2 * 2^-127 = 2^-126; column 1: 2 * 2 * 2^-253: +0
    assert got[4, 0] == 0x00800000 and got[4, 1] == 0
    sa[4] = 127 - 9  # column 1: 2 * 2 * 2^-9 * 2^-126 = 2^-133, a float32 subnormal
    got = _gemm(acc, f, f, "e8m0", a, b, sa, sb, None)
    np.testing.assert_array_equal(got, _gemm(acc, f, f, "e8m0", a, b, sa, sb, None, path="reference"))
    assert got[4, 1] == 1 << 16  # 2^-133 = 2^16 * 2^-149


def test_a_sum_below_the_subnormal_quantum_on_the_gemm_side_is_plus_zero():
    """-2^-16 * 2^-127 * 1 * 2^-7 = -2^-150: no bit lost at E = -126 (C = 0), F = 25, so the
    GEMM side takes it; truncated to float32 it is +0 (the preset's zero sign), and 2^-149 and
    3 * 2^-150 stay the smallest subnormal."""
    acc = acm.preset("blackwell_mxf8f6f4")
    f = "fp8_e5m2"
    a = np.zeros((3, 32), np.uint8)
    a[0, 0] = 0x81  # -2^-16, the smallest subnormal
    a[1, 0] = 0x02  # 2^-15
    a[2, 0], a[2, 1] = 0x01, 0x02
    b = np.full((32, 1), 0x3C, np.uint8)  # 1.0
    sa = np.zeros((3, 1), np.uint8)
    sb = np.full((1, 1), 127 - 7, np.uint8)
    got = _gemm(acc, f, f, "e8m0", a, b, sa, sb, None)
    np.testing.assert_array_equal(got, _gemm(acc, f, f, "e8m0", a, b, sa, sb, None, path="reference"))
    assert list(got[:, 0]) == [0, 1, 1]


def test_C_loses_its_last_bit_when_the_products_are_larger():
    """32 * 32 = 2^10 and C = -(2^7 + 2^-16) (24 significant bits): E = 10, quantum 2^-15, so C is
    truncated toward zero to -2^7 first and D = 896 exactly (the untruncated sum 896 - 2^-16 would
    truncate to 896 - 2^-14); with C = -(2^8 + 2^-15) its last bit is on the quantum: kept."""
    acc = acm.preset("blackwell_mxf8f6f4")
    f = "fp8_e4m3"
    vals = mxref.decode(np.arange(256, dtype=np.uint8), f, np.float64)
    a = np.zeros((1, 32), np.uint8)
    b = np.zeros((32, 2), np.uint8)
    a[0, 0] = b[0, 0] = b[0, 1] = int(np.flatnonzero(vals == 32)[0])
    s = np.full((1, 1), 127, np.uint8)
    c = np.array([[-(2.0 ** 7 + 2.0 ** -16), -(2.0 ** 8 + 2.0 ** -15)]], np.float32)
    got = _gemm(acc, f, f, "e8m0", a, b, s, np.full((1, 2), 127, np.uint8), c)
    ref = _gemm(acc, f, f, "e8m0", a, b, s, np.full((1, 2), 127, np.uint8), c, path="reference")
    np.testing.assert_array_equal(got, ref)
    assert got.view(np.float32)[0, 0] == 896
    assert got.view(np.float32)[0, 1] == np.float32(768 - 2.0 ** -14)  # 768 - 2^-15, truncated
