"""The checker's data types and ids (a leaf: NumPy and mxref's format registry only).

What a run checks (:class:`Profile`, :class:`Target`), what a library returns (:class:`Output`),
a reported case (:class:`Line`), a group of cases compared outside the block machinery
(:class:`Cases`), the classes PASS ... ERROR and the implementation-defined ids
(:data:`IMPL_DEFINED_IDS`, MX v1.0 sections cited per id), the levels (:data:`LEVEL_MINIMUM`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..formats import element_format
from .. import mx_format


#: What the specification leaves open, by id: a difference of one of these kinds is reported as
#: ``IMPL_DEFINED:<id>`` (several joined by "+"), not as a MISMATCH (``--strict`` makes it one).
IMPL_DEFINED_IDS = {
    "nan_scale_elements": "element codes under a NaN scale (MX §5.1: every value of the block is NaN "
                          "whatever the elements hold)",
    "nan_block": "a block holding NaN converted with a finite scale, every NaN input still NaN "
                 "(MX §6.3 does not say how NaN inputs convert)",
    "inf_block": "a block holding ±Inf and no NaN (MX §6.3 defines no scale for an infinite amax)",
    "zero_block_scale": "the scale of an all-zero block (every scale gives zero values)",
    "value_beyond_fp32": "a dequantized value X * P_i beyond the float32 range given as ±Inf, "
                         "±max float32 or NaN (MX §5.1: implementation-defined); codes agree",
    "int8_minus128": "INT8 code 0x80 (-2.0) where the symmetric range gives 0x81 "
                     "(MX §5.3.4 allows either)",
    "nan_into_finite": "NaN converted to FP6, FP4 or INT8, which have no NaN (MX §6.3 leaves it "
                       "open; raising counts too)",
    "signed_zero": "a zero of the other sign (+0 for -0 or the reverse)",
    "nan_payload": "another NaN code: NaN sign and payload are implementation-defined "
                   "(OFP8 §5.2.1)",
    "fp32_subnormal_flush": "float32-subnormal inputs flushed to zero before conversion (the MX "
                            "paper's algorithm; the spec does not require it)",
    "e8m0_nonpositive": "zero, a negative value or -Inf cast to E8M0, which has no sign and no zero "
                        "(MX §5.4.1)",
}
ID_BIT = {k: 1 << i for i, k in enumerate(IMPL_DEFINED_IDS)}

#: Minimum cases per (operation, format, input dtype) at each level (:func:`cases` ensures them).
LEVEL_MINIMUM = {
    1: {"quantize": 1_000, "encode": 10_000, "encode_e8m0": 5_000},
    2: {"quantize": 10_000, "encode": 200_000, "encode_e8m0": 100_000},
}

PASS, MISMATCH, IMPL, UNSUPPORTED, ERROR = range(5)
CLASS_NAMES = ("pass", "mismatch", "impl-defined", "unsupported", "error")
OPERATIONS = ("quantize", "encode", "encode_e8m0")
#: operations only outputs in the spec_vectors layout have (the spec_vectors adapter's
#: ``compare`` mode)
VECTOR_OPERATIONS = ("decode", "dequantize", "pack", "swizzle_scales", "matmul")
#: every operation a target may have
ALL_OPERATIONS = OPERATIONS + VECTOR_OPERATIONS
NVFP4 = "nvfp4"  # the NVFP4 quantize target's format name (mxref.ext.nvfp4; not MX v1.0)
ELEMENTS = ("fp8_e4m3", "fp8_e5m2", "fp6_e2m3", "fp6_e3m2", "fp4_e2m1", "int8")

# ----- what is checked --------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """The rules a library claims; the expected results are mxref's under these options.

    scale_rule / rounding: MX block conversion (``mxref.quantize``); fp8_overflow: element casts
    into FP8 ("saturate" or "nonsaturating"); nan: NaN into FP6/FP4/INT8 casts ("zero", "max", or
    None = not claimed, an IMPL_DEFINED difference); e8m0_rounding / e8m0_overflow: casts to
    E8M0 (``mxref.encode_e8m0``); int8_allow_minus128: INT8 range; options: further
    ``mxref.quantize`` keywords as (name, value) pairs."""

    name: str
    scale_rule: str = "floor"
    rounding: str = "rne"
    fp8_overflow: str = "saturate"
    nan: str | None = None
    e8m0_rounding: str = "floor"
    e8m0_overflow: str = "saturate"
    int8_allow_minus128: bool = False
    options: tuple = ()


@dataclass(frozen=True)
class Target:
    """One row of the summary: an operation on one format, input dtype and overflow mode."""

    operation: str
    format: str
    profile: Profile
    dtype: str = "float32"
    overflow: str = "saturate"
    block_size: int = 32
    unsupported: str | None = None  # the whole target: why the library cannot do it
    api: str = ""  # which entry point of the library, when it has several
    detail: str = ""  # the modes text, where the fields above do not give it (spec_vectors checks)

    @property
    def modes(self) -> str:
        p = self.profile
        if self.detail:
            return self.detail
        if self.operation == "quantize" and self.format == NVFP4:
            opts = dict(p.options)
            pts = opts.pop("per_tensor_scale", None)
            s = f"block={self.block_size} pts={pts_str(pts)}" + "".join(f" {k}={v}" for k, v in sorted(opts.items()))
        elif self.operation == "quantize":
            s = f"rule={p.scale_rule} rounding={p.rounding} block={self.block_size}"
            if self.format == "mxint8" and p.int8_allow_minus128:
                s += " int8=-128"
            s += "".join(f" {k}={v}" for k, v in p.options)
        elif self.operation == "encode":
            s = f"rounding={p.rounding} overflow={self.overflow}"
            if p.nan and not element_format(self.format).has_nan:
                s += f" nan={p.nan}"
            if self.format == "int8" and p.int8_allow_minus128:
                s += " int8=-128"
        else:
            s = f"rounding={p.e8m0_rounding} overflow={p.e8m0_overflow}"
        return f"{s} from={self.dtype}" + (f" api={self.api}" if self.api else "")


@dataclass
class Output:
    """What a library returned for a batch. quantize: scales (n, blocks) E8M0 codes, codes (n, L)
    unpacked element codes, values (n, L) dequantized; encode / encode_e8m0: codes (n,). Any
    component may be None (not provided), but not all three."""

    scales: np.ndarray | None = None
    codes: np.ndarray | None = None
    values: np.ndarray | None = None
    #: rows (quantize) or values (encode) on which the library raised: {index: message}; their
    #: entries in the arrays above are ignored
    errors: dict = field(default_factory=dict)


class AdapterUnavailable(RuntimeError):
    """The library (or its recordings) cannot be used here; the message says why."""


def pts_str(pts) -> str:
    """An NVFP4 per-tensor scale in a modes text: none, amax, or its float32 value (shortest
    text that reads back as the same float32)."""
    if pts is None or isinstance(pts, str):
        return str(pts).lower()
    return str(np.float32(pts))


def element_of(target: Target):
    """The element format of a quantize / dequantize target (NVFP4: E2M1)."""
    if target.format == NVFP4:
        return element_format("fp4_e2m1")
    return mx_format(target.format).element


def scale_nan_code(target: Target) -> int:
    """The scale code that makes a block NaN: E8M0 0xFF (MX §5.4.1); NVFP4's unsigned E4M3 0x7F."""
    return 0x7F if target.format == NVFP4 else 0xFF


def count_cases(target: Target, batch: np.ndarray) -> int:
    """The cases of a batch: its blocks (quantize) or values."""
    if target.operation == "quantize":
        return batch.shape[0] * -(-batch.shape[1] // target.block_size)
    return batch.shape[0]


def to_blocks(a, k: int, fill):
    """Rows (n, L) as blocks (n * ceil(L / k), k), the short last block padded with ``fill``."""
    n, L = a.shape
    nb = -(-L // k)
    pad = nb * k - L
    if pad:
        a = np.concatenate([a, np.full((n, pad), fill, dtype=a.dtype)], axis=1)
    return a.reshape(n * nb, k)


@dataclass
class Line:
    """One reported case: its class and text (TestFloat-like), and the same facts as data."""

    cls: str
    text: str
    data: dict


@dataclass
class Cases:
    """Cases compared outside the block and value machinery (spec_vectors decode, dequantize,
    pack, swizzle_scales, matmul): class and impl-defined id bits per case, and ``line(i, label,
    note)`` rendering case i as a report line."""

    cls: np.ndarray
    ids: np.ndarray
    line: object
    note: str = ""  # why some cases are UNSUPPORTED


@dataclass
class TargetResult:
    """Counts for one target, and the cases picked for report lines (rendered by the run loop,
    :func:`mxref.conformance.run.render_mismatches`)."""

    library: str
    version: str
    target: Target
    counts: list = field(default_factory=lambda: [0, 0, 0, 0, 0])
    impl_ids: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    seconds: float = 0.0
    mismatch_lines: list = field(default_factory=list)
    error_lines: list = field(default_factory=list)
    impl_lines: dict = field(default_factory=dict)
    mismatch_total: int = 0
    candidates: list = field(default_factory=list, repr=False)  # MISMATCH cases, varied first
    no_flush: bool = False  # blocks equal to the flushed result were counted as MISMATCH
    mode: str = "run"  # how the adapter gave the outputs: run, record or compare (adapters.base)
    diagnosis: object = None  # the diagnosis of its MISMATCH cases (diagnose.Diagnosis), if run
    identify: list = field(default_factory=list)  # [(profile, cases reproduced, of)] (--identify)

    @property
    def cases(self) -> int:
        return sum(self.counts)

    def row(self) -> dict:
        t = self.target
        c = self.counts
        return {"library": self.library, "version": self.version, "operation": t.operation,
                "format": t.format, "profile": t.profile.name, "modes": t.modes, "cases": self.cases,
                "pass": c[PASS], "mismatch": c[MISMATCH], "impl-defined": c[IMPL],
                "unsupported": c[UNSUPPORTED], "error": c[ERROR]}
