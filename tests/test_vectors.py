"""spec_vectors/: the committed set verifies (sums, byte-for-byte regeneration, reference
re-check), corruption of any kind is reported by name, and the C example reads it."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VEC = ROOT / "spec_vectors"
sys.path.insert(0, str(ROOT / "tools"))
import verify_vectors  # noqa: E402


def test_committed_vectors_verify(capsys):
    assert verify_vectors.main([str(VEC)]) == 0
    out = capsys.readouterr().out
    assert out.strip().endswith("files in the manifest)") and out.startswith("0 mismatch")


def test_manifest_describes_every_file():
    m = json.loads((VEC / "MANIFEST.json").read_text())
    assert m["schema_version"] == 1 and m["level"] == 1 and m["generator"] == "python tools/gen_vectors.py"
    paths = {e["path"] for e in m["files"]}
    ops = {e["operation"] for e in m["files"]}
    assert ops == {"decode", "encode", "encode_e8m0", "quantize", "dequantize", "pack", "swizzle_scales", "matmul",
                   "quantize_nvfp4", "dequantize_nvfp4"}
    for e in m["files"]:
        for q in e.get("inputs", []):
            assert q in paths, (e["path"], q)
        if e["dtype"] != "text":
            assert e["path"].endswith({"|u1": ".u8", "<u4": ".u32"}[e["dtype"]])
    total = sum(e["size"] for e in m["files"])
    assert total < 20 * 2**20  # the committed set stays modest


@pytest.fixture
def copy(tmp_path):
    d = tmp_path / "v"
    shutil.copytree(VEC, d)
    return d


def _run(d, capsys, *args):
    rc = verify_vectors.main([str(d), "--sample", "4", *args])
    return rc, capsys.readouterr().out


def test_flipped_byte_is_named_with_the_value(copy, capsys):
    p = copy / "encode/fp4_e2m1.rne.saturate.u8"
    b = bytearray(p.read_bytes())
    b[3] ^= 0x01
    p.write_bytes(bytes(b))
    rc, out = _run(copy, capsys, "--no-regenerate")
    assert rc == 1
    assert "encode/fp4_e2m1.rne.saturate.u8: sha256" in out
    rc, out = verify_vectors.main([str(copy), "--sample", "0", "--no-regenerate"]), capsys.readouterr().out
    assert "encode/fp4_e2m1.rne.saturate.u8[3]: encode fp4_e2m1" in out  # the value itself, in hex


def test_missing_extra_truncated_and_manifest_edits_are_named(copy, capsys):
    (copy / "decode/int8.f32.u32").unlink()
    (copy / "stray.bin").write_bytes(b"x")
    p = copy / "decode/fp4_e2m1.codes.u8"
    p.write_bytes(p.read_bytes()[:-1])
    m = json.loads((copy / "MANIFEST.json").read_text())
    m["files"][0]["size"] += 1
    (copy / "MANIFEST.json").write_text(json.dumps(m, indent=1, sort_keys=True) + "\n")
    rc, out = _run(copy, capsys)
    assert rc == 1
    for what in ("decode/int8.f32.u32: missing", "stray.bin: on disk but not in MANIFEST.json",
                 "decode/fp4_e2m1.codes.u8: size 15", f"{m['files'][0]['path']}: size",
                 "MANIFEST.json: differs from a fresh"):
        assert what in out, what


def test_wrong_text_vector_line_is_named(copy, capsys):
    p = copy / "text/elements.tv"
    p.write_text(p.read_text().replace("43E80000 -> 7E", "43E80000 -> 7F", 1))
    rc, out = _run(copy, capsys, "--no-regenerate")
    assert rc == 1 and "text/elements.tv:" in out and "expected 126" in out


def test_unreadable_manifest(copy, capsys):
    (copy / "MANIFEST.json").write_text("{not json")
    rc, out = _run(copy, capsys)
    assert rc == 1 and "MANIFEST.json: unreadable" in out


def test_c_reader(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler (.ci/run compiles the reader itself)")
    exe = tmp_path / "read_vectors"
    subprocess.run([cc, "-std=c99", "-O2", "-Wall", "-Werror", "-o", str(exe),
                    str(ROOT / "tools/c_reader/read_vectors.c"), "-lm"], check=True)
    r = subprocess.run([str(exe), str(VEC)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout
    assert "decode fp8_e4m3   256 codes ok" in r.stdout and r.stdout.strip().endswith("0 mismatch(es)")
    # a corrupted decode table is caught by the C reader's own decoder
    bad = tmp_path / "v"
    shutil.copytree(VEC, bad)
    p = bad / "decode/fp8_e5m2.f32.u32"
    b = bytearray(p.read_bytes())
    b[4 * 0x7C + 3] ^= 0x01  # +Inf's sign byte
    p.write_bytes(bytes(b))
    r = subprocess.run([str(exe), str(bad)], capture_output=True, text=True)
    assert r.returncode == 1 and "MISMATCH decode decode/fp8_e5m2.f32.u32[124]" in r.stdout


def test_swapped_nibble_order_is_named(copy, capsys):
    lo, hi = copy / "packing/fp4_e2m1.low_first.u8", copy / "packing/fp4_e2m1.high_first.u8"
    a, b = lo.read_bytes(), hi.read_bytes()
    lo.write_bytes(b)
    hi.write_bytes(a)
    rc, out = _run(copy, capsys, "--no-regenerate")
    assert rc == 1 and "packing/fp4_e2m1.low_first.u8 row 0: low_first got" in out
