"""Caption and subtitle files (SRT, WebVTT) as authors export them: read, checked, repaired, sanitized.

The first step of issue 13: this module knows nothing of HLS or the catalog yet. Authors' files come from
editors, transcription services and Windows tools, so the input is whatever those write: UTF-8 with or
without a BOM, UTF-16 with a BOM, cp1252; CRLF; SRT's comma or WebVTT's dot before the milliseconds;
``<font>`` and ASS ``{\\an8}`` overrides. What leaves is WebVTT with only WebVTT's own cue markup, cues in
order and inside the video, and one warning per repair, with its line number, for the author.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from pipeline.errors import CaptionError
from pipeline.media.languages import known_name

MAX_CAPTION_BYTES = 5_000_000
MAX_CUES = 50_000
MAX_CUE_CHARS = 2_000
MAX_WARNINGS = 20
CAPTION_EXTENSIONS = frozenset({"srt", "vtt"})

# ISO 639-1 (two letters) and the ISO 639-2/3 codes of languages that have no two-letter code but are
# common in course catalogs; a BCP-47 tag's primary subtag must be one of them.
_ISO_639_1_CODES = (
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de "
    "dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id "
    "ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu "
    "lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu "
    "rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr "
    "ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu "
)
_ISO_639_1 = frozenset(_ISO_639_1_CODES.split())
_ISO_639_3_CODES = "yue cmn fil haw ast ckb sgn zxx und mul"
_ISO_639_3 = frozenset(_ISO_639_3_CODES.split())
_LANGUAGE_TAG = re.compile(r"^([A-Za-z]{2,3})((?:-[A-Za-z0-9]{2,8})*)$")
# ISO 639-2 as containers store a stream's language (MP4 always, Matroska's legacy element): the
# terminology code of every ISO 639-1 language, then the bibliographic codes that differ ("fre", "ger").
_ISO_639_2_CODES = (
    "aar:aa abk:ab ave:ae afr:af aka:ak amh:am arg:an ara:ar asm:as ava:av aym:ay aze:az bak:ba bel:be "
    "bul:bg bih:bh bis:bi bam:bm ben:bn bod:bo bre:br bos:bs cat:ca che:ce cha:ch cos:co cre:cr ces:cs "
    "chu:cu chv:cv cym:cy dan:da deu:de div:dv dzo:dz ewe:ee ell:el eng:en epo:eo spa:es est:et eus:eu "
    "fas:fa ful:ff fin:fi fij:fj fao:fo fra:fr fry:fy gle:ga gla:gd glg:gl grn:gn guj:gu glv:gv hau:ha "
    "heb:he hin:hi hmo:ho hrv:hr hat:ht hun:hu hye:hy her:hz ina:ia ind:id ile:ie ibo:ig iii:ii ipk:ik "
    "ido:io isl:is ita:it iku:iu jpn:ja jav:jv kat:ka kon:kg kik:ki kua:kj kaz:kk kal:kl khm:km kan:kn "
    "kor:ko kau:kr kas:ks kur:ku kom:kv cor:kw kir:ky lat:la ltz:lb lug:lg lim:li lin:ln lao:lo lit:lt "
    "lub:lu lav:lv mlg:mg mah:mh mri:mi mkd:mk mal:ml mon:mn mar:mr msa:ms mlt:mt mya:my nau:na nob:nb "
    "nde:nd nep:ne ndo:ng nld:nl nno:nn nor:no nbl:nr nav:nv nya:ny oci:oc oji:oj orm:om ori:or oss:os "
    "pan:pa pli:pi pol:pl pus:ps por:pt que:qu roh:rm run:rn ron:ro rus:ru kin:rw san:sa srd:sc snd:sd "
    "sme:se sag:sg sin:si slk:sk slv:sl smo:sm sna:sn som:so sqi:sq srp:sr ssw:ss sot:st sun:su swe:sv "
    "swa:sw tam:ta tel:te tgk:tg tha:th tir:ti tuk:tk tgl:tl tsn:tn ton:to tur:tr tso:ts tat:tt twi:tw "
    "tah:ty uig:ug ukr:uk urd:ur uzb:uz ven:ve vie:vi vol:vo wln:wa wol:wo xho:xh yid:yi yor:yo zha:za "
    "zho:zh zul:zu "
    "tib:bo cze:cs wel:cy ger:de gre:el baq:eu per:fa fre:fr arm:hy ice:is geo:ka mao:mi mac:mk may:ms "
    "bur:my dut:nl rum:ro slo:sk alb:sq chi:zh"
)
_ISO_639_2 = dict(pair.split(":") for pair in _ISO_639_2_CODES.split())
# Container tags that say "no particular language": not worth a LANGUAGE attribute.
_NO_LANGUAGE = frozenset({"und", "mul", "zxx", "mis", "qaa"})
# What a player's menu shows for a track with no title: each language's name in that language.
_TIMESTAMP = r"(?:(\d{1,3}):)?([0-5]?\d):([0-5]\d)[,.](\d{1,3})"
_TIMING = re.compile(rf"^\s*{_TIMESTAMP}\s*-->\s*{_TIMESTAMP}(.*)$")
_TAG = re.compile(r"<(/?)([^>\s./]*)([^>]*)>")
_ASS_OVERRIDE = re.compile(r"\{\\[^}]*\}")
_ENTITY = re.compile(r"&(?!(?:amp|lt|gt|lrm|rlm|nbsp);)")
_INNER_TIMESTAMP = re.compile(rf"^{_TIMESTAMP}$")
# WebVTT's cue markup (W3C WebVTT §4.2.2), with the annotation only where the spec gives one.
_CUE_TAGS = frozenset({"c", "i", "b", "u", "ruby", "rt", "v", "lang"})
_CUE_SETTINGS = re.compile(
    r"^(?:vertical:(?:rl|lr)|line:-?\d+%?(?:,\w+)?|position:\d+%(?:,\w+)?|size:\d+%|align:\w+)$"
)


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    text: str
    line: int  # where the cue's timing line is in the author's file
    settings: str = ""


@dataclass(frozen=True)
class Captions:
    cues: list[Cue]
    encoding: str
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Sidecar:
    """``media/lecture.en.srt``: the captions of ``media/lecture.*`` in English."""

    stem: str
    language: str


def sidecar_of(path: str) -> Sidecar | None:
    """The video a caption file attaches to (by stem) and its language, or None if the name says neither.

    Raises CaptionError for a language tag that is not BCP-47 with a known primary language, so the
    author learns the name is the problem (``lecture.english.srt``) instead of seeing nothing attach."""
    base, ext = posixpath.splitext(path)
    if ext.lower().lstrip(".") not in CAPTION_EXTENSIONS:
        return None
    stem, dot, tag = base.rpartition(".")
    if not dot or not stem or posixpath.basename(stem) == "":
        return None
    return Sidecar(stem=stem, language=language_tag(tag, path))


def language_tag(tag: str, name: str) -> str:
    """``tag`` in BCP-47's canonical case (``pt-BR``, ``zh-Hant``), or a CaptionError saying what to write."""
    match = _LANGUAGE_TAG.match(tag)
    primary = match.group(1).lower() if match else ""
    if not match or (primary not in _ISO_639_1 and primary not in _ISO_639_3):
        raise CaptionError(
            f"{name}: '{tag}' is not a language tag; name the file like lecture.en.srt or lecture.pt-BR.vtt "
            "(a BCP-47 tag after the video's name)"
        )
    subtags = []
    for sub in match.group(2).split("-")[1:]:
        subtags.append(sub.upper() if len(sub) == 2 else sub.title() if len(sub) == 4 else sub.lower())
    return "-".join([primary, *subtags])


def stream_language(tag: object) -> str | None:
    """A container's language tag (ISO 639-2 ``eng``/``fre``/``fra``, or already BCP-47) as BCP-47, or None
    for "undetermined" and for anything unrecognisable: a stream's tag is metadata nobody proofread, and a
    wrong one must cost its LANGUAGE attribute, not the upload."""
    text = str(tag or "").strip().replace("_", "-")
    primary, dash, rest = text.partition("-")
    primary = primary.lower()
    if not primary or primary in _NO_LANGUAGE:
        return None
    primary = _ISO_639_2.get(primary, primary)
    try:
        return language_tag(primary + dash + rest, "stream")
    except CaptionError:
        return None


def language_name(tag: str | None) -> str | None:
    """The language's own name for a BCP-47 tag (``pt-BR`` → Português), when this module knows it."""
    return known_name(tag) if tag else None


def decode_text(data: bytes, name: str) -> tuple[str, str, list[str]]:
    """(text, encoding, warnings): UTF-8 (BOM or not), UTF-16 with a BOM, else cp1252 with a warning."""
    if len(data) > MAX_CAPTION_BYTES:
        raise CaptionError(
            f"{name} is {len(data):,} bytes; a caption file may be at most {MAX_CAPTION_BYTES:,}"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16", [f"{name}: converted from UTF-16 to UTF-8"]
    try:
        return data.decode("utf-8-sig"), "utf-8", []
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise CaptionError(f"{name}: not UTF-8, UTF-16 or Windows-1252 text; save it as UTF-8") from exc
    return text, "cp1252", [f"{name}: not UTF-8; read as Windows-1252 and converted (save it as UTF-8)"]


def _ms(hours: str | None, minutes: str, seconds: str, fraction: str) -> int:
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(fraction.ljust(3, "0"))


def sanitize_cue_text(text: str) -> str:
    """Only WebVTT's own cue tags survive (``<b>``, ``<i>``, ``<v Name>``…); any other tag is dropped with
    its text kept, ASS overrides go, and a bare ``&`` or ``<`` becomes an entity."""
    text = _ASS_OVERRIDE.sub("", text)
    out: list[str] = []
    last = 0
    for match in _TAG.finditer(text):
        out.append(_text(text[last : match.start()]))
        last = match.end()
        closing, tag, rest = match.groups()
        if _INNER_TIMESTAMP.match(tag + rest) and not closing:
            out.append(match.group(0))
        elif tag.lower() in _CUE_TAGS:
            classes = "".join(f".{c}" for c in re.findall(r"\.([A-Za-z0-9_-]+)", rest.split(" ", 1)[0]))
            annotation = rest.split(" ", 1)[1].strip() if not closing and " " in rest else ""
            if annotation and tag.lower() in ("v", "lang"):
                safe = annotation.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                out.append(f"<{tag.lower()}{classes} {safe}>")
            else:
                out.append(f"<{closing}{tag.lower()}{'' if closing else classes}>")
    out.append(_text(text[last:]))
    return "".join(out).strip()


def _note_markup(text: str, where: str, warnings: list[str]) -> bool:
    """Warn (once per file: the caller stops asking) about markup sanitizing removes; True if it did."""
    foreign = _foreign_markup(text)
    if foreign:
        warnings.append(
            f"{where}: {foreign} is not WebVTT cue markup; removed (its text is kept), here and in any "
            "later cue"
        )
    return foreign is not None


def _foreign_markup(text: str) -> str | None:
    """The first tag or ASS override in ``text`` that sanitizing removes, as the author wrote it."""
    override = _ASS_OVERRIDE.search(text)
    if override:
        return override.group(0)[:30]
    for match in _TAG.finditer(text):
        closing, tag, rest = match.groups()
        if tag.lower() not in _CUE_TAGS and not (_INNER_TIMESTAMP.match(tag + rest) and not closing):
            return match.group(0)[:30]
    return None


def _text(part: str) -> str:
    """Cue text between tags: a bare ``&``, or a ``<``/``>`` no tag claimed, as entities."""
    return _ENTITY.sub("&amp;", part).replace("<", "&lt;").replace(">", "&gt;")


def parse_captions(data: bytes, name: str, *, duration_s: float | None = None) -> Captions:
    """Cues of an SRT or WebVTT file, repaired where that is safe (each repair a warning), refused where
    the file cannot be read (a CaptionError naming the line)."""
    text, encoding, warnings = decode_text(data, name)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cues: list[Cue] = []
    index = 0
    markup_noted = False
    if lines and lines[0].startswith("WEBVTT"):
        while index < len(lines) and lines[index].strip():  # the header block
            index += 1
    while index < len(lines):
        line = lines[index]
        if not line.strip() or line.strip().startswith(("NOTE", "STYLE", "REGION")) and "-->" not in line:
            index = _skip_block(lines, index) if line.strip() else index + 1
            continue
        timing = _TIMING.match(line)
        numbered = line.strip().isdigit() or (index + 1 < len(lines) and "-->" in lines[index + 1])
        if timing is None and numbered and index + 1 < len(lines):
            index += 1  # a cue number or identifier line: the timing line follows
            line = lines[index]
            timing = _TIMING.match(line)
        if timing is None:
            if "-->" in line or numbered:
                raise CaptionError(
                    f"{name}, line {index + 1}: '{line.strip()[:60]}' is not a timing line; write it like "
                    "00:01:02,500 --> 00:01:04,000"
                )
            raise CaptionError(f"{name}, line {index + 1}: expected a cue number or a timing line")
        number = index + 1
        start, end = _ms(*timing.groups()[0:4]), _ms(*timing.groups()[4:8])
        settings = " ".join(s for s in timing.group(9).split() if _CUE_SETTINGS.match(s))
        body: list[str] = []
        index += 1
        while index < len(lines) and lines[index].strip():
            body.append(lines[index])
            index += 1
        markup_noted = markup_noted or _note_markup("\n".join(body), f"{name}, line {number + 1}", warnings)
        cue_text = sanitize_cue_text("\n".join(body))[:MAX_CUE_CHARS]
        if end <= start:
            raise CaptionError(f"{name}, line {number}: the cue ends before it starts; check its times")
        if cue_text:
            cues.append(Cue(start, end, cue_text, number, settings))
        if len(cues) > MAX_CUES:
            raise CaptionError(f"{name}: more than {MAX_CUES:,} cues; split the file")
    if not cues:
        raise CaptionError(f"{name}: no cues found; is it an SRT or WebVTT file?")
    return Captions(_repaired(cues, name, duration_s, warnings), encoding, warnings[:MAX_WARNINGS])


def _skip_block(lines: list[str], index: int) -> int:
    while index < len(lines) and lines[index].strip():
        index += 1
    return index


def _repaired(cues: list[Cue], name: str, duration_s: float | None, warnings: list[str]) -> list[Cue]:
    """In time order; an overlap is kept (WebVTT shows both) only when one cue is not simply the next one
    starting early, which is an editor's rounding: that one is trimmed. Cues past the end are cut."""
    ordered = sorted(cues, key=lambda c: (c.start_ms, c.end_ms))
    if ordered != cues:
        warnings.append(f"{name}: cues were out of order; they are sorted by start time")
    out: list[Cue] = []
    for cue in ordered:
        if out and out[-1].end_ms > cue.start_ms and out[-1].end_ms < cue.end_ms:
            previous = out[-1]
            warnings.append(
                f"{name}, line {previous.line}: the cue overlaps the next one; it now ends when that starts"
            )
            out[-1] = Cue(previous.start_ms, cue.start_ms, previous.text, previous.line, previous.settings)
        out.append(cue)
    if duration_s is not None:
        limit = int(duration_s * 1000)
        kept = [c for c in out if c.start_ms < limit]
        if len(kept) < len(out):
            dropped = len(out) - len(kept)
            warnings.append(
                f"{name}, line {out[len(kept)].line}: {dropped} cue(s) start after the video ends; dropped"
            )
        out = [c if c.end_ms <= limit else Cue(c.start_ms, limit, c.text, c.line, c.settings) for c in kept]
    return [c for c in out if c.end_ms > c.start_ms]


def _stamp(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def to_webvtt(cues: list[Cue]) -> str:
    """The whole file, for ``<track>`` and the transcript."""
    blocks = ["WEBVTT"]
    for cue in cues:
        timing = f"{_stamp(cue.start_ms)} --> {_stamp(cue.end_ms)}"
        blocks.append(f"{timing} {cue.settings}".rstrip() + "\n" + cue.text)
    return "\n\n".join(blocks) + "\n"


_FLAGS = ("forced", "sdh", "cc")


@dataclass(frozen=True)
class CaptionName:
    """What a caption file's name says: its video's stem, language, and the flags players know."""

    stem: str
    language: str
    forced: bool = False
    sdh: bool = False
    chapters: bool = False
    """``lecture.chapters.vtt``: titled points of the video, not a language (no HLS rendition)."""


def caption_name(path: str) -> CaptionName | None:
    """``media/lecture.en.srt``, ``media/lecture.en.forced.srt``, ``media/lecture.pt-BR.sdh.vtt``.

    ``forced`` (only the foreign or on-screen text, shown even with captions off) and ``sdh``/``cc``
    (for viewers who cannot hear: sounds described) are the suffixes media servers (Plex, Jellyfin)
    read; None when the name has no language part at all. Raises CaptionError for a language part that
    is not a BCP-47 tag."""
    base, ext = posixpath.splitext(path)
    head, dot, last = base.rpartition(".")
    if dot and head and last.lower() == "chapters" and ext.lower() == ".vtt":
        return CaptionName(head, "", chapters=True)
    flags: set[str] = set()
    while True:
        head, dot, last = base.rpartition(".")
        if dot and last.lower() in _FLAGS and head:
            flags.add(last.lower())
            base = head
        else:
            break
    sidecar = sidecar_of(base + ext)
    if sidecar is None:
        return None
    return CaptionName(
        sidecar.stem, sidecar.language, forced="forced" in flags, sdh=bool(flags & {"sdh", "cc"})
    )


def lenient_name(path: str) -> CaptionName | None:
    try:
        return caption_name(path)
    except CaptionError:
        return None
