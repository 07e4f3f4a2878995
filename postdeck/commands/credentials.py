"""`postdeck credentials set|show|delete|rotate|refresh`: users' provider keys, encrypted at rest.

A key never comes from a command-line argument (it would land in the shell history): it is read
from a hidden prompt, from standard input, or from an environment variable named with --from-env.
Nothing here ever prints a key.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from postdeck.commands import common
from postdeck.commands.common import app
from postdeck.commands.tables import print_table
from postdeck.errors import CredentialsError

credentials_app = typer.Typer(
    help="Users' PostForMe and LATE API keys, encrypted with ENCRYPTION_KEY in the ledger database.",
    no_args_is_help=True,
)
app.add_typer(credentials_app, name="credentials")

UserOpt = Annotated[str, typer.Option("--user", help="The user's id (a Supabase user id in production).")]
ProviderOpt = Annotated[str, typer.Option("--provider", help="postforme or late.")]


def _store():
    from postdeck.chain_factory import credential_store
    from postdeck.ledger.factory import open_backend

    return credential_store(open_backend())


def _read_key(from_env: str | None) -> str:
    if from_env:
        value = os.environ.get(from_env, "").strip()  # a variable the user names, not a setting
        if not value:
            raise CredentialsError(f"environment variable {from_env} is not set or empty")
        return value
    if sys.stdin.isatty():
        return typer.prompt("API key", hide_input=True).strip()
    return sys.stdin.read().strip()


@credentials_app.command("set")
def set_key(
    user: UserOpt,
    provider: ProviderOpt,
    from_env: Annotated[
        str | None, typer.Option("--from-env", help="Read the key from this environment variable.")
    ] = None,
    platforms: Annotated[
        str | None, typer.Option(help="Connected platforms, comma-separated (else: `credentials refresh`).")
    ] = None,
) -> None:
    """Save a user's API key for one provider (asked for without echo, or read from stdin).

    Example: postdeck credentials set --user 6f1c… --provider postforme --from-env POSTFORME_API_KEY
    """
    key = _read_key(from_env)
    chosen = [p.strip() for p in (platforms or "").split(",") if p.strip()]
    _store().save(user, provider, key, chosen)
    common.console.print(f"saved the {provider} key of user {user} (encrypted)", highlight=False)


@credentials_app.command()
def show(user: UserOpt) -> None:
    """Which providers have a key for a user, and whether each one can be decrypted. Never the key.
    Exits 1 when a stored key cannot be read (publishing would skip that provider).

    Example: postdeck credentials show --user 6f1c…
    """
    statuses = _store().status(user)
    from rich.table import Table

    table = Table(title=f"credentials of {user}")
    for column in ("provider", "connected platforms", "updated", "key"):
        table.add_column(column, overflow="fold")
    for status in statuses:
        table.add_row(
            status.provider,
            ", ".join(status.connected_platforms) or "-",
            status.updated_at.isoformat(timespec="seconds") if status.updated_at else "",
            "set" if status.problem is None else "[red]unreadable[/red]",
        )
    print_table(table)
    for status in statuses:
        if status.problem:
            common.console.print(
                f"[red]{status.provider}:[/red] {status.problem}", highlight=False, soft_wrap=True
            )
    if any(status.problem for status in statuses):
        raise typer.Exit(1)


@credentials_app.command()
def delete(user: UserOpt, provider: ProviderOpt) -> None:
    """Delete a user's key for one provider.

    Example: postdeck credentials delete --user 6f1c… --provider late
    """
    if not _store().delete(user, provider):
        raise CredentialsError(f"user {user} has no {provider} key to delete")
    common.console.print(f"deleted the {provider} key of user {user}", highlight=False)


@credentials_app.command()
def rotate() -> None:
    """Re-encrypt every stored key with the newest ENCRYPTION_KEY (the first of the comma-separated list).

    Example: ENCRYPTION_KEY=new,old postdeck credentials rotate   (then drop `old`)
    """
    count = _store().rotate()
    common.console.print(
        f"re-encrypted {count} keys with the newest ENCRYPTION_KEY; older keys may now be removed"
    )


@credentials_app.command()
def refresh(user: UserOpt) -> None:
    """Ask each provider which social accounts the user has connected, and store their platforms.

    Example: postdeck credentials refresh --user 6f1c…
    """
    for provider, platforms in _store().refresh_connected_platforms(user).items():
        common.console.print(
            f"{provider}: {', '.join(platforms) or 'no connected accounts'}", highlight=False
        )
