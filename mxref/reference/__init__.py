"""Slow exact scalar reference: Python ints and Fractions only, one value or block at a time.

Written straight from the specification and independent of the vectorized path: a code's value
is computed from its bit fields (MX §5.3, §5.4.1; OFP8 §3), rounding enumerates every
representable value of the format and picks a neighbour of the exact input (OFP8 §5.2.1 Table 3,
MX §6.3), block conversion follows MX §6.3 literally, and dot products add one exact term at a
time (MX §6.1, §6.2). No bit tricks, no floating-point arithmetic. The tests hold the fast path
equal to these functions bit for bit.

Modules: :mod:`.exact` (floor_log2, extended reals, the one rounding to float32),
:mod:`.elements`, :mod:`.conversion`, :mod:`.products`.
"""

from .conversion import quantize_block_scalar, shared_exponent_scalar
from .elements import decode_exact, decode_scalar, encode_e8m0_scalar, encode_scalar
from .exact import exact_value, floor_log2, round_float32_scalar, round_to_float32
from .products import dot_scalar, mx_values_scalar

__all__ = [
    "decode_scalar", "decode_exact", "encode_scalar", "encode_e8m0_scalar", "exact_value",
    "shared_exponent_scalar", "quantize_block_scalar", "floor_log2", "round_to_float32",
    "round_float32_scalar", "mx_values_scalar", "dot_scalar",
]
