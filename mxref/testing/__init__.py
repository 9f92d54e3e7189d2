"""mxref in your test suite: exact assertions in the numpy.testing style.

``assert_quantize_equal(x, scales, elements, "mxfp8_e4m3")`` checks an implementation's MX
quantization against mxref bit for bit; ``compare_quantize(...)`` returns the
:class:`Comparison` instead (``.ok``, ``.counts``, ``.lines``, ``.diagnosis``). Likewise
``assert_dequantize_equal``, ``assert_encode_equal``, ``assert_matmul_equal``,
``assert_nvfp4_equal``. Arrays may be NumPy, torch (any device), JAX or CuPy; codes are read by
dtype (see :mod:`mxref.testing._arrays` for the table). The comparison is the conformance
checker's (:mod:`mxref.conformance`): the same classes, known differences and report lines.
Property-based cases: :mod:`mxref.strategies`.
"""

from ._api import (assert_dequantize_equal, assert_encode_equal, assert_matmul_equal, assert_nvfp4_equal,
                   assert_quantize_equal, compare_dequantize, compare_encode, compare_matmul, compare_nvfp4,
                   compare_quantize)
from ._compare import Comparison

__all__ = ["Comparison", "assert_quantize_equal", "assert_dequantize_equal", "assert_encode_equal",
           "assert_matmul_equal", "assert_nvfp4_equal", "compare_quantize", "compare_dequantize",
           "compare_encode", "compare_matmul", "compare_nvfp4"]
