"""Generate mxref's golden vectors (spec_vectors/): raw little-endian files, a manifest, sha256 sums.

    mxref vectors generate                      # level 1 into the vectors directory
    mxref vectors generate --level 2 --out DIR  # the larger level-2 set (not committed)
    python tools/gen_vectors.py [...]           # the same, defaulting to the checkout's spec_vectors/

Every byte is deterministic: inputs are built from the boundary tables of each format and from
the raw 64-bit output of NumPy's PCG64 bit generator (stable across NumPy versions and machines),
turned into float32 bit patterns with integer arithmetic only (no libm, no float rounding). The
expected outputs are mxref's (fast path, held bit for bit to the slow Fraction reference by the
tests); the hand-reviewed ``*.tv`` files are additionally checked against ``mxref.reference``
while they are written. One generator per kind of file (mxref.vectors.kinds). Layout:
spec_vectors/README.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import mxref

from . import schema
from .inputs import SEED
from .kinds import KINDS, generators, kind_of

__all__ = ["generate", "main"]


def generate_set(root: Path, level: int) -> list[dict]:
    """Write the level's vector set into root (every kind of the registry, MANIFEST.json and
    SHA256SUMS); returns the manifest's file entries, sorted by path."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    w = schema.Writer(root)
    for gen in generators():
        gen(w, level)
    unknown = sorted({kind_of(e) for e in w.entries if e["role"] == "expected"} - set(KINDS))
    if unknown:
        raise AssertionError(f"expected files of kinds without a registry entry: {unknown}")
    return schema.write_manifest(root, w.entries, level=level, seed=SEED, mxref_version=mxref.__version__)


def main(argv=None, prog: str | None = None, default_dir: Path | None = None) -> int:
    """``mxref vectors generate``; default_dir is the default --out (schema.default_dir() when
    None). Returns the exit status (argparse exits with 2 on a bad command line)."""
    default = Path(default_dir) if default_dir is not None else schema.default_dir()
    desc, _, epilog = __doc__.partition("\n\n")
    ap = argparse.ArgumentParser(prog=prog, description=desc.replace("\n", " "), epilog=epilog,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=default, metavar="DIR",
                    help=f"directory to write the set into (default: {default}"
                         + ("" if default_dir is not None else f", i.e. ${schema.ENV_DIR} or ./spec_vectors")
                         + "; a committed set there is rewritten in place). DIR may be new, empty, or hold a "
                         "previous set (a MANIFEST.json written by this tool): its files are overwritten, and it "
                         "says so. Any other non-empty directory is refused unless --force is given.")
    ap.add_argument("--level", type=int, choices=sorted(schema.LEVELS), default=1,
                    help="1: the committed set (default); 2: the larger set (16x more encode inputs, 21x more "
                         "MX blocks, about 123 MiB), needs --out")
    ap.add_argument("--force", action="store_true",
                    help="write into a non-empty --out DIR that does not hold a previous set (files of the same "
                         "names are overwritten, others are left as they are)")
    a = ap.parse_args(argv)
    out = a.out
    if a.level == 2 and out.resolve() == default.resolve():
        ap.error("--level 2 needs --out DIR: spec_vectors/ holds the committed level-1 set")
    if out.exists() and not out.is_dir():
        ap.error(f"--out {out}: exists and is not a directory")
    old = schema.previous_set(out) if out.is_dir() else None
    if out.is_dir() and old is None and any(out.iterdir()):
        if not a.force:
            ap.error(f"--out {out}: a non-empty directory without a previous vector set (no MANIFEST.json "
                     "written by tools/gen_vectors.py); refusing to write into it (use an empty or new "
                     "directory, or --force)")
        print(f"--force: writing into {out}, a non-empty directory that holds no previous vector set")
    files = generate_set(out, a.level)
    total = sum(e["size"] for e in files)
    how = "replacing the previous set there" if old is not None else "a new set"
    print(f"wrote {len(files)} files, {total / 2**20:.1f} MiB, and MANIFEST.json, SHA256SUMS into {out} ({how})")
    stale = sorted(old - {e["path"] for e in files}) if old is not None else []
    if stale:
        print(f"note: {len(stale)} file(s) of the previous set are not in this one and were left in place "
              f"(verify_vectors.py will report them), e.g. {stale[0]}")
    return 0
