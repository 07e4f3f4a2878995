"""The settings of the services postdeck talks to, under the names their documentation uses
(POSTFORME_API_KEY, SUPABASE_URL, …): the providers' keys, addresses and webhook secrets, and the
Supabase ledger's project and keys. postdeck.settings.Settings gathers them with the others.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

from postdeck.settings_local import env_name


class ProviderSettings(BaseModel):
    """PostForMe and LATE: the global keys, the API addresses, the webhook secrets, and the key that
    encrypts the users' stored provider keys."""

    postforme_api_key: SecretStr | None = Field(
        None,
        validation_alias=env_name("POSTFORME_API_KEY"),
        description=("the global PostForMe key (after the owner's stored keys in the failover chain)"),
    )
    late_api_key: SecretStr | None = Field(
        None,
        validation_alias=env_name("LATE_API_KEY"),
        description=("the global LATE key (last in the failover chain)"),
    )
    postforme_base_url: str | None = Field(
        None,
        validation_alias=env_name("POSTFORME_BASE_URL"),
        description=("PostForMe's API address (unset: the real one)"),
    )
    late_base_url: str | None = Field(
        None,
        validation_alias=env_name("LATE_BASE_URL"),
        description=("LATE's API address (unset: the real one)"),
    )
    postforme_webhook_secret: SecretStr | None = Field(
        None,
        validation_alias=env_name("POSTFORME_WEBHOOK_SECRET"),
        description=("checked against PostForMe's webhook header (unset: its webhooks are refused)"),
    )
    late_webhook_secret: SecretStr | None = Field(
        None,
        validation_alias=env_name("LATE_WEBHOOK_SECRET"),
        description=("the HMAC key of LATE's webhook signatures (unset: its webhooks are refused)"),
    )
    encryption_key: SecretStr | None = Field(
        None,
        validation_alias=env_name("ENCRYPTION_KEY"),
        description=(
            "Fernet keys (comma-separated, newest first) encrypting the users' stored provider keys"
        ),
    )


class SupabaseSettings(BaseModel):
    """The Supabase project of the ledger and its keys."""

    supabase_url: str | None = Field(
        None,
        validation_alias=env_name("SUPABASE_URL"),
        description=("the Supabase project of the ledger (with a secret key or the plan token; else SQLite)"),
    )
    supabase_secret_key: SecretStr | None = Field(
        None,
        validation_alias=env_name("SUPABASE_SECRET_KEY"),
        description=("Supabase's secret key (sb_secret_…): publishing, sync, the API (sent as apikey only)"),
    )
    supabase_service_role_key: SecretStr | None = Field(
        None,
        validation_alias=env_name("SUPABASE_SERVICE_ROLE_KEY"),
        description=(
            "Supabase's legacy JWT service-role key (deprecated: Supabase retires the legacy keys; "
            "SUPABASE_SECRET_KEY wins when both are set)"
        ),
    )
    supabase_publishable_key: SecretStr | None = Field(
        None,
        validation_alias=env_name("SUPABASE_PUBLISHABLE_KEY"),
        description=(
            "Supabase's publishable key (sb_publishable_…, or the legacy anon key): the read-only plan path's apikey"
        ),
    )
    supabase_plan_token: SecretStr | None = Field(
        None,
        validation_alias=env_name("SUPABASE_PLAN_TOKEN"),
        description=(
            "a JWT with role postdeck_planner: `postdeck plan` reads deliveries with it, nothing can write"
        ),
    )
    supabase_jwt_secret: SecretStr | None = Field(
        None,
        validation_alias=env_name("SUPABASE_JWT_SECRET"),
        description=(
            "the project's JWT secret, only to mint SUPABASE_PLAN_TOKEN (python -m postdeck.ledger.plan_token)"
        ),
    )
