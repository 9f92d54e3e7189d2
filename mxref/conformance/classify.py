"""Comparing a library's output with mxref's, case by case, and classifying every difference:
PASS, MISMATCH or IMPL_DEFINED:<ids> (the rules are :data:`~.model.IMPL_DEFINED_IDS`'s)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import decode
from ..formats import element_format
from .expected import nonpositive
from .model import (ID_BIT, IMPL, MISMATCH, PASS, Output, Target, element_of, scale_nan_code,
                    to_blocks)

def same64(a, b):
    """Bit-for-bit equality as float64 (float32 widens exactly); NaN equals NaN."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return (a.view(np.uint64) == b.view(np.uint64)) | (np.isnan(a) & np.isnan(b))


def decode_codes(codes, el):
    """(values float64, valid) of integer codes that may lie outside the format."""
    c = np.asarray(codes, np.int64)
    valid = (c >= 0) & (c < el.num_codes)
    tab = decode(np.arange(el.num_codes), el, np.float64)
    return tab[np.where(valid, c, 0)], valid




@dataclass
class Blocks:
    """A quantize batch laid out as blocks (N, k), with the comparison per block."""

    x: np.ndarray          # (N, k) inputs, dtype of the batch, padded with 0
    valid: np.ndarray      # (N, k)
    exp: dict
    got: dict
    cls: np.ndarray        # (N,) class
    ids: np.ndarray        # (N,) impl-defined id bits
    d_scale: np.ndarray    # (N,)
    d_elem: np.ndarray     # (N, k) element positions that differ (codes or values)


def block_view(out: Output, n: int, L: int, k: int) -> dict:
    d = {}
    if out.scales is not None:
        d["scale"] = np.asarray(out.scales, np.int64).reshape(-1)
    if out.codes is not None:
        d["code"] = to_blocks(np.asarray(out.codes, np.int64).reshape(n, L), k, 0)
    if out.values is not None:
        d["value"] = to_blocks(np.asarray(out.values, np.float64).reshape(n, L), k, 0.0)
    return d


def classify_blocks(target: Target, x: np.ndarray, exp: Output, got: Output, alts: dict) -> Blocks:
    """Class and impl-defined ids of every block (see IMPL_DEFINED_IDS for the rules)."""
    el = element_of(target)
    nan_code = scale_nan_code(target)
    k = target.block_size
    n, L = x.shape
    xb = to_blocks(x, k, x.dtype.type(0))
    valid = to_blocks(np.ones((n, L), bool), k, False)
    E = block_view(exp, n, L, k)
    G = block_view(got, n, L, k)
    N = xb.shape[0]
    xf = xb.astype(np.float64)
    isnan_x = np.isnan(xf) & valid
    has_nan = isnan_x.any(1)
    has_inf = (np.isinf(xf) & valid).any(1) & ~has_nan
    all_zero = ((xf == 0) | ~valid).all(1)
    has_sub = (valid & (xf != 0) & (np.abs(xf) < 2.0**-126)).any(1)
    regular = ~has_nan & ~has_inf & ~all_zero

    d_scale = G["scale"] != E["scale"] if "scale" in G else np.zeros(N, bool)
    zk = np.zeros((N, k), bool)
    d_code = (G["code"] != E["code"]) & valid if "code" in G else zk
    d_val = ~same64(G["value"], E["value"]) & valid if "value" in G else zk
    differs = d_scale | d_code.any(1) | d_val.any(1)

    # element-level explanations
    ev, _ = decode_codes(E["code"], el)
    zero_c = nanp_c = m128_c = zk
    if "code" in G:
        gv, gvalid = decode_codes(G["code"], el)
        zero_c = d_code & gvalid & (gv == 0) & (ev == 0)
        nanp_c = d_code & gvalid & np.isnan(gv) & np.isnan(ev)
    zero_v = d_val & (G["value"] == 0) & (E["value"] == 0) if "value" in G else zk
    m128_v = zk
    alt = alts.get("int8_minus128")
    if alt is not None:
        A = block_view(alt, n, L, k)
        if "code" in G:
            m128_c = d_code & (G["code"] == 0x80) & (A["code"] == 0x80)
        if "value" in G:
            m128_v = d_val & (A["code"] == 0x80) & same64(G["value"], A["value"])
    big_v = zk
    if "value" in G:
        # beyond float32: the value may overflow (±Inf), saturate (±max float32) or become NaN
        f32max = float(np.finfo(np.float32).max)
        gv_ = G["value"]
        big_v = (d_val & np.isfinite(E["value"]) & (np.abs(E["value"]) > f32max)
                 & (np.isnan(gv_) | ((np.signbit(gv_) == np.signbit(E["value"]))
                                     & (np.isinf(gv_) | (np.abs(gv_) == f32max)))))
    code_ok = ~d_code | zero_c | nanp_c | m128_c
    val_ok = ~d_val | zero_v | m128_v | big_v
    elem_ok = (code_ok & val_ok).all(1)
    elem_ids = (np.where((zero_c | zero_v).any(1), ID_BIT["signed_zero"], 0)
                | np.where((m128_c | m128_v).any(1), ID_BIT["int8_minus128"], 0)
                | np.where(nanp_c.any(1), ID_BIT["nan_payload"], 0)
                | np.where(big_v.any(1), ID_BIT["value_beyond_fp32"], 0))

    cls = np.where(differs, MISMATCH, PASS)
    ids = np.zeros(N, np.int64)

    # regular blocks: the scale must agree; flushing float32 subnormals is an open choice
    flush_eq = np.zeros(N, bool)
    fl = alts.get("fp32_subnormal_flush")
    if fl is not None:
        F = block_view(fl, n, L, k)
        flush_eq = has_sub.copy()
        for key in G:
            same = (G[key] == F[key]) if key != "value" else same64(G[key], F[key])
            flush_eq &= same.reshape(N, -1).all(1) if key != "scale" else same
    sel = regular & differs & flush_eq
    cls[sel], ids[sel] = IMPL, ID_BIT["fp32_subnormal_flush"]
    sel = regular & differs & ~flush_eq & ~d_scale & elem_ok
    cls[sel], ids[sel] = IMPL, elem_ids[sel]

    # all-zero blocks: any scale but NaN; zeros of either sign
    zs = all_zero & differs & elem_ok
    if "scale" in G:
        zs &= G["scale"] != nan_code
    cls[zs] = IMPL
    ids[zs] = np.where(d_scale[zs], ID_BIT["zero_block_scale"], 0) | elem_ids[zs]

    # NaN blocks
    if "scale" in G:
        got_nan_scale = G["scale"] == nan_code
    elif "value" in G:
        got_nan_scale = (np.isnan(G["value"]) | ~valid).all(1)
    else:
        got_nan_scale = np.ones(N, bool)
    vals_nan = (np.isnan(G["value"]) | ~valid).all(1) if "value" in G else np.ones(N, bool)
    nan_scale_both = (has_nan | has_inf) & (E["scale"] == nan_code) & differs & got_nan_scale & vals_nan
    sel = nan_scale_both & ~d_val.any(1)
    cls[sel], ids[sel] = IMPL, ID_BIT["nan_scale_elements"]
    carry = np.ones(N, bool)
    if "value" in G:
        carry &= (np.isnan(G["value"]) | ~isnan_x).all(1)
    if "code" in G:
        gv2, _ = decode_codes(G["code"], el)
        carry &= (np.isnan(gv2) | ~isnan_x).all(1)
    sel = has_nan & differs & ~got_nan_scale & carry
    cls[sel], ids[sel] = IMPL, ID_BIT["nan_block"]

    # blocks holding Inf (no NaN), other than element codes under a NaN scale in both
    sel = has_inf & differs & ~(nan_scale_both & ~d_val.any(1))
    cls[sel], ids[sel] = IMPL, ID_BIT["inf_block"]
    return Blocks(xb, valid, E, G, cls, ids, d_scale, d_code | d_val)


def classify_values(target: Target, x: np.ndarray, exp: Output, got: Output, alts: dict):
    """(class, ids) per value of an encode / encode_e8m0 batch."""
    g = np.asarray(got.codes, np.int64).reshape(-1)
    e = exp.codes.reshape(-1)
    d = g != e
    cls = np.where(d, MISMATCH, PASS)
    ids = np.zeros(g.shape, np.int64)
    if target.operation == "encode_e8m0":
        npos = nonpositive(x)
        cls[npos], ids[npos] = IMPL, ID_BIT["e8m0_nonpositive"]
        return cls, ids
    el = element_format(target.format)
    gv, gvalid = decode_codes(g, el)
    ev, _ = decode_codes(e, el)
    xf = np.asarray(x, np.float64)
    nan_fin = d & gvalid & np.isnan(xf) & (not el.has_nan) & (target.profile.nan is None)
    rules = [
        ("nan_into_finite", nan_fin),  # the expected code is only a placeholder there
        ("signed_zero", d & ~nan_fin & gvalid & (gv == 0) & (ev == 0)),
        ("nan_payload", d & gvalid & np.isnan(gv) & np.isnan(ev)),
    ]
    alt = alts.get("int8_minus128")
    if alt is not None:
        rules.append(("int8_minus128", d & (g == 0x80) & (alt.codes.reshape(-1) == 0x80)))
    for name, sel in rules:
        cls[sel] = IMPL
        ids[sel] |= ID_BIT[name]
    return cls, ids


def open_kind(target: Target, x: np.ndarray):
    """Per case (block or value): the impl-defined id when raising is an acceptable answer."""
    if target.operation == "quantize":
        k = target.block_size
        xb = to_blocks(x, k, x.dtype.type(0)).astype(np.float64)
        nan = np.isnan(xb).any(1)
        inf = np.isinf(xb).any(1) & ~nan
        return np.where(nan, ID_BIT["nan_block"], np.where(inf, ID_BIT["inf_block"], 0))
    xf = np.asarray(x, np.float64)
    if target.operation == "encode_e8m0":
        return np.where(nonpositive(xf), ID_BIT["e8m0_nonpositive"], 0)
    el = element_format(target.format)
    if not el.has_nan and target.profile.nan is None:
        return np.where(np.isnan(xf), ID_BIT["nan_into_finite"], 0)
    return np.zeros(xf.shape, np.int64)
