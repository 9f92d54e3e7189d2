"""Implementation models and profiles (issue 14 §1, §2): what real MX libraries compute, exactly.

Kept apart from the spec path: nothing in mxref's core imports this package, and nothing here
changes a default. The checker (:mod:`mxref.conformance`) uses it to say *why* a library differs.

* :data:`MODELS` -- the catalogue (:mod:`.catalogue`): id -> :class:`Model` (kind, rule, source,
  confidence).
* :func:`quantize_model` -- mxref.quantize with models applied (vectorized over blocks);
  :func:`encode_model`, :func:`encode_e8m0_model` -- the casts with input / E8M0 models.
* :func:`check_models` / :func:`compatible` -- validation of a combination.
* :data:`PROFILES`, :func:`profile`, :func:`apply_profile` -- named compositions reproducing a
  library version (:mod:`.profiles`).

The float32 log2 of the "_f32" scale models is the correctly rounded one, decided exactly by
integer thresholds (:mod:`._log2`).
"""

from .catalogue import KINDS, MODELS, SCALE_COMPUTATIONS, Model
from .profiles import PROFILES, Profile, apply_profile, profile
from .quantize import check_models, compatible, encode_e8m0_model, encode_model, parse_models, quantize_model

__all__ = ["MODELS", "Model", "KINDS", "SCALE_COMPUTATIONS", "PROFILES", "Profile", "profile", "apply_profile",
           "quantize_model", "encode_model", "encode_e8m0_model", "check_models", "compatible", "parse_models"]
