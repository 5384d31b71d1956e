"""A progress bar for reading large manifest input, on stderr, shown only where it helps."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from gpuplane.cli.app import err
from gpuplane.errors import InputError
from gpuplane.objects.yaml_load import Progress as Advance
from gpuplane.objects.yaml_load import expand_paths

#: Input smaller than this reads in a second or two: no bar.
SHOW_FROM_BYTES = 8 * 1024 * 1024


@contextmanager
def reading(paths: Sequence[str | Path], *, recursive: bool = True) -> Iterator[Advance | None]:
    """A callback that advances a bar over the bytes of `paths`, or None for small input."""
    try:
        total = sum(p.stat().st_size for p in expand_paths(paths, recursive=recursive))
    except (InputError, OSError):
        total = 0  # the reader itself reports what cannot be read
    if total < SHOW_FROM_BYTES or not err.is_terminal:
        yield None
        return
    columns = (TextColumn("reading manifests"), BarColumn(), DownloadColumn())
    with Progress(*columns, TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task("read", total=total)
        yield lambda done: bar.advance(task, done)
