"""spec_vectors/: the committed set verifies (sums, byte-for-byte regeneration, reference
re-check), corruption of any kind is reported by name, and the C example reads it."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import mxref.vectors
from mxref.vectors import generate as gen_vectors
from mxref.vectors import kinds, schema
from mxref.vectors import verify as verify_vectors

ROOT = Path(__file__).resolve().parents[2]
VEC = ROOT / "spec_vectors"
#: a subprocess running a tool of this checkout imports this checkout's mxref
CHECKOUT_ENV = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200")


@pytest.fixture(scope="module", autouse=True)
def generate_once(tmp_path_factory):
    """One real generation of each level per module run, copied wherever a test generates again.

    generate_set is deterministic (test_committed_vectors_verify holds a fresh generation equal,
    byte for byte, to the committed set), so the verifier's step 3 and the generate commands of the
    tests below get the very bytes and entries a new generation would write, for 5 s of CPU once
    instead of in each of five tests. Both names the commands call are replaced."""
    real = gen_vectors.generate_set
    made = {}

    def cached(root, level):
        root = Path(root)
        if level not in made:
            src = tmp_path_factory.mktemp(f"generated_level{level}")
            made[level] = (src, real(src, level))
        src, entries = made[level]
        shutil.copytree(src, root, dirs_exist_ok=True)
        return json.loads(json.dumps(entries))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gen_vectors, "generate_set", cached)
        mp.setattr(verify_vectors, "generate_set", cached)
        yield


def test_committed_vectors_verify(capsys):
    assert verify_vectors.main([str(VEC)]) == 0
    out = capsys.readouterr().out.splitlines()
    n = sum(e["role"] == "expected" for e in json.loads((VEC / "MANIFEST.json").read_text())["files"])
    assert len(out) == 2 and out[0].startswith(f"reference check: {n} of {n} expected files checked")
    assert out[1].startswith("0 mismatch") and out[1].endswith("files in the manifest)")


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


def test_flipped_byte_is_named_with_the_value(tmp_path, capsys):
    # the file and its inputs only: the flipped byte is what is tested, not the rest of the set
    # (test_committed_vectors_verify and the tests on a whole copy run every file)
    name = "encode/fp4_e2m1.rne.saturate.u8"
    d = subset(tmp_path / "v", [name])
    p = d / name
    b = bytearray(p.read_bytes())
    b[3] ^= 0x01
    p.write_bytes(bytes(b))
    rc, out = _run(d, capsys, "--no-regenerate")
    assert rc == 1
    assert f"{name}: sha256" in out
    rc, out = verify_vectors.main([str(d), "--sample", "0", "--no-regenerate"]), capsys.readouterr().out
    assert rc == 1 and f"{name}[3]: encode fp4_e2m1" in out  # the value itself, in hex


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


# ----- small copied subsets (a few files and their inputs): fast checks of the verifier itself ----------

MX_DEQ = "mx/mxfp8_e4m3/edge.floor.rne.dequantized.f32.u32"
NV_DEQ = "ext/nvfp4/ragged.exact.pts_amax.dequantized.f32.u32"


def subset(dst: Path, paths) -> Path:
    """A vectors directory dst holding the given files of spec_vectors/ and, transitively, their
    inputs, with a MANIFEST.json and SHA256SUMS of just those (what the verifier reads with
    --no-regenerate)."""
    m = json.loads((VEC / "MANIFEST.json").read_text())
    by_path = {e["path"]: e for e in m["files"]}
    keep, todo = set(), list(paths)
    while todo:
        p = todo.pop()
        if p not in keep:
            keep.add(p)
            todo += by_path[p].get("inputs", [])
    for p in keep:
        (dst / p).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(VEC / p, dst / p)
    m["files"] = [e for e in m["files"] if e["path"] in keep]
    write_manifest(dst, m)
    return dst


def write_manifest(d: Path, m: dict):
    """MANIFEST.json and SHA256SUMS of d as gen_vectors writes them, sums taken from the files."""
    for e in m["files"]:
        f = d / e["path"]
        if f.is_file():
            e["sha256"] = hashlib.sha256(f.read_bytes()).hexdigest()
    (d / "MANIFEST.json").write_text(json.dumps(m, indent=1, sort_keys=True) + "\n")
    (d / "SHA256SUMS").write_text("".join(f"{e['sha256']}  {e['path']}\n" for e in m["files"]))


def verify(d, capsys, *args):
    rc = verify_vectors.main([str(d), "--no-regenerate", *args])
    return rc, capsys.readouterr().out


@pytest.fixture
def small(tmp_path):
    """The two dequantize files (MX and NVFP4), their scales, elements, per-tensor scale, and
    inputs: 9 files."""
    return subset(tmp_path / "v", [MX_DEQ, NV_DEQ])


def test_small_subset_verifies(small, capsys):
    rc, out = verify(small, capsys, "--sample", "0")
    assert rc == 0, out
    assert "reference check: 7 of 7 expected files checked" in out


def test_every_kind_of_the_committed_set_has_a_check():
    m = schema.read_manifest(VEC)
    found = {kinds.kind_of(e) for e in m["files"] if e["role"] == "expected"}
    assert found == set(kinds.KINDS)  # every kind checked, and no registry entry without files
    assert ("dequantize", "dequantized.f32.u32") in found and ("dequantize_nvfp4", "dequantized.f32.u32") in found
    for k in kinds.KINDS.values():  # each entry: how it is generated, checked, described
        assert callable(k.generate) and callable(k.check) and k.description and k.compare is None


@pytest.mark.parametrize("path, byte", [(MX_DEQ, 4 * (32 * 9 + 1)), (NV_DEQ, 4 * 43 + 1)])
def test_flipped_bit_in_a_dequantized_file_is_found(small, capsys, path, byte):
    f = small / path
    b = bytearray(f.read_bytes())
    b[byte] ^= 0x01
    f.write_bytes(bytes(b))
    write_manifest(small, json.loads((small / "MANIFEST.json").read_text()))  # the sums agree with the edit
    rc, out = verify(small, capsys, "--sample", "0")
    assert rc == 1
    bad = [ln for ln in out.splitlines() if ln.startswith("MISMATCH")]
    assert len(bad) == 1 and "sha256" not in out, out
    r, c = divmod(byte // 4, 32 if path == MX_DEQ else 40)
    assert bad[0].startswith(f"MISMATCH {path} [{r},{c}]") and "1 of " in bad[0], bad[0]


def test_emptied_sha256sums_is_an_error(small, capsys):
    (small / "SHA256SUMS").write_text("")
    rc, out = verify(small, capsys)
    assert rc == 1 and "SHA256SUMS: lists no file; the 9 files of MANIFEST.json have no sum" in out


def test_partial_extra_and_malformed_sums_are_errors(small, capsys):
    lines = (small / "SHA256SUMS").read_text().splitlines()
    dropped = lines[0].split("  ", 1)[1]
    lines = lines[1:] + ["0" * 64 + "  decode/not_here.u8", "not a sum line"]
    (small / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    rc, out = verify(small, capsys)
    assert rc == 1
    assert f"{dropped}: in MANIFEST.json but has no sum in SHA256SUMS" in out
    assert "decode/not_here.u8: has a sum in SHA256SUMS but is not in MANIFEST.json" in out
    assert "SHA256SUMS:10: not '<sha256>  <path>'" in out


def test_unknown_kind_is_an_error(small, capsys):
    m = json.loads((small / "MANIFEST.json").read_text())
    e = next(e for e in m["files"] if e["path"] == MX_DEQ)
    e["operation"] = "transpose"
    write_manifest(small, m)
    rc, out = verify(small, capsys)
    assert rc == 1
    assert f"MISMATCH {MX_DEQ}: not checked: no reference check for operation 'transpose'" in out
    assert "reference check: 6 of 7 expected files checked" in out


def test_elements_without_their_scales_file_is_an_error(tmp_path, capsys):
    el = MX_DEQ.replace("dequantized.f32.u32", "elements.u8")
    d = subset(tmp_path / "v", [el])
    rc, out = verify(d, capsys)
    assert rc == 1 and f"{el}: cannot check against the reference (ValueError: no expected quantize file" in out


def test_help_is_complete():
    p = subprocess.run([sys.executable, str(ROOT / "tools/verify_vectors.py"), "--help"],
                       capture_output=True, text=True, env=CHECKOUT_ENV, cwd="/")
    assert p.returncode == 0
    first = verify_vectors.__doc__.split("\n\n")[0].replace("\n", " ")
    assert first.endswith("reference.") and first in p.stdout  # the whole first sentence
    for needle in ("--no-regenerate", "--sample", "exit status 1 on any problem",
                   "an expected file of a kind without a check is reported, never skipped"):
        assert needle in p.stdout, needle


def test_gen_vectors_out_has_help_and_overwriting_is_explicit(tmp_path, capsys):
    with pytest.raises(SystemExit):
        gen_vectors.main(["--help"])
    out = capsys.readouterr().out
    assert "--out DIR" in out and "overwritten" in out and "--force" in out
    # a non-empty directory that holds no vector set is refused, and left as it was
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit) as exc:
        gen_vectors.main(["--out", str(other)])
    assert exc.value.code == 2 and "refusing to write into it" in capsys.readouterr().err
    assert [p.name for p in other.iterdir()] == ["notes.txt"]
    # a new directory, then the same one again: it says which
    new = tmp_path / "new"
    assert gen_vectors.main(["--out", str(new)]) == 0
    assert f"into {new} (a new set)" in capsys.readouterr().out
    assert gen_vectors.main(["--out", str(new)]) == 0
    assert f"into {new} (replacing the previous set there)" in capsys.readouterr().out
    assert (new / "SHA256SUMS").read_bytes() == (VEC / "SHA256SUMS").read_bytes()
    # the default of tools/gen_vectors.py (from any directory), spec_vectors/ of the checkout, is a
    # previous set: regenerated in place
    p = subprocess.run([sys.executable, str(ROOT / "tools/gen_vectors.py"), "--help"],
                       capture_output=True, text=True, env=CHECKOUT_ENV, cwd="/")
    assert p.returncode == 0 and f"(default: {VEC.resolve()};" in p.stdout, p.stdout
    assert schema.previous_set(VEC)
    # --force writes into the non-empty directory and says so
    assert gen_vectors.main(["--out", str(other), "--force"]) == 0
    assert "--force: writing into" in capsys.readouterr().out and (other / "notes.txt").read_text() == "mine"


def test_deeply_nested_or_corrupt_manifest_is_a_clean_error(small, capsys):
    for text, what in (("[" * 200000 + "]" * 200000, "nested too deeply"), ("\xff{", "unreadable"),
                       ("[1, 2]", "the top level is a list")):
        (small / "MANIFEST.json").write_bytes(text.encode("latin-1"))
        with pytest.raises(ValueError, match=what):
            schema.read_manifest(small)
        rc, out = verify(small, capsys)
        assert rc == 1 and out.startswith("MISMATCH MANIFEST.json: ") and what in out


def test_paths_leaving_the_directory_are_refused(small, tmp_path, capsys):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"s" * 16)
    m = json.loads((small / "MANIFEST.json").read_text())
    for bad in ("../secret.bin", str(secret), "decode/../../secret.bin", "a//b", "x\x1b[2J"):
        m2 = json.loads(json.dumps(m))
        m2["files"][0]["path"] = bad
        (small / "MANIFEST.json").write_text(json.dumps(m2))
        rc, out = verify(small, capsys)
        assert rc == 1 and "is not a plain relative path" in out, (bad, out)
        assert "\x1b" not in out
    # a symbolic link inside the directory that points outside it is not followed
    write_manifest(small, m)
    f = small / MX_DEQ
    f.unlink()
    f.symlink_to(secret)
    rc, out = verify(small, capsys)
    assert rc == 1 and f"{MX_DEQ}: not read: {MX_DEQ} leaves the directory" in out


def test_mxref_vectors_command_and_its_default_directory(tmp_path, monkeypatch, capsys):
    # `mxref vectors generate|verify`, --help for each; the default directory: $MXREF_VECTORS,
    # else ./spec_vectors of the current directory (an installed wheel has no checkout)
    for sub, needle in (("generate", "--level"), ("verify", "--no-regenerate")):
        with pytest.raises(SystemExit) as exc:
            mxref.vectors.main([sub, "--help"])
        out = capsys.readouterr().out
        assert exc.value.code == 0 and out.startswith(f"usage: mxref vectors {sub}") and needle in out
    with pytest.raises(SystemExit) as exc:
        mxref.vectors.main([])
    assert exc.value.code == 2 and "generate" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(schema.ENV_DIR, raising=False)
    assert schema.default_dir() == Path("spec_vectors")
    assert mxref.vectors.main(["generate"]) == 0  # into ./spec_vectors
    assert "(a new set)" in capsys.readouterr().out
    assert (tmp_path / "spec_vectors/SHA256SUMS").read_bytes() == (VEC / "SHA256SUMS").read_bytes()
    monkeypatch.setenv(schema.ENV_DIR, str(VEC))
    assert schema.default_dir() == VEC
    assert mxref.vectors.main(["verify", "--no-regenerate", "--sample", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"0 mismatch(es) in {VEC}")
