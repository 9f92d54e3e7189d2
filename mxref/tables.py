"""The specification tables of mxref's formats, generated from the format rows.

Nothing here is typed in: every value is computed from a row's defining fields (bits,
exponent_bits, mantissa_bits, bias, nonfinite, signed, has_subnormals, integer,
scale_exponent) by the small field decoder below, with exact Fractions. It does not call
mxref's decoders, so the tables are a second, independent reading of the rows.

    mxref formats                       # summary + a table of each format
    mxref formats --summary             # the summary table only
    mxref formats --format fp8_e4m3 --format e8m0
    mxref formats --format fp4_e2m1,int8
    mxref formats --all fp4_e2m1        # every code (formats of <= 16 bits)
    mxref formats --format int4,fp4_e3m0  # formats beside MX v1.0 too

(``python tools/fp_format_spec.py`` is the same command.) Tables are GitHub-style Markdown,
rendered here with the standard library; ``--tablefmt`` other styles need ``tabulate``.

The default output ends with a separate group, "Formats beside MX v1.0": the extension rows
(FP4 E3M0, INT4, INT2; ``Format.extension``), which are not part of the specification.

Value of a code (MX §5.3, §5.4.1; OFP8 §3; IEEE 754 §3.4):

* floating normal:     (-1)^S × 2^(E - bias) × 1.M
* floating subnormal:  (-1)^S × 2^(1 - bias) × 0.M           (E = 0, when the format has them)
* integer:             two's-complement code × 2^scale_exponent
* E8M0 (unsigned, no subnormals): 2^(E - 127), all ones = NaN
"""

from __future__ import annotations

import argparse
import os
import sys
from fractions import Fraction

from .formats import EXTENSION_FORMATS, FORMATS, REFERENCE_FORMATS, ELEMENT_FORMATS, Format, element_format
from .reference.exact import floor_log2 as _floor_log2

NA = "—"  # a field that does not apply
#: Decimal strings longer than this are shown as n × 2^k instead.
SUMMARY_DECIMAL_LIMIT = 12
VALUE_DECIMAL_LIMIT = 40
#: Largest format --all enumerates.
MAX_ENUMERATE_BITS = 16

__all__ = [
    "all_formats",
    "extension_formats",
    "resolve_format",
    "decode_fields",
    "exact_decimal",
    "render_value",
    "summary_rows",
    "interesting_rows",
    "all_rows",
    "main",
]


# ----- formats -------------------------------------------------------------------------------


def all_formats() -> list[Format]:
    """The wider IEEE rows first, then the MX element formats and E8M0, in table order."""
    return [*REFERENCE_FORMATS.values(), *ELEMENT_FORMATS.values()]


def extension_formats() -> list[Format]:
    """The rows beside MX v1.0 (``extension=True``), printed as a separate group."""
    return list(EXTENSION_FORMATS.values())


def resolve_format(name: str) -> Format:
    """A row by name: float32 / bfloat16 / float16, or anything mxref.element_format accepts."""
    key = name.strip().lower()
    if key in REFERENCE_FORMATS:
        return REFERENCE_FORMATS[key]
    try:
        return element_format(key)
    except ValueError:
        known = ", ".join([*FORMATS, *EXTENSION_FORMATS])
        raise ValueError(f"unknown format {name!r}; known formats: {known} "
                         f"(and the aliases mxref.element_format accepts)") from None


# ----- the field decoder ---------------------------------------------------------------------


def _fields(code: int, fmt: Format) -> tuple[int, int, int]:
    """(sign bit, exponent field, mantissa field) of a code; sign 0 for unsigned formats."""
    m_bits, e_bits = fmt.mantissa_bits, fmt.exponent_bits
    sign = (code >> (e_bits + m_bits)) & 1 if fmt.signed else 0
    e = (code >> m_bits) & ((1 << e_bits) - 1)
    m = code & ((1 << m_bits) - 1)
    return sign, e, m


def decode_fields(code: int, fmt: Format) -> tuple[str, int, Fraction | None]:
    """(class, sign, |value|) of one code, computed from the row's fields.

    class is one of "zero", "subnormal", "normal", "integer", "inf", "nan"; |value| is an exact
    Fraction (None for inf and nan)."""
    code = int(code)
    if not 0 <= code < (1 << fmt.bits):
        raise ValueError(f"code {code:#x} is outside {fmt.name} ({fmt.bits} bits)")
    if fmt.integer:
        v = code - (1 << fmt.bits) if code >> (fmt.bits - 1) else code
        mag = Fraction(abs(v)) * Fraction(2) ** fmt.scale_exponent
        return ("zero" if v == 0 else "integer"), int(v < 0), mag
    sign, e, m = _fields(code, fmt)
    e_ones, m_ones = (1 << fmt.exponent_bits) - 1, (1 << fmt.mantissa_bits) - 1
    if fmt.nonfinite == "ieee" and e == e_ones:
        return ("nan" if m else "inf"), sign, None
    if fmt.nonfinite == "nan_only" and e == e_ones and m == m_ones:
        return "nan", sign, None
    if fmt.nonfinite == "nan_at_negative_zero" and sign and e == 0 and m == 0:
        return "nan", sign, None  # FNUZ: the -0 code is the one NaN
    frac = Fraction(m, 1 << fmt.mantissa_bits)
    if e == 0 and fmt.has_subnormals:
        mag = Fraction(2) ** (1 - fmt.bias) * frac
        return ("zero" if m == 0 else "subnormal"), sign, mag
    return "normal", sign, Fraction(2) ** (e - fmt.bias) * (1 + frac)


def _top_code(fmt: Format) -> int:
    """Largest positive code (sign bit clear)."""
    return (1 << (fmt.bits - int(fmt.signed))) - 1


def _nan_mag_codes(fmt: Format) -> range:
    """The NaN codes with the sign bit clear, from the fields (a range: float32 has 2^23 - 1)."""
    top = ((1 << fmt.exponent_bits) - 1) << fmt.mantissa_bits
    m_ones = (1 << fmt.mantissa_bits) - 1
    if fmt.integer or fmt.nonfinite in ("finite", "nan_at_negative_zero"):
        return range(0)  # FNUZ: its one NaN has the sign bit set (_fnuz_nan)
    if fmt.nonfinite == "ieee":
        return range(top + 1, top + m_ones + 1)
    return range(top | m_ones, (top | m_ones) + 1)  # nan_only: all ones


def _inf_mag_code(fmt: Format) -> int | None:
    if fmt.integer or fmt.nonfinite != "ieee":
        return None
    return ((1 << fmt.exponent_bits) - 1) << fmt.mantissa_bits


def _sign_bit(fmt: Format) -> int:
    return (1 << (fmt.bits - 1)) if fmt.signed else 0


def _code_of_max(fmt: Format) -> int:
    """The positive code with the largest finite value: the one just below the non-finite ones."""
    nonfinite = list(_nan_mag_codes(fmt)[:1])
    if _inf_mag_code(fmt) is not None:
        nonfinite.append(_inf_mag_code(fmt))
    code = min(nonfinite) - 1 if nonfinite else _top_code(fmt)
    # the non-finite codes sit at the top of the positive half, above every finite one
    assert decode_fields(code, fmt)[0] not in ("nan", "inf")
    assert all(decode_fields(c, fmt)[0] in ("nan", "inf") for c in nonfinite)
    return code


def _fnuz_nan(fmt: Format) -> int | None:
    """The NaN of a format whose -0 code is NaN (FNUZ), else None."""
    return _sign_bit(fmt) if fmt.nonfinite == "nan_at_negative_zero" else None


def _counts(fmt: Format) -> tuple[int, int, int]:
    """(number of NaN codes, number of Inf codes, number of finite codes)."""
    signs = 2 if fmt.signed else 1
    n_nan = len(_nan_mag_codes(fmt)) * signs + (_fnuz_nan(fmt) is not None)
    n_inf = (signs if _inf_mag_code(fmt) is not None else 0)
    return n_nan, n_inf, (1 << fmt.bits) - n_nan - n_inf


# ----- exact rendering -----------------------------------------------------------------------


def _log2_if_power_of_two(v: Fraction) -> int | None:
    n, d = v.numerator, v.denominator
    if n > 0 and n & (n - 1) == 0 and d & (d - 1) == 0:
        return n.bit_length() - d.bit_length()
    return None


def exact_decimal(v: Fraction) -> str:
    """The exact decimal string of a dyadic rational (every value here is one), e.g. '0.001953125'."""
    v = Fraction(v)
    sign = "-" if v < 0 else ""
    v = abs(v)
    n, d = v.numerator, v.denominator
    k = d.bit_length() - 1
    if d != 1 << k:
        raise ValueError(f"{v} is not a dyadic rational")
    if k == 0:
        return f"{sign}{n}"
    digits = str(n * 5**k).rjust(k + 1, "0")  # v = n 5^k / 10^k
    int_part, frac_part = digits[:-k], digits[-k:].rstrip("0")
    return f"{sign}{int_part}.{frac_part}" if frac_part else f"{sign}{int_part}"


def _odd_times_power(v: Fraction) -> tuple[int, int]:
    """v = n × 2^k with n odd (v > 0)."""
    n, d = v.numerator, v.denominator
    k = -(d.bit_length() - 1)
    while n % 2 == 0:
        n //= 2
        k += 1
    return n, k


def _power(k: int) -> str:
    return f"2^{k}"


def _compact(v: Fraction) -> str:
    """An exact short form of a positive dyadic v: 2^k, (2^j - 1) × 2^k, or n × 2^k."""
    p = _log2_if_power_of_two(v)
    if p is not None:
        return _power(p)
    n, k = _odd_times_power(v)
    j = (n + 1).bit_length() - 1
    body = f"(2^{j} - 1)" if n + 1 == 1 << j and j > 4 else str(n)
    return f"{body} × {_power(k)}"


def render_value(v: Fraction | None, *, negative: bool = False, limit: int = SUMMARY_DECIMAL_LIMIT,
                 approx: bool = True) -> str:
    """An exact, readable rendering of a value.

    Short decimals print as themselves ('448', '0.5'); a power of two as '2^-9 = 0.001953125'
    when short, else '2^-127'; another non-integer as '1.984375 (127/64)'; anything whose decimal
    is longer than ``limit`` as n × 2^k (with a marked '≈' approximation when ``approx``)."""
    if v is None:
        return NA
    v = Fraction(v)
    s = "-" if negative or v < 0 else ""
    v = abs(v)
    if v == 0:
        return f"{s}0"
    dec = exact_decimal(v)
    p = _log2_if_power_of_two(v)
    if len(dec) <= limit:
        if p is not None and p < 0:
            return f"{s}{_power(p)} = {s}{dec}"
        if v.denominator != 1 and p is None:
            return f"{s}{dec} ({s}{v.numerator}/{v.denominator})"
        return f"{s}{dec}"
    text = f"{s}{_compact(v)}"
    if approx:
        text += f" ≈ {s}{approx_decimal(v)}"
    return text


def approx_decimal(v: Fraction, digits: int = 4) -> str:
    """v rounded to ``digits`` significant digits in e-notation ('3.403e+38'), from the Fraction
    with integer arithmetic (a reading aid next to an exact form, never the value itself)."""
    v = abs(Fraction(v))
    if v == 0:
        return "0"
    e = len(str(v.numerator)) - len(str(v.denominator))  # 10^(e-1) <= v < 10^(e+1)
    if v < Fraction(10) ** e:
        e -= 1  # now 10^e <= v < 10^(e+1)
    q = round(v / Fraction(10) ** (e - digits + 1))
    if q == 10**digits:
        q, e = q // 10, e + 1
    mant = str(q)
    mant = (mant[0] + "." + mant[1:]).rstrip("0").rstrip(".")
    return f"{mant}e{e:+03d}"


def render_exact(v: Fraction, *, negative: bool = False) -> str:
    """The value column: the exact decimal, or n × 2^k when the decimal is very long."""
    s = "-" if negative or v < 0 else ""
    v = abs(Fraction(v))
    dec = exact_decimal(v)
    if len(dec) <= VALUE_DECIMAL_LIMIT:
        return f"{s}{dec}"
    return f"{s}{_compact(v)}"


def hex_code(code: int, fmt: Format) -> str:
    """0x7E, 0x3F, 0x7, 0x7F800000: width by the format's bits."""
    width = (fmt.bits + 3) // 4
    return f"0x{code:0{width}X}"


def _count_text(n: int) -> str:
    """'6', or '2^24 - 2' for large counts."""
    if n < 1 << 12:
        return str(n)
    j = n.bit_length()
    if n == (1 << j) - 2:
        return f"2^{j} - 2"
    return str(n)


def nan_encoding(fmt: Format) -> str:
    """The NaN codes: 'none', '0x7F, 0xFF', or ranges '0x7D-0x7F, 0xFD-0xFF (6 codes)'."""
    mags = _nan_mag_codes(fmt)
    if _fnuz_nan(fmt) is not None:
        return f"{hex_code(_fnuz_nan(fmt), fmt)} (the -0 code; no -0)"
    if len(mags) == 0:
        return "none"
    signs = (0, _sign_bit(fmt)) if fmt.signed else (0,)
    ranges = [range(mags.start | s, (mags.stop - 1 | s) + 1) for s in signs]
    texts = []
    for r in ranges:
        lo, hi = r.start, r.stop - 1
        texts.append(hex_code(lo, fmt) if lo == hi else f"{hex_code(lo, fmt)}-{hex_code(hi, fmt)}")
    text = ", ".join(texts)
    total = len(mags) * len(signs)
    if len(mags) > 1:
        text += f" ({_count_text(total)} codes)"
    return text


def inf_encoding(fmt: Format) -> str:
    mag = _inf_mag_code(fmt)
    if mag is None:
        return "none"
    return f"{hex_code(mag, fmt)}, {hex_code(mag | _sign_bit(fmt), fmt)}"


# ----- bit strings and formulas --------------------------------------------------------------


def bit_fields(code: int, fmt: Format) -> tuple[str, str, str]:
    """(sign, exponent, mantissa) bit strings; integer formats: sign bit and the low bits of the
    two's complement code; absent fields are '—'."""
    if fmt.integer:
        low = fmt.bits - 1
        return str(code >> low & 1), NA, format(code & ((1 << low) - 1), f"0{low}b")
    sign, e, m = _fields(code, fmt)
    s = str(sign) if fmt.signed else NA
    es = format(e, f"0{fmt.exponent_bits}b") if fmt.exponent_bits else NA
    ms = format(m, f"0{fmt.mantissa_bits}b") if fmt.mantissa_bits else NA
    return s, es, ms


def bit_string(code: int, fmt: Format) -> str:
    """All bits, fields separated by '.': '0.1111.110'; integer formats: the two's complement."""
    if fmt.integer:
        return format(code, f"0{fmt.bits}b")
    return ".".join(b for b in bit_fields(code, fmt) if b != NA)


def _significand_text(frac: Fraction) -> str:
    return exact_decimal(frac)


def formula(code: int, fmt: Format) -> str:
    """'+1 × 2^8 × 1.75' (normal), '+1 × 2^-6 × 0.125' (subnormal), '+127 × 2^-6' (integer),
    '2^-127' (E8M0), 'Inf' / 'NaN'."""
    cls, sign, _ = decode_fields(code, fmt)
    if cls == "inf":
        return "-Inf" if sign else "+Inf"
    if cls == "nan":
        return "NaN"
    if fmt.integer:
        v = code - (1 << fmt.bits) if code >> (fmt.bits - 1) else code
        return f"{v:+d} × {_power(fmt.scale_exponent)}"
    _, e, m = _fields(code, fmt)
    frac = Fraction(m, 1 << fmt.mantissa_bits)
    if not fmt.signed and fmt.mantissa_bits == 0:
        return _power(e - fmt.bias)  # E8M0
    s = "-1" if sign else "+1"
    if cls in ("zero", "subnormal"):
        return f"{s} × {_power(1 - fmt.bias)} × {_significand_text(frac)}"
    return f"{s} × {_power(e - fmt.bias)} × {_significand_text(1 + frac)}"


def value_text(code: int, fmt: Format) -> str:
    """The exact value of one code: '-0', '448', '2^-149', 'Inf', 'NaN'."""
    cls, sign, mag = decode_fields(code, fmt)
    if cls == "inf":
        return "-Inf" if sign else "+Inf"
    if cls == "nan":
        return ("-NaN" if sign else "+NaN") if fmt.signed and _fnuz_nan(fmt) is None else "NaN"
    return render_exact(mag, negative=bool(sign))


# ----- tables --------------------------------------------------------------------------------

SUMMARY_HEADERS = [
    "format", "bits", "exp bits", "man bits", "bias", "emax", "emin", "max",
    "smallest normal", "smallest subnormal", "Inf encoding", "NaN encoding", "finite values",
]


def summary_rows(formats: list[Format] | None = None) -> list[list[str]]:
    """One row per format, in SUMMARY_HEADERS order, every cell computed from the row's fields."""
    rows = []
    for fmt in formats or all_formats():
        top = _code_of_max(fmt)
        _, _, vmax = decode_fields(top, fmt)
        if fmt.integer:
            emax = _floor_log2(vmax)
            emin = bias = min_normal = NA
            quantum = decode_fields(1, fmt)[2]
            min_sub = render_value(quantum)
            e_bits, m_bits = NA, f"{fmt.bits - 1} (int)"
        else:
            emax = (top >> fmt.mantissa_bits) - fmt.bias
            first_normal = (1 << fmt.mantissa_bits) if fmt.has_subnormals else 0
            emin_value = decode_fields(first_normal, fmt)[2]
            emin = _floor_log2(emin_value)
            bias = str(fmt.bias)
            min_normal = render_value(emin_value)
            if fmt.has_subnormals and fmt.mantissa_bits:
                min_sub = render_value(decode_fields(1, fmt)[2])
            else:
                min_sub = "none"
            e_bits, m_bits = str(fmt.exponent_bits), str(fmt.mantissa_bits)
        _, _, n_finite = _counts(fmt)
        rows.append([
            fmt.name, str(fmt.bits), e_bits, m_bits, bias, str(emax), str(emin),
            render_value(vmax), min_normal, min_sub, inf_encoding(fmt), nan_encoding(fmt),
            str(n_finite),
        ])
    return rows


INTERESTING_HEADERS = ["value", "code", "sign", "exponent", "mantissa", "formula", "exact value"]


def _row(label: str, code: int, fmt: Format) -> list[str]:
    return [label, hex_code(code, fmt), *bit_fields(code, fmt), formula(code, fmt),
            value_text(code, fmt)]


def interesting_points(fmt: Format) -> list[tuple[str, int]]:
    """(label, code) of the values worth listing, in order."""
    sb = _sign_bit(fmt)
    top = _code_of_max(fmt)
    points: list[tuple[str, int]] = []
    if fmt.integer:
        points += [("+0", 0), ("smallest positive", 1), ("max", top), ("-max", (1 << fmt.bits) - top),
                   ("most negative code", 1 << (fmt.bits - 1))]
        return points
    if fmt.has_subnormals:
        points.append(("+0", 0))
        if fmt.signed and _fnuz_nan(fmt) is None:
            points.append(("-0", sb))
        if fmt.mantissa_bits:
            points.append(("min subnormal", 1))
            points.append(("max subnormal", (1 << fmt.mantissa_bits) - 1))
        points.append(("min normal", 1 << fmt.mantissa_bits))
    else:
        points.append(("min normal", 0))
        one = fmt.bias << fmt.mantissa_bits
        if 0 < one < top:
            points.append(("one", one))
    points.append(("max normal", top))
    if fmt.signed:
        points.append(("-max normal", top | sb))
    inf = _inf_mag_code(fmt)
    if inf is not None:
        points += [("+Inf", inf), ("-Inf", inf | sb)]
    nans = _nan_mag_codes(fmt)
    if _fnuz_nan(fmt) is not None:
        points.append(("NaN", _fnuz_nan(fmt)))
    if len(nans):
        if len(nans) == 1:
            canonical, how = nans.start, ""
        else:  # IEEE: the quiet NaN with only the mantissa MSB set is canonical
            canonical, how = nans.start - 1 + (1 << (fmt.mantissa_bits - 1)), " (quiet)"
        points.append(("+NaN" + how if fmt.signed else "NaN", canonical))
        if fmt.signed:
            points.append(("-NaN" + how, canonical | sb))
    return points


def interesting_rows(fmt: Format) -> list[list[str]]:
    """The table of one format's interesting values, in INTERESTING_HEADERS order."""
    rows = [_row(label, code, fmt) for label, code in interesting_points(fmt)]
    nans = _nan_mag_codes(fmt)
    if len(nans) > 1:  # name every NaN code of that sign next to the one shown
        for row in rows:
            if row[0].endswith("NaN (quiet)"):
                sb = _sign_bit(fmt) if row[0].startswith("-") else 0
                lo, hi = hex_code(nans.start | sb, fmt), hex_code((nans.stop - 1) | sb, fmt)
                row[5] = f"NaN (any of {lo}-{hi})"
    return rows


ALL_HEADERS = ["code", "bits", "formula", "exact value", "class"]


def all_rows(fmt: Format) -> list[list[str]]:
    """Every code of a format of at most 16 bits, in ALL_HEADERS order."""
    if fmt.bits > MAX_ENUMERATE_BITS:
        raise ValueError(f"--all {fmt.name}: {fmt.name} has 2^{fmt.bits} codes, too many to list; "
                         f"--all takes formats of at most {MAX_ENUMERATE_BITS} bits")
    rows = []
    for code in range(1 << fmt.bits):
        cls = decode_fields(code, fmt)[0]
        rows.append([hex_code(code, fmt), bit_string(code, fmt), formula(code, fmt),
                     value_text(code, fmt), cls])
    return rows


def format_heading(fmt: Format) -> str:
    if fmt.integer:
        layout = (f"{fmt.bits}-bit two's complement integer × 2^{fmt.scale_exponent}")
    else:
        sign = "1 sign, " if fmt.signed else "no sign, "
        layout = (f"{fmt.bits} bits: {sign}{fmt.exponent_bits} exponent, "
                  f"{fmt.mantissa_bits} mantissa, bias {fmt.bias}")
    spec = f"; {fmt.spec}" if fmt.spec else ""
    return f"{fmt.name}: {layout}{spec}"


# ----- command line --------------------------------------------------------------------------

EXTENSIONS_TITLE = ("Formats beside MX v1.0 (not part of the specification; mxref.ext): "
                    "summary")


def github_table(rows, headers) -> str:
    """A GitHub Markdown table, laid out as tabulate's "github" style: every cell left-aligned,
    a column as wide as its widest cell and at least its header plus two."""
    cols = list(zip(*([list(headers)] + [list(map(str, r)) for r in rows])))
    widths = [max([len(c[0]) + 2] + [len(v) for v in c[1:]]) for c in cols]
    def line(cells):
        return "| " + " | ".join(v.ljust(w) for v, w in zip(cells, widths)) + " |"
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    return "\n".join(out + [line(list(map(str, r))) for r in rows])


def _table(rows, headers, tablefmt) -> str:
    if tablefmt == "github":
        return github_table(rows, headers)
    try:
        from tabulate import tabulate
    except ImportError:
        raise ValueError(f"--tablefmt {tablefmt!r} needs the tabulate package (pip install tabulate); "
                         "the built-in style is 'github'") from None
    return tabulate(rows, headers=headers, tablefmt=tablefmt, disable_numparse=True)


def _parse_names(values: list[str] | None) -> list[str]:
    names = []
    for v in values or []:
        names += [n for n in (p.strip() for p in v.split(",")) if n]
    return names


def build_parser(prog: str = "mxref formats") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Print the specification tables of mxref's formats (float32, bfloat16, "
                    "float16, the MX element formats and E8M0; then, apart, the formats beside "
                    "MX v1.0), computed exactly from the format rows. With no option: the "
                    "summaries and every format's table.",
    )
    p.add_argument("--format", action="append", metavar="NAME",
                   help="print the table of interesting values of NAME (repeatable, or "
                        "comma-separated); names: " + ", ".join([*FORMATS, *EXTENSION_FORMATS]))
    p.add_argument("--all", metavar="NAME",
                   help=f"list every code of NAME (formats of at most {MAX_ENUMERATE_BITS} bits)")
    p.add_argument("--summary", action="store_true", help="print the summary table")
    p.add_argument("--tablefmt", default="github",
                   help="table style: github (default, built in) or any tabulate style (needs "
                        "the tabulate package)")
    return p


def main(argv: list[str] | None = None, prog: str = "mxref formats") -> int:
    """``mxref formats``: print the tables; exit status 2 on a bad argument."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        chosen = [resolve_format(n) for n in _parse_names(args.format)]
        if args.format is not None and not chosen:
            raise ValueError("--format needs a format name")
        enumerate_fmt = resolve_format(args.all) if args.all is not None else None
        all_table = all_rows(enumerate_fmt) if enumerate_fmt is not None else None
        if args.tablefmt != "github":
            _table([], ["x"], args.tablefmt)  # an unavailable style fails before any output
    except ValueError as exc:
        parser.error(str(exc))  # exits with status 2

    default = not (chosen or enumerate_fmt or args.summary)
    out: list[str] = []
    if args.summary or default:
        out += ["Summary (exact; n × 2^k where the decimal is long, ≈ marks a rounded aid)", "",
                _table(summary_rows(), SUMMARY_HEADERS, args.tablefmt), ""]
    for fmt in (all_formats() if default else chosen):
        out += [format_heading(fmt), "", _table(interesting_rows(fmt), INTERESTING_HEADERS,
                                                args.tablefmt), ""]
    if args.summary or default:
        out += [EXTENSIONS_TITLE, "", _table(summary_rows(extension_formats()), SUMMARY_HEADERS,
                                             args.tablefmt), ""]
    for fmt in (extension_formats() if default else []):
        out += [format_heading(fmt), "", _table(interesting_rows(fmt), INTERESTING_HEADERS,
                                                args.tablefmt), ""]
    if enumerate_fmt is not None:
        out += [f"Every code of {format_heading(enumerate_fmt)}", "",
                _table(all_table, ALL_HEADERS, args.tablefmt), ""]
    try:
        sys.stdout.write("\n".join(out))
        sys.stdout.flush()
    except BrokenPipeError:  # `| head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0

