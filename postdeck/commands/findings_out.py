"""Validation findings as machines read them: a JSON document, and GitHub Actions annotations
(`::error file=…,line=…,col=…,title=…::message`) that show on the pull request's diff."""

from __future__ import annotations

import os
from collections.abc import Iterable

from postdeck.errors import CampaignError


def finding_json(error: CampaignError, severity: str) -> dict[str, object]:
    where = error.location
    return {
        "severity": severity,
        "file": where.path,
        "line": where.line,
        "column": where.column,
        "field": error.field,
        "message": error.message,
        "fix": error.fix,
    }


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def github_annotations(errors: Iterable[CampaignError], warnings: Iterable[CampaignError]) -> list[str]:
    """One workflow command per finding; properties and message escaped as GitHub documents."""
    lines = []
    for severity, items in (("error", errors), ("warning", warnings)):
        for item in items:
            where = item.location
            props = [f"file={_property(where.path)}"]
            if where.line is not None:
                props.append(f"line={where.line}")
                if where.column is not None:
                    props.append(f"col={where.column}")
            if item.field:
                props.append(f"title={_property(item.field)}")
            text = item.message + (f" ({item.fix})" if item.fix else "")
            lines.append(f"::{severity} {','.join(props)}::{_data(text)}")
    return lines


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
