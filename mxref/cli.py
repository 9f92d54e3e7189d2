"""The ``mxref`` command (also ``python -m mxref``): one subcommand per job.

    mxref formats [...]              the format tables (mxref.tables)
    mxref check [...]                the conformance checker (mxref.conformance)
    mxref vectors generate|verify    the golden vectors (mxref.vectors)
    mxref bench [...]                the benchmark (mxref.bench)
    mxref sweep [...]                exhaustive sweeps against an independent oracle (mxref.sweep)
    mxref audit CHECKPOINT [...]     structural / re-quantization audit of a checkpoint (mxref.audit)

Each subcommand takes ``--help``. A subcommand's module is imported only when it runs, so
``mxref formats`` needs nothing beyond NumPy. Exit status: the subcommand's (2 for bad arguments).
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["main", "SUBCOMMANDS"]

#: name -> (module, one-line help). Each module has ``main(argv, prog=...) -> int``; a module
#: with subcommands of its own (vectors) dispatches them itself.
SUBCOMMANDS = {
    "formats": ("mxref.tables", "print the format tables, computed exactly from the format rows"),
    "check": ("mxref.conformance", "check a library's (or a dump's) MX outputs against mxref"),
    "vectors": ("mxref.vectors", "generate or verify the golden vectors (spec_vectors/)"),
    "bench": ("mxref.bench", "time quantize/dequantize as ratios to a copy, beside peers"),
    "sweep": ("mxref.sweep", "check every float32 input / amax against an independent oracle, on Dask"),
    "audit": ("mxref.audit", "audit the MX tensors of a .safetensors checkpoint (structure; --source: re-quantize)"),
}


def _usage() -> str:
    width = max(map(len, SUBCOMMANDS))
    lines = ["usage: mxref <command> [options]   (mxref <command> --help for each)", "",
             "commands:"]
    lines += [f"  {name.ljust(width)}  {text}" for name, (_, text) in SUBCOMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run ``mxref <command> ...``; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0 if args else 2
    if args[0] == "--version":
        from . import __version__

        print(f"mxref {__version__}")
        return 0
    name, rest = args[0], args[1:]
    if name not in SUBCOMMANDS:
        print(f"mxref: unknown command {name!r}; commands: {', '.join(SUBCOMMANDS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(SUBCOMMANDS[name][0])
    return int(module.main(rest, prog=f"mxref {name}") or 0)
