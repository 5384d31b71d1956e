"""Writing files that people and programs read: all of the new content or none, never elsewhere.

Every file gpuplane writes (reports, CSVs, plots, metrics, labels, CDI specs) goes through
`write_atomic`: the content goes to a temporary file in the same folder (a rename is atomic
only within one file system), is flushed to disk, and is renamed over the target. A reader,
or a second run writing the same file, sees the old file or the new one, never half, never a
mix; on a full disk the old file stays. The rename replaces a symlink planted at the target
instead of writing through it. A temporary file left by a killed run is removed by the next
write to that folder.

`output_folder` checks an output folder before any work starts, so that a long run does not
fail at its last step; `available_memory` says how much memory a run may take.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gpuplane.errors import InputError, Location

_TEMP_SUFFIX = ".gpuplane-tmp"


def write_atomic(path: str | Path, content: str | bytes, mode: int = 0o644) -> Path:
    """Write `content` to `path` so that readers see the old file or the new one, never half."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(target.parent)
    # The writer's pid in the name lets a later run tell a dead writer's leftovers.
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.{os.getpid()}.", suffix=_TEMP_SUFFIX, dir=target.parent
    )
    try:
        data = content.encode("utf-8") if isinstance(content, str) else content
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def output_folder(path: str | Path, option: str = "--out") -> Path:
    """`path`, checked to be a folder files can be written in, or one that can be made.

    Nothing is created: a run refused for other reasons leaves no trace.
    """
    folder = Path(path)
    where = Location(str(path), field=option)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        what = "is a file" if existing == folder else f"{existing} is a file"
        raise InputError(f"{what}, not a folder", where=where, hint="name a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        whose = "the folder" if existing == folder else f"{existing}"
        raise InputError(f"{whose} is not writable", where=where)
    return folder


def available_memory(meminfo: str | Path = "/proc/meminfo") -> int | None:
    """Bytes of memory free for a new run (Linux's MemAvailable), or None where unknown."""
    try:
        for line in Path(meminfo).read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _remove_stale(folder: Path) -> None:
    """Remove temporary files of writers that no longer run (a run killed mid-write)."""
    try:
        leftovers = [p for p in folder.iterdir() if p.name.endswith(_TEMP_SUFFIX)]
    except OSError:
        return
    for leftover in leftovers:
        parts = leftover.name.rsplit(".", 3)
        pid = int(parts[-3]) if len(parts) == 4 and parts[-3].isdigit() else None
        if pid is not None and pid != os.getpid() and not _alive(pid):
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
