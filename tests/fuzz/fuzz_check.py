"""The property every reader keeps: a typed result, or an InputError that says where."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import settings

from gpuplane.errors import InputError

T = TypeVar("T")
PROFILE = os.environ.get("GPUPLANE_FUZZ_PROFILE", "ci")


def examples(ci: int) -> settings:
    """`ci` examples per run in `make test`; the fuzz profile's own count under `make fuzz`."""
    return settings(max_examples=ci) if PROFILE == "ci" else settings()


def typed_or_located(read: Callable[[], T], typed: type | tuple[type, ...]) -> T | InputError:
    """What `read` returns (checked to be `typed`), or the InputError it raised, located.

    Any other exception propagates and fails the example.
    """
    try:
        result = read()
    except InputError as exc:
        assert exc.where is not None and str(exc.where), f"no location: {exc!r}"
        assert str(exc)  # and it prints
        return exc
    assert isinstance(result, typed), f"{type(result).__name__} is not {typed}"
    return result


def files_in(folder: Path) -> dict[str, Any]:
    """Every file under `folder` with its size and change time (to see that nothing was written)."""
    found: dict[str, Any] = {}
    for root, dirs, names in os.walk(folder):
        for name in dirs + names:
            path = Path(root, name)
            stat = path.lstat()
            found[str(path.relative_to(folder))] = (stat.st_size, stat.st_mtime_ns)
    return found
