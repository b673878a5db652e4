"""Drawing a cleaned SVG (``pipeline.media.svg``) into PNGs with resvg, in a child process.

resvg is a memory-safe Rust renderer with no network code, shipped as a self-contained wheel (``resvg-py``:
no libcairo, nothing to install on Lambda). It still runs arbitrary drawings: a filter over a huge canvas,
a path with millions of markers, and a stack overflow on deep nesting (a segfault, which in-process would
kill the Lambda runtime, and with it the domain error). So it runs in a child ``python -m
pipeline.media.svg_render`` that:

- has a wall-clock timeout (``RENDER_TIMEOUT_S``) and its own CPU and address-space limits;
- gets an environment of its own (``PYTHONPATH``, ``LD_LIBRARY_PATH`` of this interpreter, ``LANG``): no
  AWS credentials reach a process parsing untrusted input;
- resolves relative references in an empty folder (``resources_dir``) and loads only the fonts the layer
  ships (``skip_system_fonts``): a Lambda has no system fonts at all, so text is drawn with Arimo (metric-
  compatible with Arial and Helvetica, the diagram tools' defaults) for sans-serif, serif and any family it
  does not have, and Source Code Pro for monospace, the same on a laptop as on Lambda.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

from pipeline.errors import InvalidMediaError, MediaTooLargeError

RENDER_TIMEOUT_S = 45
"""Wall clock for all widths of one SVG: the function's timeout is 120 s, and a 300,000-element plot draws
in ~7 s per width here."""
_CPU_S = RENDER_TIMEOUT_S + 5
_ADDRESS_SPACE = 1536 * 1024**2
"""The child's virtual memory: the largest canvas (16383 px tall at 1280 wide, 84 MB RGBA) several times
over; less than the function's memory, so the parent survives a child that runs out."""
_EXIT_INVALID = 3
DPI = 96.0
"""resvg-py's default dpi is 0, which makes every cm/mm/in/pt length zero ("invalid size")."""


class RenderError(Exception):
    """The renderer did not start (a deployment fault: a missing wheel or font package), not the file's."""


def render_svg(
    markup: str, boxes: list[tuple[int, int]], name: str, work: Path
) -> dict[tuple[int, int], Path]:
    """PNGs of ``markup`` fitted into each ``(width, height)`` box (aspect kept), written in ``work`` (an
    empty folder the caller removes); raise the author's error when it cannot be drawn within the limits."""
    source = work / "clean.svg"
    source.write_text(markup, encoding="utf-8")
    (work / "empty").mkdir()
    args = [f"{w}x{h}" for w, h in boxes]
    # Built from this interpreter, not copied from the environment (which holds the function's AWS
    # credentials): where its modules are, and its own libpython for an interpreter linked to it.
    env = {
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p and Path(p).is_dir()),
        "LD_LIBRARY_PATH": str(sysconfig.get_config_var("LIBDIR") or ""),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pipeline.media.svg_render", str(source), str(work), *args],
            env=env,
            cwd=work / "empty",
            capture_output=True,
            timeout=RENDER_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise MediaTooLargeError(
            f"{name} takes more than {RENDER_TIMEOUT_S} s to draw. Simplify it (fewer filters, blurs and "
            "shapes), or export it as PNG and upload that."
        ) from exc
    _check_exit(done, name)
    return {box: work / f"{box[0]}x{box[1]}.png" for box in boxes}


def _check_exit(done: subprocess.CompletedProcess[bytes], name: str) -> None:
    detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
    last = detail[-1] if detail else ""
    if done.returncode == 0:
        return
    if done.returncode == _EXIT_INVALID:
        raise InvalidMediaError(
            f"{name} cannot be drawn: {last}. Export it again as SVG and upload it again."
        )
    if done.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise MediaTooLargeError(
            f"{name} takes too long to draw. Simplify it (fewer filters and shapes), or export it as PNG "
            "and upload that."
        )
    if done.returncode in (-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGBUS) or "MemoryError" in last:
        raise InvalidMediaError(
            f"{name} made the SVG renderer stop (it needs more memory or nesting than allowed). Simplify the "
            "drawing (ungroup it, fewer effects), or export it as PNG and upload that."
        )
    raise RenderError(f"the SVG renderer failed to run (exit {done.returncode}): {last}")


def _limit_self() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (_CPU_S, _CPU_S + 5))
    resource.setrlimit(resource.RLIMIT_AS, (_ADDRESS_SPACE, _ADDRESS_SPACE))


def _font_dirs() -> tuple[list[str], str, str]:
    import fontpkg_arimo  # fonts as data (OFL), found by their package
    import fontpkg_source_code_pro

    sans, mono = Path(fontpkg_arimo.ROOT) / "files", Path(fontpkg_source_code_pro.ROOT) / "files"
    return [str(sans), str(mono)], str(fontpkg_arimo.FAMILY), str(fontpkg_source_code_pro.FAMILY)


def main(argv: list[str]) -> int:
    """The child: ``svg_render CLEAN.svg OUT_DIR WxH...``; writes ``OUT_DIR/WxH.png`` for each box."""
    _limit_self()
    import resvg_py

    source, out = Path(argv[0]), Path(argv[1])
    markup = source.read_text(encoding="utf-8")
    dirs, sans, mono = _font_dirs()
    for box in argv[2:]:
        width, height = (int(v) for v in box.split("x"))
        try:
            png = resvg_py.svg_to_bytes(
                svg_string=markup,
                width=width,
                height=height,
                dpi=DPI,
                resources_dir=str(out / "empty"),
                skip_system_fonts=True,
                font_dirs=dirs,
                font_family=sans,
                sans_serif_family=sans,
                serif_family=sans,
                monospace_family=mono,
            )
        except ValueError as exc:
            print(str(exc).replace("\n", " "), file=sys.stderr)
            return _EXIT_INVALID
        (out / f"{box}.png").write_bytes(bytes(png))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
