"""Code tables for the accumulator models: every code of an operand format as exact numbers.

A code becomes, by a 256-entry table built once per format from its bit fields:

  ``n``, ``q``  the exact value ``n * 2^q`` (``n`` a signed integer, ``q`` the exponent of its
                last bit). Element formats use one fixed ``q`` for every code (fixed point:
                ``q = (1 - bias) - mantissa_bits``), so that a group of products can be summed as
                integers; E8M0 uses ``n = 1, q = code - 127``.
  ``value``     ``n * 2^q`` as a float64 (exact: ``|n| < 2^33`` for every format here).
  ``exp``       the *alignment exponent* the tensor-core models compare (MMA-Sim's
                ``extract_significand_exponent``): the true exponent of a normal value, the
                format's minimum normal exponent ``1 - bias`` for a subnormal, and the model's
                ``zero_exponent`` (-126 in every preset) for a zero.
  ``nan``, ``inf``  special codes (their ``n`` and ``value`` are 0).

Element rows are read from mxref's own :func:`mxref.element_format` fields: the OCP rows (E4M3,
E5M2, E2M3, E3M2, E2M1, E8M0) and the FNUZ extension rows ``fp8_e4m3fnuz`` (AMD CDNA3 "fp8": bias
8, no Inf, no -0, NaN = 0x80 only; max 240) and ``fp8_e5m2fnuz`` (CDNA3 "bf8": bias 16; max 57344).
One row lives here only, as a scale format of the NVFP4 instructions:

  * ``ue4m3`` (NVFP4 block scale): E4M3 without sign; the sign bit is ignored (the tensor core
    takes ``|scale|``, as MMA-Sim does), 0x7F is NaN, 0x00 is zero.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..formats import element_format

__all__ = ["Codec", "codec", "decode_operand", "decode_f32_bits", "FNUZ_NAMES"]


@dataclass(frozen=True)
class Codec:
    """Bit fields of one operand format, enough to decode any of its codes."""

    name: str
    bits: int
    exponent_bits: int
    mantissa_bits: int
    bias: int
    specials: str  # a Format.nonfinite ("ieee", "nan_only", "finite", "nan_at_negative_zero"), "e8m0", "ue4m3"
    signed: bool = True

    @property
    def emin(self) -> int:
        """The smallest normal exponent, also a subnormal's alignment exponent."""
        return 1 - self.bias


_LOCAL = {
    "ue4m3": Codec("ue4m3", 8, 4, 3, 7, "ue4m3", signed=False),
}
_ALIASES = {
    "fp8_ue4m3": "ue4m3", "e4m3_unsigned": "ue4m3", "ue8m0": "e8m0",
}
FNUZ_NAMES = ("fp8_e4m3fnuz", "fp8_e5m2fnuz")


def codec(fmt) -> Codec:
    """The :class:`Codec` of an operand or scale format: mxref's element formats (spec and
    extension rows, FNUZ included) and E8M0 (any name :func:`mxref.element_format` accepts), and
    ``ue4m3``."""
    if isinstance(fmt, Codec):
        return fmt
    if isinstance(fmt, str):
        key = fmt.strip().lower()
        key = _ALIASES.get(key, key)
        if key in _LOCAL:
            return _LOCAL[key]
        fmt = key
    f = element_format(fmt)
    if f.integer:
        raise ValueError(f"{f.name}: integer element formats have no tensor-core model here")
    if f.name == "e8m0":
        return Codec("e8m0", 8, 8, 0, 127, "e8m0", signed=False)
    return Codec(f.name, f.bits, f.exponent_bits, f.mantissa_bits, f.bias, f.nonfinite, f.signed)


@functools.lru_cache(maxsize=None)
def _table(c: Codec, zero_exponent: int, flush_subnormals: bool):
    size = 1 << c.bits
    n = np.zeros(size, np.int64)
    q = np.zeros(size, np.int64)
    exp = np.zeros(size, np.int64)
    nan = np.zeros(size, bool)
    inf = np.zeros(size, bool)
    mb, eb = c.mantissa_bits, c.exponent_bits
    q_fixed = c.emin - mb
    for code in range(size):
        if c.specials == "e8m0":
            n[code], q[code], exp[code] = 1, code - 127, code - 127
            nan[code] = code == 0xFF
            continue
        body = code & 0x7F if c.specials == "ue4m3" else code
        sign = (code >> (mb + eb)) & 1 if c.signed else 0
        e = (body >> mb) & ((1 << eb) - 1)
        m = body & ((1 << mb) - 1)
        top = e == (1 << eb) - 1
        if (c.specials == "ieee" and top and m) or (c.specials == "nan_at_negative_zero" and code == 1 << (c.bits - 1)) or (
                c.specials in ("nan_only", "ue4m3") and top and m == (1 << mb) - 1):
            nan[code] = True
        elif c.specials == "ieee" and top:
            inf[code] = True
        else:
            # |value| = mag * 2^(e_eff - mb); in fixed point with the last bit at q_fixed
            mag = ((1 << mb) + m) if e > 0 else m
            if e == 0 and flush_subnormals:
                mag = 0
            e_eff = e - c.bias if e > 0 else c.emin
            n[code] = (-1 if sign else 1) * (mag << (e_eff - c.emin))
            q[code] = q_fixed
            exp[code] = e_eff if mag else zero_exponent
        if nan[code] or inf[code]:
            q[code], exp[code] = q_fixed, zero_exponent
    neg = np.array([bool((code >> (c.bits - 1)) & 1) and c.signed for code in range(size)])
    value = np.ldexp(n.astype(np.float64), q)
    for a in (n, q, exp, nan, inf, neg, value):
        a.setflags(write=False)
    return dict(n=n, q=q, exp=exp, nan=nan, inf=inf, neg=neg, value=value)


def decode_operand(codes, fmt, *, zero_exponent: int = -126, flush_subnormals: bool = False) -> dict:
    """Arrays ``n, q, exp, nan, inf, neg, value`` (see the module docstring) of element or scale
    codes, each of ``codes``' shape."""
    c = codec(fmt)
    a = np.asarray(codes)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{c.name} codes must be integers, got dtype {a.dtype}")
    if a.size and (int(a.min()) < 0 or int(a.max()) >= (1 << c.bits)):
        raise ValueError(f"{c.name} codes must lie in 0 ... {(1 << c.bits) - 1}")
    t = _table(c, int(zero_exponent), bool(flush_subnormals))
    idx = a.astype(np.intp)
    return {k: v[idx] for k, v in t.items()}


def decode_f32_bits(bits, *, zero_exponent: int = -126, flush_subnormals: bool = False) -> dict:
    """The same arrays for float32 bit patterns (C and D): ``n`` the signed 24-bit significand,
    ``q = max(E, 1) - 150``; subnormals align at -126, zeros at ``zero_exponent``."""
    b = np.asarray(bits, np.uint32).astype(np.int64)
    neg = (b >> 31) == 1
    ef = (b >> 23) & 0xFF
    mf = b & 0x7FFFFF
    special = ef == 0xFF
    nan = special & (mf != 0)
    inf = special & (mf == 0)
    mag = np.where(ef > 0, mf | (1 << 23), mf)
    if flush_subnormals:
        mag = np.where(ef == 0, 0, mag)
    mag = np.where(special, 0, mag)
    q = np.maximum(ef, 1) - 150
    exp = np.where(mag == 0, zero_exponent, np.maximum(ef, 1) - 127)
    n = np.where(neg, -mag, mag)
    return dict(n=n, q=q, exp=exp, nan=nan, inf=inf, neg=neg,
                value=np.ldexp(n.astype(np.float64), q))
