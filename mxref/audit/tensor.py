"""The audit of one MX tensor (one Dask task): structural checks, and with a source the
re-quantization with mxref, the comparison block by block and the diagnosed cause.

A result is a dict: ``{"tensor", "layout", "shape", "blocks", "errors": [...], "warnings": [...],
"info": {...}, "compare": {...} or None}``; ``errors`` non-empty means the tensor fails.
Each error is ``{"cause": <id>, "detail": <text>}``; the cause ids:

  wrong_block_size     the scales do not hold one byte per 32 elements
  shape                the two tensors do not fit together (or not the source)
  nan_scale            0xFF (E8M0 NaN) scale codes: whole blocks decode to NaN
  poisoned_padding     non-zero codes past the source's last column / row
  scale_offset         every differing block's scale is off by one constant d (bias 127 + d)
  nibble_order         the element codes match with the two nibbles of each byte swapped
  transposed           the codes match the source blocked along its other axis
  scale_rule           the codes match another scale rule / rounding (named)
  isolated_scales      a few blocks' scales differ, their elements equal
  elements             element codes differ (no model above explains it)
"""

from __future__ import annotations

import numpy as np

from .layouts import TensorFile

__all__ = ["audit_tensor", "CAUSES"]

CAUSES = ("wrong_block_size", "shape", "nan_scale", "poisoned_padding", "scale_offset", "nibble_order",
          "transposed", "scale_rule", "isolated_scales", "elements")
_BLOCK = 32
_SHOW = 5


def _err(cause, detail):
    return {"cause": cause, "detail": detail}


def _unpack(packed: np.ndarray, swap: bool = False) -> np.ndarray:
    """uint8 [..., n] -> codes [..., 2n] (low nibble first; ``swap``: high nibble first)."""
    lo, hi = packed & 0x0F, packed >> 4
    pair = (hi, lo) if swap else (lo, hi)
    return np.stack(pair, axis=-1).reshape(packed.shape[:-1] + (2 * packed.shape[-1],))


def _read(tf: TensorFile, layout, ck, sk):
    """(packed bytes [..., K/2], scales [..., G], errors)."""
    packed, scales = np.asarray(tf.raw(ck)), np.asarray(tf.raw(sk))
    errors = []
    if packed.dtype != np.uint8 or scales.dtype != np.uint8:
        errors.append(_err("shape", f"{ck} / {sk} must be uint8 (or F8_E8M0) bytes, got "
                                    f"{tf.dtype(ck)} / {tf.dtype(sk)}"))
        return None, None, errors
    if layout.grouped:
        if packed.ndim < 2:
            errors.append(_err("shape", f"{ck} must be [..., G, 16], got {packed.shape}"))
            return None, None, errors
        per = packed.shape[-1] * 2
        if packed.shape[:-1] != scales.shape:
            if packed.shape[:-2] == scales.shape[:-1] and scales.shape[-1] and \
                    (packed.shape[-2] * per) % scales.shape[-1] == 0:
                bs = packed.shape[-2] * per // scales.shape[-1]
                errors.append(_err("wrong_block_size", f"{sk} has {scales.shape[-1]} scales per row for "
                                                       f"{packed.shape[-2] * per} elements: block size {bs}, not 32"))
            else:
                errors.append(_err("shape", f"{sk} shape {scales.shape} does not fit {ck} shape {packed.shape}"))
        elif per != _BLOCK:
            errors.append(_err("wrong_block_size", f"{ck} has {per} elements per block (last axis {packed.shape[-1]} "
                                                   f"bytes): block size {per}, not 32"))
        packed = packed.reshape(packed.shape[:-2] + (packed.shape[-2] * packed.shape[-1],))
    else:
        if packed.shape[:-1] != scales.shape[:-1]:
            errors.append(_err("shape", f"{sk} shape {scales.shape} does not fit {ck} shape {packed.shape}"))
        elif scales.shape[-1] * (_BLOCK // 2) != packed.shape[-1]:
            k = packed.shape[-1] * 2
            bs = k / scales.shape[-1] if scales.shape[-1] else float("inf")
            errors.append(_err("wrong_block_size", f"{sk} has {scales.shape[-1]} scales per row for {k} elements: "
                                                   f"block size {bs:g}, not 32"))
    return packed, scales, errors


def _structure(codes, scales, res):
    """Checks that need no source: NaN scales, the elements' use of the range, scale spread."""
    nan = int((scales == 0xFF).sum())
    if nan:
        idx = np.argwhere(scales == 0xFF)[:_SHOW].tolist()
        res["errors"].append(_err("nan_scale", f"{nan} scale codes are 0xFF (NaN: the whole block decodes to NaN), "
                                               f"first at {idx}"))
    blocks = codes.reshape(scales.shape + (_BLOCK,))
    amax_code = (blocks & 0x7).max(axis=-1)
    nz = amax_code > 0
    hist = np.bincount(amax_code[nz].ravel(), minlength=8)
    res["info"]["block_amax_code_histogram"] = {int(c): int(n) for c, n in enumerate(hist) if n}
    if nz.any():
        # floor rule: a non-zero block's largest |element| is code 6 (4.0) or 7 (6.0)
        low = nz & (amax_code < 6)
        res["info"]["blocks_below_floor_range"] = int(low.sum())
        if low.sum() * 2 > nz.sum():
            res["warnings"].append(f"{int(low.sum())} of {int(nz.sum())} non-zero blocks use at most code "
                                   f"{int(np.median(amax_code[nz]))} as their largest element: the scales look larger "
                                   "than the floor rule's (another scale rule, or an offset)")
        valid = nz & (scales != 0xFF)
        if valid.any():
            e2m1 = np.array([0, -1, 0, 0.585, 1, 1.585, 2, 2.585])  # log2 of the E2M1 magnitudes (0.5 -> -1)
            lg = scales[valid].astype(np.int64) - 127 + e2m1[amax_code[valid]]
            res["info"]["log2_block_amax"] = {"min": float(lg.min()), "median": float(np.median(lg)),
                                              "max": float(lg.max())}
    res["info"]["scale_codes"] = {"min": int(scales.min()), "max": int(scales.max())} if scales.size else {}


def _quantize(src, scale_rule, rounding, block=_BLOCK):
    from ..conversion import quantize

    mx = quantize(src, "mxfp4_e2m1", axis=-1, block_size=block, scale_rule=scale_rule, rounding=rounding)
    return np.asarray(mx.elements), np.asarray(mx.scales)


def _pad_to(codes, shape):
    out = np.zeros(shape, np.uint8)
    out[tuple(slice(0, n) for n in codes.shape)] = codes
    return out


def _match(codes, scales, ecodes, escales, rows):
    """(blocks equal, elements-equal mask, scales-equal mask) over the source's rows."""
    g = escales.shape[-1]
    c = codes[..., : rows, : g * _BLOCK].reshape(escales.shape + (_BLOCK,))
    e = ecodes.reshape(escales.shape + (_BLOCK,))
    el_eq = (c == e).all(axis=-1)
    sc_eq = scales[..., :rows, :g] == escales
    return int((el_eq & sc_eq).sum()), el_eq, sc_eq


def _compare(tf_src, src_name, codes, scales, profile, res):
    scale_rule, rounding = profile
    src = tf_src.values(src_name)
    cmp = res["compare"] = {"source": src_name, "profile": {"scale_rule": scale_rule, "rounding": rounding}}
    if src.ndim != codes.ndim or src.shape[:-2] != codes.shape[:-2]:
        res["errors"].append(_err("shape", f"source {src_name} shape {src.shape} does not fit {codes.shape}"))
        return
    if src.shape[-1] > codes.shape[-1] or src.shape[-2] > codes.shape[-2]:
        # maybe blocked along the other axis
        if src.ndim >= 2 and src.shape[-1] <= codes.shape[-2] and src.shape[-2] <= codes.shape[-1]:
            ec, es = _quantize(np.swapaxes(src, -1, -2), scale_rule, rounding)
            rows = ec.shape[-2]
            eq, _, _ = _match(codes, scales, _pad_to(ec, ec.shape[:-1] + (es.shape[-1] * _BLOCK,)), es, rows)
            if eq == es.size:
                res["errors"].append(_err("transposed", f"the codes are the source's transpose, blocked along "
                                                        f"axis -2 of {src.shape}: every block matches"))
                return
        res["errors"].append(_err("shape", f"source {src_name} shape {src.shape} is larger than the codes {codes.shape}"))
        return
    rows, K = src.shape[-2], src.shape[-1]
    # padding: columns past K, rows past the source's rows
    pad_cols = codes[..., :rows, K:]
    pad_rows = codes[..., rows:, :]
    bad = int(np.count_nonzero(pad_cols)) + int(np.count_nonzero(pad_rows))
    if bad:
        where = "columns" if np.count_nonzero(pad_cols) else "rows"
        res["errors"].append(_err("poisoned_padding", f"{bad} non-zero element codes in the padding ({where} past the "
                                                      f"source's {rows} x {K}); padding must be code 0 (+0)"))
        codes = codes.copy()  # the blocks are compared on the source's elements only
        codes[..., :rows, K:] = 0
    ec, es = _quantize(src, scale_rule, rounding)
    ec = _pad_to(ec, ec.shape[:-1] + (es.shape[-1] * _BLOCK,))
    if es.shape[-1] > scales.shape[-1]:
        res["errors"].append(_err("shape", f"the source needs {es.shape[-1]} blocks per row, the checkpoint has "
                                           f"{scales.shape[-1]}"))
        return
    eq, el_eq, sc_eq = _match(codes, scales, ec, es, rows)
    n = es.size
    cmp.update({"blocks": n, "equal": eq, "different": n - eq})
    if eq == n:
        return
    diff = ~(el_eq & sc_eq)
    # nibble order
    swapped = _unpack(_repack(codes), swap=True)
    eq_sw, _, _ = _match(swapped, scales, ec, es, rows)
    cmp["sniff"] = {"nibbles_swapped_equal": eq_sw}
    if eq_sw > eq:
        res["errors"].append(_err("nibble_order", f"{eq_sw} of {n} blocks match with each byte's nibbles swapped "
                                                  f"(high nibble first), {eq} as stored"))
        return
    # scales only
    s_got = scales[..., :rows, : es.shape[-1]].astype(np.int64)
    d = (s_got - es.astype(np.int64))[diff]
    if el_eq[diff].all():
        vals = np.unique(d)
        nonzero_blocks = int((ec.reshape(es.shape + (_BLOCK,)) != 0).any(axis=-1).sum())
        if len(vals) == 1 and diff.sum() >= max(2, nonzero_blocks // 2):
            off = int(vals[0])
            detail = f"every differing block ({int(diff.sum())} of {n}) has its scale off by {off:+d}: bias {127 + off}, not 127"
            m = _model_confirms(src, codes, scales, rows, f"scale_code_offset={off}", profile)
            if m:
                detail += f" (mxref.models {m} reproduces every block)"
            res["errors"].append(_err("scale_offset", detail))
            return
        idx = np.argwhere(diff)[:_SHOW]
        ex = [f"block {tuple(int(i) for i in ix)}: 0x{int(s_got[tuple(ix)]):02x} expected 0x{int(es[tuple(ix)]):02x}"
              for ix in idx]
        res["errors"].append(_err("isolated_scales", f"{int(diff.sum())} of {n} blocks have a different scale, their "
                                                     f"elements equal: {'; '.join(ex)}"))
        return
    # other scale rules / roundings
    from ..options import SCALE_RULES

    best = None
    for rule in SCALE_RULES:
        for rnd in ("rne", "ties_away", "toward_zero"):
            if (rule, rnd) == (scale_rule, rounding):
                continue
            c2, s2 = _quantize(src, rule, rnd)
            e2, _, _ = _match(codes, scales, _pad_to(c2, c2.shape[:-1] + (s2.shape[-1] * _BLOCK,)), s2, rows)
            if best is None or e2 > best[0]:
                best = (e2, rule, rnd)
    cmp["sniff"]["best_profile"] = {"scale_rule": best[1], "rounding": best[2], "equal": best[0]}
    if best[0] == n:
        res["errors"].append(_err("scale_rule", f"every block matches scale_rule={best[1]}, rounding={best[2]} "
                                                f"({eq} of {n} match {scale_rule}/{rounding})"))
        return
    idx = np.argwhere(diff)[:_SHOW].tolist()
    res["errors"].append(_err("elements", f"{n - eq} of {n} blocks differ (element codes), first at {idx}; the best "
                                          f"other profile {best[1]}/{best[2]} matches {best[0]}"))


def _repack(codes):
    return (codes[..., 0::2] | (codes[..., 1::2] << 4)).astype(np.uint8)


def _model_confirms(src, codes, scales, rows, model, profile):
    """The model id if mxref.models is importable and reproduces every block with it, else None."""
    try:
        from ..models import quantize_model  # issue 14; optional
    except ImportError:
        return None
    try:
        mx = quantize_model(src, "mxfp4_e2m1", axis=-1, block_size=_BLOCK, scale_rule=profile[0],
                            rounding=profile[1], models=[model])
    except Exception:  # pragma: no cover - a model that does not apply
        return None
    es = np.asarray(mx.scales)
    ec = _pad_to(np.asarray(mx.elements), es.shape[:-1] + (es.shape[-1] * _BLOCK,))
    eq, _, _ = _match(codes, scales, ec, es, rows)
    return model if eq == es.size else None


def audit_tensor(layout, name, path, ck, sk, source=None, profile=("floor", "rne")) -> dict:
    """Audit one tensor (module doc); ``source``: a .safetensors path (or None)."""
    tf = TensorFile(path)
    res = {"tensor": name, "layout": layout.name, "file": path, "errors": [], "warnings": [], "info": {},
           "compare": None}
    packed, scales, errs = _read(tf, layout, ck, sk)
    res["errors"] += errs
    if packed is None:
        return res
    codes = _unpack(packed)
    res["shape"] = list(codes.shape)
    res["blocks"] = int(scales.size)
    if any(e["cause"] in ("wrong_block_size", "shape") for e in errs):
        return res
    _structure(codes, scales, res)
    if source is not None:
        src_name = name + layout.source_suffix
        srcs = [TensorFile(p) for p in source]
        tf_src = next((t for t in srcs if src_name in t.tensors), None)
        if tf_src is None:
            res["warnings"].append(f"no source tensor {src_name!r}: not compared")
        else:
            _compare(tf_src, src_name, codes, scales, profile, res)
    return res
