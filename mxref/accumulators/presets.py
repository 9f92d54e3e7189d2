"""Named accumulator presets, one per instruction family.

Source of every rule: microsoft/MMA-Sim at commit c78513835c8b (2026-01-29;
``mmasim/simulator/arithmetic.py``, ``nv_ptx.py``, ``amd.py`` and ``mmasim/isa/``), the
bit-accurate model of the paper "MMA-Sim" (arXiv 2511.10909), restated here in our own words and
checked against its recorded outputs (``../shared/peers/mma-sim``, :func:`mxref.accumulators.replay`).
MMA-Sim is a model of the hardware: these presets are exactly as right as it is.

Common to every preset (see :mod:`mxref.accumulators.model` for the generic form): alignment
exponents are the true exponent of a normal value, ``1 - bias`` of a subnormal and -126 of a
zero (element, scale or C; it takes part in the maximum); subnormal inputs and outputs are kept,
never flushed.
"""

from __future__ import annotations

from .model import Accumulator, register

__all__ = ["blackwell_mxf8f6f4", "blackwell_mxf4", "blackwell_mxf4nvf4", "rtx_blackwell_mxf8f6f4",
           "rtx_blackwell_mxf4nvf4", "hopper_fp8", "cdna3_fp8"]

_SRC = "microsoft/MMA-Sim c78513835c8b (arXiv 2511.10909)"
_F8F6F4 = ("fp8_e4m3", "fp8_e5m2", "fp6_e2m3", "fp6_e3m2", "fp4_e2m1")
_FP8_PAIRS = ("fp8_e4m3 x fp8_e4m3", "fp8_e5m2 x fp8_e5m2", "fp8_e4m3 x fp8_e5m2",
              "fp8_e5m2 x fp8_e4m3")


def _nv_fp8(**kw):
    return Accumulator(k=32, group=1, fraction_bits=25, term_rounding="toward_zero",
                       c_entry="fused", result_rounding="toward_zero", result_fraction_bits=23,
                       zero_sign="positive", nan_bits=0x7FFFFFFF, element_formats=_F8F6F4,
                       scale_formats=("e8m0",), block_sizes=(32,), source=_SRC, **kw)


def _nv_fp4(**kw):
    kw.setdefault("scale_formats", ("e8m0", "ue4m3"))
    kw.setdefault("block_sizes", (16, 32))
    return Accumulator(k=64, group=16, fraction_bits=35, term_rounding="toward_zero",
                       c_entry="fused", result_rounding="toward_zero", result_fraction_bits=23,
                       zero_sign="positive", nan_bits=0x7FFFFFFF, element_formats=("fp4_e2m1",),
                       source=_SRC, **kw)


@register
def blackwell_mxf8f6f4():
    """NVIDIA Blackwell (sm_100a) ``tcgen05.mma.cta_group::1.kind::mxf8f6f4.block_scale``,
    f32 accumulator, UE8M0 scales, block 32, instruction K = 32.

    Per output (m, n) and instruction, with C the float32 accumulator input:

    * Products: for each of the 32 k, significand ``s(a)*s(b)`` (in [0, 4)) at alignment exponent
      ``e(a) + e(b) + e(sa) + e(sb)``: the two UE8M0 scales enter only as exponent offsets,
      before alignment. C is one more term, at its own exponent (not scaled).
    * Alignment: E = the largest of the 33 alignment exponents (zeros at -126 included); every
      term, C included, is truncated toward zero (magnitude, sign kept) to a multiple of
      2^(E - 25) -- F = 25 fraction bits below 2^E -- and the 33 integers are added exactly.
    * Result: the sum is truncated toward zero to float32 (23 fraction bits below its leading bit;
      below 2^-126 a float32 subnormal); 2^128 or more becomes +-Inf (no saturation); a zero
      result is always +0, also when a tiny negative sum truncates to nothing.
    * Specials: NaN (always 0x7FFFFFFF) if any element of the row of A or column of B is NaN,
      either scale is 0xFF (even against zero elements), C is NaN, some product is Inf*0, or
      +Inf and -Inf meet among the products and C; otherwise an E5M2 Inf (or C = +-Inf) gives
      +-Inf.

    Verified bit for bit against MMA-Sim for E4M3 x E4M3, E5M2 x E5M2, E4M3 x E5M2 and
    E5M2 x E4M3 (374,784 recorded outputs). **Extrapolated, not verified**: the FP6 operands
    (E2M3, E3M2) and E2M1 operands of kind::mxf8f6f4 -- MMA-Sim does not simulate them; they are
    modelled with the same arithmetic (their products are exact in the same terms)."""
    return _nv_fp8(hardware="NVIDIA B200/GB200 (sm_100a) tcgen05.mma kind::mxf8f6f4",
                   verified_formats=_FP8_PAIRS)


@register
def rtx_blackwell_mxf8f6f4():
    """NVIDIA RTX Blackwell (sm_120a) ``mma.sync.aligned.m16n8k32.row.col.kind::mxf8f6f4.block_scale
    .scale_vec::1X.f32.<a>.<b>.f32.ue8m0``, instruction K = 32.

    The same arithmetic as :func:`blackwell_mxf8f6f4` (MMA-Sim gives sm_120 ``mma.block_scale``
    the same fused sum): 32 products with the UE8M0 scale exponents added, plus C, aligned to the
    largest exponent, truncated toward zero to F = 25 fraction bits, added exactly, truncated
    toward zero to float32; zero result +0; NaN 0x7FFFFFFF; Inf rules as there.

    Verified for E4M3 x E4M3 (38,400 recorded outputs); the other E4M3/E5M2 pairs share the
    tcgen05 arithmetic that is verified for all four pairs; FP6 and FP4 operands are
    **extrapolated, not verified**."""
    return _nv_fp8(hardware="NVIDIA RTX 50xx (sm_120a) mma.sync kind::mxf8f6f4.block_scale",
                   verified_formats=("fp8_e4m3 x fp8_e4m3",))


@register
def blackwell_mxf4():
    """NVIDIA Blackwell (sm_100a) ``tcgen05.mma.kind::mxf4.block_scale`` (MXFP4: E2M1 elements,
    UE8M0 scales, block 32), f32 accumulator, instruction K = 64.

    * Groups: the 64 products form 4 groups of 16 consecutive k. Each group's sum of a*b is
      computed exactly (an integer multiple of 2^-2) and multiplied by the block scales'
      significands (1 for UE8M0); its alignment exponent is ``e(sa) + e(sb)`` of its block -- a
      group whose sum is 0 still has it. The two groups of one 32-block are separate terms.
    * Alignment: C plus the 4 group terms, aligned to the largest exponent (C's included),
      truncated toward zero to F = 35 fraction bits below it, added exactly.
    * Result: truncation toward zero to float32 (subnormals kept, >= 2^128 -> +-Inf), zero +0.
    * Specials: a NaN scale (0xFF) in the row or column, or a NaN C, gives 0x7FFFFFFF; E2M1 has no
      special codes. (C = +-Inf is not simulated by MMA-Sim; modelled as +-Inf, extrapolated.)

    Verified bit for bit: 84,992 recorded outputs."""
    return _nv_fp4(hardware="NVIDIA B200/GB200 (sm_100a) tcgen05.mma kind::mxf4",
                   scale_formats=("e8m0",), block_sizes=(32,),
                   verified_formats=("fp4_e2m1 x fp4_e2m1, e8m0 block 32",))


@register
def blackwell_mxf4nvf4():
    """NVIDIA Blackwell (sm_100a) ``tcgen05.mma.kind::mxf4nvf4.block_scale`` (E2M1 elements; UE8M0
    scales with block 32 or 16, or UE4M3 scales with block 16 -- NVFP4), instruction K = 64.

    The arithmetic of :func:`blackwell_mxf4`: 4 exact groups of 16 products, each times its
    block's two scale significands (UE4M3: 1.mmm or 0.mmm, the sign bit ignored -- the tensor
    core takes |scale|; a zero scale has exponent -126), at alignment exponent ``e(sa) + e(sb)``;
    C plus the 4 group terms truncated toward zero to F = 35 fraction bits below the largest
    exponent, added exactly, truncated toward zero to float32; zero +0; a NaN scale (UE8M0 0xFF,
    UE4M3 0x7F) or NaN C gives 0x7FFFFFFF. UE4M3 products cannot reach 2^128; UE8M0 can (-> Inf).

    Verified bit for bit: UE8M0 block 16 (49,152 outputs) and UE4M3 block 16 (84,992 outputs);
    UE8M0 block 32 is the verified :func:`blackwell_mxf4` arithmetic. NVFP4's per-tensor float32
    scale is applied outside the instruction and is not part of this model."""
    return _nv_fp4(hardware="NVIDIA B200/GB200 (sm_100a) tcgen05.mma kind::mxf4nvf4",
                   verified_formats=("fp4_e2m1 x fp4_e2m1, e8m0 block 16",
                                     "fp4_e2m1 x fp4_e2m1, ue4m3 block 16"))


@register
def rtx_blackwell_mxf4nvf4():
    """NVIDIA RTX Blackwell (sm_120a) ``mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale
    .scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3`` (and ``scale_vec::2X`` with UE8M0, block 32),
    instruction K = 64.

    The same arithmetic as :func:`blackwell_mxf4nvf4`: 4 exact groups of 16, scale significands
    multiplied in, alignment exponent ``e(sa) + e(sb)``, F = 35 with truncation toward zero, C in
    the same fused sum, truncation toward zero to float32, zero +0, NaN 0x7FFFFFFF.

    Verified bit for bit for UE4M3 block 16 (30,848 recorded outputs); UE8M0 is the tcgen05
    arithmetic verified there."""
    return _nv_fp4(hardware="NVIDIA RTX 50xx (sm_120a) mma.sync kind::mxf4nvf4.block_scale",
                   verified_formats=("fp4_e2m1 x fp4_e2m1, ue4m3 block 16",))


@register
def hopper_fp8():
    """NVIDIA Hopper (sm_90a) ``wgmma.mma_async.sync.aligned.m64nNk32.f32.<e4m3|e5m2>.<e4m3|e5m2>``, FP8
    without block scales, instruction K = 32.

    * Products: 32 products ``s(a)*s(b)`` at ``e(a) + e(b)``, plus C as a term at its exponent.
    * Alignment: truncation toward zero to F = 13 fraction bits below the largest exponent
      (MMA-Sim's ``nv_ptx.py`` uses 13 for FP8 operands), exact addition.
    * Result ``f32_e8m13``: truncation toward zero to 13 fraction bits below the leading bit,
      returned as a float32 whose 10 low fraction bits are 0 (subnormal quantum 2^-139); zero +0;
      >= 2^128 -> +-Inf. In a GEMM this 13-bit value is what the next instruction receives as C
      (DeepSeek-V3 §3.3 reports the same ~14-bit accumulation on H800, hence its promotion to
      CUDA cores every 4 instructions -- a kernel technique outside this model).
    * Specials: as :func:`blackwell_mxf8f6f4` without scales (NaN 0x7FFFFFFF; Inf*0 and
      +Inf-Inf NaN; E5M2 Inf or C Inf -> +-Inf).

    Verified bit for bit for E4M3 x E4M3 and E5M2 x E5M2 (92,160 outputs each); mixed
    E4M3 x E5M2 is the same arithmetic (extrapolated)."""
    return Accumulator(k=32, group=1, fraction_bits=13, term_rounding="toward_zero",
                       c_entry="fused", result_rounding="toward_zero", result_fraction_bits=13,
                       zero_sign="positive", nan_bits=0x7FFFFFFF,
                       element_formats=("fp8_e4m3", "fp8_e5m2"), scale_formats=(),
                       hardware="NVIDIA H100/H200/H800 (sm_90a) wgmma FP8",
                       verified_formats=("fp8_e4m3 x fp8_e4m3", "fp8_e5m2 x fp8_e5m2"), source=_SRC)


@register
def cdna3_fp8():
    """AMD CDNA3 (MI300) ``v_mfma_f32_16x16x32_fp8_fp8`` / ``_bf8_bf8`` (and the mixed fp8_bf8 /
    bf8_fp8), FNUZ operands (E4M3FNUZ bias 8, E5M2FNUZ bias 16: no Inf, no -0, NaN = 0x80),
    no block scales, instruction K = 32.

    * Sequential groups: k = 0..15 then 16..31. Group 1 takes C; its result, rounded to float32
      to nearest even, is group 2's C; group 2's rounded result is D. (A GEMM continues this
      chain across instructions seamlessly.)
    * Inside a group: the 8 even-k products and the 8 odd-k products (``s(a)*s(b)`` at
      ``e(a) + e(b)``, zeros at -126) form two half sums, each aligned to its own largest
      exponent and truncated toward zero to F = 24 fraction bits. Both halves are floored
      (two's complement arithmetic shift) to the larger half exponent E_m and added.
      E_x = max(E_m, e(C)); the product sum is floored to 31 fraction bits below 2^E_x; C is
      floored to 24 fraction bits below 2^E_x, or taken as 0 when e(C) < E_x - 25; the two are
      added exactly and rounded to float32 to nearest even (subnormals kept, overflow -> Inf; an
      exact zero is +0, a tiny sum keeps its sign).
    * Specials per group: any NaN code (0x80) in the group or a NaN C gives NaN; an infinite C
      passes through. The NaN bit pattern is host-dependent in MMA-Sim (a float64 NaN cast
      down): C's quieted payload for a NaN C, here 0x7FC00000 otherwise (MMA-Sim's recordings
      show 0x7FC00001); compare NaN as a class.

    Verified against MMA-Sim for fp8 x fp8 and bf8 x bf8 (60,928 recorded outputs each; NaN
    compared as a class); the mixed kinds are the same arithmetic (extrapolated)."""
    return Accumulator(k=32, group=1, fraction_bits=24, term_rounding="toward_zero",
                       c_entry="after", halves=2, after_sum_bits=31, after_c_bits=24,
                       after_c_window=25, chain=16, result_rounding="nearest_even",
                       result_fraction_bits=23, zero_sign="rounded", nan_bits=None,
                       nan_compare="class", element_formats=("fp8_e4m3fnuz", "fp8_e5m2fnuz"),
                       scale_formats=(), hardware="AMD Instinct MI300 (CDNA3) v_mfma fp8/bf8",
                       verified_formats=("fp8_e4m3fnuz x fp8_e4m3fnuz",
                                         "fp8_e5m2fnuz x fp8_e5m2fnuz"), source=_SRC)
