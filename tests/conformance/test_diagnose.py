"""Diagnosis (mxref.conformance.diagnose): fault injection -- outputs made by mxref under one
catalogue model (or two) are diagnosed as exactly that model -- and the report's text and JSON."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from mxref import models as M
from mxref.conformance import check
from mxref.conformance.adapters.base import Adapter
from mxref.conformance.model import Output, Profile, Target

FORMATS = ("mxfp8_e4m3", "mxfp4_e2m1")
DTYPES = ("float32", "float64")


class Injected(Adapter):
    """mxref under a claimed profile, but computing with ``models`` (in process)."""

    name = "injected"

    def __init__(self, models, rule="floor", rounding="rne", formats=FORMATS, dtypes=DTYPES):
        self.models, self.rule, self.rounding = tuple(models), rule, rounding
        self.formats, self.dtypes = formats, dtypes
        self.default_profiles = (f"{rule}-{rounding}",)

    def version(self):
        return "+".join(self.models) or "spec"

    def profiles(self):
        n = f"{self.rule}-{self.rounding}"
        return {n: Profile(n, scale_rule=self.rule, rounding=self.rounding)}

    def targets(self, profile, level):
        return [Target("quantize", f, profile, dtype=d) for d in self.dtypes for f in self.formats]

    def run(self, target, x):
        mx = M.quantize_model(x, target.format, axis=-1, block_size=32, scale_rule=self.rule,
                              rounding=self.rounding, models=self.models)
        return Output(mx.scales.astype(np.int64), mx.elements.astype(np.int64), mx.dequantize(np.float64))


def claimed(models):
    """(rule, rounding) a library using ``models`` would claim: the ones the models are variants of."""
    rule, rnd = "floor", "rne"
    for m in models:
        mm = M.MODELS[m.split("=")[0]]
        if mm.rules and rule not in mm.rules:
            rule = mm.rules[0]
        if mm.roundings and rnd not in mm.roundings:
            rnd = mm.roundings[0]
    return rule, rnd


#: the value each parameterised model is injected with


def _quantize_models():
    out = []
    for mid, m in M.MODELS.items():
        if m.kind not in ("scale", "element", "input") or "stochastic" in (m.roundings or ()):
            continue
        if m.params:  # a code offset -2; a mantissa width 8 (Quark's MXINT8 rounding)
            out.append(f"{mid}=-2" if m.param_range[0] < 0 else f"{mid}=8")
        else:
            out.append(mid)
    return out


def formats_of(models) -> tuple:
    """The injected formats: FORMATS, or those a format-restricted model applies to."""
    for m in models:
        fm = M.MODELS[m.split("=")[0]].formats
        if fm:
            return fm
    return FORMATS


SINGLE = _quantize_models()
#: models that change no output of the level-1 cases of FORMATS x DTYPES (nothing to diagnose)
NO_EFFECT_AT_LEVEL_1: set = set()


#: model -> candidates found as good on its level-1 cases (filled by the single-model test)
TIES: dict = {}


def diagnoses(rep):
    return [r.diagnosis for r in rep.results if r.diagnosis is not None and r.diagnosis.mismatch]


@pytest.mark.parametrize("model", SINGLE)
def test_fault_injection_single_model(model):
    rule, rnd = claimed([model])
    rep = check(Injected([model], rule, rnd, formats=formats_of([model])), errors=1)
    ds = diagnoses(rep)
    if model in NO_EFFECT_AT_LEVEL_1:
        assert not ds, f"{model} now changes outputs: take it off NO_EFFECT_AT_LEVEL_1"
        return
    assert ds, f"{model}: no MISMATCH on the level-1 cases"
    for r, d in [(r, r.diagnosis) for r in rep.results if r.diagnosis is not None and r.diagnosis.mismatch]:
        assert d.explained == d.mismatch, d.text()
        if (model,) not in [d.best.changes] + [c.changes for c in d.equally]:
            # a parameter the cases cannot pin down (scale_even_mbits=8 and =7 where no amax has
            # eight leading fraction ones): the best must give the model's output on every case
            assert M.MODELS[model.split("=")[0]].params, d.text()
            assert_indistinguishable(r, d, (model,), rule, rnd)
        assert not d.extras, d.text()
        TIES.setdefault(model, set()).update(c.changes for c in [d.best] + d.equally if c.changes != (model,))


def _pairs():
    eff = [m for m in SINGLE if m not in NO_EFFECT_AT_LEVEL_1 and "mxfp4_e2m1" in formats_of([m])]
    out = []
    for a, b in itertools.combinations(eff, 2):
        rule, rnd = claimed([a, b])
        if M.compatible([a, b], scale_rule=rule, rounding=rnd):
            out.append((a, b))
    return out


PAIRS = _pairs()


@pytest.mark.parametrize("pair", PAIRS, ids=["+".join(p) for p in PAIRS])
def test_fault_injection_pairs(pair):
    """Two models at once: every mismatching block is reproduced, by the pair itself -- or by a
    candidate that gives the same output as the pair on every case of the run (the cases do not
    tell them apart; reported by the assertion message when it fails)."""
    rule, rnd = claimed(pair)
    adapter = Injected(pair, rule, rnd, formats=("mxfp4_e2m1",), dtypes=("float64",))
    rep = check(adapter, errors=1)
    for r, d in [(r, r.diagnosis) for r in rep.results if r.diagnosis is not None and r.diagnosis.mismatch]:
        assert d.explained == d.mismatch, d.text()
        if set(d.best.changes) == set(pair):
            continue
        # the best is a different candidate: it must be indistinguishable from the pair here
        assert_indistinguishable(r, d, pair, rule, rnd)


def assert_indistinguishable(r, d, models, rule, rnd):
    """The diagnosis' best gives the same output as ``models`` on every case of the run."""
    from mxref.conformance.casegen import cases

    for x in cases(r.target, 1, 0):
        a = M.quantize_model(x, r.target.format, block_size=32, scale_rule=rule, rounding=rnd, models=models)
        b = M.quantize_model(x, r.target.format, block_size=32, scale_rule=d.best.scale_rule,
                             rounding=d.best.rounding, models=d.best.models)
        assert (a.scales == b.scales).all() and (a.elements == b.elements).all(), \
            f"{models} diagnosed as {d.best.changes}, which differs from it on some case: {d.text()}"


def test_no_diagnosis_and_json(tmp_path):
    rep = check(Injected(["scale_log2_f32"]), errors=3, formats="mxfp8_e4m3")
    js = json.loads(json.dumps(rep.to_json()))
    d = js["summary"][0]["diagnosis"]
    assert d["mismatch_blocks"] == d["explained"] > 0 and d["best"] == ["scale_log2_f32"]
    assert d["per_model"] == {"scale_log2_f32": d["mismatch_blocks"]} and d["unexplained"] == []
    assert "reproduced by floor + scale_log2_f32" in rep.text()
    off = check(Injected(["scale_log2_f32"]), errors=3, formats="mxfp8_e4m3", diagnosis=False)
    assert "diagnosis" not in off.to_json()["summary"][0] and "Diagnosis" not in off.text()
    # everything but the diagnosis is the same
    t_on = rep.text().splitlines()
    i = t_on.index(next(ln for ln in t_on if ln.startswith("Diagnosis (")))
    j = t_on.index("", i)
    assert t_on[:i - 1] + t_on[j:] == off.text().splitlines()


def test_unexplained_examples():
    class Garbage(Injected):
        def run(self, target, x):
            o = super().run(target, x)
            o.codes = o.codes ^ 1  # nothing in the catalogue flips the lowest code bit
            return o

    rep = check(Garbage([]), errors=0, formats="mxfp8_e4m3", operations="quantize")
    d = rep.results[0].diagnosis
    assert d.mismatch and d.explained < d.mismatch
    assert 0 < len(d.unexplained_lines) <= 10
    js = rep.to_json()["summary"][0]["diagnosis"]
    assert len(js["unexplained"]) == len(d.unexplained_lines) and "unexplained" in rep.text()


def test_dump_adapter_is_diagnosed(tmp_path):
    """A dump written by any implementation: here mxref's, its scales offset by -2 (compressed-
    tensors' old bias 125)."""
    from mxref.conformance import write_dump

    x = np.random.default_rng(3).standard_normal((40, 64)).astype(np.float32) * 4
    d = write_dump(tmp_path, x, [("mxfp4_e2m1", "floor", "rne")])
    meta = json.loads((d / "dump.json").read_text())
    s = np.load(d / meta["outputs"][0]["scales"])
    np.save(d / meta["outputs"][0]["scales"], (s.astype(int) - 2).astype(np.uint8))
    rep = check("dump", dump=d, errors=1)
    dg = rep.results[0].diagnosis
    assert dg.mismatch == 80 and dg.explained == 80 and dg.best.changes == ("scale_code_offset=-2",)


class WrongRounding(Injected):
    """Claims floor-rne, rounds the elements another way."""

    def __init__(self, rounding):
        super().__init__((), "floor", rounding)
        self.default_profiles = ("floor-rne",)

    def profiles(self):
        return {"floor-rne": Profile("floor-rne")}


@pytest.mark.parametrize("rounding", ["ties_away", "toward_zero", "ties_toward_zero", "up", "down"])
def test_fault_injection_rounding(rounding):
    rep = check(WrongRounding(rounding), errors=1)
    ds = diagnoses(rep)
    assert ds
    for d in ds:
        assert d.explained == d.mismatch and d.best.changes == (f"rounding={rounding}",), d.text()


# ----- casts: the E8M0 and FP8 cast models (ONNX, onnxruntime) -----------------------------------


class CastInjected(Adapter):
    """mxref's casts under a claimed profile (no models), computing with ``models``: FP8 casts
    (both overflow modes, from float32 and float64) and E8M0 casts (both overflow modes)."""

    name = "injected_cast"

    def __init__(self, models, e8m0_rounding="ceil"):
        self.models, self.e8m0_rounding = tuple(models), e8m0_rounding
        self.default_profiles = ("cast",)

    def version(self):
        return "+".join(self.models)

    def profiles(self):
        return {"cast": Profile("cast", fp8_overflow="nonsaturating", e8m0_rounding=self.e8m0_rounding)}

    def targets(self, profile, level):
        from dataclasses import replace

        out = [Target("encode", f, profile, dtype=d, overflow=o) for d in DTYPES for f in ("fp8_e4m3", "fp8_e5m2")
               for o in ("saturate", "nonsaturating")]
        return out + [Target("encode_e8m0", "e8m0", replace(profile, e8m0_overflow=o))
                      for o in ("saturate", "nonsaturating")]

    def _of(self, kinds):
        return [m for m in self.models if M.MODELS[m].kind in kinds]

    def run(self, target, x):
        if target.operation == "encode":
            c = M.encode_model(x, target.format, overflow=target.overflow, models=self._of(("input", "cast")))
        else:
            xs = np.where(np.isnan(x) | (x > 0), x, 1.0)
            c = M.encode_e8m0_model(xs, rounding=target.profile.e8m0_rounding, overflow=target.profile.e8m0_overflow,
                                    models=self._of(("input", "e8m0")))
        return Output(codes=np.asarray(c, np.int64))


CAST_CASES = [
    (("e8m0_subnormal_field_up",), "ceil"),
    (("e8m0_inf_to_nan",), "floor"),
    (("e8m0_nonsat_below_min_nan",), "floor"),
    (("e8m0_nonsat_above_max_nan",), "floor"),
    (("e8m0_subnormal_to_min_normal",), "ties_up"),
    (("fp8_e4m3_nonsat_480_to_max",), "ceil"),
    (("fp8_e5m2_nonsat_round_overflow_nan",), "ceil"),
    # onnxruntime 1.32.0 and onnx 1.22.0 "up" as a whole
    (("input_double_round_f32", "fp8_e4m3_nonsat_480_to_max", "fp8_e5m2_nonsat_round_overflow_nan",
      "e8m0_nonsat_below_min_nan", "e8m0_nonsat_above_max_nan"), "ties_up"),
    (("e8m0_subnormal_field_up", "e8m0_inf_to_nan"), "ceil"),
]


@pytest.mark.parametrize("models, e8m0_rounding", CAST_CASES, ids=["+".join(m) for m, _ in CAST_CASES])
def test_fault_injection_cast_models(models, e8m0_rounding):
    """Every mismatching value of every target is reproduced by the injected models of that
    target's kind (those that act on it), and by nothing else."""
    rep = check(CastInjected(models, e8m0_rounding), errors=1)
    ds = [(r.target, r.diagnosis) for r in rep.results if r.diagnosis is not None and r.diagnosis.mismatch]
    assert ds, "no MISMATCH at all"
    for t, d in ds:
        assert d.explained == d.mismatch and not d.extras, d.text()
        kinds = ("input", "cast") if t.operation == "encode" else ("input", "e8m0")
        assert set(d.best.changes) <= {m for m in models if M.MODELS[m].kind in kinds}, d.text()
        assert d.best.changes and d.ref_kept == d.ref_n, d.text()
    seen = {c for _, d in ds for c in d.best.changes}
    assert seen == set(models), seen
class FakeQuantizer(Injected):
    """A fake quantizer as AMD Quark 0.13's (see mxref.conformance.adapters.quark_): float32
    dequantized values (products beyond float32 overflow to +-Inf), the E8M0 scale for the FP
    formats, nothing else for MXINT8; computed by mxref under ``models``."""

    def run(self, target, x):
        mx = M.quantize_model(x, target.format, axis=-1, block_size=32, scale_rule=self.rule,
                              rounding=self.rounding, models=self.models)
        with np.errstate(over="ignore"):
            v = mx.dequantize(np.float64).astype(np.float32).astype(np.float64)
        return Output(None if target.format == "mxint8" else mx.scales.astype(np.int64), None, v)


@pytest.mark.parametrize("fmt, models", [
    ("mxint8", ("scale_even_mbits=8", "scale_int8_quantum_min_normal")),
    ("mxint8", ("scale_int8_quantum_min_normal",)),
    ("mxfp4_e2m1", ("scale_even_inf_clamp",)),
    ("mxfp8_e4m3", ("scale_even_inf_clamp",))])
def test_fake_quantizer_values_diagnosed(fmt, models):
    """Quark's classes injected into value-only outputs (MXINT8: values only) are diagnosed back:
    every mismatching block by exactly the injected models, every passing block kept."""
    rep = check(FakeQuantizer(models, "even", "rne", formats=(fmt,), dtypes=("float32",)), errors=1)
    ds = diagnoses(rep)
    assert ds, f"{models}: no MISMATCH on the level-1 cases"
    for d in ds:
        assert d.explained == d.mismatch and d.ref_kept == d.ref_n, d.text()
        assert set(d.best.changes) == set(models), d.text()
