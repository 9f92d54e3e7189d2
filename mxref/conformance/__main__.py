"""``python -m mxref.conformance``: the checker's command line (:func:`mxref.conformance.main`)."""

import sys

from .cli import main

sys.exit(main())
