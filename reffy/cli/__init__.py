"""The ``reffy`` command line: a thin adapter over :class:`reffy.service.ReffyService`.

Only presentation lives here. Heavy modules are imported inside commands so that ``reffy --help``
answers instantly. The commands live by concern (:mod:`.pipeline`, :mod:`.inspect`, :mod:`.search`,
:mod:`.access`, :mod:`.servers`); importing this package registers them all on one ``app``.
"""

from __future__ import annotations

import sys

import typer

# Each module registers its commands on ``app``; the order here is the order of ``reffy --help``.
from reffy.cli import pipeline, search, inspect, access, servers, sources, insights  # noqa: F401
from reffy.cli.common import app
from reffy.errors import ReffyError

sources.register(app)  # `reffy sources ...` and `reffy sync`
insights.register(app)  # `reffy review` and `reffy insights`

__all__ = ["app", "main"]


def main() -> None:
    try:
        app()
    except ReffyError as exc:
        typer.secho(f"Error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(exc.exit_code)
