"""Render caption templates. Templates are untrusted input: Jinja's sandbox, StrictUndefined, NFC output."""

from __future__ import annotations

import unicodedata
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from postdeck.errors import CampaignError, Location

_ENV = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)


def render_caption(template: str, variables: dict[str, Any], *, location: Location, field: str) -> str:
    """Render one caption; any template problem becomes a CampaignError at the caption's location."""
    try:
        text = _ENV.from_string(template).render(**variables)
    except jinja2.TemplateSyntaxError as exc:
        # exc.lineno counts lines inside the template; block scalars start on the line after the key.
        line = (location.line or 1) + (exc.lineno - 1 if exc.lineno else 0)
        raise CampaignError(
            f"template syntax error: {exc.message}",
            location=Location(location.path, line, location.column if exc.lineno == 1 else None),
            field=field,
            fix="fix the Jinja syntax",
        ) from None
    except jinja2.UndefinedError as exc:
        raise CampaignError(
            f"template error: {exc.message}",
            location=location,
            field=field,
            fix="define the variable in `vars` (campaign or batch) or remove it",
        ) from None
    except jinja2.exceptions.SecurityError as exc:
        raise CampaignError(
            f"template not allowed: {exc}", location=location, field=field, fix="remove the unsafe expression"
        ) from None
    except (jinja2.TemplateError, ArithmeticError, TypeError, ValueError, RecursionError) as exc:
        raise CampaignError(f"template error: {exc}", location=location, field=field) from None
    return unicodedata.normalize("NFC", text.strip())
