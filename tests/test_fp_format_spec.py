"""mxref.tables (`mxref formats`, tools/fp_format_spec.py): its tables against spec facts typed in here (OFP8 Table 1; MX §5.3,
§5.4.1; IEEE 754 binary32/binary16), and its field decoder against mxref and numpy."""

import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest

import mxref
from mxref.formats import FORMATS
from mxref.reference import decode_exact

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "fp_format_spec.py"

from mxref import tables as spec_tool  # noqa: E402  (tools/fp_format_spec.py is a wrapper of it)

ALL_NAMES = ["float32", "bfloat16", "float16", "fp8_e4m3", "fp8_e5m2", "fp6_e2m3", "fp6_e3m2",
             "fp4_e2m1", "int8", "e8m0"]

# Spec facts, typed in by hand: name -> (max, code of max, smallest normal, smallest subnormal,
# Inf codes, NaN codes as written in the summary, number of finite codes).
FACTS = {
    "float32": ((2 - F(1, 2**23)) * F(2) ** 127, 0x7F7FFFFF, F(1, 2**126), F(1, 2**149),
                "0x7F800000, 0xFF800000", "0x7F800001-0x7FFFFFFF, 0xFF800001-0xFFFFFFFF",
                2**32 - 2**24),
    "bfloat16": ((2 - F(1, 2**7)) * F(2) ** 127, 0x7F7F, F(1, 2**126), F(1, 2**133),
                 "0x7F80, 0xFF80", "0x7F81-0x7FFF, 0xFF81-0xFFFF", 2**16 - 2**8),
    "float16": (F(65504), 0x7BFF, F(1, 2**14), F(1, 2**24),
                "0x7C00, 0xFC00", "0x7C01-0x7FFF, 0xFC01-0xFFFF", 2**16 - 2**11),
    "fp8_e4m3": (F(448), 0x7E, F(1, 64), F(1, 512), "none", "0x7F, 0xFF", 254),
    "fp8_e5m2": (F(57344), 0x7B, F(1, 2**14), F(1, 2**16), "0x7C, 0xFC", "0x7D-0x7F, 0xFD-0xFF", 248),
    "fp6_e2m3": (F(15, 2), 0x1F, F(1), F(1, 8), "none", "none", 64),
    "fp6_e3m2": (F(28), 0x1F, F(1, 4), F(1, 16), "none", "none", 64),
    "fp4_e2m1": (F(6), 0x7, F(1), F(1, 2), "none", "none", 16),
    "int8": (F(127, 64), 0x7F, None, F(1, 64), "none", "none", 256),
    "e8m0": (F(2) ** 127, 0xFE, F(1, 2**127), None, "none", "0xFF", 255),
}


def run_main(capsys, argv):
    assert spec_tool.main(argv) == 0
    out = capsys.readouterr().out
    return out


def table_lines(out):
    return [line for line in out.splitlines() if line.startswith("|")]


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def test_exact_decimal_and_rendering():
    assert spec_tool.exact_decimal(F(1, 2**9)) == "0.001953125"
    assert spec_tool.exact_decimal(F(-127, 64)) == "-1.984375"
    assert spec_tool.exact_decimal(F(57344)) == "57344"
    assert spec_tool.exact_decimal(F(1, 2**24)) == "0.000000059604644775390625"
    assert spec_tool.render_value(F(448)) == "448"
    assert spec_tool.render_value(F(127, 64)) == "1.984375 (127/64)"
    assert spec_tool.render_value(F(1, 512)) == "2^-9 = 0.001953125"
    assert spec_tool.render_value(F(1, 2**127)).startswith("2^-127 ")
    assert spec_tool.render_exact(F(1, 2**149)) == "2^-149"
    assert spec_tool.approx_decimal((2 - F(1, 2**23)) * F(2) ** 127) == "3.403e+38"


def test_default_output_mentions_every_format_and_key_values(capsys):
    out = run_main(capsys, [])
    for name in ALL_NAMES:
        assert name in out
    rows = {cells(line)[0]: cells(line) for line in table_lines(out)}
    header = cells(table_lines(out)[0])
    col = {h: i for i, h in enumerate(header)}
    for name, (vmax, code, min_normal, min_sub, inf, nan, n_finite) in FACTS.items():
        row = rows[name]
        assert row[col["Inf encoding"]] == inf, name
        assert row[col["NaN encoding"]].startswith(nan), name
        assert row[col["finite values"]] == str(n_finite), name
        if vmax.denominator == 1 and len(str(vmax)) <= 12:
            assert row[col["max"]] == str(vmax), name
    assert rows["int8"][col["max"]] == "1.984375 (127/64)"
    assert rows["int8"][col["bias"]] == "—" and rows["int8"][col["smallest normal"]] == "—"
    assert rows["fp8_e4m3"][col["smallest subnormal"]] == "2^-9 = 0.001953125"
    assert rows["e8m0"][col["smallest normal"]].startswith("2^-127")
    assert rows["float32"][col["smallest subnormal"]].startswith("2^-149")
    assert rows["fp8_e5m2"][col["NaN encoding"]] == "0x7D-0x7F, 0xFD-0xFF (6 codes)"
    # the per-format tables: code and exact value of max, typed in above
    for name, (vmax, code, *_rest) in FACTS.items():
        width = (FORMATS[name].bits + 3) // 4
        hexcode = f"0x{code:0{width}X}"
        assert any(c[1] == hexcode and c[0].startswith("max") for c in map(cells, table_lines(out)))
    assert "| 0x7F7FFFFF |" in out and "340282346638528859811704183484516925440" in out
    assert "+1 × 2^8 × 1.75" in out  # E4M3 max
    assert "| 0x7C   |" in out  # E5M2 +Inf
    assert "+127 × 2^-6" in out  # INT8 max
    assert "2^-149" in out


def test_summary_rows_match_facts():
    rows = {r[0]: r for r in spec_tool.summary_rows()}
    assert list(rows) == ALL_NAMES
    for name, (vmax, code, min_normal, min_sub, *_rest) in FACTS.items():
        fmt = FORMATS[name]
        assert spec_tool._code_of_max(fmt) == code, name
        assert spec_tool.decode_fields(code, fmt)[2] == vmax, name
        # the tool and mxref's row agree (mxref's float properties are exact for these values)
        assert F(fmt.max) == vmax, name
        if min_sub is not None:
            assert spec_tool.decode_fields(1, fmt)[2] == min_sub, name


FP4_EXPECTED = [
    ["+0", "0x0", "0", "00", "0", "+1 × 2^0 × 0", "0"],
    ["-0", "0x8", "1", "00", "0", "-1 × 2^0 × 0", "-0"],
    ["min subnormal", "0x1", "0", "00", "1", "+1 × 2^0 × 0.5", "0.5"],
    ["max subnormal", "0x1", "0", "00", "1", "+1 × 2^0 × 0.5", "0.5"],
    ["min normal", "0x2", "0", "01", "0", "+1 × 2^0 × 1", "1"],
    ["max normal", "0x7", "0", "11", "1", "+1 × 2^2 × 1.5", "6"],
    ["-max normal", "0xF", "1", "11", "1", "-1 × 2^2 × 1.5", "-6"],
]


def test_format_fp4(capsys):
    out = run_main(capsys, ["--format", "fp4_e2m1"])
    lines = table_lines(out)
    assert cells(lines[0]) == ["value", "code", "sign", "exponent", "mantissa", "formula",
                               "exact value"]
    assert [cells(line) for line in lines[2:]] == FP4_EXPECTED
    assert "fp4_e2m1" in out and "float32" not in out and "Summary" not in out


def test_format_repeated_and_comma_separated(capsys):
    out = run_main(capsys, ["--format", "fp8_e4m3,e8m0", "--format", "float16"])
    assert "fp8_e4m3:" in out and "e8m0:" in out and "float16:" in out
    assert "fp4_e2m1" not in out
    rows = [cells(line) for line in table_lines(out)]
    assert ["-0", "0x80", "1", "0000", "000", "-1 × 2^-6 × 0", "-0"] in rows
    assert ["+NaN", "0x7F", "0", "1111", "111", "NaN", "+NaN"] in rows
    assert ["NaN", "0xFF", "—", "11111111", "—", "NaN", "NaN"] in rows  # E8M0
    assert ["min normal", "0x00", "—", "00000000", "—", "2^-127", "2^-127"] in rows
    assert any(r[:2] == ["max normal", "0x7BFF"] and r[-1] == "65504" for r in rows)


def test_all_fp4(capsys):
    out = run_main(capsys, ["--all", "fp4_e2m1"])
    rows = [cells(line) for line in table_lines(out)][2:]
    assert len(rows) == 16
    positives = ["0", "0.5", "1", "1.5", "2", "3", "4", "6"]
    expected = positives + ["-" + v for v in positives]
    assert [r[0] for r in rows] == [f"0x{c:X}" for c in range(16)]
    assert [r[3] for r in rows] == expected
    assert [r[4] for r in rows] == ["zero", "subnormal"] + ["normal"] * 6 + ["zero", "subnormal"] + ["normal"] * 6
    assert rows[7][1] == "0.11.1" and rows[7][2] == "+1 × 2^2 × 1.5"


def test_all_e8m0(capsys):
    out = run_main(capsys, ["--all", "e8m0"])
    rows = [cells(line) for line in table_lines(out)][2:]
    assert len(rows) == 256
    assert rows[0][0] == "0x00" and rows[0][3] == "2^-127"
    assert rows[127][3] == "1" and rows[128][3] == "2"
    assert rows[255][0] == "0xFF" and rows[255][4] == "nan"


def test_all_refuses_float32(capsys):
    with pytest.raises(SystemExit) as e:
        spec_tool.main(["--all", "float32"])
    assert e.value.code == 2
    assert "float32" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--format", "nosuch"], ["--all", "nosuch"],
                                  ["--format", "fp4_e2m1,nosuch"]])
def test_unknown_name_exits_2(capsys, argv):
    with pytest.raises(SystemExit) as e:
        spec_tool.main(argv)
    assert e.value.code == 2
    assert "nosuch" in capsys.readouterr().err


def test_help(capsys):
    with pytest.raises(SystemExit) as e:
        spec_tool.main(["--help"])
    assert e.value.code == 0
    assert "--format" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["fp8_e4m3", "fp8_e5m2", "fp6_e2m3", "fp6_e3m2", "fp4_e2m1",
                                  "int8", "e8m0"])
def test_field_decoder_agrees_with_mxref(name):
    fmt = mxref.element_format(name)
    for code in range(1 << fmt.bits):
        cls, sign, mag = spec_tool.decode_fields(code, fmt)
        ref = decode_exact(code, fmt)
        if cls in ("nan", "inf"):
            assert ref == ("-" if sign else "+") + cls
        else:
            assert ref == (sign, mag)


def _check_against_floats(fmt, codes, floats):
    for code, x in zip(codes, floats):
        cls, sign, mag = spec_tool.decode_fields(int(code), fmt)
        if cls == "nan":
            assert np.isnan(x)
        elif cls == "inf":
            assert np.isinf(x) and (x < 0) == bool(sign)
        else:
            assert F(float(x)) == (-mag if sign else mag)
            assert bool(np.signbit(x)) == bool(sign)


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_field_decoder_agrees_with_numpy_float16_and_bfloat16():
    codes = np.arange(1 << 16, dtype=np.uint16)
    _check_against_floats(FORMATS["float16"], codes, codes.view(np.float16).astype(np.float64))
    as32 = (codes.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    _check_against_floats(FORMATS["bfloat16"], codes, as32)


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_field_decoder_agrees_with_numpy_float32():
    rng = np.random.default_rng(0)
    special = [0, 1, 0x7FFFFF, 0x800000, 0x3F800000, 0x7F7FFFFF, 0x7F800000, 0x7F800001,
               0x7FC00000, 0x80000000, 0xFF7FFFFF, 0xFF800000, 0xFFFFFFFF]
    codes = np.concatenate([np.array(special, dtype=np.uint32),
                            rng.integers(0, 2**32, 2000, dtype=np.uint64).astype(np.uint32)])
    _check_against_floats(FORMATS["float32"], codes, codes.view(np.float32).astype(np.float64))


def test_command_line_subprocess():
    res = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                         encoding="utf-8", cwd=ROOT, check=False)
    assert res.returncode == 0, res.stderr
    for name in ALL_NAMES:
        assert name in res.stdout
    bad = subprocess.run([sys.executable, str(SCRIPT), "--format", "nosuch"], capture_output=True,
                         text=True, encoding="utf-8", cwd=ROOT, check=False)
    assert bad.returncode == 2 and "unknown format" in bad.stderr
