"""`postdeck sandbox`: both provider simulators in the foreground."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from postdeck.commands.common import app, console


@app.command()
def sandbox(
    postforme_port: Annotated[int, typer.Option(help="Port of the PostForMe simulator.")] = 8701,
    late_port: Annotated[int, typer.Option(help="Port of the LATE simulator.")] = 8702,
) -> None:
    """Run both provider simulators on 127.0.0.1 in the foreground (Ctrl-C stops them).

    Example: postdeck sandbox --postforme-port 8701 --late-port 8702
    """
    from postdeck.providers.sim.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, start_sandbox

    box = start_sandbox(postforme_port=postforme_port, late_port=late_port)
    console.print(f"POSTFORME_BASE_URL={box.postforme_url}  POSTFORME_API_KEY={SANDBOX_POSTFORME_KEY}")
    console.print(f"LATE_BASE_URL={box.late_url}  LATE_API_KEY={SANDBOX_LATE_KEY}")
    console.print("simulators running; Ctrl-C to stop")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        box.stop()
