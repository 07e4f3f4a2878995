"""The seed API never raises, but a bug in postdeck is reported as an internal error with its traceback
in the log, never dressed as a provider failure; postdeck's own errors keep their message."""

from __future__ import annotations

import logging

import pytest

from postdeck.errors import PlanError
from postdeck.service import SocialPostingService
from postdeck.service.never_raises import INTERNAL_ERROR


def _service(monkeypatch: pytest.MonkeyPatch, error: Exception) -> SocialPostingService:
    def broken(self: SocialPostingService, *args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(SocialPostingService, "post", broken)
    return SocialPostingService(sandbox=True)


def test_a_bug_comes_back_as_an_internal_error_with_its_traceback_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    service = _service(monkeypatch, TypeError("'NoneType' object is not subscriptable"))
    with caplog.at_level(logging.ERROR, logger="postdeck.service"):
        result = service.create_post(None, "hello", ["twitter"])
    assert not result.success
    assert result.error is not None and result.error.startswith(INTERNAL_ERROR)
    assert "TypeError" in result.error
    assert any(record.exc_info for record in caplog.records)  # the traceback is in the log


def test_a_postdeck_error_keeps_its_own_message(monkeypatch: pytest.MonkeyPatch) -> None:
    error = PlanError("the saved plan no longer matches the campaign")
    result = _service(monkeypatch, error).create_post(None, "hello", ["twitter"])
    assert not result.success
    assert result.error == str(error)
    assert INTERNAL_ERROR not in result.error
