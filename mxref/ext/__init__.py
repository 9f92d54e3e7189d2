"""Formats beside MX v1.0 (not part of the specification), kept apart and marked as such.

Users of MX meet these in the same kernels and papers; mxref defines each exactly, with every
choice a named option and a slow exact reference beside the fast path:

* element rows (in the one registry :mod:`mxref.formats`, ``extension=True``): ``fp4_e3m0``,
  ``int4``, ``int2``; they are not exported at the top level of :mod:`mxref`;
* MX-style formats on them (E8M0 scale, block 32, converted by :func:`mxref.quantize`):
  ``mxint4``, ``mxint2``, ``mxfp4_e3m0`` (:data:`EXT_MX_FORMATS`, also in :mod:`mxref.formats`);
* NVFP4 (:mod:`mxref.ext.nvfp4`): :func:`quantize_nvfp4` -> :class:`NVFP4Array`;
* MX-QLLM's shared-scale modes and asymmetric formats (:mod:`mxref.ext.mxqllm`):
  ``mxqllm.quantize(x, fmt, scale_mode=..., asymmetric=...)`` -> ``MXQLLMArray``;
* slow exact references: :mod:`mxref.ext.reference`.
"""

from ..formats import EXT_MX_FORMATS, EXTENSION_FORMATS, fp4_e3m0, fp8_e4m3fnuz, fp8_e5m2fnuz, int2, int4
from . import mxqllm, reference
from .nvfp4 import NVFP4Array, dequantize_nvfp4, nvfp4_per_tensor_scale, quantize_nvfp4

__all__ = ["EXTENSION_FORMATS", "EXT_MX_FORMATS", "fp4_e3m0", "int4", "int2", "fp8_e4m3fnuz", "fp8_e5m2fnuz",
           "NVFP4Array",
           "quantize_nvfp4", "dequantize_nvfp4", "nvfp4_per_tensor_scale", "mxqllm", "reference"]
