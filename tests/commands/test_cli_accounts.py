"""`postdeck accounts` (seed 002's channels: by type, by name, active) and `postdeck connect` (seed
000's get_oauth_url), against the simulators over real HTTP."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlsplit

import httpx

from postdeck.sandbox.sandbox import Sandbox
from tests.service.test_service_harness import USER, Sims, run_cli

pytest_plugins = ["tests.service.test_service_harness"]


def test_accounts_lists_every_providers_accounts(capsys, box, sims: Sims, workdir) -> None:
    result = run_cli(capsys, "accounts", "--sandbox", "--format", "json")
    assert result.code == 0, result.err
    listed = {(a["provider"], a["id"]) for a in result.json()}
    at_sims = {("postforme", a["id"]) for a in sims.pfm_accounts()} | {
        ("late", a["_id"]) for a in sims.late_accounts()
    }
    assert listed == at_sims


def test_accounts_by_platform_name_and_activity(capsys, box: Sandbox, sims: Sims, workdir) -> None:
    sims.pfm_disconnect("twitter")
    twitter = run_cli(capsys, "accounts", "--platform", "twitter", "--sandbox", "--format", "json").json()
    assert {(a["provider"], a["platform"], a["status"]) for a in twitter} == {
        ("postforme", "twitter", "disconnected"),
        ("late", "twitter", "connected"),
    }
    active = run_cli(
        capsys, "accounts", "--platform", "x", "--active", "--sandbox", "--format", "json"
    ).json()
    assert [(a["provider"], a["status"]) for a in active] == [("late", "connected")]
    # Partial, case-insensitive name match (seed 002's get_channel_by_name).
    named = run_cli(capsys, "accounts", "--name", "BSKY", "--sandbox", "--format", "json").json()
    assert {a["platform"] for a in named} == {"bluesky"} and len(named) == 2


def test_one_account_by_id(capsys, box, sims: Sims, workdir) -> None:
    wanted = sims.late_accounts()[0]
    found = run_cli(capsys, "accounts", "--id", wanted["_id"], "--sandbox", "--format", "json").json()
    assert [(a["provider"], a["platform"]) for a in found] == [("late", wanted["platform"])]


def test_accounts_as_csv(capsys, box, sims: Sims, workdir) -> None:
    result = run_cli(capsys, "accounts", "--platform", "linkedin", "--sandbox", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert {r["provider"] for r in rows} == {"postforme", "late"} and {r["platform"] for r in rows} == {
        "linkedin"
    }


def test_accounts_errors(capsys, box, workdir) -> None:
    assert (
        "unknown platform 'myspace'" in run_cli(capsys, "accounts", "--platform", "myspace", "--sandbox").err
    )
    no_keys = run_cli(capsys, "accounts")  # no --sandbox and no credentials: never the simulators
    assert no_keys.code == 1 and "No social posting credentials configured" in no_keys.err


def test_connect_prints_the_oauth_url(capsys, box, sims: Sims, workdir) -> None:
    redirect = "https://app.example.com/oauth/callback"
    result = run_cli(capsys, "connect", "threads", "--redirect-url", redirect, "--user", USER, "--sandbox")
    assert result.code == 0, result.err
    url = result.out.strip()
    assert url.startswith("https://threads.net/oauth/authorize") or "threads" in urlsplit(url).netloc
    query = parse_qs(urlsplit(url).query)
    back = httpx.get(query["redirect_uri"][0], params={"state": query["state"][0]})
    assert back.status_code == 302 and back.headers["location"].startswith(redirect)
    assert [a["platform"] for a in sims.pfm_accounts(external_id=USER)] == ["threads"]


def test_connect_through_late(capsys, box, sims: Sims, workdir) -> None:
    args = ["connect", "linkedin", "--redirect-url", "https://app.example.com/cb", "--provider", "late"]
    result = run_cli(capsys, *args, "--sandbox")
    assert result.code == 0, result.err
    url = result.out.strip()
    assert "/_sim/oauth/linkedin/authorize?state=" in url  # LATE's consent screen stand-in
    state = parse_qs(urlsplit(url).query)["state"][0]
    assert sims.late_accounts()[0]["profileId"]["_id"] in state  # LATE connects into the default profile


def test_connect_bluesky_is_a_clear_error(capsys, box, workdir) -> None:
    result = run_cli(
        capsys, "connect", "bluesky", "--redirect-url", "https://app.example.com/cb", "--sandbox"
    )
    assert result.code == 1 and "Bluesky has no OAuth" in result.err
