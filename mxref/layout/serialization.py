"""MXArray files: mxref's own .npz (:func:`save`, :func:`load`; the schema is
:mod:`mxref.layout.mxfile`), and the gpt-oss / Hugging Face MXFP4 checkpoint tensors
(MX §5.1 / memory layout: outside the spec).

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

import os
from collections.abc import Mapping

import numpy as np

from .._arrays import _to_numpy
from ..arrays import MXArray
from ..formats import MX_FORMATS, e8m0, fp4_e2m1
from .mxfile import (FILE_VERSION, MAX_INFLATE_FREE_BYTES, MAX_INFLATE_RATIO, MAX_SMALL_MEMBER_BYTES,
                     OPTION_VALUES, read_mxfile, write_mxfile)
from .packing import pack_elements, unpack_elements

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


# ----- mxref's .npz -------------------------------------------------------------------------------


def save(mx: MXArray, path) -> None:
    """Write ``mx`` to one .npz file at exactly ``path`` (no suffix is added), or to a binary
    file object. :func:`load` reads it back equal, with the same options. An MXArray that
    :func:`load` would refuse (an option not in :data:`OPTION_VALUES`, a scale format other than
    E8M0, a format row under one of mxref's names that is not mxref's row) raises ValueError
    naming it, and nothing is written. (MX §5.1 / memory layout: outside the spec)"""
    if not isinstance(mx, MXArray):
        raise TypeError(f"mx must be an MXArray, got {type(mx).__name__}")
    write_mxfile(mx, path)


def load(path) -> MXArray:
    """Read an MXArray written by :func:`save` (a path or a binary file object).

    Every member is checked against the format table and the other members
    (:mod:`mxref.layout.mxfile`) before its data is read, and the zip directory's declared sizes
    before anything is decompressed: a file that is not an .npz, lacks a member, holds one of the
    wrong kind, whose parts do not fit together, or that would inflate far beyond its size raises
    ValueError naming the member and saying what is wrong (a missing file raises
    FileNotFoundError). (MX §5.1 / memory layout: outside the spec)"""
    return read_mxfile(path, MXArray)


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
    outside the spec, see docs/layouts.md)"""
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
    outside the spec, see docs/layouts.md)"""
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
    outside the spec, see docs/layouts.md)"""
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
    ``safetensors`` package. (Memory layout: outside the spec, see docs/layouts.md)"""
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
