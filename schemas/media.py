"""Resolve a batch's media entries: local files stay inside the campaign folder, URLs are https only."""

from __future__ import annotations

import hashlib
import ipaddress
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import filetype

from postdeck.errors import CampaignError, Location


@dataclass(frozen=True)
class MediaRef:
    source: str  # as written in the campaign
    path: Path | None = None  # a local file (resolved, inside the campaign folder)
    url: str | None = None  # a public https URL
    sha256: str | None = None  # of a local file's bytes
    content_type: str = "application/octet-stream"
    size: int | None = None

    @property
    def filename(self) -> str:
        return self.path.name if self.path else Path(urlsplit(self.url or "").path).name or "media"

    @property
    def digest(self) -> str:
        """What identifies the content for change detection: the bytes' hash, or the URL."""
        return self.sha256 or f"url:{self.url}"


def resolve_media(entry: str, folder: Path, *, location: Location, field: str) -> MediaRef:
    if "://" in entry:
        url = check_public_https_url(entry, location=location, field=field)
        guessed = mimetypes.guess_type(urlsplit(url).path)[0] or "application/octet-stream"
        return MediaRef(source=entry, url=url, content_type=guessed)
    return _local_file(entry, folder, location=location, field=field)


def check_public_https_url(url: str, *, location: Location, field: str) -> str:
    """Only https URLs to public hosts: no loopback, private or link-local addresses."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise CampaignError(
            f"media URL must be https: {url}", location=location, field=field, fix="use an https:// URL"
        )
    host = parts.hostname.rstrip(".")  # `localhost.` is localhost
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise CampaignError(
            f"media URL points at a local host: {url}",
            location=location,
            field=field,
            fix="use a public https URL",
        )
    try:
        ip = ip_literal(host)
    except ValueError:
        raise CampaignError(
            f"media URL has a host that is neither a name nor an address: {url}",
            location=location,
            field=field,
            fix="use a public https URL",
        ) from None
    if ip is None:
        return url  # a name: resolved and checked again when downloaded (media_download.py)
    if not is_public_address(str(ip)):
        raise CampaignError(
            f"media URL points at a private, loopback or link-local address: {url}",
            location=location,
            field=field,
            fix="use a public https URL",
        )
    return url


_NUMBER = re.compile(r"(0[xX][0-9a-fA-F]*|[0-9]+)")


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a URL's host names when it is an IP literal in any form a URL library or
    inet_aton accepts (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`, `[::ffff:7f00:1]`, a trailing
    dot), else None for a name. ValueError for a host that ends in a number but is no address (the
    WHATWG URL standard refuses those too), so that no form slips past as a "name"."""
    host = host.strip("[]").rstrip(".")
    if ":" in host:
        return ipaddress.IPv6Address(host.split("%", 1)[0])
    parts = host.split(".")
    if not _NUMBER.fullmatch(parts[-1]):
        return None  # a name (its last label is not a number)
    if len(parts) > 4 or not all(_NUMBER.fullmatch(part) for part in parts):
        raise ValueError(f"not an IPv4 address: {host}")
    numbers = [_number(part) for part in parts]
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        raise ValueError(f"not an IPv4 address: {host}")
    value = last
    for position, number in enumerate(leading):
        value += number << (8 * (3 - position))
    return ipaddress.IPv4Address(value)


def _number(part: str) -> int:
    """One part of an IPv4 literal: 0x… hex, 0… octal, else decimal (as inet_aton reads them)."""
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)
    return int(part)


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 address reached


def is_public_address(address: str) -> bool:
    """Whether an IP address (an IPv6 zone id allowed) reaches the public internet only. IPv6 forms
    that carry an IPv4 address are judged by it too: ::ffff:127.0.0.1 is loopback, and so is the 6to4
    address 2002:7f00:1:: (a 6to4 relay would deliver it to 127.0.0.1)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        translated = ip.ipv4_mapped or (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        if translated is not None:  # the IPv4 address is the destination: judge it alone
            return _is_public(translated)
        tunnelled = [ip.sixtofour] if ip.sixtofour else list(ip.teredo or ())
        if not all(_is_public(inner) for inner in tunnelled):  # the tunnel ends at these
            return False
    return _is_public(ip)


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def _local_file(entry: str, folder: Path, *, location: Location, field: str) -> MediaRef:
    folder = folder.resolve()
    candidate = (folder / entry).resolve()  # follows symlinks: an escaping link is caught below
    if not candidate.is_relative_to(folder):
        raise CampaignError(
            f"media path leaves the campaign folder: {entry}",
            location=location,
            field=field,
            fix="keep media inside the campaign's folder (no '..', no symlinks out)",
        )
    if not candidate.is_file():
        raise CampaignError(
            f"media file not found: {entry}",
            location=location,
            field=field,
            fix=f"add the file under {folder.name}/ or fix the path",
        )
    sha256, content_type, size = _fingerprint(candidate)
    return MediaRef(source=entry, path=candidate, sha256=sha256, content_type=content_type, size=size)


_FINGERPRINTS: dict[tuple[Path, int, int], tuple[str, str, int]] = {}


def _fingerprint(path: Path) -> tuple[str, str, int]:
    """(sha256, content type, size) of a file, read once per process (campaigns share media)."""
    stat = path.stat()
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _FINGERPRINTS:
        with path.open("rb") as handle:  # streamed: a video may be gigabytes
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        kind = filetype.guess(str(path))  # reads the first 8 KiB
        content_type = (
            kind.mime if kind else (mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        )
        _FINGERPRINTS[key] = (digest, content_type, stat.st_size)
    return _FINGERPRINTS[key]
