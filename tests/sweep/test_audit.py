"""mxref audit (issue 19 §2): checkpoints made here from random weights, correct and with each
planted fault; every fault reported with its cause."""

import json

import numpy as np
import pytest

import mxref
from mxref.layout.packing import pack_elements

pytest.importorskip("dask")
pytest.importorskip("safetensors")
from safetensors.numpy import save_file  # noqa: E402

from mxref.audit import audit_checkpoint  # noqa: E402
from mxref.audit.cli import main as audit_main  # noqa: E402

ROWS, K = 8, 128


def _weights(seed=0, k=K):
    rng = np.random.default_rng(seed)
    return {"layer.0.w": (rng.standard_normal((ROWS, k)) * 0.02).astype(np.float32),
            "layer.1.w": (rng.standard_normal((ROWS, k)) * 0.5).astype(np.float32)}


def _gpt_oss(src, sep="."):
    out = {}
    for name, w in src.items():
        out.update(mxref.layout.serialization.to_gpt_oss(mxref.quantize(w, "mxfp4_e2m1", axis=-1), name, sep=sep))
    return out


def _write(tmp_path, tensors, src):
    ck, so = tmp_path / "ckpt.safetensors", tmp_path / "src.safetensors"
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(ck))
    save_file(src, str(so))
    return ck, so


def _causes(rep):
    return {r["tensor"]: [e["cause"] for e in r["errors"]] for r in rep["tensors"]}


def test_a_correct_checkpoint_passes(tmp_path):
    src = _weights()
    t = _gpt_oss(src)
    t["norm.weight"] = np.ones(4, np.float32)
    ck, so = _write(tmp_path, t, src)
    rep = audit_checkpoint(ck, source=so)
    assert _causes(rep) == {"layer.0.w": [], "layer.1.w": []}
    assert all(r["compare"]["equal"] == r["compare"]["blocks"] == ROWS * K // 32 for r in rep["tensors"])
    assert [s["key"].split(":")[1] for s in rep["skipped"]] == ["norm.weight"]
    out = tmp_path / "r.json"
    assert audit_main([str(ck), "--source", str(so), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["errors"] == 0


def test_transformers_and_compressed_tensors_names(tmp_path):
    src = _weights()
    t = _gpt_oss({"a": src["layer.0.w"]}, sep="_")
    mx = mxref.quantize(src["layer.1.w"], "mxfp4_e2m1", axis=-1)
    t["b.weight_packed"] = pack_elements(mx.elements, "fp4_e2m1", order="low_first")
    t["b.weight_scale"] = mx.scales
    ck, so = _write(tmp_path, t, {"a": src["layer.0.w"], "b.weight": src["layer.1.w"]})
    rep = audit_checkpoint(ck, source=so)
    assert {r["tensor"]: r["layout"] for r in rep["tensors"]} == {"a": "transformers", "b": "compressed-tensors-mxfp4"}
    assert _causes(rep) == {"a": [], "b": []} and rep["errors"] == 0


def test_bias_125_scales(tmp_path):
    src = _weights()
    t = _gpt_oss(src)
    t["layer.1.w.scales"] = t["layer.1.w.scales"] - 2  # bias 125 (compressed-tensors#538)
    ck, so = _write(tmp_path, t, src)
    rep = audit_checkpoint(ck, source=so)
    assert _causes(rep) == {"layer.0.w": [], "layer.1.w": ["scale_offset"]}
    (err,) = rep["tensors"][1]["errors"]
    assert "bias 125" in err["detail"] and "-2" in err["detail"]
    assert audit_main([str(ck), "--source", str(so)]) == 1


def test_swapped_nibbles(tmp_path):
    src = _weights()
    t = _gpt_oss(src)
    b = t["layer.0.w.blocks"]
    t["layer.0.w.blocks"] = ((b & 0x0F) << 4) | (b >> 4)  # sglang#23625
    ck, so = _write(tmp_path, t, src)
    assert _causes(audit_checkpoint(ck, source=so)) == {"layer.0.w": ["nibble_order"], "layer.1.w": []}


def test_poisoned_padding(tmp_path):
    src = {"w": _weights(k=48)["layer.0.w"]}  # 48 columns: two blocks, 16 padding elements
    mx = mxref.quantize(src["w"], "mxfp4_e2m1", axis=-1)
    codes = np.zeros((ROWS, 64), np.uint8)
    codes[:, :48] = mx.elements
    good = {"w.blocks": pack_elements(codes.reshape(ROWS, 2, 32), "fp4_e2m1", order="low_first"), "w.scales": mx.scales}
    ck, so = _write(tmp_path, good, src)
    assert _causes(audit_checkpoint(ck, source=so)) == {"w": []}
    codes[3, 50] = 0x7  # garbage past the last column (TransformerEngine#3070)
    bad = dict(good, **{"w.blocks": pack_elements(codes.reshape(ROWS, 2, 32), "fp4_e2m1", order="low_first")})
    ck, so = _write(tmp_path, bad, src)
    assert _causes(audit_checkpoint(ck, source=so)) == {"w": ["poisoned_padding"]}


def test_one_flipped_scale(tmp_path):
    src = _weights()
    t = _gpt_oss(src)
    s = t["layer.0.w.scales"].copy()
    s[2, 1] ^= 0x40
    t["layer.0.w.scales"] = s
    ck, so = _write(tmp_path, t, src)
    rep = audit_checkpoint(ck, source=so)
    assert _causes(rep) == {"layer.0.w": ["isolated_scales"], "layer.1.w": []}
    assert "block (2, 1)" in rep["tensors"][0]["errors"][0]["detail"]


def test_wrong_block_size(tmp_path):
    src = _weights()
    t = _gpt_oss(src)
    mx = mxref.quantize(src["layer.0.w"], "mxfp4_e2m1", axis=-1, block_size=16)
    t["layer.0.w.blocks"] = pack_elements(mx.elements.reshape(ROWS, K // 32, 32), "fp4_e2m1", order="low_first")
    t["layer.0.w.scales"] = mx.scales  # [ROWS, K/16]: two scales per 32 elements
    ck, so = _write(tmp_path, t, src)
    rep = audit_checkpoint(ck, source=so)
    assert _causes(rep) == {"layer.0.w": ["wrong_block_size"], "layer.1.w": []}
    assert "block size 16" in rep["tensors"][0]["errors"][0]["detail"]
    assert _causes(audit_checkpoint(ck)) == {"layer.0.w": ["wrong_block_size"], "layer.1.w": []}  # structural alone


def test_nan_scale_and_another_rule(tmp_path):
    src = _weights()
    t = _gpt_oss(src)
    s = t["layer.0.w.scales"].copy()
    s[0, 0] = 0xFF
    t["layer.0.w.scales"] = s
    t.update(mxref.layout.serialization.to_gpt_oss(
        mxref.quantize(src["layer.1.w"], "mxfp4_e2m1", axis=-1, scale_rule="rceil"), "layer.1.w"))
    ck, so = _write(tmp_path, t, src)
    rep = audit_checkpoint(ck)  # structure only: the NaN scale
    assert _causes(rep)["layer.0.w"] == ["nan_scale"]
    rep = audit_checkpoint(ck, source=so)
    assert _causes(rep)["layer.1.w"] == ["scale_rule"]
    assert "rceil" in rep["tensors"][1]["errors"][0]["detail"]
    rep = audit_checkpoint(ck, source=so, profile=("rceil", "rne"))
    assert _causes(rep)["layer.1.w"] == []


def test_a_folder_of_shards_on_a_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    src = _weights()
    t = _gpt_oss(src)
    (tmp_path / "ck").mkdir()
    save_file({k: v for k, v in t.items() if k.startswith("layer.0")}, str(tmp_path / "ck" / "a.safetensors"))
    save_file({k: v for k, v in t.items() if k.startswith("layer.1")}, str(tmp_path / "ck" / "b.safetensors"))
    save_file(src, str(tmp_path / "src.safetensors"))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as c, \
            distributed.Client(c) as client:
        rep = audit_checkpoint(tmp_path / "ck", source=tmp_path / "src.safetensors", scheduler=client)
    assert _causes(rep) == {"layer.0.w": [], "layer.1.w": []}
