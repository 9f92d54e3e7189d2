"""Turning user inputs into NumPy arrays without changing a single value."""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["as_float", "as_float64", "widen_exact", "ieee_subnormals", "as_codes", "bfloat16_bits_to_float32", "float16_bits_to_float16"]

_FLOAT_DTYPES = "float16, bfloat16, float32, float64"


def _is_bfloat16(dtype: np.dtype) -> bool:
    # ml_dtypes.bfloat16 is a 2-byte custom dtype named "bfloat16"; recognized without importing it
    return dtype.name == "bfloat16" and dtype.itemsize == 2


def _to_numpy(x, name: str) -> np.ndarray:
    """A NumPy view or copy of x: ndarrays, scalars, lists, DLPack producers, torch tensors."""
    if isinstance(x, np.ndarray):
        return x
    module = type(x).__module__ or ""
    if module.startswith("torch"):
        torch = sys.modules.get("torch")
        t = x.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        if torch is not None and t.dtype == torch.bfloat16:
            bits = t.view(torch.int16).numpy().view(np.uint16)
            return bfloat16_bits_to_float32(bits)
        return t.numpy()
    if hasattr(x, "__dlpack__") and not hasattr(x, "__array__"):
        return np.from_dlpack(x)
    try:
        return np.asarray(x)
    except Exception as exc:  # pragma: no cover - depends on foreign objects
        raise TypeError(f"{name} cannot be converted to a NumPy array: {exc}") from exc


def bfloat16_bits_to_float32(bits) -> np.ndarray:
    """bfloat16 values given as raw uint16 bit patterns -> float32 (exact: the bits go on top).

    Use it to feed bfloat16 data held as integers to :func:`mxref.encode` without ml_dtypes."""
    b = np.asarray(bits)
    if b.dtype not in (np.uint16, np.int16):
        raise TypeError(f"bits must be a uint16 (or int16) array of bfloat16 bit patterns, got {b.dtype}")
    return (b.view(np.uint16).astype(np.uint32) << np.uint32(16)).view(np.float32)


def float16_bits_to_float16(bits) -> np.ndarray:
    """float16 values given as raw uint16 bit patterns -> a float16 view of the same bits."""
    b = np.asarray(bits)
    if b.dtype not in (np.uint16, np.int16):
        raise TypeError(f"bits must be a uint16 (or int16) array of float16 bit patterns, got {b.dtype}")
    return b.view(np.float16)


def as_float(x, name: str = "x") -> np.ndarray:
    """x as a float16, float32 or float64 array with exactly its values (bfloat16 -> float32).

    Accepted: float16, bfloat16 (ml_dtypes arrays or torch tensors), float32, float64, and
    Python floats / lists of floats. Integer, bool, complex and extended-precision inputs raise
    TypeError: an integer array passed here is more likely codes than values."""
    a = _to_numpy(x, name)
    dt = a.dtype
    if _is_bfloat16(dt):
        return bfloat16_bits_to_float32(a.view(np.uint16))
    if dt in (np.float16, np.float32, np.float64):
        return a
    raise TypeError(f"{name} must be a floating array ({_FLOAT_DTYPES}); got dtype {dt}")


def as_float64(x, name: str = "x") -> np.ndarray:
    """x as a float64 array holding exactly the same values (every accepted dtype widens exactly).

    Accepted: float16, bfloat16 (ml_dtypes arrays or torch tensors), float32, float64, and
    Python floats / lists of floats. Integer, bool, complex and extended-precision inputs raise
    TypeError: an integer array passed here is more likely codes than values."""
    return widen_exact(as_float(x, name))


def ieee_subnormals() -> bool:
    """True when float32 arithmetic in this thread keeps subnormals, i.e. no flush-to-zero /
    denormals-are-zero mode is set (e.g. by ``torch.set_flush_denormal(True)``)."""
    t = np.array([1], np.uint32).view(np.float32)  # 2^-149, from its bits
    return int((t * t.dtype.type(2)).view(np.uint32)[0]) == 2


def widen_exact(a: np.ndarray) -> np.ndarray:
    """A float16 / float32 / float64 array as float64, exactly, also where the thread flushes
    subnormals (a hardware cast would then read float32 subnormals as zero)."""
    if a.dtype == np.float64:
        return a
    with np.errstate(invalid="ignore"):  # signalling NaNs widen to NaN, quietly
        out = a.astype(np.float64)
    if a.dtype == np.float32 and not ieee_subnormals():
        bits = a.view(np.uint32)
        frac = bits & np.uint32(0x7FFFFF)
        sub = ((bits & np.uint32(0x7F800000)) == 0) & (frac != 0)
        if sub.any():
            v = np.ldexp(frac[sub].astype(np.float64), -149)  # a float64 normal: exact
            out[sub] = np.where((bits[sub] >> np.uint32(31)) != 0, -v, v)
    return out


def as_codes(codes, bits: int, name: str = "codes") -> np.ndarray:
    """codes as an integer array, checked to lie in 0 ... 2^bits - 1."""
    a = _to_numpy(codes, name)
    if a.dtype == np.bool_ or a.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array of codes (e.g. uint8); got dtype {a.dtype}")
    if a.size:
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi >= (1 << bits):
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"{name} holds {bad} (0x{bad & 0xFFFFFFFF:X}), outside the format's codes 0 ... "
                f"{(1 << bits) - 1} (0x{(1 << bits) - 1:X})"
            )
    return a
