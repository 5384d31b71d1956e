"""Node labels with the place of each, and the patterns of GFD's label names and values.

Shared by the readers of sharing labels (`read_labels`, `read_mig_labels`), so that every
error about a label names the label and its line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gpuplane.catalog.labels import (
    DEVICE_SPLIT_COUNT,
    DYNAMIC_MIG,
    GPU_SCHEDULER_POLICY,
    MIG_CONFIG,
    MIG_CONFIG_STATE,
    MIG_CONFIG_STATE_SUCCESS,
    MIG_STRATEGY,
    PRODUCT,
    REPLICAS,
    RESOURCE_COUNT,
    RESOURCE_REPLICAS,
    SHARING,
    SHARING_STRATEGY,
)
from gpuplane.catalog.resources import MIG_PREFIX
from gpuplane.errors import Location, ManifestError

# "<model>[-MIG-<profile>][-SHARED]"; a profile never holds a dash, a model name does.
PRODUCT_PATTERN = re.compile(
    r"^(?P<model>.+?)(?:-MIG-(?P<mig>[A-Za-z0-9._]+?))?(?P<shared>-SHARED)?$"
)
MIG_RESOURCE_LABEL = re.compile(
    rf"^{re.escape(MIG_PREFIX)}(?P<profile>.+)\.(?P<what>{RESOURCE_COUNT}|{RESOURCE_REPLICAS})$"
)
# The labels that say something about sharing; a node with none of them says nothing.
_SHARING_LABELS = frozenset(
    {
        REPLICAS,
        SHARING_STRATEGY,
        MIG_STRATEGY,
        MIG_CONFIG,
        SHARING,
        GPU_SCHEDULER_POLICY,
        DEVICE_SPLIT_COUNT,
        DYNAMIC_MIG,
    }
)


@dataclass(frozen=True)
class LabelView:
    """Node labels with the place of each, so that errors name the label and its line."""

    values: Mapping[str, str]
    where: Location | None = None
    lines: Mapping[str, int] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        # Kubernetes allows empty label values; an empty value says nothing here.
        return self.values.get(name) or None

    def at(self, name: str) -> Location:
        return (self.where or Location()).child(name, self.lines.get(name))

    def error(self, name: str, message: str, hint: str | None = None) -> ManifestError:
        return ManifestError(message, where=self.at(name), hint=hint)

    def whole(self, name: str) -> int | None:
        text = self.get(name)
        if text is None:
            return None
        if not text.isdigit():
            raise self.error(name, f"must be a whole number, got {text!r}")
        return int(text)

    def choice(self, name: str, options: Sequence[str]) -> str | None:
        text = self.get(name)
        if text is not None and text not in options:
            raise self.error(name, f"unknown value {text!r}; use one of: {', '.join(options)}")
        return text

    def product(self) -> re.Match[str] | None:
        text = self.get(PRODUCT)
        return PRODUCT_PATTERN.match(text) if text else None

    def mig_config(self) -> str | None:
        """The mig-parted config running, or None while mig-manager has not applied it."""
        state = self.get(MIG_CONFIG_STATE)
        if state is not None and state != MIG_CONFIG_STATE_SUCCESS:
            # pending, rebooting or failed: the old layout still runs, as GFD's labels say.
            return None
        return self.get(MIG_CONFIG)

    def says_something(self) -> bool:
        product = self.product()
        if product is not None and (product.group("mig") or product.group("shared")):
            return True
        return any(n in _SHARING_LABELS or MIG_RESOURCE_LABEL.match(n) for n in self.values)
