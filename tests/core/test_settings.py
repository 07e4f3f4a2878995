"""postdeck/settings.py: one object for every environment variable, and `postdeck config` showing it."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from postdeck.chain_factory import chain_links
from postdeck.ledger.journal_file import DEFAULT_JOURNAL
from postdeck.ledger.sqlite import DEFAULT_PATH
from postdeck.providers.account_cache import DEFAULT_MAX_AGE, MAX_AGE_LIMIT
from postdeck.schemas.file_limits import MAX_BATCHES, MAX_BYTES
from postdeck.service.adhoc import DEFAULT_POSTS_DIR
from postdeck.service.campaign_batches import DEFAULT_CAMPAIGNS_DIR
from postdeck.service.styles import DEFAULT_STYLES
from postdeck.settings import Settings, SettingsError, report, settings, variable_of
from tests.service.test_service_harness import run_cli

SECRET = "sb_secret_0123456789abcdefghijklmnopqrstu"


def test_the_defaults_are_the_modules_own() -> None:
    config = settings({})
    assert config.ledger == DEFAULT_PATH and config.journal == DEFAULT_JOURNAL
    assert config.styles == DEFAULT_STYLES and config.posts_dir == DEFAULT_POSTS_DIR
    assert config.campaigns_dir == DEFAULT_CAMPAIGNS_DIR
    assert config.sandbox_dir == Path(".postdeck/sandbox")
    assert timedelta(seconds=config.account_list_max_age) == DEFAULT_MAX_AGE
    assert config.provider_concurrency == 16 and config.sandbox_rate_scale is None
    assert (config.not_sent_after, config.claim_heartbeat_timeout) == (900, 60)  # README's bound
    assert (config.campaign_max_bytes, config.campaign_max_batches) == (MAX_BYTES, MAX_BATCHES)
    assert config.postforme_api_key is None and config.supabase_url is None
    assert not (config.debug or config.no_progress or config.force_color)


def test_blank_values_count_as_unset_and_numbers_may_be_padded() -> None:
    config = settings(
        {"POSTDECK_LEDGER": "", "POSTDECK_PROVIDER_CONCURRENCY": " 4 ", "POSTDECK_SANDBOX_RATE_SCALE": "  "}
    )
    assert (
        config.ledger == DEFAULT_PATH
        and config.provider_concurrency == 4
        and config.sandbox_rate_scale is None
    )


def test_postdeck_variables_carry_the_prefix_and_the_providers_keep_their_names() -> None:
    assert all(
        variable_of(field).startswith("POSTDECK_") for field in ("ledger", "journal", "sandbox_rate_scale")
    )
    config = settings(
        {
            "POSTFORME_API_KEY": "pfm-key",
            "LATE_API_KEY": "late-key",
            "POSTFORME_BASE_URL": "http://pfm.test",
            "LATE_BASE_URL": "http://late.test/api",
            "POSTFORME_WEBHOOK_SECRET": "pfm-hook",
            "LATE_WEBHOOK_SECRET": "late-hook",
            "ENCRYPTION_KEY": "fernet",
            "SUPABASE_URL": "https://x.supabase.co",
            "SUPABASE_SERVICE_ROLE_KEY": SECRET,
            "postforme_api_key": "lower case is another variable",
        }
    )
    assert config.postforme_api_key is not None and config.postforme_api_key.get_secret_value() == "pfm-key"
    assert config.get("LATE_API_KEY") == "late-key" and config.get("LATE_BASE_URL") == "http://late.test/api"
    assert (
        config.postforme_base_url == "http://pfm.test"
        and config.get("POSTFORME_WEBHOOK_SECRET") == "pfm-hook"
    )
    assert config.get("LATE_WEBHOOK_SECRET") == "late-hook" and config.get("ENCRYPTION_KEY") == "fernet"
    assert (
        config.supabase_url == "https://x.supabase.co" and config.get("SUPABASE_SERVICE_ROLE_KEY") == SECRET
    )
    assert SECRET not in repr(config)  # secrets are SecretStr


def test_the_flags_keep_their_meaning() -> None:
    assert settings({"POSTDECK_DEBUG": "1", "POSTDECK_NO_PROGRESS": "1", "FORCE_COLOR": "yes"}).debug
    off = settings({"POSTDECK_DEBUG": "true", "POSTDECK_NO_PROGRESS": "0"})
    assert not off.debug and not off.no_progress  # only "1" turns them on, as before


@pytest.mark.parametrize(
    ("variable", "bad", "expected"),
    [
        ("POSTDECK_ACCOUNT_LIST_MAX_AGE", "86401", "the seconds (0 to 86400)"),
        ("POSTDECK_ACCOUNT_LIST_MAX_AGE", "-1", "the seconds (0 to 86400)"),
        ("POSTDECK_ACCOUNT_LIST_MAX_AGE", "nan", "the seconds (0 to 86400)"),
        ("POSTDECK_PROVIDER_CONCURRENCY", "0", "a whole number of at least 1"),
        ("POSTDECK_PROVIDER_CONCURRENCY", "2.5", "a whole number of at least 1"),
        ("POSTDECK_SANDBOX_RATE_SCALE", "0", "a number above 0"),
        ("POSTDECK_SANDBOX_RATE_SCALE", "inf", "a number above 0"),
        ("POSTDECK_NOT_SENT_AFTER", "-1", "the seconds (0 to 604800)"),
        ("POSTDECK_NOT_SENT_AFTER", "inf", "the seconds (0 to 604800)"),
        ("POSTDECK_CLAIM_HEARTBEAT_TIMEOUT", "0", "the seconds (above 0, at most 900)"),
        ("POSTDECK_CLAIM_HEARTBEAT_TIMEOUT", "901", "the seconds (above 0, at most 900)"),
    ],
)
def test_a_value_out_of_bounds_is_refused_naming_the_variable(variable: str, bad: str, expected: str) -> None:
    with pytest.raises(SettingsError, match="^" + re.escape(f"{variable}='{bad}': expected {expected}")):
        settings({variable: bad})


def test_the_bounds_are_the_limits_the_code_relies_on() -> None:
    assert (
        settings({"POSTDECK_ACCOUNT_LIST_MAX_AGE": "86400"}).account_list_max_age
        == MAX_AGE_LIMIT.total_seconds()
    )
    assert settings({"POSTDECK_ACCOUNT_LIST_MAX_AGE": "0"}).account_list_max_age == 0


def test_every_setting_has_a_description() -> None:
    assert all(info.description for info in Settings.model_fields.values())


def test_the_current_environment_is_read_on_every_call(monkeypatch) -> None:
    monkeypatch.setenv("POSTDECK_LEDGER", "first.db")
    assert settings().ledger == Path("first.db")
    monkeypatch.setenv("POSTDECK_LEDGER", "second.db")
    assert settings().ledger == Path("second.db")


def test_the_global_keys_come_from_the_given_environment() -> None:
    links = chain_links(None, store=None, environ={"LATE_API_KEY": "late-key"})
    assert [link.label for link in links] == ["late:global"]


def test_the_report_masks_secrets_and_says_where_each_value_comes_from() -> None:
    rows = {
        row["variable"]: row
        for row in report({"SUPABASE_SERVICE_ROLE_KEY": SECRET, "ENCRYPTION_KEY": "short"})
    }
    assert rows["SUPABASE_SERVICE_ROLE_KEY"] == {
        "variable": "SUPABASE_SERVICE_ROLE_KEY",
        "value": f"sb_s…({len(SECRET)} chars)",
        "source": "environment",
        "description": Settings.model_fields["supabase_service_role_key"].description,
    }
    assert rows["ENCRYPTION_KEY"]["value"] == "set (5 chars)"
    assert (
        rows["POSTDECK_LEDGER"]["value"] == str(DEFAULT_PATH)
        and rows["POSTDECK_LEDGER"]["source"] == "default"
    )
    assert rows["LATE_API_KEY"]["value"] == "unset"


def test_postdeck_config_never_prints_a_secret(capsys, monkeypatch) -> None:
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", SECRET)
    monkeypatch.setenv("POSTFORME_API_KEY", "pfm_" + SECRET)
    monkeypatch.setenv("POSTDECK_PROVIDER_CONCURRENCY", "3")
    table = run_cli(capsys, "config")
    assert table.code == 0 and "POSTDECK_PROVIDER_CONCURRENCY" in table.out
    as_json = run_cli(capsys, "config", "--format", "json")
    assert as_json.code == 0
    for result in (table, as_json):
        assert SECRET not in result.out + result.err and SECRET[8:20] not in result.out + result.err
    rows = {row["variable"]: row for row in json.loads(as_json.out)}
    assert rows["POSTDECK_PROVIDER_CONCURRENCY"]["value"] == "3"
    assert rows["POSTDECK_PROVIDER_CONCURRENCY"]["source"] == "environment"
    assert rows["SUPABASE_SERVICE_ROLE_KEY"]["value"].startswith("sb_s…")


def test_postdeck_config_reports_a_bad_value_in_one_line(capsys, monkeypatch) -> None:
    monkeypatch.setenv("POSTDECK_SANDBOX_RATE_SCALE", "fast")
    result = run_cli(capsys, "config")
    assert result.code == 1 and "POSTDECK_SANDBOX_RATE_SCALE='fast'" in result.err
    assert "Traceback" not in result.err
