"""Conformance checker: run an MX library against mxref and report every difference, classified.

``python -m mxref.conformance`` (or ``python tools/conformance.py``) feeds a library TestFloat-style
cases -- per-format boundary tables crossed with seeded random data -- and compares every result
bit for bit with mxref, in the mode the library claims (its *profile*). Each case is one of:

  PASS               equal bit for bit (NaN values compare equal whatever their payload);
  MISMATCH           wrong against the rule the library claims;
  IMPL_DEFINED:<id>  a difference the specification leaves open (:data:`IMPL_DEFINED_IDS`);
  UNSUPPORTED        the library cannot take the case (e.g. a ragged length, a missing format);
  ERROR              the library raised on a case whose result the specification defines.

Operations: ``quantize`` (MX block conversion, MX §6.3: scale codes, element codes and/or the
dequantized values X * P_i, MX §5.1; one case per block), ``encode`` (element conversion, MX §5.3 /
OFP8 §5.2.1; one case per value), ``encode_e8m0`` (a value to the E8M0 scale format, MX §5.4.1).
``quantize`` also covers NVFP4 (format ``nvfp4``, not MX v1.0: :mod:`mxref.ext.nvfp4`; blocks of
16, unsigned E4M3 scale, NaN scale code 0x7F) for the torchao adapter. Outputs in the spec_vectors
layout add ``decode``, ``dequantize`` (codes to X * P_i), ``pack``, ``swizzle_scales`` and
``matmul`` (:class:`VectorsAdapter`; one case per code, block, row, byte or C element).
Adapters (:data:`ADAPTERS`): ``ml_dtypes``, ``gfloat``, ``torchao``, ``microxcaling`` (recorded
outputs), ``dump`` (a directory written by any implementation: ``dump.json`` and .npy files, see
:class:`DumpAdapter`, or the spec_vectors layout, see :class:`VectorsAdapter`), and ``mxref``
itself (a self-check, and the base of the fault-injection tests).

Levels (``--level``), minimum cases per (operation, format, input dtype) -- :data:`LEVEL_MINIMUM`:
level 1: 1,000 blocks (quantize), 10,000 values (encode), 5,000 values (encode_e8m0);
level 2: 10,000 blocks, 200,000 values (every float16 and bfloat16 pattern included), 100,000.
Cases are deterministic for a seed. A failing block is shrunk (elements set to +0 one at a time,
kept while the block still mismatches) to a block where no single non-zero element can be
removed before it is reported. Exit status: 0 no MISMATCH and no ERROR; 1 MISMATCH or ERROR
found (``--strict``: IMPL_DEFINED counts as MISMATCH); 2 bad arguments, an unreadable dump or
recording (a file name leading out of its directory included), or a run that compared no case
(every case UNSUPPORTED, or no target matched: the message says why); 3 a library asked for by
name is not installed. Peer differences seen before are noted on MISMATCH lines only on the
versions they were seen on (:data:`KNOWN_DIFFERENCES`).

This module needs NumPy only; each adapter imports its library when it runs, and ``tabulate`` is
used for the summary when installed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .conversion import MX_FORMATS, SCALE_RULES, MXArray, mx_format, quantize
from .elements import decode, encode
from .formats import element_format
from .options import ROUNDING_MODES
from .scale import encode_e8m0

__all__ = [
    "IMPL_DEFINED_IDS",
    "LEVEL_MINIMUM",
    "ADAPTERS",
    "Profile",
    "Target",
    "Output",
    "Adapter",
    "MxrefAdapter",
    "MlDtypesAdapter",
    "GfloatAdapter",
    "TorchaoAdapter",
    "MicroxcalingAdapter",
    "DumpAdapter",
    "VectorsAdapter",
    "Report",
    "KnownDifference",
    "KNOWN_DIFFERENCES",
    "check",
    "cases",
    "write_dump",
    "parse_line",
    "main",
]

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
_ID_BIT = {k: 1 << i for i, k in enumerate(IMPL_DEFINED_IDS)}

#: Minimum cases per (operation, format, input dtype) at each level (:func:`cases` ensures them).
LEVEL_MINIMUM = {
    1: {"quantize": 1_000, "encode": 10_000, "encode_e8m0": 5_000},
    2: {"quantize": 10_000, "encode": 200_000, "encode_e8m0": 100_000},
}

PASS, MISMATCH, IMPL, UNSUPPORTED, ERROR = range(5)
_CLASS_NAMES = ("pass", "mismatch", "impl-defined", "unsupported", "error")
_OPERATIONS = ("quantize", "encode", "encode_e8m0")
#: operations only outputs in the spec_vectors layout have (:class:`VectorsAdapter`)
_VECTOR_OPERATIONS = ("decode", "dequantize", "pack", "swizzle_scales", "matmul")
_NVFP4 = "nvfp4"  # the NVFP4 quantize target's format name (mxref.ext.nvfp4; not MX v1.0)
_ELEMENTS = ("fp8_e4m3", "fp8_e5m2", "fp6_e2m3", "fp6_e3m2", "fp4_e2m1", "int8")
_SHRINK_LIMIT = 64  # blocks shrunk per target (reported lines); the rest are shown as found
_REPO_ROOT = Path(__file__).resolve().parents[1]
#: the deepest nesting of arrays / objects a dump.json or MANIFEST.json may hold (the formats need 4)
_JSON_MAX_DEPTH = 32


# ----- reading untrusted files --------------------------------------------------------------------


def _printable(s, keep: str = "") -> str:
    """s with terminal control characters (C0, DEL, C1, and the format characters such as the
    bidirectional overrides) written as escapes (\\x1b, \\u202e): a library name or version from a
    dump is printed, and must not move the cursor, clear the screen or fake a report line.
    ``keep``: characters left as they are (the report keeps its newlines)."""
    import unicodedata

    s = str(s)
    if s.isprintable() and not keep:
        return s
    out = []
    for ch in s:
        if ch in keep or (ch.isprintable() and unicodedata.category(ch) != "Cf") or ch == " ":
            out.append(ch)
        else:
            out.append(ascii(ch)[1:-1] if ord(ch) > 0xFF or ord(ch) < 0x80 else f"\\x{ord(ch):02x}")
    return "".join(out)


def _short(v, n: int = 80) -> str:
    """repr of a value from a file, escaped and shortened: for error messages."""
    r = _printable(repr(v))
    return r if len(r) <= n else r[: n - 3] + "..."


def _json_depth_ok(obj, limit: int = _JSON_MAX_DEPTH) -> bool:
    """Whether obj nests arrays / objects at most ``limit`` deep (iterative: no recursion)."""
    stack = [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, (list, dict)):
            if d > limit:
                return False
            stack.extend((c, d + 1) for c in (o.values() if isinstance(o, dict) else o))
    return True


def _read_json(path: Path, what: str, err):
    """The JSON value of a file; any failure (unreadable, not UTF-8, not JSON, nested deeper than
    _JSON_MAX_DEPTH, which would raise RecursionError in the parser) is err(message)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise err(f"{what} is not readable UTF-8 text ({type(exc).__name__}: {exc})") from None
    try:
        obj = json.loads(text)
    except RecursionError:
        raise err(f"{what} is nested too deeply (arrays / objects at most {_JSON_MAX_DEPTH} deep)") from None
    except ValueError as exc:
        raise err(f"{what} is not valid JSON ({exc})") from None
    if not _json_depth_ok(obj):
        raise err(f"{what} is nested too deeply (arrays / objects at most {_JSON_MAX_DEPTH} deep)")
    return obj


def _confined(root: Path, name, what: str, err) -> Path:
    """root / name, refused (err(message)) unless name is a non-empty relative path string
    without '..' whose resolved location (symlinks followed) stays inside root: the names in a
    dump.json or MANIFEST.json must not read files elsewhere on the machine."""
    if not isinstance(name, str) or not name:
        raise err(f"{what} must be a non-empty file name (a string), got {_short(name)}")
    if "\x00" in name or any(not (ch.isprintable() or ch == " ") for ch in name):
        raise err(f"{what} {_short(name)}: control characters are not allowed in file names")
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or Path(name).is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise err(f"{what} {_short(name)} must be a path relative to the directory, not absolute")
    if ".." in parts:
        raise err(f"{what} {_short(name)} must stay inside the directory ('..' is not allowed)")
    try:
        top = root.resolve()
        p = (root / name).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop, a name too long
        raise err(f"{what} {_short(name)}: cannot resolve it ({type(exc).__name__}: {exc})") from None
    if not p.is_relative_to(top):
        raise err(f"{what} {_short(name)} leads outside the directory (a symlink to {_short(str(p))}); "
                  "every file must be inside it")
    return p


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
        if self.operation == "quantize" and self.format == _NVFP4:
            opts = dict(p.options)
            pts = opts.pop("per_tensor_scale", None)
            s = f"block={self.block_size} pts={_pts_str(pts)}" + "".join(f" {k}={v}" for k, v in sorted(opts.items()))
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


def _pts_str(pts) -> str:
    """An NVFP4 per-tensor scale in a modes text: none, amax, or its float32 value (shortest
    text that reads back as the same float32)."""
    if pts is None or isinstance(pts, str):
        return str(pts).lower()
    return str(np.float32(pts))


def _element_of(target: Target):
    """The element format of a quantize / dequantize target (NVFP4: E2M1)."""
    if target.format == _NVFP4:
        return element_format("fp4_e2m1")
    return mx_format(target.format).element


def _scale_nan_code(target: Target) -> int:
    """The scale code that makes a block NaN: E8M0 0xFF (MX §5.4.1); NVFP4's unsigned E4M3 0x7F."""
    return 0x7F if target.format == _NVFP4 else 0xFF


# ----- case generation (TestFloat-style) ------------------------------------------------------


def _rng(seed: int, *key) -> np.random.Generator:
    """A generator for one (operation, format, dtype), independent of which targets run."""
    return np.random.default_rng([int(seed), zlib.crc32(":".join(map(str, key)).encode())])


def _neighbours(v, dt) -> np.ndarray:
    """v and both of its neighbours in dt (finite, non-negative values stay so)."""
    v = np.asarray(v, dtype=dt)
    with np.errstate(all="ignore"):
        return np.concatenate([v, np.nextafter(v, dt.type(0)), np.nextafter(v, dt.type(np.inf))])


def _magnitudes(el) -> np.ndarray:
    """Every finite non-negative value of an element format, ascending (float64, exact)."""
    v = decode(np.arange(el.num_codes), el, np.float64)
    v = v[np.isfinite(v) & (v >= 0)]
    return np.unique(v)


def _amax_table(el, level: int, dt) -> np.ndarray:
    """Block maxima at the boundaries of every scale rule, over the exponent range, with their
    neighbours in dt: powers of two (FLOOR/CEIL), the EVEN carry threshold 2 - 2^-(m+1), the
    element max (RCEIL/ROUND_DOWN, clipping) and the value that rounds past it, and 1.5."""
    m = el.mantissa_bits - (1 if el.integer else 0)
    emax = el.emax
    top_half_ulp = 2.0 ** (emax - m - 1)
    bases = np.array([1.0, 1.5, 2.0 - 2.0 ** -(m + 1), el.max / 2.0**emax,
                      (el.max + top_half_ulp) / 2.0**emax])
    if level == 1:
        ks = {-149, -148, -145, -140, -135, -133, -130, -129, -128, -127, -126, -125, -124, -120,
              -128 + emax, -127 + emax, -126 + emax, -125 + emax, -64, -17, -2, -1, 0, 1, 2, 3,
              emax, emax + 1, 17, 64, 100, 120, 125, 126, 127}
    else:
        ks = set(range(-149, 128))
    if dt == np.float64:
        ks |= {-1074, -1000, -160, -150, 128, 130, 200} if level == 2 else {-160, 128}
    ks = np.array(sorted(ks))
    with np.errstate(all="ignore"):
        v = np.ldexp(bases[:, None], ks[None, :]).reshape(-1)
        v = _neighbours(v.astype(dt), dt)
    v = v[np.isfinite(v) & (v > 0)]
    return np.unique(v)


def _blocks_around(amax, el, rng, dt, k: int = 32) -> np.ndarray:
    """One block of k per amax: ±amax at a random position; the other elements mix uniform
    values below amax, exact ties (and their neighbours) and representable values after scaling
    by 2^(floor(log2 amax) - emax + d), d in {-1, 0, 1}, values far below (underflow), float32
    subnormals and signed zeros."""
    a = np.asarray(amax, np.float64)[:, None]

    def scaled():  # drawn after the kinds, before the grid indices (the case stream is fixed)
        se = np.clip(np.frexp(a)[1] - 1 - el.emax + rng.integers(-1, 2, size=(len(a), k)), -127, 127)
        return lambda v: np.ldexp(v, se)

    return _mixed_blocks(a, _magnitudes(el), rng, dt, k, [0.3, 0.3, 0.15, 0.15, 0.1], 41, scaled)


def _mixed_blocks(a, mags, rng, dt, k, p, far_max, scaled) -> np.ndarray:
    """Blocks of k around amax a (n, 1): kinds drawn with probabilities p -- uniform below amax,
    exact ties of the element grid ``mags`` (and their float neighbours) and grid values, both
    through ``scaled()``'s map, values 2^-1 ... 2^-(far_max-1) of amax, float32 subnormals or
    zeros -- random signs, and +-amax at a random position."""
    n = len(a)
    u = rng.random((n, k))
    kind = rng.choice(5, size=(n, k), p=p)
    to_block = scaled()
    i = rng.integers(0, len(mags) - 1, size=(n, k))
    with np.errstate(all="ignore"):
        tie = to_block((mags[i] + mags[i + 1]) / 2)
        rep = to_block(mags[i])
        far = a * np.ldexp(1.0 + u, -rng.integers(1, far_max, size=(n, k)))
        tiny = np.where(rng.random((n, k)) < 0.5, 0.0,
                        np.ldexp(rng.integers(1, 1 << 23, size=(n, k)).astype(np.float64), -149))
        c = np.choose(kind, [a * u, tie, rep, far, tiny])
        c = np.where(c > a, a * u, c).astype(dt)
        step = rng.integers(-1, 2, size=(n, k))
        c = np.where((kind == 1) & (step < 0), np.nextafter(c, dt.type(0)), c)
        c = np.where((kind == 1) & (step > 0), np.nextafter(c, dt.type(np.inf)), c)
    c = np.where(c > a.astype(dt), a.astype(dt), c)
    c = np.where(rng.random((n, k)) < 0.5, -c, c)
    pos = rng.integers(0, k, size=n)
    sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    c[np.arange(n), pos] = (sign * a[:, 0]).astype(dt)
    return c.astype(dt)


def _special_blocks(el, rng, dt, level: int) -> np.ndarray:
    """NaN, Inf, zero and -0 blocks, single non-zero elements, constant and extreme blocks."""
    k = 32
    f32max = np.float64(np.finfo(np.float32).max)
    amax = np.abs(_amax_table(el, 1, dt)).astype(np.float64)
    base = lambda n: _blocks_around(rng.choice(amax, n), el, rng, dt).astype(np.float64)  # noqa: E731
    out = []
    out += [np.zeros(k), -np.zeros(k), np.where(rng.random(k) < 0.5, -0.0, 0.0)]
    positions = [0, 1, 15, 31] if level == 1 else list(range(k))
    for p in positions:
        b = base(4)
        b[0, p] = np.nan
        b[1, p] = -np.nan
        b[2, p] = np.inf
        b[3, p] = -np.inf
        out += list(b)
        z = np.zeros(k)
        z[p] = np.inf
        out.append(z)
    b = base(3)
    b[0, :3] = [np.nan, np.inf, -np.inf]
    b[1, :2] = [np.inf, f32max]
    b[2, :] = np.nan
    out += list(b)
    for v in [2.0**-149, 3 * 2.0**-149, 2.0**-127, 1.5 * 2.0**-127, 2.0**-126, 1.0, f32max, 2.0**127]:
        for p in (0, 31):
            z = np.zeros(k) * np.where(rng.random(k) < 0.5, -1, 1)
            z[p] = -v if p else v
            out.append(z)
    out.append(np.full(k, f32max) * np.where(rng.random(k) < 0.5, -1, 1))
    out.append(np.full(k, 2.0**-149))
    out.append(np.ldexp(rng.integers(1, 1 << 23, size=k).astype(np.float64), -149))
    b = base(4)
    b[:, 5] = -0.0
    out += list(b)
    with np.errstate(all="ignore"):
        return np.array(out).astype(dt)


def _random_blocks(n: int, rng, dt) -> np.ndarray:
    """Normal data at random scales, random bit patterns, and wide-range blocks."""
    k = 32
    n1, n2 = n // 3, n // 3
    n3 = n - n1 - n2
    with np.errstate(all="ignore"):
        a = rng.standard_normal((n1, k)) * np.exp2(rng.integers(-135, 121, size=(n1, 1)).astype(np.float64))
        if dt == np.float32:
            bits = rng.integers(0, 1 << 32, size=(n2, k), dtype=np.uint64).astype(np.uint32)
            bits = np.where((bits & 0x7F800000) == 0x7F800000, bits & 0xBFFFFFFF, bits).astype(np.uint32)
            b = bits.view(np.float32).astype(np.float64)
        else:
            b = (rng.standard_normal((n2, k)) * np.exp2(rng.integers(-160, 140, size=(n2, k)).astype(np.float64)))
        c = (1 + rng.random((n3, k))) * np.exp2(rng.integers(-149, 128, size=(n3, k)).astype(np.float64))
        c = np.where(rng.random((n3, k)) < 0.5, -c, c)
        out = np.concatenate([a, b, c]).astype(dt)
    return np.where(np.isfinite(out), out, dt.type(0))


def _ragged_rows(el, rng, dt, level: int) -> list[np.ndarray]:
    """Rows whose length is not a multiple of 32: full blocks and a short last block, each built
    around a boundary amax."""
    lengths = (1, 7, 31, 33, 63, 100) if level == 1 else (1, 2, 3, 5, 7, 9, 15, 17, 31, 33, 47, 63, 65, 95, 100, 127, 129)
    rows_per = 8 if level == 1 else 40
    table = _amax_table(el, 1, dt)
    out = []
    for L in lengths:
        parts = []
        nfull, short = divmod(L, 32)
        for _ in range(nfull):
            parts.append(_blocks_around(rng.choice(table, rows_per), el, rng, dt, 32))
        if short:
            parts.append(_blocks_around(rng.choice(table, rows_per), el, rng, dt, short))
        out.append(np.concatenate(parts, axis=1))
    return out


def _quantize_cases(fmt: str, level: int, seed: int, dtype: str) -> list[np.ndarray]:
    dt = np.dtype(dtype)
    el = mx_format(fmt).element
    rng = _rng(seed, "quantize", fmt, dtype)
    table = _amax_table(el, level, dt)
    reps = 1 if level == 1 else 2
    parts = [_blocks_around(np.tile(table, reps), el, rng, dt), _special_blocks(el, rng, dt, level)]
    ragged = _ragged_rows(el, rng, dt, level)
    have = sum(len(p) for p in parts) + sum(r.shape[0] * -(-r.shape[1] // 32) for r in ragged)
    need = LEVEL_MINIMUM[level]["quantize"]
    parts.append(_random_blocks(max(need - have, 0) + (200 if level == 1 else 2000), rng, dt))
    return [np.concatenate(parts)] + ragged


def _encode_cases(fmt: str, level: int, seed: int, dtype: str) -> list[np.ndarray]:
    dt = np.dtype(dtype)
    el = element_format(fmt)
    rng = _rng(seed, "encode", fmt, dtype)
    mags = _magnitudes(el)
    mids = (mags[:-1] + mags[1:]) / 2
    top = mags[-1]
    q = top - mags[-2]
    extra = [top + q / 2, top + q, 2 * top, 1.5 * top, mags[1] / 4, mags[1] * 0.75]
    base = np.concatenate([mags, mids, extra])
    parts = [_neighbours(np.concatenate([base, -base]), dt)]
    if dt == np.float64:  # probes of double rounding through float32: just off a tie
        off = np.concatenate([mids, -mids])
        parts.append(off * (1 + 2.0**-30))
        parts.append(off * (1 - 2.0**-30))
    fi = np.finfo(dt)
    parts.append(np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, fi.max, -fi.max, fi.smallest_subnormal,
                           -fi.smallest_subnormal, fi.tiny, 2.0**-149, 1e-30, -1e-30], dtype=dt))
    n_rand = 10_000 if level == 1 else 150_000
    # values in and around the format's range, every mantissa bit random
    m_bits = 23 if dt == np.float32 else 52
    lo = el.emin - el.mantissa_bits - 4
    e = rng.integers(lo, el.emax + 4, size=n_rand)
    frac = rng.integers(0, 1 << m_bits, size=n_rand, dtype=np.uint64).astype(np.float64)
    with np.errstate(all="ignore"):
        r = np.ldexp(1.0 + np.ldexp(frac, -m_bits), e)
    r = np.where(rng.random(n_rand) < 0.5, -r, r).astype(dt)
    parts.append(r)
    # any bit pattern (NaN payloads, Inf, subnormals included)
    nb = 2_000 if level == 1 else 20_000
    if dt == np.float32:
        parts.append(rng.integers(0, 1 << 32, size=nb, dtype=np.uint64).astype(np.uint32).view(np.float32))
    else:
        parts.append(rng.integers(0, np.iinfo(np.int64).max, size=nb, dtype=np.int64).view(np.float64)
                     * np.where(rng.random(nb) < 0.5, -1, 1))
    if level == 2:
        f16 = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
        bf16 = (np.arange(1 << 16, dtype=np.uint32) << 16).view(np.float32)
        with np.errstate(all="ignore"):
            parts += [f16.astype(dt), bf16.astype(dt)]
    with np.errstate(all="ignore"):
        return [np.concatenate([np.asarray(p).astype(dt) for p in parts])]


def _e8m0_cases(level: int, seed: int, dtype: str) -> list[np.ndarray]:
    dt = np.dtype(dtype)
    rng = _rng(seed, "encode_e8m0", dtype)
    ks = np.arange(-149, 128)
    bases = np.array([1.0, 1.25, 1.5, 1.75])
    with np.errstate(all="ignore"):
        v = _neighbours(np.ldexp(bases[:, None], ks[None, :]).reshape(-1).astype(dt), dt)
    fi = np.finfo(dt)
    special = np.array([0.0, -0.0, -1.0, -2.0**-130, -np.inf, np.inf, np.nan, fi.max, fi.smallest_subnormal], dt)
    n = 3_000 if level == 1 else 100_000
    if dt == np.float32:
        r = rng.integers(1, 0x7F800000, size=n, dtype=np.int64).astype(np.uint32).view(np.float32)
    else:
        r = np.exp2(rng.uniform(-160, 130, size=n))
    return [np.concatenate([v[np.isfinite(v)], special, r.astype(dt)])]


# NVFP4 (mxref.ext.nvfp4, not MX v1.0): blocks of 16 around the unsigned E4M3 block-scale grid

#: the tensor amax the NVFP4 cases with the "amax" per-tensor scale are built for
_NVFP4_CASE_AMAX = 100.0


def _nvfp4_case_pts(profile: Profile) -> tuple:
    """(P the NVFP4 cases are placed for, the cap on |x| or None). No per-tensor scale: P = 1;
    a given one: itself; "amax": P = fp32(100 / 2688), and each batch (one tensor) gets 100 as
    its largest finite |x|, so that fp32(amax_T / 2688) is that P."""
    pts = dict(profile.options).get("per_tensor_scale")
    if pts is None:
        return 1.0, None
    if isinstance(pts, str):
        div = np.float32(element_format("fp8_e4m3").max * element_format("fp4_e2m1").max)
        return float(np.float32(_NVFP4_CASE_AMAX) / div), _NVFP4_CASE_AMAX  # one float32 division
    return float(pts), None


def _nvfp4_amax_table(P: float, cap, dt) -> np.ndarray:
    """Block maxima at the boundaries of the block scale S = E4M3(amax / (6 P)): 6 P times every
    E4M3 magnitude, every midpoint of neighbours, the values past 448, the region that rounds to
    0 (and is clamped to 2^-6), with their neighbours in dt; float32 extremes unless capped."""
    e4 = _magnitudes(element_format("fp8_e4m3"))[1:]
    s = np.concatenate([e4, (e4[:-1] + e4[1:]) / 2, [464.0, 480.0, 2.0**-10, 2.0**-11, 3 * 2.0**-11]])
    v = list(6.0 * P * s) + [2.0**-149, 3 * 2.0**-149, 2.0**-127, 2.0**-126, 1.0]
    if cap is None:
        v += [6.0 * P * 448 * 2.0**k for k in (1, 10, 40)] + [2.0**100, 2.0**127,
                                                               float(np.finfo(np.float32).max)]
    with np.errstate(all="ignore"):
        v = _neighbours(np.array(v).astype(dt), dt)
    v = v[np.isfinite(v) & (v > 0)]
    if cap is not None:
        v = v[v <= cap]
    return np.unique(v)


def _nvfp4_blocks_around(amax, P: float, rng, dt, k: int = 16) -> np.ndarray:
    """One block of k per amax: +-amax at a random position; the others uniform below amax, E2M1
    ties and values times the block's unit P S (S = E4M3 of amax / (6 P), clamped to [2^-6, 448])
    and their neighbours, values far below, float32 subnormals and signed zeros."""
    e4 = element_format("fp8_e4m3")
    a = np.asarray(amax, np.float64)[:, None]
    with np.errstate(all="ignore"):
        sc = decode(encode(a[:, 0] / (6.0 * P), e4, rounding="rne", overflow="saturate"), e4, np.float64)
    unit = (P * np.maximum(sc, 2.0**-6))[:, None]
    return _mixed_blocks(a, _magnitudes(element_format("fp4_e2m1")), rng, dt, k, [0.25, 0.3, 0.2, 0.15, 0.1], 30,
                         lambda: (lambda v: v * unit))


def _nvfp4_special_blocks(P: float, cap, rng, dt, level: int) -> np.ndarray:
    """NaN, Inf, zero and -0 blocks, single non-zero elements (float32 subnormals, the block
    scale's zero and clamp regions, the largest value), constant and subnormal blocks."""
    k = 16
    top = cap if cap is not None else float(np.finfo(np.float32).max)
    table = _nvfp4_amax_table(P, cap, dt).astype(np.float64)
    base = lambda n: _nvfp4_blocks_around(rng.choice(table, n), P, rng, dt).astype(np.float64)  # noqa: E731
    out = [np.zeros(k), -np.zeros(k), np.where(rng.random(k) < 0.5, -0.0, 0.0)]
    for p in ([0, 1, 7, 15] if level == 1 else list(range(k))):
        b = base(4)
        b[0, p], b[1, p], b[2, p], b[3, p] = np.nan, -np.nan, np.inf, -np.inf
        out += list(b)
        z = np.zeros(k)
        z[p] = np.inf
        out.append(z)
    b = base(3)
    b[0, :3] = [np.nan, np.inf, -np.inf]
    b[1, :2] = [np.inf, top]
    b[2, :] = np.nan
    out += list(b)
    for v in (2.0**-149, 3 * 2.0**-149, 2.0**-126, 6 * P * 2.0**-10, 6 * P * 2.0**-9, 6 * P * 2.0**-6,
              6 * P * 448, 1.0, top):
        if v > top:
            continue
        for p in (0, k - 1):
            z = np.zeros(k) * np.where(rng.random(k) < 0.5, -1, 1)
            z[p] = -v if p else v
            out.append(z)
    out.append(np.full(k, top) * np.where(rng.random(k) < 0.5, -1, 1))
    out.append(np.full(k, 2.0**-149))
    out.append(np.ldexp(rng.integers(1, 1 << 23, size=k).astype(np.float64), -149))
    b = base(4)
    b[:, 5] = -0.0
    out += list(b)
    with np.errstate(all="ignore"):
        return np.array(out).astype(dt)


def _nvfp4_random_blocks(n: int, P: float, cap, rng, dt) -> np.ndarray:
    """Normal data at random block magnitudes around the block-scale range 6 P [2^-9, 448], and
    wide-range blocks (uncapped: any finite float32 bit pattern too); |x| <= cap when capped."""
    k = 16
    e0 = int(np.frexp(6.0 * P)[1]) - 1
    top = e0 + (7 if cap is not None else 12)
    n1 = n // 2
    n2 = n - n1 if cap is not None else n // 4
    n3 = n - n1 - n2
    with np.errstate(all="ignore"):
        a = rng.standard_normal((n1, k)) * np.exp2(rng.integers(e0 - 14, top, size=(n1, 1)).astype(np.float64))
        b = (1 + rng.random((n2, k))) * np.exp2(rng.integers(e0 - 20, top, size=(n2, k)).astype(np.float64))
        b = np.where(rng.random((n2, k)) < 0.5, -b, b)
        parts = [a, b]
        if n3:
            bits = rng.integers(0, 1 << 32, size=(n3, k), dtype=np.uint64).astype(np.uint32)
            bits = np.where((bits & 0x7F800000) == 0x7F800000, bits & 0xBFFFFFFF, bits).astype(np.uint32)
            parts.append(bits.view(np.float32).astype(np.float64))
        out = np.concatenate(parts)
        if cap is not None:
            out = np.clip(out, -cap, cap)
        out = out.astype(dt)
    return np.where(np.isfinite(out), out, dt.type(0))


def _nvfp4_cases(target: Target, level: int, seed: int) -> list[np.ndarray]:
    """The NVFP4 batches: whole blocks of 16 (boundary table, specials, random), then rows of
    ragged lengths; every batch is one tensor (its own per-tensor scale under "amax")."""
    dt = np.dtype(target.dtype)
    P, cap = _nvfp4_case_pts(target.profile)
    pts_key = _pts_str(dict(target.profile.options).get("per_tensor_scale"))
    rng = _rng(seed, "quantize", _NVFP4, target.dtype, pts_key)
    k = target.block_size
    table = _nvfp4_amax_table(P, cap, dt)
    parts = [_nvfp4_blocks_around(np.tile(table, 1 if level == 1 else 4), P, rng, dt, k),
             _nvfp4_special_blocks(P, cap, rng, dt, level)]
    lengths = (7, 17, 48, 80) if level == 1 else (1, 7, 15, 17, 31, 33, 48, 80, 112, 128)
    ragged = []
    for L in lengths:
        nfull, short = divmod(L, k)
        row = [_nvfp4_blocks_around(rng.choice(table, 8 if level == 1 else 40), P, rng, dt, k) for _ in range(nfull)]
        if short:
            row.append(_nvfp4_blocks_around(rng.choice(table, 8 if level == 1 else 40), P, rng, dt, short))
        ragged.append(np.concatenate(row, axis=1))
    have = sum(len(p) for p in parts) + sum(r.shape[0] * -(-r.shape[1] // k) for r in ragged)
    need = LEVEL_MINIMUM[level]["quantize"]
    parts.append(_nvfp4_random_blocks(max(need - have, 0) + (200 if level == 1 else 2000), P, cap, rng, dt))
    out = [np.concatenate(parts)] + ragged
    if cap is not None:  # each batch's largest finite |x| is the cap (so P is what the table assumed)
        for b in out:
            b[0, 0] = dt.type(cap)
        # and one all-zero tensor (+0 and -0 rows): its amax gives P = 0
        out.append(np.concatenate([np.zeros((1, k), dt), -np.zeros((1, k), dt)]))
    return out


def cases(target: Target, level: int = 1, seed: int = 0) -> list[np.ndarray]:
    """The inputs of a target: a list of batches (quantize: 2-D, blocks along the last axis,
    the first batch whole blocks, then rows of ragged lengths; encode: 1-D). Deterministic for
    (seed, operation, format, dtype), and for NVFP4 the profile's per-tensor scale."""
    if level not in LEVEL_MINIMUM:
        raise ValueError(f"level must be 1 or 2, got {level!r}")
    with np.errstate(all="ignore"):  # NaN payloads and overflowing products are wanted here
        if target.operation == "quantize" and target.format == _NVFP4:
            out = _nvfp4_cases(target, level, seed)
        elif target.operation == "quantize":
            out = _quantize_cases(target.format, level, seed, target.dtype)
        elif target.operation == "encode":
            out = _encode_cases(target.format, level, seed, target.dtype)
        else:
            out = _e8m0_cases(level, seed, target.dtype)
    n = sum(_count_cases(target, b) for b in out)
    if n < LEVEL_MINIMUM[level][target.operation]:  # pragma: no cover - a generator bug
        raise RuntimeError(f"{target.operation} {target.format}: {n} cases, below the level-{level} minimum")
    return out


def _count_cases(target: Target, batch: np.ndarray) -> int:
    if target.operation == "quantize":
        return batch.shape[0] * -(-batch.shape[1] // target.block_size)
    return batch.shape[0]


# ----- the expected results (mxref) ---------------------------------------------------------------


def _reference(target: Target, x: np.ndarray, **override) -> Output:
    """mxref's result for a batch under the target's profile; ``override``: further keywords of
    mxref.quantize / mxref.encode (an open alternative, or the random bits of stochastic
    rounding)."""
    p = target.profile
    if target.operation == "quantize" and target.format == _NVFP4:
        return _nvfp4_reference(target, x)
    if target.operation == "quantize":
        opts = dict(p.options)
        opts.update(scale_rule=p.scale_rule, rounding=p.rounding, block_size=target.block_size,
                    int8_allow_minus128=p.int8_allow_minus128)
        opts.update(override)
        mx = quantize(x, target.format, axis=-1, **opts)
        return Output(mx.scales.astype(np.int64), mx.elements.astype(np.int64), mx.dequantize(np.float64))
    if target.operation == "encode":
        el = element_format(target.format)
        allow = override.get("int8_allow_minus128", p.int8_allow_minus128)
        c = encode(x, el, rounding=p.rounding, overflow=target.overflow, nan=p.nan or "zero",
                   int8_allow_minus128=allow, random_bits=override.get("random_bits"),
                   random_bit_count=override.get("random_bit_count"))
        return Output(codes=c.astype(np.int64))
    xs = np.where(_nonpositive(x), 1.0, x)
    return Output(codes=encode_e8m0(xs, rounding=p.e8m0_rounding, overflow=p.e8m0_overflow).astype(np.int64))


def _nvfp4_reference(target: Target, x: np.ndarray) -> Output:
    """NVFP4 (not MX v1.0): mxref.ext.quantize_nvfp4 under the profile's options; the values by
    dequantize_nvfp4 with the profile's "dequantize" arithmetic."""
    from .ext.nvfp4 import quantize_nvfp4

    opts = dict(target.profile.options)
    deq = opts.pop("dequantize", "exact")
    q = quantize_nvfp4(x, axis=-1, block_size=target.block_size, **opts)
    return Output(q.scales.astype(np.int64), q.elements.astype(np.int64),
                  q.dequantize(np.float64, arithmetic=deq))


def _nonpositive(x):
    x = np.asarray(x, np.float64)
    return ~np.isnan(x) & ((x <= 0) | np.signbit(x))


# ----- comparison and classification --------------------------------------------------------------


def _same64(a, b):
    """Bit-for-bit equality as float64 (float32 widens exactly); NaN equals NaN."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return (a.view(np.uint64) == b.view(np.uint64)) | (np.isnan(a) & np.isnan(b))


def _decode_codes(codes, el):
    """(values float64, valid) of integer codes that may lie outside the format."""
    c = np.asarray(codes, np.int64)
    valid = (c >= 0) & (c < el.num_codes)
    tab = decode(np.arange(el.num_codes), el, np.float64)
    return tab[np.where(valid, c, 0)], valid


def _to_blocks(a, k: int, fill):
    n, L = a.shape
    nb = -(-L // k)
    pad = nb * k - L
    if pad:
        a = np.concatenate([a, np.full((n, pad), fill, dtype=a.dtype)], axis=1)
    return a.reshape(n * nb, k)


@dataclass
class _Blocks:
    """A quantize batch laid out as blocks (N, k), with the comparison per block."""

    x: np.ndarray          # (N, k) inputs, dtype of the batch, padded with 0
    valid: np.ndarray      # (N, k)
    exp: dict
    got: dict
    cls: np.ndarray        # (N,) class
    ids: np.ndarray        # (N,) impl-defined id bits
    d_scale: np.ndarray    # (N,)
    d_elem: np.ndarray     # (N, k) element positions that differ (codes or values)


def _block_view(out: Output, n: int, L: int, k: int) -> dict:
    d = {}
    if out.scales is not None:
        d["scale"] = np.asarray(out.scales, np.int64).reshape(-1)
    if out.codes is not None:
        d["code"] = _to_blocks(np.asarray(out.codes, np.int64).reshape(n, L), k, 0)
    if out.values is not None:
        d["value"] = _to_blocks(np.asarray(out.values, np.float64).reshape(n, L), k, 0.0)
    return d


def _classify_blocks(target: Target, x: np.ndarray, exp: Output, got: Output, alts: dict) -> _Blocks:
    """Class and impl-defined ids of every block (see IMPL_DEFINED_IDS for the rules)."""
    el = _element_of(target)
    nan_code = _scale_nan_code(target)
    k = target.block_size
    n, L = x.shape
    xb = _to_blocks(x, k, x.dtype.type(0))
    valid = _to_blocks(np.ones((n, L), bool), k, False)
    E = _block_view(exp, n, L, k)
    G = _block_view(got, n, L, k)
    N = xb.shape[0]
    xf = xb.astype(np.float64)
    isnan_x = np.isnan(xf) & valid
    has_nan = isnan_x.any(1)
    has_inf = (np.isinf(xf) & valid).any(1) & ~has_nan
    all_zero = ((xf == 0) | ~valid).all(1)
    has_sub = (valid & (xf != 0) & (np.abs(xf) < 2.0**-126)).any(1)
    regular = ~has_nan & ~has_inf & ~all_zero

    d_scale = G["scale"] != E["scale"] if "scale" in G else np.zeros(N, bool)
    zk = np.zeros((N, k), bool)
    d_code = (G["code"] != E["code"]) & valid if "code" in G else zk
    d_val = ~_same64(G["value"], E["value"]) & valid if "value" in G else zk
    differs = d_scale | d_code.any(1) | d_val.any(1)

    # element-level explanations
    ev, _ = _decode_codes(E["code"], el)
    zero_c = nanp_c = m128_c = zk
    if "code" in G:
        gv, gvalid = _decode_codes(G["code"], el)
        zero_c = d_code & gvalid & (gv == 0) & (ev == 0)
        nanp_c = d_code & gvalid & np.isnan(gv) & np.isnan(ev)
    zero_v = d_val & (G["value"] == 0) & (E["value"] == 0) if "value" in G else zk
    m128_v = zk
    alt = alts.get("int8_minus128")
    if alt is not None:
        A = _block_view(alt, n, L, k)
        if "code" in G:
            m128_c = d_code & (G["code"] == 0x80) & (A["code"] == 0x80)
        if "value" in G:
            m128_v = d_val & (A["code"] == 0x80) & _same64(G["value"], A["value"])
    big_v = zk
    if "value" in G:
        # beyond float32: the value may overflow (±Inf), saturate (±max float32) or become NaN
        f32max = float(np.finfo(np.float32).max)
        gv_ = G["value"]
        big_v = (d_val & np.isfinite(E["value"]) & (np.abs(E["value"]) > f32max)
                 & (np.isnan(gv_) | ((np.signbit(gv_) == np.signbit(E["value"]))
                                     & (np.isinf(gv_) | (np.abs(gv_) == f32max)))))
    code_ok = ~d_code | zero_c | nanp_c | m128_c
    val_ok = ~d_val | zero_v | m128_v | big_v
    elem_ok = (code_ok & val_ok).all(1)
    elem_ids = (np.where((zero_c | zero_v).any(1), _ID_BIT["signed_zero"], 0)
                | np.where((m128_c | m128_v).any(1), _ID_BIT["int8_minus128"], 0)
                | np.where(nanp_c.any(1), _ID_BIT["nan_payload"], 0)
                | np.where(big_v.any(1), _ID_BIT["value_beyond_fp32"], 0))

    cls = np.where(differs, MISMATCH, PASS)
    ids = np.zeros(N, np.int64)

    # regular blocks: the scale must agree; flushing float32 subnormals is an open choice
    flush_eq = np.zeros(N, bool)
    fl = alts.get("fp32_subnormal_flush")
    if fl is not None:
        F = _block_view(fl, n, L, k)
        flush_eq = has_sub.copy()
        for key in G:
            same = (G[key] == F[key]) if key != "value" else _same64(G[key], F[key])
            flush_eq &= same.reshape(N, -1).all(1) if key != "scale" else same
    sel = regular & differs & flush_eq
    cls[sel], ids[sel] = IMPL, _ID_BIT["fp32_subnormal_flush"]
    sel = regular & differs & ~flush_eq & ~d_scale & elem_ok
    cls[sel], ids[sel] = IMPL, elem_ids[sel]

    # all-zero blocks: any scale but NaN; zeros of either sign
    zs = all_zero & differs & elem_ok
    if "scale" in G:
        zs &= G["scale"] != nan_code
    cls[zs] = IMPL
    ids[zs] = np.where(d_scale[zs], _ID_BIT["zero_block_scale"], 0) | elem_ids[zs]

    # NaN blocks
    if "scale" in G:
        got_nan_scale = G["scale"] == nan_code
    elif "value" in G:
        got_nan_scale = (np.isnan(G["value"]) | ~valid).all(1)
    else:
        got_nan_scale = np.ones(N, bool)
    vals_nan = (np.isnan(G["value"]) | ~valid).all(1) if "value" in G else np.ones(N, bool)
    nan_scale_both = (has_nan | has_inf) & (E["scale"] == nan_code) & differs & got_nan_scale & vals_nan
    sel = nan_scale_both & ~d_val.any(1)
    cls[sel], ids[sel] = IMPL, _ID_BIT["nan_scale_elements"]
    carry = np.ones(N, bool)
    if "value" in G:
        carry &= (np.isnan(G["value"]) | ~isnan_x).all(1)
    if "code" in G:
        gv2, _ = _decode_codes(G["code"], el)
        carry &= (np.isnan(gv2) | ~isnan_x).all(1)
    sel = has_nan & differs & ~got_nan_scale & carry
    cls[sel], ids[sel] = IMPL, _ID_BIT["nan_block"]

    # blocks holding Inf (no NaN), other than element codes under a NaN scale in both
    sel = has_inf & differs & ~(nan_scale_both & ~d_val.any(1))
    cls[sel], ids[sel] = IMPL, _ID_BIT["inf_block"]
    return _Blocks(xb, valid, E, G, cls, ids, d_scale, d_code | d_val)


def _classify_values(target: Target, x: np.ndarray, exp: Output, got: Output, alts: dict):
    """(class, ids) per value of an encode / encode_e8m0 batch."""
    g = np.asarray(got.codes, np.int64).reshape(-1)
    e = exp.codes.reshape(-1)
    d = g != e
    cls = np.where(d, MISMATCH, PASS)
    ids = np.zeros(g.shape, np.int64)
    if target.operation == "encode_e8m0":
        npos = _nonpositive(x)
        cls[npos], ids[npos] = IMPL, _ID_BIT["e8m0_nonpositive"]
        return cls, ids
    el = element_format(target.format)
    gv, gvalid = _decode_codes(g, el)
    ev, _ = _decode_codes(e, el)
    xf = np.asarray(x, np.float64)
    nan_fin = d & gvalid & np.isnan(xf) & (not el.has_nan) & (target.profile.nan is None)
    rules = [
        ("nan_into_finite", nan_fin),  # the expected code is only a placeholder there
        ("signed_zero", d & ~nan_fin & gvalid & (gv == 0) & (ev == 0)),
        ("nan_payload", d & gvalid & np.isnan(gv) & np.isnan(ev)),
    ]
    alt = alts.get("int8_minus128")
    if alt is not None:
        rules.append(("int8_minus128", d & (g == 0x80) & (alt.codes.reshape(-1) == 0x80)))
    for name, sel in rules:
        cls[sel] = IMPL
        ids[sel] |= _ID_BIT[name]
    return cls, ids


def _open_kind(target: Target, x: np.ndarray):
    """Per case (block or value): the impl-defined id when raising is an acceptable answer."""
    if target.operation == "quantize":
        k = target.block_size
        xb = _to_blocks(x, k, x.dtype.type(0)).astype(np.float64)
        nan = np.isnan(xb).any(1)
        inf = np.isinf(xb).any(1) & ~nan
        return np.where(nan, _ID_BIT["nan_block"], np.where(inf, _ID_BIT["inf_block"], 0))
    xf = np.asarray(x, np.float64)
    if target.operation == "encode_e8m0":
        return np.where(_nonpositive(xf), _ID_BIT["e8m0_nonpositive"], 0)
    el = element_format(target.format)
    if not el.has_nan and target.profile.nan is None:
        return np.where(np.isnan(xf), _ID_BIT["nan_into_finite"], 0)
    return np.zeros(xf.shape, np.int64)


def _alternatives(target: Target, x: np.ndarray, **extra) -> dict:
    """mxref under the open alternatives that are options: INT8 -128, flushing subnormals.
    ``extra``: keywords every mxref call of the batch takes (random bits)."""
    alts = {}
    fmt = target.format
    if fmt == _NVFP4:  # quantize_nvfp4 has neither option
        return alts
    is_int8 = (mx_format(fmt).element if target.operation == "quantize" else
               element_format(fmt) if target.operation == "encode" else None)
    if is_int8 is not None and is_int8.integer and not target.profile.int8_allow_minus128:
        alts["int8_minus128"] = _reference(target, x, int8_allow_minus128=True, **extra)
    if target.operation == "quantize":
        xf = np.abs(x.astype(np.float64))
        if ((xf != 0) & (xf < 2.0**-126)).any():
            alts["fp32_subnormal_flush"] = _reference(target, x, flush_subnormals=True, **extra)
    return alts


# ----- running a library --------------------------------------------------------------------------


class _BadOutput(Exception):
    pass


_BAD_OUTPUT = "bad output: "


def _check_output(target: Target, x: np.ndarray, out) -> Output:
    if not isinstance(out, Output):
        raise _BadOutput(f"the adapter returned {type(out).__name__}, not an Output")
    if target.operation == "quantize":
        n, L = x.shape
        want = {"scales": (n, -(-L // target.block_size)), "codes": (n, L), "values": (n, L)}
    else:
        want = {"codes": x.shape}
    if all(getattr(out, nm) is None for nm in want):
        raise _BadOutput("the library output holds none of " + ", ".join(want))
    for nm, shape in want.items():
        a = getattr(out, nm)
        if a is None:
            continue
        a = np.asarray(a)
        if a.shape != shape:
            raise _BadOutput(f"{nm} has shape {a.shape}, expected {shape}")
        if nm != "values" and a.dtype.kind not in "iu":
            raise _BadOutput(f"{nm} must hold integer codes, got dtype {a.dtype}")
        if nm == "values" and a.dtype.kind != "f":
            raise _BadOutput(f"values must be floating, got dtype {a.dtype}")
    return out


def _merge(a: Output | None, b: Output | None, na: int, nb: int) -> Output | None:
    """Concatenate the outputs of two row ranges; a side that raised (None) is filled with
    placeholders shaped like the other side."""
    if a is None and b is None:
        return None
    parts = [a, b]
    res = Output()
    for nm in ("scales", "codes", "values"):
        have = [getattr(p, nm) for p in parts if p is not None]
        if any(h is None for h in have):
            continue
        arrs = []
        for p, n in zip(parts, (na, nb)):
            if p is None:
                shape = (n,) + np.asarray(have[0]).shape[1:]
                arrs.append(np.full(shape, np.nan if nm == "values" else 0,
                                    dtype=np.float64 if nm == "values" else np.int64))
            else:
                arrs.append(np.asarray(getattr(p, nm), np.float64 if nm == "values" else np.int64))
        setattr(res, nm, np.concatenate(arrs))
    return res


def _guarded(fn, target: Target, x: np.ndarray):
    """(Output or None, {row: message}): run fn on the rows of x; where it raises, split the rows
    in halves to find the rows that raise."""
    try:
        return _check_output(target, x, fn(x)), {}
    except _BadOutput as exc:
        return None, {i: f"{_BAD_OUTPUT}{exc}" for i in range(len(x))}
    except Exception as exc:  # the library raised
        if len(x) == 1:
            return None, {0: f"{type(exc).__name__}: {exc}"[:200]}
    h = len(x) // 2
    oa, ea = _guarded(fn, target, x[:h])
    ob, eb = _guarded(fn, target, x[h:])
    errs = dict(ea)
    errs.update({h + i: m for i, m in eb.items()})
    return _merge(oa, ob, h, len(x) - h), errs


# ----- report lines ------------------------------------------------------------------------------


def _hex(v, dt) -> str:
    dt = np.dtype(dt)
    u = {2: np.uint16, 4: np.uint32, 8: np.uint64}[dt.itemsize]
    return f"0x{int(np.asarray(v, dt).view(u)):0{2 * dt.itemsize}X}"


def _val(v, dt=np.float64) -> str:
    dt = np.dtype(dt)
    v = np.asarray(v, dt)
    if np.isnan(v):
        return "nan"
    if v == 0:
        return "-0" if np.signbit(v) else "0"
    return str(dt.type(v)) if np.dtype(dt) != np.float64 else repr(float(v))


def _scale_str(c, target: Target | None = None) -> str:
    c = int(c)
    if target is not None and target.format == _NVFP4:  # unsigned E4M3 (mxref.ext.nvfp4)
        if c == 0x7F:
            return "0x7F(NaN)"
        if 0 <= c < 0x7F:
            return f"0x{c:02X}({_val(decode(np.array([c]), 'fp8_e4m3', np.float64)[0])})"
        return f"{c}(not an unsigned E4M3 code)"
    if c == 0xFF:
        return "0xFF(NaN)"
    if 0 <= c < 0xFF:
        return f"0x{c:02X}(2^{c - 127})"
    return f"{c}(not an E8M0 code)"


def _code_str(c, el) -> str:
    c = int(c)
    if not 0 <= c < el.num_codes:
        return f"{c}(not a {el.name} code)"
    v = decode(np.array([c]), el, np.float64)[0]
    return f"0x{c:02X}({_val(v)})"


def _code_is_zero(c, el) -> bool:
    c = int(c)
    return 0 <= c < el.num_codes and decode(np.array([c]), el, np.float64)[0] == 0


def _input_str(xb, dt, limit: int = 8, focus=()) -> str:
    """The non-zero inputs of a block, the largest magnitude and the ``focus`` ones first."""
    nz = [i for i in range(len(xb)) if not (xb[i] == 0)]
    if len(nz) > limit:
        mag = np.abs(np.asarray(xb, np.float64))
        first = [int(np.nanargmax(np.where(np.isnan(mag), np.inf, mag)))] + [int(i) for i in focus]
        shown = list(dict.fromkeys(i for i in first if i in nz))[:limit]
        shown += [i for i in nz if i not in shown][: limit - len(shown)]
        nz = sorted(shown) + [i for i in nz if i not in shown]
    items = [f"x[{i}]={_hex(xb[i], dt)}({_val(xb[i], dt)})" for i in nz[:limit]]
    if len(nz) > limit:
        items.append(f"+{len(nz) - limit} more non-zero")
    zeros = len(xb) - len(nz)
    if zeros:
        neg = int(np.signbit(np.asarray(xb, np.float64)[[i for i in range(len(xb)) if xb[i] == 0]]).sum())
        items.append(f"{zeros} zeros" + (f" ({neg} of them -0)" if neg else ""))
    return " ".join(items) if items else "(empty)"


@dataclass
class Line:
    """One reported case: its class and text (TestFloat-like), and the same facts as data."""

    cls: str
    text: str
    data: dict


def _class_label(cls: int, ids: int) -> str:
    if cls == IMPL:
        return "IMPL_DEFINED:" + "+".join(n for n, b in _ID_BIT.items() if ids & b)
    if cls == MISMATCH:
        return "MISMATCH"
    if cls == ERROR:
        return "ERROR"
    return _CLASS_NAMES[cls].upper()


def _strict_note(strict_ids: int) -> str:
    if not strict_ids:
        return ""
    return " [strict: " + "+".join(n for n, b in _ID_BIT.items() if strict_ids & b) + "]"


def _block_line(target: Target, library: str, label: str, xb, exp: dict, got: dict, note: str = "",
                error: str | None = None, extra: dict | None = None) -> Line:
    """A quantize case: the block's non-zero inputs, the scale, and the elements that differ."""
    el = _element_of(target)
    dt = xb.dtype
    focus = [i for i in range(len(xb))
             if ("code" in got and int(got["code"][i]) != int(exp["code"][i]))
             or ("value" in got and not _same64(got["value"][i], exp["value"][i]))]
    head = (f"{label} quantize {target.format} {target.profile.name} ({target.modes}) "
            f"in[{len(xb)}]: {_input_str(xb, dt, focus=focus[:3])}")
    data = dict(cls=label, library=library, operation="quantize", format=target.format,
                profile=target.profile.name, modes=target.modes, block_len=int(len(xb)),
                input_hex=[_hex(v, dt) for v in xb], expected={}, got={})
    parts = []
    es = int(exp["scale"])
    data["expected"]["scale"] = es
    if error is not None:
        parts.append(f"raised {error}")
        data["error"] = error
    elif "scale" in got:
        gs = int(got["scale"])
        data["got"]["scale"] = gs
        parts.append(f"scale {_scale_str(gs, target)}" if gs == es else
                     f"scale got {_scale_str(gs, target)} expected {_scale_str(es, target)}")
    else:
        parts.append(f"scale expected {_scale_str(es, target)}")
    data["expected"]["codes"] = [int(c) for c in exp["code"]]
    data["expected"]["values"] = [_val(v) for v in exp["value"]]
    if error is None:
        if "code" in got:
            data["got"]["codes"] = [int(c) for c in got["code"]]
        if "value" in got:
            data["got"]["values"] = [_val(v) for v in got["value"]]
        diff, zero_only = [], []
        for i in range(len(xb)):
            dc = "code" in got and int(got["code"][i]) != int(exp["code"][i])
            dv = "value" in got and not _same64(got["value"][i], exp["value"][i])
            if dc or dv:
                gz = ("value" not in got or got["value"][i] == 0) and (
                    "code" not in got or _code_is_zero(got["code"][i], el))
                (zero_only if gz and exp["value"][i] == 0 else diff).append(i)
        diff += zero_only  # zeros of the other sign last
        for i in diff[:4]:
            g_s = []
            e_s = []
            if "code" in got:
                g_s.append(_code_str(got["code"][i], el))
            e_s.append(_code_str(exp["code"][i], el))
            if "value" in got:
                g_s.append("=" + _val(got["value"][i]))
            e_s.append("=" + _val(exp["value"][i]))
            parts.append(f"[{i}] got {''.join(g_s)} expected {''.join(e_s)}")
        if len(diff) > 4:
            parts.append(f"+{len(diff) - 4} more elements differ")
        data["differing_elements"] = diff
    if extra:
        data.update(extra)
    return Line(label, head + " | " + " | ".join(parts) + note, data)


def _value_line(target: Target, library: str, label: str, x, exp_code, got_code, note: str = "",
                error: str | None = None) -> Line:
    """An encode / encode_e8m0 case."""
    dt = np.asarray(x).dtype
    head = (f"{label} {target.operation} {target.format} {target.profile.name} ({target.modes}) "
            f"in: {_hex(x, dt)}({_val(x, dt)})")
    if target.operation == "encode_e8m0":
        fmt_code = _scale_str
        exp_s = "(none: no E8M0 value)" if _nonpositive(np.asarray(x)) else fmt_code(exp_code)
    else:
        el = element_format(target.format)
        fmt_code = lambda c: _code_str(c, el)  # noqa: E731
        exp_s = fmt_code(exp_code)
    data = dict(cls=label, library=library, operation=target.operation, format=target.format,
                profile=target.profile.name, modes=target.modes, input_hex=_hex(x, dt),
                input=_val(x, dt), expected=int(exp_code))
    if error is not None:
        body = f"raised {error}"
        data["error"] = error
    else:
        body = f"got {fmt_code(got_code)} expected {exp_s}"
        data["got"] = int(got_code)
    return Line(label, head + " | " + body + note, data)


_LINE_RE = None


def parse_line(text: str) -> dict:
    """Fields of a report line: class, operation, format, profile, modes, input, rest. Raises
    ValueError when the line is not one."""
    import re

    global _LINE_RE
    if _LINE_RE is None:
        _LINE_RE = re.compile(
            r"^(?P<cls>MISMATCH|ERROR|IMPL_DEFINED:[a-z0-9_]+(?:\+[a-z0-9_]+)*) "
            r"(?P<operation>quantize|encode|encode_e8m0|decode|dequantize|pack|swizzle_scales|matmul) "
            r"(?P<format>\S+) (?P<profile>\S+) "
            r"\((?P<modes>[^()]*)\) in(?:\[(?P<block_len>\d+)\])?: (?P<input>.+?) \| (?P<rest>.+)$")
    m = _LINE_RE.match(text)
    if not m:
        raise ValueError(f"not a report line: {text!r}")
    return m.groupdict()


# ----- per-target result --------------------------------------------------------------------------


@dataclass
class TargetResult:
    """Counts for one target, and the cases picked for report lines."""

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
    adapter: object = field(default=None, repr=False)

    def render(self, n: int) -> None:
        """Shrink (live quantize targets) and render the first n MISMATCH candidates."""
        picked = self.candidates[:n]
        target, adapter = self.target, self.adapter
        why = ([adapter.no_shrink(target, b.x) for b, _, _ in picked]
               if picked and isinstance(picked[0][0], _Batch) and not adapter.recorded else [])
        if not picked:
            self.mismatch_lines = []
        elif isinstance(picked[0][0], _Cases):  # spec_vectors checks outside the block machinery
            self.mismatch_lines = [cs.line(i, "MISMATCH", _strict_note(sid)) for cs, i, sid in picked]
        elif any(why):
            self.mismatch_lines = [_make_line(adapter, target, b, ci, "MISMATCH", note=f" ({w})" + _strict_note(sid))
                                   for (b, ci, sid), w in zip(picked, why)]
        elif target.operation == "quantize" and not adapter.recorded:
            with np.errstate(all="ignore"):
                self.mismatch_lines = _shrink_and_render(adapter, target, picked, self.no_flush)
        else:
            self.mismatch_lines = [
                _make_line(adapter, target, b, ci, "MISMATCH",
                           note=(" (recorded output: not shrunk)" if b.recorded and b.B is not None else "")
                           + _strict_note(sid))
                for b, ci, sid in picked]
        self.candidates = []  # the batches can go

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


def _diversity_order(keys: list) -> list:
    """Indices ordered round-robin over distinct keys, so varied causes come first."""
    groups: dict = {}
    for i, kk in enumerate(keys):
        groups.setdefault(kk, []).append(i)
    order = []
    lists = list(groups.values())
    j = 0
    while len(order) < len(keys):
        for g in lists:
            if j < len(g):
                order.append(g[j])
        j += 1
    return order


def _block_key(xrow, d_scale) -> tuple:
    a = np.abs(xrow.astype(np.float64))
    a = a[np.isfinite(a)]
    amax = a.max() if a.size else 0.0
    e = int(np.frexp(amax)[1]) - 1 if amax > 0 else -999
    band = "zero" if amax == 0 else "tiny" if e < -100 else "huge" if e > 100 else f"mid{e // 16}"
    nonfinite = (~np.isfinite(xrow.astype(np.float64))).any()
    return (bool(d_scale), band, bool(nonfinite), len(xrow))


def _run_target(adapter, target: Target, level: int, seed: int, strict: bool, keep: int,
                progress) -> TargetResult:
    with np.errstate(all="ignore"):  # NaN / Inf inputs are cases, not accidents
        return _run_target_quiet(adapter, target, level, seed, strict, keep, progress)


@dataclass
class _Batch:
    """One classified batch of a target."""

    x: np.ndarray
    exp: Output
    got: Output
    B: _Blocks | None
    cls: np.ndarray
    ids: np.ndarray
    err_msg: dict
    recorded: bool
    sub: np.ndarray | None = None  # quantize: blocks holding float32-subnormal inputs
    files: tuple = ()  # recorded: the files the outputs came from (named in the report lines)


def _classify_batch(adapter, target: Target, x: np.ndarray, recorded: Output | None,
                    aux: dict | None = None) -> _Batch:
    """Run (or take the recorded output of) one batch and classify every case. ``aux``: what a
    recording adds -- "random_bits" (stochastic rounding, x's shape), "random_bit_count",
    "files"."""
    aux = aux or {}
    extra = {k: aux[k] for k in ("random_bits", "random_bit_count") if aux.get(k) is not None}
    if recorded is not None:
        got, raised = recorded, {}
    else:
        got, raised = _guarded(lambda a: adapter.run(target, a), target, x)
    if got is None:  # every row raised
        got = Output()
    if got.errors:  # rows the adapter reports as raised, one by one
        raised = dict(raised)
        raised.update(got.errors)
    exp = _reference(target, x, **extra)
    alts = _alternatives(target, x, **extra)
    B = None
    sub = None
    if target.operation == "quantize":
        nb = -(-x.shape[1] // target.block_size)
        n_cases = x.shape[0] * nb
        if got.scales is None and got.codes is None and got.values is None:
            cls, ids = np.full(n_cases, PASS), np.zeros(n_cases, np.int64)
        else:
            B = _classify_blocks(target, x, exp, got, alts)
            cls, ids = B.cls.copy(), B.ids.copy()
        case_rows = np.repeat(np.arange(x.shape[0]), nb)
        xb = np.abs(_to_blocks(x, target.block_size, x.dtype.type(0)).astype(np.float64))
        sub = ((xb != 0) & (xb < 2.0**-126)).any(1)
    else:
        if got.codes is None:
            cls, ids = np.full(x.shape[0], PASS), np.zeros(x.shape[0], np.int64)
        else:
            cls, ids = _classify_values(target, x, exp, got, alts)
        case_rows = np.arange(x.shape[0])
    # rows that raised: ERROR, or IMPL_DEFINED where raising is an open answer
    err_msg = {}
    if raised:
        open_ids = _open_kind(target, x)
        for ci in np.nonzero(np.isin(case_rows, list(raised)))[0]:
            msg = raised[int(case_rows[ci])]
            ok = open_ids[ci] and not msg.startswith(_BAD_OUTPUT)
            cls[ci], ids[ci] = (IMPL, open_ids[ci]) if ok else (ERROR, 0)
            err_msg[int(ci)] = msg
    return _Batch(x, exp, got, B, cls, ids, err_msg, recorded is not None, sub, tuple(aux.get("files", ())))


def _run_target_quiet(adapter, target, level, seed, strict, keep, progress) -> TargetResult:
    t0 = time.perf_counter()
    res = TargetResult(adapter.name, adapter.version(), target)
    if adapter.recorded:
        rec = adapter.record(target)  # (x, output) or a list of (x, output, aux)
        inputs = rec if isinstance(rec, list) else [rec]
    else:
        inputs = [(x, None) for x in cases(target, level, seed)]
    # 1. run and classify every batch
    batches = []
    for x, recorded, *aux in inputs:
        reason = target.unsupported or (None if adapter.recorded else adapter.unsupported(target, x))
        if reason:
            res.counts[UNSUPPORTED] += _count_cases(target, x)
            if reason not in res.notes:
                res.notes.append(reason)
            continue
        batches.append(_classify_batch(adapter, target, x, recorded, aux[0] if aux else None))
    res.notes += adapter.notes(target, [b.x for b in batches])
    # 2. flushing float32 subnormals is an open choice only if the library does it consistently:
    #    when a block holding subnormals mismatches, blocks that merely look flushed mismatch too
    flush = _ID_BIT["fp32_subnormal_flush"]
    if any(b.sub is not None and ((b.cls == MISMATCH) & b.sub).any() for b in batches):
        n_moved = 0
        for b in batches:
            sel = (b.cls == IMPL) & (b.ids == flush)
            b.cls[sel], b.ids[sel] = MISMATCH, 0
            n_moved += int(sel.sum())
        res.no_flush = True
        if n_moved:
            res.notes.append(f"{n_moved} blocks equal to the flushed-subnormal result counted as MISMATCH: "
                             "other blocks with float32-subnormal inputs mismatch both results, so the "
                             "library does not flush consistently")
    # 3. count, and keep examples
    failing = []  # (batch, case index, strict ids)
    for b in batches:
        strict_ids = np.zeros_like(b.ids)
        if strict:
            sel = b.cls == IMPL
            strict_ids[sel] = b.ids[sel]
            b.cls[sel] = MISMATCH
            b.ids[sel] = 0
        for c in range(5):
            res.counts[c] += int((b.cls == c).sum())
        for name, bit in _ID_BIT.items():
            cnt = int(((b.ids & bit) != 0).sum())
            if cnt:
                res.impl_ids[name] = res.impl_ids.get(name, 0) + cnt
        for ci in np.nonzero(b.cls == IMPL)[0][:2000]:
            lab = _class_label(IMPL, int(b.ids[ci]))
            if lab not in res.impl_lines:
                res.impl_lines[lab] = _make_line(adapter, target, b, int(ci), lab, error=b.err_msg.get(int(ci)))
        for ci in np.nonzero(b.cls == ERROR)[0][:keep]:
            if len(res.error_lines) < keep:
                res.error_lines.append(_make_line(adapter, target, b, int(ci), "ERROR", error=b.err_msg.get(int(ci))))
        mis = np.nonzero(b.cls == MISMATCH)[0]
        res.mismatch_total += len(mis)
        failing += [(b, int(ci), int(strict_ids[ci])) for ci in mis]
    # 4. pick varied MISMATCH cases, shrink them, render lines
    if failing:
        failing = failing[:20_000]  # enough to pick varied examples from
        keys = []
        for b, ci, _ in failing:
            if b.B is not None:
                keys.append(_block_key(b.B.x[ci][b.B.valid[ci]], b.B.d_scale[ci]))
            else:
                xv = np.abs(np.asarray(b.x.reshape(-1)[ci], np.float64)) if target.operation != "quantize" else 0.0
                keys.append((int(np.frexp(xv)[1]) if np.isfinite(xv) else 9999,))
        res.candidates = [failing[i] for i in _diversity_order(keys)[:keep]]
    res.adapter = adapter
    res.seconds = time.perf_counter() - t0
    if progress:
        c = res.counts
        progress(f"{adapter.name} {target.profile.name}: {target.operation} {target.format} "
                 f"({target.modes}): {res.cases} cases, {c[PASS]} pass, {c[MISMATCH]} mismatch, "
                 f"{c[IMPL]} impl-defined, {c[UNSUPPORTED]} unsupported, {c[ERROR]} error "
                 f"[{res.seconds:.1f} s]")
    return res


def _make_line(adapter, target, b: _Batch, ci, label, note="", error=None) -> Line:
    x, exp, got = b.x, b.exp, b.got
    if target.operation == "quantize":
        k = target.block_size
        nb = -(-x.shape[1] // k)
        r, j = divmod(ci, nb)
        lo, hi = j * k, min((j + 1) * k, x.shape[1])
        xb = x[r, lo:hi]
        e = {"scale": exp.scales[r, j], "code": exp.codes[r, lo:hi], "value": exp.values[r, lo:hi]}
        g = {}
        if error is None:
            if got.scales is not None:
                g["scale"] = np.asarray(got.scales)[r, j]
            if got.codes is not None:
                g["code"] = np.asarray(got.codes)[r, lo:hi]
            if got.values is not None:
                g["value"] = np.asarray(got.values, np.float64)[r, lo:hi]
        if b.files:
            note += f" [{', '.join(b.files)}: row {r} block {j}]"
        extra = {"row": int(r), "block": int(j)} if b.recorded else None
        if b.files:
            extra["files"] = list(b.files)
        return _block_line(target, adapter.name, label, xb, e, g, note, error, extra=extra)
    gc = None if error is not None else np.asarray(got.codes).reshape(-1)[ci]
    if b.files:
        note += f" [{', '.join(b.files)}: index {ci}]"
    line = _value_line(target, adapter.name, label, x[ci], exp.codes.reshape(-1)[ci], gc, note, error)
    if b.files:
        line.data.update(files=list(b.files), index=int(ci))
    return line


# ----- shrinking ---------------------------------------------------------------------------------


def _still_fails(adapter, target: Target, blocks: np.ndarray, want_scale: np.ndarray,
                 no_flush: bool = False) -> np.ndarray:
    """Per row (one block each): does the library still MISMATCH, with the same scale verdict?
    ``no_flush``: the target was found not to flush consistently, so a block equal to the
    flushed result mismatches too."""
    got, raised = _guarded(lambda a: adapter.run(target, a), target, blocks)
    if got is None:
        return np.zeros(len(blocks), bool)
    raised = dict(raised, **{int(i): m for i, m in got.errors.items()})
    exp = _reference(target, blocks)
    B = _classify_blocks(target, blocks, exp, got, _alternatives(target, blocks))
    if no_flush:
        B.cls[(B.cls == IMPL) & (B.ids == _ID_BIT["fp32_subnormal_flush"])] = MISMATCH
    ok = (B.cls == MISMATCH) & (B.d_scale == want_scale)
    if raised:
        ok[list(raised)] = False
    return ok


def _shrink_blocks(adapter, target: Target, blocks: np.ndarray, want_scale: np.ndarray,
                   no_flush: bool = False) -> np.ndarray:
    """Set non-zero elements to +0 while the block still fails: each round tries every single
    removal of every block in one library call, then all accepted removals of a block at once
    (falling back to its first one). Ends when no single non-zero element can be removed."""
    cur = blocks.copy()
    active = np.ones(len(cur), bool)
    for _ in range(cur.shape[1] + 1):
        cand, owner, pos = [], [], []
        for b in np.nonzero(active)[0]:
            for j in np.nonzero(cur[b] != 0)[0]:
                c = cur[b].copy()
                c[j] = 0
                cand.append(c)
                owner.append(b)
                pos.append(j)
        if not cand:
            break
        owner = np.array(owner)
        pos = np.array(pos)
        ok = _still_fails(adapter, target, np.array(cand), want_scale[owner], no_flush)
        progressed = np.zeros(len(cur), bool)
        trial, trial_owner, first = [], [], {}
        for b in np.nonzero(active)[0]:
            js = pos[(owner == b) & ok]
            if js.size == 0:
                continue
            first[b] = js[0]
            c = cur[b].copy()
            c[js] = 0
            trial.append(c)
            trial_owner.append(b)
        if trial:
            tok = _still_fails(adapter, target, np.array(trial), want_scale[np.array(trial_owner)], no_flush)
            for t, b in enumerate(trial_owner):
                if tok[t]:
                    cur[b] = trial[t]
                else:
                    cur[b, first[b]] = 0
                progressed[b] = True
        active &= progressed
        if not active.any():
            break
    # finally, -0 inputs become +0 where the block still fails
    negz = (cur == 0) & np.signbit(cur)
    rows = np.nonzero(negz.any(1))[0]
    if rows.size:
        trial = np.where(negz[rows], cur.dtype.type(0), cur[rows])
        ok = _still_fails(adapter, target, trial, want_scale[rows], no_flush)
        cur[rows[ok]] = trial[ok]
    return cur


def _shrink_and_render(adapter, target: Target, picked, no_flush: bool = False) -> list:
    lines = []
    k = target.block_size
    by_len: dict = {}
    info = []
    for idx, (b, ci, sid) in enumerate(picked):
        xb = b.B.x[ci][b.B.valid[ci]]
        info.append((xb, bool(b.B.d_scale[ci]), sid))
        by_len.setdefault(len(xb), []).append(idx)
    shrunk = [None] * len(picked)
    for L, idxs in by_len.items():
        todo = idxs[:_SHRINK_LIMIT]
        blocks = np.array([info[i][0] for i in todo])
        want = np.array([info[i][1] for i in todo])
        alone = _still_fails(adapter, target, blocks, want, no_flush)
        go = [i for i, a in zip(todo, alone) if a]
        if go:
            out = _shrink_blocks(adapter, target, np.array([info[i][0] for i in go]),
                                 np.array([info[i][1] for i in go]), no_flush)
            for i, row in zip(go, out):
                shrunk[i] = row
        for i, a in zip(todo, alone):
            if not a:
                shrunk[i] = "alone"
    for idx, (b, ci, sid) in enumerate(picked):
        xb0, _, _ = info[idx]
        s = shrunk[idx]
        if isinstance(s, np.ndarray):
            row = s[None, :]
            g, _ = _guarded(lambda a: adapter.run(target, a), target, row)
            e = _reference(target, row)
            gd = {}
            if g.scales is not None:
                gd["scale"] = np.asarray(g.scales)[0, 0]
            if g.codes is not None:
                gd["code"] = np.asarray(g.codes)[0]
            if g.values is not None:
                gd["value"] = np.asarray(g.values, np.float64)[0]
            ed = {"scale": e.scales[0, 0], "code": e.codes[0], "value": e.values[0]}
            n0, n1 = int((xb0 != 0).sum()), int((s != 0).sum())
            note = f" (shrunk from {n0} to {n1} non-zero)" if n1 < n0 else " (no element could be removed)"
            lines.append(_block_line(target, adapter.name, "MISMATCH", s, ed, gd, note + _strict_note(sid),
                                     extra={"shrunk_from": n0, "nonzero": n1}))
        else:
            note = (" (not shrunk: the block alone does not fail)" if s == "alone"
                    else " (not shrunk: over the shrink limit)")
            lines.append(_make_line(adapter, target, b, ci, "MISMATCH", note=note + _strict_note(sid)))
    return lines


# ----- adapters -----------------------------------------------------------------------------------


class Adapter:
    """How the checker talks to one library. Subclasses set ``name`` and implement ``version``,
    ``profiles`` and either ``run`` (a live library: inputs from :func:`cases`) or ``record``
    (recorded outputs: ``recorded = True``)."""

    name = "?"
    recorded = False
    #: profile names run when --profile is not given
    default_profiles: tuple = ()

    def availability(self) -> str | None:
        """None when usable, else why not."""
        return None

    def version(self) -> str:
        return "?"

    def profiles(self) -> dict:
        raise NotImplementedError

    def targets(self, profile: Profile, level: int) -> list:
        raise NotImplementedError

    def unsupported(self, target: Target, x: np.ndarray) -> str | None:
        """Why a batch cannot be given to the library (None: it can)."""
        return None

    def no_shrink(self, target: Target, x: np.ndarray) -> str | None:
        """Why a failing block of batch x cannot be shrunk on its own (None: it can). NVFP4 with
        the "amax" per-tensor scale: P comes from the whole batch (one tensor)."""
        if target.format == _NVFP4 and dict(target.profile.options).get("per_tensor_scale") == "amax":
            from .ext.nvfp4 import nvfp4_per_tensor_scale

            xf = np.abs(x[np.isfinite(x)])
            p = nvfp4_per_tensor_scale(x, arithmetic="float32") if xf.size and xf.max() > 0 else 0.0
            return (f"not shrunk: the per-tensor scale is the whole tensor's, P = fp32(amax_T / 2688) = "
                    f"{np.float32(p)} over its {x.shape[0]} rows"
                    + ("; mxref's model takes P = 1 there" if p == 0 else ""))
        return None

    def notes(self, target: Target, batches: list) -> list:
        """Remarks on a target once its batches (the input arrays that ran) are classified."""
        return []

    def run(self, target: Target, x: np.ndarray) -> Output:
        raise NotImplementedError

    def record(self, target: Target):
        raise NotImplementedError


def _quantize_targets(profile, dtypes=("float32",), formats=tuple(MX_FORMATS)):
    return [Target("quantize", f, profile, dtype=d) for d in dtypes for f in formats]


def _encode_targets(profile, dtypes, formats=_ELEMENTS, both_overflows=False):
    out = []
    for d in dtypes:
        for f in formats:
            el = element_format(f)
            ovs = ["saturate"]
            if el.has_nan or el.has_inf:
                ovs = ["saturate", "nonsaturating"] if both_overflows else [profile.fp8_overflow]
            out += [Target("encode", f, profile, dtype=d, overflow=o) for o in ovs]
    return out


class MxrefAdapter(Adapter):
    """mxref itself (a self-check: every case passes). Profiles ``<scale rule>-<rounding>``."""

    name = "mxref"
    default_profiles = ("floor-rne",)

    def version(self) -> str:
        from . import __version__

        return __version__

    def profiles(self) -> dict:
        return {f"{r}-{m}": Profile(f"{r}-{m}", scale_rule=r, rounding=m)
                for r in SCALE_RULES for m in ("rne", "ties_away", "toward_zero", "up", "down")}

    def targets(self, profile, level):
        return (_quantize_targets(profile) + _encode_targets(profile, ("float32",), both_overflows=True)
                + [Target("encode_e8m0", "e8m0", profile)])

    def run(self, target, x):
        return _reference(target, x)


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
        out = _encode_targets(profile, ("float32", "float64"), formats=have)
        if hasattr(ml_dtypes, "float8_e8m0fnu"):
            out.append(Target("encode_e8m0", "e8m0", profile))
        return out

    def run(self, target, x):
        import ml_dtypes

        name = "float8_e8m0fnu" if target.operation == "encode_e8m0" else _ML_NAMES[target.format]
        with np.errstate(all="ignore"):
            return Output(codes=x.astype(getattr(ml_dtypes, name)).view(np.uint8))


_GF_ROUND = {"rne": "TiesToEven", "ties_away": "TiesToAway", "toward_zero": "TowardZero",
             "up": "TowardPositive", "down": "TowardNegative"}
_GF_E8M0 = {"rne": "rne", "ties_away": "ties_up", "toward_zero": "floor", "up": "ceil", "down": "floor"}
_GF_FORMATS = {"fp8_e4m3": "ocp_e4m3", "fp8_e5m2": "ocp_e5m2", "fp6_e2m3": "ocp_e2m3",
               "fp6_e3m2": "ocp_e3m2", "fp4_e2m1": "ocp_e2m1", "int8": "ocp_int8"}


class GfloatAdapter(Adapter):
    """gfloat: element rounding and encoding through both of its APIs (``round_ndarray`` +
    ``encode_ndarray``, and the scalar ``round_float`` + ``encode_float``), both saturation modes,
    from float32 and float64; E8M0 the same way; and its MX block functions
    (``compute_scale_amax``, ``encode_block``, ``decode_block`` -- the steps of ``quantize_block``
    -- one block at a time, from float32 and float64). Profiles ``floor-<rounding>``; gfloat's
    INT8 includes -2.0 (0x80) (seen on 0.5.2; its differences by version: :data:`KNOWN_DIFFERENCES`)."""

    name = "gfloat"
    default_profiles = ("floor-rne",)

    def availability(self):
        try:
            import gfloat  # noqa: F401
        except Exception as exc:
            return f"gfloat is not importable ({type(exc).__name__}: {exc})"
        return None

    def version(self):
        from importlib.metadata import version

        return version("gfloat")

    def profiles(self):
        return {f"floor-{r}": Profile(f"floor-{r}", rounding=r, e8m0_rounding=_GF_E8M0[r],
                                      int8_allow_minus128=True) for r in _GF_ROUND}

    def targets(self, profile, level):
        q = _quantize_targets(profile, ("float32", "float64"))
        e = []
        for api in ("round_ndarray", "round_float"):
            e += [replace(t, api=api) for t in _encode_targets(profile, ("float32", "float64"), both_overflows=True)]
            e += [Target("encode_e8m0", "e8m0", replace(profile, e8m0_overflow=o), api=api)
                  for o in ("saturate", "nonsaturating")]
        return q + e

    def run(self, target, x):
        import gfloat
        from gfloat import formats as gff

        rm = getattr(gfloat.RoundMode, _GF_ROUND[target.profile.rounding])
        if target.operation in ("encode", "encode_e8m0"):
            fi = gff.format_info_ocp_e8m0 if target.operation == "encode_e8m0" else \
                getattr(gff, "format_info_" + _GF_FORMATS[target.format])
            sat = (target.profile.e8m0_overflow if target.operation == "encode_e8m0" else target.overflow) == "saturate"
            if target.api == "round_ndarray":
                r = gfloat.round_ndarray(fi, x.astype(np.float64), rm, sat)
                return Output(codes=np.asarray(gfloat.encode_ndarray(fi, r)).astype(np.uint64).view(np.int64))
            codes = np.zeros(x.shape, np.int64)
            errors = {}
            for i, v in enumerate(x.astype(np.float64).tolist()):  # the scalar API, one value at a time
                try:
                    codes[i] = gfloat.encode_float(fi, gfloat.round_float(fi, v, rm, sat))
                except Exception as exc:
                    errors[i] = f"{type(exc).__name__}: {exc}"[:200]
            return Output(codes=codes, errors=errors)
        fi = getattr(gff, "format_info_" + target.format)
        k = target.block_size
        n, L = x.shape
        nb = -(-L // k)
        scales = np.zeros((n, nb), np.int64)
        codes = np.zeros((n, L), np.int64)
        values = np.zeros((n, L), np.float64)
        errors = {}
        for i in range(n):
            try:
                for j in range(nb):
                    v = x[i, j * k:(j + 1) * k].astype(np.float64)
                    s = gfloat.compute_scale_amax(fi.etype.emax, v)
                    enc = list(gfloat.encode_block(fi, s, v / s, rm))
                    scales[i, j] = enc[0]
                    codes[i, j * k:(j + 1) * k] = enc[1:]
                    values[i, j * k:(j + 1) * k] = list(gfloat.decode_block(fi, enc))
            except Exception as exc:
                errors[i] = f"{type(exc).__name__}: {exc}"[:200]
        return Output(scales, codes, values, errors)


_TORCHAO_MODES = {"floor": "FLOOR", "ceil": "CEIL", "even": "EVEN", "rceil": "RCEIL"}
#: torchao 0.18's NVFP4 as mxref.ext.nvfp4 models it (see its module docstring)
_TORCHAO_NVFP4 = (("arithmetic", "float32"), ("dequantize", "float32"), ("inf_policy", "saturate"),
                  ("scale_clamp", "min_normal"))
#: profile nvfp4-pts's given per-tensor scale: fp32(100 / 2688), as calibrated for a tensor amax of 100
_TORCHAO_NVFP4_PTS = float(np.float32(100.0) / np.float32(2688.0))


_TORCHAO_IMPORTED = False


def _import_torchao_quietly() -> None:
    """Import torch and the torchao modules the adapter uses, without the warnings they print
    on import (torchao 0.18 logs "Failed to load ..." for each CUDA-only extension it cannot
    load on a CPU machine, and torch 2.13 logs a deprecation of torchao's register_constant on
    Enums): those are not the checker's output. Python warnings are ignored and logging below
    ERROR is off only while importing; mxref's own messages are printed, not logged. An
    ImportError still propagates."""
    global _TORCHAO_IMPORTED
    if _TORCHAO_IMPORTED:
        return
    import logging
    import warnings

    before = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import torch  # noqa: F401
            import torchao  # noqa: F401
            from torchao.prototype.mx_formats import constants  # noqa: F401
            from torchao.prototype.mx_formats.mx_tensor import MXTensor  # noqa: F401
            try:
                from torchao.prototype.mx_formats import nvfp4_tensor  # noqa: F401
            except ImportError:
                pass
    finally:
        logging.disable(before)
    _TORCHAO_IMPORTED = True


class TorchaoAdapter(Adapter):
    """torchao ``MXTensor.to_mx(x, elem_dtype, 32, scaling_mode=...)`` and ``.dequantize(float32)``
    on the CPU, for every element dtype and every ``ScaleCalculationMode`` (profiles
    ``floor-rne``, ``ceil-rne``, ``even-rne``, ``rceil-rne``). FP4 codes are read two per byte,
    element 0 in the low nibble (torchao >= 0.15); FP6 one per byte. Rows must be whole blocks.

    NVFP4 (not MX v1.0; format ``nvfp4``): ``NVFP4Tensor.to_nvfp4(x, 16, per_tensor_scale=P)``
    and ``.dequantize(float32)``, against the model mxref.ext.nvfp4 gives of it --
    ``quantize_nvfp4(arithmetic="float32", scale_clamp="min_normal", inf_policy="saturate")``,
    ``dequantize(arithmetic="float32")`` -- not against mxref's exact NVFP4 (each run's notes
    count the blocks where that would differ). Profiles: ``nvfp4`` (single level, P = None),
    ``nvfp4-pts`` (a given P = fp32(100 / 2688)), ``nvfp4-pts_amax`` (P =
    ``per_tensor_amax_to_scale`` of the batch's largest finite |x|: each batch is one tensor, so
    failing blocks are reported without shrinking)."""

    name = "torchao"
    default_profiles = ("floor-rne", "nvfp4", "nvfp4-pts", "nvfp4-pts_amax")

    def availability(self):
        try:
            _import_torchao_quietly()
        except Exception as exc:
            return f"torch/torchao are not importable ({type(exc).__name__}: {exc})"[:200]
        return None

    def version(self):
        _import_torchao_quietly()
        import torch
        import torchao

        return f"{torchao.__version__} (torch {torch.__version__})"

    def profiles(self):
        out = {f"{r}-rne": Profile(f"{r}-rne", scale_rule=r) for r in _TORCHAO_MODES}
        for name, pts in (("nvfp4", None), ("nvfp4-pts", _TORCHAO_NVFP4_PTS), ("nvfp4-pts_amax", "amax")):
            out[name] = Profile(name, options=_TORCHAO_NVFP4 + (("per_tensor_scale", pts),))
        return out

    def _elem(self, fmt):
        _import_torchao_quietly()
        import torch
        from torchao.prototype.mx_formats import constants as C

        return {"mxfp8_e4m3": torch.float8_e4m3fn, "mxfp8_e5m2": torch.float8_e5m2,
                "mxfp6_e2m3": C.DTYPE_FP6_E2M3, "mxfp6_e3m2": C.DTYPE_FP6_E3M2,
                "mxfp4_e2m1": getattr(torch, "float4_e2m1fn_x2", None)}.get(fmt)

    def targets(self, profile, level):
        _import_torchao_quietly()
        from torchao.prototype.mx_formats.constants import SUPPORTED_ELEM_DTYPES

        if profile.name.startswith("nvfp4"):
            try:
                from torchao.prototype.mx_formats.nvfp4_tensor import NVFP4Tensor  # noqa: F401
                why = None
            except Exception as exc:
                why = f"torchao has no NVFP4Tensor ({type(exc).__name__}: {exc})"[:200]
            return [Target("quantize", _NVFP4, profile, block_size=16, unsupported=why)]
        out = []
        for f in MX_FORMATS:
            e = self._elem(f)
            why = None if e is not None and e in SUPPORTED_ELEM_DTYPES else \
                f"torchao has no MX element dtype for {f}"
            out.append(Target("quantize", f, profile, unsupported=why))
        return out

    def unsupported(self, target, x):
        if x.shape[1] % target.block_size:
            if target.format == _NVFP4:
                return "torchao's to_nvfp4 needs rows that are whole blocks of 16 (ragged lengths)"
            return "torchao's to_mx needs rows that are whole blocks (ragged lengths)"
        return None

    def notes(self, target, batches):
        """NVFP4: how many blocks mxref's exact NVFP4 would give otherwise than torchao's model."""
        if target.format != _NVFP4 or not batches:
            return []
        from .ext.nvfp4 import quantize_nvfp4

        opts = dict(target.profile.options)
        deq = opts.pop("dequantize")
        n = d_exact = d_default = d_deq = 0
        for x in batches:
            model = quantize_nvfp4(x, **opts)
            rows, L = x.shape
            k = target.block_size

            def blocks_differ(q):
                d = _to_blocks((q.elements != model.elements).reshape(rows, L), k, False).any(1)
                return d | (q.scales != model.scales).reshape(-1)

            n += model.scales.size
            d_exact += int(blocks_differ(quantize_nvfp4(x, **dict(opts, arithmetic="exact"))).sum())
            d_default += int(blocks_differ(quantize_nvfp4(x, per_tensor_scale=opts["per_tensor_scale"])).sum())
            v_model = model.dequantize(np.float32, arithmetic=deq).reshape(rows, L)
            v_exact = model.dequantize(np.float32, arithmetic="exact").reshape(rows, L)
            d_deq += int(_to_blocks(~_same64(v_model, v_exact), k, False).any(1).sum())
        pts = _pts_str(opts["per_tensor_scale"])
        ver = self.version()
        seen = ("" if _version_tuple(ver)[:2] == (0, 18) else
                f" -- this is torchao {ver}: where its NVFP4 changed, the differences show as MISMATCH")
        return [f"{target.profile.name}: NVFP4 is not MX v1.0; expected results are the model of torchao 0.18's "
                f"NVFP4 (seen on 0.18.0{seen}; "
                f"mxref.ext.quantize_nvfp4 arithmetic=float32 scale_clamp=min_normal inf_policy=saturate "
                f"pts={pts}, dequantize arithmetic={deq}). Of its {n} blocks, mxref's exact arithmetic "
                f"(same clamp and Inf policy) gives other codes in {d_exact}, mxref's NVFP4 defaults "
                f"(exact, no scale clamp, Inf -> NaN scale) in {d_default}, and the exact dequantization "
                f"of the model's codes other float32 values in {d_deq}"]

    def run(self, target, x):
        _import_torchao_quietly()
        import torch

        if target.format == _NVFP4:
            return self._run_nvfp4(target, x)
        from torchao.prototype.mx_formats.config import ScaleCalculationMode
        from torchao.prototype.mx_formats.mx_tensor import MXTensor

        mode = getattr(ScaleCalculationMode, _TORCHAO_MODES[target.profile.scale_rule])
        n, L = x.shape
        with torch.no_grad():
            mx = MXTensor.to_mx(torch.from_numpy(np.ascontiguousarray(x, np.float32)),
                                self._elem(target.format), target.block_size, scaling_mode=mode)
            values = mx.dequantize(torch.float32).numpy().reshape(n, L)
            scales = mx.scale.view(torch.uint8).numpy().reshape(n, -1)
            q = mx.qdata.view(torch.uint8).numpy().reshape(n, -1)
        if target.format == "mxfp4_e2m1":
            codes = np.empty((n, L), np.uint8)
            codes[:, 0::2] = q & 0x0F
            codes[:, 1::2] = q >> 4
        else:
            codes = q
        return Output(scales.astype(np.int64), codes.astype(np.int64), values.astype(np.float64))

    def _run_nvfp4(self, target, x):
        _import_torchao_quietly()
        import torch
        from torchao.prototype.mx_formats.nvfp4_tensor import NVFP4Tensor, per_tensor_amax_to_scale

        pts = dict(target.profile.options).get("per_tensor_scale")
        n, L = x.shape
        xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))
        if pts is None:
            p = None
        elif isinstance(pts, str):  # "amax": the user's step, over the finite values of the tensor
            fin = xt[torch.isfinite(xt)].abs()
            p = per_tensor_amax_to_scale(fin.max() if fin.numel() else torch.zeros(()))
        else:
            p = torch.tensor(pts, dtype=torch.float32)
        with torch.no_grad():
            t = NVFP4Tensor.to_nvfp4(xt, block_size=target.block_size, per_tensor_scale=p)
            values = t.dequantize(torch.float32).numpy().reshape(n, L)
            scales = t.scale.view(torch.uint8).numpy().reshape(n, -1)
            q = t.qdata.view(torch.uint8).numpy().reshape(n, -1)
        codes = np.empty((n, L), np.uint8)
        codes[:, 0::2] = q & 0x0F  # element 0 in the low nibble
        codes[:, 1::2] = q >> 4
        return Output(scales.astype(np.int64), codes.astype(np.int64), values.astype(np.float64))


class MicroxcalingAdapter(Adapter):
    """microsoft/microxcaling through its recorded outputs (``shared/peers/microxcaling``, beside
    the repository, or ``--microxcaling-dir``): per element format and rounding, the values
    X * P_i and the shared exponent of each block. ``round="even"`` is profile ``floor-rne``,
    ``round="nearest"`` is ``floor-ties_away``. The inputs are the recorded ones (no levels)."""

    name = "microxcaling"
    recorded = True
    default_profiles = ("floor-rne", "floor-ties_away")
    _ROUND = {"floor-rne": "even", "floor-ties_away": "nearest"}

    def __init__(self, directory=None):
        self.dir = Path(directory) if directory else _REPO_ROOT.parent / "shared" / "peers" / "microxcaling"
        self._manifest = None

    def availability(self):
        if not (self.dir / "manifest.json").is_file():
            return f"microxcaling recordings not found at {self.dir} (give --microxcaling-dir)"
        return None

    def manifest(self) -> dict:
        if self._manifest is None:
            err = lambda msg: ValueError(f"microxcaling recordings {self.dir}: {msg}")  # noqa: E731
            m = _read_json(_confined(self.dir, "manifest.json", "manifest.json", err), "manifest.json", err)
            if not isinstance(m, dict) or not isinstance(m.get("sha256", {}), dict):
                raise err("manifest.json must hold an object (with a 'sha256' object)")
            for name, digest in m.get("sha256", {}).items():
                p = _confined(self.dir, name, "manifest.json sha256 entry", err)
                if not p.is_file() or hashlib.sha256(p.read_bytes()).hexdigest() != digest:
                    raise ValueError(f"{p}: missing or its sha256 differs from manifest.json")
            self._manifest = m
        return self._manifest

    def _file(self, name) -> Path:
        return _confined(self.dir, name, "manifest.json file name",
                         lambda msg: ValueError(f"microxcaling recordings {self.dir}: {msg}"))

    def version(self):
        return "commit " + _printable(str(self.manifest().get("microxcaling_commit", "?"))[:8]) + " (recorded)"

    def profiles(self):
        return {n: Profile(n, rounding="rne" if r == "even" else "ties_away") for n, r in self._ROUND.items()}

    def targets(self, profile, level):
        m = self.manifest()
        r = self._ROUND[profile.name]
        return [Target("quantize", "mx" + e, profile, block_size=int(m["block_size"]))
                for e in _ELEMENTS if f"{e}_{r}" in m["outputs"]]

    def record(self, target):
        m = self.manifest()
        out = m["outputs"][f"{target.format[2:]}_{self._ROUND[target.profile.name]}"]
        x = np.load(self._file(m["input"]), allow_pickle=False)
        v = np.load(self._file(out["file"]), allow_pickle=False)
        se = np.load(self._file(out["scale_exp_file"]), allow_pickle=False).astype(np.float64)
        x = np.moveaxis(x, m["axis"], -1)
        v = np.moveaxis(v, m["axis"], -1)
        n = int(np.prod(x.shape[:-1]))
        x, v = x.reshape(n, -1), v.reshape(n, -1)
        nb = -(-x.shape[1] // target.block_size)
        se = se.reshape(n, nb) if se.size == n * nb else np.moveaxis(se, m["axis"], -1).reshape(n, nb)
        scales = np.where(np.isnan(se), 0xFF, np.nan_to_num(se) + 127).astype(np.int64)
        return x, Output(scales=scales, values=v.astype(np.float64))


_PACKINGS = ("none", "fp4_low_first", "fp4_high_first")
#: the largest block_size a dump may claim (MX v1.0's formats use 32)
_DUMP_MAX_BLOCK = 1 << 16
#: mxref.quantize options a dump may claim per output
_DUMP_OPTIONS = ("zero_scale", "inf_policy", "scale_overflow", "flush_subnormals", "int8_allow_minus128")


class DumpAdapter(Adapter):
    """Any implementation, through files: a directory holding ``dump.json``::

        {"library": "mylib", "version": "1.2", "inputs": "inputs.npy", "block_size": 32, "axis": -1,
         "outputs": [{"format": "mxfp8_e4m3", "scale_rule": "floor", "rounding": "rne",
                      "scales": "s.npy", "elements": "e.npy", "values": "v.npy"}, ...]}

    inputs: a float16/float32/float64 .npy; per output at least one of ``scales`` (uint8 E8M0
    codes, the inputs' shape with the blocked axis replaced by the number of blocks),
    ``elements`` (uint8 element codes, one per element; with ``"packing": "fp4_low_first"`` or
    ``"fp4_high_first"`` two FP4 codes per byte along the blocked axis), ``values`` (float32
    dequantized X * P_i, the inputs' shape). Optional per output: ``"options"``, further
    ``mxref.quantize`` keywords the implementation claims (e.g. ``{"zero_scale": 1}``). Profile
    names are ``<scale_rule>-<rounding>``."""

    name = "dump"
    recorded = True

    def __init__(self, directory):
        self.dir = Path(directory)
        self.meta = self._load_meta()
        self.name = "dump"
        self.default_profiles = tuple(dict.fromkeys(self._profile_name(o) for o in self.meta["outputs"]))

    def _err(self, msg):
        return ValueError(f"dump {self.dir}: {msg}")

    def _load_meta(self) -> dict:
        if not (self.dir / "dump.json").is_file():
            raise self._err("no dump.json in it (nor a MANIFEST.json: the spec_vectors layout)")
        p = _confined(self.dir, "dump.json", "dump.json", self._err)
        meta = _read_json(p, "dump.json", self._err)
        if not isinstance(meta, dict):
            raise self._err("dump.json must hold an object")
        for key in ("inputs", "outputs"):
            if key not in meta:
                raise self._err(f"dump.json lacks {key!r}")
        _confined(self.dir, meta["inputs"], "inputs", self._err)
        for key in ("library", "version"):
            if key in meta and not isinstance(meta[key], (str, int, float)):
                raise self._err(f"{key} must be a string, got {_short(meta[key])}")
        if not isinstance(meta["outputs"], list) or not meta["outputs"]:
            raise self._err("'outputs' must be a non-empty list")
        bs = meta.get("block_size", 32)
        if isinstance(bs, bool) or not isinstance(bs, int) or not 1 <= bs <= _DUMP_MAX_BLOCK:
            raise self._err(f"block_size must be an int in 1..{_DUMP_MAX_BLOCK}, got {_short(bs)}")
        ax = meta.get("axis", -1)
        if isinstance(ax, bool) or not isinstance(ax, int):
            raise self._err(f"axis must be an int, got {_short(ax)}")
        for i, o in enumerate(meta["outputs"]):
            if not isinstance(o, dict):
                raise self._err(f"outputs[{i}] must be an object")
            for key in ("format", "scale_rule", "rounding", "packing"):
                if key in o and not isinstance(o[key], str):
                    raise self._err(f"outputs[{i}]: {key} must be a string, got {_short(o[key])}")
            try:
                mx_format(o.get("format"))
            except ValueError as exc:
                raise self._err(f"outputs[{i}]: {exc}") from None
            if o.get("scale_rule", "floor") not in SCALE_RULES:
                raise self._err(f"outputs[{i}]: scale_rule must be one of {SCALE_RULES}, got {_short(o.get('scale_rule'))}")
            if o.get("rounding", "rne") not in ROUNDING_MODES or o.get("rounding") == "stochastic":
                raise self._err(f"outputs[{i}]: rounding must be one of rne, ties_away, toward_zero, up, down; "
                                f"got {_short(o.get('rounding'))}")
            if not any(o.get(c) for c in ("scales", "elements", "values")):
                raise self._err(f"outputs[{i}] gives none of scales, elements, values")
            for c in ("scales", "elements", "values"):
                if o.get(c) is not None:
                    _confined(self.dir, o[c], f"outputs[{i}].{c}", self._err)
            if o.get("packing", "none") not in _PACKINGS:
                raise self._err(f"outputs[{i}]: packing must be one of {_PACKINGS}, got {_short(o.get('packing'))}")
            if not isinstance(o.get("options", {}), dict):
                raise self._err(f"outputs[{i}]: options must be an object")
            bad = set(o.get("options") or {}) - set(_DUMP_OPTIONS)
            if bad:
                raise self._err(f"outputs[{i}]: unknown option {_short(sorted(bad)[0])}; allowed: "
                                f"{', '.join(_DUMP_OPTIONS)}")
            for k, v in (o.get("options") or {}).items():
                if not isinstance(v, (str, int, float, bool)):
                    raise self._err(f"outputs[{i}]: options: {k} must be a string, number or boolean, got {_short(v)}")
            try:  # the values, as mxref.quantize checks them
                quantize(np.zeros((1, 1), np.float32), o["format"], **(o.get("options") or {}))
            except (TypeError, ValueError, OverflowError) as exc:
                raise self._err(f"outputs[{i}]: options: {exc}") from None
        seen = set()
        for i, o in enumerate(meta["outputs"]):
            key = (mx_format(o["format"]).name, self._profile_name(o))
            if key in seen:
                raise self._err(f"outputs[{i}] repeats format {key[0]} with profile {key[1]}")
            seen.add(key)
        return meta

    @staticmethod
    def _profile_name(o) -> str:
        name = f"{o.get('scale_rule', 'floor')}-{o.get('rounding', 'rne')}"
        opts = o.get("options") or {}
        return name + "".join(f"+{k}={v}" for k, v in sorted(opts.items()))

    def version(self):
        return _printable(self.meta.get("version", "?"))

    @property
    def library(self) -> str:
        return _printable(self.meta.get("library", "?"))

    def profiles(self):
        out = {}
        for o in self.meta["outputs"]:
            opts = dict(o.get("options") or {})
            allow = bool(opts.pop("int8_allow_minus128", False))
            out[self._profile_name(o)] = Profile(self._profile_name(o), scale_rule=o.get("scale_rule", "floor"),
                                                 rounding=o.get("rounding", "rne"), int8_allow_minus128=allow,
                                                 options=tuple(sorted(opts.items())))
        return out

    def targets(self, profile, level):
        bs = int(self.meta.get("block_size", 32))
        dt = self.inputs().dtype.name
        return [Target("quantize", mx_format(o["format"]).name, profile, block_size=bs, dtype=dt)
                for o in self.meta["outputs"] if self._profile_name(o) == profile.name]

    def _load(self, name, what):
        p = _confined(self.dir, name, what, self._err)
        if not p.is_file():
            raise self._err(f"{what} file {_short(name)} does not exist")
        try:
            with open(p, "rb") as f:  # the header's size against the file's, before reading the data
                major, _ = np.lib.format.read_magic(f)
                hdr = (np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0)
                shape, _, dtype = hdr(f)
                if dtype.hasobject:
                    raise ValueError("object arrays are not allowed")
                want = int(np.prod(shape, dtype=object)) * dtype.itemsize
                have = p.stat().st_size - f.tell()
                if have != want:
                    raise ValueError(f"its header says {dtype} {shape} ({want} bytes), the file holds {have}")
            return np.load(p, allow_pickle=False)
        except Exception as exc:
            raise self._err(f"{what} file {_short(name)} is not a readable .npy "
                            f"({type(exc).__name__}: {_printable(str(exc))[:200]})") from None

    def inputs(self) -> np.ndarray:
        if getattr(self, "_inputs", None) is not None:
            return self._inputs
        x = self._load(self.meta["inputs"], "inputs")
        if x.dtype not in (np.float16, np.float32, np.float64):
            raise self._err(f"inputs must be float16, float32 or float64, got {x.dtype}")
        if x.ndim == 0:
            raise self._err("inputs must have at least one dimension")
        self._inputs = x
        return x

    def record(self, target):
        x = self.inputs()
        ax = self.meta.get("axis", -1)
        if not -x.ndim <= ax < x.ndim:
            raise self._err(f"axis {ax} is out of range for inputs of shape {x.shape}")
        o = next(o for o in self.meta["outputs"]
                 if mx_format(o["format"]).name == target.format and self._profile_name(o) == target.profile.name)
        k = target.block_size
        xm = np.moveaxis(x, ax, -1)
        L = xm.shape[-1]
        nb = -(-L // k)
        n = int(np.prod(xm.shape[:-1], dtype=np.int64))
        el = mx_format(target.format).element
        out = Output()
        sshape = x.shape[:ax % x.ndim] + (nb,) + x.shape[ax % x.ndim + 1:]
        if o.get("scales"):
            s = self._load(o["scales"], "scales")
            if s.dtype != np.uint8 or s.shape != sshape:
                raise self._err(f"scales {o['scales']!r} must be uint8 of shape {sshape}, got {s.dtype} {s.shape}")
            out.scales = np.moveaxis(s, ax, -1).reshape(n, nb).astype(np.int64)
        if o.get("elements"):
            e = self._load(o["elements"], "elements")
            packing = o.get("packing", "none")
            eshape = x.shape
            if packing != "none":
                if el.bits != 4:
                    raise self._err(f"packing {packing!r} is for FP4 elements, not {el.name}")
                eshape = x.shape[:ax % x.ndim] + (-(-L // 2),) + x.shape[ax % x.ndim + 1:]
            if e.dtype != np.uint8 or e.shape != eshape:
                raise self._err(f"elements {o['elements']!r} must be uint8 of shape {eshape}, got {e.dtype} {e.shape}")
            e = np.moveaxis(e, ax, -1).reshape(n, -1)
            if packing != "none":
                lo, hi = e & 0x0F, e >> 4
                first, second = (lo, hi) if packing == "fp4_low_first" else (hi, lo)
                u = np.empty((n, 2 * e.shape[1]), np.uint8)
                u[:, 0::2], u[:, 1::2] = first, second
                e = u[:, :L]
            out.codes = e.astype(np.int64)
        if o.get("values"):
            v = self._load(o["values"], "values")
            if v.dtype.kind != "f" or v.shape != x.shape:
                raise self._err(f"values {o['values']!r} must be float32 of shape {x.shape}, got {v.dtype} {v.shape}")
            out.values = np.moveaxis(v, ax, -1).reshape(n, L).astype(np.float64)
        return xm.reshape(n, L), out


def write_dump(directory, x, outputs, *, library: str = "mxref", version: str | None = None,
               axis: int = -1, block_size: int = 32, components=("scales", "elements", "values"),
               packing: str = "none") -> Path:
    """Write a dump directory (see :class:`DumpAdapter`) of mxref's own results: ``outputs`` is a
    list of (format, scale_rule, rounding). An example of the format, and a round trip for tests."""
    from . import __version__

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    x = np.asarray(x)
    np.save(d / "inputs.npy", x)
    outs = []
    for fmt, rule, rnd in outputs:
        mx = quantize(x, fmt, axis=axis, block_size=block_size, scale_rule=rule, rounding=rnd)
        stem = f"{mx.format.name}_{rule}_{rnd}"
        o = {"format": mx.format.name, "scale_rule": rule, "rounding": rnd}
        if "scales" in components:
            np.save(d / f"{stem}.scales.npy", mx.scales)
            o["scales"] = f"{stem}.scales.npy"
        if "elements" in components:
            e = mx.elements
            if packing != "none" and mx.format.element.bits == 4:
                em = np.moveaxis(e, axis, -1)
                if em.shape[-1] % 2:
                    em = np.concatenate([em, np.zeros(em.shape[:-1] + (1,), np.uint8)], axis=-1)
                a, b = em[..., 0::2], em[..., 1::2]
                e = np.moveaxis((a | (b << 4)) if packing == "fp4_low_first" else ((a << 4) | b), -1, axis)
                o["packing"] = packing
            np.save(d / f"{stem}.elements.npy", np.ascontiguousarray(e.astype(np.uint8)))
            o["elements"] = f"{stem}.elements.npy"
        if "values" in components:
            np.save(d / f"{stem}.values.npy", mx.dequantize(np.float32))
            o["values"] = f"{stem}.values.npy"
        outs.append(o)
    meta = {"library": library, "version": version or __version__, "inputs": "inputs.npy",
            "block_size": block_size, "axis": axis, "outputs": outs}
    (d / "dump.json").write_text(json.dumps(meta, indent=1))
    return d


# ----- outputs in the spec_vectors layout -----------------------------------------------------------

_VEC_DTYPES = {"|u1": np.dtype("u1"), "<u2": np.dtype("<u2"), "<u4": np.dtype("<u4")}
#: fields of a manifest entry that must agree with the reference set's entry of the same path
_VEC_ENTRY_KEYS = ("dtype", "shape", "role", "operation", "format", "modes", "inputs", "axis", "block_size")
_VEC_OPERATIONS = _OPERATIONS + _VECTOR_OPERATIONS
#: operations of spec_vectors/ext/nvfp4 (NVFP4, not MX v1.0): listed, not checked by this adapter
#: (the torchao adapter's nvfp4 profiles check NVFP4 implementations)
_VEC_UNCHECKED_OPERATIONS = ("quantize_nvfp4", "dequantize_nvfp4")
#: mxref.quantize options at their defaults (left out of profile names)
_QUANTIZE_DEFAULTS = {"zero_scale": 0, "inf_policy": "nan_scale", "scale_overflow": "clamp",
                      "flush_subnormals": False}


@dataclass
class _Cases:
    """Cases compared outside the block and value machinery (spec_vectors decode, dequantize,
    pack, swizzle_scales, matmul): class and impl-defined id bits per case, and ``line(i, label,
    note)`` rendering case i as a report line."""

    cls: np.ndarray
    ids: np.ndarray
    line: object
    note: str = ""  # why some cases are UNSUPPORTED


def _bits_str(b) -> str:
    b = int(b)
    return f"0x{b:08X}({_val(np.array([b], np.uint32).view(np.float32)[0], np.float32)})"


class VectorsAdapter(Adapter):
    """An implementation's outputs in the spec_vectors layout (spec_vectors/README.md): a
    directory holding ``MANIFEST.json`` -- spec_vectors' own, or a subset of its ``files`` entries
    (optionally with "library" and "version" keys naming the implementation) -- and, for each
    expected file the implementation produced, that file at the same relative path with the
    manifest's dtype and shape (raw, little-endian, C order, no header).

    Input files (and the codes a dequantize reads: the quantize outputs it lists as inputs) are
    taken from the directory where present there, else from the reference set ``vectors``
    (default: this checkout's spec_vectors/); an input file must be byte for byte the manifest's
    (sha256). Every expected file present is recomputed with mxref from its inputs and its entry's
    ``modes`` and compared case by case (a value, a block, a row, a byte, a C element); missing
    ones are not checked and the run's notes say how many were. The ``*.tv`` text vectors are
    inputs for readers, not outputs, and are not checked. An unreadable manifest, an entry the
    reference set does not have (or has otherwise), a missing input, or a file whose size is not
    its dtype x shape raises ValueError naming it."""

    name = "dump"
    recorded = True

    def __init__(self, directory, vectors=None):
        self.dir = Path(directory)
        self.ref = Path(vectors) if vectors is not None else _REPO_ROOT / "spec_vectors"
        self.manifest = self._load_manifest(self.dir)
        self.ref_manifest = None
        if (self.ref / "MANIFEST.json").is_file():
            self.ref_manifest = self._load_manifest(self.ref)
        elif vectors is not None:
            raise self._err(f"the reference set {self.ref} (--vectors) holds no MANIFEST.json")
        self.entries = {e["path"]: e for e in self.manifest["files"]}
        self.ref_entries = {e["path"]: e for e in self.ref_manifest["files"]} if self.ref_manifest else {}
        # 1. every entry is the reference set's
        if self.ref_entries:
            for p, e in self.entries.items():
                r = self.ref_entries.get(p)
                if r is None:
                    raise self._err(f"MANIFEST.json lists {p!r}, which the reference set {self.ref} does not "
                                    "have (give --vectors the set the manifest was copied from)")
                for key in _VEC_ENTRY_KEYS:
                    if e.get(key) != r.get(key):
                        raise self._err(f"MANIFEST.json entry {p!r}: {key} is {e.get(key)!r}, the reference "
                                        f"set's is {r.get(key)!r} (give --vectors the set it was copied from)")
        # 2. the expected files present: sizes, and their inputs
        expected = [e for e in self.manifest["files"] if e["role"] == "expected"]
        self.n_expected = len(expected)
        present = [e for e in expected if _confined(self.dir, e["path"], "MANIFEST.json path", self._err).is_file()]
        self.n_text = sum(1 for e in present if e["path"].endswith(".tv"))
        self.n_nvfp4 = sum(1 for e in present if e["operation"] in _VEC_UNCHECKED_OPERATIONS)
        self.checked = [e for e in present if not e["path"].endswith(".tv")
                        and e["operation"] not in _VEC_UNCHECKED_OPERATIONS]
        self._arrays: dict = {}
        self._texts: dict = {}
        for e in self.checked:
            self._check_size(_confined(self.dir, e["path"], "MANIFEST.json path", self._err), e, "")
            for q in e.get("inputs", []):
                self._input(q, e["path"])
            if e["operation"] == "matmul" and e["dtype"] == "text":
                ins = e.get("inputs") or []
                if len(ins) != 4:
                    raise self._err(f"MANIFEST.json entry {e['path']!r}: a matmul lists 4 inputs, got {len(ins)}")
                self._texts[e["path"]] = self._exact_text(e, self._entry(ins[1])["shape"][0],
                                                          self._entry(ins[3])["shape"][1])
        # 3. targets: one per (operation, format, modes), over the sets it has
        self._plan: dict = {}
        for e in self.checked:
            self._plan.setdefault(self._target(e), []).append(e)
        self.default_profiles = tuple(dict.fromkeys(t.profile.name for t in self._plan))

    def _err(self, msg):
        return ValueError(f"vectors dump {self.dir}: {msg}")

    def _load_manifest(self, root: Path) -> dict:
        where = "MANIFEST.json" if root == self.dir else f"the reference set's {root / 'MANIFEST.json'}"
        m = _read_json(_confined(root, "MANIFEST.json", where, self._err), where, self._err)
        if not isinstance(m, dict) or not isinstance(m.get("files"), list):
            raise self._err(f"{where} must be an object with a 'files' list (spec_vectors/README.md)")
        if m.get("schema_version", 1) != 1:
            raise self._err(f"{where}: schema_version {_short(m.get('schema_version'))}, this checker reads 1")
        for i, e in enumerate(m["files"]):
            if not isinstance(e, dict) or not isinstance(e.get("path"), str):
                raise self._err(f"{where}: files[{i}] must be an object with a 'path'")
            p = e["path"]
            if p.startswith("/") or ".." in Path(p).parts or not p:
                raise self._err(f"{where}: files[{i}] path {_short(p)} must be relative, inside the directory")
            _confined(root, p, f"{where}: files[{i}] path", self._err)  # control characters, a symlink out
            ins = e.get("inputs", [])
            if not isinstance(ins, list) or not all(isinstance(q, str) for q in ins):
                raise self._err(f"{where}: {_short(p)}: inputs must be a list of paths, got {_short(ins)}")
            if e.get("format") is not None and not isinstance(e["format"], str):
                raise self._err(f"{where}: {_short(p)}: format must be a string, got {_short(e['format'])}")
            if e.get("modes") is not None and not isinstance(e["modes"], dict):
                raise self._err(f"{where}: {_short(p)}: modes must be an object, got {_short(e['modes'])}")
            if e.get("role") not in ("input", "expected"):
                raise self._err(f"{where}: {p}: role must be 'input' or 'expected', got {_short(e.get('role'))}")
            if e.get("operation") not in _VEC_OPERATIONS + _VEC_UNCHECKED_OPERATIONS:
                raise self._err(f"{where}: {p}: unknown operation {_short(e.get('operation'))}; known: "
                                f"{', '.join(_VEC_OPERATIONS)}")
            if e.get("dtype") != "text":
                if not isinstance(e.get("dtype"), str) or e["dtype"] not in _VEC_DTYPES:
                    raise self._err(f"{where}: {p}: dtype must be one of {', '.join(_VEC_DTYPES)} or text, "
                                    f"got {_short(e.get('dtype'))}")
                sh = e.get("shape")
                if not isinstance(sh, list) or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                                                       for n in sh):
                    raise self._err(f"{where}: {p}: shape must be a list of sizes, got {_short(sh)}")
        return m

    def _check_size(self, f: Path, e: dict, what: str):
        if e["dtype"] == "text":
            return
        want = math.prod(e["shape"]) * _VEC_DTYPES[e["dtype"]].itemsize
        have = f.stat().st_size
        if have != want:
            raise self._err(f"{what}{e['path']}: {have} bytes, but its manifest entry (dtype {e['dtype']}, "
                            f"shape {e['shape']}) makes {want}")

    def _entry(self, path: str) -> dict:
        return self.entries.get(path) or self.ref_entries[path]

    def _input(self, path: str, user: str) -> np.ndarray:
        """An input of an expected file: from the directory if there, else the reference set."""
        if path in self._arrays:
            return self._arrays[path]
        e = self.entries.get(path) or self.ref_entries.get(path)
        if e is None:
            raise self._err(f"{user}: its input {path!r} is in neither MANIFEST.json nor the reference "
                            f"set's ({self.ref})")
        f = _confined(self.dir, path, f"{user}: input", self._err)
        if not f.is_file():
            f = _confined(self.ref, path, f"{user}: input (in the reference set)", self._err)
            if not f.is_file():
                raise self._err(f"{user}: its input {path!r} is neither in the directory nor in the "
                                f"reference set {self.ref}")
        where = "" if f.is_relative_to(self.dir) else f"the reference set's "
        self._check_size(f, e, where)
        data = f.read_bytes()
        if e["role"] == "input" and e.get("sha256") and hashlib.sha256(data).hexdigest() != e["sha256"]:
            raise self._err(f"input file {f} differs from its manifest entry (sha256): the inputs must be "
                            "the reference's, byte for byte")
        a = np.frombuffer(data, _VEC_DTYPES[e["dtype"]]).reshape(e["shape"])
        self._arrays[path] = a
        return a

    def _got(self, e: dict) -> np.ndarray:
        return np.frombuffer(_confined(self.dir, e["path"], "MANIFEST.json path", self._err).read_bytes(), _VEC_DTYPES[e["dtype"]]).reshape(e["shape"])

    def _target(self, e: dict) -> Target:
        op, fmt, m = e["operation"], e.get("format"), dict(e.get("modes") or {})
        try:
            if op in ("quantize", "dequantize"):
                rule, rnd = m.get("scale_rule", "floor"), m.get("rounding", "rne")
                opts = tuple(sorted((k, m[k]) for k in _QUANTIZE_DEFAULTS if k in m and m[k] != _QUANTIZE_DEFAULTS[k]))
                name = f"{rule}-{rnd}" + "".join(f"+{k}={v}" for k, v in opts)
                prof = Profile(name, scale_rule=rule, rounding=rnd,
                               int8_allow_minus128=bool(m.get("int8_allow_minus128", False)), options=opts)
                bs = int(e.get("block_size", 32))
                if op == "quantize":
                    return Target("quantize", mx_format(fmt).name, prof, block_size=bs)
                return Target("dequantize", mx_format(fmt).name, prof, block_size=bs,
                              detail=f"block={bs} codes_of={name} to=float32")
            if op == "encode":
                return Target("encode", element_format(fmt).name, Profile(m["rounding"], rounding=m["rounding"]),
                              overflow=m["overflow"])
            if op == "encode_e8m0":
                return Target("encode_e8m0", "e8m0", Profile(m["rounding"], e8m0_rounding=m["rounding"],
                                                             e8m0_overflow=m["overflow"]))
            if op == "decode":
                return Target("decode", element_format(fmt).name, Profile("exact"), detail="to=float32")
            if op == "pack":
                return Target("pack", element_format(fmt).name, Profile(m["order"]), detail=f"order={m['order']}")
            if op == "swizzle_scales":
                return Target("swizzle_scales", "e8m0", Profile(m["layout"]),
                              detail=f"layout={m['layout']} pad_value={m.get('pad_value', 0)}")
            # matmul: inputs are A scales, A elements, B scales, B elements
            fa, fb = (mx_format(self._entry(e["inputs"][i])["format"]).name for i in (1, 3))
            if e["dtype"] == "text":
                return Target("matmul", f"{fa}__{fb}", Profile("exact_text"), detail="accumulate=exact to=hex_rational")
            model = m["accumulate"]
            return Target("matmul", f"{fa}__{fb}", Profile(model), detail=f"accumulate={model} to=float32")
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise self._err(f"MANIFEST.json entry {e['path']!r}: cannot tell what it checks ({type(exc).__name__}: "
                            f"{exc})") from None

    # --- the Adapter interface

    def version(self):
        return _printable(self.manifest.get("version", "?"))

    @property
    def library(self) -> str:
        return _printable(self.manifest.get("library") or self.dir.name)

    def profiles(self):
        return {t.profile.name: t.profile for t in self._plan}

    def targets(self, profile, level):
        return [t for t in self._plan if t.profile.name == profile.name]

    def run_notes(self, targets) -> list:
        n = sum(len(self._plan[t]) for t in targets if t in self._plan)
        return [f"spec_vectors layout {self.dir}: {n} expected files checked of the {self.n_expected} in its "
                f"MANIFEST.json ({self.n_expected - len(self.checked) - self.n_text - self.n_nvfp4} not present, "
                f"{self.n_text} text vectors (*.tv) not checked"
                + (f", {self.n_nvfp4} NVFP4 files (ext/nvfp4, not MX v1.0) not checked: the torchao "
                   f"adapter's nvfp4 profiles check NVFP4" if self.n_nvfp4 else "")
                + f"); inputs not in it read from {self.ref}"]

    def record(self, target):
        """quantize / encode / encode_e8m0: a list of (x, recorded output, aux) batches."""
        out = []
        entries = self._plan[target]
        if target.operation in ("encode", "encode_e8m0"):
            for e in entries:
                x = self._input(e["inputs"][0], e["path"]).view(np.float32).reshape(-1)
                aux = {"files": [e["path"]]}
                if len(e["inputs"]) > 1:
                    aux.update(random_bits=self._input(e["inputs"][1], e["path"]).reshape(-1),
                               random_bit_count=e["modes"]["random_bit_count"])
                out.append((x, Output(codes=self._got(e).reshape(-1).astype(np.int64)), aux))
            return out
        groups: dict = {}  # the scales and elements files of one input set make one batch
        for e in entries:
            groups.setdefault(tuple(e["inputs"]), []).append(e)
        for ins, es in groups.items():
            ax = self._entry(ins[0]).get("axis", -1)
            x = np.moveaxis(self._input(ins[0], es[0]["path"]).view(np.float32), ax, -1)
            L = x.shape[-1]
            x = x.reshape(-1, L)
            o = Output()
            for e in es:
                a = np.moveaxis(self._got(e), ax, -1).reshape(x.shape[0], -1).astype(np.int64)
                if e["path"].endswith(".scales.u8"):
                    o.scales = a
                else:
                    o.codes = a
            aux = {"files": [e["path"] for e in es]}
            if len(ins) > 1:
                rb = np.moveaxis(self._input(ins[1], es[0]["path"]), ax, -1).reshape(x.shape)
                aux.update(random_bits=rb, random_bit_count=es[0]["modes"]["random_bit_count"])
            out.append((x, o, aux))
        return out

    def compare(self, target) -> list:
        """decode / dequantize / pack / swizzle_scales / matmul: one :class:`_Cases` per file."""
        fn = {"decode": self._cmp_decode, "dequantize": self._cmp_dequantize, "pack": self._cmp_pack,
              "swizzle_scales": self._cmp_swizzle, "matmul": self._cmp_matmul}[target.operation]
        return [fn(target, e) for e in self._plan[target]]

    # --- the comparisons

    def _line(self, target, e, label, inp, body, note, data, where, n=None):
        head = f"{label} {target.operation} {target.format} {target.profile.name} ({target.modes}) "
        text = head + (f"in[{n}]: " if n is not None else "in: ") + f"{inp} | {body}{note} [{e['path']}: {where}]"
        d = dict(cls=label, library=self.library, operation=target.operation, format=target.format,
                 profile=target.profile.name, modes=target.modes, files=[e["path"]])
        d.update(data)
        return Line(label, text, d)

    def _cmp_decode(self, target, e):
        """Every code: the float32 bits of its value (MX §5.3, §5.4.1); NaN equals NaN."""
        codes = self._input(e["inputs"][0], e["path"]).reshape(-1)
        got = self._got(e).reshape(-1)
        exp = decode(codes, target.format, np.float32).view(np.uint32)
        g, x = got.view(np.float32), exp.view(np.float32)
        same = (got == exp) | (np.isnan(g) & np.isnan(x))
        zero = ~same & (g == 0) & (x == 0)
        cls = np.where(same, PASS, np.where(zero, IMPL, MISMATCH))
        ids = np.where(zero, _ID_BIT["signed_zero"], 0)

        def line(i, label, note=""):
            return self._line(target, e, label, f"0x{int(codes[i]):02X}",
                              f"got {_bits_str(got[i])} expected {_bits_str(exp[i])}", note,
                              dict(input_hex=f"0x{int(codes[i]):02X}", got=int(got[i]), expected=int(exp[i]),
                                   index=int(i)), f"index {i}")
        return _Cases(cls, ids, line)

    def _cmp_dequantize(self, target, e):
        """Every block: the float32 values X * P_i of its scale and element codes (MX §5.1); the
        codes are the directory's quantize outputs where present. Blocks holding codes outside
        the element format are UNSUPPORTED (their quantize check reports them)."""
        sc = self._input(e["inputs"][0], e["path"])
        codes = self._input(e["inputs"][1], e["path"])
        got = self._got(e).view(np.float32)
        ax, k = e.get("axis", -1), target.block_size
        mxf = mx_format(target.format)
        bad = codes >= mxf.element.num_codes
        arr = MXArray(mxf, k, ax, got.shape, np.ascontiguousarray(sc), np.where(bad, 0, codes).astype(np.uint8))
        rows = lambda a: np.moveaxis(a, ax, -1).reshape(-1, got.shape[ax])  # noqa: E731
        e32, e64 = arr.dequantize(np.float32), arr.dequantize(np.float64)
        G = _to_blocks(rows(got).astype(np.float64), k, 0.0)
        E = _to_blocks(rows(e32).astype(np.float64), k, 0.0)
        E64 = _to_blocks(rows(e64), k, 0.0)
        C = _to_blocks(rows(codes).astype(np.int64), k, 0)
        valid = _to_blocks(np.ones(rows(got).shape, bool), k, False)
        S = np.moveaxis(sc, ax, -1).reshape(-1)
        d = ~_same64(G, E) & valid
        zero = d & (G == 0) & (E == 0)
        f32max = float(np.finfo(np.float32).max)
        big = (d & np.isfinite(E64) & (np.abs(E64) > f32max)
               & (np.isnan(G) | ((np.signbit(G) == np.signbit(E64)) & (np.isinf(G) | (np.abs(G) == f32max)))))
        explained = (~d | zero | big).all(1)
        cls = np.where(~d.any(1), PASS, np.where(explained, IMPL, MISMATCH))
        ids = np.where(cls == IMPL, np.where(zero.any(1), _ID_BIT["signed_zero"], 0)
                       | np.where(big.any(1), _ID_BIT["value_beyond_fp32"], 0), 0)
        unsup = _to_blocks(rows(bad), k, False).any(1)
        cls = np.where(unsup, UNSUPPORTED, cls)
        note = (f"{e['path']}: {int(unsup.sum())} blocks not checked: their element codes ({e['inputs'][1]}) are "
                f"not {mxf.element.name} codes (its quantize check reports them)") if unsup.any() else ""
        nb = -(-rows(got).shape[1] // k)
        el = mxf.element

        def line(i, label, note=""):
            n = int(valid[i].sum())
            r, j = divmod(i, nb)
            inp = f"scale {_scale_str(S[i])} codes " + ",".join(f"{int(c):02X}" for c in C[i, :n])
            diff = [t for t in range(n) if d[i, t]]
            parts = [f"[{t}] code {_code_str(C[i, t], el)} got {_bits_str(np.float32(G[i, t]).view(np.uint32))} "
                     f"expected {_bits_str(np.float32(E[i, t]).view(np.uint32))}" for t in diff[:4]]
            if len(diff) > 4:
                parts.append(f"+{len(diff) - 4} more elements differ")
            return self._line(target, e, label, inp, " | ".join(parts), note,
                              dict(input_hex=[f"0x{int(c):02X}" for c in C[i, :n]], scale=int(S[i]),
                                   got=[_val(v) for v in G[i, :n]], expected=[_val(v) for v in E[i, :n]],
                                   differing_elements=diff, row=int(r), block=int(j)),
                              f"row {r} block {j}", n)
        return _Cases(cls, ids, line, note)

    def _cmp_pack(self, target, e):
        """Every row of codes: its packed bytes (mxref.pack_elements, the entry's order)."""
        from .packing import pack_elements

        codes = self._input(e["inputs"][0], e["path"])
        got = self._got(e)
        exp = pack_elements(codes, target.format, order=e["modes"]["order"])
        d = (got != exp).reshape(got.shape[0], -1).any(1)

        def line(i, label, note=""):
            b = int(np.flatnonzero(got[i] != exp[i])[0]) if d[i] else -1
            return self._line(target, e, label, ",".join(f"{int(c):02X}" for c in codes[i]),
                              f"got {bytes(got[i]).hex().upper()} expected {bytes(exp[i]).hex().upper()} "
                              f"(first difference at byte {b})", note,
                              dict(input_hex=[f"0x{int(c):02X}" for c in codes[i]], got=bytes(got[i]).hex(),
                                   expected=bytes(exp[i]).hex(), row=int(i)), f"row {i}", codes.shape[1])
        return _Cases(np.where(d, MISMATCH, PASS), np.zeros(len(d), np.int64), line)

    def _cmp_swizzle(self, target, e):
        """Every byte of the swizzled scale buffer (mxref.swizzle_scales)."""
        from .packing import swizzle_scales

        sc = self._input(e["inputs"][0], e["path"])
        m = e["modes"]
        got = self._got(e).reshape(-1)
        exp = swizzle_scales(sc, layout=m["layout"], pad_value=m.get("pad_value", 0)).reshape(-1)
        rows, kb = sc.shape
        tk = -(-kb // 4)

        def source(i):  # the cuBLAS tile formula, inverted (spec_vectors/README.md)
            if m["layout"] != "cublas":
                return f"byte {i}"
            t, w = divmod(i, 512)
            ti, tj = divmod(t, tk)
            rr = w // 16 + 32 * ((w % 16) // 4)  # byte (rr % 32) * 16 + (rr // 32) * 4 + c
            r, c = ti * 128 + rr, tj * 4 + w % 4
            return f"scales[{r},{c}]=0x{int(sc[r, c]):02X}" if r < rows and c < kb else "padding"

        def line(i, label, note=""):
            return self._line(target, e, label, source(i), f"got 0x{int(got[i]):02X} expected 0x{int(exp[i]):02X}",
                              note, dict(input_hex=source(i), got=int(got[i]), expected=int(exp[i]), index=int(i)),
                              f"byte {i}")
        return _Cases(np.where(got != exp, MISMATCH, PASS), np.zeros(got.size, np.int64), line)

    def _operands(self, e):
        (sa, xa, sb, xb), ents = [self._input(q, e["path"]) for q in e["inputs"]], [self._entry(q) for q in e["inputs"]]
        a = MXArray(ents[1]["format"], ents[1]["block_size"], ents[1]["axis"], xa.shape, np.ascontiguousarray(sa),
                    np.ascontiguousarray(xa))
        b = MXArray(ents[3]["format"], ents[3]["block_size"], ents[3]["axis"], xb.shape, np.ascontiguousarray(sb),
                    np.ascontiguousarray(xb))
        return a, b

    def _cmp_matmul(self, target, e):
        """Every element of C = A @ B (MX §6.2): float32 under the entry's accumulator model
        (mxref.matmul), or the exact value (mxref.dot, dtype="exact") in the .exact.txt files."""
        from .dot import dot, matmul

        a, b = self._operands(e)
        M, N = a.shape[0], b.shape[1]
        k = a.block_size

        def operand_str(i, j):
            return (f"row {i} of A (scales {' '.join(f'{int(s):02X}' for s in a.scales[i])}) x column {j} of B "
                    f"(scales {' '.join(f'{int(s):02X}' for s in b.scales[:, j])})")

        if e["dtype"] == "text":
            got = self._texts[e["path"]]

            def exact(i, j):
                r = MXArray(a.format, k, 0, (a.shape[1],), np.ascontiguousarray(a.scales[i]),
                            np.ascontiguousarray(a.elements[i]))
                c = MXArray(b.format, k, 0, (b.shape[0],), np.ascontiguousarray(b.scales[:, j]),
                            np.ascontiguousarray(b.elements[:, j]))
                v = dot(r, c, dtype="exact")
                return ("nan" if v != v else "+inf" if v > 0 else "-inf") if isinstance(v, float) else v

            exp = {(i, j): exact(i, j) for i in range(M) for j in range(N)}
            cells = sorted(exp)
            cls = np.array([PASS if got[c] == exp[c] else MISMATCH for c in cells])

            def line(n, label, note=""):
                i, j = cells[n]
                return self._line(target, e, label, operand_str(i, j),
                                  f"got {_rational_str(got[(i, j)])} expected {_rational_str(exp[(i, j)])}", note,
                                  dict(input_hex=operand_str(i, j), got=_rational_str(got[(i, j)]),
                                       expected=_rational_str(exp[(i, j)]), row=i, col=j), f"[{i},{j}]")
            return _Cases(cls, np.zeros(len(cells), np.int64), line)
        got = self._got(e)
        exp = matmul(a, b, accumulate=e["modes"]["accumulate"]).view(np.uint32)
        g, x = got.view(np.float32), exp.view(np.float32)
        same = (got == exp) | (np.isnan(g) & np.isnan(x))
        zero = ~same & (g == 0) & (x == 0)
        cls = np.where(same, PASS, np.where(zero, IMPL, MISMATCH)).reshape(-1)
        ids = np.where(zero, _ID_BIT["signed_zero"], 0).reshape(-1)

        def line(n, label, note=""):
            i, j = divmod(n, N)
            return self._line(target, e, label, operand_str(i, j),
                              f"got {_bits_str(got[i, j])} expected {_bits_str(exp[i, j])}", note,
                              dict(input_hex=operand_str(i, j), got=int(got[i, j]), expected=int(exp[i, j]),
                                   row=i, col=j), f"[{i},{j}]")
        return _Cases(cls, ids, line)

    def _exact_text(self, e, M, N) -> dict:
        """{(row, col): Fraction or "nan" / "+inf" / "-inf"} of an .exact.txt file; malformed lines
        raise ValueError."""
        from fractions import Fraction

        try:
            text = _confined(self.dir, e["path"], "MANIFEST.json path", self._err).read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise self._err(f"{e['path']}: not readable text ({exc})") from None
        out = {}
        for ln, line in enumerate(text.splitlines(), 1):
            body = line.split("#", 1)[0].strip()
            if not body:
                continue
            try:
                i, j, t = body.split()
                i, j = int(i), int(j)
                if not (0 <= i < M and 0 <= j < N) or (i, j) in out:
                    raise ValueError(f"element [{i},{j}] is outside {M} x {N} or repeated")
                if t in ("nan", "inf", "-inf"):
                    out[(i, j)] = {"inf": "+inf"}.get(t, t)
                    continue
                mant, ex = t.lstrip("-").split("p")
                if not mant.startswith("0x"):
                    raise ValueError(f"{t!r} is not <sign>0x<hex>p<exponent>")
                out[(i, j)] = (-1 if t.startswith("-") else 1) * int(mant, 16) * Fraction(2) ** int(ex)
            except ValueError as exc:
                raise self._err(f"{e['path']}:{ln}: cannot read {line!r} ({exc})") from None
        if len(out) != M * N:
            raise self._err(f"{e['path']}: {len(out)} elements, expected {M} x {N}")
        return out


def _rational_str(v) -> str:
    """An exact dot-product value as spec_vectors writes it: <sign>0x<hex>p<exp>, nan, inf, -inf."""
    if isinstance(v, str):
        return {"+inf": "inf"}.get(v, v)
    if v == 0:
        return "0x0p0"
    n, d = v.numerator, v.denominator
    e = d.bit_length() - 1
    while n % 2 == 0:
        n //= 2
        e -= 1
    return f"{'-' if n < 0 else ''}0x{abs(n):X}p{-e}"


def _run_cases(adapter, target: Target, strict: bool, keep: int, progress) -> TargetResult:
    """Count and pick the report lines of a target compared by ``adapter.compare``."""
    t0 = time.perf_counter()
    res = TargetResult(adapter.library, adapter.version(), target)
    with np.errstate(all="ignore"):
        groups = adapter.compare(target)
    failing, keys = [], []
    for g, cs in enumerate(groups):
        if cs.note:
            res.notes.append(cs.note)
        cls, ids = np.asarray(cs.cls).copy(), np.asarray(cs.ids, np.int64).copy()
        strict_ids = np.zeros_like(ids)
        if strict:
            sel = cls == IMPL
            strict_ids[sel] = ids[sel]
            cls[sel], ids[sel] = MISMATCH, 0
        for c in range(5):
            res.counts[c] += int((cls == c).sum())
        for name, bit in _ID_BIT.items():
            cnt = int(((ids & bit) != 0).sum())
            if cnt:
                res.impl_ids[name] = res.impl_ids.get(name, 0) + cnt
        for ci in np.nonzero(cls == IMPL)[0][:2000]:
            lab = _class_label(IMPL, int(ids[ci]))
            if lab not in res.impl_lines:
                res.impl_lines[lab] = cs.line(int(ci), lab, "")
        mis = np.nonzero(cls == MISMATCH)[0]
        res.mismatch_total += len(mis)
        failing += [(cs, int(ci), int(strict_ids[ci])) for ci in mis[:20_000]]
        keys += [g] * min(len(mis), 20_000)
    res.candidates = [failing[i] for i in _diversity_order(keys)[:keep]]  # round-robin over the files
    res.adapter = adapter
    res.seconds = time.perf_counter() - t0
    if progress:
        c = res.counts
        progress(f"{adapter.name} {target.profile.name}: {target.operation} {target.format} "
                 f"({target.modes}): {res.cases} cases, {c[PASS]} pass, {c[MISMATCH]} mismatch, "
                 f"{c[IMPL]} impl-defined, {c[UNSUPPORTED]} unsupported, {c[ERROR]} error "
                 f"[{res.seconds:.1f} s]")
    return res


# ----- known differences of peer libraries, by version -----------------------------------------------


def _version_tuple(v: str) -> tuple:
    """The leading numeric release of a version string ("0.18.0 (torch 2.13.0+cpu)" -> (0, 18, 0));
    () when it has none."""
    import re

    m = re.match(r"\s*(\d+(?:\.\d+)*)", str(v))
    return tuple(int(p) for p in m.group(1).split(".")) if m else ()


@dataclass(frozen=True)
class KnownDifference:
    """A MISMATCH class seen in a peer library, keyed by the version range it was observed on: a
    MISMATCH line that ``match`` recognises from its data, on a version in [low, high) (tuples;
    None: unbounded), gets the note ``[known: <label>: <text>]``; on other versions it is left
    as found (a new release may have fixed it, or changed it). ``observed``: the versions it was
    seen on; ``fixed_in``: the first version seen without it, if any."""

    library: str
    id: str
    low: tuple | None
    high: tuple | None
    observed: str
    text: str
    match: object = field(compare=False, repr=False)
    fixed_in: str | None = None

    def applies(self, version: str) -> bool:
        v = _version_tuple(version)
        return bool(v) and (self.low is None or v >= self.low) and (self.high is None or v < self.high)

    @property
    def label(self) -> str:
        dot = lambda t: ".".join(map(str, t))  # noqa: E731
        if self.low is not None and self.high is not None and len(self.low) == 2 and \
                self.high == (self.low[0], self.low[1] + 1):
            rng = f"{dot(self.low)}.x"
        elif self.low is None:
            rng = f"< {dot(self.high)}" if self.high is not None else "any version"
        else:
            rng = f">= {dot(self.low)}" + (f", < {dot(self.high)}" if self.high is not None else "")
        return f"{self.library} {rng} (seen on {self.observed})"


def _hex_value(h: str) -> float:
    u = np.uint32 if len(h) == 10 else np.uint64
    return float(np.array([int(h, 16)], u).view(np.float32 if u is np.uint32 else np.float64)[0])


def _hex_block(hs) -> np.ndarray:
    if len(hs[0]) == 10:
        return np.array([int(h, 16) for h in hs], np.uint32).view(np.float32)
    return np.array([int(h, 16) for h in hs], np.uint64).view(np.float64)


def _kd_ml_float64_twice(d) -> bool:
    """encode from float64: the code of float32(x), not of x (rounded twice)."""
    import re

    if d.get("operation") != "encode" or "from=float64" not in d.get("modes", "") or "got" not in d:
        return False
    m = re.search(r"overflow=(\w+)", d["modes"])
    with np.errstate(all="ignore"):
        via32 = encode(np.array([_hex_value(d["input_hex"])], np.float64).astype(np.float32), d["format"],
                       nan="zero", overflow=m.group(1) if m else "saturate")
    return int(via32[0]) == d["got"] != d["expected"]


def _kd_ml_e8m0_below_1p5(d) -> bool:
    """encode_e8m0 of a float32 in (2^-127, 1.5 * 2^-127): 2^-126 (code 1) for 2^-127 (code 0)."""
    if d.get("operation") != "encode_e8m0" or "got" not in d:
        return False
    v = _hex_value(d["input_hex"])
    return 2.0**-127 < v < 1.5 * 2.0**-127 and d["got"] == 1 and d["expected"] == 0


def _kd_gf_e8m0_below(d) -> bool:
    if d.get("operation") != "encode_e8m0" or "got" not in d:
        return False
    return _hex_value(d["input_hex"]) < 2.0**-127 and d["got"] != 0


def _kd_gf_float64_log2(d) -> bool:
    """quantize from float64: amax = 2^e (2 - 2^-52) (fraction all ones), scale one too large."""
    if d.get("operation") != "quantize" or "scale" not in d.get("got", {}):
        return False
    x = _hex_block(d["input_hex"])
    if x.dtype != np.float64:
        return False
    a = np.abs(x[np.isfinite(x)])
    if not a.size:
        return False
    frac = int(a.max().view(np.uint64)) & ((1 << 52) - 1)
    return frac == (1 << 52) - 1 and d["got"]["scale"] == d["expected"]["scale"] + 1


def _kd_ta_scale0_min_normal(d) -> bool:
    """FLOOR / CEIL / EVEN: scale code 0 written, the elements divided by 2^-126."""
    if d.get("operation") != "quantize" or d.get("format") == _NVFP4 or d.get("profile") == "rceil-rne":
        return False
    g = d.get("got", {})
    if g.get("scale") != 0 or d["expected"]["scale"] != 0 or "codes" not in g:
        return False
    x = _hex_block(d["input_hex"]).astype(np.float64)
    return g["codes"] == encode(np.ldexp(x, 126), mx_format(d["format"]).element).tolist()


def _kd_ta_rceil_code0(d) -> bool:
    """RCEIL: scale code 0 applied as a factor 1.0."""
    if d.get("operation") != "quantize" or d.get("profile") != "rceil-rne":
        return False
    g = d.get("got", {})
    if g.get("scale") != 0 or "codes" not in g:
        return False
    x = _hex_block(d["input_hex"]).astype(np.float64)
    return g["codes"] == encode(x, mx_format(d["format"]).element).tolist()


def _kd_ta_rceil_log2(d) -> bool:
    """RCEIL: ceil(log2(amax / max)) in float32 -- one short just above a power of two."""
    if d.get("operation") != "quantize" or d.get("profile") != "rceil-rne":
        return False
    g = d.get("got", {})
    if "scale" not in g or g["scale"] != d["expected"]["scale"] - 1 or g["scale"] == 0:
        return False
    x = _hex_block(d["input_hex"]).astype(np.float64)
    a = np.abs(x[np.isfinite(x)])
    if not a.size:
        return False
    with np.errstate(all="ignore"):
        q = np.float32(a.max()) / np.float32(mx_format(d["format"]).element.max)
        return bool(np.ceil(np.log2(q)) == g["scale"] - 127 and q > np.float32(2.0 ** (g["scale"] - 127)))


def _kd_ta_nvfp4_zero_tensor(d) -> bool:
    """NVFP4 per_tensor_amax_to_scale of an all-zero tensor: P = 0, scale 0xFF."""
    if d.get("format") != _NVFP4 or d.get("profile") != "nvfp4-pts_amax":
        return False
    return d.get("got", {}).get("scale") == 0xFF and bool((_hex_block(d["input_hex"]) == 0).all())


#: What the tests found in the peer libraries (tests/test_conformance.py), by the version range it
#: was observed on. ml_dtypes 0.7.0 fixed both of its entries (seen: level 1 reports no MISMATCH).
KNOWN_DIFFERENCES = (
    KnownDifference("ml_dtypes", "float64_rounded_twice", None, (0, 7), "0.6.0",
                    "float64 casts round to float32 first, then to the element format (double rounding)",
                    _kd_ml_float64_twice, fixed_in="0.7.0"),
    KnownDifference("ml_dtypes", "e8m0_below_1.5x2^-127", None, (0, 7), "0.6.0",
                    "float32 values in (2^-127, 1.5 * 2^-127) cast to E8M0 2^-126 although 2^-127 is nearer",
                    _kd_ml_e8m0_below_1p5, fixed_in="0.7.0"),
    KnownDifference("gfloat", "e8m0_below_2^-127", (0, 5), (0, 6), "0.5.2",
                    "E8M0 rounding of values below 2^-127 gives codes outside 0..254", _kd_gf_e8m0_below),
    KnownDifference("gfloat", "float64_floor_log2", (0, 5), (0, 6), "0.5.2",
                    "compute_scale_amax takes floor(log2(amax)) in floating point: a float64 amax "
                    "2^k (2 - 2^-52) gives k + 1 (the scale one too large)", _kd_gf_float64_log2),
    KnownDifference("torchao", "scale0_divides_by_2^-126", (0, 18), (0, 19), "0.18.0",
                    "a block with scale code 0 (2^-127) has its elements divided by 2^-126 (FLOOR, CEIL, EVEN)",
                    _kd_ta_scale0_min_normal),
    KnownDifference("torchao", "rceil_code0_as_1", (0, 18), (0, 19), "0.18.0",
                    "RCEIL applies scale code 0 as a factor 1.0", _kd_ta_rceil_code0),
    KnownDifference("torchao", "rceil_float32_log2", (0, 18), (0, 19), "0.18.0",
                    "RCEIL takes ceil(log2(amax / max)) in float32: just above a power of two the scale "
                    "is one short", _kd_ta_rceil_log2),
    KnownDifference("torchao", "nvfp4_zero_tensor", (0, 18), (0, 19), "0.18.0",
                    "NVFP4 per_tensor_amax_to_scale of an all-zero tensor divides by P = 0 (scale 0xFF)",
                    _kd_ta_nvfp4_zero_tensor),
)


def _known_difference(library: str, version: str, data: dict):
    """The KnownDifference a MISMATCH line's data is, on this library version; None if none."""
    for kd in KNOWN_DIFFERENCES:
        if kd.library == library and kd.applies(version):
            try:
                if kd.match(data):
                    return kd
            except (KeyError, TypeError, ValueError, IndexError):
                continue
    return None


def _known_differences_note(library: str, version: str) -> str | None:
    """A run note when the library has recorded differences but none for this version."""
    mine = [kd for kd in KNOWN_DIFFERENCES if kd.library == library]
    if not mine or any(kd.applies(version) for kd in mine):
        return None
    rec = "; ".join(f"{kd.label}: {kd.text}" + (f" (fixed in {kd.fixed_in})" if kd.fixed_in else "") for kd in mine)
    return (f"{library} {version}: no known differences are recorded for this version, so every MISMATCH "
            f"shown is unexplained here (recorded for other versions: {rec})")


def _annotate_known(adapter, results, notes: list) -> None:
    """Add the version-keyed known-difference note to each MISMATCH line it explains."""
    if isinstance(adapter, (DumpAdapter, VectorsAdapter, MicroxcalingAdapter)):
        return
    try:
        version = adapter.version()
    except Exception:  # pragma: no cover - an adapter without a readable version
        return
    for r in results:
        for line in r.mismatch_lines:
            kd = _known_difference(adapter.name, version, line.data)
            if kd is not None:
                line.text += f" [known: {kd.label}: {kd.text}]"
                line.data["known_difference"] = {"id": kd.id, "versions": kd.label, "text": kd.text}
    note = _known_differences_note(adapter.name, version) if results else None
    if note:
        notes.append(note)


#: Adapter classes by --library name.
ADAPTERS = {"ml_dtypes": MlDtypesAdapter, "gfloat": GfloatAdapter, "torchao": TorchaoAdapter,
            "microxcaling": MicroxcalingAdapter, "dump": DumpAdapter, "mxref": MxrefAdapter}


# ----- the report -------------------------------------------------------------------------------


@dataclass
class Report:
    """Everything one run found: per-target results, the settings, rendering to text and JSON."""

    results: list
    level: int
    seed: int
    strict: bool
    errors: int
    unavailable: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)  # remarks on the whole run (e.g. files checked)

    def totals(self) -> list:
        t = [0, 0, 0, 0, 0]
        for r in self.results:
            for i in range(5):
                t[i] += r.counts[i]
        return t

    @property
    def compared(self) -> int:
        """Cases compared with mxref (every class but UNSUPPORTED)."""
        t = self.totals()
        return sum(t) - t[UNSUPPORTED]

    def why_nothing_compared(self) -> str | None:
        """None when some case was compared; else why none was (a run that checked nothing
        must not read as a PASS)."""
        if self.compared:
            return None
        why = []
        if not self.results:
            if not any(n.startswith("no target") for n in self.notes):
                why.append("no target matched the library, profile, --format and --operation given")
        else:
            reasons = sorted({f"{r.library}: {n}" for r in self.results for n in r.notes if r.counts[UNSUPPORTED]})
            why.append(f"all {sum(self.totals())} cases are UNSUPPORTED" + (f" ({'; '.join(reasons)})" if reasons else ""))
        why += [f"{name} skipped: {w}" for name, w in self.unavailable.items()]
        why += [n for n in self.notes if n.startswith("no target")]
        return _printable("; ".join(why))

    @property
    def exit_status(self) -> int:
        """0 nothing found, 1 a MISMATCH or ERROR, 2 no case compared."""
        t = self.totals()
        if t[MISMATCH] or t[ERROR]:
            return 1
        return 2 if not self.compared else 0

    def _round_robin(self, attr) -> list:
        lists = [getattr(r, attr) for r in self.results]
        out = []
        j = 0
        while any(j < len(lst) for lst in lists):
            out += [lst[j] for lst in lists if j < len(lst)]
            j += 1
        return out if self.errors == 0 else out[: self.errors]

    def mismatch_lines(self) -> list:
        return self._round_robin("mismatch_lines")

    def error_lines(self) -> list:
        return self._round_robin("error_lines")

    def impl_lines(self) -> list:
        seen, out = set(), []
        for r in self.results:
            for lab, line in r.impl_lines.items():
                key = (r.library, lab)
                if key not in seen:
                    seen.add(key)
                    out.append(line)
        return out

    def impl_id_counts(self) -> dict:
        c: dict = {}
        for r in self.results:
            for k, v in r.impl_ids.items():
                c[k] = c.get(k, 0) + v
        return c

    def rows(self) -> list:
        return [r.row() for r in self.results]

    def to_json(self) -> dict:
        from . import __version__

        t = self.totals()
        return {
            "mxref_version": __version__, "level": self.level, "seed": self.seed, "strict": self.strict,
            "errors_shown": self.errors,
            "summary": self.rows(),
            "totals": {n: t[i] for i, n in enumerate(_CLASS_NAMES)} | {"cases": sum(t)},
            "impl_defined_ids": self.impl_id_counts(),
            "impl_defined_meaning": {k: IMPL_DEFINED_IDS[k] for k in self.impl_id_counts()},
            "mismatch_lines": [dict(line.data, text=line.text) for line in self.mismatch_lines()],
            "mismatch_total": sum(r.mismatch_total for r in self.results),
            "error_lines": [dict(line.data, text=line.text) for line in self.error_lines()],
            "impl_defined_examples": [dict(line.data, text=line.text) for line in self.impl_lines()],
            "notes": {f"{r.library} {r.target.profile.name} {r.target.operation} {r.target.format}": r.notes
                      for r in self.results if r.notes},
            "unavailable": self.unavailable,
            "run_notes": list(self.notes),
            "nothing_compared": self.why_nothing_compared(),
            "exit_status": self.exit_status,
        }

    def text(self) -> str:
        out = []
        libs = dict.fromkeys(f"{r.library} {r.version}" for r in self.results)
        out.append(f"mxref conformance check: {', '.join(libs) or '(nothing run)'}; level {self.level}; "
                   f"seed {self.seed}; strict {'on' if self.strict else 'off'}")
        for name, why in self.unavailable.items():
            out.append(f"UNSUPPORTED {name}: {why}")
        ml = self.mismatch_lines()
        total = sum(r.mismatch_total for r in self.results)
        if ml:
            out.append("")
            out.append(f"Differences classified MISMATCH ({len(ml)} shown of {total}):")
            out += [line.text for line in ml]
            if len(ml) < total:
                out.append(f"... {total - len(ml)} more MISMATCH cases not shown (--errors 0 shows them all)")
        el = self.error_lines()
        if el:
            out.append("")
            out.append("Cases classified ERROR (the library raised, or its output was malformed):")
            out += [line.text for line in el]
        il = self.impl_lines()
        if il:
            out.append("")
            out.append("IMPLEMENTATION-DEFINED differences (one example per library and id):")
            out += [line.text for line in il]
        notes = [(r, n) for r in self.results for n in r.notes]
        if notes or self.notes:
            out.append("")
            out.append("Notes (unsupported cases and remarks):")
            out += list(self.notes)
            out += sorted({f"{r.library}: {n}" for r, n in notes})
        out.append("")
        out.append("Summary")
        headers = ["library", "version", "operation", "format", "profile", "modes", "cases", "pass",
                   "mismatch", "impl-defined", "unsupported", "error"]
        rows = [[r[h] for h in headers] for r in self.rows()]
        t = self.totals()
        rows.append(["total", "", "", "", "", "", sum(t)] + t)
        out.append(_table(headers, rows))
        ids = self.impl_id_counts()
        if ids:
            out.append("")
            out.append(_table(["impl-defined id", "cases", "meaning"],
                              [[k, v, IMPL_DEFINED_IDS[k]] for k, v in ids.items()]))
        out.append("")
        verdict = {0: "PASS", 1: "FAIL", 2: "NOTHING CHECKED"}[self.exit_status]
        if self.exit_status == 2:
            out.append(f"No case was compared: {self.why_nothing_compared()}")
        out.append(f"{verdict}: {t[MISMATCH]} mismatch, {t[ERROR]} error, {t[IMPL]} implementation-defined, "
                   f"{t[UNSUPPORTED]} unsupported, {t[PASS]} pass of {sum(t)} cases")
        return _printable("\n".join(out), keep="\n")


def _table(headers, rows) -> str:
    try:
        from tabulate import tabulate
    except ImportError:
        tabulate = None
    if tabulate is not None:
        return tabulate(rows, headers=headers, disable_numparse=True)
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    w = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * x for x in w))
    return "\n".join(lines)


# ----- running ----------------------------------------------------------------------------------


def _resolve_profiles(adapter, profile) -> list:
    profs = adapter.profiles()
    if profile is None:
        names = list(adapter.default_profiles) or list(profs)
    elif profile == "all":
        names = list(profs)
    else:
        names = [p.strip() for p in str(profile).split(",") if p.strip()]
    bad = [n for n in names if n not in profs]
    if bad:
        raise ValueError(f"{adapter.name} has no profile {bad[0]!r}; its profiles: {', '.join(profs)} (or 'all')")
    return [profs[n] for n in names]


def _resolve_formats(formats):
    if formats is None:
        return None
    if isinstance(formats, str):
        formats = [f for f in formats.split(",") if f.strip()]
    out = set()
    for f in formats:
        f = f.strip()
        if f.lower() in ("e8m0", _NVFP4):
            out.add(f.lower())
            continue
        try:
            mxf = mx_format(f)
            out |= {mxf.name, mxf.element.name}
        except ValueError:
            raise ValueError(f"unknown format {f!r}; use an MX format ({', '.join(MX_FORMATS)}), "
                             "an element format name, e8m0 or nvfp4") from None
    return out


def check(library, *, profile=None, level: int = 1, seed: int = 0, strict: bool = False, errors: int = 20,
          formats=None, operations=None, progress=None, dump=None, microxcaling_dir=None,
          vectors=None) -> Report:
    """Run one library (a name of :data:`ADAPTERS` or an :class:`Adapter`) and return the
    :class:`Report`. ``profile``: a name, comma-separated names, "all", or None (the adapter's
    defaults); ``formats`` / ``operations``: optional filters; ``errors``: MISMATCH (and ERROR)
    lines kept, 0 = every picked case (at most 64 shrunk per target); ``progress``: a callable
    receiving one line per target. ``dump``: the directory of library "dump" (``dump.json``, or
    the spec_vectors layout with ``MANIFEST.json``); ``vectors``: the reference spec_vectors set
    for the latter (default: this checkout's)."""
    if level not in LEVEL_MINIMUM:
        raise ValueError(f"level must be 1 or 2, got {level!r}")
    if isinstance(errors, bool) or not isinstance(errors, int) or errors < 0:
        raise ValueError(f"errors must be an int >= 0, got {errors!r}")
    adapter = _make_adapter(library, dump=dump, microxcaling_dir=microxcaling_dir, vectors=vectors)
    why = adapter.availability()
    if why:
        raise AdapterUnavailable(why)
    fset = _resolve_formats(formats)
    if operations is not None:
        ops = [operations] if isinstance(operations, str) else list(operations)
        for op in ops:
            if op not in _VEC_OPERATIONS:
                raise ValueError(f"unknown operation {op!r}; known: {', '.join(_VEC_OPERATIONS)}")
    keep = errors if errors else 10**9
    results = []
    offered = []  # every target of the profiles, before the filters
    for prof in _resolve_profiles(adapter, profile):
        for t in adapter.targets(prof, level):
            offered.append(t)
            if fset is not None and not set(t.format.split("__")) & fset:  # matmul: "<A>__<B>"
                continue
            if operations is not None and t.operation not in ops:
                continue
            if t.operation in _VECTOR_OPERATIONS:
                r = _run_cases(adapter, t, strict, keep, progress)
            else:
                r = _run_target(adapter, t, level, seed, strict, keep, progress)
            if isinstance(adapter, (DumpAdapter, VectorsAdapter)):
                r.library = f"{adapter.library} (dump)"
            results.append(r)
    # MISMATCH lines: round-robin over the targets, capped by errors; only those are shrunk
    take = [0] * len(results)
    left = errors if errors else 10**9
    j = 0
    while left > 0 and any(j < len(r.candidates) for r in results):
        for i, r in enumerate(results):
            if j < len(r.candidates) and left > 0:
                take[i] += 1
                left -= 1
        j += 1
    for r, n in zip(results, take):
        r.render(n)
    notes = adapter.run_notes([r.target for r in results]) if isinstance(adapter, VectorsAdapter) else []
    _annotate_known(adapter, results, notes)
    if not results:
        name = adapter.library if isinstance(adapter, (DumpAdapter, VectorsAdapter)) else adapter.name
        asked = "".join(f" {k} {v if isinstance(v, str) else ','.join(map(str, v))}"
                        for k, v in (("--format", formats), ("--operation", operations)) if v)
        notes.append(_printable(
            f"no target of {name} matches{asked or ' its profiles'}: its targets are "
            f"{', '.join(sorted({t.operation for t in offered})) or 'none'} on "
            f"{', '.join(sorted({t.format for t in offered})) or 'no format'}"))
    return Report(results, level, seed, strict, errors, notes=notes)


def _make_adapter(library, dump=None, microxcaling_dir=None, vectors=None):
    if isinstance(library, Adapter):
        return library
    if library not in ADAPTERS:
        raise ValueError(f"unknown library {library!r}; known: {', '.join(ADAPTERS)}")
    if library == "dump":
        if dump is None:
            raise ValueError("--library dump needs --dump DIR")
        d = Path(dump)
        if (d / "dump.json").is_file() or not (d / "MANIFEST.json").is_file():
            return DumpAdapter(d)  # (its error names dump.json when neither file is there)
        return VectorsAdapter(d, vectors)
    if library == "microxcaling":
        return MicroxcalingAdapter(microxcaling_dir)
    return ADAPTERS[library]()


def _merge_reports(reports, level, seed, strict, errors, unavailable) -> Report:
    res = [r for rep in reports for r in rep.results]
    return Report(res, level, seed, strict, errors, unavailable, [n for rep in reports for n in rep.notes])


def _parser():
    p = argparse.ArgumentParser(
        prog="python -m mxref.conformance",
        description="Run an MX library against mxref and report every difference, classified "
                    "(MISMATCH, IMPL_DEFINED:<id>, UNSUPPORTED, ERROR).")
    p.add_argument("--library", default=None,
                   help=f"one or more of {', '.join(ADAPTERS)} (comma-separated), or 'all' (default: "
                        "every installed library and the microxcaling recordings)")
    p.add_argument("--dump", metavar="DIR", help="for --library dump: a directory with dump.json, or with "
                   "MANIFEST.json (outputs in the spec_vectors layout)")
    p.add_argument("--vectors", metavar="DIR", help="the reference spec_vectors set a --dump DIR in that layout "
                   "takes its inputs from (default: this checkout's spec_vectors/)")
    p.add_argument("--microxcaling-dir", metavar="DIR", help="microxcaling recordings (default "
                   "../shared/peers/microxcaling beside the repository)")
    p.add_argument("--profile", default=None, help="profile name(s) the library claims, comma-separated, or "
                   "'all' (default: the adapter's own; --list shows them)")
    p.add_argument("--format", default=None, help="only these formats (comma-separated)")
    p.add_argument("--operation", default=None, help=f"only these operations ({', '.join(_VEC_OPERATIONS)}; "
                   "the last five in the spec_vectors layout only)")
    p.add_argument("--level", type=int, choices=(1, 2), default=1,
                   help="1: >= 1,000 blocks / 10,000 values per target (default); 2: >= 10,000 / 200,000")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--errors", type=int, default=20, help="MISMATCH lines shown (default 20; 0 = all)")
    p.add_argument("--strict", action="store_true", help="implementation-defined differences count as MISMATCH")
    p.add_argument("--json", metavar="FILE", help="write the report as JSON")
    p.add_argument("--list", action="store_true", help="list the libraries, their availability and profiles")
    return p


def _json_target_ok(path: str) -> str | None:
    """None when --json FILE can be written, else why not (checked before the run, so that a
    long run does not end in a traceback): FILE is opened for appending (and removed again when
    this created it)."""
    import os

    p = Path(path)
    if p.is_dir():
        return f"{path} is a directory"
    existed = p.exists()
    try:
        with open(p, "a"):
            pass
    except OSError as exc:
        return f"cannot write {path} ({exc.strerror or type(exc).__name__})"
    if not existed:
        try:
            os.unlink(p)
        except OSError:
            pass
    return None


def main(argv=None) -> int:
    """The command line; returns the exit status (see the module docstring)."""
    args = _parser().parse_args(argv)
    err = sys.stderr

    def say(msg):  # one line on stderr, its control characters escaped
        print(_printable(msg), file=err, flush=True)

    def progress(msg):
        say(f"conformance: {msg}")

    if args.errors < 0:
        say("error: --errors must be >= 0")
        return 2
    if args.list:
        for name in ADAPTERS:
            if name == "dump" and not args.dump:
                print("dump: needs --dump DIR (profiles come from its dump.json or MANIFEST.json)")
                continue
            try:
                a = _make_adapter(name, dump=args.dump, microxcaling_dir=args.microxcaling_dir, vectors=args.vectors)
                why = a.availability()
                if why:
                    print(_printable(f"{name}: unavailable: {why}"))
                    continue
                profs = list(a.profiles())
                print(_printable(f"{name} {a.version()}: profiles {', '.join(profs)}; default "
                                 f"{', '.join(a.default_profiles or profs)}"))
            except Exception as exc:
                print(_printable(f"{name}: unavailable: {exc}"))
        return 0
    if args.library in (None, "all"):
        libs = [n for n in ADAPTERS if n not in ("dump", "mxref")]
        if args.dump:
            libs.append("dump")
        explicit = False
    else:
        libs = [s.strip() for s in args.library.split(",") if s.strip()]
        explicit = True
        bad = [n for n in libs if n not in ADAPTERS]
        if bad:
            say(f"error: unknown library {bad[0]!r}; known: {', '.join(ADAPTERS)}")
            return 2
        if not libs:
            say(f"error: --library names no library; known: {', '.join(ADAPTERS)}")
            return 2
    if "dump" in libs and not args.dump:
        say("error: --library dump needs --dump DIR (a directory holding dump.json, or MANIFEST.json in the "
            "spec_vectors layout)")
        return 2
    if args.json:
        why = _json_target_ok(args.json)
        if why:
            say(f"error: --json: {why}")
            return 2
    ops = args.operation.split(",") if args.operation else None
    reports, unavailable, no_profile = [], {}, {}
    for name in libs:
        try:
            adapter = _make_adapter(name, dump=args.dump, microxcaling_dir=args.microxcaling_dir,
                                    vectors=args.vectors)
            why = adapter.availability()
            if why:
                if explicit:
                    say(f"error: {name}: {why}")
                    return 3
                unavailable[name] = why
                progress(f"{name}: skipped: {why}")
                continue
            if not explicit and args.profile not in (None, "all"):
                try:
                    _resolve_profiles(adapter, args.profile)
                except ValueError as exc:
                    unavailable[name] = str(exc)
                    no_profile[name] = list(adapter.profiles())
                    progress(f"{name}: skipped: {exc}")
                    continue
            progress(f"{name} {adapter.version()}: level {args.level}, seed {args.seed}")
            reports.append(check(adapter, profile=args.profile, level=args.level, seed=args.seed,
                                 strict=args.strict, errors=args.errors, formats=args.format,
                                 operations=ops, progress=progress))
        except (ValueError, TypeError) as exc:
            say(f"error: {name}: {exc}")
            return 2
    if no_profile and not reports:  # the profile is no library's: say which ones there are
        known = "; ".join(f"{n}: {', '.join(p)}" for n, p in no_profile.items())
        say(f"error: no library has profile {args.profile!r}; known profiles: {known} (or 'all')")
        return 2
    rep = _merge_reports(reports, args.level, args.seed, args.strict, args.errors, unavailable)
    print(rep.text())
    if args.json:
        try:
            Path(args.json).write_text(json.dumps(rep.to_json(), indent=1))
        except OSError as exc:
            say(f"error: --json: cannot write {args.json} ({exc})")
            return 2
    if rep.exit_status == 2:
        say(f"error: no case was compared: {rep.why_nothing_compared()}")
    return rep.exit_status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
