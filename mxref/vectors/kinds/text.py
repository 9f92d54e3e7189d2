"""Hand-reviewed text vectors (text/*.tv): key edge cases of element encode / decode (MX §5.3,
OFP8 Table 3), E8M0 encode (MX §5.4.1) and MX blocks (MX §6.3), one per line with the reason
it matters. Each expected value is checked against mxref.reference while it is written, and
again, line by line, by the verifier. Line format: mxref.vectors.schema (``tv_line``)."""

from __future__ import annotations

import math

import numpy as np

import mxref
from mxref import reference

from ..schema import Writer, h32, parse_tv_line, parse_tv_options, tv_line, tv_options
from .common import Ctx, f32


# ----- generate -------------------------------------------------------------------------------------

def generate_tv_elements(w: Writer, level: int):
    """text/elements.tv: decode, encode and encode_e8m0 cases."""
    lines = ["# mxref hand-reviewed vectors: encode / decode of elements (MX §5.3, OFP8 Table 3).",
             "# decode <format> <code hex> -> <float32 hex>",
             "# encode <format> <rounding> <overflow> <options> <float32 hex> -> <code hex>",
             "#   options: - (none) or comma-separated name=value of mxref.encode (nan=raise is the default)"]

    def enc(fmt, rnd, ov, x, why, **kw):
        b = int(np.float32(x).view(np.uint32)) if not isinstance(x, int) else x
        v = float(np.uint32(b).view(np.float32))
        got = int(mxref.encode(np.uint32(b).view(np.float32).reshape(1), fmt, rounding=rnd, overflow=ov, **kw)[0])
        ref = reference.encode_scalar(v, fmt, rounding=rnd, overflow=ov, **kw)
        if got != ref:
            raise AssertionError(f"encode {fmt} {rnd} {ov} {h32(b)}: fast {got:#x} != reference {ref:#x}")
        lines.append(tv_line("encode", [fmt, rnd, ov, tv_options(kw), h32(b)], [f"{got:02X}"], why))

    def dec(fmt, code, why):
        got = int(mxref.decode(np.array([code]), fmt, np.float32).view(np.uint32)[0])
        ref = reference.decode_scalar(code, fmt)
        rv = float(np.uint32(got).view(np.float32))
        if not (math.isnan(ref) and math.isnan(rv)) and rv != ref:
            raise AssertionError(f"decode {fmt} {code:#x}: {rv} != reference {ref}")
        lines.append(tv_line("decode", [fmt, f"{code:02X}"], [h32(got)], why))

    dec("fp8_e4m3", 0x7E, "max normal 448")
    dec("fp8_e4m3", 0x7F, "NaN (S.1111.111)")
    dec("fp8_e4m3", 0x01, "min subnormal 2^-9")
    dec("fp8_e5m2", 0x7B, "max normal 57344")
    dec("fp8_e5m2", 0x7C, "+Inf")
    dec("fp6_e2m3", 0x1F, "max 7.5")
    dec("fp6_e3m2", 0x1F, "max 28")
    dec("fp4_e2m1", 0x07, "max 6")
    dec("fp4_e2m1", 0x09, "-0.5")
    dec("int8", 0x81, "-127/64")
    dec("int8", 0x80, "-2 (the code mxref never produces by default)")
    dec("e8m0", 0x7F, "2^0")
    dec("e8m0", 0x00, "2^-127, a float32 subnormal")
    dec("e8m0", 0xFF, "NaN")
    enc("fp8_e4m3", "rne", "saturate", 464.0, "464 ties to even 448 (OFP8 Table 3)")
    enc("fp8_e4m3", "rne", "saturate", 0x43E80001, "just above 464 saturates to 448")
    enc("fp8_e4m3", "rne", "nonsaturating", 0x43E80001, "just above 464 -> NaN")
    enc("fp8_e4m3", "rne", "nonsaturating", 464.0, "464 ties to 448 even without saturation")
    enc("fp8_e4m3", "rne", "saturate", math.inf, "Inf saturates to max")
    enc("fp8_e4m3", "rne", "saturate", 2.0**-10, "half the min subnormal ties to 0")
    enc("fp8_e4m3", "rne", "saturate", 0x3A800001, "just above half the min subnormal -> 2^-9")
    enc("fp8_e4m3", "up", "saturate", 2.0**-140, "tiny positive rounds up to min subnormal")
    enc("fp8_e4m3", "rne", "saturate", -0.0, "-0 keeps its sign")
    enc("fp8_e5m2", "rne", "nonsaturating", 61440.0, "61440 ties to even: up to Inf")
    enc("fp8_e5m2", "rne", "saturate", 61440.0, "61440 saturates to 57344")
    enc("fp8_e5m2", "toward_zero", "nonsaturating", math.inf, "Inf stays Inf")
    enc("fp8_e5m2", "toward_zero", "nonsaturating", 1e6, "finite overflow toward zero -> max (IEEE 754 §7.4)")
    enc("fp8_e5m2", "rne", "saturate", math.nan, "NaN -> quiet NaN S.11111.10")
    enc("fp6_e2m3", "rne", "saturate", 7.75, "tie above max 7.5 saturates")
    enc("fp6_e3m2", "rne", "saturate", 30.0, "tie above max 28 saturates")
    enc("fp4_e2m1", "rne", "saturate", 5.0, "tie between 4 and 6 -> 4 (even)")
    enc("fp4_e2m1", "ties_away", "saturate", 5.0, "tie between 4 and 6 -> 6 away")
    enc("fp4_e2m1", "rne", "saturate", 0.25, "tie between 0 and 0.5 -> 0")
    enc("fp4_e2m1", "rne", "saturate", -2.5, "tie between -2 and -3 -> -2")
    enc("int8", "rne", "saturate", -2.0, "-2 saturates to -127/64 (no -128 by default)")
    enc("int8", "rne", "saturate", -2.0, "-2 -> -128 when allowed", int8_allow_minus128=True)
    enc("int8", "rne", "saturate", 3.0, "3 saturates to 127/64")
    enc("int8", "rne", "saturate", 1.0 / 128, "tie 0.5/64 -> 0")
    enc("int8", "rne", "saturate", 3.0 / 128, "tie 1.5/64 -> 2/64")
    lines.append("")
    lines.append("# encode_e8m0 <rounding> <overflow> <float32 hex> -> <code hex>   (MX §5.4.1)")
    for rnd, ov, x, why in [("floor", "saturate", 1.5, "floor of 1.5 -> 2^0"),
                            ("ceil", "saturate", 1.5, "ceil of 1.5 -> 2^1"),
                            ("rne", "saturate", 1.5, "1.5 is the tie of 1 and 2 -> 2 (even code 0x80)"),
                            ("ties_up", "saturate", 1.5, "1.5 ties up to 2"),
                            ("floor", "saturate", 2.0**-149, "smallest float32 -> 2^-127 (saturate)"),
                            ("floor", "nonsaturating", 2.0**-149, "smallest float32 below 2^-127 -> NaN"),
                            ("ceil", "saturate", 0x7F000001, "ceil above 2^127 saturates to 2^127"),
                            ("floor", "saturate", math.inf, "Inf -> 2^127 (saturate)"),
                            ("floor", "saturate", math.nan, "NaN -> 0xFF")]:
        b = int(np.float32(x).view(np.uint32)) if not isinstance(x, int) else x
        v = float(np.uint32(b).view(np.float32))
        got = int(mxref.encode_e8m0(np.array([v], np.float32), rounding=rnd, overflow=ov)[0])
        ref = reference.encode_e8m0_scalar(v, rounding=rnd, overflow=ov)
        if got != ref:
            raise AssertionError(f"encode_e8m0 {rnd} {ov} {h32(b)}: {got:#x} != reference {ref:#x}")
        lines.append(tv_line("encode_e8m0", [rnd, ov, h32(b)], [f"{got:02X}"], why))
    w.text("text/elements.tv", "\n".join(lines) + "\n", "expected", "encode")


def generate_tv_mx(w: Writer, level: int):
    """text/mx.tv: MX blocks, one per line, with every option that changes the result."""
    lines = ["# mxref hand-reviewed MX block vectors (MX §6.3): one block per line.",
             "# quantize <mx format> <scale rule> <rounding> <options> <n> <float32 hex x n, comma-separated>"
             " -> <scale hex> <element codes hex, comma-separated>",
             "#   the block size is n; options: - (none) or comma-separated name=value of mxref.quantize"]

    def q(fmt, rule, rnd, vals, why, **kw):
        bits = [v if isinstance(v, int) else int(np.float32(v).view(np.uint32)) for v in vals]
        x = np.array(bits, np.uint32).view(np.float32)
        mx = mxref.quantize(x, fmt, scale_rule=rule, rounding=rnd, block_size=len(bits), **kw)
        s, codes = reference.quantize_block_scalar(x.tolist(), fmt, scale_rule=rule, rounding=rnd, **kw)
        if int(mx.scales[0]) != s or mx.elements.tolist() != codes:
            raise AssertionError(f"quantize {fmt} {rule} {rnd} {vals}: fast != reference")
        xs = ",".join(h32(b) for b in bits)
        lines.append(tv_line("quantize", [fmt, rule, rnd, tv_options(kw), str(len(bits)), xs],
                             [f"{s:02X}", ",".join(f"{c:02X}" for c in codes)], why))

    q("mxfp8_e4m3", "floor", "rne", [448.0, 1.0, -0.5, 0.0], "amax 448 = max: X = 2^0, exact")
    q("mxfp8_e4m3", "floor", "rne", [480.0, 1.0], "amax 480: X = 2^0, 480 clips to 448")
    q("mxfp8_e4m3", "rceil", "rne", [480.0, 1.0], "rceil: 480/448 > 1 -> X = 2^1")
    q("mxfp8_e4m3", "floor", "rne", [0x43FFFFFF, 3.0], "amax 512(1-2^-24): floor(log2) = 8 -> X = 2^0")
    q("mxfp8_e4m3", "ceil", "rne", [256.0, 3.0], "ceil of an exact power of two stays: X = 2^0")
    q("mxfp4_e2m1", "floor", "rne", [6.0, 5.0, 0.25, -2.5], "X = 2^0: 5 -> 4, 0.25 -> 0, -2.5 -> -2 (ties to even)")
    q("mxfp4_e2m1", "floor", "rne", [7.0, 1.0], "amax 7: floor(log2 7) - 2 = 0, 7 clips to 6")
    q("mxfp4_e2m1", "even", "rne", [7.0, 1.0], "even: 7 rounds half-up to 8 -> X = 2^1")
    q("mxfp4_e2m1", "round_down", "rne", [5.0, 1.0], "round_down: floor(log2(5/6)) = -1 -> X = 2^-1, 10 clips to 6")
    q("mxfp6_e3m2", "floor", "rne", [0.0, 0x80000000], "all-zero block: scale 0x00, -0 kept")
    q("mxfp6_e2m3", "floor", "rne", [1.0, float("nan")], "a NaN: scale 0xFF, element codes 0")
    q("mxfp8_e5m2", "floor", "rne", [1.0, float("inf")], "Inf: NaN scale by default (inf_policy nan_scale)")
    q("mxfp8_e5m2", "floor", "rne", [1.0, float("inf")], "finite_scale: X = 2^-15 from the 1.0, Inf element 0x7C",
      inf_policy="finite_scale")
    q("mxfp8_e4m3", "floor", "rne", [2.0**-130, -(2.0**-136)], "tiny block clamps to X = 2^-127: 2^-3, -2^-9")
    q("mxfp8_e4m3", "floor", "rne", [2.0**-130, -(2.0**-136)], "flush_subnormals: zeros, signs kept",
      flush_subnormals=True)
    q("mxint8", "floor", "rne", [-1.998046875, 1.0], "INT8, X = 2^0: -127.875/64 rounds to -128, saturates to 0x81")
    q("mxint8", "floor", "rne", [-1.998046875, 1.0], "INT8 -128 allowed: 0x80", int8_allow_minus128=True)
    q("mxint8", "floor", "rne", [-2.0, 1.0], "INT8 amax 2: X = 2^1, -2 -> -1 (0xC0)")
    q("mxint8", "floor", "rne", [1.0, 1.0 / 128, -3.0 / 128], "INT8 ties to even: 0.5/64 -> 0, -1.5/64 -> -2/64")
    q("mxfp8_e4m3", "floor", "rne", [0x7F7FFFFF, 1.0], "largest float32: X = 2^119, 1.0 underflows to 0")
    w.text("text/mx.tv", "\n".join(lines) + "\n", "expected", "quantize")


# ----- check against mxref.reference ----------------------------------------------------------------
# One function per .tv operation: (fields, the operation first; result fields) -> (ok, expected).

def _tv_decode(lhs, rhs):
    _, fmt, code = lhs
    want = reference.decode_scalar(int(code, 16), fmt)
    v = f32(int(rhs[0], 16))
    ok = (math.isnan(want) and math.isnan(v)) or (v == want and math.copysign(1, v) == math.copysign(1, want))
    return ok, want


def _tv_encode(lhs, rhs):
    _, fmt, rnd, ov, opts, xh = lhs
    want = reference.encode_scalar(f32(int(xh, 16)), fmt, rounding=rnd, overflow=ov, **parse_tv_options(opts))
    return int(rhs[0], 16) == want, want


def _tv_encode_e8m0(lhs, rhs):
    _, rnd, ov, xh = lhs
    want = reference.encode_e8m0_scalar(f32(int(xh, 16)), rounding=rnd, overflow=ov)
    return int(rhs[0], 16) == want, want


def _tv_quantize(lhs, rhs):
    _, fmt, rule, rnd, opts, n, xs = lhs
    vals = [f32(int(h, 16)) for h in xs.split(",")]
    if len(vals) != int(n):
        raise ValueError(f"{n} values announced, {len(vals)} given")
    want = reference.quantize_block_scalar(vals, fmt, scale_rule=rule, rounding=rnd, **parse_tv_options(opts))
    return (int(rhs[0], 16), [int(c, 16) for c in rhs[1].split(",")]) == want, want


#: .tv operation -> its line check (the syntax of each: spec_vectors/README.md, "Text vectors")
TV_CHECKS = {"decode": _tv_decode, "encode": _tv_encode, "encode_e8m0": _tv_encode_e8m0, "quantize": _tv_quantize}


def check_tv(ctx: Ctx, e: dict):
    """Parse every line of a text vector file and check it against mxref.reference."""
    p = e["path"]
    for ln, line in enumerate(ctx.good[p].decode().splitlines(), 1):
        try:
            parsed = parse_tv_line(line)
            if parsed is None:
                continue
            lhs, rhs = parsed
            op = lhs[0]
            if op not in TV_CHECKS:
                raise ValueError(f"unknown operation {op!r}")
            ok, want = TV_CHECKS[op](lhs, rhs)
        except Exception as exc:  # a malformed line is a finding, not a crash
            ctx.rep.bad(f"{p}:{ln}: cannot check line ({exc}): {line}")
            continue
        if not ok:
            ctx.rep.bad(f"{p}:{ln}: expected {want!r}: {line}")
