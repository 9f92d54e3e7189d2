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
"""

from __future__ import annotations

import numpy as np

from ..model import Output, Profile, Target
from .base import Adapter

_SCHEMES = {"mxfp4_e2m1": "MXFP4A16", "mxfp6_e2m3": "MXFP6A16", "mxfp8_e4m3": "MXFP8A16"}


def ct_call(target: Target) -> str:
    return (f"s, zp = calculate_qparams(-amax, amax, {_SCHEMES.get(target.format)}['weights']); "
            "q = quantize(x, s, zp, args); v = dequantize(q, s, zp, args); "
            "codes = pack_fp4_to_uint8(q) (FP4), pack_fp6_to_uint8(q) (FP6) or q.to(element dtype); scale = compress_mx_scale(s, uint8)")


class CompressedTensorsAdapter(Adapter):
    """compressed-tensors MX schemes (see the module docstring)."""

    name = "compressed_tensors"
    default_profiles = ("even-rne",)

    def availability(self):
        try:
            import compressed_tensors  # noqa: F401
            from compressed_tensors.quantization.utils.helpers import calculate_qparams  # noqa: F401
        except Exception as exc:
            return f"compressed-tensors is not importable ({type(exc).__name__}: {exc})"[:200]
        return None

    def version(self):
        import compressed_tensors
        import torch

        return f"{compressed_tensors.__version__} (torch {torch.__version__})"

    @property
    def display_name(self):
        return f"{self.name} {self.version()}"

    def profiles(self):
        return {"even-rne": Profile("even-rne", scale_rule="even")}

    def targets(self, profile, level):
        from compressed_tensors.quantization import quant_scheme as qs

        return [Target("quantize", f, profile, api=s,
                       unsupported=None if hasattr(qs, s) else f"compressed-tensors has no scheme {s}")
                for f, s in _SCHEMES.items()]

    def unsupported(self, target, x):
        if x.shape[1] % target.block_size:
            return "group quantization needs rows of whole groups of 32 (ragged lengths not run)"
        return None

    def run(self, target, x):
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
