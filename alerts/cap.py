"""CAP 1.2 (OASIS, 2010) as real senders write it: parsing, and index feeds that link to CAP.

Lenient where senders differ and the meaning is plain: the 1.2, 1.1 or 1.0 namespace, a prefix or
none, an EDXL-DE envelope, surrounding whitespace, `Z` for UTC (the spec wants -00:00). Strict where
a guess would air something wrong: no `<alert>`, a missing required element, an unknown status or
message type, or a date that is not a date is a `CapError` naming what is wrong.

The XML parser is defusedxml's: no DTDs, no entity expansion, no network.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

CAP_NAMESPACES = (
    "urn:oasis:names:tc:emergency:cap:1.2",
    "urn:oasis:names:tc:emergency:cap:1.1",
    "http://www.incident.com/cap/1.0",
)
STATUSES = {"Actual", "Exercise", "System", "Test", "Draft"}
MESSAGE_TYPES = {"Alert", "Update", "Cancel", "Ack", "Error"}
SCOPES = {"Public", "Restricted", "Private"}
SEVERITIES = {"Extreme", "Severe", "Moderate", "Minor", "Unknown"}
URGENCIES = {"Immediate", "Expected", "Future", "Past", "Unknown"}
CERTAINTIES = {
    "Observed",
    "Likely",
    "Possible",
    "Unlikely",
    "Unknown",
    "Very Likely",
}  # 1.0 had "Very Likely"
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
CAP_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


class CapError(ValueError):
    """The document is not a CAP alert this station can use; the message says why."""


@dataclass(frozen=True)
class Reference:
    sender: str
    identifier: str
    sent: str


@dataclass
class CapArea:
    description: str
    polygons: list[str] = field(default_factory=list)
    circles: list[str] = field(default_factory=list)
    geocodes: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class CapInfo:
    language: str
    categories: list[str]
    event: str
    urgency: str
    severity: str
    certainty: str
    headline: str = ""
    description: str = ""
    instruction: str = ""
    sender_name: str = ""
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    event_codes: list[tuple[str, str]] = field(default_factory=list)
    parameters: list[tuple[str, str]] = field(default_factory=list)
    areas: list[CapArea] = field(default_factory=list)

    def event_code(self, name: str) -> str:
        return next((value for key, value in self.event_codes if key.upper() == name.upper()), "")


@dataclass
class CapAlert:
    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    references: list[Reference] = field(default_factory=list)
    infos: list[CapInfo] = field(default_factory=list)

    def info_for(self, languages: tuple[str, ...] = ("en",)) -> CapInfo | None:
        """The first info block in the first wanted language, else the first one."""
        for wanted in languages:
            for info in self.infos:
                if info.language.lower().split("-")[0] == wanted.lower():
                    return info
        return self.infos[0] if self.infos else None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].split(":")[-1]


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if isinstance(child.tag, str) and _local(child.tag) == name]


def _text(element: Element, name: str, *, required: bool = False, where: str = "alert") -> str:
    found = _children(element, name)
    value = " ".join((found[0].text or "").split()) if found else ""
    if required and not value:
        raise CapError(f"<{where}> has no <{name}> (CAP 1.2 §3.2 requires it).")
    return value


def _long_text(element: Element, name: str) -> str:
    """Descriptions keep their paragraphs; runs of spaces and tabs collapse."""
    found = _children(element, name)
    if not found:
        return ""
    lines = [" ".join(line.split()) for line in (found[0].text or "").strip().splitlines()]
    return "\n".join(line for line in lines if line)


def parse_date(value: str, name: str) -> datetime:
    match = CAP_DATE.match(value.strip())
    if not match:
        raise CapError(f"<{name}> {value!r} is not a CAP date such as 2026-12-05T06:00:00-05:00.")
    stamp, _fraction, offset = match.groups()
    offset = "+00:00" if offset == "Z" else offset
    try:
        return datetime.fromisoformat(stamp + offset).astimezone(UTC)
    except ValueError:
        raise CapError(f"<{name}> {value!r} is not a real date.") from None


def _pairs(element: Element, name: str) -> list[tuple[str, str]]:
    pairs = []
    for child in _children(element, name):
        pairs.append((_text(child, "valueName"), _text(child, "value")))
    return pairs


def _find_alert(root: Element) -> Element:
    if _local(root.tag) == "alert":
        return root
    for element in root.iter():  # EDXL-DE: contentObject/xmlContent/embeddedXMLContent/alert
        if isinstance(element.tag, str) and _local(element.tag) == "alert":
            return element
    raise CapError(f"No CAP <alert> element in this document (its root is <{_local(root.tag)}>).")


def parse_cap(document: bytes | str) -> CapAlert:
    if isinstance(document, str):
        document = document.encode("utf-8")
    if len(document) > MAX_DOCUMENT_BYTES:
        raise CapError(f"The document is larger than {MAX_DOCUMENT_BYTES // 1024} KiB.")
    try:
        root = fromstring(document.strip(), forbid_dtd=True)
    except ParseError as error:
        raise CapError(f"Not well-formed XML: {error}.") from None
    except DefusedXmlException as error:
        raise CapError(f"Refused XML: {type(error).__name__} (DTDs and entities are not accepted).") from None
    alert = _find_alert(root)
    namespace = alert.tag[1:].split("}")[0] if alert.tag.startswith("{") else ""
    if namespace and namespace not in CAP_NAMESPACES:
        raise CapError(f"<alert> is in namespace {namespace!r}, not CAP's.")
    status = _text(alert, "status", required=True)
    msg_type = _text(alert, "msgType", required=True)
    scope = _text(alert, "scope", required=True)
    for value, allowed, name in ((status, STATUSES, "status"), (msg_type, MESSAGE_TYPES, "msgType"),
                                 (scope, SCOPES, "scope")):  # fmt: skip
        if value not in allowed:
            raise CapError(f"<{name}> {value!r} is not one of {', '.join(sorted(allowed))}.")
    parsed = CapAlert(
        identifier=_text(alert, "identifier", required=True),
        sender=_text(alert, "sender", required=True),
        sent=parse_date(_text(alert, "sent", required=True), "sent"),
        status=status,
        msg_type=msg_type,
        scope=scope,
        references=_references(_text(alert, "references")),
    )
    for info in _children(alert, "info"):
        parsed.infos.append(_info(info))
    return parsed


def _references(text: str) -> list[Reference]:
    references = []
    for triple in text.split():
        parts = triple.split(",")
        if len(parts) != 3:
            raise CapError(f"<references> entry {triple!r} is not sender,identifier,sent.")
        references.append(Reference(*parts))
    return references


def _info(element: Element) -> CapInfo:
    def required(name: str) -> str:
        return _text(element, name, required=True, where="info")

    def date(name: str) -> datetime | None:
        value = _text(element, name)
        return parse_date(value, name) if value else None

    urgency, severity, certainty = required("urgency"), required("severity"), required("certainty")
    for value, allowed, name in ((urgency, URGENCIES, "urgency"), (severity, SEVERITIES, "severity"),
                                 (certainty, CERTAINTIES, "certainty")):  # fmt: skip
        if value not in allowed:
            raise CapError(f"<{name}> {value!r} is not one of {', '.join(sorted(allowed))}.")
    categories = [" ".join((c.text or "").split()) for c in _children(element, "category")]
    if not any(categories):
        raise CapError("<info> has no <category> (CAP 1.2 §3.2.2 requires one).")
    info = CapInfo(
        language=_text(element, "language") or "en-US",
        categories=[c for c in categories if c],
        event=required("event"),
        urgency=urgency,
        severity=severity,
        certainty="Likely" if certainty == "Very Likely" else certainty,
        headline=_text(element, "headline"),
        description=_long_text(element, "description"),
        instruction=_long_text(element, "instruction"),
        sender_name=_text(element, "senderName"),
        effective=date("effective"),
        onset=date("onset"),
        expires=date("expires"),
        event_codes=_pairs(element, "eventCode"),
        parameters=_pairs(element, "parameter"),
    )
    for area in _children(element, "area"):
        info.areas.append(
            CapArea(
                description=_text(area, "areaDesc"),
                polygons=[
                    " ".join((p.text or "").split())
                    for p in _children(area, "polygon")
                    if (p.text or "").strip()
                ],
                circles=[
                    " ".join((c.text or "").split())
                    for c in _children(area, "circle")
                    if (c.text or "").strip()
                ],
                geocodes=_pairs(area, "geocode"),
            )
        )
    return info


# --- Index feeds ----------------------------------------------------------------------------------


def index_links(document: bytes, content_type: str = "") -> list[str]:
    """CAP document URLs listed by an index: Atom (NWS, MeteoAlarm), RSS, or the NWS API's
    GeoJSON/JSON-LD (`features[].id`). Only http(s) URLs; the fetch policy decides the rest."""
    text = document.strip()
    if "json" in content_type or text[:1] in (b"{", b"["):
        try:
            data = json.loads(text)
        except ValueError as error:
            raise CapError(f"Not a JSON index: {error}.") from None
        features = data.get("features", []) if isinstance(data, dict) else []
        links = [
            f.get("id") or (f.get("properties") or {}).get("@id") for f in features if isinstance(f, dict)
        ]
        return [link for link in links if isinstance(link, str) and link.startswith(("http://", "https://"))]
    try:
        root = fromstring(text, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as error:
        raise CapError(f"Not a readable index feed: {error}.") from None
    links: list[str] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        name = _local(element.tag)
        if name == "entry":  # Atom: the CAP link, else the alternate link, else the id
            chosen = ""
            for link in _children(element, "link"):
                href = (link.get("href") or "").strip()
                if "cap" in (link.get("type") or "") and href:
                    chosen = href
                    break
                if not chosen and link.get("rel", "alternate") == "alternate":
                    chosen = href
            chosen = chosen or _text(element, "id")
            links.append(chosen)
        elif name == "item":  # RSS
            links.append(_text(element, "link"))
    return [link for link in links if link.startswith(("http://", "https://"))]
