"""mxref.accumulators: bit-exact tensor-core accumulator models.

* every output recorded from MMA-Sim (../shared/peers/mma-sim, or $MXREF_MMA_SIM) replayed
  bit for bit (skipped with a message when the recordings are absent);
* properties against exact Fraction arithmetic on mxref.reference.decode_exact values:
  the truncation error bound of each preset, equality with the correctly rounded exact sum when
  no term loses a bit, and the generic form with F = infinity (fraction_bits=None) and
  nearest-even results equal to exact-per-instruction rounding;
* the float64 and the Python-integer implementations agree; chaining, MXArray entry points,
  specials and argument checks.
"""

from __future__ import annotations

import math
import zlib
from fractions import Fraction

import numpy as np
import pytest

import mxref
from mxref import accumulators as acm
from mxref.reference import decode_exact, dot_scalar, floor_log2, round_to_float32

RECORDINGS = acm.default_recordings_dir()

# ----- Fraction reference, independent of the module's code tables ----------------------------

_FNUZ_BIAS = {"fp8_e4m3fnuz": (3, 8), "fp8_e5m2fnuz": (2, 16)}


def frac(code, fmt):
    """Exact value of one code as a Fraction (None for NaN / Inf)."""
    code = int(code)
    if fmt in _FNUZ_BIAS:
        m_bits, bias = _FNUZ_BIAS[fmt]
        if code == 0x80:
            return None
        s, e, m = code >> 7, (code >> m_bits) & ((1 << (7 - m_bits)) - 1), code & ((1 << m_bits) - 1)
        mag = (Fraction(m, 1 << m_bits) * Fraction(2) ** (1 - bias) if e == 0
               else (1 + Fraction(m, 1 << m_bits)) * Fraction(2) ** (e - bias))
        return -mag if s else mag
    if fmt == "ue4m3":
        fmt, code = "fp8_e4m3", code & 0x7F
    if fmt == "e8m0":
        return None if code == 0xFF else Fraction(2) ** (code - 127)
    d = decode_exact(code, fmt)
    if isinstance(d, str):
        return None
    return -d[1] if d[0] else d[1]


def emin(fmt):
    if fmt in _FNUZ_BIAS:
        return 1 - _FNUZ_BIAS[fmt][1]
    if fmt == "ue4m3":
        return -6
    if fmt == "e8m0":
        return -127
    return 1 - mxref.element_format(fmt).bias


def align_exp(v, lo):
    """The alignment exponent: true exponent, at least the format's minimum; a zero -126."""
    return -126 if v == 0 else max(floor_log2(abs(v)), lo)


def f32_frac(x):
    return Fraction(float(np.float32(x)))


def rz(v, P):
    """v truncated toward zero to P fraction bits (float32 range, subnormals kept)."""
    if v == 0:
        return Fraction(0)
    a = abs(v)
    q = Fraction(2) ** (max(floor_log2(a), -126) - P)
    r = (a // q) * q
    if r >= Fraction(2) ** 128:
        return math.inf if v > 0 else -math.inf
    return r if v > 0 else -r


# ----- drawing inputs -------------------------------------------------------------------------

CONFIGS = {
    "blackwell_mxf8f6f4": [("fp8_e4m3", "fp8_e5m2", "e8m0", 32), ("fp8_e5m2", "fp8_e5m2", "e8m0", 32),
                           ("fp6_e2m3", "fp6_e3m2", "e8m0", 32), ("fp4_e2m1", "fp8_e4m3", "e8m0", 32)],
    "rtx_blackwell_mxf8f6f4": [("fp8_e4m3", "fp8_e4m3", "e8m0", 32)],
    "blackwell_mxf4": [("fp4_e2m1", "fp4_e2m1", "e8m0", 32)],
    "blackwell_mxf4nvf4": [("fp4_e2m1", "fp4_e2m1", "ue4m3", 16), ("fp4_e2m1", "fp4_e2m1", "e8m0", 16)],
    "rtx_blackwell_mxf4nvf4": [("fp4_e2m1", "fp4_e2m1", "ue4m3", 16)],
    "hopper_fp8": [("fp8_e4m3", "fp8_e4m3", None, None), ("fp8_e5m2", "fp8_e5m2", None, None)],
    "cdna3_fp8": [("fp8_e4m3fnuz", "fp8_e4m3fnuz", None, None),
                  ("fp8_e5m2fnuz", "fp8_e5m2fnuz", None, None)],
}
CASES = [(p, c) for p, cs in CONFIGS.items() for c in cs]


def finite_codes(fmt, narrow=False):
    bits = acm.codec(fmt).bits
    out = []
    for c in range(1 << bits):
        v = frac(c, fmt)
        if v is None:
            continue
        if narrow and v != 0 and not -3 <= floor_log2(abs(v)) <= 0:
            continue
        out.append(c)
    return np.array(out, np.uint8)


def draw(preset, cfg, rng, M=6, N=5, K=None, narrow=False, zero_second_group=False):
    acc = acm.preset(preset)
    fa, fb, sf, bs = cfg
    K = K or acc.k
    a = rng.choice(finite_codes(fa, narrow), size=(M, K)).astype(np.uint8)
    b = rng.choice(finite_codes(fb, narrow), size=(K, N)).astype(np.uint8)
    if zero_second_group:
        a[:, 16:] = 0
        b[16:, :] = 0
    if sf is None:
        sa = sb = None
    else:
        lo, hi = (124, 131) if sf == "e8m0" else (0x30, 0x48)
        if narrow:
            lo, hi = (126, 129) if sf == "e8m0" else (0x38, 0x40)
        sa = rng.integers(lo, hi, size=(M, K // bs)).astype(np.uint8)
        sb = rng.integers(lo, hi, size=(K // bs, N)).astype(np.uint8)
    # C: zero, or a value of the products' size with few bits (so that some sums are exact)
    cv = rng.choice(finite_codes(fa, True), size=(M, N))
    c = np.array([[float(frac(x, fa)) for x in row] for row in cv], np.float64)
    c *= np.ldexp(1.0, rng.integers(-2, 6, size=(M, N))) * (rng.random((M, N)) < 0.7)
    return a, b, sa, sb, c.astype(np.float32)


def terms_and_exact(preset, cfg, a, b, sa, sb, c, m, n, k_stop=None):
    """(exact value, [(term value, alignment exponent)], C value, C exponent) of output (m, n)."""
    acc = acm.preset(preset)
    fa, fb, sf, bs = cfg
    K = k_stop or a.shape[1]
    av = [frac(a[m, k], fa) for k in range(K)]
    bv = [frac(b[k, n], fb) for k in range(K)]
    if sf is None:
        sav = sbv = [Fraction(1)] * K
        sae = sbe = [0] * K
    else:
        sav = [frac(sa[m, k // bs], sf) for k in range(K)]
        sbv = [frac(sb[k // bs, n], sf) for k in range(K)]
        sae = [align_exp(v, emin(sf)) for v in sav]
        sbe = [align_exp(v, emin(sf)) for v in sbv]
    terms = []
    if acc.group == 1:
        for k in range(K):
            e = align_exp(av[k], emin(fa)) + align_exp(bv[k], emin(fb)) + sae[k] + sbe[k]
            terms.append((av[k] * bv[k] * sav[k] * sbv[k], e))
    else:
        G = acc.group
        for k0 in range(0, K, G):
            s = sum(av[k] * bv[k] for k in range(k0, k0 + G))
            terms.append((s * sav[k0] * sbv[k0], sae[k0] + sbe[k0]))
    cf = f32_frac(c[m, n])
    ce = align_exp(cf, -126)
    return cf + sum(t for t, _ in terms), terms, cf, ce


# ----- recorded outputs --------------------------------------------------------------------------


@pytest.mark.skipif(RECORDINGS is None or not RECORDINGS.is_dir(),
                    reason="MMA-Sim recordings not found: set MXREF_MMA_SIM or provide "
                           "../shared/peers/mma-sim beside the repository")
def test_replay_every_recorded_output_bit_for_bit():
    results = acm.replay(RECORDINGS)
    lines = [r.line() for r in results.values()]
    print("\n" + "\n".join(lines))
    bad = [r.line() + "\n    " + "\n    ".join(r.mismatches) for r in results.values() if not r.ok]
    assert results and not bad, "\n".join(bad)
    # presets and simulator agree on F
    assert not [r.notes for r in results.values() if r.notes]
    # bit patterns equal everywhere except CDNA3's host-dependent NaN payloads
    for r in results.values():
        if r.nan_compare == "bits":
            assert r.equal_bits == r.total, r.line()


@pytest.mark.skipif(RECORDINGS is None or not RECORDINGS.is_dir(), reason="no MMA-Sim recordings")
def test_replay_python_integer_path_on_a_subset():
    from mxref.accumulators.recorded import find_kind_dirs, replay_kind

    for d in find_kind_dirs(RECORDINGS):
        r = replay_kind(d, instances=slice(0, None, 37), arithmetic="python")
        assert r.ok, r.line() + "\n" + "\n".join(r.mismatches)


def test_cli_exit_status(tmp_path):
    from mxref.accumulators.__main__ import main

    assert main([str(tmp_path / "absent")]) == 2
    if RECORDINGS is None:
        pytest.skip("no MMA-Sim recordings")
    kind = sorted(p for p in RECORDINGS.iterdir() if p.name.startswith("hopper"))[0]
    assert main([str(kind), "--json", str(tmp_path / "r.json")]) == 0
    assert (tmp_path / "r.json").read_text().count('"equal"') == 1


# ----- decoding -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["fp8_e4m3", "fp8_e5m2", "fp6_e2m3", "fp6_e3m2", "fp4_e2m1", "e8m0"])
def test_decode_codes_agree_with_mxref_decode(fmt):
    codes = np.arange(1 << mxref.element_format(fmt).bits, dtype=np.uint8)
    np.testing.assert_array_equal(acm.decode_codes(codes, fmt), mxref.decode(codes, fmt, np.float64))


@pytest.mark.parametrize("fmt", ["fp8_e4m3fnuz", "fp8_e5m2fnuz", "ue4m3"])
def test_decode_codes_local_formats(fmt):
    got = acm.decode_codes(np.arange(256, dtype=np.uint8), fmt)
    for c in range(256):
        v = frac(c, fmt)
        assert (np.isnan(got[c]) if v is None else Fraction(float(got[c])) == v), (fmt, hex(c))
    if fmt == "fp8_e4m3fnuz":
        assert got[0x7F] == 240 and got[0x01] == 2.0 ** -10 and np.isnan(got[0x80])
    if fmt == "fp8_e5m2fnuz":
        assert got[0x7F] == 57344 and got[0x01] == 2.0 ** -17 and np.isnan(got[0x80])
    if fmt == "ue4m3":
        assert got[0x38] == got[0xB8] == 1.0 and np.isnan(got[0x7F]) and np.isnan(got[0xFF])


# ----- properties against the exact sum ------------------------------------------------------------


def _run(preset, cfg, a, b, sa, sb, c, **kw):
    return acm.gemm(a, cfg[0], sa, b, cfg[1], sb, c, preset=preset, scale_fmt=cfg[2], **kw)


@pytest.mark.parametrize("preset,cfg", CASES)
def test_error_within_truncation_bound(preset, cfg):
    """Fused presets (NVIDIA): each of the n terms and C is truncated toward zero to a multiple of
    2^(E-F), an error below 2^(E-F) each; the result's truncation to P bits adds less than one
    ulp_P of the pre-rounding sum, so
        |D - exact| < (n + 1) 2^(E-F) + 2^(max(floor(log2(|exact| + (n+1) 2^(E-F))), -126) - P).
    CDNA3, one group of 16 (the second group zero, which passes the first group's result through
    unchanged): 16 terms truncated below 2^(E_h-24) <= 2^(E_m-24), one floored half (< 2^(E_m-24)),
    the product sum floored to 2^(E_x-31), C floored to 2^(E_x-24) or dropped (|C| < 2^(E_x-24)):
        |D - exact| < 19 2^(E_x-24) + half an ulp_23 (nearest-even)."""
    acc = acm.preset(preset)
    rng = np.random.default_rng(zlib.crc32(repr((preset, cfg)).encode()))
    cdna = acc.c_entry == "after"
    worst = 0.0
    for seed in range(3):
        a, b, sa, sb, c = draw(preset, cfg, rng, zero_second_group=cdna)
        d = _run(preset, cfg, a, b, sa, sb, c)
        for m in range(a.shape[0]):
            for n in range(b.shape[1]):
                exact, terms, cf, ce = terms_and_exact(preset, cfg, a, b, sa, sb, c, m, n,
                                                       k_stop=16 if cdna else None)
                E = max([e for _, e in terms] + [ce])
                if cdna:
                    tb = 19 * Fraction(2) ** (E - 24)
                    ulp = Fraction(2) ** (max(floor_log2(abs(exact) + tb), -126) - 24)
                else:
                    tb = (len(terms) + 1) * Fraction(2) ** (E - acc.fraction_bits)
                    ulp = Fraction(2) ** (max(floor_log2(abs(exact) + tb), -126)
                                          - acc.result_fraction_bits)
                err = abs(f32_frac(d[m, n]) - exact)
                assert err < tb + ulp, (preset, cfg, m, n, float(err), float(tb + ulp))
                worst = max(worst, float(err / (tb + ulp)))
    if cfg[0].startswith("fp8"):
        assert worst > 0  # the bound is exercised (FP6/FP4 products often lose nothing)


@pytest.mark.parametrize("preset,cfg", CASES)
def test_exact_when_no_term_loses_a_bit(preset, cfg):
    """When every term and C is a multiple of 2^(E-F) (CDNA3: of 2^(E_x-24)), the result is the
    exact sum rounded once by the preset's result rounding (RZ to P bits / RNE to float32)."""
    acc = acm.preset(preset)
    rng = np.random.default_rng(zlib.crc32(repr((preset, cfg, 1)).encode()))
    cdna = acc.c_entry == "after"
    checked = 0
    for seed in range(4):
        a, b, sa, sb, c = draw(preset, cfg, rng, narrow=True, zero_second_group=cdna)
        d = _run(preset, cfg, a, b, sa, sb, c)
        for m in range(a.shape[0]):
            for n in range(b.shape[1]):
                exact, terms, cf, ce = terms_and_exact(preset, cfg, a, b, sa, sb, c, m, n,
                                                       k_stop=16 if cdna else None)
                E = max([e for _, e in terms] + [ce])
                grid = Fraction(2) ** (E - (24 if cdna else acc.fraction_bits))
                if any((t / grid).denominator != 1 for t, _ in terms + [(cf, ce)]):
                    continue
                want = (round_to_float32(exact) if acc.result_rounding == "nearest_even"
                        else rz(exact, acc.result_fraction_bits))
                assert f32_frac(d[m, n]) == want, (preset, cfg, m, n)
                checked += 1
    assert checked >= 20, f"only {checked} outputs without truncation drawn"


def _exact_chain(fa, fb, sf, bs, a, b, sa, sb, c, kI, order=None):
    """D_t = round_to_float32(D_{t-1} + exact sum of instruction slice t), in Fractions."""
    M, K = a.shape
    N = b.shape[1]
    out = np.zeros((M, N), object)
    T = K // kI
    for m in range(M):
        for n in range(N):
            acc = f32_frac(c[m, n])
            for t in (order or range(T)):
                s = Fraction(0)
                for k in range(t * kI, (t + 1) * kI):
                    p = frac(a[m, k], fa) * frac(b[k, n], fb)
                    if sf is not None:
                        p *= frac(sa[m, k // bs], sf) * frac(sb[k // bs, n], sf)
                    s += p
                acc = round_to_float32(acc + s)
            out[m, n] = acc
    return out


@pytest.mark.parametrize("cfg,group,kI", [
    (("fp8_e4m3", "fp8_e5m2", "e8m0", 32), 1, 32),
    (("fp6_e3m2", "fp8_e4m3", "e8m0", 32), 1, 32),
    (("fp4_e2m1", "fp4_e2m1", "ue4m3", 16), 16, 64),
    (("fp8_e4m3fnuz", "fp8_e4m3fnuz", None, None), 1, 32),
])
def test_generic_infinite_F_nearest_even_is_exact_per_instruction_rounding(cfg, group, kI):
    """Accumulator(fraction_bits=None, result_rounding="nearest_even"): each instruction's
    result is the exact sum (C included) rounded once to float32, chained along K."""
    spec = acm.Accumulator(k=kI, group=group, fraction_bits=None, result_rounding="nearest_even",
                           zero_sign="rounded")
    rng = np.random.default_rng(7)
    fa, fb, sf, bs = cfg
    M, N, K = 4, 3, 4 * kI
    a = rng.choice(finite_codes(fa), size=(M, K)).astype(np.uint8)
    b = rng.choice(finite_codes(fb), size=(K, N)).astype(np.uint8)
    sa = sb = None
    if sf is not None:
        lo, hi = (110, 145) if sf == "e8m0" else (0x08, 0x70)
        sa = rng.integers(lo, hi, size=(M, K // bs)).astype(np.uint8)
        sb = rng.integers(lo, hi, size=(K // bs, N)).astype(np.uint8)
    c = (rng.standard_normal((M, N)) * 4).astype(np.float32)
    for order in (None, [2, 0, 3, 1]):
        d = acm.gemm(a, fa, sa, b, fb, sb, c, preset=spec, scale_fmt=sf,
                     k_order=order or "ascending")
        want = _exact_chain(fa, fb, sf, bs, a, b, sa, sb, c, kI, order)
        for m in range(M):
            for n in range(N):
                assert f32_frac(d[m, n]) == want[m, n], (m, n, order)


def test_generic_infinite_F_one_block_equals_reference_dot_scalar():
    """One MXFP8 block, C = 0: exact-per-instruction rounding is dot_scalar's fp32_blockwise
    (and its exact, rounded once)."""
    spec = acm.Accumulator(k=32, fraction_bits=None, result_rounding="nearest_even",
                           zero_sign="rounded")
    rng = np.random.default_rng(3)
    for fmt in ("fp8_e4m3", "fp8_e5m2", "fp6_e2m3"):
        for _ in range(10):
            x = mxref.quantize(rng.standard_normal(32) * 10 ** rng.uniform(-3, 3), fmt)
            y = mxref.quantize(rng.standard_normal(32), fmt)
            got = acm.dot_mx(x, y, spec)
            want = dot_scalar(x, y, accumulate="fp32_blockwise")
            assert got.view(np.uint32) == np.float32(want).view(np.uint32) or got == want
            assert got == dot_scalar(x, y, accumulate="exact")


# ----- the two implementations, chaining, entry points ----------------------------------------------


VARIANTS = [
    acm.preset("blackwell_mxf8f6f4").replace(term_rounding="floor"),
    acm.preset("blackwell_mxf8f6f4").replace(term_rounding="nearest_even", fraction_bits=8,
                                             result_rounding="nearest_even"),
    acm.preset("hopper_fp8").replace(overflow="saturate", subnormal_outputs="flush"),
    acm.preset("blackwell_mxf4").replace(subnormal_inputs="flush", fraction_bits=20),
    acm.preset("cdna3_fp8").replace(halves=1, chain=None),
]


@pytest.mark.parametrize("preset,cfg", CASES + [(v, CONFIGS[n][0]) for v, n in zip(
    VARIANTS, ["blackwell_mxf8f6f4", "blackwell_mxf8f6f4", "hopper_fp8", "blackwell_mxf4",
               "cdna3_fp8"])])
def test_float64_and_python_integer_paths_agree(preset, cfg):
    acc = acm.preset(preset)
    rng = np.random.default_rng(11)
    fa, fb, sf, bs = cfg
    M, N, K = 5, 4, 2 * acc.k
    a = rng.integers(0, 1 << acm.codec(fa).bits, size=(M, K)).astype(np.uint8)  # specials too
    b = rng.integers(0, 1 << acm.codec(fb).bits, size=(K, N)).astype(np.uint8)
    a[0] = rng.choice(finite_codes(fa), size=K)
    b[:, 0] = rng.choice(finite_codes(fb), size=K)
    sa = sb = None
    if sf is not None:
        sa = rng.integers(0, 256 if sf == "e8m0" else 0x80, size=(M, K // bs)).astype(np.uint8)
        sb = rng.integers(0, 256 if sf == "e8m0" else 0x80, size=(K // bs, N)).astype(np.uint8)
        one = 0x38 if sf == "ue4m3" else 127
        sa[0], sb[:, 0] = one, one
    c = (rng.standard_normal((M, N)) * 2.0 ** rng.integers(-140, 120, size=(M, N))).astype(np.float32)
    assert acm.fits_float64(acc, fa, fb, sf)
    fast = _run(acc, cfg, a, b, sa, sb, c, arithmetic="float64").view(np.uint32)
    wide = _run(acc, cfg, a, b, sa, sb, c, arithmetic="python").view(np.uint32)
    np.testing.assert_array_equal(fast, wide)


def test_chaining_feeds_D_back_as_C():
    cfg = CONFIGS["blackwell_mxf8f6f4"][0]
    rng = np.random.default_rng(5)
    a, b, sa, sb, c = draw("blackwell_mxf8f6f4", cfg, rng, M=7, N=6, K=96)
    d = _run("blackwell_mxf8f6f4", cfg, a, b, sa, sb, c)
    step = c
    for t in range(3):
        ks = slice(32 * t, 32 * t + 32)
        step = acm.instruction(a[:, ks], cfg[0], sa[:, t:t + 1], b[ks], cfg[1], sb[t:t + 1], step,
                               preset="blackwell_mxf8f6f4")
    np.testing.assert_array_equal(d.view(np.uint32), step.view(np.uint32))
    rev = _run("blackwell_mxf8f6f4", cfg, a, b, sa, sb, c, k_order="descending")
    np.testing.assert_array_equal(rev, _run("blackwell_mxf8f6f4", cfg, a, b, sa, sb, c,
                                            k_order=[2, 1, 0]))
    # batch axes: each batch entry on its own
    ab = np.stack([a, a[::-1]])
    bb = np.stack([b, b])
    db = acm.gemm(ab, cfg[0], np.stack([sa, sa[::-1]]), bb, cfg[1], np.stack([sb, sb]),
                  np.stack([c, c[::-1]]), preset="blackwell_mxf8f6f4")
    np.testing.assert_array_equal(db[0], d)


def test_matmul_mx_and_dot_mx():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 64)).astype(np.float32)
    y = rng.standard_normal((64, 5)).astype(np.float32)
    A, B = mxref.quantize(x, "fp8_e4m3", axis=1), mxref.quantize(y, "fp8_e5m2", axis=0)
    got = acm.matmul_mx(A, B, "blackwell_mxf8f6f4")
    want = acm.gemm(np.asarray(A.elements), "fp8_e4m3", np.asarray(A.scales),
                    np.asarray(B.elements), "fp8_e5m2", np.asarray(B.scales))
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.float32 and got.shape == (6, 5)
    ref = A.dequantize(np.float64) @ B.dequantize(np.float64)
    assert np.allclose(got, ref, rtol=1e-5, atol=1e-5)
    a1 = mxref.quantize(x[2], "fp8_e4m3")
    b1 = mxref.quantize(y[:, 3], "fp8_e5m2")
    assert acm.dot_mx(a1, b1).view(np.uint32) == got[2, 3].view(np.uint32)
    F4 = mxref.quantize(x, "fp4_e2m1", axis=1), mxref.quantize(y, "fp4_e2m1", axis=0)
    assert acm.matmul_mx(*F4, "blackwell_mxf4").shape == (6, 5)
    with pytest.raises(ValueError, match="blocked along axis"):
        acm.matmul_mx(B, A)


# ----- specials and checks ------------------------------------------------------------------------


def _one(preset, fa, fb, a_list, b_list, c=0.0, sa=127, sb=127, bits=False):
    acc = acm.preset(preset)
    a = np.zeros((1, acc.k), np.uint8)
    b = np.zeros((acc.k, 1), np.uint8)
    a[0, :len(a_list)] = a_list
    b[:len(b_list), 0] = b_list
    scales = acc.scale_formats != ()
    nb = acc.k // 32 if scales else 0
    c = np.asarray([[c]], np.uint32 if bits else np.float32)
    d = acm.gemm(a, fa, np.full((1, nb), sa, np.uint8) if scales else None, b, fb,
                 np.full((nb, 1), sb, np.uint8) if scales else None, c, preset=preset)
    return int(d.view(np.uint32)[0, 0])


def test_specials():
    bw = "blackwell_mxf8f6f4"
    assert _one(bw, "fp8_e4m3", "fp8_e4m3", [], [], sa=0xFF) == 0x7FFFFFFF  # NaN scale, zeros
    assert _one(bw, "fp8_e5m2", "fp8_e5m2", [0x7C], [0x00]) == 0x7FFFFFFF  # Inf * 0
    assert _one(bw, "fp8_e5m2", "fp8_e5m2", [0x7C, 0xFC], [0x3C, 0x3C]) == 0x7FFFFFFF  # +Inf - Inf
    assert _one(bw, "fp8_e5m2", "fp8_e5m2", [0x7C], [0xBC]) == 0xFF800000  # Inf * -1
    assert _one(bw, "fp8_e4m3", "fp8_e4m3", [0x7F], [0x38]) == 0x7FFFFFFF  # NaN element
    assert _one(bw, "fp8_e4m3", "fp8_e4m3", [0x38], [0x38], c=-np.inf) == 0xFF800000
    # a subnormal C passes; a tiny negative sum (-2^-150) that truncates to nothing is +0
    assert _one(bw, "fp8_e4m3", "fp8_e4m3", [], [], c=0x80000001, bits=True) == 0x80000001
    assert _one(bw, "fp8_e4m3", "fp8_e4m3", [0x81], [0x01], sa=0, sb=122) == 0
    signed = acm.preset(bw).replace(zero_sign="rounded")
    assert _one(signed, "fp8_e4m3", "fp8_e4m3", [0x81], [0x01], sa=0, sb=122) == 0x80000000
    assert _one(bw, "fp8_e4m3", "fp8_e4m3", [0x38], [0x38], c=0x80000001, bits=True) == 0x3F800000
    assert _one(bw, "fp8_e4m3", "fp8_e4m3", [0x38], [0xB8], c=1.0) == 0  # exact zero: +0
    # Hopper keeps 13 fraction bits: 1 + 2^-14 -> 1
    assert _one("hopper_fp8", "fp8_e4m3", "fp8_e4m3", [0x38], [0x38], c=2.0 ** -14) == 0x3F800000
    assert _one("hopper_fp8", "fp8_e4m3", "fp8_e4m3", [0x38], [0x38], c=2.0 ** -13) == 0x3F800400
    # CDNA3: NaN C comes out quieted, NaN code 0x80 as 0x7FC00000
    cd = "cdna3_fp8"
    assert _one(cd, "fp8_e4m3fnuz", "fp8_e4m3fnuz", [], [], c=0x7F800001, bits=True) == 0x7FC00001
    assert _one(cd, "fp8_e4m3fnuz", "fp8_e4m3fnuz", [0x80], [0x40]) == 0x7FC00000
    # overflow: RZ gives Inf, not FLT_MAX (MMA-Sim)
    assert _one(bw, "fp8_e4m3", "fp8_e4m3", [0x7E] * 2, [0x7E] * 2, sa=254, sb=254) == 0x7F800000


def test_argument_checks():
    a = np.zeros((2, 48), np.uint8)
    b = np.zeros((48, 2), np.uint8)
    with pytest.raises(ValueError, match="multiple of the instruction K"):
        acm.gemm(a, "fp8_e4m3", None, b, "fp8_e4m3", None, preset="hopper_fp8")
    a, b = a[:, :32], b[:32]
    with pytest.raises(ValueError, match="needs block scales"):
        acm.gemm(a, "fp8_e4m3", None, b, "fp8_e4m3", None)
    with pytest.raises(ValueError, match="no block scales"):
        acm.gemm(a, "fp8_e4m3", np.zeros((2, 1), np.uint8), b, "fp8_e4m3",
                 np.zeros((1, 2), np.uint8), preset="hopper_fp8")
    with pytest.raises(ValueError, match="is not one of"):
        acm.gemm(a, "fp8_e4m3", None, b, "fp8_e4m3", None, preset="cdna3_fp8")
    with pytest.raises(ValueError, match="unknown accumulator preset"):
        acm.gemm(a, "fp8_e4m3", None, b, "fp8_e4m3", None, preset="volta")
    with pytest.raises(ValueError, match="permutation"):
        acm.gemm(a, "fp8_e4m3", None, b, "fp8_e4m3", None, preset="hopper_fp8", k_order=[1])
    with pytest.raises(ValueError, match="not float32"):
        acm.gemm(a, "fp8_e4m3", None, b, "fp8_e4m3", None, np.full((2, 2), 0.1),
                 preset="hopper_fp8")
    with pytest.raises(ValueError, match="must nest"):
        acm.Accumulator(k=32, group=16, chain=8)
    with pytest.raises(ValueError):
        acm.Accumulator(fraction_bits=None, c_entry="after")


def test_presets_documented_and_parameters():
    table = {
        "blackwell_mxf8f6f4": (32, 1, 25, "toward_zero", 23),
        "rtx_blackwell_mxf8f6f4": (32, 1, 25, "toward_zero", 23),
        "blackwell_mxf4": (64, 16, 35, "toward_zero", 23),
        "blackwell_mxf4nvf4": (64, 16, 35, "toward_zero", 23),
        "rtx_blackwell_mxf4nvf4": (64, 16, 35, "toward_zero", 23),
        "hopper_fp8": (32, 1, 13, "toward_zero", 13),
        "cdna3_fp8": (32, 1, 24, "nearest_even", 23),
    }
    assert set(acm.PRESETS) == set(table)
    for name, (k, g, F, rr, P) in table.items():
        p = acm.preset(name)
        assert (p.k, p.group, p.fraction_bits, p.result_rounding, p.result_fraction_bits) == (k, g, F, rr, P)
        assert "c78513835c8b" in p.source and "2511.10909" in p.source
        assert p.doc and "erified" in p.doc and p.doc == getattr(acm, name).__doc__
    assert "xtrapolated" in acm.preset("blackwell_mxf8f6f4").doc
