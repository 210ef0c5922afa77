"""gunicorn's access log with secrets taken out of request paths.

The Plex webhook URL carries its secret in the path (`/hooks/plex/<secret>/`), and query strings
may carry stream tokens; gunicorn writes both verbatim unless its atoms are scrubbed here.
"""

from __future__ import annotations

import re

from gunicorn.glogging import Logger

from retrovue.log_redaction import REDACTED, redact

_HOOK_SECRET = re.compile(r"(/hooks/plex/)[^/?\s]+")


def scrub(text: str) -> str:
    return redact(_HOOK_SECRET.sub(lambda match: match.group(1) + REDACTED, text))


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "q", "f"):
            if isinstance(atoms.get(key), str):
                atoms[key] = scrub(atoms[key])
        return atoms
