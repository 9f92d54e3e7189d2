"""Bad and unusual inputs to the core library (issue 12, §3, §5, §6): byte orders, frozen
arrays, block sizes beyond the axis, masked arrays, hand-built objects, torch tensors numpy
cannot take, error messages. Each bad input is a TypeError / ValueError naming the argument;
each unusual but valid one gives exactly the result of its plain form."""

import copy
import pickle
import time
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

import mxref
from mxref import ext, reference
from mxref.ext import mxqllm
from mxref.ext.nvfp4 import NVFP4Array

BF16 = np.dtype(ml_dtypes.bfloat16)


def _swapped(a: np.ndarray) -> np.ndarray:
    """The same values stored in the other byte order (built from the bytes, not by a cast)."""
    dt = a.dtype
    u = np.dtype(f"u{dt.itemsize}")
    other = ">" if dt.byteorder in ("=", "<") and np.little_endian else "<"
    b = np.frombuffer(a.view(u).astype(u.newbyteorder(other)).tobytes(), dt.newbyteorder(other))
    return b.reshape(a.shape)


def _sample(shape=(4, 64), seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2.0 ** rng.integers(-20, 20, shape)).astype(np.float32)
    x.flat[::17] = 0.0
    x.flat[5] = -0.0
    return x


# ----- §3 byte orders ---------------------------------------------------------------------------


def test_dequantize_non_native_dtype_gives_the_same_values():
    mx = mxref.quantize(np.array([1.0, -2.0, 0.5, 3.0] * 8, np.float32), "mxfp8_e4m3")
    for name in ("float16", "float32", "float64"):
        want = mx.dequantize(name)
        for order in "<>":
            dt = np.dtype(name).newbyteorder(order)
            got = mx.dequantize(dt)
            assert got.dtype == dt
            assert got.tolist() == want.tolist()  # values, read in the result's byte order
    assert mx.dequantize(">f2")[0] == 1.0  # was 3.58e-06 (the bytes of 1.0 read swapped)
    be = BF16.newbyteorder(">" if np.little_endian else "<")
    got = mx.dequantize(be)
    assert got.dtype == be
    want_bits = mx.dequantize(BF16).view(np.uint16)
    assert np.array_equal(got.view(np.dtype(np.uint16).newbyteorder(be.byteorder)).astype(np.uint16), want_bits)


def test_decode_non_native_codes_and_dtype():
    codes = np.arange(256, dtype=np.uint8)
    want = mxref.decode(codes, "fp8_e5m2")
    for dt in (">u2", "<u2", ">i4", "<i8", ">u8"):
        got = mxref.decode(codes.astype(dt), "fp8_e5m2")
        assert np.array_equal(got, want, equal_nan=True) and got.dtype == np.float32
    for dt in (">f4", ">f8", "<f8"):
        got = mxref.decode(codes, "fp8_e5m2", dtype=dt)
        assert got.dtype == np.dtype(dt)
        assert np.array_equal(got.astype(np.float64), want.astype(np.float64), equal_nan=True)
    with pytest.raises(ValueError, match="dtype must be one of float32, float64"):
        mxref.decode(codes, "fp8_e5m2", dtype=">f2")


def test_big_endian_inputs_give_exactly_the_native_result():
    x = _sample()
    x64 = x.astype(np.float64) * 3.0
    for a in (x, x64, np.clip(x, -6e4, 6e4).astype(np.float16)):
        s = _swapped(a)
        assert not s.dtype.isnative and s.tolist() == a.tolist()
        assert np.array_equal(mxref.encode(s, "fp8_e4m3"), mxref.encode(a, "fp8_e4m3"))
        for f in ("mxfp8_e4m3", "mxfp4_e2m1", "mxint8"):
            q, r = mxref.quantize(s, f), mxref.quantize(a, f)
            assert np.array_equal(q.scales, r.scales) and np.array_equal(q.elements, r.elements)
        pos = np.abs(a) + a.dtype.type(1)
        assert np.array_equal(mxref.encode_e8m0(_swapped(pos)), mxref.encode_e8m0(pos))
        n1, n2 = ext.quantize_nvfp4(s), ext.quantize_nvfp4(a)
        assert np.array_equal(n1.scales, n2.scales) and np.array_equal(n1.elements, n2.elements)
    for kw in (dict(scale_mode="float"), dict(scale_mode="pot"), dict(scale_mode="float", asymmetric=True)):
        q1, q2 = mxqllm.quantize(_swapped(x), "int4", **kw), mxqllm.quantize(x, "int4", **kw)
        assert q1 == q2
    # the message used to list float32 as allowed while refusing '>f4'
    assert np.array_equal(mxref.linear(_swapped(x), x), mxref.linear(x, x))
    # bfloat16 in the other byte order, and raw bits in the other byte order
    b = x.astype(BF16)
    assert np.array_equal(mxref.encode(_swapped(b.view(np.uint16)).view(BF16.newbyteorder(">" if np.little_endian else "<")),
                                       "fp8_e4m3"), mxref.encode(b, "fp8_e4m3"))
    bits = b.view(np.uint16)
    assert np.array_equal(mxref.bfloat16_bits_to_float32(_swapped(bits)), mxref.bfloat16_bits_to_float32(bits))
    assert np.array_equal(mxref.unpack_elements(mxref.pack_elements(_swapped(bits & np.uint16(0xF)), "fp4"), "fp4", 64),
                          (bits & np.uint16(0xF)).astype(np.uint8))


def test_mxqllm_array_accepts_non_native_scales_exactly():
    q = mxqllm.quantize(_sample(), "fp8_e4m3", scale_mode="float")
    h = mxqllm.MXQLLMArray(q.element, q.block_size, q.axis, q.shape, q.scale_mode, False,
                           _swapped(q.scales), q.elements, options=q.options)
    assert h == q and h.scales.dtype == np.float32 and h.scales.dtype.isnative


# ----- §3 frozen arrays -------------------------------------------------------------------------


def test_mxarray_arrays_are_read_only_and_fields_checked_on_assignment():
    x = _sample()
    mx = mxref.quantize(x, "mxfp4_e2m1")
    for a in (mx.elements, mx.scales):
        assert not a.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            a[0, 0] = 200
    # an out-of-range code assigned as a whole new array is refused at once
    with pytest.raises(ValueError, match="elements holds 200"):
        mx.elements = np.full(mx.shape, 200, np.uint8)
    bad = np.zeros(mx.shape, np.uint8)
    bad[0, 0] = 16
    with pytest.raises(ValueError, match="outside the fp4_e2m1 codes"):
        mxref.MXArray(mx.format, 32, 1, mx.shape, mx.scales, bad)
    # the MXArray is unchanged by the refused assignment, and dot still works
    assert mx == mxref.quantize(x, "mxfp4_e2m1")
    r = mxref.quantize(x[0], "mxfp4_e2m1")
    assert mxref.dot(r, r) == mxref.dot(mxref.quantize(x[0], "mxfp4_e2m1"), r)
    # hand-built: the caller's arrays stay writable and later edits do not reach the MXArray
    el, sc = mx.elements.copy(), mx.scales.copy()
    h = mxref.MXArray(mx.format, 32, 1, mx.shape, sc, el, dict(mx.options))
    assert el.flags.writeable and sc.flags.writeable
    el[:] = 0xFF
    sc[:] = 0
    assert h == mx
    # a valid reassignment is checked and frozen too
    h.scales = np.full(mx.scales.shape, 127, np.uint8)
    assert not h.scales.flags.writeable and int(h.scales[0, 0]) == 127
    for c in (pickle.loads(pickle.dumps(mx)), copy.deepcopy(mx), copy.copy(mx)):
        assert c == mx and not c.elements.flags.writeable and not c.scales.flags.writeable


def test_ext_arrays_are_read_only():
    x = _sample()
    nv = ext.quantize_nvfp4(x)
    q = mxqllm.quantize(x, "int4", scale_mode="float", asymmetric=True)
    for a in (nv.elements, nv.scales, q.elements, q.scales, q.zero_points):
        assert not a.flags.writeable
    with pytest.raises(ValueError, match="E2M1"):
        nv.elements = np.full(nv.shape, 16, np.uint8)
    with pytest.raises(ValueError, match="positive finite"):
        q.scales = np.full(q.scales.shape, -1.0, np.float32)
    assert pickle.loads(pickle.dumps(nv)) == nv and pickle.loads(pickle.dumps(q)) == q


# ----- §5 block sizes beyond the axis ---------------------------------------------------------


@pytest.mark.parametrize("fmt", list(mxref.MX_FORMATS) + ["mxint4", "mxfp4_e3m0"])
def test_block_size_larger_than_the_axis_is_one_short_block(fmt):
    x = _sample()
    x[1, 3] = np.inf
    x[2, 7] = np.nan
    for dt in (np.float32, np.float64):
        xd = x.astype(dt)
        want = mxref.quantize(xd, fmt, block_size=64)  # the same computation: one block per row
        for k in (65, 10**7, 2**31):
            t = time.perf_counter()
            got = mxref.quantize(xd, fmt, block_size=k)
            assert time.perf_counter() - t < 2.0
            assert got.block_size == k and got.scales.shape == (4, 1)
            assert np.array_equal(got.scales, want.scales) and np.array_equal(got.elements, want.elements)
            assert np.array_equal(got.dequantize().view(np.uint32), want.dequantize().view(np.uint32))
            assert np.array_equal(got.dequantize(np.float16).view(np.uint16), want.dequantize(np.float16).view(np.uint16))
        # along axis 0 (length 4) too
        g0 = mxref.quantize(xd, fmt, axis=0, block_size=10**9)
        w0 = mxref.quantize(xd, fmt, axis=0, block_size=4)
        assert np.array_equal(g0.scales, w0.scales) and np.array_equal(g0.elements, w0.elements)
    # independently: the scalar reference on the row as one (short) block
    s, c = reference.quantize_block_scalar(x[0].tolist(), fmt)
    got = mxref.quantize(x, fmt, block_size=10**7)
    assert (int(got.scales[0, 0]), got.elements[0].tolist()) == (s, c)


def test_dequantize_and_dot_with_a_block_larger_than_the_axis():
    x = _sample((3, 50), seed=4)
    a = mxref.quantize(x[0], "mxfp8_e5m2", block_size=10**8)
    b = mxref.quantize(x[1], "mxfp6_e2m3", block_size=10**8)
    # the slow reference reads block i // block_size = 0 for every element
    ref = reference.mx_values_scalar(a)
    assert [Fraction(float(v)) for v in a.dequantize(np.float64)] == ref
    for acc in mxref.options.FLOAT32_ACCUMULATORS:
        want = reference.dot_scalar(a, b, accumulate=acc)
        got = mxref.dot(a, b, accumulate=acc)
        assert np.float32(got).view(np.uint32) == np.float32(want).view(np.uint32)
    assert mxref.dot(a, b, dtype="exact") == mxref.dot(mxref.quantize(x[0], "mxfp8_e5m2", block_size=50),
                                                       mxref.quantize(x[1], "mxfp6_e2m3", block_size=50), dtype="exact")
    A = mxref.quantize(x, "mxfp8_e4m3", axis=1, block_size=2**31)
    B = mxref.quantize(x.T.copy(), "mxint8", axis=0, block_size=2**31)
    A2 = mxref.quantize(x, "mxfp8_e4m3", axis=1, block_size=50)
    B2 = mxref.quantize(x.T.copy(), "mxint8", axis=0, block_size=50)
    for acc in mxref.options.FLOAT32_ACCUMULATORS:
        assert np.array_equal(mxref.matmul(A, B, accumulate=acc).view(np.uint32),
                              mxref.matmul(A2, B2, accumulate=acc).view(np.uint32))
    for kw in (dict(), dict(act_format="mxfp8_e4m3"), dict(weight_format=None)):
        assert np.array_equal(mxref.linear(x, x, block_size=10**9, **kw), mxref.linear(x, x, block_size=50, **kw))


def test_ext_block_size_larger_than_the_axis():
    x = _sample()
    for kw in (dict(), dict(per_tensor_scale="amax"), dict(arithmetic="float32")):
        want = ext.quantize_nvfp4(x, block_size=64, **kw)
        got = ext.quantize_nvfp4(x, block_size=10**7, **kw)
        assert got.block_size == 10**7
        assert np.array_equal(got.scales, want.scales) and np.array_equal(got.elements, want.elements)
        assert np.array_equal(got.dequantize(), want.dequantize())
    for fmt, kw in (("fp4", dict(scale_mode="float")), ("fp4", dict(scale_mode="pot", asymmetric=True)),
                    ("int4", dict(scale_mode="pot_r", asymmetric=True)), ("int8", dict(scale_mode="pot"))):
        want = mxqllm.quantize(x, fmt, block_size=64, **kw)
        got = mxqllm.quantize(x, fmt, block_size=10**7, **kw)
        assert got.block_size == 10**7 and np.array_equal(got.elements, want.elements)
        assert np.array_equal(got.scales, want.scales)
        assert np.array_equal(got.dequantize(), want.dequantize())


@pytest.mark.parametrize("k, exc", [(2**31 + 1, ValueError), (10**30, ValueError), (0, ValueError),
                                    (-3, ValueError), (True, TypeError), (32.0, TypeError)])
def test_absurd_block_sizes_are_refused(k, exc):
    x = np.ones((4, 64), np.float32)
    for f in (lambda: mxref.quantize(x, "mxfp8_e4m3", block_size=k),
              lambda: ext.quantize_nvfp4(x, block_size=k),
              lambda: mxqllm.quantize(x, "fp4", block_size=k),
              lambda: mxqllm.quantize(x, "fp4", scale_mode="float", block_size=k),
              lambda: mxref.MXFormat("m", mxref.fp8_e4m3, block_size=k),
              lambda: mxref.MXArray("mxfp8_e4m3", k, 0, (64,), np.zeros(1, np.uint8), np.zeros(64, np.uint8))):
        with pytest.raises(exc, match="block_size"):
            f()
    assert mxref.options.MAX_BLOCK_SIZE == 2**31


def test_ext_quantize_empty_blocked_axis_agrees_with_quantize():
    for shape, axis in (((3, 0), -1), ((0, 5), 0), ((2, 0, 4), 1)):
        x = np.ones(shape, np.float32)
        mx = mxref.quantize(x, "mxfp4", axis=axis)
        nv = ext.quantize_nvfp4(x, axis=axis)
        q1 = mxqllm.quantize(x, "fp4", axis=axis, scale_mode="float")
        q2 = mxqllm.quantize(x, "int4", axis=axis, scale_mode="float", asymmetric=True)
        for a in (nv, q1, q2):
            assert a.elements.shape == mx.elements.shape == shape
            assert a.scales.shape == mx.scales.shape
            assert a.dequantize().shape == shape


def test_dequantize_with_blocks_that_do_not_divide_the_chunk():
    # 30000 rows of two blocks of 3: the float32 path's chunks must hold whole blocks
    x = _sample((30000, 6), seed=2)
    mx = mxref.quantize(x, "mxfp8_e4m3", block_size=3)
    v = mxref.decode(mx.elements, "fp8_e4m3", dtype=np.float64)
    f = np.ldexp(1.0, mx.scales.astype(np.int64) - 127)
    want = (v.reshape(30000, 2, 3) * f[:, :, None]).reshape(30000, 6)  # exact in float64
    got = mx.dequantize()
    assert np.array_equal(got.astype(np.float64), want)


# ----- §6 exception types ---------------------------------------------------------------------


def test_masked_arrays_are_refused_everywhere():
    m = np.ma.masked_array(np.ones((2, 32), np.float32), mask=False)
    mc = np.ma.masked_array(np.zeros((2, 32), np.uint8), mask=False)
    x = np.ones((2, 32), np.float32)
    mx = mxref.quantize(x, "mxfp8_e4m3")
    calls = {
        "codes": lambda: mxref.decode(mc, "fp8_e4m3"),
        "x": lambda: mxref.encode(m, "fp8_e4m3"),
        "x ": lambda: mxref.quantize(m, "mxfp8_e4m3"),
        "x  ": lambda: mxref.encode_e8m0(m),
        "x   ": lambda: ext.quantize_nvfp4(m),
        "x    ": lambda: mxqllm.quantize(m, "fp4"),
        "data": lambda: mxref.unpack_elements(mc, "fp8_e4m3", 32),
        "data ": lambda: mxref.unswizzle_scales(mc, 2, 32, layout="row_major"),
        "scales": lambda: mxref.swizzle_scales(mc),
        "codes ": lambda: mxref.pack_elements(mc, "fp4"),
        "elements": lambda: mxref.MXArray(mx.format, 32, 1, mx.shape, mx.scales, mc),
        "scales ": lambda: mxref.MXArray(mx.format, 32, 1, mx.shape, np.ma.masked_array(mx.scales), mx.elements),
        "random_bits": lambda: mxref.quantize(x, "mxfp8_e4m3", rounding="stochastic", random_bits=mc,
                                              random_bit_count=8),
        "random_bits ": lambda: mxref.encode(x, "fp8_e4m3", rounding="stochastic", random_bits=mc,
                                             random_bit_count=8),
        "bits": lambda: mxref.bfloat16_bits_to_float32(np.ma.masked_array(np.zeros(2, np.uint16))),
        "w": lambda: mxref.linear(x, m),
    }
    for name, f in calls.items():
        with pytest.raises(TypeError, match=rf"^{name.strip()} is a numpy masked array.*\.filled"):
            f()


def test_mxformat_fields_are_checked():
    with pytest.raises(ValueError, match="block_size"):
        mxref.MXFormat("m", mxref.fp8_e4m3, block_size=0)  # was a ZeroDivisionError in quantize
    with pytest.raises(TypeError, match="block_size"):
        mxref.MXFormat("m", mxref.fp8_e4m3, block_size="32")
    with pytest.raises(ValueError, match="element must be an element format"):
        mxref.MXFormat("m", mxref.e8m0)
    with pytest.raises(ValueError, match="unknown element format"):
        mxref.MXFormat("m", "fp9")
    with pytest.raises(ValueError, match="scale must be E8M0"):
        mxref.MXFormat("m", mxref.fp8_e4m3, scale=mxref.fp8_e4m3)
    with pytest.raises(TypeError, match="name"):
        mxref.MXFormat(5, mxref.fp8_e4m3)
    f = mxref.MXFormat("m", "fp8_e4m3", block_size=np.int64(16))
    assert f.element is mxref.fp8_e4m3 and f.block_size == 16 and type(f.block_size) is int
    assert mxref.quantize(np.ones(32), f).scales.shape == (2,)


def test_array_options_must_be_a_dict_of_known_keys():
    mx = mxref.quantize(np.ones(32), "mxfp8_e4m3")
    args = (mx.format, 32, 0, (32,), mx.scales, mx.elements)
    with pytest.raises(TypeError, match="options must be a dict"):
        mxref.MXArray(*args, options="str")  # was an AttributeError in repr
    with pytest.raises(ValueError, match="unknown key 'bogus'"):
        mxref.MXArray(*args, options={"bogus": 1})
    with pytest.raises(ValueError, match="options\\['rounding'\\]"):
        mxref.MXArray(*args, options={"rounding": "nearest"})
    with pytest.raises(TypeError, match="options\\['flush_subnormals'\\] must be a bool"):
        mxref.MXArray(*args, options={"flush_subnormals": 1})
    with pytest.raises(ValueError, match="zero_scale"):
        mxref.MXArray(*args, options={"zero_scale": 255})
    opts = {"rounding": "ties_away"}
    h = mxref.MXArray(*args, options=opts)
    opts["rounding"] = "up"
    assert h.options == {"rounding": "ties_away"} and "rounding='ties_away'" in repr(h)
    nv = ext.quantize_nvfp4(np.ones(16))
    with pytest.raises(TypeError, match="NVFP4Array options must be a dict"):
        NVFP4Array(nv.shape, 0, nv.scales, nv.elements, options=["x"])
    with pytest.raises(ValueError, match="unknown key"):
        NVFP4Array(nv.shape, 0, nv.scales, nv.elements, options={"rounding": "rne"})
    q = mxqllm.quantize(np.ones(32, np.float32), "fp4")
    with pytest.raises(ValueError, match="options\\['arithmetic'\\]"):
        mxqllm.MXQLLMArray(q.element, 32, 0, (32,), "pot", False, q.scales, q.elements, options={"arithmetic": "f"})


def test_torch_tensors_numpy_cannot_take_are_type_errors():
    torch = pytest.importorskip("torch")
    bad = {
        "meta device": torch.empty(4, device="meta"),
        "sparse": torch.tensor([1.0, 0.0, 2.0]).to_sparse(),
        "float8": torch.tensor([1.0, 2.0]).to(torch.float8_e4m3fn),
    }
    for what, t in bad.items():
        for f in (lambda: mxref.encode(t, "fp8_e4m3"), lambda: mxref.quantize(t, "mxfp4")):
            with pytest.raises(TypeError, match="^x"):
                f()
    with pytest.raises(TypeError, match="^codes"):
        mxref.decode(torch.empty(4, dtype=torch.uint8, device="meta"), "fp8_e4m3")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qt = torch.quantize_per_tensor(torch.tensor([1.0, 2.0]), 0.1, 0, torch.quint8)
    with pytest.raises(TypeError, match="^x is a quantized torch tensor"):
        mxref.encode(qt, "fp8_e4m3")
    # lazy negative / conjugate views: read exactly (a complex tensor is then refused as complex)
    t = torch.tensor([1.0, -2.5, 0.375])
    assert mxref.encode(t._neg_view(), "fp8_e4m3").tolist() == mxref.encode(-t.numpy(), "fp8_e4m3").tolist()
    with pytest.raises(TypeError, match="^x must be a floating array"):
        mxref.encode(torch.tensor([1 + 1j]).conj(), "fp8_e4m3")


def test_decode_message_prints_the_right_hex():
    with pytest.raises(ValueError, match=r"1099511627776 \(0x10000000000\)"):
        mxref.decode(np.array([2**40], np.uint64), "fp8_e4m3")
    with pytest.raises(ValueError, match=r"-5 \(-0x5\)"):
        mxref.decode(np.array([-5], np.int64), "fp8_e4m3")
    with pytest.raises(ValueError, match=r"256 \(0x100\)"):
        mxref.decode(np.array([256], np.int32), "e8m0")


def test_unswizzle_pad_value_is_checked_as_in_swizzle():
    s = np.full((3, 5), 127, np.uint8)
    for pv in (256, 300):
        with pytest.raises(ValueError, match="pad_value must be a byte"):
            mxref.swizzle_scales(s, pad_value=pv)
        with pytest.raises(ValueError, match="pad_value must be a byte"):
            mxref.unswizzle_scales(np.zeros(512, np.uint8), 3, 5, pad_value=pv)
    with pytest.raises(ValueError, match="pad_value"):
        mxref.unswizzle_scales(np.zeros(512, np.uint8), 3, 5, pad_value=-1)
    d = mxref.swizzle_scales(s, pad_value=255)
    assert np.array_equal(mxref.unswizzle_scales(d, 3, 5, pad_value=255), s)
