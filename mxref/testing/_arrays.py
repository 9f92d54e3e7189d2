"""Arrays from anywhere, as NumPy: the inputs and outputs an implementation under test hands to
:mod:`mxref.testing`.

Accepted: NumPy arrays (ml_dtypes dtypes included), torch tensors on any device (copied to the
host; ``torch`` is never imported here, the tensor's own methods are used), JAX arrays
(``__array__``), CuPy arrays (``.get()``), any other DLPack producer (``numpy.from_dlpack``),
lists and scalars. Codes are taken bit for bit by dtype:

=====================================  ==========================================  ==============
dtype (torch / ml_dtypes / NumPy)      read as                                       accepted for
=====================================  ==========================================  ==============
``float8_e4m3fn``                      its byte: the FP8 E4M3 code                   elements
``float8_e5m2``                        its byte: the FP8 E5M2 code                   elements
``float8_e8m0fnu``                     its byte: the E8M0 scale code                 scales
``float4_e2m1fn_x2`` (torch)           one byte = two FP4 E2M1 codes, element 0 in   elements
                                       bits 0-3 (packing ``"fp4_low_first"`` unless
                                       another is given)
``float4_e2m1fn`` (ml_dtypes)          its byte: the FP4 code in bits 0-3            elements
``float6_e2m3fn``, ``float6_e3m2fn``   its byte: the FP6 code in bits 0-5            elements
(ml_dtypes)
``uint8``, ``int8`` (bits), other      the integer is the code (``int8`` read as     scales,
unsigned / signed integers             its byte: -1 -> 0xFF)                         elements
float16/bfloat16/float32/float64       values                                        inputs, values
=====================================  ==========================================  ==============

Nothing is imported unless the caller passes such an object (the type's module is looked at by
name).
"""

from __future__ import annotations

import sys

import numpy as np

from .._arrays import _to_numpy
from ..layout.packing import unpack_elements, unswizzle_scales

#: dtype names read as their bytes (one code per byte)
BYTE_CODE_DTYPES = ("float8_e4m3fn", "float8_e5m2", "float8_e8m0fnu", "float4_e2m1fn", "float6_e2m3fn",
                    "float6_e3m2fn", "float8_e4m3", "float8_e4m3fnuz", "float8_e5m2fnuz")
#: torch's packed FP4 dtype: two codes per byte
PACKED_FP4 = "float4_e2m1fn_x2"
#: packing= names (the dump's) -> mxref.unpack_elements order
PACKINGS = {"fp4_low_first": "low_first", "fp4_high_first": "high_first", "low_first": "low_first",
            "high_first": "high_first", "fp6_bitstream": "bitstream", "bitstream": "bitstream"}
SCALE_LAYOUTS = (None, "row_major", "cublas")


def _kind(a) -> str:
    return (type(a).__module__ or "").split(".")[0]


def _dtype_name(a) -> str:
    dt = getattr(a, "dtype", None)
    return str(dt).replace("torch.", "") if dt is not None else ""


def _torch_bytes(t, name: str) -> np.ndarray:
    """A torch tensor of a one-byte dtype as uint8 (host copy)."""
    try:
        t = t.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        return t.contiguous().view(sys.modules["torch"].uint8).numpy().copy()
    except Exception as exc:
        raise TypeError(f"{name}: this torch tensor ({t.dtype}, {t.device}) cannot be read as bytes: {exc}") from None


def host_array(a, name: str) -> np.ndarray:
    """Any array-like as a NumPy array on the host (no conversion of dtype beyond what the
    producer does). CuPy arrays are copied with ``.get()``."""
    if isinstance(a, np.ndarray):
        return a
    kind = _kind(a)
    if kind == "cupy" or (hasattr(a, "__cuda_array_interface__") and hasattr(a, "get") and kind != "torch"):
        try:
            return np.asarray(a.get())
        except Exception as exc:
            raise TypeError(f"{name}: cannot copy this {type(a).__name__} to the host: {exc}") from None
    if kind == "torch":
        return _to_numpy(a, name)
    if kind in ("jax", "jaxlib"):
        try:
            return np.asarray(a)
        except Exception as exc:
            raise TypeError(f"{name}: cannot copy this JAX array to the host: {exc}") from None
    return _to_numpy(a, name)


def as_values(a, name: str) -> np.ndarray:
    """Float inputs or values (float16, bfloat16, float32, float64) as a NumPy array."""
    if a is None:
        raise TypeError(f"{name} is required")
    if _kind(a) == "torch" and _dtype_name(a) in BYTE_CODE_DTYPES + (PACKED_FP4,):
        raise TypeError(f"{name} is a torch {_dtype_name(a)} tensor: those are codes, not values")
    x = host_array(a, name)
    if x.dtype.kind != "f" and x.dtype.name != "bfloat16":
        raise TypeError(f"{name} must hold floating-point values (float16, bfloat16, float32, float64), "
                        f"got dtype {x.dtype}")
    return np.array(x)  # a private copy: the caller's array is never touched


def as_codes(a, name: str, bits: int = 8) -> tuple[np.ndarray, bool]:
    """(codes as int64, packed_fp4) of an array of codes; ``packed_fp4``: the dtype said two FP4
    codes per byte (torch float4_e2m1fn_x2)."""
    if a is None:
        raise TypeError(f"{name} is required")
    dn = _dtype_name(a)
    if _kind(a) == "torch" and (dn in BYTE_CODE_DTYPES or dn == PACKED_FP4 or dn in ("uint8", "int8")):
        return _torch_bytes(a, name).astype(np.int64), dn == PACKED_FP4
    c = host_array(a, name)
    if c.dtype.name in BYTE_CODE_DTYPES or c.dtype.name == PACKED_FP4:
        return c.view(np.uint8).astype(np.int64), c.dtype.name == PACKED_FP4
    if c.dtype == np.int8:
        return c.view(np.uint8).astype(np.int64), False
    if c.dtype == np.bool_ or c.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold codes: an integer array (e.g. uint8) or a float8 / float4 / "
                        f"float8_e8m0fnu dtype; got dtype {c.dtype} (values go to the values argument)")
    c = c.astype(np.int64)
    if c.size and (c.min() < 0 or c.max() >= 1 << bits):
        bad = int(c.min()) if c.min() < 0 else int(c.max())
        raise ValueError(f"{name} holds {bad}, outside the codes 0 ... {(1 << bits) - 1}")
    return c, False


def unpack(codes: np.ndarray, el, shape: tuple, axis: int, packing, packed_dtype: bool, name: str) -> np.ndarray:
    """Element codes (one per element, x's shape) from the caller's array: unpacked along the
    blocked axis when ``packing`` (or a packed dtype) says so, else taken as they are."""
    if packing is None and packed_dtype:
        packing = "fp4_low_first"
    if packing is None:
        if codes.shape != tuple(shape):
            raise ValueError(f"{name} has shape {codes.shape}, expected {tuple(shape)} (one code per element; "
                             "give packing= for packed codes)")
        return codes
    if packing not in PACKINGS:
        raise ValueError(f"unknown packing {packing!r}; known: {', '.join(PACKINGS)}")
    order = PACKINGS[packing]
    if order in ("low_first", "high_first") and el.bits != 4:
        raise ValueError(f"packing {packing!r} is for 4-bit elements, the format has {el.name} ({el.bits} bits)")
    if order == "bitstream" and el.bits != 6:
        raise ValueError(f"packing {packing!r} is for 6-bit elements, the format has {el.name}")
    moved = tuple(np.moveaxis(np.empty(shape, np.bool_), axis, -1).shape)
    n = moved[-1]
    if codes.ndim != len(shape):
        raise ValueError(f"{name} has shape {codes.shape}: packed codes must have x's dimensions, the "
                         f"blocked axis holding the bytes")
    c = np.moveaxis(codes, axis, -1)
    if c.max(initial=0) > 255:
        raise ValueError(f"{name}: packed codes must be bytes (0 ... 255)")
    try:
        out = unpack_elements(c.astype(np.uint8), el, n, order=order)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    return np.moveaxis(out.astype(np.int64), -1, axis)


def unlayout_scales(scales: np.ndarray, scale_layout, want: tuple, name: str) -> np.ndarray:
    """Scale codes in the blocked shape ``want`` from the caller's layout: as given, or the
    cuBLAS/CUTLASS 128x4-tile swizzle of a 2-D [rows, k_blocks] matrix (``"cublas"``)."""
    if scale_layout not in SCALE_LAYOUTS:
        raise ValueError(f"unknown scale_layout {scale_layout!r}; known: row_major, cublas")
    if scale_layout == "cublas":
        if len(want) != 2:
            raise ValueError("scale_layout='cublas' needs a 2-D input blocked along its last axis "
                             f"(scales [rows, k_blocks]); the scales here have shape {want}")
        try:
            return unswizzle_scales(scales.reshape(-1).astype(np.uint8), want[0], want[1]).astype(np.int64)
        except ValueError as exc:
            raise ValueError(f"{name} (scale_layout='cublas'): {exc}") from None
    if scales.shape != tuple(want):
        if scales.size == int(np.prod(want)) and scale_layout == "row_major":
            return scales.reshape(want)
        raise ValueError(f"{name} has shape {scales.shape}, expected {tuple(want)} (x's shape with the "
                         "blocked axis cut to the block count; give scale_layout= for another layout)")
    return scales
