"""The contract every adapter fulfils: how the checker talks to one library.

An adapter names a library (:attr:`Adapter.name`, its key in :data:`~.ADAPTERS`), says whether
it can be used here (:meth:`~Adapter.availability`), which rules it claims (:meth:`~Adapter.profiles`
and :meth:`~Adapter.targets`), and gives the outputs of each target in one of three modes
(:meth:`~Adapter.mode`):

``run``      a live library: :meth:`~Adapter.run` is called on the checker's cases
             (:func:`mxref.conformance.cases`); its failing quantize blocks are shrunk;
``record``   recorded outputs: :meth:`~Adapter.record` returns the recorded inputs with the
             library's outputs (``recorded = True``);
``compare``  whole files the checker cannot re-run: :meth:`~Adapter.compare` classifies every
             case itself and returns :class:`~mxref.conformance.model.Cases` (the spec_vectors
             layout's decode, dequantize, pack, swizzle_scales and matmul files).

The run loop (:mod:`mxref.conformance.run`) dispatches on :meth:`~Adapter.mode` only, never on
the adapter's class. A new library is one file beside this one and a line in ``__init__.py``.
"""

from __future__ import annotations

import warnings

import numpy as np

from ... import MX_FORMATS
from ...formats import element_format
from ..model import ELEMENTS, NVFP4, Output, Profile, Target

#: the modes an adapter can give a target's outputs in (see the module docstring)
MODES = ("run", "record", "compare")


class Adapter:
    """How the checker talks to one library. Subclasses set ``name`` and implement ``version``,
    ``profiles``, ``targets`` and the method of their mode: ``run`` (a live library: inputs from
    :func:`~mxref.conformance.cases`), ``record`` (recorded outputs: ``recorded = True``) or
    ``compare`` (whole files compared by the adapter: override :meth:`mode`)."""

    #: the key in ADAPTERS (``--library NAME``); unique
    name = "?"
    #: the outputs are recordings (``record`` mode), not calls of a live library
    recorded = False
    #: profile names run when --profile is not given
    default_profiles: tuple = ()
    #: whether KNOWN_DIFFERENCES (keyed by this name and the version) apply to its MISMATCH lines
    has_known_differences = True

    @classmethod
    def from_options(cls, *, dump=None, recordings=None, vectors=None) -> "Adapter":
        """The adapter for the command line's data locations (``--dump``, ``--recordings``,
        ``--vectors``); an adapter that needs none takes no argument."""
        return cls()

    # --- naming

    @property
    def display_name(self) -> str:
        """The name progress lines and report lines print for the library (default: ``name``)."""
        return self.name

    @property
    def library(self) -> str:
        """The implementation checked (a dump names its own; default: ``name``)."""
        return self.name

    @property
    def report_name(self) -> str:
        """The summary table's library column (default: ``name``)."""
        return self.name

    # --- what it claims

    def availability(self) -> str | None:
        """None when usable, else why not."""
        return None

    def version(self) -> str:
        return "?"

    def profiles(self) -> dict:
        """{profile name: Profile} the library can claim."""
        raise NotImplementedError

    def targets(self, profile: Profile, level: int) -> list:
        """The Targets of one profile."""
        raise NotImplementedError

    def mode(self, target: Target) -> str:
        """How this target's outputs are given: "run", "record" or "compare" (:data:`MODES`).
        Default: "record" when ``recorded`` is set, else "run"."""
        return "record" if self.recorded else "run"

    # --- the three modes

    def run(self, target: Target, x: np.ndarray) -> Output:
        """``run`` mode: the library's output for a batch x (quantize: 2-D, blocks along the last
        axis; encode / encode_e8m0: 1-D). Raising marks the rows (found by halving) as ERROR,
        or IMPL_DEFINED where raising is an open answer."""
        raise NotImplementedError(f"{type(self).__name__} has no run mode")

    def record(self, target: Target):
        """``record`` mode: the recorded inputs and outputs, one (x, Output) pair or a list of
        (x, Output, aux) batches; aux may give "files" (named in the report lines),
        "random_bits" and "random_bit_count" (stochastic rounding)."""
        raise NotImplementedError(f"{type(self).__name__} has no record mode")

    def compare(self, target: Target) -> list:
        """``compare`` mode: one :class:`~mxref.conformance.model.Cases` per file of the target,
        each case classified by the adapter."""
        raise NotImplementedError(f"{type(self).__name__} has no compare mode")

    # --- remarks and limits

    def unsupported(self, target: Target, x: np.ndarray) -> str | None:
        """``run`` mode: why a batch cannot be given to the library (None: it can)."""
        return None

    def no_shrink(self, target: Target, x: np.ndarray) -> str | None:
        """Why a failing block of batch x cannot be shrunk on its own (None: it can). NVFP4 with
        the "amax" per-tensor scale: P comes from the whole batch (one tensor)."""
        if target.format == NVFP4 and dict(target.profile.options).get("per_tensor_scale") == "amax":
            from ...ext import nvfp4_per_tensor_scale

            xf = np.abs(x[np.isfinite(x)])
            if dict(target.profile.options).get("per_tensor_scale_form") == "reciprocal":
                g = nvfp4_per_tensor_scale(x, arithmetic="float32", per_tensor_scale_form="reciprocal")
                return (f"not shrunk: the global scale is the whole tensor's, G = fp32(2688 / amax_T) = "
                        f"{np.float32(g)} over its {x.shape[0]} rows")
            p = nvfp4_per_tensor_scale(x, arithmetic="float32") if xf.size and xf.max() > 0 else 0.0
            return (f"not shrunk: the per-tensor scale is the whole tensor's, P = fp32(amax_T / 2688) = "
                    f"{np.float32(p)} over its {x.shape[0]} rows"
                    + ("; mxref's model takes P = 1 there" if p == 0 else ""))
        return None

    def notes(self, target: Target, batches: list) -> list:
        """Remarks on a target once its batches (the input arrays that ran) are classified."""
        return []

    def run_notes(self, targets: list) -> list:
        """Remarks on the whole run once its targets are done (e.g. which files were checked)."""
        return []


def quantize_targets(profile, dtypes=("float32",), formats=tuple(MX_FORMATS)):
    """quantize Targets of every MX format (block 32) from each input dtype."""
    return [Target("quantize", f, profile, dtype=d) for d in dtypes for f in formats]


def encode_targets(profile, dtypes, formats=ELEMENTS, both_overflows=False):
    """encode Targets of the element formats; FP8 in the profile's overflow mode (or both)."""
    out = []
    for d in dtypes:
        for f in formats:
            el = element_format(f)
            ovs = ["saturate"]
            if el.has_nan or el.has_inf:
                ovs = ["saturate", "nonsaturating"] if both_overflows else [profile.fp8_overflow]
            out += [Target("encode", f, profile, dtype=d, overflow=o) for o in ovs]
    return out


class TorchLibraryAdapter(Adapter):
    """A library run on CPU torch: available when :meth:`_probe` imports what the adapter calls
    (the library's import warnings silenced; it returns a reason, or None), versioned
    ``"<distribution version> (torch <version>)"`` and printed with that version."""

    #: the package registry name (importlib.metadata)
    distribution = ""

    def _probe(self):
        raise NotImplementedError

    def availability(self):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return self._probe()
        except Exception as exc:
            return f"{self.distribution} is not importable ({type(exc).__name__}: {exc})"[:200]

    def version(self):
        from importlib.metadata import version

        import torch

        return f"{version(self.distribution)} (torch {torch.__version__})"

    @property
    def display_name(self):
        return f"{self.name} {self.version()}"
