"""The ``ml_dtypes`` adapter: its element casts and float8_e8m0fnu (``x.astype(dtype)``)."""

from __future__ import annotations

import numpy as np

from ..model import Output, Profile, Target
from .base import Adapter, encode_targets

_ML_NAMES = {"fp8_e4m3": "float8_e4m3fn", "fp8_e5m2": "float8_e5m2", "fp6_e2m3": "float6_e2m3fn",
             "fp6_e3m2": "float6_e3m2fn", "fp4_e2m1": "float4_e2m1fn"}


class MlDtypesAdapter(Adapter):
    """ml_dtypes casts (``x.astype(dtype)``): every MX element format it has and float8_e8m0fnu,
    from float32 and float64. Profile ``rne``: round to nearest even; FP8 casts non-saturating
    (E4M3 -> NaN, E5M2 -> Inf), FP6/FP4 saturating; E8M0 nearest with ties up, NaN past the
    range (as seen on 0.6.0 and 0.7.0). Its differences by version are in
    :data:`KNOWN_DIFFERENCES` (ml_dtypes < 0.7: float64 casts round twice, through float32, and
    float32 in (2^-127, 1.5 * 2^-127) casts to E8M0 2^-126; 0.7.0 fixed both)."""

    name = "ml_dtypes"
    default_profiles = ("rne",)

    def availability(self):
        try:
            import ml_dtypes  # noqa: F401
        except Exception as exc:
            return f"ml_dtypes is not importable ({type(exc).__name__}: {exc})"
        return None

    def version(self):
        import ml_dtypes

        return ml_dtypes.__version__

    def profiles(self):
        return {"rne": Profile("rne", fp8_overflow="nonsaturating", e8m0_rounding="ties_up",
                               e8m0_overflow="nonsaturating")}

    def targets(self, profile, level):
        import ml_dtypes

        have = [f for f, n in _ML_NAMES.items() if hasattr(ml_dtypes, n)]
        out = encode_targets(profile, ("float32", "float64"), formats=have)
        if hasattr(ml_dtypes, "float8_e8m0fnu"):
            out.append(Target("encode_e8m0", "e8m0", profile))
        return out

    def run(self, target, x):
        import ml_dtypes

        name = "float8_e8m0fnu" if target.operation == "encode_e8m0" else _ML_NAMES[target.format]
        with np.errstate(all="ignore"):
            return Output(codes=x.astype(getattr(ml_dtypes, name)).view(np.uint8))
