"""``python -m mxref.accumulators [DIR] [--json FILE]``: replay recorded MMA outputs (layout of
``../shared/peers/mma-sim``), print ``N of M outputs equal`` per kind, exit 1 on any difference
(2 when there are no recordings)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .recorded import default_recordings_dir, replay


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m mxref.accumulators", description=__doc__)
    p.add_argument("directory", nargs="?", help="recordings (default: $MXREF_MMA_SIM or "
                   "../shared/peers/mma-sim)")
    p.add_argument("--json", help="write the per-kind counts and mismatches to this file")
    p.add_argument("--mismatches", type=int, default=5, help="mismatch lines shown per kind")
    args = p.parse_args(argv)
    d = args.directory or default_recordings_dir()
    if d is None or not Path(d).is_dir():
        print(f"no recordings found ({d or 'set MXREF_MMA_SIM'})", file=sys.stderr)
        return 2
    results = replay(d, max_mismatches=args.mismatches)
    for r in results.values():
        print(r.line())
        for n in r.notes:
            print(f"    note: {n}")
        for line in r.mismatches:
            print(f"    {line}")
    eq = sum(r.equal for r in results.values())
    tot = sum(r.total for r in results.values())
    print(f"total: {eq} of {tot} outputs equal")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({k: dict(preset=r.preset, equal=r.equal, total=r.total,
                               equal_bits=r.equal_bits, nan_compare=r.nan_compare,
                               mismatches=r.mismatches, notes=r.notes)
                       for k, r in results.items()}, f, indent=1)
    return 0 if eq == tot else 1


if __name__ == "__main__":
    sys.exit(main())
