#!/usr/bin/env python3
"""Run an MX library against mxref and report every difference, classified.

A thin wrapper around ``python -m mxref.conformance`` (the package mxref/conformance/; see the
README's "Check your implementation"):

    python tools/conformance.py --library torchao --profile all
    python tools/conformance.py --library ml_dtypes --level 2 --json report.json
    python tools/conformance.py --library dump --dump path/to/dir   # dump.json, or the spec_vectors layout
    python tools/conformance.py --library microxcaling --recordings ../shared/peers/microxcaling
    python tools/conformance.py --list
"""

from __future__ import annotations

import sys
from pathlib import Path

# this checkout's mxref, whatever else is installed
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mxref.conformance import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
