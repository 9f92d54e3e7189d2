#!/usr/bin/env python3
"""Generate the golden vectors into this checkout's spec_vectors/ (or --out DIR): a thin wrapper
of ``mxref vectors generate`` (mxref.vectors.generate) with the checkout's directory as default."""

import sys
from pathlib import Path

from mxref.vectors.generate import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], prog="gen_vectors.py", default_dir=Path(__file__).resolve().parents[1] / "spec_vectors"))
