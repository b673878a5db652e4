"""What a deploy ships as each function's code, built the way ``sam build`` builds it.

Every function has ``Metadata: BuildMethod: makefile``: SAM runs ``make build-<LogicalId>`` of the Makefile
in CodeUri with ``ARTIFACTS_DIR`` set (from a scratch directory), and that directory becomes the function's
code. These tests run the same targets, on a copy of the repository where someone followed the README's
deploy steps (a private key in coursepipe-keys/, an export in coursepipe-out/, web/node_modules) and left
a few more things lying around, and check that only the pipeline package (and hls.js) comes out: SAM's
Python builder, which the functions used before, copied the whole tree into every function.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline.local.template import Stack

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
FAKE_KEY = b"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
FAKE_HLS_JS = b"/*! hls.js (test double) */\n"
# Path parts that must never appear in a function's code.
FORBIDDEN_PARTS = {
    "coursepipe-keys",
    "coursepipe-out",
    "tests",
    "node_modules",
    "web",
    ".venv",
    ".git",
    "__pycache__",
    "local",
    "sample",
}
FORBIDDEN_SUFFIXES = {".pem", ".key", ".pyc"}
# A PEM private key with a body (the package's own code names the markers, with no key after them).
PEM_PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\s*[A-Za-z0-9+/=]{16}")


def stack() -> Stack:
    return Stack.from_file(TEMPLATE)


def functions() -> dict[str, dict[str, Any]]:
    return stack().of_type("AWS::Serverless::Function")


def code_dir(logical: str) -> Path:
    return ROOT / str(stack().function_setting(logical, "CodeUri"))


def build(makefile: Path, logical: str, out: Path, scratch: Path) -> Path:
    """``make build-<logical>`` as SAM runs it: the Makefile by path, ARTIFACTS_DIR in the environment,
    the working directory somewhere else (SAM's scratch copy)."""
    scratch.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ARTIFACTS_DIR": str(out)}
    done = subprocess.run(
        ["make", "--makefile", str(makefile), f"build-{logical}"],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture(scope="module")
def deployer_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository as a deployer's machine has it after the README's steps, plus litter."""
    repo = tmp_path_factory.mktemp("repo")
    shutil.copy2(ROOT / "Makefile", repo / "Makefile")
    shutil.copytree(ROOT / "pipeline", repo / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    write(repo / "coursepipe-keys" / "private_key.pem", FAKE_KEY)
    write(repo / "coursepipe-keys" / "public_key.pem", b"-----BEGIN PUBLIC KEY-----\n")
    write(repo / "coursepipe-out" / "site" / "courses" / "c1" / "index.html", b"<html>export</html>")
    write(repo / "tests" / "unit" / "test_secret.py", b"TOKEN = 'x'\n")
    write(repo / "web" / "node_modules" / "hls.js" / "dist" / "hls.min.js", FAKE_HLS_JS)
    write(repo / "web" / "node_modules" / "hls.js" / "dist" / "hls.js.map", b"{}")
    write(repo / "web" / "node_modules" / "hls.js" / "LICENSE", b"Apache License 2.0\n")
    write(repo / "web" / "node_modules" / "left-pad" / "index.js", b"module.exports = 1;\n")
    write(repo / ".venv" / "lib" / "site.py", b"")
    write(repo / ".env", b"AWS_SECRET_ACCESS_KEY=x\n")
    # Inside the package too: a key someone generated there, bytecode, the local runtime's files.
    write(repo / "pipeline" / "access" / "signing_key.pem", FAKE_KEY)
    write(repo / "pipeline" / "__pycache__" / "aws.cpython-311.pyc", b"\x00")
    write(repo / "pipeline" / "local" / "dev-secret.txt", b"local only\n")
    return repo


@pytest.fixture(scope="module")
def artifacts(deployer_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("artifacts")
    return {
        logical: build(deployer_repo / "Makefile", logical, out / logical, out / "scratch")
        for logical in functions()
    }


def expected_package_files(repo: Path) -> set[str]:
    """What the Makefile copies: the package minus the local runtime, CLI, demo course, caches, keys."""
    wanted = set()
    for rel in files_under(repo / "pipeline"):
        parts = rel.split("/")
        if parts[0] in ("local", "sample", "cli", "__pycache__") or "__pycache__" in parts:
            continue
        if parts == ["__main__.py"]:
            continue
        if Path(rel).suffix in FORBIDDEN_SUFFIXES:
            continue
        wanted.add(f"pipeline/{rel}")
    return wanted


# ---------------------------------------------------------------- the template asks for this build
def test_every_function_is_built_by_the_makefile() -> None:
    for logical, res in functions().items():
        assert res.get("Metadata", {}).get("BuildMethod") == "makefile", logical
        assert (code_dir(logical) / "Makefile").is_file(), logical
        dry = subprocess.run(
            ["make", "-n", "--makefile", str(code_dir(logical) / "Makefile"), f"build-{logical}"],
            capture_output=True,
            text=True,
            env={**os.environ, "ARTIFACTS_DIR": "/nonexistent"},
            check=False,
        )
        assert dry.returncode == 0, f"the Makefile has no build-{logical} target: {dry.stderr}"


def test_the_makefile_refuses_to_run_without_an_artifacts_dir(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ARTIFACTS_DIR"}
    done = subprocess.run(
        ["make", "--makefile", str(ROOT / "Makefile"), "build-IngestFunction"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "ARTIFACTS_DIR" in done.stderr
    assert not any(tmp_path.iterdir())


# ---------------------------------------------------------------- what comes out
def test_no_function_ships_keys_tests_exports_or_node_modules(artifacts: dict[str, Path]) -> None:
    for logical, art in artifacts.items():
        for rel in files_under(art):
            assert not set(Path(rel).parts) & FORBIDDEN_PARTS, f"{logical} ships {rel}"
            assert Path(rel).suffix not in FORBIDDEN_SUFFIXES, f"{logical} ships {rel}"
            assert not PEM_PRIVATE_KEY.search((art / rel).read_bytes()), f"{logical} ships a key in {rel}"


def test_each_function_gets_exactly_the_package_and_hls_js(
    artifacts: dict[str, Path], deployer_repo: Path
) -> None:
    vendored = {"vendor/hls.js/hls.min.js", "vendor/hls.js/LICENSE"}
    for logical, art in artifacts.items():
        assert {p.name for p in art.iterdir()} == {"pipeline", "vendor"}, logical
        assert files_under(art) == expected_package_files(deployer_repo) | vendored, logical
        assert (art / "vendor/hls.js/hls.min.js").read_bytes() == FAKE_HLS_JS


def test_each_handler_and_the_package_data_it_reads_are_in_its_artifact(artifacts: dict[str, Path]) -> None:
    st = stack()
    for logical, art in artifacts.items():
        module, _, attr = str(st.function_setting(logical, "Handler")).rpartition(".")
        assert (art / (module.replace(".", "/") + ".py")).is_file(), logical
        assert attr == "handler"
        for data in ("py.typed", "text/templates/page.html", "text/templates/player.js"):
            assert (art / "pipeline" / data).is_file(), (logical, data)


def test_the_handlers_import_from_the_artifact_alone(artifacts: dict[str, Path], tmp_path: Path) -> None:
    """Python started as Lambda would start it: the artifact first on sys.path and no editable install of
    this repository (so a handler that needed pipeline.local, the CLI or a repo file would fail here)."""
    art = next(iter(artifacts.values()))
    st = stack()
    env = {**os.environ, "AWS_DEFAULT_REGION": st.region, "AWS_REGION": st.region}
    env.pop("HLS_JS_PATH", None)
    for logical in functions():
        env.update(st.function_environment(logical))
    handlers = sorted({str(st.function_setting(lg, "Handler")).rpartition(".")[0] for lg in functions()})
    probe = f"""
import importlib, json, sys
sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
sys.path.insert(0, {str(art)!r})
for name in {handlers!r}:
    importlib.import_module(name)
from pipeline.text.page import hls_js_asset
asset = hls_js_asset()
print(json.dumps({{
    "files": sorted({{m.__name__: getattr(m, "__file__", None) or "" for m in list(sys.modules.values())
                     if m.__name__.split(".")[0] == "pipeline"}}.items()),
    "hls": asset[1].decode() if asset else None,
}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    for name, file in result["files"]:
        assert file.startswith(str(art)), f"{name} was imported from {file}, not the artifact"
        assert not name.startswith(("pipeline.local", "pipeline.cli")), name
    assert result["hls"] == FAKE_HLS_JS.decode()


def test_the_repository_itself_builds_a_clean_artifact(tmp_path: Path) -> None:
    """The deploy as it would run on this checkout (whatever keys or exports lie in it)."""
    art = build(ROOT / "Makefile", "SessionFunction", tmp_path / "art", tmp_path / "scratch")
    assert {p.name for p in art.iterdir()} <= {"pipeline", "vendor"}
    for rel in files_under(art):
        assert not set(Path(rel).parts) & FORBIDDEN_PARTS, rel
        assert Path(rel).suffix not in FORBIDDEN_SUFFIXES, rel
    vendored = {"vendor/hls.js/hls.min.js", "vendor/hls.js/LICENSE"}
    vendored |= {"vendor/mermaid/mermaid.min.js", "vendor/mermaid/LICENSE"}
    assert files_under(art) - vendored == expected_package_files(ROOT)


def test_without_hls_js_the_build_warns_and_ships_none(deployer_repo: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(deployer_repo, repo, ignore=shutil.ignore_patterns("node_modules"))
    env = {**os.environ, "ARTIFACTS_DIR": str(tmp_path / "art")}
    done = subprocess.run(
        ["make", "--makefile", str(repo / "Makefile"), "build-RenderLessonFunction"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "npm ci --prefix web" in done.stderr
    assert {p.name for p in (tmp_path / "art").iterdir()} == {"pipeline"}


# ---------------------------------------------------------------- the layer cannot take repo files
def test_the_python_layer_folder_holds_only_its_build_and_lock() -> None:
    layer = stack().resources["PythonDepsLayer"]
    folder = ROOT / str(layer["Properties"]["ContentUri"])
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert {p.name for p in folder.iterdir() if p.name != "__pycache__"} == {
        "Makefile",
        "requirements.in",
        "requirements.txt",
    }
    makefile = (folder / "Makefile").read_text(encoding="utf-8")
    dry = subprocess.run(
        ["make", "-n", "--makefile", str(folder / "Makefile"), "build-PythonDepsLayer"],
        env={**os.environ, "ARTIFACTS_DIR": "/nonexistent"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert dry.returncode == 0, dry.stderr
    # Only what the lock names, hash-checked, into the layer's python/ folder: no path, no project.
    for flag in ("--require-hashes", "--no-deps", "--only-binary=:all:", '--target "/nonexistent/python"'):
        assert flag in dry.stdout, flag
    assert "-e " not in makefile and " . " not in dry.stdout
