"""One lesson cannot break its course: a rebuild (``course.yaml`` uploaded) publishes every other lesson and
the index whatever one lesson holds, and that lesson fails alone with a named error (issue 11, hole 4).
Over the in-memory fakes of the ports (``tests/fakes``): no AWS."""

from __future__ import annotations

from typing import Any

import pygments
import pytest

from pipeline import layout
from pipeline.catalog.model import SourceRef
from pipeline.config import Settings
from pipeline.errors import LessonRenderError
from pipeline.keys import asset_id_for
from pipeline.services import Services
from pipeline.text import fences
from pipeline.usecases.text import build_course, render_lesson_page
from tests.fakes import FakeCatalog, FakeObjectStore, RecordingPublisher

COURSE = "poisoned-1"
PREFIX = f"courses/{COURSE}/"
MANIFEST = f"""id: {COURSE}
title: A course with one bad lesson
sections:
  - title: All
    lessons:
      - {{id: one, file: lessons/01-one.md}}
      - {{id: two, file: lessons/02-two.md}}
      - {{id: three, file: lessons/03-three.md}}
"""
GOOD = "# {title}\n\n```python\nx = 1\n```\n"


@pytest.fixture
def services() -> Services:
    settings = Settings(ingest_bucket="ingest", publish_bucket="publish", catalog_table="catalog")
    store = FakeObjectStore(versioned=frozenset({"ingest"}))
    return Services(settings, store, FakeCatalog(), RecordingPublisher())


def fake_store(services: Services) -> FakeObjectStore:
    assert isinstance(services.store, FakeObjectStore)
    return services.store


def upload(services: Services, path: str, text: str) -> SourceRef:
    return fake_store(services).upload("ingest", PREFIX + path, text.encode())


def page(services: Services, path: str) -> str | None:
    key = PREFIX + layout.lesson_page(asset_id_for(path))
    data = fake_store(services).data("publish", key)
    return None if data is None else data.decode()


def course_with(services: Services, poisoned: str) -> SourceRef:
    upload(services, "lessons/01-one.md", GOOD.format(title="One"))
    upload(services, "lessons/02-two.md", poisoned)
    upload(services, "lessons/03-three.md", GOOD.format(title="Three"))
    return upload(services, "course.yaml", MANIFEST)


@pytest.mark.parametrize(
    "fence",
    ["```{.python lang=x}", "``` { .python lang=x }", "```{.python pygments_style=x}", "```{.py src=x}"],
)
def test_fence_options_that_crashed_pygments_do_not_stop_the_course(services: Services, fence: str) -> None:
    manifest = course_with(services, f"# Two\n\n{fence}\nx = 1\n```\n")

    built = build_course(manifest, services)

    assert built.details["course"]["pagesRendered"] == 3
    for path in ("lessons/01-one.md", "lessons/02-two.md", "lessons/03-three.md"):
        assert page(services, path) is not None, path
    assert '<span class="n">x</span>' in (page(services, "lessons/02-two.md") or "")
    assert built.outputs == [PREFIX + layout.course_index()]


def test_an_unexpected_failure_fails_that_lesson_alone(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever the next renderer bug is: here, the highlighter breaks on one lesson's code.
    real = pygments.highlight  # what pipeline.text.fences calls

    def highlight(code: str, *args: Any) -> str:
        if "POISON" in code:
            raise TypeError("the next bug")
        return str(real(code, *args))

    monkeypatch.setattr(fences, "highlight", highlight)
    manifest = course_with(services, "# Two\n\n```python\nPOISON = 1\n```\n")

    built = build_course(manifest, services)

    assert built.details["course"]["pagesRendered"] == 2
    one, three = page(services, "lessons/01-one.md"), page(services, "lessons/03-three.md")
    assert one is not None and three is not None and page(services, "lessons/02-two.md") is None
    index = services.store.get_bytes("publish", PREFIX + layout.course_index()).decode()
    assert "One" in index and "Three" in index
    (failure,) = built.details["warnings"]
    assert failure.startswith("lesson two: 02-two.md: the lesson could not be rendered (TypeError,")

    # The lesson's own execution fails with the named error, which the catalog records for its author.
    with pytest.raises(LessonRenderError, match="02-two.md: the lesson could not be rendered"):
        render_lesson_page(SourceRef("ingest", PREFIX + "lessons/02-two.md"), services)
