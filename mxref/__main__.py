"""``python -m mxref``: the same as the ``mxref`` command (see :mod:`mxref.cli`)."""

import sys

from .cli import main

sys.exit(main())
