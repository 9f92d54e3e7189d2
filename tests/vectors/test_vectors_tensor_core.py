"""The tensor-core vector kind (ext/tensor_core/, extension): one set per preset and recorded
operand pair, D = A @ B + C over two instructions; the files equal mxref.matmul(accumulate=
preset, c=C) where the operands are MXArrays, the verifier's check passes and finds a changed
bit, and the checker's spec_vectors layout compares a kernel author's D per element."""

import json
import shutil
from pathlib import Path

import numpy as np

import mxref
from mxref import accumulators as acm
from mxref.conformance import check
from mxref.vectors import kinds
from mxref.vectors.kinds import tensor_core as tc

ROOT = Path(__file__).resolve().parents[2]
SV = ROOT / "spec_vectors"
REF = json.loads((SV / "MANIFEST.json").read_text())
D_FILES = [e for e in REF["files"] if e["path"].endswith(".d.f32.u32")]


def test_registered_and_one_set_per_entry():
    assert ("matmul", "d.f32.u32") in kinds.KINDS
    assert len(D_FILES) == len(tc.SETS) == 13
    assert {e["modes"]["accumulate"] for e in D_FILES} == set(acm.PRESETS)
    assert sum(e["size"] for e in REF["files"] if e["path"].startswith("ext/tensor_core/")) < 20_000


def _arr(p):
    e = next(x for x in REF["files"] if x["path"] == p)
    return np.frombuffer((SV / p).read_bytes(), {"|u1": "u1", "<u4": "<u4"}[e["dtype"]]).reshape(e["shape"])


def test_files_equal_matmul_with_the_preset():
    by = {e["path"]: e for e in REF["files"]}
    for e in D_FILES:
        a, fa, sa, b, fb, sb, sf, c = tc.tensor_core_inputs(e, by, _arr)
        d = _arr(e["path"])
        preset = e["modes"]["accumulate"]
        assert np.array_equal(acm.gemm(a, fa, sa, b, fb, sb, c, preset=preset, scale_fmt=sf).view(np.uint32), d)
        if sf == "e8m0" or sf is None and preset == "hopper_fp8":
            bs = by[e["inputs"][1]]["block_size"] if sf else 32
            A = mxref.MXArray(mxref.MXFormat("t", fa, bs), bs, 1, a.shape,
                              sa if sf else np.full((a.shape[0], a.shape[1] // bs), 127, np.uint8), a)
            B = mxref.MXArray(mxref.MXFormat("t", fb, bs), bs, 0, b.shape,
                              sb if sf else np.full((b.shape[0] // bs, b.shape[1]), 127, np.uint8), b)
            got = mxref.matmul(A, B, accumulate=preset, c=c)
            assert np.array_equal(got.view(np.uint32), d), e["path"]
        assert (d != 0).sum() > d.size // 2  # not a set of zeros


def test_verifier_check_and_a_changed_bit():
    by = {e["path"]: e for e in REF["files"]}
    e = D_FILES[0]
    for data, bad in ((SV / e["path"]).read_bytes(), False), (None, True):
        if data is None:
            b = bytearray((SV / e["path"]).read_bytes())
            b[4] ^= 1
            data = bytes(b)
        found = []

        class Rep:
            def bad(self, t):
                found.append(t)

        ctx = kinds.Ctx(REF, {e["path"]: data, **{q: (SV / q).read_bytes() for q in e["inputs"]}}, Rep(), 0)
        tc.check_tensor_core(ctx, e)
        assert bool(found) == bad and (not bad or "[0,1]" in found[0])
    assert by[e["inputs"][0]]["format"]


def test_checker_compares_a_kernel_authors_D(tmp_path):
    e = next(x for x in D_FILES if x["modes"]["accumulate"] == "hopper_fp8")
    d = tmp_path / "dump"
    m = dict(REF, files=[x for x in REF["files"] if x["path"] in set(e["inputs"]) | {e["path"]}],
             library="my-kernel", version="1")
    d.mkdir()
    (d / "MANIFEST.json").write_text(json.dumps(m))
    (d / e["path"]).parent.mkdir(parents=True)
    shutil.copyfile(SV / e["path"], d / e["path"])
    rep = check("spec_vectors", dump=d, vectors=SV)
    assert rep.exit_status == 0 and rep.totals()[0] == 32
    b = bytearray((d / e["path"]).read_bytes())
    b[8 * 4 + 1] ^= 0x04  # element [2, 0]: one bit of the fraction
    (d / e["path"]).write_bytes(bytes(b))
    rep = check("spec_vectors", dump=d, vectors=SV)
    assert rep.exit_status == 1 and rep.totals()[1] == 1
    text = rep.text()
    assert "MISMATCH matmul fp8_e4m3__fp8_e4m3 hopper_fp8" in text and "[2,0]" in text
