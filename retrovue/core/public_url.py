"""The base URL RetroVue writes into what it hands viewers and tuners (M3U, XMLTV, HDHomeRun).

A client chooses the `Host` header it sends, so a URL built from it is the client's word, and a
forged one (or a DNS-rebinding name) would otherwise be written back as the address of every
stream. In order:

1. `RETROVUE_PUBLIC_URL`, when the operator set it (behind a proxy, or a name of their choice);
2. the request's host, when the operator listed host names in `RETROVUE_ALLOWED_HOSTS`: Django has
   already refused any host that isn't one of them, so the host is one the operator vouched for;
3. otherwise (the embedded default accepts any host, `*`): the address the client actually
   connected to, which the client cannot forge (gunicorn hands over the connection; Django's own
   servers give their server name and port), with the request's scheme.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def configured_public_url() -> str | None:
    value = getattr(settings, "RETROVUE_PUBLIC_URL", None)
    return value.rstrip("/") if value else None


def hosts_are_configured() -> bool:
    """True when ALLOWED_HOSTS names hosts (no bare `*`), so Django validated the request's host."""
    return bool(settings.ALLOWED_HOSTS) and "*" not in settings.ALLOWED_HOSTS


def _connection_address(request: HttpRequest) -> tuple[str, str] | None:
    connection = request.META.get("gunicorn.socket")
    if connection is not None:
        try:
            host, port = connection.getsockname()[:2]
        except (OSError, ValueError):
            return None
        return str(host), str(port)
    # Django's test client and runserver fill these from their own configuration, not the client.
    name, port = request.META.get("SERVER_NAME"), request.META.get("SERVER_PORT")
    return (str(name), str(port or "")) if name else None


def _join(scheme: str, host: str, port: str) -> str:
    try:
        if ipaddress.ip_address(host.split("%")[0]).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    default_port = {"http": "80", "https": "443"}.get(scheme)
    suffix = "" if not port or port == default_port else f":{port}"
    return f"{scheme}://{host}{suffix}"


def public_base_url(request: HttpRequest) -> str:
    """`scheme://host[:port]` without a trailing slash (see the module's docstring for the order)."""
    configured = configured_public_url()
    if configured:
        return configured
    if hosts_are_configured():
        return request.build_absolute_uri("/").rstrip("/")
    address = _connection_address(request)
    if address is None:
        return "http://localhost"
    return _join(request.scheme, *address)
