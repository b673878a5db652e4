from __future__ import annotations

from pathlib import Path

import pytest
from media_fixtures import FAST_H264, ffmpeg_run, make_clip, rotate
from PIL import Image, ImageStat

from pipeline.errors import InvalidMediaError
from pipeline.media.poster import make_poster
from pipeline.media.probe import probe


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("poster-src")
    # 1.5 s of black then testsrc: the 10% and 25% candidates (0.4 s, 1 s) are black.
    fade_in = make_clip(d / "fade-in.mp4", duration=4, black_lead_s=1.5, audio=False)
    return {
        "fade_in": fade_in,
        "portrait": rotate(fade_in, d / "portrait.mp4", 90),
        "small": make_clip(d / "small.mp4", size="320x240", duration=2, audio=False),
        "talk": make_clip(d / "talk.mp3", duration=2, video=False),
    }


def grey_stats(path: Path) -> tuple[float, float]:
    with Image.open(path) as img:
        stat = ImageStat.Stat(img.convert("L"))
    return stat.mean[0], stat.stddev[0]


def test_poster_skips_black_frames(sources: dict[str, Path], tmp_path: Path) -> None:
    written = make_poster(sources["fade_in"], tmp_path, probe(sources["fade_in"]), widths=(160, 320, 1280))
    # 1280 is wider than the 640 px source: not produced.
    assert written == [Path("poster-160.jpg"), Path("poster-320.jpg")]
    mean, stddev = grey_stats(tmp_path / "poster-320.jpg")
    assert mean > 40 and stddev > 20  # testsrc2, not the black lead-in
    with Image.open(tmp_path / "poster-320.jpg") as img:
        assert (img.format, img.size) == ("JPEG", (320, 180))
        assert img.info.get("progressive")
    with Image.open(tmp_path / "poster-160.jpg") as img:
        assert img.size == (160, 90)


def test_poster_of_a_rotated_video_is_upright(sources: dict[str, Path], tmp_path: Path) -> None:
    written = make_poster(sources["portrait"], tmp_path, probe(sources["portrait"]), widths=(320,))
    with Image.open(tmp_path / written[0]) as img:
        assert img.size == (320, 569)  # 360x640 displayed, scaled to 320 wide


def test_frame_narrower_than_every_width_gets_one_poster_at_its_own_width(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    assert make_poster(sources["small"], tmp_path, probe(sources["small"])) == [Path("poster-320.jpg")]
    with Image.open(tmp_path / "poster-320.jpg") as img:
        assert img.size == (320, 240)


def test_all_black_video_still_gets_a_poster(tmp_path: Path) -> None:
    black = tmp_path / "black.mp4"
    ffmpeg_run("-f", "lavfi", "-i", "color=black:s=320x180:d=1", *FAST_H264, str(black))
    assert make_poster(black, tmp_path / "out", probe(black)) == [Path("poster-320.jpg")]
    assert grey_stats(tmp_path / "out/poster-320.jpg")[0] < 20


def test_audio_only_gets_a_card_with_its_waveform(sources: dict[str, Path], tmp_path: Path) -> None:
    written = make_poster(sources["talk"], tmp_path, probe(sources["talk"]))
    assert written == [Path("poster-1280.jpg")]
    with Image.open(tmp_path / "poster-1280.jpg") as img:
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
