"""Which relay stream addresses (nguồn tiếp âm) may be opened: one rule, used everywhere.

A relay source is an address an admin typed; the server opens it to check it and the
agents open it to air it. So an address must be a plain ``http://`` or ``https://`` URL
(never ``file://``, ``ftp://``, ``rtsp://``, ``javascript:``), and its host must resolve
to public addresses only: loopback, private, link-local, shared, multicast, reserved and
unspecified ranges are refused, unless the instance allows them
(``BROADCASTER_RELAY_ALLOW_PRIVATE``: ``on`` for every such range, or a list of networks
such as ``10.20.0.0/16`` for a province's own stream server on its network).

:func:`check_url` answers with the addresses it checked (:class:`SafeUrl`), so a caller
connects to exactly those and not to a second, different DNS answer. :func:`redact`
hides the user name and password an address may carry, for logs, pages and the audit.

No database, no HTTP here: the station agent can use it as the server does.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from broadcaster.errors import InvalidInput

MAX_URL_LENGTH = 1000
SCHEMES = ("http", "https")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]


@dataclass(frozen=True)
class PrivatePolicy:
    """Which non-public addresses a relay may reach: none (the default), all, or some."""

    everything: bool = False
    networks: tuple[Network, ...] = ()

    def permits(self, address: Address) -> bool:
        if _public(address):
            return True
        if self.everything:
            return True
        return any(address in net for net in self.networks if net.version == address.version)

    def describe(self) -> str:
        if self.everything:
            return "on"
        return ",".join(str(n) for n in self.networks) or "off"


NO_PRIVATE = PrivatePolicy()
ANY_PRIVATE = PrivatePolicy(everything=True)


def parse_policy(text: str | None) -> PrivatePolicy:
    """``off`` / ``on`` (also yes/no, true/false, 1/0) or networks separated by commas.

    Raises ValueError naming the part it could not read.
    """
    value = (text or "").strip().lower()
    if value in ("", "off", "no", "false", "0"):
        return NO_PRIVATE
    if value in ("on", "yes", "true", "1"):
        return ANY_PRIVATE
    networks = []
    for part in value.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(part) from None
    return PrivatePolicy(networks=tuple(networks))


@dataclass(frozen=True)
class SafeUrl:
    """An address that passed :func:`check_url`, and the addresses its host resolved to."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]  # empty when not resolved (resolve=False, or no answer)


def _public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def redact(url: str | None) -> str:
    """The address without its user name and password (``https://***@host/...``)."""
    if not url:
        return url or ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "…"
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url(
    url: str,
    *,
    policy: PrivatePolicy | bool = NO_PRIVATE,
    field: str = "url",
    resolve: bool = True,
    resolver: Resolver | None = None,
) -> SafeUrl:
    """``url`` if a relay may open it, else :class:`InvalidInput` about ``field``.

    ``resolve``: look the host up and refuse it when any of its addresses is not public
    (and not allowed by ``policy``). A host that does not resolve passes with no
    addresses: an admin may save a source while the office has no internet, and the
    check then says the host was not found.
    """
    if isinstance(policy, bool):
        policy = ANY_PRIVATE if policy else NO_PRIVATE
    url = (url or "").strip()
    if not url:
        raise InvalidInput("Nhập địa chỉ luồng (http:// hoặc https://).", field=field)
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(
            "Địa chỉ luồng quá dài: tối đa {n} ký tự.", field=field, n=MAX_URL_LENGTH
        )
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise InvalidInput(
            "Địa chỉ luồng không được chứa khoảng trắng hay ký tự điều khiển.", field=field
        )
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in SCHEMES:
        if not scheme or "/" in scheme or "." in scheme:
            raise InvalidInput(
                "Địa chỉ luồng phải bắt đầu bằng http:// hoặc https://, "
                "ví dụ https://stream.vov.vn/vov1.",
                field=field,
            )
        raise InvalidInput(
            "Địa chỉ kiểu '{scheme}:' không được dùng cho tiếp âm: chỉ nhận "
            "luồng http:// hoặc https://.",
            field=field,
            scheme=scheme[:20],
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise InvalidInput(
            "Địa chỉ luồng sai định dạng (tên máy hoặc cổng không đọc được).", field=field
        ) from None
    if not host:
        raise InvalidInput("Địa chỉ luồng thiếu tên máy chủ.", field=field)
    literal = _literal(host)
    if literal is not None:
        _refuse(literal, host, policy, field)
        return SafeUrl(url, scheme, host, port, (str(literal),))
    named_local = host.rstrip(".").lower() == "localhost" or host.lower().endswith(".localhost")
    if named_local and not policy.permits(ipaddress.ip_address("127.0.0.1")):
        raise InvalidInput(
            "Địa chỉ '{host}' trỏ về chính máy chủ này; không được dùng cho tiếp âm.",
            field=field,
            host=host[:100],
        )
    if not resolve:
        return SafeUrl(url, scheme, host, port, ())
    try:
        found = (resolver or _resolve)(host, port)
    except (OSError, UnicodeError):
        return SafeUrl(url, scheme, host, port, ())
    for text in found:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            continue
        _refuse(address, host, policy, field)
    return SafeUrl(url, scheme, host, port, tuple(found))


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def _refuse(address: Address, host: str, policy: PrivatePolicy, field: str) -> None:
    if policy.permits(address):
        return
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback or address.is_unspecified:
        raise InvalidInput(
            "Địa chỉ '{host}' trỏ về chính máy chủ này; không được dùng cho tiếp âm.",
            field=field,
            host=host[:100],
        )
    raise InvalidInput(
        "Địa chỉ '{host}' thuộc mạng nội bộ ({address}); chỉ nhận luồng trên Internet "
        "công cộng (quản trị hệ thống có thể cho phép: BROADCASTER_RELAY_ALLOW_PRIVATE).",
        field=field,
        host=host[:100],
        address=str(address),
    )
