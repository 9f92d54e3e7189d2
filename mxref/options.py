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

#: Shared-exponent rules. Only "floor" is the §6.3 recommendation; the others are the named,
#: non-normative rules in use (amax = max |V_i| of the block, m = element mantissa width,
#: max = element max normal, emax = its exponent):
#:   floor       floor(log2 amax) - emax                                   (MX §6.3; microxcaling)
#:   ceil        ceil(log2 amax) - emax                                    (torchao CEIL)
#:   even        floor(log2(amax rounded half-up to m mantissa bits)) - emax   (torchao EVEN)
#:   rceil       ceil(log2(amax / max)), the exact quotient; never clips   (NVIDIA, torchao RCEIL)
#:   round_down  floor(log2(amax / max)), the exact quotient               (triton_kernels)
SCALE_RULES = ("floor", "ceil", "even", "rceil", "round_down")
#: A block holding +-Inf and no NaN: "nan_scale" (scale 0xFF, as microxcaling) or "finite_scale"
#: (scale from the finite values; Inf elements become Inf (E5M2), NaN (E4M3) or +-max).
INF_POLICIES = ("nan_scale", "finite_scale")
#: A shared exponent above 127 (only from float64 input or ±Inf): "clamp" to 127 (elements then
#: saturate), or "nan" (scale 0xFF).
SCALE_OVERFLOW_POLICIES = ("clamp", "nan")

#: Accumulator models of dot / matmul (MX §6.1, §6.2 leave internal precision and order open);
#: each is defined exactly in :func:`mxref.matmul`.
ACCUMULATORS = ("exact", "fp32_blockwise", "fp32_sequential")


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


def check_random_options(rounding, random_bits, random_bit_count) -> int:
    """Check that random bits come exactly with stochastic rounding; return the bit count (or 0).

    The values of ``random_bits`` (in [0, 2^count)) are checked by the caller."""
    if rounding != "stochastic":
        if random_bits is not None or random_bit_count is not None:
            raise ValueError("random_bits / random_bit_count are only used with rounding='stochastic'")
        return 0
    if random_bits is None or random_bit_count is None:
        raise ValueError("rounding='stochastic' needs random_bits (integers) and random_bit_count")
    if isinstance(random_bit_count, bool) or not hasattr(random_bit_count, "__index__"):
        raise TypeError(f"random_bit_count must be an int in 1..32, got {random_bit_count!r}")
    n = int(random_bit_count)
    if not 1 <= n <= 32:
        raise ValueError(f"random_bit_count must be in 1..32, got {n}")
    return n
