"""The ``onnxruntime`` adapter: the ``onnx`` adapter's graphs run by onnxruntime's CPU execution
provider (``InferenceSession(..., providers=["CPUExecutionProvider"])``).

Claimed profiles: the ``onnx`` adapter's (the same operator specs; onnxruntime implements them in
``onnxruntime/core/framework/float8.h`` / ``float4.h``, ``Float8E8M0`` with RoundMode Up / Down /
Nearest, microsoft/onnxruntime#28435, onnxruntime 1.32.0). What the CPU provider has no kernel
for (seen on 1.32.0: Cast to FLOAT4E2M1, QuantizeLinear to FLOAT4E2M1) is UNSUPPORTED, with its
message. Layouts: FP8 outputs come back as uint8 codes; E8M0 outputs have no NumPy type in the
Python binding, and neither have FLOAT8E5M2 outputs (1.32.0),
so those graphs cast their result back to FLOAT (exact: 2^(code - 127), NaN for
0xFF) and the code is read from that float.
"""

from __future__ import annotations

import numpy as np

from .onnx_ import OnnxAdapter


class OnnxruntimeAdapter(OnnxAdapter):
    """onnxruntime CPU execution provider (see the module docstring)."""

    name = "onnxruntime"
    has_e8m0_output = False
    cast_back_formats = ("fp8_e5m2",)  # no NumPy type for Float8E5M2 outputs in the binding

    def __init__(self):
        self._sessions = {}

    def availability(self):
        try:
            import onnx  # noqa: F401
            import onnxruntime  # noqa: F401
        except Exception as exc:
            return f"onnxruntime (with onnx to build its graphs) is not importable ({type(exc).__name__}: {exc})"[:200]
        return None

    def version(self):
        import onnx
        import onnxruntime

        return f"{onnxruntime.__version__} (graphs by onnx {onnx.__version__})"

    def _session(self, target, src):
        import onnxruntime as ort

        key = (target, src)
        if key not in self._sessions:
            try:
                s = ort.InferenceSession(self._model(target, src).SerializeToString(),
                                         providers=["CPUExecutionProvider"])
                self._sessions[key] = s.run
            except Exception as exc:
                self._sessions[key] = f"onnxruntime CPU refuses the graph: {type(exc).__name__}: {exc}"[:300]
        return self._sessions[key]

    def unsupported(self, target, x):
        why = super().unsupported(target, x)
        if why:
            return why
        s = self._session(target, x.dtype.type if target.operation != "quantize" else np.float32)
        return s if isinstance(s, str) else None
