"""Bit-exact models of block-scaled / FP8 tensor-core accumulators (outside the MX spec).

The MX spec leaves the dot product's accumulation open (MX §6.1, §6.2). Hardware does not
compute any of mxref's ``exact`` / ``fp32_blockwise`` / ``fp32_sequential``: a tensor core aligns
all products of one instruction to the largest exponent, truncates each to a fixed number of
fraction bits, adds them, and rounds the result. These models reproduce that, instruction by
instruction, as restated from microsoft/MMA-Sim at commit c78513835c8b (arXiv 2511.10909) and
checked bit for bit against its recorded outputs.

API
  :func:`gemm` (codes, formats, scale codes -> float32 D, chained along K), :func:`instruction`
  (one instruction), :func:`matmul_mx` / :func:`dot_mx` (mxref.MXArray operands),
  :class:`Accumulator` (the generic parametrised form), :data:`PRESETS` and :func:`preset`,
  :func:`replay` (recorded directories), :func:`decode_codes` (operand tables incl. the FNUZ
  FP8 formats and UE4M3).

Model table (source of every row: microsoft/MMA-Sim c78513835c8b, arXiv 2511.10909)

========================  =====================================  ==  ====================  ===========================
preset                    hardware / instruction                 F   grouping (per instr)  rounding (terms; result)
========================  =====================================  ==  ====================  ===========================
blackwell_mxf8f6f4        B200 tcgen05.mma kind::mxf8f6f4        25  K=32: 32 products, C  RZ; RZ to fp32
rtx_blackwell_mxf8f6f4    RTX 50 (sm_120) mma kind::mxf8f6f4     25  K=32: 32 products, C  RZ; RZ to fp32
blackwell_mxf4            B200 tcgen05.mma kind::mxf4            35  K=64: 4 exact x16, C  RZ; RZ to fp32
blackwell_mxf4nvf4        B200 tcgen05.mma kind::mxf4nvf4        35  K=64: 4 exact x16, C  RZ; RZ to fp32
rtx_blackwell_mxf4nvf4    RTX 50 (sm_120) mma kind::mxf4nvf4     35  K=64: 4 exact x16, C  RZ; RZ to fp32
hopper_fp8                H100/H200 wgmma FP8 (e4m3/e5m2)        13  K=32: 32 products, C  RZ; RZ to f32_e8m13
cdna3_fp8                 MI300 v_mfma_f32_16x16x32 fp8/bf8      24  2 x 16, even/odd      RZ, halves floored, C
                                                                     halves, C after       after; RNE to fp32 per 16
========================  =====================================  ==  ====================  ===========================

What was verified against what: every preset's arithmetic against MMA-Sim's own outputs (969,344
recorded in ``../shared/peers/mma-sim``, 13 kinds), bit for bit (CDNA3: NaN as a class, MMA-Sim's
NaN payload being host-dependent). MMA-Sim is a model validated by its authors on hardware; no
hardware output was compared here. FP6/FP4 operands of kind::mxf8f6f4, mixed-format FP8 on
Hopper and CDNA3, C = Inf on FP4 kinds and multi-instruction chaining (K beyond one
instruction) are extrapolated from the same rules, not verified. The generic form
(``fraction_bits=None``, nearest-even) is tested against Fraction arithmetic on
:func:`mxref.reference.decode_exact` values.
"""

from __future__ import annotations

import numpy as np

from . import presets as _presets  # registers the presets
from ._codes import FNUZ_NAMES, codec, decode_operand
from .model import (
    C_ENTRIES,
    K_ORDERS,
    RESULT_ROUNDINGS,
    TERM_ROUNDINGS,
    Accumulator,
    _PRESETS,
    as_accumulator,
    fits_float64,
    gemm,
    instruction,
)
from .presets import (
    blackwell_mxf4,
    blackwell_mxf4nvf4,
    blackwell_mxf8f6f4,
    cdna3_fp8,
    hopper_fp8,
    rtx_blackwell_mxf4nvf4,
    rtx_blackwell_mxf8f6f4,
)
from .recorded import ReplayResult, default_recordings_dir, preset_for_manifest, replay

__all__ = [
    "Accumulator", "PRESETS", "preset", "gemm", "instruction", "matmul_mx", "dot_mx", "replay",
    "ReplayResult", "default_recordings_dir", "preset_for_manifest", "decode_codes",
    "fits_float64", "codec", "FNUZ_NAMES", "TERM_ROUNDINGS", "RESULT_ROUNDINGS", "C_ENTRIES", "K_ORDERS",
    "blackwell_mxf8f6f4", "rtx_blackwell_mxf8f6f4", "blackwell_mxf4", "blackwell_mxf4nvf4",
    "rtx_blackwell_mxf4nvf4", "hopper_fp8", "cdna3_fp8",
]

#: preset name -> :class:`Accumulator` (each with its definition in ``.doc``)
PRESETS = _PRESETS


def preset(name) -> Accumulator:
    """The :class:`Accumulator` of a preset name (or the Accumulator itself)."""
    return as_accumulator(name)


def decode_codes(codes, fmt) -> np.ndarray:
    """float64 values of operand codes of any format here (OCP rows, ``fp8_e4m3fnuz``,
    ``fp8_e5m2fnuz``, ``ue4m3``, ``e8m0``); NaN codes give NaN, Inf codes +-Inf, FNUZ 0x80 NaN."""
    d = decode_operand(codes, fmt)
    v = d["value"].copy()
    v[d["inf"]] = np.where(d["neg"][d["inf"]], -np.inf, np.inf)
    v[d["nan"]] = np.nan
    return v


def matmul_mx(a, b, preset="blackwell_mxf8f6f4", c=None, *, k_order="ascending") -> np.ndarray:
    """A @ B (+ C) of two :class:`mxref.MXArray` operands on the modelled hardware: A (M, K)
    blocked along axis 1, B (K, N) blocked along axis 0, the same block size; float32 (M, N).
    The chaining along K is :func:`gemm`'s (instruction K of the preset, ascending, D fed back
    as C)."""
    for name, x, ax in (("a", a, 1), ("b", b, 0)):
        if len(x.shape) != 2 or x.axis % 2 != ax:
            raise ValueError(f"{name} must be 2-D and blocked along axis {ax}, got shape "
                             f"{x.shape} blocked along axis {x.axis}")
    if a.block_size != b.block_size:
        raise ValueError(f"block sizes differ: {a.block_size} and {b.block_size}")
    K = a.shape[1]
    if K % a.block_size:
        raise ValueError(f"K = {K} is not a multiple of the block size {a.block_size}")
    return gemm(np.asarray(a.elements), a.format.element, np.asarray(a.scales),
                np.asarray(b.elements), b.format.element, np.asarray(b.scales), c,
                preset=preset, scale_fmt=a.format.scale, k_order=k_order)


def dot_mx(a, b, preset="blackwell_mxf8f6f4", c=None) -> np.float32:
    """The dot product of two 1-D :class:`mxref.MXArray` on the modelled hardware (one output of
    :func:`matmul_mx`), as a numpy float32 scalar."""
    if len(a.shape) != 1 or len(b.shape) != 1:
        raise ValueError("dot_mx takes 1-D MXArrays")
    return gemm(np.asarray(a.elements)[None, :], a.format.element, np.asarray(a.scales)[None, :],
                np.asarray(b.elements)[:, None], b.format.element, np.asarray(b.scales)[:, None],
                None if c is None else np.asarray(c).reshape(1, 1), preset=preset)[0, 0]
