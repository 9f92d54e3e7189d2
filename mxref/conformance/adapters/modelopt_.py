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
the tensor. ``NVFP4QTensor`` is not run (its per-tensor scale path was not modelled in time).
"""

from __future__ import annotations

import numpy as np

from ..model import Output, Profile, Target
from .base import Adapter


def modelopt_call(target: Target) -> str:
    if target.format == "mxfp4_e2m1":
        return "qt, scale = MXFP4QTensor.quantize(x, 32); qt.dequantize(torch.float32, scale=scale, block_sizes={-1: 32})"
    return "qt, scale = MXFP8QTensor.quantize(x); qt.dequantize(torch.float32, scale=scale)"


class ModeloptAdapter(Adapter):
    """ModelOpt MXFP4QTensor / MXFP8QTensor (see the module docstring)."""

    name = "modelopt"
    default_profiles = ("rceil-rne",)

    def availability(self):
        try:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from modelopt.torch.quantization.qtensor import MXFP4QTensor, MXFP8QTensor  # noqa: F401
        except Exception as exc:
            return f"nvidia-modelopt is not importable ({type(exc).__name__}: {exc})"[:200]
        return None

    def version(self):
        from importlib.metadata import version

        import torch

        return f"{version('nvidia-modelopt')} (torch {torch.__version__})"

    @property
    def display_name(self):
        return f"{self.name} {self.version()}"

    def profiles(self):
        return {"rceil-rne": Profile("rceil-rne", scale_rule="rceil")}

    def targets(self, profile, level):
        return [Target("quantize", f, profile, api=a) for f, a in
                (("mxfp4_e2m1", "MXFP4QTensor"), ("mxfp8_e4m3", "MXFP8QTensor"))]

    def unsupported(self, target, x):
        if x.shape[1] % target.block_size:
            return "ModelOpt's MX tensors view the input as whole blocks of 32 (ragged lengths not run)"
        return None

    def run(self, target, x):
        import torch
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
