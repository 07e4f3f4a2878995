"""Resolve a batch's media entries: local files stay inside the campaign folder, URLs are https only."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import filetype

from postdeck.errors import CampaignError, Location
from postdeck.schemas.hosts import is_public_address, literal_address


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
        address = literal_address(host)
    except ValueError as exc:
        raise CampaignError(
            f"media URL has a host that is {exc}: {url}",
            location=location,
            field=field,
            fix="use a public https URL",
        ) from None
    if address is None:
        return url  # a name: resolved and checked again when downloaded (media_download.py)
    if not is_public_address(address):
        raise CampaignError(
            f"media URL points at a private, loopback or link-local address ({address}): {url}",
            location=location,
            field=field,
            fix="use a public https URL",
        )
    return url


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
