"""The ``mma-sim`` adapter: recorded matrix-multiply-accumulate outputs (microsoft/MMA-Sim's
layout, ``../shared/peers/mma-sim``) against mxref's tensor-core accumulator models.

``--library mma-sim --recordings DIR``: DIR holds one folder per instruction kind (or is one
such folder), each with ``manifest.json`` (``simulator_call``, ``arch``, ``qualifier``,
``a_format``, ``b_format``, ``scale_format``, ``shape_MNK``, optional ``sha256``) and the arrays
``a_codes.npy`` (I, M, K), ``b_codes.npy`` (I, K, N), optional ``a_scales.npy`` /
``b_scales.npy``, ``c_in.u32.npy`` and ``d_out.u32.npy`` (I, M, N float32 bit patterns) --
``mxref.accumulators.recorded`` describes the layout. Any implementation can be checked by
writing its outputs as ``d_out.u32.npy`` beside the inputs. Every output is one case of the
kind's target (operation ``matmul``, profile = the preset, ``compare`` mode): PASS when the bit
patterns are equal; where the preset compares NaN as a class (``cdna3_fp8``: MMA-Sim's NaN
payload is host-dependent) two NaNs of other payloads are IMPL_DEFINED:nan_payload (counted as
equal; ``--strict`` makes them MISMATCH). The run notes say ``<kind>: N of M outputs equal``
per kind.

The recordings directory: ``--recordings DIR`` (the option the microxcaling adapter shares;
its default differs per library): for mma-sim the environment variable ``MXREF_MMA_SIM`` if
set, else ``../shared/peers/mma-sim`` relative to the current directory if it exists;
otherwise the adapter is unavailable. The input arrays are checked against the manifest's
sha256 where it lists them; ``d_out`` is what is checked, so its digest is not required.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from ...accumulators import PRESETS, gemm, preset_for_manifest
from ..lines import bits_str
from ..model import ID_BIT, IMPL, MISMATCH, PASS, Cases, Line, Profile, Target
from ..untrusted import confined, printable, read_json, short
from .base import Adapter

#: where the recordings are looked for, relative to the current directory
DEFAULT_MMA_SIM = Path("..") / "shared" / "peers" / "mma-sim"
_INPUTS = ("a_codes", "b_codes", "a_scales", "b_scales", "c_in.u32")


def default_mma_sim() -> Path | None:
    """MXREF_MMA_SIM if set, else ../shared/peers/mma-sim relative to the current directory if
    it exists, else None."""
    env = os.environ.get("MXREF_MMA_SIM")
    if env:
        return Path(env)
    here = Path.cwd() / DEFAULT_MMA_SIM
    return here if here.is_dir() else None


def _is_nan(u):
    return ((u & 0x7F800000) == 0x7F800000) & ((u & 0x7FFFFF) != 0)


class MmaSimAdapter(Adapter):
    """Recorded MMA outputs in the mma-sim layout (module docstring), one target per kind."""

    name = "mma-sim"
    recorded = True
    has_known_differences = False

    def __init__(self, directory=None):
        self.dir = Path(directory) if directory else default_mma_sim()
        self._kinds = None
        self._counts: dict = {}

    @classmethod
    def from_options(cls, *, dump=None, recordings=None, vectors=None):
        return cls(recordings)

    def _err(self, msg):
        return ValueError(f"mma-sim recordings {self.dir}: {msg}")

    def availability(self):
        if self.dir is None:
            return ("mma-sim recordings not found (MXREF_MMA_SIM is not set and there is no "
                    f"{DEFAULT_MMA_SIM} here): pass --recordings DIR")
        if not self.dir.is_dir() or not self.kinds():
            return f"no mma-sim recordings (folders with manifest.json) at {self.dir} (pass --recordings DIR)"
        return None

    def kinds(self) -> dict:
        """{kind folder: manifest} of the directory (itself, or its subfolders)."""
        if self._kinds is None:
            if (self.dir / "manifest.json").is_file():
                dirs = [self.dir]
            else:
                dirs = sorted(p for p in self.dir.iterdir() if (p / "manifest.json").is_file())
            self._kinds = {}
            for d in dirs:
                m = read_json(confined(d, "manifest.json", "manifest.json", self._err), f"{d.name}/manifest.json",
                              self._err)
                if not isinstance(m, dict) or "shape_MNK" not in m or "a_format" not in m:
                    raise self._err(f"{d.name}/manifest.json must be an object with shape_MNK, a_format, b_format")
                self._kinds[d] = m
        return self._kinds

    def version(self):
        commits = {str(m.get("mmasim_commit", "?"))[:12] for m in self.kinds().values()}
        return "commit " + printable(",".join(sorted(commits))) + " (recorded)"

    def _preset(self, man, d) -> str:
        try:
            return preset_for_manifest(man)
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise self._err(f"{d.name}: no accumulator model for it ({exc})") from None

    def _targets(self) -> dict:
        out = {}
        for d, m in self.kinds().items():
            p = self._preset(m, d)
            kind = printable(str(m.get("kind", d.name)))
            t = Target("matmul", f"{m['a_format']}__{m['b_format']}", Profile(p),
                       detail=f"kind={kind} accumulate={p}")
            out[t] = (d, m, kind)
        return out

    def profiles(self):
        return {p: Profile(p) for p in dict.fromkeys(t.profile.name for t in self._targets())}

    def targets(self, profile, level):
        return [t for t in self._targets() if t.profile.name == profile.name]

    def mode(self, target) -> str:
        return "compare"

    def _load(self, d, man, name):
        p = confined(d, f"{name}.npy", "array", self._err)
        if not p.is_file():
            return None
        data = p.read_bytes()
        want = (man.get("sha256") or {}).get(f"{name}.npy")
        if name in _INPUTS and isinstance(want, str) and hashlib.sha256(data).hexdigest() != want:
            raise self._err(f"{d.name}/{name}.npy differs from its manifest's sha256: the inputs must be "
                            "the recorded ones")
        try:
            return np.load(p, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise self._err(f"{d.name}/{name}.npy is not a readable .npy array ({exc})") from None

    def compare(self, target) -> list:
        d, man, kind = self._targets()[target]
        acc = PRESETS[target.profile.name]
        a, b = self._load(d, man, "a_codes"), self._load(d, man, "b_codes")
        sa, sb = self._load(d, man, "a_scales"), self._load(d, man, "b_scales")
        c_in, ref = self._load(d, man, "c_in.u32"), self._load(d, man, "d_out.u32")
        if a is None or b is None or ref is None:
            raise self._err(f"{d.name}: a_codes.npy, b_codes.npy and d_out.u32.npy are needed")
        try:
            got = gemm(a, man["a_format"], sa, b, man["b_format"], sb, c_in, preset=acc,
                       scale_fmt=man.get("scale_format") or None).view(np.uint32)
        except (ValueError, TypeError) as exc:
            raise self._err(f"{d.name}: {exc}") from None
        ref = np.asarray(ref)
        if ref.shape != got.shape:
            raise self._err(f"{d.name}: d_out.u32.npy has shape {ref.shape}, the inputs give {got.shape}")
        ref = ref.astype(np.uint32)
        same = got == ref
        nan_class = (acc.nan_compare == "class") & ~same & _is_nan(got) & _is_nan(ref)
        cls = np.where(same, PASS, np.where(nan_class, IMPL, MISMATCH)).reshape(-1)
        ids = np.where(nan_class, ID_BIT["nan_payload"], 0).reshape(-1)
        self._counts[kind] = (int((cls != MISMATCH).sum()), int(cls.size), target.profile.name)
        I, M, N = got.shape[0], got.shape[-2], got.shape[-1]
        cats = man.get("category_names") or []
        cat = self._load(d, man, "category")
        g3, r3 = got.reshape(I, M, N), ref.reshape(I, M, N)
        c3 = None if c_in is None else np.broadcast_to(c_in, got.shape).reshape(I, M, N)

        def line(n, label, note=""):
            i, rest = divmod(n, M * N)
            m, j = divmod(rest, N)
            cname = "?"
            if cat is not None and i < len(cat) and int(cat[i]) < len(cats):
                cname = printable(str(cats[int(cat[i])]))
            cin = "" if c3 is None else f" C {bits_str(c3[i, m, j])}"
            inp = f"instance {i} ({cname}) row {m} of A x column {j} of B{cin}"
            text = (f"{label} matmul {target.format} {target.profile.name} ({target.modes}) in: {inp} | "
                    f"got {bits_str(r3[i, m, j])} expected {bits_str(g3[i, m, j])}{note} [{d.name}]")
            data = dict(cls=label, library=self.library, operation="matmul", format=target.format,
                        profile=target.profile.name, modes=target.modes, files=[f"{d.name}/d_out.u32.npy"],
                        instance=int(i), row=int(m), col=int(j), got=int(r3[i, m, j]), expected=int(g3[i, m, j]))
            return Line(label, text, data)
        return [Cases(cls, ids, line)]

    def run_notes(self, targets) -> list:
        out = []
        for t in targets:
            kind = self._targets()[t][2]
            if kind in self._counts:
                eq, tot, p = self._counts[kind]
                out.append(f"{kind}: {eq} of {tot} outputs equal [{p}]")
        eq = sum(v[0] for v in self._counts.values())
        tot = sum(v[1] for v in self._counts.values())
        out.append(f"mma-sim recordings {self.dir}: {eq} of {tot} outputs equal over {len(self._counts)} kinds "
                   "(recorded outputs = got, mxref's tensor-core model = expected)")
        return out
