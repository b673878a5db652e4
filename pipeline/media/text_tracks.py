"""ExtractSubtitles: the text subtitle streams inside a video (mov_text in MP4, SRT/ASS/WebVTT in MKV)
as WebVTT files, in one ffmpeg pass over the file.

ffmpeg converts every text codec it decodes to WebVTT (ASS styling is dropped, its text kept); bitmap
subtitles (DVD, Blu-ray PGS) are pictures, which only OCR could turn into text, so the probe marks them
and they are skipped with a warning. Cue times come out relative to the file's start, as the encoded
video's are. What is written is untrusted text all the same: the packager sanitizes it with the sidecar
caption rules before publishing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ffmpeg

from pipeline.media.ffmpeg_tools import input_url, run

if TYPE_CHECKING:
    from pathlib import Path


def extract_text_tracks(source: Path, out_dir: Path, indexes: list[int]) -> list[Path]:
    """``out_dir/embedded-<n>.vtt`` for each subtitle stream ``0:s:<n>`` in ``indexes``, in that order."""
    if not indexes:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    media = ffmpeg.input(input_url(source), protocol_whitelist="file")
    outputs = []
    paths = []
    for n in indexes:
        path = out_dir / f"embedded-{n}.vtt"
        options: dict[str, Any] = {"c:s": "webvtt", "f": "webvtt", "map_metadata": -1}
        outputs.append(media[f"s:{n}"].output(str(path), **options))
        paths.append(path)
    run(ffmpeg.merge_outputs(*outputs).overwrite_output(), source, "read (subtitles)")
    return paths
