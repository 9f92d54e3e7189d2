"""Conformance checker: run an MX library against mxref and report every difference, classified.

``python -m mxref.conformance`` (or ``python tools/conformance.py``) feeds a library TestFloat-style
cases -- per-format boundary tables crossed with seeded random data -- and compares every result
bit for bit with mxref, in the mode the library claims (its *profile*). Each case is one of:

  PASS               equal bit for bit (NaN values compare equal whatever their payload);
  MISMATCH           wrong against the rule the library claims;
  IMPL_DEFINED:<id>  a difference the specification leaves open (:data:`IMPL_DEFINED_IDS`);
  UNSUPPORTED        the library cannot take the case (e.g. a ragged length, a missing format);
  ERROR              the library raised on a case whose result the specification defines.

Operations: ``quantize`` (MX block conversion, MX §6.3: scale codes, element codes and/or the
dequantized values X * P_i, MX §5.1; one case per block), ``encode`` (element conversion, MX §5.3 /
OFP8 §5.2.1; one case per value), ``encode_e8m0`` (a value to the E8M0 scale format, MX §5.4.1).
``quantize`` also covers NVFP4 (format ``nvfp4``, not MX v1.0: :mod:`mxref.ext.nvfp4`; blocks of
16, unsigned E4M3 scale, NaN scale code 0x7F) for the torchao adapter. Outputs in the spec_vectors
layout add ``decode``, ``dequantize`` (codes to X * P_i), ``pack``, ``swizzle_scales`` and
``matmul`` (:class:`VectorsAdapter`; one case per code, block, row, byte or C element).
Adapters (:data:`ADAPTERS`, one file each in ``adapters/``, the contract in
``adapters/base.py``): ``ml_dtypes``, ``gfloat``, ``torchao``, ``microxcaling`` (recorded
outputs), ``dump`` (a directory written by any implementation: ``dump.json`` and .npy files, see
:class:`DumpAdapter`, or the spec_vectors layout, see :class:`VectorsAdapter`), ``spec_vectors``
(that layout, asked for by name), and ``mxref`` itself (a self-check, and the base of the
fault-injection tests).

Data locations (arguments, with defaults that need no checkout):
  ``--recordings DIR`` (alias ``--microxcaling-dir``): the microxcaling recordings; default
  the environment variable ``MXREF_RECORDINGS`` if set, else ``../shared/peers/microxcaling``
  relative to the current directory if it exists, else the adapter is unavailable (its message
  says to pass --recordings DIR).
  ``--vectors DIR``: the reference spec_vectors set a ``--dump DIR`` in that layout takes its
  inputs from; default ``MXREF_VECTORS`` if set, else ``./spec_vectors`` relative to the current
  directory.

Levels (``--level``), minimum cases per (operation, format, input dtype) -- :data:`LEVEL_MINIMUM`:
level 1: 1,000 blocks (quantize), 10,000 values (encode), 5,000 values (encode_e8m0);
level 2: 10,000 blocks, 200,000 values (every float16 and bfloat16 pattern included), 100,000.
Cases are deterministic for a seed. A failing block is shrunk (elements set to +0 one at a time,
kept while the block still mismatches) to a block where no single non-zero element can be
removed before it is reported. Exit status: 0 no MISMATCH and no ERROR; 1 MISMATCH or ERROR
found (``--strict``: IMPL_DEFINED counts as MISMATCH); 2 bad arguments, an unreadable dump or
recording (a file name leading out of its directory included), or a run that compared no case
(every case UNSUPPORTED, or no target matched: the message says why); 3 a library asked for by
name is not installed. Peer differences seen before are noted on MISMATCH lines only on the
versions they were seen on (:data:`KNOWN_DIFFERENCES`).

Layout: :mod:`.model` (data types, ids, levels), :mod:`.casegen` (one parametrised case
builder), :mod:`.expected` (mxref's results), :mod:`.classify`, :mod:`.guard` (calling a
library), :mod:`.lines` (report lines, :func:`parse_line`), :mod:`.shrink`, :mod:`.run` (one
run loop, :func:`check`), :mod:`.known` (:data:`KNOWN_DIFFERENCES`), :mod:`.report`,
:mod:`.cli` (:func:`main`), :mod:`.adapters`.

This package needs NumPy only; each adapter imports its library when it runs, and ``tabulate`` is
used for the summary when installed.
"""

from __future__ import annotations

from .adapters import (ADAPTERS, Adapter, DumpAdapter, GfloatAdapter, MicroxcalingAdapter, MlDtypesAdapter,
                       MxrefAdapter, TorchaoAdapter, VectorsAdapter, write_dump)
from .casegen import cases
from .cli import main
from .known import KNOWN_DIFFERENCES, KnownDifference
from .lines import parse_line
from .model import (ERROR, IMPL, IMPL_DEFINED_IDS, LEVEL_MINIMUM, MISMATCH, PASS, UNSUPPORTED,  # noqa: F401
                    AdapterUnavailable, Line, Output, Profile, Target, TargetResult)
from .report import Report
from .run import check

__all__ = [
    "IMPL_DEFINED_IDS",
    "LEVEL_MINIMUM",
    "ADAPTERS",
    "Profile",
    "Target",
    "Output",
    "Adapter",
    "MxrefAdapter",
    "MlDtypesAdapter",
    "GfloatAdapter",
    "TorchaoAdapter",
    "MicroxcalingAdapter",
    "DumpAdapter",
    "VectorsAdapter",
    "Report",
    "KnownDifference",
    "KNOWN_DIFFERENCES",
    "check",
    "cases",
    "write_dump",
    "parse_line",
    "main",
]
