"""The test project's API keys, one of each kind Supabase issues (see postdeck/ledger/supabase_keys.py).

The JWTs are signed with JWT_SECRET (HS256, as a project's legacy shared secret signs them); the
PostgREST stand-in checks the signature as the gateway and PostgREST do, so a forged token is refused.
"""

from __future__ import annotations

from postdeck.ledger.supabase_keys import mint_jwt

JWT_SECRET = "test-jwt-secret-with-at-least-32-characters"
SECRET_KEY = "sb_secret_test0000000000000000000000"
PUBLISHABLE_KEY = "sb_publishable_test000000000000000000"
LEGACY_SERVICE_KEY = mint_jwt(
    JWT_SECRET, {"role": "service_role", "iss": "supabase"}, days=36500, now=1_700_000_000
)
LEGACY_ANON_KEY = mint_jwt(JWT_SECRET, {"role": "anon", "iss": "supabase"}, days=36500, now=1_700_000_000)
# What the gateway knows: each project key and the role it runs a request as when no JWT comes with it.
PROJECT_KEYS = {
    SECRET_KEY: "service_role",
    PUBLISHABLE_KEY: "anon",
    LEGACY_SERVICE_KEY: "service_role",
    LEGACY_ANON_KEY: "anon",
}
# The two server keys the contract suite runs with.
SERVER_KEYS = {"secret": SECRET_KEY, "legacy": LEGACY_SERVICE_KEY}


def user_token(user_id: str) -> str:
    return mint_jwt(JWT_SECRET, {"role": "authenticated", "sub": user_id}, days=36500, now=1_700_000_000)
