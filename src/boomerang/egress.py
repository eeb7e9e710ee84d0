"""Outbound HTTP to URLs that people or configuration give (webhook endpoints, chat hooks):
the one policy saying where Boomerang may send, and the one way it sends there.

:func:`validate` runs when such a URL is saved (a :class:`Refused` is a 422 naming the field
and why) and :func:`post` checks it again when it is sent, since DNS answers change. The
policy: ``http`` or ``https`` only, no user name or password in the URL; ``localhost`` and
cloud metadata host names are refused by name; the host is resolved and every address must
be public, so not loopback, private (RFC 1918, CGNAT 100.64/10, ULA fc00::/7), link-local
(169.254/16, fe80::/10), multicast, unspecified, reserved, nor an IPv6 form of any of those
(``::ffff:127.0.0.1``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``). Resolving the host is
what makes ``0177.0.0.1``, ``2130706433`` or ``0x7f.1`` the address they are.
``BOOMERANG_OUTBOUND_ALLOW`` lists host names, addresses and networks allowed all the same.

:func:`post` connects only to the addresses it checked (a second DNS answer cannot send the
request elsewhere), sends the URL's host in ``Host`` and checks the certificate against it,
and follows no redirect. Its errors say what the policy refused before anything was sent,
or that an allowed host could not be reached, never why: an open and a closed internal
port look the same.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import re
import socket
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from boomerang.errors import Invalid

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port)`` -> the host's addresses; OSError when it does not resolve."""

METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.goog",
        "metadata.google.internal",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
"""Cloud instance metadata services (their addresses, such as 169.254.169.254 or
fd00:ec2::254, are refused as link-local or private)."""

SHARED = ipaddress.ip_network("100.64.0.0/10")  # CGNAT; not is_private in the ipaddress module
NAT64 = ipaddress.ip_network("64:ff9b::/96")
TIMEOUT_SECONDS = 10.0
HOST_NAME = re.compile(
    r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*"
)


class Refused(Invalid):
    """The policy refuses the URL: a 422 when it is saved, a failed delivery when sent."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.reason = reason


class SendFailed(Exception):
    """The request could not be sent, or its answer was not a 2xx (the job is retried)."""


class Unresolved(SendFailed):
    """The host does not resolve (accepted when saved: it is checked again when sent)."""


@dataclass(frozen=True)
class AllowList:
    """What ``BOOMERANG_OUTBOUND_ALLOW`` allows although the policy would refuse it."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    def allows(self, address: Address) -> bool:
        return any(address in network for network in self.networks)


@lru_cache(maxsize=16)
def allow_list(text: str) -> AllowList:
    """``"127.0.0.1,10.0.0.0/8,hooks.internal"`` -> its allow list; ValueError naming the item."""
    hosts: set[str] = set()
    networks: list[Network] = []
    for item in (i.strip() for i in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item.removeprefix("[").removesuffix("]"), False))
            continue
        except ValueError:
            pass
        name = item.rstrip(".").lower()
        if not HOST_NAME.fullmatch(name) or name.rsplit(".", 1)[-1].isdigit():
            raise ValueError(
                f"{item!r} is not a host name, an address (dotted decimal or IPv6) or a network "
                "(CIDR, e.g. 10.0.0.0/8)"
            )
        hosts.add(name)
    return AllowList(frozenset(hosts), tuple(networks))


def configured() -> str:
    """The process's ``BOOMERANG_OUTBOUND_ALLOW``."""
    from boomerang.config import get_settings

    return get_settings().outbound_allow


@dataclass(frozen=True)
class Target:
    """A URL the policy accepted, with the addresses checked (the only ones connected to)."""

    scheme: str
    host: str  # ASCII, without brackets or a trailing dot
    port: int
    path: str  # with the query
    addresses: tuple[str, ...]


def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses as the system resolves them (numeric forms need no DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _not_a_url(field: str, url: str) -> Refused:
    return Refused(field, f"{url[:100]!r} is not an http(s) URL")


def _parts(url: str, field: str) -> tuple[str, str, int, str]:
    """(scheme, ASCII host, port, path with query) of ``url``; Refused when it is none."""
    if any(c <= " " or c == "\x7f" for c in url):
        raise _not_a_url(field, url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _not_a_url(field, url) from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").rstrip(".")
    if scheme not in ("http", "https") or not host:
        raise _not_a_url(field, url)
    if "@" in parts.netloc:
        raise Refused(field, "a user name or password in the URL is not supported")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise Refused(field, f"{host!r} is not a valid host name") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port or (443 if scheme == "https" else 80), path


_KINDS: tuple[tuple[str, Callable[[Address], bool]], ...] = (
    ("unspecified", lambda ip: ip.is_unspecified),
    ("loopback", lambda ip: ip.is_loopback),
    ("link-local", lambda ip: ip.is_link_local),
    ("multicast", lambda ip: ip.is_multicast),
    ("private", lambda ip: ip.is_private or ip in SHARED),
    ("reserved", lambda ip: ip.is_reserved),
    ("non-public", lambda ip: not ip.is_global),
)


def plain(address: Address) -> Address:
    """An IPv4-mapped IPv6 address (``::ffff:127.0.0.1``) as the IPv4 address it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def blocked(address: Address) -> str | None:
    """What kind of address the policy refuses ``address`` as (None: a public address)."""
    address = plain(address)
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.sixtofour or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in NAT64 else None
        )
        if embedded is not None and (kind := blocked(embedded)) is not None:
            return kind
    return next((kind for kind, test in _KINDS if test(address)), None)


def _refused_name(host: str) -> str | None:
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is this machine"
    if host in METADATA_NAMES:
        return f"{host} is a cloud metadata service"
    return None


def check(
    url: str, *, allow: str | None = None, resolve: Resolver | None = None, field: str = "url"
) -> Target:
    """The Target of ``url`` if the policy accepts it; Refused (naming ``field``) when it
    does not, Unresolved when its host does not resolve. ``allow``: the allow list
    (default ``BOOMERANG_OUTBOUND_ALLOW``); ``resolve``: the resolver (default the system's)."""
    scheme, host, port, path = _parts(url.strip(), field)
    policy = allow_list(configured() if allow is None else allow)
    allowed_by_name = host in policy.hosts
    if not allowed_by_name and (reason := _refused_name(host)) is not None:
        raise Refused(field, reason)
    try:
        found = list((resolve or system_resolver)(host, port))
        addresses = [plain(ipaddress.ip_address(a)) for a in found]
    except (OSError, UnicodeError, ValueError):
        raise Unresolved(f"{host} does not resolve") from None
    if not addresses:
        raise Unresolved(f"{host} does not resolve")
    for address in addresses:
        if allowed_by_name or policy.allows(address):
            continue
        if (kind := blocked(address)) is not None:
            article = "an" if kind[0] in "aeiou" else "a"
            raise Refused(field, f"{host} points to {article} {kind} address ({address})")
    return Target(scheme, host, port, path, tuple(str(a) for a in addresses))


def validate(
    url: str, *, field: str = "url", allow: str | None = None, resolve: Resolver | None = None
) -> str:
    """``url`` stripped, when it may be saved; Refused naming ``field`` otherwise. A host
    that does not resolve (yet) is accepted: :func:`post` checks again."""
    url = url.strip()
    with contextlib.suppress(Unresolved):
        check(url, allow=allow, resolve=resolve, field=field)
    return url


def _open(addresses: Sequence[str], port: int, timeout: float) -> socket.socket:
    """A TCP connection to the first of the checked ``addresses`` that answers."""
    for address in addresses:
        try:
            sock = socket.create_connection((address, port), timeout=timeout)
        except OSError:
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise ConnectionError("could not connect")


class _Pinned(http.client.HTTPConnection):
    """HTTP to the checked addresses, whatever DNS says of the host by now."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.addresses, self.seconds = target.addresses, timeout

    def connect(self) -> None:
        self.sock = _open(self.addresses, self.port, self.seconds)


class _PinnedTLS(_Pinned):
    """HTTPS to the checked addresses: SNI and the certificate check use the URL's host."""

    default_port = 443

    def __init__(self, target: Target, timeout: float, tls: ssl.SSLContext) -> None:
        super().__init__(target, timeout)
        self.tls = tls

    def connect(self) -> None:
        super().connect()
        self.sock = self.tls.wrap_socket(self.sock, server_hostname=self.host)


def _connected(target: Target, timeout: float, tls: ssl.SSLContext | None) -> _Pinned:
    """An open connection to ``target``; SendFailed saying only that it could not be made
    (or, for an allowed host, that its certificate is not valid)."""
    if target.scheme == "https":
        connection: _Pinned = _PinnedTLS(target, timeout, tls or ssl.create_default_context())
    else:
        connection = _Pinned(target, timeout)
    try:
        connection.connect()
    except ssl.SSLCertVerificationError as exc:
        connection.close()
        raise SendFailed(f"certificate not valid ({exc.verify_message})") from None
    except OSError:
        connection.close()
        raise SendFailed("could not connect") from None
    return connection


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    allow: str | None = None,
    resolve: Resolver | None = None,
    timeout: float = TIMEOUT_SECONDS,
    tls: ssl.SSLContext | None = None,
) -> int:
    """POST ``body`` to ``url`` under the policy; its 2xx status. Refused when the policy
    refuses it (nothing is sent), SendFailed when it fails or answers anything but a 2xx
    (a 3xx too: redirects are not followed)."""
    target = check(url, allow=allow, resolve=resolve)
    connection = _connected(target, timeout, tls)
    try:
        connection.request("POST", target.path, body=body, headers=dict(headers))
        answer = connection.getresponse()
        status, reason = answer.status, answer.reason
    except (OSError, http.client.HTTPException):
        raise SendFailed("no answer") from None
    finally:
        connection.close()
    if 300 <= status < 400:
        raise SendFailed(f"answered {status}: redirect refused")
    if not 200 <= status < 300:
        raise SendFailed(f"answered {status} {reason}".rstrip())
    return status
