"""The ``microxcaling`` adapter: microsoft/microxcaling through its recorded outputs.

The recordings directory is ``--recordings DIR`` (alias ``--microxcaling-dir``); by default
(:func:`default_recordings`) the environment variable ``MXREF_RECORDINGS`` if set, else
``../shared/peers/microxcaling`` relative to the current directory if it exists; otherwise the
adapter is unavailable and says to pass ``--recordings DIR``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from ..model import ELEMENTS, Output, Profile, Target
from ..untrusted import confined, printable, read_json
from .base import Adapter

#: where the recordings are looked for, relative to the current directory (a checkout beside shared/)
DEFAULT_RECORDINGS = Path("..") / "shared" / "peers" / "microxcaling"


def default_recordings() -> Path | None:
    """The default recordings directory: the environment variable MXREF_RECORDINGS if set, else
    ../shared/peers/microxcaling relative to the current directory if it exists, else None."""
    env = os.environ.get("MXREF_RECORDINGS")
    if env:
        return Path(env)
    here = Path.cwd() / DEFAULT_RECORDINGS
    return here if here.is_dir() else None


class MicroxcalingAdapter(Adapter):
    """microsoft/microxcaling through its recorded outputs (``--recordings DIR``, default
    :func:`default_recordings`): per element format and rounding, the values
    X * P_i and the shared exponent of each block. ``round="even"`` is profile ``floor-rne``,
    ``round="nearest"`` is ``floor-ties_away``. The inputs are the recorded ones (no levels)."""

    name = "microxcaling"
    recorded = True
    default_profiles = ("floor-rne", "floor-ties_away")
    _ROUND = {"floor-rne": "even", "floor-ties_away": "nearest"}

    has_known_differences = False  # its differences are in tests/peers' class analysis

    def __init__(self, directory=None):
        self.dir = Path(directory) if directory else default_recordings()
        self._manifest = None

    @classmethod
    def from_options(cls, *, dump=None, recordings=None, vectors=None):
        return cls(recordings)

    def availability(self):
        if self.dir is None:
            return ("microxcaling recordings not found (MXREF_RECORDINGS is not set and there is no "
                    f"{DEFAULT_RECORDINGS} here): pass --recordings DIR")
        if not (self.dir / "manifest.json").is_file():
            return f"microxcaling recordings not found at {self.dir} (pass --recordings DIR)"
        return None

    def manifest(self) -> dict:
        if self._manifest is None:
            err = lambda msg: ValueError(f"microxcaling recordings {self.dir}: {msg}")  # noqa: E731
            m = read_json(confined(self.dir, "manifest.json", "manifest.json", err), "manifest.json", err)
            if not isinstance(m, dict) or not isinstance(m.get("sha256", {}), dict):
                raise err("manifest.json must hold an object (with a 'sha256' object)")
            for name, digest in m.get("sha256", {}).items():
                p = confined(self.dir, name, "manifest.json sha256 entry", err)
                if not p.is_file() or hashlib.sha256(p.read_bytes()).hexdigest() != digest:
                    raise ValueError(f"{p}: missing or its sha256 differs from manifest.json")
            self._manifest = m
        return self._manifest

    def _file(self, name) -> Path:
        return confined(self.dir, name, "manifest.json file name",
                         lambda msg: ValueError(f"microxcaling recordings {self.dir}: {msg}"))

    def version(self):
        return "commit " + printable(str(self.manifest().get("microxcaling_commit", "?"))[:8]) + " (recorded)"

    def profiles(self):
        return {n: Profile(n, rounding="rne" if r == "even" else "ties_away") for n, r in self._ROUND.items()}

    def targets(self, profile, level):
        m = self.manifest()
        r = self._ROUND[profile.name]
        return [Target("quantize", "mx" + e, profile, block_size=int(m["block_size"]))
                for e in ELEMENTS if f"{e}_{r}" in m["outputs"]]

    def record(self, target):
        m = self.manifest()
        out = m["outputs"][f"{target.format[2:]}_{self._ROUND[target.profile.name]}"]
        x = np.load(self._file(m["input"]), allow_pickle=False)
        v = np.load(self._file(out["file"]), allow_pickle=False)
        se = np.load(self._file(out["scale_exp_file"]), allow_pickle=False).astype(np.float64)
        x = np.moveaxis(x, m["axis"], -1)
        v = np.moveaxis(v, m["axis"], -1)
        n = int(np.prod(x.shape[:-1]))
        x, v = x.reshape(n, -1), v.reshape(n, -1)
        nb = -(-x.shape[1] // target.block_size)
        se = se.reshape(n, nb) if se.size == n * nb else np.moveaxis(se, m["axis"], -1).reshape(n, nb)
        scales = np.where(np.isnan(se), 0xFF, np.nan_to_num(se) + 127).astype(np.int64)
        return x, Output(scales=scales, values=v.astype(np.float64))
