"""Turning user inputs into NumPy arrays without changing a single value."""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["refuse_masked", "native", "to_dtype", "out_dtype", "as_float", "as_float64", "widen_exact", "ieee_subnormals", "as_codes", "bfloat16_bits_to_float32", "float16_bits_to_float16"]

_FLOAT_DTYPES = "float16, bfloat16, float32, float64"


def _is_bfloat16(dtype: np.dtype) -> bool:
    # ml_dtypes.bfloat16 is a 2-byte custom dtype named "bfloat16"; recognized without importing it
    return dtype.name == "bfloat16" and dtype.itemsize == 2


def refuse_masked(x, name: str) -> None:
    """TypeError for a NumPy masked array: its mask would be dropped silently."""
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(f"{name} is a numpy masked array; masked arrays are not accepted (the mask "
                        f"would be ignored): pass {name}.filled(value) or {name}.data")


def native(a: np.ndarray) -> np.ndarray:
    """a in the machine's byte order: a itself when it is already native, else an exact copy
    (the bytes of each value swapped; bfloat16 and every numeric dtype)."""
    dt = a.dtype
    if dt.isnative or dt.fields is not None or dt.itemsize <= 1:
        return a
    if _is_bfloat16(dt):  # ml_dtypes' bfloat16 has no byte-order casts: go through the bits
        bits = a.view(np.dtype(np.uint16).newbyteorder(dt.byteorder)).astype(np.uint16)
        return bits.view(dt.newbyteorder("="))
    return a.astype(dt.newbyteorder("="))


def to_dtype(a: np.ndarray, dt: np.dtype) -> np.ndarray:
    """a (native byte order) as the requested dtype dt of the same kind and size: a itself, or,
    for a non-native dt, the same values with their bytes swapped (exact, NaN payloads kept)."""
    if dt.isnative or dt.itemsize <= 1:
        return a
    u = np.dtype(f"u{dt.itemsize}")
    return a.view(u).astype(u.newbyteorder(dt.byteorder)).view(dt)


def out_dtype(dtype, allowed: tuple, name: str = "dtype"):
    """(native dtype, requested dtype) of an output dtype whose name is in ``allowed``; any byte
    order is accepted (the result is produced natively, then byte-swapped exactly)."""
    try:
        dt = np.dtype(dtype)
    except Exception:
        raise TypeError(f"{name} must be one of {', '.join(allowed)}, got {dtype!r}") from None
    nat = dt if dt.isnative else dt.newbyteorder("=")
    if nat.name not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {dt}")
    return nat, dt


def _torch_to_numpy(x, name: str) -> np.ndarray:
    torch = sys.modules.get("torch")
    if getattr(x, "is_meta", False) or getattr(getattr(x, "device", None), "type", None) == "meta":
        raise TypeError(f"{name} is a torch tensor on the meta device: it has no data to read")
    layout = getattr(x, "layout", None)
    if torch is not None and layout is not None and layout != torch.strided:
        raise TypeError(f"{name} is a torch tensor with layout {layout} (sparse): pass "
                        f"{name}.to_dense()")
    if getattr(x, "is_quantized", False):
        raise TypeError(f"{name} is a quantized torch tensor ({x.dtype}); mxref reads plain tensors: "
                        f"pass {name}.dequantize() (values) or {name}.int_repr() (integers)")
    try:
        t = x.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        t = t.resolve_conj().resolve_neg()  # materialize lazy conjugate / negative views exactly
        if torch is not None and t.dtype == torch.bfloat16:
            bits = t.view(torch.int16).numpy().view(np.uint16)
            return bfloat16_bits_to_float32(bits)
        return t.numpy()
    except Exception as exc:
        raise TypeError(f"{name}: this torch tensor ({getattr(x, 'dtype', '?')}, "
                        f"{getattr(getattr(x, 'device', None), 'type', '?')}) cannot be read as a "
                        f"NumPy array: {exc}") from None


def _to_numpy(x, name: str) -> np.ndarray:
    """A NumPy view or copy of x in native byte order: ndarrays, scalars, lists, DLPack
    producers, torch tensors. Masked arrays raise TypeError (their mask would be lost)."""
    refuse_masked(x, name)
    if isinstance(x, np.ndarray):
        return native(x if type(x) is np.ndarray else np.asarray(x))
    module = type(x).__module__ or ""
    if module.startswith("torch"):
        return _torch_to_numpy(x, name)
    if hasattr(x, "__dlpack__") and not hasattr(x, "__array__"):
        try:
            return native(np.from_dlpack(x))
        except Exception as exc:
            raise TypeError(f"{name} cannot be read through DLPack: {exc}") from None
    try:
        a = np.asarray(x)
    except Exception as exc:  # pragma: no cover - depends on foreign objects
        raise TypeError(f"{name} cannot be converted to a NumPy array: {exc}") from exc
    return native(a)


def bfloat16_bits_to_float32(bits) -> np.ndarray:
    """bfloat16 values given as raw uint16 bit patterns -> float32 (exact: the bits go on top).

    Use it to feed bfloat16 data held as integers to :func:`mxref.encode` without ml_dtypes."""
    b = _to_numpy(bits, "bits")
    if b.dtype not in (np.uint16, np.int16):
        raise TypeError(f"bits must be a uint16 (or int16) array of bfloat16 bit patterns, got {b.dtype}")
    return (b.view(np.uint16).astype(np.uint32) << np.uint32(16)).view(np.float32)


def float16_bits_to_float16(bits) -> np.ndarray:
    """float16 values given as raw uint16 bit patterns -> a float16 view of the same bits."""
    b = _to_numpy(bits, "bits")
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
            hexed = f"0x{bad:X}" if bad >= 0 else f"-0x{-bad:X}"
            raise ValueError(
                f"{name} holds {bad} ({hexed}), outside the format's codes 0 ... "
                f"{(1 << bits) - 1} (0x{(1 << bits) - 1:X})"
            )
    return a
