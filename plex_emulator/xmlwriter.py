"""Minimal XML writer for Plex responses.

Strings are built directly instead of through ElementTree: a page of a large
listing is a join of per-item fragments that ``Library`` caches, so a request
never serialises more than it returns. Plex puts one element per line with no
indentation and self-closes empty elements with `` />``; so does this.
"""

from __future__ import annotations

from collections.abc import Iterable

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
)
Attributes = Iterable[tuple[str, object]]


def attributes(pairs: Attributes) -> str:
    """`` name="value"`` for every pair whose value is not None (Plex omits unset attributes)."""
    return "".join(
        f' {name}="{str(value).translate(_ESCAPES)}"' for name, value in pairs if value is not None
    )


def element(tag: str, pairs: Attributes, children: str = "") -> str:
    if children:
        return f"<{tag}{attributes(pairs)}>\n{children}</{tag}>\n"
    return f"<{tag}{attributes(pairs)} />\n"


def container(pairs: Attributes, body: str) -> bytes:
    return (XML_DECLARATION + element("MediaContainer", pairs, body)).encode("utf-8")
