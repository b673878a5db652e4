"""The search documents: a lesson's text by heading (transcripts included, chrome left out) and the
course's list of lessons a learner may search."""

from __future__ import annotations

from pipeline import layout
from pipeline.keys import asset_id_for
from pipeline.text.links import Target, TranscriptCue
from pipeline.text.page import CourseView, LessonLink, SectionView
from pipeline.text.player import transcript_html
from pipeline.text.search_index import MAX_LESSON_CHARS, course_search_list, lesson_fragment


def test_sections_follow_headings_with_their_anchors_and_leave_out_chrome() -> None:
    body = (
        '<h1 id="t">Levels<a class="headerlink" href="#t">¶</a></h1><p>Intro words.</p>'
        '<h2 id="gain">Gain &amp; peaks<a class="headerlink" href="#gain">¶</a></h2>'
        "<p>Keep peaks below <strong>-6 dBFS</strong>.</p><button>Copy</button>"
        '<div class="cp-mermaid"><pre class="cp-mermaid-source"><code>graph TD; A--&gt;B</code></pre></div>'
        '<h3 id="meters">Meters</h3><ul><li>VU</li><li>PPM</li></ul>'
    )
    doc = lesson_fragment("Levels", body)
    assert doc["title"] == "Levels"
    assert [(s["anchor"], s["heading"], s["text"]) for s in doc["sections"]] == [
        ("", "", "Intro words."),
        ("gain", "Gain & peaks", "Keep peaks below -6 dBFS."),
        ("meters", "Meters", "VU PPM"),
    ]


def test_a_transcript_is_a_section_under_the_heading_it_follows_without_its_seek_times() -> None:
    target = Target(
        "video",
        "v.mp4",
        "m.m3u8",
        transcript=(TranscriptCue(0, 2000, "Welcome to the anechoic chamber"),),
        transcript_language="en",
    )
    body = f'<h2 id="talk">The talk</h2><p>Watch it.</p>{transcript_html(target)}<h2 id="next">Next</h2>'
    sections = lesson_fragment("L", body)["sections"]
    transcript = next(s for s in sections if s.get("kind") == "transcript")
    assert transcript == {
        "anchor": "talk",
        "heading": "The talk",
        "kind": "transcript",
        "text": "Welcome to the anechoic chamber",
    }
    assert [s["anchor"] for s in sections] == ["talk", "talk", "next"]  # after its section, in order


def test_a_huge_lesson_is_clipped() -> None:
    body = "".join(f'<h2 id="s{i}">S{i}</h2><p>{"word " * 5000}</p>' for i in range(40))
    doc = lesson_fragment("Big", body)
    assert sum(len(s["text"]) for s in doc["sections"]) <= MAX_LESSON_CHARS


def test_the_list_has_uploaded_lessons_only_in_course_order() -> None:
    def link(lesson_id: str, path: str | None) -> LessonLink:
        href = layout.lesson_page(asset_id_for(path)) if path else None
        return LessonLink(lesson_id, lesson_id.title(), href)

    view = CourseView(
        id="c",
        title="Course",
        lang="en",
        sections=(
            SectionView("A", (link("two", "lessons/b.md"), link("pending", None))),
            SectionView("B", (link("one", "lessons/a.md"),)),
        ),
        index_href="index.html",
    )
    doc = course_search_list(view)
    assert [(x["id"], x["section"], x["fragment"]) for x in doc["lessons"]] == [
        ("two", "A", layout.search_fragment(asset_id_for("lessons/b.md"))),
        ("one", "B", layout.search_fragment(asset_id_for("lessons/a.md"))),
    ]
