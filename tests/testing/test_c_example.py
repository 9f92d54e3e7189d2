"""examples/c_kernel: the C recipe compiles, writes the spec_vectors layout, and the checker
reports its ties-away elements as MISMATCH (and they are mxref's ties_away results exactly)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mxref.conformance import parse_line
from mxref.testing import compare_quantize

ROOT = Path(__file__).resolve().parents[2]
CC = shutil.which("cc")


@pytest.mark.skipif(CC is None, reason="no C compiler (cc)")
def test_c_kernel_ties_away_is_reported(tmp_path):
    exe = tmp_path / "mx_kernel"
    subprocess.run([CC, "-std=c99", "-O2", "-Wall", "-Werror", "-o", str(exe),
                    str(ROOT / "examples/c_kernel/mx_kernel.c"), "-lm"], check=True)
    out = tmp_path / "out"
    subprocess.run([str(exe), str(ROOT / "spec_vectors"), str(out)], check=True, capture_output=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "mxref", "check", "--library", "dump", "--dump", str(out),
                        "--vectors", str(ROOT / "spec_vectors"), "--errors", "0"],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("MISMATCH quantize mxfp4_e2m1 floor-rne")]
    assert lines, r.stdout
    for ln in lines:  # each reported element is a tie the kernel sent away from zero
        f = parse_line(ln)
        assert "got" in f["rest"] and "expected" in f["rest"]
    # the whole output is exactly mxref's ties_away: the cause, named
    man = {e["path"]: e for e in json.loads((ROOT / "spec_vectors/MANIFEST.json").read_text())["files"]}
    for s in ("edge", "random", "ragged"):
        base = f"mx/mxfp4_e2m1/{s}"
        x = np.fromfile(ROOT / "spec_vectors" / f"{base}.in.f32.u32", "<u4").view(np.float32).reshape(
            man[f"{base}.in.f32.u32"]["shape"])
        sc = np.fromfile(out / f"{base}.floor.rne.scales.u8", np.uint8).reshape(man[f"{base}.floor.rne.scales.u8"]["shape"])
        el = np.fromfile(out / f"{base}.floor.rne.elements.u8", np.uint8).reshape(x.shape)
        assert compare_quantize(x, sc, el, "mxfp4_e2m1", rounding="ties_away").ok
        assert compare_quantize(x, sc, el, "mxfp4_e2m1").ok == (s != "edge")  # edge holds the ties
