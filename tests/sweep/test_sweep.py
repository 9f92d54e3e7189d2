"""mxref sweep (issue 19 §1): the oracle against mxref on every float16 / bfloat16 input, small
float32 ranges on the local scheduler and a LocalCluster, planted faults, resume."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import mxref

pytest.importorskip("dask")
from mxref.sweep import default_jobs, encode_oracle, run_sweep, scale_oracle  # noqa: E402
from mxref.sweep.oracle import input_values  # noqa: E402
from mxref.sweep.work import Job, mx_name_of  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: a range across 1.0 .. 2^8 (both FP8 overflow thresholds' binades), and the subnormals
RANGE = (0x3F7F0000, 0x3F7F0000 + 3 * 4096)


@pytest.mark.parametrize("inputs", ["float16", "bfloat16"])
def test_the_oracle_agrees_with_mxref_on_every_16_bit_input(inputs):
    x, x64 = input_values(np.arange(1 << 16, dtype=np.uint64), inputs)
    for job in default_jobs():
        if job.kind == "elements":
            r, o, nan = job.mode
            assert np.array_equal(encode_oracle(x64, job.fmt, r, o, nan),
                                  mxref.encode(x, job.fmt, rounding=r, overflow=o, nan=nan)), job.name
        else:
            keep = np.isfinite(x64) & (x64 > 0)
            xs = x[keep].astype(np.float32)
            got = mxref.quantize(xs, mx_name_of(job.fmt), block_size=1, scale_rule=job.mode[0]).scales
            assert np.array_equal(scale_oracle(xs.view(np.uint32), job.fmt, job.mode[0]), got), job.name


def test_the_oracle_on_the_special_inputs():
    x = np.array([464.0, 465.0, -480.0, np.inf, -np.inf, np.nan, -0.0, 1e-30, -1e-30])
    assert encode_oracle(x, "fp8_e4m3", "rne", "nonsaturating").tolist() == \
        [0x7E, 0x7F, 0xFF, 0x7F, 0xFF, 0x7F, 0x80, 0x00, 0x80]
    assert encode_oracle(x, "fp8_e4m3", "toward_zero", "nonsaturating").tolist()[:5] == [0x7E, 0x7E, 0xFE, 0x7F, 0xFF]
    assert encode_oracle(x, "int8", "rne", "saturate", "max").tolist() == [0x7F, 0x7F, 0x81, 0x7F, 0x81, 0x7F, 0, 0, 0]


def _counts(res):
    return {k: (v["n"], v["mismatches"]) for k, v in res["jobs"].items()}


def test_local_and_distributed_give_the_same_counts():
    distributed = pytest.importorskip("distributed")
    jobs = default_jobs(formats=("fp8_e4m3", "int8"), roundings=("rne", "up"))
    kw = dict(inputs="float32", lo=RANGE[0], hi=RANGE[1], chunk_size=4096, progress=False)
    local = run_sweep(jobs, **kw)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as c, \
            distributed.Client(c) as client:
        dist = run_sweep(jobs, scheduler=client, **kw)
    assert _counts(local) == _counts(dist) and local["mismatches"] == 0 and local["chunks"] == 3 * len(jobs)
    assert local["n"] == dist["n"] > 0


def test_a_wrong_table_entry_is_found_with_its_input():
    bad = 0x3F7F0000 + 5000  # one input whose code the planted encoder flips

    def encoder(x, fmt, **kw):
        out = mxref.encode(x, fmt, **kw)
        hit = x.view(np.uint32) == bad
        out[hit] ^= 1
        return out

    res = run_sweep([Job("elements", "fp8_e5m2", ("rne", "saturate", "zero"))], lo=RANGE[0], hi=RANGE[1],
                    chunk_size=4096, progress=False, encoder=encoder)
    assert res["mismatches"] == 1
    (line,) = res["jobs"]["elements:fp8_e5m2:rne:saturate:zero"]["first"]
    want = int(mxref.encode(np.array([bad], np.uint32).view(np.float32), "fp8_e5m2")[0])
    assert line == f"{bad:08x} {want ^ 1:02x} {want:02x}"


def test_ties_away_in_place_of_rne_is_found_at_the_ties():
    def encoder(x, fmt, *, rounding, overflow, nan):
        return mxref.encode(x, fmt, rounding="ties_away", overflow=overflow, nan=nan)

    lo, hi = 0x3F800000, 0x3F800000 + (1 << 21)  # [1, 1.25): E4M3 values 1, 1.125 (odd code), 1.25
    res = run_sweep([Job("elements", "fp8_e4m3", ("rne", "saturate", "zero"))], lo=lo, hi=hi, chunk_size=1 << 21,
                    progress=False, encoder=encoder)
    # the ties 1.0625 (below it the even code 0x38: rne stays, ties_away goes up) and 1.1875 (below it
    # the odd 0x39: both go up); only the first differs
    assert res["mismatches"] == 1
    assert res["jobs"]["elements:fp8_e4m3:rne:saturate:zero"]["first"] == ["3f880000 39 38"]


def test_a_scale_rule_fault_is_found():
    def scaler(x, fmt, *, rule):
        s = mxref.quantize(x, mx_name_of(fmt), block_size=1, scale_rule=rule).scales.copy()
        s[x.view(np.uint32) == 0x3F800000] += 1
        return s

    res = run_sweep([Job("scales", "fp4_e2m1", ("floor",))], lo=0x3F7FF000, hi=0x3F801000, chunk_size=4096,
                    progress=False, scaler=scaler)
    assert res["mismatches"] == 1 and res["jobs"]["scales:fp4_e2m1:floor"]["first"] == ["3f800000 7e 7d"]


def test_resume_after_an_interrupted_run(tmp_path):
    jobs = default_jobs(formats=("fp6_e2m3",), roundings=("rne",))
    kw = dict(lo=RANGE[0], hi=RANGE[1], chunk_size=4096, progress=False)
    full = run_sweep(jobs, checkpoint=tmp_path / "full.jsonl", **kw)
    lines = (tmp_path / "full.jsonl").read_text().splitlines()
    assert len(lines) == full["chunks"]
    part = tmp_path / "part.jsonl"
    part.write_text("\n".join(lines[:4]) + "\n" + lines[4][:20])  # 4 chunks done, a torn fifth line
    seen = []

    def encoder(x, fmt, **kw):
        seen.append(1)
        return mxref.encode(x, fmt, **kw)

    again = run_sweep(jobs, checkpoint=part, encoder=encoder, **kw)
    assert again["skipped"] == 4 and _counts(again) == _counts(full)
    assert len(seen) == sum(1 for ln in lines[4:] if json.loads(ln)["key"].startswith("elements"))
    assert run_sweep(jobs, checkpoint=part, encoder=encoder, **kw)["skipped"] == full["chunks"]


def test_the_command_line(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    cmd = [sys.executable, "-m", "mxref", "sweep", "--inputs", "float16", "--formats", "fp4_e2m1",
           "--range", "0x3c00:0x3e00", "--chunk", "0x100", "--no-progress", "--checkpoint", str(tmp_path / "c.jsonl")]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "0 mismatches" in p.stdout and "elements:fp4_e2m1:rne:saturate:zero" in p.stdout
    p = subprocess.run(cmd[:-2] + ["--workers", "1", "--range", "0x3c00:0x3c10"], capture_output=True, text=True,
                       env=env, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    bad = subprocess.run([sys.executable, "-m", "mxref", "sweep", "--range", "5:1"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert bad.returncode == 2 and "range" in bad.stderr
