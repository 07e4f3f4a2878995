"""Media bytes as providers need them: the content type read from the bytes, and a per-client cache
so one file is uploaded to one provider once (the chain's MediaCache keeps it across runs, keyed by
`upload_scope`: the provider and the account the file went to)."""

from __future__ import annotations

import hashlib
import mimetypes
import threading
from collections.abc import Callable
from typing import Any

import filetype

GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def key_fingerprint(api_key: str) -> str:
    """A name for an API key that can be stored and compared but not turned back into the key: the
    first 16 hex digits of its sha256."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def upload_scope(label: str, provider: Any) -> str:
    """Where an uploaded file's URL belongs, as the media cache keys it: the provider and the
    fingerprint of the key it was uploaded with (`postforme:3f9a…`), so two accounts at one provider
    never share an entry whatever their chain labels. A provider client without a fingerprint (a test
    double) is keyed by its chain label (`postforme:owner`)."""
    fingerprint = getattr(provider, "key_fingerprint", None)
    if not fingerprint:
        return label
    return f"{getattr(provider, 'name', None) or label.split(':', 1)[0]}:{fingerprint}"


def sniff_content_type(data: bytes, *, filename: str = "", declared: str = "") -> str:
    """The media type of `data`, from its magic bytes first: an extension or a declared type can lie,
    and both providers check the type they are told against the file (LATE signs it, PostForMe's
    bucket only takes image/video). Falls back to the declared type, then the filename."""
    kind = filetype.guess(data[:8192])
    if kind is not None:
        return kind.mime
    if declared and declared.split(";", 1)[0].strip().lower() not in GENERIC_TYPES:
        return declared.split(";", 1)[0].strip().lower()
    guessed = mimetypes.guess_type(filename)[0] if filename else None
    return guessed or "application/octet-stream"


class UploadCache:
    """sha256 → URL for one provider client: the same bytes are uploaded once, even concurrently."""

    def __init__(self) -> None:
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def get_or_upload(self, data: bytes, upload: Callable[[], str]) -> str:
        digest = sha256_of(data)
        with self._lock:  # held during the upload: a second caller waits and reuses the URL
            url = self._urls.get(digest)
            if url is None:
                url = self._urls[digest] = upload()
            return url

    def __len__(self) -> int:
        return len(self._urls)
