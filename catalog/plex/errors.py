"""Errors from the Plex adapter. Messages are written for staff and never contain the token."""


class PlexError(Exception):
    """Something went wrong talking to a Plex server."""


class PlexAuthError(PlexError):
    """The server refused the token (401): the source needs a new sign-in."""


class PlexUnreachable(PlexError):
    """The server could not be reached (connection refused, reset, timed out) after retries."""


class PlexMalformedResponse(PlexError):
    """The server answered with something that is not the XML it should be."""


class PlexHttpError(PlexError):
    """The server answered with an HTTP error that retrying does not fix (404, 400, …)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status
