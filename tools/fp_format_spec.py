#!/usr/bin/env python3
"""Print the specification tables of mxref's formats: the same as ``mxref formats`` (the code is
:mod:`mxref.tables`; this wrapper runs it from a checkout without installing)."""

import sys
from pathlib import Path

try:
    import mxref  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mxref.tables import *  # noqa: E402,F401,F403  (the tables' functions, for scripts and tests)
from mxref.tables import _code_of_max, main  # noqa: E402,F401

if __name__ == "__main__":
    sys.exit(main(prog="fp_format_spec.py"))
