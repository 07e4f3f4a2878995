"""`postdeck post` (seed 002's post(), post_to(), quick_post(), schedule_post()), against the
simulators over real HTTP, through the real entry point."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from PIL import Image

from postdeck.core.status import DeliveryStatus
from postdeck.ledger.queries import DeliveryQuery
from postdeck.sandbox.sandbox import Sandbox
from postdeck.timeparse import parse_when
from tests.service.test_service_harness import Sims, run_cli

PUBLIC_IP = "93.184.216.34"

pytest_plugins = ["tests.service.test_service_harness"]


def jpeg_bytes(colour: tuple[int, int, int] = (200, 100, 0)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def scheduled_at(post: dict) -> datetime:
    return datetime.fromisoformat(post["scheduled_at"].replace("Z", "+00:00"))


def test_post_now_to_two_platforms_and_again(capsys, box, sims: Sims, ledger, workdir) -> None:
    first = run_cli(capsys, "post", "Hello World!", "--to", "twitter,linkedin", "--sandbox")
    assert first.code == 0, first.err
    assert "twitter: posted https://" in first.out and "linkedin: posted https://" in first.out
    (post,) = sims.pfm_posts()
    assert post["caption"] == "Hello World!" and sims.pfm_platforms_of(post) == {"x", "linkedin"}
    assert {r.status for r in ledger.find_deliveries(DeliveryQuery())} == {DeliveryStatus.POSTED}
    again = run_cli(capsys, "post", "Hello World!", "--to", "twitter,linkedin", "--sandbox")
    assert again.code == 0 and again.out.count("(already, nothing sent)") == 2
    assert sims.pfm_stats()["create_calls"] == 1


@pytest.mark.parametrize(
    "when", ["30m", "1h", "2d", "tomorrow at 3pm", "next Monday at 10am", "2099-06-01T09:00"]
)
def test_post_later_in_the_local_time_zone(
    capsys, box, sims: Sims, ledger, workdir, monkeypatch, when
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    before = datetime.now(UTC)
    result = run_cli(
        capsys, "post", f"Scheduled: {when}", "--to", "bluesky", "--when", when, "--sandbox", "--json"
    )
    assert result.code == 0, result.err
    expected = parse_when(when, now=before, zone="America/New_York")
    (post,) = sims.pfm_posts()
    assert post["status"] == "scheduled"
    assert abs(scheduled_at(post) - expected) <= timedelta(seconds=5)  # seconds kept, not cut to minutes
    (record,) = ledger.find_deliveries(DeliveryQuery())
    assert record.status == DeliveryStatus.SCHEDULED and record.scheduled_for == scheduled_at(post)
    assert result.json()["statuses"] == {"bluesky": "scheduled"}


def test_utc_reads_the_time_in_utc(capsys, box, sims: Sims, workdir, monkeypatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert (
        run_cli(
            capsys, "post", "utc", "--to", "linkedin", "--when", "2099-06-01 09:00", "--utc", "--sandbox"
        ).code
        == 0
    )
    assert scheduled_at(sims.pfm_posts()[0]) == datetime(2099, 6, 1, 9, tzinfo=UTC)


def test_post_with_a_local_file_uploads_it(capsys, box, sims: Sims, workdir: Path) -> None:
    image = workdir / "photo.jpg"
    image.write_bytes(jpeg_bytes())
    result = run_cli(
        capsys, "post", "Check out this cool photo!", "--to", "twitter", "--media", str(image), "--sandbox"
    )
    assert result.code == 0, result.err
    (post,) = sims.pfm_posts()
    (media,) = post["media"]
    stored = httpx.get(box.postforme_url + httpx.URL(media["url"]).path)
    assert stored.content == image.read_bytes() and sims.pfm_stats()["uploads"] == 1


def test_post_with_a_media_url_downloads_it_safely(capsys, box, sims: Sims, workdir, monkeypatch) -> None:
    import postdeck.media_download as downloads

    photo = jpeg_bytes((0, 150, 50))
    fetched: list[httpx.Request] = []

    def cdn(request: httpx.Request) -> httpx.Response:
        fetched.append(request)
        return httpx.Response(200, content=photo, headers={"content-type": "image/jpeg"})

    # The CDN is a public host as far as the downloader can tell (its DNS and HTTP exchange stubbed).
    monkeypatch.setattr(downloads, "system_resolve", lambda host, port: [PUBLIC_IP])
    monkeypatch.setattr(downloads, "new_client", lambda: httpx.Client(transport=httpx.MockTransport(cdn)))
    url = "https://cdn.example.com/p.jpg"
    result = run_cli(capsys, "post", "From a URL", "--to", "twitter", "--media", url, "--sandbox")
    assert result.code == 0, result.err
    assert fetched[0].url.host == PUBLIC_IP and fetched[0].headers["host"] == "cdn.example.com"
    (media,) = sims.pfm_posts()[0]["media"]
    assert httpx.get(box.postforme_url + httpx.URL(media["url"]).path).content == photo


def test_a_private_media_url_is_one_clear_error(capsys, box, sims: Sims, workdir) -> None:
    result = run_cli(
        capsys, "post", "x", "--to", "twitter", "--media", "https://localhost/admin.png", "--sandbox"
    )
    assert result.code == 1 and result.err.startswith("error: ") and len(result.err.strip().splitlines()) == 1
    assert "non-public address" in result.err and sims.pfm_stats()["create_calls"] == 0


def test_post_to_all_active_channels(capsys, box: Sandbox, sims: Sims, workdir) -> None:
    # Seed 002's quick_post: every connected account. Platforms that need media or options are
    # disconnected here, so a text post suits every remaining one.
    for platform in ("instagram", "tiktok", "youtube", "pinterest"):
        sims.pfm_disconnect(platform)
        box.late.set_connected(platform, False)
    result = run_cli(capsys, "post", "Hello everyone", "--to", "all", "--sandbox", "--json")
    assert result.code == 0, result.err
    assert set(result.json()["statuses"]) == {"twitter", "linkedin", "facebook", "threads", "bluesky"}
    (post,) = sims.pfm_posts()
    assert sims.pfm_platforms_of(post) == {"x", "linkedin", "facebook", "threads", "bluesky"}


def test_post_with_a_style(capsys, box, sims: Sims, workdir: Path) -> None:
    # Seed 002's save_style / post_to(style=): a style file, per-network text templates.
    (workdir / "styles.yaml").write_text(
        'announcement:\n  template: "📢 {{ caption }}"\n  twitter:\n    template: "🎯 {{ caption }} #news"\n'
    )
    result = run_cli(
        capsys,
        "post",
        "Spring roast is here",
        "--to",
        "twitter,linkedin",
        "--style",
        "announcement",
        "--sandbox",
    )
    assert result.code == 0, result.err
    (post,) = sims.pfm_posts()
    captions = {
        post["caption"],
        *(c.get("caption") for c in (post.get("platform_configurations") or {}).values()),
    }
    assert {"📢 Spring roast is here", "🎯 Spring roast is here #news"} <= captions
    missing = run_cli(capsys, "post", "x", "--to", "twitter", "--style", "nope", "--sandbox")
    assert missing.code == 1 and "no style 'nope'" in missing.err


def test_text_from_stdin(capsys, box, sims: Sims, workdir) -> None:
    assert run_cli(capsys, "post", "-", "--to", "threads", "--sandbox", stdin="Piped in\n").code == 0
    assert sims.pfm_posts()[0]["caption"] == "Piped in"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "myspace"], "unknown platform 'myspace'"),
        (["--to", "twitter", "--when", "yesterday at 3pm"], "has passed"),
        (["--to", "twitter", "--when", "whenever"], "cannot tell when 'whenever' is"),
        (["--to", "twitter", "--media", "missing.jpg"], "media file not found: missing.jpg"),
    ],
)
def test_errors_are_one_line_and_send_nothing(capsys, box, sims: Sims, workdir, args, message) -> None:
    result = run_cli(capsys, "post", "oops", *args, "--sandbox")
    assert result.code == 1 and message in result.err
    assert len(result.err.strip().splitlines()) == 1 and result.err.startswith("error: ")
    assert sims.pfm_stats()["create_calls"] == 0


def test_a_rejected_platform_fails_the_command(capsys, box, sims: Sims, workdir) -> None:
    sims.pfm_configure(fail_platforms=["linkedin"])
    result = run_cli(capsys, "post", "half and half", "--to", "twitter,linkedin", "--sandbox")
    assert result.code == 1
    assert (
        "twitter: posted" in result.out
        and "linkedin: failed" in result.out
        and "simulated failure" in result.out
    )


def test_a_post_refused_for_one_platform_does_not_block_another(capsys, box, sims: Sims, workdir) -> None:
    # YouTube needs a video: refused before anything is sent. The same text to X must still go out.
    refused = run_cli(capsys, "post", "Same words", "--to", "youtube", "--sandbox")
    assert refused.code == 1 and "youtube" in refused.err.lower() and sims.pfm_stats()["create_calls"] == 0
    other = run_cli(capsys, "post", "Same words", "--to", "twitter", "--sandbox")
    assert other.code == 0, other.err
    assert "twitter: posted https://" in other.out and "youtube" not in other.out + other.err
    again = run_cli(capsys, "post", "Same words", "--to", "twitter", "--sandbox")
    assert again.code == 0 and "(already, nothing sent)" in again.out
    assert sims.pfm_stats()["create_calls"] == 1


def test_scheduled_times_keep_their_seconds(capsys, box, sims: Sims, ledger, workdir) -> None:
    """`--when 1m` used to be cut to the minute: at hh:mm:48 it went out 12 s later."""
    before = datetime.now(UTC)
    assert run_cli(capsys, "post", "in a minute", "--to", "bluesky", "--when", "1m", "--sandbox").code == 0
    (post,) = sims.pfm_posts()
    assert (
        before + timedelta(minutes=1)
        <= scheduled_at(post)
        <= datetime.now(UTC) + timedelta(minutes=1, seconds=1)
    )
    exact = ["--to", "linkedin", "--when", "2099-06-01T09:00:30Z", "--sandbox"]
    assert run_cli(capsys, "post", "exact", *exact).code == 0
    assert run_cli(capsys, "post", "exact", *exact).code == 0  # the same post: not sent twice
    assert sorted(scheduled_at(p) for p in sims.pfm_posts())[-1] == datetime(2099, 6, 1, 9, 0, 30, tzinfo=UTC)
    assert sims.pfm_stats()["create_calls"] == 2


def test_both_providers_down_names_both(capsys, box, workdir, ledger, monkeypatch) -> None:
    from tests.service.test_service_providers import closed_port_url

    monkeypatch.setenv("POSTDECK_SANDBOX_POSTFORME_URL", closed_port_url())
    monkeypatch.setenv("POSTDECK_SANDBOX_LATE_URL", closed_port_url() + "/api")
    run = run_cli(capsys, "post", "into the void", "--to", "twitter", "--sandbox")
    text = run.out + run.err
    assert run.code == 1 and "postforme: ConnectError" in text and "late: ConnectError" in text, text
    assert ledger.find_deliveries(DeliveryQuery()) == []  # nothing claimed when no provider answers


def test_a_post_whose_ledger_was_deleted_is_refused_not_sent_again(capsys, box, sims: Sims, workdir) -> None:
    """Issue 18, A, for single posts: the ledger lost, the same post would have gone out twice."""
    from postdeck.ledger.sqlite import SqliteLedger

    first = run_cli(capsys, "post", "Only once", "--to", "twitter", "--sandbox")
    assert first.code == 0, first.err
    SqliteLedger().path.unlink()

    again = run_cli(capsys, "post", "Only once", "--to", "twitter", "--sandbox")
    assert again.code != 0
    assert "postdeck ledger rebuild" in again.err and "Nothing was sent" in again.err
    assert sims.pfm_stats()["create_calls"] == 1
    rebuilt = run_cli(capsys, "ledger", "rebuild")
    assert rebuilt.code == 0, rebuilt.err
    third = run_cli(capsys, "post", "Only once", "--to", "twitter", "--sandbox")
    assert third.code == 0 and "(already, nothing sent)" in third.out, third.out + third.err
    assert sims.pfm_stats()["create_calls"] == 1
