"""The spec's values, typed in by hand from the documents, independently of mxref.formats.

Sources: OFP8 v1.0 Table 1 and §5.1 (E4M3, E5M2); MX v1.0 §5.3.2 (FP6), §5.3.3 (FP4), §5.3.4
(INT8), §5.4.1 (E8M0). Fractions are exact.
"""

from fractions import Fraction as F

# name: bits, exponent bits, mantissa bits, bias, emax, max, code of max, min normal,
#       min subnormal, Inf codes, NaN codes, -0 code
SPEC = {
    "fp8_e4m3": dict(bits=8, ebits=4, mbits=3, bias=7, emax=8, max=F(448), code_of_max=0x7E,
                     min_normal=F(1, 2**6), min_subnormal=F(1, 2**9),
                     inf=(), nan=(0x7F, 0xFF), neg_zero=0x80),
    "fp8_e5m2": dict(bits=8, ebits=5, mbits=2, bias=15, emax=15, max=F(57344), code_of_max=0x7B,
                     min_normal=F(1, 2**14), min_subnormal=F(1, 2**16),
                     inf=(0x7C, 0xFC), nan=(0x7D, 0x7E, 0x7F, 0xFD, 0xFE, 0xFF), neg_zero=0x80),
    "fp6_e2m3": dict(bits=6, ebits=2, mbits=3, bias=1, emax=2, max=F(15, 2), code_of_max=0x1F,
                     min_normal=F(1), min_subnormal=F(1, 8), inf=(), nan=(), neg_zero=0x20),
    "fp6_e3m2": dict(bits=6, ebits=3, mbits=2, bias=3, emax=4, max=F(28), code_of_max=0x1F,
                     min_normal=F(1, 4), min_subnormal=F(1, 16), inf=(), nan=(), neg_zero=0x20),
    "fp4_e2m1": dict(bits=4, ebits=2, mbits=1, bias=1, emax=2, max=F(6), code_of_max=0x7,
                     min_normal=F(1), min_subnormal=F(1, 2), inf=(), nan=(), neg_zero=0x8),
    "int8": dict(bits=8, ebits=0, mbits=None, bias=None, emax=0, max=F(127, 64), code_of_max=0x7F,
                 min_normal=None, min_subnormal=F(1, 64), inf=(), nan=(), neg_zero=None),
    "e8m0": dict(bits=8, ebits=8, mbits=0, bias=127, emax=127, max=F(2) ** 127, code_of_max=0xFE,
                 min_normal=F(1, 2**127), min_subnormal=None, inf=(), nan=(0xFF,), neg_zero=None),
}

# MX §5.3.3: FP4 E2M1 codes 0..7 (codes 8..15 are the negatives, 8 = -0).
FP4_VALUES = [F(0), F(1, 2), F(1), F(3, 2), F(2), F(3), F(4), F(6)]

# Every value, from the spec's formula typed separately: normal (-1)^S 2^(E-bias) (1 + M/2^m),
# subnormal (-1)^S 2^(1-bias) M/2^m.
def spec_value(name, code):
    s = SPEC[name]
    if name == "int8":
        v = code - 256 if code >= 128 else code
        return F(v, 64)
    if name == "e8m0":
        return None if code == 0xFF else F(2) ** (code - 127)
    if code in s["nan"] or code in s["inf"]:
        return None
    m, e_bits = s["mbits"], s["ebits"]
    sign = -1 if code >> (m + e_bits) else 1
    e = (code >> m) & ((1 << e_bits) - 1)
    man = code & ((1 << m) - 1)
    if e == 0:
        return sign * F(man, 2**m) * F(2) ** (1 - s["bias"])
    return sign * (1 + F(man, 2**m)) * F(2) ** (e - s["bias"])
