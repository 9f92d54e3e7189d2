"""Shared test helpers."""

import numpy as np

import mxref

ELEMENTS = ["fp8_e4m3", "fp8_e5m2", "fp6_e2m3", "fp6_e3m2", "fp4_e2m1", "int8"]
ROUNDINGS = list(mxref.ROUNDING_MODES)


def overflows(name):
    f = mxref.element_format(name)
    return ["saturate", "nonsaturating"] if f.has_nan or f.has_inf else ["saturate"]


def all_float16():
    return np.arange(1 << 16, dtype=np.uint16).view(np.float16)


def all_bfloat16_as_float32():
    """Every bfloat16 bit pattern, widened (exactly) to float32 by placing the bits on top."""
    return (np.arange(1 << 16, dtype=np.uint32) << 16).view(np.float32)


def hexbits(v):
    return np.float64(v).view(np.uint64).item().to_bytes(8, "big").hex()
