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
            "See postdeck/sandbox/faults.py; change it later with POST /_sim/faults.",
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
    rate_limits: Annotated[
        bool,
        typer.Option(
            "--rate-limits",
            help="Enforce the vendors' documented rate limits: PostForMe's 5 a second and 40 a minute per "
            "key, LATE's 60 a minute (its lowest tier). Without it PostForMe enforces none, LATE 600 a minute.",
        ),
    ] = False,
    rate_scale: Annotated[
        float | None,
        typer.Option(
            help="Divide every --rate-limits window's seconds by this (implies --rate-limits; 1, the default: "
            "the real limits; 10: 40 a minute becomes 40 per 6 s). Give the --sandbox clients the same "
            "POSTDECK_SANDBOX_RATE_SCALE.",
        ),
    ] = None,
) -> None:
    """Run both provider simulators on 127.0.0.1 in the foreground (Ctrl-C stops them).

    Example: postdeck sandbox --postforme-port 8701 --late-port 8702 --faults tests/fault_plans/chaos.yaml

    Example: postdeck sandbox --rate-limits --rate-scale 10
    """
    from postdeck.errors import PostdeckError
    from postdeck.sandbox.faults import load_plans
    from postdeck.sandbox.sandbox import (
        SANDBOX_LATE_KEY,
        SANDBOX_POSTFORME_KEY,
        check_rate_scale,
        start_sandbox,
    )

    try:
        rate_scale = None if rate_scale is None else check_rate_scale(rate_scale)
    except ValueError:
        raise PostdeckError(
            f"--rate-scale {rate_scale:g}: expected a number above 0 that divides the documented rate-limit "
            "windows (e.g. 10: PostForMe's 40 a minute becomes 40 per 6 s; 1: the real limits)"
        ) from None
    scale = rate_scale if rate_scale is not None else 1.0 if rate_limits else None  # None: no limits
    try:
        plans = load_plans(faults) if faults else None
    except ValueError as exc:  # pydantic's ValidationError is one
        raise PostdeckError(f"{faults}: not a fault plan: {exc}") from None
    box = start_sandbox(
        postforme_port=postforme_port,
        late_port=late_port,
        faults=plans,
        tick_interval=tick or None,
        rate_scale=scale,
    )
    common.console.print(f"POSTFORME_BASE_URL={box.postforme_url}  POSTFORME_API_KEY={SANDBOX_POSTFORME_KEY}")
    common.console.print(f"LATE_BASE_URL={box.late_url}  LATE_API_KEY={SANDBOX_LATE_KEY}")
    if scale is not None:
        from postdeck.chain_factory import SANDBOX_RATE_SCALE_ENV, SANDBOX_URL_ENV

        postforme = ", ".join(f"{limit.limit} per {limit.window:g} s" for limit in box.postforme.rate_limits)
        common.console.print(
            f"rate limits per key (documented, windows ÷ {scale:g}): PostForMe {postforme}; "
            f"LATE {box.late.rate_limit} per {box.late.rate_window:g} s",
            highlight=False,
            soft_wrap=True,
        )
        postforme_env, late_env = SANDBOX_URL_ENV
        common.console.print(
            f"for --sandbox clients that pace themselves alike: {postforme_env}={box.postforme_url}  "
            f"{late_env}={box.late_url}  {SANDBOX_RATE_SCALE_ENV}={_exact(scale)}",
            highlight=False,
            soft_wrap=True,
        )
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


def _exact(number: float) -> str:
    """`number` as text that reads back as the same float (10.0: "10")."""
    return str(int(number)) if number.is_integer() else repr(number)
