"""tools/mx_toy_model.py: the table is deterministic (two runs, equal), its rows behave as
quantization errors must, and the script prints it and exits 0."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np

import mxref

TOOL = Path(__file__).resolve().parents[1] / "tools" / "mx_toy_model.py"


def load():
    spec = importlib.util.spec_from_file_location("mx_toy_model", TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_table_is_deterministic_and_sensible():
    tool = load()
    rows = tool.run(hidden=32, batch=4)
    again = tool.run(hidden=32, batch=4)
    assert rows == again  # bit for bit: every float is compared exactly
    names = [r[0] for r in rows]
    assert names == ["fp32"] + list(mxref.MX_FORMATS)
    err = {r[0]: r[4] for r in rows}
    assert err["fp32"] == 0.0
    for name in mxref.MX_FORMATS:
        assert 0.0 < err[name] < 10.0, name
    # more element bits, smaller error: INT8 and the 3-mantissa-bit formats beat FP4
    assert err["mxint8"] < err["mxfp8_e4m3"] < err["mxfp4_e2m1"]
    assert err["mxfp6_e2m3"] < err["mxfp4_e2m1"]


def test_fp32_row_is_the_float64_model_within_float32_error():
    """The float32 row against the same model computed independently in float64."""
    tool = load()
    model = tool.make_model(32, 0)
    x = np.random.default_rng(1).standard_normal((4, 32)).astype(np.float32)
    out = tool.forward(model, x, None)
    h = x.astype(np.float64)
    mu = h.mean(-1, keepdims=True)
    h = (h - mu) / np.sqrt(((h - mu) ** 2).mean(-1, keepdims=True) + 1e-5)
    w, b = model["dense_4h"]
    h = h @ w.T.astype(np.float64) + b
    from math import erf
    h = 0.5 * h * (1 + np.vectorize(erf)(h / np.sqrt(2)))
    for name in ("dense_h", "dummy"):
        w, b = model[name]
        h = h @ w.T.astype(np.float64) + b
    want = x + h
    assert np.allclose(out, want, rtol=1e-5, atol=1e-5)


def test_script_prints_the_table():
    p = subprocess.run([sys.executable, str(TOOL), "--hidden", "32", "--batch", "4"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "||ref - out||_2" in p.stdout and "output[0, 2]" in p.stdout
    for name in ["fp32"] + list(mxref.MX_FORMATS):
        assert f"| {name}" in p.stdout
    q = subprocess.run([sys.executable, str(TOOL), "--hidden", "32", "--batch", "4", "--weight-only",
                        "--accumulate", "fp32_blockwise"], capture_output=True, text=True, timeout=300)
    assert q.returncode == 0, q.stderr
    assert "(weights)" in q.stdout and "weights only" in q.stdout
