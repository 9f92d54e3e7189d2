#!/usr/bin/env python3
"""The exhaustive sweep: the same as ``mxref sweep`` (the code is :mod:`mxref.sweep`; this wrapper
runs it from a checkout without installing)."""

import sys
from pathlib import Path

try:
    import mxref  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mxref.sweep import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(prog="sweep.py"))
