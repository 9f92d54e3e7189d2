"""Calling a library on a batch: its output checked for shape and dtype, and the rows that raise
found by halving (the others still compared)."""

from __future__ import annotations

import numpy as np

from .model import Output, Target

class BadOutput(Exception):
    pass


BAD_OUTPUT = "bad output: "


def check_output(target: Target, x: np.ndarray, out) -> Output:
    if not isinstance(out, Output):
        raise BadOutput(f"the adapter returned {type(out).__name__}, not an Output")
    if target.operation == "quantize":
        n, L = x.shape
        want = {"scales": (n, -(-L // target.block_size)), "codes": (n, L), "values": (n, L)}
    else:
        want = {"codes": x.shape}
    if all(getattr(out, nm) is None for nm in want):
        raise BadOutput("the library output holds none of " + ", ".join(want))
    for nm, shape in want.items():
        a = getattr(out, nm)
        if a is None:
            continue
        a = np.asarray(a)
        if a.shape != shape:
            raise BadOutput(f"{nm} has shape {a.shape}, expected {shape}")
        if nm != "values" and a.dtype.kind not in "iu":
            raise BadOutput(f"{nm} must hold integer codes, got dtype {a.dtype}")
        if nm == "values" and a.dtype.kind != "f":
            raise BadOutput(f"values must be floating, got dtype {a.dtype}")
    return out


def merge_outputs(a: Output | None, b: Output | None, na: int, nb: int) -> Output | None:
    """Concatenate the outputs of two row ranges; a side that raised (None) is filled with
    placeholders shaped like the other side."""
    if a is None and b is None:
        return None
    parts = [a, b]
    res = Output()
    for nm in ("scales", "codes", "values"):
        have = [getattr(p, nm) for p in parts if p is not None]
        if any(h is None for h in have):
            continue
        arrs = []
        for p, n in zip(parts, (na, nb)):
            if p is None:
                shape = (n,) + np.asarray(have[0]).shape[1:]
                arrs.append(np.full(shape, np.nan if nm == "values" else 0,
                                    dtype=np.float64 if nm == "values" else np.int64))
            else:
                arrs.append(np.asarray(getattr(p, nm), np.float64 if nm == "values" else np.int64))
        setattr(res, nm, np.concatenate(arrs))
    return res


def guarded(fn, target: Target, x: np.ndarray):
    """(Output or None, {row: message}): run fn on the rows of x; where it raises, split the rows
    in halves to find the rows that raise."""
    try:
        return check_output(target, x, fn(x)), {}
    except BadOutput as exc:
        return None, {i: f"{BAD_OUTPUT}{exc}" for i in range(len(x))}
    except Exception as exc:  # the library raised
        if len(x) == 1:
            return None, {0: f"{type(exc).__name__}: {exc}"[:200]}
    h = len(x) // 2
    oa, ea = guarded(fn, target, x[:h])
    ob, eb = guarded(fn, target, x[h:])
    errs = dict(ea)
    errs.update({h + i: m for i, m in eb.items()})
    return merge_outputs(oa, ob, h, len(x) - h), errs
