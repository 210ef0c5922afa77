"""Scrubbing secrets out of task arguments before they are stored or shown."""

from __future__ import annotations

import re
from typing import Any

_SECRET_KEY_NAME = re.compile(r"(?i)(token|password|passwd|secret|api_?key|authorization|credential)")
REDACTED = "[redacted]"


def redact_arguments(value: Any, *, depth: int = 0) -> Any:
    """Return a JSON-safe copy with values under secret-looking keys replaced."""
    if depth > 6:
        return "…"
    if isinstance(value, dict):
        return {
            str(key): REDACTED
            if _SECRET_KEY_NAME.search(str(key))
            else redact_arguments(item, depth=depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_arguments(item, depth=depth + 1) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    return text if len(text) <= 500 else text[:500] + "…"
