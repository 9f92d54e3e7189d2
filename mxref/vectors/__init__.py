"""mxref's golden vectors (spec_vectors/): generate them, verify them.

    mxref vectors generate [--out DIR] [--level 1|2] [--force]
    mxref vectors verify [DIR] [--sample N] [--no-regenerate]

The vectors directory defaults to $MXREF_VECTORS, else ./spec_vectors of the current directory
(``python tools/gen_vectors.py`` / ``tools/verify_vectors.py`` default to the checkout's).

Modules: :mod:`.schema` (the one owner of the layout: manifest, dtypes, sums, hex rationals,
``.tv`` lines, path confinement), :mod:`.inputs` (the deterministic inputs: PCG64 streams and
boundary tables), :mod:`.kinds` (the registry: one entry per kind of expected file, with how it
is generated and checked), :mod:`.generate`, :mod:`.verify`. This package is a layer above the
core and uses :mod:`mxref.ext` (the extension formats have vectors under ext/).
"""

from __future__ import annotations

import argparse
import importlib

__all__ = ["main", "SUBCOMMANDS"]

#: subcommand -> (module, one-line help); each module has main(argv, prog) -> int
SUBCOMMANDS = {
    "generate": ("mxref.vectors.generate", "write the golden vectors (deterministic, byte for byte)"),
    "verify": ("mxref.vectors.verify", "check a vectors directory: manifest, sums, regeneration, reference"),
}


def main(argv=None, prog: str = "mxref vectors") -> int:
    """``mxref vectors generate|verify ...``: runs the subcommand, returns its exit status."""
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                 epilog="Each subcommand takes --help.")
    sub = ap.add_subparsers(dest="command", metavar="{generate,verify}", required=True)
    for name, (_, text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=text, add_help=False)
    args = list(argv) if argv is not None else None
    a, rest = ap.parse_known_args(args)
    module = importlib.import_module(SUBCOMMANDS[a.command][0])
    return int(module.main(rest, prog=f"{prog} {a.command}") or 0)
