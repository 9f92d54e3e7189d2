"""Recording a live library's outputs on the checker's cases (the writer of the layout that
:class:`mxref.conformance.adapters.recorded.RecordedAdapter` replays). It runs the library through
the run loop's classification, so it sits beside :mod:`.run`, above the adapters."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .adapters.base import Adapter
from .adapters.recorded import _TARGET_FIELDS, KEEP_FAILING, KEEP_PASSING
from .casegen import cases
from .guard import guarded
from .model import ERROR, MISMATCH, PASS, Output
from .run import classify_batch, resolve_profiles
from .untrusted import printable

__all__ = ["write_recordings"]


def _save(directory: Path, name: str, a, sums: dict) -> str:
    p = directory / name
    np.save(p, np.ascontiguousarray(a), allow_pickle=False)
    sums[name] = hashlib.sha256(p.read_bytes()).hexdigest()
    return name


def _compact_codes(a):
    a = np.asarray(a, np.int64)
    return a.astype(np.uint8) if a.size == 0 or (a.min() >= 0 and a.max() < 256) else a


def failing_rows(row_of, cls, keep: int):
    """The rows to record of one batch's non-PASS cases, at most ``keep``: those with a MISMATCH
    or ERROR case first, then the rest (IMPL_DEFINED, UNSUPPORTED), each group in row order --
    so a target with many IMPL_DEFINED rows still records its mismatches. ``row_of``: the row of
    each case; ``cls``: each case's class."""

    row_of = np.asarray(row_of, np.int64)
    cls = np.asarray(cls)
    bad = cls != PASS
    if not bad.any():
        return np.zeros(0, np.int64)
    worst = np.isin(cls, (MISMATCH, ERROR))
    first = np.unique(row_of[bad & worst])
    rest = np.setdiff1d(np.unique(row_of[bad]), first)
    return np.sort(np.concatenate([first, rest])[:keep])


def write_recordings(adapter: Adapter, directory, *, level: int = 1, seed: int = 0, profiles=None,
                     formats=None, calls=None, extra=None) -> dict:
    """Record ``adapter`` (a live one) into ``directory``; returns the manifest. ``calls``: a
    function target -> the exact library call text; ``extra``: more manifest fields."""

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    sums: dict = {}
    entries = []
    profs = resolve_profiles(adapter, profiles)
    for prof in profs:
        for ti, t in enumerate(adapter.targets(prof, level)):
            if formats and t.format not in formats:
                continue
            stem = f"{prof.name}.{ti:02d}.{t.operation}.{t.format}.{t.dtype}.{t.overflow}{'.' + t.api if t.api else ''}"
            entry = {"target": {k: getattr(t, k) for k in _TARGET_FIELDS}, "profile": asdict(t.profile),
                     "call": calls(t) if calls else "", "batches": []}
            entry["profile"]["options"] = [list(o) for o in t.profile.options]
            counts = [0, 0, 0, 0, 0]
            if t.unsupported is None:
                for bi, x in enumerate(cases(t, level, seed)):
                    why = adapter.unsupported(t, x)
                    if why:
                        entry.setdefault("unsupported_batches", []).append(why)
                        continue
                    with np.errstate(all="ignore"):
                        got, raised = guarded(lambda a: adapter.run(t, a), t, x)
                        if got is None:
                            got = Output()
                        errors = dict(raised)
                        errors.update(got.errors or {})
                        b = classify_batch(adapter, t, x, Output(got.scales, got.codes, got.values, errors))
                    # pick rows: quantize cases are blocks of a row
                    if t.operation == "quantize":
                        nb = -(-x.shape[1] // t.block_size)
                        row_of = np.repeat(np.arange(x.shape[0]), nb)
                    else:
                        row_of = np.arange(x.shape[0])
                    bad = failing_rows(row_of, b.cls, KEEP_FAILING)
                    good = np.unique(row_of[b.cls == PASS])[:KEEP_PASSING]
                    rows = np.union1d(bad, good).astype(np.int64)
                    if not rows.size:
                        continue
                    sel = np.isin(row_of, rows)
                    for c in range(5):
                        counts[c] += int((b.cls[sel] == c).sum())
                    name = f"{stem}.b{bi}"
                    rec = {"input": _save(d, name + ".x.npy", x[rows], sums)}
                    for comp in ("scales", "codes", "values"):
                        v = getattr(got, comp)
                        if v is not None:
                            v = np.asarray(v)[rows]
                            v = v.astype(np.float32 if x.dtype == np.float32 else np.float64) \
                                if comp == "values" else _compact_codes(v)
                            rec[comp] = _save(d, f"{name}.{comp}.npy", v, sums)
                    remap = {int(r): i for i, r in enumerate(rows)}
                    rec["errors"] = {str(remap[int(r)]): printable(str(m)) for r, m in errors.items()
                                     if int(r) in remap}
                    entry["batches"].append(rec)
            entry["counts"] = dict(zip(("pass", "mismatch", "impl-defined", "unsupported", "error"), counts))
            entries.append(entry)
    m = {"library": adapter.name, "version": adapter.version(), "level": level, "seed": seed,
         "sample": f"per target: the non-PASS rows up to {KEEP_FAILING} (MISMATCH and ERROR rows first) and the first {KEEP_PASSING} PASS rows "
                   "of each batch of the checker's cases (mxref.conformance.cases)",
         "numpy": np.__version__, **(extra or {}), "targets": entries, "sha256": sums}
    (d / "manifest.json").write_text(json.dumps(m, indent=1, sort_keys=False) + "\n")
    return m


