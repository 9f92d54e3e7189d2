"""The ``onnx`` adapter: the ONNX reference evaluator (``onnx.reference.ReferenceEvaluator``) on
one-node graphs -- ``Cast`` / ``CastLike`` to the MX element types and FLOAT8E8M0, and
``QuantizeLinear`` + ``DequantizeLinear`` with block quantization.

Claimed profiles, from the operator specs and the evaluator's code (onnx 1.22.0 / 1.23.2,
``onnx/defs/operator_sets.h`` Cast-25, QuantizeLinear-25; ``onnx/reference/ops/op_cast.py``
``cast_to``; ``onnx/numpy_helper.py`` ``saturate_cast`` and ``to_float8e8m0``):

* ``rne``: element casts round to nearest even (ml_dtypes ``astype``); FP8 with ``saturate=1``
  clips to +-max first (``np.clip``), ``saturate=0`` is the non-saturating cast; FP4 has no
  ``saturate`` (the cast saturates); E8M0 ``round_mode="up"`` (the default: mxref ``ceil``), with
  ``saturate=1`` (no step past 2^127) and ``saturate=0``. QuantizeLinear(x, y_scale) with
  ``block_size=32``, ``axis=1``: ONNX takes the scale as an input, so y_scale is mxref's E8M0
  scale as its float32 value 2^(code - 127) and only the elements and DequantizeLinear's values
  are the library's (the scales reported are mxref's).
* ``e8m0-nearest`` / ``e8m0-down``: ``Cast(to=FLOAT8E8M0, round_mode="nearest" / "down")``:
  mxref ``ties_up`` (nearest in the linear domain, ties up; the evaluator's rule is "mantissa >=
  0x400000 rounds up") and ``floor``.

Layouts: the evaluator returns one element per byte (ml_dtypes arrays; FP4 in the low nibble,
no packing); E8M0 is a uint8 code; the QuantizeLinear scale is a float32 input of shape
(rows, blocks).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..model import Output, Profile, Target
from .base import Adapter, encode_targets

#: mxref element format -> TensorProto attribute name
_ONNX_TYPES = {"fp8_e4m3": "FLOAT8E4M3FN", "fp8_e5m2": "FLOAT8E5M2", "fp4_e2m1": "FLOAT4E2M1",
               "fp6_e2m3": "FLOAT6E2M3", "fp6_e3m2": "FLOAT6E3M2"}
_MX_OF = {"fp8_e4m3": "mxfp8_e4m3", "fp8_e5m2": "mxfp8_e5m2", "fp4_e2m1": "mxfp4_e2m1",
          "fp6_e2m3": "mxfp6_e2m3", "fp6_e3m2": "mxfp6_e3m2"}
_E8M0_MODE = {"rne": "up", "e8m0-nearest": "nearest", "e8m0-down": "down"}
OPSET = 25


def onnx_call(target: Target) -> str:
    """The graph a target runs, as text (the manifest's "call")."""
    if target.operation == "encode":
        sat = "" if target.format == "fp4_e2m1" else f", saturate={int(target.overflow == 'saturate')}"
        return f"{target.api or 'Cast'}(x, to={_ONNX_TYPES[target.format]}{sat}) opset {OPSET}"
    if target.operation == "encode_e8m0":
        return (f"{target.api or 'Cast'}(x, to=FLOAT8E8M0, round_mode={_E8M0_MODE[target.profile.name]!r}, "
                f"saturate={int(target.profile.e8m0_overflow == 'saturate')}) opset {OPSET}")
    el = [k for k, v in _MX_OF.items() if v == target.format][0]
    return (f"y = QuantizeLinear(x, y_scale=2^(mxref scale - 127), axis=1, block_size=32, "
            f"output_dtype={_ONNX_TYPES[el]}); z = DequantizeLinear(y, y_scale, axis=1, block_size=32) "
            f"opset {OPSET}")


class OnnxAdapter(Adapter):
    """ONNX's reference evaluator (see the module docstring for the profiles and layouts)."""

    name = "onnx"
    default_profiles = ("rne", "e8m0-nearest", "e8m0-down")
    has_e8m0_output = True  # onnxruntime: E8M0 outputs are read through a Cast back to float

    def availability(self):
        try:
            import onnx  # noqa: F401
            from onnx.reference import ReferenceEvaluator  # noqa: F401
        except Exception as exc:
            return f"onnx is not importable ({type(exc).__name__}: {exc})"[:200]
        return None

    def version(self):
        import onnx

        return onnx.__version__

    @property
    def display_name(self):
        return f"{self.name} {self.version()}"

    def profiles(self):
        out = {"rne": Profile("rne", fp8_overflow="saturate", e8m0_rounding="ceil", e8m0_overflow="saturate")}
        out["e8m0-nearest"] = Profile("e8m0-nearest", e8m0_rounding="ties_up")
        out["e8m0-down"] = Profile("e8m0-down", e8m0_rounding="floor")
        return out

    def _have(self):
        from onnx import TensorProto

        return [f for f, n in _ONNX_TYPES.items() if hasattr(TensorProto, n)]

    def targets(self, profile, level):
        out = []
        if profile.name == "rne":
            have = self._have()
            out += encode_targets(profile, ("float32", "float64"), formats=have, both_overflows=True)
            out += [Target("quantize", _MX_OF[f], profile, api="QuantizeLinear")
                    for f in ("fp8_e4m3", "fp8_e5m2", "fp4_e2m1") if f in have]
        for api in ("Cast", "CastLike"):
            out += [Target("encode_e8m0", "e8m0", replace(profile, e8m0_overflow=o), api=api)
                    for o in ("saturate", "nonsaturating")]
        return out

    # --- graphs

    def _model(self, target, src):
        from onnx import TensorProto as TP
        from onnx import helper

        fdt = TP.DOUBLE if src == np.float64 else TP.FLOAT
        if target.operation == "quantize":
            el = [k for k, v in _MX_OF.items() if v == target.format][0]
            to = getattr(TP, _ONNX_TYPES[el])
            nodes = [helper.make_node("QuantizeLinear", ["x", "s"], ["y"], axis=1, block_size=target.block_size,
                                      output_dtype=to),
                     helper.make_node("DequantizeLinear", ["y", "s"], ["z"], axis=1, block_size=target.block_size)]
            ins = [helper.make_tensor_value_info("x", TP.FLOAT, [None, None]),
                   helper.make_tensor_value_info("s", TP.FLOAT, [None, None])]
            outs = [helper.make_tensor_value_info("y", to, [None, None]),
                    helper.make_tensor_value_info("z", TP.FLOAT, [None, None])]
        else:
            if target.operation == "encode_e8m0":
                to = TP.FLOAT8E8M0
                attrs = {"round_mode": _E8M0_MODE[target.profile.name],
                         "saturate": int(target.profile.e8m0_overflow == "saturate")}
            else:
                to = getattr(TP, _ONNX_TYPES[target.format])
                attrs = {} if target.format == "fp4_e2m1" else {"saturate": int(target.overflow == "saturate")}
            ins = [helper.make_tensor_value_info("x", fdt, [None])]
            if target.api == "CastLike":
                nodes = [helper.make_node("CastLike", ["x", "like"], ["y"], **attrs)]
                ins.append(helper.make_tensor_value_info("like", to, [1]))
            else:
                nodes = [helper.make_node("Cast", ["x"], ["y"], to=to, **attrs)]
            outs = [helper.make_tensor_value_info("y", to, [None])]
            if self._cast_back(target):
                nodes.append(helper.make_node("Cast", ["y"], ["yf"], to=TP.FLOAT))
                outs = [helper.make_tensor_value_info("yf", TP.FLOAT, [None])]
        g = helper.make_graph(nodes, "mxref", ins, outs)
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=11)

    def _cast_back(self, target):
        """Whether the graph casts its output back to FLOAT (types the Python binding cannot return)."""
        return (target.operation == "encode_e8m0" and not self.has_e8m0_output) or \
            (target.operation == "encode" and target.format in self.cast_back_formats)

    cast_back_formats: tuple = ()

    def _like(self, target):
        import ml_dtypes

        name = {"fp8_e4m3": "float8_e4m3fn", "fp8_e5m2": "float8_e5m2", "fp4_e2m1": "float4_e2m1fn",
                "fp6_e2m3": "float6_e2m3fn", "fp6_e3m2": "float6_e3m2fn"}.get(target.format, "float8_e8m0fnu")
        return np.ones(1, getattr(ml_dtypes, name))

    def _session(self, target, src):
        from onnx.reference import ReferenceEvaluator

        return ReferenceEvaluator(self._model(target, src)).run

    def _run_graph(self, target, feeds, src):
        return self._session(target, src)(None, feeds)

    def unsupported(self, target, x):
        if target.operation == "quantize" and x.shape[1] % target.block_size:
            return "QuantizeLinear's blocked scale here is given per whole block (ragged lengths not run)"
        if target.api == "CastLike":  # a probe: the evaluator may lack the opset's attributes
            key = (target, x.dtype.str)
            probes = self.__dict__.setdefault("_probes", {})
            if key not in probes:
                try:
                    self.run(target, np.ones(1, x.dtype))
                    probes[key] = None
                except Exception as exc:
                    probes[key] = (f"{self.name} cannot run CastLike-{OPSET} with round_mode / saturate: "
                                   f"{type(exc).__name__}: {exc}")[:300]
            return probes[key]
        return None

    def run(self, target, x):
        from ... import quantize

        if target.operation == "quantize":
            mx = quantize(x, target.format, axis=-1, block_size=target.block_size)
            sc = mx.scales.astype(np.int64)
            s = np.where(sc == 0xFF, np.nan, np.ldexp(1.0, sc - 127)).astype(np.float32)
            y, z = self._run_graph(target, {"x": np.ascontiguousarray(x, np.float32), "s": s}, np.float32)
            return Output(sc, np.asarray(y).view(np.uint8).astype(np.int64) & 0xFF,
                          np.asarray(z, np.float64))
        feeds = {"x": np.ascontiguousarray(x)}
        if target.api == "CastLike":
            feeds["like"] = self._like(target)
        (y,) = self._run_graph(target, feeds, x.dtype.type)
        y = np.asarray(y)
        if self._cast_back(target) and target.operation == "encode":
            from ... import encode

            return Output(codes=encode(y.astype(np.float64), target.format, overflow="nonsaturating").astype(np.int64))
        if self._cast_back(target):
            yf = y.astype(np.float64)
            with np.errstate(all="ignore"):
                codes = np.where(np.isnan(yf), 255, np.round(np.log2(np.where(yf > 0, yf, 1.0))) + 127)
            return Output(codes=codes.astype(np.int64))
        return Output(codes=y.view(np.uint8).astype(np.int64))
