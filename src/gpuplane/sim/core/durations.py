"""Job durations drawn from an observed distribution (Philly's job run times by default).

`../shared/data/philly/philly_runtime.csv` has one column, `runtime`: seconds per job, 83,154
jobs of Microsoft's Philly cluster (median 1,186 s, p99 about 80 h). It has no ids or times;
its one use is as a duration distribution, e.g. for trace tasks whose true end is unknown.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from gpuplane.errors import InputError, Location

#: Where the Philly run times live unless told otherwise.
PHILLY_ENV = "GPUPLANE_PHILLY_DIR"
PHILLY_FILE = "philly_runtime.csv"


def default_philly_dir() -> Path:
    """$GPUPLANE_PHILLY_DIR, else ../shared/data/philly from the current directory."""
    return Path(os.environ.get(PHILLY_ENV, Path("..") / "shared" / "data" / "philly"))


class EmpiricalDurations:
    """Draws durations from a sample of observed ones, uniformly, with replacement."""

    def __init__(self, seconds: npt.ArrayLike) -> None:
        values = np.sort(np.asarray(seconds, dtype=np.float64).ravel())
        if values.size == 0 or not np.isfinite(values).all() or values[0] < 0:
            raise ValueError("durations must be a non-empty list of finite seconds >= 0")
        self.values = values

    def sample(self, rng: np.random.Generator, at_least: float = 0.0) -> float:
        """One duration; with `at_least`, drawn among those at least that long.

        A task seen running for `at_least` seconds lasts at least that long. When no observed
        duration is that long, `at_least` itself is the best estimate.
        """
        low = int(np.searchsorted(self.values, at_least, side="left"))
        if low >= self.values.size:
            return float(at_least)
        return float(self.values[int(rng.integers(low, self.values.size))])


def philly_durations(path: str | Path | None = None) -> EmpiricalDurations:
    """The Philly run-time distribution from its CSV (default: `default_philly_dir()`)."""
    file = Path(path) if path is not None else default_philly_dir() / PHILLY_FILE
    try:
        with file.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or "runtime" not in header:
                raise InputError("no `runtime` column", where=Location(str(file), 1))
            column = header.index("runtime")
            values = []
            for row in reader:
                try:
                    values.append(float(row[column]))
                except (ValueError, IndexError):
                    where = Location(str(file), reader.line_num)
                    raise InputError(f"not a number of seconds: {row!r}", where=where) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=Location(str(file))) from None
    return EmpiricalDurations(values)
