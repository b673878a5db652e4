"""Issue 14's bar, run as an author runs it: a folder with one file of each kind real tools make (a phone's
HEVC, a browser's live WebM, a screen recorder's MKV, a camera file with no extension, voice memos and
editors' audio exports, phone and print images, an SVG diagram, handouts, CRLF/BOM text) and the broken
ones beside them, through ``coursepipe process --json`` (a subprocess, real ffmpeg, the local runtime).

Every valid file publishes; each broken one fails alone with its named error and a message that names
the file and says what to do; the catalog and the course index list the downloads; nothing an author
uploaded as a program, a page or a drawing is published as such.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from tests.e2e.test_cli import coursepipe
from tests.integration.image_fixtures import cmyk_profile, phone_exif, two_halves
from tests.unit.test_attachments import CODE, PE, PPTX, pdf

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.slow]
COURSE = "every-kind"
SECONDS = 2.0


def ffmpeg(out: Path, *args: str, video: bool = True) -> Path:
    """A ``SECONDS`` clip (320x180 test card, 48 kHz tone) encoded with ``args``."""
    inputs = ["-f", "lavfi", "-i", f"testsrc2=s=320x180:r=25:d={SECONDS}"] if video else []
    inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={SECONDS}"]
    pix = ["-pix_fmt", "yuv420p"] if video else []
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, *pix, *args, str(out)], check=True, timeout=120
    )
    return out


H264 = ("-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-c:a", "aac")
VP8_OPUS = ("-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M", "-c:a", "libopus")


def browser_recording(out: Path) -> Path:
    """What MediaRecorder writes (Loom, a web app's "record" button): WebM muxed to a pipe as it is
    captured, so no Duration, no Cues and no SeekHead; the frames on a variable capture clock."""
    with out.open("wb") as fh:
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=s=320x180:r=30:d={SECONDS}",
             "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={SECONDS}",
             "-vf", "setpts='PTS+0.006*sin(N*1.7)/TB',format=yuv420p", "-fps_mode", "vfr", *VP8_OPUS,
             "-f", "webm", "pipe:1"],
            stdout=fh, check=True, timeout=120,
        )  # fmt: skip
    return out


def image_bytes(img: Image.Image, fmt: str, **params: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def cmyk_jpeg() -> bytes:
    img = Image.new("CMYK", (300, 100), (0, 0, 0, 0))
    img.paste((255, 0, 0, 0), (0, 0, 150, 100))
    return image_bytes(img, "JPEG", icc_profile=cmyk_profile(), quality=95)


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (120, 80), (40 * i, 90, 200 - 40 * i)) for i in range(5)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=120, loop=0)
    return buf.getvalue()


def two_page_tiff() -> bytes:
    buf = io.BytesIO()
    pages = [two_halves(400, 300), Image.new("RGB", (400, 300), "white")]
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw")
    return buf.getvalue()


NS = 'xmlns="http://www.w3.org/2000/svg"'
DIAGRAM = (
    f'<svg {NS} viewBox="0 0 400 200"><script>alert(1)</script>'
    '<rect x="10" y="10" width="180" height="80" fill="#2a6" onclick="alert(2)"/>'
    '<text x="20" y="150" font-family="Helvetica" font-size="24">Encode</text></svg>'
).encode()
PEEKING = (
    f'<svg {NS} width="10" height="10"><image href="/etc/hostname" width="10" height="10"/></svg>'.encode()
)
MANIFEST = (
    "\ufeffid: every-kind\r\ntitle: Every kind\r\nsections:\r\n  - title: Week 1\r\n    lessons:\r\n"
    "      - {id: intro, file: lessons/intro.md, video: media/IMG_0420.MOV}\r\n"
    "      - {id: handouts, file: lessons/handouts.md}\r\n"
).encode()
INTRO = (
    '\ufeff# Introduction\r\n\r\n!!! note "Before you start"\r\n'
    "    Watch the clip, then read the slides.\r\n\r\n"
    "![The flow](../images/diagram.svg)\r\n\r\n![A photo](../images/IMG_0001.HEIC)\r\n"
).encode()
HANDOUTS = (
    b"# Handouts\n\n[The slides](../handouts/Week%201%20slides.pdf)\n\n"
    b"[Starter code](../handouts/code.zip)\n\n"
    b"[The deck](../handouts/deck.pptx)\n\n[Scores](../handouts/scores.csv)\n"
)
CAPTIONS = "1\r\n00:00:00,000 --> 00:00:01,500\r\nBienvenue à la leçon\r\n".encode("cp1252")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("every") / "course"
    for sub in ("media", "audio", "images", "lessons", "handouts", "tools"):
        (root / sub).mkdir(parents=True)
    media, audio, images = root / "media", root / "audio", root / "images"
    # Video: a phone's HEVC in QuickTime, sideways; a screen recorder's MKV under an upper-case name; an
    # old AVI; a camera file with no extension; and one cut short before its index.
    hevc = ffmpeg(media / "hevc.mov", "-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1",
                  "-x265-params", "log-level=none", "-c:a", "aac")  # fmt: skip
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(hevc),
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
            str(media / "IMG_0420.MOV"),
        ],
        check=True,
        timeout=60,
    )  # fmt: skip  (the display matrix a phone held upright writes)
    hevc.unlink()
    ffmpeg(media / "Screen Recording.MKV", *H264)
    ffmpeg(media / "old lecture.avi", "-c:v", "mpeg4", "-c:a", "libmp3lame")
    ffmpeg(media / "webinar.wmv", "-c:v", "wmv2", "-c:a", "wmav2")
    ffmpeg(media / "camcorder.MTS", *H264, "-f", "mpegts", "-mpegts_m2ts_mode", "1")
    recorded = browser_recording(media / "Loom recording.webm").read_bytes()
    (media / "cut recording.webm").write_bytes(recorded[: len(recorded) * 3 // 5])
    shutil.move(ffmpeg(media / "camera.mp4", *H264), media / "camera")
    full = ffmpeg(media / "whole.mp4", *H264).read_bytes()
    (media / "cut.mp4").write_bytes(full[: len(full) * 2 // 5])
    (media / "whole.mp4").unlink()
    (media / "IMG_0420.fr.srt").write_bytes(CAPTIONS)  # cp1252, CRLF: converted, with a warning
    # Audio: what recorders and editors export.
    ffmpeg(audio / "voice memo.m4a", "-c:a", "aac", video=False)
    ffmpeg(audio / "podcast.mp3", "-c:a", "libmp3lame", video=False)
    ffmpeg(audio / "studio take.wav", "-c:a", "pcm_s24le", video=False)
    ffmpeg(audio / "master.flac", "-c:a", "flac", video=False)
    ffmpeg(audio / "Logic bounce.aif", "-c:a", "pcm_s16be", "-f", "aiff", video=False)
    ffmpeg(audio / "voice note.opus", "-c:a", "libopus", video=False)  # WhatsApp, Telegram
    ffmpeg(audio / "lecture.ogg", "-c:a", "libvorbis", video=False)
    ffmpeg(audio / "dictation.wma", "-c:a", "wmav2", "-f", "asf", video=False)
    # Images: phone, print, web and diagram formats.
    (images / "IMG_0001.HEIC").write_bytes(
        image_bytes(two_halves(400, 200), "HEIF", exif=phone_exif(6).tobytes(), quality=90)
    )
    (images / "press.jpg").write_bytes(cmyk_jpeg())
    (images / "hero.avif").write_bytes(image_bytes(two_halves(400, 200), "AVIF", quality=60))
    (images / "scan.tif").write_bytes(two_page_tiff())
    (images / "old.bmp").write_bytes(image_bytes(two_halves(200, 100), "BMP"))
    (images / "spinner.gif").write_bytes(animated_gif())
    (images / "diagram.svg").write_bytes(DIAGRAM)
    (images / "peek.svg").write_bytes(PEEKING)
    png = image_bytes(two_halves(400, 200), "PNG")
    (images / "broken.png").write_bytes(png[: len(png) // 2])
    # Text: CRLF and a BOM, as Windows editors save them.
    (root / "course.yaml").write_bytes(MANIFEST)
    (root / "lessons" / "intro.md").write_bytes(INTRO)
    (root / "lessons" / "handouts.md").write_bytes(HANDOUTS)
    # Handouts, and what is never published.
    (root / "handouts" / "Week 1 slides.pdf").write_bytes(pdf(3))
    (root / "handouts" / "code.zip").write_bytes(CODE)
    (root / "handouts" / "deck.pptx").write_bytes(PPTX)
    (root / "handouts" / "scores.csv").write_bytes(b"name;score\r\nZo\xeb;10\r\n")  # cp1252, as Excel
    (root / "handouts" / "renamed.pdf").write_bytes(CODE)
    (root / "tools" / "setup.exe").write_bytes(PE)
    (root / "tools" / "demo.html").write_bytes(b"<!doctype html><script>alert(document.cookie)</script>")
    return root


# path -> (kind, error name or None); a kind of None: refused before Classify could name one.
EXPECTED: dict[str, tuple[str | None, str | None]] = {
    "media/IMG_0420.MOV": ("video", None),
    "media/Screen Recording.MKV": ("video", None),
    "media/old lecture.avi": ("video", None),
    "media/camera": ("video", None),
    "media/webinar.wmv": ("video", None),
    "media/camcorder.MTS": ("video", None),
    "media/Loom recording.webm": ("video", None),
    "media/cut recording.webm": ("video", "InvalidMediaError"),
    "media/cut.mp4": (None, "InvalidMediaError"),
    "media/IMG_0420.fr.srt": ("caption", None),
    "audio/voice memo.m4a": ("audio", None),
    "audio/podcast.mp3": ("audio", None),
    "audio/studio take.wav": ("audio", None),
    "audio/master.flac": ("audio", None),
    "audio/Logic bounce.aif": ("audio", None),
    "audio/voice note.opus": ("audio", None),
    "audio/lecture.ogg": ("audio", None),
    "audio/dictation.wma": ("audio", None),
    "images/IMG_0001.HEIC": ("image", None),
    "images/press.jpg": ("image", None),
    "images/hero.avif": ("image", None),
    "images/scan.tif": ("image", None),
    "images/old.bmp": ("image", None),
    "images/spinner.gif": ("image", None),
    "images/diagram.svg": ("image", None),
    "images/peek.svg": ("image", "UnsupportedMediaError"),
    "images/broken.png": ("image", "InvalidMediaError"),
    "course.yaml": ("manifest", None),
    "lessons/intro.md": ("lesson", None),
    "lessons/handouts.md": ("lesson", None),
    "handouts/Week 1 slides.pdf": ("attachment", None),
    "handouts/code.zip": ("attachment", None),
    "handouts/deck.pptx": ("attachment", None),
    "handouts/scores.csv": ("attachment", None),
    "handouts/renamed.pdf": (None, "InvalidMediaError"),
    "tools/setup.exe": (None, "UnsupportedMediaError"),
    "tools/demo.html": (None, "UnsupportedMediaError"),
}


@pytest.fixture(scope="module")
def processed(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("every-out") / "out"
    cwd = out.parent
    result = coursepipe("process", str(folder), "--course", COURSE, "--out", str(out), "--json", cwd=cwd)
    assert result.returncode == 1, result.stderr[-3000:]  # some files failed: the run says so
    return json.loads(result.stdout), out


def test_every_valid_file_publishes_and_each_broken_one_fails_alone(
    processed: tuple[dict[str, Any], Path],
) -> None:
    doc, _ = processed
    prefix = f"courses/{COURSE}/"
    runs = {e["key"].removeprefix(prefix): e for e in doc["executions"]}
    assert set(runs) == set(EXPECTED)
    got = {path: ("SUCCEEDED" if e["error"] is None else e["error"]) for path, e in runs.items()}
    want = {path: error or "SUCCEEDED" for path, (_, error) in EXPECTED.items()}
    assert got == want, {p: runs[p].get("cause") for p in got if got[p] != want[p]}
    assets = {a["sourceKey"].removeprefix(prefix): a for a in doc["assets"]}
    for path, (kind, error) in EXPECTED.items():
        asset = assets[path]
        if error is None:
            assert (asset["status"], asset["kind"]) == ("PUBLISHED", kind), path
            continue
        assert asset["status"] == "FAILED" and asset["error"]["name"] == error, path
        message = asset["error"]["message"]
        assert path.rsplit("/", 1)[-1] in message, message  # names the file...
        assert any(w in message for w in ("Upload", "upload", "Export", "Put", "Write", "embed")), message


def test_what_was_published_plays_and_shows(processed: tuple[dict[str, Any], Path]) -> None:
    doc, out = processed
    prefix = f"courses/{COURSE}/"
    assets = {a["sourceKey"].removeprefix(prefix): a for a in doc["assets"]}
    site = out / "site" / "courses" / COURSE

    def local(key: str) -> Path:
        return site / key.removeprefix(prefix)

    for path, (kind, error) in EXPECTED.items():
        if error is None and kind in ("video", "audio"):
            master = local(assets[path]["outputs"][0])
            probed = json.loads(
                subprocess.run(
                    ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(master)],
                    capture_output=True, text=True, check=True, timeout=60,
                ).stdout
            )  # fmt: skip
            types = {s["codec_type"] for s in probed["streams"]}
            assert types >= ({"video", "audio"} if kind == "video" else {"audio"}), (path, types)
            assert abs(float(probed["format"]["duration"]) - SECONDS) < 0.5, path
    phone = assets["media/IMG_0420.MOV"]["details"]["probe"]
    assert (phone["width"], phone["height"]) == (180, 320)  # the phone's rotation applied
    caption = assets["media/IMG_0420.fr.srt"]["details"]["caption"]
    assert (caption["language"], caption["encoding"], caption["videos"]) == (
        "fr",
        "cp1252",
        ["media/IMG_0420.MOV"],
    )
    master_text = local(assets["media/IMG_0420.MOV"]["outputs"][0]).read_text()
    assert "TYPE=SUBTITLES" in master_text and 'LANGUAGE="fr"' in master_text
    for path, (kind, error) in EXPECTED.items():
        if error is None and kind == "image":
            variants = assets[path]["details"]["variants"]
            assert variants and all(local(v["key"]).read_bytes()[8:12] == b"WEBP" for v in variants), path
    published = [p.relative_to(site).as_posix().lower() for p in site.rglob("*") if p.is_file()]
    # Rendered from Markdown, and the site's own Mermaid frame page (an asset of ours, no upload's bytes).
    ours = [n for n in published if n == "index.html" or n.startswith(("lessons/", "assets/diagram-frame-"))]
    uploaded_as_is = (
        ".svg",
        ".exe",
        ".html",
        ".heic",
        ".avif",
        ".tif",
        ".bmp",
        ".mov",
        ".mkv",
        ".webm",
        ".wmv",
    )
    assert not [n for n in published if n.endswith(uploaded_as_is) and n not in ours], published

    intro = local(assets["lessons/intro.md"]["outputs"][0]).read_text()
    assert "cp-admonition" in intro or 'class="admonition' in intro  # MkDocs' note syntax
    assert "alert(" not in intro and "<script>alert" not in intro
    lesson = local(assets["lessons/handouts.md"]["outputs"][0]).read_text()
    assert lesson.count('class="cp-file"') == 4 and "PDF · 3 pages · " in lesson
    index = (site / "index.html").read_text()
    downloads = index.split("<h2>Downloads</h2>", 1)[1]
    for name in ("Week 1 slides.pdf", "code.zip", "deck.pptx", "scores.csv"):
        assert name in downloads
    assert "renamed.pdf" not in index and "setup.exe" not in index

    catalog = json.loads((out / "catalog.json").read_text())
    handouts = {
        i["path"]: i["details"]["attachment"]
        for i in catalog
        if i.get("kind") == "attachment" and i.get("status") == "PUBLISHED"
    }
    assert set(handouts) == {p for p, (k, e) in EXPECTED.items() if k == "attachment" and e is None}
    assert handouts["handouts/Week 1 slides.pdf"]["pages"] == 3
