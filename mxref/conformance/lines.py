"""Report lines: one reported case as TestFloat-like text and the same facts as data, and
:func:`parse_line`, which reads the text back."""

from __future__ import annotations

import numpy as np

from .. import decode
from ..formats import element_format
from .classify import same64
from .expected import nonpositive
from .model import CLASS_NAMES, ERROR, ID_BIT, IMPL, MISMATCH, NVFP4, Line, Target, element_of

def hex_str(v, dt) -> str:
    dt = np.dtype(dt)
    u = {2: np.uint16, 4: np.uint32, 8: np.uint64}[dt.itemsize]
    return f"0x{int(np.asarray(v, dt).view(u)):0{2 * dt.itemsize}X}"


def val_str(v, dt=np.float64) -> str:
    dt = np.dtype(dt)
    v = np.asarray(v, dt)
    if np.isnan(v):
        return "nan"
    if v == 0:
        return "-0" if np.signbit(v) else "0"
    return str(dt.type(v)) if np.dtype(dt) != np.float64 else repr(float(v))


def scale_str(c, target: Target | None = None) -> str:
    c = int(c)
    if target is not None and target.format == NVFP4:  # unsigned E4M3 (mxref.ext.nvfp4)
        if c == 0x7F:
            return "0x7F(NaN)"
        if 0 <= c < 0x7F:
            return f"0x{c:02X}({val_str(decode(np.array([c]), 'fp8_e4m3', np.float64)[0])})"
        return f"{c}(not an unsigned E4M3 code)"
    if c == 0xFF:
        return "0xFF(NaN)"
    if 0 <= c < 0xFF:
        return f"0x{c:02X}(2^{c - 127})"
    return f"{c}(not an E8M0 code)"


def code_str(c, el) -> str:
    c = int(c)
    if not 0 <= c < el.num_codes:
        return f"{c}(not a {el.name} code)"
    v = decode(np.array([c]), el, np.float64)[0]
    return f"0x{c:02X}({val_str(v)})"


def code_is_zero(c, el) -> bool:
    c = int(c)
    return 0 <= c < el.num_codes and decode(np.array([c]), el, np.float64)[0] == 0


def input_str(xb, dt, limit: int = 8, focus=()) -> str:
    """The non-zero inputs of a block, the largest magnitude and the ``focus`` ones first."""
    nz = [i for i in range(len(xb)) if not (xb[i] == 0)]
    if len(nz) > limit:
        mag = np.abs(np.asarray(xb, np.float64))
        first = [int(np.nanargmax(np.where(np.isnan(mag), np.inf, mag)))] + [int(i) for i in focus]
        shown = list(dict.fromkeys(i for i in first if i in nz))[:limit]
        shown += [i for i in nz if i not in shown][: limit - len(shown)]
        nz = sorted(shown) + [i for i in nz if i not in shown]
    items = [f"x[{i}]={hex_str(xb[i], dt)}({val_str(xb[i], dt)})" for i in nz[:limit]]
    if len(nz) > limit:
        items.append(f"+{len(nz) - limit} more non-zero")
    zeros = len(xb) - len(nz)
    if zeros:
        neg = int(np.signbit(np.asarray(xb, np.float64)[[i for i in range(len(xb)) if xb[i] == 0]]).sum())
        items.append(f"{zeros} zeros" + (f" ({neg} of them -0)" if neg else ""))
    return " ".join(items) if items else "(empty)"




def class_label(cls: int, ids: int) -> str:
    if cls == IMPL:
        return "IMPL_DEFINED:" + "+".join(n for n, b in ID_BIT.items() if ids & b)
    if cls == MISMATCH:
        return "MISMATCH"
    if cls == ERROR:
        return "ERROR"
    return CLASS_NAMES[cls].upper()


def strict_note(strict_ids: int) -> str:
    if not strict_ids:
        return ""
    return " [strict: " + "+".join(n for n, b in ID_BIT.items() if strict_ids & b) + "]"


def block_line(target: Target, library: str, label: str, xb, exp: dict, got: dict, note: str = "",
                error: str | None = None, extra: dict | None = None) -> Line:
    """A quantize case: the block's non-zero inputs, the scale, and the elements that differ."""
    el = element_of(target)
    dt = xb.dtype
    focus = [i for i in range(len(xb))
             if ("code" in got and int(got["code"][i]) != int(exp["code"][i]))
             or ("value" in got and not same64(got["value"][i], exp["value"][i]))]
    head = (f"{label} quantize {target.format} {target.profile.name} ({target.modes}) "
            f"in[{len(xb)}]: {input_str(xb, dt, focus=focus[:3])}")
    data = dict(cls=label, library=library, operation="quantize", format=target.format,
                profile=target.profile.name, modes=target.modes, block_len=int(len(xb)),
                input_hex=[hex_str(v, dt) for v in xb], expected={}, got={})
    parts = []
    es = int(exp["scale"])
    data["expected"]["scale"] = es
    if error is not None:
        parts.append(f"raised {error}")
        data["error"] = error
    elif "scale" in got:
        gs = int(got["scale"])
        data["got"]["scale"] = gs
        parts.append(f"scale {scale_str(gs, target)}" if gs == es else
                     f"scale got {scale_str(gs, target)} expected {scale_str(es, target)}")
    else:
        parts.append(f"scale expected {scale_str(es, target)}")
    data["expected"]["codes"] = [int(c) for c in exp["code"]]
    data["expected"]["values"] = [val_str(v) for v in exp["value"]]
    if error is None:
        if "code" in got:
            data["got"]["codes"] = [int(c) for c in got["code"]]
        if "value" in got:
            data["got"]["values"] = [val_str(v) for v in got["value"]]
        diff, zero_only = [], []
        for i in range(len(xb)):
            dc = "code" in got and int(got["code"][i]) != int(exp["code"][i])
            dv = "value" in got and not same64(got["value"][i], exp["value"][i])
            if dc or dv:
                gz = ("value" not in got or got["value"][i] == 0) and (
                    "code" not in got or code_is_zero(got["code"][i], el))
                (zero_only if gz and exp["value"][i] == 0 else diff).append(i)
        diff += zero_only  # zeros of the other sign last
        for i in diff[:4]:
            g_s = []
            e_s = []
            if "code" in got:
                g_s.append(code_str(got["code"][i], el))
            e_s.append(code_str(exp["code"][i], el))
            if "value" in got:
                g_s.append("=" + val_str(got["value"][i]))
            e_s.append("=" + val_str(exp["value"][i]))
            parts.append(f"[{i}] got {''.join(g_s)} expected {''.join(e_s)}")
        if len(diff) > 4:
            parts.append(f"+{len(diff) - 4} more elements differ")
        data["differing_elements"] = diff
    if extra:
        data.update(extra)
    return Line(label, head + " | " + " | ".join(parts) + note, data)


def value_line(target: Target, library: str, label: str, x, exp_code, got_code, note: str = "",
                error: str | None = None) -> Line:
    """An encode / encode_e8m0 case."""
    dt = np.asarray(x).dtype
    head = (f"{label} {target.operation} {target.format} {target.profile.name} ({target.modes}) "
            f"in: {hex_str(x, dt)}({val_str(x, dt)})")
    if target.operation == "encode_e8m0":
        fmt_code = scale_str
        exp_s = "(none: no E8M0 value)" if nonpositive(np.asarray(x)) else fmt_code(exp_code)
    else:
        el = element_format(target.format)
        fmt_code = lambda c: code_str(c, el)  # noqa: E731
        exp_s = fmt_code(exp_code)
    data = dict(cls=label, library=library, operation=target.operation, format=target.format,
                profile=target.profile.name, modes=target.modes, input_hex=hex_str(x, dt),
                input=val_str(x, dt), expected=int(exp_code))
    if error is not None:
        body = f"raised {error}"
        data["error"] = error
    else:
        body = f"got {fmt_code(got_code)} expected {exp_s}"
        data["got"] = int(got_code)
    return Line(label, head + " | " + body + note, data)


_LINE_RE = None


def parse_line(text: str) -> dict:
    """Fields of a report line: class, operation, format, profile, modes, input, rest. Raises
    ValueError when the line is not one."""
    import re

    global _LINE_RE
    if _LINE_RE is None:
        _LINE_RE = re.compile(
            r"^(?P<cls>MISMATCH|ERROR|IMPL_DEFINED:[a-z0-9_]+(?:\+[a-z0-9_]+)*) "
            r"(?P<operation>quantize|encode|encode_e8m0|decode|dequantize|pack|swizzle_scales|matmul) "
            r"(?P<format>\S+) (?P<profile>\S+) "
            r"\((?P<modes>[^()]*)\) in(?:\[(?P<block_len>\d+)\])?: (?P<input>.+?) \| (?P<rest>.+)$")
    m = _LINE_RE.match(text)
    if not m:
        raise ValueError(f"not a report line: {text!r}")
    return m.groupdict()


def bits_str(b) -> str:
    b = int(b)
    return f"0x{b:08X}({val_str(np.array([b], np.uint32).view(np.float32)[0], np.float32)})"


def rational_str(v) -> str:
    """An exact dot-product value as spec_vectors writes it: <sign>0x<hex>p<exp>, nan, inf, -inf."""
    if isinstance(v, str):
        return {"+inf": "inf"}.get(v, v)
    if v == 0:
        return "0x0p0"
    n, d = v.numerator, v.denominator
    e = d.bit_length() - 1
    while n % 2 == 0:
        n //= 2
        e -= 1
    return f"{'-' if n < 0 else ''}0x{abs(n):X}p{-e}"


def make_line(adapter, target, b, ci, label, note="", error=None) -> Line:
    x, exp, got = b.x, b.exp, b.got
    if target.operation == "quantize":
        k = target.block_size
        nb = -(-x.shape[1] // k)
        r, j = divmod(ci, nb)
        lo, hi = j * k, min((j + 1) * k, x.shape[1])
        xb = x[r, lo:hi]
        e = {"scale": exp.scales[r, j], "code": exp.codes[r, lo:hi], "value": exp.values[r, lo:hi]}
        g = {}
        if error is None:
            if got.scales is not None:
                g["scale"] = np.asarray(got.scales)[r, j]
            if got.codes is not None:
                g["code"] = np.asarray(got.codes)[r, lo:hi]
            if got.values is not None:
                g["value"] = np.asarray(got.values, np.float64)[r, lo:hi]
        if b.files:
            note += f" [{', '.join(b.files)}: row {r} block {j}]"
        extra = {"row": int(r), "block": int(j)} if b.recorded else None
        if b.files:
            extra["files"] = list(b.files)
        return block_line(target, adapter.display_name, label, xb, e, g, note, error, extra=extra)
    gc = None if error is not None else np.asarray(got.codes).reshape(-1)[ci]
    if b.files:
        note += f" [{', '.join(b.files)}: index {ci}]"
    line = value_line(target, adapter.display_name, label, x[ci], exp.codes.reshape(-1)[ci], gc, note, error)
    if b.files:
        line.data.update(files=list(b.files), index=int(ci))
    return line
