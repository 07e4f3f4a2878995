"""Which Supabase key is which, and how each kind travels to the project's API gateway.

Supabase has two generations of API keys (https://supabase.com/docs/guides/api/api-keys):
- the new opaque keys: `sb_secret_…` (servers; the gateway runs the request as service_role) and
  `sb_publishable_…` (clients; anon). They are not JWTs: the gateway reads them from the `apikey`
  header only, and PostgREST refuses one sent as `Authorization: Bearer` ("PGRST301 Expected 3 parts
  in JWT; got 1").
- the legacy JWT keys `service_role` and `anon` (being retired), which travel as both `apikey` and
  `Authorization: Bearer`, PostgREST reading the role from the JWT.

supabase-py (up to at least 2.34) sends any key as both headers, which breaks the new keys: reported as
supabase-py issues #1228 and #1230 (PGRST301 against `supabase start`). supabase-js fixed the same in
supabase-js #1293 ("do not send non-JWTs in the Authorization header"), whose review notes the hosted
gateway reads `apikey` alone. So for an `sb_` key the ledger's HTTP client drops the Authorization header
supabase-py adds (`apikey_only`), whatever the supabase-py version.

The read-only path of `postdeck plan`: the publishable (or legacy anon) key as `apikey` plus a JWT whose
`role` claim is `postdeck_planner` (migration 20261207000001) as the bearer token. `mint_plan_token`
makes one from the project's JWT secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from postdeck.errors import LedgerError

if TYPE_CHECKING:  # the factory imports this module: `postdeck plan` on SQLite loads no HTTP library
    import httpx

    from postdeck.settings import Settings

PLANNER_ROLE = "postdeck_planner"
# Where a server's key is read from, first found wins: the new secret key, then the legacy JWT one
# (deprecated: Supabase retires the legacy keys; new projects have only the new ones).
SERVER_KEY_VARIABLES = ("SUPABASE_SECRET_KEY", "SUPABASE_SERVICE_ROLE_KEY")


class KeyKind(StrEnum):
    SECRET = "secret"  # sb_secret_…
    PUBLISHABLE = "publishable"  # sb_publishable_…
    SERVICE_ROLE_JWT = "service_role"  # legacy JWT, role service_role
    ANON_JWT = "anon"  # legacy JWT, role anon
    ROLE_JWT = "jwt"  # any other JWT (a user's session, the planner token)
    OPAQUE = "opaque"  # none of Supabase's shapes (a self-hosted gateway's own key): sent as given


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT, unverified (only to tell keys apart: the gateway verifies), or None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None


def key_kind(key: str) -> KeyKind:
    if key.startswith("sb_secret_"):
        return KeyKind.SECRET
    if key.startswith("sb_publishable_"):
        return KeyKind.PUBLISHABLE
    claims = jwt_claims(key)
    if claims is None:
        return KeyKind.OPAQUE
    role = claims.get("role")
    if role == "service_role":
        return KeyKind.SERVICE_ROLE_JWT
    if role == "anon":
        return KeyKind.ANON_JWT
    return KeyKind.ROLE_JWT


def server_key(config: Settings) -> tuple[str, str] | None:
    """(the key, the variable it came from) for a server, or None when neither is set."""
    for variable in SERVER_KEY_VARIABLES:
        value = config.get(variable)
        if value:
            return value, variable
    return None


def require_secret(key: str, variable: str) -> KeyKind:
    """The kind of a key that must write the ledger; a LedgerError (never showing the key) otherwise."""
    kind = key_kind(key)
    if kind in (KeyKind.PUBLISHABLE, KeyKind.ANON_JWT):
        raise LedgerError(
            f"{variable} holds a {'publishable' if kind == KeyKind.PUBLISHABLE else 'legacy anon'} key, "
            "which Row Level Security keeps from the ledger: set a secret key (sb_secret_…, Project "
            "Settings → API Keys) in SUPABASE_SECRET_KEY"
        )
    if kind == KeyKind.ROLE_JWT:
        role = (jwt_claims(key) or {}).get("role")
        hint = " (the read-only plan token belongs in SUPABASE_PLAN_TOKEN)" if role == PLANNER_ROLE else ""
        raise LedgerError(
            f"{variable} holds a JWT for the role {role!r}, not a secret key{hint}: set a secret key "
            "(sb_secret_…) in SUPABASE_SECRET_KEY"
        )
    return kind


def require_plan_token(token: str, apikey: str) -> None:
    """The read-only path's pair: a publishable/anon apikey and a planner JWT."""
    if key_kind(apikey) not in (KeyKind.PUBLISHABLE, KeyKind.ANON_JWT, KeyKind.OPAQUE):
        raise LedgerError(
            "SUPABASE_PUBLISHABLE_KEY must be the publishable key (sb_publishable_…) or the legacy anon "
            "key: a secret key there would let a plan job write"
        )
    role = (jwt_claims(token) or {}).get("role")
    if role != PLANNER_ROLE:
        raise LedgerError(
            f"SUPABASE_PLAN_TOKEN must be a JWT with the role claim {PLANNER_ROLE!r} (see the README, "
            "'Run against Supabase')"
        )


def apikey_only(client: httpx.Client, apikey: str) -> None:
    """On requests carrying the opaque `apikey`, drop `Authorization: Bearer <that key>` (see above).

    A request hook on the ledger's own HTTP client, so it holds for every supabase-py version."""

    def strip(request: httpx.Request) -> None:
        if request.headers.get("authorization") == f"Bearer {apikey}":
            del request.headers["authorization"]

    hooks = client.event_hooks
    client.event_hooks = {**hooks, "request": [*hooks.get("request", []), strip]}


def mint_plan_token(jwt_secret: str, *, days: float = 90, now: float | None = None) -> str:
    """A JWT for the planner role, signed with the project's JWT secret (the legacy shared secret; on a
    project using asymmetric signing keys only, sign with an imported key instead)."""
    return mint_jwt(jwt_secret, {"role": PLANNER_ROLE, "iss": "postdeck"}, days=days, now=now)


def mint_jwt(secret: str, claims: dict[str, Any], *, days: float, now: float | None = None) -> str:
    """An HS256 JWT of `claims` with iat and exp (stdlib only: no JWT library is needed for this)."""
    issued = int(time.time() if now is None else now)
    payload = {**claims, "iat": issued, "exp": issued + int(days * 86400)}
    header = {"alg": "HS256", "typ": "JWT"}
    signing_input = b".".join(
        _b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, payload)
    )
    return (signing_input + b"." + _b64(jwt_signature(secret, signing_input))).decode()


def jwt_signature(secret: str, signing_input: bytes) -> bytes:
    return hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()


def _b64(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")
