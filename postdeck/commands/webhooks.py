"""`postdeck webhooks`: serve the providers' webhook receivers (postdeck/webhooks.py) over HTTP."""

from __future__ import annotations

from typing import Annotated

import typer

from postdeck.commands import common
from postdeck.commands.common import app


@app.command()
def webhooks(
    host: Annotated[str, typer.Option(help="Address to listen on (behind your TLS proxy).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8710,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox",
            help="Follow posts up at the simulators of POSTDECK_SANDBOX_POSTFORME_URL / _LATE_URL.",
        ),
    ] = False,
) -> None:
    """Receive PostForMe and LATE webhooks and record the outcomes they bring in the ledger.

    POST /webhooks/postforme checks the Post-For-Me-Webhook-Secret header against
    POSTFORME_WEBHOOK_SECRET; POST /webhooks/late checks the HMAC signature with LATE_WEBHOOK_SECRET.
    A receiver whose secret is not set refuses every request.
    """
    import uvicorn

    from postdeck.chain_factory import SANDBOX_URL_ENV
    from postdeck.errors import CredentialsError
    from postdeck.ledger import open_ledger
    from postdeck.settings import settings
    from postdeck.webhooks import create_app

    config = settings()
    if sandbox and not all(config.get(name) for name in SANDBOX_URL_ENV):
        # An embedded sandbox would be a new, empty one: it knows none of the posts being followed up.
        raise CredentialsError(
            f"--sandbox needs the running simulators' addresses in {' and '.join(SANDBOX_URL_ENV)}"
        )
    missing = [name for name in ("POSTFORME_WEBHOOK_SECRET", "LATE_WEBHOOK_SECRET") if not config.get(name)]
    for name in missing:
        common.err_console.print(f"warning: {name} is not set: that provider's webhooks will be refused")
    ledger = open_ledger()
    with _Chains(ledger, sandbox=sandbox) as chains:
        app_ = create_app(ledger, chain_for=chains.for_owner)
        common.console.print(f"receiving webhooks on http://{host}:{port}/webhooks/{{postforme,late}}")
        uvicorn.run(app_, host=host, port=port, log_level="warning")


class _Chains:
    """One provider chain per owner, opened on first use and closed when the server stops."""

    def __init__(self, ledger: object, *, sandbox: bool) -> None:
        from contextlib import ExitStack

        self.ledger, self.sandbox, self.stack = ledger, sandbox, ExitStack()
        self.chains: dict[str | None, object] = {}

    def for_owner(self, owner: str | None):
        from postdeck.service.chains import service_chain

        if owner not in self.chains:
            self.chains[owner] = self.stack.enter_context(
                service_chain(owner, self.ledger, sandbox=self.sandbox)
            )
        return self.chains[owner]

    def __enter__(self) -> _Chains:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.close()
