"""mxref.matmul / mxref.dot with a tensor-core accumulate (mxref.accumulators presets wired into
the core API): equal to mxref.accumulators.gemm on random MX operands for every preset and every
format pair it takes; the generic Accumulator accepted; c= and k_order=; the Hopper / CDNA3
scale rule; NVFP4Array operands with the per-tensor scale outside; clear errors."""

import itertools

import numpy as np
import pytest

import mxref
from mxref import accumulators as acm
from mxref.ext import quantize_nvfp4

PAIRS = {p: list(itertools.product(acm.PRESETS[p].element_formats, repeat=2)) for p in acm.PRESETS}


def _mx(fmt, shape, axis, rng, bs, scales=True):
    el = mxref.element_format(fmt)
    codes = rng.integers(0, el.num_codes, shape).astype(np.uint8)
    sshape = list(shape)
    sshape[axis] //= bs
    sc = (rng.integers(100, 150, sshape) if scales else np.full(sshape, 127)).astype(np.uint8)
    return mxref.MXArray(mxref.MXFormat(f"t_{fmt}", el, bs), bs, axis, shape, sc, codes)


def _raw(x):
    return np.asarray(x.elements), np.asarray(x.scales)


def test_the_presets_are_accumulate_names():
    assert set(mxref.options.TENSOR_CORE_ACCUMULATORS) == set(acm.PRESETS)
    assert set(mxref.ACCUMULATORS) == set(mxref.options.FLOAT32_ACCUMULATORS) | set(acm.PRESETS)
    doc = mxref.matmul.__doc__
    for name in acm.PRESETS:
        assert f'"{name}"' in doc


@pytest.mark.parametrize("preset,fa,fb", [(p, a, b) for p, prs in PAIRS.items() for a, b in prs])
def test_matmul_equals_gemm(preset, fa, fb):
    acc = acm.PRESETS[preset]
    rng = np.random.default_rng(abs(hash((preset, fa, fb))) % 2**32)
    bs = (acc.block_sizes or (32,))[0]
    scaled = acc.scale_formats != ()
    K = 2 * acc.k
    A = _mx(fa, (5, K), 1, rng, bs, scaled)
    B = _mx(fb, (K, 3), 0, rng, bs, scaled)
    c = rng.standard_normal((5, 3)).astype(np.float32)
    (xa, sa), (xb, sb) = _raw(A), _raw(B)
    if not scaled:
        sa = sb = None
    for kw in (dict(), dict(c=c), dict(c=c, k_order="descending")):
        got = mxref.matmul(A, B, accumulate=preset, **kw)
        want = acm.gemm(xa, fa, sa, xb, fb, sb, kw.get("c"), preset=preset,
                        k_order=kw.get("k_order", "ascending"))
        assert got.dtype == np.float32 and np.array_equal(got.view(np.uint32), want.view(np.uint32))
    d = mxref.dot(mxref.MXArray(A.format, bs, 0, (K,), A.scales[1], A.elements[1]),
                  mxref.MXArray(B.format, bs, 0, (K,), np.ascontiguousarray(B.scales[:, 2]),
                                np.ascontiguousarray(B.elements[:, 2])), accumulate=preset, c=c[1, 2])
    want = acm.gemm(xa, fa, sa, xb, fb, sb, c, preset=preset)[1, 2]
    assert np.float32(d).view(np.uint32) == want.view(np.uint32)


def test_generic_accumulator_accepted():
    rng = np.random.default_rng(3)
    A = _mx("fp8_e4m3", (4, 64), 1, rng, 32)
    B = _mx("fp8_e5m2", (64, 2), 0, rng, 32)
    acc = acm.Accumulator(k=32, fraction_bits=None, result_rounding="nearest_even")
    got = mxref.matmul(A, B, accumulate=acc)
    want = acm.gemm(*_raw(A)[:1], "fp8_e4m3", _raw(A)[1], _raw(B)[0], "fp8_e5m2", _raw(B)[1], preset=acc)
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))


def test_scales_of_presets_without_block_scales():
    rng = np.random.default_rng(4)
    A = _mx("fp8_e4m3", (2, 32), 1, rng, 32)  # scales != 127
    B = _mx("fp8_e4m3", (32, 2), 0, rng, 32, scales=False)
    with pytest.raises(ValueError, match="hopper_fp8 has no block scales"):
        mxref.matmul(A, B, accumulate="hopper_fp8")
    A1 = _mx("fp8_e4m3", (2, 32), 1, rng, 16, scales=False)  # any block size with X = 1
    B1 = _mx("fp8_e4m3", (32, 2), 0, rng, 16, scales=False)
    got = mxref.matmul(A1, B1, accumulate="hopper_fp8")
    want = acm.gemm(A1.elements, "fp8_e4m3", None, B1.elements, "fp8_e4m3", None, preset="hopper_fp8")
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))


def test_errors_name_what_the_preset_takes():
    rng = np.random.default_rng(5)
    A = _mx("fp8_e4m3", (2, 64), 1, rng, 32)
    B = _mx("fp8_e4m3", (64, 2), 0, rng, 32)
    with pytest.raises(ValueError, match="blackwell_mxf4: A format fp8_e4m3 is not one of"):
        mxref.matmul(A, B, accumulate="blackwell_mxf4")
    with pytest.raises(ValueError, match="c= and k_order= go with a tensor-core"):
        mxref.matmul(A, B, accumulate="exact", c=1.0)
    A16 = _mx("fp8_e4m3", (2, 64), 1, rng, 16)
    B16 = _mx("fp8_e4m3", (64, 2), 0, rng, 16)
    with pytest.raises(ValueError, match="block size 16 is not one of"):
        mxref.matmul(A16, B16, accumulate="blackwell_mxf8f6f4")
    A48 = _mx("fp8_e4m3", (2, 48), 1, rng, 16)
    B48 = _mx("fp8_e4m3", (48, 2), 0, rng, 16)
    with pytest.raises(ValueError, match="not a multiple of the instruction K"):
        mxref.matmul(A48, B48, accumulate=acm.PRESETS["blackwell_mxf8f6f4"].replace(block_sizes=None))
    with pytest.raises(ValueError, match="accumulate must be one of"):
        mxref.matmul(A, B, accumulate="tpu")
    with pytest.raises(ValueError, match="FLOAT32|one of"):
        mxref.linear(np.ones((2, 32), np.float32), np.ones((2, 32), np.float32), accumulate="hopper_fp8")


@pytest.mark.parametrize("pts", ["amax", None])
def test_nvfp4_operands_per_tensor_scale_outside(pts):
    rng = np.random.default_rng(6)
    x = (rng.standard_normal((3, 128)) * 4).astype(np.float32)
    w = (rng.standard_normal((128, 2)) * 0.5).astype(np.float32)
    a = quantize_nvfp4(x, axis=1, per_tensor_scale=pts)
    b = quantize_nvfp4(w, axis=0, per_tensor_scale=pts)
    for preset in ("blackwell_mxf4nvf4", "rtx_blackwell_mxf4nvf4"):
        got = mxref.matmul(a, b, accumulate=preset)
        acc = acm.gemm(a.elements, "fp4_e2m1", a.scales, b.elements, "fp4_e2m1", b.scales,
                       preset=preset, scale_fmt="ue4m3")
        if pts is None:
            want = acc
        else:
            alpha = np.float32(a.per_tensor_scale) * np.float32(b.per_tensor_scale)
            want = (alpha * acc).astype(np.float32)
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
    if pts is not None:
        with pytest.raises(ValueError, match="c is not taken"):
            mxref.matmul(a, b, accumulate="blackwell_mxf4nvf4", c=0.0)
    with pytest.raises(ValueError, match="scale format ue4m3 is not one of"):
        mxref.matmul(a, b, accumulate="blackwell_mxf4")


def test_speed_128x256x4096_mxfp8():
    import time

    rng = np.random.default_rng(7)
    A = mxref.quantize(rng.standard_normal((128, 4096)).astype(np.float32), "mxfp8_e4m3", axis=1)
    B = mxref.quantize(rng.standard_normal((4096, 256)).astype(np.float32), "mxfp8_e4m3", axis=0)
    t = time.perf_counter()
    mxref.matmul(A, B, accumulate="blackwell_mxf8f6f4")
    assert time.perf_counter() - t < 15  # 1.4 s measured on a shared 2-core machine; bar 5 s
