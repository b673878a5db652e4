"""The runtime dependency lock: layers/python/requirements.txt, generated from requirements.in.

One file, used by the Lambda layer's build (layers/python/Makefile, --require-hashes) and by CI (.ci/run
installs it with --require-hashes before the project), so the tests run the exact versions the functions
ship: the lesson sanitizer leans on Markdown's internals, and a build must not pick up a new Markdown (or
anything else) because it was released yesterday.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "python"
LOCK = LAYER / "requirements.txt"
SOURCE = LAYER / "requirements.in"
# What the project needs only locally (moto runtime, CLI), never in a function.
LOCAL_ONLY = {"moto", "rich"}

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
_HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str:
    return norm(re.split(r"[\s\[<>=!~;]", line.strip(), maxsplit=1)[0])


def lock_entries() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes), from pip-compile's ``name==version \\ --hash=...`` blocks."""
    entries: dict[str, tuple[str, list[str]]] = {}
    current: str | None = None
    for raw in LOCK.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pin = _PIN.match(line)
        if pin:
            current = norm(pin[1])
            entries[current] = (pin[2], [])
        elif line.startswith("--hash="):
            assert current is not None and _HASH.fullmatch(line.rstrip(" \\")), raw
            entries[current][1].append(line.rstrip(" \\"))
        else:
            raise AssertionError(f"the lock has a line that is neither a pin nor a hash: {raw!r}")
    return entries


def test_the_lock_pins_every_package_with_hashes() -> None:
    entries = lock_entries()
    assert entries
    for name, (_version, hashes) in entries.items():
        assert hashes, f"{name} has no hash: pip's --require-hashes would refuse the whole lock"
    text = "\n".join(
        line for line in LOCK.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#")
    )
    # No options that could pull in something else than the pinned files (an index, a path, a URL).
    for option in (
        "--index-url",
        "--extra-index-url",
        "--find-links",
        "-e ",
        "-r ",
        "-c ",
        "file:",
        "git+",
        " @ ",
    ):
        assert option not in text, option


def test_the_lock_covers_the_hand_edited_list() -> None:
    wanted = {
        requirement_name(line)
        for line in SOURCE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    assert wanted <= set(lock_entries())
    assert "markdown" in wanted  # the reason the lock exists


def test_every_runtime_dependency_of_the_project_is_in_the_layer_lock() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {requirement_name(r) for r in project["dependencies"]} - LOCAL_ONLY
    runtime |= {requirement_name(r) for r in project["optional-dependencies"]["dax"]}
    assert runtime <= set(lock_entries()), runtime - set(lock_entries())


def test_the_venv_runs_exactly_the_locked_versions() -> None:
    """CI installs the lock first; a dev dependency that moved a locked package would show here."""
    wrong = {}
    for name, (version, _hashes) in lock_entries().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "missing (pip install --require-hashes -r layers/python/requirements.txt)"
        if installed != version:
            wrong[name] = (version, installed)
    assert not wrong, f"locked vs installed: {wrong}"


def test_ci_installs_the_lock_with_hashes_before_the_project() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    lock_step = [
        i
        for i, line in enumerate(script)
        if "--require-hashes" in line and "layers/python/requirements.txt" in line
    ]
    project_step = [i for i, line in enumerate(script) if 'install -q -e ".[dev]"' in line]
    assert lock_step and project_step and lock_step[0] < project_step[-1]


def test_the_lock_is_complete_for_the_venv_and_for_lambdas_python() -> None:
    """The layer installs with --no-deps: every dependency, under CI's Python and the functions' 3.13 alike,
    must itself be locked (the lock is resolved under one of them)."""
    from packaging.requirements import Requirement

    locked = set(lock_entries())
    for python in (None, "3.13"):
        env = {} if python is None else {"python_version": python, "python_full_version": f"{python}.0"}
        missing = set()
        for name in locked:
            for spec in metadata.requires(name) or []:
                req = Requirement(spec)
                applies = req.marker is None or req.marker.evaluate({**env, "extra": ""})
                if applies and norm(req.name) not in locked:
                    missing.add((name, req.name))
        assert not missing, (python or "venv", missing)
