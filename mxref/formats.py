"""Element and scale formats as data: one frozen row per format (MX §5.3, §5.4.1; OFP8 §3-4).

A :class:`Format` holds only the defining fields of a format. Everything else (emax, max,
smallest normal, codes of NaN and Inf, ...) is derived from those fields by properties named
like ``numpy.finfo``. Code elsewhere in mxref asks the row small questions (``has_inf``,
``nan_codes``, ``is_integer``) and never tests a format's name.

Value of a code, for a floating format with ``exponent_bits`` E, ``mantissa_bits`` m, bias b:

* normal (E > 0, or any E when ``has_subnormals`` is False):  (-1)^S * 2^(E-b) * (1 + M/2^m)
* subnormal (E = 0):                                         (-1)^S * 2^(1-b) * (M/2^m)

and for an integer format (``integer=True``): two's-complement code * 2^``scale_exponent``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction

from .options import check_block_size

__all__ = [
    "Format",
    "FORMATS",
    "ELEMENT_FORMATS",
    "REFERENCE_FORMATS",
    "fp8_e4m3",
    "fp8_e5m2",
    "fp6_e2m3",
    "fp6_e3m2",
    "fp4_e2m1",
    "int8",
    "e8m0",
    "float32",
    "bfloat16",
    "float16",
    "EXTENSION_FORMATS",
    "fp4_e3m0",
    "int4",
    "int2",
    "fp8_e4m3fnuz",
    "fp8_e5m2fnuz",
    "element_format",
    "format_names",
    "MXFormat",
    "MX_FORMATS",
    "EXT_MX_FORMATS",
    "mx_format",
    "register_element_format",
    "register_mx_format",
]

#: Allowed values of :attr:`Format.nonfinite`.
NONFINITE_KINDS = ("ieee", "nan_only", "finite", "nan_at_negative_zero")
#: Allowed values of :attr:`Format.nan_encoding`.
NAN_ENCODINGS = ("ieee", "all_ones", "negative_zero", None)


@dataclass(frozen=True)
class Format:
    """One scalar format, defined by a few fields; every other property is derived.

    Fields:
      name: mxref's name of the format.
      bits: total width in bits.
      exponent_bits, mantissa_bits: widths of the fields (an integer format has
        ``exponent_bits = 0`` and ``mantissa_bits = bits - 1`` magnitude bits).
      bias: exponent bias (0 for integer formats).
      nonfinite: ``"ieee"`` (all-ones exponent holds Inf and NaNs), ``"nan_only"`` (only the
        all-ones pattern is NaN; no Inf), or ``"finite"`` (every code is a number).
      nan_encoding: ``"ieee"`` (exponent all ones, mantissa non-zero), ``"all_ones"``
        (exponent and mantissa all ones), or ``None``. ``"nan_at_negative_zero"`` with
        ``nan_encoding="negative_zero"``: the one NaN is the code of -0 (sign bit only), there is
        no Inf and no -0, and the all-ones exponent is an ordinary binade (the FNUZ FP8 formats).
      signed: whether the MSB is a sign bit (E8M0 is unsigned).
      has_subnormals: False when E = 0 is an ordinary binade (E8M0: code 0 = 2^-127, no zero).
      integer: two's-complement integer code with implicit scale ``2^scale_exponent``.
      scale_exponent: the implicit scale of an integer format (MX INT8: -6).
      spec: the section of the specification that defines the format.
      extension: True for a format that is not part of MX v1.0 / OFP8 (defined by a peer
        library and kept apart, see :mod:`mxref.ext`); False for the spec's rows.
    """

    name: str
    bits: int
    exponent_bits: int
    mantissa_bits: int
    bias: int
    nonfinite: str
    nan_encoding: str | None
    signed: bool = True
    has_subnormals: bool = True
    integer: bool = False
    scale_exponent: int = 0
    spec: str = ""
    extension: bool = False

    def __post_init__(self):
        if self.nonfinite not in NONFINITE_KINDS:
            raise ValueError(f"nonfinite must be one of {NONFINITE_KINDS}, got {self.nonfinite!r}")
        if self.nan_encoding not in NAN_ENCODINGS:
            raise ValueError(f"nan_encoding must be one of {NAN_ENCODINGS}, got {self.nan_encoding!r}")
        expected_nan = {"ieee": "ieee", "nan_only": "all_ones", "finite": None,
                        "nan_at_negative_zero": "negative_zero"}[self.nonfinite]
        if self.nan_encoding != expected_nan:
            raise ValueError(
                f"{self.name}: nonfinite={self.nonfinite!r} requires nan_encoding={expected_nan!r}"
            )
        if self.bits != int(self.signed) + self.exponent_bits + self.mantissa_bits:
            raise ValueError(f"{self.name}: bits must equal sign + exponent + mantissa bits")
        if self.integer and (self.exponent_bits != 0 or self.nonfinite != "finite" or not self.signed):
            raise ValueError(f"{self.name}: an integer format is signed, finite, with no exponent field")

    # ----- predicates --------------------------------------------------------------------------

    @property
    def has_inf(self) -> bool:
        """True when the format encodes +-Inf."""
        return self.nonfinite == "ieee"

    @property
    def has_nan(self) -> bool:
        """True when the format encodes NaN."""
        return self.nan_encoding is not None

    @property
    def has_zero(self) -> bool:
        """False for a pure power-of-two scale format (E8M0: no zero, no subnormals)."""
        return self.integer or self.has_subnormals

    @property
    def has_negative_zero(self) -> bool:
        """True when a distinct -0 code exists (sign-magnitude floating formats; not when that
        code is the NaN, ``nan_encoding == "negative_zero"``)."""
        return (self.signed and not self.integer and self.has_subnormals
                and self.nan_encoding != "negative_zero")

    @property
    def is_integer(self) -> bool:
        return self.integer

    @property
    def num_codes(self) -> int:
        """Number of bit patterns, 2^bits."""
        return 1 << self.bits

    @property
    def sign_mask(self) -> int:
        """The code bit holding the sign (0 for unsigned formats)."""
        return (1 << (self.bits - 1)) if self.signed else 0

    # ----- exponents -----------------------------------------------------------------------------

    @property
    def _exp_all_ones(self) -> int:
        return (1 << self.exponent_bits) - 1

    @property
    def emin(self) -> int:
        """Exponent of the smallest normal binade (integer formats: exponent of the top binade)."""
        if self.integer:
            return self.scale_exponent + self.mantissa_bits - 1
        return (1 if self.has_subnormals else 0) - self.bias

    @property
    def emax(self) -> int:
        """Exponent of the largest finite value: floor(log2(max))."""
        code = self.code_of_max
        if self.integer:
            return code.bit_length() - 1 + self.scale_exponent
        return (code >> self.mantissa_bits) - self.bias

    # ----- codes ---------------------------------------------------------------------------------

    @property
    def code_of_max(self) -> int:
        """Code of the largest finite value (positive)."""
        if self.integer:
            return (1 << self.mantissa_bits) - 1
        man_ones = (1 << self.mantissa_bits) - 1
        if self.nonfinite == "ieee":
            return ((self._exp_all_ones - 1) << self.mantissa_bits) | man_ones
        if self.nonfinite == "nan_only":
            return (self._exp_all_ones << self.mantissa_bits) | (man_ones - 1) if self.mantissa_bits else (
                (self._exp_all_ones - 1) << self.mantissa_bits
            )
        return (self._exp_all_ones << self.mantissa_bits) | man_ones

    @property
    def nan_codes(self) -> tuple[int, ...]:
        """Every code that is NaN, in increasing order."""
        if self.nan_encoding is None:
            return ()
        if self.nan_encoding == "negative_zero":
            return (self.sign_mask,)
        top = self._exp_all_ones << self.mantissa_bits
        man_ones = (1 << self.mantissa_bits) - 1
        mags = range(top + 1, top + man_ones + 1) if self.nan_encoding == "ieee" else [top | man_ones]
        signs = (0, self.sign_mask) if self.signed else (0,)
        return tuple(sorted(s | m for s in signs for m in mags))

    @property
    def inf_codes(self) -> tuple[int, ...]:
        """Codes of (+Inf, -Inf), or () when the format has no Inf."""
        if not self.has_inf:
            return ()
        top = self._exp_all_ones << self.mantissa_bits
        return (top, top | self.sign_mask)

    @property
    def num_finite(self) -> int:
        """Number of codes that are finite numbers (+0 and -0 counted separately)."""
        return self.num_codes - len(self.nan_codes) - len(self.inf_codes)

    # ----- values (exact: every one is a dyadic rational, exactly a Python float) -------------------

    def _magnitude_exact(self, mag_code: int) -> Fraction:
        if self.integer:
            return Fraction(mag_code) * Fraction(2) ** self.scale_exponent
        e, m = mag_code >> self.mantissa_bits, mag_code & ((1 << self.mantissa_bits) - 1)
        scale = Fraction(2) ** self.mantissa_bits
        if e == 0 and self.has_subnormals:
            return Fraction(2) ** (1 - self.bias) * m / scale
        return Fraction(2) ** (e - self.bias) * (scale + m) / scale

    @property
    def max(self) -> float:
        """Largest finite value."""
        return float(self._magnitude_exact(self.code_of_max))

    @property
    def min(self) -> float:
        """Most negative finite value (-max; smallest value 2^emin for unsigned formats)."""
        return -self.max if self.signed else self.smallest_normal

    @property
    def smallest_normal(self) -> float | None:
        """Smallest positive normal value, 2^emin (None for integer formats)."""
        if self.integer:
            return None
        return float(Fraction(2) ** self.emin)

    @property
    def smallest_subnormal(self) -> float | None:
        """Smallest positive value below the normal range (None when there are no subnormals).

        For an integer format this is its quantum, 2^scale_exponent."""
        if self.integer:
            return float(Fraction(2) ** self.scale_exponent)
        if not self.has_subnormals or self.mantissa_bits == 0:
            return None
        return float(Fraction(2) ** (self.emin - self.mantissa_bits))

    @property
    def eps(self) -> float:
        """Distance from 1.0 to the next larger representable value."""
        if self.integer:
            return float(Fraction(2) ** self.scale_exponent)
        return float(Fraction(2) ** -self.mantissa_bits)

    @property
    def smallest_positive(self) -> float:
        """Smallest positive value of any kind."""
        return self.smallest_subnormal if self.smallest_subnormal is not None else self.smallest_normal

    @property
    def is_element_format(self) -> bool:
        """True for the MX element formats (and E8M0) whose codes fit one uint8."""
        return self.bits <= 8

    def __repr__(self) -> str:
        return f"Format({self.name!r})"


# One row per format. Defining fields only; the spec table is typed again, separately, in the tests.
fp8_e4m3 = Format("fp8_e4m3", 8, 4, 3, 7, "nan_only", "all_ones", spec="OFP8 Table 1; MX §5.3.1")
fp8_e5m2 = Format("fp8_e5m2", 8, 5, 2, 15, "ieee", "ieee", spec="OFP8 Table 1; MX §5.3.1")
fp6_e2m3 = Format("fp6_e2m3", 6, 2, 3, 1, "finite", None, spec="MX §5.3.2")
fp6_e3m2 = Format("fp6_e3m2", 6, 3, 2, 3, "finite", None, spec="MX §5.3.2")
fp4_e2m1 = Format("fp4_e2m1", 4, 2, 1, 1, "finite", None, spec="MX §5.3.3")
int8 = Format("int8", 8, 0, 7, 0, "finite", None, integer=True, scale_exponent=-6, spec="MX §5.3.4")
e8m0 = Format("e8m0", 8, 8, 0, 127, "nan_only", "all_ones", signed=False, has_subnormals=False,
              spec="MX §5.4.1")
# Wider IEEE formats, kept as rows for tables and for describing inputs (not MX element formats).
float32 = Format("float32", 32, 8, 23, 127, "ieee", "ieee", spec="IEEE 754 binary32")
bfloat16 = Format("bfloat16", 16, 8, 7, 127, "ieee", "ieee", spec="bfloat16 (binary32 truncated)")
float16 = Format("float16", 16, 5, 10, 15, "ieee", "ieee", spec="IEEE 754 binary16")

# Formats beside MX v1.0 (extension=True): element formats that peer libraries define and that
# users meet in the same kernels. Not MX v1.0; kept apart from ELEMENT_FORMATS.
#   fp4_e3m0: sign, 3 exponent bits, no mantissa, bias 3; E = 0 is zero, so the values are
#     0, 2^-2, 2^-1, ..., 2^4 with sign (torchao's unmerged `hanmei-e3m0-sr` branch: EBITS=3,
#     MBITS=0, bias 3, max 16, min normal 0.25).
#   int4, int2: microxcaling's `int4` / `int2` (mx/formats.py, elemwise_ops.py): two's complement
#     with the implicit scale 2^-(bits-2), so emax = 0 and max = 1.75 (k/4, |k| <= 7) and 1.0
#     ({-1, 0, 1}). The most negative code (-8 = -2.0, -2 = -2.0) is decodable; microxcaling never
#     produces it and neither does mxref unless `int8_allow_minus128=True` ("the most negative
#     two's-complement code", for every integer row).
fp4_e3m0 = Format("fp4_e3m0", 4, 3, 0, 3, "finite", None, extension=True,
                  spec="not MX v1.0: torchao FP4 E3M0 (branch hanmei-e3m0-sr)")
int4 = Format("int4", 4, 0, 3, 0, "finite", None, integer=True, scale_exponent=-2, extension=True,
              spec="not MX v1.0: microxcaling int4")
int2 = Format("int2", 2, 0, 1, 0, "finite", None, integer=True, scale_exponent=0, extension=True,
              spec="not MX v1.0: microxcaling int2")
#   fp8_e4m3fnuz, fp8_e5m2fnuz: the FNUZ FP8 formats (AMD CDNA3 "fp8" / "bf8"; ml_dtypes
#     float8_e4m3fnuz / float8_e5m2fnuz; GraphCore's): bias 8 and 16, subnormals, no Inf, no -0;
#     the one NaN is 0x80, the code of -0; the all-ones exponent is an ordinary binade (max 240
#     = 0x7F and 57344 = 0x7F). Inputs of the cdna3_fp8 accumulator (mxref.accumulators).
fp8_e4m3fnuz = Format("fp8_e4m3fnuz", 8, 4, 3, 8, "nan_at_negative_zero", "negative_zero", extension=True,
                      spec="not MX v1.0: FNUZ FP8 E4M3 (AMD CDNA3 fp8; ml_dtypes float8_e4m3fnuz)")
fp8_e5m2fnuz = Format("fp8_e5m2fnuz", 8, 5, 2, 16, "nan_at_negative_zero", "negative_zero", extension=True,
                      spec="not MX v1.0: FNUZ FP8 E5M2 (AMD CDNA3 bf8; ml_dtypes float8_e5m2fnuz)")

#: The MX element formats and the E8M0 scale format, by mxref name.
ELEMENT_FORMATS: dict[str, Format] = {}
#: Wider formats used for inputs and for comparison tables.
REFERENCE_FORMATS: dict[str, Format] = {f.name: f for f in (float32, bfloat16, float16)}
#: Element formats beside MX v1.0 (``extension=True``), by mxref name (see :mod:`mxref.ext`).
EXTENSION_FORMATS: dict[str, Format] = {}
#: Every row of the specification (MX v1.0 / OFP8) and the wider IEEE rows; the extension rows
#: are in EXTENSION_FORMATS.
FORMATS: dict[str, Format] = {}

# Names users already type, mapped to mxref names (lower case).
_ALIASES: dict[str, str] = {}


def register_element_format(row: Format, aliases=()) -> Format:
    """Add an element row (at most 8 bits) to the registry, with the other names it goes by.

    A spec row (``extension=False``) goes into ELEMENT_FORMATS and FORMATS, an extension row
    into EXTENSION_FORMATS; :func:`element_format` then resolves its name and aliases. A name
    or alias that is already taken raises ValueError. Returns the row."""
    if not isinstance(row, Format) or not row.is_element_format:
        raise ValueError(f"an element format row of at most 8 bits is needed, got {row!r}")
    names = [row.name] + [a.lower() for a in aliases]
    taken = [n for n in names if n in ELEMENT_FORMATS or n in EXTENSION_FORMATS or n in _ALIASES]
    if taken:
        raise ValueError(f"format name(s) already registered: {', '.join(taken)}")
    if row.extension:
        EXTENSION_FORMATS[row.name] = row
    else:
        ELEMENT_FORMATS[row.name] = row
        FORMATS[row.name] = row
    for a in names[1:]:
        _ALIASES[a] = row.name
    return row


# The registry. One call per row: its mxref name comes from the row, then the names users
# already type (ml_dtypes / torch dtype names, microxcaling / Intel Neural Compressor, short
# names, gfloat format_info names).
register_element_format(fp8_e4m3, ("float8_e4m3fn", "e4m3", "ocp_e4m3"))
register_element_format(fp8_e5m2, ("float8_e5m2", "e5m2", "ocp_e5m2"))
register_element_format(fp6_e2m3, ("float6_e2m3fn", "e2m3", "ocp_e2m3"))
register_element_format(fp6_e3m2, ("float6_e3m2fn", "e3m2", "ocp_e3m2"))
register_element_format(fp4_e2m1, ("float4_e2m1fn", "fp4", "e2m1", "ocp_e2m1"))
register_element_format(int8, ("mxint8_element", "ocp_int8"))
register_element_format(e8m0, ("float8_e8m0fnu", "ocp_e8m0"))
FORMATS.update(REFERENCE_FORMATS)
# formats beside MX v1.0 (extension=True)
register_element_format(fp4_e3m0, ("e3m0", "float4_e3m0", "fp4_e3m0fn"))
register_element_format(int4, ("mxint4_element",))
register_element_format(int2, ("mxint2_element",))
register_element_format(fp8_e4m3fnuz, ("float8_e4m3fnuz", "e4m3fnuz", "fp8_fnuz"))
register_element_format(fp8_e5m2fnuz, ("float8_e5m2fnuz", "e5m2fnuz", "bf8_fnuz"))


def format_names() -> list[str]:
    """Every name :func:`element_format` accepts, mxref names first (spec rows, then extensions)."""
    return sorted(ELEMENT_FORMATS) + sorted(EXTENSION_FORMATS) + sorted(_ALIASES)


def _name_of(obj) -> str | None:
    """The textual name of a format-like object, or None."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, enum.Enum):  # microxcaling ElemFormat.fp8_e4m3
        return obj.name
    module = type(obj).__module__ or ""
    if module.startswith("torch"):  # torch.float8_e4m3fn -> "torch.float8_e4m3fn"
        return str(obj)
    if module.startswith("gfloat") and hasattr(obj, "name"):
        return str(obj.name)
    try:  # numpy / ml_dtypes dtypes and scalar types
        import numpy as np

        return np.dtype(obj).name
    except TypeError:
        return None


def element_format(fmt) -> Format:
    """The :class:`Format` row of an MX element format or of E8M0.

    Accepts a :class:`Format`, mxref's names (``"fp8_e4m3"``, ``"int8"``, ``"e8m0"``, ...), and the
    names users already type: ml_dtypes dtypes and their names (``"float8_e4m3fn"``,
    ``"float4_e2m1fn"``, ``"float8_e8m0fnu"``, ...), torch dtypes as objects or strings
    (``torch.float8_e4m3fn``, ``"torch.float8_e5m2"``), microxcaling / Intel Neural Compressor names
    (``"fp4"``, ``"fp8_e4m3"``, ``"int8"``, ``ElemFormat.fp6_e3m2``) and gfloat's ``ocp_*`` names.
    The formats beside MX v1.0 resolve too (``"fp4_e3m0"``, ``"int4"``, ``"int2"``, ...; their rows
    have ``extension=True``). Anything else raises ValueError listing the known names.
    (MX §5.3, §5.4.1)
    """
    if isinstance(fmt, Format):
        if not fmt.is_element_format:
            raise ValueError(
                f"fmt must be an element format of at most 8 bits (codes are uint8), got {fmt.name!r}"
            )
        return fmt
    name = _name_of(fmt)
    if name is not None:
        key = name.strip().lower()
        if key.startswith("torch."):
            key = key[len("torch."):]
        key = _ALIASES.get(key, key)
        if key in ELEMENT_FORMATS:
            return ELEMENT_FORMATS[key]
        if key in EXTENSION_FORMATS:
            return EXTENSION_FORMATS[key]
    raise ValueError(
        f"unknown element format {fmt!r}; known names: {', '.join(format_names())}"
    )


# ----- MX formats: element row + block size + scale (MX §5.2) ------------------------------------


@dataclass(frozen=True)
class MXFormat:
    """A concrete MX format (MX §5.2 Table 1): an element format, a block size, a scale format."""

    name: str
    element: Format
    block_size: int = 32
    scale: Format = e8m0
    spec: str = "MX §5.2 Table 1"

    def __post_init__(self):
        # every field is checked here, so that no later use (quantize, dequantize, dot) divides
        # by a zero block size or reads codes of a format that is not an element row
        if not isinstance(self.name, str):
            raise TypeError(f"MXFormat name must be a str, got {self.name!r}")
        el = element_format(self.element)
        if not el.has_zero:
            raise ValueError(f"MXFormat element must be an element format, got the scale format {el.name}")
        sc = element_format(self.scale)
        if sc is not e8m0:
            raise ValueError(f"MXFormat scale must be E8M0 (the MX scale format, MX §5.4.1), got {sc.name}")
        object.__setattr__(self, "element", el)
        object.__setattr__(self, "scale", sc)
        object.__setattr__(self, "block_size", check_block_size(self.block_size))
        if not isinstance(self.spec, str):
            raise TypeError(f"MXFormat spec must be a str, got {self.spec!r}")

    def __repr__(self) -> str:
        return f"MXFormat({self.name!r})"


#: The MX v1.0 formats (MX §5.2 Table 1), by name.
MX_FORMATS: dict[str, MXFormat] = {}
#: MX-style formats built on the extension rows (not MX v1.0), by name: an extension element
#: row, block 32, E8M0 scale. :func:`mxref.quantize` converts them exactly like the spec formats,
#: and their MXArrays report ``is_mx_v1 == False``.
#:   mxint4      microxcaling ``int4`` elements (k/4, |k| <= 7; emax 0)
#:   mxint2      microxcaling ``int2`` elements ({-1, 0, 1}; emax 0)
#:   mxfp4_e3m0  torchao FP4 E3M0 elements (0, 2^-2 ... 2^4 with sign; emax 4)
EXT_MX_FORMATS: dict[str, MXFormat] = {}


def register_mx_format(fmt: MXFormat) -> MXFormat:
    """Add an MX format to MX_FORMATS (spec element row) or EXT_MX_FORMATS (extension row), so
    that :func:`mx_format` resolves it by name. A name already taken raises ValueError."""
    if not isinstance(fmt, MXFormat):
        raise TypeError(f"an MXFormat is needed, got {type(fmt).__name__}")
    if fmt.name in MX_FORMATS or fmt.name in EXT_MX_FORMATS:
        raise ValueError(f"MX format name already registered: {fmt.name}")
    (EXT_MX_FORMATS if fmt.element.extension else MX_FORMATS)[fmt.name] = fmt
    return fmt


for _e in ("fp8_e4m3", "fp8_e5m2", "fp6_e2m3", "fp6_e3m2", "fp4_e2m1", "int8"):
    register_mx_format(MXFormat(f"mx{_e}", element_format(_e)))
register_mx_format(MXFormat("mxint4", int4, spec="not MX v1.0: microxcaling MXINT4 (int4 elements)"))
register_mx_format(MXFormat("mxint2", int2, spec="not MX v1.0: microxcaling MXINT2 (int2 elements)"))
register_mx_format(MXFormat("mxfp4_e3m0", fp4_e3m0, spec="not MX v1.0: FP4 E3M0 elements"))
del _e

_MX_ALIASES = {"mxfp4": "mxfp4_e2m1"}


def mx_format(fmt) -> MXFormat:
    """An :class:`MXFormat` by name (``"mxfp8_e4m3"``, ..., ``"mxint8"``), or from any element
    format name :func:`mxref.element_format` accepts (block 32, E8M0 scale). The MX-style formats
    beside MX v1.0 (``"mxint4"``, ``"mxint2"``, ``"mxfp4_e3m0"``; :data:`EXT_MX_FORMATS`)
    resolve too; their MXArrays say ``is_mx_v1 == False``."""
    if isinstance(fmt, MXFormat):
        return fmt
    registries = (MX_FORMATS, EXT_MX_FORMATS)
    if isinstance(fmt, str):
        key = fmt.strip().lower()
        key = _MX_ALIASES.get(key, key)
        for reg in registries:
            if key in reg:
                return reg[key]
    try:
        el = element_format(fmt)
    except ValueError:
        el = None
    if el is not None and el.has_zero:
        for reg in registries:
            for f in reg.values():
                if f.element is el:
                    return f
    raise ValueError(f"unknown MX format {fmt!r}; known: {', '.join(MX_FORMATS)}, "
                     f"and beside MX v1.0 {', '.join(EXT_MX_FORMATS)} (or an element format name)")
