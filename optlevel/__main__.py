"""``python -m optlevel``: the command-line interface (see :mod:`optlevel.cli`)."""

import sys

from .cli import main

sys.exit(main())
