"""Running a library: ONE loop for every adapter and mode, and :func:`check`.

For each target the adapter's mode (:meth:`~.adapters.base.Adapter.mode`) says where the outputs
come from -- ``run``: the library is called on :func:`~.casegen.cases`; ``record``: recorded
outputs on their recorded inputs; ``compare``: the adapter compares whole files itself
(:class:`~.model.Cases`). Every mode then goes through the same steps: classify, check that
float32-subnormal flushing is consistent, count, keep varied MISMATCH cases; :func:`check`
picks the lines round-robin over the targets and :func:`render_mismatches` renders them
(shrinking the blocks of a ``run`` quantize target, :mod:`.shrink`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .. import MX_FORMATS, mx_format
from .adapters import Adapter, make_adapter
from .casegen import cases
from .classify import Blocks, classify_blocks, classify_values, open_kind
from .expected import alternatives, reference_output
from .guard import BAD_OUTPUT, guarded
from .known import annotate_known
from .lines import class_label, make_line, strict_note
from .model import (ALL_OPERATIONS, ERROR, ID_BIT, IMPL, LEVEL_MINIMUM, MISMATCH, NVFP4, PASS,
                    UNSUPPORTED, AdapterUnavailable, Output, Target, TargetResult, count_cases,
                    to_blocks)
from .report import Report
from .shrink import shrink_and_render
from .untrusted import printable

#: MISMATCH cases kept per target to pick varied examples from (per file in compare mode)
PICK_LIMIT = 20_000
#: IMPL_DEFINED cases looked at per group for one example line per id
IMPL_EXAMPLE_SCAN = 2000

def diversity_order(keys: list) -> list:
    """Indices ordered round-robin over distinct keys, so varied causes come first."""
    groups: dict = {}
    for i, kk in enumerate(keys):
        groups.setdefault(kk, []).append(i)
    order = []
    lists = list(groups.values())
    j = 0
    while len(order) < len(keys):
        for g in lists:
            if j < len(g):
                order.append(g[j])
        j += 1
    return order


def block_key(xrow, d_scale) -> tuple:
    a = np.abs(xrow.astype(np.float64))
    a = a[np.isfinite(a)]
    amax = a.max() if a.size else 0.0
    e = int(np.frexp(amax)[1]) - 1 if amax > 0 else -999
    band = "zero" if amax == 0 else "tiny" if e < -100 else "huge" if e > 100 else f"mid{e // 16}"
    nonfinite = (~np.isfinite(xrow.astype(np.float64))).any()
    return (bool(d_scale), band, bool(nonfinite), len(xrow))



@dataclass
class Batch:
    """One classified batch of a target."""

    x: np.ndarray
    exp: Output
    got: Output
    B: Blocks | None
    cls: np.ndarray
    ids: np.ndarray
    err_msg: dict
    recorded: bool
    sub: np.ndarray | None = None  # quantize: blocks holding float32-subnormal inputs
    files: tuple = ()  # recorded: the files the outputs came from (named in the report lines)
    extra: dict = field(default_factory=dict)  # keywords every mxref call of the batch took (random bits)


def classify_batch(adapter, target: Target, x: np.ndarray, recorded: Output | None,
                    aux: dict | None = None) -> Batch:
    """Run (or take the recorded output of) one batch and classify every case. ``aux``: what a
    recording adds -- "random_bits" (stochastic rounding, x's shape), "random_bit_count",
    "files"."""
    aux = aux or {}
    extra = {k: aux[k] for k in ("random_bits", "random_bit_count") if aux.get(k) is not None}
    if recorded is not None:
        got, raised = recorded, {}
    else:
        got, raised = guarded(lambda a: adapter.run(target, a), target, x)
    if got is None:  # every row raised
        got = Output()
    if got.errors:  # rows the adapter reports as raised, one by one
        raised = dict(raised)
        raised.update(got.errors)
    exp = reference_output(target, x, **extra)
    alts = alternatives(target, x, **extra)
    B = None
    sub = None
    if target.operation == "quantize":
        nb = -(-x.shape[1] // target.block_size)
        n_cases = x.shape[0] * nb
        if got.scales is None and got.codes is None and got.values is None:
            cls, ids = np.full(n_cases, PASS), np.zeros(n_cases, np.int64)
        else:
            B = classify_blocks(target, x, exp, got, alts)
            cls, ids = B.cls.copy(), B.ids.copy()
        case_rows = np.repeat(np.arange(x.shape[0]), nb)
        xb = np.abs(to_blocks(x, target.block_size, x.dtype.type(0)).astype(np.float64))
        sub = ((xb != 0) & (xb < 2.0**-126)).any(1)
    else:
        if got.codes is None:
            cls, ids = np.full(x.shape[0], PASS), np.zeros(x.shape[0], np.int64)
        else:
            cls, ids = classify_values(target, x, exp, got, alts)
        case_rows = np.arange(x.shape[0])
    # rows that raised: ERROR, or IMPL_DEFINED where raising is an open answer
    err_msg = {}
    if raised:
        open_ids = open_kind(target, x)
        for ci in np.nonzero(np.isin(case_rows, list(raised)))[0]:
            msg = raised[int(case_rows[ci])]
            ok = open_ids[ci] and not msg.startswith(BAD_OUTPUT)
            cls[ci], ids[ci] = (IMPL, open_ids[ci]) if ok else (ERROR, 0)
            err_msg[int(ci)] = msg
    return Batch(x, exp, got, B, cls, ids, err_msg, recorded is not None, sub, tuple(aux.get("files", ())), extra)


@dataclass
class _Group:
    """One classified group of a target's cases -- a batch of inputs (run, record) or a file
    (compare): class and id bits per case, ``line(i, label, note, error)`` rendering case i,
    ``key(i)`` its diversity key (varied causes are shown first), and, for batches, the batch."""

    cls: np.ndarray
    ids: np.ndarray
    line: Callable
    key: Callable
    errors: dict
    batch: Batch | None = None


def _batch_group(adapter, target: Target, b: Batch) -> _Group:
    def line(ci, label, note="", error=None):
        return make_line(adapter, target, b, ci, label, note, error)

    def key(ci):
        if b.B is not None:
            return block_key(b.B.x[ci][b.B.valid[ci]], b.B.d_scale[ci])
        xv = np.abs(np.asarray(b.x.reshape(-1)[ci], np.float64)) if target.operation != "quantize" else 0.0
        return (int(np.frexp(xv)[1]) if np.isfinite(xv) else 9999,)

    return _Group(b.cls, b.ids, line, key, b.err_msg, b)


def _cases_group(cs, g: int) -> _Group:
    return _Group(np.asarray(cs.cls).copy(), np.asarray(cs.ids, np.int64).copy(),
                  lambda ci, label, note="", error=None: cs.line(ci, label, note), lambda ci: g, {})


def flush_consistency(batches) -> tuple:
    """Flushing float32 subnormals is an open choice only if the library does it consistently:
    when a block holding subnormals mismatches, the blocks that merely look flushed (IMPL_DEFINED
    fp32_subnormal_flush) are MISMATCH too -- changed in place in the batches' classes. Returns
    (whether the library was found not to flush, how many blocks were moved)."""
    if not any(b.sub is not None and ((b.cls == MISMATCH) & b.sub).any() for b in batches):
        return False, 0
    flush = ID_BIT["fp32_subnormal_flush"]
    n_moved = 0
    for b in batches:
        sel = (b.cls == IMPL) & (b.ids == flush)
        b.cls[sel], b.ids[sel] = MISMATCH, 0
        n_moved += int(sel.sum())
    return True, n_moved


def _groups(adapter, target: Target, mode: str, level: int, seed: int, res: TargetResult) -> list:
    """The classified groups of a target, in the adapter's mode; notes go to res."""
    if mode == "compare":
        groups = []
        for g, cs in enumerate(adapter.compare(target)):
            if cs.note:
                res.notes.append(cs.note)
            groups.append(_cases_group(cs, g))
        return groups
    if mode == "record":
        rec = adapter.record(target)  # (x, output) or a list of (x, output, aux)
        inputs = rec if isinstance(rec, list) else [rec]
    else:
        inputs = [(x, None) for x in cases(target, level, seed)]
    batches = []
    for x, recorded, *aux in inputs:
        reason = target.unsupported or (None if mode == "record" else adapter.unsupported(target, x))
        if reason:
            res.counts[UNSUPPORTED] += count_cases(target, x)
            if reason not in res.notes:
                res.notes.append(reason)
            continue
        batches.append(classify_batch(adapter, target, x, recorded, aux[0] if aux else None))
    res.notes += adapter.notes(target, [b.x for b in batches])
    no_flush, n_moved = flush_consistency(batches)
    if no_flush:
        res.no_flush = True
        if n_moved:
            res.notes.append(f"{n_moved} blocks equal to the flushed-subnormal result counted as MISMATCH: "
                             "other blocks with float32-subnormal inputs mismatch both results, so the "
                             "library does not flush consistently")
    return [_batch_group(adapter, target, b) for b in batches]


def run_target(adapter: Adapter, target: Target, level: int, seed: int, strict: bool, keep: int,
               progress=None, diagnosis: bool = True, identify: bool = False) -> TargetResult:
    """Classify and count every case of one target, and keep up to ``keep`` varied MISMATCH
    candidates (rendered later by :func:`render_mismatches`); ``progress`` gets one line.
    ``diagnosis``: search the model catalogue for what reproduces its MISMATCH cases
    (:mod:`.diagnose`); ``identify``: count the cases each catalogue profile reproduces."""
    t0 = time.perf_counter()
    mode = adapter.mode(target)
    res = TargetResult(adapter.report_name, adapter.version(), target, mode=mode)
    with np.errstate(all="ignore"):  # NaN / Inf inputs are cases, not accidents
        groups = _groups(adapter, target, mode, level, seed, res)
        failing = []  # (group, case index, strict ids)
        for g in groups:
            strict_ids = np.zeros_like(g.ids)
            if strict:
                sel = g.cls == IMPL
                strict_ids[sel] = g.ids[sel]
                g.cls[sel] = MISMATCH
                g.ids[sel] = 0
            for c in range(5):
                res.counts[c] += int((g.cls == c).sum())
            for name, bit in ID_BIT.items():
                cnt = int(((g.ids & bit) != 0).sum())
                if cnt:
                    res.impl_ids[name] = res.impl_ids.get(name, 0) + cnt
            for ci in np.nonzero(g.cls == IMPL)[0][:IMPL_EXAMPLE_SCAN]:
                lab = class_label(IMPL, int(g.ids[ci]))
                if lab not in res.impl_lines:
                    res.impl_lines[lab] = g.line(int(ci), lab, "", g.errors.get(int(ci)))
            for ci in np.nonzero(g.cls == ERROR)[0][:keep]:
                if len(res.error_lines) < keep:
                    res.error_lines.append(g.line(int(ci), "ERROR", "", g.errors.get(int(ci))))
            mis = np.nonzero(g.cls == MISMATCH)[0]
            res.mismatch_total += len(mis)
            failing += [(g, int(ci), int(strict_ids[ci])) for ci in mis[:PICK_LIMIT]]
        if mode != "compare":  # the batches of a target share the limit; each compared file has its own
            failing = failing[:PICK_LIMIT]
        keys = [g.key(ci) for g, ci, _ in failing]
        res.candidates = [failing[i] for i in diversity_order(keys)[:keep]]
        if diagnosis or identify:
            diagnose_target(res, target, groups, diagnosis, identify)
    res.seconds = time.perf_counter() - t0
    if progress:
        c = res.counts
        progress(f"{adapter.display_name} {target.profile.name}: {target.operation} {target.format} "
                 f"({target.modes}): {res.cases} cases, {c[PASS]} pass, {c[MISMATCH]} mismatch, "
                 f"{c[IMPL]} impl-defined, {c[UNSUPPORTED]} unsupported, {c[ERROR]} error "
                 f"[{res.seconds:.1f} s]")
    return res


def diagnose_target(res: TargetResult, target: Target, groups: list, diagnosis: bool, identify: bool) -> None:
    """The diagnosis (and, with ``identify``, the profile counts) of a target from its classified
    groups: its MISMATCH cases stacked into one array (:func:`.diagnose.search_models`)."""
    from .diagnose import CLASSES_FOR_IDENTIFY, Diagnosis, cases_of_batch, identify_target, search_models, stack

    batches = [g for g in groups if g.batch is not None and (target.operation != "quantize" or g.batch.B is not None)]
    mis = stack([cases_of_batch(target, g.batch, g.cls == MISMATCH, g) for g in batches]) if batches else None
    if diagnosis and (res.mismatch_total or mis is not None):
        ref = stack([cases_of_batch(target, g.batch, g.cls == PASS) for g in batches]) if batches else None
        if mis is None and res.mismatch_total:  # compared files (compare mode): no inputs to rerun
            res.diagnosis = Diagnosis(target.operation, "cases", res.mismatch_total,
                                         note=f"not diagnosed ({target.operation} files are compared as they are)")
        else:
            res.diagnosis = search_models(target, mis, ref)
    if identify and batches:
        both = stack([cases_of_batch(target, g.batch, np.isin(g.cls, CLASSES_FOR_IDENTIFY))
                          for g in batches])
        d = res.diagnosis
        extra = [(f"{d.best.label(target.operation)} (diagnosis)", d.best)] if d is not None and d.best else []
        res.identify = identify_target(target, both, extra=extra)


def render_mismatches(res: TargetResult, adapter: Adapter, n: int) -> None:
    """Render the first n MISMATCH candidates of a target into ``res.mismatch_lines``: the blocks
    of a ``run`` quantize target shrunk first (unless ``adapter.no_shrink`` says why not),
    recorded blocks as found."""
    picked = res.candidates[:n]
    target = res.target
    if not picked:
        lines = []
    elif res.mode == "compare":
        lines = [g.line(ci, "MISMATCH", strict_note(sid)) for g, ci, sid in picked]
    else:
        why = [adapter.no_shrink(target, g.batch.x) for g, _, _ in picked] if res.mode == "run" else []
        if any(why):
            lines = [g.line(ci, "MISMATCH", f" ({w})" + strict_note(sid)) for (g, ci, sid), w in zip(picked, why)]
        elif target.operation == "quantize" and res.mode == "run":
            with np.errstate(all="ignore"):
                lines = shrink_and_render(adapter, target, [(g.batch, ci, sid) for g, ci, sid in picked],
                                          res.no_flush)
        else:
            lines = [g.line(ci, "MISMATCH", (" (recorded output: not shrunk)" if g.batch.recorded and g.batch.B
                                             is not None else "") + strict_note(sid))
                     for g, ci, sid in picked]
    res.mismatch_lines = lines
    res.candidates = []  # the batches can go


def resolve_profiles(adapter, profile) -> list:
    profs = adapter.profiles()
    if profile is None:
        names = list(adapter.default_profiles) or list(profs)
    elif profile == "all":
        names = list(profs)
    else:
        names = [p.strip() for p in str(profile).split(",") if p.strip()]
    bad = [n for n in names if n not in profs]
    if bad:
        raise ValueError(f"{adapter.display_name} has no profile {bad[0]!r}; its profiles: {', '.join(profs)} (or 'all')")
    return [profs[n] for n in names]


def resolve_formats(formats):
    if formats is None:
        return None
    if isinstance(formats, str):
        formats = [f for f in formats.split(",") if f.strip()]
    out = set()
    for f in formats:
        f = f.strip()
        if f.lower() in ("e8m0", NVFP4):
            out.add(f.lower())
            continue
        try:
            mxf = mx_format(f)
            out |= {mxf.name, mxf.element.name}
        except ValueError:
            raise ValueError(f"unknown format {f!r}; use an MX format ({', '.join(MX_FORMATS)}), "
                             "an element format name, e8m0 or nvfp4") from None
    return out


def check(library, *, profile=None, level: int = 1, seed: int = 0, strict: bool = False, errors: int = 20,
          formats=None, operations=None, progress=None, dump=None, recordings=None,
          vectors=None, microxcaling_dir=None, diagnosis: bool = True, identify: bool = False) -> Report:
    """Run one library (a name of :data:`~.adapters.ADAPTERS` or an :class:`~.adapters.Adapter`)
    and return the :class:`~.report.Report`. ``profile``: a name, comma-separated names, "all",
    or None (the adapter's defaults); ``formats`` / ``operations``: optional filters; ``errors``:
    MISMATCH (and ERROR) lines kept, 0 = every picked case (at most 64 shrunk per target);
    ``progress``: a callable receiving one line per target. ``dump``: the directory of library
    "dump" (``dump.json``, or the spec_vectors layout with ``MANIFEST.json``); ``recordings``
    (alias ``microxcaling_dir``): the microxcaling recordings directory (default:
    :func:`~.adapters.microxcaling.default_recordings`); ``vectors``: the reference spec_vectors
    set for a dump in that layout (default: :func:`~.adapters.spec_vectors.default_vectors`).
    ``diagnosis`` (default on): name the catalogue models that reproduce each target's MISMATCH
    cases (:mod:`.diagnose`); ``identify``: rank the catalogue's profiles by the cases each
    reproduces (the report's ``identify`` ranking)."""
    if level not in LEVEL_MINIMUM:
        raise ValueError(f"level must be 1 or 2, got {level!r}")
    if isinstance(errors, bool) or not isinstance(errors, int) or errors < 0:
        raise ValueError(f"errors must be an int >= 0, got {errors!r}")
    if microxcaling_dir is not None:
        if recordings is not None and Path(recordings) != Path(microxcaling_dir):
            raise ValueError("give the recordings directory once: recordings and microxcaling_dir differ")
        recordings = microxcaling_dir
    adapter = make_adapter(library, dump=dump, recordings=recordings, vectors=vectors)
    why = adapter.availability()
    if why:
        raise AdapterUnavailable(why)
    fset = resolve_formats(formats)
    if operations is not None:
        ops = [operations] if isinstance(operations, str) else list(operations)
        for op in ops:
            if op not in ALL_OPERATIONS:
                raise ValueError(f"unknown operation {op!r}; known: {', '.join(ALL_OPERATIONS)}")
    keep = errors if errors else 10**9
    results = []
    offered = []  # every target of the profiles, before the filters
    for prof in resolve_profiles(adapter, profile):
        for t in adapter.targets(prof, level):
            offered.append(t)
            if fset is not None and not set(t.format.split("__")) & fset:  # matmul: "<A>__<B>"
                continue
            if operations is not None and t.operation not in ops:
                continue
            results.append(run_target(adapter, t, level, seed, strict, keep, progress, diagnosis, identify))
    # MISMATCH lines: round-robin over the targets, capped by errors; only those are shrunk
    take = [0] * len(results)
    left = errors if errors else 10**9
    j = 0
    while left > 0 and any(j < len(r.candidates) for r in results):
        for i, r in enumerate(results):
            if j < len(r.candidates) and left > 0:
                take[i] += 1
                left -= 1
        j += 1
    for r, n in zip(results, take):
        render_mismatches(r, adapter, n)
    notes = adapter.run_notes([r.target for r in results])
    annotate_known(adapter, results, notes)
    if not results:
        name = adapter.library
        asked = "".join(f" {k} {v if isinstance(v, str) else ','.join(map(str, v))}"
                        for k, v in (("--format", formats), ("--operation", operations)) if v)
        notes.append(printable(
            f"no target of {name} matches{asked or ' its profiles'}: its targets are "
            f"{', '.join(sorted({t.operation for t in offered})) or 'none'} on "
            f"{', '.join(sorted({t.format for t in offered})) or 'no format'}"))
    return Report(results, level, seed, strict, errors, notes=notes, diagnosis=diagnosis, identify=identify)
