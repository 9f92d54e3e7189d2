"""The comparison behind every assertion: the caller's arrays become the recorded outputs of an
in-memory checker adapter, and the checker's one run loop classifies, counts and renders them
(:func:`mxref.conformance.run.run_target`, the shrinker, the report lines, the version-keyed
known differences). Nothing here classifies or formats a case itself."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..conformance.adapters import ADAPTERS, Adapter
from ..conformance.adapters.spec_vectors import VectorsAdapter
from ..conformance.known import annotate_known, known_difference
from ..conformance.model import CLASS_NAMES, ERROR, IMPL, MISMATCH, PASS, UNSUPPORTED, Output, Profile, Target
from ..conformance.run import render_mismatches, run_target
from ..conformance.shrink import shrink_and_render

#: MISMATCH lines an assertion message shows by default
DEFAULT_LINES = 5
#: where the diagnosis paragraph comes from (issue 14); its absence is said in the message
DIAGNOSE_MODULE = "mxref.conformance.diagnose"


@dataclass
class Comparison:
    """The result of a ``compare_*`` call (``assert_*`` raises ``AssertionError(str(result))``
    when ``not result.ok``).

    ``counts``: cases per class -- pass, mismatch (new differences), known (MISMATCH cases the
    profile's library is known to give on that version, accepted), impl-defined (differences the
    specification leaves open, accepted unless ``strict``), unsupported, error; ``cases``: their
    sum; ``lines``: the first MISMATCH (then ERROR) cases as the checker's one-line reports
    (quantize blocks shrunk when the implementation was given as ``impl=``); ``known_lines``:
    examples of the accepted known differences; ``impl_defined``: {id: cases};
    ``diagnosis``: the diagnosis paragraph, or None when :mod:`mxref.conformance.diagnose` is
    not available; ``notes``: the checker's remarks."""

    operation: str
    format: str
    modes: str
    profile: str
    counts: dict
    lines: list = field(default_factory=list)
    known_lines: list = field(default_factory=list)
    impl_defined: dict = field(default_factory=dict)
    diagnosis: str | None = None
    diagnosis_note: str = ""
    notes: list = field(default_factory=list)
    strict: bool = False
    unit: str = "cases"

    @property
    def cases(self) -> int:
        return sum(self.counts.values())

    @property
    def ok(self) -> bool:
        """No new MISMATCH and no ERROR (IMPL_DEFINED counts as MISMATCH under ``strict``)."""
        return self.counts["mismatch"] == 0 and self.counts["error"] == 0

    def __bool__(self) -> bool:
        return self.ok

    def summary(self) -> str:
        c = self.counts
        return (f"{self.operation} {self.format} {self.profile} ({self.modes}): {self.cases} {self.unit}: "
                f"{c['pass']} pass, {c['mismatch']} MISMATCH, {c['known']} known, {c['impl-defined']} "
                f"IMPL_DEFINED, {c['unsupported']} unsupported, {c['error']} ERROR")

    def __str__(self) -> str:
        c = self.counts
        bad = c["mismatch"] + c["error"]
        head = (f"{'Arrays are not equal' if bad else 'Equal'} to mxref (bit for bit): "
                + (f"{bad} of {self.cases} {self.unit} differ\n" if bad else f"{self.cases} {self.unit}\n"))
        out = [head + self.summary()]
        if self.impl_defined:
            out.append("accepted IMPL_DEFINED (the spec leaves these open; strict=True refuses them): "
                       + ", ".join(f"{k} {v}" for k, v in self.impl_defined.items()))
        if self.lines:
            shown = min(len(self.lines), bad)
            out.append(f"first {shown} of {bad}:" if shown < bad else f"{'the' if bad > 1 else 'the one'} "
                       f"{'differences' if bad > 1 else 'difference'}:")
            out += ["  " + t for t in self.lines]
        if c["known"]:
            out.append(f"accepted as known ({c['known']}, profile {self.profile}):")
            out += ["  " + t for t in self.known_lines]
        if bad:
            out.append(self.diagnosis if self.diagnosis else f"diagnosis unavailable ({self.diagnosis_note})")
        out += [f"note: {n}" for n in self.notes]
        return "\n".join(out)

    __repr__ = __str__


# ----- profiles ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """What the implementation claims: the checker Profile, and the library (and version) whose
    known differences are accepted (None: none)."""

    profile: Profile
    library: str | None = None
    version: str | None = None


def _profile_error(profile, why: str) -> ValueError:
    libs = [n for n, cls in ADAPTERS.items() if n not in ("dump", "spec_vectors", "mxref")]
    return ValueError(f"profile {profile!r}: {why}. Give 'LIBRARY:PROFILE' (the installed version's known "
                      f"differences) or 'LIBRARY-VERSION:PROFILE' (e.g. 'torchao-0.18:floor-rne'); libraries: "
                      f"{', '.join(libs)}; `mxref check --list` shows their profiles")


def resolve_claim(profile, operation: str, scale_rule, rounding, options: dict, *, defaults=("floor", "rne"),
                  nan=None, overflow="saturate") -> Claim:
    """The Claim of a ``profile=`` argument (None, 'LIB:PROF' or 'LIB-VERSION:PROF') with the
    explicit scale_rule / rounding / options (which must not contradict a library profile)."""
    opts = dict(options)
    m128 = bool(opts.pop("int8_allow_minus128", False))
    if profile is None:
        rule = defaults[0] if scale_rule is None else scale_rule
        rnd = defaults[1] if rounding is None else rounding
        extra = "".join(f"+{k}={v}" for k, v in sorted(opts.items()))
        name = (f"{rule}-{rnd}" if operation == "quantize" else str(rnd)) + extra
        return Claim(Profile(name, scale_rule=rule, rounding=rnd, fp8_overflow=overflow, nan=nan,
                             int8_allow_minus128=m128, options=tuple(sorted(opts.items()))))
    if not isinstance(profile, str):
        raise TypeError(f"profile must be a str or None, got {type(profile).__name__}")
    lib, sep, pname = profile.partition(":")
    if not sep:
        owners = [n for n, cls in ADAPTERS.items() if n not in ("dump", "spec_vectors", "mxref")
                  and profile in cls().profiles()]
        if len(owners) != 1:
            raise _profile_error(profile, "name its library" + (f" ({', '.join(owners)} have it)" if owners else ""))
        lib, pname = owners[0], profile
    version = None
    if lib not in ADAPTERS:
        base, dash, ver = lib.rpartition("-")
        if not dash or base not in ADAPTERS:
            raise _profile_error(profile, f"unknown library {lib!r}")
        lib, version = base, ver
    if lib in ("dump", "spec_vectors"):
        raise _profile_error(profile, f"{lib} has no fixed profiles")
    profs = ADAPTERS[lib]().profiles()
    if pname not in profs:
        raise _profile_error(profile, f"{lib} has no profile {pname!r} (its profiles: {', '.join(profs)})")
    p = profs[pname]
    for arg, val, have in (("scale_rule", scale_rule, p.scale_rule), ("rounding", rounding, p.rounding)):
        if val is not None and val != have:
            raise ValueError(f"{arg}={val!r} contradicts profile {profile!r}, which claims {arg}={have!r}")
    if opts or m128:
        p = Profile(p.name, p.scale_rule, p.rounding, p.fp8_overflow, p.nan, p.e8m0_rounding, p.e8m0_overflow,
                    p.int8_allow_minus128 or m128, tuple(sorted({**dict(p.options), **opts}.items())))
    return Claim(p, lib, version)


def claim_version(claim: Claim) -> str:
    """The library version whose known differences apply: the profile's, else the installed one."""
    if claim.library is None:
        return "?"
    if claim.version is not None:
        return claim.version
    try:
        return ADAPTERS[claim.library]().version()
    except Exception as exc:
        raise ValueError(f"profile {claim.library}:{claim.profile.name}: {claim.library} is not importable here "
                         f"to read its version ({type(exc).__name__}); name the version, e.g. "
                         f"'{claim.library}-0.18:{claim.profile.name}'") from None


# ----- the in-memory adapters -------------------------------------------------------------------------


class ArrayAdapter(Adapter):
    """The caller's arrays as recorded outputs (``record`` mode); with ``impl`` (the function
    under test) it also runs, so failing quantize blocks can be shrunk."""

    recorded = True

    def __init__(self, claim: Claim, batches: list, impl=None, to_output=None):
        self.name = claim.library or "yours"
        self.has_known_differences = claim.library is not None
        self._version = claim_version(claim)
        self._batches = batches
        self._impl = impl
        self._to_output = to_output

    def version(self):
        return self._version

    def record(self, target):
        return self._batches

    def run(self, target, x):
        if self._impl is None:  # pragma: no cover - the shrinker is only called with impl
            raise RuntimeError("no implementation to run")
        return self._to_output(self._impl(np.array(x)), x)


class MemoryVectors(VectorsAdapter):
    """The spec_vectors comparisons (dequantize, matmul) on arrays in memory: the same
    classification and lines as a dump in that layout, with no files."""

    def __init__(self, arrays: dict, entry: dict, target: Target, what: str, operands=None):
        self._arrays, self._entry_, self._target_, self._what, self._ops = arrays, entry, target, what, operands

    @property
    def library(self) -> str:
        return "yours"

    @property
    def display_name(self) -> str:
        return "yours"

    has_known_differences = False

    def mode(self, target):
        return "compare"

    def version(self):
        return "?"

    def _input(self, path, user):
        return self._arrays[path]

    def _got(self, e):
        return self._arrays[e["path"]]

    def _operands(self, e):
        return self._ops

    def notes(self, target, batches):
        return []

    def compare(self, target):
        return [self._cmp_dequantize(target, self._entry_) if self._what == "dequantize"
                else self._cmp_matmul(target, self._entry_)]


# ----- running ----------------------------------------------------------------------------------------


def _diagnosis(adapter, res) -> tuple:
    """(paragraph or None, why not): the diagnosis module's paragraph for a target, when
    :mod:`mxref.conformance.diagnose` exists (issue 14). It may give ``paragraph(adapter,
    result)`` (or ``diagnose_target`` / ``diagnose_result``) returning text or an object with
    ``text``/``paragraph``, or set ``result.diagnosis`` itself."""
    import importlib

    try:
        mod = importlib.import_module(DIAGNOSE_MODULE)
    except ImportError:
        return None, f"{DIAGNOSE_MODULE} is not installed"
    try:
        d = getattr(res, "diagnosis", None)
        for name in ("paragraph", "diagnose_target", "diagnose_result", "diagnosis_paragraph"):
            fn = getattr(mod, name, None)
            if callable(fn):
                d = fn(adapter, res)
                break
        if d is None:
            return None, f"{DIAGNOSE_MODULE} gave no diagnosis for this target"
        for attr in ("paragraph", "text"):
            v = getattr(d, attr, None)
            if isinstance(v, str):
                return v, ""
            if callable(v):
                return str(v()), ""
        return str(d), ""
    except Exception as exc:  # the message must still come out
        return None, f"{DIAGNOSE_MODULE} failed: {type(exc).__name__}: {exc}"


def run_comparison(adapter, target: Target, *, strict: bool, max_lines: int, unit: str, shrink: bool = False,
                   profile_label: str | None = None) -> Comparison:
    """Classify every case through the checker's run loop; split the MISMATCH cases into known
    (the claimed library's, on its version) and new; render the first ``max_lines`` new ones."""
    if isinstance(max_lines, bool) or not isinstance(max_lines, int) or max_lines < 0:
        raise ValueError(f"max_lines must be an int >= 0, got {max_lines!r}")
    res = run_target(adapter, target, level=1, seed=0, strict=strict, keep=10**9)
    known, new, known_examples = 0, [], []
    if adapter.has_known_differences and res.candidates:
        version = adapter.version()
        for cand in res.candidates:
            g, ci, _ = cand
            line = g.line(ci, "MISMATCH")
            kd = known_difference(adapter.name, version, line.data)
            if kd is None:
                new.append(cand)
            else:
                known += 1
                if len(known_examples) < 2:
                    known_examples.append(f"{line.text} [known: {kd.label}: {kd.text}]")
    else:
        new = list(res.candidates)
    unchecked = res.mismatch_total - len(res.candidates)  # past the checker's pick limit: counted new
    counts = {"pass": res.counts[PASS], "mismatch": len(new) + unchecked, "known": known,
              "impl-defined": res.counts[IMPL], "unsupported": res.counts[UNSUPPORTED], "error": res.counts[ERROR]}
    diag, why = (None, "")
    if new or res.counts[ERROR]:
        res.candidates = new
        diag, why = _diagnosis(adapter, res)
    if shrink and new and target.operation == "quantize":
        with np.errstate(all="ignore"):
            res.mismatch_lines = shrink_and_render(adapter, target, [(g.batch, ci, sid) for g, ci, sid in new[:max_lines]],
                                                   res.no_flush)
        res.candidates = []
    else:
        res.candidates = new
        render_mismatches(res, adapter, max_lines)
    notes = []
    if new and not shrink and target.operation == "quantize":
        notes.append("blocks shown as found: give impl= (the function under test) to shrink them")
    annotate_known(adapter, [res], notes)
    lines = [ln.text for ln in res.mismatch_lines] + [ln.text for ln in res.error_lines][: max(0, max_lines - len(new))]
    return Comparison(target.operation, target.format, target.modes, profile_label or target.profile.name, counts,
                      lines, known_examples, dict(res.impl_ids) if not strict else {}, diag, why,
                      res.notes + notes, strict, unit)


assert set(CLASS_NAMES) == {"pass", "mismatch", "impl-defined", "unsupported", "error"}
assert MISMATCH == 1
