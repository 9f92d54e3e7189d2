#!/usr/bin/env python3
"""Verify spec_vectors/: manifest, sizes, sha256 sums, byte-for-byte regeneration, and an
independent re-check of expected values against mxref's slow Fraction reference.

    python tools/verify_vectors.py                  # spec_vectors/ of this checkout
    python tools/verify_vectors.py DIR              # another set (e.g. a level-2 set)
    python tools/verify_vectors.py --sample 0       # reference-check every expected value (slow)

One line per problem (what, which file, got, expected, in hex where it applies), then a count;
exit status 1 on any problem, 0 when everything matches. Checks, in order:
  1. MANIFEST.json parses and has the schema's fields; SHA256SUMS lists the same files and sums;
     no file is missing or unlisted.
  2. every file's size, sha256, and dtype x shape agree with the manifest.
  3. a fresh run of tools/gen_vectors.py (same level, into a temporary directory) produces
     identical bytes for every file, the manifest and SHA256SUMS included.
  4. every line of the text vectors (*.tv) and a seeded sample of every binary expected file
     (``--sample`` per file, 0 = all) agree with ``mxref.reference`` (slow, exact, written
     straight from the spec; the fast path that generated the vectors is not consulted).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

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


class Report:
    def __init__(self):
        self.n = 0

    def bad(self, what: str):
        self.n += 1
        print(f"MISMATCH {what}")


def load_manifest(root: Path, rep: Report):
    try:
        m = json.loads((root / "MANIFEST.json").read_text())
    except (OSError, ValueError) as exc:
        rep.bad(f"MANIFEST.json: unreadable ({exc})")
        return None
    if not isinstance(m, dict) or not TOP_KEYS <= set(m) or not isinstance(m.get("files"), list):
        rep.bad(f"MANIFEST.json: missing fields {sorted(TOP_KEYS - set(m if isinstance(m, dict) else {}))}")
        return None
    if m["schema_version"] != gen_vectors.SCHEMA_VERSION:
        rep.bad(f"MANIFEST.json: schema_version {m['schema_version']!r}, this verifier reads "
                f"{gen_vectors.SCHEMA_VERSION}")
        return None
    for i, e in enumerate(m["files"]):
        if not isinstance(e, dict) or not FILE_KEYS <= set(e):
            rep.bad(f"MANIFEST.json: file entry {i} lacks {sorted(FILE_KEYS - set(e if isinstance(e, dict) else {}))}")
            return None
    return m


def check_files(root: Path, m: dict, rep: Report) -> dict:
    """Steps 1-2. Returns {path: bytes} of the files that are intact."""
    listed = {e["path"]: e for e in m["files"]}
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    for p in sorted(on_disk - set(listed) - FIXED):
        rep.bad(f"{p}: on disk but not in MANIFEST.json")
    try:
        sums = {}
        for line in (root / "SHA256SUMS").read_text().splitlines():
            h, p = line.split("  ", 1)
            sums[p] = h
    except (OSError, ValueError) as exc:
        rep.bad(f"SHA256SUMS: unreadable ({exc})")
        sums = {}
    if sums and set(sums) != set(listed):
        for p in sorted(set(sums) ^ set(listed)):
            rep.bad(f"{p}: listed in only one of SHA256SUMS and MANIFEST.json")
    good = {}
    for p, e in sorted(listed.items()):
        f = root / p
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
        if e["dtype"] != "text":
            dt = DTYPES.get(e["dtype"])
            n = int(np.prod(e["shape"], dtype=np.int64))
            if dt is None or n * np.dtype(dt).itemsize != len(data):
                rep.bad(f"{p}: dtype {e['dtype']} x shape {e['shape']} does not give {len(data)} bytes")
                continue
        good[p] = data
    return good


def check_regenerate(root: Path, m: dict, rep: Report):
    """Step 3."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = gen_vectors.generate(Path(tmp), int(m["level"]))
        for name in ("MANIFEST.json", "SHA256SUMS"):
            a, b = (root / name), (Path(tmp) / name)
            if not a.is_file() or a.read_bytes() != b.read_bytes():
                rep.bad(f"{name}: differs from a fresh `{m['generator']}`")
        for e in fresh:
            a, b = root / e["path"], Path(tmp) / e["path"]
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


def check_reference(root: Path, m: dict, good: dict, rep: Report, sample: int):
    """Step 4: the expected files against mxref.reference."""
    by_path = {e["path"]: e for e in m["files"]}
    for e in m["files"]:
        p = e["path"]
        if p not in good or e["role"] != "expected":
            continue
        if any(q not in good for q in e.get("inputs", [])):
            continue
        if p.endswith(".tv"):
            check_tv(p, good[p].decode(), rep)
            continue
        if e["operation"] == "matmul" and e.get("inputs"):
            check_matmul(p, e, [(_arr(good[q], by_path[q]), by_path[q]) for q in e["inputs"]], good[p], rep, sample)
            continue
        ins = [_arr(good[q], by_path[q]) for q in e.get("inputs", [])]
        got = _arr(good[p], e)
        op, fmt, modes = e["operation"], e.get("format"), e.get("modes", {})
        if op == "decode":
            for i in _sample(got.size, sample, p):
                c = int(ins[0][i])
                want = reference.decode_scalar(c, fmt)
                v = _f32(got[i])
                if not ((math.isnan(want) and math.isnan(v)) or (v == want and math.copysign(1, v) == math.copysign(1, want))):
                    rep.bad(f"{p}[{i}]: decode {fmt} {c:02X} got {int(got[i]):08X} ({v!r}), expected {want!r}")
        elif op == "encode":
            x = ins[0].reshape(-1)
            for i in _sample(got.size, sample, p):
                kw = dict(rounding=modes["rounding"], overflow=modes["overflow"])
                if modes["rounding"] == "stochastic":
                    kw.update(random_bits=int(ins[1].reshape(-1)[i]), random_bit_count=modes["random_bit_count"])
                want = reference.encode_scalar(_f32(x[i]), fmt, **kw)
                if int(got.reshape(-1)[i]) != want:
                    rep.bad(f"{p}[{i}]: encode {fmt} {modes} {int(x[i]):08X} got {int(got.reshape(-1)[i]):02X}, expected {want:02X}")
        elif op == "encode_e8m0":
            x = ins[0].reshape(-1)
            for i in _sample(got.size, sample, p):
                want = reference.encode_e8m0_scalar(_f32(x[i]), rounding=modes["rounding"], overflow=modes["overflow"])
                if int(got[i]) != want:
                    rep.bad(f"{p}[{i}]: encode_e8m0 {modes} {int(x[i]):08X} got {int(got[i]):02X}, expected {want:02X}")
        elif op == "quantize" and p.endswith(".scales.u8"):
            check_quantize(p, e, ins, good, by_path, rep, sample)
        elif op == "quantize_nvfp4" and p.endswith(".scales.u8"):
            check_nvfp4(p, e, ins[0], good, by_path, rep, sample)
        elif op == "pack":
            check_pack(p, e, ins[0], got, rep)
        elif op == "swizzle_scales":
            check_swizzle(p, ins[0], got, rep)


def check_nvfp4(p, e, x, good, by_path, rep, sample):
    """NVFP4 blocks (an extension, not MX v1.0) against mxref.ext.reference."""
    from mxref.ext import reference as ext_ref

    base = p[: -len(".scales.u8")]
    if any(f"{base}.{t}" not in good for t in ("elements.u8", "per_tensor_scale.f32.u32")):
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
    if ep not in good:
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", nargs="?", type=Path, default=ROOT / "spec_vectors")
    ap.add_argument("--sample", type=int, default=64,
                    help="expected values (or blocks) per binary file checked against the reference; 0 = all")
    ap.add_argument("--no-regenerate", action="store_true", help="skip step 3")
    a = ap.parse_args(argv)
    if a.sample < 0:
        ap.error("--sample must be >= 0")
    rep = Report()
    m = load_manifest(a.dir, rep)
    nfiles = 0
    if m is not None:
        good = check_files(a.dir, m, rep)
        nfiles = len(m["files"])
        if not a.no_regenerate:
            check_regenerate(a.dir, m, rep)
        check_reference(a.dir, m, good, rep, a.sample)
    print(f"{rep.n} mismatch(es) in {a.dir} ({nfiles} files in the manifest)")
    return 1 if rep.n else 0


if __name__ == "__main__":
    sys.exit(main())
