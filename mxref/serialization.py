"""MXArray files: mxref's own .npz, and the gpt-oss / Hugging Face MXFP4 checkpoint tensors
(MX §5.1 / memory layout: outside the spec, see MX-SPEC-NOTES §7).

mxref's file (:func:`save`, :meth:`MXArray.save`, :func:`load`): one uncompressed NumPy .npz
holding everything an :class:`~mxref.MXArray` is made of, read back equal (``==``). No pickles:
strings and the options (JSON) are stored as NumPy unicode scalars, loaded with
``allow_pickle=False``. Its members (file version 1):

  mxref_file "mxarray"; version 1; format_name, element, scale (format names), format_block_size,
  format_spec (the :class:`~mxref.MXFormat` row); block_size, axis, shape; options (JSON);
  scales (uint8, the scales' shape); element_order and elements (every element code in C order,
  packed into one uint8 row by :func:`mxref.pack_elements` in the format's default order).

gpt-oss checkpoint convention (OpenAI gpt-oss ``gpt_oss/torch/weights.py``; Hugging Face
transformers ``integrations/mxfp4.py``): an MXFP4 tensor W of shape [..., G * 32], blocked along
its last axis, is two uint8 tensors, ``<name>.blocks`` [..., G, 16] (block g's 32 E2M1 codes, two
per byte, element 2i in the low nibble of byte i) and ``<name>.scales`` [..., G] (the E8M0 codes);
W[..., 32 g + j] = FP4(code j of block g) * 2^(scales[..., g] - 127). The original gpt-oss files
join name and suffix with "." (``block.0.mlp.mlp1_weight.blocks``), transformers' with "_"
(``gate_up_proj_blocks``): the ``sep`` option. Their loaders compute ``ldexp(value, scale - 127)``,
which reads a 0xFF scale as 2^128; mxref decodes it as MX §5.1 says: the whole block is NaN.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping

import numpy as np

from ._arrays import _to_numpy
from .conversion import MX_FORMATS, MXArray, MXFormat
from .formats import e8m0, element_format, fp4_e2m1
from .packing import pack_elements, packing_orders, unpack_elements

__all__ = [
    "FILE_VERSION",
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


# ----- mxref's .npz -------------------------------------------------------------------------------


def _plain_options(options: dict) -> dict:
    """options with JSON scalar values (NumPy scalars become Python scalars), else ValueError."""
    out = {}
    for k, v in options.items():
        if not isinstance(k, str):
            raise ValueError(f"options keys must be strings to be saved, got {k!r}")
        if isinstance(v, np.generic):
            v = v.item()
        if v is not None and not isinstance(v, (str, bool, int, float)):
            raise ValueError(f"options[{k!r}] = {v!r}: only str, int, float, bool and None values "
                             "can be saved")
        out[k] = v
    return out


def save(mx: MXArray, path) -> None:
    """Write ``mx`` to one .npz file at exactly ``path`` (no suffix is added), or to a binary
    file object. :func:`load` reads it back equal. (MX §5.1 / memory layout: outside the spec,
    see MX-SPEC-NOTES §7)"""
    if not isinstance(mx, MXArray):
        raise TypeError(f"mx must be an MXArray, got {type(mx).__name__}")
    fmt, el = mx.format, mx.format.element
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


def _bad(path, msg: str) -> ValueError:
    where = path if isinstance(path, (str, os.PathLike)) else getattr(path, "name", "file object")
    return ValueError(f"{os.fspath(where) if isinstance(where, os.PathLike) else where}: "
                      f"not a valid mxref MXArray file: {msg}")


def load(path) -> MXArray:
    """Read an MXArray written by :func:`save` (a path or a binary file object).

    Every member is checked: a file that is not an .npz, lacks a member, holds one of the wrong
    kind, or whose parts do not fit together raises ValueError saying what is wrong (a missing
    file raises FileNotFoundError). (MX §5.1 / memory layout: outside the spec, see MX-SPEC-NOTES §7)"""
    # 1. read every member into memory, without pickles
    if hasattr(path, "read"):
        raw = path.read()
    else:
        with open(os.fspath(path), "rb") as f:
            raw = f.read()
    try:
        z = np.load(io.BytesIO(raw), allow_pickle=False)
        if isinstance(z, np.lib.npyio.NpzFile):
            with z:
                m = {k: z[k] for k in z.files}
        else:
            m = None
    except Exception as exc:  # ValueError, zipfile.BadZipFile, EOFError, zlib.error, OSError, ...
        raise _bad(path, f"cannot be read as .npz ({type(exc).__name__}: {exc})") from exc
    if m is None:
        raise _bad(path, "a single .npy array, not an .npz archive")
    # 2. members: present, known, of the right kind
    missing = sorted(_KEYS - set(m))
    if missing:
        raise _bad(path, f"missing member(s) {', '.join(missing)}")
    extra = sorted(set(m) - _KEYS)
    if extra:
        raise _bad(path, f"unknown member(s) {', '.join(extra)}")
    v = {}
    for k in _STR_KEYS:
        a = m[k]
        if a.shape != () or a.dtype.kind != "U":
            raise _bad(path, f"member {k} must be a string, got {a.dtype} of shape {a.shape}")
        v[k] = str(a)
    for k in _INT_KEYS:
        a = m[k]
        if a.shape != () or a.dtype.kind not in "iu":
            raise _bad(path, f"member {k} must be an integer, got {a.dtype} of shape {a.shape}")
        v[k] = int(a)
    if v["mxref_file"] != "mxarray":
        raise _bad(path, f"mxref_file is {v['mxref_file']!r}, expected 'mxarray'")
    if v["version"] != FILE_VERSION:
        raise _bad(path, f"file version {v['version']}; this mxref reads version {FILE_VERSION}")
    shape = m["shape"]
    if shape.ndim != 1 or shape.dtype.kind not in "iu" or (shape < 0).any():
        raise _bad(path, f"shape must be a 1-D array of non-negative integers, got {shape!r}")
    shape = tuple(int(n) for n in shape)
    for k in ("scales", "elements"):
        if m[k].dtype != np.uint8:
            raise _bad(path, f"member {k} must be uint8, got {m[k].dtype}")
    if m["elements"].ndim != 1:
        raise _bad(path, f"member elements must be one packed row, got shape {m['elements'].shape}")
    try:
        options = json.loads(v["options"])
    except json.JSONDecodeError as exc:
        raise _bad(path, f"options is not JSON ({exc})") from exc
    if not isinstance(options, dict):
        raise _bad(path, f"options must be a JSON object, got {v['options']!r}")
    # 3. rebuild: the format row, the codes, the MXArray (which checks that the parts fit)
    try:
        fmt = MXFormat(v["format_name"], element_format(v["element"]), v["format_block_size"],
                       element_format(v["scale"]), v["format_spec"])
        if fmt.name in MX_FORMATS:  # a registry name must describe the registry's row
            if MX_FORMATS[fmt.name] != fmt:
                raise ValueError(f"format {fmt.name} is stored with element {fmt.element.name}, scale "
                                 f"{fmt.scale.name}, block size {fmt.block_size}: not mxref's {fmt.name}")
            fmt = MX_FORMATS[fmt.name]
        count = int(np.prod(shape, dtype=np.int64))
        codes = unpack_elements(m["elements"], fmt.element, count, order=v["element_order"])
        return MXArray(fmt, v["block_size"], v["axis"], shape, m["scales"], codes.reshape(shape), options)
    except (TypeError, ValueError) as exc:
        raise _bad(path, str(exc)) from exc


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
    Anything else raises ValueError saying what the convention needs. (MX §5.1 / memory layout:
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


def from_gpt_oss(tensors: Mapping, name: str, *, sep: str = ".") -> MXArray:
    """The MXFP4 MXArray (block 32, blocked along its last axis, no options) stored as
    ``tensors[name + sep + "blocks"]`` (uint8 [..., G, 16]) and ``tensors[name + sep +
    "scales"]`` (uint8 [..., G]) in the gpt-oss checkpoint convention (module doc). NumPy arrays
    or torch tensors. Missing, mistyped or mismatched tensors raise ValueError / TypeError.
    (MX §5.1 / memory layout: outside the spec, see MX-SPEC-NOTES §7)"""
    if not isinstance(tensors, Mapping):
        raise TypeError(f"tensors must be a mapping of names to arrays, got {type(tensors).__name__}")
    _check_name(name, sep)
    kb, ks = name + sep + "blocks", name + sep + "scales"
    missing = [k for k in (kb, ks) if k not in tensors]
    if missing:
        raise ValueError(f"tensors has no {' and no '.join(map(repr, missing))}")
    blocks, scales = _to_numpy(tensors[kb], kb), _to_numpy(tensors[ks], ks)
    for k, a in ((kb, blocks), (ks, scales)):
        if a.dtype != np.uint8:
            raise TypeError(f"{k} must be uint8, got {a.dtype}")
    if blocks.ndim < 2 or blocks.shape[-1] != 16:
        raise ValueError(f"{kb} must have shape [..., G, 16] (32 FP4 codes in 16 bytes), got {blocks.shape}")
    if scales.shape != blocks.shape[:-1]:
        raise ValueError(f"{ks} must have shape {blocks.shape[:-1]} (one scale per block of {kb}), "
                         f"got {scales.shape}")
    codes = unpack_elements(blocks, fp4_e2m1, 32, order="low_first")
    shape = blocks.shape[:-2] + (blocks.shape[-2] * 32,)
    return MXArray(MX_FORMATS["mxfp4_e2m1"], 32, len(shape) - 1, shape, scales.copy(),
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
    so MXFP4 blocked along the last axis only), every NumPy array value as is. Needs the
    ``safetensors`` package (the ``safetensors`` extra). (Memory layout: outside the spec, see
    MX-SPEC-NOTES §7)"""
    stn = _safetensors_numpy()
    if not isinstance(tensors, Mapping):
        raise TypeError(f"tensors must be a mapping of names to MXArrays / arrays, got {type(tensors).__name__}")
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
    stn.save_file(out, os.fspath(path), metadata=metadata)


def load_safetensors(path, *, sep: str = ".") -> dict:
    """Read a .safetensors file: every ``<name><sep>blocks`` / ``<name><sep>scales`` pair as an
    MXArray under ``name`` (:func:`from_gpt_oss`), every other tensor as a NumPy array under its
    own name. A ``blocks`` tensor without its ``scales`` (or the reverse) raises ValueError. Needs
    the ``safetensors`` package. (Memory layout: outside the spec, see MX-SPEC-NOTES §7)"""
    stn = _safetensors_numpy()
    if not isinstance(sep, str) or not sep:
        raise TypeError(f"sep must be a non-empty string, got {sep!r}")
    raw = stn.load_file(os.fspath(path))
    sb, ss = sep + "blocks", sep + "scales"
    names = {k[: -len(sb)] for k in raw if k.endswith(sb)} | {k[: -len(ss)] for k in raw if k.endswith(ss)}
    out: dict = {}
    for name in sorted(names):
        if name + sb not in raw or name + ss not in raw:
            have, lack = (sb, ss) if name + sb in raw else (ss, sb)
            raise ValueError(f"{path!s}: {name + have!r} has no {name + lack!r} beside it")
        out[name] = from_gpt_oss(raw, name, sep=sep)
    used = {n + s for n in names for s in (sb, ss)}
    for k, a in raw.items():
        if k not in used:
            if k in out:
                raise ValueError(f"{path!s}: {k!r} is both a tensor and an MXFP4 pair")
            out[k] = a
    return out
