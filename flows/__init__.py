"""The Prefect flows and tasks: the only package that imports Prefect.

Prefect is an extra (`postdeck[prefect]`): without it, importing this package says which extra to
install instead of an ImportError from deep inside a command."""

from postdeck.errors import MissingExtra

MissingExtra.require("prefect", extra="prefect", needed_for="running a Prefect flow")
