"""The checkpoint layouts ``mxref audit`` knows: one declared entry each, and the reading of
.safetensors files (memory-mapped, one tensor at a time).

Every known layout holds MXFP4 (E2M1 codes two per byte, element 2i in the low nibble of byte i;
E8M0 scale bytes), blocked along the last axis, block 32 (docs/layouts.md):

* ``gpt-oss``: ``<name>.blocks`` uint8 [..., G, 16], ``<name>.scales`` uint8 [..., G]; source
  tensor ``<name>``.
* ``transformers``: the same with ``_blocks`` / ``_scales``.
* ``compressed-tensors-mxfp4`` (format ``mxfp4-pack-quantized``, as its consumers read it:
  vLLM's CompressedTensorsW4A4MXFp4 scheme, MaxText's codec): ``<X>.weight_packed`` uint8
  [out, in / 2], ``<X>.weight_scale`` uint8 [out, in / 32]; source tensor ``<X>.weight``.

Not audited, listed as skipped: compressed-tensors NVFP4 (``weight_packed`` beside
``weight_global_scale``: FP8 E4M3 block scales and a float32 tensor scale, not E8M0), and every
other tensor that is not a pair above.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass

import numpy as np

__all__ = ["Layout", "LAYOUTS", "find_tensors", "shard_files", "TensorFile"]


@dataclass(frozen=True)
class Layout:
    name: str
    codes_suffix: str  # the packed element tensor is name + codes_suffix
    scales_suffix: str
    source_suffix: str  # the source tensor is name + source_suffix
    grouped: bool  # codes stored [..., G, 16] (True) or [..., K / 2] (False)
    description: str


LAYOUTS = (
    Layout("gpt-oss", ".blocks", ".scales", "", True, "OpenAI gpt-oss: <name>.blocks [..., G, 16], <name>.scales [..., G]"),
    Layout("transformers", "_blocks", "_scales", "", True, "transformers: <name>_blocks / <name>_scales"),
    Layout("compressed-tensors-mxfp4", ".weight_packed", ".weight_scale", ".weight", False,
           "compressed-tensors mxfp4-pack-quantized: <X>.weight_packed [out, in/2], <X>.weight_scale [out, in/32]"),
)

_SKIP_MARKERS = {".weight_global_scale": "compressed-tensors NVFP4 (E4M3 block scales + a global scale): not audited"}


def shard_files(path) -> list:
    """The .safetensors files of a checkpoint: the file itself, or every *.safetensors of a folder."""
    p = os.fspath(path)
    if os.path.isdir(p):
        files = sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".safetensors"))
        if not files:
            raise ValueError(f"{p}: no .safetensors files in this folder")
        return files
    if not os.path.exists(p):
        raise FileNotFoundError(p)
    return [p]


class TensorFile:
    """Names, dtypes and shapes of a .safetensors file from its header; tensors read as
    memory-mapped NumPy views (any dtype, BF16 included, which safetensors' NumPy reader lacks)."""

    _DTYPES = {"U8": np.uint8, "I8": np.int8, "F16": np.float16, "BF16": np.uint16, "F32": np.float32,
               "F64": np.float64, "F8_E8M0": np.uint8, "F8_E4M3": np.uint8, "I32": np.int32, "I64": np.int64,
               "U16": np.uint16, "I16": np.int16}

    def __init__(self, path):
        self.path = os.fspath(path)
        with open(self.path, "rb") as fh:
            head = fh.read(8)
            if len(head) != 8:
                raise ValueError(f"{self.path}: not a .safetensors file (shorter than its header length)")
            (n,) = struct.unpack("<Q", head)
            if n > 100 << 20:
                raise ValueError(f"{self.path}: not a .safetensors file (header length {n})")
            try:
                hdr = json.loads(fh.read(n))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ValueError(f"{self.path}: not a .safetensors file ({exc})") from None
        self.offset = 8 + n
        self.meta = hdr.pop("__metadata__", {}) or {}
        self.tensors = hdr  # name -> {"dtype", "shape", "data_offsets"}

    def keys(self):
        return list(self.tensors)

    def dtype(self, name) -> str:
        return self.tensors[name]["dtype"]

    def shape(self, name) -> tuple:
        return tuple(self.tensors[name]["shape"])

    def raw(self, name) -> np.ndarray:
        """The tensor's stored elements (BF16 as uint16 bits, F8 as uint8), memory-mapped."""
        t = self.tensors[name]
        dt = self._DTYPES.get(t["dtype"])
        if dt is None:
            raise ValueError(f"{self.path}: {name} has dtype {t['dtype']}, which the audit does not read")
        a, b = t["data_offsets"]
        shape = tuple(t["shape"])
        if b == a:
            return np.zeros(shape, dt)
        m = np.memmap(self.path, dtype=np.uint8, mode="r", offset=self.offset + a, shape=(b - a,))
        return m.view(dt).reshape(shape)

    def values(self, name) -> np.ndarray:
        """A float tensor's values as float32 / float64 (BF16 widened exactly)."""
        r = self.raw(name)
        if self.dtype(name) == "BF16":
            return (r.astype(np.uint32) << np.uint32(16)).view(np.float32)
        if self.dtype(name) in ("F16", "F32", "F64"):
            return np.asarray(r)
        raise ValueError(f"{self.path}: source tensor {name} has dtype {self.dtype(name)}, not a float type")


def find_tensors(files) -> tuple[list, list]:
    """([(layout, name, file, codes key, scales key)], [(key, why skipped)]) over the shards."""
    found, skipped = [], []
    for path in files:
        tf = TensorFile(path)
        keys = set(tf.keys())
        used = set()
        for key in sorted(keys):
            for lay in LAYOUTS:
                if key.endswith(lay.codes_suffix):
                    name = key[: -len(lay.codes_suffix)]
                    sk = name + lay.scales_suffix
                    if lay.name.startswith("compressed") and name + ".weight_global_scale" in keys:
                        continue
                    if sk in keys:
                        found.append((lay, name, path, key, sk))
                        used |= {key, sk}
                    break
        for key in sorted(keys - used):
            why = next((w for m, w in _SKIP_MARKERS.items() if key.endswith(m)), None)
            if why is None and key.endswith(".weight_packed"):
                why = _SKIP_MARKERS[".weight_global_scale"]
            skipped.append((f"{os.path.basename(path)}:{key}", why or "not an MX tensor of a known layout"))
    return found, skipped
