"""The integer rounding core shared by every module of mxref (internal to the package).

Values are taken apart exactly (:func:`split_float64`: sign, an integer significand, the exact
floor(log2)), rounded on those integer parts (:func:`round_parts`) and put back together as
codes (:func:`max_mag`, :func:`pack_code`) or IEEE bits (:func:`round_to_ieee`); codes become
values through :func:`decode_table`. Blocking along one axis is written once here too
(:func:`to_rows`, :func:`from_rows`, :func:`pad_blocks`, :class:`Blocked`): every module that
works on blocks (conversion, dequantization, products, the extensions) lays its data out with
these. No Python loop over elements or blocks.
"""

from __future__ import annotations

import functools

import numpy as np

from .formats import Format

__all__ = [
    "split_float64", "round_params", "round_parts", "max_mag", "pack_code", "decode_table",
    "round_to_ieee", "effective_block", "to_rows", "from_rows", "pad_blocks", "Blocked",
    "blocked_codes", "unblock", "row_pieces",
]


# ----- values -> exact parts -> rounded magnitude codes -> codes -----------------------------------


def split_float64(x64: np.ndarray):
    """Exact parts of float64 values: (negative, significand, floor_log2, is_nan, is_inf).

    For finite non-zero x: |x| = significand * 2^(floor_log2 - 52) with significand an integer in
    [2^52, 2^53) (subnormals normalized); zeros have significand 0. frexp and ldexp are exact."""
    neg = np.signbit(x64)
    is_nan = np.isnan(x64)
    is_inf = np.isinf(x64)
    finite = np.where(is_nan | is_inf, 0.0, x64)
    frac, ex = np.frexp(np.abs(finite))
    sig = np.ldexp(frac, 53).astype(np.uint64)
    return neg, sig, ex.astype(np.int64) - 1, is_nan, is_inf


def round_params(fmt: Format):
    """(m, emin): the quantum of a magnitude with floor_log2 = f is 2^(max(f, emin) - m)."""
    if fmt.integer:
        # k * 2^s with k < 2^(bits-1): a fixed quantum 2^s, i.e. m = bits-2 below the top binade
        return fmt.mantissa_bits - 1, fmt.emin
    return fmt.mantissa_bits, fmt.emin


def round_parts(neg, sig, flog2, fmt: Format, rounding: str, random_bits=None, random_bit_count=0):
    """Magnitude code of (sig * 2^(flog2-52)) rounded to fmt, with an unbounded top exponent.

    Returns int64 magnitude codes (the code of |result| with the sign bit clear); a value above
    ``fmt.code_of_max`` means the rounded magnitude overflowed. Zeros (sig = 0) give 0.
    The quantum at magnitude |x| is 2^q with q = max(floor_log2|x|, emin) - m; N = |x| / 2^q is
    rounded to an integer per ``rounding`` and the code is ((max(floor_log2, emin) - emin) << m) + N,
    which is also right when rounding carries N into the next binade. (MX §6.3; OFP8 §5.2.1)
    """
    m, emin = round_params(fmt)
    top = np.maximum(flog2, emin)
    # shift from the 53-bit significand to the quantum: s = q - (flog2 - 52) >= 52 - m > 0
    s = top - m - flog2 + 52
    s_c = np.minimum(s, 63).astype(np.uint64)  # M < 2^53, so any shift >= 63 acts alike
    one = np.uint64(1)
    n0 = sig >> s_c
    rem = sig & ((one << s_c) - one)
    if rounding == "rne":
        half = one << (s_c - one)
        # a tie goes to the even code: the LSB of n0 when m >= 1; with no mantissa bits (FP4 E3M0)
        # the code is (top - emin) + n0, so its parity is the exponent's
        odd = (n0 & one) == one if m else ((n0.astype(np.int64) + (top - emin)) & 1) == 1
        up = (rem > half) | ((rem == half) & odd)
    elif rounding == "ties_away":
        up = rem >= (one << (s_c - one))
    elif rounding == "ties_toward_zero":
        up = rem > (one << (s_c - one))
    elif rounding == "toward_zero":
        up = np.zeros(sig.shape, bool)
    elif rounding == "up":
        up = (rem != 0) & ~neg
    elif rounding == "down":
        up = (rem != 0) & neg
    elif rounding == "stochastic":
        # f * 2^r truncated = rem >> (s - r); away iff R + that >= 2^r
        t = s - random_bit_count
        f_r = np.where(t >= 64, np.uint64(0), rem >> np.clip(t, 0, 63).astype(np.uint64))
        up = (random_bits + f_r) >= (one << np.uint64(random_bit_count))
    else:  # pragma: no cover - validated by the caller
        raise ValueError(rounding)
    n = n0 + up.astype(np.uint64)
    mag = ((top - emin) << m) + n.astype(np.int64)
    return np.where(sig == 0, 0, mag)


def max_mag(fmt: Format, neg, allow_minus128: bool):
    if fmt.integer and allow_minus128:
        return np.where(neg, fmt.code_of_max + 1, fmt.code_of_max)
    return fmt.code_of_max


def pack_code(fmt: Format, neg, mag):
    """Code from sign and magnitude code: sign-magnitude, or two's complement for integers."""
    if fmt.integer:
        return np.where(neg, (fmt.num_codes - mag) % fmt.num_codes, mag)
    return np.where(neg, mag | fmt.sign_mask, mag) if fmt.signed else mag


@functools.lru_cache(maxsize=None)
def decode_table(fmt: Format) -> np.ndarray:
    """float64 value of every code of fmt, from its bit fields (vectorized over the codes)."""
    c = np.arange(fmt.num_codes, dtype=np.int64)
    if fmt.integer:
        signed = np.where(c >> (fmt.bits - 1) == 1, c - fmt.num_codes, c)
        return np.ldexp(signed.astype(np.float64), fmt.scale_exponent)
    m_bits = fmt.mantissa_bits
    sign = (c >> (fmt.bits - 1)) & 1 if fmt.signed else np.zeros_like(c)
    e = (c >> m_bits) & ((1 << fmt.exponent_bits) - 1)
    m = c & ((1 << m_bits) - 1)
    sub = (e == 0) if fmt.has_subnormals else np.zeros(c.shape, bool)
    # normal: 2^(e-bias) (2^m + m) / 2^m ; subnormal: 2^(1-bias) m / 2^m
    sig = np.where(sub, m, m + (1 << m_bits)).astype(np.float64)
    exp = np.where(sub, 1, e) - fmt.bias - m_bits
    mag = np.ldexp(sig, exp.astype(np.int32))
    val = np.where(sign == 1, -mag, mag)
    e_ones, m_ones = (1 << fmt.exponent_bits) - 1, (1 << m_bits) - 1
    if fmt.nonfinite == "ieee":
        val = np.where((e == e_ones) & (m == 0), np.where(sign == 1, -np.inf, np.inf), val)
        val = np.where((e == e_ones) & (m != 0), np.copysign(np.nan, np.where(sign == 1, -1.0, 1.0)), val)
    elif fmt.nonfinite == "nan_only":
        val = np.where((e == e_ones) & (m == m_ones), np.copysign(np.nan, np.where(sign == 1, -1.0, 1.0)), val)
    elif fmt.nan_encoding == "negative_zero":  # FNUZ: the -0 code is the NaN
        val = np.where(c == fmt.sign_mask, np.nan, val)
    val.setflags(write=False)
    return val



def round_to_ieee(x64: np.ndarray, row: Format) -> np.ndarray:
    """RNE of float64 values to an IEEE row (float16, bfloat16, float32) as uint16/uint32 bits."""
    neg, sig, flog2, is_nan, is_inf = split_float64(x64)
    mag = round_parts(neg, sig, flog2, row, "rne")
    mag = np.where((mag > row.code_of_max) | is_inf, row.inf_codes[0], mag)
    qnan = (((1 << row.exponent_bits) - 1) << row.mantissa_bits) | (1 << (row.mantissa_bits - 1))
    mag = np.where(is_nan, qnan, mag)
    return np.where(neg, mag | row.sign_mask, mag).astype(np.uint16 if row.bits == 16 else np.uint32)


# ----- blocks along one axis ----------------------------------------------------------------------


def effective_block(block_size: int, length: int) -> int:
    """The block length the computation uses along an axis of ``length``: a block longer than
    the axis is one short block, the same computation as block_size == length (MX §6.3: the
    missing elements of a short block count as zeros for the scale and are not stored)."""
    return block_size if block_size <= length or length == 0 else length



def to_rows(a: np.ndarray, axis: int):
    """(rows, lead): ``a`` with ``axis`` moved last, as a 2-D (n_rows, L) array (a view where
    NumPy can), and the shape of the other axes. n_rows is explicit: reshape(-1, 0) is ambiguous."""
    m = np.moveaxis(a, axis, -1)
    lead = m.shape[:-1]
    return m.reshape(int(np.prod(lead, dtype=np.int64)), m.shape[-1]), lead


def from_rows(rows: np.ndarray, lead: tuple, axis: int, contiguous: bool = True) -> np.ndarray:
    """The inverse of :func:`to_rows`: (n_rows, L) rows back to ``lead`` with L at ``axis``,
    C-contiguous (``contiguous=False``: the moved view, no copy)."""
    a = np.moveaxis(rows.reshape(*lead, rows.shape[-1]), -1, axis)
    return np.ascontiguousarray(a) if contiguous else a


def pad_blocks(rows: np.ndarray, nb: int, k: int) -> np.ndarray:
    """(n, L) rows as (n, nb, k) blocks, the short last block padded with zeros (code 0 is +0 in
    every element format, and zeros never change a block's amax)."""
    pad = nb * k - rows.shape[-1]
    if pad:
        rows = np.pad(rows, ((0, 0), (0, pad)))
    return rows.reshape(rows.shape[0], nb, k)


def row_pieces(n_rows: int, L: int, k: int, chunk: int):
    """Pieces (row slice, column start, column stop) covering (n_rows, L) rows blocked by k, of
    about ``chunk`` elements each: whole rows where a row is short, else pieces of one row whose
    column bounds are multiples of k (so a piece holds whole blocks, the row's short last block
    at its end). A loop over fixed-size chunks, never over elements or blocks."""
    if L <= chunk or L == 0:
        per = max(1, chunk // max(L, 1))
        for r0 in range(0, n_rows, per):
            yield slice(r0, min(n_rows, r0 + per)), 0, L
        return
    step = max(1, chunk // k) * k
    for r in range(n_rows):
        for c0 in range(0, L, step):
            yield slice(r, r + 1), c0, min(L, c0 + step)


_CHUNK_BLOCKS = 1 << 12  # blocks per chunk of the ext quantizers' temporaries


class Blocked:
    """x laid out as blocks of k along ``axis`` (the last block short, zero-padded), flattened
    to (number of blocks, k), with the inverse maps for elements and per-block arrays. A block
    longer than the axis is one short block: ``self.k`` is then the axis length (the arrays
    follow the data, not the block size)."""

    def __init__(self, x, axis: int, k: int):
        self.shape = tuple(x.shape)
        self.axis = axis
        rows, self.lead = to_rows(x, axis)
        self.n_rows, self.L = rows.shape
        self.k = k = effective_block(k, self.L)
        self.nb = -(-self.L // k)
        self.blocks = pad_blocks(rows, self.nb, k).reshape(self.n_rows * self.nb, k)

    def chunks(self):
        """Slices of at most _CHUNK_BLOCKS blocks."""
        n = self.blocks.shape[0]
        for b0 in range(0, n, _CHUNK_BLOCKS):
            yield slice(b0, min(n, b0 + _CHUNK_BLOCKS))

    def valid(self, sl: slice) -> np.ndarray:
        """(blocks in sl, k) bool: True for x's elements, False for the padding of short blocks."""
        b = np.arange(self.blocks.shape[0])[sl] % self.nb
        count = np.minimum(self.k, self.L - b * self.k)
        return np.arange(self.k)[None, :] < count[:, None]

    def elements_back(self, a: np.ndarray) -> np.ndarray:
        """(blocks, k) -> x's shape (padding dropped)."""
        return from_rows(a.reshape(self.n_rows, self.nb * self.k)[:, :self.L], self.lead, self.axis)

    def scales_back(self, a: np.ndarray) -> np.ndarray:
        """(blocks,) -> x's shape with the blocked axis replaced by the number of blocks."""
        return from_rows(a.reshape(self.n_rows, self.nb), self.lead, self.axis)


def blocked_codes(elements: np.ndarray, scales: np.ndarray, axis: int, k: int):
    """Inverse view for dequantization: (element blocks (n, k) zero-padded, per-block arrays (n,))
    of arrays laid out as :class:`Blocked` returns them (k: the effective block, see
    :func:`effective_block`)."""
    rows, _ = to_rows(elements, axis)
    L = rows.shape[1]
    k = effective_block(k, L)
    nb = -(-L // k)
    return pad_blocks(rows, nb, k).reshape(-1, k), to_rows(scales, axis)[0].reshape(-1)


def unblock(values: np.ndarray, shape, axis: int, k: int) -> np.ndarray:
    """(blocks, k) values back to ``shape`` (blocked along ``axis``)."""
    lead = tuple(shape[:axis]) + tuple(shape[axis + 1:])
    L = shape[axis]
    k = effective_block(k, L)
    nb = -(-L // k)
    rows = values.reshape(int(np.prod(lead, dtype=np.int64)), nb * k)[:, :L]
    return from_rows(rows, lead, axis)
