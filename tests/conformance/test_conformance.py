"""The conformance checker (the package mxref/conformance/, tools/conformance.py).

* The case generator: deterministic, at least the documented count per level, and hitting the
  boundaries it promises (checked on the generated bits, independently of the generator's code).
* Every installed peer library at level 1 (ml_dtypes, gfloat, torchao, the microxcaling
  recordings): the report is complete and well-formed (counts add up, every line parses, the JSON
  holds the same data). Differences in a peer are findings, not failures; but every MISMATCH line
  shown must fall in a difference class documented here with an independent explanation, so a new
  class (or a checker bug) is noticed.
* Fault injection: mxref itself wrapped with deliberate faults (ties rounded away, a float32
  log2 shared exponent, swapped nibbles, NaN mapped to zero, the scale clamped at 2^-126) is
  reported as MISMATCH with a shrunk example.
* Each IMPL_DEFINED id, ERROR and UNSUPPORTED, decided on crafted outputs; --strict.
* The dump adapter: a dump written from mxref passes; a corrupted file is a clear error. (The
  spec_vectors layout: tests/conformance/test_conformance_vectors.py.)
* NVFP4 (not MX v1.0) in the torchao adapter: the cases hit every E4M3 block scale and midpoint
  (checked against E4M3 values typed from the bit fields); torchao 0.18 at level 1 differs from
  its mxref model only where documented; faults in a model adapter are shrunk MISMATCHes.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from dataclasses import replace
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest

import mxref
from mxref import conformance as C
from mxref.conformance.classify import classify_blocks, classify_values
from mxref.conformance.expected import reference_output
from mxref.conformance.known import version_tuple
from mxref.conformance.model import ELEMENTS, ID_BIT, count_cases, to_blocks
from mxref.conformance import MxrefAdapter, Output, Target, check, parse_line, write_dump

ROOT = Path(__file__).resolve().parents[2]
MX = list(mxref.MX_FORMATS)
HEADERS = ["library", "version", "operation", "format", "profile", "modes", "cases", "pass",
           "mismatch", "impl-defined", "unsupported", "error"]


# ----- helpers ------------------------------------------------------------------------------------


def _assert_well_formed(rep: C.Report):
    """Counts add up; every line parses and names its target; JSON == text."""
    rows = rep.rows()
    assert rows, "nothing was checked"
    for r in rows:
        assert r["cases"] > 0
        assert r["pass"] + r["mismatch"] + r["impl-defined"] + r["unsupported"] + r["error"] == r["cases"], r
    for res in rep.results:
        assert sum(res.impl_ids.values()) >= res.counts[C.IMPL]  # a case may carry several ids
        if res.counts[C.IMPL]:
            assert res.impl_ids
        assert res.mismatch_total == res.counts[C.MISMATCH]
    t = rep.totals()
    assert sum(t) == sum(r["cases"] for r in rows)
    text = rep.text()
    lines = rep.mismatch_lines() + rep.error_lines() + rep.impl_lines()
    targets = {(r["operation"], r["format"], r["profile"], r["modes"]) for r in rows}
    for line in lines:
        f = parse_line(line.text)
        assert line.text in text
        assert f["cls"] == line.cls == line.data["cls"]
        assert (f["operation"], f["format"], f["profile"], f["modes"]) in targets, line.text
        if f["cls"].startswith("IMPL_DEFINED:"):
            assert all(i in C.IMPL_DEFINED_IDS for i in f["cls"].split(":")[1].split("+"))
    if rep.errors:
        assert len(rep.mismatch_lines()) <= rep.errors
    assert len(rep.mismatch_lines()) == min(sum(r["mismatch"] for r in rows), rep.errors or 10**9) or \
        rep.errors == 0
    js = json.loads(json.dumps(rep.to_json()))
    # each row as the table has it, plus the diagnosis of its MISMATCH cases (on by default)
    assert [{k: v for k, v in r.items() if k != "diagnosis"} for r in js["summary"]] == rows
    assert all(r["diagnosis"]["mismatch_blocks"] == (res.diagnosis.mismatch if res.diagnosis else 0)
               for r, res in zip(js["summary"], rep.results))
    assert js["totals"]["cases"] == sum(t)
    assert [d["text"] for d in js["mismatch_lines"]] == [ln.text for ln in rep.mismatch_lines()]
    assert js["mismatch_total"] == t[C.MISMATCH]
    assert js["exit_status"] == rep.exit_status == (1 if t[C.MISMATCH] or t[C.ERROR] else
                                                    2 if sum(t) == t[C.UNSUPPORTED] else 0)
    # the summary table holds every row
    for r in rows:
        assert re.search(r"\b" + r"\s+".join(re.escape(str(r[h])) for h in ("operation", "format", "profile")), text)
    return rows


def _shrunk_count(line) -> int:
    m = re.search(r"\(shrunk from (\d+) to (\d+) non-zero\)", line.text)
    if m:
        return int(m.group(2))
    assert "(no element could be removed)" in line.text, line.text
    return line.data["nonzero"]


def _f32(h):
    return np.array([int(h, 16)], np.uint32).view(np.float32)[0]


def _block_input(line):
    dt = np.float32 if len(line.data["input_hex"][0]) == 10 else np.float64
    u = np.uint32 if dt == np.float32 else np.uint64
    return np.array([int(h, 16) for h in line.data["input_hex"]], u).view(dt)


def _release(version: str) -> tuple:
    """(major, minor) of a peer library's version string."""
    return version_tuple(version)[:2]


def _known_ids(line) -> str | None:
    return line.data.get("known_difference", {}).get("id")


# ----- cases --------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [1, 2])
def test_level_minimum_counts(level):
    prof = C.Profile("p")
    for fmt in MX:
        for dt in ("float32", "float64"):
            t = Target("quantize", fmt, prof, dtype=dt)
            n = sum(count_cases(t, b) for b in C.cases(t, level))
            assert n >= C.LEVEL_MINIMUM[level]["quantize"], (fmt, dt, n)
    for el in ("fp8_e4m3", "fp4_e2m1", "int8") if level == 2 else ELEMENTS:
        t = Target("encode", el, prof)
        assert sum(b.size for b in C.cases(t, level)) >= C.LEVEL_MINIMUM[level]["encode"]
    t = Target("encode_e8m0", "e8m0", prof)
    assert sum(b.size for b in C.cases(t, level)) >= C.LEVEL_MINIMUM[level]["encode_e8m0"]


def test_cases_are_deterministic_per_seed():
    for t in (Target("quantize", "mxfp6_e3m2", C.Profile("a")), Target("encode", "fp8_e5m2", C.Profile("b"), dtype="float64"),
              Target("encode_e8m0", "e8m0", C.Profile("c"))):
        a, b, c = C.cases(t, 1, seed=3), C.cases(t, 1, seed=3), C.cases(t, 1, seed=4)
        assert all(x.tobytes() == y.tobytes() for x, y in zip(a, b))
        assert any(x.tobytes() != y.tobytes() for x, y in zip(a, c))
        # the profile does not change the inputs
        d = C.cases(replace(t, profile=C.Profile("other", scale_rule="rceil")), 1, seed=3)
        assert all(x.tobytes() == y.tobytes() for x, y in zip(a, d))


@pytest.mark.parametrize("fmt", MX)
def test_quantize_cases_hit_the_boundaries(fmt):
    """Facts about the level-1 blocks, read from their float32 bits."""
    el = mxref.mx_format(fmt).element
    batches = C.cases(Target("quantize", fmt, C.Profile("p")), 1, seed=0)
    assert any(b.shape[1] % 32 for b in batches), "ragged lengths"
    assert {b.shape[1] % 32 for b in batches} >= {1, 7, 31}
    blocks = batches[0]
    assert blocks.shape[1] == 32 and blocks.dtype == np.float32
    bits = blocks.view(np.uint32)
    mag = bits & 0x7FFFFFFF
    nan = (mag > 0x7F800000).any(1)
    inf = (mag == 0x7F800000).any(1) & ~nan
    zero = (mag == 0).all(1)
    assert nan.sum() >= 8 and inf.sum() >= 8
    assert (zero & ((bits >> 31) == 0).all(1)).any() and (zero & ((bits >> 31) == 1).all(1)).any()
    assert (zero & ((bits >> 31) == 1).any(1) & ((bits >> 31) == 0).any(1)).any()
    amax = np.where((mag >= 0x7F800000).any(1), 0, mag.max(1)).astype(np.int64)
    e = amax >> 23
    frac = amax & 0x7FFFFF
    # amax a hair below a power of two, at the power, and a hair above, low and high exponents
    for k in (-126, -125, -1, 0, 1, 2, el.emax + 1, 127):
        assert ((e == k + 126) & (frac == 0x7FFFFF)).any(), k
        assert ((e == k + 127) & (frac == 0)).any(), k
        assert ((e == k + 127) & (frac == 1)).any(), k
    # tiny: float32-subnormal amax; both sides of the -127 clamp of the shared exponent
    assert ((e == 0) & (frac != 0)).any()
    for k in (-127 + el.emax - 1, -127 + el.emax, -127 + el.emax + 1):
        assert (e == k + 127).any() if k >= -126 else ((e == 0) & (frac >> (22 + k + 127) == 1)).any()
    # huge: amax in the top binade, the float32 max itself
    assert (e == 254).sum() >= 10 and (amax == 0x7F7FFFFF).any()
    # the element max at scale (clipping, RCEIL / ROUND_DOWN boundary) and its neighbours
    msig = F(el.max) / 2**el.emax  # in [1, 2)
    mfrac = int((msig - 1) * 2**23)
    for d in (-1, 0, 1):
        assert ((frac == mfrac + d) & (e > 1) & (e < 254)).any(), d
    # the EVEN carry threshold 2 - 2^-(m+1)
    m = el.mantissa_bits - (1 if el.integer else 0)
    efrac = int((F(2) - F(1, 2 ** (m + 1)) - 1) * 2**23)
    assert ((frac == efrac) & (e > 1)).any()
    # ties after scaling: elements exactly halfway between two element values at 2^se, se the
    # FLOOR shared exponent (exact Fractions over a sample of regular blocks)
    mags = sorted({abs(F(v)) for v in mxref.decode(np.arange(el.num_codes), el, np.float64).tolist() if math.isfinite(v)})
    mids = {(a + b) / 2 for a, b in zip(mags, mags[1:])}
    ties = 0
    regular = np.nonzero(~nan & ~inf & ~zero)[0][:300]
    for i in regular:
        fl = math.frexp(abs(float(blocks[i][np.argmax(mag[i])])))[1] - 1  # exact floor(log2 amax)
        se = max(fl - el.emax, -127)
        ties += sum(1 for v in blocks[i].tolist() if abs(F(v)) / F(2) ** se in mids)
    assert ties >= 100, ties


def test_encode_cases_hit_the_boundaries():
    for fmt in ELEMENTS:
        el = mxref.element_format(fmt)
        for dt in (np.float32, np.float64):
            with np.errstate(invalid="ignore"):  # signalling NaNs among the cases
                x = C.cases(Target("encode", fmt, C.Profile("p"), dtype=np.dtype(dt).name), 1)[0].astype(np.float64)
            vals = mxref.decode(np.arange(el.num_codes), el, np.float64)
            fin = np.unique(np.abs(vals[np.isfinite(vals)]))
            mids = (fin[:-1] + fin[1:]) / 2
            assert np.isin(fin, x).all() and np.isin(-fin, x).all()
            assert np.isin(mids, x).all()
            below = np.nextafter(mids.astype(dt), dt(0)).astype(np.float64)
            assert np.isin(below, x).all()
            assert np.isnan(x).any() and np.isinf(x).any() and (x == 0).any()
            assert np.isin(el.max * 2, x)


# ----- the real libraries at level 1 --------------------------------------------------------------


def test_mxref_against_itself_passes():
    for prof in ("floor-rne", "rceil-ties_away", "even-toward_zero", "round_down-down"):
        rep = check("mxref", profile=prof)
        rows = _assert_well_formed(rep)
        t = rep.totals()
        assert t[C.MISMATCH] == t[C.ERROR] == t[C.UNSUPPORTED] == 0
        # the only open cases: E8M0 of zero and negatives
        assert set(rep.impl_id_counts()) == {"e8m0_nonpositive"}
        assert {r["operation"] for r in rows} == {"quantize", "encode", "encode_e8m0"}
        assert rep.exit_status == 0


def test_ml_dtypes_level1():
    """Peer findings are facts about a version: ml_dtypes <= 0.6 rounds float64 twice (through
    float32) and casts float32 in (2^-127, 1.5 * 2^-127) to E8M0 2^-126; 0.7.0 fixed both (level
    1: no MISMATCH at all). Any other version: only the version-independent facts."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    rel = _release(ml_dtypes.__version__)
    rep = check("ml_dtypes", errors=0)
    rows = _assert_well_formed(rep)
    assert {(r["format"], r["modes"].split("from=")[1]) for r in rows} >= {
        (f, d) for f in ("fp8_e4m3", "fp8_e5m2", "fp6_e2m3", "fp6_e3m2", "fp4_e2m1") for d in ("float32", "float64")}
    mis = rep.mismatch_lines()
    for line in mis:  # whatever the version: a line the checker calls known is what it says
        d = line.data
        if _known_ids(line) == "e8m0_below_1.5x2^-127":
            v = float(_f32(d["input_hex"]))
            assert 2.0**-127 < v < 1.5 * 2.0**-127 and d["got"] == 1 and d["expected"] == 0, line.text
        elif _known_ids(line) == "float64_rounded_twice":
            assert "from=float64" in d["modes"], line.text
            v = np.array([int(d["input_hex"], 16)], np.uint64).view(np.float64)
            via32 = mxref.encode(v.astype(np.float32), d["format"], nan="zero",
                                 overflow="nonsaturating" if d["format"].startswith("fp8") else "saturate")
            assert d["got"] == via32[0] != d["expected"], line.text
            assert "[known: ml_dtypes < 0.7 (seen on 0.6.0): float64 casts round" in line.text
    by_known = {}
    for line in mis:
        by_known[_known_ids(line)] = by_known.get(_known_ids(line), 0) + 1
    if rel == (0, 6):  # seen on 0.6.0: 1272 double-rounded float64 casts, 8 E8M0 values
        assert by_known == {"float64_rounded_twice": 1272, "e8m0_below_1.5x2^-127": 8}, by_known
        assert rep.totals()[C.MISMATCH] == 1280 and rep.exit_status == 1
        assert all(r["mismatch"] == 0 for r in rows if "from=float32" in r["modes"] and r["operation"] == "encode")
    elif rel == (0, 7):  # seen on 0.7.0: both fixed
        assert rep.totals()[C.MISMATCH] == 0 and rep.exit_status == 0
        assert any("no known differences are recorded for this version" in n for n in rep.notes)
    # NaN into FP6/FP4 (no NaN there): implementation-defined, never a MISMATCH (0.6.0 and 0.7.0
    # give a zero of the opposite sign)
    nan_lines = [ln for ln in rep.impl_lines() if "nan_into_finite" in ln.cls]
    if rel in ((0, 6), (0, 7)):
        assert nan_lines
        for ln in nan_lines:
            assert ln.data["got"] in (0, mxref.element_format(ln.data["format"]).sign_mask)


def test_gfloat_level1():
    """gfloat 0.5.x (seen on 0.5.2): its differences fall in the two recorded classes; another
    version: only the report's form and the version-independent facts."""
    pytest.importorskip("gfloat")
    from importlib.metadata import version

    rel = _release(version("gfloat"))
    rep = check("gfloat", errors=40)
    rows = _assert_well_formed(rep)
    assert {r["operation"] for r in rows} == {"quantize", "encode", "encode_e8m0"}
    assert {r["modes"].split("api=")[1] for r in rows if "api=" in r["modes"]} == {"round_ndarray", "round_float"}
    if rel != (0, 5):
        assert not any(_known_ids(ln) for ln in rep.mismatch_lines())  # recorded for 0.5.x only
        return
    assert rep.mismatch_lines()
    for line in rep.mismatch_lines():
        d = line.data
        if d["operation"] == "encode_e8m0":
            # gfloat's E8M0 rounding goes below 2^-127 (then encodes outside 0..254)
            assert float(_f32(d["input_hex"])) < 2.0**-127 and d["got"] != 0, line.text
            assert _known_ids(line) == "e8m0_below_2^-127"
        elif d["operation"] == "quantize":
            # float64 input: floor(log2(amax)) in floating point rounds 2^k(1 - 2^-53) up to k
            x = _block_input(line)
            assert x.dtype == np.float64
            amax = np.max(np.abs(x))
            frac = int(amax.view(np.uint64)) & ((1 << 52) - 1)
            assert frac == (1 << 52) - 1 and d["got"]["scale"] == d["expected"]["scale"] + 1, line.text
            assert _known_ids(line) == "float64_floor_log2" and "[known: gfloat 0.5.x (seen on 0.5.2)" in line.text
        else:
            raise AssertionError(f"unexplained gfloat difference: {line.text}")


def _torchao_release():
    torchao = pytest.importorskip("torchao")
    return _release(torchao.__version__)


def test_torchao_level1_every_mode():
    """torchao 0.18.x (seen on 0.18.0): every MISMATCH is one of three recorded causes; another
    version: only the report's form and what does not depend on torchao's arithmetic."""
    rel = _torchao_release()
    rep = check("torchao", profile="floor-rne,ceil-rne,even-rne,rceil-rne", errors=80)
    rows = _assert_well_formed(rep)
    assert {r["profile"] for r in rows} == {"floor-rne", "ceil-rne", "even-rne", "rceil-rne"}
    for r in rows:
        if r["format"] == "mxint8":
            assert r["unsupported"] == r["cases"]
        else:
            assert r["unsupported"] > 0 and r["pass"] > 0  # ragged rows; the rest compared
    assert "torchao's to_mx needs rows that are whole blocks (ragged lengths)" in rep.text()
    if rel != (0, 18):
        assert not any(_known_ids(ln) for ln in rep.mismatch_lines())
        return
    assert rep.mismatch_lines()
    for line in rep.mismatch_lines():
        assert _known_ids(line) in ("scale0_divides_by_2^-126", "rceil_code0_as_1", "rceil_float32_log2"), line.text
        d = line.data
        x = _block_input(line).astype(np.float64)
        el = mxref.mx_format(d["format"]).element
        gs, es = d["got"]["scale"], d["expected"]["scale"]
        if d["profile"] != "rceil-rne":
            # scale code 0 (2^-127) but the elements divided by 2^-126 (its F32_MIN_NORMAL clamp)
            assert gs == es == 0, line.text
            assert d["got"]["codes"] == mxref.encode(np.ldexp(x, 126), el).tolist(), line.text
        elif gs == 0:
            # RCEIL: exponent 0 is applied as a factor 1.0
            assert d["got"]["codes"] == mxref.encode(x, el).tolist(), line.text
        else:
            # RCEIL: ceil(log2(amax / max)) with a float32 quotient and a float32 log2: just above
            # a power of two the log2 rounds down onto the integer, and the scale is one short
            assert gs == es - 1, line.text
            q = np.float32(np.max(np.abs(x))) / np.float32(el.max)
            assert np.ceil(np.log2(q)) == gs - 127 and q > np.float32(2.0 ** (gs - 127)), line.text


# ----- NVFP4 (mxref.ext.nvfp4, not MX v1.0) --------------------------------------------------------

NV_PROFILES = ("nvfp4", "nvfp4-pts", "nvfp4-pts_amax")


def _e4m3_magnitudes():
    """Every finite non-negative unsigned E4M3 value, from the bit fields (OFP8 Table 1)."""
    out = [F(m, 8) * F(2) ** -6 for m in range(8)]
    out += [F(8 + m, 8) * F(2) ** (e - 7) for e in range(1, 16) for m in range(8) if (e, m) != (15, 7)]
    return out


def _nv_target(name):
    return Target("quantize", "nvfp4", C.TorchaoAdapter().profiles()[name], block_size=16)


@pytest.mark.parametrize("name", NV_PROFILES)
def test_nvfp4_cases_hit_the_block_scale_grid(name):
    t = _nv_target(name)
    batches = C.cases(t, 1, seed=0)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(batches, C.cases(t, 1, seed=0)))
    assert sum(count_cases(t, b) for b in batches) >= C.LEVEL_MINIMUM[1]["quantize"]
    assert sum(count_cases(t, b) for b in C.cases(t, 2, seed=0)) >= C.LEVEL_MINIMUM[2]["quantize"]
    blocks = batches[0]
    assert blocks.shape[1] == 16 and blocks.dtype == np.float32
    assert {b.shape[1] % 16 for b in batches[1:]} >= {0, 1, 7}  # whole and ragged rows
    x = blocks.astype(np.float64)
    nan, inf = np.isnan(x).any(1), np.isinf(x).any(1)
    assert nan.sum() >= 8 and (inf & ~nan).sum() >= 8 and (x == 0).all(1).sum() >= 3
    amax = np.max(np.where(np.isfinite(x), np.abs(x), 0), axis=1)[~nan & ~inf]
    # P: none 1, given fp32(100 / 2688), amax fp32(100 / 2688) from a largest |x| of exactly 100
    p = F(1) if name == "nvfp4" else F(float(np.float32(100) / np.float32(2688)))
    if name != "nvfp4":  # the float32 nearest 100 / 2688, in [2^-5, 2^-4): half an ulp 2^-29 away at most
        assert F(1, 32) <= p < F(1, 16) and abs(p - F(100, 2688)) <= F(1, 2**29)
    have = {F(float(a)) for a in amax}
    e4 = _e4m3_magnitudes()
    grid = [6 * p * s for s in e4[1:]] + [6 * p * (a + b) / 2 for a, b in zip(e4[1:], e4[2:])]
    f32 = lambda v: F(float(np.float32(float(v))))  # noqa: E731  (the nearest float32, as generated)
    missing = [g for g in grid if f32(g) not in have]
    assert not missing, missing[:5]
    if name == "nvfp4-pts_amax":
        for b in batches:  # each batch one tensor: its largest finite |x| 100, or all zero
            fin = np.abs(b[np.isfinite(b)])
            assert fin.max() == 100.0 or (fin.max() == 0 and b.size == 32)
        assert any((b == 0).all() for b in batches)
    else:
        assert np.max(np.abs(x[np.isfinite(x)])) == np.finfo(np.float32).max


def test_torchao_nvfp4_level1():
    """torchao 0.18.x's NVFP4 against mxref's model of it; another version: the form only."""
    rel = _torchao_release()
    rep = check("torchao", profile=",".join(NV_PROFILES), errors=0)
    rows = _assert_well_formed(rep)
    assert [(r["format"], r["profile"]) for r in rows] == [("nvfp4", n) for n in NV_PROFILES]
    if rel != (0, 18):
        assert all("the model of torchao 0.18's NVFP4" in n for r in rep.results for n in r.notes
                   if "not MX v1.0" in n)
        return
    for r in rows:
        # the rows of 7 and 17 (8 each): 8 + 16 blocks torchao cannot take; the rest compared
        assert r["unsupported"] == 24 and r["pass"] > 1000 and r["error"] == 0, r
        assert "block=16" in r["modes"] and "arithmetic=float32" in r["modes"]
    assert "pts=0.03720238 " in rows[1]["modes"] and "pts=amax " in rows[2]["modes"]
    # element codes under a NaN scale: torchao computes them from NaN (0x4), mxref writes 0
    assert set(rep.impl_id_counts()) == {"nan_scale_elements"}
    for ln in rep.impl_lines():
        x = _block_input(ln)
        assert np.isnan(x).any() and ln.data["got"]["scale"] == ln.data["expected"]["scale"] == 0x7F
        assert "scale 0x7F(NaN)" in ln.text
    # the one MISMATCH cause: an all-zero tensor with the "amax" per-tensor scale -- torchao
    # divides by P = 0 (scale 0xFF, not an unsigned E4M3 code; codes 0xC; values NaN)
    assert rep.totals()[C.MISMATCH] == 2
    for ln in rep.mismatch_lines():
        d = ln.data
        assert d["profile"] == "nvfp4-pts_amax" and (_block_input(ln) == 0).all(), ln.text
        assert d["got"]["scale"] == 0xFF and set(d["got"]["codes"]) == {0xC} and d["expected"]["scale"] == 0x08
        assert "not shrunk: the per-tensor scale is the whole tensor's" in ln.text
        assert "P = fp32(amax_T / 2688) = 0.0 over its 2 rows; mxref's model takes P = 1 there" in ln.text
        assert _known_ids(ln) == "nvfp4_zero_tensor"
    # the notes: NVFP4 is not MX v1.0, and how often the exact model would differ
    for n in NV_PROFILES:
        (note,) = [x for r in rep.results if r.target.profile.name == n for x in r.notes if "not MX v1.0" in x]
        m = re.search(r"Of its (\d+) blocks, mxref's exact arithmetic \(same clamp and Inf policy\) gives other "
                      r"codes in (\d+), mxref's NVFP4 defaults .* in (\d+), and the exact dequantization of the "
                      r"model's codes other float32 values in (\d+)", note)
        assert m, note
        total, d_exact, d_default, d_deq = map(int, m.groups())
        assert 0 < d_exact <= d_default < total  # the boundary cases tell the models apart
        assert (d_deq == 0) == (n == "nvfp4")  # fp32(P S) rounds only with a per-tensor scale


class NVFP4Model(C.Adapter):
    """torchao's NVFP4 profiles, answered by mxref's model with ``fault`` options changed."""

    name = "nvfault"
    default_profiles = NV_PROFILES

    def __init__(self, fault=None, swap=False):
        self.fault, self.swap = fault or {}, swap

    def profiles(self):
        return {n: C.TorchaoAdapter().profiles()[n] for n in NV_PROFILES}

    def targets(self, profile, level):
        return [Target("quantize", "nvfp4", profile, block_size=16)]

    def run(self, t, x):
        opts = dict(t.profile.options)
        opts.update(self.fault)
        out = reference_output(replace(t, profile=replace(t.profile, options=tuple(opts.items()))), x)
        if self.swap:
            c = out.codes.copy()
            e = c.shape[1] // 2 * 2
            c[:, 0:e:2], c[:, 1:e:2] = out.codes[:, 1:e:2], out.codes[:, 0:e:2]
            out.codes = c
        return out


@pytest.mark.parametrize("adapter, max_nonzero", [
    (NVFP4Model({"arithmetic": "exact"}), 2),  # exact division where the float32 model is claimed
    (NVFP4Model({"scale_clamp": "none"}), 1),  # subnormal block scales instead of the 2^-6 clamp
    (NVFP4Model(swap=True), 2),  # nibbles read the other way round
])
def test_nvfp4_fault_injection(adapter, max_nonzero):
    assert NVFP4Model().availability() is None
    clean = check(NVFP4Model(), profile="nvfp4,nvfp4-pts")
    assert clean.totals()[C.MISMATCH] == clean.totals()[C.IMPL] == 0
    rep = check(adapter, errors=30)
    _assert_well_formed(rep)
    for r in rep.results:
        assert r.counts[C.MISMATCH] > 0, r.target
    for ln in rep.mismatch_lines():
        if ln.data["profile"] == "nvfp4-pts_amax":  # P depends on the whole tensor
            assert "not shrunk: the per-tensor scale is the whole tensor's" in ln.text
            continue
        assert _shrunk_count(ln) <= max_nonzero, ln.text
        x = _block_input(ln)[None, :]  # the shrunk block still fails on its own
        t = _nv_target(ln.data["profile"])
        g, e = adapter.run(t, x), reference_output(t, x)
        assert not (np.array_equal(g.scales, e.scales) and np.array_equal(g.codes, e.codes)), ln.text
    assert any("shrunk from" in ln.text for ln in rep.mismatch_lines())


#: the recordings as CI places them: shared/ beside the checkout (as test_microxcaling.py finds them)
RECORDINGS = ROOT.parent / "shared" / "peers" / "microxcaling"


def test_microxcaling_recordings():
    mx = C.MicroxcalingAdapter(RECORDINGS)
    if mx.availability():
        pytest.skip(mx.availability())
    rep = check(mx, errors=0)
    rows = _assert_well_formed(rep)
    assert len(rows) == 12
    # the block counts of tests/test_microxcaling.py's independent class analysis
    for r in rows:
        if r["format"] == "mxint8":
            assert (r["pass"], r["mismatch"], r["impl-defined"]) == (556, 118, 356), r
        else:
            assert (r["pass"], r["mismatch"], r["impl-defined"]) == (905, 118, 7), r
    assert rep.impl_id_counts() == {"signed_zero": 5 * 2 * 7 + 2 * 354, "zero_block_scale": 4}
    for line in rep.mismatch_lines():
        # its float32 log2 rounds up just below a power of two: amax fraction all ones, scale + 1
        x = _block_input(line)
        amax = np.max(np.abs(x[np.isfinite(x)]))
        assert int(amax.view(np.uint32)) & 0x7FFFFF == 0x7FFFFF, line.text
        assert line.data["got"]["scale"] == line.data["expected"]["scale"] + 1
        assert "(recorded output: not shrunk)" in line.text
    assert C.MicroxcalingAdapter("/nonexistent").availability().startswith("microxcaling recordings not found")


# ----- fault injection ----------------------------------------------------------------------------


def _fault_blocks(t: Target, x: np.ndarray, se_of_block) -> Output:
    """mxref's output with the shared exponent replaced per block (elements re-encoded)."""
    out = reference_output(t, x)
    el = mxref.mx_format(t.format).element
    k = t.block_size
    n, L = x.shape
    xb = to_blocks(x, k, x.dtype.type(0)).astype(np.float64)
    se = se_of_block(xb, out.scales.reshape(-1).astype(np.int64) - 127)
    change = (se + 127 != out.scales.reshape(-1)) & (out.scales.reshape(-1) != 0xFF)
    codes = mxref.encode(np.ldexp(xb, -se[:, None]), el, rounding=t.profile.rounding, nan="zero")
    vals = np.ldexp(mxref.decode(codes, el, np.float64), se[:, None])
    cb = to_blocks(out.codes, k, 0)
    vb = to_blocks(out.values, k, 0.0)
    cb[change], vb[change] = codes[change], vals[change]
    nb = -(-L // k)
    out.scales = np.where(change, se + 127, out.scales.reshape(-1)).reshape(n, nb)
    out.codes = cb.reshape(n, nb * k)[:, :L]
    out.values = vb.reshape(n, nb * k)[:, :L]
    return out


class TiesAway(MxrefAdapter):
    def run(self, t, x):
        return reference_output(replace(t, profile=replace(t.profile, rounding="ties_away")), x)


class Log2SharedExponent(MxrefAdapter):
    """floor(log2(amax)) taken with np.log2 in float32."""

    def run(self, t, x):
        if t.operation != "quantize":
            return reference_output(t, x)
        emax = mxref.mx_format(t.format).element.emax

        def se(xb, ref_se):
            with np.errstate(invalid="ignore"):
                a = np.max(np.where(np.isnan(xb), 0, np.abs(xb)), axis=1).astype(np.float32)
            ok = np.isfinite(a) & (a > 0)
            lg = np.floor(np.log2(np.where(ok, a, np.float32(1)))).astype(np.int64)
            return np.where(ok, np.clip(lg - emax, -127, 127), ref_se)

        return _fault_blocks(t, x, se)


class SwappedNibbles(MxrefAdapter):
    """FP4 codes read with the nibbles of each byte swapped (elements 2i and 2i+1 exchanged)."""

    def run(self, t, x):
        out = reference_output(t, x)
        if t.operation == "quantize":
            c = out.codes.copy()
            e = c.shape[1] // 2 * 2
            c[:, 0:e:2], c[:, 1:e:2] = out.codes[:, 1:e:2], out.codes[:, 0:e:2]
            out.codes = c
        return out


class NanToZero(MxrefAdapter):
    def run(self, t, x):
        return reference_output(t, np.where(np.isnan(x), x.dtype.type(0), x))


class ScaleClampAt126(MxrefAdapter):
    """The shared exponent clamps at -126 instead of -127 (an FP32_MIN_NORMAL scale)."""

    def run(self, t, x):
        if t.operation != "quantize":
            return reference_output(t, x)
        return _fault_blocks(t, x, lambda xb, ref_se: np.where(
            (np.abs(xb) > 0).any(1) & (ref_se <= -126), np.maximum(ref_se, -126), ref_se))


@pytest.mark.parametrize("adapter, formats, operations, max_nonzero", [
    (TiesAway(), "mxfp4_e2m1,fp4_e2m1", ["quantize", "encode"], 2),
    (TiesAway(), "mxint8,int8", ["quantize", "encode"], 2),
    (Log2SharedExponent(), "mxfp8_e4m3,mxint8", ["quantize"], 1),
    (SwappedNibbles(), "mxfp4_e2m1", ["quantize"], 1),
    (NanToZero(), "mxfp8_e5m2,mxfp6_e2m3", ["quantize", "encode"], 1),
    (ScaleClampAt126(), "mxfp6_e3m2,mxfp8_e4m3", ["quantize"], 1),
])
def test_fault_injection(adapter, formats, operations, max_nonzero):
    rep = check(adapter, formats=formats, operations=operations, errors=30)
    _assert_well_formed(rep)
    for r in rep.results:
        if isinstance(adapter, NanToZero) and r.target.format == "fp6_e2m3":
            # NaN into FP6 may be anything (IMPL_DEFINED:nan_into_finite): the fault is invisible
            assert r.counts[C.MISMATCH] == 0
            continue
        assert r.counts[C.MISMATCH] > 0, (type(adapter).__name__, r.target)
        assert r.mismatch_lines
    assert rep.exit_status == 1
    for line in rep.mismatch_lines():
        assert line.cls == "MISMATCH"
        if line.data["operation"] == "quantize":
            assert _shrunk_count(line) <= max_nonzero, line.text
            if "shrunk from" in line.text:
                n0 = int(re.search(r"shrunk from (\d+)", line.text).group(1))
                assert n0 > _shrunk_count(line)
    # one shrunk example at least went from many non-zero elements to a few
    assert any("shrunk from" in ln.text for ln in rep.mismatch_lines() if ln.data["operation"] == "quantize")


def test_fault_examples_are_the_faults():
    """The shrunk examples show what each fault does."""
    rep = check(Log2SharedExponent(), formats="mxfp8_e4m3", operations="quantize", errors=50)
    lines = rep.mismatch_lines()
    for ln in lines:  # amax 2^k(1 - 2^-24): float32 log2 gives k, the scale is one too large
        x = _block_input(ln)
        amax = np.max(np.abs(x))
        assert int(amax.view(np.uint32)) & 0x7FFFFF == 0x7FFFFF
        assert ln.data["got"]["scale"] == ln.data["expected"]["scale"] + 1
    rep = check(NanToZero(), formats="mxfp8_e5m2", operations="quantize", errors=5)
    for ln in rep.mismatch_lines():
        x = _block_input(ln)
        assert np.isnan(x).sum() == 1 and (x[~np.isnan(x)] == 0).all()  # shrunk to the NaN alone
        assert ln.data["expected"]["scale"] == 0xFF != ln.data["got"]["scale"]
    rep = check(ScaleClampAt126(), formats="mxfp8_e4m3", operations="quantize", errors=5)
    for ln in rep.mismatch_lines():
        assert (ln.data["got"]["scale"], ln.data["expected"]["scale"]) == (1, 0)


# ----- classification -----------------------------------------------------------------------------


class Edited(MxrefAdapter):
    """mxref's output, edited by ``fn(target, x, out)``."""

    def __init__(self, fn):
        self.fn = fn

    def run(self, t, x):
        out = reference_output(t, x)
        return self.fn(t, x, out) or out


def _ids(rep):
    return rep.impl_id_counts()


def _q(fn, fmt="mxfp8_e4m3", **kw):
    return check(Edited(fn), formats=fmt, operations="quantize", **kw)


def test_impl_signed_zero_and_zero_block_scale():
    def edit(t, x, out):
        out.codes = np.where(out.codes == 0x80, 0x00, out.codes)  # -0 -> +0
        out.values = np.where(out.values == 0, 0.0, out.values)
        zero = (to_blocks(x, 32, x.dtype.type(0)) == 0).all(1).reshape(out.scales.shape)
        out.scales = np.where(zero, 0x42, out.scales)
    rep = _q(edit)
    _assert_well_formed(rep)
    assert rep.totals()[C.MISMATCH] == 0
    assert _ids(rep).keys() == {"signed_zero", "zero_block_scale"}
    strict = _q(edit, strict=True)
    assert strict.totals()[C.MISMATCH] == rep.totals()[C.IMPL] and strict.totals()[C.IMPL] == 0
    assert strict.exit_status == 1
    assert all("[strict: " in ln.text for ln in strict.mismatch_lines())


def test_a_nonzero_value_for_a_zero_block_is_a_mismatch():
    def edit(t, x, out):
        zero = (to_blocks(x, 32, x.dtype.type(0)) == 0).all(1)
        v = to_blocks(out.values, 32, 0.0)
        v[zero, 3] = 1.0
        out.values = v.reshape(out.values.shape[0], -1)[:, : out.values.shape[1]]
    rep = _q(edit)
    assert rep.totals()[C.MISMATCH] > 0
    assert all((np.asarray(_block_input(ln)) == 0).all() for ln in rep.mismatch_lines())


def test_impl_nan_scale_elements_and_nan_block():
    def elements_under_nan_scale(t, x, out):
        nanb = np.repeat(out.scales == 0xFF, 32, axis=1)[:, : out.codes.shape[1]]
        out.codes = np.where(nanb, 0x7F, out.codes)
    rep = _q(elements_under_nan_scale)
    assert rep.totals()[C.MISMATCH] == 0 and set(_ids(rep)) == {"nan_scale_elements"}

    def nan_kept(lose):
        def edit(t, x, out):
            # a block holding NaN (no Inf) converted with the scale of its other values; the NaN
            # element stays NaN (E4M3 0x7F), or is lost into a zero
            xb = to_blocks(x, 32, x.dtype.type(0))
            nan_only = (np.isnan(xb).any(1) & ~np.isinf(xb).any(1)).reshape(out.scales.shape)
            ref = reference_output(t, np.where(np.isnan(x), x.dtype.type(0), x))
            sel = np.repeat(nan_only, 32, axis=1)[:, : x.shape[1]]
            out.scales = np.where(nan_only, ref.scales, out.scales)
            out.codes = np.where(sel, np.where(np.isnan(x) & (not lose), 0x7F, ref.codes), out.codes)
            out.values = np.where(sel, np.where(np.isnan(x) & (not lose), np.nan, ref.values), out.values)
        return edit
    rep = _q(nan_kept(False))
    assert rep.totals()[C.MISMATCH] == 0 and set(_ids(rep)) == {"nan_block"}
    lost = _q(nan_kept(True))
    assert lost.totals()[C.MISMATCH] > 0 and "nan_block" not in _ids(lost)


def test_impl_inf_block():
    def edit(t, x, out):
        ref = reference_output(replace(t, profile=replace(t.profile, options=(("inf_policy", "finite_scale"),))), x)
        return ref
    rep = _q(edit)
    assert rep.totals()[C.MISMATCH] == 0 and set(_ids(rep)) == {"inf_block"}


def test_impl_int8_minus128():
    def edit(t, x, out):
        return reference_output(replace(t, profile=replace(t.profile, int8_allow_minus128=True)), x)
    rep = check(Edited(edit), formats="mxint8,int8", operations=["quantize", "encode"])
    assert rep.totals()[C.MISMATCH] == 0
    assert set(_ids(rep)) == {"int8_minus128"}
    for ln in rep.impl_lines():
        assert "0x80(-2.0)" in ln.text


def test_impl_fp32_subnormal_flush_only_when_consistent():
    flush = Edited(lambda t, x, out: reference_output(
        replace(t, profile=replace(t.profile, options=(("flush_subnormals", True),))), x))
    rep = check(flush, formats="mxfp6_e2m3", operations="quantize")
    assert rep.totals()[C.MISMATCH] == 0 and set(_ids(rep)) == {"fp32_subnormal_flush"}

    class Sometimes(MxrefAdapter):  # flushes only rows of even index: not a consistent choice
        def run(self, t, x):
            a = flush.run(t, x)
            b = reference_output(replace(t, profile=replace(t.profile, scale_rule="ceil")), x)
            odd = (np.arange(len(x)) % 2 == 1)[:, None]
            sub = ((np.abs(x) < 2.0**-126) & (x != 0)).any(1, keepdims=True)
            return Output(np.where(odd & sub, b.scales, a.scales), np.where(odd & sub, b.codes, a.codes),
                          np.where(odd & sub, b.values, a.values))
    rep = check(Sometimes(), formats="mxfp6_e2m3", operations="quantize")
    assert rep.totals()[C.MISMATCH] > 0 and "fp32_subnormal_flush" not in _ids(rep)
    assert any("does not flush consistently" in n for r in rep.results for n in r.notes)


def test_impl_value_beyond_fp32():
    """CEIL of amax = 1.9375 * 2^127 in E4M3: 248 ties to 256, the value is 2^128."""
    x = np.zeros((1, 32), np.float32)
    x[0, 0] = np.float32(1.9375 * 2.0**127)
    mx = mxref.quantize(x, "mxfp8_e4m3", scale_rule="ceil")
    assert mx.scales[0, 0] == 127 + 120 and mx.elements[0, 0] == 0x78  # 256 * 2^120 = 2^128
    with np.errstate(over="ignore"):
        v32 = mx.dequantize(np.float32)
    assert np.isinf(v32[0, 0]) and mx.dequantize(np.float64)[0, 0] == 2.0**128
    t = Target("quantize", "mxfp8_e4m3", C.Profile("ceil-rne", scale_rule="ceil"))
    exp = reference_output(t, x)
    got = Output(exp.scales, exp.codes, v32.astype(np.float64))
    B = classify_blocks(t, x, exp, got, {})
    assert B.cls[0] == C.IMPL and B.ids[0] == ID_BIT["value_beyond_fp32"]
    got.values[0, 0] = 1.0
    assert classify_blocks(t, x, exp, got, {}).cls[0] == C.MISMATCH


def test_encode_classes():
    el = mxref.element_format("fp8_e5m2")
    x = np.array([np.nan, -0.0, 1e-30, 1.0, 70000.0, -np.nan], np.float32)
    t = Target("encode", "fp8_e5m2", C.Profile("p"))
    exp = reference_output(t, x)
    got = exp.codes.copy()
    got[0] = 0x7F          # another NaN payload
    got[1] = 0x00          # +0 for -0
    got[3] = 0x3D          # 1.25 for 1.0
    got[5] = 300           # not a code
    cls, ids = classify_values(t, x, exp, Output(codes=got), {})
    assert cls.tolist() == [C.IMPL, C.IMPL, C.PASS, C.MISMATCH, C.PASS, C.MISMATCH]
    assert ids[0] == ID_BIT["nan_payload"] and ids[1] == ID_BIT["signed_zero"]
    assert el.has_nan
    # NaN into FP4: open unless the profile claims a policy
    t4 = Target("encode", "fp4_e2m1", C.Profile("p"))
    x4 = np.array([np.nan, 1.0], np.float32)
    g4 = Output(codes=np.array([0x7, 0x2]))
    cls, ids = classify_values(t4, x4, reference_output(t4, x4), g4, {})
    assert cls.tolist() == [C.IMPL, C.PASS] and ids[0] == ID_BIT["nan_into_finite"]
    t4z = Target("encode", "fp4_e2m1", C.Profile("p", nan="zero"))
    cls, _ = classify_values(t4z, x4, reference_output(t4z, x4), g4, {})
    assert cls.tolist() == [C.MISMATCH, C.PASS]
    # E8M0 of zero / negatives: open; of a positive value: compared
    te = Target("encode_e8m0", "e8m0", C.Profile("p"))
    xe = np.array([0.0, -1.0, 1.0, 2.0**-130], np.float32)
    cls, ids = classify_values(te, xe, reference_output(te, xe), Output(codes=np.array([5, 5, 127, 1])), {})
    assert cls.tolist() == [C.IMPL, C.IMPL, C.PASS, C.MISMATCH]


def test_errors_unsupported_and_bad_output():
    class Raises(MxrefAdapter):
        def run(self, t, x):
            if t.operation == "quantize" and (np.abs(x) > 1e30).any():
                raise ValueError("too big for me")
            if t.operation == "encode" and np.isnan(x).any():
                raise FloatingPointError("no NaN please")
            return reference_output(t, x)

        def unsupported(self, t, x):
            return "no ragged rows here" if t.operation == "quantize" and x.shape[1] % 32 else None

    rep = check(Raises(), formats="mxfp4_e2m1,fp4_e2m1,fp8_e4m3", operations=["quantize", "encode"], errors=5)
    _assert_well_formed(rep)
    q = next(r for r in rep.results if r.target.operation == "quantize")
    assert q.counts[C.ERROR] > 0 and q.counts[C.UNSUPPORTED] > 0 and q.counts[C.MISMATCH] == 0
    assert all("raised ValueError: too big for me" in ln.text for ln in q.error_lines)
    assert "no ragged rows here" in q.notes
    e4 = next(r for r in rep.results if r.target.format == "fp4_e2m1")  # NaN into FP4 may raise
    assert e4.counts[C.ERROR] == 0 and e4.impl_ids.get("nan_into_finite", 0) > 0
    e8 = next(r for r in rep.results if r.target.format == "fp8_e4m3")  # FP8 has NaN: an ERROR
    assert e8.counts[C.ERROR] > 0 and rep.exit_status == 1
    assert any("raised FloatingPointError: no NaN please" in ln.text for ln in e8.error_lines)

    class BadShape(MxrefAdapter):
        def run(self, t, x):
            out = reference_output(t, x)
            out.codes = out.codes[:, :-1] if out.codes.ndim == 2 else out.codes[:-1]
            return out
    rep = check(BadShape(), formats="mxfp4_e2m1", operations="quantize", errors=3)
    assert rep.totals()[C.ERROR] == sum(r.cases for r in rep.results) > 0
    assert "bad output: codes has shape" in rep.error_lines()[0].text


# ----- the dump adapter ---------------------------------------------------------------------------


def _dump_inputs():
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((3, 5, 70)) * 2.0 ** rng.integers(-135, 120, (3, 5, 1))).astype(np.float32)
    x[0, 0, 3] = np.nan
    x[0, 1, :] = 0
    x[0, 2, :] = -0.0
    x[1, 2, 40] = -np.inf
    x[2, 3, 10] = 2.0**-140
    return x


def test_dump_round_trip_passes(tmp_path):
    x = _dump_inputs()
    outs = [("mxfp8_e4m3", "floor", "rne"), ("mxfp4_e2m1", "rceil", "ties_away"), ("mxint8", "even", "rne"),
            ("mxfp6_e2m3", "round_down", "toward_zero")]
    for axis, packing, comps in [(-1, "none", ("scales", "elements", "values")), (1, "fp4_low_first", ("elements",)),
                                 (0, "fp4_high_first", ("scales", "values"))]:
        d = write_dump(tmp_path / f"d{axis}", x, outs, axis=axis, packing=packing, components=comps, library="mine")
        rep = check("dump", dump=d)
        _assert_well_formed(rep)
        assert rep.totals()[C.MISMATCH] == rep.totals()[C.ERROR] == rep.totals()[C.IMPL] == 0
        assert rep.rows()[0]["library"] == "mine (dump)"
        assert {r["profile"] for r in rep.rows()} == {"floor-rne", "rceil-ties_away", "even-rne", "round_down-toward_zero"}
    # float64 inputs and another block size
    d = write_dump(tmp_path / "f64", x.astype(np.float64) * 3, [("mxfp6_e3m2", "ceil", "rne")], block_size=16)
    rep = check("dump", dump=d)
    assert rep.totals()[C.MISMATCH] == rep.totals()[C.IMPL] == 0
    assert rep.rows()[0]["modes"] == "rule=ceil rounding=rne block=16 from=float64"
    assert rep.rows()[0]["cases"] == 3 * 5 * 5  # 70 = 4 blocks of 16 and a short one, per row


def test_dump_options_are_the_claim(tmp_path):
    x = _dump_inputs()
    d = write_dump(tmp_path / "o", x, [("mxint8", "floor", "rne")])
    s = np.load(d / "mxint8_floor_rne.scales.npy")
    zero = (to_blocks(x.reshape(-1, 70), 32, np.float32(0)) == 0).all(1).reshape(s.shape)
    assert zero.any()
    np.save(d / "mxint8_floor_rne.scales.npy", np.where(zero, np.uint8(1), s))  # microxcaling's zero blocks
    assert set(check("dump", dump=d).impl_id_counts()) == {"zero_block_scale"}
    meta = json.loads((d / "dump.json").read_text())
    meta["outputs"][0]["options"] = {"zero_scale": 1}
    (d / "dump.json").write_text(json.dumps(meta))
    rep = check("dump", dump=d)
    assert rep.totals()[C.PASS] == sum(rep.totals()) and rep.rows()[0]["profile"] == "floor-rne+zero_scale=1"
    assert "zero_scale=1" in rep.rows()[0]["modes"]


def test_dump_flipped_nibbles_and_edited_values_mismatch(tmp_path):
    x = _dump_inputs()
    d = write_dump(tmp_path / "n", x, [("mxfp4_e2m1", "floor", "rne")], packing="fp4_high_first")
    meta = json.loads((d / "dump.json").read_text())
    meta["outputs"][0]["packing"] = "fp4_low_first"  # the reader's convention is not the writer's
    (d / "dump.json").write_text(json.dumps(meta))
    rep = check("dump", dump=d)
    _assert_well_formed(rep)
    assert rep.totals()[C.MISMATCH] > 0 and rep.exit_status == 1
    for ln in rep.mismatch_lines():
        assert "(recorded output: not shrunk)" in ln.text
    # values: one changed by one ulp
    d2 = write_dump(tmp_path / "v", x, [("mxfp8_e5m2", "floor", "rne")], components=("values",))
    v = np.load(d2 / "mxfp8_e5m2_floor_rne.values.npy")
    v[1, 1, 7] = np.nextafter(v[1, 1, 7], np.float32(np.inf))
    np.save(d2 / "mxfp8_e5m2_floor_rne.values.npy", v)
    rep = check("dump", dump=d2, errors=5)
    assert rep.totals()[C.MISMATCH] == 1
    ln = rep.mismatch_lines()[0]
    assert ln.data["row"] == 1 * 5 + 1 and ln.data["block"] == 0 and ln.data["differing_elements"] == [7]


@pytest.mark.parametrize("corrupt, message", [
    (lambda d: (d / "mxfp8_e4m3_floor_rne.scales.npy").write_bytes(b"garbage"), "is not a readable .npy"),
    (lambda d: (d / "mxfp8_e4m3_floor_rne.elements.npy").unlink(), "does not exist"),
    (lambda d: np.save(d / "mxfp8_e4m3_floor_rne.values.npy", np.zeros((2, 2), np.float32)), "must be float32 of shape"),
    (lambda d: np.save(d / "mxfp8_e4m3_floor_rne.scales.npy", np.zeros((3, 5, 3), np.int32)), "must be uint8 of shape"),
    (lambda d: (d / "dump.json").write_text("{not json"), "not valid JSON"),
    (lambda d: (d / "dump.json").write_text(json.dumps({"inputs": "inputs.npy", "outputs": [{"format": "mxfp9"}]})),
     "unknown MX format"),
    (lambda d: (d / "dump.json").write_text(json.dumps({"inputs": "inputs.npy", "outputs": [
        {"format": "mxfp4_e2m1", "rounding": "sideways", "values": "v.npy"}]})), "rounding must be one of"),
    (lambda d: (d / "dump.json").write_text(json.dumps({"inputs": "inputs.npy", "outputs": [{"format": "mxfp4_e2m1"}]})),
     "gives none of scales, elements, values"),
    (lambda d: np.save(d / "inputs.npy", np.zeros((3, 5, 70), np.int32)), "inputs must be float16, float32 or float64"),
    (lambda d: (d / "dump.json").write_text(json.dumps({"inputs": "inputs.npy", "outputs": [
        {"format": "mxfp4_e2m1", "values": "v.npy", "options": {"colour": 1}}]})), "unknown option 'colour'"),
    (lambda d: (d / "dump.json").write_text(json.dumps({"inputs": "inputs.npy", "outputs": [
        {"format": "mxfp4_e2m1", "values": "v.npy", "options": {"zero_scale": 300}}]})), "zero_scale must be in 0..254"),
])
def test_dump_corrupted_is_a_clear_error(tmp_path, corrupt, message, capsys):
    d = write_dump(tmp_path / "c", _dump_inputs(), [("mxfp8_e4m3", "floor", "rne")])
    corrupt(d)
    with pytest.raises(ValueError, match=re.escape(message)) as exc:
        check("dump", dump=d)
    assert str(d) in str(exc.value)
    assert C.main(["--library", "dump", "--dump", str(d)]) == 2
    assert message in capsys.readouterr().err


# ----- command line -------------------------------------------------------------------------------


def test_cli_json_and_exit_status(tmp_path, capsys):
    js = tmp_path / "r.json"
    assert C.main(["--library", "mxref", "--format", "mxfp4_e2m1,fp4_e2m1", "--json", str(js)]) == 0
    out = capsys.readouterr()
    assert "PASS: 0 mismatch, 0 error" in out.out and "conformance: mxref" in out.err
    data = json.loads(js.read_text())
    assert data["exit_status"] == 0 and {r["format"] for r in data["summary"]} == {"mxfp4_e2m1", "fp4_e2m1"}
    # a dump with a difference: exit 1; --errors caps the lines; --strict
    d = write_dump(tmp_path / "d", _dump_inputs(), [("mxfp8_e4m3", "floor", "rne")])
    v = np.load(d / "mxfp8_e4m3_floor_rne.values.npy")
    v[..., 5] = -v[..., 5]
    np.save(d / "mxfp8_e4m3_floor_rne.values.npy", v)
    assert C.main(["--library", "dump", "--dump", str(d), "--errors", "2", "--json", str(js)]) == 1
    text = capsys.readouterr().out
    data = json.loads(js.read_text())
    assert len(data["mismatch_lines"]) == 2 and data["mismatch_total"] > 2
    assert [ln for ln in text.splitlines() if ln.startswith("MISMATCH ")] == [d_["text"] for d_ in data["mismatch_lines"]]
    assert "Differences classified MISMATCH (2 shown of" in text
    assert C.main(["--library", "nope"]) == 2
    assert C.main(["--library", "mxref", "--profile", "sideways"]) == 2
    assert C.main(["--library", "microxcaling", "--microxcaling-dir", str(tmp_path / "none")]) == 3
    capsys.readouterr()
    assert C.main(["--list"]) == 0
    assert "mxref 0.1.0: profiles floor-rne" in capsys.readouterr().out


def test_cli_strict(tmp_path, capsys):
    d = write_dump(tmp_path / "d", _dump_inputs(), [("mxfp8_e4m3", "floor", "rne")], components=("values",))
    v = np.load(d / "mxfp8_e4m3_floor_rne.values.npy")
    np.save(d / "mxfp8_e4m3_floor_rne.values.npy", np.where(v == 0, np.float32(0), v))  # -0 -> +0
    assert C.main(["--library", "dump", "--dump", str(d)]) == 0
    assert "IMPL_DEFINED:signed_zero" in capsys.readouterr().out
    assert C.main(["--library", "dump", "--dump", str(d), "--strict"]) == 1
    assert "[strict: signed_zero]" in capsys.readouterr().out


def test_tools_wrapper_runs():
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "conformance.py"), "--library", "mxref",
                        "--format", "mxint8", "--operation", "quantize"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "PASS: 0 mismatch" in r.stdout


def test_table_without_tabulate(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_tabulate(name, *a, **k):
        if name == "tabulate":
            raise ImportError("no tabulate")
        return real(name, *a, **k)

    rep = check("mxref", formats="mxfp4_e2m1", operations="quantize")
    with_tab = rep.text()
    monkeypatch.setattr(builtins, "__import__", no_tabulate)
    plain = rep.text()
    assert plain != with_tab
    row = rep.rows()[0]
    assert re.search(r"mxref\s+0\.1\.0\s+quantize\s+mxfp4_e2m1\s+floor-rne\s+.*\s" + str(row["cases"]) + r"\s", plain)


def test_bad_arguments():
    with pytest.raises(ValueError, match="level must be 1 or 2"):
        check("mxref", level=3)
    with pytest.raises(ValueError, match="unknown library"):
        check("nope")
    with pytest.raises(ValueError, match="has no profile 'x'"):
        check("mxref", profile="x")
    with pytest.raises(ValueError, match="unknown format"):
        check("mxref", formats="fp7")
    with pytest.raises(ValueError, match="unknown operation"):
        check("mxref", operations="dot")
    with pytest.raises(ValueError, match="needs --dump DIR"):
        check("dump")
    with pytest.raises(ValueError, match="not a report line"):
        parse_line("hello")
