"""The ``gfloat`` adapter: element rounding and encoding through both of gfloat's APIs, E8M0,
and its MX block functions."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..model import Output, Profile, Target
from .base import Adapter, encode_targets, quantize_targets

_GF_ROUND = {"rne": "TiesToEven", "ties_away": "TiesToAway", "toward_zero": "TowardZero",
             "up": "TowardPositive", "down": "TowardNegative"}
_GF_E8M0 = {"rne": "rne", "ties_away": "ties_up", "toward_zero": "floor", "up": "ceil", "down": "floor"}
_GF_FORMATS = {"fp8_e4m3": "ocp_e4m3", "fp8_e5m2": "ocp_e5m2", "fp6_e2m3": "ocp_e2m3",
               "fp6_e3m2": "ocp_e3m2", "fp4_e2m1": "ocp_e2m1", "int8": "ocp_int8"}


class GfloatAdapter(Adapter):
    """gfloat: element rounding and encoding through both of its APIs (``round_ndarray`` +
    ``encode_ndarray``, and the scalar ``round_float`` + ``encode_float``), both saturation modes,
    from float32 and float64; E8M0 the same way; and its MX block functions
    (``compute_scale_amax``, ``encode_block``, ``decode_block`` -- the steps of ``quantize_block``
    -- one block at a time, from float32 and float64). Profiles ``floor-<rounding>``; gfloat's
    INT8 includes -2.0 (0x80) (seen on 0.5.2; its differences by version: :data:`KNOWN_DIFFERENCES`)."""

    name = "gfloat"
    default_profiles = ("floor-rne",)

    def availability(self):
        try:
            import gfloat  # noqa: F401
        except Exception as exc:
            return f"gfloat is not importable ({type(exc).__name__}: {exc})"
        return None

    def version(self):
        from importlib.metadata import version

        return version("gfloat")

    def profiles(self):
        return {f"floor-{r}": Profile(f"floor-{r}", rounding=r, e8m0_rounding=_GF_E8M0[r],
                                      int8_allow_minus128=True) for r in _GF_ROUND}

    def targets(self, profile, level):
        q = quantize_targets(profile, ("float32", "float64"))
        e = []
        for api in ("round_ndarray", "round_float"):
            e += [replace(t, api=api) for t in encode_targets(profile, ("float32", "float64"), both_overflows=True)]
            e += [Target("encode_e8m0", "e8m0", replace(profile, e8m0_overflow=o), api=api)
                  for o in ("saturate", "nonsaturating")]
        return q + e

    def run(self, target, x):
        import gfloat
        from gfloat import formats as gff

        rm = getattr(gfloat.RoundMode, _GF_ROUND[target.profile.rounding])
        if target.operation in ("encode", "encode_e8m0"):
            fi = gff.format_info_ocp_e8m0 if target.operation == "encode_e8m0" else \
                getattr(gff, "format_info_" + _GF_FORMATS[target.format])
            sat = (target.profile.e8m0_overflow if target.operation == "encode_e8m0" else target.overflow) == "saturate"
            if target.api == "round_ndarray":
                r = gfloat.round_ndarray(fi, x.astype(np.float64), rm, sat)
                return Output(codes=np.asarray(gfloat.encode_ndarray(fi, r)).astype(np.uint64).view(np.int64))
            codes = np.zeros(x.shape, np.int64)
            errors = {}
            for i, v in enumerate(x.astype(np.float64).tolist()):  # the scalar API, one value at a time
                try:
                    codes[i] = gfloat.encode_float(fi, gfloat.round_float(fi, v, rm, sat))
                except Exception as exc:
                    errors[i] = f"{type(exc).__name__}: {exc}"[:200]
            return Output(codes=codes, errors=errors)
        fi = getattr(gff, "format_info_" + target.format)
        k = target.block_size
        n, L = x.shape
        nb = -(-L // k)
        scales = np.zeros((n, nb), np.int64)
        codes = np.zeros((n, L), np.int64)
        values = np.zeros((n, L), np.float64)
        errors = {}
        for i in range(n):
            try:
                for j in range(nb):
                    v = x[i, j * k:(j + 1) * k].astype(np.float64)
                    s = gfloat.compute_scale_amax(fi.etype.emax, v)
                    enc = list(gfloat.encode_block(fi, s, v / s, rm))
                    scales[i, j] = enc[0]
                    codes[i, j * k:(j + 1) * k] = enc[1:]
                    values[i, j * k:(j + 1) * k] = list(gfloat.decode_block(fi, enc))
            except Exception as exc:
                errors[i] = f"{type(exc).__name__}: {exc}"[:200]
        return Output(scales, codes, values, errors)
