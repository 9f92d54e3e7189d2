"""Hypothesis strategies the block strategies of several test files draw from, built once (not in
every draw: the same strategies in the same order give the same examples under the derandomized
ci profile)."""

import math

from hypothesis import strategies as st

SIGNS = st.sampled_from([1, -1])
ZEROS = st.sampled_from([0.0, -0.0])
FRAC = st.floats(0, 1)
SPECIAL = st.sampled_from([math.nan, math.inf, -math.inf, -0.0])
