"""Inputs: float16, bfloat16 (ml_dtypes, raw bits, torch), float32, float64, DLPack; values
taken exactly, inputs never modified."""

import ml_dtypes
import numpy as np
import pytest

import mxref
from mxref import reference


def test_bfloat16_ml_dtypes_equals_raw_bits_helper():
    bits = np.arange(1 << 16, dtype=np.uint16)
    bits = bits[~np.isnan(mxref.bfloat16_bits_to_float32(bits))]
    as_ml = bits.view(ml_dtypes.bfloat16)
    for name in ["fp8_e4m3", "fp4_e2m1", "int8"]:
        a = mxref.encode(as_ml, name)
        b = mxref.encode(mxref.bfloat16_bits_to_float32(bits), name)
        assert np.array_equal(a, b)


def test_bfloat16_bits_helper_is_exact():
    bits = np.array([0x3F80, 0xBFC0, 0x0001, 0x7F80, 0x8000], dtype=np.uint16)
    got = mxref.bfloat16_bits_to_float32(bits)
    assert got.dtype == np.float32
    assert got.view(np.uint32).tolist() == [b << 16 for b in bits.tolist()]
    assert got.tolist()[:3] == [1.0, -1.5, 2.0**-133]
    with pytest.raises(TypeError, match="uint16"):
        mxref.bfloat16_bits_to_float32(np.array([1.0]))


def test_float16_bits_helper():
    got = mxref.float16_bits_to_float16(np.array([0x3C00, 0x0001], dtype=np.uint16))
    assert got.tolist() == [1.0, 2.0**-24]
    assert mxref.encode(got, "fp8_e5m2").tolist() == [0x3C, 0x00]


def test_dtypes_give_the_same_codes_for_the_same_values():
    v = np.array([0.1, -3.25, 448.0, 1e-5, 6.0, -0.0])
    want = [reference.encode_scalar(float(np.float16(t)), "fp8_e4m3") for t in v]
    for dt in (np.float16,):
        assert mxref.encode(v.astype(dt), "fp8_e4m3").tolist() == want
    f32 = v.astype(np.float32)
    assert mxref.encode(f32, "fp8_e4m3").tolist() == [reference.encode_scalar(float(t), "fp8_e4m3") for t in f32]


def test_dlpack_producer():
    class Producer:  # DLPack only, no __array__
        def __init__(self, a):
            self._a = a

        def __dlpack__(self, **kw):
            return self._a.__dlpack__(**kw)

        def __dlpack_device__(self):
            return self._a.__dlpack_device__()

    a = np.array([1.0, 2.5, -7.0], dtype=np.float32)
    assert mxref.encode(Producer(a), "fp4").tolist() == mxref.encode(a, "fp4").tolist()


def test_torch_tensors():
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0, -2.5, 300.0, 0.1], dtype=torch.float32)
    assert mxref.encode(t, "fp8_e4m3").tolist() == mxref.encode(t.numpy(), "fp8_e4m3").tolist()
    bf = torch.tensor([1.0, -2.5, 300.0, 0.1], dtype=torch.bfloat16, requires_grad=True)
    bits = bf.detach().view(torch.int16).numpy().view(np.uint16)
    assert mxref.encode(bf, "fp8_e4m3").tolist() == mxref.encode(mxref.bfloat16_bits_to_float32(bits), "fp8_e4m3").tolist()
    h = torch.tensor([1.0, 65504.0], dtype=torch.float16)
    assert mxref.encode(h, "fp8_e5m2").tolist() == [0x3C, 0x7B]
    # torch's own float8 casts on the CPU, compared as a peer: E4M3 saturates (Inf -> +-448,
    # NaN -> S.1111.111) and equals overflow="saturate" bit for bit; E5M2 is non-saturating and
    # equals overflow="nonsaturating" except for the NaN payload (torch S.11111.11, mxref the
    # quiet S.11111.10; OFP8 leaves NaN payloads open).
    rng = np.random.default_rng(0)
    b = rng.integers(0, 1 << 32, 1 << 18, dtype=np.uint64).astype(np.uint32).view(np.float32)
    b = np.concatenate([b, (np.arange(1 << 16, dtype=np.uint32) << 16).view(np.float32)])
    t = torch.from_numpy(b)
    e4 = t.to(torch.float8_e4m3fn).view(torch.uint8).numpy()
    assert np.array_equal(mxref.encode(b, "fp8_e4m3", overflow="saturate"), e4)
    e5 = t.to(torch.float8_e5m2).view(torch.uint8).numpy()
    ours = mxref.encode(b, "fp8_e5m2", overflow="nonsaturating")
    diff = ours != e5
    assert np.array_equal(diff, np.isnan(b))
    assert set(e5[diff].tolist()) == {0x7F, 0xFF} and set(ours[diff].tolist()) == {0x7E, 0xFE}
    with pytest.raises(TypeError, match="floating"):
        mxref.encode(torch.tensor([1, 2]), "fp8_e4m3")


def test_input_array_is_never_modified():
    rng = np.random.default_rng(3)
    for dt in (np.float16, np.float32, np.float64):
        x = (rng.standard_normal(1000) * 10).astype(dt)
        x[::7] = np.nan
        before = x.copy()
        mxref.encode(x, "fp8_e5m2")
        mxref.encode(x, "fp4", nan="max")
        assert np.array_equal(x.view(np.uint8), before.view(np.uint8))
    ro = np.ones(4)
    ro.setflags(write=False)
    assert mxref.encode(ro, "int8").tolist() == [0x40] * 4


def test_flush_to_zero_mode_does_not_change_results():
    """A thread in flush-to-zero / denormals-are-zero mode (torch.set_flush_denormal(True)) gets
    the same codes and values: float32 subnormal inputs, scales near 2^-127 and float32
    subnormal results of dequantize are all in play. Expected: the same calls in IEEE mode,
    where the general path is held to the Fraction reference elsewhere; here also the reference
    on one block."""
    torch = pytest.importorskip("torch")
    from mxref._dequant import factor_table as _factor_table, value_table as _value_table
    from mxref.options import SCALE_RULES

    rng = np.random.default_rng(1)
    x = (rng.standard_normal((16, 64)) * 2.0 ** rng.integers(-150, -110, (16, 1))).astype(np.float32)
    x[0, :] = np.float32(2.0**-140) * np.arange(64, dtype=np.float32)  # subnormals, amax subnormal

    def run():
        _value_table.cache_clear()
        _factor_table.cache_clear()
        out = []
        for f in mxref.MX_FORMATS:
            for rnd in ("rne", "toward_zero", "up"):
                for rule in SCALE_RULES:
                    mx = mxref.quantize(x, f, rounding=rnd, scale_rule=rule)
                    out.append((mx.scales.tobytes(), mx.elements.tobytes(),
                                mx.dequantize().tobytes(), mx.dequantize(np.float16).tobytes()))
        out.append(mxref.encode(x, "fp8_e4m3").tobytes())
        return out

    ieee = run()
    assert mxref.ieee_subnormals()
    try:
        torch.set_flush_denormal(True)
        if mxref.ieee_subnormals():
            pytest.skip("this CPU has no flush-to-zero mode")
        flushed = run()
    finally:
        torch.set_flush_denormal(False)
    assert flushed == ieee
    s, c = reference.quantize_block_scalar(x[0, :32].tolist(), "mxfp8_e4m3")
    mx = mxref.quantize(x[0, :32], "mxfp8_e4m3")
    assert (int(mx.scales[0]), mx.elements.tolist()) == (s, c) and any(c)
