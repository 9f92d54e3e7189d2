"""Named options and their validation, shared by the fast path and the exact reference.

Every choice the specification leaves open is one of these names, with a documented default.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

#: Element rounding modes (MX §6.3 requires "rne"; the others "may" be offered).
#:  rne          round to nearest, ties to even (IEEE 754 roundTiesToEven) -- the spec's
#:  ties_away    round to nearest, ties away from zero (microxcaling's round="nearest")
#:  toward_zero  truncate the magnitude
#:  up           toward +Inf
#:  down         toward -Inf
#:  stochastic   away from zero with probability equal to the discarded fraction, decided by
#:               caller-supplied random bits (see mxref.encode)
#:  ties_toward_zero  round to nearest, ties toward zero (smaller magnitude): what an argmin over
#:               an ordered codebook with a strict "<" does (llama.cpp ggml-quants.c
#:               best_index_mxfp4) and a count of strict bound comparisons (ModelOpt
#:               MXFP4QTensor cast_fp4); see mxref.models
ROUNDING_MODES = ("rne", "ties_away", "toward_zero", "up", "down", "stochastic", "ties_toward_zero")

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


# ----- integers and block sizes -------------------------------------------------------------------

#: The largest block size accepted anywhere (quantize, MXFormat, MXArray, the ext formats):
#: 2^31, far beyond any real block. A block longer than its axis is one short block: the work
#: and memory follow the data, never the block size.
MAX_BLOCK_SIZE = 1 << 31


def check_int(name, v, lo, hi=None) -> int:
    """v as an int in lo ... hi (hi None: unbounded), else TypeError / ValueError naming it."""
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        raise TypeError(f"{name} must be an int, got {v!r}")
    v = int(v)
    if v < lo or (hi is not None and v > hi):
        raise ValueError(f"{name} must be in {lo}..{hi if hi is not None else 'inf'}, got {v}")
    return v


def check_block_size(block_size, name: str = "block_size") -> int:
    """block_size as an int in 1 ... MAX_BLOCK_SIZE, else TypeError / ValueError naming it."""
    return check_int(name, block_size, 1, MAX_BLOCK_SIZE)


def check_bool(name, v) -> bool:
    """v as a bool (Python or NumPy), else TypeError naming it."""
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {v!r}")
    return bool(v)


# ----- option dicts of array objects (MXArray, NVFP4Array, MXQLLMArray) ---------------------------


def choice_option(allowed):
    """A check (name, value) of an option dict entry that must be one of ``allowed``."""
    return lambda name, v: check_choice(f"options[{name!r}]", v, allowed)


def check_options(options, known: dict, owner: str) -> dict:
    """A copy of ``options`` (a dict) whose keys are in ``known`` and whose values pass the
    check ``known[key]`` (a function (name, value) raising TypeError / ValueError)."""
    if not isinstance(options, dict):
        raise TypeError(f"{owner} options must be a dict, got {type(options).__name__}")
    for key, v in options.items():
        if key not in known:
            raise ValueError(f"{owner} options has the unknown key {key!r}; known keys: "
                             f"{', '.join(known)}")
        known[key](key, v)
    return dict(options)


# ----- quantize's options: one frozen object, one validator ---------------------------------------

#: The options of :func:`mxref.quantize` that decide its codes (and that an MXArray records),
#: with the values each may take: a tuple of names, ``bool``, or a range of ints. This is the
#: one table every check of these options reads (quantize, MXArray, the .npz files).
QUANTIZE_OPTION_VALUES: dict[str, object] = {
    "scale_rule": SCALE_RULES,
    "rounding": ROUNDING_MODES,
    "zero_scale": range(0, 255),
    "inf_policy": INF_POLICIES,
    "scale_overflow": SCALE_OVERFLOW_POLICIES,
    "flush_subnormals": bool,
    "int8_allow_minus128": bool,
}


def check_quantize_option(key: str, v, argname: str | None = None):
    """The checked value of quantize option ``key`` (TypeError / ValueError naming ``argname``,
    default the key): a name of its choices, a bool, or an int of its range."""
    argname = key if argname is None else argname
    allowed = QUANTIZE_OPTION_VALUES[key]
    if allowed is bool:
        return check_bool(argname, v)
    if isinstance(allowed, range):
        return check_int(argname, v, allowed.start, allowed.stop - 1)
    check_choice(argname, v, allowed)
    return v


def describe_quantize_option(key: str) -> str:
    """What option ``key`` may be, in words ("True or False", "an int in 0..254", "one of ...")."""
    allowed = QUANTIZE_OPTION_VALUES[key]
    if allowed is bool:
        return "True or False"
    if isinstance(allowed, range):
        return f"an int in {allowed.start}..{allowed.stop - 1}"
    return "one of " + ", ".join(map(repr, allowed))


#: Checks of an MXArray's option dict (any subset of quantize's options), for check_options.
MXARRAY_OPTIONS = {k: (lambda key, v: check_quantize_option(key, v, f"options[{key!r}]"))
                   for k in QUANTIZE_OPTION_VALUES}


@dataclass(frozen=True)
class QuantizeOptions:
    """quantize's options, checked once (``__post_init__``) and then read as attributes by every
    path (the integer path, the float32 path) and recorded in the MXArray (:meth:`as_dict`).
    See :func:`mxref.quantize` for each option."""

    scale_rule: str = "floor"
    rounding: str = "rne"
    zero_scale: int = 0x00
    inf_policy: str = "nan_scale"
    scale_overflow: str = "clamp"
    flush_subnormals: bool = False
    int8_allow_minus128: bool = False

    def __post_init__(self):
        # checked in quantize's historical order, so the first bad argument is the one named
        for name in ("scale_rule", "rounding", "inf_policy", "scale_overflow", "zero_scale",
                     "flush_subnormals", "int8_allow_minus128"):
            object.__setattr__(self, name, check_quantize_option(name, getattr(self, name)))

    def as_dict(self) -> dict:
        """The options as the plain dict an MXArray records (every key, in this order)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
