"""Hypothesis profiles for the fuzz suite, a per-example hang guard, and example counts.

GPUPLANE_FUZZ_PROFILE picks the profile: "ci" (the default, small, part of `make test`) or
"fuzz" (`make fuzz`): there every property test runs for its share of GPUPLANE_FUZZ_SECONDS,
round after round of fresh random examples, and the examples each one ran are written to
GPUPLANE_FUZZ_REPORT (a JSON file) at the end.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Make the fuzz suite's own helpers importable (fuzz_inputs, fuzz_check).
sys.path.insert(0, str(Path(__file__).parent))

_COMMON: dict[str, Any] = {
    # Fixtures (tmp_path, capsys, monkeypatch) are shared by the examples on purpose: each
    # example checks its own files, and the readers keep no state between calls.
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
    # Timing on a shared 2-core machine is noisy: the hang guard below bounds each example.
    "deadline": None,
    "database": None,
    "print_blob": True,
}
settings.register_profile("ci", max_examples=40, **_COMMON)
settings.register_profile("fuzz", max_examples=100, **_COMMON)
PROFILE = os.environ.get("GPUPLANE_FUZZ_PROFILE", "ci")
settings.load_profile(PROFILE)

#: Longest one example may run before it counts as a hang (reading, or a tiny CLI run).
HANG_SECONDS = float(os.environ.get("GPUPLANE_FUZZ_HANG_SECONDS", "30"))
#: The whole fuzz profile's time, shared evenly by the property tests it runs.
TOTAL_SECONDS = float(os.environ.get("GPUPLANE_FUZZ_SECONDS", "600"))

EXAMPLES: Counter[str] = Counter()
SECONDS: Counter[str] = Counter()


class Hang(Exception):
    """One example ran longer than HANG_SECONDS."""


@contextmanager
def hang_guard(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise Hang(f"one example ran over {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _counted(name: str, inner: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        EXAMPLES[name] += 1
        with hang_guard(HANG_SECONDS):
            return inner(*args, **kwargs)

    return run


def _is_property(item: pytest.Item) -> bool:
    return isinstance(item, pytest.Function) and hasattr(item.obj, "hypothesis")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _is_property(item):
            assert isinstance(item, pytest.Function)
            handle = item.obj.hypothesis
            handle.inner_test = _counted(item.name, handle.inner_test)


@pytest.hookimpl(hookwrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, None, None]:
    if PROFILE != "fuzz" or not _is_property(pyfuncitem):
        started = time.monotonic()
        yield
        SECONDS[pyfuncitem.name] += time.monotonic() - started
        return
    # The fuzz profile: the test runs again and again (fresh random examples each round)
    # until its share of the time is spent; the first failure ends it as usual.
    properties = sum(1 for item in pyfuncitem.session.items if _is_property(item))
    share = TOTAL_SECONDS / max(1, properties)
    started = time.monotonic()
    testfunction = pyfuncitem.obj
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    while time.monotonic() - started < share:
        testfunction(**kwargs)
    SECONDS[pyfuncitem.name] += time.monotonic() - started
    yield


def pytest_sessionfinish(session: pytest.Session) -> None:
    report = os.environ.get("GPUPLANE_FUZZ_REPORT")
    if report and EXAMPLES:
        figures = {
            name: {"examples": EXAMPLES[name], "seconds": round(SECONDS[name], 1)}
            for name in sorted(EXAMPLES)
        }
        Path(report).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
