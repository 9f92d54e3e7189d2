#!/usr/bin/env python3
"""Verify this checkout's spec_vectors/ (or DIR): a thin wrapper of ``mxref vectors verify``
(mxref.vectors.verify) with the checkout's directory as default."""

import sys
from pathlib import Path

from mxref.vectors.verify import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], prog="verify_vectors.py", default_dir=Path(__file__).resolve().parents[1] / "spec_vectors"))
