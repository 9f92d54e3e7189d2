"""mxref.models: every model's rule against an independent derivation (integers, Fractions,
80-digit decimals) or the research's differing examples, models=() == mxref.quantize bit for
bit, composition, and clear ValueErrors. (Issue 14 §1.)"""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest

import mxref
import mxref.models as mm
from mxref.models._log2 import ceil_log2_rounded, floor_log2_rounded
from mxref.models.quantize import _pipeline

REQUIRED = ("scale_log2_f32", "scale_log2_f64", "scale_rceil_log2_f32", "scale_rceil_recip_mul",
            "scale_round_up_f32_quotient", "scale_round_down_f32_quotient", "scale_min_normal_divisor",
            "scale_code0_as_one", "scale_no_clamp_wrap", "scale_code_offset", "input_double_round_f32",
            "input_round_bf16", "scaled_quotient_f32", "elements_ties_away_f32_floor", "stochastic_gfloat",
            "stochastic_gfloat_odd", "scale_even_mbits", "scale_even_inf_clamp", "scale_int8_quantum_min_normal")
FP = ("mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp4_e2m1")


def f32(h):
    return np.uint32(h).view(np.float32)


def block(vals, k=32, dtype=np.float32):
    x = np.zeros((1, k), dtype)
    x[0, :len(vals)] = vals
    return x


def q(vals, fmt, models=(), dtype=np.float32, **kw):
    return mm.quantize_model(block(vals, dtype=dtype), fmt, models=models, **kw)


# ----- the catalogue --------------------------------------------------------------------------


def test_catalogue_has_every_required_model_documented():
    for mid in REQUIRED:
        assert mid in mm.MODELS, mid
    for mid, m in mm.MODELS.items():
        assert m.id == mid and m.kind in mm.KINDS and m.confidence in ("run", "code", "docs")
        assert len(m.doc) > 40 and m.source
    assert mm.MODELS["scale_code_offset"].params == ("offset",)
    assert "ties_toward_zero" in mxref.ROUNDING_MODES


# ----- exact float32 / float64 log2 -----------------------------------------------------------


def _rn_log2(x: float, p: int) -> Fraction:
    """RN_p(log2 x) computed independently: 80-digit decimal log2, rounded to p bits by integers."""
    with localcontext() as c:
        c.prec = 80
        lg = Fraction(Decimal(x).ln() / Decimal(2).ln())
    if lg == 0:
        return lg
    a = abs(lg)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    ulp = Fraction(2) ** (e - p + 1)
    n, r = divmod(a, ulp)
    n = int(n) + (1 if r * 2 > ulp or (r * 2 == ulp and int(n) % 2) else 0)
    return (n * ulp) * (1 if lg > 0 else -1)


def _near_pow2_f32(ulps=24, ks=range(-149, 129)):
    out = []
    for k in ks:
        b = np.float32(2.0**k) if k < 128 else np.float32(np.inf)
        lo = hi = b
        for _ in range(ulps):
            lo = np.nextafter(lo, np.float32(0))
            out.append(lo)
            if k < 128:
                hi = np.nextafter(hi, np.float32(np.inf))
                out.append(hi)
    a = np.array(out, np.float32)
    return a[(a > 0) & np.isfinite(a)]


def test_f32_log2_thresholds_equal_a_direct_rounding_near_every_power_of_two():
    # every float32 within 2^-20 relative of a power of two (16 ulps below, 8+ above), plus 2^k
    x = _near_pow2_f32(ulps=16)
    sel = x[::7]  # the decimal check is slow: a fixed spread of them, every binade
    x64 = sel.astype(np.float64)
    fl = (np.frexp(x64)[1] - 1).astype(np.int64)
    f = floor_log2_rounded(x64, fl, 24)
    c = ceil_log2_rounded(x64, fl, 24)
    for v, fv, cv in zip(x64.tolist(), f.tolist(), c.tolist()):
        r = _rn_log2(v, 24)
        assert fv == int(np.floor(float(r))) and cv == int(np.ceil(float(r))), v


def test_f32_log2_against_numpy_and_torch_float32_log2(capsys):
    """The model is the correctly rounded float32 log2; numpy (SIMD) and torch float32 log2 are
    not always correctly rounded: report where floor / ceil of theirs differ (near 2^k)."""
    x = _near_pow2_f32(ulps=64)
    x64 = x.astype(np.float64)
    fl = (np.frexp(x64)[1] - 1).astype(np.int64)
    f = floor_log2_rounded(x64, fl, 24)
    c = ceil_log2_rounded(x64, fl, 24)
    rep = {}
    rep["numpy"] = np.log2(x)
    try:
        import torch

        rep["torch"] = torch.log2(torch.from_numpy(x)).numpy()
    except Exception:  # pragma: no cover
        pass
    rep["fp32(log2_f64)"] = np.log2(x64).astype(np.float32)
    with capsys.disabled():
        for name, lg in rep.items():
            df = np.nonzero(np.floor(lg) != f)[0]
            dc = np.nonzero(np.ceil(lg) != c)[0]
            print(f"\n  float32 log2 near 2^k ({x.size} inputs): {name}: floor differs at {df.size}, ceil at {dc.size}"
                  + (f" e.g. {[hex(int(v)) for v in x[df[:3]].view(np.uint32)]}" if df.size else ""))
    # fp32(log2_f64(x)) is a correct float32 log2 for floor/ceil purposes on these inputs
    assert (np.floor(rep["fp32(log2_f64)"]) == f).all() and (np.ceil(rep["fp32(log2_f64)"]) == c).all()
    # where the rounding up happens: nextbelow(2^k) for every normal k except -1, 0, 1, 2 (for
    # subnormal 2^k nextbelow is too far below: down to k = -131 only)
    ks = range(-148, 128)
    below = np.array([np.nextafter(np.float32(2.0**k), np.float32(0)) for k in ks], np.float32)
    bf = floor_log2_rounded(below.astype(np.float64), (np.frexp(below.astype(np.float64))[1] - 1).astype(np.int64), 24)
    bumped = {k for k, v in zip(ks, bf.tolist()) if v == k}
    assert set(range(-126, 128)) - bumped == {-1, 0, 1, 2}
    assert min(bumped) == -131


def test_f64_log2_model_is_exact_for_float32_amax_and_bumps_float64():
    ks = range(-149, 128)
    below = np.array([np.nextafter(np.float32(2.0**k), np.float32(0)) for k in ks], np.float32).astype(np.float64)
    fl = (np.frexp(below)[1] - 1).astype(np.int64)
    assert (floor_log2_rounded(below, fl, 53) == fl).all()
    b64 = np.array([np.nextafter(2.0**k, 0.0) for k in range(-1000, 1000)])
    fl64 = (np.frexp(b64)[1] - 1).astype(np.int64)
    bumped = floor_log2_rounded(b64, fl64, 53) != fl64
    assert bumped.sum() > 1900
    # numpy's float64 log2 agrees on every one of them (the gfloat profile relies on it)
    assert (np.floor(np.log2(b64)) == floor_log2_rounded(b64, fl64, 53)).all()


# ----- models=() is the spec path ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(mxref.MX_FORMATS))
def test_no_models_is_mxref_quantize_bit_for_bit(fmt):
    rng = np.random.default_rng(hash(fmt) % 1000)
    x = (rng.standard_normal((300, 40)) * 2.0 ** rng.integers(-140, 125, (300, 1))).astype(np.float32)
    x[::17, 3] = np.nan
    x[::19, 5] = -np.inf
    x[::23] = 0.0
    for xx in (x, x.astype(np.float64) * (1 + 2.0**-40)):
        for rule in mxref.options.SCALE_RULES:
            for rnd in mxref.ROUNDING_MODES:
                kw = {}
                if rnd == "stochastic":
                    kw = dict(random_bits=rng.integers(0, 16, xx.shape), random_bit_count=4)
                for opts in ({}, dict(inf_policy="finite_scale", zero_scale=7, scale_overflow="nan"),
                             dict(flush_subnormals=True, int8_allow_minus128=True)):
                    a = mxref.quantize(xx, fmt, scale_rule=rule, rounding=rnd, block_size=16, **kw, **opts)
                    b = _pipeline(xx, fmt, scale_rule=rule, rounding=rnd, block_size=16, **kw, **opts)
                    assert (a.scales == b.scales).all() and (a.elements == b.elements).all(), (rule, rnd, opts)
                    c = mm.quantize_model(xx, fmt, scale_rule=rule, rounding=rnd, block_size=16, models=(), **kw, **opts)
                    assert (c.scales == a.scales).all() and (c.elements == a.elements).all()


# ----- each model's rule and its differing examples -------------------------------------------------


def test_scale_log2_f32_differs_from_floor_exactly_where_float32_log2_rounds_up():
    amax = _near_pow2_f32(ulps=48)
    amax = amax[amax < 3e38]
    for fmt in ("mxfp4_e2m1", "mxfp8_e4m3"):
        x = np.zeros((amax.size, 32), np.float32)
        x[:, 0] = amax
        x[:, 1] = -amax / 3
        a = mm.quantize_model(x, fmt)
        b = mm.quantize_model(x, fmt, models=("scale_log2_f32",))
        fl = (np.frexp(amax.astype(np.float64))[1] - 1).astype(np.int64)
        rounds_up = floor_log2_rounded(amax.astype(np.float64), fl, 24) > fl
        emax = mxref.mx_format(fmt).element.emax
        want = np.clip(fl + rounds_up - emax, -127, 127) + 127
        assert (b.scales[:, 0] == want).all()
        differs = b.scales[:, 0] != a.scales[:, 0]
        assert (differs == (rounds_up & (fl + 1 - emax > -127))).all()
    assert q([f32(0x40FFFFFF)], "mxfp4_e2m1", ("scale_log2_f32",)).scales[0, 0] == 128
    assert q([f32(0x40FFFFFF)], "mxfp4_e2m1").scales[0, 0] == 127
    assert q([f32(0x40FFFFFF)], "mxfp8_e4m3", ("scale_log2_f32",)).scales[0, 0] == 122
    assert q([f32(0x7EFFFFFF)], "mxfp8_e4m3", ("scale_log2_f32",)).scales[0, 0] == 127 - 8 + 127


def test_scale_log2_f64_only_for_float64_amax():
    v = np.nextafter(8.0, 0.0)  # 8 - 2^-50... as float64 0x401FFFFFFFFFFFFF
    assert np.float64(v).view(np.uint64) == 0x401FFFFFFFFFFFFF
    assert q([v], "mxfp4_e2m1", ("scale_log2_f64",), dtype=np.float64).scales[0, 0] == 128
    assert q([v], "mxfp4_e2m1", dtype=np.float64).scales[0, 0] == 127
    w = np.nextafter(2.0**-100, 0.0)
    # nextbelow_f64(2^-100): float64 log2 rounds to -100 (exact floor -101)
    assert q([w], "mxfp8_e4m3", ("scale_log2_f64",), dtype=np.float64).scales[0, 0] == -100 - 8 + 127
    assert q([w], "mxfp8_e4m3", dtype=np.float64).scales[0, 0] == -101 - 8 + 127
    f32vals = np.array([np.nextafter(np.float32(2.0**k), np.float32(0)) for k in range(-120, 120)], np.float32)
    x = np.zeros((f32vals.size, 32), np.float32)
    x[:, 0] = f32vals
    assert (mm.quantize_model(x, "mxfp8_e4m3", models=("scale_log2_f64",)).scales ==
            mxref.quantize(x, "mxfp8_e4m3").scales).all()


def test_scale_rceil_log2_f32_examples():
    m = ("scale_rceil_log2_f32",)
    assert q([f32(0x45E00001)], "mxfp8_e4m3", m, scale_rule="rceil").scales[0, 0] == 131
    assert q([f32(0x45E00001)], "mxfp8_e4m3", scale_rule="rceil").scales[0, 0] == 132
    assert q([f32(0x42C00001)], "mxfp4_e2m1", m, scale_rule="rceil").scales[0, 0] == 131
    assert q([f32(0x7F600001)], "mxfp8_e4m3", m, scale_rule="rceil").scales[0, 0] == 246
    assert q([f32(0x7F600001)], "mxfp8_e4m3", scale_rule="rceil").scales[0, 0] == 247
    r = q([f32(0x04600001)], "mxfp8_e4m3", m + ("scale_code0_as_one",), scale_rule="rceil")
    assert r.scales[0, 0] == 0 and (r.elements == 0).all()
    assert q([f32(0x04600001)], "mxfp8_e4m3", scale_rule="rceil").scales[0, 0] == 1
    # independent: ceil(RN24(log2(fp32(amax / M)))) on a scan around M * 2^k
    rng = np.random.default_rng(3)
    for fmt in ("mxfp8_e4m3", "mxfp4_e2m1"):
        M = mxref.mx_format(fmt).element.max
        base = np.float32(M) * np.float32(2.0) ** rng.integers(-120, 110, 60).astype(np.float32)
        amax = np.concatenate([base.view(np.uint32).astype(np.int64) + d for d in range(-6, 7)]).astype(np.uint32).view(np.float32)
        x = np.zeros((amax.size, 32), np.float32)
        x[:, 0] = amax
        got = mm.quantize_model(x, fmt, scale_rule="rceil", models=m).scales[:, 0]
        for a, g in zip(amax.tolist()[::5], got.tolist()[::5]):
            qq = float(np.float32(a) / np.float32(M))
            want = max(-127, min(127, int(np.ceil(float(_rn_log2(qq, 24)))))) + 127
            assert g == want, (hex(np.float32(a).view(np.uint32)), g, want)


def test_scale_rceil_recip_mul_differs_from_exact_rceil_at_one_amax_per_format():
    table = {"mxfp8_e4m3": 0x04600001, "mxfp8_e5m2": 0x07E00001, "mxfp4_e2m1": 0x01400001,
             "mxfp6_e2m3": 0x01700001, "mxfp6_e3m2": 0x02600001}
    for fmt, h in table.items():
        M = np.float32(mxref.mx_format(fmt).element.max)
        centres = [np.float32(M * np.float32(2.0) ** k) if k > -127 else np.float32(float(M) * 2.0**k)
                   for k in range(-127, 128) if float(M) * 2.0**k < 3.4e38]
        c = np.array(centres, np.float32).view(np.uint32).astype(np.int64)
        amax = np.unique(np.concatenate([c + d for d in range(-80, 81)])).astype(np.uint32).view(np.float32)
        amax = amax[np.isfinite(amax) & (amax > 0)]
        x = np.zeros((amax.size, 32), np.float32)
        x[:, 0] = amax
        a = mm.quantize_model(x, fmt, scale_rule="rceil").scales[:, 0]
        b = mm.quantize_model(x, fmt, scale_rule="rceil", models=("scale_rceil_recip_mul",)).scales[:, 0]
        d = np.nonzero(a != b)[0]
        assert [int(v) for v in amax[d].view(np.uint32)] == [h], fmt
        assert a[d[0]] == 1 and b[d[0]] == 0


def test_triton_round_up_and_round_down():
    up = ("scale_round_up_f32_quotient",)
    assert q([f32(0x04600000)], "mxfp8_e4m3", up, scale_rule="rceil").scales[0, 0] == 1
    assert q([f32(0x04600000)], "mxfp8_e4m3", scale_rule="rceil").scales[0, 0] == 0
    z = q([0.0], "mxfp8_e4m3", up, scale_rule="rceil")
    assert z.scales[0, 0] == 0 and (z.elements == 0).all()
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((2000, 32)) * 2.0 ** rng.integers(-100, 100, (2000, 1))).astype(np.float32)
    for fmt in ("mxfp8_e4m3", "mxfp8_e5m2", "mxfp4_e2m1"):  # normal range: the exact rceil
        a = mm.quantize_model(x, fmt, scale_rule="rceil")
        b = mm.quantize_model(x, fmt, scale_rule="rceil", models=up)
        assert (a.scales == b.scales).all() and (a.elements == b.elements).all()
    dn = ("scale_round_down_f32_quotient",)
    r = q([2.0**-126], "mxfp4_e2m1", dn)
    e = q([2.0**-126], "mxfp4_e2m1")
    assert r.scales[0, 0] == e.scales[0, 0] == 0
    assert (r.elements == 0).all() and mxref.dequantize(e, np.float64)[0, 0] == 2.0**-126
    for fmt in ("mxfp8_e4m3", "mxfp4_e2m1"):
        a = mm.quantize_model(x, fmt)
        b = mm.quantize_model(x, fmt, models=dn)
        assert (a.scales == b.scales).all() and (a.elements == b.elements).all()


def test_scale_min_normal_divisor_and_code0_as_one():
    r = q([2.0**-130, 2.0**-135], "mxfp8_e4m3", ("scale_min_normal_divisor",))
    assert r.scales[0, 0] == 0
    v = mxref.decode(r.elements[0, :2], "fp8_e4m3", np.float64)
    assert v.tolist() == [0.0625, 0.001953125]
    e = q([2.0**-130, 2.0**-135], "mxfp8_e4m3")
    assert mxref.decode(e.elements[0, :2], "fp8_e4m3", np.float64).tolist() == [0.125, 0.00390625]
    r = q([f32(0x04600001), 2.0**-120], "mxfp8_e4m3", ("scale_code0_as_one",), scale_rule="rceil")
    ex = q([f32(0x04600001), 2.0**-120], "mxfp8_e4m3", scale_rule="rceil")
    assert ex.scales[0, 0] == 1 and mxref.decode(ex.elements[0, :2], "fp8_e4m3", np.float64).tolist() == [224, 64]
    assert r.scales[0, 0] == 1  # code 1: no effect
    r = q([2.0**-130], "mxfp8_e4m3", ("scale_code0_as_one",))
    assert r.scales[0, 0] == 0 and (r.elements == 0).all()


def test_scale_no_clamp_wrap_table():
    m = ("scale_log2_f32", "scale_no_clamp_wrap")
    for a, code in ((2.0**-125, 0), (2.0**-126, 255), (2.0**-127, 254), (2.0**-130, 251), (2.0**-149, 232),
                    (f32(0x00FFFFFF), 0), (f32(0x01FFFFFF), 2)):
        r = q([a, -a / 2], "mxfp4_e2m1", m, rounding="ties_toward_zero")
        assert r.scales[0, 0] == code, (a, r.scales[0, 0])
        if code >= 128:
            assert (mxref.decode(r.elements, "fp4_e2m1", np.float64) == 0).all()


def test_scale_code_offset():
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((500, 32)) * 2.0 ** rng.integers(-20, 20, (500, 1))).astype(np.float32)
    a = mm.quantize_model(x, "mxfp4_e2m1")
    b = mm.quantize_model(x, "mxfp4_e2m1", models=("scale_code_offset=-2",))
    assert (b.scales.astype(int) == a.scales.astype(int) - 2).all() and (b.elements == a.elements).all()
    assert np.allclose(mxref.dequantize(b, np.float64), mxref.dequantize(a, np.float64) / 4)


def _even_E(amax: Fraction, n: int, emax: int, inf_clamp=False) -> int:
    """Rule even, independently: amax rounded half up to n fraction bits by Fractions, then
    floor(log2) - emax (the rounded value >= 2^128 is float32 Inf: E = 127 under inf_clamp)."""
    f = amax.numerator.bit_length() - amax.denominator.bit_length()
    if Fraction(2) ** f > amax:
        f -= 1
    ulp = Fraction(2) ** (f - n)
    r = int(amax / ulp + Fraction(1, 2)) * ulp  # half up (floor of + 1/2)
    g = f + (r >= Fraction(2) ** (f + 1))
    if inf_clamp and g >= 128:
        return 127
    return g - emax


def _near_carry_f32(rng, count, lo=-140, hi=128):
    """float32 amax values whose fraction starts with a run of ones of every length, +-2 ulps."""
    run = rng.integers(0, 24, count).astype(np.uint32)
    frac = np.uint32(0x7FFFFF) ^ ((np.uint32(1) << (np.uint32(23) - run)) - np.uint32(1))
    e = rng.integers(max(lo, -126) + 127, min(hi, 128) + 127, count).astype(np.uint32)
    b = ((e << np.uint32(23)) | frac).astype(np.int64) + rng.integers(-2, 3, count)
    a = b.astype(np.uint32).view(np.float32)
    return a[np.isfinite(a) & (a > 0)]


@pytest.mark.parametrize("fmt", FP + ("mxint8",))
def test_scale_even_mbits_against_fractions(fmt):
    rng = np.random.default_rng(21)
    amax = _near_carry_f32(rng, 600)
    x = np.zeros((amax.size, 32), np.float32)
    x[:, 0] = amax
    x[:, 1] = -amax / 3
    el = mxref.mx_format(fmt).element
    own = el.mantissa_bits - (1 if fmt == "mxint8" else 0)  # INT8: 6 fraction bits below the top
    assert (mm.quantize_model(x, fmt, scale_rule="even", models=(f"scale_even_mbits={own}",)).scales ==
            mxref.quantize(x, fmt, scale_rule="even").scales).all()
    for n in (0, 1, 3, 8, 23):
        got = mm.quantize_model(x, fmt, scale_rule="even", models=(f"scale_even_mbits={n}",)).scales[:, 0]
        for a, g in zip(amax.tolist()[::3], got.tolist()[::3]):
            want = min(127, max(-127, _even_E(Fraction(a), n, el.emax))) + 127
            assert g == want, (fmt, n, hex(int(np.float32(a).view(np.uint32))), g, want)
    # Quark's MXINT8 (8 bits): amax 0x3FFF0000 = 1.9921875 -> code 127 (INT8's 6 bits: 128)
    assert q([f32(0x3FFF0000)], "mxint8", ("scale_even_mbits=8",), scale_rule="even").scales[0, 0] == 127
    assert q([f32(0x3FFF0000)], "mxint8", scale_rule="even").scales[0, 0] == 128


def test_scale_even_inf_clamp_only_where_the_rounded_amax_overflows_float32():
    rng = np.random.default_rng(22)
    amax = _near_carry_f32(rng, 3000, lo=100)
    x = np.zeros((amax.size, 32), np.float32)
    x[:, 0] = amax
    for fmt in FP + ("mxint8",):
        el = mxref.mx_format(fmt).element
        n = el.mantissa_bits - (1 if fmt == "mxint8" else 0)
        a = mm.quantize_model(x, fmt, scale_rule="even").scales[:, 0].astype(int)
        b = mm.quantize_model(x, fmt, scale_rule="even", models=("scale_even_inf_clamp",))
        bs = b.scales[:, 0].astype(int)
        want = np.array([min(127, _even_E(Fraction(v), n, el.emax, inf_clamp=True)) + 127 for v in amax.tolist()])
        assert (bs == want).all(), fmt
        over = np.array([_even_E(Fraction(v), n, 0) >= 128 for v in amax.tolist()])
        assert over.any()
        if fmt == "mxint8":  # emax 0: 128 - 0 is clamped to 127 either way
            assert (a == bs).all()
        else:
            assert ((a != bs) == over).all(), fmt
        # the elements are those of x / 2^127 (the spec's rounding)
        sel = np.nonzero(over)[0]
        want_el = mxref.encode(np.ldexp(x[sel].astype(np.float64), -127), el)
        assert (b.elements[sel] == want_el).all()
    r = q([f32(0x7F600000)], "mxfp4_e2m1", ("scale_even_inf_clamp",), scale_rule="even")
    assert r.scales[0, 0] == 0xFE and q([f32(0x7F600000)], "mxfp4_e2m1", scale_rule="even").scales[0, 0] == 0xFD
    assert q([f32(0x7F5FFFFF)], "mxfp4_e2m1", ("scale_even_inf_clamp",), scale_rule="even").scales[0, 0] == 0xFC
    assert q([f32(0x7F780000)], "mxfp8_e4m3", ("scale_even_inf_clamp",), scale_rule="even").scales[0, 0] == 0xFE
    with pytest.raises(ValueError, match="variant of scale_rule"):
        q([1.0], "mxfp4_e2m1", ("scale_even_inf_clamp",))


def test_scale_int8_quantum_min_normal_values_against_integers():
    rng = np.random.default_rng(23)
    n = 800
    x = (rng.uniform(-1, 1, (n, 32)) * 2.0 ** rng.integers(-149, -110, (n, 1))).astype(np.float32)
    x[::5, 0] = 0.0
    r = mm.quantize_model(x, "mxint8", scale_rule="even", models=("scale_int8_quantum_min_normal",))
    e = mxref.quantize(x, "mxint8", scale_rule="even")
    v = mxref.dequantize(r, np.float64)
    E = e.scales[:, 0].astype(int) - 127
    for i in range(0, n, 7):
        if E[i] >= -120:  # no clamp: mxref's block
            assert r.scales[i, 0] == e.scales[i, 0] and (r.elements[i] == e.elements[i]).all()
            continue
        assert r.scales[i, 0] == 7
        for xv, vv in zip(x[i].tolist(), v[i].tolist()):
            t = Fraction(xv) * 2**126  # quanta of 2^-126, RNE, at most 127
            k = int(t)
            fr = t - k
            k += (1 if fr > Fraction(1, 2) or (fr == Fraction(1, 2) and k % 2) else 0) if t >= 0 else \
                (-1 if fr < -Fraction(1, 2) or (fr == -Fraction(1, 2) and k % 2) else 0)
            assert Fraction(vv) == max(-127, min(127, k)) * Fraction(1, 2**126), (i, xv, vv)
    b = q([f32(0x00600000)], "mxint8", ("scale_int8_quantum_min_normal",), scale_rule="even")
    assert mxref.dequantize(b, np.float64)[0, 0] == 2.0**-126
    assert mxref.dequantize(q([f32(0x00600000)], "mxint8", scale_rule="even"), np.float64)[0, 0] == 1.5 * 2.0**-127
    with pytest.raises(ValueError, match="applies to mxint8 only"):
        q([1.0], "mxfp4_e2m1", ("scale_int8_quantum_min_normal",))


def _even_e_fraction(amax: Fraction, bits: int, emax: int) -> int:
    """floor(log2(amax rounded half-up to ``bits`` fraction bits)) - emax, from Fractions."""
    e = 0
    while amax >= 2:
        amax, e = amax / 2, e + 1
    while amax < 1:
        amax, e = amax * 2, e - 1
    r = Fraction(int(amax * 2 ** bits + Fraction(1, 2)), 2 ** bits)  # half up
    return e + (r >= 2) - emax


@pytest.mark.parametrize("bits", [1, 2, 3, 7])
@pytest.mark.parametrize("fmt, el, emax", [("mxfp8_e4m3", "fp8_e4m3", 8), ("mxfp4_e2m1", "fp4_e2m1", 2),
                                           ("mxfp6_e3m2", "fp6_e3m2", 4)])
def test_scale_even_mbits_elements_and_every_carry_threshold(bits, fmt, el, emax):
    rng = np.random.default_rng(bits)
    # significands near the carry thresholds 2 - 2^-(b+1) of every b, and random ones
    sig = np.concatenate([2 - 2.0 ** -np.arange(1, 10), 2 - 2.0 ** -np.arange(1, 10) - 2.0 ** -23,
                          rng.uniform(1, 2, 200)]).astype(np.float32)
    amax = sig * np.float32(2.0) ** rng.integers(-60, 60, sig.size).astype(np.float32)
    x = np.zeros((amax.size, 32), np.float32)
    x[:, 3] = -amax
    r = mm.quantize_model(x, fmt, scale_rule="even", models=(f"scale_even_mbits={bits}",))
    want = [_even_e_fraction(Fraction(float(a)), bits, emax) + 127 for a in amax]
    assert r.scales[:, 0].astype(int).tolist() == want
    # the elements are the spec's conversion under that scale (exact Fraction quotient, RNE)
    for i in range(0, amax.size, 37):
        q = Fraction(float(-amax[i])) / Fraction(2) ** (want[i] - 127)
        assert r.elements[i, 3] == mxref.encode(np.array([float(q)]), el)[0]
    # the element's own width is mxref's EVEN rule
    own = {"fp8_e4m3": 3, "fp4_e2m1": 1, "fp6_e3m2": 2}[el]
    if bits == own:
        s = mxref.quantize(x, fmt, scale_rule="even")
        assert (r.scales == s.scales).all() and (r.elements == s.elements).all()
    with pytest.raises(ValueError, match="must be an int in 0..52"):
        mm.quantize_model(x[:1], fmt, scale_rule="even", models=("scale_even_mbits=60",))
    with pytest.raises(ValueError, match="variant of scale_rule"):
        mm.quantize_model(x[:1], fmt, scale_rule="floor", models=("scale_even_mbits=1",))


@pytest.mark.parametrize("fmt, m", [("mxfp4_e2m1", 1), ("mxfp8_e4m3", 3), ("mxfp6_e3m2", 2)])
def test_scale_even_carry_to_inf(fmt, m):
    # the carry threshold (2 - 2^-(m+1)) * 2^127, built from its bit pattern: exponent field 254,
    # the top m+1 fraction bits set
    thr = 0x7F000000 | (((1 << (m + 1)) - 1) << (23 - m - 1))
    x = np.zeros((3, 32), np.float32)
    x[0, 5], x[1, 5], x[2, 5] = -f32(thr), f32(thr - 1), f32(thr)
    x[:, 6] = 3.0
    r = mm.quantize_model(x, fmt, scale_rule="even", models=("scale_even_carry_to_inf",))
    s = mxref.quantize(x, fmt, scale_rule="even")
    assert r.scales[:, 0].tolist() == [127, int(s.scales[1, 0]), 127]
    # EVEN's own code for the threshold: the rounded amax 2^128 gives E = 128 - emax
    assert int(s.scales[0, 0]) == min(128 - mxref.mx_format(fmt).element.emax + 127, 254)
    assert (r.elements[1] == s.elements[1]).all()
    dec = mxref.decode(r.elements[[0, 2]], mxref.mx_format(fmt).element, np.float64)
    assert (dec == 0).all()
    assert np.signbit(dec[0, 5]) and not np.signbit(dec[1, 5])
    with pytest.raises(ValueError, match="variant of scale_rule"):
        mm.quantize_model(x, fmt, models=("scale_even_carry_to_inf",))


def test_input_models():
    v = np.nextafter(8.0, 0.0)
    assert q([v], "mxfp4_e2m1", ("input_double_round_f32",), dtype=np.float64).scales[0, 0] == 128
    t = 0.25 * (1 + 2.0**-30)
    a = q([6.0, t], "mxfp4_e2m1", dtype=np.float64)
    b = q([6.0, t], "mxfp4_e2m1", ("input_double_round_f32",), dtype=np.float64)
    assert a.elements[0, 1] == 1 and b.elements[0, 1] == 0
    # bf16: 2.500004 (0x40200011) -> 2.5, a tie -> 2 under RNE (E = 0: amax 6)
    c = q([6.0, f32(0x40200011)], "mxfp4_e2m1", ("input_round_bf16",))
    d = q([6.0, f32(0x40200011)], "mxfp4_e2m1")
    assert mxref.decode(c.elements[0, 1:2], "fp4_e2m1", np.float64)[0] == 2.0
    assert mxref.decode(d.elements[0, 1:2], "fp4_e2m1", np.float64)[0] == 3.0
    # on float32 input double rounding is a no-op
    rng = np.random.default_rng(8)
    x = (rng.standard_normal((400, 32)) * 2.0 ** rng.integers(-130, 120, (400, 1))).astype(np.float32)
    e = mm.quantize_model(x, "mxfp8_e4m3", models=("input_double_round_f32",))
    assert (e.elements == mxref.quantize(x, "mxfp8_e4m3").elements).all()


def test_scaled_quotient_f32_is_a_no_op_on_float32_data_and_differs_on_float64():
    rng = np.random.default_rng(9)
    x = (rng.standard_normal((600, 32)) * 2.0 ** rng.integers(-149, 125, (600, 1))).astype(np.float32)
    for fmt in FP + ("mxint8",):
        for extra, rule in (((), "floor"), (("scale_min_normal_divisor",), "floor"),
                            (("scale_rceil_log2_f32", "scale_code0_as_one"), "rceil")):
            a = mm.quantize_model(x, fmt, scale_rule=rule, models=extra)
            b = mm.quantize_model(x, fmt, scale_rule=rule, models=extra + ("scaled_quotient_f32",))
            assert (a.scales == b.scales).all() and (a.elements == b.elements).all(), (fmt, extra)
    t = 0.25 * (1 + 2.0**-30)
    assert q([6.0, t], "mxfp4_e2m1", ("scaled_quotient_f32",), dtype=np.float64).elements[0, 1] == 0
    assert q([6.0, t], "mxfp4_e2m1", dtype=np.float64).elements[0, 1] == 1


def test_elements_ties_away_f32_floor():
    m = ("elements_ties_away_f32_floor",)
    for rnd in ("ties_away", "rne"):
        r = q([6.0, f32(0x3E7FFFFF)], "mxfp4_e2m1", m, rounding=rnd)
        assert r.elements[0, 1] == 1 and q([6.0, f32(0x3E7FFFFF)], "mxfp4_e2m1", rounding=rnd).elements[0, 1] == 0
        x = np.float32(2.0**-10 - 2.0**-34)  # 0.5 - 2^-25 quanta of E4M3's 2^-9
        r = q([448.0, x], "mxfp8_e4m3", m, rounding=rnd)
        assert r.elements[0, 1] == 1 and q([448.0, x], "mxfp8_e4m3", rounding=rnd).elements[0, 1] == 0
    # nowhere else: a float32 scan of the element subnormal range and midpoints
    rng = np.random.default_rng(10)
    for fmt in FP:
        x = (rng.standard_normal((3000, 32)) * mxref.mx_format(fmt).element.max / 4).astype(np.float32)
        x[:, 0] = mxref.mx_format(fmt).element.max
        a = mm.quantize_model(x, fmt, rounding="ties_away")
        b = mm.quantize_model(x, fmt, rounding="ties_away", models=m)
        assert (a.elements == b.elements).all()
    with pytest.raises(ValueError, match="variant of rounding"):
        mm.quantize_model(block([1.0]), "mxfp4_e2m1", rounding="toward_zero", models=m)


@pytest.mark.parametrize("variant,mode", [("stochastic_gfloat", "Stochastic"), ("stochastic_gfloat_odd", "StochasticOdd"),
                                          ("stochastic_gfloat_fast", "StochasticFast"), (None, "StochasticFastest")])
def test_stochastic_variants_equal_gfloat_round_float(variant, mode):
    gfloat = pytest.importorskip("gfloat")
    from gfloat.formats import format_info_ocp_e2m1, format_info_ocp_e4m3

    rng = np.random.default_rng(11)
    for fmt, fi, top in (("mxfp4_e2m1", format_info_ocp_e2m1, 6.0), ("mxfp8_e4m3", format_info_ocp_e4m3, 448.0)):
        for n in (1, 3, 8):
            x = (rng.uniform(-top, top, (40, 32))).astype(np.float32)
            x[:, 0] = top  # E = 0: the elements are the values themselves
            x[:, 1] = rng.choice([0.25, 0.75, 1.25, 2.5, 0.0625, 2**-10], 40) * rng.choice([1, 3, 1.5], 40)
            rb = rng.integers(0, 1 << n, x.shape)
            models = (variant,) if variant else ()
            r = mm.quantize_model(x, fmt, rounding="stochastic", random_bits=rb, random_bit_count=n, models=models)
            got = mxref.decode(r.elements, mxref.mx_format(fmt).element, np.float64)
            want = np.array([[gfloat.round_float(fi, float(v), getattr(gfloat.RoundMode, mode), True, int(b), n)
                              for v, b in zip(row, brow)] for row, brow in zip(x, rb)])
            assert (got == want).all(), (fmt, n, np.argwhere(got != want)[:3])


def test_ties_toward_zero_llama_cpp_examples():
    # E2M1 ties: 0.75 -> 0.5, 1.75 -> 1.5, 3.5 -> 3, 0.25 -> 0, 2.5 -> 2, 5 -> 4 (llama.cpp best_index_mxfp4)
    x = np.array([0.75, 1.75, 3.5, 0.25, 2.5, 5.0, -0.75, 0.26], np.float32)
    v = mxref.decode(mxref.encode(x, "fp4_e2m1", rounding="ties_toward_zero"), "fp4_e2m1", np.float64)
    assert v.tolist() == [0.5, 1.5, 3.0, 0.0, 2.0, 4.0, -0.5, 0.5]


# ----- composition and errors ------------------------------------------------------------------------


def test_composition_of_two_models_is_each_step_applied():
    rng = np.random.default_rng(12)
    x = (rng.standard_normal((1500, 32)) * 2.0 ** rng.integers(-140, 5, (1500, 1))).astype(np.float32)
    x[:40, 0] = [np.nextafter(np.float32(2.0**k), np.float32(0)) for k in range(-130, -90)]
    m = ("scale_log2_f32", "scale_no_clamp_wrap")
    r = mm.quantize_model(x, "mxfp4_e2m1", rounding="ties_toward_zero", models=m)
    s = mm.quantize_model(x, "mxfp4_e2m1", models=("scale_log2_f32",))
    amax = np.abs(x.astype(np.float64)).max(1)
    fl = (np.frexp(amax)[1] - 1).astype(np.int64)
    E = floor_log2_rounded(amax, fl, 24) - 2
    assert (r.scales[:, 0] == (E + 127) % 256).all()
    keep = E >= -127
    assert (r.scales[keep, 0] == s.scales[keep, 0]).all()
    # elements: x / 2^(code - 127), ties toward zero
    A = r.scales[:, 0].astype(np.int64) - 127
    want = mxref.encode(np.ldexp(x.astype(np.float64), -A[:, None]), "fp4_e2m1", rounding="ties_toward_zero")
    assert (r.elements == want).all()


def test_bad_ids_and_params_are_clear_value_errors():
    x = block([1.0])
    for models, msg in ((["nope"], "unknown implementation model"), (["scale_code_offset"], "needs a parameter"),
                        (["scale_code_offset=x"], "must be an int"), (["scale_code_offset=0"], "non-zero"),
                        (["scale_log2_f32=1"], "takes no parameter"),
                        (["scale_even_mbits=53"], "must be an int in 0..52"),
                        (["scale_even_mbits=-1"], "must be an int in 0..52"),
                        (["scale_even_mbits=3", "scale_log2_f32"], "cannot be combined"),
                        (["scale_log2_f32", "scale_log2_f64"], "cannot be combined"),
                        (["scale_log2_f32", "scale_log2_f32"], "given twice"),
                        (["e8m0_subnormal_to_min_normal"], "e8m0 model")):
        with pytest.raises(ValueError, match=msg):
            mm.quantize_model(x, "mxfp4_e2m1", models=models)
    with pytest.raises(ValueError, match="variant of scale_rule"):
        mm.quantize_model(x, "mxfp4_e2m1", scale_rule="rceil", models=["scale_log2_f32"])
    assert mm.compatible(["scale_log2_f32", "scale_no_clamp_wrap"]) and not mm.compatible(["x"])
    assert not mm.compatible(["scale_rceil_log2_f32"], scale_rule="floor")
    with pytest.raises(ValueError, match="unknown profile"):
        mm.profile("nope")


def test_speed_thousands_of_blocks_in_milliseconds():
    import time

    rng = np.random.default_rng(13)
    x = (rng.standard_normal((4096, 32)) * 2.0 ** rng.integers(-130, 120, (4096, 1))).astype(np.float32)
    mm.quantize_model(x, "mxfp8_e4m3", models=("scale_log2_f32",))  # thresholds cached
    t = time.perf_counter()
    mm.quantize_model(x, "mxfp8_e4m3", models=("scale_log2_f32", "scale_min_normal_divisor"))
    assert time.perf_counter() - t < 0.5


def test_models_package_stays_below_the_checker():
    """mxref.models is built on the core only: the checker may import it, never the reverse."""
    import ast
    from pathlib import Path

    for p in Path(mm.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom):
                name = ("." * node.level) + (node.module or "")
                assert not any(s in name for s in ("conformance", "vectors", "ext")), (p.name, name)
