"""Download a media URL safely, to upload it to a provider (seed 002: "media from files or URLs").

A URL given on the command line is fetched by this machine, so it must not become a way to read
internal services (SSRF):
- https only, no credentials in the URL;
- the host's resolved addresses must all be public: no loopback, private, link-local, multicast or
  reserved address, nor an IPv6 address wrapping one (IPv4-mapped, NAT64, 6to4, Teredo); checked again
  on every redirect (a public page may redirect inward);
- the connection goes to the address that was checked (the URL carries the IP, TLS still verifies the
  host name through SNI), so a DNS answer that changes between check and connect cannot slip through;
- a size cap, enforced while streaming (Content-Length may lie or be absent);
- the content type is read from the bytes: only images and videos are kept.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import filetype
import httpx

from postdeck.errors import PostdeckError
from postdeck.schemas.hosts import is_public_address, literal_address  # shared with validation

DEFAULT_MAX_BYTES = 100 * 1024 * 1024  # above every platform's image limit; short videos fit
MAX_REDIRECTS = 5
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
ACCEPTED_PREFIXES = ("image/", "video/")

Resolver = Callable[[str, int], list[str]]


class MediaDownloadError(PostdeckError):
    """A media URL was refused or could not be downloaded."""


@dataclass(frozen=True)
class DownloadedMedia:
    url: str  # as given
    path: Path  # <dest>/<sha256><ext>
    sha256: str
    content_type: str
    size: int


def system_resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise MediaDownloadError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    return sorted({str(info[4][0]) for info in infos})


def new_client() -> httpx.Client:
    # No proxies from the environment: the checked address must be the one connected to.
    return httpx.Client(timeout=TIMEOUT, follow_redirects=False, trust_env=False)


def download_media(
    url: str,
    dest: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    resolve: Resolver | None = None,
    client: httpx.Client | None = None,
) -> DownloadedMedia:
    """Fetch `url` into `dest` (named by content hash). Raises MediaDownloadError with the reason."""
    resolve = resolve or system_resolve
    own = client is None
    http = client or new_client()
    try:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            request = _pinned_request(http, current, resolve)
            response = http.send(request, stream=True, follow_redirects=False)
            try:
                if response.is_redirect:
                    location = response.headers.get("location")
                    if not location:
                        raise MediaDownloadError(f"{current} redirects without a Location")
                    current = urljoin(current, location)
                    continue
                if response.status_code != 200:
                    raise MediaDownloadError(f"{current} answered HTTP {response.status_code}")
                return _save(url, response, dest, max_bytes)
            finally:
                response.close()
        raise MediaDownloadError(f"{url} redirects more than {MAX_REDIRECTS} times")
    except httpx.HTTPError as exc:
        raise MediaDownloadError(f"cannot download {url}: {type(exc).__name__}: {exc}") from None
    finally:
        if own:
            http.close()


def check_url(url: str, resolve: Resolver | None = None) -> tuple[str, int, str]:
    """(host, port, address to connect to) for a URL that may be fetched; else MediaDownloadError."""
    resolve = resolve or system_resolve
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise MediaDownloadError(f"media URLs must be https: {url}")
    if not parts.hostname:
        raise MediaDownloadError(f"media URL has no host: {url}")
    if parts.username or parts.password:
        raise MediaDownloadError(f"media URLs must not carry credentials: {_without_userinfo(url)}")
    host = parts.hostname
    try:
        port = parts.port or 443
    except ValueError:
        raise MediaDownloadError(f"media URL has an invalid port: {url}") from None
    try:
        literal = literal_address(host)  # 0x7f.1 and 2130706433 are 127.0.0.1, not names
    except ValueError as exc:
        raise MediaDownloadError(f"refusing {url}: its host is {exc}") from None
    addresses = [str(literal)] if literal is not None else resolve(host, port)
    if not addresses:
        raise MediaDownloadError(f"{host} has no address")
    private = [a for a in addresses if not is_public_address(a)]
    if private:
        raise MediaDownloadError(
            f"refusing {url}: {host} resolves to a non-public address ({', '.join(private)})"
        )
    return host, port, addresses[0]


def _pinned_request(http: httpx.Client, url: str, resolve: Resolver) -> httpx.Request:
    host, port, address = check_url(url, resolve)
    parts = urlsplit(url)
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if port == 443 else f"{literal}:{port}"
    pinned = urlunsplit(("https", netloc, parts.path or "/", parts.query, ""))
    host_header = host if port == 443 else f"{host}:{port}"
    return http.build_request(
        "GET",
        pinned,
        headers={"Host": host_header, "Accept": "image/*,video/*"},
        extensions={"sni_hostname": host},  # TLS checks the certificate against the name, not the IP
    )


def _save(url: str, response: httpx.Response, dest: Path, max_bytes: int) -> DownloadedMedia:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise MediaDownloadError(f"{url} is {int(declared)} bytes, over the {max_bytes}-byte cap")
    dest.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    head = b""
    fd, temporary = tempfile.mkstemp(dir=dest, prefix=".download-")
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise MediaDownloadError(f"{url} is over the {max_bytes}-byte cap")
                if len(head) < 8192:
                    head += chunk[: 8192 - len(head)]
                digest.update(chunk)
                handle.write(chunk)
        kind = filetype.guess(head)
        if kind is None or not kind.mime.startswith(ACCEPTED_PREFIXES):
            declared_type = response.headers.get("content-type", "unknown")
            raise MediaDownloadError(f"{url} is not an image or a video (it looks like {declared_type})")
        sha256 = digest.hexdigest()
        extension = "." + kind.extension if kind.extension else (mimetypes.guess_extension(kind.mime) or "")
        final = dest / f"{sha256}{extension}"
        os.replace(temporary, final)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return DownloadedMedia(url=url, path=final, sha256=sha256, content_type=kind.mime, size=size)


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return urlunsplit((parts.scheme, host, parts.path, parts.query, ""))


__all__ = [
    "DEFAULT_MAX_BYTES",
    "DownloadedMedia",
    "MediaDownloadError",
    "check_url",
    "download_media",
    "is_public_address",
    "system_resolve",
]
