"""Element packing and GEMM scale layouts (MX §5.1 / memory layout: outside the spec, see
docs/layouts.md).

Expected bytes come from the layout definitions: known answers worked out by hand below, and a
reference written here with Python integers (a bit stream is the integer sum(c_i << bits * i)
written little-endian), independent of mxref's vectorized code. The scale layout is checked
against a per-element index formula typed in here, offsets quoted in NVIDIA's nvmath-python docs,
and torchao's ``to_blocked``.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mxref
from mxref.formats import Format
from mxref.layout.packing import PACKING_ORDERS

from helpers import ELEMENTS

FORMATS = ELEMENTS + ["e8m0"]
CASES = [(f, o) for f in FORMATS for o in PACKING_ORDERS[mxref.element_format(f).bits]]


# ----- an independent reference, from the definitions --------------------------------------------


def ref_pack(codes, bits, order):
    """Bytes of one row of codes, straight from the layout definitions (Python ints)."""
    codes = [int(c) for c in codes]
    if order == "byte":
        return bytes(codes)
    if order == "high_first":  # byte j = c_2j in bits 4-7, c_2j+1 in bits 0-3
        padded = codes + [0] * (len(codes) % 2)
        return bytes((padded[2 * j] << 4) | padded[2 * j + 1] for j in range(len(padded) // 2))
    # "low_first" (4 bits) and "bitstream" (6 bits): code i in bits bits*i ... of a little-endian stream
    v = sum(c << (bits * i) for i, c in enumerate(codes))
    return v.to_bytes((bits * len(codes) + 7) // 8, "little")


# ----- known answers, by hand ---------------------------------------------------------------------


def test_fp4_known_answers():
    # codes [1, 2]: low_first puts code 0 in bits 0-3 -> 0x21; high_first in bits 4-7 -> 0x12
    assert mxref.pack_elements([1, 2], "fp4_e2m1").tolist() == [0x21]
    assert mxref.pack_elements([1, 2], "fp4_e2m1", order="high_first").tolist() == [0x12]
    # three codes [0xF, 0x0, 0xA]: the fourth nibble is zero padding
    assert mxref.pack_elements([0xF, 0x0, 0xA], "fp4_e2m1").tolist() == [0x0F, 0x0A]
    assert mxref.pack_elements([0xF, 0x0, 0xA], "fp4_e2m1", order="high_first").tolist() == [0xF0, 0xA0]
    assert mxref.unpack_elements(np.array([0x0F, 0x0A], np.uint8), "fp4_e2m1", 3).tolist() == [0xF, 0, 0xA]
    assert mxref.unpack_elements(np.array([0xF0, 0xA0], np.uint8), "fp4_e2m1", 3,
                                 order="high_first").tolist() == [0xF, 0, 0xA]


def test_fp6_bitstream_known_answers():
    # codes c0..c3 = 000001, 000010, 000011, 111111 fill bits 0-5, 6-11, 12-17, 18-23:
    #   byte 0 = bits 0-7   = c1 bits 0-1 (10)   | c0 (000001)          = 10000001 = 0x81
    #   byte 1 = bits 8-15  = c2 bits 0-3 (0011) | c1 bits 2-5 (0000)   = 00110000 = 0x30
    #   byte 2 = bits 16-23 = c3 (111111)        | c2 bits 4-5 (00)     = 11111100 = 0xFC
    assert mxref.pack_elements([1, 2, 3, 63], "fp6_e2m3").tolist() == [0x81, 0x30, 0xFC]
    # a fifth code 101010 starts the next word: byte 3 = 00 (padding) | 101010 = 0x2A
    assert mxref.pack_elements([1, 2, 3, 63, 0x2A], "fp6_e3m2").tolist() == [0x81, 0x30, 0xFC, 0x2A]
    # [111111, 000001]: 12 bits -> 2 bytes: 01 111111 = 0x7F, then 0000 (padding) 0000 = 0x00
    assert mxref.pack_elements([63, 1], "fp6_e2m3").tolist() == [0x7F, 0x00]
    # three all-ones codes: 18 one bits -> 0xFF, 0xFF, 0b00000011
    assert mxref.pack_elements([63, 63, 63], "fp6_e2m3").tolist() == [0xFF, 0xFF, 0x03]
    assert mxref.pack_elements([0x25], "fp6_e2m3").tolist() == [0x25]
    assert mxref.unpack_elements(np.array([0x81, 0x30, 0xFC], np.uint8), "fp6_e2m3", 4).tolist() == [1, 2, 3, 63]
    # one code per byte, low 6 bits
    assert mxref.pack_elements([1, 63], "fp6_e2m3", order="byte").tolist() == [1, 63]


def test_eight_bit_one_byte_each():
    for f in ("fp8_e4m3", "fp8_e5m2", "int8", "e8m0"):
        c = np.array([0x00, 0x7F, 0x80, 0xFF], np.uint8)
        assert mxref.pack_elements(c, f).tolist() == [0x00, 0x7F, 0x80, 0xFF]
        assert mxref.unpack_elements(c, f, 4).tolist() == [0x00, 0x7F, 0x80, 0xFF]


def test_orders_and_sizes_by_bits():
    assert mxref.packing_orders("fp4_e2m1") == ("low_first", "high_first")
    assert mxref.packing_orders("mxfp4") == ("low_first", "high_first")  # an MX format name works too
    assert mxref.packing_orders("fp6_e3m2") == ("bitstream", "byte")
    assert mxref.packing_orders("int8") == ("byte",)
    assert [mxref.packed_nbytes(n, "fp4_e2m1") for n in (0, 1, 2, 3, 32)] == [0, 1, 1, 2, 16]
    assert [mxref.packed_nbytes(n, "fp6_e2m3") for n in (0, 1, 2, 3, 4, 5, 32)] == [0, 1, 2, 3, 3, 4, 24]
    assert mxref.packed_nbytes(5, "fp6_e2m3", order="byte") == 5
    assert mxref.packed_nbytes(5, "fp8_e4m3") == 5
    # a format row that is not in the table packs by its bits alone
    other6 = Format("other6", 6, 3, 2, 3, "finite", None)
    codes = np.arange(64, dtype=np.uint8)
    assert mxref.pack_elements(codes, other6).tobytes() == ref_pack(codes, 6, "bitstream")


# ----- every format, order and length: the reference, and round trips -----------------------------


@st.composite
def rows_of_codes(draw):
    f, order = draw(st.sampled_from(CASES))
    bits = mxref.element_format(f).bits
    n = draw(st.integers(0, 70))
    lead = draw(st.sampled_from([(), (1,), (3,), (2, 2)]))
    flat = draw(st.lists(st.integers(0, (1 << bits) - 1), min_size=n * int(np.prod(lead)),
                         max_size=n * int(np.prod(lead))))
    dtype = draw(st.sampled_from([np.uint8, np.int16, np.int64, np.uint32]))
    return f, order, np.array(flat, dtype).reshape(lead + (n,))


@given(rows_of_codes())
def test_pack_matches_reference_and_round_trips(case):
    f, order, codes = case
    bits = mxref.element_format(f).bits
    before = codes.copy()
    packed = mxref.pack_elements(codes, f, order=order)
    n = codes.shape[-1]
    assert packed.dtype == np.uint8
    assert packed.shape == codes.shape[:-1] + (mxref.packed_nbytes(n, f, order=order),)
    for idx in np.ndindex(codes.shape[:-1]):
        assert packed[idx].tobytes() == ref_pack(codes[idx], bits, order)
    back = mxref.unpack_elements(packed, f, n, order=order)
    assert back.dtype == np.uint8 and back.shape == codes.shape
    np.testing.assert_array_equal(back, codes)
    np.testing.assert_array_equal(codes, before)  # the input is not modified


@given(st.sampled_from(CASES), st.binary(min_size=0, max_size=40))
def test_unpack_matches_reference_on_any_bytes(case, raw):
    # every byte string whose padding is zero decodes to the codes whose reference packing it is
    f, order = case
    bits = mxref.element_format(f).bits
    slot = 8 if order == "byte" else bits
    n = len(raw) * 8 // slot
    data = np.frombuffer(raw, np.uint8)
    ok = ref_pack([0] * n, bits, order)  # right length?
    if len(ok) != len(raw):
        with pytest.raises(ValueError, match="data's last axis"):
            mxref.unpack_elements(data, f, n, order=order)
        return
    codes = mxref.unpack_elements(data, f, n, order=order, check_padding=False)
    repacked = ref_pack(codes, bits, order)
    if repacked == raw:
        np.testing.assert_array_equal(mxref.unpack_elements(raw, f, n, order=order), codes)
    else:  # the bytes had non-zero padding bits
        with pytest.raises(ValueError, match="padding"):
            mxref.unpack_elements(data, f, n, order=order)


def test_nonzero_padding_is_reported():
    with pytest.raises(ValueError, match="padding"):
        mxref.unpack_elements(np.array([0x21], np.uint8), "fp4_e2m1", 1)  # code 1, padding nibble 2
    assert mxref.unpack_elements(np.array([0x21], np.uint8), "fp4_e2m1", 1, check_padding=False).tolist() == [1]
    with pytest.raises(ValueError, match="padding"):
        mxref.unpack_elements(np.array([0x7F, 0x10], np.uint8), "fp6_e2m3", 2)
    with pytest.raises(ValueError, match="padding"):
        mxref.unpack_elements(np.array([0x40], np.uint8), "fp6_e2m3", 1, order="byte")
    # check_padding=False ignores the padding bits: 0x41 = 01 000001 holds code 1
    assert mxref.unpack_elements(np.array([0x41], np.uint8), "fp6_e2m3", 1, order="byte",
                                 check_padding=False).tolist() == [1]


def test_bad_input():
    with pytest.raises(ValueError, match="codes holds 16"):
        mxref.pack_elements([1, 16], "fp4_e2m1")
    with pytest.raises(ValueError, match="codes holds 64"):
        mxref.pack_elements([64], "fp6_e3m2")
    with pytest.raises(ValueError, match="codes holds -1"):
        mxref.pack_elements(np.array([-1]), "fp8_e4m3")
    with pytest.raises(TypeError, match="codes must be an integer array"):
        mxref.pack_elements(np.array([1.0]), "fp4_e2m1")
    with pytest.raises(TypeError, match="codes must be an integer array"):
        mxref.pack_elements(np.array([True]), "fp4_e2m1")
    with pytest.raises(ValueError, match="at least one dimension"):
        mxref.pack_elements(np.uint8(1), "fp4_e2m1")
    with pytest.raises(ValueError, match="order must be one of 'low_first', 'high_first'"):
        mxref.pack_elements([1], "fp4_e2m1", order="bitstream")
    with pytest.raises(ValueError, match="order must be one of 'bitstream', 'byte'"):
        mxref.pack_elements([1], "fp6_e2m3", order="low_first")
    with pytest.raises(ValueError, match="order must be one of 'byte'"):
        mxref.unpack_elements(np.zeros(1, np.uint8), "fp8_e4m3", 1, order="high_first")
    with pytest.raises(ValueError, match="fmt"):
        mxref.pack_elements([1], "fp5")
    with pytest.raises(TypeError, match="data must be a uint8 array"):
        mxref.unpack_elements(np.zeros(1, np.int16), "fp4_e2m1", 2)
    with pytest.raises(ValueError, match="too short"):
        mxref.unpack_elements(np.zeros(2, np.uint8), "fp6_e2m3", 4)
    with pytest.raises(ValueError, match="must hold 1 bytes"):
        mxref.unpack_elements(np.zeros(2, np.uint8), "fp4_e2m1", 2)
    with pytest.raises(ValueError, match="count must be >= 0"):
        mxref.unpack_elements(np.zeros(1, np.uint8), "fp4_e2m1", -1)
    with pytest.raises(TypeError, match="count must be an int"):
        mxref.unpack_elements(np.zeros(1, np.uint8), "fp4_e2m1", 2.0)
    with pytest.raises(TypeError, match="check_padding"):
        mxref.unpack_elements(np.zeros(1, np.uint8), "fp4_e2m1", 2, check_padding="no")


def test_outputs_do_not_alias_inputs():
    c = np.array([1, 2, 3], np.uint8)
    p = mxref.pack_elements(c, "fp8_e4m3")
    p[0] = 9
    assert c[0] == 1
    d = np.array([1, 2, 3], np.uint8)
    u = mxref.unpack_elements(d, "int8", 3)
    u[0] = 9
    assert d[0] == 1


def test_fp4_low_first_equals_torchao_pack_uint4():
    # torchao >= 0.15 packs FP4 low nibble first (docs/layouts.md)
    pytest.importorskip("torch")
    kernels = pytest.importorskip("torchao.prototype.mx_formats.kernels")
    import torch

    rng = np.random.default_rng(4)
    codes = rng.integers(0, 16, size=(5, 64), dtype=np.uint8)
    theirs = kernels.pack_uint4(torch.from_numpy(codes)).numpy()
    np.testing.assert_array_equal(mxref.pack_elements(codes, "fp4_e2m1"), theirs)
    back = kernels.unpack_uint4(torch.from_numpy(theirs)).numpy()
    np.testing.assert_array_equal(mxref.unpack_elements(theirs, "fp4_e2m1", 64), back)


def test_fp6_byte_order_is_ml_dtypes_storage():
    # ml_dtypes stores an FP6 value in the low 6 bits of a byte: the "byte" order
    ml_dtypes = pytest.importorskip("ml_dtypes")
    for f, dt in (("fp6_e2m3", ml_dtypes.float6_e2m3fn), ("fp6_e3m2", ml_dtypes.float6_e3m2fn)):
        codes = np.arange(64, dtype=np.uint8)
        stored = mxref.decode(codes, f).astype(dt).view(np.uint8)
        np.testing.assert_array_equal(mxref.pack_elements(codes, f, order="byte"), stored)


# ----- GEMM scale layout ---------------------------------------------------------------------------


def ref_cublas_offset(r, c, k_blocks):
    """Byte offset of scale (r, c) in the cuBLAS / CUTLASS 128x4 layout, per element: tiles of
    128 rows x 4 columns, 512 bytes each, K-tiles fastest; inside a tile row r lives in line
    r % 32 (16 bytes), at column group r // 32 (4 bytes), then c."""
    tiles_per_row = -(-k_blocks // 4)
    tile = (r // 128) * tiles_per_row + c // 4
    rr, cc = r % 128, c % 4
    return tile * 512 + (rr % 32) * 16 + (rr // 32) * 4 + cc


@given(st.integers(0, 260), st.integers(0, 9), st.integers(0, 255))
def test_swizzle_matches_index_formula(rows, k_blocks, seed):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 256, size=(rows, k_blocks), dtype=np.uint8)
    out = mxref.swizzle_scales(s)
    n = -(-rows // 128) * -(-k_blocks // 4) * 512
    assert out.shape == (n,) and out.dtype == np.uint8
    assert mxref.swizzled_nbytes(rows, k_blocks) == n
    expect = np.zeros(n, np.uint8)  # padding is 0
    for r in range(rows):
        for c in range(k_blocks):
            expect[ref_cublas_offset(r, c, k_blocks)] = s[r, c]
    np.testing.assert_array_equal(out, expect)
    np.testing.assert_array_equal(mxref.unswizzle_scales(out, rows, k_blocks), s)


def test_swizzle_known_offsets():
    # nvmath-python docs, get_block_scale_offset: NVFP4 operand a of shape (M=128, K=128), one
    # scale per 16 elements along K (8 K-groups): scale (row 5, K-group 2) is at offset 82 and
    # (row 5, K-group 5) at 593.
    s = np.zeros((128, 8), np.uint8)
    s[5, 2], s[5, 5] = 1, 2
    out = mxref.swizzle_scales(s)
    assert out[82] == 1 and out[593] == 2 and np.count_nonzero(out) == 2
    # more, by hand from the layout: (1, 0) -> 16; (32, 0) -> 4; (0, 1) -> 1; (127, 3) -> 31*16 +
    # 3*4 + 3 = 511; (128, 0) with 2 tiles per tile row -> 2 * 512 = 1024
    s = np.zeros((256, 8), np.uint8)
    for v, (r, c) in enumerate([(1, 0), (32, 0), (0, 1), (127, 3), (128, 0)], start=1):
        s[r, c] = v
    out = mxref.swizzle_scales(s)
    assert [out[i] for i in (16, 4, 1, 511, 1024)] == [1, 2, 3, 4, 5]


def test_swizzle_batch_padding_and_row_major():
    rng = np.random.default_rng(1)
    s = rng.integers(0, 255, size=(2, 3, 130, 5), dtype=np.uint8)
    out = mxref.swizzle_scales(s, pad_value=0xFF)
    assert out.shape == (2, 3, 2 * 2 * 512)
    for i, j in np.ndindex(2, 3):  # each matrix of the leading axes is its own buffer
        np.testing.assert_array_equal(out[i, j], mxref.swizzle_scales(s[i, j], pad_value=0xFF))
    assert (out == 0xFF).sum() == 2 * 3 * (2 * 2 * 512 - 130 * 5)  # s holds no 0xFF
    np.testing.assert_array_equal(mxref.unswizzle_scales(out, 130, 5, pad_value=0xFF), s)
    with pytest.raises(ValueError, match="padding"):
        mxref.unswizzle_scales(out, 130, 5)  # padding 0xFF, expected 0
    np.testing.assert_array_equal(mxref.unswizzle_scales(out, 130, 5, check_padding=False), s)
    flat = mxref.swizzle_scales(s, layout="row_major")
    np.testing.assert_array_equal(flat, s.reshape(2, 3, -1))
    np.testing.assert_array_equal(mxref.unswizzle_scales(flat, 130, 5, layout="row_major"), s)
    assert mxref.swizzled_nbytes(130, 5, layout="row_major") == 650


def test_swizzle_bad_input():
    s = np.zeros((4, 4), np.uint8)
    with pytest.raises(TypeError, match="scales must be a uint8"):
        mxref.swizzle_scales(s.astype(np.int32))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        mxref.swizzle_scales(np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="layout must be one of"):
        mxref.swizzle_scales(s, layout="cutlass_mn")
    with pytest.raises(ValueError, match="pad_value"):
        mxref.swizzle_scales(s, pad_value=256)
    with pytest.raises(ValueError, match="must hold 512 bytes"):
        mxref.unswizzle_scales(np.zeros(511, np.uint8), 4, 4)
    with pytest.raises(ValueError, match="padding"):
        mxref.unswizzle_scales(np.ones(512, np.uint8), 4, 4)  # wrong rows: the rest is not padding
    with pytest.raises(TypeError, match="data must be a uint8"):
        mxref.unswizzle_scales(np.zeros(512, np.int8), 4, 4)
    with pytest.raises(ValueError, match="rows must be >= 0"):
        mxref.unswizzle_scales(np.zeros(512, np.uint8), -1, 4)


def test_swizzle_equals_torchao_to_blocked():
    torch = pytest.importorskip("torch")
    utils = pytest.importorskip("torchao.prototype.mx_formats.utils")
    rng = np.random.default_rng(2)
    for rows, k_blocks in [(128, 4), (1, 1), (130, 5), (256, 8), (300, 13), (64, 2)]:
        s = rng.integers(0, 256, size=(rows, k_blocks), dtype=np.uint8)
        theirs = utils.to_blocked(torch.from_numpy(s)).numpy()
        np.testing.assert_array_equal(mxref.swizzle_scales(s), theirs.reshape(-1))
        if hasattr(utils, "from_blocked"):
            back = utils.from_blocked(torch.from_numpy(theirs), rows, k_blocks).numpy()
            np.testing.assert_array_equal(mxref.unswizzle_scales(theirs, rows, k_blocks), back)


def test_two_bit_codes_known_answers_and_round_trip():
    """INT2 (an extension format): four codes per byte, code 0 in bits 0-1, typed from the layout:
    [1, 2, 3, 0] -> 0b00_11_10_01 = 0x39; a fifth code 3 alone -> 0x03 (padding bits zero)."""
    c = np.array([[1, 2, 3, 0, 3]], np.uint8)
    p = mxref.pack_elements(c, "int2")
    assert p.tolist() == [[0x39, 0x03]]
    assert mxref.pack_elements(c, "int2", order="byte").tolist() == c.tolist()
    assert mxref.unpack_elements(p, "int2", 5).tolist() == c.tolist()
    with pytest.raises(ValueError, match="padding"):
        mxref.unpack_elements(np.array([[0x39, 0x0F]], np.uint8), "int2", 5)
    rng = np.random.default_rng(3)
    for n in range(0, 13):
        codes = rng.integers(0, 4, (2, n)).astype(np.uint8)
        assert np.array_equal(mxref.unpack_elements(mxref.pack_elements(codes, "int2"), "int2", n), codes)
    x = rng.standard_normal((3, 40)).astype(np.float32)
    mx = mxref.quantize(x, "mxint2")
    assert mxref.pack_elements(mx.elements, "int2").shape == (3, 10)
