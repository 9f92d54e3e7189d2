"""Hypothesis profiles: a quick default for local runs, a deterministic "ci" profile.

The profile is HYPOTHESIS_PROFILE if set, else "ci" when CI is set (as .ci/run does), else
"default"."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=200, deadline=None)
settings.register_profile(
    "ci",
    max_examples=1000,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "default"))
