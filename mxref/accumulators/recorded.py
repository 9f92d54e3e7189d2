"""Replay of recorded matrix-multiply-accumulate outputs (the layout of ``../shared/peers/mma-sim``).

A recordings directory holds one folder per instruction kind (or is itself one such folder),
each with ``manifest.json`` and the arrays ``a_codes.npy`` (I, M, K), ``b_codes.npy`` (I, K, N),
optional ``a_scales.npy`` (I, M, K/bs) / ``b_scales.npy`` (I, K/bs, N), ``c_in.u32.npy`` and
``d_out.u32.npy`` (I, M, N, float32 bit patterns) and ``category.npy`` (I,). One code per byte
(E2M1 unpacked). The manifest names the simulator call (``simulator_call``, ``arch``,
``qualifier``), the formats (``a_format``, ``b_format``, ``scale_format``, ``block_size``) and
``shape_MNK``; :func:`preset_for_manifest` maps them to a preset, and every instance is one
instruction of that preset.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .model import as_accumulator, gemm

__all__ = ["ReplayResult", "replay", "preset_for_manifest", "default_recordings_dir",
           "find_kind_dirs", "replay_kind"]


@dataclass
class ReplayResult:
    """One kind's comparison: ``equal`` of ``total`` outputs (NaN as a class where the preset
    says so), ``equal_bits`` compared as bit patterns, the first mismatches as hex lines."""

    kind: str
    preset: str
    equal: int
    total: int
    equal_bits: int
    nan_compare: str
    mismatches: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.equal == self.total

    def line(self) -> str:
        extra = "" if self.equal_bits == self.equal else (
            f" ({self.equal_bits} as bit patterns; NaN compared as a class)")
        return f"{self.kind}: {self.equal} of {self.total} outputs equal [{self.preset}]{extra}"


def default_recordings_dir() -> Path | None:
    """MXREF_MMA_SIM if set, else ``../shared/peers/mma-sim`` beside the repository root, else the
    same relative to the current directory; None if none exists."""
    env = os.environ.get("MXREF_MMA_SIM")
    if env:
        return Path(env)
    root = Path(__file__).resolve().parents[2]
    for base in (root, Path.cwd()):
        p = base / ".." / "shared" / "peers" / "mma-sim"
        if p.is_dir():
            return p.resolve()
    return None


def find_kind_dirs(directory) -> list[Path]:
    d = Path(directory)
    if (d / "manifest.json").is_file():
        return [d]
    return sorted(p for p in d.iterdir() if (p / "manifest.json").is_file())


def preset_for_manifest(man: dict) -> str:
    """The preset name of a recorded kind, from its simulator call, architecture and shape."""
    call, arch = man.get("simulator_call", ""), man.get("arch", "")
    K = int(man["shape_MNK"][2])
    qual = man.get("qualifier", "")
    if "tcgen05mma_block_scale" in call:
        if K == 32:
            return "blackwell_mxf8f6f4"
        return "blackwell_mxf4" if "block32" in qual else "blackwell_mxf4nvf4"
    if "mma_block_scale" in call and arch == "RTX Blackwell":
        return "rtx_blackwell_mxf8f6f4" if K == 32 else "rtx_blackwell_mxf4nvf4"
    if "wgmma" in call and arch == "Hopper":
        return "hopper_fp8"
    if "mfma" in call and arch == "CDNA3":
        return "cdna3_fp8"
    raise ValueError(f"no preset models {arch!r} {call!r}")


def _is_nan(u):
    return ((u & 0x7F800000) == 0x7F800000) & ((u & 0x7FFFFF) != 0)


def replay_kind(kind_dir, *, max_mismatches: int = 10, instances=None,
                arithmetic: str = "auto") -> ReplayResult:
    """One kind folder; ``instances`` (a slice or index array) restricts the instances."""
    kind_dir = Path(kind_dir)
    sel = slice(None) if instances is None else instances
    man = json.loads((kind_dir / "manifest.json").read_text())
    name = preset_for_manifest(man)
    acc = as_accumulator(name)

    def load(n):
        p = kind_dir / f"{n}.npy"
        return np.load(p)[sel] if p.is_file() else None

    sa, sb = load("a_scales"), load("b_scales")
    got = gemm(load("a_codes"), man["a_format"], sa, load("b_codes"), man["b_format"], sb,
               load("c_in.u32"), preset=acc, scale_fmt=man.get("scale_format") or None,
               arithmetic=arithmetic)
    got = got.view(np.uint32)
    ref = load("d_out.u32")
    same = got == ref
    ok = same | (_is_nan(got) & _is_nan(ref)) if acc.nan_compare == "class" else same
    notes = []
    F = man.get("accumulator_fraction_bits_in_simulator")
    if F is not None and F != acc.fraction_bits:
        notes.append(f"manifest F = {F}, preset F = {acc.fraction_bits}")
    cats = man.get("category_names", [])
    cat = load("category")
    lines = []
    c_in = load("c_in.u32")
    for i, m, n in np.argwhere(~ok)[:max_mismatches]:
        c = cats[int(cat[i])] if cat is not None and int(cat[i]) < len(cats) else "?"
        lines.append(f"instance {i} m {m} n {n} ({c}): C {int(c_in[i, m, n]):08x} "
                     f"model {int(got[i, m, n]):08x} recorded {int(ref[i, m, n]):08x}")
    return ReplayResult(man.get("kind", kind_dir.name), name, int(ok.sum()), int(ok.size),
                        int(same.sum()), acc.nan_compare, lines, notes)


def replay(directory=None, *, max_mismatches: int = 10) -> dict:
    """Replay every kind folder of ``directory`` (default :func:`default_recordings_dir`):
    ``{kind: ReplayResult}`` with ``equal``, ``total`` and the first mismatches as hex lines."""
    if directory is None:
        directory = default_recordings_dir()
        if directory is None:
            raise FileNotFoundError("no recordings: set MXREF_MMA_SIM or put them in "
                                    "../shared/peers/mma-sim")
    return {r.kind: r for r in (replay_kind(d, max_mismatches=max_mismatches)
                                for d in find_kind_dirs(directory))}
