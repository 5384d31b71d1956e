"""Finding Debian's prometheus and promtool for the tests (`make test` installs them)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def tool(name: str) -> str:
    """The path of `name`; skips the test without it, fails under GPUPLANE_REQUIRE_PROMETHEUS=1."""
    found = shutil.which(name)
    if found is None:
        if os.environ.get("GPUPLANE_REQUIRE_PROMETHEUS") == "1":
            pytest.fail(f"{name} is not installed; `make test` installs Debian's prometheus")
        pytest.skip(f"{name} is not installed (make prometheus installs it)")
    return found
