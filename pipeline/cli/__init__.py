"""``coursepipe``: run the pipeline locally (the embedded default runtime) and talk to a running stack.

One module per job: ``process`` (``demo``, ``process``), ``estimate``, ``stack`` (``up``, ``upload``,
``executions``, ``catalog``, ``enroll``, ``migrate-enrollments``), ``access`` (``keys``, ``cookies``),
``edge`` (``serve``); each module's docstring holds its commands' contracts (output, exit statuses,
which other tools rely on). ``registry`` dispatches, ``status`` has the exit statuses, ``defaults`` the
option defaults, ``console`` how output is written.

``main`` is imported lazily so that importing one command module (or ``pipeline.cli.status``) does not
load every command and its dependencies (boto3 for the stack commands).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """The ``coursepipe`` console script (``pipeline.cli:main``) and ``python -m pipeline``."""
    from pipeline.cli.app import main as run

    return run(argv)
