"""Run a profile of mxref.models against its library through the checker's adapters, on the
checker's cases (mxref.conformance.cases, level 1 / the recorded inputs): per target, the cases
compared, those equal bit for bit, and those the checker's classification still calls MISMATCH
(NaN / Inf blocks, signed zeros and NaN payloads are implementation-defined there).
Used by tests/models/test_profiles.py; ``python tests/models/profile_check.py`` prints a table."""

from __future__ import annotations

import numpy as np

import mxref.models as mm
from mxref.conformance import cases
from mxref.conformance.guard import guarded
from mxref.conformance.classify import classify_blocks, classify_values, same64
from mxref.conformance.model import MISMATCH, Output, to_blocks

#: profile -> (adapter name, adapter profile name)
RUNNABLE = {
    "torchao-0.18:floor": ("torchao", "floor-rne"),
    "torchao-0.18:ceil": ("torchao", "ceil-rne"),
    "torchao-0.18:even": ("torchao", "even-rne"),
    "torchao-0.18:rceil": ("torchao", "rceil-rne"),
    "microxcaling:even": ("microxcaling", "floor-rne"),
    "microxcaling:nearest": ("microxcaling", "floor-ties_away"),
    "gfloat-0.5": ("gfloat", "floor-rne"),
    "ml_dtypes-0.6": ("ml_dtypes", "rne"),
    "ml_dtypes-0.7": ("ml_dtypes", "rne"),
    "onnx-1.22:up": ("onnx", "rne"),
    "onnx-1.22:nearest": ("onnx", "e8m0-nearest"),
    "onnx-1.22:down": ("onnx", "e8m0-down"),
    "onnxruntime-1.32:up": ("onnxruntime", "rne"),
    "onnxruntime-1.32:nearest": ("onnxruntime", "e8m0-nearest"),
    "onnxruntime-1.32:down": ("onnxruntime", "e8m0-down"),
}


def adapter(name):
    from mxref.conformance import ADAPTERS

    a = ADAPTERS[name]()
    why = a.availability()
    return a, why


def model_output(prof, target, x) -> Output:
    if target.operation == "quantize":
        q = mm.apply_profile(x, target.format, prof, block_size=target.block_size,
                             int8_allow_minus128=target.profile.int8_allow_minus128)
        return Output(q.scales.astype(np.int64), q.elements.astype(np.int64), q.dequantize(np.float64))
    if target.operation == "encode":
        return Output(codes=mm.apply_profile(x, target.format, prof, operation="encode",
                                             overflow=target.overflow).astype(np.int64))
    xs = np.where(np.isnan(x) | (x > 0), x, 1.0)
    return Output(codes=mm.apply_profile(xs, "e8m0", prof, operation="encode_e8m0",
                                         overflow=target.profile.e8m0_overflow).astype(np.int64))


def _strict(target, x, exp: Output, got: Output):
    """(cases, equal) bit for bit on the components the library gives."""
    if target.operation != "quantize":
        g = np.asarray(got.codes, np.int64).reshape(-1)
        return g.size, int((g == exp.codes.reshape(-1)).sum())
    n, L = x.shape
    k = target.block_size
    nb = -(-L // k)
    eq = np.ones(n * nb, bool)
    if got.scales is not None:
        eq &= np.asarray(got.scales, np.int64).reshape(-1) == exp.scales.reshape(-1)
    if got.codes is not None:
        eq &= to_blocks(np.asarray(got.codes, np.int64) == exp.codes, k, True).all(1)
    if got.values is not None:
        eq &= to_blocks(same64(got.values, exp.values), k, True).all(1)
    return eq.size, int(eq.sum())


def verify(profile_name: str, level: int = 1):
    """({target modes text: (cases, bit-equal, checker MISMATCH, of which in NaN-holding
    blocks)}, library version), or (None, why not available)."""
    lib, aprof = RUNNABLE[profile_name if isinstance(profile_name, str) else profile_name.name]
    a, why = adapter(lib)
    if why:
        return None, why
    prof = mm.profile(profile_name) if isinstance(profile_name, str) else profile_name
    p = a.profiles()[aprof]
    out = {}
    for t in a.targets(p, level):
        if t.unsupported:
            continue
        if (t.operation == "quantize") != (prof.kind == "quantize"):
            continue
        if prof.formats and t.operation == "quantize" and t.format not in prof.formats:
            continue
        if getattr(a, "recorded", False):
            rec = a.record(t)  # one (x, Output) pair, or a list of (x, Output, aux) batches
            batches = [rec] if isinstance(rec, tuple) else [(x, got) for x, got, _aux in rec]
        else:
            batches = []
            for x in cases(t, level=level):
                if a.unsupported(t, x):
                    continue
                with np.errstate(all="ignore"):
                    got, errs = guarded(lambda xx: a.run(t, xx), t, x)
                if got is None:
                    continue
                if errs:  # rows / values the library raised on: not compared
                    keep = np.setdiff1d(np.arange(len(x)), list(errs))
                    got = Output(*(None if c is None else np.asarray(c)[keep]
                                   for c in (got.scales, got.codes, got.values)))
                    x = x[keep]
                batches.append((x, got))
        n = eq = mis = mis_nan = 0
        for x, got in batches:
            with np.errstate(all="ignore"):
                exp = model_output(prof, t, x)
            c, e = _strict(t, x, exp, got)
            n += c
            eq += e
            with np.errstate(invalid="ignore"):  # signalling NaN inputs widened to float64
                if t.operation == "quantize":
                    b = classify_blocks(t, x, exp, got, {})
                    cls = b.cls
                    nan_blk = (np.isnan(b.x.astype(np.float64)) & b.valid).any(1)
                else:
                    cls, _ = classify_values(t, x, exp, got, {})
                    nan_blk = np.isnan(np.asarray(x, np.float64)).reshape(-1)
            mis += int((cls == MISMATCH).sum())
            mis_nan += int(((cls == MISMATCH) & nan_blk).sum())
        out[f"{t.operation} {t.format} {t.modes}"] = (n, eq, mis, mis_nan)
    return out, a.version()


if __name__ == "__main__":
    import sys

    for name in (sys.argv[1:] or RUNNABLE):
        res, ver = verify(name)
        if res is None:
            print(f"{name}: not run ({ver})")
            continue
        tot = [sum(v[i] for v in res.values()) for i in range(4)]
        print(f"{name} [{ver}]: {tot[0]} cases, {tot[1]} bit-equal, {tot[2]} MISMATCH ({tot[3]} in NaN blocks)")
        for k, v in res.items():
            if v[2] or v[1] != v[0]:
                print(f"   {k}: {v}")
