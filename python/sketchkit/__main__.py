"""``python -m sketchkit``: the command line (see :mod:`sketchkit.cli`)."""

import sys

from .cli import main

sys.exit(main())
