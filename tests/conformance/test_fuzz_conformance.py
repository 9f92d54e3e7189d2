"""Fuzzing the conformance checker's readers (issue 12 §9): arbitrary bytes and arbitrary JSON --
deeply nested, wrong types, names with '..', absolute paths, symlinks out, control characters --
as dump.json (DumpAdapter) and as a spec_vectors-layout MANIFEST.json (VectorsAdapter), through
``check`` and through ``main``.

Each example asserts: only ValueError / TypeError come out of ``check`` (``main`` returns 0, 1 or
2 and raises nothing); no file outside the dump directory and the reference set is opened (an
audit hook sees every ``open``); the files in the directory are unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mxref import conformance as C

ROOT = Path(__file__).resolve().parents[2]
SV = ROOT / "spec_vectors"
SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# ----- every open() while a reader runs -------------------------------------------------------------

_OPENED: list | None = None


def _audit(event, args):
    if event == "open" and _OPENED is not None and args and isinstance(args[0], (str, bytes, Path)):
        _OPENED.append(str(args[0] if not isinstance(args[0], bytes) else args[0].decode(errors="replace")))


sys.addaudithook(_audit)


@contextlib.contextmanager
def _watch_opens():
    global _OPENED
    _OPENED = []
    try:
        yield _OPENED
    finally:
        _OPENED = None


# ----- the world an example runs in ----------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """outside/: files no dump may read; ref/: a small reference set in the spec_vectors layout."""
    base = tmp_path_factory.mktemp("fuzzconf")
    out = base / "outside"
    out.mkdir()
    np.save(out / "secret.npy", np.zeros((2, 64), np.float32))
    (out / "secret.json").write_text(json.dumps({"files": []}))
    ref = base / "ref"
    full = json.loads((SV / "MANIFEST.json").read_text())
    keep = {"decode/fp4_e2m1.f32.u32", "decode/fp4_e2m1.codes.u8"}
    (ref / "decode").mkdir(parents=True)
    (ref / "MANIFEST.json").write_text(json.dumps(dict(full, files=[e for e in full["files"] if e["path"] in keep])))
    for p in keep:
        shutil.copyfile(SV / p, ref / p)
    return {"base": base, "outside": out, "ref": ref, "n": [0]}


def _fresh(world, link_expected: bool = False) -> Path:
    world["n"][0] += 1
    d = world["base"] / f"d{world['n'][0]}"
    d.mkdir()
    np.save(d / "inputs.npy", np.linspace(-2, 2, 128, dtype=np.float32).reshape(2, 64))
    np.save(d / "v.npy", np.zeros((2, 64), np.float32))
    (d / "decode").mkdir()
    if link_expected:  # the expected file the manifest names is a symlink out of the directory
        shutil.copyfile(SV / "decode/fp4_e2m1.f32.u32", world["outside"] / "expected.u32")
        (d / "decode/fp4_e2m1.f32.u32").symlink_to(world["outside"] / "expected.u32")
        shutil.copyfile(SV / "decode/fp4_e2m1.codes.u8", world["outside"] / "codes.u8")
        (d / "decode/fp4_e2m1.codes.u8").symlink_to(world["outside"] / "codes.u8")
    else:
        shutil.copyfile(SV / "decode/fp4_e2m1.f32.u32", d / "decode/fp4_e2m1.f32.u32")
    (d / "link.npy").symlink_to(world["outside"] / "secret.npy")
    (d / "decode" / "link.u32").symlink_to(world["outside"] / "secret.npy")
    return d


def _digest(d: Path) -> dict:
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file() and not p.is_symlink()}


def _allowed(path: str, d: Path, world) -> bool:
    p = Path(path)
    if not p.is_absolute():
        return True  # relative to the cwd (the checkout): imports, not the dump
    rp = p.resolve()
    if rp.is_relative_to(world["outside"].resolve()):
        return False
    return True


def _run(world, d: Path, name: str, text: bytes):
    """Write ``name`` and run check() and main() on d; the assertions of the module docstring."""
    (d / name).write_bytes(text)
    before = _digest(d)
    with _watch_opens() as opened:
        try:
            C.check("dump", dump=d, vectors=world["ref"])
        except (ValueError, TypeError) as exc:
            assert str(exc)  # a message, naming what is wrong
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            rc = C.main(["--library", "dump", "--dump", str(d), "--vectors", str(world["ref"])])
        assert rc in (0, 1, 2), sink.getvalue()[-2000:]
        assert "Traceback" not in sink.getvalue()
        assert "\x1b" not in sink.getvalue()
    bad = [p for p in opened if not _allowed(p, d, world)]
    assert not bad, bad
    assert _digest(d) == before


# ----- strategies ---------------------------------------------------------------------------------


def _names(world):
    """File names: mostly hostile ones (out of the directory, control characters), some fine."""
    secret = str(world["outside"] / "secret.npy")
    out = st.sampled_from(["link.npy", "../outside/secret.npy", secret, "sub/../../outside/secret.npy",
                           "decode/link.u32", "//" + secret.lstrip("/")])
    return out | out | st.sampled_from([
        "inputs.npy", "v.npy", "link.npy", "decode/link.u32", "../outside/secret.npy", secret, "/etc/passwd",
        "./inputs.npy", "sub/../../outside/secret.npy", "..", ".", "", "inputs.npy\x00", "v\x1b[2J.npy",
        "decode/fp4_e2m1.f32.u32", "decode/fp4_e2m1.codes.u8", "C:\\x.npy", "\\\\server\\x", "missing.npy",
        "a" * 300, "inputs.npy/", "//etc/passwd",
    ]) | st.text(max_size=12)


_scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True)
            | st.text(max_size=8) | st.sampled_from(["\x1b]0;x\x07", "\u202e", "\r\n", "mxfp8_e4m3", "floor", "rne"]))
_json = st.recursive(_scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
                     max_leaves=12)


def _nest(value, depth: int, kind: str):
    s = json.dumps(value)
    return ("[" * depth + s + "]" * depth) if kind == "list" else ('{"a": ' * depth + s + "}" * depth)


_DUMP_KEYS = ("inputs", "outputs", "block_size", "axis", "library", "version")
_OUTPUT_KEYS = ("format", "scale_rule", "rounding", "scales", "elements", "values", "packing", "options")


def _dump_json(world):
    """A valid dump.json with one to three fields replaced by hostile values (so that the reader
    gets as far as opening files), or any JSON at all."""
    name = _names(world)
    value = name | _json | st.sampled_from([32, -1, 0, 10**30, 2**17, True, "mxfp4_e2m1", "fp4_low_first",
                                            {"zero_scale": 1}, {"colour": 1}, [], {}])

    @st.composite
    def mutated(draw):
        meta = {"library": "fuzz", "version": "1", "inputs": "inputs.npy", "block_size": 32, "axis": -1,
                "outputs": [{"format": "mxfp8_e4m3", "scale_rule": "floor", "rounding": "rne", "values": "v.npy"}]}
        if draw(st.booleans()):  # a file name, often one that leads out
            where = draw(st.sampled_from(["inputs", "scales", "elements", "values"]))
            (meta if where == "inputs" else meta["outputs"][0])[where] = draw(name)
        for _ in range(draw(st.integers(0, 2))):
            if draw(st.booleans()):
                key = draw(st.sampled_from(_DUMP_KEYS))
                if draw(st.integers(0, 4)) == 0:
                    meta.pop(key, None)
                else:
                    meta[key] = draw(value)
            elif isinstance(meta.get("outputs"), list) and meta["outputs"] and isinstance(meta["outputs"][0], dict):
                meta["outputs"][0][draw(st.sampled_from(_OUTPUT_KEYS))] = draw(value)
        return meta

    return st.one_of(mutated(), mutated(), mutated(), _json)


def _manifest_json(world):
    """The reference set's manifest (or a part of it) with fields of its entries replaced by hostile
    values, or any JSON at all."""
    ref = json.loads((world["ref"] / "MANIFEST.json").read_text())
    value = _names(world) | _json | st.lists(_names(world), max_size=2) | st.sampled_from(
        ["input", "expected", "decode", "quantize", "matmul", "<u4", "|u1", "text", [16], [2**64], [-1], [], {}])
    keys = ("path", "role", "operation", "dtype", "shape", "inputs", "format", "modes", "sha256")

    @st.composite
    def mutated(draw):
        m = json.loads(json.dumps(ref))
        for _ in range(draw(st.integers(0, 3))):
            r = draw(st.integers(0, 9))
            if r == 0:
                m[draw(st.sampled_from(["schema_version", "library", "version", "files"]))] = draw(value)
            elif isinstance(m.get("files"), list) and m["files"] and isinstance(m["files"][0], dict):
                e = m["files"][draw(st.integers(0, len(m["files"]) - 1))]
                if isinstance(e, dict):
                    e[draw(st.sampled_from(keys))] = draw(value)
        return m

    return st.one_of(mutated(), mutated(), mutated(), _json)


# ----- the tests ----------------------------------------------------------------------------------


@SETTINGS
@given(data=st.data())
def test_fuzz_dump_json(world, data):
    d = _fresh(world)
    doc = data.draw(_dump_json(world), label="dump.json")
    text = json.dumps(doc)
    if data.draw(st.integers(0, 4), label="nest it") == 0:
        text = _nest(doc, data.draw(st.sampled_from([30, 40, 3000, 200_000]), label="depth"),
                     data.draw(st.sampled_from(["list", "dict"])))
    _run(world, d, "dump.json", text.encode())


@SETTINGS
@given(data=st.data())
def test_fuzz_manifest_json(world, data):
    d = _fresh(world, link_expected=data.draw(st.booleans(), label="expected file a symlink out"))
    doc = data.draw(_manifest_json(world), label="MANIFEST.json")
    text = json.dumps(doc)
    if data.draw(st.integers(0, 4), label="nest it") == 0:
        text = _nest(doc, data.draw(st.sampled_from([40, 200_000])), data.draw(st.sampled_from(["list", "dict"])))
    _run(world, d, "MANIFEST.json", text.encode())


@SETTINGS
@given(raw=st.binary(max_size=300), which=st.sampled_from(["dump.json", "MANIFEST.json", "inputs.npy", "v.npy"]))
def test_fuzz_arbitrary_bytes(world, raw, which):
    d = _fresh(world)
    if which.endswith(".npy"):  # a valid dump.json naming the file, whose bytes are arbitrary
        meta = {"inputs": "inputs.npy", "outputs": [{"format": "mxfp8_e4m3", "values": "v.npy"}]}
        (d / "dump.json").write_text(json.dumps(meta))
        raw = data_prefix(raw)
    _run(world, d, which, raw)


def data_prefix(raw: bytes) -> bytes:
    """Half the examples start like a .npy file (magic, version), so that the header parser runs."""
    return b"\x93NUMPY\x01\x00" + raw if raw[:1] in (b"", b"\x00", b"{") or len(raw) % 2 else raw


def test_fuzz_npy_header_claims():
    """A .npy header whose shape is far larger than its data (no allocation of the claim)."""
    import tempfile

    with tempfile.TemporaryDirectory() as t:
        d = Path(t)
        np.save(d / "inputs.npy", np.zeros((2, 64), np.float32))
        raw = (d / "inputs.npy").read_bytes()
        i = raw.index(b"(2, 64)")
        (d / "inputs.npy").write_bytes(raw[:i] + b"(99999999999, 99999)" + raw[i + 7:])
        (d / "dump.json").write_text(json.dumps({"inputs": "inputs.npy", "outputs": [
            {"format": "mxfp8_e4m3", "values": "inputs.npy"}]}))
        with pytest.raises(ValueError, match="is not a readable .npy .*its header says"):
            C.check("dump", dump=d)
