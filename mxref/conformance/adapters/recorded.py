"""The ``recorded`` adapter: any live adapter's outputs, recorded once, classified anywhere.

:func:`mxref.conformance.record.write_recordings` runs a live adapter (``run`` mode) on the checker's cases and keeps a
small sample of every target -- every case that is not PASS (up to a cap) and a few that are --
as ``.npy`` files (inputs, and the library's scales, codes, values) with a ``manifest.json``
naming the library, its version, the exact call of each target, the profile and target fields,
the counts of the sample as the live run classified them, and the sha256 of every file.

:class:`RecordedAdapter` (``--library recorded --recordings DIR``) reads such a directory back in
``record`` mode: its name and version are the recorded library's (so :mod:`..known` applies to
it on the recorded version), and every target is classified from the files alone -- the heavy
libraries need not be installed (``tests/peers/recordings/<library>/``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..model import Output, Profile, Target
from ..untrusted import confined, printable, read_json
from .base import Adapter

#: cases kept per target: every non-PASS case up to KEEP_FAILING, and the first KEEP_PASSING passes
KEEP_FAILING = 48
KEEP_PASSING = 16

_TARGET_FIELDS = ("operation", "format", "dtype", "overflow", "block_size", "unsupported", "api", "detail")


class RecordedAdapter(Adapter):
    """A library through recordings written by :func:`write_recordings` (``--recordings DIR``):
    name, version, profiles and targets are the manifest's; outputs are the recorded ones."""

    name = "recorded"
    recorded = True

    def __init__(self, directory=None):
        self.dir = Path(directory) if directory else None
        self._manifest = None

    @classmethod
    def from_options(cls, *, dump=None, recordings=None, vectors=None):
        return cls(recordings)

    def _err(self, msg):
        return ValueError(f"recordings {self.dir}: {msg}")

    def availability(self):
        if self.dir is None:
            return "no recordings given: pass --recordings DIR (e.g. tests/peers/recordings/onnx)"
        if not (self.dir / "manifest.json").is_file():
            return f"no manifest.json at {self.dir} (pass --recordings DIR)"
        return None

    def manifest(self) -> dict:
        if self._manifest is None:
            m = read_json(confined(self.dir, "manifest.json", "manifest.json", self._err), "manifest.json", self._err)
            if not isinstance(m, dict) or not isinstance(m.get("targets"), list):
                raise self._err("manifest.json must hold an object with a 'targets' list")
            for name, digest in m.get("sha256", {}).items():
                p = confined(self.dir, name, "manifest.json sha256 entry", self._err)
                if not p.is_file() or hashlib.sha256(p.read_bytes()).hexdigest() != digest:
                    raise ValueError(f"{p}: missing or its sha256 differs from manifest.json")
            self._manifest = m
            self.name = printable(str(m.get("library", "recorded")))
        return self._manifest

    @property
    def display_name(self):
        return f"{self.manifest() and self.name} {self.version()}"

    def version(self):
        return printable(str(self.manifest().get("version", "?"))) + " (recorded)"

    def _profile(self, p: dict) -> Profile:
        p = dict(p)
        p["options"] = tuple(tuple(o) for o in p.get("options", ()))
        return Profile(**p)

    def profiles(self):
        out = {}
        for e in self.manifest()["targets"]:
            pr = self._profile(e["profile"])
            out.setdefault(pr.name, pr)
        return out

    @property
    def default_profiles(self):
        return tuple(self.profiles())

    def _entries(self, profile):
        return [e for e in self.manifest()["targets"] if e["profile"]["name"] == profile.name]

    def targets(self, profile, level):
        out = []
        for e in self._entries(profile):
            t = dict(e["target"])
            if e.get("unsupported_batches") and not e["batches"] and not t.get("unsupported"):
                t["unsupported"] = e["unsupported_batches"][0]
            out.append(Target(profile=self._profile(e["profile"]), **t))
        return out

    def _file(self, name):
        return confined(self.dir, name, "manifest.json file name", self._err)

    def record(self, target):
        for e in self._entries(target.profile):
            t = dict(e["target"])
            if self._profile(e["profile"]) == target.profile and \
                    all(getattr(target, k) == t[k] for k in _TARGET_FIELDS if k != "unsupported"):
                break
        else:  # pragma: no cover - targets() only gives recorded ones
            raise self._err(f"no recording of {target}")
        out = []
        for b in e["batches"]:
            x = np.load(self._file(b["input"]), allow_pickle=False)
            comp = {c: np.load(self._file(b[c]), allow_pickle=False) for c in ("scales", "codes", "values") if c in b}
            o = Output(comp.get("scales"), comp.get("codes"), comp.get("values"),
                       {int(k): v for k, v in b.get("errors", {}).items()})
            if o.scales is not None:
                o.scales = o.scales.astype(np.int64)
            if o.codes is not None:
                o.codes = o.codes.astype(np.int64)
            if o.values is not None:
                o.values = o.values.astype(np.float64)
            out.append((x, o, {"files": [b["input"]]}))
        return out

    def recorded_counts(self) -> dict:
        """{target_key: counts} as the live run classified them."""
        return {target_key(self._profile(e["profile"]), e["target"]): e["counts"] for e in self.manifest()["targets"]}


def target_key(profile: Profile, t: dict) -> tuple:
    """A recorded target's identity: its profile (every field) and target fields."""
    return (profile,) + tuple(t[k] for k in _TARGET_FIELDS if k != "unsupported")

