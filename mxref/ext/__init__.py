"""Formats beside MX v1.0 (not part of the specification), kept apart and marked as such.

Users of MX meet these in the same kernels and papers; mxref defines each exactly, with every
choice a named option and a slow exact reference beside the fast path:

* element rows (:mod:`mxref.formats`, ``extension=True``): ``fp4_e3m0``, ``int4``, ``int2``;
* MX-style formats on them (E8M0 scale, block 32, converted by :func:`mxref.quantize`):
  ``mxint4``, ``mxint2``, ``mxfp4_e3m0`` (:data:`EXT_MX_FORMATS`);
"""

from ..formats import EXTENSION_FORMATS, fp4_e3m0, int2, int4
from .formats import EXT_MX_FORMATS

__all__ = ["EXTENSION_FORMATS", "EXT_MX_FORMATS", "fp4_e3m0", "int4", "int2"]
