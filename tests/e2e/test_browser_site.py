"""The course site in headless Chromium under the template's CSPs: a course of two lessons built by the
text use cases (over the fakes) and served as CloudFront would (each path's response-headers policy from
template.yaml): search finds a word only the other lesson has and its result opens that heading; the theme
toggle survives a reload; a Mermaid diagram is drawn (by the diagram frame) and a broken one shows its
source and the error; no page reports a CSP violation."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pipeline.config import EncodeSettings, Settings
from pipeline.local.edge_config import EdgeConfig
from pipeline.services import Services
from pipeline.text.page import mermaid_js_asset, render_page
from pipeline.usecases.text import build_course, render_lesson_page
from tests.e2e.test_browser_playback import CHROMIUM, CHROMIUM_ARGS
from tests.fakes import FakeCatalog, FakeObjectStore, RecordingPublisher

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "courses/site/"
MANIFEST = """id: site
title: Field Recording
sections:
  - title: Basics
    lessons:
      - {id: mics, file: lessons/mics.md}
      - {id: levels, file: lessons/levels.md}
"""
MICS = b"# Microphones\n\n## Polar patterns\n\nA cardioid rejects the rear.\n"
LEVELS = b"# Levels\n\n## Headroom\n\nLeave headroom for a sudden zephyrus of wind.\n"
DIAGRAMS = (
    "<h1>Diagrams</h1>"
    '<div class="cp-mermaid"><pre class="cp-mermaid-source"><code>graph TD\n  A[Start] --&gt; B[Record]'
    "</code></pre></div>"
    '<div class="cp-mermaid"><pre class="cp-mermaid-source"><code>graph TD\n  A[Start --&gt;&gt;&gt; ]]]'
    "</code></pre></div>"
)
VIOLATIONS = """window.cpViolations = [];
document.addEventListener('securitypolicyviolation',
  e => window.cpViolations.push(e.violatedDirective + ' ' + e.blockedURI));"""


def _publish(root: Path) -> None:
    settings = Settings(
        ingest_bucket="ingest",
        publish_bucket="publish",
        catalog_table="catalog",
        work_dir=str(root),
        encode=EncodeSettings(),
    )
    store = FakeObjectStore(versioned=frozenset({"ingest"}))
    services = Services(settings, store, FakeCatalog(), RecordingPublisher())
    for path, source in (("lessons/mics.md", MICS), ("lessons/levels.md", LEVELS)):
        render_lesson_page(store.upload("ingest", PREFIX + path, source), services)
    build_course(store.upload("ingest", PREFIX + "course.yaml", MANIFEST.encode()), services)
    site = root / "site"
    for key in store.list_keys("publish", PREFIX):
        data = store.data("publish", key)
        assert data is not None
        target = site / key[len(PREFIX) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (site / "lessons" / "diagrams.html").write_text(
        render_page(title="Diagrams", body_html=DIAGRAMS, lang="en", root="../"), encoding="utf-8"
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)")
    if mermaid_js_asset() is None:
        pytest.skip("mermaid is missing (npm ci --prefix web; .ci/run installs it)")
    root = tmp_path_factory.mktemp("site")
    _publish(root)
    edge = EdgeConfig.from_template(ROOT / "template.yaml")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def end_headers(self) -> None:
            behaviour = edge.behaviour_for(PREFIX + self.path.split("?", 1)[0].lstrip("/"))
            for name, value, _ in behaviour.response_headers.headers if behaviour.response_headers else ():
                if name == "Content-Security-Policy":
                    self.send_header(name, value)
            super().end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
            return

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(root / "site"))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(site: str) -> Iterator[Any]:
    from playwright import sync_api as playwright_api  # the dev extra; it never downloads browsers

    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _tab(browser: Any) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.add_init_script(VIOLATIONS)
    return context, page


def test_search_finds_the_other_lessons_word_and_opens_its_heading(browser: Any, site: str) -> None:
    context, page = _tab(browser)
    try:
        page.goto(f"{site}/index.html")
        page.locator("a", has_text="Microphones").first.click()
        page.wait_for_selector(".cp-search:not([hidden])")
        page.focus("#cp-search-input")
        page.keyboard.type("zephyr")
        page.wait_for_selector("#cp-search-results [role=option]")
        first = page.locator("#cp-search-results [role=option]").first
        assert "Levels" in first.inner_text() and "Headroom" in first.inner_text()
        assert first.locator("mark").first.inner_text().lower() == "zephyr"
        page.keyboard.press("ArrowDown")
        assert page.get_attribute("#cp-search-input", "aria-activedescendant") == "cp-search-result-0"
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url.endswith("#headroom"), page.url
        assert "Levels" in page.title()
        assert page.evaluate("() => window.cpViolations") == []
    finally:
        context.close()


def test_the_theme_choice_survives_a_reload(browser: Any, site: str) -> None:
    context, page = _tab(browser)
    try:
        page.emulate_media(color_scheme="light")
        page.goto(f"{site}/index.html")
        toggle = page.locator(".cp-theme-toggle")
        toggle.wait_for(state="visible")
        background = "() => getComputedStyle(document.body).backgroundColor"
        light = page.evaluate(background)
        assert (
            page.get_attribute("html", "data-theme") is None
            and toggle.get_attribute("aria-pressed") == "false"
        )
        toggle.click()
        assert page.get_attribute("html", "data-theme") == "dark"
        dark = page.evaluate(background)
        assert dark != light
        page.reload()
        assert page.get_attribute("html", "data-theme") == "dark"  # set in <head>, before the first paint
        assert page.evaluate(background) == dark
        assert page.locator(".cp-theme-toggle").get_attribute("aria-pressed") == "true"
        assert page.evaluate("() => window.cpViolations") == []
    finally:
        context.close()


def test_a_diagram_is_drawn_and_a_broken_one_shows_its_source_and_error(
    browser: Any, site: str, tmp_path: Path
) -> None:
    context, page = _tab(browser)
    try:
        page.goto(f"{site}/lessons/diagrams.html")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.cp-mermaid')].every(d => "
            "['drawn', 'error'].includes(d.dataset.cpDiagram))",
            timeout=30_000,
        )
        good, bad = page.locator(".cp-mermaid").nth(0), page.locator(".cp-mermaid").nth(1)
        assert good.get_attribute("data-cp-diagram") == "drawn"
        image = good.locator("img.cp-mermaid-image")
        page.wait_for_function("() => document.querySelector('img.cp-mermaid-image').naturalWidth > 0")
        # The SVG is shown as an image of a blob: (the page's CSP keeps style-src 'self'), drawn, sized.
        assert (image.get_attribute("src") or "").startswith("blob:")
        assert page.evaluate("() => document.querySelector('img.cp-mermaid-image').naturalWidth") > 50
        assert image.bounding_box() is not None
        assert bad.get_attribute("data-cp-diagram") == "error"
        assert bad.locator(".cp-mermaid-source").is_visible() and "Start" in bad.locator("code").inner_text()
        assert "could not be drawn" in bad.locator(".cp-mermaid-error").inner_text()
        page.screenshot(path=str(tmp_path / "diagrams.png"))
        assert page.evaluate("() => window.cpViolations") == []
    finally:
        context.close()
