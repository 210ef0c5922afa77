"""A logging filter that scrubs secrets from every record before any handler sees it.

Libraries log URLs (plexapi and urllib3 at debug level include query strings), and a Plex token
can travel as `X-Plex-Token=` in a query string. Filtering at the handler means no log line, from
our code or theirs, can carry one.
"""

from __future__ import annotations

import logging
import re

_SECRET_PATTERNS = [
    re.compile(r"(?i)(x-plex-token[=:]\s*['\"]?)[^&\s'\"]+"),
    re.compile(r"(?i)((?:token|password|secret|api_key|apikey)['\"]?\s*[=:]\s*['\"]?)[^&\s'\",}]+"),
    re.compile(r"(?i)(authorization['\"]?\s*[=:]\s*['\"]?(?:bearer|token)\s+)[^\s'\",}]+"),
    re.compile(r"(?i)(://[^:/@\s]+:)[^@/\s]+(@)"),
    # Tuner URLs carry a stream token as a path segment (/hdhr/<token>/lineup.json).
    re.compile(r"(/hdhr/)[^/?\s\"']+"),
    # Plex webhook URLs carry the source's secret as a path segment (/hooks/plex/<secret>/).
    re.compile(r"(/hooks/plex/)[^/?\s\"']+"),
]

REDACTED = "[redacted]"


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        if pattern.groups == 2:
            text = pattern.sub(lambda match: match.group(1) + REDACTED + match.group(2), text)
        else:
            text = pattern.sub(lambda match: match.group(1) + REDACTED, text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class RedactingFormatter(logging.Formatter):
    """Redacts the fully formatted line, tracebacks included (a filter runs before they exist)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
