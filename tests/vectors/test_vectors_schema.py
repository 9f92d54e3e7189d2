"""mxref.vectors.schema, the public API of the spec_vectors layout (the generator, the verifier
and the conformance checker's adapter read it): round trips and the committed set through it."""

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from mxref.reference import layout as ref_layout
from mxref.vectors import schema

VEC = Path(__file__).resolve().parents[2] / "spec_vectors"


def test_dtypes_and_file_arrays_of_the_committed_set():
    assert schema.dtype_name(np.uint8) == "|u1" and schema.dtype_name(np.dtype(">u4")) == "<u4"
    with pytest.raises(KeyError):
        schema.dtype_name(np.int64)
    m = schema.read_manifest(VEC)
    by_path = {e["path"]: e for e in m["files"]}
    codes = schema.file_array(VEC, by_path["decode/fp8_e4m3.codes.u8"])
    assert codes.dtype == np.uint8 and codes.tolist() == list(range(256))
    vals = schema.file_array(VEC, by_path["decode/fp8_e4m3.f32.u32"]).view(np.float32)
    assert vals[0x7E] == 448.0
    with pytest.raises(ValueError, match="not an array"):
        schema.file_array(VEC, by_path["text/mx.tv"])
    with pytest.raises(ValueError, match="not a plain relative path"):
        schema.file_array(VEC, dict(by_path["decode/fp8_e4m3.codes.u8"], path="../x.u8"))
    sums, problems = schema.read_sums(VEC)
    assert problems == [] and set(sums) == set(by_path)


def test_hex_rationals_round_trip():
    for v in (Fraction(0), Fraction(-435, 4096), Fraction(3, 1 << 140), Fraction(7 << 90)):
        assert schema.parse_hex_rational(schema.hex_rational(v)) == v
    assert schema.hex_rational(Fraction(-435, 4096)) == "-0x1B3p-12"
    for s, t in (("nan", "nan"), ("+inf", "inf"), ("-inf", "-inf")):
        assert schema.hex_rational(s) == t and schema.parse_hex_rational(t) == s
    assert schema.hex_rational(float("-inf")) == "-inf"
    with pytest.raises(AssertionError):
        schema.hex_rational(Fraction(1, 3))


def test_tv_lines_round_trip():
    line = schema.tv_line("encode", ["fp8_e4m3", "rne", "saturate", schema.tv_options({}), schema.h32(0x43E80000)],
                          ["7E"], "464 ties to even 448 (OFP8 Table 3)")
    assert line == "encode fp8_e4m3 rne saturate - 43E80000 -> 7E  # 464 ties to even 448 (OFP8 Table 3)"
    assert schema.parse_tv_line(line) == (["encode", "fp8_e4m3", "rne", "saturate", "-", "43E80000"], ["7E"])
    assert schema.parse_tv_line("  # a comment") is None and schema.parse_tv_line("") is None
    kw = dict(int8_allow_minus128=True, inf_policy="finite_scale")
    assert schema.parse_tv_options(schema.tv_options(kw)) == kw


def test_printable_escapes_control_characters():
    assert schema.printable("a\x1b[2Jb\x00") == "a\\x1b[2Jb\\x00" and schema.printable("ok") == "ok"


def test_layout_references():
    assert ref_layout.pack_row([1, 2, 3], 4, "low_first") == [0x21, 0x03]
    assert ref_layout.pack_row([1, 2, 3], 4, "high_first") == [0x12, 0x30]
    assert ref_layout.pack_row([0x3F, 0, 0, 0x3F], 6, "bitstream") == [0x3F, 0x00, 0xFC]
    with pytest.raises(ValueError):
        ref_layout.pack_row([1], 4, "middle_first")
    sw = ref_layout.swizzle_cublas([[5, 6], [7, 8]] + [[0, 0]] * 30 + [[9, 0]])  # row 32 at byte 4
    assert len(sw) == 512 and sw[:2] == [5, 6] and sw[16:18] == [7, 8] and sw[4] == 9


def test_swizzled_source_inverts_swizzled_position():
    from mxref.reference.layout import swizzled_position, swizzled_source

    for kb in (1, 3, 4, 5, 9):
        for r in (0, 1, 31, 32, 127, 128, 200):
            for c in range(kb):
                assert swizzled_source(swizzled_position(r, c, kb), kb) == (r, c)
    # every byte of a 128 x 4 tile comes from a distinct scale
    assert len({swizzled_source(i, 4) for i in range(512)}) == 512
