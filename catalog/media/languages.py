"""Language names and codes of audio and subtitle tracks, normalised to ISO 639-2/B.

Sources disagree: Plex writes `languageCode="fra"` (639-2/T) next to `"eng"`, ffprobe passes on
whatever the muxer wrote (`fre`, `fra`, `fr`, `French`), sidecar files say `Movie.fr.srt` or
`Movie.French.forced.srt`. One code per language makes "prefer French audio" a simple comparison.
The raw value is kept alongside. The table holds the languages a retro-TV library plausibly holds;
anything else passes through lower-cased when it looks like a code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-2/B
    alpha2: str
    name: str
    terminology: str = ""  # ISO 639-2/T where it differs from /B


_LANGUAGES = [
    Language("eng", "en", "English"), Language("fre", "fr", "French", "fra"), Language("ger", "de", "German", "deu"),
    Language("spa", "es", "Spanish"), Language("ita", "it", "Italian"), Language("por", "pt", "Portuguese"),
    Language("dut", "nl", "Dutch", "nld"), Language("swe", "sv", "Swedish"), Language("nor", "no", "Norwegian"),
    Language("nob", "nb", "Norwegian Bokmål"), Language("dan", "da", "Danish"), Language("fin", "fi", "Finnish"),
    Language("ice", "is", "Icelandic", "isl"), Language("pol", "pl", "Polish"), Language("cze", "cs", "Czech", "ces"),
    Language("slo", "sk", "Slovak", "slk"), Language("hun", "hu", "Hungarian"), Language("rum", "ro", "Romanian", "ron"),
    Language("bul", "bg", "Bulgarian"), Language("gre", "el", "Greek", "ell"), Language("tur", "tr", "Turkish"),
    Language("rus", "ru", "Russian"), Language("ukr", "uk", "Ukrainian"), Language("srp", "sr", "Serbian"),
    Language("hrv", "hr", "Croatian"), Language("slv", "sl", "Slovenian"), Language("est", "et", "Estonian"),
    Language("lav", "lv", "Latvian"), Language("lit", "lt", "Lithuanian"), Language("heb", "he", "Hebrew"),
    Language("ara", "ar", "Arabic"), Language("per", "fa", "Persian", "fas"), Language("hin", "hi", "Hindi"),
    Language("jpn", "ja", "Japanese"), Language("kor", "ko", "Korean"), Language("chi", "zh", "Chinese", "zho"),
    Language("tha", "th", "Thai"), Language("vie", "vi", "Vietnamese"), Language("ind", "id", "Indonesian"),
    Language("may", "ms", "Malay", "msa"), Language("wel", "cy", "Welsh", "cym"), Language("gle", "ga", "Irish"),
    Language("cat", "ca", "Catalan"), Language("baq", "eu", "Basque", "eus"), Language("glg", "gl", "Galician"),
    Language("alb", "sq", "Albanian", "sqi"), Language("mac", "mk", "Macedonian", "mkd"),
    Language("arm", "hy", "Armenian", "hye"), Language("geo", "ka", "Georgian", "kat"), Language("lat", "la", "Latin"),
]  # fmt: skip
_BY_KEY: dict[str, Language] = {}
for _language in _LANGUAGES:
    for _key in (_language.code, _language.alpha2, _language.name.casefold(), _language.terminology):
        if _key:
            _BY_KEY[_key] = _language
_BY_KEY.update({"nld": _BY_KEY["dut"], "flemish": _BY_KEY["dut"], "castilian": _BY_KEY["spa"]})
UNDETERMINED = {"", "und", "unk", "unknown", "mis", "mul", "zxx", "xx"}


def lookup(value: str | None) -> Language | None:
    """The language a code, tag (`en`, `pt-BR`) or English name stands for, if known."""
    text = (value or "").strip().casefold().replace("_", "-")
    if text in UNDETERMINED:
        return None
    return _BY_KEY.get(text) or _BY_KEY.get(text.split("-", 1)[0])


def normalise_code(value: str | None) -> str:
    """ISO 639-2/B code for a code, tag or name; a 3-letter code we don't know passes through; else ''."""
    language = lookup(value)
    if language:
        return language.code
    text = (value or "").strip().casefold()
    return text if len(text) == 3 and text.isalpha() and text not in UNDETERMINED else ""


def name_of(code: str) -> str:
    language = lookup(code)
    return language.name if language else ""


def same_language(a: str | None, b: str | None) -> bool:
    code = normalise_code(a)
    return bool(code) and code == normalise_code(b)
