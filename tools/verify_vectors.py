#!/usr/bin/env python3
"""Verify a golden-vector directory (spec_vectors/ by default) against its manifest, its sums, a
fresh regeneration, and mxref's slow exact reference.

    python tools/verify_vectors.py                  # spec_vectors/ of this checkout
    python tools/verify_vectors.py DIR              # another set (e.g. a level-2 set)
    python tools/verify_vectors.py --sample 0       # reference-check every expected value (slow)
    python tools/verify_vectors.py --no-regenerate  # skip step 3 (e.g. a copy edited by hand)

One line per problem (what, which file, got, expected, in hex where it applies), then a count;
exit status 1 on any problem, 0 when everything matches, 2 for a bad command line. Checks, in
order:
  1. MANIFEST.json parses and has the schema's fields with the right types; every path is a
     plain relative path inside DIR (no absolute path, no "..", no symbolic link leaving DIR);
     SHA256SUMS has one well-formed line for every file of the manifest and none for any other;
     no file is missing or unlisted.
  2. every file's size, sha256 (against both the manifest and SHA256SUMS), and dtype x shape
     agree with the manifest.
  3. a fresh run of tools/gen_vectors.py (same level, into a temporary directory) produces
     identical bytes for every file, the manifest and SHA256SUMS included.
  4. every expected file is checked against ``mxref.reference`` (slow, exact, written straight
     from the spec; the fast path that generated the vectors is not consulted): every line of
     the text vectors (*.tv, matmul *.exact.txt) and a seeded sample of every binary expected
     file (``--sample`` values or blocks per file, 0 = all). Each kind of expected file
     (operation x file type: decode, encode, encode_e8m0, quantize scales+elements, dequantize,
     matmul, pack, swizzle_scales, and the NVFP4 extension's quantize and dequantize) has its
     own check; an expected file of a kind without a check is reported, never skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
from fractions import Fraction

ROOT = Path(__file__).resolve().parents[1]
try:
    import mxref
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))
    import mxref
from mxref import reference

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_vectors  # noqa: E402

DTYPES = {"|u1": np.uint8, "<u2": np.dtype("<u2"), "<u4": np.dtype("<u4")}
FIXED = {"MANIFEST.json", "SHA256SUMS", "README.md"}
TOP_KEYS = {"schema_version", "generator", "mxref_version", "seed", "level", "spec", "files"}
FILE_KEYS = {"path", "sha256", "size", "dtype", "shape", "role", "operation"}
ROLES = ("input", "expected")
#: a path of the layout: relative, "/"-separated names of letters, digits, "_", "-", "."
PATH_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*")
NAME_RE = re.compile(r"[A-Za-z0-9_]+( x [A-Za-z0-9_]+)?")  # a format, or "A x B" of a matmul
SHA_RE = re.compile(r"[0-9a-f]{64}")
MAX_MANIFEST_BYTES = 64 << 20
MAX_NDIM = 8


def printable(s) -> str:
    """s with every character that is not printable (terminal control characters included)
    written as a \\x / \\u escape."""
    s = str(s)
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in s)


class Report:
    def __init__(self):
        self.n = 0

    def bad(self, what: str):
        self.n += 1
        print(f"MISMATCH {printable(what)}")


def inside(root: Path, rel: str) -> Path:
    """root / rel, refused (ValueError) unless it stays inside root once symbolic links are
    resolved. rel is a manifest path (already checked against PATH_RE) or a fixed name."""
    if not PATH_RE.fullmatch(rel) or any(part in (".", "..") for part in rel.split("/")):
        raise ValueError(f"{rel!r} is not a plain relative path")
    f = root / rel
    try:
        real, top = f.resolve(), root.resolve()
    except (OSError, RuntimeError) as exc:  # a symbolic link loop
        raise ValueError(f"{rel}: {exc}") from None
    if real != top and top not in real.parents:
        raise ValueError(f"{rel} leaves the directory (a symbolic link to {real})")
    return f


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_entry(i: int, e, paths: set):
    """ValueError naming entry i and the field when a manifest file entry is malformed."""
    if not isinstance(e, dict):
        raise ValueError(f"file entry {i} is a {type(e).__name__}, not an object")
    if not FILE_KEYS <= set(e):
        raise ValueError(f"file entry {i} lacks {sorted(FILE_KEYS - set(e))}")
    p = e["path"]
    where = f"file entry {i}"
    if not isinstance(p, str) or not PATH_RE.fullmatch(p) or any(s in (".", "..") for s in p.split("/")):
        raise ValueError(f"{where}: path {p!r} is not a plain relative path (names of letters, digits, "
                         "'_', '-', '.', separated by '/'; no absolute path, no '..')")
    if p in FIXED:
        raise ValueError(f"{where}: path {p!r} is one of the fixed files {sorted(FIXED)}")
    if p in paths:
        raise ValueError(f"{where}: path {p} is listed twice")
    where = f"file entry {i} ({p})"
    if not isinstance(e["sha256"], str) or not SHA_RE.fullmatch(e["sha256"]):
        raise ValueError(f"{where}: sha256 {e['sha256']!r} is not 64 lowercase hex digits")
    if not _is_int(e["size"]) or e["size"] < 0:
        raise ValueError(f"{where}: size {e['size']!r} is not a non-negative integer")
    if not isinstance(e["dtype"], str) or (e["dtype"] != "text" and e["dtype"] not in DTYPES):
        raise ValueError(f"{where}: dtype {e['dtype']!r} is not one of {sorted(DTYPES) + ['text']}")
    sh = e["shape"]
    if (not isinstance(sh, list) or len(sh) > MAX_NDIM or not all(_is_int(d) and d >= 0 for d in sh)
            or (e["dtype"] == "text" and sh)):
        raise ValueError(f"{where}: shape {sh!r} is not a list of at most {MAX_NDIM} non-negative integers "
                         "(empty for text)")
    if not isinstance(e["role"], str) or e["role"] not in ROLES:
        raise ValueError(f"{where}: role {e['role']!r} is not one of {list(ROLES)}")
    for key in ("operation", "format"):
        if key in e and (not isinstance(e[key], str) or not NAME_RE.fullmatch(e[key])):
            raise ValueError(f"{where}: {key} {e[key]!r} is not a name")
    if "modes" in e and not isinstance(e["modes"], dict):
        raise ValueError(f"{where}: modes is a {type(e['modes']).__name__}, not an object")
    for key in ("block_size", "axis"):
        if key in e and (not _is_int(e[key]) or (key == "block_size" and e[key] <= 0)):
            raise ValueError(f"{where}: {key} {e[key]!r} is not a{' positive' if key == 'block_size' else 'n'} integer")
    ins = e.get("inputs", [])
    if not isinstance(ins, list) or not all(isinstance(q, str) for q in ins):
        raise ValueError(f"{where}: inputs is not a list of paths")


def read_manifest(root: Path) -> dict:
    """MANIFEST.json of root, parsed and checked: the top-level fields, and every file entry's
    fields and types (paths plain, relative and unique; every input a listed path). Raises
    ValueError naming the problem (unreadable, not JSON, nested too deeply, a wrong field)."""
    try:
        f = inside(root, "MANIFEST.json")
        with open(f, "rb") as fh:
            data = fh.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"unreadable ({exc.strerror or exc})") from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise ValueError(f"larger than {MAX_MANIFEST_BYTES >> 20} MiB")
    try:
        m = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise ValueError("unreadable (JSON nested too deeply)") from None
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ValueError(f"unreadable ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(m, dict):
        raise ValueError(f"the top level is a {type(m).__name__}, not an object")
    if not TOP_KEYS <= set(m):
        raise ValueError(f"missing fields {sorted(TOP_KEYS - set(m))}")
    if not _is_int(m["schema_version"]) or m["schema_version"] != gen_vectors.SCHEMA_VERSION:
        raise ValueError(f"schema_version {m['schema_version']!r}, this verifier reads {gen_vectors.SCHEMA_VERSION}")
    if not _is_int(m["level"]) or m["level"] not in gen_vectors.LEVELS:
        raise ValueError(f"level {m['level']!r} is not one of {sorted(gen_vectors.LEVELS)}")
    if not isinstance(m["generator"], str):
        raise ValueError(f"generator is a {type(m['generator']).__name__}, not a string")
    if not isinstance(m["files"], list):
        raise ValueError(f"files is a {type(m['files']).__name__}, not a list")
    paths = set()
    for i, e in enumerate(m["files"]):
        _check_entry(i, e, paths)
        paths.add(e["path"])
    for e in m["files"]:
        for q in e.get("inputs", []):
            if q not in paths:
                raise ValueError(f"{e['path']}: input {q!r} is not a file of the manifest")
    return m


def load_manifest(root: Path, rep: Report):
    try:
        return read_manifest(root)
    except (ValueError, TypeError) as exc:
        rep.bad(f"MANIFEST.json: {exc}")
        return None


def read_sums(root: Path, rep: Report) -> dict | None:
    """{path: sha256} from SHA256SUMS (``sha256sum`` format), one MISMATCH per malformed or
    repeated line; None when the file cannot be read."""
    try:
        text = inside(root, "SHA256SUMS").read_bytes().decode("utf-8")
    except (OSError, ValueError) as exc:
        rep.bad(f"SHA256SUMS: unreadable ({getattr(exc, 'strerror', None) or exc})")
        return None
    sums = {}
    for ln, line in enumerate(text.splitlines(), 1):
        h, sep, p = line[:64], line[64:66], line[66:]
        if not SHA_RE.fullmatch(h) or sep not in ("  ", " *") or not p:
            rep.bad(f"SHA256SUMS:{ln}: not '<sha256>  <path>': {line[:120]!r}")
        elif p in sums:
            rep.bad(f"SHA256SUMS:{ln}: {p} listed twice")
        else:
            sums[p] = h
    return sums


def disk_files(root: Path) -> set[str]:
    """Every file under root as a relative "/" path, without following symbolic links to
    directories (a link to a directory is listed as itself)."""
    out = set()
    for d, dirs, files in os.walk(root):
        rel = Path(d).relative_to(root)
        out.update((rel / f).as_posix() for f in files)
        out.update((rel / x).as_posix() for x in dirs if (Path(d) / x).is_symlink())
    return out


def check_files(root: Path, m: dict, rep: Report) -> dict:
    """Steps 1-2. Returns {path: bytes} of the files that are intact (size and type; a wrong
    sha256 is reported and the file still checked value by value in step 4)."""
    listed = {e["path"]: e for e in m["files"]}
    for p in sorted(disk_files(root) - set(listed) - FIXED):
        rep.bad(f"{p}: on disk but not in MANIFEST.json")
    sums = read_sums(root, rep)
    if sums is not None:
        if not sums and listed:
            rep.bad(f"SHA256SUMS: lists no file; the {len(listed)} files of MANIFEST.json have no sum")
        else:
            for p in sorted(set(listed) - set(sums)):
                rep.bad(f"{p}: in MANIFEST.json but has no sum in SHA256SUMS")
        for p in sorted(set(sums) - set(listed)):
            rep.bad(f"{p}: has a sum in SHA256SUMS but is not in MANIFEST.json")
    sums = sums or {}
    good = {}
    for p, e in sorted(listed.items()):
        try:
            f = inside(root, p)
        except ValueError as exc:
            rep.bad(f"{p}: not read: {exc}")
            continue
        if not f.is_file():
            rep.bad(f"{p}: missing")
            continue
        data = f.read_bytes()
        h = hashlib.sha256(data).hexdigest()
        if len(data) != e["size"]:
            rep.bad(f"{p}: size {len(data)}, manifest says {e['size']}")
            continue
        if h != e["sha256"] or (p in sums and sums[p] != h):  # still checked value by value below
            rep.bad(f"{p}: sha256 {h[:16]}..., manifest {e['sha256'][:16]}..., SHA256SUMS {sums.get(p, '-')[:16]}...")
        if e["dtype"] != "text" and math.prod(e["shape"]) * np.dtype(DTYPES[e["dtype"]]).itemsize != len(data):
            rep.bad(f"{p}: dtype {e['dtype']} x shape {e['shape']} does not give {len(data)} bytes")
            continue
        if e["dtype"] == "text":
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                rep.bad(f"{p}: not UTF-8 text ({exc})")
                continue
        good[p] = data
    return good


def check_regenerate(root: Path, m: dict, rep: Report):
    """Step 3."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = gen_vectors.generate(Path(tmp), m["level"])
        for name in ("MANIFEST.json", "SHA256SUMS"):
            b = Path(tmp) / name
            try:
                same = inside(root, name).read_bytes() == b.read_bytes()
            except (OSError, ValueError):
                same = False
            if not same:
                rep.bad(f"{name}: differs from a fresh `{m['generator']}`")
        for e in fresh:
            b = Path(tmp) / e["path"]
            try:
                a = inside(root, e["path"])
            except ValueError:
                continue  # reported in step 2
            if not a.is_file():
                continue  # reported in step 2
            x, y = a.read_bytes(), b.read_bytes()
            if x != y:
                i = next((j for j in range(min(len(x), len(y))) if x[j] != y[j]), min(len(x), len(y)))
                rep.bad(f"{e['path']}: regenerated bytes differ first at byte {i} "
                        f"(file {x[i:i + 4].hex() or '-'}, fresh {y[i:i + 4].hex() or '-'})")


def _arr(data: bytes, e: dict) -> np.ndarray:
    return np.frombuffer(data, DTYPES[e["dtype"]]).reshape(e["shape"])


def _sample(n: int, k: int, key: str) -> np.ndarray:
    if k == 0 or k >= n:
        return np.arange(n)
    rng = np.random.Generator(np.random.PCG64(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")))
    return np.sort(rng.choice(n, size=k, replace=False))


def _sampled_blocks(shape, k: int, sample: int, key: str):
    """(row, block, slice) of a seeded sample of the blocks of k along the last axis of shape."""
    rows, L = shape
    nb = -(-L // k)
    blocks = [(r, b) for r in range(rows) for b in range(nb)]
    for j in _sample(len(blocks), sample, key):
        r, b = blocks[j]
        yield r, b, slice(b * k, min(L, (b + 1) * k))


def _f32(b) -> float:
    return float(np.uint32(b).view(np.float32))


#: file types of expected files, longest first: the part of the name after the base
FILE_TYPES = ("dequantized.f32.u32", "per_tensor_scale.f32.u32", "scales.u8", "elements.u8", "exact.txt",
              "f32.u32", "tv", "u8")


def kind_of(e: dict) -> tuple[str, str]:
    """(operation, file type) of a manifest entry: the key of CHECKS."""
    name = e["path"].rsplit("/", 1)[-1]
    t = next((t for t in FILE_TYPES if name.endswith("." + t)), name.rsplit(".", 1)[-1])
    return e["operation"], t


class Ctx:
    """What a reference check reads: the manifest's entries by path and the intact files."""

    def __init__(self, m: dict, good: dict, rep: Report, sample: int):
        self.by_path = {e["path"]: e for e in m["files"]}
        self.good, self.rep, self.sample = good, rep, sample

    def arr(self, p: str) -> np.ndarray:
        return _arr(self.good[p], self.by_path[p])

    def ins(self, e: dict) -> list:
        return [self.arr(q) for q in e.get("inputs", [])]


def check_reference(root: Path, m: dict, good: dict, rep: Report, sample: int) -> int:
    """Step 4: every expected file against mxref.reference, by kind (CHECKS). Returns how many
    expected files were checked."""
    ctx = Ctx(m, good, rep, sample)
    n = 0
    for e in m["files"]:
        p = e["path"]
        if e["role"] != "expected":
            continue
        kind = kind_of(e)
        check = CHECKS.get(kind)
        if check is None:
            rep.bad(f"{p}: not checked: no reference check for operation {kind[0]!r} with file type "
                    f"'.{kind[1]}' (known kinds: {', '.join(f'{o}/.{t}' for o, t in sorted(CHECKS))})")
            continue
        if p not in good:
            continue  # reported in step 2
        lost = [q for q in e.get("inputs", []) if q not in good]
        if lost:
            rep.bad(f"{p}: not checked against the reference: its input {lost[0]} is missing or damaged")
            continue
        try:
            check(ctx, e)
        except Exception as exc:  # a malformed entry is a finding, not a crash
            rep.bad(f"{p}: cannot check against the reference ({type(exc).__name__}: {str(exc)[:200]})")
            continue
        n += 1
    return n


def _need_axis_last(e: dict):
    if e.get("axis", -1) != -1:
        raise ValueError(f"axis {e['axis']} (this verifier reads blocks along the last axis, axis -1)")


def _same_f32(g: int, want) -> bool:
    """float32 bits g equal to the reference value want (a float or numpy float32): bit for bit
    (the sign of zero included), any NaN for a NaN."""
    v, w = _f32(g), float(want)
    if math.isnan(w):
        return math.isnan(v)
    return v == w and math.copysign(1, v) == math.copysign(1, w)


def check_decode(ctx: Ctx, e: dict):
    p, fmt = e["path"], e["format"]
    (codes,), got = ctx.ins(e), ctx.arr(p)
    codes, got = codes.reshape(-1), got.reshape(-1)
    if codes.size != got.size:
        raise ValueError(f"{codes.size} codes, {got.size} values")
    for i in _sample(got.size, ctx.sample, p):
        c = int(codes[i])
        want = reference.decode_scalar(c, fmt)
        if not _same_f32(int(got[i]), want):
            ctx.rep.bad(f"{p}[{i}]: decode {fmt} {c:02X} got {int(got[i]):08X} ({_f32(got[i])!r}), expected {want!r}")


def check_encode(ctx: Ctx, e: dict):
    p, fmt, modes = e["path"], e["format"], e["modes"]
    ins, got = ctx.ins(e), ctx.arr(p).reshape(-1)
    x = ins[0].reshape(-1)
    if x.size != got.size:
        raise ValueError(f"{x.size} inputs, {got.size} codes")
    for i in _sample(got.size, ctx.sample, p):
        kw = dict(rounding=modes["rounding"], overflow=modes["overflow"])
        if modes["rounding"] == "stochastic":
            kw.update(random_bits=int(ins[1].reshape(-1)[i]), random_bit_count=modes["random_bit_count"])
        want = reference.encode_scalar(_f32(x[i]), fmt, **kw)
        if int(got[i]) != want:
            ctx.rep.bad(f"{p}[{i}]: encode {fmt} {modes} {int(x[i]):08X} got {int(got[i]):02X}, expected {want:02X}")


def check_encode_e8m0(ctx: Ctx, e: dict):
    p, modes = e["path"], e["modes"]
    (x,), got = ctx.ins(e), ctx.arr(p).reshape(-1)
    x = x.reshape(-1)
    if x.size != got.size:
        raise ValueError(f"{x.size} inputs, {got.size} codes")
    for i in _sample(got.size, ctx.sample, p):
        want = reference.encode_e8m0_scalar(_f32(x[i]), rounding=modes["rounding"], overflow=modes["overflow"])
        if int(got[i]) != want:
            ctx.rep.bad(f"{p}[{i}]: encode_e8m0 {modes} {int(x[i]):08X} got {int(got[i]):02X}, expected {want:02X}")


def check_quantize_entry(ctx: Ctx, e: dict):
    _need_axis_last(e)
    check_quantize(e["path"], e, ctx.ins(e), ctx.good, ctx.by_path, ctx.rep, ctx.sample)


def check_nvfp4_entry(ctx: Ctx, e: dict):
    _need_axis_last(e)
    check_nvfp4(e["path"], e, ctx.ins(e)[0], ctx.good, ctx.by_path, ctx.rep, ctx.sample)


def checked_with_scales(ctx: Ctx, e: dict):
    """elements.u8 / per_tensor_scale.f32.u32 of a quantize: checked, block by block, together
    with the scales file of the same base name (its check reads them); an error if that is not
    an expected file of the same operation in the manifest."""
    p = e["path"]
    base = p[: -len("." + kind_of(e)[1])]
    s = ctx.by_path.get(base + ".scales.u8")
    if s is None or s["role"] != "expected" or s["operation"] != e["operation"]:
        raise ValueError(f"no expected {e['operation']} file {base}.scales.u8 to check it with")
    # the scales file's own check compares this file (or reports why it could not)


def check_dequantize(ctx: Ctx, e: dict):
    """X * P_i of each element (MX §5.1): X = 2^(scale code - 127), NaN for scale 0xFF; an
    element's NaN / Inf code stays NaN / Inf; the exact product rounded once to float32 (RNE;
    2^128 and above is Inf), a zero keeping the element's sign."""
    from mxref.conversion import mx_format

    _need_axis_last(e)
    p = e["path"]
    sc, el_codes = ctx.ins(e)
    got = ctx.arr(p)
    el, k = mx_format(e["format"]).element, e["block_size"]
    if not (got.ndim == 2 and el_codes.shape == got.shape and sc.shape == (got.shape[0], -(-got.shape[1] // k))):
        raise ValueError(f"shapes: scales {sc.shape}, elements {el_codes.shape}, values {got.shape}, block {k}")
    for r, b, sl in _sampled_blocks(got.shape, k, ctx.sample, p):
        s = int(sc[r, b])
        want = []
        for c in el_codes[r, sl]:
            d = reference.decode_exact(int(c), el)
            if s == 0xFF or d in ("+nan", "-nan"):
                want.append(math.nan)
            elif isinstance(d, str):
                want.append(math.inf if d == "+inf" else -math.inf)
            else:
                sign, mag = d
                v = float(reference.round_float32_scalar(mag * Fraction(2) ** (s - 127)))
                want.append(-v if sign else v)
        _report_values(ctx.rep, p, r, b, sl, got, el_codes, want, f"dequantize {e['format']} scale {s:02X}")


def check_dequantize_nvfp4(ctx: Ctx, e: dict):
    """P * S * e of each element (mxref.ext.nvfp4, not MX v1.0): S the unsigned E4M3 block scale
    (NaN code: the block is NaN), e the E2M1 element, P the stored per-tensor scale (1.0 when
    there is none); the exact product rounded once to float32, a zero keeping e's sign."""
    _need_axis_last(e)
    p = e["path"]
    sc, el_codes, pts = ctx.ins(e)
    got = ctx.arr(p)
    k = e["block_size"]
    if not (got.ndim == 2 and el_codes.shape == got.shape and sc.shape == (got.shape[0], -(-got.shape[1] // k))
            and pts.size == 1):
        raise ValueError(f"shapes: scales {sc.shape}, elements {el_codes.shape}, per-tensor scale {pts.shape}, "
                         f"values {got.shape}, block {k}")
    P = Fraction(_f32(pts.reshape(-1)[0]))
    for r, b, sl in _sampled_blocks(got.shape, k, ctx.sample, p):
        s = int(sc[r, b])
        ds = reference.decode_exact(s, "fp8_e4m3")
        want = []
        for c in el_codes[r, sl]:
            sign, mag = reference.decode_exact(int(c), "fp4_e2m1")
            if isinstance(ds, str):
                want.append(math.nan)
                continue
            v = float(reference.round_float32_scalar(P * ds[1] * mag))
            want.append(-v if sign else v)
        _report_values(ctx.rep, p, r, b, sl, got, el_codes, want,
                       f"dequantize nvfp4 scale {s:02X} per-tensor scale {float(P)!r}")


def _f32_hex(v: float) -> str:
    return "NaN" if math.isnan(v) else f"{int(np.float32(v).view(np.uint32)):08X}"


def _report_values(rep, p, r, b, sl, got, codes, want, what):
    """One MISMATCH per block of dequantized values that differs: the first differing element
    (its column, code, got and expected float32 bits) and how many differ in the block."""
    bad = [j for j, (g, w) in enumerate(zip(got[r, sl], want)) if not _same_f32(int(g), w)]
    if bad:
        j = bad[0]
        col, g = sl.start + j, int(got[r, sl][j])
        rep.bad(f"{p} [{r},{col}] (row {r} block {b}): {what} element {int(codes[r, col]):02X} got {g:08X} "
                f"({_f32(g)!r}), expected {_f32_hex(want[j])} ({want[j]!r}); {len(bad)} of {len(want)} "
                "values of the block differ")


def check_matmul_entry(ctx: Ctx, e: dict):
    p = e["path"]
    ins = [(ctx.arr(q), ctx.by_path[q]) for q in e.get("inputs", [])]
    if len(ins) != 4:
        raise ValueError(f"{len(ins)} inputs, expected A scales, A elements, B scales, B elements")
    check_matmul(p, e, ins, ctx.good[p], ctx.rep, ctx.sample)


def check_pack_entry(ctx: Ctx, e: dict):
    check_pack(e["path"], e, ctx.ins(e)[0], ctx.arr(e["path"]), ctx.rep)


def check_swizzle_entry(ctx: Ctx, e: dict):
    check_swizzle(e["path"], ctx.ins(e)[0], ctx.arr(e["path"]), ctx.rep)


def check_tv_entry(ctx: Ctx, e: dict):
    check_tv(e["path"], ctx.good[e["path"]].decode(), ctx.rep)


def check_nvfp4(p, e, x, good, by_path, rep, sample):
    """NVFP4 blocks (an extension, not MX v1.0) against mxref.ext.reference."""
    from mxref.ext import reference as ext_ref

    base = p[: -len(".scales.u8")]
    for t in ("elements.u8", "per_tensor_scale.f32.u32"):
        if f"{base}.{t}" not in by_path:
            raise ValueError(f"no {base}.{t} in the manifest to check with it")
        if f"{base}.{t}" not in good:
            rep.bad(f"{p}: not checked against the reference: {base}.{t} is missing or damaged")
            return
    scales = _arr(good[p], e)
    elems = _arr(good[f"{base}.elements.u8"], by_path[f"{base}.elements.u8"])
    pts_got = _f32(_arr(good[f"{base}.per_tensor_scale.f32.u32"], by_path[f"{base}.per_tensor_scale.f32.u32"])[0])
    m = e["modes"]
    kw = dict(arithmetic=m["arithmetic"], scale_clamp=m["scale_clamp"], inf_policy=m["inf_policy"])
    pts = None
    if m["per_tensor_scale_rule"] == "amax":
        pts = ext_ref.nvfp4_per_tensor_scale_scalar([_f32(v) for v in x.reshape(-1)], arithmetic=m["arithmetic"])
        if pts != pts_got:
            rep.bad(f"{base}.per_tensor_scale.f32.u32: got {pts_got!r}, expected {float(pts)!r}")
    elif m["per_tensor_scale_rule"] == "none":
        if pts_got != 1.0 or math.copysign(1, pts_got) < 0:  # 1.0 is stored when there is none
            rep.bad(f"{base}.per_tensor_scale.f32.u32: got {pts_got!r}, expected 1.0 (no per-tensor scale)")
    else:
        raise ValueError(f"unknown per_tensor_scale_rule {m['per_tensor_scale_rule']!r}")
    k = e["block_size"]
    for r, b, sl in _sampled_blocks(x.shape, k, sample, p):
        s_, codes = ext_ref.nvfp4_block_scalar([_f32(v) for v in x[r, sl]], per_tensor_scale=pts, **kw)
        if int(scales[r, b]) != s_ or [int(c) for c in elems[r, sl]] != codes:
            rep.bad(f"{p} row {r} block {b}: nvfp4 {m} inputs {','.join(f'{int(v):08X}' for v in x[r, sl])} "
                    f"got {int(scales[r, b]):02X} {','.join(f'{int(c):02X}' for c in elems[r, sl])}, expected "
                    f"{s_:02X} {','.join(f'{c:02X}' for c in codes)}")


def _parse_hex_rational(t: str):
    from fractions import Fraction

    if t in ("nan", "inf", "-inf"):
        return {"inf": "+inf"}.get(t, t)
    sign = -1 if t.startswith("-") else 1
    mant, exp = t.lstrip("-").split("p")
    if not mant.startswith("0x"):
        raise ValueError(f"not a hex rational: {t!r}")
    return sign * int(mant, 16) * Fraction(2) ** int(exp)


def check_matmul(p, e, ins, data: bytes, rep, sample):
    """C = A @ B, element by element, against reference.dot_scalar (MX §6.2)."""
    (sa, ea), (xa, _), (sb, eb), (xb, _) = ins
    fa, fb = ea["format"], eb["format"]
    k = ea["block_size"]
    M, K = xa.shape
    N = xb.shape[1]

    def row(i):
        return mxref.MXArray(fa, k, 0, (K,), np.ascontiguousarray(sa[i]), np.ascontiguousarray(xa[i]))

    def col(j):
        return mxref.MXArray(fb, k, 0, (K,), np.ascontiguousarray(sb[:, j]), np.ascontiguousarray(xb[:, j]))

    cells = [(i, j) for i in range(M) for j in range(N)]
    if p.endswith(".exact.txt"):
        got = {}
        for line in data.decode().splitlines():
            if line and not line.startswith("#"):
                i, j, t = line.split()
                got[(int(i), int(j))] = _parse_hex_rational(t)
        if set(got) != set(cells):
            rep.bad(f"{p}: {len(got)} elements, expected {M} x {N}")
            return
        for c in _sample(len(cells), sample, p):
            i, j = cells[c]
            want = reference.dot_scalar(row(i), col(j), dtype="exact")
            if got[(i, j)] != want:
                rep.bad(f"{p} [{i},{j}]: got {got[(i, j)]}, expected {want}")
        return
    got = np.frombuffer(data, "<u4").reshape(M, N)
    model = e["modes"]["accumulate"]
    for c in _sample(len(cells), sample, p):
        i, j = cells[c]
        want = int(np.float32(reference.dot_scalar(row(i), col(j), accumulate=model)).view(np.uint32))
        g = int(got[i, j])
        if g != want and not (math.isnan(_f32(g)) and math.isnan(_f32(want))):
            rep.bad(f"{p} [{i},{j}]: {model} got {g:08X} ({_f32(g)!r}), expected {want:08X} ({_f32(want)!r})")


def check_pack(p, e, codes, got, rep):
    """Pack each row with Python ints straight from the layout definitions (MX-SPEC-NOTES §7)."""
    bits = mxref.element_format(e["format"]).bits
    order = e["modes"]["order"]
    for r in range(codes.shape[0]):
        row = [int(c) for c in codes[r]]
        if order == "byte":
            want = row
        elif order in ("low_first", "bitstream"):  # little-endian bit stream: code i at bit i*bits
            acc = sum(c << (i * bits) for i, c in enumerate(row))
            want = list(acc.to_bytes((len(row) * bits + 7) // 8, "little"))
        elif order == "high_first":  # FP4: element 2j in the high nibble of byte j
            want = [((row[i] << 4) | (row[i + 1] if i + 1 < len(row) else 0)) for i in range(0, len(row), 2)]
        else:
            rep.bad(f"{p}: unknown order {order!r}")
            return
        if [int(b) for b in got[r]] != want:
            rep.bad(f"{p} row {r}: {order} got {bytes(got[r]).hex()}, expected {bytes(want).hex()}")


def check_swizzle(p, sc, got, rep):
    """cuBLAS block-scaled layout: 128 x 4 tiles of 512 bytes, K-tiles fastest; inside a tile,
    scale (r, c) at (r % 32) * 16 + (r // 32) * 4 + c; padding 0."""
    rows, kb = sc.shape
    tm, tk = -(-rows // 128), -(-kb // 4)
    want = np.zeros(tm * tk * 512, np.uint8)
    for r in range(rows):
        for c in range(kb):
            i, j, rr, cc = r // 128, c // 4, r % 128, c % 4
            want[(i * tk + j) * 512 + (rr % 32) * 16 + (rr // 32) * 4 + cc] = sc[r, c]
    if not np.array_equal(got.reshape(-1), want):
        bad = int(np.flatnonzero(got.reshape(-1) != want)[0]) if got.size == want.size else -1
        rep.bad(f"{p}: swizzled scales differ (first at byte {bad})")


def check_quantize(p, e, ins, good, by_path, rep, sample):
    ep = p[: -len(".scales.u8")] + ".elements.u8"
    if ep not in by_path:
        raise ValueError(f"no {ep} in the manifest to check with it")
    if ep not in good:
        rep.bad(f"{p}: not checked against the reference: {ep} is missing or damaged")
        return
    scales, elems = _arr(good[p], e), _arr(good[ep], by_path[ep])
    x = ins[0]
    k = e["block_size"]
    modes = dict(e["modes"])
    nbc = modes.pop("random_bit_count", None)
    for r, b, sl in _sampled_blocks(x.shape, k, sample, p):
        vals = [_f32(v) for v in x[r, sl]]
        kw = dict(modes)
        if nbc is not None:
            kw.update(random_bits=[int(v) for v in ins[1][r, sl]], random_bit_count=nbc)
        s, codes = reference.quantize_block_scalar(vals, e["format"], **kw)
        if int(scales[r, b]) != s or [int(c) for c in elems[r, sl]] != codes:
            rep.bad(f"{p} row {r} block {b}: {e['format']} {e['modes']} inputs "
                    f"{','.join(f'{int(v):08X}' for v in x[r, sl])} got {int(scales[r, b]):02X} "
                    f"{','.join(f'{int(c):02X}' for c in elems[r, sl])}, expected {s:02X} "
                    f"{','.join(f'{c:02X}' for c in codes)}")


def _opts(s: str) -> dict:
    if s == "-":
        return {}
    out = {}
    for kv in s.split(","):
        k, v = kv.split("=", 1)
        out[k] = {"True": True, "False": False}.get(v, v)
    return out


def check_tv(p: str, text: str, rep: Report):
    """Parse every line of a text vector file (format: spec_vectors/README.md) and check it."""
    for ln, line in enumerate(text.splitlines(), 1):
        body = line.split("#", 1)[0].strip()
        if not body:
            continue
        try:
            lhs, rhs = [t.split() for t in body.split("->")]
            op = lhs[0]
            if op == "decode":
                _, fmt, code = lhs
                want = reference.decode_scalar(int(code, 16), fmt)
                v = _f32(int(rhs[0], 16))
                ok = (math.isnan(want) and math.isnan(v)) or (v == want and math.copysign(1, v) == math.copysign(1, want))
            elif op == "encode":
                _, fmt, rnd, ov, opts, xh = lhs
                want = reference.encode_scalar(_f32(int(xh, 16)), fmt, rounding=rnd, overflow=ov, **_opts(opts))
                ok = int(rhs[0], 16) == want
            elif op == "encode_e8m0":
                _, rnd, ov, xh = lhs
                want = reference.encode_e8m0_scalar(_f32(int(xh, 16)), rounding=rnd, overflow=ov)
                ok = int(rhs[0], 16) == want
            elif op == "quantize":
                _, fmt, rule, rnd, opts, n, xs = lhs
                vals = [_f32(int(h, 16)) for h in xs.split(",")]
                if len(vals) != int(n):
                    raise ValueError(f"{n} values announced, {len(vals)} given")
                want = reference.quantize_block_scalar(vals, fmt, scale_rule=rule, rounding=rnd, **_opts(opts))
                ok = (int(rhs[0], 16), [int(c, 16) for c in rhs[1].split(",")]) == want
            else:
                raise ValueError(f"unknown operation {op!r}")
        except Exception as exc:  # a malformed line is a finding, not a crash
            rep.bad(f"{p}:{ln}: cannot check line ({exc}): {line}")
            continue
        if not ok:
            rep.bad(f"{p}:{ln}: expected {want!r}: {line}")


#: (operation, file type) of every kind of expected file -> its reference check. An expected file
#: of any other kind is reported ("not checked"), never skipped.
CHECKS = {
    ("decode", "f32.u32"): check_decode,
    ("encode", "u8"): check_encode,
    ("encode", "tv"): check_tv_entry,
    ("encode_e8m0", "u8"): check_encode_e8m0,
    ("quantize", "tv"): check_tv_entry,
    ("quantize", "scales.u8"): check_quantize_entry,  # with its elements.u8
    ("quantize", "elements.u8"): checked_with_scales,
    ("dequantize", "dequantized.f32.u32"): check_dequantize,
    ("matmul", "f32.u32"): check_matmul_entry,
    ("matmul", "exact.txt"): check_matmul_entry,
    ("pack", "u8"): check_pack_entry,
    ("swizzle_scales", "u8"): check_swizzle_entry,
    ("quantize_nvfp4", "scales.u8"): check_nvfp4_entry,  # with its elements.u8 and per_tensor_scale
    ("quantize_nvfp4", "elements.u8"): checked_with_scales,
    ("quantize_nvfp4", "per_tensor_scale.f32.u32"): checked_with_scales,
    ("dequantize_nvfp4", "dequantized.f32.u32"): check_dequantize_nvfp4,
}


def main(argv=None) -> int:
    desc, _, epilog = __doc__.partition("\n\n")
    ap = argparse.ArgumentParser(description=desc.replace("\n", " "), epilog=epilog,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", nargs="?", type=Path, default=ROOT / "spec_vectors",
                    help="the vectors directory (default: spec_vectors/ of this checkout)")
    ap.add_argument("--sample", type=int, default=64,
                    help="expected values (or blocks) per binary file checked against the reference; 0 = all "
                         "(default 64)")
    ap.add_argument("--no-regenerate", action="store_true",
                    help="skip step 3 (the byte-for-byte comparison with a fresh tools/gen_vectors.py run)")
    a = ap.parse_args(argv)
    if a.sample < 0:
        ap.error("--sample must be >= 0")
    if not a.dir.is_dir():
        ap.error(f"{a.dir} is not a directory")
    rep = Report()
    m = load_manifest(a.dir, rep)
    nfiles = 0
    if m is not None:
        good = check_files(a.dir, m, rep)
        nfiles = len(m["files"])
        if not a.no_regenerate:
            check_regenerate(a.dir, m, rep)
        n = check_reference(a.dir, m, good, rep, a.sample)
        nexp = sum(e["role"] == "expected" for e in m["files"])
        print(f"reference check: {n} of {nexp} expected files checked against mxref.reference "
              f"({'every value' if a.sample == 0 else f'up to {a.sample} values or blocks per binary file'})"
              + ("; regeneration skipped (--no-regenerate)" if a.no_regenerate else ""))
    print(f"{rep.n} mismatch(es) in {printable(a.dir)} ({nfiles} files in the manifest)")
    return 1 if rep.n else 0


if __name__ == "__main__":
    sys.exit(main())
