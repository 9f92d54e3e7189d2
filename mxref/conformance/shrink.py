"""Shrinking a failing quantize block: elements set to +0 one at a time while the block still
fails with the same scale verdict, until no single non-zero element can be removed."""

from __future__ import annotations

import numpy as np

from .classify import classify_blocks
from .expected import alternatives, reference_output
from .guard import guarded
from .lines import block_line, make_line, strict_note
from .model import ID_BIT, IMPL, MISMATCH, Target

SHRINK_LIMIT = 64  # blocks shrunk per target (reported lines); the rest are shown as found

def still_fails(adapter, target: Target, blocks: np.ndarray, want_scale: np.ndarray,
                 no_flush: bool = False) -> np.ndarray:
    """Per row (one block each): does the library still MISMATCH, with the same scale verdict?
    ``no_flush``: the target was found not to flush consistently, so a block equal to the
    flushed result mismatches too."""
    got, raised = guarded(lambda a: adapter.run(target, a), target, blocks)
    if got is None:
        return np.zeros(len(blocks), bool)
    raised = dict(raised, **{int(i): m for i, m in got.errors.items()})
    exp = reference_output(target, blocks)
    B = classify_blocks(target, blocks, exp, got, alternatives(target, blocks))
    if no_flush:
        B.cls[(B.cls == IMPL) & (B.ids == ID_BIT["fp32_subnormal_flush"])] = MISMATCH
    ok = (B.cls == MISMATCH) & (B.d_scale == want_scale)
    if raised:
        ok[list(raised)] = False
    return ok


def shrink_blocks(adapter, target: Target, blocks: np.ndarray, want_scale: np.ndarray,
                   no_flush: bool = False) -> np.ndarray:
    """Set non-zero elements to +0 while the block still fails: each round tries every single
    removal of every block in one library call, then all accepted removals of a block at once
    (falling back to its first one). Ends when no single non-zero element can be removed."""
    cur = blocks.copy()
    active = np.ones(len(cur), bool)
    for _ in range(cur.shape[1] + 1):
        cand, owner, pos = [], [], []
        for b in np.nonzero(active)[0]:
            for j in np.nonzero(cur[b] != 0)[0]:
                c = cur[b].copy()
                c[j] = 0
                cand.append(c)
                owner.append(b)
                pos.append(j)
        if not cand:
            break
        owner = np.array(owner)
        pos = np.array(pos)
        ok = still_fails(adapter, target, np.array(cand), want_scale[owner], no_flush)
        progressed = np.zeros(len(cur), bool)
        trial, trial_owner, first = [], [], {}
        for b in np.nonzero(active)[0]:
            js = pos[(owner == b) & ok]
            if js.size == 0:
                continue
            first[b] = js[0]
            c = cur[b].copy()
            c[js] = 0
            trial.append(c)
            trial_owner.append(b)
        if trial:
            tok = still_fails(adapter, target, np.array(trial), want_scale[np.array(trial_owner)], no_flush)
            for t, b in enumerate(trial_owner):
                if tok[t]:
                    cur[b] = trial[t]
                else:
                    cur[b, first[b]] = 0
                progressed[b] = True
        active &= progressed
        if not active.any():
            break
    # finally, -0 inputs become +0 where the block still fails
    negz = (cur == 0) & np.signbit(cur)
    rows = np.nonzero(negz.any(1))[0]
    if rows.size:
        trial = np.where(negz[rows], cur.dtype.type(0), cur[rows])
        ok = still_fails(adapter, target, trial, want_scale[rows], no_flush)
        cur[rows[ok]] = trial[ok]
    return cur


def shrink_and_render(adapter, target: Target, picked, no_flush: bool = False) -> list:
    lines = []
    k = target.block_size
    by_len: dict = {}
    info = []
    for idx, (b, ci, sid) in enumerate(picked):
        xb = b.B.x[ci][b.B.valid[ci]]
        info.append((xb, bool(b.B.d_scale[ci]), sid))
        by_len.setdefault(len(xb), []).append(idx)
    shrunk = [None] * len(picked)
    for L, idxs in by_len.items():
        todo = idxs[:SHRINK_LIMIT]
        blocks = np.array([info[i][0] for i in todo])
        want = np.array([info[i][1] for i in todo])
        alone = still_fails(adapter, target, blocks, want, no_flush)
        go = [i for i, a in zip(todo, alone) if a]
        if go:
            out = shrink_blocks(adapter, target, np.array([info[i][0] for i in go]),
                                 np.array([info[i][1] for i in go]), no_flush)
            for i, row in zip(go, out):
                shrunk[i] = row
        for i, a in zip(todo, alone):
            if not a:
                shrunk[i] = "alone"
    for idx, (b, ci, sid) in enumerate(picked):
        xb0, _, _ = info[idx]
        s = shrunk[idx]
        if isinstance(s, np.ndarray):
            row = s[None, :]
            g, _ = guarded(lambda a: adapter.run(target, a), target, row)
            e = reference_output(target, row)
            gd = {}
            if g.scales is not None:
                gd["scale"] = np.asarray(g.scales)[0, 0]
            if g.codes is not None:
                gd["code"] = np.asarray(g.codes)[0]
            if g.values is not None:
                gd["value"] = np.asarray(g.values, np.float64)[0]
            ed = {"scale": e.scales[0, 0], "code": e.codes[0], "value": e.values[0]}
            n0, n1 = int((xb0 != 0).sum()), int((s != 0).sum())
            note = f" (shrunk from {n0} to {n1} non-zero)" if n1 < n0 else " (no element could be removed)"
            lines.append(block_line(target, adapter.display_name, "MISMATCH", s, ed, gd, note + strict_note(sid),
                                     extra={"shrunk_from": n0, "nonzero": n1}))
        else:
            note = (" (not shrunk: the block alone does not fail)" if s == "alone"
                    else " (not shrunk: over the shrink limit)")
            lines.append(make_line(adapter, target, b, ci, "MISMATCH", note=note + strict_note(sid)))
    return lines
