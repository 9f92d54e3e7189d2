"""The registry of vector kinds: one :class:`Kind` per kind of expected file.

A kind is an (operation, file type) pair, as :func:`kind_of` reads it from a manifest entry
(``operation`` and the end of the file name, e.g. ``("quantize", "scales.u8")``). Each entry says

* ``generate(writer, level)``: the function that writes its files (a function shared by the kinds
  it writes together, e.g. quantize scales, elements and dequantized values, runs once);
* ``check(ctx, entry)``: how one expected file of the kind is checked against the slow
  reference (:mod:`mxref.reference`, :mod:`mxref.ext.reference`, :mod:`mxref.reference.layout`),
  reporting through ``ctx.rep.bad``; raising is "cannot check", never a crash;
* ``description``: one line, for ``--help`` and the README;
* ``compare``: reserved for a per-file comparison of a library's output (the conformance
  checker's spec_vectors adapter), None for now.

:func:`mxref.vectors.generate.generate_set` and :func:`mxref.vectors.verify.check_reference` loop over
:data:`KINDS`; an expected file of a kind with no entry is an error in both. A new vector kind is
one entry here (and its generate / check functions in a module of this package).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import elements, identify, layout, matmul, mx, nvfp4, tensor_core, text
from .common import FILE_TYPES, Ctx, checked_with_scales, kind_of

__all__ = ["Kind", "KINDS", "kind_of", "generators", "FILE_TYPES", "Ctx"]


@dataclass(frozen=True)
class Kind:
    operation: str
    file_type: str
    description: str
    generate: Callable  # (Writer, level) -> None
    check: Callable  # (Ctx, manifest entry) -> None
    compare: Callable | None = None  # reserved: a library's file against this one (conformance)

    @property
    def key(self) -> tuple[str, str]:
        return self.operation, self.file_type


_ENTRIES = (
    Kind("decode", "f32.u32", "every code of an element format (and E8M0) decoded to float32 (MX §5.3, §5.4.1)",
         elements.generate_decode, elements.check_decode),
    Kind("encode", "u8", "float32 boundary and random inputs encoded to element codes, every rounding and overflow "
         "(OFP8 §5.2.1 Table 3, MX §6.3)", elements.generate_encode, elements.check_encode),
    Kind("encode_e8m0", "u8", "float32 around every 2^k and 1.5 * 2^k encoded to E8M0 (MX §5.4.1)",
         elements.generate_encode_e8m0, elements.check_encode_e8m0),
    Kind("encode", "tv", "text/elements.tv: hand-reviewed decode, encode and encode_e8m0 cases, one per line",
         text.generate_tv_elements, text.check_tv),
    Kind("quantize", "tv", "text/mx.tv: hand-reviewed MX blocks, one per line (MX §6.3)",
         text.generate_tv_mx, text.check_tv),
    Kind("quantize", "scales.u8", "MX quantize: E8M0 scale codes per block (MX §6.3), checked with the elements",
         mx.generate_mx, mx.check_quantize),
    Kind("quantize", "elements.u8", "MX quantize: element codes, checked block by block with the scales file",
         mx.generate_mx, checked_with_scales),
    Kind("dequantize", "dequantized.f32.u32", "X * P_i of the quantized blocks as float32 (MX §5.1); written with "
         "the quantize files", mx.generate_mx, mx.check_dequantize),
    Kind("matmul", "f32.u32", "C = A @ B of every pair of MX formats under each accumulator model (MX §6.2)",
         matmul.generate_matmul, matmul.check_matmul),
    Kind("matmul", "exact.txt", "the exact C = A @ B as hex rationals (MX §6.1, §6.2)",
         matmul.generate_matmul, matmul.check_matmul),
    Kind("pack", "u8", "FP4 / FP6 element codes packed in every order (docs/layouts.md)",
         layout.generate_pack, layout.check_pack),
    Kind("swizzle_scales", "u8", "E8M0 scales in the cuBLAS / CUTLASS block-scaled layout (docs/layouts.md)",
         layout.generate_swizzle, layout.check_swizzle),
    Kind("quantize_nvfp4", "scales.u8", "NVFP4 (extension) E4M3 block scales, checked with elements and "
         "per-tensor scale", nvfp4.generate_nvfp4, nvfp4.check_nvfp4),
    Kind("quantize_nvfp4", "elements.u8", "NVFP4 (extension) E2M1 element codes, checked with the scales file",
         nvfp4.generate_nvfp4, checked_with_scales),
    Kind("quantize_nvfp4", "per_tensor_scale.f32.u32", "NVFP4 (extension) float32 per-tensor scale (1.0 for "
         "none), checked with the scales file", nvfp4.generate_nvfp4, checked_with_scales),
    Kind("matmul", "d.f32.u32", "D = A @ B + C of a tensor-core accumulator model (extension; mxref.accumulators "
         "presets, two instructions along K), from element codes, scale codes and C bits",
         tensor_core.generate_tensor_core, tensor_core.check_tensor_core),
    Kind("dequantize_nvfp4", "dequantized.f32.u32", "P * S * e of the NVFP4 blocks as float32 (extension)",
         nvfp4.generate_nvfp4, nvfp4.check_dequantize_nvfp4),
    Kind("quantize", "identify.scales.u8", "identify/: blocks on which every catalogue profile and model (mxref.models) "
         "differs from every other; the spec result's scales (MX §6.3), checked with the elements",
         identify.generate_identify, identify.check_identify),
    Kind("quantize", "identify.elements.u8", "identify/: the spec result's element codes, checked block by block "
         "with the scales file", identify.generate_identify, identify.check_identify_elements),
)

#: (operation, file type) -> Kind, in generation order
KINDS: dict[tuple[str, str], Kind] = {k.key: k for k in _ENTRIES}
assert len(KINDS) == len(_ENTRIES), "a kind is registered twice"


def generators() -> list[Callable]:
    """The distinct generate functions of the registry, each once, in registry order."""
    out = []
    for k in KINDS.values():
        if k.generate not in out:
            out.append(k.generate)
    return out
