"""Reading Kodi / TinyMediaManager .nfo files.

An .nfo is XML with a `<movie>`, `<tvshow>`, `<episodedetails>` or `<season>` root; a file that
holds several episodes (one video, two episodes) simply has several `<episodedetails>` roots one
after another, which is not well-formed XML, so the text is parsed inside a wrapper element (some
tools put one more root around them, which is looked through). Kodi also accepts an .nfo that is
XML followed by a scraper URL line, or only URLs: text outside the elements is kept aside and mined
for ids, and a URL-only file is an item with just those ids (`url_only`), named by the scan from
its file or folder. A file with neither is an `NfoError`.

Files as people really have them are read where the meaning is clear, with a warning where
something was skipped: a BOM, HTML entities (`&eacute;`), CDATA, tags in any letter case, text or
junk after the closing root, ratings with a decimal comma. Ids are read by `nfo_ids`.

RetroVue's own scheduling fields may sit in a `<retrovue>` block or as top-level tags:

    <retrovue>
      <daypart>prime_time</daypart>          <season_preference>christmas</season_preference>
      <category>toys</category>              <company>Kenner</company>
      <expires>1999-12-31</expires>          <demographic>kids</demographic>
      <warnings>violence</warnings>          <notes>Only with the 1985 bumper.</notes>
    </retrovue>

Values are checked against the catalog's choices; a bad one is dropped and reported in the item's
`warnings`, never fatal.
"""

from __future__ import annotations

import html.entities
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from catalog.choices import PROVIDER_PRIORITY, Daypart, Demographic, SeasonalPreference
from catalog.folders.nfo_ids import attribute, ids_from_urls, read_ids
from catalog.identity import primary_guid

KINDS = ("movie", "tvshow", "episodedetails", "season")
MAX_NFO_BYTES = 4 * 1024 * 1024
MAX_ROOT_RETRIES = 8  # closing root tags tried as the end of the XML when junk follows

_XML_DECLARATION = re.compile(r"<\?xml[^>]*\?>", re.IGNORECASE)
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_BARE_AMPERSAND = re.compile(r"&(?!#\d+;|#x[0-9a-fA-F]+;|(?:amp|lt|gt|quot|apos);)")
_NAMED_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]{1,31});")
_CDATA = re.compile(r"(<!\[CDATA\[.*?\]\]>)", re.DOTALL)
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
_CLOSING_ROOT = re.compile(r"</\s*(movie|tvshow|episodedetails|season)\s*>", re.IGNORECASE)
_WRAPPER = "retrovue-nfo"

_SCHEDULING_TAGS = {
    "daypart": "daypart",
    "season_preference": "seasonal_preference",
    "seasonal_preference": "seasonal_preference",
    "season": "seasonal_preference",  # only inside <retrovue>; at top level <season> is the season number
    "category": "category",
    "company": "commercial_company",
    "commercial_company": "commercial_company",
    "advertiser": "commercial_company",
    "expires": "expires_on",
    "expires_on": "expires_on",
    "demographic": "target_demographic",
    "target_demographic": "target_demographic",
    "warnings": "content_warnings",
    "content_warnings": "content_warnings",
    "notes": "notes",
}
_TOP_LEVEL_SCHEDULING_TAGS = {tag for tag in _SCHEDULING_TAGS if tag != "season"}
_TEXT_LIMITS = {"category": 100, "commercial_company": 200, "content_warnings": 300}
_CHOICE_ALIASES = {
    "seasonal_preference": {"fall": "autumn", "xmas": "christmas", "new_years": "new_year", "any": ""},
    "daypart": {"any": "", "primetime": "prime_time", "late": "late_night", "morning": "early_morning"},
    "target_demographic": {"any": "", "everyone": "", "all": "", "children": "kids", "kid": "kids"},
}
_CHOICES = {
    "daypart": Daypart,
    "seasonal_preference": SeasonalPreference,
    "target_demographic": Demographic,
}


class NfoError(ValueError):
    """An .nfo that cannot be read as metadata; the message says why, for a per-file report."""


@dataclass(frozen=True)
class NfoSet:
    """A movie set (`<set>`): a collection, known by its TMDB collection id when it has one."""

    name: str
    overview: str = ""
    tmdb_collection_id: str = ""

    @property
    def key(self) -> str:
        return (
            f"set:tmdb:{self.tmdb_collection_id}"
            if self.tmdb_collection_id
            else f"set:{self.name.casefold()}"
        )


@dataclass
class NfoItem:
    """One metadata record from an .nfo: a movie, a show, or one episode."""

    kind: str
    title: str = ""
    original_title: str = ""
    sort_title: str = ""
    show_title: str = ""
    year: int | None = None
    premiered: date | None = None
    plot: str = ""
    genres: list[str] = field(default_factory=list)
    studios: list[str] = field(default_factory=list)
    # (role, name, character, thumb): actors in billing order, then directors, writers, producers.
    credits: list[tuple[str, str, str, str]] = field(default_factory=list)
    content_rating: str = ""
    rating: Decimal | None = None
    runtime_minutes: int | None = None
    season: int | None = None
    episode: int | None = None
    ids: list[tuple[str, str]] = field(default_factory=list)
    default_id: tuple[str, str] | None = None
    tags: list[str] = field(default_factory=list)
    collection: NfoSet | None = None
    scheduling: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    url_only: bool = False  # a file of scraper URLs: the ids they carry, nothing else

    @property
    def primary_guid(self) -> str:
        """The `<uniqueid default="true">` when there is one, else the best id by provider."""
        if self.default_id is not None:
            return f"{self.default_id[0]}://{self.default_id[1]}"
        return primary_guid(self.ids)

    @property
    def studio(self) -> str:
        return self.studios[0] if self.studios else ""


@dataclass
class NfoDocument:
    """Everything one .nfo file holds."""

    path: str
    items: list[NfoItem]
    urls: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [warning for item in self.items for warning in item.warnings]


def parse_nfo(path: str | Path) -> NfoDocument:
    """Read and parse one .nfo file; raises NfoError with a readable reason if it holds no metadata."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_NFO_BYTES + 1)
    except OSError as error:
        raise NfoError(f"cannot read the file ({error.strerror or error})") from error
    if len(data) > MAX_NFO_BYTES:
        raise NfoError(f"larger than {MAX_NFO_BYTES // (1024 * 1024)} MiB; not an .nfo")
    items, urls = parse_nfo_text(_decode(data))
    return NfoDocument(path=str(path), items=items, urls=urls)


def parse_nfo_text(text: str) -> tuple[list[NfoItem], list[str]]:
    """Parse .nfo text into its items and any scraper URLs found outside the XML."""
    notes: list[str] = []
    wrapper = _parse_xml(text, notes)
    loose = _loose_text(wrapper)
    urls = _URL.findall(" ".join(loose))
    leftover = " ".join(_URL.sub(" ", part).strip() for part in loose).split()
    if leftover:
        notes.append(f"text outside the XML was skipped ({_shorten(' '.join(leftover))})")
    elements = [element for element in wrapper if isinstance(element.tag, str)]
    known = _known_elements(elements, notes)
    if not known:
        if urls and not elements:
            ids = ids_from_urls(urls)
            if not ids:
                raise NfoError(f"only a URL ({_shorten(urls[0])}) that names no IMDb, TMDB or TheTVDB id")
            ranked = sorted(ids.items(), key=lambda pair: PROVIDER_PRIORITY[pair[0]])
            item = NfoItem(kind="", ids=ranked, url_only=True, warnings=notes)
            return [item], urls
        if not elements:
            raise NfoError("empty file" if not text.strip() else "no XML metadata in it")
        names = ", ".join(sorted({f"<{element.tag}>" for element in elements}))
        raise NfoError(f"root element {names} is not <movie>, <tvshow> or <episodedetails>")
    # A scraper URL names the movie or show; an episode file's URL is usually its show's.
    url_ids = ids_from_urls(urls) if len(known) == 1 and known[0].tag.lower() != "episodedetails" else {}
    items = [_read_item(element, url_ids) for element in known]
    items[0].warnings[:0] = notes
    return items, urls


def _known_elements(elements: list[ET.Element], notes: list[str]) -> list[ET.Element]:
    """The metadata elements, looking through one root some tools put around several episodes."""
    known = []
    for element in elements:
        if element.tag.lower() in KINDS:
            known.append(element)
            continue
        inner = [child for child in element if isinstance(child.tag, str) and child.tag.lower() in KINDS]
        if inner:
            known.extend(inner)
        else:
            notes.append(f"<{element.tag}> is not <movie>, <tvshow> or <episodedetails>; skipped")
    if not known:
        notes.clear()
    return known


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    declared = re.match(rb"\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)[\"']", data)
    encodings = ["utf-8"]
    if declared:
        encodings.insert(0, declared.group(1).decode("ascii"))
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


def _parse_xml(text: str, notes: list[str]) -> ET.Element:
    # Entity declarations are the way into billion-laughs and external-entity attacks; .nfo files
    # never need them, so a file with a DTD is refused before the parser sees it.
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        raise NfoError("DOCTYPE or entity declarations, which RetroVue does not read")
    body = _XML_DECLARATION.sub("", text).replace("\ufeff", "").replace("\x00", "")
    body = "".join(
        part if part.startswith("<![CDATA[") else _repair_entities(part) for part in _CDATA.split(body)
    )
    try:
        return ET.fromstring(f"<{_WRAPPER}>{body}</{_WRAPPER}>")  # noqa: S314 - no DTD, checked above
    except ET.ParseError as error:
        # Junk after the last closing root (a truncated copy, an editor's leftovers) is dropped.
        for closing in reversed(list(_CLOSING_ROOT.finditer(body))[-MAX_ROOT_RETRIES:]):
            if not body[closing.end() :].strip():
                continue
            try:
                wrapper = ET.fromstring(f"<{_WRAPPER}>{body[: closing.end()]}</{_WRAPPER}>")  # noqa: S314
            except ET.ParseError:
                continue
            skipped = _shorten(" ".join(body[closing.end() :].split()))
            notes.append(f"text after </{closing.group(1)}> is not XML and was skipped ({skipped})")
            return wrapper
        line, column = error.position
        if line == 1:
            column -= len(_WRAPPER) + 2
        reason = str(error).split(":", 1)[0]
        raise NfoError(f"not well-formed XML ({reason} at line {line}, column {column})") from None


def _repair_entities(text: str) -> str:
    """Entities as people write them, outside CDATA sections (whose text is taken as it is)."""
    # HTML's named entities (&eacute;, &nbsp;) are not XML's; written out, they read as meant.
    text = _NAMED_ENTITY.sub(_html_entity, text)
    # A bare "&" (a title like "Tom & Jerry", a scraper URL's query string) is a common slip.
    return _BARE_AMPERSAND.sub("&amp;", text)


def _html_entity(match: re.Match) -> str:
    name = match.group(1)
    if name in _XML_ENTITIES or name not in html.entities.name2codepoint:
        return match.group(0)
    character = chr(html.entities.name2codepoint[name])
    return {"&": "&amp;", "<": "&lt;", ">": "&gt;"}.get(character, character)


def _loose_text(wrapper: ET.Element) -> list[str]:
    texts = [wrapper.text or ""]
    texts.extend(child.tail or "" for child in wrapper)
    return [text.strip() for text in texts if text and text.strip()]


def _read_item(element: ET.Element, url_ids: dict[str, str]) -> NfoItem:
    kind = element.tag.lower()
    item = NfoItem(kind=kind)
    children = _children_by_tag(element)
    text = _first_text_getter(children)

    item.title = text("title")
    item.original_title = text("originaltitle")
    item.sort_title = text("sorttitle")
    item.show_title = text("showtitle")
    item.plot = text("plot") or text("outline")
    item.content_rating = _content_rating(text("mpaa") or text("certification"))
    item.genres = _split_many(children.get("genre", []))
    item.studios = _split_many(children.get("studio", []))
    item.credits = _credits(children)

    date_tags = (
        ("aired", "premiered", "releasedate")
        if kind == "episodedetails"
        else ("premiered", "releasedate", "aired")
    )
    for tag in date_tags:
        raw = text(tag)
        if raw:
            item.premiered = _date(raw)
            if item.premiered is None:
                item.warnings.append(f"<{tag}> {raw!r} is not a date (YYYY-MM-DD)")
            break
    item.year = _int_field(item, "year", text("year"), minimum=1800, maximum=2200)
    if item.year is None and item.premiered is not None:
        item.year = item.premiered.year
    item.runtime_minutes = _int_field(item, "runtime", _leading_number(text("runtime")), minimum=0)
    if kind == "episodedetails":
        item.season = _int_field(item, "season", text("season"), minimum=0)
        item.episode = _int_field(item, "episode", text("episode"), minimum=0)
    elif kind == "season":
        item.season = _int_field(item, "seasonnumber", text("seasonnumber") or text("season"), minimum=0)
    item.rating = _rating(element, children, item)
    item.ids, item.default_id = read_ids(kind, children, url_ids, item.warnings)
    item.tags = _split_many(children.get("tag", []))
    if kind == "movie":
        item.collection = _movie_set(children.get("set", []))

    block = next((child for child in element if str(child.tag).lower() == "retrovue"), None)
    item.scheduling = _scheduling(element, block, item.warnings)
    return item


def _movie_set(elements: list[ET.Element]) -> NfoSet | None:
    """`<set>Name</set>` (older Kodi) or `<set tmdbcolid="…"><name>…</name><overview>…</overview></set>`."""
    for element in elements:
        fields = _first_text_getter(_children_by_tag(element))
        name = fields("name") or (element.text or "").strip()
        if name:
            collection_id = attribute(element, "tmdbcolid").strip()
            return NfoSet(
                name=name[:300],
                overview=fields("overview"),
                tmdb_collection_id=collection_id if collection_id.isdigit() else "",
            )
    return None


def _children_by_tag(element: ET.Element) -> dict[str, list[ET.Element]]:
    children: dict[str, list[ET.Element]] = {}
    for child in element:
        if isinstance(child.tag, str):
            children.setdefault(child.tag.lower(), []).append(child)
    return children


def _first_text_getter(children: dict[str, list[ET.Element]]):
    def text(tag: str) -> str:
        for child in children.get(tag, []):
            value = (child.text or "").strip()
            if value:
                return value
        return ""

    return text


def _split_many(elements: list[ET.Element]) -> list[str]:
    # Old Kodi wrote every genre into one tag: "Comedy / Drama".
    values: list[str] = []
    for element in elements:
        for part in (element.text or "").split(" / "):
            part = part.strip()
            if part and part not in values:
                values.append(part)
    return values


def _credits(children: dict[str, list[ET.Element]]) -> list[tuple[str, str, str, str]]:
    """Cast and crew: `<actor>` blocks (name, role, order, thumb); `<director>`, `<credits>` (Kodi's
    writers) and `<writer>` as text; `<producer>` as text or as a block with a name."""
    actors = []
    for position, actor in enumerate(children.get("actor", [])):
        fields = _children_by_tag(actor)
        text = _first_text_getter(fields)
        name = text("name")
        if not name:
            continue
        order = text("order")
        rank = int(order) if order.isdigit() else 10_000 + position
        actors.append((rank, position, ("actor", name[:200], text("role")[:300], text("thumb")[:500])))
    credits = [entry for _rank, _position, entry in sorted(actors)]
    for role, tags in (
        ("director", ("director",)),
        ("writer", ("credits", "writer")),
        ("producer", ("producer",)),
    ):
        names: list[str] = []
        for tag in tags:
            for element in children.get(tag, []):
                nested = _first_text_getter(_children_by_tag(element))("name")
                for name in [nested] if nested else _split_many([element]):
                    if name and name not in names:
                        names.append(name)
        credits += [(role, name[:200], "", "") for name in names]
    return credits


def _content_rating(raw: str) -> str:
    # "Rated PG-13", "US:TV-PG", "US:PG / DE:12" → the first rating, without country or "Rated".
    first = raw.split(" / ")[0].strip()
    if ":" in first:
        first = first.split(":", 1)[1].strip()
    if first.lower().startswith("rated "):
        first = first[6:].strip()
    return first[:40]


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip()[:10])
    except ValueError:
        return None


def _leading_number(raw: str) -> str:
    match = re.match(r"\s*(\d+)", raw)
    return match.group(1) if match else raw


def _int_field(
    item: NfoItem, tag: str, raw: str, *, minimum: int = 0, maximum: int | None = None
) -> int | None:
    if not raw:
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        item.warnings.append(f"<{tag}> {raw!r} is not a number")
        return None
    if value < minimum or (maximum is not None and value > maximum):
        item.warnings.append(f"<{tag}> {value} is out of range")
        return None
    return value


def _rating(element: ET.Element, children: dict[str, list[ET.Element]], item: NfoItem) -> Decimal | None:
    """The default rating on a 0–10 scale, from `<ratings>` (Kodi 17+) or a bare `<rating>`."""
    candidates = []
    for ratings in children.get("ratings", []):
        for rating in ratings:
            if str(rating.tag).lower() != "rating":
                continue
            value_element = next((child for child in rating if str(child.tag).lower() == "value"), None)
            raw = (value_element.text if value_element is not None else rating.text) or ""
            default = attribute(rating, "default").lower() == "true"
            candidates.append((not default, raw.strip(), attribute(rating, "max") or "10"))
    # A bare <rating>, then Emby/Jellyfin's <communityrating>, both on a 0–10 scale.
    for tag in ("rating", "communityrating"):
        for rating in children.get(tag, []):
            candidates.append((True, (rating.text or "").strip(), attribute(rating, "max") or "10"))
    for _, raw, maximum in sorted(candidates, key=lambda candidate: candidate[0]):
        if not raw:
            continue
        try:
            value = Decimal(raw.replace(",", "."))
            scale = Decimal(maximum or "10")
        except InvalidOperation:
            item.warnings.append(f"<rating> {raw!r} is not a number")
            continue
        if not value.is_finite() or not scale.is_finite() or scale <= 0 or value < 0 or value > scale:
            item.warnings.append(f"<rating> {raw!r} is out of range")
            continue
        return (value * 10 / scale).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return None


def _scheduling(element: ET.Element, block: ET.Element | None, warnings: list[str]) -> dict:
    """Scheduling metadata as Playable field → value; the <retrovue> block wins over top-level tags."""
    raw = _scheduling_texts(element, _TOP_LEVEL_SCHEDULING_TAGS)
    if block is not None:
        raw.update(_scheduling_texts(block, set(_SCHEDULING_TAGS)))
    values: dict = {}
    for target, texts in raw.items():
        if target in _CHOICES:
            choice = _choice(target, texts[0])
            if choice is None:
                allowed = ", ".join(value for value in _CHOICES[target].values if value)
                warnings.append(f"{_label(target)} {texts[0]!r} is not one of: {allowed}")
            else:
                values[target] = choice
        elif target == "expires_on":
            expires = _date(texts[0])
            if expires is None:
                warnings.append(f"expiry date {texts[0]!r} is not a date (YYYY-MM-DD)")
            else:
                values[target] = expires
        elif target == "content_warnings":
            values[target] = _limited(target, ", ".join(texts), warnings)
        elif target == "notes":
            values[target] = "\n".join(texts)
        else:
            values[target] = _limited(target, texts[0], warnings)
    return values


def _scheduling_texts(parent: ET.Element, allowed: set[str]) -> dict[str, list[str]]:
    texts: dict[str, list[str]] = {}
    for child in parent:
        tag = str(child.tag).lower()
        value = (child.text or "").strip()
        if tag in allowed and value:
            texts.setdefault(_SCHEDULING_TAGS[tag], []).append(value)
    return texts


def _choice(target: str, raw: str) -> str | None:
    key = re.sub(r"[\s\-/]+", "_", raw.strip().lower())
    key = _CHOICE_ALIASES[target].get(key, key)
    choices = _CHOICES[target]
    if key in choices.values:
        return key
    for value, label in choices.choices:
        if raw.strip().lower() == str(label).lower():
            return value
    return None


def _limited(target: str, value: str, warnings: list[str]) -> str:
    limit = _TEXT_LIMITS.get(target)
    if limit and len(value) > limit:
        warnings.append(f"{_label(target)} is longer than {limit} characters; cut short")
        return value[:limit]
    return value


def _label(target: str) -> str:
    return target.replace("_", " ")
