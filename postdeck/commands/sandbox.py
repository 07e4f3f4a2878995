"""`postdeck sandbox`: both provider simulators in the foreground."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from postdeck.commands import common
from postdeck.commands.common import app


@app.command()
def sandbox(
    postforme_port: Annotated[int, typer.Option(help="Port of the PostForMe simulator.")] = 8701,
    late_port: Annotated[int, typer.Option(help="Port of the LATE simulator.")] = 8702,
    faults: Annotated[
        Path | None,
        typer.Option(
            help="A fault plan (YAML or JSON): `{postforme: plan, late: plan}` or one plan for both. "
            "See providers/sim/faults.py; change it later with POST /_sim/faults.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    tick: Annotated[
        float,
        typer.Option(
            help="Seconds between scheduler runs that publish due scheduled posts (0: only POST /_sim/tick)."
        ),
    ] = 120.0,
) -> None:
    """Run both provider simulators on 127.0.0.1 in the foreground (Ctrl-C stops them).

    Example: postdeck sandbox --postforme-port 8701 --late-port 8702 --faults tests/fault_plans/chaos.yaml
    """
    from postdeck.errors import PostdeckError
    from postdeck.providers.sim.faults import load_plans
    from postdeck.providers.sim.sandbox import SANDBOX_LATE_KEY, SANDBOX_POSTFORME_KEY, start_sandbox

    try:
        plans = load_plans(faults) if faults else None
    except ValueError as exc:  # pydantic's ValidationError is one
        raise PostdeckError(f"{faults}: not a fault plan: {exc}") from None
    box = start_sandbox(
        postforme_port=postforme_port, late_port=late_port, faults=plans, tick_interval=tick or None
    )
    common.console.print(f"POSTFORME_BASE_URL={box.postforme_url}  POSTFORME_API_KEY={SANDBOX_POSTFORME_KEY}")
    common.console.print(f"LATE_BASE_URL={box.late_url}  LATE_API_KEY={SANDBOX_LATE_KEY}")
    if plans:
        for name, plan in plans.items():
            common.console.print(f"{name}: {len(plan.rules)} fault rule(s), seed {plan.seed}")
    common.console.print("simulators running; Ctrl-C to stop")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        box.stop()
