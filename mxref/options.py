"""Named options and their validation, shared by the fast path and the exact reference.

Every choice the specification leaves open is one of these names, with a documented default.
"""

from __future__ import annotations

#: Element rounding modes (MX §6.3 requires "rne"; the others "may" be offered).
#:  rne          round to nearest, ties to even (IEEE 754 roundTiesToEven) -- the spec's
#:  ties_away    round to nearest, ties away from zero (microxcaling's round="nearest")
#:  toward_zero  truncate the magnitude
#:  up           toward +Inf
#:  down         toward -Inf
#:  stochastic   away from zero with probability equal to the discarded fraction, decided by
#:               caller-supplied random bits (see mxref.encode)
ROUNDING_MODES = ("rne", "ties_away", "toward_zero", "up", "down", "stochastic")

#: Overflow handling (OFP8 §5.2.1 Table 3): "saturate" clamps to +-max (OFP8 SAT, MX §6.3);
#: "nonsaturating" gives Inf (E5M2) or NaN (E4M3) as IEEE 754 §7.4 prescribes per rounding mode.
OVERFLOW_MODES = ("saturate", "nonsaturating")

#: NaN input into a format without NaN (FP6, FP4, INT8): "raise" (default), "zero" (+0 code),
#: "max" (+max code, as PTX cvt ... satfinite does).
NAN_POLICIES = ("raise", "zero", "max")

#: Rounding of a positive value to an E8M0 power of two (MX §5.4.1):
#:  floor    largest 2^k <= x
#:  ceil     smallest 2^k >= x
#:  rne      nearest 2^k; a tie (x = 1.5 * 2^k) goes to the even code
#:  ties_up  nearest 2^k; a tie goes to the larger power (what ml_dtypes and torch casts do)
E8M0_ROUNDING_MODES = ("floor", "ceil", "rne", "ties_up")


def check_choice(argname: str, value, allowed) -> None:
    """Raise ValueError naming the argument and the allowed values."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{argname} must be one of {', '.join(map(repr, allowed))}; got {value!r}")


def check_encode_options(fmt, rounding, overflow, nan) -> None:
    check_choice("rounding", rounding, ROUNDING_MODES)
    check_choice("overflow", overflow, OVERFLOW_MODES)
    check_choice("nan", nan, NAN_POLICIES)
    if overflow == "nonsaturating" and not (fmt.has_inf or fmt.has_nan):
        raise ValueError(
            f"overflow='nonsaturating' needs a format with Inf or NaN; {fmt.name} is finite-only "
            "and only saturates (MX §6.3)"
        )
