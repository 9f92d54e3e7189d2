"""The spec_vectors layout, owned here and only here: what a vectors directory holds and how it
is read and written. Described for readers in spec_vectors/README.md.

A vectors directory holds ``MANIFEST.json`` (one object per data file), ``SHA256SUMS``
(``sha256sum`` format) and ``README.md`` beside the data files: raw little-endian C-order arrays
without a header (``|u1`` / ``<u2`` / ``<u4``), and UTF-8 text files (``*.tv`` text vectors,
``*.exact.txt`` hex rationals).

Public API (the generator, the verifier and the conformance checker all go through it):

* :func:`default_dir` -- where ``mxref vectors`` looks by default ($MXREF_VECTORS, ./spec_vectors);
* :data:`DTYPES`, :func:`dtype_name` -- the manifest's dtype names and the NumPy dtypes;
* :func:`read_manifest` (checked, hostile input gives ValueError), :func:`write_manifest`,
  :func:`previous_set`;
* :func:`read_sums`, :func:`write_sums` -- SHA256SUMS;
* :func:`inside` -- path confinement; :func:`disk_files`;
* :func:`file_array`, :func:`array_of` -- a data file as an array;
* :class:`Writer` -- writes data files and collects their manifest entries;
* :func:`hex_rational`, :func:`parse_hex_rational` -- exact dyadic values as text;
* the ``.tv`` line format: :func:`tv_line`, :func:`parse_tv_line`, :func:`tv_options`,
  :func:`parse_tv_options`, :func:`h32`;
* :func:`printable` -- control characters escaped, for messages that echo file content.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from fractions import Fraction
from pathlib import Path

import numpy as np

__all__ = [
    "SCHEMA_VERSION", "GENERATOR", "ENV_DIR", "default_dir", "LEVELS", "SPEC", "DTYPES", "FIXED", "TOP_KEYS", "FILE_KEYS", "ROLES",
    "dtype_name", "printable", "inside", "disk_files", "read_manifest", "check_entry", "write_manifest",
    "previous_set", "read_sums", "write_sums", "array_of", "file_array", "Writer", "hex_rational",
    "parse_hex_rational", "h32", "tv_options", "parse_tv_options", "tv_line", "parse_tv_line",
]

SCHEMA_VERSION = 1
#: the manifest's "generator" (level 1; level 2 adds " --level 2 --out DIR"): the command in the
#: committed manifest, kept as it is so that the committed bytes do not change
GENERATOR = "python tools/gen_vectors.py"
#: random counts per level: encode inputs per format, MX blocks per distribution
LEVELS = {1: dict(encode_random=4096, mx_blocks=48), 2: dict(encode_random=1 << 16, mx_blocks=1024)}
SPEC = {
    "mx": "OCP Microscaling Formats (MX) v1.0, September 2023",
    "ofp8": "OCP 8-bit Floating Point Specification (OFP8) Revision 1.0, June 2023",
}
#: manifest dtype name -> NumPy dtype (little-endian); "text" is the other dtype, for text files
DTYPES = {"|u1": np.dtype("|u1"), "<u2": np.dtype("<u2"), "<u4": np.dtype("<u4")}
_DTYPE_NAMES = {v: k for k, v in DTYPES.items()}
FIXED = {"MANIFEST.json", "SHA256SUMS", "README.md"}  # files of a directory outside the manifest
TOP_KEYS = {"schema_version", "generator", "mxref_version", "seed", "level", "spec", "files"}
FILE_KEYS = {"path", "sha256", "size", "dtype", "shape", "role", "operation"}
ROLES = ("input", "expected")
#: a path of the layout: relative, "/"-separated names of letters, digits, "_", "-", "."
PATH_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*")
NAME_RE = re.compile(r"[A-Za-z0-9_]+( x [A-Za-z0-9_]+)?")  # a format, or "A x B" of a matmul
SHA_RE = re.compile(r"[0-9a-f]{64}")
MAX_MANIFEST_BYTES = 64 << 20
MAX_NDIM = 8


#: environment variable naming the default vectors directory of ``mxref vectors ...``
ENV_DIR = "MXREF_VECTORS"


def default_dir() -> Path:
    """The default vectors directory of ``mxref vectors generate|verify``: $MXREF_VECTORS when
    set, else ./spec_vectors (relative to the current directory, so it works from an installed
    wheel; the tools/ wrappers of a checkout pass the checkout's spec_vectors/ instead)."""
    return Path(os.environ.get(ENV_DIR) or "spec_vectors")


def dtype_name(dtype) -> str:
    """The manifest name ("|u1", "<u2", "<u4") of an unsigned integer dtype; KeyError otherwise."""
    return _DTYPE_NAMES[np.dtype(dtype).newbyteorder("<")]


def printable(s) -> str:
    """s with every character that is not printable (terminal control characters included)
    written as a \\x / \\u escape."""
    s = str(s)
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in s)


# ----- paths ----------------------------------------------------------------------------------------

def _plain(rel) -> bool:
    return isinstance(rel, str) and bool(PATH_RE.fullmatch(rel)) and not any(
        part in (".", "..") for part in rel.split("/"))


def inside(root: Path, rel: str) -> Path:
    """root / rel, refused (ValueError) unless rel is a plain relative path (no absolute path, no
    "..") and root / rel stays inside root once symbolic links are resolved."""
    if not _plain(rel):
        raise ValueError(f"{rel!r} is not a plain relative path")
    f = Path(root) / rel
    try:
        real, top = f.resolve(), Path(root).resolve()
    except (OSError, RuntimeError) as exc:  # a symbolic link loop
        raise ValueError(f"{rel}: {exc}") from None
    if real != top and top not in real.parents:
        raise ValueError(f"{rel} leaves the directory (a symbolic link to {real})")
    return f


def disk_files(root: Path) -> set[str]:
    """Every file under root as a relative "/" path, without following symbolic links to
    directories (a link to a directory is listed as itself)."""
    out = set()
    for d, dirs, files in os.walk(root):
        rel = Path(d).relative_to(root)
        out.update((rel / f).as_posix() for f in files)
        out.update((rel / x).as_posix() for x in dirs if (Path(d) / x).is_symlink())
    return out


# ----- MANIFEST.json --------------------------------------------------------------------------------

def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_entry(i: int, e, paths: set):
    """ValueError naming entry i and the field when a manifest file entry is malformed; paths
    holds the paths of the entries before it (a repeated path is an error)."""
    if not isinstance(e, dict):
        raise ValueError(f"file entry {i} is a {type(e).__name__}, not an object")
    if not FILE_KEYS <= set(e):
        raise ValueError(f"file entry {i} lacks {sorted(FILE_KEYS - set(e))}")
    p = e["path"]
    where = f"file entry {i}"
    if not _plain(p):
        raise ValueError(f"{where}: path {p!r} is not a plain relative path (names of letters, digits, "
                         "'_', '-', '.', separated by '/'; no absolute path, no '..')")
    if p in FIXED:
        raise ValueError(f"{where}: path {p!r} is one of the fixed files {sorted(FIXED)}")
    if p in paths:
        raise ValueError(f"{where}: path {p} is listed twice")
    where = f"file entry {i} ({p})"
    if not isinstance(e["sha256"], str) or not SHA_RE.fullmatch(e["sha256"]):
        raise ValueError(f"{where}: sha256 {e['sha256']!r} is not 64 lowercase hex digits")
    if not _is_int(e["size"]) or e["size"] < 0:
        raise ValueError(f"{where}: size {e['size']!r} is not a non-negative integer")
    if not isinstance(e["dtype"], str) or (e["dtype"] != "text" and e["dtype"] not in DTYPES):
        raise ValueError(f"{where}: dtype {e['dtype']!r} is not one of {sorted(DTYPES) + ['text']}")
    sh = e["shape"]
    if (not isinstance(sh, list) or len(sh) > MAX_NDIM or not all(_is_int(d) and d >= 0 for d in sh)
            or (e["dtype"] == "text" and sh)):
        raise ValueError(f"{where}: shape {sh!r} is not a list of at most {MAX_NDIM} non-negative integers "
                         "(empty for text)")
    if not isinstance(e["role"], str) or e["role"] not in ROLES:
        raise ValueError(f"{where}: role {e['role']!r} is not one of {list(ROLES)}")
    for key in ("operation", "format"):
        if key in e and (not isinstance(e[key], str) or not NAME_RE.fullmatch(e[key])):
            raise ValueError(f"{where}: {key} {e[key]!r} is not a name")
    if "modes" in e and not isinstance(e["modes"], dict):
        raise ValueError(f"{where}: modes is a {type(e['modes']).__name__}, not an object")
    for key in ("block_size", "axis"):
        if key in e and (not _is_int(e[key]) or (key == "block_size" and e[key] <= 0)):
            raise ValueError(f"{where}: {key} {e[key]!r} is not a{' positive' if key == 'block_size' else 'n'} integer")
    ins = e.get("inputs", [])
    if not isinstance(ins, list) or not all(isinstance(q, str) for q in ins):
        raise ValueError(f"{where}: inputs is not a list of paths")


def read_manifest(root: Path) -> dict:
    """MANIFEST.json of root, parsed and checked: the top-level fields, and every file entry's
    fields and types (paths plain, relative and unique; every input a listed path). Raises
    ValueError naming the problem (unreadable, not JSON, nested too deeply, a wrong field)."""
    try:
        f = inside(root, "MANIFEST.json")
        with open(f, "rb") as fh:
            data = fh.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"unreadable ({exc.strerror or exc})") from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise ValueError(f"larger than {MAX_MANIFEST_BYTES >> 20} MiB")
    try:
        m = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise ValueError("unreadable (JSON nested too deeply)") from None
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ValueError(f"unreadable ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(m, dict):
        raise ValueError(f"the top level is a {type(m).__name__}, not an object")
    if not TOP_KEYS <= set(m):
        raise ValueError(f"missing fields {sorted(TOP_KEYS - set(m))}")
    if not _is_int(m["schema_version"]) or m["schema_version"] != SCHEMA_VERSION:
        raise ValueError(f"schema_version {m['schema_version']!r}, this verifier reads {SCHEMA_VERSION}")
    if not _is_int(m["level"]) or m["level"] not in LEVELS:
        raise ValueError(f"level {m['level']!r} is not one of {sorted(LEVELS)}")
    if not isinstance(m["generator"], str):
        raise ValueError(f"generator is a {type(m['generator']).__name__}, not a string")
    if not isinstance(m["files"], list):
        raise ValueError(f"files is a {type(m['files']).__name__}, not a list")
    paths = set()
    for i, e in enumerate(m["files"]):
        check_entry(i, e, paths)
        paths.add(e["path"])
    for e in m["files"]:
        for q in e.get("inputs", []):
            if q not in paths:
                raise ValueError(f"{e['path']}: input {q!r} is not a file of the manifest")
    return m


def write_manifest(root: Path, entries: list[dict], *, level: int, seed: int, mxref_version: str) -> list[dict]:
    """Write MANIFEST.json and SHA256SUMS of root for the file entries (as :class:`Writer`
    collects them); returns the entries sorted by path."""
    files = sorted(entries, key=lambda e: e["path"])
    cmd = GENERATOR + ("" if level == 1 else f" --level {level} --out DIR")
    manifest = dict(schema_version=SCHEMA_VERSION, generator=cmd, mxref_version=mxref_version,
                    seed=seed, level=level, spec=SPEC, endianness="little", layout="C order, no header",
                    readme="README.md", files=files)
    (Path(root) / "MANIFEST.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    write_sums(root, files)
    return files


def previous_set(root: Path):
    """The file paths of the vector set in root (its MANIFEST.json, written by the generator),
    or None when root holds no such set."""
    try:
        with open(Path(root) / "MANIFEST.json", "rb") as f:
            m = json.loads(f.read(MAX_MANIFEST_BYTES).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if (not isinstance(m, dict) or not isinstance(m.get("generator"), str)
            or not m["generator"].startswith(GENERATOR) or not isinstance(m.get("files"), list)):
        return None
    return {e["path"] for e in m["files"] if isinstance(e, dict) and isinstance(e.get("path"), str)}


# ----- SHA256SUMS -----------------------------------------------------------------------------------

def write_sums(root: Path, entries: list[dict]):
    """SHA256SUMS of root: one ``<sha256>  <path>`` line per entry, in the order given."""
    (Path(root) / "SHA256SUMS").write_text("".join(f"{e['sha256']}  {e['path']}\n" for e in entries))


def read_sums(root: Path) -> tuple[dict, list[str]]:
    """({path: sha256}, problems) from SHA256SUMS of root (``sha256sum`` format): one problem
    ("SHA256SUMS:<line>: ...") per malformed or repeated line. ValueError("unreadable (...)")
    when the file cannot be read."""
    try:
        text = inside(root, "SHA256SUMS").read_bytes().decode("utf-8")
    except (OSError, ValueError) as exc:
        raise ValueError(f"unreadable ({getattr(exc, 'strerror', None) or exc})") from None
    sums, problems = {}, []
    for ln, line in enumerate(text.splitlines(), 1):
        h, sep, p = line[:64], line[64:66], line[66:]
        if not SHA_RE.fullmatch(h) or sep not in ("  ", " *") or not p:
            problems.append(f"SHA256SUMS:{ln}: not '<sha256>  <path>': {line[:120]!r}")
        elif p in sums:
            problems.append(f"SHA256SUMS:{ln}: {p} listed twice")
        else:
            sums[p] = h
    return sums, problems


# ----- data files -----------------------------------------------------------------------------------

def array_of(data: bytes, entry: dict) -> np.ndarray:
    """The bytes of a binary data file as the array its manifest entry describes (read-only)."""
    return np.frombuffer(data, DTYPES[entry["dtype"]]).reshape(entry["shape"])


def file_array(root: Path, entry: dict) -> np.ndarray:
    """The data file of a (checked) manifest entry, read from root as an array: confined to root
    (:func:`inside`), ValueError when its size does not match dtype x shape or it is text."""
    if entry["dtype"] not in DTYPES:
        raise ValueError(f"{entry['path']}: dtype {entry['dtype']!r} is not an array")
    data = inside(root, entry["path"]).read_bytes()
    if math.prod(entry["shape"]) * DTYPES[entry["dtype"]].itemsize != len(data):
        raise ValueError(f"{entry['path']}: dtype {entry['dtype']} x shape {entry['shape']} does not give "
                         f"{len(data)} bytes")
    return array_of(data, entry)


class Writer:
    """Writes the data files of a set under root and collects their manifest entries."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.entries = []

    def raw(self, rel: str, arr: np.ndarray, role: str, operation: str, fmt: str | None = None,
            modes: dict | None = None, inputs: list[str] | None = None, **extra) -> str:
        """A binary file: arr (uint8/16/32) little-endian in C order. Returns rel."""
        a = np.ascontiguousarray(arr)
        dt = dtype_name(a.dtype)
        data = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        self._write(rel, data)
        e = dict(path=rel, sha256=hashlib.sha256(data).hexdigest(), size=len(data), dtype=dt,
                 shape=list(a.shape), role=role, operation=operation)
        if fmt is not None:
            e["format"] = fmt
        if modes:
            e["modes"] = modes
        if inputs:
            e["inputs"] = inputs
        e.update(extra)
        self.entries.append(e)
        return rel

    def text(self, rel: str, content: str, role: str, operation: str, inputs: list[str] | None = None) -> str:
        """A UTF-8 text file (dtype "text", shape []). Returns rel."""
        data = content.encode()
        self._write(rel, data)
        e = dict(path=rel, sha256=hashlib.sha256(data).hexdigest(), size=len(data), dtype="text", shape=[],
                 role=role, operation=operation)
        if inputs:
            e["inputs"] = inputs
        self.entries.append(e)
        return rel

    def _write(self, rel, data):
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


# ----- hex rationals (matmul *.exact.txt) -----------------------------------------------------------

def hex_rational(v) -> str:
    """An exact dyadic value as <sign>0x<hex integer>p<exponent> (e.g. -0x1B3p-12), or nan / inf /
    -inf (from "nan" / "+inf" / "-inf", or a non-finite float)."""
    if isinstance(v, str):
        return {"+inf": "inf", "-inf": "-inf", "nan": "nan"}[v]
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    v = Fraction(v)
    if v == 0:
        return "0x0p0"
    d = v.denominator
    e = d.bit_length() - 1
    if d != 1 << e:
        raise AssertionError(f"{v} is not dyadic")
    n = v.numerator
    while n % 2 == 0:
        n //= 2
        e -= 1
    return f"{'-' if n < 0 else ''}0x{abs(n):X}p{-e}"


def parse_hex_rational(t: str):
    """The inverse of :func:`hex_rational`: a Fraction, or "nan" / "+inf" / "-inf"."""
    if t in ("nan", "inf", "-inf"):
        return {"inf": "+inf"}.get(t, t)
    sign = -1 if t.startswith("-") else 1
    mant, exp = t.lstrip("-").split("p")
    if not mant.startswith("0x"):
        raise ValueError(f"not a hex rational: {t!r}")
    return sign * int(mant, 16) * Fraction(2) ** int(exp)


# ----- text vectors (*.tv) --------------------------------------------------------------------------
# One case per line: "<operation> <fields...> -> <results...>  # <why>"; "#" starts a comment; hex
# upper case; float32 values as 8-digit bit patterns; <options> "-" or comma-separated name=value.

def h32(b: int) -> str:
    """The 8-digit upper-case hex of a float32 bit pattern."""
    return f"{b & 0xFFFFFFFF:08X}"


def tv_options(kw: dict) -> str:
    """Keyword options as a .tv field: "-" or comma-separated name=value."""
    return ",".join(f"{k}={v}" for k, v in kw.items()) or "-"


def parse_tv_options(s: str) -> dict:
    """The inverse of :func:`tv_options` (True / False become booleans, the rest stays text)."""
    if s == "-":
        return {}
    out = {}
    for kv in s.split(","):
        k, v = kv.split("=", 1)
        out[k] = {"True": True, "False": False}.get(v, v)
    return out


def tv_line(operation: str, fields, results, why: str) -> str:
    """One .tv line."""
    return f"{operation} {' '.join(fields)} -> {' '.join(results)}  # {why}"


def parse_tv_line(line: str):
    """(operation fields, result fields) of a .tv line, the operation first; None for a blank or
    comment line. ValueError for a line without exactly one "->"."""
    body = line.split("#", 1)[0].strip()
    if not body:
        return None
    lhs, rhs = [t.split() for t in body.split("->")]
    return lhs, rhs
