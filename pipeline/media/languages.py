"""What a viewer reads for a language tag in a player's menu: its name in that language (autonyms).

A menu of caption or audio languages is read by people looking for their own language, so each entry is
written the way its speakers write it ("Français", not "French"); a region subtag is kept visible
("Português (BR)"). An unknown tag is shown as written rather than guessed.
"""

from __future__ import annotations

_NAMES = {
    "en": "English", "fr": "Français", "de": "Deutsch", "es": "Español", "it": "Italiano",
    "pt": "Português", "nl": "Nederlands", "ja": "日本語", "zh": "中文", "ko": "한국어", "ru": "Русский",
    "ar": "العربية", "hi": "हिन्दी", "pl": "Polski", "tr": "Türkçe", "sv": "Svenska", "uk": "Українська",
    "da": "Dansk", "fi": "Suomi", "no": "Norsk", "nb": "Norsk bokmål", "cs": "Čeština", "el": "Ελληνικά",
    "he": "עברית", "hu": "Magyar", "id": "Bahasa Indonesia", "ro": "Română", "th": "ไทย",
    "vi": "Tiếng Việt", "ca": "Català", "fa": "فارسی", "bn": "বাংলা", "ms": "Bahasa Melayu",
}  # fmt: skip


def known_name(tag: str) -> str | None:
    """The primary language's own name, or None when this table does not know it (the one table)."""
    return _NAMES.get(tag.partition("-")[0].lower())


def language_name(tag: str) -> str:
    """``fr`` → ``Français``; ``pt-BR`` → ``Português (BR)``; ``zh-Hant`` → ``中文 (Hant)``."""
    primary, _, rest = tag.partition("-")
    name = _NAMES.get(primary.lower())
    if name is None:
        return tag
    return f"{name} ({rest})" if rest else name
