"""Publishing the course search (``pipeline/text/search_index.py`` says what the two documents are).

Called by the text use cases at the two moments that already converge whatever the order of uploads and
deletions: a lesson's fragment where its page is written (every render and re-render), the course's list
where its index page is written. Deleting a lesson removes its fragment with its page (the lesson's
``Lifecycle.files``); deleting ``course.yaml`` removes the list with the index page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline import layout
from pipeline.publish import SHORT
from pipeline.text.search_index import course_search_list, encode, lesson_fragment

if TYPE_CHECKING:
    from pipeline.services import Services
    from pipeline.text.lesson import RenderedLesson
    from pipeline.text.page import CourseView


def publish_lesson_fragment(services: Services, prefix: str, asset_id: str, rendered: RenderedLesson) -> str:
    """Before the page (its entry point): a search result never leads to a page older than its text."""
    key = prefix + layout.search_fragment(asset_id)
    document = lesson_fragment(rendered.title, rendered.body_html)
    services.store.put_bytes(services.settings.publish_bucket, key, encode(document), cache_control=SHORT)
    return key


def publish_search_list(services: Services, prefix: str, view: CourseView) -> str:
    """``view`` is the index page's (URLs relative to the course folder)."""
    key = prefix + layout.search_list()
    data = encode(course_search_list(view))
    services.store.put_bytes(services.settings.publish_bucket, key, data, cache_control=SHORT)
    return key
