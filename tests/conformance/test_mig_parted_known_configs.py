"""mig-parted's check of a MIG config against a GPU's profiles (known_configs_test.go).

Ported from NVIDIA/mig-parted, pkg/mig/config/known_configs_test.go at commit
bd7160f43f16462eeb21e1eda5e67b5b6b03fd7d (TestValidConfiguration, on A100-SXM4-40GB). A
config is mig-parted's `mig-devices` mapping; gpuplane reads the same mapping as a cluster
spec's migLayout (`gpuplane.catalog.mig.layout_from_counts`).
"""

from __future__ import annotations

import pytest

from gpuplane.catalog import lookup
from gpuplane.catalog.mig import layout_from_counts
from gpuplane.errors import InputError

A100_40 = lookup("NVIDIA-A100-SXM4-40GB")

# (upstream description, mig-devices, valid); the "Nil config" is None upstream, {} here.
CASES = [
    ("Empty config", {}, True),
    ("Nil config", {}, True),
    ("Invalid device type (with count > 0)", {"bogus": 1}, False),
    ("Invalid device type (with count == 0)", {"bogus": 0}, False),
    ("Single device (equal to max)", {"1g.5gb": 7}, True),
    ("Single device (greater than max)", {"1g.5gb": 8}, False),
    ("Single device (less than max)", {"1g.5gb": 6}, True),
    ("Single device (equal to 0)", {"1g.5gb": 0}, False),
    ("Mix of devices (all at max)", {"1g.5gb": 3, "2g.10gb": 2}, True),
    ("Mix of devices (one smaller than max)", {"1g.5gb": 2, "2g.10gb": 2}, True),
    ("Mix of devices (all smaller than max)", {"1g.5gb": 2, "2g.10gb": 1}, True),
    ("Mix of devices (one greater than max)", {"1g.5gb": 4, "2g.10gb": 2}, False),
]


@pytest.mark.parametrize(("counts", "valid"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_valid_configuration(counts: dict[str, int], valid: bool) -> None:
    if valid:
        layout = layout_from_counts(A100_40, counts)
        assert sorted(layout) == sorted(p for p, n in counts.items() for _ in range(n))
    else:
        with pytest.raises(InputError):
            layout_from_counts(A100_40, counts)
