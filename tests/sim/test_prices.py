"""The default price table: every catalog GPU has a price; overrides go by catalog name."""

from __future__ import annotations

import pytest

from gpuplane.catalog import all_models
from gpuplane.errors import InputError
from gpuplane.sim.twin.prices import default_prices, parse_prices


def test_every_catalog_model_has_a_default_price() -> None:
    table = default_prices()
    assert {m.product for m in all_models()} <= set(table.on_demand)
    assert all(p > 0 for p in table.on_demand.values())
    # The order people expect: a T4 < an L4 < an A100 < an H100.
    price = table.per_gpu_hour
    assert price("T4") < price("L4") < price("a100-80gb") < price("h100")


def test_overrides_by_alias_and_spot() -> None:
    table = default_prices().with_overrides({"L4": 0.5}, spot_discount=0.6)
    assert table.per_gpu_hour("NVIDIA-L4") == 0.5
    assert table.per_gpu_hour("nvidia-l4", spot=True) == pytest.approx(0.2)
    assert table.overridden == frozenset({"NVIDIA-L4"})
    assert default_prices().per_gpu_hour("L4") == 0.80


def test_a_price_file_is_checked() -> None:
    with pytest.raises(InputError, match="a price must be a number >= 0"):
        parse_prices({"currency": "USD", "onDemand": {"T4": -1}, "spotDiscount": 0.5}, "p.yaml")
    with pytest.raises(InputError, match="unknown GPU model"):
        parse_prices({"currency": "USD", "onDemand": {"T5": 1}, "spotDiscount": 0.5}, "p.yaml")
    with pytest.raises(InputError, match="spotDiscount"):
        parse_prices({"currency": "USD", "onDemand": {}, "spotDiscount": 1.5}, "p.yaml")
