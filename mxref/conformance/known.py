"""MISMATCH classes seen before in peer libraries, keyed by the version range they were seen on
(:data:`KNOWN_DIFFERENCES`): a matching MISMATCH line gets a ``[known: ...]`` note on those
versions only."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import encode, mx_format
from .model import NVFP4

def version_tuple(v: str) -> tuple:
    """The leading numeric release of a version string ("0.18.0 (torch 2.13.0+cpu)" -> (0, 18, 0));
    () when it has none."""
    import re

    m = re.match(r"\s*(\d+(?:\.\d+)*)", str(v))
    return tuple(int(p) for p in m.group(1).split(".")) if m else ()


@dataclass(frozen=True)
class KnownDifference:
    """A MISMATCH class seen in a peer library, keyed by the version range it was observed on: a
    MISMATCH line that ``match`` recognises from its data, on a version in [low, high) (tuples;
    None: unbounded), gets the note ``[known: <label>: <text>]``; on other versions it is left
    as found (a new release may have fixed it, or changed it). ``observed``: the versions it was
    seen on; ``fixed_in``: the first version seen without it, if any."""

    library: str
    id: str
    low: tuple | None
    high: tuple | None
    observed: str
    text: str
    match: object = field(compare=False, repr=False)
    fixed_in: str | None = None

    def applies(self, version: str) -> bool:
        v = version_tuple(version)
        return bool(v) and (self.low is None or v >= self.low) and (self.high is None or v < self.high)

    @property
    def label(self) -> str:
        dot = lambda t: ".".join(map(str, t))  # noqa: E731
        if self.low is not None and self.high is not None and len(self.low) == 2 and \
                self.high == (self.low[0], self.low[1] + 1):
            rng = f"{dot(self.low)}.x"
        elif self.low is None:
            rng = f"< {dot(self.high)}" if self.high is not None else "any version"
        else:
            rng = f">= {dot(self.low)}" + (f", < {dot(self.high)}" if self.high is not None else "")
        return f"{self.library} {rng} (seen on {self.observed})"


def _hex_value(h: str) -> float:
    u = np.uint32 if len(h) == 10 else np.uint64
    return float(np.array([int(h, 16)], u).view(np.float32 if u is np.uint32 else np.float64)[0])


def _hex_block(hs) -> np.ndarray:
    if len(hs[0]) == 10:
        return np.array([int(h, 16) for h in hs], np.uint32).view(np.float32)
    return np.array([int(h, 16) for h in hs], np.uint64).view(np.float64)


def _kd_ml_float64_twice(d) -> bool:
    """encode from float64: the code of float32(x), not of x (rounded twice)."""
    import re

    if d.get("operation") != "encode" or "from=float64" not in d.get("modes", "") or "got" not in d:
        return False
    m = re.search(r"overflow=(\w+)", d["modes"])
    with np.errstate(all="ignore"):
        via32 = encode(np.array([_hex_value(d["input_hex"])], np.float64).astype(np.float32), d["format"],
                       nan="zero", overflow=m.group(1) if m else "saturate")
    return int(via32[0]) == d["got"] != d["expected"]


def _kd_ml_e8m0_below_1p5(d) -> bool:
    """encode_e8m0 of a float32 in (2^-127, 1.5 * 2^-127): 2^-126 (code 1) for 2^-127 (code 0)."""
    if d.get("operation") != "encode_e8m0" or "got" not in d:
        return False
    v = _hex_value(d["input_hex"])
    return 2.0**-127 < v < 1.5 * 2.0**-127 and d["got"] == 1 and d["expected"] == 0


def _kd_gf_e8m0_below(d) -> bool:
    if d.get("operation") != "encode_e8m0" or "got" not in d:
        return False
    return _hex_value(d["input_hex"]) < 2.0**-127 and d["got"] != 0


def _kd_gf_float64_log2(d) -> bool:
    """quantize from float64: amax = 2^e (2 - 2^-52) (fraction all ones), scale one too large."""
    if d.get("operation") != "quantize" or "scale" not in d.get("got", {}):
        return False
    x = _hex_block(d["input_hex"])
    if x.dtype != np.float64:
        return False
    a = np.abs(x[np.isfinite(x)])
    if not a.size:
        return False
    frac = int(a.max().view(np.uint64)) & ((1 << 52) - 1)
    return frac == (1 << 52) - 1 and d["got"]["scale"] == d["expected"]["scale"] + 1


def _kd_ta_scale0_min_normal(d) -> bool:
    """FLOOR / CEIL / EVEN: scale code 0 written, the elements divided by 2^-126."""
    if d.get("operation") != "quantize" or d.get("format") == NVFP4 or d.get("profile") == "rceil-rne":
        return False
    g = d.get("got", {})
    if g.get("scale") != 0 or d["expected"]["scale"] != 0 or "codes" not in g:
        return False
    x = _hex_block(d["input_hex"]).astype(np.float64)
    return g["codes"] == encode(np.ldexp(x, 126), mx_format(d["format"]).element).tolist()


def _kd_ta_rceil_code0(d) -> bool:
    """RCEIL: scale code 0 applied as a factor 1.0."""
    if d.get("operation") != "quantize" or d.get("profile") != "rceil-rne":
        return False
    g = d.get("got", {})
    if g.get("scale") != 0 or "codes" not in g:
        return False
    x = _hex_block(d["input_hex"]).astype(np.float64)
    return g["codes"] == encode(x, mx_format(d["format"]).element).tolist()


def _kd_ta_rceil_log2(d) -> bool:
    """RCEIL: ceil(log2(amax / max)) in float32 -- one short just above a power of two."""
    if d.get("operation") != "quantize" or d.get("profile") != "rceil-rne":
        return False
    g = d.get("got", {})
    if "scale" not in g or g["scale"] != d["expected"]["scale"] - 1 or g["scale"] == 0:
        return False
    x = _hex_block(d["input_hex"]).astype(np.float64)
    a = np.abs(x[np.isfinite(x)])
    if not a.size:
        return False
    with np.errstate(all="ignore"):
        q = np.float32(a.max()) / np.float32(mx_format(d["format"]).element.max)
        return bool(np.ceil(np.log2(q)) == g["scale"] - 127 and q > np.float32(2.0 ** (g["scale"] - 127)))


def _kd_ta_nvfp4_zero_tensor(d) -> bool:
    """NVFP4 per_tensor_amax_to_scale of an all-zero tensor: P = 0, scale 0xFF."""
    if d.get("format") != NVFP4 or d.get("profile") != "nvfp4-pts_amax":
        return False
    return d.get("got", {}).get("scale") == 0xFF and bool((_hex_block(d["input_hex"]) == 0).all())


#: What the tests found in the peer libraries (tests/test_conformance.py), by the version range it
#: was observed on. ml_dtypes 0.7.0 fixed both of its entries (seen: level 1 reports no MISMATCH).
KNOWN_DIFFERENCES = (
    KnownDifference("ml_dtypes", "float64_rounded_twice", None, (0, 7), "0.6.0",
                    "float64 casts round to float32 first, then to the element format (double rounding)",
                    _kd_ml_float64_twice, fixed_in="0.7.0"),
    KnownDifference("ml_dtypes", "e8m0_below_1.5x2^-127", None, (0, 7), "0.6.0",
                    "float32 values in (2^-127, 1.5 * 2^-127) cast to E8M0 2^-126 although 2^-127 is nearer",
                    _kd_ml_e8m0_below_1p5, fixed_in="0.7.0"),
    KnownDifference("gfloat", "e8m0_below_2^-127", (0, 5), (0, 6), "0.5.2",
                    "E8M0 rounding of values below 2^-127 gives codes outside 0..254", _kd_gf_e8m0_below),
    KnownDifference("gfloat", "float64_floor_log2", (0, 5), (0, 6), "0.5.2",
                    "compute_scale_amax takes floor(log2(amax)) in floating point: a float64 amax "
                    "2^k (2 - 2^-52) gives k + 1 (the scale one too large)", _kd_gf_float64_log2),
    KnownDifference("torchao", "scale0_divides_by_2^-126", (0, 18), (0, 19), "0.18.0",
                    "a block with scale code 0 (2^-127) has its elements divided by 2^-126 (FLOOR, CEIL, EVEN)",
                    _kd_ta_scale0_min_normal),
    KnownDifference("torchao", "rceil_code0_as_1", (0, 18), (0, 19), "0.18.0",
                    "RCEIL applies scale code 0 as a factor 1.0", _kd_ta_rceil_code0),
    KnownDifference("torchao", "rceil_float32_log2", (0, 18), (0, 19), "0.18.0",
                    "RCEIL takes ceil(log2(amax / max)) in float32: just above a power of two the scale "
                    "is one short", _kd_ta_rceil_log2),
    KnownDifference("torchao", "nvfp4_zero_tensor", (0, 18), (0, 19), "0.18.0",
                    "NVFP4 per_tensor_amax_to_scale of an all-zero tensor divides by P = 0 (scale 0xFF)",
                    _kd_ta_nvfp4_zero_tensor),
)


def known_difference(library: str, version: str, data: dict):
    """The KnownDifference a MISMATCH line's data is, on this library version; None if none."""
    for kd in KNOWN_DIFFERENCES:
        if kd.library == library and kd.applies(version):
            try:
                if kd.match(data):
                    return kd
            except (KeyError, TypeError, ValueError, IndexError):
                continue
    return None


def known_differences_note(library: str, version: str) -> str | None:
    """A run note when the library has recorded differences but none for this version."""
    mine = [kd for kd in KNOWN_DIFFERENCES if kd.library == library]
    if not mine or any(kd.applies(version) for kd in mine):
        return None
    rec = "; ".join(f"{kd.label}: {kd.text}" + (f" (fixed in {kd.fixed_in})" if kd.fixed_in else "") for kd in mine)
    return (f"{library} {version}: no known differences are recorded for this version, so every MISMATCH "
            f"shown is unexplained here (recorded for other versions: {rec})")


def annotate_known(adapter, results, notes: list) -> None:
    """Add the version-keyed known-difference note to each MISMATCH line it explains."""
    if not adapter.has_known_differences:
        return
    try:
        version = adapter.version()
    except Exception:  # pragma: no cover - an adapter without a readable version
        return
    for r in results:
        for line in r.mismatch_lines:
            kd = known_difference(adapter.name, version, line.data)
            if kd is not None:
                line.text += f" [known: {kd.label}: {kd.text}]"
                line.data["known_difference"] = {"id": kd.id, "versions": kd.label, "text": kd.text}
    note = known_differences_note(adapter.name, version) if results else None
    if note:
        notes.append(note)


# ----- issue 16: the CPU-installable MX ecosystem (seen at level 1 and 2; causes from the code) ----


def _kd_onnx_e8m0_subnormal_up(d) -> bool:
    """Cast to FLOAT8E8M0 round_mode="up": any float32 subnormal (even <= 2^-127) gives code 1."""
    if d.get("operation") != "encode_e8m0" or d.get("got") != 1 or d.get("expected") != 0:
        return False
    v = _hex_value(d["input_hex"])
    return 0 < v < 2.0**-126 and "rounding=ceil" in d.get("modes", "")


def _kd_onnx_e8m0_subnormal_nearest(d) -> bool:
    """round_mode="nearest": a subnormal above 2^-127 gives code 1 (rule mantissa > 0x400000)."""
    if d.get("operation") != "encode_e8m0" or d.get("got") != 1 or d.get("expected") != 0:
        return False
    v = _hex_value(d["input_hex"])
    return 2.0**-127 < v < 2.0**-126 and "rounding=ties_up" in d.get("modes", "")


def _kd_onnx_e8m0_inf_nan(d) -> bool:
    """+Inf cast to E8M0 with saturate=1 gives 0xFF (NaN), not 0xFE."""
    return d.get("operation") == "encode_e8m0" and d.get("got") == 0xFF and \
        _hex_value(d["input_hex"]) == float("inf")


def _kd_ort_fp8_ignores_saturate0(d) -> bool:
    """Cast saturate=0 to FP8: |x| in [480, 496) gives E4M3 +-max (the test also takes E5M2 +-max)."""
    return d.get("operation") == "encode" and "overflow=nonsaturating" in d.get("modes", "") and \
        d.get("format", "").startswith("fp8") and "got" in d and (d["got"] & 0x7F) in (0x7E, 0x7B) and \
        abs(_hex_value(d["input_hex"])) > (448 if d["format"] == "fp8_e4m3" else 57344)


def _kd_ort_fp8_e5m2_overflow_nan(d) -> bool:
    """E5M2 saturate=0: overflow gives NaN (read back through a Cast to FLOAT), not +-Inf."""
    return d.get("operation") == "encode" and d.get("format") == "fp8_e5m2" and \
        "overflow=nonsaturating" in d.get("modes", "") and d.get("got", 0) & 0x7F in (0x7D, 0x7E, 0x7F) and \
        (d.get("expected", 0) & 0x7F) == 0x7C


def _kd_ort_float64_via_f32(d) -> bool:
    """Cast from DOUBLE to FP8: rounded to float32 first (double rounding)."""
    return _kd_ml_float64_twice(d)


def _kd_ort_e8m0_nonsat_tiny(d) -> bool:
    """E8M0 saturate=0: values below 2^-127 or above 2^127 are NaN (0xFF)."""
    return d.get("operation") == "encode_e8m0" and "overflow=nonsaturating" in d.get("modes", "") and \
        d.get("got") == 0xFF and (0 < _hex_value(d["input_hex"]) < 2.0**-126 or
                                  2.0**127 < _hex_value(d["input_hex"]) < float("inf"))


def _kd_ct_nan_amax(d) -> bool:
    """a block holding NaN gets scale code 127 (2^0), not 0xFF."""
    if d.get("operation") != "quantize" or d.get("got", {}).get("scale") != 127:
        return False
    return bool(np.isnan(_hex_block(d["input_hex"])).any())


def _kd_ct_nan_amax0(d) -> bool:
    """a block holding NaN gets scale code 0 (2^-127), not 0xFF."""
    if d.get("operation") != "quantize" or d.get("format") == NVFP4 or d.get("got", {}).get("scale") != 0:
        return False
    return bool(np.isnan(_hex_block(d["input_hex"])).any())


def _kd_ct_even_carry(d) -> bool:
    """amax rounded half-up overflows to Inf (amax >= 1.75 * 2^127): scale 127, elements NaN."""
    if d.get("operation") != "quantize" or d.get("got", {}).get("scale") != 127:
        return False
    a = np.abs(_hex_block(d["input_hex"]).astype(np.float64))
    return bool(np.isfinite(a).all() and a.max() >= 1.75 * 2.0**127)


def _kd_ct_fp8_e2m1_mantissa(d) -> bool:
    """MXFP8: the amax is rounded with E2M1's 1 mantissa bit, not E4M3's 3: one step high."""
    if d.get("operation") != "quantize" or d.get("format") != "mxfp8_e4m3":
        return False
    g = d.get("got", {})
    if g.get("scale") != d["expected"]["scale"] + 1:
        return False
    a = np.abs(_hex_block(d["input_hex"]).astype(np.float64))
    a = a[np.isfinite(a)]
    m, _ = np.frexp(a.max())
    return 0.875 <= m * 1.0 < 0.96875  # mantissa in [1.75, 1.9375): half-up at 1 bit, not at 3


def _kd_mo_rceil_log2(d) -> bool:
    """ceil(log2(fp32(amax / M))) in float32: one short just above a power of two, or the quotient
    rounding to 2^-127 (code 0 for 1)."""
    if d.get("operation") != "quantize" or "rule=rceil" not in d.get("modes", ""):
        return False
    g = d.get("got", {})
    return "scale" in g and g["scale"] == d["expected"]["scale"] - 1


def _kd_mo_fp4_ties_toward_zero(d) -> bool:
    """MXFP4 cast_fp4: |x| on a midpoint rounds toward zero (strict '>' against the bounds)."""
    if d.get("operation") != "quantize" or d.get("format") != "mxfp4_e2m1" or "codes" not in d.get("got", {}):
        return False
    g, e = d["got"], d["expected"]
    if g.get("scale", e["scale"]) != e["scale"]:
        return False
    diff = [(a & 7, b & 7) for a, b in zip(g["codes"], e["codes"]) if a != b and (a & 7 or b & 7)]
    return bool(diff) and all(a == b - 1 for a, b in diff)


def _kd_mo_nvfp4_nan_block(d) -> bool:
    """NVFP4QTensor: a block holding NaN gets a NaN scale of either sign (0x7F or 0xFF) and every
    element code 7 (cast_fp4 of a NaN quotient)."""
    if d.get("operation") != "quantize" or d.get("format") != NVFP4:
        return False
    g = d.get("got", {})
    return g.get("scale") in (0x7F, 0xFF) and set(g.get("codes", [])) == {7} and \
        bool(np.isnan(_hex_block(d["input_hex"])).any())


def _kd_ct_nvfp4_nan_negative(d) -> bool:
    """compressed-tensors NVFP4: a block holding NaN gets the negative E4M3 NaN 0xFF, its elements
    as modelled."""
    if d.get("operation") != "quantize" or d.get("format") != NVFP4:
        return False
    g, e = d.get("got", {}), d.get("expected", {})
    return (g.get("scale") == 0xFF and e.get("scale") == 0x7F
            and g.get("codes", e.get("codes")) == e.get("codes")
            and bool(np.isnan(_hex_block(d["input_hex"])).any()))


def _kd_mo_nvfp4_underflow_one(d) -> bool:
    """NVFP4QTensor: a non-zero block whose float32 scale quotient underflows to 0 gets scale 1.0
    (code 0x38; its elements all zero either way)."""
    if d.get("operation") != "quantize" or d.get("format") != NVFP4:
        return False
    g = d.get("got", {})
    x = _hex_block(d["input_hex"]).astype(np.float64)
    return g.get("scale") == 0x38 and d["expected"]["scale"] == 0x01 and \
        set(g.get("codes", [0])) <= {0, 8} and bool(np.isfinite(x).all() and (x != 0).any())


def _kd_mo_nvfp4_zero_tensor(d) -> bool:
    """NVFP4 per-tensor scale of an all-zero tensor: P = 0, every block scale 0 / 0 (NaN)."""
    if d.get("format") != NVFP4 or d.get("profile") != "nvfp4-pts_amax":
        return False
    return d.get("got", {}).get("scale") in (0x7F, 0xFF) and bool((_hex_block(d["input_hex"]) == 0).all())


def _kd_mo_nan_scale0(d) -> bool:
    """a NaN block: scale code 0 (NaN E cast to uint8), not 0xFF."""
    if d.get("operation") != "quantize" or d.get("got", {}).get("scale") != 0 or d["expected"]["scale"] != 0xFF:
        return False
    return bool(np.isnan(_hex_block(d["input_hex"])).any())


KNOWN_DIFFERENCES = KNOWN_DIFFERENCES + (
    KnownDifference("onnx", "e8m0_up_subnormal_code1", (1, 22), (1, 24), "1.22.0, 1.23.2",
                    "numpy_helper.to_float8e8m0 round_mode='up' adds 1 to the exponent field of every float32 "
                    "with a non-zero mantissa, so subnormals <= 2^-127 give 2^-126", _kd_onnx_e8m0_subnormal_up),
    KnownDifference("onnx", "e8m0_nearest_subnormal", (1, 22), (1, 24), "1.22.0, 1.23.2",
                    "to_float8e8m0 round_mode='nearest' rounds a subnormal up iff its mantissa > 0x400000 "
                    "(lsb = exponent > 0): (2^-127, 1.5 * 2^-127) gives 2^-126", _kd_onnx_e8m0_subnormal_nearest),
    KnownDifference("onnx", "e8m0_inf_is_nan", (1, 22), (1, 24), "1.22.0, 1.23.2",
                    "to_float8e8m0 maps exponent field 0xFF (Inf and NaN) to 0xFF whatever saturate says",
                    _kd_onnx_e8m0_inf_nan),
    KnownDifference("onnxruntime", "fp8_saturate0_saturates", (1, 32), (1, 33), "1.32.0",
                    "Cast(saturate=0) to FLOAT8E4M3FN gives +-448 for |x| in [480, 496), not NaN (float8.h "
                    "Float8E4M3FN: the code 0x7F is lowered to 0x7E, NaN only on a round-up)",
                    _kd_ort_fp8_ignores_saturate0),
    KnownDifference("onnxruntime", "e5m2_overflow_nan", (1, 32), (1, 33), "1.32.0",
                    "Cast(saturate=0) to FLOAT8E5M2 gives NaN for |x| in [61440, 65536), not +-Inf (float8.h "
                    "Float8E5M2: the round-up ORs 0x7C into 0x7B; read back as FLOAT)",
                    _kd_ort_fp8_e5m2_overflow_nan),
    KnownDifference("onnxruntime", "double_via_float32", (1, 32), (1, 33), "1.32.0",
                    "Cast from DOUBLE to FP8 rounds to float32 first (double rounding)", _kd_ort_float64_via_f32),
    KnownDifference("onnxruntime", "e8m0_inf_is_nan", (1, 32), (1, 33), "1.32.0",
                    "Float8E8M0 of +Inf is 0xFF (NaN)", _kd_onnx_e8m0_inf_nan),
    KnownDifference("onnxruntime", "e8m0_nonsat_tiny_nan", (1, 32), (1, 33), "1.32.0",
                    "Cast(saturate=0) to FLOAT8E8M0 gives NaN (0xFF) for a value below 2^-127 or above 2^127, "
                    "whatever the round_mode",
                    _kd_ort_e8m0_nonsat_tiny),
    KnownDifference("compressed_tensors", "nan_amax_scale_127", (0, 20), (0, 21), "0.20.1",
                    "round_to_power_2 turns a NaN amax into +Inf; where the uint8 cast of the exponent keeps it "
                    "(255, scale 2^128 = Inf), compress_mx_scale's int32 cast of floor(log2(Inf)) stores code 127, "
                    "not 0xFF", _kd_ct_nan_amax),
    KnownDifference("compressed_tensors", "nan_amax_scale_0", (0, 20), (0, 21), "0.20.1",
                    "the same NaN amax where torch's vectorised CPU cast of the Inf exponent to uint8 gives 0 "
                    "(seen where the count of groups is a multiple of 16; 127 elsewhere): scale 2^-127, code 0, not 0xFF",
                    _kd_ct_nan_amax0),
    KnownDifference("compressed_tensors", "even_carry_to_inf", (0, 20), (0, 21), "0.20.1",
                    "round_to_power_2 carries amax >= 1.75 * 2^127 into exponent 0xFF (Inf): scale 127, "
                    "elements NaN", _kd_ct_even_carry),
    KnownDifference("compressed_tensors", "mxfp8_rounds_amax_at_e2m1", (0, 20), (0, 21), "0.20.1",
                    "generate_mx_scales rounds the MXFP8 amax with E2M1's mantissa width (1 bit): amax mantissa "
                    "in [1.75, 1.9375) gets a scale one step high", _kd_ct_fp8_e2m1_mantissa),
    KnownDifference("compressed_tensors", "nvfp4_nan_scale_0xff", (0, 20), (0, 21), "0.20.1",
                    "NVFP4 calculate_qparams: torch's vectorised CPU min / max against zeros turn a group's NaN "
                    "amax into the NaN 0xFFFFFFFF (sign set), cast to E4M3 as 0xFF, not 0x7F", _kd_ct_nvfp4_nan_negative),
    KnownDifference("modelopt", "rceil_float32_log2", (0, 47), (0, 48), "0.47.0",
                    "E = ceil(log2(fp32(amax / M))) in float32: one short just above M * 2^k, and code 0 for 1 "
                    "where the quotient rounds to 2^-127", _kd_mo_rceil_log2),
    KnownDifference("modelopt", "fp4_ties_toward_zero", (0, 47), (0, 48), "0.47.0",
                    "MXFP4QTensor cast_fp4 counts bounds strictly below |x|: every E2M1 tie rounds toward zero",
                    _kd_mo_fp4_ties_toward_zero),
    KnownDifference("modelopt", "nan_block_scale0", (0, 47), (0, 48), "0.47.0",
                    "MXFP4QTensor: a NaN amax gives E = NaN, cast to uint8 as code 0 (elements: cast_fp4 codes NaN "
                    "as 0x8)", _kd_mo_nan_scale0),
    KnownDifference("modelopt", "nvfp4_nan_block", (0, 47), (0, 48), "0.47.0",
                    "NVFP4QTensor: a block holding NaN gets the E4M3 NaN of either sign (0xFF where the "
                    "division's NaN is negative; not an unsigned scale code) and element codes 7 (cast_fp4 "
                    "counts every bound below a NaN)", _kd_mo_nvfp4_nan_block),
    KnownDifference("modelopt", "nvfp4_underflow_scale_1", (0, 47), (0, 48), "0.47.0",
                    "NVFP4QTensor: a block scale quotient fp32(amax / fp32(6 P)) that underflows to 0 is set "
                    "to 1.0 (code 0x38) before the clamp to 2^-9 (values zero either way)",
                    _kd_mo_nvfp4_underflow_one),
    KnownDifference("modelopt", "nvfp4_zero_tensor", (0, 47), (0, 48), "0.47.0",
                    "NVFP4 get_weights_scaling_factor_2 of an all-zero tensor is P = 0: every block scale "
                    "0 / 0 = NaN", _kd_mo_nvfp4_zero_tensor),
)


def _kd_qk_block(d):
    """(x float64, got values float64) of a value-only quantize line; None when it is not one."""
    if d.get("operation") != "quantize" or "values" not in d.get("got", {}):
        return None
    x = _hex_block(d["input_hex"]).astype(np.float64)
    return x, np.array([float(v) for v in d["got"]["values"]], np.float64)


def _kd_qk_even_inf(d) -> bool:
    """FP formats: amax rounded half up at the element's mantissa width reaches 2^128 (float32
    Inf): scale code 0xFE (log2(Inf) clamped to 127), not 128 - emax + 127."""
    if d.get("operation") != "quantize" or d.get("format") == "mxint8" or d.get("got", {}).get("scale") != 0xFE:
        return False
    if d["expected"]["scale"] == 0xFE:
        return False
    a = np.abs(_hex_block(d["input_hex"]).astype(np.float64))
    m = mx_format(d["format"]).element.mantissa_bits
    return bool(np.isfinite(a).all() and a.max() >= 2.0**127 * (2 - 2.0 ** -(m + 1)))


def _kd_qk_int8_model(x) -> np.ndarray:
    """The values Quark 0.13's MXINT8 gives (the catalogue's models, run here bit for bit)."""
    from ..models import quantize_model

    mx = quantize_model(x[None, :], "mxint8", block_size=x.size, scale_rule="even",
                        models=("scale_even_mbits=8", "scale_int8_quantum_min_normal"))
    return np.asarray(mx.dequantize(np.float64), np.float64).reshape(-1)


def _kd_qk_int8_8bits(d) -> bool:
    """MXINT8: amax rounded at 8 mantissa bits, not INT8's 6 -- the leading 7 fraction bits of
    the float32 amax are ones, not all 9 (mxref's rule carries, Quark's does not): scale one
    step low, the values the model's."""
    if d.get("format") != "mxint8":
        return False
    xg = _kd_qk_block(d)
    if xg is None:
        return False
    x, got = xg
    a = np.abs(x[np.isfinite(x)])
    if not a.size or a.max() == 0:
        return False
    frac = int(np.float32(a.max()).view(np.uint32)) & 0x7FFFFF
    top9 = frac >> 14
    if not (top9 >> 2 == 0x7F and top9 != 0x1FF) or a.max() < 2.0**-126:
        return False
    return bool((_kd_qk_int8_model(x) == got).all())


def _kd_qk_int8_tiny(d) -> bool:
    """MXINT8 blocks with scale 2^E, E < -120: the quantum 2^E / 64 is clamped to 2^-126 in torch's
    fake quantization, so the values are multiples of 2^-126 (0 or +-2^-126 for |x| < 1.5 * 2^-126)."""
    if d.get("format") != "mxint8":
        return False
    xg = _kd_qk_block(d)
    if xg is None:
        return False
    x, got = xg
    a = np.abs(x[np.isfinite(x)])
    if not a.size or not 0 < a.max() < 2.0**-120:
        return False
    return bool((_kd_qk_int8_model(x) == got).all())


KNOWN_DIFFERENCES = KNOWN_DIFFERENCES + (
    KnownDifference("quark", "even_carry_to_inf", (0, 13), (0, 14), "0.13",
                    "utils.py even_round adds 1 << (22 - mbits) to amax's float32 bits: amax >= 2^127 * "
                    "(2 - 2^-(mbits+1)) carries into exponent 0xFF (Inf), log2 - emax clamps to 127: scale 0xFE, "
                    "values 2^127 * P (+-Inf where |P| >= 2)", _kd_qk_even_inf),
    KnownDifference("quark", "mxint8_amax_rounded_at_8_bits", (0, 13), (0, 14), "0.13",
                    "even_round rounds the MXINT8 amax at get_dtype_params(int8) mbits = 8, not INT8's 6 fraction "
                    "bits: amax with fraction in [1 - 2^-7, 1 - 2^-9) gets a scale one step low",
                    _kd_qk_int8_8bits),
    KnownDifference("quark", "mxint8_tiny_scale_quantum_2^-126", (0, 13), (0, 14), "0.13",
                    "fake_quantize_mx passes scale / 64 to fake_quantize_per_channel_affine, which clamps it to "
                    "float32's smallest normal: blocks with scale below 2^-120 are quantized in steps of 2^-126",
                    _kd_qk_int8_tiny),
)
