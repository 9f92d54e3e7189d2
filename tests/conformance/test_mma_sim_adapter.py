"""The mma-sim checker adapter: the recorded MMA-Sim outputs replayed through the checker's
command line (`python tools/conformance.py --library mma-sim --recordings DIR`), one target per
kind, `N of M outputs equal` per kind, exit 0 on the recordings and 1 on a corrupted copy."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mxref import accumulators as acm
from mxref.conformance.adapters import ADAPTERS, MmaSimAdapter, make_adapter
from mxref.conformance.cli import main

RECORDINGS = acm.default_recordings_dir()
ROOT = Path(__file__).resolve().parents[2]
needs = pytest.mark.skipif(RECORDINGS is None, reason="no MMA-Sim recordings (set MXREF_MMA_SIM)")


def test_registered_and_unavailable_without_recordings(tmp_path, monkeypatch):
    assert ADAPTERS["mma-sim"] is MmaSimAdapter
    monkeypatch.delenv("MXREF_MMA_SIM", raising=False)
    monkeypatch.chdir(tmp_path)
    a = make_adapter("mma-sim")
    assert a.dir is None and "pass --recordings DIR" in a.availability()
    assert "no mma-sim recordings" in MmaSimAdapter(tmp_path).availability()
    monkeypatch.setenv("MXREF_MMA_SIM", str(tmp_path / "x"))
    assert make_adapter("mma-sim").dir == tmp_path / "x"


@needs
def test_cli_on_the_recordings(tmp_path, capsys):
    js = tmp_path / "r.json"
    rc = main(["--library", "mma-sim", "--recordings", str(RECORDINGS), "--json", str(js)])
    out = capsys.readouterr().out
    assert rc == 0
    lines = [ln for ln in out.splitlines() if " outputs equal [" in ln]
    assert len(lines) == 13
    total = 0
    for ln in lines:
        kind, _, rest = ln.partition(": ")
        n, _, m = rest.split(" outputs")[0].partition(" of ")
        assert n == m, ln
        total += int(m)
    assert total == 969_344
    rep = json.loads(js.read_text())
    assert any("969344 of 969344 outputs equal" in n for n in rep["run_notes"])


@needs
def test_tools_script_and_a_corrupted_copy(tmp_path):
    kind = "hopper_wgmma_e4m3_e4m3"
    src = Path(RECORDINGS) / kind
    dst = tmp_path / "rec" / kind
    shutil.copytree(src, dst)
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, str(ROOT / "tools" / "conformance.py"), "--library", "mma-sim",
           "--recordings", str(tmp_path / "rec")]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"{kind}: 92160 of 92160 outputs equal [hopper_fp8]" in r.stdout
    d = np.load(dst / "d_out.u32.npy")
    d[3, 5, 1] ^= 1 << 13  # one output, one bit
    d[7, 0, 0] ^= 1
    np.save(dst / "d_out.u32.npy", d)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 1
    assert f"{kind}: 92158 of 92160 outputs equal [hopper_fp8]" in r.stdout
    assert "MISMATCH matmul" in r.stdout and "instance 3" in r.stdout
    # a changed input is refused (the manifest's sha256), not compared
    a = np.load(dst / "a_codes.npy")
    a[0, 0, 0] ^= 1
    np.save(dst / "a_codes.npy", a)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 2 and "sha256" in r.stderr


@needs
def test_mxref_check_is_the_same_command(tmp_path):
    from mxref.cli import main as mxref_main

    kind = Path(RECORDINGS) / "cdna3_mfma_f32_16x16x32_fp8_fp8"
    assert mxref_main(["check", "--library", "mma-sim", "--recordings", str(kind)]) == 0
    # NaN payloads differ (MMA-Sim's are host-dependent): implementation-defined, MISMATCH if strict
    assert mxref_main(["check", "--library", "mma-sim", "--recordings", str(kind), "--strict"]) == 1
