"""The `gpuplane` command: one module per verb, registered on one typer app."""

from __future__ import annotations

import sys

import typer

from gpuplane.cli import admission_check, node, place, replay, scheduler, simulate, snapshot
from gpuplane.cli.app import app, fail_on_input_errors

place.register(app)
replay.register(app)
node.register(app)
simulate.register(app)
scheduler.register(app)
admission_check.register(app)
snapshot.register(app)


def main() -> None:
    """Entry point of the `gpuplane` console script."""
    with fail_on_input_errors():
        app()
    sys.exit(0)


__all__ = ["app", "main", "typer"]
