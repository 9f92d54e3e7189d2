"""MXArray files: mxref's own .npz, and the gpt-oss / Hugging Face MXFP4 checkpoint tensors
(MX §5.1 / memory layout: outside the spec, see MX-SPEC-NOTES §7).

mxref's file (:func:`save`, :meth:`MXArray.save`, :func:`load`): one uncompressed NumPy .npz
holding everything an :class:`~mxref.MXArray` is made of, read back equal (``==``) with the same
options. No pickles: strings and the options (JSON) are stored as NumPy unicode scalars, and no
member holding Python objects is ever read. Its members (file version 1):

  mxref_file "mxarray"; version 1; format_name, element, scale (format names), format_block_size,
  format_spec (the :class:`~mxref.MXFormat` row); block_size, axis, shape; options (JSON);
  scales (uint8, the scales' shape); element_order and elements (every element code in C order,
  packed into one uint8 row by :func:`mxref.pack_elements` in the format's default order).

:func:`load` checks every member against the format table and against the other members before
it decompresses anything large: the scale format is E8M0; the element format is an element row
mxref knows (a spec row or an extension row, never E8M0); a format name that
:func:`mxref.mx_format` resolves describes that row exactly; ``format_block_size`` and
``block_size`` are >= 1; the options are quantize's (:data:`OPTION_VALUES`: known keys, allowed
values); ``scales`` and ``elements`` have exactly the shape and byte count the other members
give. Each zip entry's declared size must match its .npy header, members other than ``scales``
and ``elements`` are small (at most :data:`MAX_SMALL_MEMBER_BYTES`), and a compressed member may
inflate to at most ``max(MAX_INFLATE_FREE_BYTES, MAX_INFLATE_RATIO x its compressed size)``:
a zip bomb is refused from its directory, in microseconds. :func:`save` refuses what
:func:`load` would refuse, so every file it writes reads back.

gpt-oss checkpoint convention (OpenAI gpt-oss ``gpt_oss/torch/weights.py``; Hugging Face
transformers ``integrations/mxfp4.py``): an MXFP4 tensor W of shape [..., G * 32], blocked along
its last axis, is two uint8 tensors, ``<name>.blocks`` [..., G, 16] (block g's 32 E2M1 codes, two
per byte, element 2i in the low nibble of byte i) and ``<name>.scales`` [..., G] (the E8M0 codes);
W[..., 32 g + j] = FP4(code j of block g) * 2^(scales[..., g] - 127). The original gpt-oss files
join name and suffix with "." (``block.0.mlp.mlp1_weight.blocks``), transformers' with "_"
(``gate_up_proj_blocks``): the ``sep`` option. Their loaders compute ``ldexp(value, scale - 127)``,
which reads a 0xFF scale as 2^128; mxref decodes it as MX §5.1 says: the whole block is NaN.
The convention stores codes only, not the options quantize used: :func:`from_gpt_oss` returns
``options={}``, and since MXArray equality compares options only where both sides record them
(:meth:`MXArray.__eq__`), ``from_gpt_oss(to_gpt_oss(mx, n), n) == mx`` for every MXArray that
:func:`to_gpt_oss` takes.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from collections.abc import Mapping

import numpy as np

from ._arrays import _to_numpy
from .conversion import INF_POLICIES, MX_FORMATS, SCALE_OVERFLOW_POLICIES, SCALE_RULES, MXArray, MXFormat, mx_format
from .formats import e8m0, element_format, fp4_e2m1
from .options import ROUNDING_MODES
from .packing import pack_elements, packed_nbytes, packing_orders, unpack_elements

__all__ = [
    "FILE_VERSION",
    "OPTION_VALUES",
    "MAX_SMALL_MEMBER_BYTES",
    "MAX_INFLATE_RATIO",
    "MAX_INFLATE_FREE_BYTES",
    "save",
    "load",
    "to_gpt_oss",
    "from_gpt_oss",
    "save_safetensors",
    "load_safetensors",
]

#: Version of mxref's .npz layout written by :func:`save`.
FILE_VERSION = 1
_STR_KEYS = ("mxref_file", "format_name", "element", "scale", "format_spec", "options", "element_order")
_INT_KEYS = ("version", "format_block_size", "block_size", "axis")
_ARRAY_KEYS = ("shape", "scales", "elements")
_KEYS = frozenset(_STR_KEYS + _INT_KEYS + _ARRAY_KEYS)
_DATA_KEYS = ("scales", "elements")

#: The options an MXArray may record (the keyword arguments of :func:`mxref.quantize` that
#: decide its codes) and the values each may take: a tuple of names, ``bool``, or a range of ints.
#: :func:`save` and :func:`load` refuse any other key or value.
OPTION_VALUES: dict[str, object] = {
    "scale_rule": SCALE_RULES,
    "rounding": ROUNDING_MODES,
    "zero_scale": range(0, 255),
    "inf_policy": INF_POLICIES,
    "scale_overflow": SCALE_OVERFLOW_POLICIES,
    "flush_subnormals": bool,
    "int8_allow_minus128": bool,
}
#: Bytes (.npy header included) that a member other than ``scales`` / ``elements`` may declare.
MAX_SMALL_MEMBER_BYTES = 1 << 20
#: A compressed member may declare at most max(MAX_INFLATE_FREE_BYTES, MAX_INFLATE_RATIO x its
#: compressed size) bytes (:func:`save` writes stored members, ratio 1).
MAX_INFLATE_RATIO = 64
MAX_INFLATE_FREE_BYTES = 1 << 24
_MAX_NDIM = 64  # NumPy's own limit
_NPY_MAGIC = b"\x93NUMPY"


# ----- mxref's .npz -------------------------------------------------------------------------------


def _check_option(k, v) -> None:
    """ValueError unless options[k] = v is a key of OPTION_VALUES with one of its values."""
    if not isinstance(k, str) or k not in OPTION_VALUES:
        raise ValueError(f"options[{k!r}]: unknown option; known: {', '.join(OPTION_VALUES)}")
    allowed = OPTION_VALUES[k]
    if allowed is bool:
        ok, what = isinstance(v, bool), "True or False"
    elif isinstance(allowed, range):
        ok = isinstance(v, int) and not isinstance(v, bool) and v in allowed
        what = f"an int in {allowed.start}..{allowed.stop - 1}"
    else:
        ok, what = isinstance(v, str) and v in allowed, "one of " + ", ".join(map(repr, allowed))
    if not ok:
        raise ValueError(f"options[{k!r}] = {v!r}: must be {what}")


def _plain_options(options) -> dict:
    """options as JSON scalars (NumPy scalars become Python scalars), each checked against
    OPTION_VALUES, else ValueError / TypeError."""
    if not isinstance(options, Mapping):
        raise TypeError(f"mx.options must be a dict of options, got {type(options).__name__}")
    out = {}
    for k, v in options.items():
        if isinstance(v, np.generic):
            v = v.item()
        _check_option(k, v)
        out[k] = v
    return out


def _check_format(fmt: MXFormat) -> MXFormat:
    """The format row a file may hold: mxref's own row for a name mx_format resolves, else a
    row with an element format mxref knows (not E8M0), an E8M0 scale and a block size >= 1.
    ValueError naming the member that breaks it."""
    if fmt.scale != e8m0:
        raise ValueError(f"member scale: the scale format must be e8m0 (MX §5.2), got {fmt.scale.name!r}")
    if fmt.element == e8m0:
        raise ValueError("member element: e8m0 is the scale format, not an element format")
    if not isinstance(fmt.block_size, int) or isinstance(fmt.block_size, bool) or fmt.block_size < 1:
        raise ValueError(f"member format_block_size must be an int >= 1, got {fmt.block_size!r}")
    if not isinstance(fmt.name, str) or not fmt.name:
        raise ValueError(f"member format_name must be a non-empty string, got {fmt.name!r}")
    try:
        known = mx_format(fmt.name)
    except ValueError:
        return fmt  # a format row of the caller's own, under a name mxref does not use
    if known != fmt:
        raise ValueError(f"member format_name: format {fmt.name} is stored with element {fmt.element.name}, "
                         f"scale {fmt.scale.name}, block size {fmt.block_size}, spec {fmt.spec!r}: "
                         f"not mxref's {known.name} (element {known.element.name}, block size "
                         f"{known.block_size}, spec {known.spec!r})")
    return known


def save(mx: MXArray, path) -> None:
    """Write ``mx`` to one .npz file at exactly ``path`` (no suffix is added), or to a binary
    file object. :func:`load` reads it back equal, with the same options. An MXArray that
    :func:`load` would refuse (an option not in :data:`OPTION_VALUES`, a scale format other than
    E8M0, a format row under one of mxref's names that is not mxref's row) raises ValueError
    naming it, and nothing is written. (MX §5.1 / memory layout: outside the spec, see
    MX-SPEC-NOTES §7)"""
    if not isinstance(mx, MXArray):
        raise TypeError(f"mx must be an MXArray, got {type(mx).__name__}")
    fmt, el = mx.format, mx.format.element
    try:
        _check_format(fmt)
    except ValueError as exc:
        raise ValueError(f"mx.format {fmt.name!r} cannot be saved: {exc}") from None
    order = packing_orders(el)[0]
    members = dict(
        mxref_file=np.array("mxarray"),
        version=np.array(FILE_VERSION, np.int64),
        format_name=np.array(fmt.name),
        element=np.array(el.name),
        scale=np.array(fmt.scale.name),
        format_block_size=np.array(fmt.block_size, np.int64),
        format_spec=np.array(fmt.spec),
        block_size=np.array(mx.block_size, np.int64),
        axis=np.array(mx.axis, np.int64),
        shape=np.array(mx.shape, np.int64).reshape(-1),
        options=np.array(json.dumps(_plain_options(mx.options), sort_keys=True)),
        scales=np.ascontiguousarray(mx.scales),
        element_order=np.array(order),
        elements=pack_elements(mx.elements.reshape(-1), el, order=order),
    )
    if hasattr(path, "write"):
        np.savez(path, **members)
        return
    with open(os.fspath(path), "wb") as f:
        np.savez(f, **members)


def _where(path) -> str:
    if isinstance(path, (str, os.PathLike)):
        return str(os.fspath(path))
    name = getattr(path, "name", None)
    return name if isinstance(name, str) else "file object"


def _bad(path, msg: str) -> ValueError:
    return ValueError(f"{_where(path)}: not a valid mxref MXArray file: {msg}")


class _Refused(Exception):
    """A check of load failed: the message says which member and why (becomes _bad)."""


def _member_key(name: str) -> str:
    return name[:-4] if name.endswith(".npy") else name  # as numpy's NpzFile names members


def _check_entries(zf: zipfile.ZipFile, archive_bytes: int) -> dict:
    """The zip directory: every member once, known, present; each entry's declared sizes
    bounded, from the directory alone (nothing is decompressed). Returns {key: ZipInfo}."""
    infos: dict = {}
    for info in zf.infolist():
        key = _member_key(info.filename)
        if key in infos:
            raise _Refused(f"member {key} appears twice in the archive")
        infos[key] = info
    missing = sorted(_KEYS - set(infos))
    if missing:
        raise _Refused(f"missing member(s) {', '.join(missing)}")
    extra = sorted(set(infos) - _KEYS)
    if extra:
        raise _Refused(f"unknown member(s) {', '.join(extra)}")
    for key, info in infos.items():
        if info.flag_bits & 0x1:
            raise _Refused(f"member {key} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Refused(f"member {key} uses zip compression method {info.compress_type}; "
                           "mxref reads stored or deflated members")
        size, packed = info.file_size, info.compress_size
        if packed > archive_bytes:
            raise _Refused(f"member {key} declares {packed} compressed bytes, more than the "
                           f"whole file ({archive_bytes} bytes)")
        if info.compress_type == zipfile.ZIP_STORED and size != packed:
            raise _Refused(f"member {key} is stored uncompressed but declares {size} bytes "
                           f"in {packed}")
        if key not in _DATA_KEYS and size > MAX_SMALL_MEMBER_BYTES:
            raise _Refused(f"member {key} declares {size} bytes; members other than scales and "
                           f"elements take at most {MAX_SMALL_MEMBER_BYTES}")
        if size > max(MAX_INFLATE_FREE_BYTES, MAX_INFLATE_RATIO * packed):
            raise _Refused(f"member {key} would inflate from {packed} to {size} bytes (more than "
                           f"{MAX_INFLATE_RATIO} times, and over {MAX_INFLATE_FREE_BYTES} bytes): "
                           "refused before decompressing")
    return infos


def _read_header(fh, key: str, info):
    """(shape, fortran_order, dtype, data bytes) of one member's .npy header, checked against the
    zip entry's declared size: only the header is decompressed."""
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise _Refused(f"member {key} is .npy format version {version[0]}.{version[1]}; "
                           "mxref reads versions 1.0 and 2.0")
        header = fh.tell()
    except _Refused:
        raise
    except Exception as exc:  # ValueError, EOFError, zlib.error, BadZipFile, SyntaxError, ...
        raise _Refused(f"member {key} is not a .npy array ({type(exc).__name__}: {exc})") from None
    if dtype.hasobject:
        raise _Refused(f"member {key} holds Python objects ({dtype}); mxref never loads pickles")
    if any(n < 0 for n in shape):
        raise _Refused(f"member {key}: its .npy header declares a negative dimension {shape}")
    nbytes = math.prod(shape) * dtype.itemsize
    if header + nbytes != info.file_size:
        raise _Refused(f"member {key}: its .npy header declares {dtype} of shape {shape} ({nbytes} "
                       f"bytes after a {header}-byte header), but the archive declares "
                       f"{info.file_size} bytes")
    return shape, fortran, dtype, nbytes


def _read_data(fh, key: str, shape, fortran, dtype, nbytes) -> np.ndarray:
    """The member's array (writable, its own memory), read after its header was checked."""
    buf = bytearray(nbytes)
    try:
        view, got = memoryview(buf), 0
        while got < nbytes:
            n = fh.readinto(view[got:])
            if not n:
                break
            got += n
        if got != nbytes or fh.read(1):
            raise _Refused(f"member {key} holds {'fewer' if got != nbytes else 'more'} bytes "
                           "than its header declares")
    except _Refused:
        raise
    except Exception as exc:  # zlib.error, BadZipFile (CRC), EOFError, OSError
        raise _Refused(f"member {key} cannot be read ({type(exc).__name__}: {exc})") from None
    if dtype.itemsize == 0 or nbytes == 0:
        return np.zeros(shape, dtype)
    a = np.frombuffer(buf, dtype)
    return a.reshape(shape[::-1]).transpose() if fortran else a.reshape(shape)


def _member(zf, infos, key, check):
    """Read member ``key``: header, ``check(shape, dtype)`` (raises _Refused), then the data."""
    info = infos[key]
    try:
        fh = zf.open(info)
    except Exception as exc:  # BadZipFile (bad local header), NotImplementedError, RuntimeError
        raise _Refused(f"member {key} cannot be opened ({type(exc).__name__}: {exc})") from None
    with fh:
        shape, fortran, dtype, nbytes = _read_header(fh, key, info)
        check(shape, dtype)
        return _read_data(fh, key, shape, fortran, dtype, nbytes)


def _want_string(key):
    def check(shape, dtype):
        if shape != () or dtype.kind != "U":
            raise _Refused(f"member {key} must be a string, got {dtype} of shape {shape}")
    return check


def _want_int(key):
    def check(shape, dtype):
        if shape != () or dtype.kind not in "iu":
            raise _Refused(f"member {key} must be an integer, got {dtype} of shape {shape}")
    return check


def _want_shape(shape, dtype):
    if len(shape) != 1 or dtype.kind not in "iu" or shape[0] > _MAX_NDIM:
        raise _Refused(f"shape must be a 1-D array of at most {_MAX_NDIM} non-negative integers, "
                       f"got {dtype} of shape {shape}")


def _pairs_no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"key {k!r} appears twice")
        out[k] = v
    return out


def _parse_options(text: str) -> dict:
    try:
        options = json.loads(text, object_pairs_hook=_pairs_no_duplicates)
    except RecursionError:
        raise _Refused("member options: JSON nested too deeply (options is one flat JSON object)") from None
    except ValueError as exc:  # json.JSONDecodeError, duplicate keys, too many digits
        raise _Refused(f"options is not JSON ({exc})") from None
    if not isinstance(options, dict):
        raise _Refused(f"options must be a JSON object, got {text[:80]!r}")
    for k, v in options.items():
        try:
            _check_option(k, v)
        except ValueError as exc:
            raise _Refused(f"member options: {exc}") from None
    return options


def _check_int_member(key: str, v: int, lo: int, hi: int | None = None) -> int:
    if v < lo or (hi is not None and v > hi):
        raise _Refused(f"member {key} must be in {lo}..{hi if hi is not None else 'inf'}, got {v}")
    return v


def _load_zip(zf: zipfile.ZipFile, archive_bytes: int) -> MXArray:
    infos = _check_entries(zf, archive_bytes)
    # 1. the small members, each checked before its data is read
    v: dict = {}
    for k in _STR_KEYS:
        v[k] = str(_member(zf, infos, k, _want_string(k)))
    for k in _INT_KEYS:
        v[k] = int(_member(zf, infos, k, _want_int(k)))
    if v["mxref_file"] != "mxarray":
        raise _Refused(f"mxref_file is {v['mxref_file']!r}, expected 'mxarray'")
    if v["version"] != FILE_VERSION:
        raise _Refused(f"file version {v['version']}; this mxref reads version {FILE_VERSION}")
    shape = _member(zf, infos, "shape", _want_shape)
    if (shape < 0).any():
        raise _Refused(f"shape must be a 1-D array of non-negative integers, got {shape!r}")
    shape = tuple(int(n) for n in shape)
    if not shape:
        raise _Refused("shape must have at least one dimension")
    # 2. the format row, against the table
    rows = {}
    for key in ("element", "scale"):
        try:
            rows[key] = element_format(v[key])
        except ValueError as exc:
            raise _Refused(f"member {key}: {exc}") from None
    _check_int_member("format_block_size", v["format_block_size"], 1)
    if rows["scale"] != e8m0:  # before MXFormat, which refuses these too, so the member is named
        raise _Refused(f"member scale: the scale format must be e8m0 (MX §5.2), got {rows['scale'].name!r}")
    if rows["element"] == e8m0:
        raise _Refused("member element: e8m0 is the scale format, not an element format")
    try:
        fmt = _check_format(MXFormat(v["format_name"], rows["element"], v["format_block_size"], rows["scale"],
                                    v["format_spec"]))
    except ValueError as exc:
        raise _Refused(str(exc)) from None
    # 3. blocking, order, options
    nd = len(shape)
    k = _check_int_member("block_size", v["block_size"], 1)
    axis = _check_int_member("axis", v["axis"], -nd, nd - 1) % nd
    orders = packing_orders(fmt.element)
    if v["element_order"] not in orders:
        raise _Refused(f"member element_order must be one of {', '.join(map(repr, orders))} for "
                       f"{fmt.element.bits}-bit codes ({fmt.element.name}); got {v['element_order']!r}")
    options = _parse_options(v["options"])
    # 4. scales and elements: exactly the shape / byte count the members above give
    nb = -(-shape[axis] // k)
    want_scales = shape[:axis] + (nb,) + shape[axis + 1:]
    count = math.prod(shape)
    want_bytes = packed_nbytes(count, fmt.element, order=v["element_order"])

    def check_scales(s, dtype):
        if dtype != np.uint8:
            raise _Refused(f"member scales must be uint8, got {dtype}")
        if s != want_scales:
            raise _Refused(f"scales must have shape {want_scales} ({nb} blocks of {k} along axis "
                           f"{axis} of shape {shape}), got {s}")

    def check_elements(s, dtype):
        if dtype != np.uint8:
            raise _Refused(f"member elements must be uint8, got {dtype}")
        if len(s) != 1:
            raise _Refused(f"member elements must be one packed row, got shape {s}")
        if s[0] != want_bytes:
            raise _Refused(f"member elements must hold {want_bytes} bytes ({count} {fmt.element.name} "
                           f"codes in order {v['element_order']!r}), got {s[0]}"
                           + (" (too short)" if s[0] < want_bytes else ""))

    scales = _member(zf, infos, "scales", check_scales)
    packed = _member(zf, infos, "elements", check_elements)
    # 5. rebuild: the codes, the MXArray (which checks again that the parts fit)
    try:
        codes = unpack_elements(packed, fmt.element, count, order=v["element_order"])
        return MXArray(fmt, k, axis, shape, scales, codes.reshape(shape), options)
    except (TypeError, ValueError) as exc:
        raise _Refused(f"member elements: {exc}") from None


def load(path) -> MXArray:
    """Read an MXArray written by :func:`save` (a path or a binary file object).

    Every member is checked against the format table and the other members (module doc) before
    its data is read, and the zip directory's declared sizes before anything is decompressed: a
    file that is not an .npz, lacks a member, holds one of the wrong kind, whose parts do not fit
    together, or that would inflate far beyond its size raises ValueError naming the member and
    saying what is wrong (a missing file raises FileNotFoundError). (MX §5.1 / memory layout:
    outside the spec, see MX-SPEC-NOTES §7)"""
    if hasattr(path, "read"):
        raw = path.read()
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise TypeError(f"path: a file object opened in binary mode is needed, its read() gave "
                            f"{type(raw).__name__}")
        return _load_from(io.BytesIO(raw), path)
    with open(os.fspath(path), "rb") as f:
        return _load_from(f, path)


def _load_from(f, path) -> MXArray:
    head = f.read(len(_NPY_MAGIC))
    if head == _NPY_MAGIC:
        raise _bad(path, "a single .npy array, not an .npz archive")
    size = f.seek(0, io.SEEK_END)
    f.seek(0)
    try:
        zf = zipfile.ZipFile(f)
    except Exception as exc:  # BadZipFile, OSError, EOFError, ValueError, ...
        what = "empty" if size == 0 else f"{type(exc).__name__}: {exc}"
        raise _bad(path, f"not an mxref .npz file: not a zip archive ({what})") from None
    try:
        with zf:
            return _load_zip(zf, size)
    except _Refused as exc:
        raise _bad(path, str(exc)) from None


# ----- gpt-oss / Hugging Face MXFP4 checkpoint tensors --------------------------------------------


def _check_name(name, sep):
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    if not isinstance(sep, str):
        raise TypeError(f"sep must be a string ('.' for gpt-oss files, '_' for transformers), got {sep!r}")


def to_gpt_oss(mx: MXArray, name: str, *, sep: str = ".") -> dict[str, np.ndarray]:
    """``{name + sep + "blocks": uint8 [..., G, 16], name + sep + "scales": uint8 [..., G]}``:
    an MXFP4 (E2M1 elements, E8M0 scales, block 32) MXArray blocked along its last axis, whose
    last axis holds whole blocks (G * 32), in the gpt-oss checkpoint convention (module doc).
    Anything else raises ValueError saying what the convention needs. The convention holds the
    codes, not ``mx.options``: :func:`from_gpt_oss` gives them back equal to ``mx`` (MXArray
    equality compares options only where both sides record them). (MX §5.1 / memory layout:
    outside the spec, see MX-SPEC-NOTES §7)"""
    if not isinstance(mx, MXArray):
        raise TypeError(f"mx must be an MXArray, got {type(mx).__name__}")
    _check_name(name, sep)
    el, nd = mx.format.element, len(mx.shape)
    if el != fp4_e2m1 or mx.format.scale != e8m0:
        raise ValueError(f"mx must have E2M1 elements and E8M0 scales (MXFP4) for the gpt-oss "
                         f"convention, got {el.name} elements and {mx.format.scale.name} scales")
    if mx.block_size != 32:
        raise ValueError(f"the gpt-oss convention has blocks of 32 (16 bytes); mx has block_size {mx.block_size}")
    if mx.axis != nd - 1:
        raise ValueError(f"the gpt-oss convention blocks the last axis; mx is blocked along axis "
                         f"{mx.axis} of {nd} (quantize with axis=-1)")
    if mx.shape[-1] % 32:
        raise ValueError(f"the gpt-oss convention holds whole blocks: mx's last axis ({mx.shape[-1]}) "
                         "must be a multiple of 32")
    g = mx.shape[-1] // 32
    codes = mx.elements.reshape(mx.shape[:-1] + (g, 32))
    return {name + sep + "blocks": pack_elements(codes, el, order="low_first"),
            name + sep + "scales": mx.scales.copy()}


def _byte_tensor(x, key: str, e8m0_ok: bool) -> np.ndarray:
    """tensors[key] as a uint8 NumPy array (a view where it can be). With ``e8m0_ok``, float8_e8m0fnu
    tensors (torch or ml_dtypes) are read as their bytes, which are the E8M0 codes. Anything
    else raises TypeError naming ``key``."""
    allowed = "uint8" + (" or float8_e8m0fnu (E8M0 codes)" if e8m0_ok else "")
    if (type(x).__module__ or "").startswith("torch") and e8m0_ok:
        import torch  # the caller passed a torch object: torch is imported

        if getattr(x, "dtype", None) == getattr(torch, "float8_e8m0fnu", object()):
            x = x.detach().view(torch.uint8)  # the same bytes: exactly the codes
    try:
        a = _to_numpy(x, key)
    except (TypeError, ValueError) as exc:
        cls = ValueError if isinstance(exc, ValueError) else TypeError
        raise cls(f"{key} must be a {allowed} array: {exc}") from exc
    except Exception as exc:  # torch: meta tensors, tensors it cannot export, ...
        raise TypeError(f"{key} must be a {allowed} array; it cannot be read as one "
                        f"({type(exc).__name__}: {exc})") from exc
    if not isinstance(a, np.ndarray):  # pragma: no cover - _to_numpy returns arrays
        raise TypeError(f"{key} must be a {allowed} array, got {type(x).__name__}")
    if e8m0_ok and a.dtype.name == "float8_e8m0fnu" and a.dtype.itemsize == 1:
        a = a.view(np.uint8)
    if a.dtype != np.uint8:
        raise TypeError(f"{key} must be {allowed}, got {a.dtype}")
    return a


def from_gpt_oss(tensors: Mapping, name: str, *, sep: str = ".") -> MXArray:
    """The MXFP4 MXArray (block 32, blocked along its last axis, ``options={}``) stored as
    ``tensors[name + sep + "blocks"]`` (uint8 [..., G, 16]) and ``tensors[name + sep +
    "scales"]`` ([..., G] E8M0 codes: uint8, or float8_e8m0fnu, whose bytes are the codes) in
    the gpt-oss checkpoint convention (module doc). NumPy arrays or torch tensors; the inputs are
    not modified. Missing, mistyped or mismatched tensors raise ValueError / TypeError naming the
    tensor. ``from_gpt_oss(to_gpt_oss(mx, name), name) == mx``: the file holds no options, and
    equality compares options only where both sides record them. (MX §5.1 / memory layout:
    outside the spec, see MX-SPEC-NOTES §7)"""
    if not isinstance(tensors, Mapping):
        raise TypeError(f"tensors must be a mapping of names to arrays, got {type(tensors).__name__}")
    _check_name(name, sep)
    kb, ks = name + sep + "blocks", name + sep + "scales"
    missing = [k for k in (kb, ks) if k not in tensors]
    if missing:
        raise ValueError(f"tensors has no {' and no '.join(map(repr, missing))}")
    blocks, scales = _byte_tensor(tensors[kb], kb, False), _byte_tensor(tensors[ks], ks, True)
    if blocks.ndim < 2 or blocks.shape[-1] != 16:
        raise ValueError(f"{kb} must have shape [..., G, 16] (32 FP4 codes in 16 bytes), got {blocks.shape}")
    if scales.shape != blocks.shape[:-1]:
        raise ValueError(f"{ks} must have shape {blocks.shape[:-1]} (one scale per block of {kb}), "
                         f"got {scales.shape}")
    codes = unpack_elements(blocks, fp4_e2m1, 32, order="low_first")
    shape = blocks.shape[:-2] + (blocks.shape[-2] * 32,)
    return MXArray(MX_FORMATS["mxfp4_e2m1"], 32, len(shape) - 1, shape, np.array(scales, np.uint8),
                   codes.reshape(shape), {})


def _safetensors_numpy():
    try:
        from safetensors import numpy as stn
    except ImportError as exc:
        raise ImportError("save_safetensors / load_safetensors need the safetensors package: "
                          "pip install 'mxref[safetensors]' (or pip install safetensors)") from exc
    return stn


def save_safetensors(path, tensors: Mapping, *, sep: str = ".", metadata: dict | None = None) -> None:
    """Write a .safetensors file: every MXArray value as its gpt-oss pair (:func:`to_gpt_oss`,
    so MXFP4 blocked along the last axis only; its options are not stored), every NumPy array
    value as is. ``metadata``: None or a dict of str to str. Needs the ``safetensors`` package
    (the ``safetensors`` extra). An error of the safetensors library (an array it cannot store,
    a folder that does not exist, ...) raises ValueError naming the file. (Memory layout:
    outside the spec, see MX-SPEC-NOTES §7)"""
    stn = _safetensors_numpy()
    if not isinstance(tensors, Mapping):
        raise TypeError(f"tensors must be a mapping of names to MXArrays / arrays, got {type(tensors).__name__}")
    if metadata is not None and (not isinstance(metadata, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise TypeError(f"metadata must be None or a dict of str to str, got {metadata!r:.200}")
    p = os.fspath(path)
    out: dict[str, np.ndarray] = {}
    for name, value in tensors.items():
        if isinstance(value, MXArray):
            parts = to_gpt_oss(value, name, sep=sep)
        elif isinstance(value, np.ndarray):
            _check_name(name, sep)
            parts = {name: np.ascontiguousarray(value)}
        else:
            raise TypeError(f"tensors[{name!r}] must be an MXArray or a NumPy array, got {type(value).__name__}")
        for k in parts:
            if k in out:
                raise ValueError(f"two tensors would be stored as {k!r}")
        out.update(parts)
    try:
        stn.save_file(out, p, metadata=None if metadata is None else dict(metadata))
    except Exception as exc:  # safetensors' SafetensorError, TypeError, ...
        raise ValueError(f"{p}: cannot be written as a .safetensors file ({type(exc).__name__}: {exc})") from exc


def load_safetensors(path, *, sep: str = ".") -> dict:
    """Read a .safetensors file: every ``<name><sep>blocks`` / ``<name><sep>scales`` pair as an
    MXArray under ``name`` (:func:`from_gpt_oss`), every other tensor as a NumPy array under its
    own name. A ``blocks`` tensor without its ``scales`` (or the reverse) raises ValueError; a
    file the safetensors library cannot read (not a .safetensors file, a dtype NumPy lacks, ...)
    raises ValueError naming the file (a missing file: FileNotFoundError). Needs the
    ``safetensors`` package. (Memory layout: outside the spec, see MX-SPEC-NOTES §7)"""
    stn = _safetensors_numpy()
    if not isinstance(sep, str) or not sep:
        raise TypeError(f"sep must be a non-empty string, got {sep!r}")
    p = os.fspath(path)
    try:
        raw = stn.load_file(p)
    except OSError:
        raise  # FileNotFoundError, IsADirectoryError, ...: as open() says
    except Exception as exc:  # safetensors' SafetensorError, and numpy's errors for its dtypes
        raise ValueError(f"{p}: cannot be read as a .safetensors file ({type(exc).__name__}: {exc})") from exc
    sb, ss = sep + "blocks", sep + "scales"
    names = {k[: -len(sb)] for k in raw if k.endswith(sb)} | {k[: -len(ss)] for k in raw if k.endswith(ss)}
    out: dict = {}
    for name in sorted(names):
        if name + sb not in raw or name + ss not in raw:
            have, lack = (sb, ss) if name + sb in raw else (ss, sb)
            raise ValueError(f"{p}: {name + have!r} has no {name + lack!r} beside it")
        try:
            out[name] = from_gpt_oss(raw, name, sep=sep)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{p}: {exc}") from exc
    used = {n + s for n in names for s in (sb, ss)}
    for k, a in raw.items():
        if k not in used:
            if k in out:
                raise ValueError(f"{p}: {k!r} is both a tensor and an MXFP4 pair")
            out[k] = a
    return out
