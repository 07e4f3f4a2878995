"""Which URL hosts are IP addresses, and which addresses are public: shared by validation (a campaign's
media URLs, handed to providers as written) and by downloads (postdeck/media_download.py).

An address hides in many spellings that `ipaddress` alone does not read but URL libraries, browsers
(WHATWG URL) and inet_aton do: `0xA9FEA9FE`, `2852039166`, `0251.0376.0251.0376`, `169.254.43518`,
`127.1`, `127.0.0.1.`, `%31%32%37.0.0.1`, full-width digits. `literal_address` reads a host the way
they do, so the check and the connection agree on where a URL goes.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import unquote

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IDNA (UTS #46) reads these as label dots, as WHATWG hosts do.
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_NUMBER = re.compile(r"0x[0-9a-f]*|[0-9]+")  # a label that makes the host an IPv4 address (WHATWG)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 address reached


def literal_address(host: str) -> IPAddress | None:
    """The IP address `host` (a URL's host, brackets allowed) spells, or None for a name.

    Raises ValueError for a host that must be an address but is none: an IPv6 literal that does not
    parse, or a host whose last label is a number (WHATWG URL makes it IPv4 or an error; inet_aton may
    read what a lax parser calls a name) that is no valid IPv4 address.
    """
    text = unicodedata.normalize("NFKC", unquote(host)).translate(_DOTS).strip().lower()
    if any(char.isspace() or not char.isprintable() for char in text):
        raise ValueError(f"not a valid host: {host!r}")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:  # only an IPv6 literal has colons once the port is off
        try:
            return ipaddress.IPv6Address(text.split("%", 1)[0])  # without the zone id
        except ValueError:
            raise ValueError(f"not a valid IP address: {host}") from None
    labels = text.rstrip(".").split(".")  # `127.0.0.1.` is 127.0.0.1
    if not _NUMBER.fullmatch(labels[-1]):
        return None
    try:
        return _ipv4(labels)
    except ValueError:
        raise ValueError(f"not a valid IP address: {host}") from None


def _ipv4(labels: list[str]) -> ipaddress.IPv4Address:
    """inet_aton's forms: a.b.c.d, a.b.c (c fills 16 bits), a.b (24 bits), a (32 bits); each part
    decimal, 0x hex or 0-prefixed octal."""
    if len(labels) > 4 or not all(_NUMBER.fullmatch(label) for label in labels):
        raise ValueError
    numbers = [_number(label) for label in labels]
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        raise ValueError
    value = last
    for position, number in enumerate(leading):
        value += number << (8 * (3 - position))
    return ipaddress.IPv4Address(value)


def _number(label: str) -> int:
    if label.startswith("0x"):
        return int(label[2:] or "0", 16)
    if len(label) > 1 and label.startswith("0"):
        return int(label, 8)  # 08 is no number: ValueError, as WHATWG and inet_aton refuse it
    return int(label)


def is_public_address(address: str | IPAddress) -> bool:
    """Whether an IP address (an IPv6 zone id allowed) reaches the public internet only. IPv6 forms
    that carry an IPv4 address are judged by it too: ::ffff:127.0.0.1 is loopback, and so is the 6to4
    address 2002:7f00:1:: (a 6to4 relay would deliver it to 127.0.0.1)."""
    ip = address if not isinstance(address, str) else ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ipaddress.IPv6Address(int(ip))  # without a zone id
        translated = ip.ipv4_mapped or (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        if translated is not None:  # the IPv4 address is the destination: judge it alone
            return _is_public(translated)
        tunnelled = [ip.sixtofour] if ip.sixtofour else list(ip.teredo or ())
        if not all(_is_public(inner) for inner in tunnelled):  # the tunnel ends at these
            return False
    return _is_public(ip)


def _is_public(ip: IPAddress) -> bool:
    # is_global leaves out private, loopback, link-local, shared (CGNAT) and unspecified addresses.
    return ip.is_global and not ip.is_multicast and not ip.is_reserved
