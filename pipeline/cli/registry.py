"""The command registry: each command module registers its subcommands here and ``main`` dispatches
through it, so adding a command touches one module and no command imports another (or ``main``).

Modeled on httpie's task table: a command is its name, its help, how it adds its arguments and the
function that runs it; the registry owns the one place usage errors become ``ExitStatus.USAGE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.cli.console import print_error
from pipeline.cli.status import ExitStatus, UsageError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterator


@dataclass(frozen=True)
class Command:
    """One ``coursepipe`` subcommand."""

    name: str
    help: str
    setup: Callable[[argparse.ArgumentParser], None]
    """Adds the command's arguments (and nested subcommands) to its subparser."""
    run: Callable[[argparse.Namespace], int]
    description: str | None = None
    usage_errors: tuple[type[Exception], ...] = ()
    """Exceptions that mean the caller got it wrong (beyond ``UsageError``): exit USAGE with their message."""


class Registry:
    """Commands in registration order (the order ``coursepipe --help`` lists them)."""

    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}

    def add(self, command: Command) -> None:
        if command.name in self._commands:
            raise ValueError(f"command {command.name!r} is registered twice")
        self._commands[command.name] = command

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands.values())

    def __len__(self) -> int:
        return len(self._commands)

    def names(self) -> list[str]:
        return list(self._commands)

    def attach(self, parser: argparse.ArgumentParser) -> None:
        """Add every command as a subparser of ``parser``; the chosen one lands in ``args.command``."""
        sub = parser.add_subparsers(dest="command", required=True)
        for command in self:
            command.setup(sub.add_parser(command.name, help=command.help, description=command.description))

    def dispatch(self, args: argparse.Namespace) -> int:
        """Run the command ``args`` chose; a usage error prints one line and exits USAGE."""
        command = self._commands[args.command]
        usage_errors: tuple[type[Exception], ...] = (UsageError, *command.usage_errors)
        try:
            return command.run(args)
        except usage_errors as exc:
            print_error(exc)
            return ExitStatus.USAGE
