"""The `postdeck` command line. Thin: parse, call the same functions the flows call, print with rich.

Each command lives in postdeck/commands/. Heavy imports (Prefect, provider clients) happen inside the
commands that need them, so that `validate` and `plan` start fast enough for a pre-commit hook.
"""

from __future__ import annotations

import copy
import importlib
import pkgutil
import sys

import typer
from typer.main import get_command_name
from typer.models import CommandInfo, TyperInfo

from postdeck import commands
from postdeck.commands import common
from postdeck.commands.common import app
from postdeck.errors import PostdeckError


def _register_commands() -> None:
    """Import every module of postdeck.commands: each registers its commands on the shared app.
    A module named _x is not a command but what several share (and may be heavy): skipped here."""
    for module in pkgutil.iter_modules(commands.__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{commands.__name__}.{module.name}")


_register_commands()


def app_for(args: list[str]) -> typer.Typer:
    """The app for `args`, holding only the command they name: typer inspects the signature and
    type hints of every registered command at each start (~30 ms that `validate` in a pre-commit
    hook need not pay). The whole app for help, completion, or a name it does not know."""
    name = args[0] if args else ""
    commands = [c for c in app.registered_commands if _command_name(c) == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if len(commands) + len(groups) != 1:
        return app
    only = copy.copy(app)
    only.registered_commands, only.registered_groups = commands, groups
    if commands and not (app.registered_callback or app.info.callback):
        # Alone, typer would run the command as the program itself (no `validate` in argv or usage).
        only.registered_callback = TyperInfo(callback=_group)
    return only


def _command_name(info: CommandInfo) -> str:
    return info.name or (get_command_name(info.callback.__name__) if info.callback else "")


def _group() -> None:
    """Stands in for the group's callback (it has none) in `app_for`'s one-command app."""


def main() -> None:
    """Entry point: one red line for a PostdeckError, the traceback only with POSTDECK_DEBUG=1."""
    try:
        # Without standalone mode click returns a command's exit code (typer.Exit) instead of exiting.
        code = app_for(sys.argv[1:])(standalone_mode=False)
    except PostdeckError as exc:
        from rich.markup import escape

        from postdeck.settings import debug_enabled

        if debug_enabled():
            raise
        # escape: a message is text, not markup (`pip install 'postdeck[prefect]'`, a file `a[1].yaml`)
        common.err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        common.err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:  # usage errors (a bad option or value) arrive here in non-standalone mode
        if _is_click_error(exc):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        raise
    if isinstance(code, int) and code:
        sys.exit(code)


def _is_click_error(exc: Exception) -> bool:
    """A click usage error: click's own or that of the copy of click newer typer releases carry
    (typer._click), which is not a click.ClickException."""
    return any(cls.__name__ == "ClickException" for cls in type(exc).__mro__)


if __name__ == "__main__":
    main()
