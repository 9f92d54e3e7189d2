"""The ``quark`` adapter: AMD Quark's OCP MX fake quantizers on CPU torch.

The public path of its configuration API (amd-quark 0.13, ``quark/torch/quantization/config/
config.py``): ``OCP_MXFP8E4M3Spec``, ``OCP_MXFP8E5M2Spec``, ``OCP_MXFP6E2M3Spec``,
``OCP_MXFP6E3M2Spec``, ``OCP_MXFP4Spec`` and ``OCP_MXINT8Spec`` (``ch_axis=-1, is_dynamic=True``,
group 32, ``scale_format="e8m0"``, ``round_method=half_even``, ``scale_calculation_mode="even"``)
turned into a fake quantizer by ``FakeQuantizeBase.get_fake_quantize(spec.to_quantization_spec())``
(``quark/torch/quantization/tensor_quantize.py``: ``DynamicScaledFakeQuantize`` with
``PerBlockMXObserver`` for the FP formats, ``NonScaledFakeQuantize`` -> ``fake_quantize_mx``
for MXINT8).

Claimed profile ``even-rne``, from its code: the scale is ``even_round(amax, dtype)``
(``quark/torch/quantization/utils.py``): amax's float32 bits + ``1 << (23 - mbits - 1)``, masked
to sign and exponent, then ``floor(log2) - emax`` clamped to [-127, 127] -- torchao's EVEN rule,
mxref ``scale_rule="even"``; an all-zero block takes amax = 2^-126 (scale code 0 for every
element width). Elements: x / scale cast by ``fake_quantize_to_low_precision_fp(.., round_mode=0)``
(FP4 / FP6, saturating at the element's max), ``fake_quantize_fp8_e4m3/e5m2_per_channel_with_scale``
(FP8) and ``fake_quantize_int_per_group_affine(scale / 64, -127..127)`` (MXINT8), all RNE.

Layouts: fake quantization only -- the outputs are the dequantized float32 values; the scale
reported is the observer's E8M0 scale (``observer.calculate_qparams()``, a power of two, read as
code ``log2(scale) + 127``) for the FP formats; MXINT8 gives values only (its scale is internal
to ``fake_quantize_mx``). No element codes: the checker compares values (value-only outputs).
"""

from __future__ import annotations

import numpy as np

from ..model import Output, Profile, Target
from .base import TorchLibraryAdapter

#: mxref format -> Quark spec class
SPECS = {"mxfp8_e4m3": "OCP_MXFP8E4M3Spec", "mxfp8_e5m2": "OCP_MXFP8E5M2Spec",
         "mxfp6_e2m3": "OCP_MXFP6E2M3Spec", "mxfp6_e3m2": "OCP_MXFP6E3M2Spec",
         "mxfp4_e2m1": "OCP_MXFP4Spec", "mxint8": "OCP_MXINT8Spec"}


def quark_call(target: Target) -> str:
    return (f"fq = FakeQuantizeBase.get_fake_quantize({SPECS.get(target.format)}(ch_axis=-1, is_dynamic=True)"
            ".to_quantization_spec()); v = fq(x); scale = fq.observer.calculate_qparams()[0] (FP formats)")


class QuarkAdapter(TorchLibraryAdapter):
    """AMD Quark OCP MX fake quantizers (see the module docstring)."""

    name = "quark"
    default_profiles = ("even-rne",)

    distribution = "amd-quark"

    def _probe(self):
        from quark.torch.quantization.config import config  # noqa: F401
        from quark.torch.quantization.tensor_quantize import FakeQuantizeBase  # noqa: F401

    def profiles(self):
        return {"even-rne": Profile("even-rne", scale_rule="even")}

    def targets(self, profile, level):
        return [Target("quantize", f, profile, api=s) for f, s in SPECS.items()]

    def _quantizer(self, target):
        if not hasattr(self, "_fq"):
            self._fq = {}
        if target.format not in self._fq:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from quark.torch.quantization.config import config
                from quark.torch.quantization.tensor_quantize import FakeQuantizeBase

                spec = getattr(config, target.api)(ch_axis=-1, is_dynamic=True).to_quantization_spec()
                self._fq[target.format] = FakeQuantizeBase.get_fake_quantize(spec)
        return self._fq[target.format]

    def run(self, target, x):
        import torch

        fq = self._quantizer(target)
        xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))
        with torch.no_grad():
            v = fq(xt.clone()).numpy().astype(np.float64)
            scales = None
            ob = getattr(fq, "observer", None)
            if target.format != "mxint8" and ob is not None and hasattr(ob, "amax"):
                ob(xt)
                s = ob.calculate_qparams()[0].to(torch.float32).numpy().astype(np.float64)
                with np.errstate(all="ignore"):
                    e = np.log2(s)
                scales = np.where(np.isfinite(e), np.clip(np.nan_to_num(e) + 127, 0, 254), 0xFF).astype(np.int64)
                scales = scales.reshape(x.shape[0], -1)
        return Output(scales=scales, values=v.reshape(x.shape))
