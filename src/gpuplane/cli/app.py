"""The typer app and the one place that turns bad input into a short message and exit 2."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.text import Text

from gpuplane.errors import InputError, shorten

app = typer.Typer(
    name="gpuplane",
    help="A GPU control plane for Kubernetes, and a digital twin of it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """A GPU control plane for Kubernetes, and a digital twin of it."""
    # A callback keeps typer in sub-command mode even while only one verb exists.


#: Results go to stdout; warnings and errors to stderr, so that output can be piped. No emoji
#: codes: "file.yaml:100: field" must not print as a 💯, nor a value holding ":x:" as ❌.
out = Console(emoji=False)
err = Console(stderr=True, emoji=False)
if not out.is_terminal and "COLUMNS" not in os.environ:
    # Piped or in CI: rich would fall back to 80 columns and fold every table.
    out.width = 160

EXIT_INPUT_ERROR = 2


@contextmanager
def fail_on_input_errors() -> Iterator[None]:
    """Print an InputError in a line or two and exit 2; never a traceback for bad input."""
    try:
        yield
    except InputError as exc:
        said = Text.assemble(("error:", "bold red"), " ", shorten(str(exc)))
        err.print(said, highlight=False, soft_wrap=True)
        sys.exit(EXIT_INPUT_ERROR)


def warn(message: str) -> None:
    said = Text.assemble(("warning:", "yellow"), " ", shorten(message))
    err.print(said, highlight=False, soft_wrap=True)


def noted(summary: Sequence[str], warnings: Sequence[str], *, strict: bool) -> None:
    """What was read (on stderr) and its warnings; with `strict`, the warnings are errors.

    Under --strict every warning is printed as an error and the command exits 2 before it
    computes anything: a result that may be wrong is no result for a CI gate.
    """
    for line in summary:
        err.print(Text(shorten(line), style="dim"), highlight=False, soft_wrap=True)
    if not strict:
        for message in warnings:
            warn(message)
        return
    if warnings:
        for message in warnings:
            said = Text.assemble(("error:", "bold red"), " ", shorten(message))
            err.print(said, highlight=False, soft_wrap=True)
        count = f"{len(warnings)} problem{'s' if len(warnings) > 1 else ''}"
        err.print(f"{count} with --strict: fix them, or run without --strict to see the result")
        sys.exit(EXIT_INPUT_ERROR)


def plain(value: object, style: str = "") -> Text:
    """User-supplied text for a table cell or a line: printed as is, never read as markup."""
    return Text(str(value), style=style)
