"""Benchmark: mxref MXFP8 (E4M3) and MXFP4 (E2M1) quantize + dequantize against a plain copy.

A benchmark, not a test: it measures and prints, and exits 0 (a library that is missing or a
row that fails becomes a row with a note). Every time is printed also as a ratio to the time of
``np.copyto`` of the same float32 array into a preallocated one, measured in the same run: that
ratio is the number to compare across machines.

    mxref bench                          # (1, 4096, 11008) float32, median of 5
    mxref bench --matrix                 # every path (dtype, axis, rounding, rule, ...) vs the default
    mxref bench --shape 1,1024,4096 --repeat 5
    mxref bench --quick                  # a tiny size, one repetition (for the tests)
    mxref bench --profile                # also cProfile one mxref round trip per format
    mxref bench --matmul                 # mxref.matmul 1024x4096 @ 4096x1024, seconds per model

(``python tools/bench.py`` is the same command.)

Rows, all on the same array (standard normal float32, fixed seed):

* numpy ``np.copyto`` into a preallocated array: the unit.
* mxref ``quantize(x, fmt)`` and ``MXArray.dequantize()`` (float32), each timed and their sum;
  then both into preallocated outputs (``quantize(..., out=(scales, elements))``,
  ``dequantize(mx, out=buf)``): the same work without the first-touch page faults of a fresh
  output, which is what the copy unit measures too.
* torchao ``MXTensor.to_mx(t, elem_dtype, block_size=32)`` (ScaleCalculationMode.FLOOR, the
  §6.3 rule and mxref's default) and ``.dequantize(torch.float32)``, on CPU, when torchao
  imports. Its output is compared bit for bit with mxref's.
* ml_dtypes' element cast only (``x.astype(float8_e4m3fn)`` / ``float4_e2m1fn`` and back to
  float32), when ml_dtypes imports: no block scale, so a lower bound of what a cast costs.

Each row is the median of ``--repeat`` timed calls (default 5) after ``--warmup`` untimed ones
(default 1): on Linux the first large call of a process can pay hundreds of thousands of page
faults (glibc handing freed temporaries back to the kernel), which doubles mxref's time; the
faults per timed call are printed in the notes.

Peak extra memory of mxref's quantize + dequantize is measured with tracemalloc in a separate,
untimed run (NumPy reports its array allocations to tracemalloc; torch's are not traced).
Progress goes to stderr; the report to stdout. Exit status 0 unless the arguments are wrong.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import os
import sys
import time
import tracemalloc

import numpy as np

import mxref

from ._peer_imports import quiet_torchao
from .tables import github_table

DEFAULT_SHAPE = (1, 4096, 11008)
QUICK_SHAPE = (1, 8, 256)
BLOCK = 32
#: (mxref format, short label, torch element dtype attribute, ml_dtypes dtype name)
FORMATS = (
    ("mxfp8_e4m3", "MXFP8 E4M3", "float8_e4m3fn", "float8_e4m3fn"),
    ("mxfp4_e2m1", "MXFP4 E2M1", "float4_e2m1fn_x2", "float4_e2m1fn"),
)

def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def parse_shape(text: str) -> tuple[int, ...]:
    parts = [p for p in text.replace("x", ",").replace("(", "").replace(")", "").split(",") if p.strip()]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape must be integers like 1,4096,11008, got {text!r}") from None
    if not shape or any(d <= 0 for d in shape):
        raise argparse.ArgumentTypeError(f"shape must be positive integers, got {text!r}")
    return shape


def _minflt() -> int:
    """Minor page faults of this process so far (0 where the resource module is missing)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not Unix
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def best_of(fn, repeat: int, warmup: int = 0):
    """(median seconds, last result, minor page faults per timed call) of ``repeat`` calls of fn,
    after ``warmup`` untimed calls. (The name is historical: the figure is the median.)"""
    med, _, _, out, pf = timed(fn, repeat, warmup)
    return med, out, pf


def timed(fn, repeat: int, warmup: int = 0):
    """(median, min, max seconds, last result, minor page faults per timed call) of ``repeat``
    calls of fn after ``warmup`` untimed ones; a garbage collection before each call."""
    for _ in range(warmup):
        fn()
    times, out = [], None
    f0 = _minflt()
    for _ in range(repeat):
        out = None
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), max(times), out, (_minflt() - f0) / repeat


def best_of_pair(first, second, repeat: int, warmup: int = 0):
    """Time first() then second(first's result), ``repeat`` times, after ``warmup`` untimed pairs.

    Returns (median first, median second, median sum, last second result, minor page faults per
    timed pair); ``self.spread`` style extremes of the sums are in :func:`timed_pair`."""
    m1, m2, msum, _, _, out, pf = timed_pair(first, second, repeat, warmup)
    return m1, m2, msum, out, pf


def timed_pair(first, second, repeat: int, warmup: int = 0):
    """(median first, median second, median sum, min sum, max sum, last result, faults/pair)."""
    for _ in range(warmup):
        second(first())
    t1s, t2s, sums = [], [], []
    out = None
    f0 = _minflt()
    for _ in range(repeat):
        out = None
        gc.collect()
        t0 = time.perf_counter()
        mid = first()
        t1 = time.perf_counter()
        out = second(mid)
        t2 = time.perf_counter()
        del mid
        t1s.append(t1 - t0)
        t2s.append(t2 - t1)
        sums.append(t2 - t0)
    med = statistics.median
    return med(t1s), med(t2s), med(sums), min(sums), max(sums), out, (_minflt() - f0) / repeat


def pf_note(faults: float) -> str:
    return f"{faults / 1000:.0f}k page faults/call" if faults >= 1000 else f"{faults:.0f} page faults/call"


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


def machine_load() -> str:
    """The 1/5/15-minute load averages, where the system reports them."""
    try:
        return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except (AttributeError, OSError):  # pragma: no cover - not Unix
        return "load average unknown"


def render(rows, headers) -> str:
    """A GitHub Markdown table (empty cells for None)."""
    return github_table([["" if c is None else str(c) for c in r] for r in rows], headers)


class Bench:
    def __init__(self, x: np.ndarray, repeat: int, warmup: int):
        self.x = x
        self.repeat = repeat
        self.warmup = warmup
        self.rows = []  # [library, operation, format, seconds or None, note]
        self.mx_out = {}  # mxref dequantized output per format, for the cross-checks
        self.totals = {}  # (library, format) -> seconds of the round trip (median)
        self.spread = {}  # (library, format) -> (fastest, slowest) round trip
        self.prealloc = {}  # format -> mxref quantize + dequantize into preallocated outputs (medians)

    def add(self, lib, op, fmt, seconds, note=""):
        self.rows.append([lib, op, fmt, seconds, note])

    # --- the unit ---------------------------------------------------------------------------
    def copy(self) -> float:
        dst = np.empty_like(self.x)
        n = max(self.repeat, 5)  # cheap: a few more repetitions steady the unit
        t, _, _ = best_of(lambda: np.copyto(dst, self.x), n, self.warmup)
        self.add("numpy", "np.copyto (preallocated)", "float32", t, f"the unit; median of {n}")
        return t

    # --- mxref ------------------------------------------------------------------------------
    def mxref(self, fmt, label):
        tq, td, tsum, lo, hi, out, pf = timed_pair(lambda: mxref.quantize(self.x, fmt), lambda mx: mx.dequantize(),
                                                   self.repeat, self.warmup)
        self.mx_out[fmt] = out
        self.totals[("mxref", fmt)] = tsum
        self.spread[("mxref", fmt)] = (lo, hi)
        self.add("mxref", "quantize", label, tq)
        self.add("mxref", "dequantize -> float32", label, td)
        self.add("mxref", "quantize + dequantize", label, tsum, f"median round trip; {pf_note(pf)}")
        # the same dequantize into a preallocated array (out=): no first-touch page faults of a
        # fresh output, the same work as the copy unit (which writes a preallocated array too)
        mx = mxref.quantize(self.x, fmt)
        qbuf = (np.empty(mx.scales.shape, np.uint8), np.empty(mx.elements.shape, np.uint8))
        tq2, _, _ = best_of(lambda: mxref.quantize(self.x, fmt, out=qbuf), self.repeat, max(self.warmup, 1))
        self.add("mxref", "quantize (out=, preallocated)", label, tq2,
                 "fresh vs preallocated: a fresh output page-faults on first touch")
        buf = np.empty(self.x.shape, np.float32)
        tp, _, _ = best_of(lambda: mxref.dequantize(mx, out=buf), self.repeat, max(self.warmup, 1))
        self.add("mxref", "dequantize -> float32 (out=, preallocated)", label, tp,
                 "fresh vs preallocated: a fresh output page-faults on first touch")
        self.prealloc[fmt] = tq2 + tp

    # --- torchao ----------------------------------------------------------------------------
    def torchao(self, fmt, label, torch_attr, mods):
        torch, MXTensor, floor = mods
        elem = getattr(torch, torch_attr, None)
        if elem is None:
            self.add("torchao", "to_mx + dequantize", label, None, f"skipped: torch has no {torch_attr}")
            return
        t = torch.from_numpy(self.x)  # shares the array's memory
        if t.shape[-1] % BLOCK:
            self.add("torchao", "to_mx + dequantize", label, None,
                     f"skipped: torchao needs the last dimension a multiple of {BLOCK}")
            return
        with torch.no_grad():
            tq, td, tsum, lo, hi, out, pf = timed_pair(
                lambda: MXTensor.to_mx(t, elem, block_size=BLOCK, scaling_mode=floor),
                lambda m: m.dequantize(torch.float32),
                self.repeat,
                self.warmup,
            )
        self.totals[("torchao", fmt)] = tsum
        self.spread[("torchao", fmt)] = (lo, hi)
        note = pf_note(pf)
        ref = self.mx_out.get(fmt)
        if ref is not None:
            got = out.numpy()
            same = got.shape == ref.shape and np.array_equal(got.view(np.uint32), ref.view(np.uint32))
            note = ("output bit-identical to mxref's" if same else "output DIFFERS from mxref's") + f"; {note}"
        self.add("torchao", "to_mx", label, tq)
        self.add("torchao", "dequantize -> float32", label, td)
        self.add("torchao", "to_mx + dequantize", label, tsum, note)

    # --- ml_dtypes --------------------------------------------------------------------------
    def ml_dtypes(self, label, name, ml_dtypes):
        dt = getattr(ml_dtypes, name, None)
        if dt is None:
            self.add("ml_dtypes", "astype + astype(float32)", label, None, f"skipped: ml_dtypes has no {name}")
            return
        t, _, pf = best_of(lambda: self.x.astype(dt).astype(np.float32), self.repeat, self.warmup)
        self.add("ml_dtypes", f"astype({name}) + astype(float32)", label, t,
                 f"element cast only, no block scale; {pf_note(pf)}")


# ----- --matrix: every path against the default one -------------------------------------------------

MATRIX_SHAPE = (1024, 4096)
#: what a path changes from the default (float32 input, last axis, rne, floor, float32 output)
_DEFAULT_PATH = dict(dtype="float32", axis="last", rounding="rne", scale_rule="floor", out="float32",
                     ragged="no")


def _matrix_paths(ml_dtypes) -> list[dict]:
    """One path per changed factor (one factor at a time), the default first."""
    from .options import ROUNDING_MODES, SCALE_RULES

    paths = [dict(_DEFAULT_PATH)]
    dtypes = ["float16", "float64"] + (["bfloat16"] if ml_dtypes is not None else [])
    outs = ["float16", "float64"] + (["bfloat16"] if ml_dtypes is not None else [])
    for key, values in (("dtype", dtypes), ("axis", ["first"]),
                        ("rounding", [r for r in ROUNDING_MODES if r != "rne"]),
                        ("scale_rule", [r for r in SCALE_RULES if r != "floor"]),
                        ("out", outs), ("ragged", ["2-D", "1-D"])):
        for v in values:
            paths.append(dict(_DEFAULT_PATH, **{key: v}))
    return paths


def _path_label(p: dict) -> str:
    changed = [f"{k}={v}" for k, v in p.items() if _DEFAULT_PATH[k] != v]
    return ", ".join(changed) or "default"


def _path_call(x2: np.ndarray, fmt: str, p: dict, ml_dtypes):
    """(input array, quantize kwargs, output dtype) of a path; the input is built outside the timing."""
    x = x2
    if p["ragged"] == "2-D":
        x = np.ascontiguousarray(x2[:, : x2.shape[1] - 7])
    elif p["ragged"] == "1-D":
        x = x2.reshape(-1)[: x2.size - 7]
    if p["dtype"] == "bfloat16":
        x = x.astype(ml_dtypes.bfloat16)
    elif p["dtype"] != "float32":
        x = x.astype(p["dtype"])
    kw = dict(rounding=p["rounding"], scale_rule=p["scale_rule"], axis=0 if p["axis"] == "first" else -1)
    if p["rounding"] == "stochastic":
        kw.update(random_bits=np.random.default_rng(1).integers(0, 256, size=x.shape, dtype=np.uint8),
                  random_bit_count=8)
    out = ml_dtypes.bfloat16 if p["out"] == "bfloat16" else np.dtype(p["out"])
    return x, kw, out


def _peak_extra(fn, baseline_bytes: int) -> float:
    """Peak bytes traced while fn runs, as a multiple of baseline_bytes."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        r = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
        del r
    finally:
        tracemalloc.stop()
    return peak / baseline_bytes


def run_matrix(x2: np.ndarray, formats, repeat: int, warmup: int, unit: float, ml_dtypes, memory: bool):
    """Rows of the --matrix table: per format and path, the round-trip ratio to the copy, its
    ratio to the format's default path, and the peak extra memory as a multiple of the input."""
    rows = []
    for fmt in formats:
        base = None
        for p in _matrix_paths(ml_dtypes):
            label = _path_label(p)
            log(f"matrix: {fmt}: {label}")
            try:
                x, kw, out = _path_call(x2, fmt, p, ml_dtypes)
                tq, td, tsum, lo, hi, _, _ = timed_pair(lambda: mxref.quantize(x, fmt, **kw),
                                                        lambda mx: mx.dequantize(out), repeat, warmup)
            except Exception as exc:  # a benchmark reports, it does not fail
                rows.append([fmt, label, "—", "—", "—", "—", "—", "—", f"error: {type(exc).__name__}: {exc}"[:80]])
                continue
            if base is None:
                base = tsum
            mem = res = None
            if memory:
                mem = max(_peak_extra(lambda: mxref.quantize(x, fmt, **kw), x.nbytes),
                          _peak_extra(lambda: mxref.quantize(x, fmt, **kw).dequantize(out), x.nbytes))
                # what the round trip cannot do without: the MXArray and the output array
                mx = mxref.quantize(x, fmt, **kw)
                res = (mx.elements.nbytes + mx.scales.nbytes + x.size * np.dtype(out).itemsize) / x.nbytes
                del mx
            rel = tsum / base
            flags = []
            if rel > 2:
                flags.append("over 2x the default path")
            if mem is not None and mem > 1.5:
                flags.append("memory over 1.5x the input" + (f" (the result alone is {res:.2f}x)" if res > 1.5 else ""))
            rows.append([fmt, label, f"{tq / unit:.1f}x", f"{td / unit:.1f}x",
                         f"{tsum / unit:.1f}x ({lo / unit:.1f}-{hi / unit:.1f})", f"{rel:.2f}",
                         "—" if mem is None else f"{mem:.2f}x", "—" if mem is None else f"{mem - res:.2f}x",
                         "; ".join(flags)])
    return rows


MATRIX_HEADERS = ["format", "path (what differs from the default)", "quantize", "dequantize",
                  "round trip (min-max)", "vs default", "peak extra memory", "of it temporaries", "note"]


def import_torchao():
    """(torch, MXTensor, ScaleCalculationMode.FLOOR) or a reason string."""
    try:
        import torch
    except Exception as exc:  # ImportError, or a broken install
        return f"torch not importable ({type(exc).__name__})"
    try:
        with quiet_torchao():
            from torchao.prototype.mx_formats.mx_tensor import MXTensor
            from torchao.prototype.mx_formats.config import ScaleCalculationMode
    except Exception as exc:
        return f"torchao.prototype.mx_formats not importable ({type(exc).__name__}: {exc})"[:120]
    return torch, MXTensor, ScaleCalculationMode.FLOOR


def measure_memory(x: np.ndarray, fmt: str) -> dict:
    """Peak bytes traced above the baseline (x already allocated) during quantize, then during
    dequantize (the MXArray alive), and what the two results hold afterwards."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        mx = mxref.quantize(x, fmt)
        q_peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.reset_peak()
        y = mx.dequantize()
        cur, peak = tracemalloc.get_traced_memory()
        d_peak = peak - base
        kept = cur - base
        del mx, y
    finally:
        tracemalloc.stop()
    return {"quantize": q_peak, "dequantize": d_peak, "peak": max(q_peak, d_peak), "kept": kept}


def profile_mxref(x: np.ndarray, fmt: str, top: int) -> str:
    import cProfile
    import io
    import pstats

    pr = cProfile.Profile()
    pr.enable()
    mxref.quantize(x, fmt).dequantize()
    pr.disable()
    s = io.StringIO()
    st = pstats.Stats(pr, stream=s)
    st.strip_dirs().sort_stats("tottime").print_stats(top)
    return s.getvalue()


def main(argv=None, prog: str = "mxref bench") -> int:
    """``mxref bench``: run the benchmark and print the report; exit status 2 on bad arguments."""
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", type=parse_shape, default=None,
                    help="array shape, e.g. 1,4096,11008 (default) or 1x4096x11008")
    ap.add_argument("--repeat", type=int, default=None, help="median of N repetitions (default 5)")
    ap.add_argument("--warmup", type=int, default=None,
                    help="untimed calls before each timed row (default 1; 0 with --quick)")
    ap.add_argument("--quick", action="store_true",
                    help=f"tiny run: shape {','.join(map(str, QUICK_SHAPE))}, one repetition, no warm-up "
                         "(unless given)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-memory", action="store_true", help="skip the tracemalloc measurement")
    ap.add_argument("--profile", action="store_true",
                    help="also print a cProfile of one mxref round trip per format (top functions)")
    ap.add_argument("--matrix", action="store_true",
                    help="time every path (input dtype, axis, rounding, scale rule, output dtype, ragged "
                         "shapes; one factor at a time) of every MX format against its default path, with "
                         f"its peak memory (default shape {','.join(map(str, MATRIX_SHAPE))})")
    ap.add_argument("--matmul", action="store_true",
                    help="time mxref.matmul (M,K,N; default " + ",".join(map(str, MATMUL_SHAPE)) + ") per "
                         "element-format pair and accumulator model, wall and CPU seconds")
    ap.add_argument("--models", default=None,
                    help="with --matmul: comma-separated accumulate= models, or 'all' (default: the "
                         "float32 models exact, fp32_blockwise, fp32_sequential)")
    args = ap.parse_args(argv)
    if args.matmul:
        return _main_matmul(args, ap)
    if args.matrix:
        return _main_matrix(args)
    shape = args.shape or (QUICK_SHAPE if args.quick else DEFAULT_SHAPE)
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else 5)
    warmup = args.warmup if args.warmup is not None else (0 if args.quick else 1)
    if repeat < 1:
        ap.error("--repeat must be >= 1")
    if warmup < 0:
        ap.error("--warmup must be >= 0")

    log(f"shape {shape}, median of {repeat} after {warmup} warm-up; generating standard normal float32 (seed {args.seed})")
    x = np.random.default_rng(args.seed).standard_normal(shape, dtype=np.float32)
    b = Bench(x, repeat, warmup)

    log("np.copyto")
    unit = b.copy()

    # optional libraries, imported before anything is timed
    log("importing torch/torchao and ml_dtypes (if installed)")
    tao = import_torchao()
    try:
        import ml_dtypes
    except Exception as exc:
        ml_dtypes = f"ml_dtypes not importable ({type(exc).__name__})"

    for fmt, label, torch_attr, ml_name in FORMATS:
        log(f"mxref {label}")
        try:
            b.mxref(fmt, label)
        except Exception as exc:  # a benchmark reports, it does not fail
            b.add("mxref", "quantize + dequantize", label, None, f"error: {type(exc).__name__}: {exc}"[:100])
        if isinstance(tao, tuple):
            log(f"torchao {label}")
            try:
                with quiet_torchao():
                    b.torchao(fmt, label, torch_attr, tao)
            except Exception as exc:
                b.add("torchao", "to_mx + dequantize", label, None, f"error: {type(exc).__name__}: {exc}"[:100])
        else:
            b.add("torchao", "to_mx + dequantize", label, None, f"skipped: {tao}")
        if not isinstance(ml_dtypes, str):
            log(f"ml_dtypes {label}")
            try:
                b.ml_dtypes(label, ml_name, ml_dtypes)
            except Exception as exc:
                b.add("ml_dtypes", "astype + astype(float32)", label, None,
                      f"error: {type(exc).__name__}: {exc}"[:100])
        else:
            b.add("ml_dtypes", "astype + astype(float32)", label, None, f"skipped: {ml_dtypes}")
        b.mx_out.pop(fmt, None)  # free the full-size output before the next format

    mem = {}
    if not args.no_memory:
        for fmt, label, _, _ in FORMATS:
            log(f"tracemalloc: mxref {label}")
            try:
                mem[label] = measure_memory(x, fmt)
            except Exception as exc:
                mem[label] = f"error: {type(exc).__name__}: {exc}"

    # ----- report -----
    n = x.size
    threads = ""
    if isinstance(tao, tuple):
        import torchao

        threads = (f"; torch {tao[0].__version__} ({tao[0].get_num_threads()} threads), "
                   f"torchao {getattr(torchao, '__version__', '?')}")
    mld = "" if isinstance(ml_dtypes, str) else f"; ml_dtypes {ml_dtypes.__version__}"
    print(f"mxref {mxref.__version__} quantize+dequantize benchmark: float32 {shape} = {n:,} elements "
          f"({fmt_bytes(x.nbytes)}), block {BLOCK}, median of {repeat} after {warmup} untimed warm-up call(s) per row")
    print(f"numpy {np.__version__}{threads}{mld}; {os.cpu_count()} CPUs, {machine_load()}; "
          f"python {sys.version.split()[0]}")
    print()
    table = []
    for lib, op, label, sec, note in b.rows:
        if sec is None:
            table.append([lib, op, label, "—", "—", note])
        else:
            table.append([lib, op, label, f"{sec:.4g}", f"{sec / unit:.1f}x", note])
    print(render(table, ["library", "operation", "format", "seconds", "ratio to copy", "note"]))
    print()
    print("Ratios to the copy (the time of np.copyto of the same array, measured in this run; the ratio, "
          "not the seconds, is what to compare across machines; lower is faster; median, with the "
          "fastest and slowest run in parentheses):")
    for fmt, label, _, _ in FORMATS:
        parts = []
        for lib, q, d in (("mxref", "quantize", "dequantize -> float32"), ("torchao", "to_mx", "dequantize -> float32")):
            t = b.totals.get((lib, fmt))
            if t is None:
                continue
            sec = {op: s_ for lb, op, fl, s_, _ in b.rows if lb == lib and fl == label and s_ is not None}
            lo, hi = b.spread.get((lib, fmt), (t, t))
            parts.append(f"{lib} {q} {sec[q] / unit:.1f}x + dequantize {sec[d] / unit:.1f}x, "
                         f"round trip {t / unit:.1f}x ({lo / unit:.1f}-{hi / unit:.1f}x)")
        if fmt in b.prealloc:
            parts.append(f"mxref into preallocated outputs (out=) {b.prealloc[fmt] / unit:.1f}x")
        if parts:
            print(f"  {label}: " + "; ".join(parts))
    if args.quick or n < 1 << 20:
        print(f"  (a small array, {n:,} elements: per-call overhead dominates, so these ratios say little about "
              f"large arrays; the default shape is {','.join(map(str, DEFAULT_SHAPE))})")
    if mem:
        print()
        print("Peak extra memory of mxref quantize+dequantize, measured with tracemalloc (NumPy reports "
              "its array allocations to it), above the input already allocated, as a multiple of the "
              f"input's size ({fmt_bytes(x.nbytes)}):")
        for label, m in mem.items():
            if isinstance(m, str):
                print(f"  {label}: {m}")
                continue
            print(f"  {label}: peak {m['peak'] / x.nbytes:.2f}x ({fmt_bytes(m['peak'])}); "
                  f"during quantize {m['quantize'] / x.nbytes:.2f}x, during dequantize "
                  f"{m['dequantize'] / x.nbytes:.2f}x (MXArray alive); results kept "
                  f"{m['kept'] / x.nbytes:.2f}x")
    if args.profile:
        for fmt, label, _, _ in FORMATS:
            log(f"cProfile: mxref {label}")
            print()
            print(f"cProfile of one mxref quantize+dequantize, {label} (sorted by own time; NumPy "
                  "ufunc time counts in the calling function):")
            print(profile_mxref(x, fmt, 15).rstrip())
    log("done")
    return 0


def _main_matrix(args) -> int:
    shape = args.shape or ((8, 256) if args.quick else MATRIX_SHAPE)
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else 5)
    warmup = args.warmup if args.warmup is not None else (0 if args.quick else 1)
    x = np.random.default_rng(args.seed).standard_normal(shape, dtype=np.float32)
    x2 = x.reshape(-1, shape[-1])
    b = Bench(x2, repeat, warmup)
    unit = b.copy()
    try:
        import ml_dtypes
    except Exception:
        ml_dtypes = None
    rows = run_matrix(x2, list(mxref.MX_FORMATS), repeat, warmup, unit, ml_dtypes, not args.no_memory)
    print(f"mxref {mxref.__version__} path matrix: float32 {tuple(x2.shape)} = {x2.size:,} elements "
          f"({fmt_bytes(x2.nbytes)}), median of {repeat} after {warmup} warm-up call(s); copy = "
          f"{unit * 1e3:.3g} ms")
    print(f"numpy {np.__version__}; {os.cpu_count()} CPUs, {machine_load()}; python {sys.version.split()[0]}")
    print()
    print(render(rows, MATRIX_HEADERS))
    print()
    print("Ratios are to np.copyto of the float32 input (measured in this run); 'vs default' divides a "
          "path's round trip by the same format's default path (float32 in, last axis, rne, floor, "
          "float32 out, whole blocks); peak extra memory is tracemalloc's peak above the input, as a "
          "multiple of that path's input size; 'of it temporaries' is that peak less the MXArray and "
          "the output array, which the round trip returns.")
    log("done")
    return 0


# ----- --matmul: mxref.matmul per format pair and accumulator model ----------------------------------

MATMUL_SHAPE = (1024, 4096, 1024)
MATMUL_PAIRS = tuple((f, f) for f in mxref.MX_FORMATS) + (("mxfp8_e4m3", "mxfp8_e5m2"),)


def _main_matmul(args, ap) -> int:
    """matmul(A (M, K) blocked along K, B (K, N) blocked along K) of standard normal float32
    quantized with each pair of formats; per model the median (fastest-slowest) wall seconds of
    ``--repeat`` calls after ``--warmup`` untimed ones, the CPU seconds of the process (all
    threads) and the 1-minute load average at the end of the row. A model that does not take a
    format pair (the tensor-core presets take only theirs) is listed below the table."""
    shape = args.shape or ((16, 256, 8) if args.quick else MATMUL_SHAPE)
    if len(shape) != 3:
        ap.error("--matmul takes --shape M,K,N")
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else 5)
    warmup = args.warmup if args.warmup is not None else (0 if args.quick else 1)
    if repeat < 1 or warmup < 0:
        ap.error("--repeat must be >= 1 and --warmup >= 0")
    models = (list(mxref.options.FLOAT32_ACCUMULATORS) if args.models is None else
              list(mxref.options.ACCUMULATORS) if args.models == "all" else args.models.split(","))
    for m in models:
        if m not in mxref.options.ACCUMULATORS:
            ap.error(f"--models: unknown model {m!r} (one of {', '.join(mxref.options.ACCUMULATORS)})")
    M, K, N = shape
    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal((M, K), dtype=np.float32)
    y = rng.standard_normal((K, N), dtype=np.float32)
    rows, skipped = [], {}
    for fa, fb in MATMUL_PAIRS:
        A, B = mxref.quantize(x, fa, axis=1), mxref.quantize(y, fb, axis=0)
        for m in models:
            log(f"matmul {fa} x {fb} {m}")
            walls, cpus = [], []
            try:
                for i in range(warmup + repeat):
                    t0, c0 = time.perf_counter(), time.process_time()
                    mxref.matmul(A, B, accumulate=m)
                    if i >= warmup:
                        walls.append(time.perf_counter() - t0)
                        cpus.append(time.process_time() - c0)
            except ValueError:  # a preset that does not take these formats (or scales)
                skipped.setdefault(m, []).append(f"{fa} x {fb}")
                continue
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            rows.append([f"{fa} x {fb}", m, f"{statistics.median(walls):.3g}",
                         f"{min(walls):.3g}-{max(walls):.3g}", f"{statistics.median(cpus):.3g}",
                         f"load {load:.2f}"])
    print(f"mxref {mxref.__version__} matmul benchmark: ({M}, {K}) @ ({K}, {N}), block 32, standard normal "
          f"float32 quantized (floor), median of {repeat} after {warmup} warm-up call(s)")
    print(f"numpy {np.__version__}; {os.cpu_count()} CPUs, {machine_load()}; python {sys.version.split()[0]}")
    print()
    print(render(rows, ["formats (A x B)", "accumulate", "wall s (median)", "wall s (min-max)",
                        "CPU s (median)", "note"]))
    print()
    for m, pairs in skipped.items():
        print(f"  {m}: not applicable to {', '.join(pairs)} (formats or block scales it does not take)")
    print("Seconds, not ratios: the target is seconds on the machine at hand (CPU seconds count every "
          "thread of the process; a load average above the CPU count means other work shared them).")
    log("done")
    return 0
