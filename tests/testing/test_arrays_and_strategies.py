"""Arrays from other frameworks map to codes exactly, and mxref.strategies reaches its boundary
cases (hits counted over a fixed number of examples)."""

import sys

import numpy as np
import pytest

import mxref
from mxref.testing import assert_quantize_equal, compare_quantize

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402

import mxref.strategies as mxst  # noqa: E402


def _x(shape=(4, 64)):
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    x[:, 3] = 1.25
    return x


def test_torch_dtypes_map_to_codes():
    torch = pytest.importorskip("torch")
    x = _x()
    for fmt, dt in (("mxfp8_e4m3", torch.float8_e4m3fn), ("mxfp8_e5m2", torch.float8_e5m2)):
        mx = mxref.quantize(x, fmt)
        s = torch.from_numpy(mx.scales.copy()).view(torch.float8_e8m0fnu)
        e = torch.from_numpy(mx.elements.copy()).view(dt)
        assert_quantize_equal(torch.from_numpy(x), s, e, fmt)
        bad = e.view(torch.uint8).clone()
        bad[0, 0] ^= 1
        assert not compare_quantize(x, s, bad, fmt).ok
    mx = mxref.quantize(x, "mxfp4_e2m1")
    packed = torch.from_numpy(mxref.pack_elements(mx.elements, "fp4_e2m1")).view(torch.float4_e2m1fn_x2)
    assert_quantize_equal(x, mx.scales, packed, "mxfp4_e2m1")  # x2 implies low nibble first
    assert not compare_quantize(x, mx.scales, packed, "mxfp4_e2m1", packing="fp4_high_first").ok
    assert_quantize_equal(torch.from_numpy(x).to(torch.bfloat16), *_q(torch.from_numpy(x).to(torch.bfloat16)))


def _q(xt):
    import torch

    xb = xt.view(torch.int16).numpy().view(np.uint16)
    x32 = mxref.bfloat16_bits_to_float32(xb)
    mx = mxref.quantize(x32, "mxfp8_e4m3")
    return mx.scales, mx.elements, "mxfp8_e4m3"


def test_torch_fp4_x2_is_low_nibble_first_in_torchao():
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchao")
    from torchao.prototype.mx_formats.mx_tensor import MXTensor

    x = torch.zeros(1, 32)
    x[0, 0], x[0, 1] = 1.0, 0.5  # codes 6 and 4 at scale 2^-2
    mx = MXTensor.to_mx(x, torch.float4_e2m1fn_x2, 32)
    assert int(mx.qdata.view(torch.uint8)[0, 0]) == 0x46
    assert_quantize_equal(x, mx.scale, mx.qdata, "mxfp4_e2m1", packing="fp4_low_first")


def test_ml_dtypes_map_to_codes():
    ml = pytest.importorskip("ml_dtypes")
    x = _x()
    mx = mxref.quantize(x, "mxfp6_e3m2")
    assert_quantize_equal(x, mx.scales.view(ml.float8_e8m0fnu), mx.elements.view(ml.float6_e3m2fn), "mxfp6_e3m2")
    mx = mxref.quantize(x, "mxfp4_e2m1")
    assert_quantize_equal(x.astype(ml.bfloat16).astype(np.float32), *(
        lambda m: (m.scales, m.elements.view(ml.float4_e2m1fn)))(mxref.quantize(x.astype(ml.bfloat16).astype(np.float32),
                                                                              "mxfp4_e2m1")), "mxfp4_e2m1")


def test_nothing_is_imported_for_numpy_inputs():
    import subprocess

    code = ("import sys, numpy as np, mxref, mxref.testing as t\n"
            "x = np.ones((1, 32), np.float32); m = mxref.quantize(x, 'mxfp8_e4m3')\n"
            "t.assert_quantize_equal(x, m.scales, m.elements, 'mxfp8_e4m3')\n"
            "print(sorted(k for k in ('torch', 'jax', 'cupy', 'ml_dtypes', 'hypothesis') if k in sys.modules))")
    import os
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(__import__('pathlib').Path(__file__).parents[2])))
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


class _DLPackOnly:
    def __init__(self, a):
        self._a = a

    def __dlpack__(self, **kw):
        return self._a.__dlpack__(**kw)

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()


def test_dlpack_producer():
    x = _x()
    mx = mxref.quantize(x, "mxfp8_e4m3")
    assert_quantize_equal(_DLPackOnly(x), _DLPackOnly(mx.scales), _DLPackOnly(mx.elements), "mxfp8_e4m3")


def _exp(v):
    return int(np.frexp(np.float64(v))[1]) - 1


def test_blocks_reach_the_boundaries():
    hits = {"nan": 0, "inf": 0, "zero": 0, "pow2": 0, "below_pow2": 0, "above_pow2": 0, "subnormal": 0,
            "tie": 0, "tiny": 0, "huge": 0}
    el = mxref.mx_format("mxfp4_e2m1").element
    grid = np.unique(np.abs(mxref.decode(np.arange(16), el, np.float64)))
    mids = (grid[:-1] + grid[1:]) / 2

    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(mxst.blocks("mxfp4_e2m1"))
    def count(b):
        with np.errstate(all="ignore"):
            _count(b)

    def _count(b):
        assert b.shape == (32,) and b.dtype == np.float32
        f = b.astype(np.float64)
        hits["nan"] += bool(np.isnan(f).any())
        hits["inf"] += bool(np.isinf(f).any())
        fin = np.abs(f[np.isfinite(f)])
        hits["zero"] += bool((f == 0).all())
        hits["subnormal"] += bool(((fin > 0) & (fin < 2.0**-126)).any())
        if fin.size and fin.max() > 0 and np.isfinite(f).all():
            a = fin.max()
            m = np.frexp(a)[0]
            hits["pow2"] += m == 0.5
            hits["below_pow2"] += a == np.nextafter(np.float32(2.0 ** (_exp(a) + 1)), np.float32(0))
            hits["above_pow2"] += a == np.nextafter(np.float32(2.0 ** _exp(a)), np.float32(np.inf)) and m != 0.5
            hits["tiny"] += a < 2.0**-100
            hits["huge"] += a > 2.0**100
            se = int(mxref.quantize(b, "mxfp4_e2m1").scales[0]) - 127
            hits["tie"] += bool(np.isin(np.ldexp(fin, -se), mids).any())

    count()
    assert all(v >= 3 for v in hits.values()), hits


def test_mx_arrays_and_matmul_operands_and_element_values():
    seen = {"shape": 0, "codes": set()}

    @settings(max_examples=20, deadline=None, database=None, derandomize=True)
    @given(mxst.mx_arrays("mxfp8_e5m2", shape=(3, 45)), mxst.matmul_operands("mxfp8_e4m3", "mxint8", m=2, k=64, n=3),
           mxst.element_values("fp6_e2m3"))
    def run(x, ab, v):
        seen["shape"] += x.shape == (3, 45)
        a, b = ab
        assert a.shape == (2, 64) and b.shape == (64, 3)
        mxref.matmul(a, b)
        seen["codes"].add(float(v))

    run()
    assert seen["shape"] == 20 and len(seen["codes"]) > 5
    with pytest.raises(ValueError, match="scale_rule"):
        mxst.blocks("mxfp8_e4m3", scale_rule="nearest")
