"""Issue 14, video and audio: every container and name authors upload is classified by its bytes, probed
through the demuxer allow-list and encoded into a ladder that ffmpeg plays back, under its own name, in
upper case and with no extension at all. Files ffmpeg could open but the allow-list refuses are named.

Each clip is generated at test time (``av_formats.FORMATS``), 2 s long."""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

import ffmpeg
import pytest
from av_formats import FORMATS, Format, make_format
from media_fixtures import ffmpeg_run, rotate

from pipeline.errors import UnsupportedMediaError
from pipeline.kinds import kind_by_name
from pipeline.media.hls import encode_hls
from pipeline.media.probe import _PLAYLIST_FORMATS, DEMUXERS, probe
from pipeline.media.sniff import sniff_kind

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.ffmpeg  # every test here runs ffmpeg or ffprobe

IDS = [f.name.rsplit(".", 1)[1] for f in FORMATS]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("formats")
    return {f.name: make_format(d / f.name, f) for f in FORMATS}


def test_the_table_names_every_format_with_its_kind() -> None:
    for fmt in FORMATS:
        assert kind_by_name(fmt.name) == fmt.kind
        assert kind_by_name(fmt.name.upper()) == fmt.kind


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_each_format_is_classified_by_its_bytes(fmt: Format, clips: dict[str, Path], tmp_path: Path) -> None:
    clip = clips[fmt.name]
    assert sniff_kind(clip, f"courses/c1/{fmt.name}") == fmt.kind
    assert sniff_kind(clip, f"courses/c1/{fmt.name.upper()}") == fmt.kind
    # No extension: the content alone decides (Matroska audio is routed as video; the probe then finds
    # no picture and it becomes an audio lecture all the same).
    assert sniff_kind(clip, "courses/c1/recording") == fmt.stem_kind
    # A wrong extension does not matter either.
    assert sniff_kind(clip, "courses/c1/recording.mp4") in ("video", "audio")


@pytest.mark.parametrize("fmt", FORMATS, ids=IDS)
def test_each_format_is_probed_and_encoded_with_no_name_to_help(
    fmt: Format, clips: dict[str, Path], tmp_path: Path
) -> None:
    bare = tmp_path / "recording"
    shutil.copyfile(clips[fmt.name], bare)
    info = probe(bare)
    assert (info.has_video, info.has_audio) == (fmt.video, True)
    assert info.duration_s == pytest.approx(2.0, abs=0.15)
    assert probe(clips[fmt.name]).to_dict() | {"size_bytes": 0} == info.to_dict() | {"size_bytes": 0}

    out = tmp_path / "hls"
    result = encode_hls(bare, out, info)
    assert result.package.duration_s == pytest.approx(2.0, abs=0.2)
    assert (out / "audio/0/index.m3u8").exists()
    assert bool(result.plan.job.rungs) == fmt.video
    decode = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-xerror", "-i", str(out / "master.m3u8"), "-f", "null", "-"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert decode.returncode == 0, decode.stderr
    streams = {s["codec_type"] for s in ffmpeg.probe(str(out / "master.m3u8"))["streams"]}
    assert streams == ({"video", "audio"} if fmt.video else {"audio"})


def test_the_allow_list_names_no_demuxer_that_opens_other_files() -> None:
    assert not set(DEMUXERS) & (_PLAYLIST_FORMATS | {"image2", "tty", "data", "lavfi", "sdp", "rtsp"})


@pytest.mark.parametrize(("name", "args"), [
    ("camcorder.mov", ("-c:v", "dvvideo", "-s", "720x480", "-r", "30000/1001", "-pix_fmt", "yuv411p",
                       "-f", "dv")),
    ("talk.mp3", ("-c:a", "wavpack", "-f", "wv")),
])  # fmt: skip
def test_a_container_off_the_allow_list_is_refused_by_name(
    tmp_path: Path, name: str, args: tuple[str, ...]
) -> None:
    # ffmpeg reads DV and WavPack; the pipeline does not open them, and says so rather than "corrupt".
    path = tmp_path / name
    source = "testsrc2=d=1" if "dvvideo" in args else "sine=duration=1"
    ffmpeg_run("-f", "lavfi", "-i", source, *args, str(path))
    assert ffmpeg.probe(str(path))["format"]["format_name"] in ("dv", "wv")
    with pytest.raises(UnsupportedMediaError, match="container format the pipeline does not read"):
        probe(path)


def test_phone_hevc_portrait_hdr_becomes_8_bit_sdr_portrait(tmp_path: Path) -> None:
    # An iPhone clip: HEVC Main 10 tagged hvc1 in QuickTime, HLG, recorded upright (a 90-degree matrix).
    landscape = tmp_path / "landscape.mov"
    ffmpeg_run(
        "-f", "lavfi", "-i", "testsrc2=s=480x270:r=30:d=2", "-f", "lavfi", "-i", "sine=duration=2",
        "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error",
        "-pix_fmt", "yuv420p10le", "-tag:v", "hvc1", "-color_primaries", "bt2020",
        "-color_trc", "arib-std-b67", "-colorspace", "bt2020nc", "-c:a", "aac", str(landscape),
    )  # fmt: skip
    phone = rotate(landscape, tmp_path / "IMG_0042.MOV", 90)
    assert sniff_kind(phone, "IMG_0042.MOV") == "video"
    info = probe(phone)
    assert (info.video_codec, info.pix_fmt, info.rotation, info.hdr) == ("hevc", "yuv420p10le", 90, True)
    assert (info.width, info.height) == (270, 480)
    result = encode_hls(phone, tmp_path / "out", info)
    assert result.plan.job.tonemap
    rung = result.plan.job.rungs[0]
    segment = next((tmp_path / "out" / rung.name).glob("*.ts"))
    stream = ffmpeg.probe(str(segment), select_streams="v:0")["streams"][0]
    assert (stream["width"], stream["height"]) == (rung.width, rung.height) and rung.height > rung.width
    assert (stream["pix_fmt"], stream["color_transfer"], stream["profile"]) == ("yuv420p", "bt709", "High")


@pytest.mark.parametrize("magic", [b"RF64", b"BW64"])
def test_a_broadcast_wav_over_the_4_gb_riff_limit_is_audio(tmp_path: Path, magic: bytes) -> None:
    # Field recorders write RF64 (EBU 3306) or BW64 (ITU-R BS.2088, the same layout under another magic)
    # so a take can pass 4 GB; ffmpeg writes RF64, and BW64 is that file with the ITU magic.
    rf64 = tmp_path / "take.wav"
    ffmpeg_run("-f", "lavfi", "-i", "sine=sample_rate=48000:duration=2", "-c:a", "pcm_s24le",
               "-rf64", "always", str(rf64))  # fmt: skip
    data = rf64.read_bytes()
    assert data[:4] == b"RF64"
    take = tmp_path / "TAKE_001"
    take.write_bytes(magic + data[4:])
    assert sniff_kind(take, "courses/c1/TAKE_001") == "audio"
    info = probe(take)
    assert (info.has_video, info.has_audio) == (False, True)
    assert info.duration_s == pytest.approx(2.0, abs=0.05)
