"""Media attacks are blocked: paths out of the campaign folder, URLs into private networks (DNS rebinding
and redirects included), oversize downloads, and decompression-bomb images for the media checks.

Network-free: downloads go through httpx.MockTransport with injected resolvers, as in
test_media_download.py (which covers the basic refusals); this file adds the attacker's variants.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from PIL import Image

from postdeck.errors import CampaignError, Location
from postdeck.media_download import MediaDownloadError, check_url, download_media, is_public_address
from postdeck.schemas.media import check_public_https_url, resolve_media
from postdeck.schemas.media_probe import probe
from postdeck.schemas.validation import check_file
from tests.conftest import REPO

PUBLIC = "93.184.216.34"
LOCATION = Location("campaigns/attack.yaml", 9, 7)


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (1, 2, 3)).save(buffer, "JPEG")
    return buffer.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG that claims width × height pixels (what a decompression bomb's header says)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return PNG + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


PNG = b"\x89PNG\r\n\x1a\n"


def never(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no request may be made, got {request.url}")


def client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


# --- paths out of the campaign folder ------------------------------------------------------------


@pytest.fixture
def campaign_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "campaign"
    (folder / "media").mkdir(parents=True)
    (folder / "media" / "ok.jpg").write_bytes(jpeg())
    (tmp_path / "private.jpg").write_bytes(jpeg())
    os.symlink(tmp_path / "private.jpg", folder / "media" / "link.jpg")
    os.symlink(tmp_path, folder / "media" / "up")
    os.symlink("/etc", folder / "etc")
    return folder


@pytest.mark.parametrize(
    "entry",
    [
        "../private.jpg",
        "media/../../private.jpg",
        "/etc/hostname",
        "media/link.jpg",  # a symlink to a file outside
        "media/up/private.jpg",  # through a symlinked folder
        "etc/hostname",
        "./media/./../../private.jpg",
    ],
)
def test_media_paths_cannot_leave_the_campaign_folder(campaign_folder: Path, entry: str) -> None:
    with pytest.raises(CampaignError, match="leaves the campaign folder") as caught:
        resolve_media(entry, campaign_folder, location=LOCATION, field="batches[0].media[0]")
    assert caught.value.location == LOCATION


def test_a_media_path_inside_the_folder_is_fine(campaign_folder: Path) -> None:
    ref = resolve_media("media/ok.jpg", campaign_folder, location=LOCATION, field="media")
    assert ref.path == (campaign_folder / "media" / "ok.jpg").resolve() and ref.content_type == "image/jpeg"


# --- URLs into private networks ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/a.jpg",
        "https://[::1]/a.jpg",
        "https://[::ffff:127.0.0.1]/a.jpg",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.8/a.jpg",
        "https://localhost/a.jpg",
        "https://media.localhost/a.jpg",
        "https://printer.local/a.jpg",
        "https://metadata.google.internal/a.jpg",
        "http://cdn.example.com/a.jpg",
        "file:///etc/passwd",
        "ftp://cdn.example.com/a.jpg",
    ],
)
def test_campaign_media_urls_to_local_hosts_are_refused(url: str) -> None:
    with pytest.raises(CampaignError) as caught:
        check_public_https_url(url, location=LOCATION, field="media")
    assert caught.value.location == LOCATION


# Every way a URL library or inet_aton spells 169.254.169.254 or 127.0.0.1 (the attack corpus).
IP_LITERAL_FORMS = [
    "https://0xA9FEA9FE/latest/meta-data/",  # 169.254.169.254 as one hex number
    "https://2130706433/a.jpg",  # 127.0.0.1 as one decimal number
    "https://0177.0.0.1/a.jpg",  # octal first part
    "https://0x7f.1/a.jpg",  # two parts, hex
    "https://127.1/a.jpg",  # two parts: 127.0.0.1
    "https://0x7f.0.0.1/a.jpg",
    "https://017700000001/a.jpg",  # one octal number
    "https://169.254.43518/a.jpg",  # three parts, the last fills two bytes
    "https://0251.0376.0251.0376/a.jpg",  # octal 169.254.169.254
    "https://127.0.0.1./a.jpg",  # a trailing dot
    "https://0x0/a.jpg",  # 0.0.0.0
    "https://[::ffff:a9fe:a9fe]/a.jpg",
    "https://[::ffff:169.254.169.254]/a.jpg",
    "https://[0:0:0:0:0:ffff:7f00:1]/a.jpg",
    "https://[fe80::1%25eth0]/a.jpg",
]


@pytest.mark.parametrize("url", IP_LITERAL_FORMS)
def test_ip_literals_in_every_form_are_refused_at_validate_and_at_download(url: str) -> None:
    with pytest.raises(CampaignError, match="private, loopback or link-local"):
        check_public_https_url(url, location=LOCATION, field="media")
    asked: list[str] = []
    with pytest.raises(MediaDownloadError, match="non-public address"):
        check_url(url, resolve=lambda host, port: asked.append(host) or ["93.184.216.34"])
    assert asked == []  # an address is judged as itself, never sent to a resolver as a name


@pytest.mark.parametrize("host", ["1.2.3.4.5", "256.0.0.1", "08.0.0.1", "1.2.3.4294967296", "example.123"])
def test_a_host_that_ends_in_a_number_but_is_no_address_is_refused(host: str) -> None:
    with pytest.raises(CampaignError, match="not a valid IP address"):
        check_public_https_url(f"https://{host}/a.jpg", location=LOCATION, field="media")


def test_public_addresses_and_names_still_pass() -> None:
    for url in (
        "https://93.184.216.34/a.jpg",
        "https://0x5db8d822/a.jpg",
        "https://cdn.example.com/a.jpg",
        "https://a1.b2/x.jpg",
    ):
        assert check_public_https_url(url, location=LOCATION, field="media") == url


def test_a_trailing_dot_does_not_hide_localhost() -> None:
    with pytest.raises(CampaignError):
        check_public_https_url("https://localhost./a.jpg", location=LOCATION, field="media")


@pytest.mark.parametrize(
    "address",
    [
        "0.0.0.0",
        "100.64.0.1",  # carrier-grade NAT
        "192.0.0.1",
        "198.18.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "fc00::1",
        "fd00:ec2::254",  # the AWS metadata service over IPv6
        "fe80::1%eth0",
        "2001::1",  # Teredo
    ],
)
def test_every_kind_of_non_public_address_is_refused(address: str) -> None:
    assert not is_public_address(address)
    with pytest.raises(MediaDownloadError, match="non-public"):
        check_url("https://cdn.example.com/a.jpg", resolve=lambda host, port: [address])


@pytest.mark.parametrize(
    "address",
    [
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a00:1::1",  # 10.0.0.1
        "2002:a9fe:a9fe::",  # 169.254.169.254
        "2002:c0a8:0101::",  # 192.168.1.1
        "64:ff9b:1::a00:1",  # local-use NAT64 (RFC 8215)
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo, whatever it wraps
    ],
)
def test_ipv6_addresses_wrapping_private_ipv4_are_refused(address: str) -> None:
    assert not is_public_address(address)
    with pytest.raises(MediaDownloadError, match="non-public"):
        check_url("https://cdn.example.com/a.jpg", resolve=lambda host, port: [address])
    with pytest.raises(CampaignError, match="private, loopback or link-local"):
        check_public_https_url(f"https://[{address}]/a.jpg", location=LOCATION, field="media")


@pytest.mark.parametrize(
    "address", ["2002:5db8:d822::1", "64:ff9b::5db8:d822", "::ffff:93.184.216.34", "2606:4700::1111"]
)
def test_ipv6_forms_of_a_public_address_stay_usable(address: str) -> None:
    """6to4 and NAT64 (what DNS64 answers on IPv6-only networks) of 93.184.216.34 reach that host."""
    assert is_public_address(address)


@pytest.mark.parametrize("host", ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x7f.1"])
def test_numeric_spellings_of_loopback_resolve_to_it_and_are_refused(host: str) -> None:
    """What the system resolver makes of inet_aton spellings (no network needed)."""
    with pytest.raises(MediaDownloadError, match="non-public"):
        check_url(f"https://{host}/a.jpg")


NON_PUBLIC_LITERALS = [
    "0xA9FEA9FE",  # 169.254.169.254, the cloud metadata service, in hex
    "0xa9.0xfe.0xa9.0xfe",
    "2852039166",  # 169.254.169.254 as one decimal number
    "0251.0376.0251.0376",  # in octal
    "169.254.43518",  # a partial form: the last part fills the rest
    "2130706433",
    "0177.0.0.1",
    "127.1",
    "0x7f.1",
    "127.0.0.1.",  # trailing dots
    "0x7f000001..",
    "0",
    "10.0.0.1",
    "%31%32%37.0.0.1",  # percent-encoded, as URL libraries decode it
    "\uff11\uff12\uff17\u3002\uff10\u3002\uff10\u3002\uff11",  # full-width digits and dots (IDNA maps them)
    "[::ffff:169.254.169.254]",
    "[::ffff:a9fe:a9fe]",
    "[::1]",
    "[::]",
    "[ff02::1]",  # multicast
    "[fe80::1%25eth0]",
    "224.0.0.1",
    "240.0.0.1",
]


@pytest.mark.parametrize("host", NON_PUBLIC_LITERALS)
def test_ip_literals_in_every_spelling_are_refused_when_validating(host: str) -> None:
    """The campaign flow hands URLs to the provider without downloading them: validation must refuse
    what a URL library or inet_aton would read as a private address, without any DNS."""
    with pytest.raises(CampaignError, match="private, loopback or link-local") as caught:
        check_public_https_url(f"https://{host}/latest/meta-data/", location=LOCATION, field="media")
    assert caught.value.location == LOCATION


@pytest.mark.parametrize("host", NON_PUBLIC_LITERALS)
def test_ip_literals_in_every_spelling_are_refused_when_downloading(host: str) -> None:
    def no_dns(name: str, port: int) -> list[str]:
        raise AssertionError(f"an IP literal must not be resolved: {name}")

    with pytest.raises(MediaDownloadError, match="non-public"):
        check_url(f"https://{host}/a.jpg", resolve=no_dns)


@pytest.mark.parametrize("host", ["127..1", "1.2.3.4.5", "0x1g.1", "08.0.0.1", "1.2.3.256", "256.1"])
def test_hosts_ending_in_a_number_must_be_valid_addresses(host: str) -> None:
    """A host whose last label is a number is an IPv4 address or nothing (WHATWG URL): never a name."""
    with pytest.raises(CampaignError, match="not a valid IP address"):
        check_public_https_url(f"https://{host}/a.jpg", location=LOCATION, field="media")
    with pytest.raises(MediaDownloadError, match="not a valid IP address"):
        check_url(f"https://{host}/a.jpg", resolve=lambda name, port: [PUBLIC])


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("0x5db8d822", PUBLIC),
        ("1572395042", PUBLIC),
        ("93.184.55330", PUBLIC),
        ("[2606:4700::1111]", "2606:4700::1111"),
    ],
)
def test_public_ip_literals_connect_to_the_address_they_spell(host: str, address: str) -> None:
    assert check_public_https_url(f"https://{host}/a.jpg", location=LOCATION, field="media")
    assert check_url(f"https://{host}/a.jpg", resolve=lambda name, port: [])[2] == address


def test_names_are_still_names() -> None:
    """Only a numeric last label makes an address: 1x.example or cafe.0x are names for DNS."""
    for host in ("cdn.example.com", "1.example.com", "0x7f.example", "cafe.0xg"):
        assert check_public_https_url(f"https://{host}/a.jpg", location=LOCATION, field="media")
        assert check_url(f"https://{host}/a.jpg", resolve=lambda name, port: [PUBLIC])[2] == PUBLIC


def test_dns_rebinding_cannot_swap_the_address_after_the_check(tmp_path: Path) -> None:
    """The name is resolved once per hop and the connection goes to that very address: a second,
    private answer (the rebinding) is never asked for, let alone used."""
    answers = iter([[PUBLIC], ["127.0.0.1"], ["127.0.0.1"]])
    asked: list[str] = []
    seen: list[httpx.Request] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return next(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=jpeg())

    got = download_media(
        "https://rebind.example/a.jpg", tmp_path / "dl", resolve=resolve, client=client(handler)
    )
    assert asked == ["rebind.example"]
    assert [r.url.host for r in seen] == [PUBLIC] and seen[0].headers["host"] == "rebind.example"
    assert got.content_type == "image/jpeg"


def test_rebinding_on_a_redirect_back_to_the_same_host_is_checked_again(tmp_path: Path) -> None:
    answers = iter([[PUBLIC], ["10.0.0.5"]])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "/second.jpg"})

    with pytest.raises(MediaDownloadError, match=r"10\.0\.0\.5"):
        download_media(
            "https://rebind.example/a.jpg",
            tmp_path / "dl",
            resolve=lambda host, port: next(answers),
            client=client(handler),
        )


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("https://127.0.0.1/x.jpg", "non-public"),
        ("https://[::1]/x.jpg", "non-public"),
        ("https://inside.example/x.jpg", "non-public"),
        ("http://cdn.example.com/x.jpg", "must be https"),
        ("file:///etc/passwd", "must be https"),
        ("https://user:pw@cdn.example.com/x.jpg", "must not carry credentials"),
    ],
)
def test_redirects_to_private_or_insecure_places_are_refused(
    tmp_path: Path, location: str, reason: str
) -> None:
    fetched: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        fetched.append(str(request.url))
        if len(fetched) > 1:
            raise AssertionError("the redirect target must not be fetched")
        return httpx.Response(301, headers={"location": location})

    resolve = {"cdn.example.com": [PUBLIC], "inside.example": ["192.168.1.1"]}
    with pytest.raises(MediaDownloadError, match=reason):
        download_media(
            "https://cdn.example.com/a.jpg",
            tmp_path / "dl",
            resolve=lambda h, p: resolve[h],
            client=client(handler),
        )
    assert len(fetched) == 1


def test_a_redirect_loop_ends(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "https://cdn.example.com/again.jpg"})

    with pytest.raises(MediaDownloadError, match="redirects more than"):
        download_media(
            "https://cdn.example.com/a.jpg",
            tmp_path / "dl",
            resolve=lambda h, p: [PUBLIC],
            client=client(handler),
        )


# --- oversize downloads ---------------------------------------------------------------------------


def _no_files_left(folder: Path) -> bool:
    return not folder.exists() or list(folder.iterdir()) == []


def test_a_declared_oversize_body_is_refused_before_reading(tmp_path: Path) -> None:
    read: list[int] = []

    def body() -> object:
        read.append(1)
        yield b"x" * 10

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-length": str(10**12)}, content=body())

    with pytest.raises(MediaDownloadError, match="over the 1000-byte cap"):
        download_media(
            "https://cdn.example.com/a.jpg",
            tmp_path / "dl",
            max_bytes=1000,
            resolve=lambda h, p: [PUBLIC],
            client=client(handler),
        )
    assert read == [] and _no_files_left(tmp_path / "dl")


@pytest.mark.parametrize("declared", [None, "10"])  # no length, or one that lies
def test_an_oversize_stream_is_cut_off_and_nothing_is_kept(tmp_path: Path, declared: str | None) -> None:
    sent: list[int] = []

    def endless() -> object:
        for _ in range(10_000):
            sent.append(1)
            yield b"\xff" * 1024

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-length": declared} if declared else {}
        return httpx.Response(200, headers=headers, content=endless())

    with pytest.raises(MediaDownloadError, match="over the 4096-byte cap"):
        download_media(
            "https://cdn.example.com/a.jpg",
            tmp_path / "dl",
            max_bytes=4096,
            resolve=lambda h, p: [PUBLIC],
            client=client(handler),
        )
    assert len(sent) <= 6  # stopped right after the cap, not at the end of the stream
    assert _no_files_left(tmp_path / "dl")


def test_a_download_that_is_not_media_is_refused(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>login</html>", headers={"content-type": "image/jpeg"})

    with pytest.raises(MediaDownloadError, match="not an image or a video"):
        download_media(
            "https://cdn.example.com/a.jpg",
            tmp_path / "dl",
            resolve=lambda h, p: [PUBLIC],
            client=client(handler),
        )
    assert _no_files_left(tmp_path / "dl")


# --- decompression bombs --------------------------------------------------------------------------


def zeros_png(width: int, height: int) -> bytes:
    """A valid grayscale PNG of zeros: 144 MB of pixels for 12,000², in about 140 KB."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + width)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return PNG + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


PROBE = """
import resource, sys, warnings
from pathlib import Path
warnings.simplefilter("ignore")
from postdeck.errors import Location
from postdeck.schemas.media import resolve_media
from postdeck.schemas.media_probe import probe
info = probe(resolve_media(sys.argv[1], Path(sys.argv[2]), location=Location("x"), field="media"))
# VmHWM, this process's own peak: ru_maxrss would include pytest's (kept across fork and exec).
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(info.width, info.height, peak // 1024)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_a_big_png_is_probed_from_its_header_without_decoding_its_pixels(tmp_path: Path) -> None:
    (tmp_path / "big.png").write_bytes(zeros_png(12_000, 12_000))
    out = subprocess.run(
        [sys.executable, "-c", PROBE, "big.png", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout.split()
    width, height, peak_mb = map(int, out)
    assert (width, height) == (12_000, 12_000)
    assert peak_mb < 120, f"probing a {(tmp_path / 'big.png').stat().st_size:,}-byte file took {peak_mb} MB"


def test_a_decompression_bomb_is_a_located_finding_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "bomb.png").write_bytes(png_header(100_000, 100_000))  # 10^10 pixels, 200 bytes
    campaign = tmp_path / "bomb.yaml"
    campaign.write_text(
        "name: bomb\ntimezone: UTC\nbatches:\n  - {id: a, caption: hi, platforms: [instagram], media: [media/bomb.png]}\n"
    )
    errors = check_file(campaign).errors
    assert errors and all(e.location.path == str(campaign) and e.location.line == 4 for e in errors)
    assert any("media[0]" in e.field and "decompression bomb" in e.message for e in errors)


def test_a_big_but_openable_image_is_a_located_warning(tmp_path: Path) -> None:
    """Over Pillow's warning threshold (89.5 M pixels) but under its error: measured, and flagged."""
    (tmp_path / "big.png").write_bytes(png_header(10_000, 10_000))
    campaign = tmp_path / "big.yaml"
    campaign.write_text(
        "name: big\nbatches:\n  - {id: a, caption: hi, platforms: [linkedin], media: [big.png]}\n"
    )
    report = check_file(campaign)
    assert any("100,000,000 pixels, over 36,152,320" in e.message for e in report.errors)  # LinkedIn's cap
    [warning] = report.warnings
    assert warning.location.line == 3 and warning.field == "batches[0].media[0]"
    assert "decompression-bomb warning" in warning.message and warning.fix


@pytest.mark.parametrize(
    "data", [b"\xff\xd8\xff\xe0" + b"cut short" * 8, PNG + b"\x00\x00\x00\x0dIHDR", b"GIF89a" + bytes(3)]
)
def test_a_corrupt_image_is_a_located_error_not_a_crash(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "broken.img").write_bytes(data)
    campaign = tmp_path / "broken.yaml"
    campaign.write_text(
        "name: b\nbatches:\n  - {id: a, caption: hi, platforms: [bluesky], media: [broken.img]}\n"
    )
    errors = check_file(campaign).errors
    assert [e.field for e in errors] == ["batches[0].media[0]"], [str(e) for e in errors]
    assert "broken.img cannot be read as an image" in errors[0].message and errors[0].fix


@pytest.mark.parametrize("format_", ["PNG", "JPEG"])
def test_exif_orientation_is_still_honoured_from_the_header(tmp_path: Path, format_: str) -> None:
    """A 40×20 image marked "rotate 90°" (EXIF 6) shows 20 wide: read from JPEG's APP1 or a PNG eXIf
    chunk before the pixels, without decoding them."""
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (40, 20)).save(tmp_path / "turned.img", format_, exif=exif)
    info = probe(resolve_media("turned.img", tmp_path, location=LOCATION, field="media"))
    assert (info.width, info.height, info.problem) == (20, 40, None)
