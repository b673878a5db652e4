"""``python -m pipeline.cli`` is the ``coursepipe`` command (as ``python -m pipeline`` is)."""

import sys

from pipeline.cli import main

sys.exit(main())
