"""mig-parted's config names in a fake inventory, as the GPU Operator's mig-manager takes them."""

from __future__ import annotations

import pytest

from gpuplane.node.fake import FakeBackend
from node_helpers import mig_inventory, plan


@pytest.mark.parametrize(
    ("layout", "enabled", "profiles"),
    [
        ("all-disabled", False, []),
        ("all-enabled", True, []),
        ("all-1g.10gb.me", True, ["1g.10gb+me"]),
    ],
)
def test_mig_parted_names(layout: str, enabled: bool, profiles: list[str]) -> None:
    gpus = FakeBackend(text=mig_inventory(layout)).inventory().gpus
    assert all(g.mig_enabled is enabled for g in gpus)
    assert [m.profile for m in gpus[0].mig_devices] == profiles


def test_a_me_instance_is_advertised_with_a_dot() -> None:
    mixed = "version: v1\nflags: {migStrategy: mixed}\n"
    assert plan(mig_inventory("all-1g.10gb.me"), mixed).advertised() == {
        "nvidia.com/mig-1g.10gb.me": 2
    }
