"""The ``mxref`` adapter: mxref itself, a self-check (every case passes) and the base of the
fault-injection tests."""

from __future__ import annotations

from ...options import SCALE_RULES
from ..expected import reference_output
from ..model import Profile, Target
from .base import Adapter, encode_targets, quantize_targets

class MxrefAdapter(Adapter):
    """mxref itself (a self-check: every case passes). Profiles ``<scale rule>-<rounding>``."""

    name = "mxref"
    default_profiles = ("floor-rne",)

    def version(self) -> str:
        from ... import __version__

        return __version__

    def profiles(self) -> dict:
        return {f"{r}-{m}": Profile(f"{r}-{m}", scale_rule=r, rounding=m)
                for r in SCALE_RULES for m in ("rne", "ties_away", "toward_zero", "up", "down")}

    def targets(self, profile, level):
        return (quantize_targets(profile) + encode_targets(profile, ("float32",), both_overflows=True)
                + [Target("encode_e8m0", "e8m0", profile)])

    def run(self, target, x):
        return reference_output(target, x)
