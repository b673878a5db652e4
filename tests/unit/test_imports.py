"""Every module of the package imports on its own, first, in a fresh interpreter.

An import cycle shows up only when the cycle's second module happens to be imported first; importing each
module alone, in a new process, tries every entry point a Lambda handler, the CLI or a test may use. The
package is imported from the source tree, so a module missing from it (a file renamed without its
importers) fails here too.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pipeline"


def _modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__main__":
            continue  # running it is the CLI, not an import
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _import_alone(name: str) -> str | None:
    done = subprocess.run(
        [sys.executable, "-c", f"import {name}"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    return f"{name}: {(done.stderr.strip().splitlines() or ['?'])[-1]}" if done.returncode else None


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    modules = _modules()
    assert len(modules) > 50 and "pipeline.steps" in modules
    with ThreadPoolExecutor(max_workers=2) as pool:
        failed = [f for f in pool.map(_import_alone, modules) if f]
    assert not failed, "\n".join(failed)
