"""The lesson package's room boundary: the sanitizer can be audited without reading the rest of it.

Given the source of ``pipeline/text/lesson/sanitize.py``, when its imports are parsed, then the only
pipeline module it reads is the URL rule (``pipeline/text/urls.py``), which itself reads none: an audit of
what may reach a lesson page covers those two files. And the package still exposes what callers import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pipeline.text.lesson as lesson_package
from pipeline.text import urls
from pipeline.text.lesson import sanitize

# What the sanitizer may import from the pipeline: the URL rule shared with the player, nothing else.
SANITIZER_MAY_IMPORT = frozenset({"pipeline.text.urls"})


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports; a relative import is spelled with its leading dots."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


def from_pipeline(modules: set[str]) -> set[str]:
    return {m for m in modules if m == "pipeline" or m.startswith(("pipeline.", "."))}


def test_the_sanitizer_imports_nothing_from_the_pipeline_but_the_url_rule() -> None:
    imports = from_pipeline(imported_modules(Path(sanitize.__file__)))
    assert imports <= SANITIZER_MAY_IMPORT, sorted(imports - SANITIZER_MAY_IMPORT)


def test_the_url_rule_imports_nothing_from_the_pipeline() -> None:
    assert from_pipeline(imported_modules(Path(urls.__file__))) == set()


def test_the_package_still_exposes_the_renderer() -> None:
    assert callable(lesson_package.render_lesson)
    assert lesson_package.RenderedLesson.__name__ == "RenderedLesson"
    assert {"render_lesson", "RenderedLesson"} <= set(lesson_package.__all__)
