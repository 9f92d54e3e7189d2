"""``mxref sweep``: the exhaustive check of mxref.encode and the scale rules against the oracle."""

from __future__ import annotations

import argparse
import sys
import time

from .work import DETERMINISTIC_ROUNDINGS, SWEEP_FORMATS, default_jobs

__all__ = ["main", "parse_range"]


def parse_range(text: str) -> tuple[int, int]:
    """``LO:HI`` (hex with 0x, or decimal; HI exclusive) as two ints."""
    lo, sep, hi = text.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"--range must be LO:HI, got {text!r}")
    try:
        return int(lo, 0), int(hi, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--range must be LO:HI of integers (0x... for hex), got {text!r}") from None


def _csv(text):
    return [t for t in text.split(",") if t]


def main(argv=None, prog: str = "mxref sweep") -> int:
    from ..options import SCALE_RULES

    p = argparse.ArgumentParser(prog=prog, description=(
        "Check every input bit pattern through mxref.encode (each format x deterministic rounding x "
        "overflow mode) and every positive finite amax through each scale rule, against an "
        "independent oracle; each chunk one Dask task. Exit status 1 on any mismatch."))
    p.add_argument("--inputs", default="float32", choices=("float32", "float16", "bfloat16"),
                   help="the input type whose every bit pattern is checked (default float32)")
    p.add_argument("--range", type=parse_range, default=None, metavar="LO:HI",
                   help="only bit patterns LO <= b < HI (e.g. 0x3f000000:0x3f800000)")
    p.add_argument("--formats", type=_csv, default=list(SWEEP_FORMATS), help="comma-separated element formats")
    p.add_argument("--roundings", type=_csv, default=list(DETERMINISTIC_ROUNDINGS))
    p.add_argument("--overflows", type=_csv, default=["saturate", "nonsaturating"])
    p.add_argument("--rules", type=_csv, default=list(SCALE_RULES), help="scale rules")
    p.add_argument("--nan", default="zero", choices=("zero", "max"), help="NaN policy of formats without NaN")
    p.add_argument("--only", choices=("elements", "scales"), default=None, help="check only one kind")
    p.add_argument("--chunk", type=lambda s: int(s, 0), default=1 << 24, help="inputs per task (default 2^24)")
    p.add_argument("--checkpoint", default=None, metavar="FILE", help="resume from / record into FILE")
    p.add_argument("--scheduler", default=None,
                   help="threads (default), processes, synchronous, or tcp://HOST:8786")
    p.add_argument("--workers", type=int, default=None, help="start a LocalCluster of N worker processes")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--show", type=int, default=10, help="mismatch lines printed per job")
    a = p.parse_args(argv)
    from .run import run_sweep

    try:
        jobs = default_jobs(a.formats, a.roundings, a.overflows, a.rules, a.nan,
                            elements=a.only != "scales", scales=a.only != "elements")
        lo, hi = a.range if a.range else (None, None)
        t0 = time.perf_counter()
        res = run_sweep(jobs, inputs=a.inputs, lo=lo, hi=hi, chunk_size=a.chunk, checkpoint=a.checkpoint,
                        scheduler=a.scheduler, workers=a.workers, progress=not a.no_progress)
    except (ValueError, ImportError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    dt = time.perf_counter() - t0
    for name, r in res["jobs"].items():
        status = "ok" if r["mismatches"] == 0 else f"{r['mismatches']} MISMATCHES"
        print(f"{name:45s} {r['n']:>12d} inputs  {status}")
        for line in r["first"][: a.show]:
            print(f"    {line}   (input got expected)")
    print(f"{len(res['jobs'])} jobs, {res['chunks']} chunks ({res['skipped']} from the checkpoint), "
          f"{res['n']} comparisons, {res['mismatches']} mismatches, {dt:.1f} s")
    return 1 if res["mismatches"] else 0
