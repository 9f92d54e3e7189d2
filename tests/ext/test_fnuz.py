"""The FNUZ FP8 rows (extension, not MX v1.0): fp8_e4m3fnuz (bias 8) and fp8_e5m2fnuz (bias 16),
no Inf, no -0, the one NaN at 0x80 (the -0 code). Decode and encode against the definition
(typed here from the bit fields, Fractions) and against ml_dtypes' float8_e4m3fnuz /
float8_e5m2fnuz on every code and every float32 of the bfloat16 and float16 grids."""

from fractions import Fraction as F

import numpy as np
import pytest

import mxref
from mxref import reference
from mxref.ext import EXTENSION_FORMATS, fp8_e4m3fnuz, fp8_e5m2fnuz

from peer_versions import finding

ROWS = {"fp8_e4m3fnuz": (4, 3, 8, 240.0), "fp8_e5m2fnuz": (5, 2, 16, 57344.0)}


def definition(code, eb, mb, bias):
    """The value of a code from the FNUZ definition: 0x80 NaN, else sign-magnitude with
    subnormals at E = 0 and the all-ones exponent an ordinary binade."""
    if code == 0x80:
        return "nan"
    s, e, m = code >> 7, (code >> mb) & ((1 << eb) - 1), code & ((1 << mb) - 1)
    mag = F(m, 1 << mb) * F(2) ** (1 - bias) if e == 0 else (1 + F(m, 1 << mb)) * F(2) ** (e - bias)
    return -mag if s else mag


@pytest.mark.parametrize("name", list(ROWS))
def test_row_fields_and_registry(name):
    eb, mb, bias, mx = ROWS[name]
    f = mxref.element_format(name)
    assert f is EXTENSION_FORMATS[name] and f.extension and name not in mxref.ELEMENT_FORMATS
    assert f in (fp8_e4m3fnuz, fp8_e5m2fnuz)
    assert (f.exponent_bits, f.mantissa_bits, f.bias) == (eb, mb, bias)
    assert f.nan_codes == (0x80,) and f.inf_codes == () and not f.has_inf and f.has_nan
    assert not f.has_negative_zero and f.code_of_max == 0x7F and f.max == mx and f.emin == 1 - bias
    assert f.num_finite == 255
    assert mxref.element_format(name.replace("fp8_", "float8_")) is f
    assert mxref.element_format(name.replace("fp8_", "")) is f


@pytest.mark.parametrize("name", list(ROWS))
def test_decode_every_code_against_the_definition(name):
    eb, mb, bias, _ = ROWS[name]
    got = mxref.decode(np.arange(256), name, np.float64)
    for c in range(256):
        want = definition(c, eb, mb, bias)
        if want == "nan":
            assert np.isnan(got[c]) and np.isnan(reference.decode_scalar(c, name))
        else:
            assert F(float(got[c])) == want and F(reference.decode_scalar(c, name)) == want, hex(c)


def _grid(kind):
    u = np.arange(1 << 16, dtype=np.uint32)
    if kind == "bfloat16":
        return (u << 16).view(np.float32)
    return u.astype(np.uint16).view(np.float16).astype(np.float32)


def _nearest(x, name, overflow):
    """RNE of every finite value to the row from the definition (table of the 255 finite
    values, both signs), overflow per OFP8 Table 3 style: NaN or +-max."""
    eb, mb, bias, mx = ROWS[name]
    codes = [c for c in range(256) if c != 0x80]
    vals = np.array([float(definition(c, eb, mb, bias)) for c in codes])
    order = np.argsort(vals, kind="stable")
    v, cs = vals[order], np.array(codes)[order]
    out = np.empty(x.shape, np.int64)
    fin = np.isfinite(x)
    xf = x[fin].astype(np.float64)
    i = np.clip(np.searchsorted(v, xf), 1, len(v) - 1)
    lo, hi = v[i - 1], v[i]
    dlo, dhi = xf - lo, hi - xf
    even_hi = (cs[i] & 1) == 0
    pick_hi = (dhi < dlo) | ((dhi == dlo) & even_hi)
    r = np.where(pick_hi, cs[i], cs[i - 1])
    r = np.where(xf <= v[0], cs[0], np.where(xf >= v[-1], cs[-1], r))
    # beyond max: the midpoint to the next binade value (max + ulp/2) decides
    ulp = 2.0 ** (int(np.floor(np.log2(mx))) - mb)
    over = np.abs(xf) >= mx + ulp / 2
    if overflow == "nonsaturating":
        r = np.where(over, 0x80, r)
    r = np.where(xf == 0, 0, r)  # -0 has no code: +0
    out[fin] = r
    out[~fin] = 0x80 if overflow == "nonsaturating" else 0
    if overflow == "saturate":
        out[np.isinf(x)] = np.where(x[np.isinf(x)] > 0, 0x7F, 0xFF)
    out[np.isnan(x)] = 0x80
    return out


@pytest.mark.parametrize("grid", ["bfloat16", "float16"])
@pytest.mark.parametrize("name", list(ROWS))
@pytest.mark.parametrize("overflow", ["saturate", "nonsaturating"])
def test_encode_every_grid_float32_against_the_definition(name, grid, overflow):
    x = _grid(grid)
    got = mxref.encode(x, name, overflow=overflow)
    want = _nearest(x, name, overflow)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, [(float(x[i]), int(got[i]), int(want[i])) for i in bad[:5]]
    assert 0x80 not in got[~np.isnan(x) & np.isfinite(x) & (np.abs(x) < ROWS[name][3])]  # no -0


def test_encode_reference_agrees_on_a_sample():
    rng = np.random.default_rng(17)
    x = np.concatenate([rng.standard_normal(300) * 2.0 ** rng.integers(-20, 18, 300),
                        [0.0, -0.0, -1e-30, 1e-30, 240.0, 247.9, 248.0, -248.0, np.inf, -np.inf, np.nan]])
    for name in ROWS:
        for ov in ("saturate", "nonsaturating"):
            got = mxref.encode(x, name, overflow=ov)
            for v, g in zip(x, got):
                assert reference.encode_scalar(float(v), name, overflow=ov) == g, (name, ov, v)


@pytest.mark.parametrize("grid", ["bfloat16", "float16"])
@pytest.mark.parametrize("name", list(ROWS))
def test_ml_dtypes_on_every_code_and_grid_float32(name, grid):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    behaviour = finding("ml_dtypes", "fnuz")
    assert behaviour == "equal_nonsaturating"
    dt = getattr(ml_dtypes, name.replace("fp8_", "float8_"))
    codes = np.arange(256, dtype=np.uint8)
    theirs = codes.view(dt).astype(np.float64)
    ours = mxref.decode(codes, name, np.float64)
    assert np.array_equal(theirs, ours, equal_nan=True)
    x = _grid(grid)
    with np.errstate(over="ignore", invalid="ignore"):
        got_ml = x.astype(dt).view(np.uint8)
    assert np.array_equal(got_ml, mxref.encode(x, name, overflow="nonsaturating"))


def test_format_tables_list_them_with_the_extensions():
    from mxref import tables

    assert [f.name for f in tables.extension_formats()][-2:] == list(ROWS)
    rows = {r[0]: r for r in tables.summary_rows(tables.extension_formats())}
    for name, (eb, mb, bias, mx) in ROWS.items():
        r = rows[name]
        assert r[7] == str(int(mx)) and r[10] == "none" and r[11].startswith("0x80") and r[12] == "255"
        f = mxref.element_format(name)
        for c in range(256):  # the tables' own field decoder agrees with the definition
            cls, sign, mag = tables.decode_fields(c, f)
            want = definition(c, eb, mb, bias)
            assert (cls == "nan") if want == "nan" else ((-mag if sign else mag) == want)
