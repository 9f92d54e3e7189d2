"""Fuzz the core readers (issue 12, §9): arbitrary bytes, arrays of any dtype, shape and byte
order, masked arrays and Python objects into ``decode``, ``unpack_elements``,
``unswizzle_scales`` and ``MXArray(...)``. Only TypeError / ValueError may come out, no input
is ever modified, and an MXArray that was accepted dequantizes (and dots) without error.

Bounded: 200 examples per test (the ci profile keeps its derandomized seed)."""

import ml_dtypes
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mxref

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                         HealthCheck.data_too_large])
BF16 = np.dtype(ml_dtypes.bfloat16)

_KINDS = ("u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f2", "f4", "f8", "c8", "b1")
DTYPES = [np.dtype(k).newbyteorder(o) for k in _KINDS for o in "<>"] + [np.dtype("S3"), np.dtype("U2"), np.dtype("M8[s]")]
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6)


@st.composite
def arrays(draw, dtypes=st.sampled_from(DTYPES), shapes=SHAPES):
    if draw(st.integers(0, 9)) == 0:  # bfloat16, in either byte order, from raw bits
        bits = draw(hnp.arrays(np.uint16, shapes))
        a = bits.view(BF16)
        if draw(st.booleans()):
            a = a.view(BF16.newbyteorder(">" if np.little_endian else "<"))
    else:
        a = draw(hnp.arrays(draw(dtypes), shapes))
    how = draw(st.integers(0, 4))
    if how == 1 and a.ndim >= 1:
        a = a[::2]  # a strided view
    elif how == 2:
        a = a.T
    elif how == 3:
        a.setflags(write=False)
    elif how == 4:
        a = np.ma.masked_array(a, mask=draw(hnp.arrays(np.bool_, a.shape)))
    return a


def inputs():
    return st.one_of(
        arrays(),
        arrays(dtypes=st.just(np.dtype(np.uint8))),
        st.binary(max_size=64),
        st.binary(max_size=64).map(bytearray),
        st.integers(-(2**70), 2**70),
        st.floats(),
        st.lists(st.integers(-300, 300), max_size=8),
        st.none(),
        st.text(max_size=4),
    )


FMTS = st.sampled_from(["fp8_e4m3", "fp8_e5m2", "fp6_e2m3", "fp6_e3m2", "fp4_e2m1", "int8", "e8m0",
                        "int4", "int2", "fp4_e3m0", "mxfp4", "float32", "fp9", "", 3, None, b"fp4"])
INTS = st.one_of(st.integers(-5, 40), st.integers(-(2**70), 2**70), st.sampled_from([True, 2.0, "3", None]))


def _snapshot(x):
    if isinstance(x, np.ma.MaskedArray):
        return ("ma", _snapshot(np.asarray(x.data)), np.ma.getmaskarray(x).tobytes())
    if isinstance(x, np.ndarray):
        return ("nd", x.dtype.str, x.shape, x.strides, x.flags.writeable, x.tobytes())
    if isinstance(x, (bytearray, list)):
        return (type(x).__name__, bytes(x) if isinstance(x, bytearray) else repr(x))
    return ("obj", repr(x))


def _call(f, *args, **kw):
    """f(*args, **kw); only TypeError / ValueError may escape, and no argument may change."""
    before = [_snapshot(a) for a in args] + [_snapshot(v) for v in kw.values()]
    try:
        out = f(*args, **kw)
    except (TypeError, ValueError) as exc:
        assert str(exc)  # a message, not a bare exception
        out = None
    after = [_snapshot(a) for a in args] + [_snapshot(v) for v in kw.values()]
    assert after == before, "an input was modified"
    return out


@FUZZ
@given(codes=inputs(), fmt=FMTS,
       dtype=st.sampled_from([np.float32, np.float64, ">f4", "<f8", np.float16, "int8", "junk", None, BF16]))
def test_fuzz_decode(codes, fmt, dtype):
    out = _call(mxref.decode, codes, fmt, dtype)
    if out is not None:
        assert out.dtype.kind == "f" and out.shape == np.shape(np.asarray(codes))


ORDERS = st.sampled_from([None, None, "low_first", "high_first", "bitstream", "byte", "junk", 3])
VALID_FMTS = st.sampled_from(["fp8_e4m3", "fp6_e2m3", "fp6_e3m2", "fp4_e2m1", "int8", "int4", "int2", "e8m0"])


@st.composite
def near_valid_packed(draw):
    """Bytes of the right length for a format and count (arbitrary bits), or anything."""
    fmt, count, order = draw(VALID_FMTS), draw(st.integers(0, 13)), draw(ORDERS)
    try:
        n = mxref.packed_nbytes(count, fmt, order=order)
    except (TypeError, ValueError):
        n = draw(st.integers(0, 12))
    lead = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
    data = draw(hnp.arrays(np.uint8, lead + (n + draw(st.sampled_from([0, 0, 0, 1, -1])) * (n > 0),)))
    if draw(st.booleans()):  # zero padding bits: the check passes more often
        data = data & np.uint8(draw(st.sampled_from([0x0F, 0x3F, 0x03, 0xFF])))
    return dict(data=data, fmt=fmt, count=count, order=order,
                check_padding=draw(st.sampled_from([True, False, 1, None, np.bool_(True)])))


@st.composite
def any_unpack_args(draw):
    return dict(data=draw(inputs()), fmt=draw(FMTS), count=draw(INTS), order=draw(ORDERS),
                check_padding=draw(st.sampled_from([True, False, 1, None, np.bool_(True)])))


@FUZZ
@given(kw=st.one_of(near_valid_packed(), any_unpack_args()))
def test_fuzz_unpack_elements(kw):
    data, fmt, count, order, check_padding = (kw[k] for k in ("data", "fmt", "count", "order", "check_padding"))
    out = _call(mxref.unpack_elements, data, fmt, count, order=order, check_padding=check_padding)
    if out is not None:
        assert out.dtype == np.uint8 and out.shape[-1] == count
        bits = mxref.formats.element_format(fmt).bits if fmt != "mxfp4" else 4
        assert out.size == 0 or int(out.max()) < (1 << bits)


LAYOUTS = st.sampled_from(["cublas", "cublas", "row_major", "junk", None])


@st.composite
def unswizzle_args(draw):
    layout = draw(LAYOUTS)
    pad_value = draw(st.one_of(st.sampled_from([0, 0, 255, 127]), st.integers(-2, 300),
                               st.sampled_from([None, 1.5, True])))
    check_padding = draw(st.sampled_from([True, True, False, "yes"]))
    if draw(st.booleans()):
        rows, k_blocks = draw(st.integers(0, 140)), draw(st.integers(0, 9))
        try:
            n = mxref.swizzled_nbytes(rows, k_blocks, layout=layout)
        except (TypeError, ValueError):
            n = 512
        lead = draw(hnp.array_shapes(min_dims=0, max_dims=1, min_side=0, max_side=2))
        if draw(st.booleans()):  # padding that holds pad_value: the check can pass
            pv = pad_value if isinstance(pad_value, int) and 0 <= pad_value <= 255 else 0
            data = np.full(lead + (n,), pv, np.uint8)
        else:
            data = draw(hnp.arrays(np.uint8, lead + (n,)))
    else:
        data, rows, k_blocks = draw(inputs()), draw(INTS), draw(INTS)
    return dict(data=data, rows=rows, k_blocks=k_blocks, layout=layout, check_padding=check_padding,
                pad_value=pad_value)


@FUZZ
@given(kw=unswizzle_args())
def test_fuzz_unswizzle_scales(kw):
    data, rows, k_blocks, layout, check_padding, pad_value = (
        kw[k] for k in ("data", "rows", "k_blocks", "layout", "check_padding", "pad_value"))
    out = _call(mxref.unswizzle_scales, data, rows, k_blocks, layout=layout, check_padding=check_padding,
                pad_value=pad_value)
    if out is not None:
        assert out.dtype == np.uint8 and out.shape[-2:] == (rows, k_blocks)


MX_FMTS = st.sampled_from(list(mxref.MX_FORMATS) + ["mxint4", "mxint2", "mxfp4_e3m0", "fp8_e4m3", "junk", 7])


@st.composite
def mxarray_args(draw):
    """Near-valid pieces (right shapes, arbitrary codes, sometimes the wrong dtype or shape) or
    arbitrary ones."""
    fmt = draw(st.one_of(st.sampled_from(list(mxref.MX_FORMATS) + ["mxint4", "mxint2", "mxfp4_e3m0"]), MX_FMTS))
    k = draw(st.one_of(st.integers(1, 8), st.integers(1, 8),
                       st.sampled_from([32, 2**31, 2**31 + 1, 0, -1, 10**30, True, 2.0])))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=9))
    axis = draw(st.one_of(st.integers(-len(shape), len(shape) - 1), st.integers(-len(shape) - 1, len(shape))))
    if draw(st.integers(0, 3)) == 0:
        return dict(format=fmt, block_size=k, axis=axis, shape=draw(st.one_of(st.just(shape), inputs())),
                    scales=draw(inputs()), elements=draw(inputs()), options=draw(st.sampled_from(
                        [{}, "str", None, {"rounding": "rne"}, {"bogus": 1}, {"zero_scale": 300}, [("a", 1)]])))
    ax = axis % len(shape) if -len(shape) <= axis < len(shape) else 0
    nb = -(-shape[ax] // k) if isinstance(k, int) and k > 0 else 1
    sshape = shape[:ax] + (nb,) + shape[ax + 1:]
    el_dt = draw(st.sampled_from([np.dtype(np.uint8)] * 6 + [np.dtype(">u2"), np.dtype(np.int8)]))
    elements = draw(hnp.arrays(el_dt, shape))
    if draw(st.booleans()):  # codes mostly inside the format (narrow formats accept them then)
        elements = elements & np.array(draw(st.sampled_from([0x03, 0x0F, 0x3F, 0x7F])), el_dt)
    scales = draw(hnp.arrays(np.uint8, draw(st.sampled_from([sshape] * 5 + [shape]))))
    if draw(st.integers(0, 5)) == 0:
        elements = np.ma.masked_array(elements)
    if draw(st.booleans()):
        elements.setflags(write=False)
    return dict(format=fmt, block_size=k, axis=axis, shape=shape, scales=scales, elements=elements,
                options={})


@FUZZ
@given(kw=mxarray_args())
def test_fuzz_mxarray_construction(kw):
    mx = _call(lambda **a: mxref.MXArray(**a), **kw)
    if mx is None:
        return
    # accepted: frozen, and every use works (no IndexError, no silent garbage types)
    assert not mx.elements.flags.writeable and not mx.scales.flags.writeable
    if isinstance(kw["elements"], np.ndarray) and kw["elements"].flags.writeable:
        assert not np.shares_memory(mx.elements, kw["elements"])
    v = mx.dequantize()
    assert v.shape == mx.shape and v.dtype == np.float32
    repr(mx)
    if len(mx.shape) == 1:
        d = mxref.dot(mx, mx)
        assert isinstance(d, np.float32)
