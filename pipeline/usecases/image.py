"""Images: responsive WebP variants (stills, animations, SVG drawn as pictures), and what the author
should know about the conversion as warnings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline import layout
from pipeline.catalog.details import Details, ImageVariant
from pipeline.keys import parse_key
from pipeline.media.images import make_variants
from pipeline.publish import publish_tree
from pipeline.steps import Outputs
from pipeline.usecases.workspace import workspace

if TYPE_CHECKING:
    from pipeline.catalog.model import SourceRef
    from pipeline.services import Services


def make_image_variants(source: SourceRef, services: Services) -> Outputs:
    asset = parse_key(source.key)
    with workspace(source, services) as ws:
        made = make_variants(ws.source, ws.out, widths=layout.IMAGE_WIDTHS, limits=services.settings.limits)
        prefix = asset.publish_prefix + layout.image_dir(asset.asset_id)
        keys = publish_tree(
            services.store, services.settings.publish_bucket, prefix, ws.out, [v.path for v in made.variants]
        )
    details = Details(
        image=dict(made.info),
        variants=[
            ImageVariant(key=key, width=v.width, height=v.height, contentType=v.content_type, bytes=v.bytes)
            for key, v in zip(keys, made.variants, strict=True)
        ],
    )
    if made.warnings:
        details["warnings"] = list(made.warnings)
    return Outputs(keys, details)
