"""The cast models of ONNX's reference evaluator and onnxruntime's CPU kernels (mxref.models,
kinds "e8m0" and "cast"): each against an independent statement of the library's rule on the
float32 bit fields (exponent field, mantissa, guard / round / sticky bits), over every float32
pattern of the ranges where they act and a stride of all the others."""

from __future__ import annotations

import numpy as np
import pytest

import mxref
import mxref.models as mm


def _patterns():
    """Per exponent field of interest (0: the subnormals; 135, 136: E4M3's top; 142, 143: E5M2's;
    253, 254: E8M0's): every mantissa k * 2^18 + {0, 1, 2, 2^18 - 2, 2^18 - 1} (all guard / round
    bit boundaries of E8M0, E4M3 and E5M2) and a stride of 97; a stride over all positive finite
    patterns; +0, +Inf and the thresholds named in the catalogue."""
    k = np.arange(32, dtype=np.uint64) << np.uint64(18)
    near = (k[:, None] + np.array([0, 1, 2, (1 << 18) - 2, (1 << 18) - 1], np.uint64)).reshape(-1)
    a = []
    for e in (0, 135, 136, 142, 143, 253, 254):
        a += [(np.uint64(e) << np.uint64(23)) + near, np.arange(e << 23, (e + 1) << 23, 97, dtype=np.uint64)]
    a.append(np.arange(0, 0x7F800000, 4099, dtype=np.uint64))
    a.append(np.array([0x7F800000, 0x00400000, 0x00600000, 0x7F000000, 0x7F000001], np.uint64))
    return np.concatenate(a).astype(np.uint32)


B = _patterns()
X = B.view(np.float32)
FIELD = ((B >> 23) & 0xFF).astype(np.int64)
MANT = (B & 0x7FFFFF).astype(np.int64)
POS = (B != 0) & (FIELD != 0xFF)  # positive finite non-zero


def _e8m0(rounding, overflow, models):
    x = np.where(POS | (B == 0x7F800000), X, np.float32(1.0))
    return mm.encode_e8m0_model(x, rounding=rounding, overflow=overflow, models=models).astype(np.int64), x


@pytest.mark.parametrize("overflow", ["saturate", "nonsaturating"])
def test_onnx_up_is_the_exponent_field_plus_one_for_any_mantissa(overflow):
    """onnx to_float8e8m0 round_mode="up": code = field + (mantissa != 0) (subnormals too), kept
    at 0xFE when saturating, 0xFF past it otherwise; field 0xFF (Inf) -> 0xFF."""
    got, x = _e8m0("ceil", overflow, ("e8m0_subnormal_field_up", "e8m0_inf_to_nan"))
    b = x.view(np.uint32)
    f, m = ((b >> 23) & 0xFF).astype(np.int64), (b & 0x7FFFFF).astype(np.int64)
    want = f + (m != 0)
    want = np.where(want > 0xFE, 0xFE if overflow == "saturate" else 0xFF, want)
    want = np.where(f == 0xFF, 0xFF, want)
    assert (got == want).all(), [(hex(int(v)), int(g), int(w)) for v, g, w in zip(b[got != want], got[got != want],
                                                                                   want[got != want])][:5]
    # the spec's ceiling differs exactly on the subnormals <= 2^-127, and on +Inf when saturating
    spec = mxref.encode_e8m0(x, rounding="ceil", overflow=overflow).astype(np.int64)
    diff = got != spec
    sub_low = (f == 0) & (m != 0) & (m <= 0x400000)
    assert (diff == (sub_low | ((f == 0xFF) & (overflow == "saturate")))).all()


@pytest.mark.parametrize("overflow", ["saturate", "nonsaturating"])
def test_onnx_nearest_rounds_on_guard_and_round_sticky_or_lsb(overflow):
    """round_mode="nearest": up iff guard (0x400000) and (round 0x200000 or sticky 0x1FFFFF or
    field > 0): a subnormal rounds up iff its mantissa > 0x400000."""
    got, x = _e8m0("ties_up", overflow, ("e8m0_subnormal_to_min_normal", "e8m0_inf_to_nan"))
    b = x.view(np.uint32)
    f, m = ((b >> 23) & 0xFF).astype(np.int64), (b & 0x7FFFFF).astype(np.int64)
    g, r, s = (m & 0x400000) > 0, (m & 0x200000) > 0, (m & 0x1FFFFF) > 0
    want = f + (g & (r | s | (f > 0)))
    want = np.where(want > 0xFE, 0xFE if overflow == "saturate" else 0xFF, want)
    want = np.where(f == 0xFF, 0xFF, want)
    assert (got == want).all()


@pytest.mark.parametrize("rounding", ["ceil", "ties_up", "floor"])
def test_onnxruntime_nonsaturating_e8m0_range_check(rounding):
    """onnxruntime 1.32.0 saturate=0: NaN below 2^-127 (field 0, mantissa < 0x400000) and above
    2^127 (field 0xFE with a non-zero mantissa, or more); elsewhere the spec's rounding."""
    both = ("e8m0_nonsat_below_min_nan", "e8m0_nonsat_above_max_nan")
    got, x = _e8m0(rounding, "nonsaturating", both)
    b = x.view(np.uint32)
    f, m = ((b >> 23) & 0xFF).astype(np.int64), (b & 0x7FFFFF).astype(np.int64)
    out = ((f == 0) & (m < 0x400000)) | ((f == 0xFE) & (m > 0)) | (f == 0xFF)
    spec = mxref.encode_e8m0(x, rounding=rounding, overflow="nonsaturating").astype(np.int64)
    assert (got == np.where(out, 0xFF, spec)).all()
    assert (spec[out & (f == 0)] == 0).all() and (got[out] == 0xFF).all()
    # saturating casts: no effect
    sat, _ = _e8m0(rounding, "saturate", both)
    assert (sat == mxref.encode_e8m0(x, rounding=rounding, overflow="saturate")).all()
    # each alone: its side only
    lo, _ = _e8m0(rounding, "nonsaturating", both[:1])
    hi, _ = _e8m0(rounding, "nonsaturating", both[1:])
    assert (lo == np.where(out & (f == 0), 0xFF, spec)).all()
    assert (hi == np.where(out & (f > 0), 0xFF, spec)).all()


def _ort_e4m3_top(f, m):
    """Magnitude code of a float32 with field 135 (256 <= |x| < 512) or more under onnxruntime's
    non-saturating E4M3 cast, from the bit fields: 3 mantissa bits m3, guard bit 19, sticky
    bits 0..18; m3 = 7 is first lowered to 6 (code 0x7E), the overflow test (NaN) fires on a
    round-up only."""
    m3, g, st = m >> 20, (m >> 19) & 1, (m & 0x7FFFF) > 0
    up = (g == 1) & (st | (m3 & 1 == 1))
    code = np.where(m3 == 7, np.where(up, 0x7F, 0x7E), np.where(up & (m3 == 6), 0x7F, 0x78 + m3 + up))
    return np.where(f > 135, 0x7F, code)


def _ort_e5m2_top(f, m):
    """The same for E5M2, field 142 (32768 <= |x| < 65536) or more: 2 mantissa bits, guard bit
    20, sticky 0..19; a round-up of 0x7B ORs 0x7C in (0x7F); field >= 143 is Inf (0x7C)."""
    m2, g, st = m >> 21, (m >> 20) & 1, (m & 0xFFFFF) > 0
    up = (g == 1) & (st | (m2 & 1 == 1))
    code = np.where(up & (m2 == 3), 0x7F, 0x78 + m2 + up)
    return np.where(f > 142, 0x7C, code)


@pytest.mark.parametrize("fmt, model, top", [("fp8_e4m3", "fp8_e4m3_nonsat_480_to_max", 135),
                                             ("fp8_e5m2", "fp8_e5m2_nonsat_round_overflow_nan", 142)])
def test_onnxruntime_nonsaturating_fp8_top_of_range(fmt, model, top):
    sel = POS & (FIELD >= top)
    x = np.concatenate([X[sel], -X[sel]])
    f, m = np.tile(FIELD[sel], 2), np.tile(MANT[sel], 2)
    got = mm.encode_model(x, fmt, overflow="nonsaturating", models=(model,)).astype(np.int64)
    want = (_ort_e4m3_top if fmt == "fp8_e4m3" else _ort_e5m2_top)(f, m) | np.where(np.signbit(x), 0x80, 0)
    el = mxref.formats.element_format(fmt)
    gv = mxref.decode(got, fmt, np.float64)
    wv = mxref.decode(want, fmt, np.float64)
    same = (got == want) | (np.isnan(gv) & np.isnan(wv))
    assert same.all(), [(float(a), int(g), int(w)) for a, g, w in zip(x[~same], got[~same], want[~same])][:5]
    assert el.name == fmt
    # below the top, and saturating: the spec's cast
    low = POS & (FIELD < top)
    assert (mm.encode_model(X[low], fmt, overflow="nonsaturating", models=(model,))
            == mxref.encode(X[low], fmt, overflow="nonsaturating")).all()
    assert (mm.encode_model(x, fmt, overflow="saturate", models=(model,)) == mxref.encode(x, fmt)).all()
    # the examples of the catalogue entry
    ex = [480.0, 495.9, 496.0] if fmt == "fp8_e4m3" else [61440.0, 65535.0, 65536.0]
    v = mxref.decode(mm.encode_model(np.array(ex, np.float32), fmt, overflow="nonsaturating", models=(model,)),
                     fmt, np.float64)
    assert (v[:2] == 448.0).all() and np.isnan(v[2]) if fmt == "fp8_e4m3" else \
        (np.isnan(v[:2]).all() and v[2] == np.inf)


def test_cast_models_compose_with_the_input_model_and_are_refused_by_quantize():
    x = np.array([np.nextafter(480.0, 0.0)], np.float64)  # rounds to 480.0 in float32
    a = mm.encode_model(x, "fp8_e4m3", overflow="nonsaturating",
                        models=("input_double_round_f32", "fp8_e4m3_nonsat_480_to_max"))
    assert a[0] == 0x7E
    assert mm.encode_model(x, "fp8_e4m3", overflow="nonsaturating", models=("fp8_e4m3_nonsat_480_to_max",))[0] == 0x7F
    with pytest.raises(ValueError, match="cast model"):
        mm.quantize_model(np.ones((1, 32), np.float32), "mxfp8_e4m3", models=("fp8_e4m3_nonsat_480_to_max",))
    with pytest.raises(ValueError, match="e8m0 model"):
        mm.encode_model(np.ones(4, np.float32), "fp8_e4m3", models=("e8m0_inf_to_nan",))
