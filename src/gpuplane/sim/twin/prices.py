"""GPU prices as data: default on-demand USD per GPU-hour per catalog model, and spot's discount.

The defaults live in `prices.yaml` next to this module (rounded public cloud list prices, see
the file); a scenario overrides any of them. Keys may be any catalog name or alias; they are
stored under the model's product name, so `L4` and `NVIDIA-L4` are one price.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from gpuplane.catalog import lookup
from gpuplane.errors import InputError, Location

PRICES_FILE = "prices.yaml"


@dataclass(frozen=True)
class PriceTable:
    """On-demand $/GPU-hour by GPU product, and the fraction spot capacity takes off."""

    on_demand: Mapping[str, float]
    spot_discount: float
    currency: str = "USD"
    #: Products whose price the scenario set (the rest are the packaged defaults).
    overridden: frozenset[str] = field(default_factory=frozenset)

    def per_gpu_hour(self, product: str, spot: bool = False) -> float:
        """The price of one GPU-hour of `product` (a catalog name or alias)."""
        name = lookup(product).product
        price = self.on_demand.get(name)
        if price is None:
            raise InputError(
                f"no price for GPU model {name}",
                hint=f"add prices.onDemand.{name} ({self.currency} per GPU-hour) to the scenario",
            )
        return price * (1.0 - self.spot_discount) if spot else price

    def with_overrides(
        self, on_demand: Mapping[str, float], spot_discount: float | None = None
    ) -> PriceTable:
        """This table with some prices replaced (keys are catalog names or aliases)."""
        merged = dict(self.on_demand)
        mine = {lookup(name).product: float(price) for name, price in on_demand.items()}
        merged.update(mine)
        return PriceTable(
            on_demand=merged,
            spot_discount=self.spot_discount if spot_discount is None else spot_discount,
            currency=self.currency,
            overridden=self.overridden | frozenset(mine),
        )


@cache
def default_prices() -> PriceTable:
    """The packaged default price table, validated once per process."""
    text = resources.files("gpuplane.sim.twin").joinpath(PRICES_FILE).read_text(encoding="utf-8")
    return parse_prices(yaml.safe_load(text), f"gpuplane/sim/twin/{PRICES_FILE}")


def parse_prices(raw: Any, file: str) -> PriceTable:
    """A price table from its YAML form; every key must be a catalog model, every price >= 0."""
    where = Location(file=file)
    if not isinstance(raw, dict) or set(raw) != {"currency", "onDemand", "spotDiscount"}:
        raise InputError("needs exactly currency, onDemand and spotDiscount", where=where)
    table: dict[str, float] = {}
    for name, price in dict(raw["onDemand"]).items():
        at = where.child(f"onDemand.{name}")
        if not isinstance(price, int | float) or isinstance(price, bool) or price < 0:
            raise InputError(f"a price must be a number >= 0, got {price!r}", where=at)
        table[lookup(str(name), where=at).product] = float(price)
    discount = raw["spotDiscount"]
    if not isinstance(discount, int | float) or not 0 <= discount < 1:
        raise InputError("spotDiscount must be in [0, 1)", where=where.child("spotDiscount"))
    return PriceTable(table, float(discount), str(raw["currency"]))
