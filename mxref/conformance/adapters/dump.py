"""The ``dump`` adapter: any implementation's outputs written to a directory holding
``dump.json`` and .npy files; and :func:`write_dump`, which writes one from mxref."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ... import mx_format, quantize
from ...options import ROUNDING_MODES, SCALE_RULES
from ..model import Output, Profile, Target
from ..untrusted import confined, printable, read_json, short
from .base import Adapter

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
    has_known_differences = False  # any implementation: KNOWN_DIFFERENCES are keyed by peer library

    def __init__(self, directory):
        self.dir = Path(directory)
        self.meta = self._load_meta()
        self.default_profiles = tuple(dict.fromkeys(self._profile_name(o) for o in self.meta["outputs"]))

    @classmethod
    def from_options(cls, *, dump=None, recordings=None, vectors=None):
        """``--library dump --dump DIR``: this adapter when DIR holds dump.json (or neither file:
        its error names dump.json), the spec_vectors adapter when DIR holds MANIFEST.json only."""
        if dump is None:
            raise ValueError("--library dump needs --dump DIR")
        d = Path(dump)
        if (d / "dump.json").is_file() or not (d / "MANIFEST.json").is_file():
            return cls(d)
        from .spec_vectors import VectorsAdapter

        return VectorsAdapter(d, vectors)

    def _err(self, msg):
        return ValueError(f"dump {self.dir}: {msg}")

    def _load_meta(self) -> dict:
        if not (self.dir / "dump.json").is_file():
            raise self._err("no dump.json in it (nor a MANIFEST.json: the spec_vectors layout)")
        p = confined(self.dir, "dump.json", "dump.json", self._err)
        meta = read_json(p, "dump.json", self._err)
        if not isinstance(meta, dict):
            raise self._err("dump.json must hold an object")
        for key in ("inputs", "outputs"):
            if key not in meta:
                raise self._err(f"dump.json lacks {key!r}")
        confined(self.dir, meta["inputs"], "inputs", self._err)
        for key in ("library", "version"):
            if key in meta and not isinstance(meta[key], (str, int, float)):
                raise self._err(f"{key} must be a string, got {short(meta[key])}")
        if not isinstance(meta["outputs"], list) or not meta["outputs"]:
            raise self._err("'outputs' must be a non-empty list")
        bs = meta.get("block_size", 32)
        if isinstance(bs, bool) or not isinstance(bs, int) or not 1 <= bs <= _DUMP_MAX_BLOCK:
            raise self._err(f"block_size must be an int in 1..{_DUMP_MAX_BLOCK}, got {short(bs)}")
        ax = meta.get("axis", -1)
        if isinstance(ax, bool) or not isinstance(ax, int):
            raise self._err(f"axis must be an int, got {short(ax)}")
        for i, o in enumerate(meta["outputs"]):
            if not isinstance(o, dict):
                raise self._err(f"outputs[{i}] must be an object")
            for key in ("format", "scale_rule", "rounding", "packing"):
                if key in o and not isinstance(o[key], str):
                    raise self._err(f"outputs[{i}]: {key} must be a string, got {short(o[key])}")
            try:
                mx_format(o.get("format"))
            except ValueError as exc:
                raise self._err(f"outputs[{i}]: {exc}") from None
            if o.get("scale_rule", "floor") not in SCALE_RULES:
                raise self._err(f"outputs[{i}]: scale_rule must be one of {SCALE_RULES}, got {short(o.get('scale_rule'))}")
            if o.get("rounding", "rne") not in ROUNDING_MODES or o.get("rounding") == "stochastic":
                raise self._err(f"outputs[{i}]: rounding must be one of rne, ties_away, toward_zero, up, down; "
                                f"got {short(o.get('rounding'))}")
            if not any(o.get(c) for c in ("scales", "elements", "values")):
                raise self._err(f"outputs[{i}] gives none of scales, elements, values")
            for c in ("scales", "elements", "values"):
                if o.get(c) is not None:
                    confined(self.dir, o[c], f"outputs[{i}].{c}", self._err)
            if o.get("packing", "none") not in _PACKINGS:
                raise self._err(f"outputs[{i}]: packing must be one of {_PACKINGS}, got {short(o.get('packing'))}")
            if not isinstance(o.get("options", {}), dict):
                raise self._err(f"outputs[{i}]: options must be an object")
            bad = set(o.get("options") or {}) - set(_DUMP_OPTIONS)
            if bad:
                raise self._err(f"outputs[{i}]: unknown option {short(sorted(bad)[0])}; allowed: "
                                f"{', '.join(_DUMP_OPTIONS)}")
            for k, v in (o.get("options") or {}).items():
                if not isinstance(v, (str, int, float, bool)):
                    raise self._err(f"outputs[{i}]: options: {k} must be a string, number or boolean, got {short(v)}")
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
        return printable(self.meta.get("version", "?"))

    @property
    def library(self) -> str:
        return printable(self.meta.get("library", "?"))

    @property
    def report_name(self) -> str:
        return f"{self.library} (dump)"

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
        p = confined(self.dir, name, what, self._err)
        if not p.is_file():
            raise self._err(f"{what} file {short(name)} does not exist")
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
            raise self._err(f"{what} file {short(name)} is not a readable .npy "
                            f"({type(exc).__name__}: {printable(str(exc))[:200]})") from None

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
    from ... import __version__

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
