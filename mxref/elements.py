"""Element codecs, vectorized: decode codes to values, encode values to codes (MX §5.3, §6.3;
OFP8 §5.2.1).

The fast path works on the integer view of float64 (every accepted input dtype widens to float64
exactly): each value is split into sign, a 53-bit integer significand and an exact exponent, and
rounding is integer arithmetic on those parts. No log2, no cast through a narrower float, no
Python loop over elements (only over fixed-size chunks, to bound memory).
"""

from __future__ import annotations

import numpy as np

from ._arrays import _to_numpy, as_codes, as_float64, out_dtype, to_dtype
from ._kernel import decode_table, max_mag, pack_code, round_parts, split_float64
from .formats import Format, element_format
from .options import check_encode_options, check_random_options

__all__ = ["decode", "encode", "round_parts", "split_float64"]

_CHUNK = 1 << 16  # elements per chunk of the encoder's temporaries
_DECODE_DTYPES = (np.float32, np.float64)


# ----- decode -----------------------------------------------------------------------------------


def decode(codes, fmt, dtype=np.float32) -> np.ndarray:
    """Exact values of element (or E8M0) codes.

    Floating formats: (-1)^S 2^(E-bias) (1 + M/2^m), subnormals (E = 0) (-1)^S 2^(1-bias) M/2^m;
    NaN codes give NaN (sign kept), Inf codes +-Inf, -0 codes -0.0. INT8: two's complement code
    * 2^-6 (0x80 decodes to -2.0). E8M0: c -> 2^(c-127), 0xFF -> NaN. ``dtype`` is float32
    (default; every code is exact in it) or float64. A code outside the format raises
    ValueError. ``codes`` may be any integer dtype in either byte order; a ``dtype`` in the other
    byte order (">f4") gives the same values in that byte order. (MX §5.3, §5.4.1; OFP8 §3)
    """
    fmt = element_format(fmt)
    dt, want = out_dtype(dtype, tuple(np.dtype(d).name for d in _DECODE_DTYPES))
    c = as_codes(codes, fmt.bits)
    return to_dtype(decode_table(fmt).astype(dt)[c], want)


# ----- encode -----------------------------------------------------------------------------------


def _encode_chunk(x64, fmt: Format, rounding, overflow, nan, allow_minus128, rbits, rcount):
    # 1. unpack
    neg, sig, flog2, is_nan, is_inf = split_float64(x64)
    if not fmt.signed:
        neg = np.zeros_like(neg)
    # 2. round the magnitude (an infinite input gets a placeholder above max)
    mag = round_parts(neg, sig, flog2, fmt, rounding, rbits, rcount)
    top = max_mag(fmt, neg, allow_minus128)
    over = (mag > top) | is_inf
    # 3. overflow: saturate, or IEEE 754 §7.4 per mode (directed modes keep finite inputs finite)
    if overflow == "saturate":
        to_max = over
        to_special = np.zeros_like(over)
    else:
        keep_finite = ~is_inf & (
            (rounding == "toward_zero")
            | ((rounding == "up") & neg)
            | ((rounding == "down") & ~neg)
        )
        to_max = over & keep_finite
        to_special = over & ~keep_finite
    mag = np.where(to_max, top, mag)
    code = pack_code(fmt, neg, mag)
    if fmt.has_inf:
        special = np.where(neg, fmt.inf_codes[1], fmt.inf_codes[0])
    elif fmt.has_nan:  # NaN-only (E4M3): overflow becomes NaN, with the sign
        special = np.where(neg, fmt.nan_codes[-1], fmt.nan_codes[0])
    else:
        special = code
    code = np.where(to_special, special, code)
    # 4. NaN inputs
    if fmt.has_nan:
        if fmt.nan_encoding == "all_ones":
            nan_code = np.where(neg, fmt.nan_codes[-1], fmt.nan_codes[0])
        else:  # quiet NaN with the mantissa MSB set, sign kept (E5M2: 0x7E / 0xFE)
            q = (((1 << fmt.exponent_bits) - 1) << fmt.mantissa_bits) | (1 << (fmt.mantissa_bits - 1))
            nan_code = np.where(neg, q | fmt.sign_mask, q)
        code = np.where(is_nan, nan_code, code)
    elif nan != "raise":
        code = np.where(is_nan, 0 if nan == "zero" else fmt.code_of_max, code)
    return code.astype(np.uint8)


def _check_random_bits(rounding, random_bits, random_bit_count, shape):
    n = check_random_options(rounding, random_bits, random_bit_count)
    if not n:
        return None, 0
    r = _to_numpy(random_bits, "random_bits")
    if r.dtype == np.bool_ or r.dtype.kind not in "iu":
        raise TypeError(f"random_bits must be an integer array, got dtype {r.dtype}")
    if r.size and (int(r.min()) < 0 or int(r.max()) >= (1 << n)):
        raise ValueError(f"random_bits must lie in [0, 2**{n}) for random_bit_count={n}")
    try:
        r = np.broadcast_to(r, shape)
    except ValueError:
        raise ValueError(f"random_bits of shape {r.shape} does not broadcast to x's shape {shape}") from None
    return r.astype(np.uint64), n


def encode(
    x,
    fmt,
    *,
    rounding: str = "rne",
    overflow: str = "saturate",
    nan: str = "raise",
    int8_allow_minus128: bool = False,
    random_bits=None,
    random_bit_count=None,
) -> np.ndarray:
    """Element codes (uint8, shape of x) of the exact rounding of x's values to fmt.

    x: float16, bfloat16 (ml_dtypes array or torch tensor; raw uint16 bits through
    :func:`mxref.bfloat16_bits_to_float32`), float32 or float64 -- each value is taken exactly
    (float64 is never rounded to float32 first).

    rounding: "rne" (ties to even, the spec's), "ties_away", "ties_toward_zero" (nearest, a tie to
    the smaller magnitude: llama.cpp's and ModelOpt's FP4 casts), "toward_zero", "up", "down", or
    "stochastic". Stochastic needs ``random_bits`` (integers in [0, 2^n), broadcast to x) and
    ``random_bit_count`` n in 1..32: with f in [0, 1) the fraction of a quantum that the exact
    magnitude lies above the representable value below it, the magnitude rounds away from zero iff
    R + floor(f * 2^n) >= 2^n (the n random bits are added to the top n discarded bits; a carry
    rounds up). An exactly representable value never moves.

    overflow: "saturate" (+-max; OFP8 SAT and MX §6.3) or "nonsaturating" (FP8 only). Rounding
    happens first with an unbounded exponent; a result above max is then +-max when saturating,
    else Inf (E5M2) / NaN (E4M3) -- except that "toward_zero", and "up"/"down" on the side they
    round toward zero, give +-max for finite inputs (IEEE 754 §7.4). Inf inputs: +-max when
    saturating, else Inf (E5M2) / NaN (E4M3) (OFP8 Table 3). Finite-only formats only saturate.

    NaN inputs: FP8 gives NaN with the input's sign (E4M3 S.1111.111; E5M2 the quiet S.11111.10).
    FP6, FP4 and INT8 have no NaN: ``nan`` = "raise" (default), "zero" (+0) or "max" (+max).

    Zeros keep their sign (-0.0 and negatives that round to zero give the -0 code; INT8 has no
    -0). INT8 never produces 0x80 (-2.0) unless ``int8_allow_minus128=True``, in which case the
    negative range reaches -2.0; for every integer row the option means "the most negative
    two's-complement code" (INT4 -8 = -2.0, INT2 -2 = -2.0). Under "rne" a tie goes to the even
    code; with no mantissa bits (FP4 E3M0, not MX v1.0) that is the even exponent.
    (MX §5.3, §6.3; OFP8 §5.2.1)
    """
    fmt = element_format(fmt)
    if not fmt.has_zero:
        raise ValueError(f"{fmt.name} is a scale format (no zero): use mxref.encode_e8m0")
    check_encode_options(fmt, rounding, overflow, nan)
    if not isinstance(int8_allow_minus128, (bool, np.bool_)):
        raise TypeError(f"int8_allow_minus128 must be a bool, got {int8_allow_minus128!r}")
    x64 = as_float64(x)
    rbits, rcount = _check_random_bits(rounding, random_bits, random_bit_count, x64.shape)
    if nan == "raise" and not fmt.has_nan and np.isnan(x64).any():
        raise ValueError(
            f"x holds NaN, which {fmt.name} cannot encode (it has no NaN); pass nan='zero' or nan='max'"
        )
    flat = x64.reshape(-1)
    rflat = rbits.reshape(-1) if rbits is not None else None
    out = np.empty(flat.shape, np.uint8)
    for start in range(0, flat.size, _CHUNK):
        sl = slice(start, start + _CHUNK)
        out[sl] = _encode_chunk(
            flat[sl], fmt, rounding, overflow, nan, bool(int8_allow_minus128),
            rflat[sl] if rflat is not None else None, rcount,
        )
    return out.reshape(x64.shape)
