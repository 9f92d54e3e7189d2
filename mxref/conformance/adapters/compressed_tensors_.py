"""The ``compressed_tensors`` adapter: vllm-project/compressed-tensors' MX weight schemes --
the scale (``calculate_qparams`` -> ``generate_mx_scales``), the elements (``quantize`` /
``dequantize``), the FP4 packing (``pack_fp4_to_uint8``) and the scale storage
(``compress_mx_scale``), on CPU torch.

Claimed profile ``even-rne``, from its code (compressed-tensors 0.20.1,
``quantization/utils/mxfp_utils.py`` ``generate_mx_scales`` / ``round_to_power_2``): the group
amax is rounded half-up to the element's mantissa width (E2M1's 1 bit for FP4 and FP8, E2M3's 3
bits for FP6), then E = floor(log2) - floor(log2(max)) -- torchao's EVEN rule, mxref
``scale_rule="even"``; the elements are RNE (``quantize`` casts x / scale to the element dtype).
Schemes: ``MXFP4A16`` (mxfp4_e2m1), ``MXFP6A16`` (mxfp6_e2m3), ``MXFP8A16`` (mxfp8_e4m3)
(``quantization/quant_scheme.py``), group 32, scale_dtype uint8.

Layouts: FP4 codes are packed two per byte, element 0 in the low nibble (``pack_fp4_to_uint8``;
read back here nibble by nibble); FP6 (E2M3) codes four to three bytes, each group of four a
little-endian 24-bit word with element 0 in bits 0-5, sign in bit 5 of each code
(``compressors/mxfp6/helpers.py`` ``pack_fp6_to_uint8``, read back here by that layout); the
FP8 codes are ``q`` cast to float8_e4m3fn. compressed-tensors 0.20.1 has no E3M2 (FP6) scheme,
compressor or table (its FP6 is E2M3 only: ``FP6_E2M3_DATA``, ``mxfp6/helpers.py``). The stored scale is ``compress_mx_scale(scale, uint8)`` =
127 + floor(log2(scale)) (bias 127 since compressed-tensors#538; before it the stored code was
the true code - 2). The scales reported are the stored bytes, the values ``dequantize``'s.

NVFP4 (not MX v1.0; format ``nvfp4``, blocks of 16): the ``NVFP4A16`` scheme (4-bit float,
strategy ``tensor_group``, group 16, ``scale_dtype`` float8_e4m3fn; ``quant_scheme.py``) through
its compressor, against mxref.ext.nvfp4's model of its code (0.20.1): the global scale G =
``generate_gparam(min, max)`` = fp32(2688 / amax_T), 1.0 where that is NaN or Inf
(``quantization/utils/helpers.py``), a reciprocal per-tensor scale (``per_tensor_scale_form=
"reciprocal"``); ``calculate_qparams(min, max, args, global_scale=G)``: t = fp32(G * fp32(amax /
6)) clamped to +-448 and cast to float8_e4m3fn (RNE, subnormals kept; ``arithmetic=
"float32_divide"``, an Inf amax saturating: ``inf_policy="saturate"``), a zero scale replaced by
``_get_dtype_eps`` = 0.125 (``scale_clamp="zero_to_0.125"``); the elements ``x / fp32(S / G)``
clamped to +-6 and rounded by ``fp4_utils.cast_to_fp4`` (its thresholds 0.25, 0.75, 1.25, 1.75,
2.5, 3.5, 5 give RNE; ``lifecycle/forward_helpers.py`` ``_quantize``); the codes and the stored
scale from ``NVFP4PackedCompressor.compress`` (``compressors/nvfp4/base.py``: the CPU
``quantize_and_pack_fp4`` = ``quantize`` then ``pack_fp4_to_uint8``, two codes a byte, element 0
in the low nibble, the sign from ``signbit``; the scale stored as float8_e4m3fn bytes,
``_compress_scale``); the values ``dequantize(q, S, args, global_scale=G)`` = fp32(e * fp32(S /
G)) (``dequantize="float32"``). (``NVFP4PackedCompressor.decompress`` unpacks to bfloat16 by
default, ``unpack_fp4_from_uint8``: a further rounding of the values, not checked here.)
Profiles: ``nvfp4`` (G = 1, the ``nan_to_num`` fallback: no global scaling), ``nvfp4-pts`` (G =
fp32(2688 / 100), as calibrated for a tensor amax of 100), ``nvfp4-pts_amax`` (G =
``generate_gparam`` of the batch's finite minimum and maximum: each batch one tensor; NaN and Inf
left out as a calibration would, since a NaN min / max makes G = 1 and an Inf one G = 0).
"""

from __future__ import annotations

import numpy as np

from ..model import NVFP4, Output, Profile, Target
from .base import TorchLibraryAdapter

_SCHEMES = {"mxfp4_e2m1": "MXFP4A16", "mxfp6_e2m3": "MXFP6A16", "mxfp8_e4m3": "MXFP8A16"}
#: compressed-tensors 0.20.1's NVFP4A16 as mxref.ext.nvfp4 models it (see the module docstring)
_CT_NVFP4 = (("arithmetic", "float32_divide"), ("dequantize", "float32"), ("inf_policy", "saturate"),
             ("per_tensor_scale_form", "reciprocal"), ("scale_clamp", "zero_to_0.125"))
#: profile nvfp4-pts's given global scale: fp32(2688 / 100), as calibrated for a tensor amax of 100
_CT_NVFP4_GS = float(np.float32(2688.0) / np.float32(100.0))


def ct_call(target: Target) -> str:
    if target.format == NVFP4:
        return ("G = generate_gparam(min_T, max_T) (or given); s, zp = calculate_qparams(group min, group max, "
                "NVFP4A16['weights'], global_scale=G); sd = NVFP4PackedCompressor.compress({weight: x, "
                "weight_scale: s, weight_global_scale: G, ...}, scheme); codes = sd['weight_packed'] nibbles, "
                "scale = sd['weight_scale'] bytes; v = dequantize(quantize(x, s, zp, args, global_scale=G), s, zp, "
                "args, global_scale=G)")
    return (f"s, zp = calculate_qparams(-amax, amax, {_SCHEMES.get(target.format)}['weights']); "
            "q = quantize(x, s, zp, args); v = dequantize(q, s, zp, args); "
            "codes = pack_fp4_to_uint8(q) (FP4), pack_fp6_to_uint8(q) (FP6) or q.to(element dtype); scale = compress_mx_scale(s, uint8)")


class CompressedTensorsAdapter(TorchLibraryAdapter):
    """compressed-tensors MX schemes (see the module docstring)."""

    name = "compressed_tensors"
    default_profiles = ("even-rne", "nvfp4", "nvfp4-pts", "nvfp4-pts_amax")

    distribution = "compressed-tensors"

    def _probe(self):
        from compressed_tensors.quantization.utils import helpers

        return None if hasattr(helpers, "calculate_qparams") else "compressed-tensors has no calculate_qparams"

    def profiles(self):
        out = {"even-rne": Profile("even-rne", scale_rule="even")}
        for name, g in (("nvfp4", None), ("nvfp4-pts", _CT_NVFP4_GS), ("nvfp4-pts_amax", "amax")):
            out[name] = Profile(name, options=_CT_NVFP4 + (("per_tensor_scale", g),))
        return out

    def targets(self, profile, level):
        from compressed_tensors.quantization import quant_scheme as qs

        if profile.name.startswith("nvfp4"):
            try:
                from compressed_tensors.compressors.nvfp4 import base as nv_base
                from compressed_tensors.quantization.utils import helpers

                missing = [name for name, mod in (("NVFP4A16", qs), ("NVFP4PackedCompressor", nv_base),
                                                  ("generate_gparam", helpers)) if not hasattr(mod, name)]
                why = f"compressed-tensors has no {', '.join(missing)}" if missing else None
            except Exception as exc:
                why = f"compressed-tensors has no NVFP4 compressor ({type(exc).__name__}: {exc})"[:200]
            return [Target("quantize", NVFP4, profile, block_size=16, api="NVFP4A16", unsupported=why)]

        return [Target("quantize", f, profile, api=s,
                       unsupported=None if hasattr(qs, s) else f"compressed-tensors has no scheme {s}")
                for f, s in _SCHEMES.items()]

    def unsupported(self, target, x):
        if x.shape[1] % target.block_size:
            return (f"group quantization needs rows of whole groups of {target.block_size} "
                    "(ragged lengths not run)")
        return None

    def run(self, target, x):
        if target.format == NVFP4:
            return self._run_nvfp4(target, x)
        import torch
        from compressed_tensors.compressors.mx_utils import compress_mx_scale
        from compressed_tensors.compressors.nvfp4.helpers import pack_fp4_to_uint8
        try:
            from compressed_tensors.compressors.mxfp6.helpers import pack_fp6_to_uint8
        except ImportError:  # before its MXFP6 compressor
            pack_fp6_to_uint8 = None
        from compressed_tensors.quantization import quant_scheme as qs
        from compressed_tensors.quantization.lifecycle.forward import dequantize, quantize
        from compressed_tensors.quantization.utils.helpers import calculate_qparams

        from ... import encode, mx_format

        args = getattr(qs, target.api)["weights"]
        n, L = x.shape
        k = target.block_size
        xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))
        with torch.no_grad():
            amax = xt.view(n, L // k, k).abs().amax(-1)
            s, zp = calculate_qparams(-amax, amax, args)
            q = quantize(xt, s, zp, args)
            v = dequantize(q, s, zp, args)
            stored = compress_mx_scale(s, torch.uint8).numpy().astype(np.int64)
            el = mx_format(target.format).element
            if target.format == "mxfp4_e2m1":
                p = pack_fp4_to_uint8(q).numpy()
                codes = np.empty((n, L), np.int64)
                codes[:, 0::2] = p & 0x0F
                codes[:, 1::2] = p >> 4
            elif target.format == "mxfp6_e2m3" and pack_fp6_to_uint8 is not None:
                b = pack_fp6_to_uint8(q).numpy().reshape(n, L // 4, 3).astype(np.int64)
                word = b[..., 0] | (b[..., 1] << 8) | (b[..., 2] << 16)
                codes = np.stack([(word >> sh) & 0x3F for sh in (0, 6, 12, 18)], -1).reshape(n, L)
            else:  # q holds the element values in float32: their codes (exact: q is on the grid)
                codes = encode(q.numpy().astype(np.float64), el, nan="zero").astype(np.int64)
        return Output(stored.reshape(n, -1), codes, v.numpy().astype(np.float64))

    def _run_nvfp4(self, target, x):
        import torch
        from compressed_tensors.compressors.nvfp4.base import NVFP4PackedCompressor
        from compressed_tensors.quantization import QuantizationScheme
        from compressed_tensors.quantization import quant_scheme as qs
        from compressed_tensors.quantization.lifecycle.forward import dequantize, quantize
        from compressed_tensors.quantization.utils.helpers import calculate_qparams, generate_gparam

        args = qs.NVFP4A16["weights"]
        g = dict(target.profile.options).get("per_tensor_scale")
        n, L = x.shape
        k = target.block_size
        xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))
        with torch.no_grad():
            if g is None:
                G = torch.ones(1)
            elif isinstance(g, str):  # "amax": its own global-scale rule over the finite values
                fin = xt[torch.isfinite(xt)]
                fin = fin if fin.numel() else torch.zeros(1)
                G = generate_gparam(fin.min(), fin.max())
            else:
                G = torch.tensor([g], dtype=torch.float32)
            groups = xt.view(n, L // k, k)
            s, zp = calculate_qparams(groups.amin(-1), groups.amax(-1), args, global_scale=G)
            scheme = QuantizationScheme(targets=["Linear"], weights=args)
            sd = NVFP4PackedCompressor.compress({"weight": xt.clone(), "weight_scale": s,
                                                 "weight_global_scale": G, "weight_zero_point": zp}, scheme)
            packed = sd["weight_packed"].numpy().astype(np.int64)
            stored = sd["weight_scale"].view(torch.uint8).numpy().astype(np.int64)
            v = dequantize(quantize(xt, s, zp, args, global_scale=G), s, zp, args, global_scale=G)
        codes = np.empty((n, L), np.int64)
        codes[:, 0::2] = packed & 0x0F  # element 0 in the low nibble
        codes[:, 1::2] = packed >> 4
        return Output(stored.reshape(n, -1), codes, v.numpy().reshape(n, L).astype(np.float64))
