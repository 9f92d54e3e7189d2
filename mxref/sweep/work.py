"""What a sweep checks, cut into chunks, and the work of one chunk (plain NumPy: no Dask here).

A *job* is one comparison: ``("elements", fmt, rounding, overflow, nan)`` or ``("scales", fmt,
rule)``. A *chunk* is one job over one range [lo, hi) of input bit patterns; its key (a string)
names both, so a checkpoint stays valid whatever else changes. A chunk's result is a small dict:
``{"key", "n", "mismatches", "first": [hex lines]}``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .oracle import encode_oracle, input_values, scale_oracle

__all__ = ["DETERMINISTIC_ROUNDINGS", "INPUT_BITS", "Job", "default_jobs", "chunks", "check_chunk",
           "SWEEP_FORMATS", "mx_name_of"]

DETERMINISTIC_ROUNDINGS = ("rne", "ties_away", "toward_zero", "up", "down")
#: Input kinds and their bit counts.
INPUT_BITS = {"float32": 32, "float16": 16, "bfloat16": 16}
#: The MX v1.0 element formats, in mxref's order.
SWEEP_FORMATS = ("fp8_e4m3", "fp8_e5m2", "fp6_e2m3", "fp6_e3m2", "fp4_e2m1", "int8")
#: How many mismatches a chunk reports by name (all are counted).
FIRST = 10


def mx_name_of(fmt: str) -> str:
    """The MX format (mxref name) whose elements are ``fmt``."""
    from ..formats import MX_FORMATS

    for name, mxf in MX_FORMATS.items():
        if mxf.element.name == fmt:
            return name
    raise ValueError(f"no MX format has {fmt} elements")


@dataclass(frozen=True)
class Job:
    kind: str  # "elements" or "scales"
    fmt: str
    mode: tuple  # (rounding, overflow, nan) or (rule,)

    @property
    def name(self) -> str:
        return ":".join((self.kind, self.fmt) + tuple(self.mode))


def default_jobs(formats=SWEEP_FORMATS, roundings=DETERMINISTIC_ROUNDINGS, overflows=("saturate", "nonsaturating"),
                 rules=None, nan: str = "zero", elements: bool = True, scales: bool = True) -> list:
    """Every deterministic element job (nonsaturating only for formats with Inf or NaN) and
    every scale-rule job, for the formats given."""
    from ..formats import element_format
    from ..options import SCALE_RULES

    out = []
    for f in formats:
        row = element_format(f)
        if elements:
            for r in roundings:
                for o in overflows:
                    if o == "nonsaturating" and row.nonfinite == "finite":
                        continue
                    out.append(Job("elements", row.name, (r, o, nan)))
        if scales:
            for rule in (SCALE_RULES if rules is None else rules):
                out.append(Job("scales", row.name, (rule,)))
    return out


def chunks(job: Job, inputs: str, lo: int, hi: int, size: int) -> list:
    """[(key, job, inputs, lo, hi)] of the chunks of ``job`` over bit patterns [lo, hi)."""
    out = []
    for a in range(lo, hi, size):
        b = min(a + size, hi)
        out.append((f"{job.name}|{inputs}|{a:08x}-{b:08x}", job, inputs, a, b))
    return out


def _default_encoder(x, fmt, *, rounding, overflow, nan):
    from ..elements import encode

    return encode(x, fmt, rounding=rounding, overflow=overflow, nan=nan)


def _default_scaler(x, fmt, *, rule):
    from ..conversion import quantize

    return quantize(x, mx_name_of(fmt), block_size=1, scale_rule=rule).scales.reshape(-1)


def check_chunk(key: str, job: Job, inputs: str, lo: int, hi: int, encoder=None, scaler=None) -> dict:
    """Compare mxref with the oracle on input bit patterns [lo, hi); the chunk's result dict.

    ``encoder(x, fmt, rounding=, overflow=, nan=)`` (default mxref.encode) and ``scaler(x, fmt,
    rule=)`` (default: the scales of mxref.quantize on one-element blocks) are the code under
    test. Hex lines: ``input got expected``."""
    bits = np.arange(lo, hi, dtype=np.uint64)
    x, x64 = input_values(bits, inputs)
    width = INPUT_BITS[inputs] // 4
    if job.kind == "elements":
        rounding, overflow, nan = job.mode
        got = np.asarray((encoder or _default_encoder)(x, job.fmt, rounding=rounding, overflow=overflow, nan=nan))
        exp = encode_oracle(x64, job.fmt, rounding, overflow, nan)
    else:
        (rule,) = job.mode
        keep = np.isfinite(x64) & (x64 > 0)
        bits, x = bits[keep], x[keep]
        b32 = x.astype(np.float32).view(np.uint32) if inputs != "float32" else bits.astype(np.uint32)
        if x.size == 0:
            return {"key": key, "n": 0, "mismatches": 0, "first": []}
        got = np.asarray((scaler or _default_scaler)(x, job.fmt, rule=rule))
        exp = scale_oracle(b32, job.fmt, rule)
    bad = np.nonzero(got.reshape(-1) != exp.reshape(-1))[0]
    first = [f"{int(bits[i]):0{width}x} {int(got.flat[i]):02x} {int(exp.flat[i]):02x}" for i in bad[:FIRST]]
    return {"key": key, "n": int(bits.size), "mismatches": int(bad.size), "first": first}
