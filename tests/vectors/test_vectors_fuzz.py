"""Fuzz the golden vectors' manifest reader (mxref.vectors.schema.read_manifest) and verifier
(mxref.vectors.verify) with arbitrary bytes, arbitrary JSON and hostile manifest entries (deeply
nested, wrong types, paths like ``../x`` or absolute, wrong sizes): only clean errors come out (ValueError / TypeError from ``read_manifest``; exit status 0 or 1 from
``main``, never an exception), no file of the directory is modified, and no file outside the
directory is opened.

The directory is a small copy (the MX and NVFP4 dequantize files, their scales, elements and
inputs: 9 files) of spec_vectors/, so each example runs the whole verifier in milliseconds."""

import builtins
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from mxref.vectors import schema
from mxref.vectors import verify as verify_vectors

ROOT = Path(__file__).resolve().parents[2]
VEC = ROOT / "spec_vectors"

PATHS = ["mx/mxfp8_e4m3/edge.floor.rne.dequantized.f32.u32", "ext/nvfp4/ragged.exact.pts_amax.dequantized.f32.u32"]
FUZZ = settings(max_examples=100, deadline=None)


@pytest.fixture(scope="module")
def place():
    """(tmp, vectors dir, secret file outside it, the intact manifest)."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        d = tmp / "v"
        m = json.loads((VEC / "MANIFEST.json").read_text())
        by_path = {e["path"]: e for e in m["files"]}
        keep, todo = set(), list(PATHS)
        while todo:
            p = todo.pop()
            if p not in keep:
                keep.add(p)
                todo += by_path[p].get("inputs", [])
        for p in keep:
            (d / p).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(VEC / p, d / p)
        m["files"] = [e for e in m["files"] if e["path"] in keep]
        (d / "SHA256SUMS").write_text("".join(f"{e['sha256']}  {e['path']}\n" for e in m["files"]))
        secret = tmp / "secret.bin"
        secret.write_bytes(b"secret" * 100)
        yield tmp, d, secret, m


def snapshot(d: Path) -> dict:
    return {p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file() and p.name != "MANIFEST.json"}


@contextlib.contextmanager
def opened_files():
    """Every path passed to open() (builtins.open, io.open: pathlib's read_bytes/read_text too)
    while the block runs."""
    seen = []
    real = io.open

    def spy(file, *a, **k):
        if isinstance(file, (str, bytes, os.PathLike)):
            seen.append(os.path.abspath(os.fsdecode(file)))
        return real(file, *a, **k)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(builtins, "open", spy)
        mp.setattr(io, "open", spy)
        yield seen


def run_reader(place, data: bytes):
    """read_manifest on MANIFEST.json = data: the manifest, or the clean error it raised."""
    _, d, _, _ = place
    (d / "MANIFEST.json").write_bytes(data)
    before = snapshot(d)
    with opened_files() as seen:
        try:
            out = schema.read_manifest(d)
        except (ValueError, TypeError) as exc:
            out = exc
    assert snapshot(d) == before
    assert_inside(d, seen)
    return out


def run_main(place, manifest):
    """main on the copy with MANIFEST.json = manifest (an object, or text): (status, output)."""
    _, d, secret, _ = place
    text = manifest if isinstance(manifest, str) else json.dumps(manifest)
    (d / "MANIFEST.json").write_text(text)
    before = snapshot(d)
    buf = io.StringIO()
    with opened_files() as seen, contextlib.redirect_stdout(buf):
        rc = verify_vectors.main([str(d), "--no-regenerate", "--sample", "1"])
    out = buf.getvalue()
    assert rc in (0, 1), out
    last = out.splitlines()[-1]
    assert re.fullmatch(r"\d+ mismatch\(es\) in .* files in the manifest\)", last), out
    assert (rc == 0) == last.startswith("0 mismatch"), out
    assert all(c.isprintable() for c in out.replace("\n", "")), "a control character was printed"
    assert snapshot(d) == before
    assert_inside(d, seen)
    assert secret.read_bytes() == b"secret" * 100
    return rc, out


def assert_inside(d: Path, seen):
    top = d.resolve()
    for p in seen:
        if p.endswith((".py", ".pyc")):  # a lazy import of mxref's own code
            continue
        real = Path(p).resolve()
        assert real == top or top in real.parents, f"opened {p}, outside {d}"


# ----- arbitrary bytes, arbitrary JSON, deep nesting -----------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=20,
)


@FUZZ
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes(place, data):
    out = run_reader(place, data)
    assert isinstance(out, (ValueError, TypeError, dict))


@FUZZ
@given(value=json_values)
def test_arbitrary_json(place, value):
    out = run_reader(place, json.dumps(value).encode())
    assert isinstance(out, (ValueError, TypeError))  # none of these is a manifest


@FUZZ
@given(depth=st.integers(1, 200_000), opener=st.sampled_from(["[", '{"a": ', '{"files": [']))
def test_deeply_nested_json(place, depth, opener):
    closer = {"[": "]", '{"a": ': "}", '{"files": [': "]}"}[opener]
    out = run_reader(place, (opener * depth + "0" + closer * depth).encode())
    assert isinstance(out, ValueError)
    if depth > 10_000:
        assert "nested too deeply" in str(out)


# ----- hostile values in a manifest that is otherwise the real one ---------------------------------

FIELDS = ["path", "sha256", "size", "dtype", "shape", "role", "operation", "format", "modes", "inputs",
          "block_size", "axis"]


def hostile_paths(secret: Path):
    return ["../secret.bin", str(secret), "/etc/passwd", "decode/../../secret.bin", "./MANIFEST.json", "",
            "a//b", "a/./b", "..", "MANIFEST.json", "SHA256SUMS", "x\x1b[31m", "nul\x00", "\\..\\secret.bin",
            "C:/secret.bin", "~/secret.bin", "a" * 5000]


@st.composite
def mutations(draw, secret, m):
    """A copy of manifest m with 1-3 hostile edits: a field of an entry, an entry itself, or a
    top-level field."""
    m = json.loads(json.dumps(m))
    paths = hostile_paths(secret)
    value = (st.sampled_from(paths) | json_values | st.integers(-2**70, 2**70)
             | st.lists(st.integers(-2**64, 2**64), max_size=10) | st.lists(st.sampled_from(paths), max_size=3))
    entries = [e for e in m["files"]]
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(m["files"]) - 1))
        how = draw(st.sampled_from(["plausible", "plausible", "hostile", "delete", "entry"]))
        if how != "entry" and isinstance(m["files"][i], dict):  # a field of an entry
            key = draw(st.sampled_from(FIELDS))
            if how == "delete" and key in m["files"][i]:
                del m["files"][i][key]
            elif how == "plausible":  # a value of the right type: another entry's, or near it
                other = draw(st.sampled_from(entries))
                v = other.get(key, 0)
                if isinstance(v, int) and not isinstance(v, bool):
                    v = draw(st.sampled_from([v, v + 1, v - 1, 0, 1, 2**40, -1, 10**6]))
                elif isinstance(v, list) and v and all(isinstance(x, int) for x in v):
                    v = draw(st.permutations(v)) + draw(st.lists(st.integers(0, 64), max_size=2))
                elif isinstance(v, dict) and v:
                    v = dict(v)
                    k = draw(st.sampled_from(sorted(v)))
                    if draw(st.booleans()):
                        del v[k]
                    else:
                        v[k] = draw(st.sampled_from([0, 1, 33, -1, "rne", "floor", "stochastic", "amax", None, True]))
                m["files"][i][key] = json.loads(json.dumps(v))
            else:
                m["files"][i][key] = draw(value)
        else:  # the entry itself
            m["files"][i] = draw(json_values)
    if draw(st.booleans()):  # and perhaps a top-level field (files too)
        m[draw(st.sampled_from(sorted(schema.TOP_KEYS)))] = draw(value)
    return m


def test_the_copy_verifies(place):
    _, _, _, m = place
    rc, out = run_main(place, m)
    assert rc == 0, out


@FUZZ
@given(data=st.data())
def test_hostile_manifest_entries(place, data):
    _, _, secret, m = place
    bad = data.draw(mutations(secret, m))
    rc, out = run_main(place, bad)
    event("refused by the manifest reader" if "MISMATCH MANIFEST.json" in out
          else "a check could not run" if "cannot check" in out else f"read; exit status {rc}")
    files = bad["files"] if isinstance(bad["files"], list) else []
    outside = [e for e in files if isinstance(e, dict) and isinstance(e.get("path"), str)
               and e["path"] in hostile_paths(secret)]
    if outside:
        assert rc == 1 and "MISMATCH MANIFEST.json" in out


@FUZZ
@given(value=json_values, depth=st.integers(1, 50_000))
def test_nested_values_inside_a_real_manifest(place, value, depth):
    _, _, _, m = place
    text = json.dumps(dict(m, spec=value))
    text = text[:-1] + ', "extra": ' + "[" * depth + "]" * depth + "}"
    rc, out = run_main(place, text)
    if depth > 10_000:
        assert rc == 1 and "nested too deeply" in out
