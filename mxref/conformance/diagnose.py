"""Diagnosis: which implementation models (:mod:`mxref.models`) reproduce a library's MISMATCH
cases, and identification of the profile a set of outputs follows.

For a target's MISMATCH cases (quantize blocks; encode / encode_e8m0 values) stacked into one
array, every *candidate* -- the claimed profile changed in up to three places: another scale
rule, another element rounding, a catalogue model (scale, element or input kind; a model with a
parameter, e.g. ``scale_code_offset=<n>``, takes the values the data shows) -- is run once
through mxref (:func:`mxref.models.quantize_model`, ``encode_model``, ``encode_e8m0_model``)
and compared block by block with the library's output: the scale and element codes it gives, or
its dequantized values where it gives neither. The search is pruned:

* by field: candidates changing the element rounding or an element model only are not run on
  blocks whose scale differs (they cannot change a scale);
* by effect: pairs and triples are built only from single changes that alter mxref's output on
  some mismatching case; triples only while cases are left unexplained.

The *best* candidate explains the most cases with the fewest changes (ties: the one that keeps
more of the target's passing cases as the library gave them, then catalogue order); cases it
leaves are covered greedily by further candidates; the rest are *unexplained*.

:func:`search_models` is the search; :func:`identify_target` counts, for every catalogue profile (:data:`mxref.models.PROFILES`;
profiles with the same definition count as one), the cases of a target it reproduces.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..formats import element_format
from ..options import E8M0_ROUNDING_MODES, SCALE_RULES
from .classify import decode_codes, same64
from .model import IMPL, MISMATCH, NVFP4, PASS, element_of, to_blocks

#: element roundings searched (``ties_toward_zero`` where the catalogue gives it)
ROUNDINGS = ("rne", "ties_away", "toward_zero", "ties_toward_zero", "up", "down")
#: most changes from the claimed profile in one candidate
MAX_CHANGES = 3
#: single changes kept for pairs, and for triples (the ones explaining, then changing, the most cases)
MAX_RELEVANT = 24
MAX_RELEVANT_TRIPLES = 12
#: reference cases (the library agreed with the spec) used to break ties, per target
TIE_CASES = 4096
#: candidates explaining the most cases scored on the reference cases, per target
TOP_SCORED = 64
#: unexplained example lines per target
EXAMPLES = 10


def catalogue():
    """The model catalogue (:mod:`mxref.models`), or None when it cannot be imported."""
    try:
        from .. import models
    except ImportError:
        return None
    return models


# ----- what is compared -------------------------------------------------------------------------


@dataclass
class Cases_:
    """Cases of one target stacked: quantize blocks (x (N, k) in the input dtype, valid (N, k),
    got {"scale": (N,), "code": (N, k), "value": (N, k)} as far as the library gives them) or
    values (x (N,), got {"code": (N,)}); ``extra``: keywords every call takes (random bits)."""

    x: np.ndarray
    got: dict
    valid: np.ndarray | None = None
    extra: dict = field(default_factory=dict)
    refs: list = field(default_factory=list)  # (group, case index) for rendering lines

    @property
    def n(self) -> int:
        return self.x.shape[0]


def stack(parts: list) -> Cases_ | None:
    parts = [p for p in parts if p.n]
    if not parts:
        return None
    keys = set(parts[0].got)
    for p in parts[1:]:
        keys &= set(p.got)
    ek = set(parts[0].extra)
    for p in parts[1:]:
        ek &= set(p.extra)
    return Cases_(np.concatenate([p.x for p in parts]), {k: np.concatenate([p.got[k] for p in parts]) for k in keys},
                  None if parts[0].valid is None else np.concatenate([p.valid for p in parts]),
                  {k: np.concatenate([p.extra[k] for p in parts]) if isinstance(parts[0].extra[k], np.ndarray)
                   else parts[0].extra[k] for k in ek},
                  [r for p in parts for r in p.refs])


def cases_of_batch(target, b, sel: np.ndarray, g=None) -> Cases_:
    """The cases ``sel`` (a boolean mask over the batch's cases) of a classified batch."""
    idx = np.nonzero(sel)[0]
    refs = [(g, int(i)) for i in idx] if g is not None else []
    extra = {}
    if target.operation == "quantize":
        B = b.B
        got = {k: v[idx] for k, v in B.got.items()}
        rb = b.extra.get("random_bits")
        if rb is not None:
            extra["random_bits"] = to_blocks(np.asarray(rb).reshape(b.x.shape), target.block_size, 0)[idx]
            extra["random_bit_count"] = b.extra.get("random_bit_count")
        return Cases_(B.x[idx], got, B.valid[idx], extra, refs)
    got = {"code": np.asarray(b.got.codes, np.int64).reshape(-1)[idx]}
    return Cases_(np.asarray(b.x).reshape(-1)[idx], got, None, extra, refs)


# ----- candidates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """The claimed profile with up to three changes; ``changes``: their labels, in order."""

    scale_rule: str
    rounding: str
    models: tuple
    changes: tuple

    def label(self, operation: str) -> str:
        head = self.scale_rule if operation == "quantize" else self.rounding if operation == "encode" else ""
        rest = [c for c in self.changes if not c.startswith("scale_rule=")
                and not (operation == "encode" and c.startswith("rounding="))
                and not (operation == "encode_e8m0" and c.startswith("e8m0_rounding="))]
        if operation == "encode_e8m0":
            head = f"e8m0 rounding={self.rounding}"
        return " + ".join([head] + rest)


def _dims(change: str) -> str:
    """The dimension a change occupies (two changes of one dimension do not combine)."""
    if "=" in change and change.split("=")[0] in ("scale_rule", "rounding", "e8m0_rounding"):
        return change.split("=")[0]
    return "model:" + change.split("=")[0]


def single_changes(target, cat, cases: Cases_, base_scales=None) -> list:
    """The single changes searched for a target (see the module docstring)."""
    op = target.operation
    p = target.profile
    out = []
    kinds = {"quantize": ("scale", "element", "input"), "encode": ("input",),
             "encode_e8m0": ("e8m0", "input")}[op]
    if op == "quantize":
        out += [f"scale_rule={r}" for r in SCALE_RULES if r != p.scale_rule]
        if p.rounding != "stochastic":
            out += [f"rounding={r}" for r in ROUNDINGS if r != p.rounding]
    elif op == "encode":
        if p.rounding != "stochastic":
            out += [f"rounding={r}" for r in ROUNDINGS if r != p.rounding]
    else:
        out += [f"e8m0_rounding={r}" for r in E8M0_ROUNDING_MODES if r != p.e8m0_rounding]
    for mid, m in cat.MODELS.items():
        if m.kind not in kinds or mid in ROUNDINGS:
            continue
        if getattr(m, "params", ()):
            vals = _param_values(mid, cases, base_scales)
            out += [f"{mid}={v}" for v in vals]
        else:
            out.append(mid)
    return out


def _param_values(mid: str, cases: Cases_, base_scales) -> list:
    """Values of a model's parameter the data points at: a code offset, the observed differences
    between the library's scale codes and mxref's (the four most frequent)."""
    if "offset" in mid and base_scales is not None and "scale" in cases.got:
        d = (cases.got["scale"] - base_scales) % 256
        d = np.where(d > 127, d - 256, d)
        cnt = Counter(int(v) for v in d if v != 0)
        return [v for v, _ in cnt.most_common(4)]
    if mid == "scale_even_mantissa_bits":  # the mantissa widths of the MX element formats
        return [1, 2, 3]
    return []


def make_candidate(target, changes: tuple, cat=None) -> Candidate | None:
    """The candidate of a set of changes (None: two changes of one dimension). A model that is a
    variant of another scale rule or rounding (its ``rules`` / ``roundings``) brings the first of
    them along unless a change sets it."""
    p = target.profile
    rule, rnd, models = p.scale_rule, p.rounding, []
    if target.operation == "encode_e8m0":
        rnd = p.e8m0_rounding
    seen = set()
    for c in changes:
        d = _dims(c)
        if d in seen:
            return None
        seen.add(d)
        if c.startswith("scale_rule="):
            rule = c.split("=", 1)[1]
        elif c.startswith("rounding=") or c.startswith("e8m0_rounding="):
            rnd = c.split("=", 1)[1]
        else:
            models.append(c)
    if cat is not None and target.operation == "quantize":
        for mid in models:
            m = cat.MODELS.get(mid.split("=")[0])
            if m is None:
                continue
            if getattr(m, "rules", ()) and rule not in m.rules and "scale_rule" not in seen:
                rule = m.rules[0]
                seen.add("scale_rule")
            if getattr(m, "roundings", ()) and rnd not in m.roundings and "rounding" not in seen:
                rnd = m.roundings[0]
                seen.add("rounding")
    return Candidate(rule, rnd, tuple(models), tuple(changes))


def run_candidate(target, cat, cand: Candidate, cases: Cases_, rows=None):
    """mxref's output under a candidate for the cases (or the ``rows`` of them): a dict like
    Cases_.got, or None when the catalogue refuses the combination."""
    x = cases.x if rows is None else cases.x[rows]
    extra = cases.extra if rows is None else {k: (v[rows] if isinstance(v, np.ndarray) else v)
                                                for k, v in cases.extra.items()}
    p = target.profile
    try:
        with np.errstate(all="ignore"):
            if target.operation == "quantize":
                opts = dict(p.options)
                if p.int8_allow_minus128:
                    opts["int8_allow_minus128"] = True
                opts.update(extra)
                mx = cat.quantize_model(x, target.format, axis=-1, block_size=x.shape[1], scale_rule=cand.scale_rule,
                                        rounding=cand.rounding, models=cand.models, **opts)
                out = {"scale": np.asarray(mx.scales, np.int64).reshape(-1),
                       "code": np.asarray(mx.elements, np.int64).reshape(x.shape)}
                out["value"] = np.asarray(mx.dequantize(np.float64), np.float64).reshape(x.shape)
                return out
            if target.operation == "encode":
                kw = dict(extra)
                if p.int8_allow_minus128:
                    kw["int8_allow_minus128"] = True
                c = cat.encode_model(x, target.format, rounding=cand.rounding, overflow=target.overflow,
                                     nan=p.nan or "zero", models=cand.models, **kw)
                return {"code": np.asarray(c, np.int64).reshape(-1)}
            xs = np.where(_nonpositive(x), 1.0, x)
            c = cat.encode_e8m0_model(xs, rounding=cand.rounding, overflow=p.e8m0_overflow, models=cand.models)
            return {"code": np.asarray(c, np.int64).reshape(-1)}
    except (ValueError, TypeError, NotImplementedError, KeyError):
        return None


def _nonpositive(x):
    x = np.asarray(x, np.float64)
    return ~np.isnan(x) & ((x <= 0) | np.signbit(x))


def matches(target, cases: Cases_, out: dict, rows=None) -> np.ndarray:
    """Per case: the candidate's output equals the library's (scale and codes where it gives
    them, else its values; codes of two zeros or two NaNs count as equal -- those differences
    are implementation-defined)."""
    got = cases.got if rows is None else {k: v[rows] for k, v in cases.got.items()}
    n = next(iter(out.values())).shape[0]
    ok = np.ones(n, bool)
    if target.operation != "quantize":
        g, e = got["code"], out["code"]
        if target.operation == "encode":
            el = element_format(target.format)
            gv, gval = decode_codes(g, el)
            ev, _ = decode_codes(e, el)
            return (g == e) | (gval & (((gv == 0) & (ev == 0)) | (np.isnan(gv) & np.isnan(ev))))
        return g == e
    valid = cases.valid if rows is None else cases.valid[rows]
    if "scale" in got:
        ok &= got["scale"] == out["scale"]
    if "code" in got:
        el = element_of(target)
        gv, gval = decode_codes(got["code"], el)
        ev, _ = decode_codes(out["code"], el)
        same = (got["code"] == out["code"]) | (gval & (((gv == 0) & (ev == 0)) | (np.isnan(gv) & np.isnan(ev))))
        ok &= (same | ~valid).all(1)
    if "scale" not in got and "code" not in got and "value" in got:
        ok &= (same64(got["value"], out["value"]) | ~valid).all(1)
    return ok


def _differs(target, a: dict, b: dict) -> np.ndarray:
    keys = [k for k in ("scale", "code") if k in a and k in b]
    n = a[keys[0]].shape[0]
    d = np.zeros(n, bool)
    for k in keys:
        v = a[k] != b[k]
        d |= v.reshape(n, -1).any(1)
    return d


# ----- the search ----------------------------------------------------------------------------------


@dataclass
class Diagnosis:
    """What the search found for one target."""

    operation: str
    unit: str  # "blocks" or "values"
    mismatch: int = 0
    explained: int = 0
    best: Candidate | None = None
    best_n: int = 0
    extras: list = field(default_factory=list)  # [(Candidate, cases it adds)]
    per_model: dict = field(default_factory=dict)
    unexplained_lines: list = field(default_factory=list)
    note: str = ""
    seconds: float = 0.0
    candidates_run: int = 0
    #: candidates as good as the best on every case looked at (the cases cannot tell them apart)
    equally: list = field(default_factory=list)
    ref_kept: int = 0  # reference cases (the library agreed with mxref) the best keeps
    ref_n: int = 0     # of this many looked at

    def to_json(self) -> dict:
        d = {"mismatch_blocks": self.mismatch, "explained": self.explained,
             "best": list(self.best.changes) if self.best else [],
             "best_label": self.best.label(self.operation) if self.best else None,
             "best_explains": self.best_n,
             "also": [{"models": list(c.changes), "label": c.label(self.operation), "blocks": n}
                      for c, n in self.extras],
             "per_model": dict(self.per_model),
             "equally": [list(c.changes) for c in self.equally],
             "passing_kept": self.ref_kept, "passing_of": self.ref_n,
             "unexplained": [dict(line.data, text=line.text) for line in self.unexplained_lines],
             "unit": self.unit, "seconds": round(self.seconds, 4), "candidates_run": self.candidates_run}
        if self.note:
            d["note"] = self.note
        return d

    def text(self) -> str:
        M, N, u = self.mismatch, self.explained, self.unit
        if self.note.startswith("not diagnosed"):
            return f"diagnosis: {M} mismatching {u}: {self.note}"
        if not M:
            return f"diagnosis: no mismatching {u}"
        if not self.best or not self.best_n:
            s = (f"diagnosis: 0 of {M} mismatching {u} reproduced by any catalogue model or combination of "
                 f"up to {MAX_CHANGES}")
        else:
            s = f"diagnosis: {N} of {M} mismatching {u} reproduced by {self.best.label(self.operation)}"
            if self.extras:
                s += " (" + ", ".join(f"+ {self._extra_label(c)} for {n} {u}" for c, n in self.extras) + ")"
            if self.ref_n and self.ref_kept < self.ref_n:
                s += (f" -- which changes {self.ref_n - self.ref_kept} of the {self.ref_n} blocks the library "
                      f"computes as mxref does").replace("blocks", u)
            if self.equally:
                s += ("; as well by " + ", ".join(c.label(self.operation) for c in self.equally[:4])
                      + (f" and {len(self.equally) - 4} more" if len(self.equally) > 4 else "")
                      + " (these cases do not tell them apart)")
        if M > N:
            s += f"; {M - N} unexplained" + (f" ({self.note})" if self.note else "") + \
                (", e.g.:" if self.unexplained_lines else "")
        return s

    def _extra_label(self, c: Candidate) -> str:
        if self.best and set(self.best.changes) <= set(c.changes):
            add = [x for x in c.changes if x not in self.best.changes]
            return " + ".join(add)
        return "instead " + c.label(self.operation)


def search_models(target, mis: Cases_ | None, ref: Cases_ | None = None, cat=None) -> Diagnosis:
    """Search the catalogue for the candidates reproducing the MISMATCH cases ``mis`` of a
    target; ``ref``: cases where the library agreed with mxref (ties between equally good
    candidates go to the one that keeps more of them)."""
    t0 = time.perf_counter()
    op = target.operation
    unit = "blocks" if op == "quantize" else "values"
    D = Diagnosis(op, unit)
    D.mismatch = mis.n if mis is not None else 0
    if not D.mismatch:
        return D
    if op not in ("quantize", "encode", "encode_e8m0"):
        D.note = f"not diagnosed ({op} outputs: the catalogue models quantize, encode and encode_e8m0)"
        return D
    if target.format == NVFP4:
        D.note = "not diagnosed (NVFP4 is not MX v1.0; the catalogue models MX conversion)"
        return D
    cat = cat or catalogue()
    if cat is None:
        D.note = "not diagnosed (mxref.models, the model catalogue, is not importable)"
        return D
    base = run_candidate(target, cat, make_candidate(target, (), cat), mis)
    if base is None:
        D.note = "not diagnosed (mxref.models refuses the claimed profile's options)"
        return D
    D.candidates_run += 1
    scale_differs = (mis.got["scale"] != base["scale"]) if (op == "quantize" and "scale" in mis.got) else None
    changes = single_changes(target, cat, mis, base.get("scale"))
    results: dict = {}  # changes -> match vector

    def evaluate(ch: tuple):
        cand = make_candidate(target, ch, cat)
        if cand is None or ch in results:
            return None
        elem_only = all(c.startswith("rounding=") or _kind(cat, c) == "element" for c in ch)
        rows = None
        if elem_only and scale_differs is not None and scale_differs.any():
            rows = np.nonzero(~scale_differs)[0]
            if not rows.size:
                results[ch] = (cand, np.zeros(mis.n, bool), np.zeros(mis.n, bool))
                return results[ch]
        out = run_candidate(target, cat, cand, mis, rows)
        if out is None:
            return None
        D.candidates_run += 1
        m = np.zeros(mis.n, bool)
        chg = np.zeros(mis.n, bool)
        idx = np.arange(mis.n) if rows is None else rows
        m[idx] = matches(target, mis, out, rows)
        b = base if rows is None else {k: v[rows] for k, v in base.items()}
        chg[idx] = _differs(target, out, b)
        results[ch] = (cand, m, chg)
        return results[ch]

    for c in changes:
        evaluate((c,))
    singles = [(ch, r) for ch, r in results.items() if len(ch) == 1 and r[2].any()]
    singles.sort(key=lambda t: (-int(t[1][1].sum()), -int(t[1][2].sum())))
    relevant = [ch[0] for ch, _ in singles[:MAX_RELEVANT]]

    sub = None
    if ref is not None and ref.n:
        sub = Cases_(ref.x[:TIE_CASES], {k: v[:TIE_CASES] for k, v in ref.got.items()},
                     None if ref.valid is None else ref.valid[:TIE_CASES],
                     {k: (v[:TIE_CASES] if isinstance(v, np.ndarray) else v) for k, v in ref.extra.items()})
    kept_cache: dict = {}

    def kept(ch) -> int:
        """Reference cases (where the library agreed with mxref) the candidate keeps."""
        if sub is None:
            return 0
        if ch not in kept_cache:
            out = run_candidate(target, cat, results[ch][0], sub)
            kept_cache[ch] = -1 if out is None else int(matches(target, sub, out).sum())
        return kept_cache[ch]

    def perfect() -> bool:
        """Some candidate explains every case and keeps every reference case."""
        return any(int(m.sum()) == mis.n and kept(ch) == (sub.n if sub is not None else 0)
                   for ch, (_, m, _) in list(results.items()))

    for size in range(2, MAX_CHANGES + 1):
        if perfect():
            break
        for combo in itertools.combinations(relevant if size == 2 else relevant[:MAX_RELEVANT_TRIPLES], size):
            if len({_dims(c) for c in combo}) < size:
                continue
            evaluate(tuple(combo))
    # the best: most cases, then most reference cases kept (a candidate that breaks what the
    # library got right is not its rule), then fewest changes, then catalogue order
    most = max((int(m.sum()) for _, m, _ in results.values()), default=0)
    top = [ch for ch, (_, m, _) in results.items() if int(m.sum()) == most]
    top.sort(key=len)
    top = top[:TOP_SCORED]
    key = {ch: (-kept(ch), len(ch)) for ch in top}
    top.sort(key=lambda ch: key[ch])
    top = [ch for ch in top if key[ch] == key[top[0]]] if top else []
    ranked = [(ch, results[ch]) for ch in top]
    if sub is not None and top:
        D.ref_kept, D.ref_n = kept(top[0]), sub.n
    D.equally = [results[ch][0] for ch in top[1:]]
    top = ranked
    if ranked and int(ranked[0][1][1].sum()):
        bch, (bcand, bm, _) = top[0]
        D.best, D.best_n = bcand, int(bm.sum())
        done = bm.copy()
        assign = {bch: bm.copy()}
        while not done.all():
            gain = [(int((m & ~done).sum()), -len(ch), ch) for ch, (_, m, _) in results.items()]
            g, _, ch = max(gain, key=lambda t: (t[0], t[1]))
            if g == 0:
                break
            new = results[ch][1] & ~done
            D.extras.append((results[ch][0], g))
            assign[ch] = new
            done |= new
        D.explained = int(done.sum())
        for ch, m in assign.items():
            for c in ch:
                D.per_model[c] = D.per_model.get(c, 0) + int(m.sum())
        left = np.nonzero(~done)[0]
    else:
        left = np.arange(mis.n)
    if left.size and "code" in mis.got:
        ncodes = 256 if op == "encode_e8m0" else element_of(target).num_codes if op == "quantize" else \
            element_format(target.format).num_codes
        c = mis.got["code"][left]
        bad = ((c < 0) | (c >= ncodes)).reshape(left.size, -1).any(1)
        if bad.any():
            D.note = (f"{int(bad.sum())} of the unexplained {unit} hold codes outside the format "
                      f"(0..{ncodes - 1}), which no model gives")
    for i in left[:EXAMPLES]:
        if i < len(mis.refs) and mis.refs[i][0] is not None:
            g, ci = mis.refs[i]
            D.unexplained_lines.append(g.line(ci, "MISMATCH", " (unexplained by the catalogue)"))
    D.seconds = time.perf_counter() - t0
    return D


def _kind(cat, change: str) -> str:
    m = cat.MODELS.get(change.split("=")[0])
    return m.kind if m is not None else ""


# ----- identification ------------------------------------------------------------------------------


#: profile options that are not mxref.quantize keywords (they describe the library's casts)
_CAST_OPTIONS = ("fp8_overflow", "e8m0_rounding", "e8m0_overflow", "overflow")


def profile_key(p) -> tuple:
    """What a quantize profile computes: rule, rounding, models, quantize options."""
    return (p.scale_rule, p.rounding, tuple(sorted(p.models)),
            tuple(sorted((k, v) for k, v in (p.options or {}).items() if k not in _CAST_OPTIONS)))


def profile_groups(cat, fmt: str | None = None) -> list:
    """The quantize profiles of the catalogue (those offering format ``fmt``, when given) grouped
    by definition: [(joined name, Profile)], names joined by " = " where two profiles compute the
    same (no output can tell them apart)."""
    groups: dict = {}
    for name, p in cat.PROFILES.items():
        if getattr(p, "kind", "quantize") != "quantize" or not profile_applies(p, fmt):
            continue
        groups.setdefault(profile_key(p), []).append(name)
    return [(" = ".join(names), cat.PROFILES[names[0]]) for names in groups.values()]


def profile_applies(p, fmt: str | None) -> bool:
    """Whether a profile offers format fmt (its ``formats``; empty: every format)."""
    fm = getattr(p, "formats", ())
    return fmt is None or not fm or fmt in fm


def profile_candidate(p) -> tuple:
    return Candidate(p.scale_rule, p.rounding, tuple(p.models), ()), {k: v for k, v in (p.options or {}).items()
                                                                      if k not in _CAST_OPTIONS}


def identify_target(target, cases: Cases_ | None, cat=None, extra=()) -> list:
    """[(name, reproduced, of)] for every catalogue profile (grouped by definition) that offers
    the target's format, over ``cases`` (its PASS and MISMATCH cases); ``extra``: further
    (name, Candidate) pairs (e.g. a diagnosis' best candidate) counted the same way."""
    cat = cat or catalogue()
    if cat is None or cases is None or not cases.n or target.operation != "quantize" or target.format == NVFP4:
        return []
    todo = [(name,) + profile_candidate(p) for name, p in profile_groups(cat, target.format)]
    todo += [(name, c, dict(target.profile.options)) for name, c in extra]
    if target.profile.int8_allow_minus128:  # an open choice (MX §5.3.4) the library claims, not a rule
        todo = [(n, c, {"int8_allow_minus128": True} | o) for n, c, o in todo]
    out = []
    for name, cand, opts in todo:
        try:
            with np.errstate(all="ignore"):
                mx = cat.quantize_model(cases.x, target.format, axis=-1, block_size=cases.x.shape[1],
                                        scale_rule=cand.scale_rule, rounding=cand.rounding, models=cand.models,
                                        **opts, **cases.extra)
        except (ValueError, TypeError, NotImplementedError, KeyError):
            continue
        res = {"scale": np.asarray(mx.scales, np.int64).reshape(-1),
               "code": np.asarray(mx.elements, np.int64).reshape(cases.x.shape),
               "value": np.asarray(mx.dequantize(np.float64), np.float64).reshape(cases.x.shape)}
        out.append((name, int(matches(target, cases, res).sum()), cases.n))
    return out


def rank(entries: list) -> list:
    """Sum [(name, reproduced, of)] over targets; ranked by the share reproduced, then count."""
    tot: dict = {}
    for name, k, n in entries:
        a = tot.setdefault(name, [0, 0])
        a[0] += k
        a[1] += n
    rows = [{"profile": name, "blocks_reproduced": k, "of": n} for name, (k, n) in tot.items()]
    rows.sort(key=lambda r: (-(r["blocks_reproduced"] / r["of"] if r["of"] else 0), -r["blocks_reproduced"],
                             r["profile"]))
    return rows


CLASSES_FOR_IDENTIFY = (PASS, MISMATCH)
__all__ = ["Diagnosis", "Candidate", "search_models", "stack", "identify_target", "rank", "profile_groups", "catalogue",
           "cases_of_batch", "IMPL"]
