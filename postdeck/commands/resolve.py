"""`postdeck resolve`: a person's decision about an `unknown` delivery, recorded with who and why."""

from __future__ import annotations

from typing import Annotated

import typer

from postdeck.commands import common
from postdeck.commands.common import app


@app.command()
def resolve(
    key: Annotated[str, typer.Argument(help="The delivery key (from `postdeck history`).")],
    posted: Annotated[
        str | None, typer.Option("--posted", metavar="URL", help="It went out: the post's address.")
    ] = None,
    not_posted: Annotated[
        bool, typer.Option("--not-posted", help="It never went out: the next publish sends it.")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="Why (kept in the ledger with who decided).")] = None,
) -> None:
    """Settle an unknown delivery by hand: posted (with its URL) or not posted (sent by the next publish).

    The only way out of `unknown` besides the follow-up finding it at a provider.
    Example: postdeck resolve example/announce/twitter --not-posted --reason "not on the profile"
    """
    from postdeck.engine.resolve import resolve as record_decision
    from postdeck.errors import PostdeckError
    from postdeck.ledger.factory import open_ledger

    if (posted is None) == (not not_posted):
        raise PostdeckError("say which: --posted URL or --not-posted --reason TEXT")
    if not_posted and not reason:
        raise PostdeckError("--not-posted needs --reason TEXT: why it never went out")
    record = record_decision(
        open_ledger(),
        key,
        posted_url=posted,
        reason=reason or f"seen at {posted}",
        who=_who(),
    )
    common.console.print(f"{record.key}: {record.status} ({record.error})", highlight=False)


def _who() -> str:
    """The person deciding: git's user.name <user.email>, else $USER."""
    import getpass
    import subprocess

    found = []
    for name in ("user.name", "user.email"):
        try:
            done = subprocess.run(["git", "config", name], capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            continue
        found.append(done.stdout.strip() if done.returncode == 0 else "")
    name, email = [*found, "", ""][:2]
    if name or email:
        return f"{name} <{email}>" if name and email else name or email
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown user"
