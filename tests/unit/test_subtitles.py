"""Segmented WebVTT as HLS players read it (RFC 8216), from parsed captions (issue 13, second step)."""

from __future__ import annotations

import m3u8
import pytest

from pipeline.media.captions import parse_captions
from pipeline.media.subtitles import (
    SubtitleSpec,
    first_variant,
    media_segments,
    media_tag,
    segment_captions,
    subtitle_specs,
    uniform_durations,
    with_subtitles,
)

SRT = (
    b"1\n00:00:01,000 --> 00:00:03,000\nfirst\n\n"
    b"2\n00:00:05,000 --> 00:00:08,000\nspans the seam\n\n"
    b"3\n00:00:13,000 --> 00:00:14,000\nin the short last segment\n"
)


def test_segments_align_with_the_video_and_repeat_cues_that_span_a_seam() -> None:
    cues = parse_captions(SRT, "a.en.srt").cues
    rendition = segment_captions(cues, durations=uniform_durations(6, 14.5), mpegts_start=126_000)
    playlist = m3u8.loads(rendition.playlist)
    assert playlist.target_duration == 6 and playlist.is_endlist and playlist.playlist_type == "vod"
    assert [s.uri for s in playlist.segments] == ["sub-00000.vtt", "sub-00001.vtt", "sub-00002.vtt"]
    assert [s.duration for s in playlist.segments] == [6.0, 6.0, 2.5]  # the video's 6 + 6 + 2.5 s
    first, second, last = (rendition.segments[s.uri] for s in playlist.segments)
    for text in (first, second, last):
        assert text.startswith("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000\n")
    assert "first" in first and "spans the seam" in first and "spans the seam" in second
    assert "first" not in second and "in the short last segment" in last
    # Cue times stay the file's own: the map, not the cues, carries the MPEG-TS offset.
    assert "00:00:05.000 --> 00:00:08.000" in second


def test_a_segment_without_cues_is_still_a_valid_webvtt_file() -> None:
    cues = parse_captions(b"1\n00:00:01,000 --> 00:00:02,000\nonly\n", "a.srt").cues
    rendition = segment_captions(cues, durations=uniform_durations(6, 12), mpegts_start=0)
    assert rendition.segments["sub-00001.vtt"] == "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n"


def test_the_master_line_has_every_attribute_a_player_selects_by() -> None:
    line = media_tag(
        group="subs", language="pt-BR", name="Português", uri="subs/pt-BR/index.m3u8", default=True
    )
    master = m3u8.loads(f'#EXTM3U\n{line}\n#EXT-X-STREAM-INF:BANDWIDTH=1,SUBTITLES="subs"\nv.m3u8\n')
    (media,) = master.media
    assert (media.type, media.group_id, media.language, media.name) == (
        "SUBTITLES",
        "subs",
        "pt-BR",
        "Português",
    )
    assert (media.default, media.autoselect, media.forced) == ("YES", "YES", "NO")
    assert master.playlists[0].stream_info.subtitles == "subs"
    forced = media_tag(group="subs", language="en", name="Signs", uri="f.m3u8", forced=True)
    assert "AUTOSELECT=YES" in forced and "FORCED=YES" in forced and "DEFAULT=NO" in forced
    with pytest.raises(ValueError, match="quoted-string"):
        media_tag(group="subs", language="en", name='Say "hi"', uri="x.m3u8")


MASTER = """#EXTM3U
#EXT-X-VERSION:5
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",LANGUAGE="en",NAME="English",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/0/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=640x360,AUDIO="audio"
360p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2900000,AVERAGE-BANDWIDTH=2500000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,AUDIO="audio"
720p/index.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,CODECS="avc1.64001f",RESOLUTION=640x360,URI="iframes/360p.m3u8"
"""


def test_subtitles_are_added_replaced_and_removed_without_touching_the_rest() -> None:
    specs = [
        SubtitleSpec("embedded-0", "es", "Español", default=True),
        SubtitleSpec("cap-en", "en", "English", kind="captions", default=True),
        SubtitleSpec("cap-en2", "en", "English"),
    ]
    edited = with_subtitles(MASTER, specs)
    playlist = m3u8.loads(edited)
    subs = [m for m in playlist.media if m.type == "SUBTITLES"]
    # Names are unique in the group, one DEFAULT at most, captions say what they transcribe.
    assert [(m.name, m.default) for m in subs] == [
        ("Español", "YES"),
        ("English", "NO"),
        ("English (2)", "NO"),
    ]
    assert "transcribes-spoken-dialog" in str(subs[1].characteristics)
    assert [p.stream_info.subtitles for p in playlist.playlists] == ["subs", "subs"]
    assert "SUBTITLES" not in [ln for ln in edited.splitlines() if ln.startswith("#EXT-X-I-FRAME")][0]
    assert [s.folder for s in subtitle_specs(edited)] == ["embedded-0", "cap-en", "cap-en2"]
    assert with_subtitles(edited, subtitle_specs(edited)) == edited  # idempotent
    assert with_subtitles(edited, []) == MASTER  # and reversible byte for byte


def test_media_segments_and_first_variant() -> None:
    assert first_variant(MASTER) == "360p/index.m3u8"
    playlist = (
        "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.000000,\nseg-a-00000.ts\n#EXTINF:2.5,\nseg-a-00001.ts\n"
    )
    assert media_segments(playlist) == [("seg-a-00000.ts", 6.0), ("seg-a-00001.ts", 2.5)]
