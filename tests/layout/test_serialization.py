"""MXArray files and the gpt-oss MXFP4 checkpoint convention (MX §5.1 / memory layout: outside
the spec, see docs/layouts.md).

Round trips must be exact (MXArray ==); every corruption of a file must raise ValueError. The
gpt-oss tensors are built here by hand from chosen codes, and their values typed in from the
E2M1 table (MX §5.3.3: codes 0-7 are 0, 0.5, 1, 1.5, 2, 3, 4, 6; 8-15 their negatives) times
2^(scale - 127) (MX §5.4.1), a NaN scale making the whole block NaN (MX §5.1).
"""

import io
import sys
import time
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mxref

SHAPES_AXES = [((1,), 0), ((33,), 0), ((3, 70), 1), ((3, 70), 0), ((2, 5, 7), 1), ((2, 0, 64), -1),
               ((64, 2), 0)]


def _saved(mx):
    buf = io.BytesIO()
    mx.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", list(mxref.MX_FORMATS))
@pytest.mark.parametrize("shape,axis", SHAPES_AXES)
def test_save_load_round_trip(tmp_path, fmt, shape, axis):
    rng = np.random.default_rng(len(shape) * 100 + shape[0])
    x = rng.standard_normal(shape) * np.exp2(rng.integers(-20, 20, size=shape))
    for kw in ({}, {"block_size": 7, "scale_rule": "rceil", "rounding": "toward_zero"}):
        mx = mxref.quantize(x, fmt, axis=axis, **kw)
        path = tmp_path / f"{fmt}.mx"  # saved at exactly this path: no suffix added
        mx.save(path)
        assert path.exists()
        back = mxref.load(path)
        assert back == mx
        assert back.format is mxref.MX_FORMATS[fmt]
        assert back.options == mx.options and back.elements.dtype == np.uint8
        np.testing.assert_array_equal(back.dequantize(np.float64), mx.dequantize(np.float64))


OPTION_DRAWS = st.fixed_dictionaries({}, optional={
    "scale_rule": st.sampled_from(mxref.options.SCALE_RULES), "rounding": st.sampled_from(mxref.ROUNDING_MODES),
    "zero_scale": st.integers(0, 254), "inf_policy": st.sampled_from(["nan_scale", "finite_scale"]),
    "scale_overflow": st.sampled_from(["clamp", "nan"]), "flush_subnormals": st.booleans(),
    "int8_allow_minus128": st.booleans()})


@given(st.sampled_from(list(mxref.MX_FORMATS) + list(mxref.ext.EXT_MX_FORMATS)), st.integers(1, 80),
       st.integers(1, 40), st.integers(0, 2**32 - 1), OPTION_DRAWS)
def test_round_trip_any_codes(fmt, n, k, seed, options):
    # every code pattern survives, NaN scales and element NaN/Inf included; every option too
    mxf = mxref.mx_format(fmt)
    rng = np.random.default_rng(seed)
    nb = -(-n // k)
    mx = mxref.MXArray(mxf, k, 1, (2, n), rng.integers(0, 256, size=(2, nb), dtype=np.uint8),
                       rng.integers(0, mxf.element.num_codes, size=(2, n), dtype=np.uint8), options)
    back = mxref.load(io.BytesIO(_saved(mx)))
    assert back == mx and back.options == options and back.format is mxf


def test_module_level_save_and_refusals(tmp_path):
    mx = mxref.quantize(np.arange(40.0), "mxfp6_e3m2")
    mxref.save(mx, tmp_path / "a")
    assert mxref.load(tmp_path / "a") == mx
    assert mxref.load(str(tmp_path / "a")) == mx
    with pytest.raises(TypeError, match="mx must be an MXArray"):
        mxref.save(np.zeros(3), tmp_path / "b")
    # options of unknown keys are refused when the MXArray is built, so nothing odd reaches save
    with pytest.raises(ValueError, match="unknown key 'f'"):
        mxref.MXArray(mx.format, 32, 0, mx.shape, mx.scales, mx.elements, {"f": [1, 2]})
    # a format row that is not one of mxref's comes back equal too
    own = mxref.MXFormat("my_fp4_k16", mxref.fp4_e2m1, 16, mxref.e8m0, "test")
    mine = mxref.MXArray(own, 16, 0, (40,), np.array([120, 127, 0xFF], np.uint8), mx.elements % 16, {})
    mine.save(tmp_path / "d")
    assert mxref.load(tmp_path / "d") == mine
    with pytest.raises(FileNotFoundError):
        mxref.load(tmp_path / "missing.npz")


# ----- corrupted files ---------------------------------------------------------------------------


def _members(mx):
    with np.load(io.BytesIO(_saved(mx)), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _write(members):
    buf = io.BytesIO()
    np.savez(buf, **members)
    buf.seek(0)
    return buf


def _good():
    return mxref.quantize(np.linspace(-3, 3, 3 * 45).reshape(3, 45), "mxfp4_e2m1")


CORRUPTIONS = {
    "missing scales": (lambda m: m.pop("scales"), "missing member.*scales"),
    "missing options": (lambda m: m.pop("options"), "missing member.*options"),
    "extra member": (lambda m: m.update(extra=np.zeros(1)), "unknown member.*extra"),
    "not mxref": (lambda m: m.update(mxref_file=np.array("other")), "mxref_file"),
    "future version": (lambda m: m.update(version=np.array(2)), "version 2"),
    "scales uint16": (lambda m: m.update(scales=m["scales"].astype(np.uint16)), "scales must be uint8"),
    "scales wrong shape": (lambda m: m.update(scales=m["scales"][:, :1]), "scales must have shape"),
    "elements short": (lambda m: m.update(elements=m["elements"][:-1]), "too short"),
    "elements long": (lambda m: m.update(elements=np.append(m["elements"], np.uint8(0))), "must hold"),
    "elements 2-D": (lambda m: m.update(elements=m["elements"].reshape(1, -1)), "one packed row"),
    "padding bits set": (lambda m: m["elements"].__setitem__(-1, m["elements"][-1] | 0xF0), "padding"),
    "shape changed": (lambda m: m.update(shape=np.array([3, 46])), "must hold|must have shape"),
    "shape negative": (lambda m: m.update(shape=np.array([-3, 45])), "non-negative"),
    "shape float": (lambda m: m.update(shape=np.array([3.0, 45.0])), "shape must be"),
    "axis out of range": (lambda m: m.update(axis=np.array(5)), "axis"),
    "block size 0": (lambda m: m.update(block_size=np.array(0)), "block_size"),
    "axis as string": (lambda m: m.update(axis=np.array("1")), "axis must be an integer"),
    "format unknown": (lambda m: m.update(element=np.array("fp5_e2m2")), "unknown element format"),
    "format row mismatch": (lambda m: m.update(element=np.array("fp8_e4m3")), "not mxref's mxfp4_e2m1"),
    "element order wrong": (lambda m: m.update(element_order=np.array("bitstream")), "order must be"),
    "options not JSON": (lambda m: m.update(options=np.array("{scale_rule: floor")), "options is not JSON"),
    "options a list": (lambda m: m.update(options=np.array("[1, 2]")), "JSON object"),
    "format name an array": (lambda m: m.update(format_name=np.array(["mxfp4_e2m1"])), "format_name must be a string"),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_corrupted_members_rejected(name):
    change, match = CORRUPTIONS[name]
    m = _members(_good())
    change(m)
    with pytest.raises(ValueError, match=match):
        mxref.load(_write(m))


def test_corrupted_bytes_rejected(tmp_path):
    raw = _saved(_good())
    cases = {
        "empty": b"",
        "text": b"hello, not an npz",
        "truncated": raw[: len(raw) // 2],
        "flipped": raw[:60] + bytes(b ^ 0xFF for b in raw[60:200]) + raw[200:],
    }
    for name, data in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(ValueError, match="not a valid mxref MXArray file"):
            mxref.load(p)
    # a lone .npy array, and a member holding pickled objects, are refused
    buf = io.BytesIO()
    np.save(buf, np.zeros(3))
    buf.seek(0)
    with pytest.raises(ValueError, match="single .npy"):
        mxref.load(buf)
    m = _members(_good())
    m["options"] = np.array([{"a": 1}], dtype=object)
    with pytest.raises(ValueError, match="not a valid mxref MXArray file"):
        mxref.load(_write(m))


# ----- gpt-oss / Hugging Face MXFP4 tensors ------------------------------------------------------


def _hand_tensors():
    """Four rows of one block each, in the gpt-oss convention (element 2i: low nibble of byte i)."""
    blocks = np.zeros((4, 1, 16), np.uint8)
    scales = np.array([[127], [130], [0xFF], [0]], np.uint8)
    blocks[0, 0, :3] = [0x21, 0xF7, 0x8A]  # codes 1, 2 | 7, 0xF | 0xA, 8
    blocks[1, 0, 0] = 0x05                 # codes 5, 0
    blocks[1, 0, 15] = 0x3C                # codes 0xC, 3 (elements 30, 31)
    blocks[2, 0, 0] = 0x10                 # codes 0, 1 under a NaN scale
    blocks[3, 0, 0] = 0x01                 # code 1 under scale 2^-127
    return {"w.blocks": blocks, "w.scales": scales}


def _hand_values():
    v = np.zeros((4, 32))
    v[0, :6] = [0.5, 1.0, 6.0, -6.0, -1.0, -0.0]   # scale 2^0
    v[1, 0], v[1, 30], v[1, 31] = 3.0 * 8, -2.0 * 8, 1.5 * 8   # scale 2^3
    v[2, :] = np.nan                                 # scale 0xFF: NaN block (MX §5.1)
    v[3, 0] = 2.0 ** -128                           # 0.5 * 2^-127
    return v


def test_from_gpt_oss_hand_tensor():
    mx = mxref.from_gpt_oss(_hand_tensors(), "w")
    assert mx.shape == (4, 32) and mx.axis == 1 and mx.block_size == 32
    assert mx.format is mxref.MX_FORMATS["mxfp4_e2m1"] and mx.options == {}
    assert mx.elements[0, :6].tolist() == [1, 2, 7, 0xF, 0xA, 8]
    want = _hand_values()
    for dt in (np.float64, np.float32):
        got = mx.dequantize(dt).astype(np.float64)
        np.testing.assert_array_equal(got, want)                     # NaN where NaN
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))  # -0.0 kept


def test_gpt_oss_block_placement_with_leading_axes():
    blocks = np.zeros((2, 3, 2, 16), np.uint8)
    scales = np.full((2, 3, 2), 127, np.uint8)
    blocks[1, 2, 1, 0] = 0x02   # block 1, element 0 -> element 32 of row [1, 2]: code 2 = 1.0
    blocks[0, 1, 0, 7] = 0x60   # block 0, byte 7 high nibble -> element 15: code 6 = 4.0
    scales[1, 2, 1] = 128       # 2^1
    mx = mxref.from_gpt_oss({"e_blocks": blocks, "e_scales": scales}, "e", sep="_")
    assert mx.shape == (2, 3, 64)
    want = np.zeros((2, 3, 64))
    want[1, 2, 32] = 2.0
    want[0, 1, 15] = 4.0
    np.testing.assert_array_equal(mx.dequantize(np.float64), want)
    back = mxref.to_gpt_oss(mx, "e", sep="_")
    assert set(back) == {"e_blocks", "e_scales"}
    np.testing.assert_array_equal(back["e_blocks"], blocks)
    np.testing.assert_array_equal(back["e_scales"], scales)


def test_to_gpt_oss_round_trip_and_layout():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 96)).astype(np.float32)
    mx = mxref.quantize(x, "mxfp4")
    t = mxref.to_gpt_oss(mx, "block.0.mlp.mlp1_weight")
    b, s = t["block.0.mlp.mlp1_weight.blocks"], t["block.0.mlp.mlp1_weight.scales"]
    assert b.shape == (2, 3, 3, 16) and b.dtype == np.uint8 and s.shape == (2, 3, 3)
    # byte i of block g: element 32 g + 2 i in the low nibble, 32 g + 2 i + 1 in the high one
    np.testing.assert_array_equal(b & 0x0F, mx.elements.reshape(2, 3, 3, 32)[..., 0::2])
    np.testing.assert_array_equal(b >> 4, mx.elements.reshape(2, 3, 3, 32)[..., 1::2])
    np.testing.assert_array_equal(s, mx.scales)
    back = mxref.from_gpt_oss(t, "block.0.mlp.mlp1_weight")
    assert back == mxref.MXArray(mx.format, 32, 2, mx.shape, mx.scales, mx.elements, {})


def test_gpt_oss_refusals():
    x = np.ones((2, 64))
    with pytest.raises(ValueError, match="E2M1 elements and E8M0 scales"):
        mxref.to_gpt_oss(mxref.quantize(x, "mxfp8_e4m3"), "w")
    with pytest.raises(ValueError, match="blocks the last axis"):
        mxref.to_gpt_oss(mxref.quantize(np.ones((64, 2)), "mxfp4", axis=0), "w")
    with pytest.raises(ValueError, match="multiple of 32"):
        mxref.to_gpt_oss(mxref.quantize(np.ones((2, 40)), "mxfp4"), "w")
    with pytest.raises(ValueError, match="blocks of 32"):
        mxref.to_gpt_oss(mxref.quantize(x, "mxfp4", block_size=16), "w")
    with pytest.raises(TypeError, match="name"):
        mxref.to_gpt_oss(mxref.quantize(x, "mxfp4"), "")
    t = _hand_tensors()
    with pytest.raises(ValueError, match="no 'v.blocks'"):
        mxref.from_gpt_oss(t, "v")
    with pytest.raises(TypeError, match="w.blocks must be uint8"):
        mxref.from_gpt_oss({**t, "w.blocks": t["w.blocks"].astype(np.int8)}, "w")
    with pytest.raises(ValueError, match=r"\[..., G, 16\]"):
        mxref.from_gpt_oss({**t, "w.blocks": np.zeros((4, 1, 17), np.uint8)}, "w")
    with pytest.raises(ValueError, match="w.scales must have shape"):
        mxref.from_gpt_oss({**t, "w.scales": np.zeros((4,), np.uint8)}, "w")
    with pytest.raises(TypeError, match="mapping"):
        mxref.from_gpt_oss([t["w.blocks"]], "w")


def test_from_gpt_oss_torch_tensors():
    torch = pytest.importorskip("torch")
    t = {k: torch.from_numpy(v) for k, v in _hand_tensors().items()}
    np.testing.assert_array_equal(mxref.from_gpt_oss(t, "w").dequantize(np.float64), _hand_values())


def test_safetensors_round_trip(tmp_path):
    stn = pytest.importorskip("safetensors.numpy")
    mx = mxref.from_gpt_oss(_hand_tensors(), "w")
    bias = np.arange(4, dtype=np.float32)
    path = tmp_path / "model.safetensors"
    mxref.save_safetensors(path, {"block.0.mlp.mlp1_weight": mx, "block.0.mlp.mlp1_bias": bias})
    raw = stn.load_file(str(path))  # the file itself follows the convention
    assert sorted(raw) == ["block.0.mlp.mlp1_bias", "block.0.mlp.mlp1_weight.blocks",
                           "block.0.mlp.mlp1_weight.scales"]
    np.testing.assert_array_equal(raw["block.0.mlp.mlp1_weight.blocks"], _hand_tensors()["w.blocks"])
    back = mxref.load_safetensors(path)
    assert back["block.0.mlp.mlp1_weight"] == mx
    np.testing.assert_array_equal(back["block.0.mlp.mlp1_bias"], bias)
    # transformers' names: "_blocks" / "_scales"
    mxref.save_safetensors(path, {"gate_up_proj": mx}, sep="_")
    assert mxref.load_safetensors(path, sep="_")["gate_up_proj"] == mx
    # a blocks tensor without its scales is an error
    stn.save_file({"w.blocks": _hand_tensors()["w.blocks"]}, str(path))
    with pytest.raises(ValueError, match="has no 'w.scales'"):
        mxref.load_safetensors(path)
    with pytest.raises(TypeError, match="MXArray or a NumPy array"):
        mxref.save_safetensors(path, {"w": [1, 2]})


def test_safetensors_missing_gives_clear_import_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    with pytest.raises(ImportError, match=r"pip install 'mxref\[safetensors\]'"):
        mxref.load_safetensors(tmp_path / "x.safetensors")
    with pytest.raises(ImportError, match="safetensors package"):
        mxref.save_safetensors(tmp_path / "x.safetensors", {})


# ----- hostile and inconsistent .npz files (issue 12 §2) -----------------------------------------


def _npy(a):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(a), allow_pickle=False)
    return buf.getvalue()


def _zip_bomb(path, members, big, big_bytes):
    """An .npz with the small ``members`` stored and member ``big`` a .npy of ``big_bytes`` zero
    bytes (uint8), deflated as it is written (nothing of that size is ever in memory): a few MB
    on disk, ``big_bytes`` inflated."""
    chunk = bytes(1 << 20)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False,
                                                  "shape": (big_bytes,)})
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for k, a in members.items():
            if k != big:
                zf.writestr(k + ".npy", _npy(a), compress_type=zipfile.ZIP_STORED)
        with zf.open(big + ".npy", "w") as f:
            f.write(header.getvalue())
            for _ in range(big_bytes >> 20):
                f.write(chunk)
    return path


def test_zip_bomb_refused_fast(tmp_path):
    # a 1 GiB elements member, consistent with the other members (shape 1 x 2^30 of MXFP8,
    # blocks of 2^20: 1024 scales), deflated to about 4.6 MB: refused from the zip directory
    m = _members(mxref.quantize(np.ones((1, 64)), "mxfp8_e4m3"))
    m.update(shape=np.array([1, 1 << 30]), block_size=np.array(1 << 20),
             scales=np.full((1, 1024), 127, np.uint8))
    path = _zip_bomb(tmp_path / "bomb.npz", m, "elements", 1 << 30)
    assert path.stat().st_size < 8 << 20
    with zipfile.ZipFile(path) as zf:  # the bomb is what it claims: 2^30 bytes of data declared
        assert zf.getinfo("elements.npy").file_size > 1 << 30
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"member elements would inflate .* refused before decompressing"):
        mxref.load(path)
    assert time.perf_counter() - t0 < 0.5
    # a smaller bomb (256 MiB) in an otherwise small file (shape 1 x 64), opened as a file object
    m = _members(mxref.quantize(np.ones((1, 64)), "mxfp8_e4m3"))
    path = _zip_bomb(tmp_path / "bomb2.npz", m, "elements", 1 << 28)
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="member elements would inflate"):
        with open(path, "rb") as f:
            mxref.load(f)
    assert time.perf_counter() - t0 < 0.5


def test_declared_sizes_checked_before_decompressing(tmp_path):
    # 15 MiB of deflated zeros (within the ratio allowance) where the other members allow 68 bytes:
    # refused from its .npy header, naming the member and both sizes
    m = _members(_good())
    path = _zip_bomb(tmp_path / "long.npz", m, "elements", 15 << 20)
    with pytest.raises(ValueError, match=r"member elements must hold 68 bytes .*got 15728640"):
        mxref.load(path)
    # a .npy header that declares far more than its zip entry holds (old loaders allocated it)
    fake = io.BytesIO()
    np.lib.format.write_array_header_1_0(fake, {"descr": "<i8", "fortran_order": False, "shape": (1 << 40,)})
    fake.write(np.array([3, 45], np.int64).tobytes())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, a in m.items():
            zf.writestr(k + ".npy", fake.getvalue() if k == "shape" else _npy(a))
    with pytest.raises(ValueError, match=r"member shape: its \.npy header declares .*1099511627776"):
        mxref.load(io.BytesIO(buf.getvalue()))
    # a .npy header with negative dimensions whose product is a plausible byte count
    neg = io.BytesIO()
    np.lib.format.write_array_header_1_0(neg, {"descr": "|u1", "fortran_order": False, "shape": (-2, -3)})
    neg.write(bytes(6))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, a in m.items():
            zf.writestr(k + ".npy", neg.getvalue() if k == "scales" else _npy(a))
    with pytest.raises(ValueError, match=r"member scales: its \.npy header declares a negative dimension"):
        mxref.load(io.BytesIO(buf.getvalue()))
    # a small member declaring more than small members may (1.2 MB of format_spec text)
    m = _members(_good())
    m["format_spec"] = np.array("x" * 300_000)
    with pytest.raises(ValueError, match=r"member format_spec declares \d+ bytes; members other than scales and elements take at most"):
        mxref.load(_write(m))


def test_compressed_and_fortran_members_still_read():
    # np.savez_compressed of the same members reads back equal (deflated members within the bound)
    mx = _good()
    buf = io.BytesIO()
    np.savez_compressed(buf, **_members(mx))
    buf.seek(0)
    assert mxref.load(buf) == mx
    m = _members(mx)
    m["scales"] = np.asfortranarray(m["scales"])
    back = mxref.load(_write(m))
    assert back == mx and not back.scales.flags.writeable  # an MXArray's codes are read-only


def test_duplicate_member_refused():
    m = _members(_good())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        for k, a in m.items():
            zf.writestr(k + ".npy", _npy(a))
        zf.writestr("scales.npy", _npy(np.zeros_like(m["scales"])))
    with pytest.raises(ValueError, match="member scales appears twice"):
        mxref.load(io.BytesIO(buf.getvalue()))


INCONSISTENT = {
    "scale not E8M0": ({"scale": np.array("fp8_e4m3")}, r"member scale: the scale format must be e8m0.*'fp8_e4m3'"),
    "scale unknown": ({"scale": np.array("e9m0")}, r"member scale: unknown element format"),
    "element e8m0": ({"format_name": np.array("mine"), "element": np.array("e8m0")},
                     "member element: e8m0 is the scale format"),
    "extension name, other element": ({"format_name": np.array("mxint4")}, r"not mxref's mxint4 \(element int4"),
    "extension element, spec name": ({"element": np.array("fp4_e3m0")}, r"not mxref's mxfp4_e2m1"),
    "extension element of another width": ({"format_name": np.array("mxint2"), "element": np.array("int2")},
                                           r"spec .*not mxref's mxint2"),
    "alias name, other row": ({"format_name": np.array("mxfp4")}, r"not mxref's mxfp4_e2m1"),
    "format_block_size 0": ({"format_block_size": np.array(0)}, r"member format_block_size must be in 1\.\.inf, got 0"),
    "format_block_size 0, own row": ({"format_name": np.array("mine"), "format_block_size": np.array(0)},
                                     r"member format_block_size must be in 1\.\.inf, got 0"),
    "format_block_size -1": ({"format_block_size": np.array(-1)}, r"format_block_size must be in 1"),
    "option key unknown": ({"options": np.array('{"source": "hand"}')},
                           r"member options: options\['source'\]: unknown option; known: scale_rule"),
    "option value unknown": ({"options": np.array('{"rounding": "sideways"}')},
                             r"member options: options\['rounding'\] = 'sideways': must be one of 'rne'"),
    "zero_scale out of range": ({"options": np.array('{"zero_scale": 255}')}, r"zero_scale'\] = 255: must be an int in 0\.\.254"),
    "zero_scale a bool": ({"options": np.array('{"zero_scale": true}')}, r"zero_scale'\] = True"),
    "zero_scale a float": ({"options": np.array('{"zero_scale": 3.0}')}, r"zero_scale'\] = 3\.0"),
    "flag an int": ({"options": np.array('{"flush_subnormals": 1}')}, r"flush_subnormals'\] = 1: must be True or False"),
    "option value null": ({"options": np.array('{"scale_rule": null}')}, r"scale_rule'\] = None"),
    "option twice": ({"options": np.array('{"rounding": "rne", "rounding": "up"}')}, r"key 'rounding' appears twice"),
    "options deeply nested list": ({"options": np.array("[" * 100_000 + "]" * 100_000)}, "nested too deeply"),
    "options deeply nested object": ({"options": np.array('{"a": ' * 20_000 + "1" + "}" * 20_000)}, "nested too deeply"),
    "options huge number": ({"options": np.array('{"zero_scale": 1' + "0" * 5000 + "}")}, "options is not JSON"),
    "shape empty": ({"shape": np.zeros(0, np.int64), "scales": np.zeros((), np.uint8)}, "at least one dimension"),
    "shape too many dims": ({"shape": np.ones(65, np.int64)}, "at most 64"),
    "options an object member": ({"options": np.array([{"a": 1}], dtype=object)}, "never loads pickles"),
}


@pytest.mark.parametrize("name", list(INCONSISTENT))
def test_inconsistent_members_rejected(name):
    change, match = INCONSISTENT[name]
    m = _members(_good())
    m.update(change)
    with pytest.raises(ValueError, match="not a valid mxref MXArray file: .*" + match):
        mxref.load(_write(m))


def test_random_bytes_message():
    # what the reader says for bytes that are no zip at all: what is wrong, not numpy's pickle hint
    rng = np.random.default_rng(12)
    for data in (rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(), b"PK\x03\x04" + bytes(100), b""):
        with pytest.raises(ValueError) as info:
            mxref.load(io.BytesIO(data))
        msg = str(info.value)
        assert "not an mxref .npz file: not a zip archive" in msg and "allow_pickle" not in msg, msg
    with pytest.raises(TypeError, match="binary mode"):
        mxref.load(io.StringIO("text"))


def test_save_refuses_what_load_refuses(tmp_path):
    mx = _good()
    # options save would refuse cannot even be built into an MXArray (checked at construction)
    for opts, match in (({"source": "hand"}, "unknown key 'source'"),
                        ({"rounding": "sideways"}, "sideways"),
                        ({"zero_scale": np.int64(300)}, "300")):
        with pytest.raises(ValueError, match=match):
            mxref.MXArray(mx.format, 32, 1, mx.shape, mx.scales, mx.elements, opts)
    # NumPy scalars among the options are saved as Python scalars and read back equal
    np_opts = mxref.MXArray(mx.format, 32, 1, mx.shape, mx.scales, mx.elements,
                            {"zero_scale": np.uint8(3), "flush_subnormals": np.bool_(True)})
    np_opts.save(tmp_path / "n")
    assert mxref.load(tmp_path / "n").options == {"zero_scale": 3, "flush_subnormals": True}
    with pytest.raises(ValueError, match="E8M0"):  # a non-E8M0 scale row is refused by MXFormat
        mxref.MXFormat("my_fp4_fp8scale", mxref.fp4_e2m1, 32, mxref.fp8_e4m3, "test")
    mislabeled = mxref.MXFormat("mxfp4_e2m1", mxref.fp4_e2m1, 16)
    odd = mxref.MXArray(mislabeled, 32, 1, mx.shape, mx.scales, mx.elements, {})
    with pytest.raises(ValueError, match="not mxref's mxfp4_e2m1"):
        odd.save(tmp_path / "g")


@pytest.mark.parametrize("fmt", list(mxref.ext.EXT_MX_FORMATS))
def test_extension_formats_round_trip(fmt):
    mx = mxref.quantize(np.linspace(-2, 2, 3 * 37).reshape(3, 37), fmt, block_size=8)
    back = mxref.load(io.BytesIO(_saved(mx)))
    assert back == mx and back.options == mx.options and back.format is mxref.ext.EXT_MX_FORMATS[fmt]


# ----- torch / ml_dtypes E8M0 scales, exception types (issue 12 §6) ------------------------------


def test_from_gpt_oss_float8_e8m0fnu_scales_are_codes():
    torch = pytest.importorskip("torch")
    if not hasattr(torch, "float8_e8m0fnu"):
        pytest.skip("this torch has no float8_e8m0fnu")
    t = _hand_tensors()
    codes = t["w.scales"].copy()
    # a float8_e8m0fnu tensor whose bytes are the codes: 2^0, 2^3, NaN, 2^-127
    scales = torch.from_numpy(codes.copy()).view(torch.float8_e8m0fnu)
    assert scales[0, 0].item() == 1.0 and scales[1, 0].item() == 8.0 and np.isnan(scales[2, 0].item())
    for blocks in (t["w.blocks"], torch.from_numpy(t["w.blocks"].copy())):
        mx = mxref.from_gpt_oss({"w.blocks": blocks, "w.scales": scales}, "w")
        np.testing.assert_array_equal(mx.scales, codes)
        np.testing.assert_array_equal(mx.dequantize(np.float64), _hand_values())
    # the MXArray holds its own read-only copy: the caller's tensor is not shared, and not changed
    assert not mx.scales.flags.writeable
    assert not np.shares_memory(mx.scales, scales.view(torch.uint8).numpy())
    np.testing.assert_array_equal(scales.view(torch.uint8).numpy(), codes)
    # a cast (float32 -> float8_e8m0fnu) gives the same codes as mxref's E8M0 of those powers of two
    f = torch.tensor([[1.0], [8.0], [float("nan")], [2.0 ** -127]]).to(torch.float8_e8m0fnu)
    np.testing.assert_array_equal(mxref.from_gpt_oss({"w.blocks": t["w.blocks"], "w.scales": f}, "w").scales, codes)


def test_from_gpt_oss_ml_dtypes_e8m0_scales():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    t = _hand_tensors()
    s = t["w.scales"].view(ml_dtypes.float8_e8m0fnu)
    mx = mxref.from_gpt_oss({**t, "w.scales": s}, "w")
    np.testing.assert_array_equal(mx.scales, [[127], [130], [0xFF], [0]])
    assert not np.shares_memory(mx.scales, t["w.scales"])


def test_from_gpt_oss_bad_dtypes_name_the_tensor():
    torch = pytest.importorskip("torch")
    t = _hand_tensors()
    with pytest.raises(TypeError, match=r"w\.scales must be uint8 or float8_e8m0fnu .*, got float32"):
        mxref.from_gpt_oss({**t, "w.scales": t["w.scales"].astype(np.float32)}, "w")
    with pytest.raises(TypeError, match=r"w\.scales must be uint8 or float8_e8m0fnu .*, got int8"):
        mxref.from_gpt_oss({**t, "w.scales": torch.zeros((4, 1), dtype=torch.int8)}, "w")
    with pytest.raises(TypeError, match=r"w\.scales must be a uint8 or float8_e8m0fnu .* array.*bfloat16|w\.scales must be uint8"):
        mxref.from_gpt_oss({**t, "w.scales": torch.zeros((4, 1), dtype=torch.bfloat16)}, "w")
    if hasattr(torch, "float8_e8m0fnu"):  # E8M0 bytes are scales, not packed FP4 blocks
        with pytest.raises(TypeError, match=r"w\.blocks must be a uint8 array"):
            mxref.from_gpt_oss({**t, "w.blocks": torch.zeros((4, 1, 16), dtype=torch.float8_e8m0fnu)}, "w")
    with pytest.raises(TypeError, match=r"w\.blocks must be a uint8 array"):
        mxref.from_gpt_oss({**t, "w.blocks": torch.zeros((4, 1, 16), dtype=torch.uint8, device="meta")}, "w")
    with pytest.raises(TypeError, match=r"w\.blocks must be uint8, got <U"):
        mxref.from_gpt_oss({**t, "w.blocks": "blocks"}, "w")
    with pytest.raises(TypeError, match=r"w\.scales must be uint8.*got object|w\.scales must be a uint8"):
        mxref.from_gpt_oss({**t, "w.scales": [[1], [2, 3]]}, "w")


# ----- safetensors errors name the file (issue 12 §2) --------------------------------------------


def test_safetensors_library_errors_become_value_errors(tmp_path):
    pytest.importorskip("safetensors.numpy")
    import json
    import struct

    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(np.random.default_rng(3).integers(0, 256, 1000, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match=r"junk\.safetensors: cannot be read as a \.safetensors file \(SafetensorError"):
        mxref.load_safetensors(junk)
    # a header whose tensor runs past the end of the file; a header deeper than JSON parsers go
    past_end = json.dumps({"b": {"dtype": "U8", "shape": [400], "data_offsets": [0, 400]}}).encode()
    for name, header in (("past_end", past_end), ("deep", b'{"b": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
                         ("not_json", b"{not json")):
        f = tmp_path / f"{name}.safetensors"
        f.write_bytes(struct.pack("<Q", len(header)) + header + bytes(4))
        with pytest.raises(ValueError, match=fr"{name}\.safetensors: cannot be read as a \.safetensors file"):
            mxref.load_safetensors(f)
    # an MXFP4 pair of the wrong dtype: from_gpt_oss's error, with the file's name, same type
    import safetensors.numpy as stn

    pair = tmp_path / "pair.safetensors"
    stn.save_file({"w.blocks": np.zeros((1, 16), np.int8), "w.scales": np.zeros(1, np.uint8)}, str(pair))
    with pytest.raises(TypeError, match=r"pair\.safetensors: w\.blocks must be uint8"):
        mxref.load_safetensors(pair)
    with pytest.raises(FileNotFoundError):
        mxref.load_safetensors(tmp_path / "missing.safetensors")
    # writing: the library's errors name the file; bad metadata names the argument
    mx = mxref.from_gpt_oss(_hand_tensors(), "w")
    nowhere = tmp_path / "no" / "such" / "dir.safetensors"
    with pytest.raises(ValueError, match=r"dir\.safetensors: cannot be written as a \.safetensors file \(SafetensorError"):
        mxref.save_safetensors(nowhere, {"w": mx})
    with pytest.raises(ValueError, match=r"obj\.safetensors: cannot be written"):
        mxref.save_safetensors(tmp_path / "obj.safetensors", {"o": np.array([None, 1], dtype=object)})
    with pytest.raises(TypeError, match="metadata must be None or a dict of str to str"):
        mxref.save_safetensors(tmp_path / "m.safetensors", {"w": mx}, metadata={"step": 1})
    mxref.save_safetensors(tmp_path / "m.safetensors", {"w": mx}, metadata={"step": "1"})
    assert mxref.load_safetensors(tmp_path / "m.safetensors")["w"] == mx


# ----- what MXArray equality means (issue 12 §8) -------------------------------------------------


def test_gpt_oss_round_trip_is_equal(tmp_path):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 64)).astype(np.float32)
    for kw in ({}, {"scale_rule": "rceil", "rounding": "ties_away", "zero_scale": 5}):
        mx = mxref.quantize(x, "mxfp4", **kw)
        back = mxref.from_gpt_oss(mxref.to_gpt_oss(mx, "w"), "w")
        assert back.options == {} and mx.options != {}
        assert back == mx and mx == back  # the layout holds no options: none contradicts
        # a changed code is still a difference
        t = mxref.to_gpt_oss(mx, "w")
        t["w.blocks"][0, 0, 0] ^= 1
        assert mxref.from_gpt_oss(t, "w") != mx
    pytest.importorskip("safetensors.numpy")
    mxref.save_safetensors(tmp_path / "m.safetensors", {"w": mx})
    assert mxref.load_safetensors(tmp_path / "m.safetensors")["w"] == mx


def test_mxarray_equality_semantics():
    x = np.linspace(-3, 3, 64, dtype=np.float32).reshape(2, 32)
    a = mxref.quantize(x, "mxfp8_e4m3")
    b = mxref.quantize(x, "mxfp8_e4m3", scale_rule="rceil")  # same codes here, another rule recorded
    assert np.array_equal(a.scales, b.scales) and np.array_equal(a.elements, b.elements)
    bare = mxref.MXArray(a.format, 32, 1, a.shape, a.scales.copy(), a.elements.copy(), {})
    assert a != b  # an option both sides record, with different values
    assert a == bare and bare == b  # an option one side does not record is no difference
    partial = mxref.MXArray(a.format, 32, 1, a.shape, a.scales, a.elements, {"scale_rule": "floor"})
    assert partial == a and partial != b
    # the data itself always counts
    for change in (dict(scales=np.where(a.scales == 0, 1, a.scales - 1).astype(np.uint8)),
                   dict(elements=a.elements ^ np.uint8(1)), dict(block_size=16, scales=np.zeros((2, 2), np.uint8))):
        args = dict(format=a.format, block_size=32, axis=1, shape=a.shape, scales=a.scales,
                    elements=a.elements, options={})
        args.update(change)
        assert mxref.MXArray(**args) != bare
    assert mxref.MXArray(mxref.mx_format("mxint8"), 32, 1, a.shape, a.scales, a.elements, {}) != bare
    assert (a == "not an MXArray") is False
