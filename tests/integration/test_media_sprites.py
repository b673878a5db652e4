from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from media_fixtures import make_clip, make_sequence, rotate
from PIL import Image, ImageStat

from pipeline.errors import InvalidMediaError
from pipeline.media import ffmpeg_tools
from pipeline.media import sprites as sprites_module
from pipeline.media.probe import probe
from pipeline.media.sprites import make_sprites

pytestmark = pytest.mark.ffmpeg  # every test here runs ffmpeg or ffprobe

PALETTE = {
    "red": (255, 0, 0),
    "lime": (0, 255, 0),
    "blue": (0, 0, 255),
    "white": (255, 255, 255),
    "yellow": (255, 255, 0),
}
STEPS = list(PALETTE)  # one second of each colour, in this order
TOP_RED_BOTTOM_BLUE = "color=blue,drawbox=x=0:y=0:w=iw:h=ih/2:color=red:t=fill"
_TIMING = re.compile(r"^(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3}) --> (\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})$")
_PAYLOAD = re.compile(r"^(sprite-\d+\.jpg)#xywh=(\d+),(\d+),(\d+),(\d+)$")


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    sheet: str
    box: tuple[int, int, int, int]  # x, y, w, h


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("sprite-src")
    steps = [(f"color={name}", 1.0) for name in STEPS]
    split = make_sequence(d / "split.mp4", [(TOP_RED_BOTTOM_BLUE, 2.0)])
    return {
        # Keyframes on every colour change / twice per second / only the first frame.
        "steps_gop_1s": make_sequence(d / "steps-gop-1s.mp4", steps, gop=25),
        "steps_gop_0.6s": make_sequence(d / "steps-gop-0.6s.mp4", steps, gop=15),
        "steps_one_keyframe": make_sequence(d / "steps-one-keyframe.mp4", steps, one_keyframe=True),
        "clip": make_clip(d / "clip.mp4", size="320x180", duration=3.5, audio=False),
        "portrait": rotate(split, d / "portrait.mp4", 90),
        "talk": make_clip(d / "talk.m4a", duration=1, video=False),
    }


def read_vtt(path: Path) -> list[Cue]:
    blocks = path.read_text(encoding="utf-8").strip().split("\n\n")
    assert blocks[0] == "WEBVTT"
    cues: list[Cue] = []
    for block in blocks[1:]:
        timing, payload = block.split("\n")
        times, target = _TIMING.match(timing), _PAYLOAD.match(payload)
        assert times and target, block
        h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, times.groups())
        x, y, w, h = map(int, target.groups()[1:])
        cues.append(
            Cue(
                ((h1 * 60 + m1) * 60 + s1) * 1000 + ms1,
                ((h2 * 60 + m2) * 60 + s2) * 1000 + ms2,
                target.group(1),
                (x, y, w, h),
            )
        )
    return cues


def tile(out_dir: Path, cue: Cue) -> Image.Image:
    x, y, w, h = cue.box
    with Image.open(out_dir / cue.sheet) as sheet:
        return sheet.convert("RGB").crop((x, y, x + w, y + h))


def nearest_colour(image: Image.Image) -> str:
    mean = ImageStat.Stat(image).mean
    return min(PALETTE, key=lambda name: sum((a - b) ** 2 for a, b in zip(mean, PALETTE[name], strict=True)))


def test_vtt_covers_the_timeline_and_every_tile_lies_inside_its_sheet(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    info = probe(sources["clip"])
    result = make_sprites(sources["clip"], tmp_path, info, interval_s=1.0, columns=3, rows=1)

    assert result.files == [Path("sprite-1.jpg"), Path("sprite-2.jpg"), Path("sprite.vtt")]
    assert result.sprites == result.files[:2] and result.vtt == Path("sprite.vtt")
    assert (result.count, result.tile_width, result.tile_height, result.interval_s) == (4, 160, 90, 1.0)
    cues = read_vtt(tmp_path / "sprite.vtt")
    assert len(cues) == result.count
    assert [c.start_ms for c in cues] == [0, 1000, 2000, 3000]
    assert all(a.end_ms == b.start_ms for a, b in zip(cues, cues[1:], strict=False))  # contiguous
    assert cues[-1].end_ms == round(info.duration_s * 1000) > cues[-1].start_ms  # up to the very end
    sizes: dict[str, tuple[int, int]] = {}
    for name in {c.sheet for c in cues}:
        with Image.open(tmp_path / name) as sheet:
            assert sheet.format == "JPEG"
            sizes[name] = sheet.size
    # Three tiles across on the first sheet; the last sheet is only as large as its one tile.
    assert sizes == {"sprite-1.jpg": (480, 90), "sprite-2.jpg": (160, 90)}
    for cue in cues:
        x, y, w, h = cue.box
        assert (w, h) == (160, 90)
        assert x + w <= sizes[cue.sheet][0] and y + h <= sizes[cue.sheet][1]
    assert len({(c.sheet, c.box) for c in cues}) == len(cues)


@pytest.mark.parametrize("name", ["steps_gop_1s", "steps_gop_0.6s", "steps_one_keyframe"])
def test_each_tile_shows_the_picture_of_its_own_stretch_of_time(
    sources: dict[str, Path], tmp_path: Path, name: str
) -> None:
    result = make_sprites(sources[name], tmp_path, probe(sources[name]), interval_s=1.0)
    cues = read_vtt(tmp_path / result.vtt)
    assert [nearest_colour(tile(tmp_path, cue)) for cue in cues] == STEPS


@pytest.mark.parametrize(
    ("name", "interval_s", "passes"),
    [
        ("steps_gop_1s", 1.0, 1),  # a keyframe in every tile's range: keyframes only
        ("steps_gop_0.6s", 1.0, 1),
        ("steps_gop_1s", 0.5, 2),  # half the ranges hold no keyframe: decode everything instead
        ("steps_one_keyframe", 1.0, 2),
    ],
)
def test_keyframes_only_unless_they_are_too_sparse(
    sources: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    interval_s: float,
    passes: int,
) -> None:
    runs: list[Any] = []

    def counting_run(stream: Any, source: Path, what: str) -> None:
        runs.append(stream.get_args())
        ffmpeg_tools.run(stream, source, what)

    monkeypatch.setattr(sprites_module, "run", counting_run)
    result = make_sprites(sources[name], tmp_path, probe(sources[name]), interval_s=interval_s)
    assert len(runs) == passes
    assert "-skip_frame" in runs[0] and all("-skip_frame" not in args for args in runs[1:])
    cues = read_vtt(tmp_path / result.vtt)
    expected = [STEPS[int(i * interval_s)] for i in range(result.count)]
    assert [nearest_colour(tile(tmp_path, cue)) for cue in cues] == expected


def test_a_clip_shorter_than_the_interval_gets_one_tile(sources: dict[str, Path], tmp_path: Path) -> None:
    info = probe(sources["clip"])
    result = make_sprites(sources["clip"], tmp_path, info)  # 10 s tiles
    assert result.count == 1 and result.sprites == [Path("sprite-1.jpg")]
    [cue] = read_vtt(tmp_path / "sprite.vtt")
    assert (cue.start_ms, cue.end_ms, cue.sheet, cue.box) == (
        0,
        round(info.duration_s * 1000),
        "sprite-1.jpg",
        (0, 0, 160, 90),
    )
    with Image.open(tmp_path / "sprite-1.jpg") as sheet:
        assert sheet.size == (160, 90)
        assert ImageStat.Stat(sheet.convert("L")).stddev[0] > 20  # testsrc2, not a blank tile


def test_a_rotated_source_gets_upright_portrait_tiles(sources: dict[str, Path], tmp_path: Path) -> None:
    info = probe(sources["portrait"])  # coded 320x180, displayed 180x320
    result = make_sprites(sources["portrait"], tmp_path, info, interval_s=1.0)
    assert (result.tile_width, result.tile_height) == (160, 284)  # 160 * 320/180, even
    [first, _] = read_vtt(tmp_path / result.vtt)
    picture = tile(tmp_path, first)
    left, right = picture.crop((0, 0, 80, 284)), picture.crop((80, 0, 160, 284))
    # The coded frame is red above blue; displayed (turned 90 degrees) red is on the left.
    assert (nearest_colour(left), nearest_colour(right)) == ("red", "blue")


def test_tiles_are_never_wider_than_the_source(sources: dict[str, Path], tmp_path: Path) -> None:
    result = make_sprites(sources["clip"], tmp_path, probe(sources["clip"]), tile_width=640)
    assert (result.tile_width, result.tile_height) == (320, 180)
    with Image.open(tmp_path / "sprite-1.jpg") as sheet:
        assert sheet.size == (320, 180)


def test_audio_only_sources_have_nothing_to_preview(sources: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(InvalidMediaError, match=r"talk\.m4a has no picture"):
        make_sprites(sources["talk"], tmp_path, probe(sources["talk"]))


def test_undecodable_video_is_invalid(sources: dict[str, Path], tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 4096)
    with pytest.raises(InvalidMediaError, match=r"junk\.mp4 could not be decoded"):
        make_sprites(junk, tmp_path / "out", probe(sources["clip"]))
