"""The ``torchao`` adapter: ``MXTensor.to_mx`` / ``dequantize`` for every ScaleCalculationMode,
and NVFP4 (not MX v1.0) against mxref.ext.nvfp4's model of torchao 0.18."""

from __future__ import annotations

import numpy as np

from ... import MX_FORMATS
from ..._peer_imports import quiet_torchao
from ..classify import same64
from ..known import version_tuple
from ..model import NVFP4, Output, Profile, Target, pts_str, to_blocks
from .base import Adapter

_TORCHAO_MODES = {"floor": "FLOOR", "ceil": "CEIL", "even": "EVEN", "rceil": "RCEIL"}
#: torchao 0.18's NVFP4 as mxref.ext.nvfp4 models it (see its module docstring)
_TORCHAO_NVFP4 = (("arithmetic", "float32"), ("dequantize", "float32"), ("inf_policy", "saturate"),
                  ("scale_clamp", "min_normal"))
#: profile nvfp4-pts's given per-tensor scale: fp32(100 / 2688), as calibrated for a tensor amax of 100
_TORCHAO_NVFP4_PTS = float(np.float32(100.0) / np.float32(2688.0))


_TORCHAO_IMPORTED = False


def _import_torchao_quietly() -> None:
    """Import torch and the torchao modules the adapter uses, once, inside
    :func:`mxref._peer_imports.quiet_torchao` (their import-time warnings and log lines are not
    the checker's output). An ImportError still propagates."""
    global _TORCHAO_IMPORTED
    if _TORCHAO_IMPORTED:
        return
    with quiet_torchao():
        import torch  # noqa: F401
        import torchao  # noqa: F401
        from torchao.prototype.mx_formats import constants  # noqa: F401
        from torchao.prototype.mx_formats.mx_tensor import MXTensor  # noqa: F401
        try:
            from torchao.prototype.mx_formats import nvfp4_tensor  # noqa: F401
        except ImportError:
            pass
    _TORCHAO_IMPORTED = True


class TorchaoAdapter(Adapter):
    """torchao ``MXTensor.to_mx(x, elem_dtype, 32, scaling_mode=...)`` and ``.dequantize(float32)``
    on the CPU, for every element dtype and every ``ScaleCalculationMode`` (profiles
    ``floor-rne``, ``ceil-rne``, ``even-rne``, ``rceil-rne``). FP4 codes are read two per byte,
    element 0 in the low nibble (torchao >= 0.15); FP6 one per byte. Rows must be whole blocks.

    NVFP4 (not MX v1.0; format ``nvfp4``): ``NVFP4Tensor.to_nvfp4(x, 16, per_tensor_scale=P)``
    and ``.dequantize(float32)``, against the model mxref.ext.nvfp4 gives of it --
    ``quantize_nvfp4(arithmetic="float32", scale_clamp="min_normal", inf_policy="saturate")``,
    ``dequantize(arithmetic="float32")`` -- not against mxref's exact NVFP4 (each run's notes
    count the blocks where that would differ). Profiles: ``nvfp4`` (single level, P = None),
    ``nvfp4-pts`` (a given P = fp32(100 / 2688)), ``nvfp4-pts_amax`` (P =
    ``per_tensor_amax_to_scale`` of the batch's largest finite |x|: each batch is one tensor, so
    failing blocks are reported without shrinking)."""

    name = "torchao"
    default_profiles = ("floor-rne", "nvfp4", "nvfp4-pts", "nvfp4-pts_amax")

    def availability(self):
        try:
            _import_torchao_quietly()
        except Exception as exc:
            return f"torch/torchao are not importable ({type(exc).__name__}: {exc})"[:200]
        return None

    def version(self):
        _import_torchao_quietly()
        import torch
        import torchao

        return f"{torchao.__version__} (torch {torch.__version__})"

    def profiles(self):
        out = {f"{r}-rne": Profile(f"{r}-rne", scale_rule=r) for r in _TORCHAO_MODES}
        for name, pts in (("nvfp4", None), ("nvfp4-pts", _TORCHAO_NVFP4_PTS), ("nvfp4-pts_amax", "amax")):
            out[name] = Profile(name, options=_TORCHAO_NVFP4 + (("per_tensor_scale", pts),))
        return out

    def _elem(self, fmt):
        _import_torchao_quietly()
        import torch
        from torchao.prototype.mx_formats import constants as C

        return {"mxfp8_e4m3": torch.float8_e4m3fn, "mxfp8_e5m2": torch.float8_e5m2,
                "mxfp6_e2m3": C.DTYPE_FP6_E2M3, "mxfp6_e3m2": C.DTYPE_FP6_E3M2,
                "mxfp4_e2m1": getattr(torch, "float4_e2m1fn_x2", None)}.get(fmt)

    def targets(self, profile, level):
        _import_torchao_quietly()
        from torchao.prototype.mx_formats.constants import SUPPORTED_ELEM_DTYPES

        if profile.name.startswith("nvfp4"):
            try:
                from torchao.prototype.mx_formats.nvfp4_tensor import NVFP4Tensor  # noqa: F401
                why = None
            except Exception as exc:
                why = f"torchao has no NVFP4Tensor ({type(exc).__name__}: {exc})"[:200]
            return [Target("quantize", NVFP4, profile, block_size=16, unsupported=why)]
        out = []
        for f in MX_FORMATS:
            e = self._elem(f)
            why = None if e is not None and e in SUPPORTED_ELEM_DTYPES else \
                f"torchao has no MX element dtype for {f}"
            out.append(Target("quantize", f, profile, unsupported=why))
        return out

    def unsupported(self, target, x):
        if x.shape[1] % target.block_size:
            if target.format == NVFP4:
                return "torchao's to_nvfp4 needs rows that are whole blocks of 16 (ragged lengths)"
            return "torchao's to_mx needs rows that are whole blocks (ragged lengths)"
        return None

    def notes(self, target, batches):
        """NVFP4: how many blocks mxref's exact NVFP4 would give otherwise than torchao's model."""
        if target.format != NVFP4 or not batches:
            return []
        from ...ext import quantize_nvfp4

        opts = dict(target.profile.options)
        deq = opts.pop("dequantize")
        n = d_exact = d_default = d_deq = 0
        for x in batches:
            model = quantize_nvfp4(x, **opts)
            rows, L = x.shape
            k = target.block_size

            def blocks_differ(q):
                d = to_blocks((q.elements != model.elements).reshape(rows, L), k, False).any(1)
                return d | (q.scales != model.scales).reshape(-1)

            n += model.scales.size
            d_exact += int(blocks_differ(quantize_nvfp4(x, **dict(opts, arithmetic="exact"))).sum())
            d_default += int(blocks_differ(quantize_nvfp4(x, per_tensor_scale=opts["per_tensor_scale"])).sum())
            v_model = model.dequantize(np.float32, arithmetic=deq).reshape(rows, L)
            v_exact = model.dequantize(np.float32, arithmetic="exact").reshape(rows, L)
            d_deq += int(to_blocks(~same64(v_model, v_exact), k, False).any(1).sum())
        pts = pts_str(opts["per_tensor_scale"])
        ver = self.version()
        seen = ("" if version_tuple(ver)[:2] == (0, 18) else
                f" -- this is torchao {ver}: where its NVFP4 changed, the differences show as MISMATCH")
        return [f"{target.profile.name}: NVFP4 is not MX v1.0; expected results are the model of torchao 0.18's "
                f"NVFP4 (seen on 0.18.0{seen}; "
                f"mxref.ext.quantize_nvfp4 arithmetic=float32 scale_clamp=min_normal inf_policy=saturate "
                f"pts={pts}, dequantize arithmetic={deq}). Of its {n} blocks, mxref's exact arithmetic "
                f"(same clamp and Inf policy) gives other codes in {d_exact}, mxref's NVFP4 defaults "
                f"(exact, no scale clamp, Inf -> NaN scale) in {d_default}, and the exact dequantization "
                f"of the model's codes other float32 values in {d_deq}"]

    def run(self, target, x):
        _import_torchao_quietly()
        import torch

        if target.format == NVFP4:
            return self._run_nvfp4(target, x)
        from torchao.prototype.mx_formats.config import ScaleCalculationMode
        from torchao.prototype.mx_formats.mx_tensor import MXTensor

        mode = getattr(ScaleCalculationMode, _TORCHAO_MODES[target.profile.scale_rule])
        n, L = x.shape
        with torch.no_grad():
            mx = MXTensor.to_mx(torch.from_numpy(np.ascontiguousarray(x, np.float32)),
                                self._elem(target.format), target.block_size, scaling_mode=mode)
            values = mx.dequantize(torch.float32).numpy().reshape(n, L)
            scales = mx.scale.view(torch.uint8).numpy().reshape(n, -1)
            q = mx.qdata.view(torch.uint8).numpy().reshape(n, -1)
        if target.format == "mxfp4_e2m1":
            codes = np.empty((n, L), np.uint8)
            codes[:, 0::2] = q & 0x0F
            codes[:, 1::2] = q >> 4
        else:
            codes = q
        return Output(scales.astype(np.int64), codes.astype(np.int64), values.astype(np.float64))

    def _run_nvfp4(self, target, x):
        _import_torchao_quietly()
        import torch
        from torchao.prototype.mx_formats.nvfp4_tensor import NVFP4Tensor, per_tensor_amax_to_scale

        pts = dict(target.profile.options).get("per_tensor_scale")
        n, L = x.shape
        xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))
        if pts is None:
            p = None
        elif isinstance(pts, str):  # "amax": the user's step, over the finite values of the tensor
            fin = xt[torch.isfinite(xt)].abs()
            p = per_tensor_amax_to_scale(fin.max() if fin.numel() else torch.zeros(()))
        else:
            p = torch.tensor(pts, dtype=torch.float32)
        with torch.no_grad():
            t = NVFP4Tensor.to_nvfp4(xt, block_size=target.block_size, per_tensor_scale=p)
            values = t.dequantize(torch.float32).numpy().reshape(n, L)
            scales = t.scale.view(torch.uint8).numpy().reshape(n, -1)
            q = t.qdata.view(torch.uint8).numpy().reshape(n, -1)
        codes = np.empty((n, L), np.uint8)
        codes[:, 0::2] = q & 0x0F  # element 0 in the low nibble
        codes[:, 1::2] = q >> 4
        return Output(scales.astype(np.int64), codes.astype(np.int64), values.astype(np.float64))
