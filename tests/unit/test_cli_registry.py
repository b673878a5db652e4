"""The ``coursepipe`` command registry: every command is reachable, exit statuses keep their documented
values, and the CLI modules import on their own (no cycle, no command importing another)."""

from __future__ import annotations

import argparse
import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import pipeline.cli
from pipeline.cli.app import COMMAND_MODULES, build_parser, commands, main
from pipeline.cli.registry import Command, Registry
from pipeline.cli.status import ExitStatus, UsageError

CLI_DIR = Path(pipeline.cli.__file__).parent
MODULES = sorted(m.name for m in pkgutil.iter_modules([str(CLI_DIR)]) if m.name != "__main__")
SHARED = {"registry", "status", "defaults", "console", "uploads"}
"""What a command module may import from the package: never ``app`` (main) or another command."""


def test_every_registered_command_is_in_the_help() -> None:
    names = commands().names()
    assert names == [
        "demo", "process", "estimate", "up", "upload", "executions", "catalog", "enroll",
        "migrate-enrollments", "keys", "cookies", "serve",
    ]  # fmt: skip
    help_text = build_parser().format_help()
    assert "{" + ",".join(names) + "}" in help_text
    for command in commands():
        assert f"    {command.name}" in help_text, command.name
        assert command.help.split()[0] in help_text, command.name


def test_help_exits_ok(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == ExitStatus.OK
    assert capsys.readouterr().out.startswith("usage: coursepipe")


def test_command_names_are_unique() -> None:
    names = commands().names()
    assert len(names) == len(set(names))
    registry = Registry()
    registry.add(Command("x", "first", lambda parser: None, lambda args: ExitStatus.OK))
    with pytest.raises(ValueError, match="registered twice"):
        registry.add(Command("x", "second", lambda parser: None, lambda args: ExitStatus.OK))


def test_exit_statuses_keep_their_documented_values() -> None:
    """README: 0 all succeeded, 1 any failed, 2 usage error (and an unreachable stack)."""
    assert {status.name: int(status) for status in ExitStatus} == {"OK": 0, "FAILED": 1, "USAGE": 2}


def test_dispatch_turns_usage_errors_into_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    class StackGone(Exception):
        pass

    def bad_input(args: argparse.Namespace) -> int:
        raise UsageError("--course 'X' is not a valid course id")

    def no_stack(args: argparse.Namespace) -> int:
        raise StackGone("cannot reach the ingest bucket")

    registry = Registry()
    registry.add(Command("bad", "h", lambda parser: None, bad_input))
    registry.add(Command("gone", "h", lambda parser: None, no_stack, usage_errors=(StackGone,)))
    registry.add(Command("fine", "h", lambda parser: None, lambda args: ExitStatus.FAILED))
    for name, status in (("bad", ExitStatus.USAGE), ("gone", ExitStatus.USAGE), ("fine", ExitStatus.FAILED)):
        assert registry.dispatch(argparse.Namespace(command=name)) == status
    assert capsys.readouterr().err.splitlines() == [
        "coursepipe: error: --course 'X' is not a valid course id",
        "coursepipe: error: cannot reach the ingest bucket",
    ]


def test_each_command_module_registers_something() -> None:
    for module in COMMAND_MODULES:
        registry = Registry()
        module.register(registry)
        assert len(registry) > 0, module.__name__


@pytest.mark.parametrize("name", MODULES)
def test_command_modules_import_only_the_shared_modules(name: str) -> None:
    tree = ast.parse((CLI_DIR / f"{name}.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "pipeline.cli":
                imported |= {alias.name for alias in node.names}
            elif node.module.startswith("pipeline.cli."):
                imported.add(node.module.removeprefix("pipeline.cli."))
        elif isinstance(node, ast.Import):
            imported |= {
                a.name.removeprefix("pipeline.cli.") for a in node.names if a.name.startswith("pipeline.cli.")
            }
    if name == "app":
        return  # the composition root: it alone knows every command module
    assert imported <= SHARED, f"pipeline.cli.{name} imports {sorted(imported - SHARED)}"


@pytest.mark.parametrize("name", ["pipeline.cli", *(f"pipeline.cli.{m}" for m in MODULES)])
def test_each_module_imports_in_a_fresh_interpreter(name: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"import {name}"], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
