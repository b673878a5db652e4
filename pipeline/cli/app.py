"""The ``coursepipe`` parser and dispatch: the one module that knows every command module.

Command modules only register themselves (``register(registry)``) and never import this module or each
other; the order below is the order ``coursepipe --help`` lists the commands in.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pipeline.cli import access, edge, estimate, process, stack
from pipeline.cli.registry import Registry

if TYPE_CHECKING:
    from collections.abc import Sequence

COMMAND_MODULES = (process, estimate, stack, access, edge)


def commands() -> Registry:
    """Every ``coursepipe`` command, in ``--help`` order."""
    registry = Registry()
    for module in COMMAND_MODULES:
        module.register(registry)
    return registry


def build_parser(registry: Registry | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coursepipe",
        description="Course media pipeline. Runs the AWS Step Functions pipeline locally on moto "
        "(no AWS account needed); deploy the same template.yaml to AWS with SAM.",
    )
    (registry or commands()).attach(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    registry = commands()
    args = build_parser(registry).parse_args(argv)
    return registry.dispatch(args)
