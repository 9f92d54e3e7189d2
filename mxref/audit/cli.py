"""``mxref audit CHECKPOINT``: structural checks of the MX tensors of a checkpoint, and with
``--source`` their re-quantization with mxref and the diagnosed cause of every difference."""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["main"]


def main(argv=None, prog: str = "mxref audit") -> int:
    from ..options import SCALE_RULES

    p = argparse.ArgumentParser(prog=prog, description=(
        "Audit the MX tensors of a .safetensors checkpoint (a file or a folder of shards). Exit "
        "status 1 on any structural error or mismatch."))
    p.add_argument("checkpoint")
    p.add_argument("--source", default=None, help="the original weights (.safetensors file or folder)")
    p.add_argument("--profile", default="floor/rne", metavar="RULE/ROUNDING",
                   help=f"re-quantization profile (scale rule: {', '.join(SCALE_RULES)}; rounding; default floor/rne)")
    p.add_argument("--json", default=None, metavar="FILE", help="write the full report as JSON")
    p.add_argument("--scheduler", default=None, help="threads (default), processes, synchronous, or tcp://HOST:8786")
    p.add_argument("--progress", action="store_true", help="a progress bar on stderr")
    a = p.parse_args(argv)
    rule, _, rounding = a.profile.partition("/")
    from .run import audit_checkpoint

    try:
        rep = audit_checkpoint(a.checkpoint, source=a.source, profile=(rule, rounding or "rne"),
                               scheduler=a.scheduler, progress=a.progress)
    except (ValueError, ImportError, FileNotFoundError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    rows = []
    for r in rep["tensors"]:
        c = r.get("compare") or {}
        eq = f"{c['equal']}/{c['blocks']}" if "blocks" in c else "-"
        causes = ",".join(e["cause"] for e in r["errors"]) or "ok"
        rows.append((r["tensor"], r["layout"], "x".join(map(str, r.get("shape", []))), str(r.get("blocks", "-")), eq, causes))
    head = ("tensor", "layout", "shape", "blocks", "equal", "result")
    w = [max(len(x[i]) for x in rows + [head]) for i in range(len(head))]
    for row in [head] + rows:
        print("  ".join(s.ljust(n) for s, n in zip(row, w)))
    for r in rep["tensors"]:
        for e in r["errors"]:
            print(f"{r['tensor']}: {e['cause']}: {e['detail']}")
        for wmsg in r["warnings"]:
            print(f"{r['tensor']}: warning: {wmsg}")
    if rep["skipped"]:
        print(f"skipped {len(rep['skipped'])} tensors (not MX tensors of a known layout):")
        for s in rep["skipped"][:20]:
            print(f"  {s['key']}: {s['why']}")
    print(f"{len(rep['tensors'])} MX tensors, {rep['errors']} with errors")
    if a.json:
        with open(a.json, "w", encoding="utf-8") as fh:
            json.dump(rep, fh, indent=1, sort_keys=True)
    return 1 if rep["errors"] else 0
