"""mig-parted's named configs, as the GPU Operator's default mig-parted config ships them.

Ported from NVIDIA/mig-parted, deployments/systemd/config-default.yaml at commit
bd7160f43f16462eeb21e1eda5e67b5b6b03fd7d: each config name that applies to a GPU in
gpuplane's catalog, with the instances mig-parted creates on it (its device-filter picks the
board). gpuplane must give the same layout for the name in a cluster spec, a fake inventory
or a nvidia.com/mig.config label.
"""

from __future__ import annotations

from collections import Counter

import pytest

from gpuplane.catalog import lookup
from gpuplane.catalog.mig import named_layout

A100_40, A100_80, A30, H100, NVL, H200 = (
    "NVIDIA-A100-SXM4-40GB",
    "NVIDIA-A100-SXM4-80GB",
    "NVIDIA-A30",
    "NVIDIA-H100-80GB-HBM3",
    "NVIDIA-H100-NVL",
    "NVIDIA-H200",
)
# (config name, board, instances mig-parted creates)
CONFIGS = [
    ("all-disabled", A100_80, {}),
    ("all-enabled", A100_80, {}),
    ("all-1g.5gb", A100_40, {"1g.5gb": 7}),
    ("all-1g.5gb.me", A100_40, {"1g.5gb+me": 1}),
    ("all-2g.10gb", A100_40, {"2g.10gb": 3}),
    ("all-3g.20gb", A100_40, {"3g.20gb": 2}),
    ("all-4g.20gb", A100_40, {"4g.20gb": 1}),
    ("all-7g.40gb", A100_40, {"7g.40gb": 1}),
    ("all-1g.10gb", A100_80, {"1g.10gb": 7}),
    ("all-1g.10gb", A100_40, {"1g.10gb": 4}),
    ("all-1g.10gb", H100, {"1g.10gb": 7}),
    ("all-1g.10gb.me", A100_80, {"1g.10gb+me": 1}),
    ("all-1g.10gb.me", H100, {"1g.10gb+me": 1}),
    ("all-1g.20gb", A100_80, {"1g.20gb": 4}),
    ("all-2g.20gb", A100_80, {"2g.20gb": 3}),
    ("all-3g.40gb", A100_80, {"3g.40gb": 2}),
    ("all-4g.40gb", A100_80, {"4g.40gb": 1}),
    ("all-7g.80gb", A100_80, {"7g.80gb": 1}),
    ("all-1g.6gb", A30, {"1g.6gb": 4}),
    ("all-1g.6gb.me", A30, {"1g.6gb+me": 1}),
    ("all-2g.12gb", A30, {"2g.12gb": 2}),
    ("all-2g.12gb.me", A30, {"2g.12gb+me": 1}),
    ("all-4g.24gb", A30, {"4g.24gb": 1}),
    ("all-1g.12gb", NVL, {"1g.12gb": 7}),
    ("all-1g.12gb.me", NVL, {"1g.12gb+me": 1}),
    ("all-1g.24gb", NVL, {"1g.24gb": 4}),
    ("all-2g.24gb", NVL, {"2g.24gb": 3}),
    ("all-3g.47gb", NVL, {"3g.47gb": 2}),
    ("all-4g.47gb", NVL, {"4g.47gb": 1}),
    ("all-7g.94gb", NVL, {"7g.94gb": 1}),
    ("all-1g.18gb", H200, {"1g.18gb": 7}),
    ("all-balanced", A100_40, {"1g.5gb": 2, "2g.10gb": 1, "3g.20gb": 1}),
    ("all-balanced", A100_80, {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1}),
    ("all-balanced", H100, {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1}),
    ("all-balanced", A30, {"1g.6gb": 2, "2g.12gb": 1}),
    ("all-balanced", NVL, {"1g.12gb": 2, "2g.24gb": 1, "3g.47gb": 1}),
    ("all-balanced", H200, {"1g.18gb": 2, "2g.35gb": 1, "3g.71gb": 1}),
]


@pytest.mark.parametrize(
    ("name", "board", "instances"), CONFIGS, ids=[f"{c[0]}@{c[1]}" for c in CONFIGS]
)
def test_named_config(name: str, board: str, instances: dict[str, int]) -> None:
    assert Counter(named_layout(lookup(board), name)) == Counter(instances)
