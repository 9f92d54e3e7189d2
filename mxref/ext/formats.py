"""MX-style formats beside MX v1.0: an extension element row, block 32, E8M0 scale.

They are converted by :func:`mxref.quantize` exactly like the spec formats (MX §6.3 rule and
options), but they are not MX v1.0 formats: their MXArrays report ``is_mx_v1 == False``.

  mxint4      microxcaling ``int4`` elements (k/4, |k| <= 7; emax 0)
  mxint2      microxcaling ``int2`` elements ({-1, 0, 1}; emax 0)
  mxfp4_e3m0  torchao FP4 E3M0 elements (0, 2^-2 ... 2^4 with sign; emax 4)
"""

from __future__ import annotations

from ..conversion import MXFormat
from ..formats import fp4_e3m0, int2, int4

__all__ = ["EXT_MX_FORMATS"]

#: MX-style formats built on the extension rows (not MX v1.0), by name.
EXT_MX_FORMATS: dict[str, MXFormat] = {
    "mxint4": MXFormat("mxint4", int4, spec="not MX v1.0: microxcaling MXINT4 (int4 elements)"),
    "mxint2": MXFormat("mxint2", int2, spec="not MX v1.0: microxcaling MXINT2 (int2 elements)"),
    "mxfp4_e3m0": MXFormat("mxfp4_e3m0", fp4_e3m0, spec="not MX v1.0: FP4 E3M0 elements"),
}
