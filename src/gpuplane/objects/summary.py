"""What a read of manifests found, in a line or two a person checks at a glance."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from gpuplane.objects.reader import Manifests


def counted(counts: Mapping[str, int]) -> str:
    """"3 Job, 1 Pod": the largest count first, then by name."""
    items = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{n} {name}" for name, n in items)


def read_summary(manifests: Manifests) -> list[str]:
    """"read N objects: ..." and, when any were left out, "skipped M: ... (why)"."""
    total = sum(manifests.kinds.values())
    things = "object" if total == 1 else "objects"
    lines = [f"read {total} {things}: {counted(manifests.kinds)}" if total else "read no objects"]
    if manifests.skipped:
        why = Counter(f"{s.kind} ({s.why})" for s in manifests.skipped)
        lines.append(f"skipped {len(manifests.skipped)}: {counted(why)}")
    return lines
