"""Fuzzing the file readers (issue 12 §9): arbitrary bytes and arbitrary JSON into
:func:`mxref.load`, arbitrary arrays and mappings into :func:`mxref.from_gpt_oss`, random bytes
and random headers into :func:`mxref.load_safetensors`.

Whatever the input, only ValueError or TypeError may come out (anything else -- KeyError,
IndexError, RecursionError, MemoryError, a library's own exception -- is a bug), a reader that
succeeds returns what it promises, and no input is modified. Examples are bounded (200 each) so
the file runs in seconds under the ci profile."""

import io
import json
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mxref
from mxref.layout.serialization import OPTION_VALUES

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALLOWED = (ValueError, TypeError)


def _saved(mx) -> bytes:
    buf = io.BytesIO()
    mx.save(buf)
    return buf.getvalue()


VALID = [
    _saved(mxref.quantize(np.linspace(-3, 3, 3 * 45).reshape(3, 45), "mxfp4_e2m1")),
    _saved(mxref.quantize(np.linspace(-1, 1, 40), "mxfp6_e3m2", block_size=7, scale_rule="rceil")),
    _saved(mxref.quantize(np.arange(12.0).reshape(2, 6), "mxint4", axis=0)),
]


def _members(raw: bytes) -> dict:
    with np.load(io.BytesIO(raw), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _npz(members: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **members)
    return buf.getvalue()


def _load(data: bytes):
    """mxref.load on a file holding ``data``: the MXArray, or None for a ValueError / TypeError.
    The file's bytes are unchanged afterwards."""
    f = io.BytesIO(data)
    try:
        out = mxref.load(f)
    except ALLOWED:
        out = None
    assert f.getvalue() == data
    if out is not None:
        assert isinstance(out, mxref.MXArray)
        assert out.elements.dtype == np.uint8 and out.elements.shape == out.shape
    return out


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON = st.recursive(JSON_SCALARS, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                    max_leaves=12)
OPTION_DICTS = st.dictionaries(st.sampled_from(list(OPTION_VALUES) + ["source", ""]),
                               JSON_SCALARS | st.sampled_from(["rne", "floor", "nan_scale", "clamp"]),
                               max_size=5)
JSON_TEXT = st.one_of(
    JSON.map(json.dumps), OPTION_DICTS.map(json.dumps), st.text(max_size=60),
    st.integers(1, 4000).map(lambda d: "[" * d + "]" * d),          # nested past any recursion limit
    st.integers(1, 4000).map(lambda d: '{"a":' * d + "0" + "}" * d),
    st.integers(1, 6000).map(lambda n: '{"zero_scale": 1' + "0" * n + "}"),
)


@FUZZ
@given(st.one_of(st.binary(max_size=4096), st.binary(max_size=600).map(lambda b: b"PK\x03\x04" + b),
                 st.binary(max_size=600).map(lambda b: b"\x93NUMPY" + b)))
def test_load_arbitrary_bytes(data):
    assert _load(data) is None  # no such bytes are an mxref file


@FUZZ
@given(st.sampled_from(VALID), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
       st.none() | st.integers(0, 10**6))
def test_load_mutated_files(raw, flips, cut):
    data = bytearray(raw)
    for pos, byte in flips:
        data[pos % len(data)] = byte
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    out = _load(bytes(data))
    if bytes(data) == raw:
        assert out is not None and mxref.load(io.BytesIO(raw)) == out


@FUZZ
@given(st.sampled_from(VALID), JSON_TEXT)
def test_load_arbitrary_json_options(raw, text):
    m = _members(raw)
    m["options"] = np.array(text)
    out = _load(_npz(m))
    if out is not None:  # accepted: a flat object of known options with allowed values
        assert out.options == json.loads(text)
        assert set(out.options) <= set(OPTION_VALUES)


STRING_MEMBERS = ("mxref_file", "format_name", "element", "scale", "format_spec", "element_order")
INT_MEMBERS = ("version", "format_block_size", "block_size", "axis")
NAMES = st.sampled_from(["mxarray", "mxfp4_e2m1", "mxint4", "mxint2", "mxfp4", "fp4_e2m1", "int4", "int2",
                         "e8m0", "fp8_e4m3", "low_first", "bitstream", "byte", ""])
ANY_ARRAY = hnp.arrays(st.sampled_from([np.int64, np.uint8, np.float64, np.bool_, np.dtype("<U3"), np.dtype(">i4")]),
                       hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))


@FUZZ
@given(st.sampled_from(VALID),
       st.fixed_dictionaries({}, optional={
           **{k: (NAMES | st.text(max_size=30)).map(np.array) | JSON.map(json.dumps).map(np.array) for k in STRING_MEMBERS},
           **{k: st.integers(-2**63, 2**63 - 1).map(np.array) for k in INT_MEMBERS},
           "shape": hnp.arrays(np.int64, st.integers(0, 3), elements=st.integers(-3, 2**62)) | ANY_ARRAY,
           "scales": ANY_ARRAY, "elements": ANY_ARRAY}))
def test_load_arbitrary_members(raw, change):
    m = _members(raw)
    before = {k: v.copy() for k, v in change.items()}
    m.update(change)
    _load(_npz(m))
    for k, v in change.items():
        assert v.dtype == before[k].dtype and v.tobytes() == before[k].tobytes()


# ----- from_gpt_oss ------------------------------------------------------------------------------

BYTE_ARRAYS = st.one_of(
    hnp.arrays(np.uint8, hnp.array_shapes(min_dims=0, max_dims=4, max_side=4)),
    hnp.arrays(st.sampled_from([np.int8, np.uint16, np.float32, np.float64, np.bool_, np.dtype("<U2")]),
               hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)),
    st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(-300, 300), max_size=5),
    st.lists(st.lists(st.integers(0, 255), max_size=3), max_size=3), JSON,
)


@st.composite
def gpt_oss_pair(draw):
    """Mostly well-formed pairs (so that the decoder runs), some of any shape and type."""
    lead = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
    g = draw(st.integers(0, 3))
    blocks = draw(hnp.arrays(np.uint8, lead + (g, 16)) | BYTE_ARRAYS)
    scales = draw(hnp.arrays(np.uint8, lead + (g,)) | BYTE_ARRAYS)
    return blocks, scales


def _snapshot(x):
    return (x.dtype, x.shape, x.tobytes()) if isinstance(x, np.ndarray) else repr(x)


@FUZZ
@given(gpt_oss_pair(), st.sampled_from([".", "_"]), st.booleans(), st.text(max_size=4))
def test_from_gpt_oss_arbitrary_tensors(pair, sep, drop_one, extra_key):
    blocks, scales = pair
    tensors = {"w" + sep + "blocks": blocks, "w" + sep + "scales": scales, extra_key: blocks}
    if drop_one:
        del tensors["w" + sep + "scales"]
    before = {k: _snapshot(v) for k, v in tensors.items()}
    keys = list(tensors)
    try:
        mx = mxref.from_gpt_oss(tensors, "w", sep=sep)
    except ALLOWED:
        mx = None
    assert list(tensors) == keys and {k: _snapshot(v) for k, v in tensors.items()} == before
    if mx is not None:
        assert mx.format is mxref.MX_FORMATS["mxfp4_e2m1"] and mx.options == {}
        assert not np.shares_memory(mx.scales, scales)
        back = mxref.to_gpt_oss(mx, "w", sep=sep)
        np.testing.assert_array_equal(back["w" + sep + "blocks"], blocks)
        np.testing.assert_array_equal(back["w" + sep + "scales"], scales)


@FUZZ
@given(st.one_of(st.dictionaries(st.text(max_size=8), BYTE_ARRAYS, max_size=3), BYTE_ARRAYS, JSON),
       st.one_of(st.text(max_size=6), st.none(), st.integers()), st.one_of(st.text(max_size=2), st.none()))
def test_from_gpt_oss_arbitrary_arguments(tensors, name, sep):
    before = repr(tensors)
    with pytest.raises(ALLOWED):
        mxref.from_gpt_oss(tensors, name, sep=sep)
    assert repr(tensors) == before


# ----- load_safetensors --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def st_dir(tmp_path_factory):
    pytest.importorskip("safetensors.numpy")
    return tmp_path_factory.mktemp("fuzz_safetensors")


ST_DTYPES = st.sampled_from(["U8", "I8", "F32", "BF16", "F8_E8M0", "F4", "BOOL", "X", ""])
ST_HEADERS = st.one_of(
    JSON,
    st.dictionaries(st.sampled_from(["w.blocks", "w.scales", "b", "__metadata__"]),
                    st.fixed_dictionaries({"dtype": ST_DTYPES,
                                           "shape": st.lists(st.integers(-1, 40), max_size=3),
                                           "data_offsets": st.lists(st.integers(-1, 80), min_size=0, max_size=3)})
                    | JSON, max_size=3),
)


@FUZZ
@given(st.one_of(st.binary(max_size=2048),
                 st.tuples(ST_HEADERS, st.binary(max_size=80), st.integers(-8, 8)).map(
                     lambda t: (lambda h: struct.pack("<Q", max(0, len(h) + t[2])) + h + t[1])(json.dumps(t[0]).encode()))))
def test_load_safetensors_arbitrary_bytes(st_dir, data):
    path = st_dir / "f.safetensors"
    path.write_bytes(data)
    try:
        out = mxref.load_safetensors(path)
    except ALLOWED:
        out = None
    assert path.read_bytes() == data
    if out is not None:
        assert isinstance(out, dict)
        assert all(isinstance(v, (mxref.MXArray, np.ndarray)) for v in out.values())
