"""The conformance checker on outputs in the spec_vectors layout (VectorsAdapter,
mxref/conformance/adapters/spec_vectors.py; spec_vectors/README.md).

* spec_vectors itself, read as an implementation's outputs, checks clean: every operation of the
  manifest is compared, with as many cases as its dtype x shape entries give (counted here from
  the manifest, independently of the checker).
* Bytes flipped in an expected encode file and a quantize elements file are MISMATCH lines that
  name the file and the position, with the got and expected codes read from the files.
* A subset manifest checks only the files present; inputs come from the reference set.
* Decode, dequantize, pack, swizzle_scales and matmul classify their cases (NaN payload, signed
  zero, a value past float32).
* Malformed directories are a clear ValueError (exit status 2 on the command line).
"""

from __future__ import annotations

import json
import re
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from mxref import conformance as C
from mxref.conformance import check

from test_conformance import _assert_well_formed  # noqa: E402  (tests/ is on sys.path)

ROOT = Path(__file__).resolve().parents[2]
SV = ROOT / "spec_vectors"
REF = json.loads((SV / "MANIFEST.json").read_text())
BY_PATH = {e["path"]: e for e in REF["files"]}
F32MAX = float(np.finfo(np.float32).max)


def _make(tmp: Path, listed, copy=(), edit=None) -> Path:
    """A directory in the spec_vectors layout: a MANIFEST.json of the ``listed`` entries (in the
    reference order) and copies of the ``copy`` files; ``edit(path) -> bytes`` rewrites one."""
    tmp.mkdir(parents=True, exist_ok=True)
    listed = set(listed) | set(copy)
    m = dict(REF, files=[e for e in REF["files"] if e["path"] in listed])
    (tmp / "MANIFEST.json").write_text(json.dumps(m, indent=1))
    for p in copy:
        (tmp / p).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SV / p, tmp / p)
    return tmp


def _flip(path: Path, index: int, mask: int) -> tuple[int, int]:
    b = bytearray(path.read_bytes())
    old = b[index]
    b[index] ^= mask
    path.write_bytes(bytes(b))
    return old, b[index]


def _u32(path: Path) -> np.ndarray:
    return np.frombuffer(path.read_bytes(), "<u4")


def _cases_of(e: dict) -> int:
    """Cases of one expected file, from its manifest entry alone."""
    op, sh = e["operation"], e["shape"]
    if e["dtype"] == "text":  # matmul exact values: one per element of C = A @ B
        return BY_PATH[e["inputs"][1]]["shape"][0] * BY_PATH[e["inputs"][3]]["shape"][1]
    if op in ("quantize", "dequantize"):
        if e["path"].endswith(".elements.u8"):
            return 0  # one case per block, counted with the scales file
        rows, L = BY_PATH[e["inputs"][0]]["shape"] if op == "quantize" else sh
        return rows * -(-L // e["block_size"])
    if op in ("decode", "encode", "encode_e8m0", "pack"):
        return sh[0]
    return int(np.prod(sh))  # swizzle_scales: a byte; matmul: a C element


# ----- spec_vectors itself --------------------------------------------------------------------------


def test_spec_vectors_check_clean():
    rep = check("dump", dump=SV, errors=0)
    rows = _assert_well_formed(rep)
    t = rep.totals()
    assert t[C.MISMATCH] == t[C.IMPL] == t[C.ERROR] == t[C.UNSUPPORTED] == 0 and rep.exit_status == 0
    nvfp4 = [e for e in REF["files"] if e["role"] == "expected" and e["operation"].endswith("_nvfp4")]
    expected = [e for e in REF["files"] if e["role"] == "expected" and not e["path"].endswith(".tv")
                and e not in nvfp4]
    n_text = sum(1 for e in REF["files"] if e["role"] == "expected" and e["path"].endswith(".tv"))
    assert len(nvfp4) == 48  # 3 sets x 4 modes x (scales, elements, per-tensor scale, values)
    assert n_text == 2
    # every operation, with the case count its manifest entries give
    want: dict = {}
    for e in expected:
        want[e["operation"]] = want.get(e["operation"], 0) + _cases_of(e)
    got: dict = {}
    for r in rows:
        got[r["operation"]] = got.get(r["operation"], 0) + r["cases"]
    assert got == want
    assert set(got) == {"decode", "encode", "encode_e8m0", "quantize", "dequantize", "pack", "swizzle_scales",
                        "matmul"}
    # stochastic rounding used the random bits of the vectors
    assert any(r["profile"] == "floor-stochastic" and r["operation"] == "quantize" for r in rows)
    assert any(r["profile"] == "stochastic" and r["operation"] == "encode" for r in rows)
    assert rep.notes == [f"spec_vectors layout {SV}: {len(expected)} expected files checked of the "
                         f"{len(expected) + n_text + len(nvfp4)} in its MANIFEST.json (0 not present, 2 text "
                         f"vectors (*.tv) not checked, 48 NVFP4 files (ext/nvfp4, not MX v1.0) not checked: "
                         f"the torchao adapter's nvfp4 profiles check NVFP4); inputs not in it read from {SV}"]
    assert rep.notes[0] in rep.text() and rep.to_json()["run_notes"] == rep.notes
    assert {r["library"] for r in rows} == {"spec_vectors (dump)"}


# ----- faults in a copy -----------------------------------------------------------------------------

ENC = "encode/fp8_e4m3.rne.saturate.u8"
ENC_IN = "encode/fp8_e4m3.in.f32.u32"
Q = "mx/mxfp4_e2m1/random.floor.rne"


def test_flipped_bytes_are_mismatches_naming_the_files(tmp_path):
    d = _make(tmp_path / "impl", [], copy=[ENC, f"{Q}.scales.u8", f"{Q}.elements.u8", f"{Q}.dequantized.f32.u32"])
    enc_old = [_flip(d / ENC, i, 0x01) for i in (10, 1000)]
    r, c = 5, 20  # a bell-shaped block (row_ranges "gauss"): finite, non-zero scale
    assert BY_PATH[f"{Q.rsplit('.', 2)[0]}.in.f32.u32"]["row_ranges"]["gauss"][0] <= r < 48
    q_old, q_new = _flip(d / f"{Q}.elements.u8", r * 32 + c, 0x01)
    rep = check("dump", dump=d, errors=0)
    _assert_well_formed(rep)
    assert rep.totals()[C.MISMATCH] == 4 and rep.exit_status == 1
    lines = {(ln.data["operation"], ln.data.get("index", ln.data.get("row"))): ln for ln in rep.mismatch_lines()}
    x = np.frombuffer((SV / ENC_IN).read_bytes(), "<u4")
    for i, (old, new) in zip((10, 1000), enc_old):
        ln = lines[("encode", i)]
        assert ln.data["files"] == [ENC] and f"[{ENC}: index {i}]" in ln.text
        assert (ln.data["got"], ln.data["expected"]) == (new, old)
        assert ln.data["input_hex"] == f"0x{int(x[i]):08X}"
        assert ln.text.startswith("MISMATCH encode fp8_e4m3 rne (rounding=rne overflow=saturate from=float32) ")
    ln = lines[("quantize", r)]
    assert f"{Q}.elements.u8" in ln.data["files"] and ln.data["block"] == c // 32
    assert ln.data["differing_elements"] == [c % 32]
    assert (ln.data["got"]["codes"][c % 32], ln.data["expected"]["codes"][c % 32]) == (q_new, q_old)
    assert f"{Q}.elements.u8" in ln.text and f"row {r} block {c // 32}]" in ln.text
    # the dequantize check reads the directory's element codes: its unchanged values now differ
    ln = lines[("dequantize", r)]
    assert ln.data["files"] == [f"{Q}.dequantized.f32.u32"] and ln.data["block"] == c // 32
    assert ln.data["differing_elements"] == [c % 32]
    assert C.main(["--library", "dump", "--dump", str(d)]) == 1


def test_subset_manifest(tmp_path, capsys):
    listed = ["decode/fp4_e2m1.codes.u8", "decode/fp4_e2m1.f32.u32", "packing/fp4_e2m1.codes.u8",
              "packing/fp4_e2m1.low_first.u8", "packing/fp4_e2m1.high_first.u8"]
    d = _make(tmp_path / "sub", listed, copy=["decode/fp4_e2m1.f32.u32", "packing/fp4_e2m1.low_first.u8"])
    rep = check("dump", dump=d)
    rows = _assert_well_formed(rep)
    assert [(r["operation"], r["format"], r["profile"], r["cases"], r["pass"]) for r in rows] == [
        ("decode", "fp4_e2m1", "exact", 16, 16), ("pack", "fp4_e2m1", "low_first", 8, 8)]
    assert "2 expected files checked of the 3 in its MANIFEST.json (1 not present" in rep.notes[0]
    # the inputs may be in the directory too (byte for byte the reference's)
    (d / "decode").mkdir(exist_ok=True)
    shutil.copyfile(SV / "decode/fp4_e2m1.codes.u8", d / "decode/fp4_e2m1.codes.u8")
    js = tmp_path / "r.json"
    assert C.main(["--dump", str(d), "--library", "dump", "--json", str(js), "--vectors", str(SV)]) == 0
    assert "PASS: 0 mismatch" in capsys.readouterr().out
    assert "2 expected files checked" in json.loads(js.read_text())["run_notes"][0]
    # --format / --operation / --profile filter (and the note counts what ran)
    rep = check("dump", dump=d, operations="pack")
    assert [r["operation"] for r in rep.rows()] == ["pack"] and "1 expected files checked" in rep.notes[0]
    assert [r["operation"] for r in check("dump", dump=d, profile="exact").rows()] == ["decode"]


def test_decode_pack_swizzle_matmul_cases(tmp_path, capsys):
    dec, pk, sw = "decode/fp8_e4m3.f32.u32", "packing/fp6_e2m3.bitstream.u8", "packing/scales.cublas.u8"
    mm, mt = "matmul/mxfp6_e3m2__mxint8.fp32_blockwise.f32.u32", "matmul/mxfp6_e3m2__mxint8.exact.txt"
    d = _make(tmp_path / "o", [], copy=[dec, pk, sw, mm, mt])
    v = _u32(d / dec).copy()
    assert v[0x7F] == 0x7FC00000 and v[0x80] == 0x80000000  # E4M3 NaN, -0 (spec_vectors/README.md)
    v[0x7F] = 0x7FFFFFFF  # another NaN payload: equal
    v[0x80] = 0  # +0 for -0: IMPL_DEFINED:signed_zero
    v[0x10] ^= 1  # a wrong value
    (d / dec).write_bytes(v.astype("<u4").tobytes())
    _flip(d / pk, 3 * 28 + 2, 0x20)  # row 3 (37 six-bit codes = 28 bytes per row)
    _flip(d / sw, 512 + 16 * 2 + 4 + 1, 0x01)  # tile (0, 1), line 2, group 1, column 1: scales[34, 5]
    _flip(d / sw, 2047, 0x01)  # tile (1, 1), line 31, group 3, column 3: row 255 is padding
    c = _u32(d / mm).copy()
    c[7] ^= 1  # C[1, 3] (4 columns)
    (d / mm).write_bytes(c.astype("<u4").tobytes())
    lines = (d / mt).read_text().splitlines()
    i = next(n for n, ln in enumerate(lines) if ln.startswith("2 1 "))
    val = lines[i].split()[2]
    assert val not in ("nan", "inf", "-inf") and val != "0x0p0"
    lines[i] = "2 1 " + ("-" + val if not val.startswith("-") else val[1:])
    (d / mt).write_text("\n".join(lines) + "\n")
    rep = check("dump", dump=d, errors=0)
    _assert_well_formed(rep)
    ml = {ln.data["files"][0]: [] for ln in rep.mismatch_lines()}
    for ln in rep.mismatch_lines():
        ml[ln.data["files"][0]].append(ln)
    assert rep.totals()[C.MISMATCH] == 6 and rep.impl_id_counts() == {"signed_zero": 1}
    (ln,) = ml[dec]
    assert ln.data["index"] == 0x10 and f"[{dec}: index 16]" in ln.text
    (ln,) = ml[pk]
    assert ln.data["row"] == 3 and "(first difference at byte 2)" in ln.text
    codes = np.frombuffer((SV / "packing/fp6_e2m3.codes.u8").read_bytes(), np.uint8).reshape(8, 37)
    assert ln.data["input_hex"] == [f"0x{int(x):02X}" for x in codes[3]]
    sc = np.frombuffer((SV / "packing/scales.row_major.u8").read_bytes(), np.uint8).reshape(200, 7)
    a, b = sorted(ml[sw], key=lambda ln: ln.data["index"])
    assert a.data["input_hex"] == f"scales[34,5]=0x{int(sc[34, 5]):02X}" and a.data["expected"] == sc[34, 5]
    assert b.data["input_hex"] == "padding" and (b.data["got"], b.data["expected"]) == (1, 0)
    (ln,) = ml[mm]
    assert (ln.data["row"], ln.data["col"]) == (1, 3) and ln.text.startswith("MISMATCH matmul mxfp6_e3m2__mxint8 ")
    (ln,) = ml[mt]
    assert (ln.data["row"], ln.data["col"]) == (2, 1)
    assert ln.data["expected"] == val and ln.data["got"] == lines[i].split()[2]
    # --strict: the signed zero counts
    assert C.main(["--library", "dump", "--dump", str(d), "--strict", "--errors", "0"]) == 1
    assert "[strict: signed_zero]" in capsys.readouterr().out


@pytest.mark.parametrize("got, cls", [("max", "IMPL_DEFINED:value_beyond_fp32"), ("inf", None),
                                       ("nan", "IMPL_DEFINED:value_beyond_fp32"), ("-inf", "MISMATCH")])
def test_dequantize_value_beyond_float32(tmp_path, got, cls):
    """The directory's scales give a block 2^127: its values X * P_i >= 2^128 leave float32."""
    base = "mx/mxfp8_e4m3/edge.floor.rne"
    d = _make(tmp_path / got, [], copy=[f"{base}.dequantized.f32.u32"])
    shutil.copyfile(SV / f"{base}.scales.u8", d / f"{base}.scales.u8")
    r = 13  # row label "amax 2^1": scale 2^-7, elements up to 448 (E4M3 0x7E)
    assert BY_PATH["mx/mxfp8_e4m3/edge.in.f32.u32"]["row_labels"][r] == "amax 2^1"
    sc = bytearray((d / f"{base}.scales.u8").read_bytes())
    sc[r] = 0xFE
    (d / f"{base}.scales.u8").write_bytes(bytes(sc))  # not listed: read as the dequantize input only
    codes = np.frombuffer((SV / f"{base}.elements.u8").read_bytes(), np.uint8).reshape(-1, 32)[r]
    # E4M3 magnitudes from the bit fields (OFP8 Table 1): (1 + m/8) 2^(e - 7), subnormal m/8 2^-6
    e, m = (codes >> 3) & 0xF, codes & 7
    mag = [Fraction(8 + int(mm), 8) * Fraction(2) ** (int(ee) - 7) if ee else Fraction(int(mm), 8) * Fraction(2) ** -6
           for ee, mm in zip(e, m)]
    exact = [(-1 if c & 0x80 else 1) * v * Fraction(2) ** 127 for c, v in zip(codes, mag)]
    assert max(abs(v) for v in exact) > F32MAX
    vals = []
    for v in exact:
        if abs(v) <= F32MAX:
            vals.append(float(v))  # exact in float32 (a few significant bits, in range)
        else:
            s = -1.0 if v < 0 else 1.0
            vals.append({"max": s * F32MAX, "inf": s * np.inf, "nan": np.nan, "-inf": -s * np.inf}[got])
    dq = _u32(d / f"{base}.dequantized.f32.u32").copy().reshape(-1, 32)
    dq[r] = np.array(vals, np.float32).view(np.uint32)
    (d / f"{base}.dequantized.f32.u32").write_bytes(dq.astype("<u4").tobytes())
    rep = check("dump", dump=d, errors=0)
    _assert_well_formed(rep)
    (res,) = rep.results
    assert res.target.operation == "dequantize" and res.cases == dq.shape[0]
    if cls is None:
        assert res.counts[C.PASS] == res.cases  # float32 RNE of X * P >= 2^128 is Inf
        return
    assert res.counts[C.PASS] == res.cases - 1
    line = rep.mismatch_lines()[0] if cls == "MISMATCH" else rep.impl_lines()[0]
    assert line.cls == cls and line.data["row"] == r and "scale 0xFE(2^127)" in line.text


def test_codes_outside_the_format(tmp_path):
    """An FP4 element code 0xFF: MISMATCH in the quantize check, UNSUPPORTED in the dequantize
    check that reads it (with a note)."""
    d = _make(tmp_path / "x", [], copy=[f"{Q}.elements.u8", f"{Q}.dequantized.f32.u32"])
    b = bytearray((d / f"{Q}.elements.u8").read_bytes())
    b[3 * 32 + 3] = 0xFF
    (d / f"{Q}.elements.u8").write_bytes(bytes(b))
    rep = check("dump", dump=d, errors=0)
    _assert_well_formed(rep)
    by_op = {r["operation"]: r for r in rep.rows()}
    assert (by_op["quantize"]["mismatch"], by_op["quantize"]["unsupported"]) == (1, 0)
    assert (by_op["dequantize"]["mismatch"], by_op["dequantize"]["unsupported"]) == (0, 1)
    (ln,) = rep.mismatch_lines()
    assert ln.data["row"] == 3 and "[3] got 255(not a fp4_e2m1 code)" in ln.text
    assert f"{Q}.dequantized.f32.u32: 1 blocks not checked" in rep.text()


# ----- malformed ------------------------------------------------------------------------------------

SMALL = ["decode/fp4_e2m1.codes.u8", "decode/fp4_e2m1.f32.u32", "matmul/mxint8__mxfp4_e2m1.exact.txt"]
SMALL += BY_PATH["matmul/mxint8__mxfp4_e2m1.exact.txt"]["inputs"]


def _manifest_edit(fn):
    def edit(d, ref):
        m = json.loads((d / "MANIFEST.json").read_text())
        fn(m)
        (d / "MANIFEST.json").write_text(json.dumps(m))
    return edit


def _no_input(d, ref):
    (ref / "decode/fp4_e2m1.codes.u8").unlink()


def _bad_text(d, ref):
    p = d / "matmul/mxint8__mxfp4_e2m1.exact.txt"
    p.write_text(p.read_text().replace("\n3 2 ", "\n3 2 1.5e3 #", 1))


@pytest.mark.parametrize("corrupt, message", [
    (lambda d, ref: (d / "decode/fp4_e2m1.f32.u32").write_bytes(bytes(60)),
     "decode/fp4_e2m1.f32.u32: 60 bytes, but its manifest entry (dtype <u4, shape [16]) makes 64"),
    (lambda d, ref: (d / "MANIFEST.json").write_text("{nope"), "MANIFEST.json is not valid JSON"),
    (_manifest_edit(lambda m: m["files"][1].update(dtype="|u1")), "dtype is '|u1', the reference set's is '<u4'"),
    (_manifest_edit(lambda m: m["files"][1].update(shape=[4, 4])), "shape is [4, 4], the reference set's is [16]"),
    (_manifest_edit(lambda m: m["files"].append(dict(m["files"][1], path="decode/fp9.f32.u32"))),
     "which the reference set"),
    (_manifest_edit(lambda m: m["files"][1].update(path="../x.u32")), "is not a plain relative path"),
    (_manifest_edit(lambda m: m["files"][1].update(operation="transmogrify")), "unknown operation 'transmogrify'"),
    (_manifest_edit(lambda m: m.update(schema_version=2)), "schema_version 2, this checker reads 1"),
    (lambda d, ref: (d / "decode").joinpath("fp4_e2m1.codes.u8").write_bytes(bytes(range(1, 17))),
     "differs from its manifest entry (sha256)"),
    (_no_input, "its input 'decode/fp4_e2m1.codes.u8' is neither in the directory nor in the reference set"),
    (_bad_text, "matmul/mxint8__mxfp4_e2m1.exact.txt:"),
])
def test_malformed_is_a_clear_error(tmp_path, corrupt, message, capsys):
    ref = tmp_path / "ref"
    shutil.copytree(SV, ref)
    d = _make(tmp_path / "m", SMALL, copy=["decode/fp4_e2m1.f32.u32", "matmul/mxint8__mxfp4_e2m1.exact.txt"])
    (d / "decode").mkdir(exist_ok=True)
    corrupt(d, ref)
    with pytest.raises(ValueError, match=re.escape(message)) as exc:
        check("dump", dump=d, vectors=ref)
    assert str(exc.value).startswith(f"vectors dump {d}: ")
    assert C.main(["--library", "dump", "--dump", str(d), "--vectors", str(ref)]) == 2
    assert message in capsys.readouterr().err


def test_reference_set_and_detection(tmp_path):
    d = _make(tmp_path / "s", SMALL[:2], copy=["decode/fp4_e2m1.f32.u32"])
    with pytest.raises(ValueError, match="holds no MANIFEST.json"):
        check("dump", dump=d, vectors=tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"no dump.json in it \(nor a MANIFEST.json"):
        check("dump", dump=tmp_path / "empty")
    # dump.json wins when both are there
    (d / "dump.json").write_text("{nope")
    with pytest.raises(ValueError, match="dump.json is not valid JSON"):
        check("dump", dump=d)
