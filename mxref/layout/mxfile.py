"""The .npz file schema of an MXArray (MX §5.1 / memory layout: outside the spec): the writer
and the checked reader, on the parts of an MXArray (format row, block size, axis, shape,
options, scale and element codes).

A leaf of the layout: it imports the format registry, the options and the element packing, never
:mod:`mxref.arrays`, so that :meth:`mxref.MXArray.save` and :mod:`mxref.layout.serialization`
(which builds MXArrays on load) both import it without a cycle. The reader takes ``build``, the
constructor of the object to return (``MXArray``).

MXArray files: mxref's own .npz, and the gpt-oss / Hugging Face MXFP4 checkpoint tensors
(MX §5.1 / memory layout: outside the spec, see docs/layouts.md).

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
:func:`load` would refuse, so every file it writes reads back."""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from collections.abc import Mapping

import numpy as np

from ..formats import MXFormat, e8m0, element_format, mx_format
from ..options import QUANTIZE_OPTION_VALUES, check_quantize_option, describe_quantize_option
from .packing import pack_elements, packed_nbytes, packing_orders, unpack_elements

__all__ = [
    "FILE_VERSION",
    "OPTION_VALUES",
    "MAX_SMALL_MEMBER_BYTES",
    "MAX_INFLATE_RATIO",
    "MAX_INFLATE_FREE_BYTES",
    "write_mxfile",
    "read_mxfile",
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
OPTION_VALUES: dict[str, object] = QUANTIZE_OPTION_VALUES
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
    """ValueError unless options[k] = v is a key of OPTION_VALUES with one of its values (the
    one check of :mod:`mxref.options`; a file holds JSON scalars, so it is always ValueError)."""
    if not isinstance(k, str) or k not in OPTION_VALUES:
        raise ValueError(f"options[{k!r}]: unknown option; known: {', '.join(OPTION_VALUES)}")
    if OPTION_VALUES[k] is bool and not isinstance(v, bool):  # JSON: only true / false
        ok = False
    else:
        try:
            check_quantize_option(k, v)
            ok = True
        except (TypeError, ValueError):
            ok = False
    if not ok:
        raise ValueError(f"options[{k!r}] = {v!r}: must be {describe_quantize_option(k)}")


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


def write_mxfile(mx, path) -> None:
    """Write the MXArray ``mx`` (read for its parts: format, block_size, axis, shape, options,
    scales, elements) to one .npz file at exactly ``path`` (no suffix is added), or to a binary
    file object; :func:`read_mxfile` reads it back. An MXArray that :func:`read_mxfile` would
    refuse (an option not in :data:`OPTION_VALUES`, a scale format other than
    E8M0, a format row under one of mxref's names that is not mxref's row) raises ValueError
    naming it, and nothing is written. (MX §5.1 / memory layout: outside the spec, see
    docs/layouts.md)"""
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


def _load_zip(zf: zipfile.ZipFile, archive_bytes: int, build):
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
        return build(fmt, k, axis, shape, scales, codes.reshape(shape), options)
    except (TypeError, ValueError) as exc:
        raise _Refused(f"member elements: {exc}") from None


def read_mxfile(path, build):
    """Read a file written by :func:`write_mxfile` (a path or a binary file object) and return
    ``build(format, block_size, axis, shape, scales, elements, options)`` (``MXArray``); a
    TypeError / ValueError of ``build`` is reported as a refused member.

    Every member is checked against the format table and the other members (module doc) before
    its data is read, and the zip directory's declared sizes before anything is decompressed: a
    file that is not an .npz, lacks a member, holds one of the wrong kind, whose parts do not fit
    together, or that would inflate far beyond its size raises ValueError naming the member and
    saying what is wrong (a missing file raises FileNotFoundError). (MX §5.1 / memory layout:
    outside the spec, see docs/layouts.md)"""
    if hasattr(path, "read"):
        raw = path.read()
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise TypeError(f"path: a file object opened in binary mode is needed, its read() gave "
                            f"{type(raw).__name__}")
        return _load_from(io.BytesIO(raw), path, build)
    with open(os.fspath(path), "rb") as f:
        return _load_from(f, path, build)


def _load_from(f, path, build):
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
            return _load_zip(zf, size, build)
    except _Refused as exc:
        raise _bad(path, str(exc)) from None
