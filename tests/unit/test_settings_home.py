"""Every environment variable is read in ``pipeline/config.py`` (its docstring says so, and this keeps it
true): a setting read elsewhere is one the template, the README's configuration table and the local
runtime can silently disagree on."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pipeline"
# The one other place that touches the environment, and why: it plays Lambda, setting each function's
# template Environment for the in-process handlers and restoring the caller's on stop.
WRITERS = {"local/runtime.py": "sets the functions' Environment (Lambda's job), restores it on stop"}


def _environment_uses(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb", "putenv"):
            lines.append(node.lineno)
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            lines += [node.lineno for a in node.names if a.name in ("environ", "getenv", "environb")]
    return lines


def test_only_config_reads_the_environment() -> None:
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == "config.py" or rel in WRITERS:
            continue
        found = _environment_uses(ast.parse(path.read_text(encoding="utf-8")))
        if found:
            offenders[rel] = found
    assert not offenders, f"read the environment in pipeline/config.py instead: {offenders}"


def test_the_writer_only_writes_and_compares() -> None:
    """runtime.py may set and restore variables; any *setting* it needs comes from config like elsewhere."""
    source = (PACKAGE / "local/runtime.py").read_text(encoding="utf-8")
    assert 'os.environ.get("' not in source and "getenv" not in source
