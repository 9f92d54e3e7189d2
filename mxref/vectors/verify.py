"""Verify a golden-vector directory (spec_vectors/ by default) against its manifest, its sums, a
fresh regeneration, and mxref's slow exact reference.

    mxref vectors verify [DIR]                  # the vectors directory, or DIR (e.g. a level-2 set)
    mxref vectors verify --sample 0             # reference-check every expected value (slow)
    mxref vectors verify --no-regenerate        # skip step 3 (e.g. a copy edited by hand)
    python tools/verify_vectors.py [...]        # the same, defaulting to the checkout's spec_vectors/

One line per problem (what, which file, got, expected, in hex where it applies), then a count;
exit status 1 on any problem, 0 when everything matches, 2 for a bad command line. Checks, in
order:
  1. MANIFEST.json parses and has the schema's fields with the right types; every path is a
     plain relative path inside DIR (no absolute path, no "..", no symbolic link leaving DIR);
     SHA256SUMS has one well-formed line for every file of the manifest and none for any other;
     no file is missing or unlisted.
  2. every file's size, sha256 (against both the manifest and SHA256SUMS), and dtype x shape
     agree with the manifest.
  3. a fresh generation (mxref.vectors.generate, as tools/gen_vectors.py runs it; same level,
     into a temporary directory) produces identical bytes for every file, the manifest and
     SHA256SUMS included.
  4. every expected file is checked against ``mxref.reference`` (slow, exact, written straight
     from the spec; the fast path that generated the vectors is not consulted): every line of
     the text vectors (*.tv, matmul *.exact.txt) and a seeded sample of every binary expected
     file (``--sample`` values or blocks per file, 0 = all). Each kind of expected file
     (operation x file type: decode, encode, encode_e8m0, quantize scales+elements, dequantize,
     matmul, pack, swizzle_scales, and the NVFP4 extension's quantize and dequantize: the
     registry mxref.vectors.kinds) has its own check;
     an expected file of a kind without a check is reported, never skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import tempfile
from pathlib import Path

from . import schema
from .generate import generate_set
from .kinds import KINDS, Ctx, kind_of
from .schema import DTYPES, FIXED, inside, printable

__all__ = ["Report", "check_files", "check_regenerate", "check_reference", "main"]


class Report:
    """Counts problems and prints each as one ``MISMATCH ...`` line (control characters escaped)."""

    def __init__(self):
        self.n = 0

    def bad(self, what: str):
        self.n += 1
        print(f"MISMATCH {printable(what)}")


def load_manifest(root: Path, rep: Report):
    try:
        return schema.read_manifest(root)
    except (ValueError, TypeError) as exc:
        rep.bad(f"MANIFEST.json: {exc}")
        return None


def check_files(root: Path, m: dict, rep: Report) -> dict:
    """Steps 1-2. Returns {path: bytes} of the files that are intact (size and type; a wrong
    sha256 is reported and the file still checked value by value in step 4)."""
    listed = {e["path"]: e for e in m["files"]}
    for p in sorted(schema.disk_files(root) - set(listed) - FIXED):
        rep.bad(f"{p}: on disk but not in MANIFEST.json")
    try:
        sums, problems = schema.read_sums(root)
    except ValueError as exc:
        rep.bad(f"SHA256SUMS: {exc}")
        sums = None
    if sums is not None:
        for problem in problems:
            rep.bad(problem)
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
        if e["dtype"] != "text" and math.prod(e["shape"]) * DTYPES[e["dtype"]].itemsize != len(data):
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
    """Step 3: a fresh generation of the manifest's level, byte for byte."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate_set(Path(tmp), m["level"])
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


def check_reference(root: Path, m: dict, good: dict, rep: Report, sample: int) -> int:
    """Step 4: every expected file against the reference, by kind (the registry KINDS). Returns
    how many expected files were checked."""
    ctx = Ctx(m, good, rep, sample)
    n = 0
    for e in m["files"]:
        p = e["path"]
        if e["role"] != "expected":
            continue
        kind = KINDS.get(kind_of(e))
        if kind is None:
            op, t = kind_of(e)
            rep.bad(f"{p}: not checked: no reference check for operation {op!r} with file type "
                    f"'.{t}' (known kinds: {', '.join(f'{o}/.{t}' for o, t in sorted(KINDS))})")
            continue
        if p not in good:
            continue  # reported in step 2
        lost = [q for q in e.get("inputs", []) if q not in good]
        if lost:
            rep.bad(f"{p}: not checked against the reference: its input {lost[0]} is missing or damaged")
            continue
        try:
            kind.check(ctx, e)
        except Exception as exc:  # a malformed entry is a finding, not a crash
            rep.bad(f"{p}: cannot check against the reference ({type(exc).__name__}: {str(exc)[:200]})")
            continue
        n += 1
    return n


def main(argv=None, prog: str | None = None, default_dir: Path | None = None) -> int:
    """``mxref vectors verify``; default_dir is the default DIR (schema.default_dir() when None).
    Returns the exit status: 0 all match, 1 a problem (argparse exits with 2 on a bad command line)."""
    default = Path(default_dir) if default_dir is not None else schema.default_dir()
    desc, _, epilog = __doc__.partition("\n\n")
    ap = argparse.ArgumentParser(prog=prog, description=desc.replace("\n", " "), epilog=epilog,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", nargs="?", type=Path, default=default,
                    help=f"the vectors directory (default: {default}"
                         + ("" if default_dir is not None else f", i.e. ${schema.ENV_DIR} or ./spec_vectors") + ")")
    ap.add_argument("--sample", type=int, default=64,
                    help="expected values (or blocks) per binary file checked against the reference; 0 = all "
                         "(default 64)")
    ap.add_argument("--no-regenerate", action="store_true",
                    help="skip step 3 (the byte-for-byte comparison with a fresh generation)")
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
