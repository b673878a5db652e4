"""Video and audio lectures: probe gate, HLS encode, poster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline import layout
from pipeline.catalog.model import SourceRef
from pipeline.keys import AssetKey, parse_key
from pipeline.media.hls import encode_hls
from pipeline.media.poster import make_poster
from pipeline.media.probe import ProbeResult, probe
from pipeline.publish import publish_tree
from pipeline.services import Services
from pipeline.usecases.workspace import workspace


def _asset(source: SourceRef) -> AssetKey:
    return parse_key(source.key)


def probe_media(source: SourceRef, services: Services) -> dict[str, Any]:
    """The gate: a file ffprobe cannot read, or over the limits, fails here before any encode cost."""
    with workspace(source, services) as ws:
        return probe(ws.source, limits=services.settings.limits).to_dict()


def _probe(ws_source: Path, probed: dict[str, Any] | None, services: Services) -> ProbeResult:
    """The ProbeMedia result from the state when there is one; probing again only when called alone."""
    if probed:
        return ProbeResult.from_dict(probed)
    return probe(ws_source, limits=services.settings.limits)


def encode_media(source: SourceRef, probed: dict[str, Any] | None, services: Services) -> dict[str, Any]:
    asset = _asset(source)
    with workspace(source, services) as ws:
        result = encode_hls(ws.source, ws.out, _probe(ws.source, probed, services))
        files = [str(f) for f in result.files]
        prefix = asset.publish_prefix + layout.media_dir(asset.asset_id) + "/hls"
        keys = publish_tree(services.store, services.settings.publish_bucket, prefix, ws.out, files)
    master = f"{prefix}/{result.master}"
    return {
        "outputs": [master],
        "details": {
            "hls": {
                "master": master,
                "segments": sum(r.segment_count for r in result.renditions),
                "renditions": [
                    {
                        "name": r.name,
                        "width": r.width,
                        "height": r.height,
                        "bandwidth": r.bandwidth,
                        "averageBandwidth": r.average_bandwidth,
                        "codecs": r.codecs,
                    }
                    for r in result.renditions
                ],
                "files": len(keys),
            }
        },
    }


def make_media_poster(source: SourceRef, probed: dict[str, Any] | None, services: Services) -> dict[str, Any]:
    asset = _asset(source)
    with workspace(source, services) as ws:
        files = [
            str(p)
            for p in make_poster(
                ws.source,
                ws.out,
                _probe(ws.source, probed, services),
                widths=layout.POSTER_WIDTHS,
            )
        ]
        prefix = asset.publish_prefix + layout.media_dir(asset.asset_id) + "/thumbs"
        keys = publish_tree(services.store, services.settings.publish_bucket, prefix, ws.out, files)
    return {"outputs": keys, "details": {"posters": keys}}
