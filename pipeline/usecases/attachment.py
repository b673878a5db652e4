"""PublishAttachment: a handout (PDF, slides, spreadsheet, archive, text) published for learners to keep.

The file goes out as uploaded, under its own name, with ``Content-Disposition: attachment`` (the browser
saves it instead of rendering it in the course's origin) and its format's Content-Type, behind the same
signed cookies as the rest of the course. What the lesson's download card and the course's Downloads
list show (type, size, pages) is in the catalog item; a PDF also gets a preview of its first page.
"""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from pipeline import layout
from pipeline.catalog.details import AttachmentDetails, Details
from pipeline.content_types import content_type_for
from pipeline.errors import MediaTooLargeError
from pipeline.keys import parse_key
from pipeline.kinds import extension
from pipeline.media import attachments
from pipeline.publish import SHORT, attachment_disposition
from pipeline.steps import Outputs
from pipeline.usecases.workspace import workspace

if TYPE_CHECKING:
    from pipeline.catalog.model import SourceRef
    from pipeline.services import Services


def publish_attachment(source: SourceRef, services: Services) -> Outputs:
    asset = parse_key(source.key)
    limit = services.settings.limits.max_attachment_bytes
    info = services.store.head(source.bucket, source.key, source.version_id)
    size = info.size if info is not None else 0
    if size > limit:
        raise MediaTooLargeError(
            f"{asset.name} is {size / 1e6:,.0f} MB; handouts are limited to {limit / 1e6:,.0f} MB "
            "(MAX_ATTACHMENT_BYTES). Split it, or compress its images."
        )
    ext = extension(asset.name)
    # Its own name, so the learner's download is called what the author called it.
    filename = unicodedata.normalize("NFC", PurePosixPath(asset.path).name)
    bucket = services.settings.publish_bucket
    prefix = asset.publish_prefix
    with workspace(source, services) as ws:
        found = attachments.inspect(ws.source, ext, asset.name)
        key = prefix + layout.attachment_file(asset.asset_id, filename)
        services.store.put_file(
            bucket, key, ws.source, cache_control=SHORT, content_disposition=attachment_disposition(filename)
        )
        written = [key]
        if found.thumbnail is not None:
            for width in attachments.THUMBNAIL_WIDTHS:
                preview = ws.out / f"preview-{width}.webp"
                image = found.thumbnail
                height = max(1, round(image.height * width / image.width))
                image.resize((width, height)).save(preview, "WEBP", quality=80)
                written.append(prefix + layout.attachment_preview(asset.asset_id, width))
                services.store.put_file(bucket, written[-1], preview, cache_control=SHORT)
    folder = prefix + layout.attachment_dir(asset.asset_id) + "/"
    # A re-upload under the same path with another name form, or a PDF replaced by a ZIP: nothing stale.
    services.store.delete_keys(
        bucket, [k for k in services.store.list_keys(bucket, folder) if k not in written]
    )
    details = AttachmentDetails(
        name=filename,
        label=found.label,
        contentType=content_type_for(filename),
        bytes=size,
        key=key,
        pages=found.pages,
        entries=found.entries,
        previews=written[1:],
    )
    return Outputs(written, Details(attachment=details, warnings=found.warnings))
