"""The ``spec_vectors`` adapter: an implementation's outputs in the spec_vectors layout.

Chosen by ``--library spec_vectors --dump DIR``, or by ``--library dump --dump DIR`` when DIR
holds MANIFEST.json and no dump.json. The reference set its inputs come from is ``--vectors
DIR``; by default (:func:`default_vectors`) the environment variable ``MXREF_VECTORS`` if set,
else ``./spec_vectors`` relative to the current directory.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import numpy as np

from ... import MXArray, decode, dot, matmul, mx_format, pack_elements, swizzle_scales
from ...accumulators import PRESETS, gemm
from ...formats import element_format
from ..model import (ALL_OPERATIONS, VECTOR_OPERATIONS, ID_BIT, IMPL, MISMATCH, PASS, UNSUPPORTED, Cases, Line, Output,
                     Profile, Target, to_blocks)
from ..classify import same64
from ..lines import bits_str, code_str, rational_str, scale_str, val_str
from ..untrusted import confined, printable, read_json, short
from ...reference.layout import swizzled_source
from ...vectors.schema import DTYPES, check_entry, parse_hex_rational
from .base import Adapter

_VEC_DTYPES = DTYPES  # the layout's one dtype map (mxref.vectors.schema)
#: fields of a manifest entry that must agree with the reference set's entry of the same path
_VEC_ENTRY_KEYS = ("dtype", "shape", "role", "operation", "format", "modes", "inputs", "axis", "block_size")
#: operations of spec_vectors/ext/nvfp4 (NVFP4, not MX v1.0): listed, not checked by this adapter
#: (the torchao adapter's nvfp4 profiles check NVFP4 implementations)
_VEC_UNCHECKED_OPERATIONS = ("quantize_nvfp4", "dequantize_nvfp4")
#: mxref.quantize options at their defaults (left out of profile names)
_QUANTIZE_DEFAULTS = {"zero_scale": 0, "inf_policy": "nan_scale", "scale_overflow": "clamp",
                      "flush_subnormals": False}


def default_vectors() -> tuple[Path, str | None]:
    """(the default reference set, where it was given): the environment variable MXREF_VECTORS
    if set ("MXREF_VECTORS"), else ./spec_vectors relative to the current directory (None: a
    default, which may hold no MANIFEST.json -- then every input must be in the dump)."""
    env = os.environ.get("MXREF_VECTORS")
    if env:
        return Path(env), "MXREF_VECTORS"
    return Path.cwd() / "spec_vectors", None


class VectorsAdapter(Adapter):
    """An implementation's outputs in the spec_vectors layout (spec_vectors/README.md): a
    directory holding ``MANIFEST.json`` -- spec_vectors' own, or a subset of its ``files`` entries
    (optionally with "library" and "version" keys naming the implementation) -- and, for each
    expected file the implementation produced, that file at the same relative path with the
    manifest's dtype and shape (raw, little-endian, C order, no header).

    Input files (and the codes a dequantize reads: the quantize outputs it lists as inputs) are
    taken from the directory where present there, else from the reference set ``vectors``
    (default: :func:`default_vectors`, MXREF_VECTORS or ./spec_vectors); an input file must be byte for byte the manifest's
    (sha256). Every expected file present is recomputed with mxref from its inputs and its entry's
    ``modes`` and compared case by case (a value, a block, a row, a byte, a C element); missing
    ones are not checked and the run's notes say how many were. The ``*.tv`` text vectors are
    inputs for readers, not outputs, and are not checked. An unreadable manifest, an entry the
    reference set does not have (or has otherwise), a missing input, or a file whose size is not
    its dtype x shape raises ValueError naming it."""

    name = "spec_vectors"
    recorded = True
    has_known_differences = False  # any implementation: KNOWN_DIFFERENCES are keyed by peer library

    def __init__(self, directory, vectors=None):
        self.dir = Path(directory)
        given = "--vectors" if vectors is not None else None
        if vectors is None:
            vectors, given = default_vectors()
        self.ref = Path(vectors)
        self.manifest = self._load_manifest(self.dir)
        self.ref_manifest = None
        if (self.ref / "MANIFEST.json").is_file():
            self.ref_manifest = self._load_manifest(self.ref)
        elif given is not None:
            raise self._err(f"the reference set {self.ref} ({given}) holds no MANIFEST.json")
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
        present = [e for e in expected if confined(self.dir, e["path"], "MANIFEST.json path", self._err).is_file()]
        self.n_text = sum(1 for e in present if e["path"].endswith(".tv"))
        self.n_nvfp4 = sum(1 for e in present if e["operation"] in _VEC_UNCHECKED_OPERATIONS)
        self.checked = [e for e in present if not e["path"].endswith(".tv")
                        and e["operation"] not in _VEC_UNCHECKED_OPERATIONS]
        self._arrays: dict = {}
        self._texts: dict = {}
        for e in self.checked:
            self._check_size(confined(self.dir, e["path"], "MANIFEST.json path", self._err), e, "")
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
        m = read_json(confined(root, "MANIFEST.json", where, self._err), where, self._err)
        if not isinstance(m, dict) or not isinstance(m.get("files"), list):
            raise self._err(f"{where} must be an object with a 'files' list (spec_vectors/README.md)")
        if m.get("schema_version", 1) != 1:
            raise self._err(f"{where}: schema_version {short(m.get('schema_version'))}, this checker reads 1")
        paths = set()
        for i, e in enumerate(m["files"]):
            try:  # the layout's one entry check (mxref.vectors.schema)
                check_entry(i, e, paths)
            except ValueError as exc:
                raise self._err(f"{where}: {printable(str(exc))}") from None
            p = e["path"]
            paths.add(p)
            confined(root, p, f"{where}: files[{i}] path", self._err)  # a symlink out
            if e.get("operation") not in ALL_OPERATIONS + _VEC_UNCHECKED_OPERATIONS:
                raise self._err(f"{where}: {p}: unknown operation {short(e.get('operation'))}; known: "
                                f"{', '.join(ALL_OPERATIONS)}")
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
        f = confined(self.dir, path, f"{user}: input", self._err)
        if not f.is_file():
            f = confined(self.ref, path, f"{user}: input (in the reference set)", self._err)
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
        return np.frombuffer(confined(self.dir, e["path"], "MANIFEST.json path", self._err).read_bytes(), _VEC_DTYPES[e["dtype"]]).reshape(e["shape"])

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
            if e["path"].endswith(".d.f32.u32"):  # a tensor-core model (ext/tensor_core, extension)
                model = m["accumulate"]
                if model not in PRESETS:
                    raise ValueError(f"unknown tensor-core accumulate {model!r}")
                fa, fb = (self._entry(q)["format"] for q in self._tc_inputs(e)[:2])
                return Target("matmul", f"{fa}__{fb}", Profile(model),
                              detail=f"accumulate={model} k_order={m.get('k_order', 'ascending')} to=float32 "
                                     f"set={Path(e['path']).name[:-len('.d.f32.u32')]}")
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

    @classmethod
    def from_options(cls, *, dump=None, recordings=None, vectors=None):
        if dump is None:
            raise ValueError("--library spec_vectors needs --dump DIR (a directory holding MANIFEST.json in "
                             "the spec_vectors layout)")
        return cls(dump, vectors)

    @property
    def display_name(self) -> str:
        return "dump"  # what the reports printed for it when it was the dump adapter's second layout

    @property
    def report_name(self) -> str:
        return f"{self.library} (dump)"

    def mode(self, target) -> str:
        return "compare" if target.operation in VECTOR_OPERATIONS else "record"

    def version(self):
        return printable(self.manifest.get("version", "?"))

    @property
    def library(self) -> str:
        return printable(self.manifest.get("library") or self.dir.name)

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
        """decode / dequantize / pack / swizzle_scales / matmul: one :class:`Cases` per file."""
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
        ids = np.where(zero, ID_BIT["signed_zero"], 0)

        def line(i, label, note=""):
            return self._line(target, e, label, f"0x{int(codes[i]):02X}",
                              f"got {bits_str(got[i])} expected {bits_str(exp[i])}", note,
                              dict(input_hex=f"0x{int(codes[i]):02X}", got=int(got[i]), expected=int(exp[i]),
                                   index=int(i)), f"index {i}")
        return Cases(cls, ids, line)

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
        G = to_blocks(rows(got).astype(np.float64), k, 0.0)
        E = to_blocks(rows(e32).astype(np.float64), k, 0.0)
        E64 = to_blocks(rows(e64), k, 0.0)
        C = to_blocks(rows(codes).astype(np.int64), k, 0)
        valid = to_blocks(np.ones(rows(got).shape, bool), k, False)
        S = np.moveaxis(sc, ax, -1).reshape(-1)
        d = ~same64(G, E) & valid
        zero = d & (G == 0) & (E == 0)
        f32max = float(np.finfo(np.float32).max)
        big = (d & np.isfinite(E64) & (np.abs(E64) > f32max)
               & (np.isnan(G) | ((np.signbit(G) == np.signbit(E64)) & (np.isinf(G) | (np.abs(G) == f32max)))))
        explained = (~d | zero | big).all(1)
        cls = np.where(~d.any(1), PASS, np.where(explained, IMPL, MISMATCH))
        ids = np.where(cls == IMPL, np.where(zero.any(1), ID_BIT["signed_zero"], 0)
                       | np.where(big.any(1), ID_BIT["value_beyond_fp32"], 0), 0)
        unsup = to_blocks(rows(bad), k, False).any(1)
        cls = np.where(unsup, UNSUPPORTED, cls)
        note = (f"{e['path']}: {int(unsup.sum())} blocks not checked: their element codes ({e['inputs'][1]}) are "
                f"not {mxf.element.name} codes (its quantize check reports them)") if unsup.any() else ""
        nb = -(-rows(got).shape[1] // k)
        el = mxf.element

        def line(i, label, note=""):
            n = int(valid[i].sum())
            r, j = divmod(i, nb)
            inp = f"scale {scale_str(S[i])} codes " + ",".join(f"{int(c):02X}" for c in C[i, :n])
            diff = [t for t in range(n) if d[i, t]]
            parts = [f"[{t}] code {code_str(C[i, t], el)} got {bits_str(np.float32(G[i, t]).view(np.uint32))} "
                     f"expected {bits_str(np.float32(E[i, t]).view(np.uint32))}" for t in diff[:4]]
            if len(diff) > 4:
                parts.append(f"+{len(diff) - 4} more elements differ")
            return self._line(target, e, label, inp, " | ".join(parts), note,
                              dict(input_hex=[f"0x{int(c):02X}" for c in C[i, :n]], scale=int(S[i]),
                                   got=[val_str(v) for v in G[i, :n]], expected=[val_str(v) for v in E[i, :n]],
                                   differing_elements=diff, row=int(r), block=int(j)),
                              f"row {r} block {j}", n)
        return Cases(cls, ids, line, note)

    def _cmp_pack(self, target, e):
        """Every row of codes: its packed bytes (mxref.pack_elements, the entry's order)."""
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
        return Cases(np.where(d, MISMATCH, PASS), np.zeros(len(d), np.int64), line)

    def _cmp_swizzle(self, target, e):
        """Every byte of the swizzled scale buffer (mxref.swizzle_scales)."""
        sc = self._input(e["inputs"][0], e["path"])
        m = e["modes"]
        got = self._got(e).reshape(-1)
        exp = swizzle_scales(sc, layout=m["layout"], pad_value=m.get("pad_value", 0)).reshape(-1)
        rows, kb = sc.shape

        def source(i):  # the cuBLAS tile formula, inverted (mxref.reference.layout)
            if m["layout"] != "cublas":
                return f"byte {i}"
            r, c = swizzled_source(i, kb)
            return f"scales[{r},{c}]=0x{int(sc[r, c]):02X}" if r < rows and c < kb else "padding"

        def line(i, label, note=""):
            return self._line(target, e, label, source(i), f"got 0x{int(got[i]):02X} expected 0x{int(exp[i]):02X}",
                              note, dict(input_hex=source(i), got=int(got[i]), expected=int(exp[i]), index=int(i)),
                              f"byte {i}")
        return Cases(np.where(got != exp, MISMATCH, PASS), np.zeros(got.size, np.int64), line)

    def _operands(self, e):
        (sa, xa, sb, xb), ents = [self._input(q, e["path"]) for q in e["inputs"]], [self._entry(q) for q in e["inputs"]]
        a = MXArray(ents[1]["format"], ents[1]["block_size"], ents[1]["axis"], xa.shape, np.ascontiguousarray(sa),
                    np.ascontiguousarray(xa))
        b = MXArray(ents[3]["format"], ents[3]["block_size"], ents[3]["axis"], xb.shape, np.ascontiguousarray(sb),
                    np.ascontiguousarray(xb))
        return a, b

    def _tc_inputs(self, e) -> list:
        """A codes, [A scales,] B codes, [B scales,] C of a tensor-core D file, as (A codes, B codes,
        A scales, B scales, C) paths (None for no scales)."""
        ins = e.get("inputs") or []
        if len(ins) == 5:
            return [ins[0], ins[2], ins[1], ins[3], ins[4]]
        if len(ins) == 3:
            return [ins[0], ins[1], None, None, ins[2]]
        raise self._err(f"MANIFEST.json entry {e['path']!r}: a tensor-core D lists 3 or 5 inputs, got {len(ins)}")

    def _cmp_tensor_core(self, target, e):
        """Every element of D = A @ B + C under the entry's tensor-core model
        (mxref.accumulators.gemm, the instructions chained along K in k_order); NaN as a class
        where the preset compares it so (CDNA3: another NaN payload is IMPL_DEFINED:nan_payload)."""
        pa, pb, psa, psb, pc = self._tc_inputs(e)
        a, b, c = self._input(pa, e["path"]), self._input(pb, e["path"]), self._input(pc, e["path"])
        sa = None if psa is None else self._input(psa, e["path"])
        sb = None if psb is None else self._input(psb, e["path"])
        sf = None if psa is None else self._entry(psa)["format"]
        acc = PRESETS[e["modes"]["accumulate"]]
        try:
            exp = gemm(a, self._entry(pa)["format"], sa, b, self._entry(pb)["format"], sb, c, preset=acc,
                       scale_fmt=sf, k_order=e["modes"].get("k_order", "ascending")).view(np.uint32)
        except (TypeError, ValueError) as exc:
            raise self._err(f"{e['path']}: its inputs do not make a {acc.name} GEMM ({exc})") from None
        got = self._got(e)
        if got.shape != exp.shape:
            raise self._err(f"{e['path']}: shape {list(got.shape)}, its inputs give {list(exp.shape)}")
        g, x = got.view(np.float32), exp.view(np.float32)
        same = got == exp
        nan = ~same & np.isnan(g) & np.isnan(x) & (acc.nan_compare == "class")
        cls = np.where(same, PASS, np.where(nan, IMPL, MISMATCH)).reshape(-1)
        ids = np.where(nan, ID_BIT["nan_payload"], 0).reshape(-1)
        N = exp.shape[1]

        def line(n, label, note=""):
            i, j = divmod(n, N)
            inp = f"row {i} of A x column {j} of B, C {bits_str(c.reshape(exp.shape)[i, j])}"
            return self._line(target, e, label, inp, f"got {bits_str(got[i, j])} expected {bits_str(exp[i, j])}",
                              note, dict(input_hex=inp, got=int(got[i, j]), expected=int(exp[i, j]), row=i, col=j),
                              f"[{i},{j}]")
        return Cases(cls, ids, line)

    def _cmp_matmul(self, target, e):
        """Every element of C = A @ B (MX §6.2): float32 under the entry's accumulator model
        (mxref.matmul), or the exact value (mxref.dot, dtype="exact") in the .exact.txt files;
        the ext/tensor_core D files under their tensor-core model (:meth:`_cmp_tensor_core`)."""
        if e["path"].endswith(".d.f32.u32"):
            return self._cmp_tensor_core(target, e)
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
                                  f"got {rational_str(got[(i, j)])} expected {rational_str(exp[(i, j)])}", note,
                                  dict(input_hex=operand_str(i, j), got=rational_str(got[(i, j)]),
                                       expected=rational_str(exp[(i, j)]), row=i, col=j), f"[{i},{j}]")
            return Cases(cls, np.zeros(len(cells), np.int64), line)
        got = self._got(e)
        exp = matmul(a, b, accumulate=e["modes"]["accumulate"]).view(np.uint32)
        g, x = got.view(np.float32), exp.view(np.float32)
        same = (got == exp) | (np.isnan(g) & np.isnan(x))
        zero = ~same & (g == 0) & (x == 0)
        cls = np.where(same, PASS, np.where(zero, IMPL, MISMATCH)).reshape(-1)
        ids = np.where(zero, ID_BIT["signed_zero"], 0).reshape(-1)

        def line(n, label, note=""):
            i, j = divmod(n, N)
            return self._line(target, e, label, operand_str(i, j),
                              f"got {bits_str(got[i, j])} expected {bits_str(exp[i, j])}", note,
                              dict(input_hex=operand_str(i, j), got=int(got[i, j]), expected=int(exp[i, j]),
                                   row=i, col=j), f"[{i},{j}]")
        return Cases(cls, ids, line)

    def _exact_text(self, e, M, N) -> dict:
        """{(row, col): Fraction or "nan" / "+inf" / "-inf"} of an .exact.txt file; malformed lines
        raise ValueError."""
        try:
            text = confined(self.dir, e["path"], "MANIFEST.json path", self._err).read_text()
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
                out[(i, j)] = parse_hex_rational(t)  # the layout's one reader (mxref.vectors.schema)
            except ValueError as exc:
                raise self._err(f"{e['path']}:{ln}: cannot read {line!r} ({exc})") from None
        if len(out) != M * N:
            raise self._err(f"{e['path']}: {len(out)} elements, expected {M} x {N}")
        return out
