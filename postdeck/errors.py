"""The one exception tree of postdeck.

    PostdeckError                 root: the CLI catches only this (one red line, exit 1)
    ├── CampaignError             a campaign file is wrong: file, line, column, field, and how to fix it
    │   └── CampaignErrors        several CampaignError of one file, reported together
    ├── ProviderError             a provider call failed: provider, method, url, status, request id
    │   ├── ProviderNotSent       nothing reached the provider (connect error, pool timeout): failover is safe
    │   ├── ProviderRejected      the provider refused the request (4xx other than 408/429)
    │   ├── ProviderThrottled     429: wait as told, then retry the same provider
    │   └── ProviderMaybeSent     the request may have been processed (read timeout, 5xx on create)
    ├── CredentialsError          no key, a wrong ENCRYPTION_KEY, a corrupted stored key
    ├── LedgerError               the ledger cannot be read or written
    ├── MissingExtra              a command needs an optional part of postdeck that is not installed
    └── PlanError                 a plan cannot be made or applied
        └── StalePlanError        a saved plan no longer matches the ledger

Messages never carry a secret: provider errors hold a redacted body and no request headers.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass


class PostdeckError(Exception):
    """Root of every error postdeck raises on purpose."""


@dataclass(frozen=True)
class Location:
    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.path]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class CampaignError(PostdeckError):
    """A campaign file is wrong. Always says where (file:line:column), which field, and what to change."""

    def __init__(self, message: str, *, location: Location, field: str = "", fix: str = "") -> None:
        self.message = message
        self.location = location
        self.field = field
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location.path else ""
        field = f"{self.field}: " if self.field else ""
        fix = f" ({self.fix})" if self.fix else ""
        return f"{where}{field}{self.message}{fix}"

    def __reduce__(self):  # keep keyword-only construction picklable (Prefect pickles task errors)
        return (_rebuild_campaign_error, (self.message, self.location, self.field, self.fix))


def _rebuild_campaign_error(message: str, location: Location, field: str, fix: str) -> CampaignError:
    return CampaignError(message, location=location, field=field, fix=fix)


class CampaignErrors(CampaignError):
    """Every error found in one or more campaign files, reported at once."""

    def __init__(self, errors: list[CampaignError]) -> None:
        self.errors = list(errors)
        first = self.errors[0]
        CampaignError.__init__(self, first.message, location=first.location, field=first.field, fix=first.fix)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)

    def __reduce__(self):
        return (CampaignErrors, (self.errors,))


class CredentialsError(PostdeckError):
    """Credentials are missing, undecryptable or unusable. Never includes the key itself."""


class LedgerError(PostdeckError):
    """The ledger (SQLite or Supabase) could not be read or written."""


class PlanError(PostdeckError):
    """A plan could not be made or applied."""


class StalePlanError(PlanError):
    """The ledger changed since the saved plan was made: plan again."""


class MissingExtra(PostdeckError):
    """A command needs an optional dependency group (`pip install 'postdeck[prefect]'`) that is missing.

    The light install (validate, plan, the CLI) has neither Prefect nor supabase-py: the commands that
    need one say which extra brings it instead of failing with an ImportError deep in a run."""

    @classmethod
    def require(cls, module: str, *, extra: str, needed_for: str) -> None:
        if importlib.util.find_spec(module) is None:
            raise cls(f"{needed_for} needs {module}, which is not installed: pip install 'postdeck[{extra}]'")
