"""Downloading media URLs without becoming a way into private networks (SSRF)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import httpx
import pytest
from PIL import Image

from postdeck.media_download import MediaDownloadError, check_url, download_media, is_public_address

PUBLIC_IP = "93.184.216.34"


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def resolver(table: dict[str, list[str]]):
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return table[host]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    """A folder of its own (the shared tmp_path also holds the isolated postdeck state)."""
    folder = tmp_path / "media"
    folder.mkdir()
    return folder


def client_for(handler) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_downloads_to_a_content_addressed_file_over_the_checked_address(dest: Path) -> None:
    body = jpeg_bytes()
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=body, headers={"content-type": "application/octet-stream"})

    got = download_media(
        "https://cdn.example.com/photos/a.jpg?v=2",
        dest,
        resolve=resolver({"cdn.example.com": [PUBLIC_IP]}),
        client=client_for(handler),
    )
    assert got.sha256 == hashlib.sha256(body).hexdigest() and got.size == len(body)
    assert got.content_type == "image/jpeg"  # read from the bytes, not the header
    assert got.path == dest / f"{got.sha256}.jpg" and got.path.read_bytes() == body
    request = seen[0]
    # Connected to the address that was checked; the host name still travels in Host and SNI.
    assert request.url.host == PUBLIC_IP and request.url.path == "/photos/a.jpg"
    assert request.url.query == b"v=2"
    assert request.headers["host"] == "cdn.example.com"
    assert request.extensions["sni_hostname"] == "cdn.example.com"


@pytest.mark.parametrize(
    ("url", "addresses", "reason"),
    [
        ("http://cdn.example.com/a.jpg", [PUBLIC_IP], "must be https"),
        ("https://user:pw@cdn.example.com/a.jpg", [PUBLIC_IP], "must not carry credentials"),
        ("https://cdn.example.com/a.jpg", ["127.0.0.1"], "non-public address"),
        ("https://cdn.example.com/a.jpg", ["10.1.2.3"], "non-public address"),
        ("https://cdn.example.com/a.jpg", ["169.254.169.254"], "non-public address"),
        ("https://cdn.example.com/a.jpg", [PUBLIC_IP, "192.168.0.7"], "non-public address"),
        ("https://cdn.example.com/a.jpg", ["::1"], "non-public address"),
        ("https://cdn.example.com/a.jpg", ["::ffff:127.0.0.1"], "non-public address"),
        ("https://cdn.example.com/a.jpg", ["fe80::1"], "non-public address"),
    ],
)
def test_refused_urls_never_reach_the_network(
    dest: Path, url: str, addresses: list[str], reason: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request may be made")

    with pytest.raises(MediaDownloadError, match=reason):
        download_media(
            url, dest, resolve=resolver({"cdn.example.com": addresses}), client=client_for(handler)
        )
    assert list(dest.iterdir()) == []


def test_ip_literals_are_checked_without_resolving() -> None:
    with pytest.raises(MediaDownloadError, match="non-public"):
        check_url("https://127.0.0.1/x.jpg", resolve=resolver({}))
    with pytest.raises(MediaDownloadError, match="non-public"):
        check_url("https://[::1]/x.jpg", resolve=resolver({}))
    assert check_url(f"https://{PUBLIC_IP}/x.jpg", resolve=resolver({}))[2] == PUBLIC_IP


def test_every_redirect_is_checked_again(dest: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["host"] == "cdn.example.com":
            return httpx.Response(302, headers={"location": "https://metadata.internal.example/latest"})
        raise AssertionError("the private target must not be fetched")

    resolve = resolver({"cdn.example.com": [PUBLIC_IP], "metadata.internal.example": ["169.254.169.254"]})
    with pytest.raises(MediaDownloadError, match=r"metadata\.internal\.example resolves to a non-public"):
        download_media("https://cdn.example.com/a.jpg", dest, resolve=resolve, client=client_for(handler))
    assert resolve.calls == ["cdn.example.com", "metadata.internal.example"]


def test_a_redirect_to_http_is_refused(dest: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"location": "http://cdn.example.com/a.jpg"})

    with pytest.raises(MediaDownloadError, match="must be https"):
        download_media(
            "https://cdn.example.com/a.jpg",
            dest,
            resolve=resolver({"cdn.example.com": [PUBLIC_IP]}),
            client=client_for(handler),
        )


def test_public_redirects_are_followed(dest: Path) -> None:
    body = jpeg_bytes()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old.jpg":
            return httpx.Response(302, headers={"location": "/new.jpg"})
        return httpx.Response(200, content=body)

    got = download_media(
        "https://cdn.example.com/old.jpg",
        dest,
        resolve=resolver({"cdn.example.com": [PUBLIC_IP]}),
        client=client_for(handler),
    )
    assert got.path.read_bytes() == body


def test_size_cap_holds_even_when_content_length_is_absent(dest: Path) -> None:
    body = jpeg_bytes() + b"\0" * 5000

    def streamed(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([body[:2000], body[2000:]]))  # no Content-Length

    def declared(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    resolve = resolver({"cdn.example.com": [PUBLIC_IP]})
    for handler in (streamed, declared):
        with pytest.raises(MediaDownloadError, match="over the 4000-byte cap"):
            download_media(
                "https://cdn.example.com/a.jpg",
                dest,
                max_bytes=4000,
                resolve=resolve,
                client=client_for(handler),
            )
    assert list(dest.iterdir()) == []  # no partial file left behind


def test_only_images_and_videos_are_kept(dest: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>login</html>", headers={"content-type": "image/jpeg"})

    with pytest.raises(MediaDownloadError, match="not an image or a video"):
        download_media(
            "https://cdn.example.com/a.jpg",
            dest,
            resolve=resolver({"cdn.example.com": [PUBLIC_IP]}),
            client=client_for(handler),
        )
    assert list(dest.iterdir()) == []


def test_http_errors_are_one_line(dest: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404)

    with pytest.raises(MediaDownloadError, match="answered HTTP 404"):
        download_media(
            "https://cdn.example.com/a.jpg",
            dest,
            resolve=resolver({"cdn.example.com": [PUBLIC_IP]}),
            client=client_for(handler),
        )


def test_public_address_classification() -> None:
    assert is_public_address(PUBLIC_IP) and is_public_address("2606:4700:4700::1111")
    for private in ("127.0.0.1", "10.0.0.1", "172.16.0.1", "100.64.0.1", "0.0.0.0", "224.0.0.1", "fd00::1"):
        assert not is_public_address(private), private
