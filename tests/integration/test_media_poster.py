from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from media_fixtures import FAST_H264, ffmpeg_run, make_clip, make_sequence, rotate
from PIL import Image, ImageStat

from pipeline.errors import InvalidMediaError
from pipeline.media import ffmpeg_tools
from pipeline.media import poster as poster_module
from pipeline.media.poster import make_poster
from pipeline.media.probe import probe

pytestmark = pytest.mark.ffmpeg  # every test here runs ffmpeg or ffprobe

TOP_RED_BOTTOM_BLUE = "color=blue,drawbox=x=0:y=0:w=iw:h=ih/2:color=red:t=fill"
RAMP = "geq=lum=X*255/W:cb=128:cr=128"


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("poster-src")
    split = make_sequence(d / "split.mp4", [(TOP_RED_BOTTOM_BLUE, 1.0)], size="640x360")
    return {
        # 1.5 s of black then testsrc2: the first candidates are black.
        "fade_in": make_clip(d / "fade-in.mp4", duration=4, black_lead_s=1.5, audio=False),
        # Black, then a left-to-right ramp (not blank, the highest possible histogram entropy, no detail),
        # then testsrc2.
        "ramp": make_sequence(
            d / "ramp.mp4",
            [("color=black", 1.0), (f"color=black,{RAMP}", 2.5), ("testsrc2", 1.5)],
            size="640x360",
        ),
        # One keyframe, at the start of the black lead-in: every seek lands on it.
        "one_keyframe": make_sequence(
            d / "one-keyframe.mp4", [("color=black", 1.5), ("testsrc2", 2.5)], one_keyframe=True
        ),
        "portrait": rotate(split, d / "portrait.mp4", 90),
        "small": make_clip(d / "small.mp4", size="320x240", duration=2, audio=False),
        "talk": make_clip(d / "talk.mp3", duration=2, video=False),
    }


def grey_stats(path: Path) -> tuple[float, float]:
    with Image.open(path) as img:
        stat = ImageStat.Stat(img.convert("L"))
    return stat.mean[0], stat.stddev[0]


def mean_rgb(image: Image.Image) -> tuple[float, ...]:
    return tuple(ImageStat.Stat(image.convert("RGB")).mean)


def both_formats(*widths: int) -> list[Path]:
    return [Path(f"poster-{w}.{ext}") for w in widths for ext in ("jpg", "webp")]


def test_poster_skips_black_frames_in_every_width_as_jpeg_and_webp(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    written = make_poster(sources["fade_in"], tmp_path, probe(sources["fade_in"]), widths=(160, 320, 1280))
    # 1280 is wider than the 640 px source: written at the source's own size, never upscaled.
    assert written == both_formats(160, 320, 1280)
    for name, fmt, size in [
        ("poster-1280.jpg", "JPEG", (640, 360)),
        ("poster-160.jpg", "JPEG", (160, 90)),
        ("poster-160.webp", "WEBP", (160, 90)),
        ("poster-320.jpg", "JPEG", (320, 180)),
        ("poster-320.webp", "WEBP", (320, 180)),
    ]:
        with Image.open(tmp_path / name) as img:
            img.load()  # decodes the whole file: a truncated one fails here
            assert (img.format, img.size) == (fmt, size)
        mean, stddev = grey_stats(tmp_path / name)
        assert mean > 40 and stddev > 20  # testsrc2, not the black lead-in
    with Image.open(tmp_path / "poster-320.jpg") as img:
        assert img.info.get("progressive")


def test_default_widths_never_exceed_the_source_width(sources: dict[str, Path], tmp_path: Path) -> None:
    # Every width has its file (pages name them before the video is processed); above the 640 px source
    # the picture keeps its own size.
    assert make_poster(sources["fade_in"], tmp_path, probe(sources["fade_in"])) == both_formats(
        320, 640, 1280
    )
    for name, size in (("poster-640.webp", (640, 360)), ("poster-1280.jpg", (640, 360))):
        with Image.open(tmp_path / name) as img:
            assert img.size == size


def test_poster_prefers_a_detailed_frame_to_a_smooth_ramp(sources: dict[str, Path], tmp_path: Path) -> None:
    make_poster(sources["ramp"], tmp_path, probe(sources["ramp"]), widths=(320,))
    with Image.open(tmp_path / "poster-320.jpg") as img:
        grey = img.convert("L")
    # Every column of the ramp is one flat shade; testsrc2 changes down most of its columns.
    columns = [ImageStat.Stat(grey.crop((x, 0, x + 1, grey.height))).stddev[0] for x in range(0, 320, 8)]
    assert sum(columns) / len(columns) > 8  # testsrc2 ~15, the ramp ~0.2


def test_sparse_keyframes_still_give_a_picture_past_the_black_lead_in(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    make_poster(sources["one_keyframe"], tmp_path, probe(sources["one_keyframe"]), widths=(320,))
    mean, stddev = grey_stats(tmp_path / "poster-320.jpg")
    assert mean > 40 and stddev > 20


def test_keyframe_seeks_first_then_a_bounded_decode_from_the_start(
    sources: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[list[str]] = []

    def counting_run(stream: Any, source: Path, what: str) -> None:
        runs.append(stream.get_args())
        ffmpeg_tools.run(stream, source, what)

    monkeypatch.setattr(poster_module, "run", counting_run)
    # Stands in for a long screen recording: only the first 2 s may be decoded frame by frame.
    monkeypatch.setattr(poster_module, "_EXACT_WINDOW_S", 2.0)
    make_poster(sources["one_keyframe"], tmp_path, probe(sources["one_keyframe"]), widths=(320,))

    seeks, decode = runs
    # One input per candidate, each seeking before opening (-ss before -i) and decoding keyframes only.
    assert seeks.count("-i") == seeks.count("-ss") == seeks.count("-skip_frame") == 6
    assert seeks.index("-ss") < seeks.index("-i")
    assert decode.count("-i") == 1 and "-skip_frame" not in decode and "-ss" not in decode
    assert decode[decode.index("-t") + 1] == "2.000"
    assert grey_stats(tmp_path / "poster-320.jpg")[0] > 40  # 1.6 s: past the 1.5 s of black


def test_poster_of_a_rotated_video_is_upright(sources: dict[str, Path], tmp_path: Path) -> None:
    # 360x640 as displayed: the 640 and 1280 posters keep the 360 px width.
    assert make_poster(sources["portrait"], tmp_path, probe(sources["portrait"])) == both_formats(
        320, 640, 1280
    )
    with Image.open(tmp_path / "poster-1280.jpg") as img:
        assert img.size == (360, 640)
    for name in ("poster-320.jpg", "poster-320.webp"):
        with Image.open(tmp_path / name) as img:
            assert img.size == (320, 569)
            left, right = mean_rgb(img.crop((0, 0, 160, 569))), mean_rgb(img.crop((160, 0, 320, 569)))
        # The coded frame is red above blue; turned 90 degrees for display, red is on the left.
        assert left[0] > 200 and left[2] < 50
        assert right[2] > 200 and right[0] < 50


def test_frame_narrower_than_every_width_keeps_its_own_width(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    assert make_poster(sources["small"], tmp_path, probe(sources["small"]), widths=(480, 1280)) == (
        both_formats(480, 1280)
    )
    for name in ("poster-480.jpg", "poster-480.webp", "poster-1280.jpg"):
        with Image.open(tmp_path / name) as img:
            assert img.size == (320, 240)


def test_all_black_video_still_gets_a_poster(tmp_path: Path) -> None:
    black = tmp_path / "black.mp4"
    ffmpeg_run("-f", "lavfi", "-i", "color=black:s=320x180:d=1", *FAST_H264, str(black))
    assert make_poster(black, tmp_path / "out", probe(black)) == both_formats(320, 640, 1280)
    assert grey_stats(tmp_path / "out/poster-320.jpg")[0] < 20


def test_audio_only_gets_a_card_with_its_waveform(sources: dict[str, Path], tmp_path: Path) -> None:
    written = make_poster(sources["talk"], tmp_path, probe(sources["talk"]))
    assert written == both_formats(320, 640, 1280)
    for name in ("poster-1280.jpg", "poster-1280.webp"):
        with Image.open(tmp_path / name) as img:
            rgb = img.convert("RGB")
            assert rgb.size == (1280, 720)
            corner, centre = rgb.getpixel((5, 5)), rgb.getpixel((640, 360))
        assert isinstance(corner, tuple) and isinstance(centre, tuple)
        assert max(corner) < 50  # dark card
        assert centre[2] > 150  # the (blue) waveform of a steady tone fills the middle band


def test_undecodable_video_is_invalid(sources: dict[str, Path], tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 4096)
    with pytest.raises(InvalidMediaError, match=r"junk\.mp4 could not be decoded"):
        make_poster(junk, tmp_path / "out", probe(sources["small"]))
