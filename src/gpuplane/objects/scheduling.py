"""Scheduling constraints shared by pods and nodes: taints, tolerations, node selector terms."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class TaintEffect(StrEnum):
    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


@dataclass(frozen=True)
class Taint:
    key: str
    value: str = ""
    effect: TaintEffect = TaintEffect.NO_SCHEDULE

    def __str__(self) -> str:
        # kube-scheduler's wording: {key: value}
        return f"{{{self.key}: {self.value}}}"


@dataclass(frozen=True)
class Toleration:
    """A pod's toleration; an empty key with Exists tolerates every key, an empty effect any."""

    key: str = ""
    operator: str = "Equal"  # "Equal" or "Exists"
    value: str = ""
    effect: TaintEffect | None = None
    toleration_seconds: int | None = None

    def tolerates(self, taint: Taint) -> bool:
        """Kubernetes' ToleratesTaint, rule for rule."""
        if self.effect is not None and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return self.value == taint.value


class SelectorOperator(StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"
    GT = "Gt"
    LT = "Lt"


@dataclass(frozen=True)
class NodeSelectorRequirement:
    key: str
    operator: SelectorOperator
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str] | None) -> bool:
        """Kubernetes' label requirement semantics, incl. Gt/Lt on integer label values."""
        labels = labels or {}
        present = self.key in labels
        op = self.operator
        if op is SelectorOperator.EXISTS:
            return present
        if op is SelectorOperator.DOES_NOT_EXIST:
            return not present
        if op is SelectorOperator.IN:
            return present and labels[self.key] in self.values
        if op is SelectorOperator.NOT_IN:
            return not present or labels[self.key] not in self.values
        # Gt / Lt: both sides must parse as integers, else no match (as Kubernetes does).
        if not present or len(self.values) != 1:
            return False
        try:
            have, bound = int(labels[self.key]), int(self.values[0])
        except ValueError:
            return False
        return have > bound if op is SelectorOperator.GT else have < bound


@dataclass(frozen=True)
class NodeSelectorTerm:
    """Requirements ANDed together; the terms of a node selector are ORed."""

    match_expressions: tuple[NodeSelectorRequirement, ...] = ()
    #: matchFields supports only metadata.name, as in Kubernetes.
    match_fields: tuple[NodeSelectorRequirement, ...] = ()

    def matches(self, name: str, labels: dict[str, str]) -> bool:
        # An empty term matches no objects (Kubernetes API docs).
        if not self.match_expressions and not self.match_fields:
            return False
        fields = {"metadata.name": name}
        return all(r.matches(labels) for r in self.match_expressions) and all(
            r.matches(fields) for r in self.match_fields
        )


@dataclass(frozen=True)
class NodeAffinity:
    """requiredDuringSchedulingIgnoredDuringExecution (terms ORed) and preferred terms."""

    required: tuple[NodeSelectorTerm, ...] | None = None
    preferred: tuple[tuple[int, NodeSelectorTerm], ...] = field(default=())

    def matches(self, name: str, labels: dict[str, str]) -> bool:
        if self.required is None:
            return True
        return any(term.matches(name, labels) for term in self.required)
