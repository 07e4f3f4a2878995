"""The seed's promise: no method of SocialPostingService raises for provider or database trouble.

Trouble comes back as a value (a failed PostResult, None, False, an empty list) and is logged. A bug is
not dressed as trouble: it is logged with its traceback and reported as an internal error."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from postdeck.errors import PostdeckError
from postdeck.service.results import PostResult

log = logging.getLogger("postdeck.service")
T = TypeVar("T")
INTERNAL_ERROR = "internal error in postdeck, not a provider failure"


def never_raises(default: Callable[[Exception], Any]):
    """The seed's promise: provider and database trouble come back as a value, never as an exception."""

    def decorate(method: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> T:
            try:
                return method(self, *args, **kwargs)
            except PostdeckError as exc:
                log.error("%s: %s", method.__name__, exc)
                return default(exc)
            except Exception as exc:  # a bug or an unexpected library error: still the seed's promise
                log.exception("%s failed unexpectedly", method.__name__)
                return default(exc)

        return wrapper

    return decorate


def failure(exc: Exception) -> PostResult:
    if isinstance(exc, PostdeckError):
        return PostResult.failure(str(exc))
    # A bug is not a provider's or the user's fault: say so, so nobody retries or rewrites the post for it.
    return PostResult.failure(f"{INTERNAL_ERROR} ({type(exc).__name__}: {exc}); the log has its traceback")
