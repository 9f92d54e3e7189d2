"""mxref bench (mxref/bench.py; tools/bench.py is its wrapper) runs (at a tiny size) and prints its report, with and without the optional
libraries. It is a benchmark: nothing here checks a timing."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "tools" / "bench.py"


def run(code_or_args, *, blocked=()):
    if blocked:
        # make the optional imports fail (sys.modules[name] = None raises ImportError on import)
        code = (
            "import runpy, sys\n"
            f"for m in {list(blocked)!r}: sys.modules[m] = None\n"
            f"sys.argv = [{str(BENCH)!r}] + {list(code_or_args)!r}\n"
            f"runpy.run_path({str(BENCH)!r}, run_name='__main__')\n"
        )
        cmd = [sys.executable, "-c", code]
    else:
        cmd = [sys.executable, str(BENCH), *code_or_args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def test_quick_run_prints_the_table():
    p = run(["--quick"])
    assert p.returncode == 0, p.stderr
    out = p.stdout
    for needle in ("library", "operation", "format", "seconds", "ratio to copy", "np.copyto",
                   "MXFP8 E4M3", "MXFP4 E2M1", "quantize + dequantize", "Ratios to the copy",
                   "mxref quantize", "round trip", "per-call overhead dominates", "tracemalloc",
                   "quantize (out=, preallocated)", "into preallocated outputs (out=)"):
        assert needle in out, needle
    for gone in ("Targets", "target", "not met", "issue"):  # the report speaks to a user
        assert gone not in out, gone
    assert "[bench]" in p.stderr and "[bench]" not in out  # progress goes to stderr
    assert "DIFFERS" not in out  # torchao, where present, agrees with mxref bit for bit
    # torch / torchao import chatter (libraries that do not load on a CPU, deprecations) is kept out
    for chatter in ("Failed to load", "is an Enum subclass", "Warning"):
        assert chatter not in p.stderr and chatter not in out, chatter
    assert [ln for ln in p.stderr.splitlines() if not ln.startswith("[bench] ")] == []


def test_quiet_torchao_hides_only_torchao():
    import logging
    import warnings

    from mxref import bench

    tl = logging.getLogger("torchao")
    before = tl.level
    with bench.quiet_torchao():
        assert not tl.isEnabledFor(logging.WARNING) and tl.isEnabledFor(logging.ERROR)
        assert not logging.getLogger("torch.utils._pytree").isEnabledFor(logging.WARNING)
        assert logging.getLogger("mxref_bench_test").isEnabledFor(logging.WARNING)
        with warnings.catch_warnings(record=True) as rec:
            warnings.filterwarnings("always", append=True)  # below quiet_torchao's filter
            warnings.warn_explicit("theirs", UserWarning, "torchao/x.py", 1, module="torchao.x")
            warnings.warn_explicit("mine", UserWarning, "elsewhere.py", 1, module="elsewhere")
        assert [str(w.message) for w in rec] == ["mine"]
    assert tl.level == before


def test_quick_run_without_optional_libraries():
    p = run(["--quick", "--shape", "2,64", "--repeat", "2", "--profile"],
            blocked=("torch", "torchao", "ml_dtypes", "tabulate"))
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "torch not importable" in out
    assert "ml_dtypes not importable" in out
    assert "mxref" in out and "ratio to copy" in out and "cProfile" in out


def test_bad_arguments_are_usage_errors():
    p = run(["--shape", "0,3"])
    assert p.returncode == 2


def test_matrix_quick_lists_every_path():
    p = run(["--matrix", "--quick", "--no-memory"])
    assert p.returncode == 0, p.stderr
    out = p.stdout
    import mxref
    from mxref.options import ROUNDING_MODES, SCALE_RULES

    for fmt in mxref.MX_FORMATS:
        assert f"| {fmt}" in out, fmt
    for needle in ("default", "dtype=float16", "dtype=float64", "axis=first", "out=float16", "out=float64",
                   "ragged=2-D", "ragged=1-D", *(f"rounding={r}" for r in ROUNDING_MODES if r != "rne"),
                   *(f"scale_rule={r}" for r in SCALE_RULES if r != "floor"), "vs default", "load average"):
        assert needle in out, needle
    assert "error:" not in out


def test_matmul_quick_times_every_pair_and_model():
    p = run(["--matmul", "--quick", "--models", "all"])
    assert p.returncode == 0, p.stderr
    out = p.stdout
    import re

    import mxref

    for fmt in mxref.MX_FORMATS:
        for model in mxref.options.FLOAT32_ACCUMULATORS:
            assert re.search(rf"\| {fmt} x {fmt} +\| {model} +\| [0-9]", out), (fmt, model)
    assert re.search(r"\| mxfp4_e2m1 x mxfp4_e2m1 +\| blackwell_mxf4 +\| [0-9]", out)
    assert "hopper_fp8: not applicable" in out and "load average" in out
    assert run(["--matmul", "--models", "fp16"]).returncode == 2
