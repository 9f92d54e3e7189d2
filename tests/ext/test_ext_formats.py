"""Element formats beside MX v1.0 (FP4 E3M0, INT4, INT2; rows with extension=True) and the
MX-style formats on them (mxint4, mxint2, mxfp4_e3m0): values typed in from their definitions
(torchao's FP4 E3M0, microxcaling's int4 / int2), encode == the exact reference on every float16
of the interesting range, MX conversion fast == the exact Fraction block reference on Hypothesis
blocks, and microxcaling's int4 / int2 rule typed in."""

import math
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, note, strategies as st

import mxref
from mxref import reference
from mxref.options import INF_POLICIES, SCALE_RULES
from mxref.ext import EXT_MX_FORMATS, EXTENSION_FORMATS

EXT = ["fp4_e3m0", "int4", "int2"]
# Values of every code, typed in: E3M0 (bias 3, E = 0 is zero): codes 0-7 = 0, 2^-2 ... 2^4, 8-15
# their negatives (8 = -0); INT4: two's complement k, value k/4; INT2: two's complement k, value k.
VALUES = {
    "fp4_e3m0": [0, F(1, 4), F(1, 2), 1, 2, 4, 8, 16] + [-v for v in [0, F(1, 4), F(1, 2), 1, 2, 4, 8, 16]],
    "int4": [F(k, 4) for k in range(8)] + [F(k, 4) for k in range(-8, 0)],
    "int2": [0, 1, -2, -1],
}
MAX = {"fp4_e3m0": 16, "int4": F(7, 4), "int2": 1}
EMAX = {"fp4_e3m0": 4, "int4": 0, "int2": 0}


@pytest.mark.parametrize("name", EXT)
def test_rows_values_and_marks(name):
    f = mxref.element_format(name)
    assert f is EXTENSION_FORMATS[name] and f.extension and name not in mxref.ELEMENT_FORMATS
    assert all(not g.extension for g in mxref.FORMATS.values())
    got = mxref.decode(np.arange(f.num_codes), f, np.float64)
    assert [F(v) for v in got] == VALUES[name]
    assert [reference.decode_scalar(c, f) for c in range(f.num_codes)] == [float(v) for v in VALUES[name]]
    assert F(f.max) == MAX[name] and f.emax == EMAX[name] and F(f.min) == -MAX[name]
    if name == "fp4_e3m0":
        assert np.signbit(got[8]) and f.smallest_normal == 0.25 and f.smallest_subnormal is None


@pytest.mark.parametrize("alias, name", [("e3m0", "fp4_e3m0"), ("FP4_E3M0", "fp4_e3m0"),
                                         ("float4_e3m0", "fp4_e3m0"), ("INT4", "int4"), ("int2", "int2")])
def test_aliases(alias, name):
    assert mxref.element_format(alias) is EXTENSION_FORMATS[name]
    assert name in mxref.formats.format_names()


def _window_float16():
    """Every float16 with |x| in [2^-6, 2^6) or zero, both signs (the range where these formats
    round non-trivially), plus +-Inf."""
    c = np.arange(1 << 16, dtype=np.uint16)
    x = c.view(np.float16)
    a = np.abs(x.astype(np.float64))
    keep = ((a >= 2.0 ** -6) & (a < 64.0)) | (a == 0) | np.isinf(a)
    return x[keep]


@pytest.mark.parametrize("name", EXT)
def test_encode_equals_reference_on_every_float16_of_the_range(name):
    x = _window_float16()
    vals = [float(v) for v in x]
    rng = np.random.default_rng(3)
    rb = rng.integers(0, 256, x.size)
    checked = 0
    for rounding in mxref.ROUNDING_MODES:
        for allow in (False, True):
            kw = dict(rounding=rounding, int8_allow_minus128=allow)
            if rounding == "stochastic":
                kw.update(random_bit_count=8)
            fast = mxref.encode(x, name, random_bits=rb if rounding == "stochastic" else None, **kw)
            for i, v in enumerate(vals):
                r = int(rb[i]) if rounding == "stochastic" else None
                want = reference.encode_scalar(v, name, random_bits=r, **kw)
                assert fast[i] == want, (name, v, kw)
            checked += x.size
    assert checked == 2 * len(mxref.ROUNDING_MODES) * x.size and x.size == 2 * 12 * 1024 + 4


def test_e3m0_ties_go_to_the_even_code():
    # midpoints of consecutive E3M0 values: 0.125 (0 | 0.25), 0.375 (0.25 | 0.5), 0.75 (0.5 | 1),
    # 1.5, 3, 6, 12, 24 (16 | 32: 32 is past max, so it saturates to 16)
    x = np.array([0.125, 0.375, 0.75, 1.5, 3, 6, 12, 24])
    assert mxref.encode(x, "fp4_e3m0").tolist() == [0, 2, 2, 4, 4, 6, 6, 7]  # the even code
    assert mxref.encode(x, "fp4_e3m0", rounding="ties_away").tolist() == [1, 2, 3, 4, 5, 6, 7, 7]


def test_the_most_negative_code_is_an_option():
    # -2.0 is INT4 code 0x8 and INT2 code 0x2: produced only with int8_allow_minus128=True
    assert mxref.encode([-2.0], "int4").tolist() == [0x9] and mxref.encode([-2.0], "int2").tolist() == [0x3]
    assert mxref.encode([-2.0], "int4", int8_allow_minus128=True).tolist() == [0x8]
    assert mxref.encode([-2.0], "int2", int8_allow_minus128=True).tolist() == [0x2]


# ----- MX-style formats ---------------------------------------------------------------------------


def test_ext_mx_formats_resolve_and_are_not_mx_v1():
    for name, el in (("mxint4", "int4"), ("mxint2", "int2"), ("mxfp4_e3m0", "fp4_e3m0")):
        f = mxref.mx_format(name)
        assert f is EXT_MX_FORMATS[name] and f.element is mxref.element_format(el)
        assert mxref.mx_format(el) is f and f.block_size == 32 and f.scale is mxref.e8m0
        mx = mxref.quantize(np.ones(32, np.float32), name)
        assert not mx.is_mx_v1 and "not MX v1.0" in repr(mx)
    assert mxref.quantize(np.ones(32, np.float32), "mxint8").is_mx_v1
    assert "mxint4" not in mxref.MX_FORMATS  # the MX v1.0 table stays the spec's
    with pytest.raises(ValueError, match="mxint4"):
        mxref.mx_format("mxint3")


def test_float32_path_masks_negative_integer_codes():
    """The float32 fast path writes two's complement in the format's 4 (2) bits."""
    x = np.array([-1.75, -0.25, 1.0, -1.0] * 8, np.float32)
    mx = mxref.quantize(x, "mxint4")  # amax 1.75: scale 2^0; codes -7 -> 0x9, -1 -> 0xF, 4, -4 -> 0xC
    assert mx.scales.tolist() == [127] and mx.elements[:4].tolist() == [0x9, 0xF, 0x4, 0xC]
    mx = mxref.quantize(x, "mxint2")  # scale 2^0: -1.75 -> -1 (0x3; -2 unused), -0.25 -> 0, 1 -> 1
    assert mx.elements[:4].tolist() == [0x3, 0x0, 0x1, 0x3]
    assert mxref.quantize(x.astype(np.float64), "mxint4") == mxref.quantize(x, "mxint4")


# per-element strategies built once, not in every draw (same strategies in the same order: the same
# examples under the derandomized ci profile); _MIDS: midpoints of each format's non-negative grid
_SIGNS = st.sampled_from([1, -1])
_ZEROS = st.sampled_from([0.0, -0.0])
_FRAC = st.floats(0, 1)
_SPECIAL = st.sampled_from([math.nan, math.inf, -math.inf, -0.0])


def _midpoints(values):
    grid = sorted({abs(float(v)) for v in values})
    return st.sampled_from([(a + b) / 2 for a, b in zip(grid, grid[1:])])


_MIDS = {name: _midpoints(v) for name, v in VALUES.items()}


@st.composite
def ext_blocks(draw):
    """One block's values for an extension MX format, drawn around the boundaries (as
    tests/test_conversion.py does for the spec formats)."""
    fmt = EXT_MX_FORMATS[draw(st.sampled_from(sorted(EXT_MX_FORMATS)))]
    el = fmt.element
    n = draw(st.integers(1, 40))
    k = draw(st.integers(-140, 135))
    kind = draw(st.sampled_from(["pow2", "below", "clip", "ties", "random", "tiny", "zeros", "special"]))
    top = {"pow2": 1.0, "below": 1 - 2.0 ** -24}.get(kind)
    if kind == "clip":
        top = draw(st.floats(el.max / 2.0 ** el.emax, 2.0, exclude_max=True))
    elif top is None:
        top = draw(st.floats(1.0, 2.0, exclude_max=True))
    amax = math.ldexp(top, k if kind != "tiny" else draw(st.integers(-160, -120)))
    if kind == "ties":
        mids = _MIDS[el.name]
        vals = [draw(mids) * 2.0 ** k * draw(_SIGNS) for _ in range(n)]
        vals.append(2.0 ** (el.emax + k))
    elif kind == "zeros":
        vals = [draw(_ZEROS) for _ in range(n)]
    else:
        vals = [amax * draw(_FRAC) * draw(_SIGNS) for _ in range(n - 1)]
        vals.insert(draw(st.integers(0, n - 1)), amax * draw(_SIGNS))
    if kind == "special" or draw(st.integers(0, 9)) == 0:
        vals[draw(st.integers(0, len(vals) - 1))] = draw(_SPECIAL)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    with np.errstate(over="ignore", under="ignore"):
        return fmt, np.array(vals, np.float64).astype(dtype)


@given(ext_blocks(), st.sampled_from(SCALE_RULES), st.sampled_from(list(mxref.ROUNDING_MODES)),
       st.sampled_from(INF_POLICIES), st.booleans(), st.booleans(), st.data())
def test_mx_conversion_fast_equals_exact_block_reference(fb, rule, rounding, inf_policy, flush, allow, data):
    fmt, x = fb
    kw = dict(scale_rule=rule, rounding=rounding, inf_policy=inf_policy, flush_subnormals=flush,
              int8_allow_minus128=allow)
    rb = None
    if rounding == "stochastic":
        n = data.draw(st.sampled_from([1, 8, 32]))
        rb = np.array(data.draw(st.lists(st.integers(0, (1 << n) - 1), min_size=x.size, max_size=x.size)), np.uint64)
        kw.update(random_bit_count=n)
    note(f"{fmt.name} {x.dtype} {[float(v).hex() for v in x]} {kw}")
    mx = mxref.quantize(x, fmt, block_size=x.size, random_bits=rb, **kw)
    s, codes = reference.quantize_block_scalar(x.tolist(), fmt, random_bits=None if rb is None else rb.tolist(), **kw)
    assert int(mx.scales[0]) == s and mx.elements.tolist() == codes
    v64 = mx.dequantize(np.float64)
    for c, v in zip(codes, v64.tolist()):
        if s == 0xFF:
            assert math.isnan(v)
        else:
            sign, mag = reference.decode_exact(c, fmt.element)
            assert F(v) == (-1 if sign else 1) * mag * F(2) ** (s - 127)


@pytest.mark.parametrize("name, q", [("mxint4", 4), ("mxint2", 1)])
def test_microxcaling_int_rule(name, q):
    """microxcaling (mx/mx_ops.py _quantize_mx, elemwise_ops.py _quantize_elemwise_core with
    exp_bits 0, round "nearest"): se = floor(log2 amax) (emax 0); element =
    sign * floor(|x| / 2^se * 2^(bits-2) + 1/2) / 2^(bits-2), clamped to +-max_norm. Typed in
    here with exact float64 steps (exponent from frexp, not log2)."""
    rng = np.random.default_rng(8)
    x = (rng.standard_normal((64, 32)) * np.exp2(rng.integers(-20, 20, (64, 1)))).astype(np.float32)
    # a block of ties: amax < 2 gives se = 0, and these are odd multiples of half a quantum
    ties = [0.125, 0.375, 0.625, 0.875, 1.125, 1.375, 1.625, 1.875] if q == 4 else [0.5, 1.5]
    x[0] = np.resize(np.array(ties), 32) * np.where(np.arange(32) % 3 == 0, -1, 1)
    mx = mxref.quantize(x, name, rounding="ties_away")
    got = mx.dequantize(np.float64)
    max_norm = {4: 1.75, 1: 1.0}[q]
    x64 = x.astype(np.float64)
    amax = np.abs(x64).max(axis=1, keepdims=True)
    se = np.frexp(amax)[1] - 1
    y = x64 / np.exp2(se) * q
    want = np.clip(np.sign(y) * np.floor(np.abs(y) + 0.5) / q, -max_norm, max_norm) * np.exp2(se)
    assert np.array_equal(got, want)


# ----- tools/fp_format_spec.py: the separate group ------------------------------------------------


def _spec_tool():
    from mxref import tables  # `mxref formats`; tools/fp_format_spec.py is its wrapper

    return tables


def test_fp_format_spec_prints_the_extensions_apart(capsys):
    tool = _spec_tool()
    assert [f.name for f in tool.extension_formats()] == EXT + ["fp8_e4m3fnuz", "fp8_e5m2fnuz"]
    assert [r[0] for r in tool.summary_rows()] == [f.name for f in tool.all_formats()]  # spec only
    rows = {r[0]: r for r in tool.summary_rows(tool.extension_formats())}
    # max, smallest normal, finite values: typed in from the definitions
    assert rows["fp4_e3m0"][7] == "16" and rows["fp4_e3m0"][8] == "2^-2 = 0.25" and rows["fp4_e3m0"][12] == "16"
    assert rows["int4"][7] == "1.75 (7/4)" and rows["int2"][7] == "1" and rows["int2"][12] == "4"
    assert tool.main([]) == 0
    out = capsys.readouterr().out
    head, sep, tail = out.partition(tool.EXTENSIONS_TITLE)
    assert sep and "int4" not in head and "fp4_e3m0" not in head and "e8m0" not in tail
    assert "not MX v1.0: microxcaling int4" in tail
    assert tool.main(["--all", "fp4_e3m0"]) == 0
    out = capsys.readouterr().out
    values = [line.split("|")[4].strip() for line in out.splitlines() if line.startswith("| 0x")]
    assert [F(v) for v in values] == VALUES["fp4_e3m0"]
    for name in EXT:  # the tool's own field decoder agrees with mxref's reference
        f = mxref.element_format(name)
        for c in range(f.num_codes):
            cls, sign, mag = tool.decode_fields(c, f)
            assert (-mag if sign else mag) == VALUES[name][c]
