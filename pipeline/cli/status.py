"""How a ``coursepipe`` command ends: the exit statuses scripts and CI rely on, and the usage error.

The values are a contract (README "Exit status", the command modules' docstrings): a wrapper tells "the
pipeline rejected a file" (1) from "the command was called wrongly or the stack is not there" (2). argparse
exits 2 on a bad option itself, which is why USAGE is 2 and not a value of our choosing.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """The process exit status of every ``coursepipe`` command."""

    OK = 0
    """Everything asked for was done (every execution succeeded, the file probed, the stack stopped)."""
    FAILED = 1
    """The command ran but its subject failed: an execution failed, a file failed the probe, a course
    is unknown to the catalog."""
    USAGE = 2
    """Bad command-line input, or nothing to talk to: an invalid course id, a missing file or key, a port
    in use, an unreachable stack."""


class UsageError(Exception):
    """Bad command-line input: the registry prints ``coursepipe: error: {message}`` and exits USAGE."""
