"""The template and the code stay deployable and clean: cfn-lint (runs the SAM transform offline),
ruff and mypy, exactly as a reviewer would run them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[dev]'")
    return found


@pytest.mark.parametrize(
    "command",
    [
        ["cfn-lint", "template.yaml"],
        ["ruff", "check", "."],
        ["mypy"],
    ],
    ids=["cfn-lint", "ruff", "mypy"],
)
def test_tool_is_clean(command: list[str]) -> None:
    result = subprocess.run(
        [tool(command[0]), *command[1:]], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
