"""MXArray, the quantized data of :func:`mxref.quantize` (MX §5.1, §6.3), and the checks of
blocked codes shared with the extension formats' arrays.

An MXArray holds E8M0 scale codes and unpacked element codes with the options used; it checks
that its parts fit together and freezes its arrays. Its methods reach the computations through
modules that do not import this one (:mod:`mxref._dequant`, :mod:`mxref.layout.mxfile`), so
there is no import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._arrays import native, refuse_masked
from ._dequant import dequantize_codes
from .formats import ELEMENT_FORMATS, MXFormat, e8m0, mx_format
from .layout.mxfile import write_mxfile
from .options import MXARRAY_OPTIONS, check_block_size, check_int, check_options

__all__ = ["MXArray", "Owned", "frozen_array", "check_blocked_codes", "CheckedFields"]


class Owned:
    """An array made by mxref for the object being built: frozen without a copy (internal)."""

    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a


def frozen_array(name: str, a, kind: str = "uint8") -> np.ndarray:
    """A read-only array for an MXArray-like object: an array mxref made (:class:`Owned`) is
    frozen as it is; a caller's array is copied (native byte order, C order), so the caller's
    array stays writable and later changes to it cannot reach the object."""
    if isinstance(a, Owned):
        v = a.a.view()
    else:
        refuse_masked(a, name)
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{name} must be a {kind} numpy array, got {type(a).__name__}")
        v = np.array(native(a), order="C", copy=True)
    v.setflags(write=False)
    return v


def _check_shape(shape) -> tuple:
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise TypeError(f"shape must be a tuple of ints, got {shape!r}")
    out = []
    for n in shape:
        if isinstance(n, bool) or not hasattr(n, "__index__"):
            raise TypeError(f"shape must be a tuple of ints, got {shape!r}")
        if int(n) < 0:
            raise ValueError(f"shape must hold sizes >= 0, got {shape!r}")
        out.append(int(n))
    return tuple(out)


def check_blocked_codes(shape, axis, block_size, elements, scales=None, elements_dtype=np.uint8):
    """Check the pieces of blocked codes (an MXArray, or an extension format's array) and return
    (shape, axis >= 0, block_size, scales shape): ``elements`` of ``elements_dtype`` (uint8 codes)
    and ``shape``; ``scales`` (unless None) uint8 with the blocked axis replaced by the number of
    blocks."""
    block_size = check_block_size(block_size)
    shape = _check_shape(shape)
    nd = len(shape)
    if nd == 0:
        raise ValueError("shape must have at least one dimension")
    axis = check_int("axis", axis, -nd, nd - 1) % nd
    for nm, a, dt in (("elements", elements, np.dtype(elements_dtype)), ("scales", scales, np.dtype(np.uint8))):
        if a is None and nm == "scales":
            continue
        refuse_masked(a, nm)
        if not isinstance(a, np.ndarray) or a.dtype != dt:
            raise TypeError(f"{nm} must be a {dt.name} numpy array, got {getattr(a, 'dtype', type(a).__name__)}")
    if elements.shape != shape:
        raise ValueError(f"elements must have shape {shape}, got {elements.shape}")
    nb = -(-shape[axis] // block_size)
    want = shape[:axis] + (nb,) + shape[axis + 1:]
    if scales is not None and scales.shape != want:
        raise ValueError(f"scales must have shape {want} ({nb} blocks of {block_size} along axis {axis}), "
                         f"got {scales.shape}")
    return shape, axis, block_size, want


class CheckedFields:
    """Mixin of MXArray-like dataclasses (checked in ``__post_init__``, which ends by setting
    ``_checked``): assigning a field later builds and checks the object anew; pickling and
    copying go through the constructor too. ``_FIELDS``: the constructor's fields, in order."""

    _FIELDS: tuple = ()

    def __setattr__(self, name, value):
        if name in type(self)._FIELDS and self.__dict__.get("_checked", False):
            kw = {f: (Owned(v) if isinstance(v, np.ndarray) else v)
                  for f, v in ((f, self.__dict__[f]) for f in type(self)._FIELDS)}
            kw[name] = value
            new = type(self)(**kw)
            self.__dict__.update({f: new.__dict__[f] for f in type(self)._FIELDS})
            return
        object.__setattr__(self, name, value)

    def __reduce__(self):
        return (type(self), tuple(getattr(self, f) for f in type(self)._FIELDS))


@dataclass(eq=False)
class MXArray(CheckedFields):
    """MX-quantized data: E8M0 scale codes and element codes, unpacked, with the options used.

    ``scales`` has x's shape with the blocked axis replaced by the number of blocks; ``elements``
    has x's shape (one uint8 code per element). (MX §5.1, §6.3)

    ``scales`` and ``elements`` are read-only: the constructor copies arrays it is given (the
    caller's stay writable and cannot change the MXArray later), and assigning a field again
    checks the whole MXArray anew. ``options`` is a dict of the :func:`quantize` options
    (:data:`MXARRAY_OPTIONS` keys, any subset)."""

    format: MXFormat
    block_size: int
    axis: int
    shape: tuple
    scales: np.ndarray
    elements: np.ndarray
    options: dict = field(default_factory=dict)

    _FIELDS = ("format", "block_size", "axis", "shape", "scales", "elements", "options")

    def __post_init__(self):
        # An MXArray may be built by hand from another library's codes: check it is coherent,
        # and freeze its arrays so that no later edit can put codes outside the format.
        if not isinstance(self.format, MXFormat):
            self.format = mx_format(self.format)
        self.scales = frozen_array("scales", self.scales)
        self.elements = frozen_array("elements", self.elements)
        self.shape, self.axis, self.block_size, _ = check_blocked_codes(
            self.shape, self.axis, self.block_size, self.elements, self.scales)
        bits = self.format.element.bits
        if bits < 8 and self.elements.size and int(self.elements.max()) >= (1 << bits):
            raise ValueError(f"elements holds {int(self.elements.max())}, outside the "
                             f"{self.format.element.name} codes 0 ... {(1 << bits) - 1}")
        self.options = check_options(self.options, MXARRAY_OPTIONS, "MXArray")
        object.__setattr__(self, "_checked", True)

    @property
    def is_mx_v1(self) -> bool:
        """True when this is an MX v1.0 format: a spec element format (not an extension row such
        as INT4 or FP4 E3M0), block size 32 and an E8M0 scale (MX §5.2)."""
        el = self.format.element
        return (self.block_size == 32 and self.format.scale is e8m0 and not el.extension
                and el in ELEMENT_FORMATS.values())

    @property
    def num_blocks(self) -> int:
        return int(self.scales.size)

    @property
    def nbytes(self) -> int:
        """Bytes when stored packed: element bits rounded up to bytes, plus one byte per scale."""
        return (self.elements.size * self.format.element.bits + 7) // 8 + self.scales.size

    @property
    def bits_per_element(self) -> float:
        """Storage bits per element, scales included (MXFP8 with k = 32: 8.25)."""
        n = self.elements.size
        return (n * self.format.element.bits + self.scales.size * 8) / n if n else float("nan")

    def dequantize(self, dtype=np.float32, *, out=None) -> np.ndarray:
        """Values X * P_i, shape of the original x: :func:`mxref.dequantize` (``out``: a
        preallocated array of x's shape and ``dtype``, written and returned)."""
        return dequantize_codes(self.format.element, self.block_size, self.axis, self.scales,
                                self.elements, dtype, out)

    def save(self, path) -> None:
        """Write to one .npz file, read back equal by :func:`mxref.load` (see
        :func:`mxref.layout.serialization.save`)."""
        write_mxfile(self, path)

    def __eq__(self, other) -> bool:
        """Equal data, and no option that contradicts: the same format row, block size, axis,
        shape, scale codes and element codes (so both dequantize to the same values, bit for
        bit), and every option that *both* sides record has the same value on both. An option
        only one side records is unknown to the other, not a difference: an MXArray read from a
        layout that stores no options (``from_gpt_oss``, one built by hand with ``options={}``)
        equals the quantized MXArray it was written from. So this equality is not transitive
        across options: ``quantize(x, f) == from_gpt_oss(...) == quantize(x, f, scale_rule=r)``
        may hold while the two quantized arrays, recording different rules, differ. Compare
        ``a.options == b.options`` as well where the record must match."""
        if not isinstance(other, MXArray):
            return NotImplemented
        if not (self.format == other.format and self.block_size == other.block_size
                and self.axis == other.axis and self.shape == other.shape
                and np.array_equal(self.scales, other.scales)
                and np.array_equal(self.elements, other.elements)):
            return False
        a, b = self.options, other.options
        if not (isinstance(a, dict) and isinstance(b, dict)):
            return bool(a == b)
        for k in a.keys() & b.keys():
            try:
                same = bool(a[k] == b[k])
            except (TypeError, ValueError):  # array-valued options: compare the arrays
                same = bool(np.array_equal(a[k], b[k]))
            if not same:
                return False
        return True

    def __repr__(self) -> str:
        v1 = "" if self.is_mx_v1 else ", not MX v1.0"
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return (f"MXArray({self.format.name}, shape={self.shape}, axis={self.axis}, "
                f"block_size={self.block_size}{v1}, blocks={self.num_blocks}, {opts})")


