"""The `postdeck` command line. Thin: parse, call the same functions the flows call, print with rich.

Each command lives in postdeck/commands/. Heavy imports (Prefect, provider clients) happen inside the
commands that need them, so that `validate` and `plan` start fast enough for a pre-commit hook.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

import typer

from postdeck import commands
from postdeck.commands.common import app, err_console
from postdeck.errors import PostdeckError


def _register_commands() -> None:
    """Import every module of postdeck.commands: each registers its commands on the shared app."""
    for module in pkgutil.iter_modules(commands.__path__):
        importlib.import_module(f"{commands.__name__}.{module.name}")


_register_commands()


def main() -> None:
    """Entry point: one red line for a PostdeckError, the traceback only with POSTDECK_DEBUG=1."""
    try:
        # Without standalone mode click returns a command's exit code (typer.Exit) instead of exiting.
        code = app(standalone_mode=False)
    except PostdeckError as exc:
        if os.environ.get("POSTDECK_DEBUG") == "1":
            raise
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":
    main()
