"""mxref._fast_int (the float32 path's roundings outside the tables: stochastic, and INT roundings
other than RNE) against the integer rounding core, mxref._kernel.round_parts, on the exact parts
of the same float32 values (split_float64 of their float64 widening; round_parts is held to the
Fraction reference by test_encode / test_conversion). quantize-level equality with the general
path, exhaustive on float16 / bfloat16 inputs, is in test_conversion."""

import numpy as np
import pytest

import mxref
from mxref._fast_int import PIECE, codes_from_f32_bits, int_codes_from_f32, round_codes_f32, stochastic_codes_f32
from mxref._kernel import max_mag, pack_code, round_parts, split_float64

ELEMENTS = list(dict.fromkeys(mxref.mx_format(n).element for n in
                              list(mxref.MX_FORMATS) + ["mxint4", "mxint2", "mxfp4_e3m0"]))
ROUNDINGS = list(mxref.ROUNDING_MODES)


def _patterns(rng) -> np.ndarray:
    """Finite float32 bit patterns of every biased exponent (0: zeros and subnormals) and sign,
    with fractions at the edges (0, 1, half, all ones) and random ones with a random number of
    low bits cleared (exact values, ties and near-ties at every element quantum)."""
    e = np.repeat(np.arange(255, dtype=np.uint32), 160)
    f = rng.integers(0, 1 << 23, e.size, dtype=np.uint32)
    f >>= rng.integers(0, 24, e.size, dtype=np.uint32)
    f <<= rng.integers(0, 24, e.size, dtype=np.uint32)
    f &= np.uint32(0x7FFFFF)
    f[0::160], f[1::160], f[2::160], f[3::160] = 0, 1, 0x400000, 0x7FFFFF
    b = (e << np.uint32(23)) | f
    b |= rng.integers(0, 2, b.size, dtype=np.uint32) << np.uint32(31)
    return b


def _want(bits, el, rounding, allow, rb, n):
    neg, sig, flog2, _, _ = split_float64(bits.view(np.float32).astype(np.float64))
    mag = round_parts(neg, sig, flog2, el, rounding, None if rb is None else rb.astype(np.uint64), n)
    mag = np.minimum(mag, max_mag(el, neg, allow))
    return pack_code(el, neg, mag).astype(np.uint8)


@pytest.mark.parametrize("el", ELEMENTS, ids=lambda e: e.name)
def test_rounding_on_float32_bits_equals_round_parts(el):
    rng = np.random.default_rng(23)
    bits = _patterns(rng)
    for rounding in ROUNDINGS:
        # stochastic: the bit counts around 23 - m, the last that stochastic_codes_f32 takes
        edge = [22 - el.mantissa_bits, 23 - el.mantissa_bits, 24 - el.mantissa_bits]
        for n in (sorted({1, 2, 8, 17, 24, 25, 31, 32, *edge}) if rounding == "stochastic" else [0]):
            rb = rng.integers(0, 1 << n, bits.size, dtype=np.uint64) if n else None
            if n and n <= 8:
                rb = rb.astype(np.uint8)
            for allow in (False, True):
                want = _want(bits, el, rounding, allow, rb, n)
                got = codes_from_f32_bits(bits, el, rounding, allow, rb, n).astype(np.uint8)
                assert np.array_equal(got, want), (el.name, rounding, n, allow, bits[got != want][:4])
                if el.integer:
                    got = int_codes_from_f32(bits, el, rounding, allow, rb, n).astype(np.uint8)
                    assert np.array_equal(got, want), (el.name, rounding, n, allow, bits[got != want][:4])
                elif rounding == "stochastic" and n <= 23 - el.mantissa_bits:
                    got = stochastic_codes_f32(bits, el, rounding, allow, rb, n).astype(np.uint8)
                    assert np.array_equal(got, want), (el.name, n, bits[got != want][:4])
                out = np.full(bits.size, 0xAA, np.uint8)
                round_codes_f32(out, bits, el, rounding, allow, rb, n)
                assert np.array_equal(out, want), (el.name, rounding, n, allow)
    assert bits.size > PIECE  # round_codes_f32 ran in more than one piece


def test_stochastic_rounds_up_with_the_fraction_as_probability():
    """Known answers: y = 2.25 in FP4 E2M1 (codes 2.0 and 3.0, fraction 1/4 of the step 1): with 2
    random bits exactly R = 3 rounds up; INT8 y = 1/64 + 1/256 (fraction 1/4 of its quantum)
    likewise; every R when the value is exact rounds to itself; y = -0.125, 1/4 of E2M1's
    subnormal step 0.5, gives -0 for R = 0..2 and -0.5 for R = 3."""
    fp4 = mxref.mx_format("mxfp4_e2m1").element
    int8 = mxref.mx_format("mxint8").element
    R = np.arange(4, dtype=np.uint8)
    y = np.full(4, 2.25, np.float32).view(np.uint32)
    assert codes_from_f32_bits(y, fp4, "stochastic", False, R, 2).tolist() == [4, 4, 4, 5]
    assert stochastic_codes_f32(y, fp4, "stochastic", False, R, 2).tolist() == [4, 4, 4, 5]
    y = np.full(4, 1 / 64 + 1 / 256, np.float32).view(np.uint32)
    assert int_codes_from_f32(y, int8, "stochastic", False, R, 2).tolist() == [1, 1, 1, 2]
    assert codes_from_f32_bits(y, int8, "stochastic", False, R, 2).tolist() == [1, 1, 1, 2]
    y = np.full(4, -3.0, np.float32).view(np.uint32)
    assert codes_from_f32_bits(y, fp4, "stochastic", False, R, 2).tolist() == [0xD] * 4
    assert stochastic_codes_f32(y, fp4, "stochastic", False, R, 2).tolist() == [0xD] * 4
    y = np.full(4, -0.125, np.float32).view(np.uint32)
    assert codes_from_f32_bits(y, fp4, "stochastic", False, R, 2).tolist() == [8, 8, 8, 9]
    assert stochastic_codes_f32(y, fp4, "stochastic", False, R, 2).tolist() == [8, 8, 8, 9]
