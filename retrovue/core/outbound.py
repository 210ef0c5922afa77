"""URLs the station opens on staff's say-so: which protocols, which hosts, which addresses.

Staff type addresses that the server or ffmpeg then opens: Plex server addresses, CAP feed URLs,
live-event inputs. Each of those is an `OutboundPolicy` (below, one per purpose) and passes
`policy.check(url)` before it is saved and again before it is opened:

* **Protocol**: only the policy's schemes. The server's own fetches use http/https; ffmpeg inputs
  add the live protocols (srt, rtmp(s), udp). Never `file`, `concat`, `subfile`, `data`, `pipe`,
  `hls+file` or anything else that reads local files or wraps another protocol.
* **Host**: an allow-list the operator sets in the environment (the policy names the variable).
  Entries are host names (`plex.lan`), `*.suffix` (`*.plex.direct`), addresses (`10.0.0.5`),
  networks (`192.168.0.0/16`), or `*` for any host with a public address.
* **Address** (no SSRF): a host admitted by a wildcard is resolved and *every* address it has must
  be public, or inside a network the list names. Loopback, link-local (cloud metadata at
  169.254.169.254), private, multicast and reserved addresses are refused unless the operator
  lists them (as an address, a network, or the host's exact name). So `*` alone never reaches the
  station's own Redis, PostgreSQL or gunicorn.

`fetch(policy, url)` is the server's own GET: it checks the URL, follows redirects itself and
checks each hop the same way, and bounds the body.

Hooks for other apps: alerts calls `CAP_FEEDS.check(url)` when staff save a feed and
`fetch(CAP_FEEDS, url)` to read it; scheduling and playout call `LIVE_INPUTS.check(url)` and run
ffmpeg with `LIVE_INPUTS.ffmpeg_protocols(url)` as its `-protocol_whitelist`; catalog calls
`PLEX_SERVERS.check(url)` for server addresses.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from retrovue.env import env_list

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Characters that have no place in a URL handed to ffmpeg or requests: whitespace and controls
# (header/argument smuggling), ',' and '|' (ffmpeg's protocol and concat separators).
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f|,\\]")

# What ffmpeg may open while reading a source of each scheme (HLS fetches playlists and segments).
FFMPEG_PROTOCOLS = {
    "http": "http,https,tcp,tls,crypto",
    "https": "http,https,tcp,tls,crypto",
    "srt": "srt,udp",
    "rtmp": "rtmp,tcp",
    "rtmps": "rtmps,tcp,tls",
    "udp": "udp",
}

# Networks home and office LANs use: where a Plex server usually lives. Not 172.16.0.0/12, which
# is Docker's: in the Compose stack it would reach Redis, PostgreSQL and gunicorn by service name
# (an operator whose LAN uses it lists it in RETROVUE_PLEX_HOSTS).
PRIVATE_LAN = ("10.0.0.0/8", "192.168.0.0/16", "fc00::/7")


class URLRefused(ValueError):
    """The URL is not one this purpose may open; the message says why (safe to show staff)."""


def _networks(rules: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    found = []
    for rule in rules:
        try:
            found.append(ipaddress.ip_network(rule.strip("[]"), strict=False))
        except ValueError:
            continue
    return found


def _is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve(host: str, port: int | None) -> list[IPAddress]:
    """Every address the host has (what a connection may end up at); URLRefused if none."""
    literal = _literal_address(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port or 0, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise URLRefused(f"{host} could not be resolved ({error}).") from None
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise URLRefused(f"{host} has no address.")
    return addresses


@dataclass(frozen=True)
class OutboundPolicy:
    """What one purpose may open: its schemes and the environment variable listing its hosts."""

    purpose: str  # in messages: "a Plex server", "a CAP feed", "a live-event input"
    schemes: frozenset[str]
    hosts_variable: str
    default_hosts: tuple[str, ...] = ()

    def allowed_hosts(self) -> list[str]:
        configured = getattr(settings, self.hosts_variable, None)  # a settings value wins (tests)
        if configured is not None:
            return [str(rule).strip().lower() for rule in configured if str(rule).strip()]
        return [rule.lower() for rule in env_list(self.hosts_variable, list(self.default_hosts))]

    def check(self, url: str, *, resolve_names: bool = True) -> str:
        """The URL (stripped) if this purpose may open it; URLRefused (a ValueError) otherwise.

        `resolve_names=False` skips the DNS look-up for a host admitted by a wildcard (a form
        saving while the network is down); the address check then happens at the next `check`
        before opening."""
        url = (url or "").strip()
        if not url:
            raise URLRefused(f"{self.purpose.capitalize()} needs a URL.")
        if _UNSAFE.search(url):
            raise URLRefused("The URL may not contain spaces, control characters, '\\', commas or '|'.")
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in self.schemes:
            allowed = ", ".join(sorted(self.schemes))
            raise URLRefused(f"{scheme or 'That'}: is not allowed for {self.purpose} (allowed: {allowed}).")
        try:
            host, port = parts.hostname, parts.port
        except ValueError:
            raise URLRefused("The URL's port is not a number between 0 and 65535.") from None
        if not host:
            raise URLRefused("The URL needs a host.")
        if parts.username or parts.password:
            raise URLRefused("Put credentials in the source's own fields, not in the URL.")
        self._check_host(host.lower().rstrip("."), port, resolve_names)
        return url

    def _check_host(self, host: str, port: int | None, resolve_names: bool) -> None:
        rules = self.allowed_hosts()
        variable = self.hosts_variable
        if not rules:
            raise URLRefused(f"No hosts are allowed for {self.purpose} yet (the operator sets {variable}).")
        networks = _networks(rules)
        literal = _literal_address(host)
        if literal is not None and any(literal in network for network in networks):
            return  # an address the operator listed, directly or by network
        if literal is None and host in rules:
            return  # a host the operator named: their DNS, their choice
        by_wildcard = "*" in rules or any(rule.startswith("*.") and host.endswith(rule[1:]) for rule in rules)
        if not by_wildcard:
            raise URLRefused(
                f"{host} is not an allowed host for {self.purpose} (the operator lists them in {variable})."
            )
        if literal is None and not resolve_names:
            return
        for address in resolve(host, port):
            if _is_public(address) or any(address in network for network in networks):
                continue
            raise URLRefused(
                f"{host} leads to {address}, a loopback, link-local, private or reserved address; "
                f"the operator allows such networks by listing them in {variable}."
            )

    def ffmpeg_protocols(self, url: str) -> str:
        """ffmpeg's `-protocol_whitelist` for reading this (already checked) URL."""
        return FFMPEG_PROTOCOLS[urlsplit(url).scheme.lower()]


PLEX_SERVERS = OutboundPolicy(
    purpose="a Plex server",
    schemes=frozenset({"http", "https"}),
    hosts_variable="RETROVUE_PLEX_HOSTS",
    # Plex lives on the LAN (plex.direct names resolve to LAN addresses) or the internet; never
    # loopback or link-local unless the operator lists them (Plex on the station's own machine:
    # add 127.0.0.1).
    default_hosts=("*", *PRIVATE_LAN),
)
CAP_FEEDS = OutboundPolicy(
    purpose="a CAP feed",
    schemes=frozenset({"http", "https"}),
    hosts_variable="RETROVUE_CAP_FEED_HOSTS",
    default_hosts=("*",),  # public alerting feeds; a LAN relay needs its address or network listed
)
LIVE_INPUTS = OutboundPolicy(
    purpose="a live-event input",
    schemes=frozenset(FFMPEG_PROTOCOLS),
    hosts_variable="RETROVUE_LIVE_SOURCE_HOSTS",
    default_hosts=(),  # live events stay off until the operator names the encoders
)


MAX_REDIRECTS = 5


def fetch(
    policy: OutboundPolicy,
    url: str,
    *,
    session=None,
    timeout: float = 15.0,
    max_bytes: int = 10_000_000,
    **kwargs,
):
    """GET the URL as the server: every hop (redirects included) passes `policy.check`, and the
    body is read up to `max_bytes` (URLRefused beyond). Returns the `requests.Response`, read."""
    import requests

    session = session or requests.Session()
    for _hop in range(MAX_REDIRECTS + 1):
        policy.check(url)
        response = session.get(url, timeout=timeout, allow_redirects=False, stream=True, **kwargs)
        if response.is_redirect:
            location = response.headers.get("Location", "")
            response.close()
            url = urljoin(url, location)
            continue
        body = bytearray()
        for chunk in response.iter_content(64 * 1024):
            body.extend(chunk)
            if len(body) > max_bytes:
                response.close()
                raise URLRefused(f"{policy.purpose.capitalize()} answered more than {max_bytes} bytes.")
        response._content = bytes(body)
        return response
    raise URLRefused(f"{policy.purpose.capitalize()} redirected more than {MAX_REDIRECTS} times.")
