"""mxref: bit-exact reference implementation of the OCP Microscaling (MX) Formats v1.0.

Runtime dependency: NumPy only. Codes are uint8 arrays, values are floats.

Element formats and the E8M0 scale (MX §5.3, §5.4.1): :func:`element_format`, :func:`decode`,
:func:`encode`, :func:`encode_e8m0`. MX block conversion (MX §6.3): :func:`quantize` ->
:class:`MXArray`, :func:`dequantize`. Dot products (MX §6.1, §6.2): :func:`dot`,
:func:`matmul`, :func:`linear`, :data:`ACCUMULATORS`. The slow exact scalar reference is
:mod:`mxref.reference`. Memory layouts and files (outside the spec): :func:`pack_elements`,
:func:`swizzle_scales`, :meth:`MXArray.save` / :func:`load`, the gpt-oss MXFP4 tensors
:func:`to_gpt_oss`.
Formats beside MX v1.0 (not the spec; kept apart, marked as such): :mod:`mxref.ext` -- the rows
FP4 E3M0, INT4, INT2 (``mxref.ext.EXTENSION_FORMATS``; by name through :func:`element_format`),
mxint4 / mxint2 / mxfp4_e3m0 (by name through :func:`mx_format`), NVFP4, MX-QLLM.

Layout of the package (no import cycles; the core never imports :mod:`mxref.ext`): formats
(the one registry), options, _kernel (the integer rounding core), elements, scale, arrays
(MXArray), conversion (quantize / dequantize) with _fast_f32 and _dequant, products (dot /
matmul), layers (linear), layout/ (packing, the .npz schema, serialization), reference/, tables;
then ext/, conformance, vectors and the CLI above them.
"""

from . import formats, reference
from ._arrays import bfloat16_bits_to_float32, float16_bits_to_float16, ieee_subnormals
from .arrays import MXArray
from .conversion import dequantize, quantize
from .elements import decode, encode
from .formats import (
    ELEMENT_FORMATS,
    FORMATS,
    MX_FORMATS,
    Format,
    MXFormat,
    e8m0,
    element_format,
    mx_format,
    fp4_e2m1,
    fp6_e2m3,
    fp6_e3m2,
    fp8_e4m3,
    fp8_e5m2,
    int8,
)
from .layers import linear
from .layout.packing import (
    PACKING_ORDERS,
    SCALE_LAYOUTS,
    pack_elements,
    packed_nbytes,
    packing_orders,
    swizzle_scales,
    swizzled_nbytes,
    unpack_elements,
    unswizzle_scales,
)
from .layout.serialization import from_gpt_oss, load, load_safetensors, save, save_safetensors, to_gpt_oss
from .options import ACCUMULATORS, E8M0_ROUNDING_MODES, NAN_POLICIES, OVERFLOW_MODES, ROUNDING_MODES
from .products import dot, matmul
from .scale import encode_e8m0
from . import ext  # last: the extensions build on the core (the core never imports them)

__version__ = "0.1.0"

__all__ = [
    "ieee_subnormals",
    "Format",
    "FORMATS",
    "ELEMENT_FORMATS",
    "element_format",
    "decode",
    "encode",
    "encode_e8m0",
    "quantize",
    "dequantize",
    "MXArray",
    "MXFormat",
    "MX_FORMATS",
    "mx_format",
    "dot",
    "matmul",
    "linear",
    "ACCUMULATORS",
    "bfloat16_bits_to_float32",
    "float16_bits_to_float16",
    "ROUNDING_MODES",
    "OVERFLOW_MODES",
    "NAN_POLICIES",
    "E8M0_ROUNDING_MODES",
    "fp8_e4m3",
    "fp8_e5m2",
    "fp6_e2m3",
    "fp6_e3m2",
    "fp4_e2m1",
    "int8",
    "e8m0",
    "formats",
    "reference",
    "PACKING_ORDERS",
    "SCALE_LAYOUTS",
    "pack_elements",
    "unpack_elements",
    "packed_nbytes",
    "packing_orders",
    "swizzle_scales",
    "unswizzle_scales",
    "swizzled_nbytes",
    "save",
    "load",
    "to_gpt_oss",
    "from_gpt_oss",
    "save_safetensors",
    "load_safetensors",
    "ext",
]
