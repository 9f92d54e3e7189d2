"""The conformance checker against hostile and empty inputs (issue 12 §1, §2, §4, §8).

* §2: names in dump.json / MANIFEST.json / the microxcaling manifest.json cannot read outside
  their directory (absolute, '..', a symlink out); library and version names are printed with
  their control characters escaped; JSON nested too deeply is a clear error, not RecursionError.
* §4: a run that compared nothing is exit status 2 with the reason, never PASS.
* §8: torchao's import-time log lines do not reach the checker's output.
* §1: the known peer differences are keyed by version: a note is given on the versions it was
  seen on and on no other.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mxref import conformance as C
from mxref.conformance.cli import json_target_ok
from mxref.conformance.expected import reference_output
from mxref.conformance.known import known_difference, known_differences_note
from mxref.conformance.model import count_cases
from mxref.conformance.untrusted import printable
from mxref.conformance import check, write_dump

ROOT = Path(__file__).resolve().parents[2]
SV = ROOT / "spec_vectors"


def _dump(tmp: Path, **kw) -> Path:
    x = np.linspace(-3, 3, 2 * 64, dtype=np.float32).reshape(2, 64)
    return write_dump(tmp, x, [("mxfp8_e4m3", "floor", "rne")], **kw)


def _edit(d: Path, fn) -> None:
    meta = json.loads((d / "dump.json").read_text())
    fn(meta)
    (d / "dump.json").write_text(json.dumps(meta))


def _main(argv, capsys):
    rc = C.main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


# ----- §2 the dump reader is confined to its directory ----------------------------------------------


@pytest.fixture
def secret(tmp_path):
    """A valid .npy outside the dump directory, which a dump must not be able to read."""
    p = tmp_path / "outside" / "secret.npy"
    p.parent.mkdir()
    np.save(p, np.zeros((2, 64), np.float32))
    return p


@pytest.mark.parametrize("key", ["inputs", "scales", "elements", "values"])
@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_dump_names_stay_inside_the_directory(tmp_path, secret, key, how, capsys, monkeypatch):
    d = _dump(tmp_path / "d")
    if how == "absolute":
        name = str(secret)
    elif how == "dotdot":
        name = "../outside/secret.npy"
    else:
        (d / "link.npy").symlink_to(secret)
        name = "link.npy"

    def put(meta):
        if key == "inputs":
            meta["inputs"] = name
        else:
            meta["outputs"][0][key] = name
    _edit(d, put)
    opened = []
    real_load = np.load
    monkeypatch.setattr(np, "load", lambda p, *a, **k: (opened.append(Path(p).resolve()), real_load(p, *a, **k))[1])
    with pytest.raises(ValueError, match=r"must be a path relative|'\.\.' is not allowed|leads outside the directory"):
        check("dump", dump=d)
    assert secret.resolve() not in opened  # refused before anything was read
    rc, out, err = _main(["--library", "dump", "--dump", str(d)], capsys)
    assert rc == 2 and "error: dump:" in err and "PASS" not in out
    assert secret.resolve() not in opened


def test_dump_symlink_inside_the_directory_is_fine(tmp_path):
    d = _dump(tmp_path / "d")
    (d / "sub").mkdir()
    shutil.move(d / "inputs.npy", d / "sub" / "inputs.npy")
    (d / "inputs.npy").symlink_to(d / "sub" / "inputs.npy")
    rep = check("dump", dump=d)
    assert rep.exit_status == 0 and rep.totals()[C.PASS] == rep.compared > 0


def test_dump_json_itself_as_a_symlink_out_is_refused(tmp_path):
    d = _dump(tmp_path / "d")
    elsewhere = tmp_path / "elsewhere.json"
    shutil.move(d / "dump.json", elsewhere)
    (d / "dump.json").symlink_to(elsewhere)
    with pytest.raises(ValueError, match="dump.json 'dump.json' leads outside the directory"):
        check("dump", dump=d)


def test_vectors_layout_symlink_out_is_refused(tmp_path):
    """The spec_vectors layout already refused absolute and '..' paths; a symlink leading out of
    the directory is refused too (for an expected file and for MANIFEST.json)."""
    ref = json.loads((SV / "MANIFEST.json").read_text())
    path = "decode/fp4_e2m1.f32.u32"
    d = tmp_path / "v"
    (d / "decode").mkdir(parents=True)
    (d / "MANIFEST.json").write_text(json.dumps(dict(ref, files=[e for e in ref["files"] if e["path"] == path])))
    outside = tmp_path / "outside.bin"
    shutil.copyfile(SV / path, outside)
    (d / path).symlink_to(outside)
    with pytest.raises(ValueError, match="leads outside the directory"):
        check("dump", dump=d)
    (d / path).unlink()
    shutil.copyfile(SV / path, d / path)
    assert check("dump", dump=d).exit_status == 0  # the same file, inside: checked clean
    m = tmp_path / "m.json"
    shutil.move(d / "MANIFEST.json", m)
    (d / "MANIFEST.json").symlink_to(m)
    with pytest.raises(ValueError, match="leads outside the directory"):
        check("dump", dump=d)


def test_microxcaling_manifest_names_are_confined(tmp_path, secret):
    d = tmp_path / "mx"
    d.mkdir()
    (d / "manifest.json").write_text(json.dumps({"sha256": {"../outside/secret.npy": "0" * 64}}))
    with pytest.raises(ValueError, match="'..' is not allowed"):
        C.MicroxcalingAdapter(d).version()


@pytest.mark.parametrize("bad, message", [
    ({"inputs": 5}, "inputs must be a non-empty file name"),
    ({"library": ["x"]}, "library must be a string"),
    ({"block_size": 10**30}, "block_size must be an int in 1..65536"),
    ({"axis": "0"}, "axis must be an int"),
    ({"outputs": [{"format": ["mxfp8_e4m3"], "values": "v.npy"}]}, "format must be a string"),
    ({"outputs": [{"format": "mxfp8_e4m3", "values": "v\x1b.npy"}]}, "control characters are not allowed"),
    ({"outputs": [{"format": "mxfp8_e4m3", "values": "v.npy", "options": {"zero_scale": [1]}}]},
     "zero_scale must be a string, number or boolean"),
])
def test_dump_json_field_types_are_clear_errors(tmp_path, bad, message):
    d = _dump(tmp_path / "d")
    _edit(d, lambda meta: meta.update(bad))
    with pytest.raises(ValueError, match=re.escape(message)):
        check("dump", dump=d)


def test_npy_header_larger_than_the_file_is_refused_before_reading(tmp_path):
    d = _dump(tmp_path / "d")
    v = d / "mxfp8_e4m3_floor_rne.values.npy"
    raw = v.read_bytes()  # a header declaring 2e12 x 64 float32 over the same few bytes of data
    i = raw.index(b"(2, 64)")
    v.write_bytes(raw[:i] + b"(2000000000000, 64)" + raw[i + 7:])
    with pytest.raises(ValueError, match="its header says float32 .2000000000000, 64."):
        check("dump", dump=d)


# ----- §2 names are printed with control characters escaped ---------------------------------------


def test_library_and_version_control_characters_are_escaped(tmp_path, capsys):
    evil_lib = "mylib\x1b[2J\x1b[1;1H\nPASS: 0 mismatch (fake)\r\u202e"
    d = _dump(tmp_path / "d", library=evil_lib, version="1.0\x07\x9b31m")
    js = tmp_path / "r.json"
    rc, out, err = _main(["--library", "dump", "--dump", str(d), "--json", str(js)], capsys)
    assert rc == 0
    for text in (out, err):
        assert not any(ch in text for ch in "\x1b\x07\r\x9b\u202e")
    assert "mylib\\x1b[2J" in out and "1.0\\x07\\x9b31m" in out
    assert not any(ln.startswith("PASS: 0 mismatch (fake)") for ln in out.splitlines())
    assert [ln for ln in out.splitlines() if ln.startswith("PASS")] == [out.splitlines()[-1]]
    data = json.loads(js.read_text())  # the JSON report names it too, escaped
    assert data["summary"][0]["library"].startswith("mylib\\x1b[2J")
    assert printable("a\tb\x00c\x7f\u200f d", keep="") == "a\\tb\\x00c\\x7f\\u200f d"
    assert printable("line 1\nline 2", keep="\n") == "line 1\nline 2"


def test_vectors_manifest_library_is_escaped(tmp_path):
    ref = json.loads((SV / "MANIFEST.json").read_text())
    path = "decode/fp4_e2m1.f32.u32"
    d = tmp_path / "v"
    (d / "decode").mkdir(parents=True)
    (d / "MANIFEST.json").write_text(json.dumps(dict(ref, library="x\x1b]0;owned\x07", version="\x1bc",
                                                     files=[e for e in ref["files"] if e["path"] == path])))
    shutil.copyfile(SV / path, d / path)
    rep = check("dump", dump=d)
    assert "\x1b" not in rep.text() and "x\\x1b]0;owned\\x07 (dump)" in rep.text()


# ----- §2 deeply nested JSON ----------------------------------------------------------------------


@pytest.mark.parametrize("depth", [40, 100_000])
@pytest.mark.parametrize("layout", ["dump.json", "MANIFEST.json"])
def test_deeply_nested_json_is_a_clear_error(tmp_path, depth, layout, capsys):
    d = tmp_path / "d"
    d.mkdir()
    (d / layout).write_text('{"inputs": ' * (depth - 1) + "[1]" + "}" * (depth - 1))
    with pytest.raises(ValueError, match="is nested too deeply"):
        check("dump", dump=d)
    rc, _, err = _main(["--library", "dump", "--dump", str(d)], capsys)
    assert rc == 2 and "nested too deeply" in err


def test_nested_within_the_limit_reads(tmp_path):
    d = _dump(tmp_path / "d")
    _edit(d, lambda meta: meta.update(extra=[[[[[[[[1]]]]]]]]))  # unknown keys are ignored
    assert check("dump", dump=d).exit_status == 0


# ----- §4 nothing checked is not a PASS ------------------------------------------------------------


def test_unknown_profile_without_library_is_exit_2(capsys):
    rc, out, err = _main(["--profile", "bogus"], capsys)
    assert rc == 2 and "PASS" not in out
    assert "no library has profile 'bogus'; known profiles: " in err
    known = err.split("known profiles: ")[1]
    skipped = re.findall(r"conformance: (\w+): skipped: \w+ has no profile 'bogus'", err)
    assert skipped and all(f"{n}: " in known for n in skipped)  # each library asked is named with its own
    if "ml_dtypes" in skipped:
        assert "ml_dtypes: rne" in known


def test_unknown_profile_for_a_named_library_is_exit_2(capsys):
    rc, out, err = _main(["--library", "mxref", "--profile", "bogus"], capsys)
    assert rc == 2 and "has no profile 'bogus'; its profiles: floor-rne," in err and out == ""


def test_all_unsupported_is_exit_2():
    class NothingFits(C.MxrefAdapter):
        name = "nothing"

        def unsupported(self, t, x):
            return "this library takes no such input"

    rep = check(NothingFits(), formats="mxfp4_e2m1", operations="quantize")
    assert rep.exit_status == 2 and rep.totals()[C.UNSUPPORTED] == sum(rep.totals()) > 0
    assert "all 1200 cases are UNSUPPORTED (nothing: this library takes no such input)" in rep.why_nothing_compared()
    assert "NOTHING CHECKED:" in rep.text() and "\nPASS" not in rep.text()
    assert rep.to_json()["exit_status"] == 2 and rep.to_json()["nothing_compared"]


def test_no_target_matched_is_exit_2(capsys):
    rc, out, err = _main(["--library", "mxref", "--operation", "matmul"], capsys)
    assert rc == 2 and "NOTHING CHECKED" in out
    assert "no case was compared: no target of mxref matches --operation matmul: its targets are encode, " \
           "encode_e8m0, quantize" in err


def test_torchao_nothing_compared_is_exit_2(capsys):
    pytest.importorskip("torchao")
    rc, out, err = _main(["--library", "torchao", "--format", "mxint8"], capsys)
    assert rc == 2 and "PASS" not in out
    assert "no case was compared: all 1200 cases are UNSUPPORTED (torchao: torchao has no MX element dtype for mxint8)" in err
    rc, out, err = _main(["--library", "torchao", "--operation", "encode"], capsys)
    assert rc == 2 and "PASS" not in out and "no target of torchao matches --operation encode" in err


@pytest.mark.parametrize("where", ["missing_dir", "directory"])
def test_json_unwritable_fails_before_the_run(tmp_path, where, capsys):
    path = tmp_path / "no" / "such" / "r.json" if where == "missing_dir" else tmp_path
    rc, out, err = _main(["--library", "mxref", "--json", str(path)], capsys)
    assert rc == 2 and err.startswith("error: --json: ") and out == ""
    assert "conformance: mxref" not in err  # nothing ran
    ok = tmp_path / "fresh.json"  # a writable path: not left behind by the check
    assert json_target_ok(str(ok)) is None and not ok.exists()


def test_dump_without_dump_dir_says_so(capsys):
    rc, out, err = _main(["--library", "dump"], capsys)
    assert rc == 2 and "--library dump needs --dump DIR" in err and out == ""
    with pytest.raises(ValueError, match="needs --dump DIR"):
        check("dump")


# ----- §8 torchao's import-time warnings ------------------------------------------------------------


def test_torchao_import_warnings_are_silenced():
    """A fresh interpreter (torchao not yet imported): every stderr line is the checker's own
    (torchao 0.18 logs "Failed to load ..." per CUDA extension and torch 2.13 a register_constant
    deprecation on import, none of which may reach the checker's output)."""
    pytest.importorskip("torchao")
    r = subprocess.run([sys.executable, "-m", "mxref.conformance", "--library", "torchao", "--format", "mxint8",
                        "--profile", "floor-rne"], capture_output=True, text=True, timeout=300, cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 2, r.stderr  # (mxint8: nothing torchao can take)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert [ln for ln in lines if not ln.startswith(("conformance: ", "error: "))] == []
    assert not re.search(r"Failed to load|register_constant|Warning", r.stderr + r.stdout)
    # mxref's own messages are still there
    assert "conformance: torchao floor-rne: quantize mxint8" in r.stderr
    assert "error: no case was compared" in r.stderr and "Summary" in r.stdout


# ----- §1 known differences are keyed by version ----------------------------------------------------


def _ml_line(got, expected, x=1 + 2**-4 + 2**-40):
    return {"operation": "encode", "format": "fp8_e4m3", "modes": "rounding=rne overflow=nonsaturating from=float64",
            "input_hex": f"0x{int(np.array([x]).view(np.uint64)[0]):016X}", "got": got, "expected": expected}


def test_known_difference_only_on_its_versions():
    # 1 + 2^-4 + 2^-40 into E4M3: 0x39 (above the tie); through float32 (1.0625, a tie): 0x38
    import mxref

    assert mxref.encode(np.array([1 + 2**-4 + 2**-40]), "fp8_e4m3")[0] == 0x39
    assert mxref.encode(np.array([1 + 2**-4 + 2**-40], np.float32), "fp8_e4m3")[0] == 0x38
    d = _ml_line(0x38, 0x39)
    kd = known_difference("ml_dtypes", "0.6.0", d)
    assert kd is not None and kd.id == "float64_rounded_twice" and kd.label == "ml_dtypes < 0.7 (seen on 0.6.0)"
    assert known_difference("ml_dtypes", "0.5.4", d) is kd
    for newer in ("0.7.0", "0.7.1", "1.0", "not a version"):
        assert known_difference("ml_dtypes", newer, d) is None
    assert known_difference("ml_dtypes", "0.6.0", _ml_line(0x3A, 0x39)) is None  # another cause
    assert "no known differences are recorded for this version" in known_differences_note("ml_dtypes", "0.7.0")
    assert known_differences_note("ml_dtypes", "0.6.0") is None
    assert known_differences_note("mxref", "0.1.0") is None  # nothing recorded for it
    e8 = {"operation": "encode_e8m0", "input_hex": f"0x{int(np.array([1.25 * 2.0**-127], np.float32).view(np.uint32)[0]):08X}",
          "got": 1, "expected": 0}
    assert known_difference("ml_dtypes", "0.6.0", e8).id == "e8m0_below_1.5x2^-127"
    assert known_difference("ml_dtypes", "0.7.0", e8) is None
    # every entry has a bounded range and says where it was seen
    labels = {kd.library: kd.label for kd in C.KNOWN_DIFFERENCES
              if kd.library in ("ml_dtypes", "gfloat", "torchao")}
    assert labels == {"ml_dtypes": "ml_dtypes < 0.7 (seen on 0.6.0)", "gfloat": "gfloat 0.5.x (seen on 0.5.2)",
                      "torchao": "torchao 0.18.x (seen on 0.18.0)"}
    assert all("seen on" in kd.label for kd in C.KNOWN_DIFFERENCES)  # the other libraries' too
    assert all(kd.applies(kd.observed) for kd in C.KNOWN_DIFFERENCES)
    assert not any(kd.applies("99.0") for kd in C.KNOWN_DIFFERENCES)


def test_known_note_in_a_report_follows_the_version():
    """The same library output, reported as two versions: annotated on the version the
    difference was seen on, plain MISMATCH (and a run note) on a newer one."""
    class FakeMl(C.MlDtypesAdapter):
        def __init__(self, ver):
            self.ver = ver

        def version(self):
            return self.ver

        def targets(self, profile, level):
            return [C.Target("encode", "fp8_e4m3", profile, dtype="float64", overflow="nonsaturating")]

        def run(self, t, x):  # rounds twice, like ml_dtypes 0.6
            return reference_output(t, x.astype(np.float32))

    old, new = check(FakeMl("0.6.0"), errors=5), check(FakeMl("0.8.0"), errors=5)
    assert old.totals() == new.totals() and old.totals()[C.MISMATCH] > 0
    assert all("[known: ml_dtypes < 0.7 (seen on 0.6.0): float64 casts round" in ln.text for ln in old.mismatch_lines())
    assert not any("[known:" in ln.text for ln in new.mismatch_lines())
    assert any("ml_dtypes 0.8.0: no known differences are recorded" in n for n in new.notes)
    assert not old.notes


# ----- data locations, adapter names, the block size of the cases (issue 13) ------------------------


def test_recordings_default(tmp_path, monkeypatch):
    """--recordings: $MXREF_RECORDINGS, else ../shared/peers/microxcaling from the current
    directory if it exists, else unavailable with a message naming --recordings DIR."""
    from mxref.conformance.adapters.microxcaling import default_recordings

    monkeypatch.delenv("MXREF_RECORDINGS", raising=False)
    (tmp_path / "repo").mkdir()
    monkeypatch.chdir(tmp_path / "repo")
    assert default_recordings() is None
    why = C.MicroxcalingAdapter().availability()
    assert why.startswith("microxcaling recordings not found") and "--recordings DIR" in why
    peers = tmp_path / "shared" / "peers" / "microxcaling"
    peers.mkdir(parents=True)
    assert default_recordings() == Path.cwd() / ".." / "shared" / "peers" / "microxcaling"
    assert "not found at" in C.MicroxcalingAdapter().availability()  # no manifest.json in it
    monkeypatch.setenv("MXREF_RECORDINGS", str(tmp_path / "elsewhere"))
    assert default_recordings() == tmp_path / "elsewhere"
    # --recordings and its alias --microxcaling-dir
    for opt in ("--recordings", "--microxcaling-dir"):
        assert C.main(["--library", "microxcaling", opt, str(tmp_path / "none")]) == 3
    with pytest.raises(ValueError, match="give the recordings directory once"):
        check("microxcaling", recordings=tmp_path / "a", microxcaling_dir=tmp_path / "b")


def test_vectors_default(tmp_path, monkeypatch):
    """--vectors: $MXREF_VECTORS, else ./spec_vectors from the current directory."""
    from mxref.conformance.adapters.spec_vectors import default_vectors

    monkeypatch.delenv("MXREF_VECTORS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_vectors() == (tmp_path / "spec_vectors", None)
    monkeypatch.setenv("MXREF_VECTORS", str(tmp_path / "ref"))
    assert default_vectors() == (tmp_path / "ref", "MXREF_VECTORS")
    d = tmp_path / "d"
    d.mkdir()
    (d / "MANIFEST.json").write_text(json.dumps({"schema_version": 1, "files": []}))
    with pytest.raises(ValueError, match=r"holds no MANIFEST.json"):  # the set the variable names is missing
        check("dump", dump=d)


def test_adapter_names_and_modes(tmp_path):
    """Every registry name is the adapter's own; --library dump picks the spec_vectors adapter
    for a MANIFEST.json-only directory, and --library spec_vectors asks for it by name."""
    from mxref.conformance.adapters import ADAPTERS, MODES

    assert all(cls.name == name for name, cls in ADAPTERS.items())
    assert len({cls.name for cls in ADAPTERS.values()}) == len(ADAPTERS)
    ref = SV
    a = C.DumpAdapter.from_options(dump=ref, vectors=ref)
    b = C.VectorsAdapter.from_options(dump=ref, vectors=ref)
    assert type(a) is type(b) is C.VectorsAdapter and a.name == "spec_vectors" and a.display_name == "dump"
    assert {a.mode(t) for p in a.profiles().values() for t in a.targets(p, 1)} == {"record", "compare"}
    assert C.MxrefAdapter().mode(C.Target("encode", "int8", C.Profile("x"))) == "run"
    assert set(MODES) == {"run", "record", "compare"}
    with pytest.raises(ValueError, match="--library spec_vectors needs --dump DIR"):
        check("spec_vectors")
    assert C.main(["--library", "spec_vectors"]) == 2


def test_cases_block_size_from_target():
    """The MX cases take the target's block size (k = 32 gives the cases they always gave)."""
    t16 = C.Target("quantize", "mxfp8_e4m3", C.Profile("floor-rne"), block_size=16)
    batches = C.cases(t16)
    assert batches[0].shape[1] == 16 and all(b.ndim == 2 for b in batches)
    assert sum(count_cases(t16, b) for b in batches) >= C.LEVEL_MINIMUM[1]["quantize"]
    with pytest.raises(ValueError, match="blocks of at least"):
        C.cases(C.Target("quantize", "mxfp8_e4m3", C.Profile("floor-rne"), block_size=4))
    with pytest.raises(ValueError, match="no generated cases for operation 'decode'"):
        C.cases(C.Target("decode", "fp8_e4m3", C.Profile("exact")))


def test_main_prog(capsys):
    with pytest.raises(SystemExit):
        C.main(["--help"], prog="mxref check")
    out = capsys.readouterr().out
    assert out.startswith("usage: mxref check") and "MXREF_RECORDINGS" in out and "MXREF_VECTORS" in out


def test_quiet_torchao_restores():
    import logging

    from mxref._peer_imports import TORCHAO_LOGGERS, quiet_torchao

    before = [logging.getLogger(n).level for n in TORCHAO_LOGGERS]
    with pytest.raises(ImportError):
        with quiet_torchao():
            assert not logging.getLogger("torchao").isEnabledFor(logging.WARNING)
            assert logging.getLogger("mxref_other").isEnabledFor(logging.WARNING)  # others still show
            import mxref_no_such_module  # noqa: F401
    assert [logging.getLogger(n).level for n in TORCHAO_LOGGERS] == before
