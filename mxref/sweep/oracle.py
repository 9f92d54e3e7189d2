"""The sweep's second oracle: element encoding by nearest search over the format's exact values,
and the shared-exponent rules written from the float32 bits. Shares no code with mxref's fast
path (it reads only the bit-field widths, bias and kind of each format row; it never calls
mxref.encode, mxref.decode, mxref._kernel or mxref.scale).

Element encoding (:func:`encode_oracle`)
    The finite non-negative values of the format are built from the bit fields of every
    magnitude code m (e = m >> M, f = m & (2^M - 1); e = 0: f * 2^(1 - bias - M), else
    (2^M + f) * 2^(e - bias - M); an integer row: m * 2^scale_exponent), the NaN / Inf codes left
    out. They increase with m, so ``np.searchsorted`` over them finds, for |x|, the value below
    (lo) and above (hi); one value past max, ``next = max + ulp(max)``, stands for "above max at
    an unbounded exponent". Then, explicitly:

    * ties: |x| == (lo + hi) / 2 goes to the even magnitude code (rne) or to hi (ties_away);
    * directed modes: toward_zero takes lo, up takes hi for x > 0 and lo for x < 0, down the
      reverse;
    * overflow: a rounded magnitude of ``next`` (or |x| > next) overflows: saturate gives +-max;
      nonsaturating gives Inf (E5M2) / NaN (E4M3), except that toward_zero, and up / down on the
      side they round toward zero, give +-max (IEEE 754 §7.4); an Inf input gives +-max when
      saturating, else Inf / NaN (OFP8 Table 3);
    * NaN: E4M3 S.1111.111, E5M2 S.11111.10 (sign kept); a format without NaN gives +0 (nan="zero")
      or +max (nan="max");
    * signed zero: a negative input whose magnitude rounds to 0 gives the -0 code (sign bit
      alone); an integer row has no -0 and gives 0. Integer rows never give the most negative
      two's-complement code.

    Exactness in float64. Every float32 (and float16, bfloat16) value is a float64 (24 <= 53
    significand bits, exponent range inside float64's). Every format value is a float64 (at most
    4 fraction bits, |exponent| < 30; INT8: k * 2^-6, |k| < 2^7). Two adjacent format values lo <
    hi lie in one binade of lo or hi = 2^e with lo = 2^e - ulp, so hi - lo = ulp(lo) and the
    midpoint lo + ulp(lo)/2 has at most M + 2 significant bits (M the fraction bits; INT8: 9
    bits), far below 53: ``(lo + hi) / 2`` is computed exactly (the sum has at most M + 2 bits too,
    the halving is exact). The same holds for next = max + ulp(max) and the midpoint of max and
    next. All comparisons are then between exact float64 values, so every decision is exact; no
    float64 rounding happens anywhere in the oracle.

Scale rules (:func:`scale_oracle`)
    A positive finite float32 amax is S * 2^a with S, a integers from its bits (normal: S = 2^23 |
    fraction, a = E - 150; subnormal: S = fraction, a = -149); the element max is Mx * 2^b (Mx odd)
    and emax = floor(log2 max), P the format's fraction bits (ulp(max) = 2^(emax - P)). With L = floor(log2 amax) =
    bitlength(S) - 1 + a:

    * floor: L - emax; ceil: L + (S not a power of two) - emax;
    * even: L + c - emax, c = 1 iff amax rounded half-up to P fraction bits reaches 2^(L+1), i.e.
      the top P + 1 fraction bits of S are all ones;
    * rceil: the smallest k with Mx * 2^(b+k) >= amax; round_down: the largest k with
      Mx * 2^(b+k) <= amax -- decided by integer comparisons of S and Mx shifted;

    then clamped to [-127, 127] and stored as k + 127.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["FormatTable", "format_table", "encode_oracle", "scale_oracle", "input_values"]


class FormatTable:
    """The exact value table of one element format, derived from its bit fields."""

    def __init__(self, row):
        self.name, self.bits = row.name, row.bits
        self.integer = bool(row.integer)
        self.has_inf = row.nonfinite == "ieee"
        self.has_nan = row.nan_encoding is not None
        self.sign = 1 << (row.bits - 1)
        nmag = 1 << (row.bits - 1)
        M, bias = row.mantissa_bits, row.bias
        codes, vals = [], []
        for m in range(nmag):
            if self.integer:
                codes.append(m)
                vals.append(float(m) * 2.0 ** row.scale_exponent)
                continue
            e, f = m >> M, m & ((1 << M) - 1)
            all_ones = e == (1 << row.exponent_bits) - 1
            if row.nonfinite == "ieee" and all_ones:
                continue  # Inf and NaNs
            if row.nonfinite == "nan_only" and all_ones and f == (1 << M) - 1:
                continue  # the one NaN magnitude
            v = f * 2.0 ** (1 - bias - M) if e == 0 else (2 ** M + f) * 2.0 ** (e - bias - M)
            codes.append(m)
            vals.append(v)
        self.mag_codes = np.array(codes, np.int64)
        self.values = np.array(vals, np.float64)
        assert np.all(np.diff(self.values) > 0), "format values must increase with the code"
        self.max = float(self.values[-1])
        self.max_code = int(self.mag_codes[-1])
        ulp = float(self.values[-1] - self.values[-2])
        self.next = self.max + ulp  # one step past max, at an unbounded exponent
        # NaN / Inf codes (positive sign)
        if self.has_inf:
            self.inf_code = ((1 << row.exponent_bits) - 1) << M
            self.nan_code = self.inf_code | (1 << (M - 1))  # the quiet NaN, S.11111.10
        elif self.has_nan:
            self.inf_code = None
            self.nan_code = nmag - 1  # S.1111.111
        else:
            self.inf_code = self.nan_code = None
        # scale-rule constants: max = Mx * 2^b, Mx odd; emax = floor(log2 max); P fraction bits
        _, ex = np.frexp(self.max)  # max = mant * 2^ex, mant in [0.5, 1)
        self.emax = int(ex) - 1
        mx_int, b = int(self.max * 2.0 ** 40), -40
        while mx_int % 2 == 0:
            mx_int //= 2
            b += 1
        self.max_odd, self.max_exp = mx_int, b
        # fraction bits of the format at max: ulp(max) = 2^(emax - P)
        self.fraction_bits = self.emax - (int(np.frexp(ulp)[1]) - 1)


@lru_cache(maxsize=None)
def format_table(name: str) -> FormatTable:
    from ..formats import element_format

    return FormatTable(element_format(name))


def input_values(bits: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(x as the input dtype for the encoder, x exactly as float64) of raw bit patterns."""
    if kind == "float32":
        x = bits.astype(np.uint32).view(np.float32)
    elif kind == "float16":
        x = bits.astype(np.uint16).view(np.float16)
    elif kind == "bfloat16":  # a bfloat16 is the top half of a float32
        x = (bits.astype(np.uint32) << np.uint32(16)).view(np.float32)
    else:
        raise ValueError(f"inputs must be float32, float16 or bfloat16, got {kind!r}")
    with np.errstate(invalid="ignore"):  # NaN payloads widen to NaN
        return x, x.astype(np.float64)


def encode_oracle(x64: np.ndarray, fmt: str, rounding: str, overflow: str, nan: str = "zero") -> np.ndarray:
    """Codes (uint8) of float64 values x64 in fmt, by nearest search (module doc)."""
    t = format_table(fmt)
    neg = np.signbit(x64)
    a = np.abs(x64)
    isnan = np.isnan(a)
    isinf = np.isinf(a)
    fin = ~isnan & ~isinf
    af = np.where(fin, a, 0.0)
    vals = np.append(t.values, t.next)
    i = np.searchsorted(vals, af, side="right") - 1  # vals[i] <= a < vals[i+1]
    i = np.minimum(i, len(vals) - 1)
    lo = vals[i]
    exact = lo == af
    hi_i = np.minimum(i + 1, len(vals) - 1)
    beyond = af > t.next  # above next: every mode but the toward-zero ones overflows
    hi = vals[hi_i]
    mid = (lo + hi) / 2.0
    if rounding in ("rne", "ties_away"):
        up = af > mid
        tie = af == mid
        if rounding == "ties_away":
            up |= tie
        else:  # the even magnitude code; i == len-1 (next) has no code: next's code is max+1
            lo_code = np.where(i < len(t.mag_codes), t.mag_codes[np.minimum(i, len(t.mag_codes) - 1)], t.max_code + 1)
            up |= tie & (lo_code % 2 == 1)
    elif rounding == "toward_zero":
        up = np.zeros(a.shape, bool)
    elif rounding == "up":
        up = ~neg
    elif rounding == "down":
        up = neg.copy()
    else:
        raise ValueError(f"the oracle takes deterministic roundings only, got {rounding!r}")
    j = np.where(exact, i, np.where(up, hi_i, i))
    toward_zero_side = (rounding == "toward_zero") | ((rounding == "up") & neg) | ((rounding == "down") & ~neg)
    over = fin & ((j >= len(t.mag_codes)) | beyond)
    mag = t.mag_codes[np.minimum(j, len(t.mag_codes) - 1)]
    mag = np.where(over, t.max_code, mag)
    if overflow == "nonsaturating":
        ovf_code = t.inf_code if t.has_inf else t.nan_code
        mag = np.where(over & ~toward_zero_side, ovf_code, mag)
        mag = np.where(isinf, ovf_code, mag)
    else:
        mag = np.where(isinf, t.max_code, mag)
    # sign
    if t.integer:
        k = np.where(neg, -mag, mag)
        code = k & 0xFF if t.bits == 8 else k & ((1 << t.bits) - 1)
    else:
        code = np.where(neg, mag | t.sign, mag)
    if t.has_nan:
        code = np.where(isnan, np.where(neg, t.nan_code | t.sign, t.nan_code), code)
    else:
        code = np.where(isnan, 0 if nan == "zero" else t.max_code, code)
    return code.astype(np.uint8)


def _bitlen(v: np.ndarray) -> np.ndarray:
    """bit_length of positive int64 values below 2^53 (frexp of the exact float64)."""
    return np.frexp(v.astype(np.float64))[1].astype(np.int64)


def scale_oracle(bits32: np.ndarray, fmt: str, rule: str) -> np.ndarray:
    """E8M0 codes (uint8) of the shared exponent of one-element blocks holding the positive
    finite float32 values with bit patterns ``bits32`` (module doc)."""
    t = format_table(fmt)
    b = bits32.astype(np.int64)
    E, F = b >> 23, b & 0x7FFFFF
    S = np.where(E == 0, F, F | 0x800000)
    a = np.where(E == 0, -149, E - 150)
    n = _bitlen(S)
    L = n - 1 + a
    if rule == "floor":
        k = L - t.emax
    elif rule == "ceil":
        k = L + (S != (np.int64(1) << (n - 1))) - t.emax
    elif rule == "even":
        P = t.fraction_bits
        S24 = S << (24 - n)  # normalized to 24 bits: 1.fff... * 2^23
        low = 23 - (P + 1)  # bits below the top P+1 fraction bits
        top = (S24 >> low) & ((1 << (P + 1)) - 1)
        k = L + (top == (1 << (P + 1)) - 1) - t.emax
    elif rule in ("rceil", "round_down"):
        # amax / max = (S / Mx) * 2^(a - b); compare S with Mx * 2^j on 30-bit-normalized integers
        Mx, nb = t.max_odd, t.max_odd.bit_length()
        # j0: S and Mx << j0 have the same bit length
        j0 = n - nb
        # Mx * 2^j0 as an integer (j0 may be negative: compare S << -j0 with Mx instead)
        lhs = np.where(j0 >= 0, S, S << np.maximum(-j0, 0))
        rhs = np.where(j0 >= 0, np.int64(Mx) << np.maximum(j0, 0), np.int64(Mx))
        if rule == "rceil":  # smallest j with Mx*2^j >= S: j0 if S <= Mx*2^j0, else j0 + 1
            j = j0 + (lhs > rhs)
        else:  # largest j with Mx*2^j <= S: j0 if Mx*2^j0 <= S, else j0 - 1
            j = j0 - (lhs < rhs)
        k = j + a - t.max_exp
    else:
        raise ValueError(f"unknown scale rule {rule!r}")
    return (np.clip(k, -127, 127) + 127).astype(np.uint8)
