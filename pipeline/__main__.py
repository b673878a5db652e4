"""``python -m pipeline`` is the ``coursepipe`` command."""

import sys

from pipeline.cli import main

sys.exit(main())
