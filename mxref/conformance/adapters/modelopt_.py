"""The ``modelopt`` adapter: NVIDIA ModelOpt's ``MXFP4QTensor`` and ``MXFP8QTensor`` (CPU torch).

Claimed profile ``rceil-rne``, from its code (nvidia-modelopt 0.47.0,
``modelopt/torch/quantization/qtensor/mxfp8_tensor.py`` ``_compute_e8m0_exponent``: E =
clamp(ceil(log2(fp32(amax / 448))), -127, 127), elements ``w * exp2(127 - code)`` clamped to
+-448 and cast RNE; ``mxfp4_tensor.py`` ``MXFP4QTensor.quantize``: E = ceil(max(log2(amax / 6),
-127)), elements ``cast_fp4`` -- the count of bounds {0.25, 0.75, ..., 5} strictly below |x|,
so every tie rounds toward zero, and ``sign_bit = (2 - sign(x)) // 2`` codes +0 as 0x8).
mxref has no ties-toward-zero element rounding in this checkout, so the profile claims RNE and the
ties show as MISMATCH (:data:`~mxref.conformance.known.KNOWN_DIFFERENCES`).

Layouts: MXFP4 codes packed two per byte, element 0 in the low nibble (``fuse_uint4_to_uint8``);
MXFP8 one float8_e4m3fn per byte; the scale is the uint8 E8M0 code (bias 127) returned beside
the tensor.

NVFP4 (not MX v1.0; format ``nvfp4``, blocks of 16): ``NVFP4QTensor.quantize(x, 16,
weights_scaling_factor_2=P)`` and ``.dequantize(float32, scale=S, double_scale=P,
block_sizes={-1: 16})`` (CPU path: no TensorRT-LLM), against mxref.ext.nvfp4's model of its code
(``modelopt/torch/quantization/qtensor/nvfp4_tensor.py``, 0.47.0): the block scale
``clamp(amax / (6 P), 2**-9, 448).to(float8_e4m3fn)`` (``get_weights_scaling_factor``,
``_cast_per_block_scale_to_fp8``: ``scale_clamp="min_subnormal"``; a NaN amax gives the E4M3 NaN,
an Inf amax 448: ``inf_policy="saturate"``), the elements ``x / fp32(S * P)`` cast by
``_cast_fp4`` (the count of bounds below |x| plus one at the odd bounds 0.75, 1.75, 3.5: RNE,
saturating at 6), the block scale's quotient fp32(amax / fp32(6 P)) (``arithmetic=
"float32_divide_6p"``), values ``fp32(e * fp32(S * P))`` (``dequantize="float32"``); codes packed
two per byte, element 0 in the low nibble. A block scale of 0 is set to 1.0 before the clamp
(an all-zero block: IMPL_DEFINED; a non-zero block whose float32 quotient underflows: MISMATCH,
known). Profiles:
``nvfp4`` (P = 1), ``nvfp4-pts`` (P = fp32(100 / 2688)), ``nvfp4-pts_amax`` (P =
``get_weights_scaling_factor_2`` of the batch's finite values, = fp32(amax_T / 2688): each batch
one tensor; NaN and Inf left out as a calibration would, since ModelOpt's own default takes the
amax of every value and one NaN would make every scale NaN).
"""

from __future__ import annotations

import numpy as np

from ..model import NVFP4, Output, Profile, Target
from .base import TorchLibraryAdapter

#: ModelOpt 0.47's NVFP4QTensor as mxref.ext.nvfp4 models it (see the module docstring)
_MO_NVFP4 = (("arithmetic", "float32_divide_6p"), ("dequantize", "float32"), ("inf_policy", "saturate"),
             ("scale_clamp", "min_subnormal"))
#: profile nvfp4-pts's given per-tensor scale: fp32(100 / 2688), as calibrated for a tensor amax of 100
_MO_NVFP4_PTS = float(np.float32(100.0) / np.float32(2688.0))


def modelopt_call(target: Target) -> str:
    if target.format == NVFP4:
        return ("qt, S, P = NVFP4QTensor.quantize(x, 16, weights_scaling_factor_2=P); "
                "qt.dequantize(torch.float32, scale=S, double_scale=P, block_sizes={-1: 16})")
    if target.format == "mxfp4_e2m1":
        return "qt, scale = MXFP4QTensor.quantize(x, 32); qt.dequantize(torch.float32, scale=scale, block_sizes={-1: 32})"
    return "qt, scale = MXFP8QTensor.quantize(x); qt.dequantize(torch.float32, scale=scale)"


class ModeloptAdapter(TorchLibraryAdapter):
    """ModelOpt MXFP4QTensor / MXFP8QTensor / NVFP4QTensor (see the module docstring)."""

    name = "modelopt"
    default_profiles = ("rceil-rne", "nvfp4", "nvfp4-pts", "nvfp4-pts_amax")

    distribution = "nvidia-modelopt"

    def _probe(self):
        from modelopt.torch.quantization.qtensor import MXFP4QTensor, MXFP8QTensor  # noqa: F401

    def profiles(self):
        out = {"rceil-rne": Profile("rceil-rne", scale_rule="rceil")}
        for name, pts in (("nvfp4", None), ("nvfp4-pts", _MO_NVFP4_PTS), ("nvfp4-pts_amax", "amax")):
            out[name] = Profile(name, options=_MO_NVFP4 + (("per_tensor_scale", pts),))
        return out

    def targets(self, profile, level):
        if profile.name.startswith("nvfp4"):
            try:
                from modelopt.torch.quantization.qtensor import NVFP4QTensor  # noqa: F401
                why = None
            except Exception as exc:
                why = f"ModelOpt has no NVFP4QTensor ({type(exc).__name__}: {exc})"[:200]
            return [Target("quantize", NVFP4, profile, block_size=16, api="NVFP4QTensor", unsupported=why)]
        return [Target("quantize", f, profile, api=a) for f, a in
                (("mxfp4_e2m1", "MXFP4QTensor"), ("mxfp8_e4m3", "MXFP8QTensor"))]

    def unsupported(self, target, x):
        if x.shape[1] % target.block_size:
            return (f"ModelOpt's block tensors are read back as whole blocks of {target.block_size} "
                    "(ragged lengths not run)")
        return None

    def run(self, target, x):
        import torch

        if target.format == NVFP4:
            return self._run_nvfp4(target, x)
        from modelopt.torch.quantization.qtensor import MXFP4QTensor, MXFP8QTensor

        n, L = x.shape
        xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))
        with torch.no_grad():
            if target.format == "mxfp4_e2m1":
                qt, sc = MXFP4QTensor.quantize(xt, 32)
                v = qt.dequantize(torch.float32, scale=sc, block_sizes={-1: 32})
                p = qt._quantized_data.view(torch.uint8).numpy().reshape(n, -1)
                codes = np.empty((n, L), np.int64)
                codes[:, 0::2] = p & 0x0F
                codes[:, 1::2] = p >> 4
            else:
                qt, sc = MXFP8QTensor.quantize(xt)
                v = qt.dequantize(torch.float32, scale=sc)
                codes = qt._quantized_data.view(torch.uint8).numpy().reshape(n, L).astype(np.int64)
        return Output(sc.view(torch.uint8).numpy().reshape(n, -1).astype(np.int64), codes,
                      v.numpy().reshape(n, L).astype(np.float64))

    def _run_nvfp4(self, target, x):
        import torch
        from modelopt.torch.quantization.qtensor import NVFP4QTensor

        pts = dict(target.profile.options).get("per_tensor_scale")
        n, L = x.shape
        k = target.block_size
        xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))
        if pts is None:
            p = torch.tensor(1.0)
        elif isinstance(pts, str):  # "amax": ModelOpt's own per-tensor rule, over the finite values
            fin = xt[torch.isfinite(xt)]
            p = NVFP4QTensor.get_weights_scaling_factor_2(fin if fin.numel() else torch.zeros(1))
        else:
            p = torch.tensor(pts, dtype=torch.float32)
        with torch.no_grad():
            qt, sc, p2 = NVFP4QTensor.quantize(xt.clone(), k, weights_scaling_factor_2=p)
            v = qt.dequantize(torch.float32, scale=sc, double_scale=p2, block_sizes={-1: k})
            q = qt._quantized_data.view(torch.uint8).numpy().reshape(n, -1)
        codes = np.empty((n, L), np.int64)
        codes[:, 0::2] = q & 0x0F  # element 0 in the low nibble
        codes[:, 1::2] = q >> 4
        return Output(sc.view(torch.uint8).numpy().reshape(n, -1).astype(np.int64), codes,
                      v.numpy().reshape(n, L).astype(np.float64))
